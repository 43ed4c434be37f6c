package ui

import (
	"fmt"
	"log"
	"slices"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/list"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/allocviz/allocviz/allocator"
)

// Update is the only place the model changes. It routes keys by mode,
// drives replay with generation-tagged ticks and takes in loaded sessions.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	// A script still running lets go of its session only while Update
	// holds it (see source.live).
	defer m.src.hold()()
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.ready = true
		m.relayout()
		return m, nil
	case tea.KeyMsg:
		// The text inputs clean what is typed in place (bubbles'
		// runeutil), and Bubble Tea hands every program one shared slice
		// for the space key: copied, two sessions of allocviz serve
		// typing a space at once do not write the same memory.
		msg.Runes = slices.Clone(msg.Runes)
		return m.updateKey(msg)
	case tea.MouseMsg:
		m.updateMouse(msg)
		return m, nil
	case playTickMsg:
		return m.updateTick(msg)
	case loadedMsg:
		if msg.stmt != "" && msg.id == m.loadID {
			m.endRun()
		}
		next, cmd := m.updateLoaded(msg)
		return next.(Model).typedAhead(cmd)
	case liveTickMsg:
		return m.updateLive(msg)
	case stmtFailedMsg:
		done := m.finishRebuild(msg.id)
		if msg.id == m.loadID {
			m.loading = ""
			m.endRun()
			if !msg.quiet {
				m.prompt.entered(msg.stmt, msg.err)
			}
		}
		return m, done
	case stmtDoneMsg:
		return m.updateStmtDone(msg)
	case progressMsg:
		return m.updateProgress(msg)
	case errMsg:
		done := m.finishRebuild(msg.id)
		if msg.id != m.loadID {
			return m, done
		}
		m.loading = ""
		m.endRun()
		m.loadErr = msg.err
		m.ahead = nil
		m.setNotice("cannot open: "+msg.err.Error(), true)
		if m.mode == modePrompt {
			m.prompt.err = msg.err.Error()
		}
		return m, nil
	}
	// Everything else belongs to the bubble that has the keyboard (cursor
	// blinks, the picker's filter results).
	var cmd tea.Cmd
	switch m.mode {
	case modePrompt:
		m.prompt.input, cmd = m.prompt.input.Update(msg)
	case modeJump:
		m.jump, cmd = m.jump.Update(msg)
	case modeSearch:
		m.search, cmd = m.search.Update(msg)
	case modeCross:
		m.cross, cmd = m.cross.Update(msg)
	case modePicker:
		if f, ok := msg.(pickerFilterMsg); ok {
			if f.filter != m.picker.FilterValue() {
				return m, nil // an answer for text typed before the last key
			}
			msg = f.msg
		}
		m.picker, cmd = m.picker.Update(msg)
		cmd = tagFilter(cmd, m.picker.FilterValue())
	default:
		if m.opts.Debug {
			log.Printf("unhandled msg %T", msg)
		}
	}
	return m, cmd
}

func (m Model) updateKey(msg tea.KeyMsg) (tea.Model, tea.Cmd) {
	// Esc followed at once by a key reads as alt and that key; no binding
	// uses alt, so outside a text input it is esc, then the key (esc q
	// quits from the inspector, as typed). Several keys typed at once are
	// taken one by one (typedTogether).
	if msg.Alt && msg.Type == tea.KeyRunes && !msg.Paste && (m.mode == modeStep || m.mode == modeInspect) {
		next, esc := m.updateKey(tea.KeyMsg{Type: tea.KeyEsc})
		msg.Alt = false
		next, cmd := next.(Model).updateKey(msg)
		return next, tea.Batch(esc, cmd)
	}
	if keys := m.typedTogether(msg); keys != nil {
		return pressEach(m, keys, nil, func(next tea.Model, k tea.KeyMsg) (tea.Model, tea.Cmd) { return next.(Model).updateKey(k) })
	}
	if key.Matches(msg, m.keys.Quit) {
		m.playGen++
		return m, tea.Quit
	}
	if m.src == nil && m.loading != "" && m.mode == modeStep {
		// Typed ahead while the first lesson opens (a statement, keys to
		// step): kept, in order, for when it is.
		if len(m.ahead) < maxAhead {
			m.ahead = append(m.ahead, msg)
		}
		return m, nil
	}
	switch m.mode {
	case modePrompt:
		return m.updatePromptKey(msg)
	case modeJump:
		return m.updateJumpKey(msg)
	case modeSearch:
		return m.updateSearchKey(msg)
	case modeCross:
		return m.updateCrossKey(msg)
	case modePicker:
		return m.updatePickerKey(msg)
	}
	return m.updateStepKey(msg)
}

// updateStepKey handles keys while stepping or inspecting.
func (m Model) updateStepKey(msg tea.KeyMsg) (tea.Model, tea.Cmd) {
	if m.quizKey(msg) {
		return m, nil
	}
	k := m.keys
	if m.help.ShowAll {
		// The full help scrolls with the scrolling keys.
		switch {
		case key.Matches(msg, k.Down):
			m.scrollHelp(1)
			return m, nil
		case key.Matches(msg, k.Up):
			m.scrollHelp(-1)
			return m, nil
		case key.Matches(msg, k.PageDown), key.Matches(msg, k.HalfDown):
			m.scrollHelp(max(1, m.lay.bodyH-2))
			return m, nil
		case key.Matches(msg, k.PageUp), key.Matches(msg, k.HalfUp):
			m.scrollHelp(-max(1, m.lay.bodyH-2))
			return m, nil
		}
	}
	switch {
	case key.Matches(msg, k.Help):
		m.help.ShowAll = !m.help.ShowAll
		m.helpTop = 0
		m.syncKeys()
		m.relayout()
	case key.Matches(msg, k.Cancel):
		if m.mode == modeInspect {
			m.setMode(modeStep)
			m.refresh()
		} else if m.help.ShowAll {
			m.help.ShowAll = false
			m.syncKeys()
			m.relayout()
		}
	case key.Matches(msg, k.CursorLeft):
		m.moveCursor(-1, 0)
	case key.Matches(msg, k.CursorRight):
		m.moveCursor(1, 0)
	case key.Matches(msg, k.CursorUp):
		m.moveCursor(0, -1)
	case key.Matches(msg, k.CursorDown):
		m.moveCursor(0, 1)
	case key.Matches(msg, k.Next):
		m.seekTo(m.step + 1)
	case key.Matches(msg, k.Prev):
		m.seekTo(m.step - 1)
	case key.Matches(msg, k.First):
		m.seekTo(0)
	case key.Matches(msg, k.Last):
		m.seekTo(m.lastStep())
	case key.Matches(msg, k.NextChapter):
		m.chapter(false)
	case key.Matches(msg, k.PrevChapter):
		m.chapter(true)
	case key.Matches(msg, k.EndLoop):
		m.endOfStatement()
	case key.Matches(msg, k.Play):
		return m, m.togglePlay()
	case key.Matches(msg, k.Faster):
		return m, m.changeSpeed(1)
	case key.Matches(msg, k.Slower):
		return m, m.changeSpeed(-1)
	case key.Matches(msg, k.Mark):
		m.toggleMark()
	case key.Matches(msg, k.NextMark):
		m.cycleMark(false)
	case key.Matches(msg, k.PrevMark):
		m.cycleMark(true)
	case key.Matches(msg, k.Diff):
		m.toggleDiff()
	case key.Matches(msg, k.FocusNext):
		m.setFocus((m.focus + 1) % numPanes)
	case key.Matches(msg, k.FocusPrev):
		m.setFocus((m.focus + numPanes - 1) % numPanes)
	case key.Matches(msg, k.Up):
		m.selectDelta(-1)
	case key.Matches(msg, k.Down):
		m.selectDelta(1)
	case key.Matches(msg, k.PageUp):
		m.scrollPane(m.focus, -m.pageOf(m.focus))
	case key.Matches(msg, k.PageDown):
		m.scrollPane(m.focus, m.pageOf(m.focus))
	case key.Matches(msg, k.HalfUp):
		m.scrollPane(m.focus, -max(1, m.pageOf(m.focus)/2))
	case key.Matches(msg, k.HalfDown):
		m.scrollPane(m.focus, max(1, m.pageOf(m.focus)/2))
	case key.Matches(msg, k.WhyMore):
		m.whyOpen = !m.whyOpen
		m.why.top = 0
		m.relayout()
	case key.Matches(msg, k.Presenter):
		m.presenter = !m.presenter
		m.followTopic()
		m.syncKeys()
		m.relayout()
		if m.presenter {
			m.setNotice("presenter layout: the page map, the pane each step is about, and a tall Why strip; P again leaves", false)
		} else {
			m.setNotice(fmt.Sprintf("%s layout", m.lay.kind), false)
		}
	case key.Matches(msg, k.Timeline):
		m.cycleTimeline(1)
	case key.Matches(msg, k.TimelineJump):
		m.jumpToChange()
	case key.Matches(msg, k.TimelineCross):
		return m, m.startCross()
	case key.Matches(msg, k.Zoom):
		m.pages.zoom = !m.pages.zoom
		m.pages.first = noWindow
		m.refresh()
	case key.Matches(msg, k.Magnify):
		m.pages.noStrip = !m.pages.noStrip
		m.refresh()
	case key.Matches(msg, k.Layer):
		m.pages.nextLayer()
		m.refresh()
	case key.Matches(msg, k.Sort):
		m.slabs.cycleSort()
		m.refresh()
	case key.Matches(msg, k.Reverse):
		m.slabs.asc = !m.slabs.asc
		m.refresh()
	case key.Matches(msg, k.Freelist):
		m.slabs.freelist = !m.slabs.freelist
		m.refresh()
	case key.Matches(msg, k.AllCaches):
		m.slabs.all = !m.slabs.all
		m.refresh()
	case key.Matches(msg, k.Follow):
		m.slabs.pinned = false
		m.syncKeys()
		m.refresh()
		m.setNotice("the slab pane follows the cache each step uses", false)
	case key.Matches(msg, k.Inspect):
		if m.src != nil && inspectable(m.focus) {
			m.startCursor()
			m.setMode(modeInspect)
		}
	case key.Matches(msg, k.Goto):
		m.jump.SetValue("")
		m.jumpErr = ""
		m.setMode(modeJump)
		return m, m.jump.Focus()
	case key.Matches(msg, k.Search):
		m.search.SetValue("")
		m.found = ""
		m.setMode(modeSearch)
		return m, m.search.Focus()
	case key.Matches(msg, k.Prompt):
		m.setMode(modePrompt)
		return m, m.prompt.focus()
	case key.Matches(msg, k.Open):
		m.stopPlay()
		m.picker.ResetFilter()
		selectScenario(&m.picker, m.name)
		m.setMode(modePicker)
	}
	return m, nil
}

// inputKey handles a key for a one-line input (go to, search, the
// timeline's threshold): esc closes it, enter does what it is for, any
// other key edits it and then runs edited.
func (m *Model) inputKey(in *textinput.Model, msg tea.KeyMsg, enter, edited func()) tea.Cmd {
	switch {
	case key.Matches(msg, m.keys.Cancel):
		in.Blur()
		m.setMode(modeStep)
		return nil
	case key.Matches(msg, m.keys.Run):
		enter()
		return nil
	}
	var cmd tea.Cmd
	*in, cmd = in.Update(msg)
	if edited != nil {
		edited()
	}
	return cmd
}

// updateJumpKey handles keys while the go-to input is open.
func (m Model) updateJumpKey(msg tea.KeyMsg) (tea.Model, tea.Cmd) {
	cmd := m.inputKey(&m.jump, msg, func() {
		if err := m.goTo(m.jump.Value()); err != nil {
			m.jumpErr = err.Error()
			return
		}
		m.jump.Blur()
		if m.mode == modeJump {
			m.setMode(modeStep)
		}
	}, func() { m.jumpErr = "" })
	return m, cmd
}

// updateSearchKey handles keys while the search input is open: enter and
// ↓ go to the next match, ↑ to the previous one.
func (m Model) updateSearchKey(msg tea.KeyMsg) (tea.Model, tea.Cmd) {
	switch {
	case key.Matches(msg, m.keys.HistoryNext):
		m.searchNext(false)
		return m, nil
	case key.Matches(msg, m.keys.HistoryPrev):
		m.searchNext(true)
		return m, nil
	}
	return m, m.inputKey(&m.search, msg, func() { m.searchNext(false) }, nil)
}

// updateCrossKey handles keys while the threshold input is open: enter
// goes to the next step where the timeline's series crosses the value.
func (m Model) updateCrossKey(msg tea.KeyMsg) (tea.Model, tea.Cmd) {
	return m, m.inputKey(&m.cross, msg, m.crossNext, func() { m.crossed = "" })
}

// updatePickerKey handles keys while the scenario picker is open. While
// its filter is being typed every key goes to the list.
func (m Model) updatePickerKey(msg tea.KeyMsg) (tea.Model, tea.Cmd) {
	if m.picker.FilterState() != list.Filtering {
		switch {
		case key.Matches(msg, m.keys.Cancel) && m.picker.FilterState() == list.Unfiltered:
			m.pickConfirm = ""
			m.setMode(modeStep)
			return m, nil
		case key.Matches(msg, m.keys.Run):
			it, ok := m.picker.SelectedItem().(scenarioItem)
			if !ok {
				return m, nil
			}
			if n := m.src.typed(); n > 0 && m.pickConfirm == "" {
				m.pickConfirm = fmt.Sprintf("opening %s drops the %s typed at the prompt: enter again to open it, esc to stay",
					it.name, allocator.Count(uint64(n), "statement"))
				return m, nil
			}
			m.pickConfirm = ""
			m.setMode(modeStep)
			return m, m.startLoad(it.name)
		}
	}
	m.pickConfirm = ""
	var cmd tea.Cmd
	m.picker, cmd = m.picker.Update(msg)
	return m, tagFilter(cmd, m.picker.FilterValue())
}

// updateTick advances the replay, dropping stale ticks.
func (m Model) updateTick(msg playTickMsg) (tea.Model, tea.Cmd) {
	if !m.playing || msg.gen != m.playGen {
		return m, nil
	}
	if m.step >= m.lastStep() {
		m.stopPlay()
		return m, nil
	}
	m.seekTo(m.step + 1)
	if m.step >= m.lastStep() {
		m.stopPlay()
		return m, nil
	}
	return m, tickCmd(m.playGen, speeds[m.speed])
}

// updateLoaded takes in a session built by a command.
func (m Model) updateLoaded(msg loadedMsg) (tea.Model, tea.Cmd) {
	done := m.finishRebuild(msg.id)
	if msg.id != m.loadID {
		// A newer load superseded this one: nobody will show it.
		return m, tea.Batch(done, closeCmd(msg.src))
	}
	old := m.src
	if msg.src != old {
		defer msg.src.hold()()
	}
	m.src = msg.src
	m.prompt.input.Placeholder = examplePlaceholder(msg.src)
	m.name = msg.name
	m.loading = ""
	m.loadErr = nil
	if msg.src.live != nil {
		msg.src.syncLive() // it may have ended since it was opened
	}
	m.live = msg.src.running()
	m.stopPlay()
	if msg.stmt != "" {
		// A continuation keeps what still exists: bookmarks and the
		// diff base up to the step it continued from, and the panes'
		// selections.
		kept := m.marks[:0]
		for _, b := range m.marks {
			if b.step <= msg.from {
				kept = append(kept, b)
			}
		}
		m.marks = kept
		if m.diff > msg.from {
			m.diff = -1
		}
	} else {
		m.marks = nil
		m.diff = -1
		m.slabs.reset()
		m.vm.reset()
		m.events.reset()
		m.pages.reset()
	}
	m.scriptMarks()
	m.step = -1 // nothing shown yet: every pane starts at its top
	switch {
	case msg.stmt != "":
		if !msg.quiet {
			m.prompt.entered(msg.stmt, msg.stmtErr)
		}
		m.seekTo(m.lastStep())
	case !m.started:
		m.seekTo(m.opts.Step)
	default:
		m.seekTo(0)
	}
	if msg.stmt != "" {
		m.noticeStatement(msg.from, msg.stmt, msg.result, msg.stmtErr, msg.notice+"; ")
	} else {
		m.setNotice(msg.notice, false)
	}
	var tick tea.Cmd
	switch {
	case m.live:
		m.setNotice(fmt.Sprintf("the %s is still running: its steps appear as it takes them", msg.src.inputNoun()), false)
		tick = liveTickCmd(msg.src)
	case msg.stmt == "":
		switch {
		case msg.src.runErr != nil || len(msg.src.sess.Failures()) > 0:
			m.noticeScriptEnd()
		case !m.started && m.opts.Step > m.lastStep():
			m.setNotice(fmt.Sprintf("--step %d: the scenario has %d steps, so this is the last", m.opts.Step, m.lastStep()), false)
		default:
			if o := overridden(msg.src.sess.Configured(), m.opts.Flags); o != "" {
				m.setNotice(o, false)
			}
		}
	}
	m.started = true
	m.relayout()
	switch {
	case old == nil || old == msg.src:
		return m, tea.Batch(done, tick)
	case old == m.rebuildFrom:
		// A rebuild still reads it; finishRebuild closes it later.
		m.orphan = true
		return m, tea.Batch(done, tick)
	}
	return m, tea.Batch(done, tick, closeCmd(old))
}

// noticeScriptEnd says how the script that opened the session ended, if
// not well: its error, or its failed checks.
func (m *Model) noticeScriptEnd() {
	if err := m.src.runErr; err != nil {
		m.setNotice(fmt.Sprintf("the %s stopped after step %d: %v", m.src.inputNoun(), m.lastStep(), err), true)
	} else if f := m.src.sess.Failures(); len(f) > 0 {
		m.setNotice(fmt.Sprintf("%s failed; the first, at step %d: %s", allocator.Count(uint64(len(f)), "check"), f[0].Step, f[0].Msg), true)
	}
}

// updateLive brings the model up to date with a script still running,
// and once it has ended says how.
func (m Model) updateLive(msg liveTickMsg) (tea.Model, tea.Cmd) {
	if msg.src != m.src || !m.live {
		return m, nil // a session no longer shown
	}
	ended := m.src.syncLive()
	// Sync moves the model's cursor along when it was on the last step;
	// the step shown stays where the user put it.
	m.src.seek(m.step)
	m.scriptMarks() // bookmarks the script made meanwhile
	if ended {
		m.live = false
		m.setNotice(fmt.Sprintf("the %s ended after %d steps", m.src.inputNoun(), m.lastStep()), false)
		m.noticeScriptEnd()
	}
	m.refresh()
	if ended {
		return m, nil
	}
	return m, liveTickCmd(m.src)
}

// finishRebuild notes that load request id answered; if it was the
// rebuild under way, the session it read from is released, and closed if
// nothing shows it any more.
func (m *Model) finishRebuild(id int) tea.Cmd {
	if m.rebuildFrom == nil || id != m.rebuildID {
		return nil
	}
	from, orphan := m.rebuildFrom, m.orphan
	m.rebuildFrom, m.orphan = nil, false
	if orphan && from != m.src {
		return closeCmd(from)
	}
	return nil
}

// startLoad asks for scenario name to be opened off the event loop.
func (m *Model) startLoad(name string) tea.Cmd {
	m.loadID++
	m.loading = "opening " + name
	return loadCmd(m.opts.context(), m.loadID, name, m.opts.Script)
}

// setMode switches who has the keyboard and updates the key map and the
// layout (the footer's height depends on it).
func (m *Model) setMode(md mode) {
	m.mode = md
	if md != modeStep && md != modeInspect {
		m.help.ShowAll = false
	}
	if md != modeJump {
		m.jumpErr = ""
	}
	m.syncKeys()
	m.relayout()
}

// setNotice shows one line of news under the panes.
func (m *Model) setNotice(s string, isErr bool) {
	m.notice = s
	m.noticeErr = isErr
}

// typing reports whether a text input has the keyboard.
func (m Model) typing() bool {
	return m.mode == modePrompt || m.mode == modeJump || m.mode == modeSearch || m.mode == modeCross
}

// syncKeys enables exactly the bindings that act in the current mode and
// focus, so the footer shows only keys that work.
func (m *Model) syncKeys() {
	k := &m.keys
	typing := m.typing()
	stepping := m.mode == modeStep || m.mode == modeInspect
	for _, g := range k.helpGroups() {
		for _, b := range g.keys {
			b.SetEnabled(stepping && !g.context)
		}
	}
	k.Quit.SetEnabled(true)
	picking := m.mode == modePicker
	k.Run.SetEnabled(typing || picking)
	k.Cancel.SetEnabled(typing || picking || m.mode == modeInspect || (stepping && m.help.ShowAll))
	k.HistoryPrev.SetEnabled(m.mode == modePrompt || m.mode == modeSearch)
	k.HistoryNext.SetEnabled(m.mode == modePrompt || m.mode == modeSearch)
	switch m.mode {
	case modeSearch:
		k.Run.SetHelp("enter", "next match")
		k.HistoryPrev.SetHelp("↑", "previous match")
		k.HistoryNext.SetHelp("↓", "next match")
	case modeJump:
		k.Run.SetHelp("enter", "go")
	case modeCross:
		k.Run.SetHelp("enter", "next crossing")
	default:
		k.Run.SetHelp("enter", "run")
		k.HistoryPrev.SetHelp("↑", "older")
		k.HistoryNext.SetHelp("↓", "newer")
	}
	if m.mode == modeInspect {
		for _, b := range []*key.Binding{&k.CursorLeft, &k.CursorRight, &k.CursorUp, &k.CursorDown} {
			b.SetEnabled(true)
		}
		k.Up.SetEnabled(false)
		k.Down.SetEnabled(false)
		k.Next.SetKeys("n")
		k.Next.SetHelp("n", "next step")
		k.Prev.SetKeys("p")
		k.Prev.SetHelp("p", "prev step")
	} else {
		k.Next.SetKeys("n", "right")
		k.Next.SetHelp("n/→", "next step")
		k.Prev.SetKeys("p", "left")
		k.Prev.SetHelp("p/←", "prev step")
		k.Inspect.SetEnabled(stepping && inspectable(m.focus))
	}
	switch m.focus {
	case paneSlabs:
		k.Up.SetHelp("↑/↓", "cache")
	case paneVmalloc:
		k.Up.SetHelp("↑/↓", "area")
	case paneEvents:
		k.Up.SetHelp("↑/↓", "scroll")
	case paneTimeline:
		k.Up.SetHelp("↑/↓", "series")
	default:
		k.Up.SetHelp("↑/k", "up")
	}
	// Toggles say what pressing them does now.
	for _, t := range []struct {
		b           *key.Binding
		on          bool
		ifOn, ifOff string
	}{
		{&k.Help, m.help.ShowAll, "close help", "help"},
		{&k.Play, m.playing, "pause", "play"},
		{&k.WhyMore, m.whyOpen, "less Why", "more Why"},
		{&k.Presenter, m.presenter, "leave presenter", "presenter"},
	} {
		desc := t.ifOff
		if t.on {
			desc = t.ifOn
		}
		t.b.SetHelp(t.b.Help().Key, desc)
	}
	slabs := stepping && m.focus == paneSlabs
	k.Sort.SetEnabled(slabs)
	k.Reverse.SetEnabled(slabs)
	k.Freelist.SetEnabled(slabs)
	k.AllCaches.SetEnabled(slabs)
	k.Follow.SetEnabled(slabs && m.slabs.pinned)
	if typing || m.mode == modePicker {
		k.Quit.SetKeys("ctrl+c")
		k.Quit.SetHelp("ctrl+c", "quit")
	} else {
		k.Quit.SetKeys("q", "ctrl+c")
		k.Quit.SetHelp("q/ctrl+c", "quit")
	}
}

// maxAhead is how many keys typed while the first lesson opens are kept.
const maxAhead = 256

// typedAhead presses, once the lesson is open, the keys typed while it
// opened, in order (cmd is the load's own).
func (m Model) typedAhead(cmd tea.Cmd) (tea.Model, tea.Cmd) {
	if m.src == nil || len(m.ahead) == 0 {
		return m, cmd
	}
	keys := m.ahead
	m.ahead = nil
	return pressEach(m, keys, cmd, func(next tea.Model, k tea.KeyMsg) (tea.Model, tea.Cmd) { return next.(Model).updateKey(k) })
}

// typedTogether returns the keys of msg one by one when it holds several:
// keys typed faster than the terminal is read (a held key, a script
// driving tmux) arrive as one message with several runes, and outside a
// text input each is a key of its own. It returns nil for one key.
func (m *Model) typedTogether(msg tea.KeyMsg) []tea.KeyMsg {
	if msg.Type != tea.KeyRunes || len(msg.Runes) < 2 || msg.Paste || m.typing() || m.mode == modePicker {
		return nil
	}
	keys := make([]tea.KeyMsg, len(msg.Runes))
	for i, r := range msg.Runes {
		keys[i] = tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}}
	}
	return keys
}

// pressEach hands keys to press one after another, starting from m, and
// batches their commands after first.
func pressEach(m tea.Model, keys []tea.KeyMsg, first tea.Cmd, press func(tea.Model, tea.KeyMsg) (tea.Model, tea.Cmd)) (tea.Model, tea.Cmd) {
	cmds := []tea.Cmd{first}
	for _, k := range keys {
		var cmd tea.Cmd
		m, cmd = press(m, k)
		cmds = append(cmds, cmd)
	}
	return m, tea.Batch(cmds...)
}

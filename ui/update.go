package ui

import (
	"fmt"
	"log"
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/list"
	tea "github.com/charmbracelet/bubbletea"
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
		return m.updateKey(msg)
	case playTickMsg:
		return m.updateTick(msg)
	case loadedMsg:
		return m.updateLoaded(msg)
	case liveTickMsg:
		return m.updateLive(msg)
	case stmtFailedMsg:
		done := m.finishRebuild(msg.id)
		if msg.id == m.loadID {
			m.loading = ""
			m.prompt.entered(msg.stmt, msg.err)
		}
		return m, done
	case errMsg:
		done := m.finishRebuild(msg.id)
		if msg.id != m.loadID {
			return m, done
		}
		m.loading = ""
		m.loadErr = msg.err
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
	case modePicker:
		m.picker, cmd = m.picker.Update(msg)
	default:
		if m.opts.Debug {
			log.Printf("unhandled msg %T", msg)
		}
	}
	return m, cmd
}

func (m Model) updateKey(msg tea.KeyMsg) (tea.Model, tea.Cmd) {
	// Keys typed faster than the terminal is read (a held key, a script
	// driving tmux) arrive as one message with several runes; outside a
	// text input each is a key of its own.
	if msg.Type == tea.KeyRunes && len(msg.Runes) > 1 && !msg.Paste && m.mode != modePrompt && m.mode != modeJump && m.mode != modePicker {
		var cmds []tea.Cmd
		var next tea.Model = m
		for _, r := range msg.Runes {
			var cmd tea.Cmd
			next, cmd = next.(Model).updateKey(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}, Alt: msg.Alt})
			cmds = append(cmds, cmd)
		}
		return next, tea.Batch(cmds...)
	}
	if key.Matches(msg, m.keys.Quit) {
		m.playGen++
		return m, tea.Quit
	}
	switch m.mode {
	case modePrompt:
		return m.updatePromptKey(msg)
	case modeJump:
		return m.updateJumpKey(msg)
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
	switch {
	case key.Matches(msg, k.Help):
		m.help.ShowAll = !m.help.ShowAll
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
	case key.Matches(msg, k.Play):
		return m, m.togglePlay()
	case key.Matches(msg, k.Faster):
		return m, m.changeSpeed(1)
	case key.Matches(msg, k.Slower):
		return m, m.changeSpeed(-1)
	case key.Matches(msg, k.Mark):
		m.toggleMark()
	case key.Matches(msg, k.NextMark):
		m.nextMark()
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
	case key.Matches(msg, k.Zoom):
		m.pages.zoom = !m.pages.zoom
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
	case key.Matches(msg, k.Inspect):
		if m.src != nil && inspectable(m.focus) {
			m.startCursor()
			m.setMode(modeInspect)
		}
	case key.Matches(msg, k.Jump):
		m.jump.SetValue("")
		m.jumpErr = ""
		m.setMode(modeJump)
		return m, m.jump.Focus()
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

// updatePromptKey handles keys while the statement prompt is open.
func (m Model) updatePromptKey(msg tea.KeyMsg) (tea.Model, tea.Cmd) {
	switch {
	case key.Matches(msg, m.keys.Cancel):
		m.prompt.blur()
		m.setMode(modeStep)
		return m, nil
	case key.Matches(msg, m.keys.HistoryPrev):
		m.prompt.older()
		return m, nil
	case key.Matches(msg, m.keys.HistoryNext):
		m.prompt.newer()
		return m, nil
	case key.Matches(msg, m.keys.Run):
		return m, m.runStatement()
	}
	var cmd tea.Cmd
	m.prompt.input, cmd = m.prompt.input.Update(msg)
	return m, cmd
}

// runStatement runs the prompt's statement as new steps. At the last step
// it runs in place; at an earlier step the session is rebuilt up to the
// step shown on a fresh machine (off the event loop) and continues from
// there, discarding the later steps.
func (m *Model) runStatement() tea.Cmd {
	stmt := m.prompt.value()
	if stmt == "" || m.src == nil || m.loading != "" || m.live {
		return nil
	}
	m.stopPlay()
	if m.step < m.lastStep() {
		from, last := m.step, m.lastStep()
		notice := fmt.Sprintf("continued from step %d: steps %d to %d were discarded", from, from+1, last)
		if from+1 == last {
			notice = fmt.Sprintf("continued from step %d: step %d was discarded", from, last)
		}
		m.loadID++
		m.loading = fmt.Sprintf("rebuilding up to step %d", from)
		m.rebuildFrom, m.rebuildID, m.orphan = m.src, m.loadID, false
		return continueCmd(m.loadID, m.src.rebuilder(from), m.name, stmt, notice)
	}
	before := m.lastStep()
	result, err := m.src.exec(stmt)
	m.prompt.entered(stmt, err)
	m.seekTo(m.lastStep())
	if err == nil {
		what := stmt
		if result != "" {
			what += " = " + result
		}
		switch n := m.lastStep() - before; n {
		case 0:
			m.setNotice(what+" (no allocator call, so no new step)", false)
		case 1:
			m.setNotice(fmt.Sprintf("step %d: %s", m.step, what), false)
		default:
			m.setNotice(fmt.Sprintf("steps %d to %d: %s", before+1, m.step, what), false)
		}
	}
	return nil
}

// updateJumpKey handles keys while the jump-to-step input is open.
func (m Model) updateJumpKey(msg tea.KeyMsg) (tea.Model, tea.Cmd) {
	switch {
	case key.Matches(msg, m.keys.Cancel):
		m.jump.Blur()
		m.setMode(modeStep)
		return m, nil
	case key.Matches(msg, m.keys.Run):
		s := strings.TrimSpace(m.jump.Value())
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > m.lastStep() {
			m.jumpErr = fmt.Sprintf("%q is not a step: type a number from 0 to %d", s, m.lastStep())
			return m, nil
		}
		m.jump.Blur()
		m.setMode(modeStep)
		m.seekTo(n)
		return m, nil
	}
	var cmd tea.Cmd
	m.jump, cmd = m.jump.Update(msg)
	m.jumpErr = ""
	return m, cmd
}

// updatePickerKey handles keys while the scenario picker is open. While
// its filter is being typed every key goes to the list.
func (m Model) updatePickerKey(msg tea.KeyMsg) (tea.Model, tea.Cmd) {
	if m.picker.FilterState() != list.Filtering {
		switch {
		case key.Matches(msg, m.keys.Cancel) && m.picker.FilterState() == list.Unfiltered:
			m.setMode(modeStep)
			return m, nil
		case key.Matches(msg, m.keys.Run):
			it, ok := m.picker.SelectedItem().(scenarioItem)
			if !ok {
				return m, nil
			}
			m.setMode(modeStep)
			return m, m.startLoad(it.name)
		}
	}
	var cmd tea.Cmd
	m.picker, cmd = m.picker.Update(msg)
	return m, cmd
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
		for _, s := range m.marks {
			if s <= msg.from {
				kept = append(kept, s)
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
	if msg.stmt != "" {
		m.prompt.entered(msg.stmt, msg.stmtErr)
		m.seekTo(m.lastStep())
	} else {
		m.seekTo(0)
	}
	m.setNotice(msg.notice, false)
	var tick tea.Cmd
	switch {
	case m.live:
		m.setNotice(fmt.Sprintf("the %s is still running: its steps appear as it takes them", msg.src.inputNoun()), false)
		tick = liveTickCmd(msg.src)
	case msg.stmt == "":
		m.noticeScriptEnd()
	}
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
		m.setNotice(fmt.Sprintf("%d check(s) failed; the first, at step %d: %s", len(f), f[0].Step, f[0].Msg), true)
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

// lastStep is the number of the last step, 0 with nothing loaded.
func (m Model) lastStep() int {
	if m.src == nil {
		return 0
	}
	return m.src.steps()
}

// seekTo shows step n, clamped to the steps that exist.
func (m *Model) seekTo(n int) {
	if m.src == nil {
		return
	}
	n = max(0, min(m.quizClamp(n), m.lastStep()))
	m.step = n
	m.events.back = 0
	m.src.seek(n)
	m.refresh()
}

// togglePlay starts or pauses the replay. Starting at the last step
// replays from the first.
func (m *Model) togglePlay() tea.Cmd {
	if m.playing {
		m.stopPlay()
		return nil
	}
	if m.src == nil || m.lastStep() == 0 {
		return nil
	}
	if m.step >= m.lastStep() {
		m.seekTo(0)
	}
	m.playing = true
	m.playGen++
	m.syncKeys()
	return tickCmd(m.playGen, speeds[m.speed])
}

// stopPlay pauses; a tick already armed is now stale.
func (m *Model) stopPlay() {
	m.playing = false
	m.playGen++
	m.syncKeys()
}

// changeSpeed moves d places along speeds; a running replay is re-armed
// at the new speed (the old tick goes stale).
func (m *Model) changeSpeed(d int) tea.Cmd {
	m.speed = max(0, min(m.speed+d, len(speeds)-1))
	if !m.playing {
		return nil
	}
	m.playGen++
	return tickCmd(m.playGen, speeds[m.speed])
}

// toggleMark bookmarks the step shown, or removes its bookmark.
func (m *Model) toggleMark() {
	for i, s := range m.marks {
		if s == m.step {
			m.marks = append(m.marks[:i], m.marks[i+1:]...)
			m.setNotice(fmt.Sprintf("bookmark at step %d removed", m.step), false)
			return
		}
		if s > m.step {
			m.marks = append(m.marks[:i], append([]int{m.step}, m.marks[i:]...)...)
			m.setNotice(fmt.Sprintf("bookmarked step %d", m.step), false)
			return
		}
	}
	m.marks = append(m.marks, m.step)
	m.setNotice(fmt.Sprintf("bookmarked step %d", m.step), false)
}

// toggleDiff makes the step shown the base that changes are counted
// from, or, pressed on the base, goes back to showing each step's own
// changes.
func (m *Model) toggleDiff() {
	if m.src == nil {
		return
	}
	if m.diff == m.step {
		m.diff = -1
		m.setNotice("diff off: each step marks its own changes", false)
	} else {
		m.diff = m.step
		m.setNotice(fmt.Sprintf("diff from step %d: step anywhere and the page map marks everything that differs", m.step), false)
	}
	m.refresh()
}

// nextMark goes to the first bookmark after the step shown, wrapping
// around to the first bookmark.
func (m *Model) nextMark() {
	if len(m.marks) == 0 {
		m.setNotice("no bookmarks: press m to bookmark a step", false)
		return
	}
	target := m.marks[0]
	for _, s := range m.marks {
		if s > m.step {
			target = s
			break
		}
	}
	m.seekTo(target)
}

// setFocus moves the focus to pane p; the inspector cursor follows only
// into panes that have one.
func (m *Model) setFocus(p paneID) {
	m.focus = p
	if m.mode == modeInspect && !inspectable(p) {
		m.mode = modeStep
	}
	m.syncKeys()
	// The smaller layouts show the focused pane, so sizes change.
	m.relayout()
}

// startCursor puts the inspector cursor on what the step shown changed:
// its first page, or its first object in the selected cache.
func (m *Model) startCursor() {
	si, err := m.src.hv.StepInfo(m.step)
	if err != nil {
		return
	}
	switch m.focus {
	case panePages:
		if len(si.Pages) > 0 {
			m.pages.cursor = si.Pages[0].PFN
		}
	case paneSlabs:
		for _, a := range si.Objects {
			if in, err := m.src.hv.InspectAddr(a); err == nil && in.Slab != nil && in.Slab.Cache == m.slabs.sel {
				m.slabs.obj = a
				return
			}
		}
	}
}

// inspectable reports whether pane p has an inspector cursor.
func inspectable(p paneID) bool { return p == panePages || p == paneSlabs }

// selectDelta moves the focused pane's selection.
func (m *Model) selectDelta(d int) {
	switch m.focus {
	case paneSlabs:
		m.slabs.selectDelta(d)
	case paneVmalloc:
		m.vm.selectDelta(d)
	case paneEvents:
		m.events.scrollBack(-d)
	case panePages:
		m.pages.scroll(d)
	case paneRealloc:
		m.realloc.scroll(d)
	}
	m.refresh()
}

// moveCursor moves the inspector cursor in the focused pane.
func (m *Model) moveCursor(dx, dy int) {
	switch m.focus {
	case panePages:
		m.pages.moveCursor(dx, dy)
	case paneSlabs:
		m.moveObject(dx, dy)
	}
	m.refresh()
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

// syncKeys enables exactly the bindings that act in the current mode and
// focus, so the help shows only keys that work.
func (m *Model) syncKeys() {
	k := &m.keys
	typing := m.mode == modePrompt || m.mode == modeJump
	stepping := m.mode == modeStep || m.mode == modeInspect
	for _, b := range k.stepBindings() {
		b.SetEnabled(stepping)
	}
	for _, b := range k.contextBindings() {
		b.SetEnabled(false)
	}
	picking := m.mode == modePicker
	k.Run.SetEnabled(typing || picking)
	k.Cancel.SetEnabled(typing || picking || m.mode == modeInspect || (stepping && m.help.ShowAll))
	k.HistoryPrev.SetEnabled(m.mode == modePrompt)
	k.HistoryNext.SetEnabled(m.mode == modePrompt)
	if m.mode == modeInspect {
		for _, b := range []*key.Binding{&k.CursorLeft, &k.CursorRight, &k.CursorUp, &k.CursorDown} {
			b.SetEnabled(true)
		}
		k.Up.SetEnabled(false)
		k.Down.SetEnabled(false)
		k.Inspect.SetEnabled(false)
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
	if m.help.ShowAll {
		k.Help.SetHelp("?", "close help")
	} else {
		k.Help.SetHelp("?", "help")
	}
	if m.playing {
		k.Play.SetHelp("space", "pause")
	} else {
		k.Play.SetHelp("space", "play")
	}
	k.Sort.SetEnabled(stepping && m.focus == paneSlabs)
	k.Reverse.SetEnabled(stepping && m.focus == paneSlabs)
	k.Freelist.SetEnabled(stepping && m.focus == paneSlabs)
	k.AllCaches.SetEnabled(stepping && m.focus == paneSlabs)
	if typing || m.mode == modePicker {
		k.Quit.SetKeys("ctrl+c")
		k.Quit.SetHelp("ctrl+c", "quit")
	} else {
		k.Quit.SetKeys("q", "ctrl+c")
		k.Quit.SetHelp("q", "quit")
	}
}

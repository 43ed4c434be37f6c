package ui

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/allocviz/allocviz/allocator"
	"github.com/allocviz/allocviz/heapview"
)

// lastStep is the number of the last step, 0 with nothing loaded.
func (m Model) lastStep() int {
	if m.src == nil {
		return 0
	}
	return m.src.steps()
}

// seekTo shows step n, clamped to the steps that exist. Moving to
// another step scrolls every pane back to its start and drops the notice
// of the step before; in the presenter layout the focus goes to the pane
// the step is about.
func (m *Model) seekTo(n int) {
	if m.src == nil {
		return
	}
	n = max(0, min(m.quizClamp(n), m.lastStep()))
	if n != m.step {
		m.events.back = 0
		m.why.top, m.realloc.top, m.inspector.top, m.vm.top = 0, 0, 0, 0
		m.slabs.vscroll = 0
		if !m.noticeErr {
			m.setNotice("", false)
		}
	}
	m.step = n
	m.src.seek(n)
	if m.followTopic() {
		m.relayout()
		return
	}
	m.refresh()
}

// followTopic focuses, in the presenter layout, the pane the step shown
// is about, and reports whether the focus moved.
func (m *Model) followTopic() bool {
	if !m.presenter || m.src == nil || m.mode == modeInspect {
		return false
	}
	var p paneID
	switch t, _ := m.src.hv.StepTopic(m.step); t {
	case heapview.TopicRealloc:
		p = paneRealloc
	case heapview.TopicVmalloc:
		p = paneVmalloc
	case heapview.TopicSlab:
		p = paneSlabs
	case heapview.TopicPages:
		p = panePages
	default:
		return false // narration: the pane of the step before stays
	}
	if p == m.focus {
		return false
	}
	m.focus = p
	m.syncKeys()
	return true
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

// bookmark is a bookmarked step: one the user marked (m), or one the
// script marked with bookmark(name).
type bookmark struct {
	step int
	name string // the script's name for it; "" for the user's own
}

// markAt returns the bookmark of step, if there is one.
func (m Model) markAt(step int) (bookmark, bool) {
	i, ok := slices.BinarySearchFunc(m.marks, step, func(b bookmark, s int) int { return b.step - s })
	if !ok {
		return bookmark{}, false
	}
	return m.marks[i], true
}

// addMark bookmarks step, keeping the bookmarks in order; a step already
// bookmarked keeps its first bookmark.
func (m *Model) addMark(b bookmark) {
	i, ok := slices.BinarySearchFunc(m.marks, b.step, func(x bookmark, s int) int { return x.step - s })
	if !ok {
		m.marks = slices.Insert(m.marks, i, b)
	}
}

// scriptMarks bookmarks the steps the script marked with bookmark(name).
func (m *Model) scriptMarks() {
	for _, b := range m.src.sess.Bookmarks() {
		m.addMark(bookmark{step: min(b.Step, m.lastStep()), name: b.Name})
	}
}

// toggleMark bookmarks the step shown, or removes its bookmark.
func (m *Model) toggleMark() {
	i, ok := slices.BinarySearchFunc(m.marks, m.step, func(b bookmark, s int) int { return b.step - s })
	if ok {
		m.marks = slices.Delete(m.marks, i, i+1)
		m.setNotice(fmt.Sprintf("bookmark at step %d removed", m.step), false)
		return
	}
	m.addMark(bookmark{step: m.step})
	m.setNotice(fmt.Sprintf("bookmarked step %d", m.step), false)
}

// cycleMark goes to the next bookmark after the step shown (the previous
// one before it, with back), going round at the ends.
func (m *Model) cycleMark(back bool) {
	if len(m.marks) == 0 {
		m.setNotice("no bookmarks: press m to bookmark a step (a script marks its own with bookmark(name))", false)
		return
	}
	target := m.marks[0]
	if back {
		target = m.marks[len(m.marks)-1]
		for i := len(m.marks) - 1; i >= 0; i-- {
			if m.marks[i].step < m.step {
				target = m.marks[i]
				break
			}
		}
	} else {
		for _, b := range m.marks {
			if b.step > m.step {
				target = b
				break
			}
		}
	}
	m.seekTo(target.step)
	i, _ := slices.BinarySearchFunc(m.marks, target.step, func(b bookmark, s int) int { return b.step - s })
	what := fmt.Sprintf("bookmark %d of %d", i+1, len(m.marks))
	if target.name != "" {
		what += ": " + target.name
	}
	m.setNotice(what, false)
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
		m.setNotice(fmt.Sprintf("diff from step %d: step anywhere and the page map underlines everything that differs", m.step), false)
	}
	m.relayout() // the legend explains the diff mark while it is on
}

// chapter goes to the next step that narrates or checks something (the
// previous one, with back).
func (m *Model) chapter(back bool) {
	if m.src == nil {
		return
	}
	next, prev := m.src.hv.NextChapter, m.src.hv.PrevChapter
	find, where := next, "after"
	if back {
		find, where = prev, "before"
	}
	st, ok := find(m.step)
	if !ok {
		m.setNotice(fmt.Sprintf("no narration or check %s step %d", where, m.step), false)
		return
	}
	m.seekTo(st)
}

// endOfStatement goes to the last step of the statement the step shown
// belongs to (a loop, a call of a function: one top-level statement of
// the script), or, when the step shown is that statement's last, of the
// next statement.
func (m *Model) endOfStatement() {
	if m.src == nil || m.step >= m.lastStep() {
		return
	}
	stmt := m.src.sess.StepStmt
	from := m.step + 1
	if m.step > 0 && stmt(m.step) == stmt(from) {
		from = m.step
	}
	to, last := from, m.lastStep()
	for to < last && stmt(to+1) == stmt(from) {
		to++
	}
	m.seekTo(to)
	if to > from {
		m.setNotice(fmt.Sprintf("steps %d to %d come from the statement at %s", from, to, fileLine(stmt(from))), false)
	}
}

// goTo goes to what the go-to input names: a step number, an address
// (0xffff888000102000) or a page frame (pfn 0x102). An address or a page
// frame goes to the step that last changed it, with the inspector on it.
func (m *Model) goTo(text string) error {
	if m.src == nil {
		return errors.New("nothing is loaded")
	}
	s := strings.ToLower(strings.TrimSpace(text))
	hint := fmt.Sprintf("type a step from 0 to %d, an address (0xffff888000102000) or a pfn (pfn 0x102)", m.lastStep())
	switch {
	case s == "":
		return errors.New(hint)
	case strings.HasPrefix(s, "pfn"):
		arg := strings.TrimSpace(strings.TrimPrefix(s, "pfn"))
		pfn, err := strconv.ParseUint(arg, 0, 64)
		if err != nil {
			return fmt.Errorf("%q is not a page frame number: %s", text, hint)
		}
		if nr := m.src.hv.NrPages(); pfn >= nr {
			return fmt.Errorf("pfn %#x is past the end of RAM (pfns 0 to %#x)", pfn, nr-1)
		}
		m.goToPage(pfn)
		return nil
	case strings.HasPrefix(s, "0x"):
		a, err := strconv.ParseUint(s, 0, 64)
		if err != nil {
			return fmt.Errorf("%q is not an address: %s", text, hint)
		}
		return m.goToAddr(allocator.Addr(a))
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > m.lastStep() {
		return fmt.Errorf("%q is not a step: %s", text, hint)
	}
	m.seekTo(n)
	return nil
}

// lastTouch returns the step that last changed what inspect describes,
// looking at the end of the session.
func (m *Model) lastTouch(inspect func() (heapview.Inspection, error)) (heapview.Inspection, int, error) {
	hv := m.src.hv
	hv.Seek(m.lastStep())
	in, err := inspect()
	hv.Seek(m.step)
	if err != nil {
		return in, 0, err
	}
	st, ok := hv.StepOfSeq(in.Seq)
	if !ok {
		st = 0
	}
	return in, st, nil
}

// goToPage goes to the step that last changed page frame pfn and puts the
// page map's cursor on it.
func (m *Model) goToPage(pfn uint64) {
	_, st, err := m.lastTouch(func() (heapview.Inspection, error) { return m.src.hv.InspectPage(pfn) })
	if err != nil {
		m.jumpErr = err.Error()
		return
	}
	m.focus = panePages
	m.pages.cursor = pfn
	m.mode = modeInspect
	m.syncKeys()
	m.seekTo(st)
	m.relayout()
	m.setNotice(fmt.Sprintf("pfn %#x was last changed in step %d", pfn, st), false)
}

// goToAddr goes to the step that last changed the memory at a: a slab
// object (the slab pane's cursor on it), a vmap area (selected), or a
// page.
func (m *Model) goToAddr(a allocator.Addr) error {
	hv := m.src.hv
	in, st, err := m.lastTouch(func() (heapview.Inspection, error) { return hv.InspectAddr(a) })
	if err != nil {
		return fmt.Errorf("%v is not memory of this machine: %v", a, err)
	}
	switch {
	case in.Slab != nil && in.Object >= 0:
		m.focus = paneSlabs
		m.slabs.sel, m.slabs.pinned, m.slabs.obj = in.Slab.Cache, true, a
		m.mode = modeInspect
	case in.Area != nil:
		m.focus = paneVmalloc
		m.vm.sel = in.Area.Addr
		m.mode = modeStep
	case in.HasPFN:
		m.focus = panePages
		m.pages.cursor = in.PFN
		m.mode = modeInspect
	default:
		return fmt.Errorf("%v is not memory of this machine", a)
	}
	m.syncKeys()
	m.seekTo(st)
	m.relayout()
	m.setNotice(fmt.Sprintf("%v was last changed in step %d", a, st), false)
	return nil
}

// searchNext goes to the next step whose call or events mention the
// search text (the previous one, with back), and selects a slab cache
// whose name has it.
func (m *Model) searchNext(back bool) {
	text := strings.TrimSpace(m.search.Value())
	if m.src == nil || text == "" {
		m.found = "type what to search for: a word of an event's explanation, a call, a cache name"
		return
	}
	var found []string
	for _, c := range m.src.hv.Caches() {
		if strings.Contains(strings.ToLower(c.Name), strings.ToLower(text)) {
			if m.slabs.sel != c.Name {
				m.slabs.sel, m.slabs.pinned = c.Name, true
				found = append(found, "cache "+c.Name+" selected in the slab pane")
			}
			break
		}
	}
	st, match, ok := m.src.hv.Search(text, m.step, back)
	if ok {
		m.seekTo(st)
		found = append([]string{fmt.Sprintf("step %d: %s", st, oneLine(match))}, found...)
	} else {
		found = append([]string{fmt.Sprintf("no step mentions %q", text)}, found...)
		m.refresh()
	}
	m.found = strings.Join(found, "; ")
	m.syncKeys()
}

// oneLine keeps the first line of a text of several.
func oneLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
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

// selectDelta moves the focused pane's selection, or scrolls it.
func (m *Model) selectDelta(d int) {
	switch m.focus {
	case paneSlabs:
		m.slabs.selectDelta(d)
		m.syncKeys()
	case paneVmalloc:
		m.vm.selectDelta(d)
	default:
		m.scrollPane(m.focus, d)
		return
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

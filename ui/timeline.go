package ui

import (
	"fmt"
	"strings"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/allocviz/allocviz/heapview"
)

// The timeline: one of heapview's series (free memory, the unusable free
// space and fragmentation indexes of each zone, slab memory and the top caches, vmalloc
// pages, free pages by migrate type) over the whole session, the current step marked. It is a pane
// (always on screen in the wide layout, a tab in the others) and, while t
// has chosen a series and the pane is not on screen, a strip under the
// status bar: a chart where the terminal is tall enough, else one line
// with a sparkline. t shows the next series (the strip is off after the
// last; ↑/↓ in the pane), T goes to the step where the series shown
// changed most, > to where it crosses a value typed, and a click on the
// chart goes to the step under the mouse. heapview makes each series
// once; pane and strip are drawn in refresh.

const (
	// timelineOrder is the order the fragmentation indexes are about:
	// PAGE_ALLOC_COSTLY_ORDER, above which the kernel tries less hard.
	timelineOrder = 3
	// timelineCaches is how many caches the timeline offers, those with
	// the most memory in slabs at any step.
	timelineCaches = 3
	// timelineChartMinHeight is the terminal height from which the
	// timeline is a chart of timelineChartLines lines; below, one line.
	timelineChartMinHeight = 40
	timelineChartLines     = 5
	// timelineRowMinBody is the body height from which the wide layout
	// gives the timeline pane a row of its own, timelineChartLines high;
	// below, it shares the Why strip's row.
	timelineRowMinBody = 60
)

// timelineState is what the timeline shows.
type timelineState struct {
	textPane        // the timeline as a pane
	shown    int    // 0: off; i+1: the series SeriesKeys lists i-th
	view     string // the strip as refresh drew it
	col0     int    // the screen column of the first step's cell in the strip
}

// timelineKeys lists the series t steps through.
func (m *Model) timelineKeys() []heapview.SeriesKey {
	if m.src == nil {
		return nil
	}
	return m.src.hv.SeriesKeys(timelineOrder, timelineCaches)
}

// timelineKey returns the series shown: the one t chose, or the first
// while the timeline pane is on screen and t has chosen none.
func (m *Model) timelineKey() (heapview.SeriesKey, bool) {
	keys := m.timelineKeys()
	shown := m.tl.shown
	if shown == 0 && m.timelinePaneShown(m.lay.kind) {
		shown = 1
	}
	if shown <= 0 || shown > len(keys) {
		return heapview.SeriesKey{}, false
	}
	return keys[shown-1], true
}

// timelineHeight is the strip's height in lines in the current layout.
func (m *Model) timelineHeight() int { return m.stripHeight(m.lay.kind) }

// stripHeight is the strip's height in lines in a layout of kind: none
// while the timeline is off or on screen as a pane.
func (m *Model) stripHeight(kind layoutKind) int {
	if m.tl.shown == 0 || m.src == nil || m.timelinePaneShown(kind) {
		return 0
	}
	if m.height >= timelineChartMinHeight {
		return timelineChartLines
	}
	return 1
}

// cycleTimeline shows the series d places on (back when d < 0); under the
// status bar the timeline is off after the last, while as a pane it shows
// one of them.
func (m *Model) cycleTimeline(d int) {
	keys := m.timelineKeys()
	n := len(keys)
	if n == 0 {
		return
	}
	if m.timelinePaneShown(m.lay.kind) {
		m.tl.shown = ((max(m.tl.shown, 1)-1+d)%n+n)%n + 1
	} else {
		m.tl.shown = ((m.tl.shown+d)%(n+1) + n + 1) % (n + 1)
	}
	if k, ok := m.timelineKey(); ok {
		s, _ := m.src.hv.Series(k)
		m.setNotice(fmt.Sprintf("timeline: %s (t: next series, T: go to its biggest change, >: to where it crosses a value)", s.Name), false)
	} else {
		m.setNotice("timeline off (t shows it)", false)
	}
	m.relayout()
	m.refresh()
}

// jumpToChange goes to the step where the series shown changed most.
func (m *Model) jumpToChange() {
	k, ok := m.timelineKey()
	if !ok {
		m.setNotice("no timeline shown: t shows one", true)
		return
	}
	s, err := m.src.hv.Series(k)
	if err != nil {
		m.setNotice(err.Error(), true)
		return
	}
	st, d := s.BiggestChange()
	if d == 0 {
		m.setNotice(s.Name+" never changes", false)
		return
	}
	m.seekTo(st)
	m.setNotice(fmt.Sprintf("step %d: %s changed most here (%s to %s)", st, s.Name, s.Format(s.Values[st-1]), s.Format(s.Values[st])), false)
}

// refreshTimeline draws the timeline at the current step: the pane when
// it is on screen, else the strip.
func (m *Model) refreshTimeline() {
	m.tl.view, m.tl.col0 = "", 0
	k, ok := m.timelineKey()
	if !ok {
		m.tl.setExact("Timeline", nil)
		return
	}
	hv := m.src.hv
	if m.lay.boxes[paneTimeline].visible() {
		w, h := m.tl.Size()
		rows := hv.Timeline(heapview.TimelineOptions{Width: w, Height: h, Key: k})
		m.tl.setExact("Timeline", m.cells.rows(rows, w))
	}
	switch m.timelineHeight() {
	case 0:
		return
	case timelineChartLines:
		rows := hv.Timeline(heapview.TimelineOptions{Width: m.width, Height: timelineChartLines, Key: k})
		m.tl.view = strings.Join(m.cells.rows(rows, m.width), "\n")
		return
	}
	s, err := hv.Series(k)
	if err != nil {
		return
	}
	// The value takes a fixed width, so that the sparkline stays put, and
	// is never cut: the name gives way, keeping what it is about.
	value := fmt.Sprintf(" %9s ", s.Format(s.Values[min(m.step, len(s.Values)-1)]))
	label := " " + cutSeriesName(s.Name, m.width/2-1-lipgloss.Width(value)) + value
	label = truncate(label, m.width/2)
	w := lipgloss.Width(label)
	m.tl.col0 = w
	spark := m.cells.rows([]heapview.Row{hv.Sparkline(k, m.width-w)}, m.width-w)[0]
	m.tl.view = m.styles.Muted.Render(label) + spark
}

// clickTimelinePane goes to the step under a click at body cell (x, y) in
// the timeline pane, if it fell on the chart.
func (m *Model) clickTimelinePane(x, y int) {
	b := m.lay.boxes[paneTimeline]
	w, h := m.tl.Size()
	col, row := x-b.x-1-m.frames.padL, y-b.y-1-m.frames.padT
	// The chart is between the title row and the axis row.
	if col < 0 || col >= w || row < 1 || row >= h-1 {
		return
	}
	m.seekTo(m.src.hv.TimelineStep(w, col))
}

// clickTimeline goes to the step under a click on the strip and reports
// whether the click was there.
func (m *Model) clickTimeline(msg tea.MouseMsg) bool {
	top := lipgloss.Height(m.statusView())
	h := m.timelineHeight()
	if h == 0 || msg.Y < top || msg.Y >= top+h || msg.Button != tea.MouseButtonLeft || msg.Action != tea.MouseActionPress {
		return false
	}
	width := m.width
	if h == 1 {
		width -= m.tl.col0
	}
	x := msg.X - m.tl.col0
	if x < 0 {
		return true
	}
	m.seekTo(m.src.hv.TimelineStep(width, x))
	return true
}

// startCross opens the threshold input for the series shown.
func (m *Model) startCross() tea.Cmd {
	k, ok := m.timelineKey()
	if !ok {
		m.setNotice("no timeline shown: t shows one, then > finds where it crosses a value", true)
		return nil
	}
	s, err := m.src.hv.Series(k)
	if err != nil {
		m.setNotice(err.Error(), true)
		return nil
	}
	lo, hi := s.Range()
	m.cross.SetValue("")
	m.crossed = fmt.Sprintf("%s runs from %s to %s: type a value, enter goes to the next step it crosses it", s.Name, s.Format(lo), s.Format(hi))
	m.setMode(modeCross)
	return m.cross.Focus()
}

// crossNext goes to the next step after the one shown at which the series
// shown reaches the value typed from below or falls to it from above,
// starting again from the first step after the last.
func (m *Model) crossNext() {
	k, ok := m.timelineKey()
	if !ok {
		m.crossed = "no timeline shown"
		return
	}
	s, err := m.src.hv.Series(k)
	if err != nil {
		m.crossed = err.Error()
		return
	}
	v, err := s.Parse(m.cross.Value())
	if err != nil {
		m.crossed = err.Error()
		return
	}
	st, ok := s.Crossing(v, m.step)
	wrapped := false
	if !ok {
		st, ok = s.Crossing(v, -1)
		wrapped = ok && st <= m.step
	}
	if !ok {
		lo, hi := s.Range()
		m.crossed = fmt.Sprintf("%s never crosses %s (it runs from %s to %s)", s.Name, s.Format(v), s.Format(lo), s.Format(hi))
		m.refresh()
		return
	}
	m.seekTo(st)
	m.crossed = fmt.Sprintf("step %d: %s went from %s to %s, crossing %s", st, s.Name, s.Format(s.Values[st-1]), s.Format(s.Values[st]), s.Format(v))
	if wrapped {
		m.crossed += " (from the start again)"
	}
}

// cutSeriesName cuts a series' name to width cells in the middle, keeping its
// last part whole ("DMA32" of "unusable free space index, order 3,
// DMA32", "kmalloc-64" of "slab memory: kmalloc-64"): which zone, cache
// or type a series is about is what tells it from its neighbours.
func cutSeriesName(name string, width int) string {
	if lipgloss.Width(name) <= width {
		return name
	}
	i := max(strings.LastIndex(name, ", "), strings.LastIndex(name, ": "))
	if i < 0 {
		return truncate(name, width)
	}
	tail := name[i:]
	head := width - lipgloss.Width(tail)
	if head < 2 {
		return truncate(name, width)
	}
	return truncate(name[:i], head) + tail
}

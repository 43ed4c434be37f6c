package ui

import (
	"fmt"
	"strings"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/allocviz/allocviz/heapview"
)

// The timeline: one of heapview's series (free memory, the unusable free
// space and fragmentation indexes, slab memory and the top caches, vmalloc
// pages) over the whole session, under the status bar, the current step
// marked: a chart where the terminal is tall enough, else one line with a
// sparkline. t shows the next series (off after the last), T goes to the
// step where the series shown changed most, and a click on the timeline
// goes to the step under the mouse. heapview makes each series once; the
// strip is drawn in refresh, like the panes.

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
)

// timelineState is what the timeline shows.
type timelineState struct {
	shown int    // 0: off; i+1: the series SeriesKeys lists i-th
	view  string // the strip as refresh drew it
	col0  int    // the screen column of the first step's cell
}

// timelineKeys lists the series t steps through.
func (m *Model) timelineKeys() []heapview.SeriesKey {
	if m.src == nil {
		return nil
	}
	return m.src.hv.SeriesKeys(timelineOrder, timelineCaches)
}

// timelineKey returns the series shown.
func (m *Model) timelineKey() (heapview.SeriesKey, bool) {
	keys := m.timelineKeys()
	if m.tl.shown <= 0 || m.tl.shown > len(keys) {
		return heapview.SeriesKey{}, false
	}
	return keys[m.tl.shown-1], true
}

// timelineHeight is the strip's height in lines.
func (m *Model) timelineHeight() int {
	if m.tl.shown == 0 || m.src == nil {
		return 0
	}
	if m.height >= timelineChartMinHeight {
		return timelineChartLines
	}
	return 1
}

// cycleTimeline shows the next series, or none after the last.
func (m *Model) cycleTimeline() {
	keys := m.timelineKeys()
	if len(keys) == 0 {
		return
	}
	m.tl.shown = (m.tl.shown + 1) % (len(keys) + 1)
	if k, ok := m.timelineKey(); ok {
		s, _ := m.src.hv.Series(k)
		m.setNotice(fmt.Sprintf("timeline: %s (t: next series, T: go to its biggest change)", s.Name), false)
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

// refreshTimeline draws the strip at the current step.
func (m *Model) refreshTimeline() {
	m.tl.view, m.tl.col0 = "", 0
	k, ok := m.timelineKey()
	if !ok {
		return
	}
	hv := m.src.hv
	if m.timelineHeight() > 1 {
		rows := hv.Timeline(heapview.TimelineOptions{Width: m.width, Height: timelineChartLines, Key: k})
		m.tl.view = strings.Join(m.cells.rows(rows, m.width), "\n")
		return
	}
	s, err := hv.Series(k)
	if err != nil {
		return
	}
	// The value takes a fixed width, so that the sparkline stays put.
	label := fmt.Sprintf(" %s %9s ", s.Name, s.Format(s.Values[min(m.step, len(s.Values)-1)]))
	label = truncate(label, m.width/2)
	w := lipgloss.Width(label)
	m.tl.col0 = w
	spark := m.cells.rows([]heapview.Row{hv.Sparkline(k, m.width-w)}, m.width-w)[0]
	m.tl.view = m.styles.Muted.Render(label) + spark
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

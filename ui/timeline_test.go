package ui

import (
	"fmt"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/allocviz/allocviz/heapview"
)

// TestTimeline: t shows each series in turn under the status bar (a chart
// on a tall terminal, a sparkline on a short one) and then none, the
// screen keeps its size, T goes to the step the series changed most at,
// and a click on the chart goes to the step under it.
func TestTimeline(t *testing.T) {
	for _, sz := range [][2]int{{100, 30}, {160, 45}} {
		m := open(t, "kvmalloc-fragmentation", sz[0], sz[1])
		keys := m.src.hv.SeriesKeys(timelineOrder, timelineCaches)
		for i, k := range keys {
			m, _ = update(t, m, keyMsg("t"))
			s, err := m.src.hv.Series(k)
			if err != nil {
				t.Fatal(err)
			}
			v := m.View()
			if h := lipgloss.Height(v); h != sz[1] {
				t.Fatalf("%dx%d, series %d: the screen is %d lines", sz[0], sz[1], i, h)
			}
			lines := strings.Split(v, "\n")
			name := s.Name
			if sz[1] < timelineChartMinHeight {
				name = name[:min(len(name), 20)]
			}
			if !strings.Contains(lines[1], name) {
				t.Fatalf("%dx%d: the line under the status bar does not name %q:\n%s", sz[0], sz[1], s.Name, v)
			}
		}
		m, _ = update(t, m, keyMsg("t"))
		if m.timelineHeight() != 0 || strings.Contains(strings.Split(m.View(), "\n")[1], "free memory") {
			t.Fatalf("%dx%d: after the last series the timeline should be off", sz[0], sz[1])
		}
		m, _ = update(t, m, keyMsg("t")) // free memory
		s, _ := m.src.hv.Series(keys[0])
		want, _ := s.BiggestChange()
		m.seekTo(0)
		m, _ = update(t, m, keyMsg("T"))
		if m.step != want {
			t.Errorf("%dx%d: T went to step %d, want %d", sz[0], sz[1], m.step, want)
		}
		if !strings.Contains(m.View(), "changed most here") {
			t.Errorf("%dx%d: T says nothing", sz[0], sz[1])
		}
		top := lipgloss.Height(m.statusView())
		x, col0 := sz[0]*3/4, m.tl.col0
		m, _ = update(t, m, tea.MouseMsg{X: x, Y: top + m.timelineHeight() - 1, Button: tea.MouseButtonLeft, Action: tea.MouseActionPress})
		width := sz[0]
		if m.timelineHeight() == 1 {
			width -= col0
		}
		if m.tl.col0 != col0 {
			t.Errorf("%dx%d: the sparkline moved from column %d to %d", sz[0], sz[1], col0, m.tl.col0)
		}
		if want := m.src.hv.TimelineStep(width, x-col0); m.step != want {
			t.Errorf("%dx%d: a click at column %d went to step %d, want %d", sz[0], sz[1], x, m.step, want)
		}
	}
}

// TestTimelineMarksTheStep: the chart's marked column moves with the step.
func TestTimelineMarksTheStep(t *testing.T) {
	m := open(t, "tour", 160, 45)
	m, _ = update(t, m, keyMsg("t"))
	before := m.tl.view
	m, _ = update(t, m, keyMsg("G"))
	if m.tl.view == before {
		t.Error("the timeline is the same at the first and last steps")
	}
	rows := m.src.hv.Timeline(heapview.TimelineOptions{Width: 160, Height: timelineChartLines, Key: heapview.SeriesKey{Kind: heapview.SeriesFree}})
	if !strings.Contains(rows[0].String(), fmt.Sprintf("step %d:", m.step)) {
		t.Errorf("the chart's title does not name the step: %q", rows[0].String())
	}
}

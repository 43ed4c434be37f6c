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
	if !strings.Contains(rows[0].String(), "step 91") {
		t.Errorf("the chart's title does not name the step: %q", rows[0].String())
	}
}

// TestTimelineCrossing: > takes a value typed in the series' unit, and
// enter goes to each step at which the series crosses it in turn, saying
// so on screen; a value it never reaches, or text that is no value, is
// said in the command area and moves nothing.
func TestTimelineCrossing(t *testing.T) {
	m := open(t, "kvmalloc-fragmentation", 100, 30)
	m, _ = update(t, m, keyMsg(">"))
	if m.mode != modeStep || !strings.Contains(m.notice, "t shows one") {
		t.Fatalf("> with no timeline: mode %v, notice %q", m.mode, m.notice)
	}
	m, _ = update(t, m, keyMsg("t")) // free memory
	k, _ := m.timelineKey()
	s, err := m.src.hv.Series(k)
	if err != nil {
		t.Fatal(err)
	}
	at, _ := s.BiggestChange()
	threshold := (s.Values[at-1] + s.Values[at]) / 2
	var want []int
	for st, ok := s.Crossing(threshold, 0); ok; st, ok = s.Crossing(threshold, st) {
		want = append(want, st)
	}
	if len(want) == 0 {
		t.Fatal("the series never crosses the midpoint of its biggest change")
	}
	m.seekTo(0)
	m, _ = update(t, m, keyMsg(">"))
	if m.mode != modeCross {
		t.Fatalf("> with a timeline: mode %v", m.mode)
	}
	m = typeText(t, m, fmt.Sprint(threshold))
	if v := m.View(); !strings.Contains(v, "crosses: "+fmt.Sprint(threshold)) {
		t.Fatalf("the value typed is not on screen:\n%s", v)
	}
	for _, st := range append(want, want[0]) {
		m, _ = update(t, m, keyMsg("enter"))
		if m.step != st {
			t.Fatalf("enter went to step %d, want %d (crossings %v)", m.step, st, want)
		}
		if v := m.View(); !strings.Contains(v, fmt.Sprintf("step %d: free memory went from", st)) {
			t.Fatalf("step %d: the crossing is not said:\n%s", st, v)
		}
	}
	for _, text := range []string{"1T", "12Q"} {
		m.cross.SetValue(text)
		before := m.step
		m, _ = update(t, m, keyMsg("enter"))
		if m.step != before || m.crossed == "" || !strings.Contains(m.View(), m.crossed[:20]) {
			t.Errorf("%q: step %d (was %d), said %q", text, m.step, before, m.crossed)
		}
	}
	m, _ = update(t, m, keyMsg("esc"))
	if m.mode != modeStep {
		t.Errorf("esc left mode %v", m.mode)
	}
}

// TestSearchInputShows: the search input and what it found are on screen
// while it is open.
func TestSearchInputShows(t *testing.T) {
	m := open(t, "tour", 100, 30)
	m, _ = update(t, m, keyMsg("/"))
	m = typeText(t, m, "kmalloc")
	m, _ = update(t, m, keyMsg("enter"))
	v := m.View()
	if !strings.Contains(v, "search: kmalloc") || !strings.Contains(v, m.found[:min(len(m.found), 30)]) {
		t.Errorf("the search is not on screen (found %q):\n%s", m.found, v)
	}
}

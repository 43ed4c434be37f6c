package ui

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/allocviz/allocviz/heapview"
)

// TestTimeline: where the layout does not show the timeline pane, t shows
// each series in turn under the status bar (a chart on a tall terminal, a
// sparkline on a short one) and then none, the
// screen keeps its size, T goes to the step the series changed most at,
// and a click on the chart goes to the step under it.
func TestTimeline(t *testing.T) {
	for _, sz := range [][2]int{{80, 24}, {100, 30}, {120, 45}} {
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
			want := []string{s.Name}
			if sz[1] < timelineChartMinHeight {
				// A sparkline's label may cut the name, but keeps its
				// start, what it is about (the zone, the cache) and the
				// value at the step.
				want = []string{s.Name[:min(len(s.Name), 12)], s.Format(s.Values[m.step])}
				if i := max(strings.LastIndex(s.Name, ", "), strings.LastIndex(s.Name, ": ")); i >= 0 {
					want = append(want, s.Name[i:])
				}
			}
			for _, w := range want {
				if !strings.Contains(lines[1], w) {
					t.Fatalf("%dx%d: the line under the status bar lacks %q of %q:\n%s", sz[0], sz[1], w, s.Name, v)
				}
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
	m := open(t, "tour", 120, 45)
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

// TestTimelinePane: the timeline is a pane: a tab at 80x24, where the
// strip under the status bar gives way to it while it has the focus, and
// always on screen at 200x60, beside the Why strip (a row of its own on a
// taller screen). Focused, the footer shows
// its keys, ↑/↓ change the series, and a click on its chart goes to the
// step under the mouse.
func TestTimelinePane(t *testing.T) {
	for _, sz := range [][2]int{{80, 24}, {200, 60}} {
		m := open(t, "kvmalloc-fragmentation", sz[0], sz[1])
		wide := sz[0] == 200
		if got := m.lay.boxes[paneTimeline].visible(); got != wide {
			t.Fatalf("%dx%d: the timeline pane on screen before it has the focus: %v", sz[0], sz[1], got)
		}
		if wide {
			if !slices.Equal(m.lay.rows[2], []paneID{paneWhy, paneTimeline}) {
				t.Errorf("%dx%d: the timeline should be beside the Why strip: %v", sz[0], sz[1], m.lay.rows)
			}
			m.setFocus(paneTimeline)
		} else {
			m, _ = update(t, m, keyMsg("t")) // the strip: free memory
			if m.timelineHeight() != 1 {
				t.Fatalf("%dx%d: no sparkline under the status bar", sz[0], sz[1])
			}
			for m.focus != paneTimeline {
				m, _ = update(t, m, keyMsg("tab"))
			}
			if m.timelineHeight() != 0 {
				t.Errorf("%dx%d: the strip stays while the pane is on screen", sz[0], sz[1])
			}
		}
		v := m.View()
		if h := lipgloss.Height(v); h != sz[1] {
			t.Fatalf("%dx%d: the screen is %d lines", sz[0], sz[1], h)
		}
		if !strings.Contains(v, "Timeline") || !strings.Contains(v, "free memory · step") {
			t.Fatalf("%dx%d: the timeline pane is not on screen:\n%s", sz[0], sz[1], v)
		}
		// The pane's keys as far as they fit; help always.
		want := []string{"? help", "series", "T biggest change", "> crossing"}
		if sz[0] < 100 {
			want = want[:3]
		}
		for _, want := range want {
			if !strings.Contains(m.footerView(), want) {
				t.Errorf("%dx%d: the footer lacks %q: %s", sz[0], sz[1], want, m.footerView())
			}
		}
		m, _ = update(t, m, keyMsg("down"))
		k, _ := m.timelineKey()
		if k.Kind != heapview.SeriesUnusable || !strings.Contains(m.View(), "unusable free space index") {
			t.Errorf("%dx%d: ↓ shows %+v", sz[0], sz[1], k)
		}
		m, _ = update(t, m, keyMsg("up"))
		m, _ = update(t, m, keyMsg("up")) // from the first, back to the last
		keys := m.timelineKeys()
		if k, _ := m.timelineKey(); k != keys[len(keys)-1] {
			t.Errorf("%dx%d: ↑ from the first series shows %+v", sz[0], sz[1], k)
		}
		b := m.lay.boxes[paneTimeline]
		w, _ := m.tl.Size()
		x, y := b.x+1+m.frames.padL+w*2/3, b.y+1+m.frames.padT+1
		m.seekTo(0)
		m, _ = update(t, m, tea.MouseMsg{X: x, Y: y + m.lay.top, Button: tea.MouseButtonLeft, Action: tea.MouseActionPress})
		if want := m.src.hv.TimelineStep(w, w*2/3); m.step != want || want == 0 {
			t.Errorf("%dx%d: a click on the chart went to step %d, want %d", sz[0], sz[1], m.step, want)
		}
	}
}

// TestTimelinePaneRow: on a tall wide screen the timeline has a row of its
// own, as tall as the chart under the status bar, and the screen keeps its
// size.
func TestTimelinePaneRow(t *testing.T) {
	m := open(t, "tour", 200, 70)
	if len(m.lay.rows) != 5 || !slices.Equal(m.lay.rows[2], []paneID{paneTimeline}) {
		t.Fatalf("the timeline should have a row of its own: %v", m.lay.rows)
	}
	if _, h := m.tl.Size(); h != timelineChartLines {
		t.Errorf("the timeline pane is %d lines high inside, want %d", h, timelineChartLines)
	}
	if h := lipgloss.Height(m.View()); h != 70 {
		t.Errorf("the screen is %d lines", h)
	}
}

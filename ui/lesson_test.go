package ui

import (
	"fmt"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/allocviz/allocviz/heapview"
)

// ] reaches every narration of the tour, in order, and [ comes back.
func TestChaptersReachEveryNarration(t *testing.T) {
	m := open(t, "tour", 120, 40)
	var want []int
	for st := 1; st <= m.lastStep(); st++ {
		if si, _ := m.src.hv.StepInfo(st); len(si.Narration) > 0 {
			want = append(want, st)
		}
	}
	seen := map[int]bool{}
	for prev := -1; m.step != prev; {
		prev = m.step
		m, _ = press(t, m, "]")
		seen[m.step] = true
		if si, _ := m.src.hv.StepInfo(m.step); len(si.Narration) > 0 {
			// The Why strip shows the narration itself, not a stray call.
			if first := si.Narration[0]; !strings.Contains(m.View(), strings.Fields(first)[0]) {
				t.Errorf("step %d: the Why strip does not show the narration %q", m.step, first)
			}
			if strings.Contains(strings.Join(m.why.Lines(), "\n"), "say(") {
				t.Errorf("step %d: the Why strip shows the say() call:\n%s", m.step, strings.Join(m.why.Lines(), "\n"))
			}
		}
	}
	for _, st := range want {
		if !seen[st] {
			t.Errorf("] never reached the narration at step %d", st)
		}
	}
	if !strings.Contains(m.notice, "no narration or check after") {
		t.Errorf("at the last chapter ] should say there is none after: %q", m.notice)
	}
	last := m.step
	m, _ = press(t, m, "[")
	if m.step >= last || !seen[m.step] {
		t.Errorf("[ from step %d went to %d", last, m.step)
	}
}

// e runs to the end of the statement (a loop) the step belongs to, or of
// the next one.
func TestEndOfStatement(t *testing.T) {
	script := writeScript(t, `alloc_pages(0)
for i in range(5):
    p = alloc_pages(0)
alloc_pages(1)
`)
	m := open(t, script, 100, 30)
	m, _ = press(t, m, "e")
	if m.step != 1 {
		t.Fatalf("e at boot: step %d, want 1 (the first statement's only step)", m.step)
	}
	m, _ = press(t, m, "e")
	if m.step != 6 || !strings.Contains(m.notice, "steps 2 to 6") {
		t.Fatalf("e before the loop: step %d (%q), want 6, the loop's last", m.step, m.notice)
	}
	m, _ = press(t, m, "p", "p", "e")
	if m.step != 6 {
		t.Fatalf("e inside the loop: step %d, want 6", m.step)
	}
	m, _ = press(t, m, "e")
	if m.step != 7 {
		t.Fatalf("e at the loop's end: step %d, want 7", m.step)
	}
}

// # takes an address or a pfn and goes to the step that last changed it,
// with the inspector on it.
func TestGoToAddressAndPFN(t *testing.T) {
	m := open(t, "tour", 160, 45)
	// The krealloc that moved: its new object, in kmalloc-512.
	var moved int
	for n := 1; n <= m.lastStep(); n++ {
		if st := m.src.sess.Step(n); strings.HasPrefix(st.Op, "krealloc(") && st.Result != "" {
			if si, _ := m.src.hv.StepInfo(st.N); len(si.Objects) == 2 {
				moved = st.N
				break
			}
		}
	}
	if moved == 0 {
		t.Fatal("no krealloc that moved in the tour")
	}
	addr := m.src.sess.Step(moved).Result
	m, _ = press(t, m, "#")
	m = typeText(t, m, addr)
	m, _ = press(t, m, "enter")
	if m.mode != modeInspect || m.focus != paneSlabs || m.slabs.sel != "kmalloc-512" {
		t.Fatalf("# %s: mode %v, focus %v, cache %q; want the slab cursor on kmalloc-512", addr, m.mode, m.focus, m.slabs.sel)
	}
	in, ok := m.inspection()
	if !ok || in.Slab == nil || in.Object < 0 {
		t.Fatalf("the inspector is not on the object:\n%s", in.String())
	}
	if got, _ := m.src.hv.StepOfSeq(in.Seq); got > m.step {
		t.Fatalf("at step %d the object was last changed at %d, later", m.step, got)
	}
	if !strings.Contains(m.notice, "was last changed in step") {
		t.Errorf("notice %q", m.notice)
	}
	m, _ = press(t, m, "esc", "#")
	m = typeText(t, m, "pfn 0x104")
	m, _ = press(t, m, "enter")
	if m.mode != modeInspect || m.focus != panePages || m.pages.cursor != 0x104 {
		t.Fatalf("# pfn 0x104: mode %v focus %v cursor %#x", m.mode, m.focus, m.pages.cursor)
	}
	if !strings.Contains(m.View(), "Inspector · cursor") {
		t.Errorf("the inspector should be on the cursor:\n%s", m.View())
	}
	for _, bad := range []string{"pfn 0x999999", "0x1234", "step twelve", "-1"} {
		m, _ = press(t, m, "esc", "#")
		m = typeText(t, m, bad)
		m, _ = press(t, m, "enter")
		if m.mode != modeJump || m.jumpErr == "" {
			t.Errorf("# %s: mode %v, error %q; want the input to stay with an error", bad, m.mode, m.jumpErr)
		}
		m, _ = press(t, m, "esc")
	}
}

// / finds the steps whose events mention a text, both ways, and selects
// a cache whose name has it.
func TestSearch(t *testing.T) {
	m := open(t, "tour", 160, 45)
	m, _ = press(t, m, "/")
	m = typeText(t, m, "kmalloc-512")
	m, _ = press(t, m, "enter")
	first := m.step
	if first == 0 || !strings.Contains(m.found, fmt.Sprintf("step %d:", first)) || m.slabs.sel != "kmalloc-512" || !m.slabs.pinned {
		t.Fatalf("search: step %d, %q, cache %q", first, m.found, m.slabs.sel)
	}
	m, _ = press(t, m, "down")
	if m.step <= first {
		t.Fatalf("↓ went to step %d, not after %d", m.step, first)
	}
	m, _ = press(t, m, "up")
	if m.step != first {
		t.Fatalf("↑ went back to step %d, want %d", m.step, first)
	}
	m, _ = press(t, m, "esc", "/")
	m = typeText(t, m, "no such thing anywhere")
	m, _ = press(t, m, "enter")
	if m.step != first || !strings.Contains(m.found, "no step mentions") {
		t.Fatalf("a search with no match moved to %d: %q", m.step, m.found)
	}
}

// The presenter layout shows the page map, the pane the step is about
// (focused by itself) and a tall Why strip.
func TestPresenterFollowsTheStep(t *testing.T) {
	m := New(Options{Scenario: "tour", Presenter: true})
	m, _ = update(t, m, tea.WindowSizeMsg{Width: 160, Height: 45})
	m = load(t, m, m.Init())
	t.Cleanup(func() { m.src.close() })
	if m.lay.kind != layoutPresenter {
		t.Fatalf("--presenter: layout %v", m.lay.kind)
	}
	topics := map[heapview.Topic]paneID{heapview.TopicRealloc: paneRealloc, heapview.TopicVmalloc: paneVmalloc,
		heapview.TopicSlab: paneSlabs, heapview.TopicPages: panePages}
	seen := map[paneID]bool{}
	for m.step < m.lastStep() {
		m, _ = press(t, m, "n")
		topic, _ := m.src.hv.StepTopic(m.step)
		if p, ok := topics[topic]; ok {
			seen[p] = true
			if m.focus != p {
				t.Fatalf("step %d is about %v, the focus is on %v", m.step, topic, m.focus)
			}
			if !m.lay.boxes[p].visible() || !m.lay.boxes[panePages].visible() || !m.lay.boxes[paneWhy].visible() {
				t.Fatalf("step %d: the presenter layout hides the page map, the Why strip or %v", m.step, p)
			}
		}
	}
	if len(seen) != len(topics) {
		t.Errorf("the tour's steps focused only %v", seen)
	}
	if m.lay.why < 6 {
		t.Errorf("the presenter's Why strip has %d lines", m.lay.why)
	}
	m, _ = press(t, m, "P")
	if m.lay.kind != layoutWide {
		t.Fatalf("P leaves the presenter layout: %v", m.lay.kind)
	}
}

// The slab pane follows the cache each step uses until one is chosen, and
// c follows again.
func TestSlabsFollowTheStep(t *testing.T) {
	m := open(t, "krealloc", 160, 45)
	m, _ = press(t, m, "#")
	m = typeText(t, m, "8")
	m, _ = press(t, m, "enter")
	if m.slabs.sel != "kmalloc-64" {
		t.Fatalf("step 8 moved the object to kmalloc-64; the pane shows %q", m.slabs.sel)
	}
	m, _ = press(t, m, "#")
	m = typeText(t, m, "36")
	m, _ = press(t, m, "enter")
	if m.slabs.sel != "kmalloc-512" {
		t.Fatalf("step 36 grew an object of kmalloc-512 in place; the pane shows %q", m.slabs.sel)
	}
	m, _ = press(t, m, "tab", "down")
	chosen := m.slabs.sel
	m, _ = press(t, m, "g", "n", "n")
	if m.slabs.sel != chosen || !strings.Contains(m.slabs.Title(), "chosen") {
		t.Fatalf("a chosen cache should stay: %q, title %q", m.slabs.sel, m.slabs.Title())
	}
	m, _ = press(t, m, "c", "#")
	m = typeText(t, m, "8")
	m, _ = press(t, m, "enter")
	if m.slabs.sel != "kmalloc-64" {
		t.Fatalf("after c the pane follows the step again: %q", m.slabs.sel)
	}
}

// Every pane that holds more than it shows scrolls with pgup/pgdn,
// ctrl+u/ctrl+d and the mouse wheel, and its frame says what is out of
// view.
func TestPanesScroll(t *testing.T) {
	m := open(t, "tour", 160, 45)
	m, _ = press(t, m, "#")
	m = typeText(t, m, "31") // the krealloc that moves
	m, _ = press(t, m, "enter")
	if _, below := m.inspector.overflow(); below == 0 {
		t.Fatal("the inspector should hold more than it shows at 160x45")
	}
	if !strings.Contains(m.View(), "↓") {
		t.Fatal("the frames do not say what is out of view")
	}
	// The wheel over the inspector scrolls it.
	b := m.lay.boxes[paneInspector]
	m, _ = update(t, m, tea.MouseMsg{X: b.x + 2, Y: m.lay.top + b.y + 2, Button: tea.MouseButtonWheelDown, Action: tea.MouseActionPress})
	if m.inspector.top != wheelLines {
		t.Fatalf("the wheel scrolled the inspector to %d", m.inspector.top)
	}
	// pgdn and ctrl+u in the focused realloc pane.
	m, _ = press(t, m, "tab", "tab", "tab")
	if m.focus != paneRealloc {
		t.Fatalf("focus %v", m.focus)
	}
	m, _ = press(t, m, "pgdown")
	if m.realloc.top == 0 {
		t.Fatal("pgdn did not scroll the realloc pane")
	}
	m, _ = press(t, m, "ctrl+u", "ctrl+u", "ctrl+u")
	if m.realloc.top != 0 {
		t.Fatalf("ctrl+u did not scroll back: %d", m.realloc.top)
	}
	// The event log scrolls back in time.
	m, _ = press(t, m, "tab", "pgup")
	if m.events.back == 0 {
		t.Fatal("pgup did not scroll the event log back")
	}
	// A click focuses a pane.
	b = m.lay.boxes[panePages]
	m, _ = update(t, m, tea.MouseMsg{X: b.x + 3, Y: m.lay.top + b.y + 3, Button: tea.MouseButtonLeft, Action: tea.MouseActionPress})
	if m.focus != panePages {
		t.Fatalf("a click on the page map focused %v", m.focus)
	}
	// Stepping scrolls back to the top.
	m, _ = press(t, m, "n")
	if m.inspector.top != 0 || m.realloc.top != 0 || m.events.back != 0 {
		t.Fatal("a new step should start every pane at its top")
	}
}

// The Why strip is on screen in every layout, with its narration, and w
// gives it more room.
func TestWhyStripEverywhere(t *testing.T) {
	for _, sz := range [][2]int{{80, 24}, {120, 40}, {160, 45}, {220, 60}} {
		m := open(t, "kvec-growth", sz[0], sz[1])
		m, _ = press(t, m, "#")
		m = typeText(t, m, "67")
		m, _ = press(t, m, "enter")
		v := m.View()
		if !strings.Contains(v, "Why · step 67 of") {
			t.Errorf("%v: no Why strip:\n%s", sz, v)
		}
		h := m.lay.boxes[paneWhy].h
		if _, below := m.why.overflow(); below > 0 && !strings.Contains(v, "w: more") {
			t.Errorf("%v: the Why strip leaves lines out without saying so", sz)
		}
		m, _ = press(t, m, "w")
		if m.lay.boxes[paneWhy].h <= h && sz[1] > 24 {
			t.Errorf("%v: w did not give the Why strip more room (%d lines, was %d)", sz, m.lay.boxes[paneWhy].h, h)
		}
	}
}

// Cursor, diff, selection and the step's changes look different from
// each other in every palette, mono too, and the focused pane's frame
// differs from the others.
func TestMarksAreDistinct(t *testing.T) {
	marks := []heapview.Mark{0, heapview.MarkTouched, heapview.MarkDiff, heapview.MarkSelected, heapview.MarkCursor,
		heapview.MarkTouched | heapview.MarkDiff, heapview.MarkSelected | heapview.MarkDiff, heapview.MarkTouched | heapview.MarkSelected}
	defer lipgloss.SetColorProfile(termenv.Ascii)
	for _, p := range []Palette{PaletteDefault, PaletteCB, PaletteMono} {
		// What a terminal gets: colour, or for mono (NO_COLOR) the
		// attributes alone.
		lipgloss.SetColorProfile(termenv.TrueColor)
		if p == PaletteMono {
			lipgloss.SetColorProfile(termenv.ANSI)
		}
		st := newSpanStyler(StylesFor(p))
		seen := map[string]heapview.Mark{}
		for _, mk := range marks {
			var b strings.Builder
			st.row(&b, heapview.Row{{Kind: heapview.CellFree, Mark: mk, Text: "."}})
			if prev, dup := seen[b.String()]; dup {
				t.Errorf("%s: marks %b and %b look the same: %q", p, prev, mk, b.String())
			}
			seen[b.String()] = mk
		}
		f := newFramer(StylesFor(p))
		box := box{w: 20, h: 4}
		if a, b := f.lines("t", nil, box, false, 0, 0), f.lines("t", nil, box, true, 0, 0); lipgloss.NewStyle().Render(a[0]) == lipgloss.NewStyle().Render(b[0]) || a[0] == b[0] {
			t.Errorf("%s: the focused pane's frame is the same as the others': %q", p, a[0])
		}
	}
}

package heapview_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/charmbracelet/x/exp/golden"

	"github.com/allocviz/allocviz/heapview"
	"github.com/allocviz/allocviz/scripts"
)

// whyOptions is what the interface passes for step n: the session's
// record of the call.
func whyOptions(s *scripts.Session, n, w, h int) heapview.WhyOptions {
	o := heapview.WhyOptions{Width: w, Height: h, Step: n}
	if n > 0 {
		st := s.Step(n)
		o.Label, o.Call, o.Err = st.Label, st.Op, st.Err
		if st.Result != "" {
			o.Call += " = " + st.Result
		}
	}
	return o
}

// TestWhyStripGolden renders the Why strip of telling steps of the tour
// and of slub-debug at the widths of the strip in each layout, short and
// tall: boot, a narration, a split, the krealloc that moved, the vmalloc
// of scattered pages, a KVec push that moved, a SLUB report, and a line of
// a kernel's trace replayed (its label before the call).
func TestWhyStripGolden(t *testing.T) {
	for _, sc := range []struct {
		name  string
		steps []int
	}{{"tour", []int{0, 1, 3, 30, 51, 83}}, {"slub-debug", []int{20}}, {"trace-ls", []int{298}}} {
		hv, s := scenarioModel(t, sc.name)
		for _, n := range sc.steps {
			for _, sz := range [][2]int{{76, 3}, {116, 7}, {216, 5}} {
				t.Run(fmt.Sprintf("%s/step%d/%dx%d", sc.name, n, sz[0], sz[1]), func(t *testing.T) {
					rows := hv.WhyStrip(whyOptions(s, n, sz[0], sz[1]))
					golden.RequireEqual(t, []byte(showRows(t, rows, sz[0], sz[1])))
				})
			}
		}
	}
}

// The strip says what a step did in the order a reader needs: a say()
// step is its narration alone; a call shows itself and its result before
// the rule; boot is summed up; a SLUB report leads with its BUG line; and
// when lines are left out, the last row counts them.
func TestWhyStripSaysTheStep(t *testing.T) {
	hv, s := tourModel(t)
	text := func(n, w, h int) []string {
		var out []string
		for _, r := range hv.WhyStrip(whyOptions(s, n, w, h)) {
			out = append(out, strings.TrimRight(r.String(), " "))
		}
		return out
	}
	if got := text(1, 200, 4); !strings.HasPrefix(got[0], "Welcome.") || strings.Contains(strings.Join(got, "\n"), "say") {
		t.Errorf("a say() step is its narration: %q", got)
	}
	if got := text(31, 200, 4); !strings.HasPrefix(got[0], "krealloc(0x") || !strings.HasPrefix(got[1], "▸ 300 > ksize 128: moved") {
		t.Errorf("step 31: the call, then the decision and its rule: %q", got)
	}
	if got := text(0, 200, 4); !strings.HasPrefix(got[0], "▸ boot: 64 MiB of RAM") {
		t.Errorf("boot: %q", got)
	}
	got := text(31, 60, 3)
	if last := got[len(got)-1]; !strings.HasPrefix(last, "… ") || !strings.HasSuffix(last, " more lines") {
		t.Errorf("a cut strip should count what it left out: %q", got)
	}
	full := text(31, 60, 100)
	n := 0
	for _, l := range full {
		if l != "" {
			n++
		}
	}
	if want := fmt.Sprintf("… %d more lines", n-2); got[2] != want {
		t.Errorf("%q, want %q (%d lines in all)", got[2], want, n)
	}
	hd, d := scenarioModel(t, "slub-debug")
	var lines []string
	for _, r := range hd.WhyStrip(whyOptions(d, 20, 200, 6)) {
		lines = append(lines, strings.TrimSpace(r.String()))
	}
	if !strings.Contains(strings.Join(lines[:3], "\n"), "BUG ") {
		t.Errorf("slub-debug step 20: the report's BUG line should come first:\n%s", strings.Join(lines, "\n"))
	}
}

// In a narrow realloc panel (a third of a projector) the history keeps
// each decision whole: the function's name gives way first.
func TestReallocHistoryNarrow(t *testing.T) {
	hv, _ := tourModel(t)
	hv.Seek(84) // the push that moves the KVec
	for _, w := range []int{50, 58, 63} {
		rows := hv.ReallocPanel(heapview.ReallocOptions{Width: w, Height: 20})
		n := 0
		for _, r := range rows {
			if l := r.String(); strings.HasPrefix(l, "step ") {
				n++
				if !strings.Contains(l, "grown in place") && !strings.Contains(l, "moved") && !strings.Contains(l, "new") {
					t.Errorf("width %d: the decision is cut: %q", w, l)
				}
			}
		}
		if n < 5 {
			t.Errorf("width %d: %d history rows, want the vector's 5", w, n)
		}
	}
}

package heapview_test

import (
	"fmt"
	"strings"
	"testing"
	"unicode"

	"github.com/allocviz/allocviz/allocator"
	"github.com/allocviz/allocviz/heapview"
	"github.com/allocviz/allocviz/scripts"
	"github.com/charmbracelet/x/exp/golden"
)

// showRows renders rows for a golden file: the text, then each cell's kind
// as a letter and its marks as a digit, so styles are reviewed too. It
// fails unless the rows fill w x h exactly.
func showRows(t *testing.T, rows []heapview.Row, w, h int) string {
	t.Helper()
	const kinds = ".thlmfrpskvgoue!yxbcnz"
	const marks = ".123456789abcdefghijklmnopqrstuv"
	if len(rows) != h {
		t.Fatalf("%d rows, want %d", len(rows), h)
	}
	var text, ks, ms strings.Builder
	for i, r := range rows {
		if r.Width() != w {
			t.Fatalf("row %d is %d cells wide, want %d: %q", i, r.Width(), w, r.String())
		}
		for _, s := range r {
			if strings.ContainsFunc(s.Text, unicode.IsControl) {
				t.Fatalf("row %d holds a control character: %q", i, s.Text)
			}
			n := len([]rune(s.Text))
			text.WriteString(s.Text)
			ks.WriteString(strings.Repeat(string(kinds[s.Kind]), n))
			ms.WriteString(strings.Repeat(string(marks[s.Mark]), n))
		}
		text.WriteByte('\n')
		ks.WriteByte('\n')
		ms.WriteByte('\n')
	}
	return text.String() + "--- kinds\n" + ks.String() + "--- marks\n" + ms.String()
}

// scenarioStep picks the state to render: the step whose end holds the
// most: live allocations and slabs, and, weighing more as there are fewer
// of them, realloc decisions so far and vmap areas; the earliest of equals.
func scenarioStep(t *testing.T, hv *heapview.Model) int {
	best, score := 0, -1
	for st := 1; st <= hv.Steps(); st++ {
		if err := hv.Seek(st); err != nil {
			t.Fatal(err)
		}
		tot := hv.Totals()
		if s := tot.Allocs + tot.Slabs + 4*tot.Reallocs + 64*(tot.Areas+tot.Unpurged); s > score {
			best, score = st, s
		}
	}
	return best
}

// laterStep returns the step of the scenario's last kvmalloc, vmap area or
// realloc decision when the step picked shows none of them, else 0: a
// lesson about them is rendered where they happen too.
func laterStep(t *testing.T, hv *heapview.Model, picked int) int {
	if err := hv.Seek(picked); err != nil {
		t.Fatal(err)
	}
	if tot := hv.Totals(); tot.Areas+tot.Reallocs > 0 {
		return 0
	}
	for i := hv.Len() - 1; i >= 0; i-- {
		e := hv.Event(i)
		switch e.Kind() {
		case allocator.EvKvmalloc, allocator.EvVmapAlloc, allocator.EvRealloc:
			if e.Step() != picked {
				return e.Step()
			}
			return 0
		}
	}
	return 0
}

// TestScenarioGolden renders states of every bundled scenario with every
// renderer at the three sizes, at the step scenarioStep picks (and the one
// laterStep adds). The slab view shows the cache
// with the most objects in use (its freelists too), the vmalloc view the
// area the step touched, and the inspector what the step touched: its
// first allocation, area or page. (Only this external test imports
// scripts; heapview itself imports allocator alone.)
func TestScenarioGolden(t *testing.T) {
	scs, err := scripts.Scenarios()
	if err != nil {
		t.Fatal(err)
	}
	if len(scs) < 4 {
		t.Fatalf("%d bundled scenarios; buddy, vmalloc, vrealloc and vrealloc-6.12 at least", len(scs))
	}
	for _, sc := range scs {
		t.Run(sc.Name, func(t *testing.T) {
			s, err := scripts.Run(sc.Name, scripts.Options{})
			if s != nil {
				defer s.Close()
			}
			if err != nil {
				t.Fatal(err)
			}
			hv, err := heapview.New(s.Log())
			if err != nil {
				t.Fatal(err)
			}
			steps := []int{scenarioStep(t, hv)}
			if st := laterStep(t, hv, steps[0]); st != 0 {
				steps = append(steps, st)
			}
			for _, step := range steps {
				if err := hv.Seek(step); err != nil {
					t.Fatal(err)
				}
				views := scenarioViews(t, hv, step)
				for _, view := range []string{"pagemap", "events", "inspect", "slabs", "slab", "vmalloc", "realloc"} {
					f := views[view]
					for _, sz := range [][2]int{{80, 24}, {120, 40}, {200, 60}} {
						t.Run(fmt.Sprintf("step%d/%s/%dx%d", step, view, sz[0], sz[1]), func(t *testing.T) {
							golden.RequireEqual(t, showRows(t, f(sz[0], sz[1]), sz[0], sz[1]))
						})
					}
				}
			}
		})
	}
}

// scenarioViews picks what each renderer shows at the cursor's step.
func scenarioViews(t *testing.T, hv *heapview.Model, step int) map[string]func(w, h int) []heapview.Row {
	si, err := hv.StepInfo(step)
	if err != nil {
		t.Fatal(err)
	}
	var in heapview.Inspection
	switch {
	case len(si.Objects) > 0:
		in, err = hv.InspectAddr(si.Objects[0])
	case len(si.Pages) > 0:
		in, err = hv.InspectPage(si.Pages[0].PFN)
	default:
		in, err = hv.InspectPage(0)
	}
	if err != nil {
		t.Fatal(err)
	}
	cache := ""
	if cs := hv.SortedCaches(heapview.ColInUse, true, false); len(cs) > 0 {
		cache = cs[0].Name
	} else if cs := hv.SortedCaches(heapview.ColName, false, true); len(cs) > 0 {
		cache = cs[0].Name
	}
	var area allocator.Addr
	if len(si.Areas) > 0 {
		area = si.Areas[0]
	} else if as := hv.Areas(); len(as) > 0 {
		area = as[0].Addr
	}
	return map[string]func(w, h int) []heapview.Row{
		"pagemap": func(w, h int) []heapview.Row { return hv.PageMap(heapview.PageMapOptions{Width: w, Height: h}).Rows },
		"events":  func(w, h int) []heapview.Row { return hv.EventLog(heapview.EventLogOptions{Width: w, Height: h}) },
		"inspect": in.Rows,
		"slabs": func(w, h int) []heapview.Row {
			return hv.SlabTable(heapview.SlabTableOptions{Width: w, Height: h, Sort: heapview.ColInUse, Desc: true, Selected: cache})
		},
		"slab": func(w, h int) []heapview.Row {
			return hv.SlabView(heapview.SlabViewOptions{Width: w, Height: h, Cache: cache, Freelist: true})
		},
		"vmalloc": func(w, h int) []heapview.Row {
			return hv.VmallocView(heapview.VmallocOptions{Width: w, Height: h, Selected: area})
		},
		"realloc": func(w, h int) []heapview.Row { return hv.ReallocPanel(heapview.ReallocOptions{Width: w, Height: h}) },
	}
}

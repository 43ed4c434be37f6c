package heapview_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/allocviz/allocviz/heapview"
	"github.com/allocviz/allocviz/scripts"
	"github.com/charmbracelet/x/exp/golden"
)

// TestScenarioGolden renders the states of bundled scenarios, at their
// middle and last steps, with every view at the three sizes. (Only this
// external test imports scripts; heapview itself imports allocator alone.)
func TestScenarioGolden(t *testing.T) {
	for _, name := range []string{"buddy"} {
		s, err := scripts.Run(name, scripts.Options{})
		if s != nil {
			defer s.Close()
		}
		if err != nil {
			t.Fatal(err)
		}
		hv, err := heapview.New(s.Log().Events)
		if err != nil {
			t.Fatal(err)
		}
		for _, step := range []int{hv.Steps() / 2, hv.Steps()} {
			if err := hv.Seek(step); err != nil {
				t.Fatal(err)
			}
			si, _ := hv.StepInfo(step)
			inspect := uint64(0)
			if len(si.Pages) > 0 {
				inspect = si.Pages[0].PFN
			}
			in, err := hv.InspectPage(inspect)
			if err != nil {
				t.Fatal(err)
			}
			views := map[string]func(w, h int) []heapview.Row{
				"pagemap": func(w, h int) []heapview.Row { return hv.PageMap(heapview.PageMapOptions{Width: w, Height: h}).Rows },
				"events":  func(w, h int) []heapview.Row { return hv.EventLog(heapview.EventLogOptions{Width: w, Height: h}) },
				"inspect": in.Rows,
				"slabs":   func(w, h int) []heapview.Row { return hv.SlabTable(heapview.SlabTableOptions{Width: w, Height: h}) },
				"vmalloc": func(w, h int) []heapview.Row { return hv.VmallocView(heapview.VmallocOptions{Width: w, Height: h}) },
				"realloc": func(w, h int) []heapview.Row { return hv.ReallocPanel(heapview.ReallocOptions{Width: w, Height: h}) },
			}
			for view, f := range views {
				for _, sz := range [][2]int{{80, 24}, {120, 40}, {200, 60}} {
					t.Run(fmt.Sprintf("%s/step%d/%s/%dx%d", name, step, view, sz[0], sz[1]), func(t *testing.T) {
						rows := f(sz[0], sz[1])
						if len(rows) != sz[1] {
							t.Fatalf("%d rows, want %d", len(rows), sz[1])
						}
						var b strings.Builder
						for _, r := range rows {
							if r.Width() != sz[0] {
								t.Fatalf("a row of %d cells, want %d", r.Width(), sz[0])
							}
							b.WriteString(r.String())
							b.WriteByte('\n')
						}
						golden.RequireEqual(t, b.String())
					})
				}
			}
		}
	}
}

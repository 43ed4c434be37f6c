package heapview

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/allocviz/allocviz/allocator"
)

// The name comes first and is never cut while the width holds it; other
// columns are left out in slabDrop's order, the sort column never, and
// the heading says how many went.
func TestSlabTableKeepsNames(t *testing.T) {
	s := newSession(t, allocator.Config{})
	const long = "a_cache_with_a_rather_long_name"
	s.begin("kmem_cache_create")
	c, err := s.m.KmemCacheCreate(long, 200, 8, 0)
	if err != nil {
		t.Fatal(err)
	}
	s.begin("kmem_cache_alloc")
	if _, err := s.m.KmemCacheAlloc(c, allocator.GFPKernel); err != nil {
		t.Fatal(err)
	}
	s.begin("kmalloc(8)")
	if _, err := s.m.Kmalloc(8, allocator.GFPKernel); err != nil {
		t.Fatal(err)
	}
	hv, err := New(s.log)
	if err != nil {
		t.Fatal(err)
	}
	// Too narrow for the name and the sort column, the name still shows
	// whole, and what is cut ends with "…".
	for _, w := range []int{32, 40} {
		rows := hv.SlabTable(SlabTableOptions{Width: w, Height: 6, Sort: ColLost, Desc: true})
		if body := rows[2].String() + rows[3].String(); !strings.Contains(body, long) {
			t.Errorf("width %d: the name is cut: %q", w, body)
		}
	}
	for _, w := range []int{50, 60, 80, 100, 120} {
		for _, sort := range []SlabColumn{ColObjects, ColLost, ColName, ColPagesPerSlab} {
			rows := hv.SlabTable(SlabTableOptions{Width: w, Height: 6, Sort: sort, Desc: true})
			head := rows[1].String()
			if !strings.HasPrefix(head, "NAME") {
				t.Fatalf("width %d: the heading does not begin with NAME: %q", w, head)
			}
			if !strings.Contains(head, sort.String()) {
				t.Errorf("width %d: the sort column %s was left out: %q", w, sort, head)
			}
			body := rows[2].String() + "\n" + rows[3].String()
			for _, name := range []string{long, "kmalloc-8"} {
				if !strings.Contains(body, name+" ") {
					t.Errorf("width %d sort %s: %s is cut:\n%s", w, sort, name, body)
				}
			}
			has := func(c SlabColumn) bool {
				return regexp.MustCompile(`(^|\s)` + regexp.QuoteMeta(c.String()) + `(\s|$)`).MatchString(head)
			}
			var dropped []SlabColumn
			for c := range NumSlabColumns {
				if !has(c) {
					dropped = append(dropped, c)
				}
			}
			if len(dropped) > 0 && !strings.Contains(head, fmt.Sprintf("+%d", len(dropped))) {
				t.Errorf("width %d: %d columns left out, the heading does not say so: %q", w, len(dropped), head)
			}
			// Those left out are the first of the drop order, the sort
			// column passed over.
			var first []SlabColumn
			for _, c := range slabDrop {
				if c != sort && len(first) < len(dropped) {
					first = append(first, c)
				}
			}
			slices.Sort(first)
			if !slices.Equal(first, dropped) {
				t.Errorf("width %d sort %s: left out %v, want %v: %q", w, sort, dropped, first, head)
			}
		}
	}
}

// A table with more caches than rows says which rows it shows, scrolled
// or not; one that shows them all does not.
func TestSlabTableSaysWhichRows(t *testing.T) {
	s := newSession(t, allocator.Config{})
	s.begin("kmalloc(8)")
	if _, err := s.m.Kmalloc(8, allocator.GFPKernel); err != nil {
		t.Fatal(err)
	}
	hv, err := New(s.log)
	if err != nil {
		t.Fatal(err)
	}
	n := len(hv.SortedCaches(ColName, false, true))
	if n < 20 {
		t.Fatalf("only %d caches", n)
	}
	for _, tc := range []struct {
		height, scroll int
		all            bool
		want           string
	}{
		{8, 0, true, fmt.Sprintf(" · rows 1-6 of %d", n)},   // title, headings, 6 rows
		{16, 3, true, fmt.Sprintf(" · rows 4-13 of %d", n)}, // and the totals
		{n + 6, 0, true, ""},
		{8, 0, false, ""}, // the one cache in use
	} {
		rows := hv.SlabTable(SlabTableOptions{Width: 100, Height: tc.height, Sort: ColName, Scroll: tc.scroll, All: tc.all})
		title := strings.TrimRight(rows[0].String(), " ")
		if got, _ := strings.CutPrefix(title, "Slab caches: 1 of "+fmt.Sprint(n)+" in use; step 1/1"); got != tc.want {
			t.Errorf("height %d scroll %d: title %q, want it to end %q", tc.height, tc.scroll, title, tc.want)
		}
	}
}

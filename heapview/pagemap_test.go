package heapview

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/allocviz/allocviz/allocator"
)

func TestPageMapGolden(t *testing.T) {
	t.Run("buddy", func(t *testing.T) {
		hv := buddyScene(t)
		eachSize(t, func(t *testing.T, w, h int) []Row {
			return hv.PageMap(PageMapOptions{Width: w, Height: h}).Rows
		})
	})
	t.Run("slab", func(t *testing.T) {
		b, _ := slabSession(t)
		hv := b.model()
		hv.Seek(1)
		eachSize(t, func(t *testing.T, w, h int) []Row {
			return hv.PageMap(PageMapOptions{Width: w, Height: h, ShowCursor: true, Cursor: 300}).Rows
		})
	})
	t.Run("vmalloc", func(t *testing.T) {
		b, _ := vmallocSession(t)
		hv := b.model()
		hv.Seek(1)
		a := hv.Areas()[0]
		var hl []PageRange
		for _, p := range a.PFNs {
			hl = append(hl, PageRange{p, 1})
		}
		eachSize(t, func(t *testing.T, w, h int) []Row {
			return hv.PageMap(PageMapOptions{Width: w, Height: h, Scale: 1, First: 200, Highlight: hl}).Rows
		})
	})
}

// TestPageMapCells checks the map against the model cell by cell at scale
// 1: each cell's glyph and kind say what its page frame is.
func TestPageMapCells(t *testing.T) {
	hv := buddyScene(t)
	pm := hv.PageMap(PageMapOptions{Width: 120, Height: 40, Scale: 1, First: 300})
	// 113 cells after a 7-cell label hold 64, the largest power of two:
	// pfn 300 is on the row from 256.
	if pm.Scale != 1 || pm.Cols != 64 || pm.First != 256 {
		t.Fatalf("scale %d, %d columns from pfn %#x; want 1, 64 from 0x100", pm.Scale, pm.Cols, pm.First)
	}
	si, _ := hv.StepInfo(hv.Step())
	touched := map[uint64]bool{}
	for _, r := range si.Pages {
		for p := r.PFN; p < r.PFN+r.N; p++ {
			touched[p] = true
		}
	}
	for y := pm.Top; y < pm.Top+pm.Lines; y++ {
		cells := cellsOf(pm.Rows[y])
		for x := pm.Label; x < pm.Label+pm.Cols; x++ {
			pfn, ok := pm.PFNAt(x, y)
			if !ok {
				t.Fatalf("no pfn at %d,%d", x, y)
			}
			c := cells[x]
			p := hv.Page(pfn)
			var want byte
			switch {
			case p.Owner == allocator.OwnerPCP && p.Head == pfn:
				want = 'C'
			case p.Owner == allocator.OwnerPCP:
				want = 'c'
			case p.State == allocator.PageFree && p.Head == pfn:
				want = freeGlyph[p.Order]
			case p.State == allocator.PageFree:
				want = '.'
			case p.State == allocator.PageReserved:
				want = '#'
			case p.Head == pfn:
				want = 'P'
			default:
				want = 'p'
			}
			if c.ch != want {
				t.Fatalf("pfn %#x (%+v) drawn %q, want %q", pfn, p, c.ch, want)
			}
			if (c.mark&MarkTouched != 0) != touched[pfn] {
				t.Fatalf("pfn %#x touched mark %v, step touched it %v", pfn, c.mark&MarkTouched != 0, touched[pfn])
			}
		}
	}
}

// TestPageMapShowsLoneAllocations: at a coarse scale a cell with one
// allocated frame among free ones shows the allocation, marked mixed, so
// no allocation disappears from the map.
func TestPageMapShowsLoneAllocations(t *testing.T) {
	s := newSession(t, allocator.Config{})
	s.begin("kmalloc(64)")
	p, err := s.m.Kmalloc(64, allocator.GFPKernel)
	if err != nil {
		t.Fatal(err)
	}
	hv, err := New(s.log)
	if err != nil {
		t.Fatal(err)
	}
	slabPFN, _ := s.m.AddrPFN(p)
	pm := hv.PageMap(PageMapOptions{Width: 80, Height: 24})
	if pm.Scale < 16 {
		t.Fatalf("scale %d: the test wants a coarse map", pm.Scale)
	}
	for y := pm.Top; y < pm.Top+pm.Lines; y++ {
		cells := cellsOf(pm.Rows[y])
		for x := pm.Label; x < pm.Label+pm.Cols; x++ {
			if pfn, ok := pm.PFNAt(x, y); ok && slabPFN >= pfn && slabPFN < pfn+pm.Scale {
				if c := cells[x]; c.kind != CellSlab || c.mark&MarkMixed == 0 {
					t.Fatalf("the cell holding slab pfn %#x and %d free frames is %v %q (mark %v), want slab, mixed", slabPFN, pm.Scale-1, c.kind, c.ch, c.mark)
				}
				return
			}
		}
	}
	t.Fatalf("no cell holds pfn %#x", slabPFN)
}

type cellOf struct {
	ch   byte
	kind CellKind
	mark Mark
}

func cellsOf(r Row) []cellOf {
	var out []cellOf
	for _, s := range r {
		for i := 0; i < len(s.Text); i++ {
			out = append(out, cellOf{s.Text[i], s.Kind, s.Mark})
		}
	}
	return out
}

func TestPageMapScalesToFit(t *testing.T) {
	hv := buddyScene(t)
	for _, tc := range []struct {
		w, h  int
		scale uint64
	}{{80, 24, 16}, {120, 40, 8}, {200, 60, 4}, {40, 10, 128}} {
		pm := hv.PageMap(PageMapOptions{Width: tc.w, Height: tc.h})
		if pm.Scale != tc.scale {
			t.Errorf("%dx%d: scale %d, want %d", tc.w, tc.h, pm.Scale, tc.scale)
		}
		if uint64(pm.Lines*pm.Cols)*pm.Scale < hv.NrPages() {
			t.Errorf("%dx%d: %d rows of %d cells of %d pages do not cover RAM", tc.w, tc.h, pm.Lines, pm.Cols, pm.Scale)
		}
		if !strings.Contains(pm.Rows[0].String(), "1 cell = ") {
			t.Errorf("%dx%d: the title does not give the scale: %q", tc.w, tc.h, pm.Rows[0].String())
		}
	}
	for _, sz := range [][2]int{{0, 0}, {1, 1}, {5, 2}, {12, 3}} {
		pm := hv.PageMap(PageMapOptions{Width: sz[0], Height: sz[1]})
		if len(pm.Rows) != sz[1] {
			t.Errorf("%v: %d rows", sz, len(pm.Rows))
		}
	}
}

// BenchmarkPageMap renders the 200x60 map of a fragmented 256 MiB machine
// (65536 page frames, 8 per cell). The baseline reads every page record
// once and does nothing else.
func BenchmarkPageMap(b *testing.B) {
	s := newSession(b, allocator.Config{RAM: 256 * allocator.MiB})
	rng := rand.New(rand.NewPCG(8, 8))
	var live []allocator.Addr
	for range 20000 {
		if rng.IntN(3) > 0 || len(live) == 0 {
			s.begin("alloc_pages")
			if a, err := s.m.AllocPages(rng.IntN(3), allocator.GFPKernel|allocator.GFPNoWarn); err == nil {
				live = append(live, a)
			}
			continue
		}
		i := rng.IntN(len(live))
		s.begin("free_pages")
		order := s.m.Page(uint64(live[i]-allocator.DirectMapBase) >> 12).Order
		s.m.FreePages(live[i], order)
		live[i] = live[len(live)-1]
		live = live[:len(live)-1]
	}
	hv, err := New(s.log)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("render", func(b *testing.B) {
		for b.Loop() {
			hv.PageMap(PageMapOptions{Width: 200, Height: 60})
		}
	})
	b.Run("baseline-scan", func(b *testing.B) {
		n := 0
		for b.Loop() {
			for p := range hv.NrPages() {
				n += int(hv.cur.page(p).owner)
			}
		}
		_ = n
	})
}

// TestPageMapIsSteady: the scale and the row length depend on the size
// alone, not on what the machine holds (a slab cache appearing adds a
// legend line, which used to halve the map), and every row holds a power
// of two of cells, so buddy blocks line up from row to row.
func TestPageMapIsSteady(t *testing.T) {
	s := newSession(t, allocator.Config{})
	s.begin("alloc_pages(0)")
	if _, err := s.m.AllocPages(0, allocator.GFPKernel); err != nil {
		t.Fatal(err)
	}
	s.begin("kmalloc(64)")
	if _, err := s.m.Kmalloc(64, allocator.GFPKernel); err != nil {
		t.Fatal(err)
	}
	hv, err := New(s.log)
	if err != nil {
		t.Fatal(err)
	}
	for _, sz := range [][2]int{{80, 24}, {100, 30}, {120, 40}, {160, 45}, {220, 60}, {63, 17}, {71, 19}} {
		var scale uint64
		var cols int
		for step := 0; step <= hv.Steps(); step++ {
			hv.Seek(step)
			pm := hv.PageMap(PageMapOptions{Width: sz[0], Height: sz[1]})
			if pm.Cols&(pm.Cols-1) != 0 {
				t.Errorf("%v: %d cells a row is not a power of two", sz, pm.Cols)
			}
			if step > 0 && (pm.Scale != scale || pm.Cols != cols) {
				t.Errorf("%v: step %d draws %d pages a cell, %d a row; step 0 drew %d, %d", sz, step, pm.Scale, pm.Cols, scale, cols)
			}
			scale, cols = pm.Scale, pm.Cols
		}
	}
}

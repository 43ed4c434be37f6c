package heapview

import (
	"math/rand/v2"
	"testing"

	"github.com/allocviz/allocviz/allocator"
)

// garbage returns an event with random, nearly plausible fields.
func garbage(rng *rand.Rand, pageSz uint64) allocator.Event {
	caches := []string{"kmalloc-64", "kmalloc-512", "kmalloc-192", "kmalloc-7", ""}
	addr := func() allocator.Addr {
		switch rng.IntN(4) {
		case 0:
			return allocator.VmallocStart + allocator.Addr(rng.Uint64N(8)*pageSz)
		case 1:
			return allocator.Addr(rng.Uint64N(20))
		}
		return allocator.DirectMapBase + allocator.Addr(rng.Uint64N(1100)*pageSz+uint64(rng.IntN(3))*64)
	}
	e := allocator.Event{
		Kind:  allocator.EventKind(rng.IntN(34)),
		PFN:   rng.Uint64N(1100),
		Order: rng.IntN(13) - 1,
		Owner: allocator.Owner(rng.IntN(8)),
		List:  allocator.SlabList(rng.IntN(6)),
		Addr:  addr(),
		Size:  rng.Uint64N(20000),
		Bytes: rng.Uint64N(4) * pageSz,
		Index: rng.IntN(80) - 1,
		Cache: caches[rng.IntN(len(caches))],
		GFP:   allocator.GFP(rng.Uint32()),
	}
	if rng.IntN(3) == 0 {
		for range rng.IntN(4) {
			e.PFNs = append(e.PFNs, rng.Uint64N(1100))
		}
	}
	if rng.IntN(2) == 0 {
		e.Realloc = &allocator.ReallocInfo{Func: "krealloc", Old: addr(), New: addr(), NewSize: rng.Uint64N(300),
			Decision: allocator.Decision(rng.IntN(9))}
	}
	return e
}

// TestGarbageEventsAreRefused mixes random events into a real log: the
// model refuses what does not fit without panicking, and every position
// still equals a rebuild from the events up to it, with every view
// rendering.
func TestGarbageEventsAreRefused(t *testing.T) {
	for seed := uint64(1); seed <= 6; seed++ {
		b, _ := slabSession(t)
		rng := rand.New(rand.NewPCG(seed, 77))
		var ev []allocator.Event
		for _, e := range b.ev {
			ev = append(ev, e)
			for rng.IntN(3) == 0 {
				ev = append(ev, garbage(rng, b.pageSz))
			}
		}
		for i := range ev {
			ev[i].Seq = uint64(i + 1)
		}
		hv, err := newModel(ev, 40)
		if err == nil {
			t.Fatalf("seed %d: no garbage was refused", seed)
		}
		for range 25 {
			pos := 1 + rng.IntN(len(ev))
			if err := hv.SeekEvent(pos); err != nil {
				t.Fatal(err)
			}
			fresh, _ := New(ev[:pos])
			if fingerprint(hv) != fingerprint(fresh) {
				t.Fatalf("seed %d: the state at event %d differs from a rebuild", seed, pos)
			}
			renderAll(t, hv)
		}
	}
}

// renderAll renders every view of the state under the cursor.
func renderAll(t *testing.T, hv *Model) {
	t.Helper()
	const w, h = 100, 30
	hv.PageMap(PageMapOptions{Width: w, Height: h, ShowCursor: true, Cursor: 300})
	hv.EventLog(EventLogOptions{Width: w, Height: h})
	hv.SlabTable(SlabTableOptions{Width: w, Height: h, All: true})
	for _, c := range hv.Caches() {
		hv.SlabView(SlabViewOptions{Width: w, Height: h, Cache: c.Name, Freelist: true})
	}
	hv.VmallocView(VmallocOptions{Width: w, Height: h, Selected: allocator.VmallocStart})
	hv.ReallocPanel(ReallocOptions{Width: w, Height: h})
	for _, p := range []uint64{0, 256, 257, 300, 600} {
		if in, err := hv.InspectPage(p); err == nil {
			in.Rows(w, h)
		}
	}
	for _, a := range hv.Allocs() {
		if in, err := hv.InspectAddr(a.Addr + 1); err == nil {
			in.Rows(w, h)
		}
	}
	if _, err := hv.StepInfo(hv.Step()); err != nil {
		t.Fatal(err)
	}
	hv.Diff(0, hv.Step())
}

func TestEmptyModel(t *testing.T) {
	hv, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	if hv.Steps() != 0 || hv.NrPages() != 0 || hv.Pos() != 0 {
		t.Fatalf("empty model: steps %d, %d pages, pos %d", hv.Steps(), hv.NrPages(), hv.Pos())
	}
	if err := hv.Seek(0); err == nil {
		t.Error("seeking in an empty model succeeded")
	}
	renderAll(t, hv)
	if len(hv.PageMap(PageMapOptions{Width: 10, Height: 3}).Rows) != 3 {
		t.Error("the empty page map is not 3 rows")
	}
	b := newBuilder(t)
	if err := hv.Apply(b.ev...); err != nil {
		t.Fatal(err)
	}
	if hv.NrPages() != 1024 || hv.FreeCounts()[9] != 1 {
		t.Fatalf("after applying the boot: %d pages, buddyinfo %v", hv.NrPages(), hv.FreeCounts())
	}
}

func FuzzEvents(f *testing.F) {
	f.Add(uint64(1), uint64(2))
	f.Add(uint64(99), uint64(7))
	f.Fuzz(func(t *testing.T, a, c uint64) {
		b := newBuilder(t)
		rng := rand.New(rand.NewPCG(a, c))
		for range 200 {
			b.add(garbage(rng, b.pageSz))
		}
		hv, _ := newModel(b.ev, 30)
		for range 5 {
			hv.SeekEvent(rng.IntN(len(b.ev) + 1))
			renderAll(t, hv)
		}
	})
}

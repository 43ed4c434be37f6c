package heapview

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/allocviz/allocviz/allocator"
)

// garbage returns an event with random, nearly plausible fields: only
// those its kind has, since a record holds no others.
func garbage(rng *rand.Rand, pageSz uint64) allocator.Fields {
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
	e := allocator.Fields{
		Kind:  allocator.EventKind(rng.IntN(34)),
		PFN:   rng.Uint64N(1100),
		Order: rng.IntN(13) - 1,
		Owner: allocator.Owner(rng.IntN(8)),
		List:  allocator.SlabList(rng.IntN(6)),
		Addr:  addr(),
		Size:  rng.Uint64N(20000),
		Bytes: rng.Uint64N(4) * pageSz,
		Cache: caches[rng.IntN(len(caches))],
		GFP:   allocator.GFP(rng.Uint32()),
	}
	n := rng.IntN(80) - 1
	e.Objects, e.Object, e.Pages, e.ListCPU, e.Areas, e.Errors, e.LargestOrder = n, n, n, n, n, n, n
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

// appendGarbage appends events to log, each stripped of the fields its
// kind does not have; those with no kind are dropped. It returns how
// many it appended.
func appendGarbage(log *allocator.EventLog, evs ...allocator.Fields) int {
	n := 0
	for _, e := range evs {
		e.Step = 0
		if log.Len() > 0 {
			e.Step = log.At(log.Len() - 1).Step()
		}
		if e.Kind == allocator.EvStep {
			e.Step++
		}
		for {
			_, err := log.Append(e)
			if err == nil {
				n++
				break
			}
			if !strip(&e, err.Error()) {
				break
			}
		}
	}
	return n
}

// strip clears the field an Append error names; false when it names none.
func strip(e *allocator.Fields, msg string) bool {
	for name, clear := range map[string]func(){
		"has no gfp": func() { e.GFP = 0 }, "has no pfn": func() { e.PFN = 0 }, "has no order": func() { e.Order = 0 },
		"has no owner": func() { e.Owner = 0 }, "has no list": func() { e.List = 0 }, "has no addr": func() { e.Addr = 0 },
		"has no size": func() { e.Size = 0 }, "has no bytes": func() { e.Bytes = 0 }, "has no cache": func() { e.Cache = "" },
		"has no pfns": func() { e.PFNs = nil }, "has no realloc": func() { e.Realloc = nil }, "has no decision": func() { e.Decision = 0 },
		"has no objects": func() { e.Objects = 0 }, "has no object": func() { e.Object = 0 }, "has no pages": func() { e.Pages = 0 },
		"has no list_cpu": func() { e.ListCPU = 0 }, "has no areas": func() { e.Areas = 0 }, "has no errors": func() { e.Errors = 0 },
		"has no largest_order": func() { e.LargestOrder = 0 }, "out of range": func() { e.Order, e.PFN, e.PFNs = 0, 0, nil },
		"is not head or tail": func() { e.Path = "" },
	} {
		if strings.HasSuffix(msg, name) || strings.Contains(msg, name) {
			clear()
			return true
		}
	}
	return false
}

// TestGarbageEventsAreRefused mixes random events into a real log: the
// model refuses what does not fit without panicking, and every position
// still equals a rebuild from the events up to it, with every view
// rendering.
func TestGarbageEventsAreRefused(t *testing.T) {
	for seed := uint64(1); seed <= 6; seed++ {
		b, _ := slabSession(t)
		rng := rand.New(rand.NewPCG(seed, 77))
		log := &allocator.EventLog{}
		for _, e := range b.ev {
			appendGarbage(log, e)
			for rng.IntN(3) == 0 {
				appendGarbage(log, garbage(rng, b.pageSz))
			}
		}
		hv, err := newModel(log, 40)
		if err == nil {
			t.Fatalf("seed %d: no garbage was refused", seed)
		}
		for range 25 {
			pos := 1 + rng.IntN(log.Len())
			if err := hv.SeekEvent(pos); err != nil {
				t.Fatal(err)
			}
			fresh, _ := New(prefix(t, log, pos))
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
	log := &allocator.EventLog{}
	hv, err := New(log)
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
	for _, e := range newBuilder(t).ev {
		if _, err := log.Append(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := hv.Sync(); err != nil {
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
		log := b.log()
		rng := rand.New(rand.NewPCG(a, c))
		for range 200 {
			appendGarbage(log, garbage(rng, b.pageSz))
		}
		hv, _ := newModel(log, 30)
		for range 5 {
			hv.SeekEvent(rng.IntN(log.Len() + 1))
			renderAll(t, hv)
		}
	})
}

package heapview

import (
	"strings"
	"testing"

	"github.com/allocviz/allocviz/allocator"
)

// slabSession: kmalloc-64 (64 objects in an order-0 slab) gets a slab at
// pfn 256; step 2 allocates three objects, step 3 frees one, step 4 moves
// the slab to the node partial list, step 5 frees the rest and discards
// the slab.
func slabSession(t *testing.T) (*builder, allocator.Addr) {
	b := newBuilder(t)
	b.cache("kmalloc-64", 64, 0, 64)
	b.cache("kmalloc-96", 96, 0, 42)
	b.begin("kmalloc(40)")
	b.take(256, 8, 0, allocator.OwnerSlab, allocator.GFPKernel)
	first := b.addr(256)
	b.add(allocator.Fields{Kind: allocator.EvSlabNew, Cache: "kmalloc-64", PFN: 256, Order: 0, Objects: 64, Addr: first})
	b.add(allocator.Fields{Kind: allocator.EvObjAlloc, Cache: "kmalloc-64", Addr: first, PFN: 256, Object: 0, Size: 40, Bytes: 64, Path: "slowpath: new slab"})
	b.add(allocator.Fields{Kind: allocator.EvKmalloc, Cache: "kmalloc-64", Addr: first, Size: 40, Bytes: 64})
	b.begin("kmalloc(64) twice")
	for i := 1; i <= 2; i++ {
		a := first + allocator.Addr(64*i)
		b.add(allocator.Fields{Kind: allocator.EvObjAlloc, Cache: "kmalloc-64", Addr: a, PFN: 256, Object: i, Size: 64, Bytes: 64, Path: "fastpath"})
		b.add(allocator.Fields{Kind: allocator.EvKmalloc, Cache: "kmalloc-64", Addr: a, Size: 64, Bytes: 64})
	}
	b.begin("kfree(p1)")
	b.add(allocator.Fields{Kind: allocator.EvObjFree, Cache: "kmalloc-64", Addr: first + 64, PFN: 256, Object: 1, Path: "fastpath"})
	b.add(allocator.Fields{Kind: allocator.EvKfree, Addr: first + 64})
	b.begin("set_cpu(1)")
	b.add(allocator.Fields{Kind: allocator.EvSlabList, Cache: "kmalloc-64", PFN: 256, List: allocator.ListNodePartial, Text: "deactivated"})
	b.begin("kfree the rest")
	for _, i := range []int{0, 2} {
		b.add(allocator.Fields{Kind: allocator.EvObjFree, Cache: "kmalloc-64", Addr: first + allocator.Addr(64*i), PFN: 256, Object: i})
	}
	b.add(allocator.Fields{Kind: allocator.EvSlabDiscard, Cache: "kmalloc-64", PFN: 256, Order: 0, Text: "nr_partial >= min_partial"})
	b.add(allocator.Fields{Kind: allocator.EvPageFree, PFN: 256, Order: 0, Owner: allocator.OwnerSlab})
	for o := 0; o < 8; o++ {
		b.add(allocator.Fields{Kind: allocator.EvMerge, PFN: 256, Order: o})
	}
	return b, first
}

func TestSlabModel(t *testing.T) {
	b, first := slabSession(t)
	hv := b.model()
	if len(hv.Anomalies()) != 0 {
		t.Fatal(hv.Anomalies())
	}

	hv.Seek(2)
	c, ok := hv.CacheByName("kmalloc-64")
	if !ok {
		t.Fatal("kmalloc-64 is missing")
	}
	want := Cache{Name: "kmalloc-64", ObjSize: 64, Size: 64, ObjPerSlab: 64, PagesPerSlab: 1, Alive: true, Slabs: 1,
		Objects: 64, InUse: 3, Active: 64, CPUSlabs: 1, Requested: 168, Rounding: 24}
	if c != want {
		t.Fatalf("step 2: %+v\nwant %+v", c, want)
	}
	if p := hv.Page(256); p.Cache != "kmalloc-64" || p.Owner != allocator.OwnerSlab {
		t.Fatalf("pfn 256 at step 2: %+v", p)
	}
	sl, ok := hv.SlabAt(256)
	if !ok || sl.InUse != 3 || sl.List != allocator.ListCPU || sl.CPU != 0 || sl.First != first {
		t.Fatalf("slab at step 2: %+v", sl)
	}
	a, ok := hv.Alloc(first)
	if !ok || a.Func != "kmalloc" || a.Size != 40 || a.Bytes != 64 || a.Bucket() != "kmalloc-64" || a.Step != 1 {
		t.Fatalf("first object: %+v", a)
	}
	if in, ok := hv.AllocContaining(first + 70); !ok || in.Addr != first+64 {
		t.Fatalf("AllocContaining(first+70) = %+v, %v", in, ok)
	}

	hv.Seek(4)
	c, _ = hv.CacheByName("kmalloc-64")
	// slabinfo's active_objs leaves out the free objects of node partial
	// slabs: 64 objects, 62 free on the node partial list.
	if c.InUse != 2 || c.Active != 2 || c.NodePartial != 1 || c.CPUSlabs != 0 || c.Use() != 3 {
		t.Fatalf("step 4: %+v", c)
	}
	if hv.ObjectUsed(sl, 1) || !hv.ObjectUsed(sl, 2) {
		t.Fatal("object 1 should be free and object 2 used at step 4")
	}

	hv.Seek(5)
	c, _ = hv.CacheByName("kmalloc-64")
	if c.Slabs != 0 || c.Objects != 0 || c.InUse != 0 || c.Requested != 0 {
		t.Fatalf("step 5: %+v", c)
	}
	if p := hv.Page(256); p.State != allocator.PageFree || p.Order != 8 {
		t.Fatalf("pfn 256 after the discard: %+v", p)
	}
	if tt := hv.Totals(); tt.Allocs != 0 || tt.Slabs != 0 {
		t.Fatalf("totals after the discard: %+v", tt)
	}
	// kmalloc-96: 42 objects of 96 bytes leave 64 bytes of each slab unused.
	if c, _ := hv.CacheByName("kmalloc-96"); c.Tail != 0 || c.Slabs != 0 {
		t.Fatalf("kmalloc-96 with no slabs: %+v", c)
	}

	hv.Seek(1)
	sl, _ = hv.SlabAt(256)
	if sl.InUse != 1 {
		t.Fatalf("back at step 1 the slab has %d objects in use", sl.InUse)
	}
}

// TestSlabEventsThatDoNotFit: each is refused as an anomaly and changes
// nothing.
func TestSlabEventsThatDoNotFit(t *testing.T) {
	for _, tc := range []struct {
		name string
		ev   allocator.Fields
		want string
	}{
		{"object at the wrong address", allocator.Fields{Kind: allocator.EvObjAlloc, Cache: "kmalloc-64", PFN: 256, Object: 3, Size: 8}, "is at"},
		{"object index past the slab", allocator.Fields{Kind: allocator.EvObjAlloc, Cache: "kmalloc-64", PFN: 256, Object: 64}, "does not exist"},
		{"free of a free object", allocator.Fields{Kind: allocator.EvObjFree, Cache: "kmalloc-64", PFN: 256, Object: 5}, "not allocated"},
		{"wrong cache", allocator.Fields{Kind: allocator.EvObjFree, Cache: "kmalloc-96", PFN: 256, Object: 0}, "belongs to kmalloc-64"},
		{"slab on free pages", allocator.Fields{Kind: allocator.EvSlabNew, Cache: "kmalloc-64", PFN: 512, Objects: 64}, "does not begin"},
		{"unknown cache", allocator.Fields{Kind: allocator.EvSlabList, Cache: "kmalloc-7", PFN: 256}, "belongs to kmalloc-64"},
		{"page free with the wrong owner", allocator.Fields{Kind: allocator.EvPageFree, PFN: 256, Owner: allocator.OwnerPages}, "belongs to slab"},
		{"second cache of a name", allocator.Fields{Kind: allocator.EvCacheCreate, Cache: "kmalloc-64", Size: 64, Bytes: 64, Objects: 64}, "already called"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, first := slabSession(t)
			b.ev = b.ev[:stepStart(b.ev, 3)]
			before := fingerprint(b.model())
			e := tc.ev
			if e.Kind == allocator.EvObjAlloc || e.Kind == allocator.EvObjFree {
				if e.Addr == 0 {
					e.Addr = first + allocator.Addr(64*e.Object)
				}
				if tc.name == "object at the wrong address" {
					e.Addr = first + 1
				}
			}
			if e.Kind == allocator.EvSlabNew {
				e.Addr = b.addr(e.PFN)
			}
			b.add(e)
			hv, err := New(b.log())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to mention %q", err, tc.want)
			}
			if len(hv.Anomalies()) != 1 || hv.Anomalies()[0].Seq != uint64(len(b.ev)) {
				t.Fatalf("anomalies %v", hv.Anomalies())
			}
			if after := fingerprint(hv); after != before {
				t.Fatal("a refused event changed the state")
			}
		})
	}
}

func TestSlabDiscardAfterThePagesWentBack(t *testing.T) {
	b, _ := slabSession(t)
	// Put the page free (and merges) before the discard: the order the
	// SLUB implementation emits them in may be either.
	n := len(b.ev)
	discard := b.ev[n-10]
	copy(b.ev[n-10:], b.ev[n-9:])
	b.ev[n-1] = discard
	hv := b.model()
	if len(hv.Anomalies()) != 0 {
		t.Fatal(hv.Anomalies())
	}
	if c, _ := hv.CacheByName("kmalloc-64"); c.Slabs != 0 {
		t.Fatalf("%+v", c)
	}
}

// stepStart returns the position of the EvStep of step n.
func stepStart(ev []allocator.Fields, n int) int {
	for i, e := range ev {
		if e.Kind == allocator.EvStep && e.Step == n {
			return i
		}
	}
	return len(ev)
}

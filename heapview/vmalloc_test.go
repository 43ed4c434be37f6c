package heapview

import (
	"slices"
	"testing"

	"github.com/allocviz/allocviz/allocator"
)

// vmallocSession: step 1 vmallocs 10000 bytes: three order-0 pages taken
// out of order (pfn 258, 256, 257... as the buddy allocator hands them out,
// shuffled here to show the scattering) behind an area of four pages with
// its guard page; step 2 vfrees it.
func vmallocSession(t *testing.T) (*builder, allocator.Addr) {
	b := newBuilder(t)
	b.begin("vmalloc(10000)")
	b.take(256, 8, 0, allocator.OwnerVmalloc, allocator.GFPKernel)
	b.add(allocator.Fields{Kind: allocator.EvPageAlloc, PFN: 257, Order: 0, Owner: allocator.OwnerVmalloc})
	b.take(258, 1, 0, allocator.OwnerVmalloc, allocator.GFPKernel)
	start := allocator.VmallocStart
	pfns := []uint64{258, 256, 257}
	b.add(allocator.Fields{Kind: allocator.EvVmapAlloc, Addr: start, Bytes: 4 * b.pageSz, Size: 10000, Pages: 3, PFNs: pfns})
	b.add(allocator.Fields{Kind: allocator.EvKvmalloc, Addr: start, Size: 10000, Path: "vmalloc fallback"})
	b.begin("kvfree(p)")
	b.add(allocator.Fields{Kind: allocator.EvVmapFree, Addr: start, Bytes: 4 * b.pageSz, PFNs: pfns})
	for _, p := range pfns {
		b.add(allocator.Fields{Kind: allocator.EvPageFree, PFN: p, Order: 0, Owner: allocator.OwnerVmalloc})
	}
	b.begin("purge")
	b.add(allocator.Fields{Kind: allocator.EvVmapPurge, Areas: 1, Bytes: 4 * b.pageSz, Text: "lazy purge of 1 area"})
	return b, start
}

func TestVmallocModel(t *testing.T) {
	b, start := vmallocSession(t)
	hv := b.model()
	if len(hv.Anomalies()) != 0 {
		t.Fatal(hv.Anomalies())
	}
	hv.Seek(1)
	areas := hv.Areas()
	if len(areas) != 1 {
		t.Fatalf("%d areas, want 1", len(areas))
	}
	a := areas[0]
	if a.Addr != start || a.Bytes != 4*b.pageSz || a.Size != 10000 || len(a.PFNs) != 3 || a.Func != "kvmalloc" || a.Step != 1 {
		t.Fatalf("area %+v", a)
	}
	if g, ok := a.Guard(b.pageSz); !ok || g != start+allocator.Addr(3*b.pageSz) {
		t.Fatalf("guard page %v, %v", g, ok)
	}
	if got, i, ok := hv.AreaOfPage(257); !ok || got.Addr != start || i != 2 {
		t.Fatalf("AreaOfPage(257) = %v, %d, %v", got.Addr, i, ok)
	}
	al, ok := hv.AllocContaining(start + 5000)
	if !ok || al.Kind != AllocVmalloc || al.Bytes != 3*b.pageSz || al.Path != "vmalloc fallback" {
		t.Fatalf("allocation holding start+5000: %+v, %v", al, ok)
	}
	if _, ok := hv.AllocContaining(start + allocator.Addr(3*b.pageSz)); ok {
		t.Fatal("the guard page belongs to no allocation")
	}
	if tt := hv.Totals(); tt.Areas != 1 || tt.VmallocBytes != 4*b.pageSz || tt.PagesByOwner[allocator.OwnerVmalloc] != 3 {
		t.Fatalf("totals %+v", tt)
	}
	hv.Seek(2)
	if tt := hv.Totals(); tt.Areas != 0 || tt.Allocs != 0 || tt.Unpurged != 1 || tt.UnpurgedB != 4*b.pageSz {
		t.Fatalf("after vfree: %+v", tt)
	}
	if as := hv.Areas(); len(as) != 1 || !as[0].Unpurged || as[0].PFNs != nil {
		t.Fatalf("after vfree the range should wait for the purge: %+v", as)
	}
	ev := slices.Clip(b.ev[:stepStart(b.ev, 3)])
	if _, err := New(logOf(t, append(ev, allocator.Fields{Kind: allocator.EvVmapFree, Addr: start, Bytes: 4 * b.pageSz}))); err == nil {
		t.Fatal("a second vfree of the area was accepted")
	}
	if _, err := New(logOf(t, append(ev, allocator.Fields{Kind: allocator.EvVmapAlloc, Addr: start, Bytes: b.pageSz}))); err == nil {
		t.Fatal("an area over an unpurged range was accepted")
	}
	hv.Seek(3)
	if len(hv.Areas()) != 0 || hv.Totals().Unpurged != 0 {
		t.Fatal("the unpurged range outlived the purge")
	}
}

// TestVmapFreeOfAnAreaThatFailed: vmalloc gives back an area whose pages
// it could not all get with EvVmapFree, though it never announced it.
func TestVmapFreeOfAnAreaThatFailed(t *testing.T) {
	b := newBuilder(t)
	b.begin("vmalloc(1 GiB)")
	b.take(256, 8, 0, allocator.OwnerVmalloc, allocator.GFPKernel)
	b.add(allocator.Fields{Kind: allocator.EvPageFail, Order: 0})
	b.add(allocator.Fields{Kind: allocator.EvVmapFree, Addr: allocator.VmallocStart, Bytes: 3 * b.pageSz, Size: 2 * b.pageSz, Pages: 1, PFNs: []uint64{256}})
	b.add(allocator.Fields{Kind: allocator.EvPageFree, PFN: 256, Order: 0, Owner: allocator.OwnerVmalloc})
	hv := b.model()
	if len(hv.Anomalies()) != 0 {
		t.Fatal(hv.Anomalies())
	}
	if tt := hv.Totals(); tt.Unpurged != 1 || tt.Areas != 0 || tt.Failures != 1 {
		t.Fatalf("%+v", tt)
	}
}

func TestVmapAreasMayNotOverlap(t *testing.T) {
	b, start := vmallocSession(t)
	b.ev = b.ev[:stepStart(b.ev, 2)]
	b.add(allocator.Fields{Kind: allocator.EvVmapAlloc, Addr: start + allocator.Addr(b.pageSz), Bytes: 2 * b.pageSz, Size: 1})
	if _, err := New(b.log()); err == nil {
		t.Fatal("an area inside another was accepted")
	}
}

// reallocSession: a kmalloc(40) object is grown in place to 60, then moved
// to kmalloc-128 for 100 bytes (EvRealloc after the old object is freed),
// then shrunk in place to 90.
func reallocSession(t *testing.T) (*builder, allocator.Addr, allocator.Addr) {
	b := newBuilder(t)
	b.cache("kmalloc-64", 64, 0, 64)
	b.cache("kmalloc-128", 128, 0, 32)
	p := b.addr(256)
	q := b.addr(257)
	b.begin("kmalloc(40)")
	b.take(256, 8, 0, allocator.OwnerSlab, allocator.GFPKernel)
	b.add(allocator.Fields{Kind: allocator.EvSlabNew, Cache: "kmalloc-64", PFN: 256, Objects: 64, Addr: p})
	b.add(allocator.Fields{Kind: allocator.EvObjAlloc, Cache: "kmalloc-64", Addr: p, PFN: 256, Size: 40})
	b.add(allocator.Fields{Kind: allocator.EvKmalloc, Cache: "kmalloc-64", Addr: p, Size: 40, Bytes: 64})
	b.begin("krealloc(p, 60)")
	b.add(allocator.Fields{Kind: allocator.EvRealloc, Text: "60 <= ksize 64: in place", Realloc: &allocator.ReallocInfo{
		Func: "krealloc", Old: p, OldSize: 40, OldCap: 64, New: p, NewSize: 60, NewCap: 64, Decision: allocator.DecisionGrownInPlace, Bucket: "kmalloc-64"}})
	b.begin("krealloc(p, 100)")
	b.add(allocator.Fields{Kind: allocator.EvPageAlloc, PFN: 257, Order: 0, Owner: allocator.OwnerSlab})
	b.add(allocator.Fields{Kind: allocator.EvSlabNew, Cache: "kmalloc-128", PFN: 257, Objects: 32, Addr: q})
	b.add(allocator.Fields{Kind: allocator.EvObjAlloc, Cache: "kmalloc-128", Addr: q, PFN: 257, Size: 100})
	b.add(allocator.Fields{Kind: allocator.EvKmalloc, Cache: "kmalloc-128", Addr: q, Size: 100, Bytes: 128})
	b.add(allocator.Fields{Kind: allocator.EvObjFree, Cache: "kmalloc-64", Addr: p, PFN: 256})
	b.add(allocator.Fields{Kind: allocator.EvKfree, Addr: p})
	b.add(allocator.Fields{Kind: allocator.EvRealloc, Text: "100 > ksize 64: a new object, 64 bytes copied", Realloc: &allocator.ReallocInfo{
		Func: "krealloc", Old: p, OldSize: 60, OldCap: 64, New: q, NewSize: 100, NewCap: 128, Decision: allocator.DecisionMoved, Copied: 64, Bucket: "kmalloc-128"}})
	b.begin("krealloc(q, 90, __GFP_ZERO)")
	b.add(allocator.Fields{Kind: allocator.EvRealloc, Text: "90 <= 128: in place, tail zeroed", Realloc: &allocator.ReallocInfo{
		Func: "krealloc", Old: q, OldSize: 100, OldCap: 128, New: q, NewSize: 90, NewCap: 128, Decision: allocator.DecisionShrunkInPlace, Zeroed: 38, Bucket: "kmalloc-128"}})
	return b, p, q
}

func TestReallocModel(t *testing.T) {
	b, p, q := reallocSession(t)
	hv := b.model()
	if len(hv.Anomalies()) != 0 {
		t.Fatal(hv.Anomalies())
	}
	a, _ := hv.Alloc(q)
	if a.Size != 90 || a.Func != "krealloc" {
		t.Fatalf("after shrinking: %+v", a)
	}
	first, _ := New(logOf(t, b.ev[:stepStart(b.ev, 2)]))
	orig, _ := first.Alloc(p)
	if a.Lineage != orig.Seq {
		t.Fatalf("the moved allocation's lineage is %d, want the original kmalloc's event %d", a.Lineage, orig.Seq)
	}
	h := hv.ReallocHistory(a.Lineage)
	if len(h) != 3 {
		t.Fatalf("history has %d decisions, want 3", len(h))
	}
	for i, d := range []allocator.Decision{allocator.DecisionGrownInPlace, allocator.DecisionMoved, allocator.DecisionShrunkInPlace} {
		if h[i].Decision != d || h[i].Step != i+2 {
			t.Errorf("history[%d] = %v at step %d, want %v at step %d", i, h[i].Decision, h[i].Step, d, i+2)
		}
	}
	if c, _ := hv.CacheByName("kmalloc-128"); c.Requested != 90 || c.Rounding != 38 {
		t.Fatalf("kmalloc-128 after the shrink: %+v", c)
	}
	hv.Seek(2)
	if a, _ := hv.Alloc(p); a.Size != 60 {
		t.Fatalf("at step 2 p has size %d, want 60", a.Size)
	}
	if l, ok := hv.LatestRealloc(); !ok || l.Decision != allocator.DecisionGrownInPlace || l.Text == "" {
		t.Fatalf("latest decision at step 2: %+v", l)
	}
	if len(hv.Reallocs()) != 1 {
		t.Fatalf("%d decisions by step 2", len(hv.Reallocs()))
	}
	hv.Seek(1)
	if _, ok := hv.LatestRealloc(); ok {
		t.Fatal("a decision before the first realloc")
	}
}

func TestLargeKmalloc(t *testing.T) {
	b := newBuilder(t)
	b.begin("kmalloc(10000)")
	b.take(256, 8, 2, allocator.OwnerLargeKmalloc, allocator.GFPKernel|allocator.GFPComp)
	b.add(allocator.Fields{Kind: allocator.EvKmalloc, Addr: b.addr(256), Size: 10000, Bytes: 4 * b.pageSz})
	b.begin("kfree(p)")
	b.add(allocator.Fields{Kind: allocator.EvKfree, Addr: b.addr(256)})
	b.add(allocator.Fields{Kind: allocator.EvPageFree, PFN: 256, Order: 2, Owner: allocator.OwnerLargeKmalloc})
	hv := b.model()
	if len(hv.Anomalies()) != 0 {
		t.Fatal(hv.Anomalies())
	}
	hv.Seek(1)
	a, ok := hv.Alloc(b.addr(256))
	if !ok || a.Kind != AllocLargeKmalloc || a.Size != 10000 || a.Bytes != 4*b.pageSz || a.Bucket() != "pages" {
		t.Fatalf("%+v", a)
	}
	if p := hv.Page(259); !p.Compound || p.Head != 256 || p.Order != 2 {
		t.Fatalf("pfn 259: %+v", p)
	}
	hv.Seek(2)
	if hv.Totals().Allocs != 0 {
		t.Fatal("the large kmalloc outlived its free")
	}
}

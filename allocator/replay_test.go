package allocator

import (
	"errors"
	"strings"
	"testing"
)

// TestAllocPagesAt takes the exact blocks asked for out of the free
// blocks around them, leaves the rest free, and refuses a block in use
// or misaligned without changing anything.
func TestAllocPagesAt(t *testing.T) {
	m := newTestMachine(t, Config{RAM: 32 * MiB})
	log := &EventLog{}
	m.SetLog(log)
	free := m.FreePageCount()
	// 0x1005 lies in the free order-10 block at 0x1000: ten splits.
	a, err := m.AllocPagesAt(0x1005, 0, GFPKernel, "the trace's pfn 0x15405")
	if err != nil || a != m.PFNAddr(0x1005) {
		t.Fatalf("AllocPagesAt(0x1005) = %v, %v", a, err)
	}
	if p := m.Page(0x1005); p.Owner != OwnerPages || p.Head != 0x1005 || p.Order != 0 {
		t.Errorf("pfn 0x1005: %+v", p)
	}
	for _, pfn := range []uint64{0x1000, 0x1004, 0x1006, 0x1008, 0x1200} {
		if p := m.Page(pfn); p.State != PageFree {
			t.Errorf("pfn %#x: %+v, want free", pfn, p)
		}
	}
	if m.FreePageCount() != free-1 {
		t.Errorf("free pages %d, want %d", m.FreePageCount(), free-1)
	}
	splits, upper := 0, 0
	var alloc Event
	for e := range log.Events(0, log.Len()) {
		switch e.Kind() {
		case EvSplit:
			splits++
			if e.Path() == "upper" {
				upper++
			}
		case EvPageAlloc:
			alloc = e
		}
	}
	// 0x1005 = 0x1000 + 4 + 1: the upper half is kept at orders 3 and 1.
	if splits != 10 || upper != 2 || alloc.Kind() != EvPageAlloc || alloc.PFN() != 0x1005 ||
		alloc.Text() != "order-0 block at pfn 0x1005, split out of the free order-10 block at pfn 0x1000: the trace's pfn 0x15405" {
		t.Errorf("%d splits (%d upper), page alloc %v", splits, upper, alloc)
	}
	// An order-2 block next to it, then the same pages again.
	if _, err := m.AllocPagesAt(0x1008, 2, GFPKernel|GFPComp, "x"); err != nil {
		t.Fatal(err)
	}
	n := log.Len()
	for _, tc := range []struct {
		pfn   uint64
		order int
	}{{0x1005, 0}, {0x1009, 0}, {0x1004, 2}, {0x1002, 2}, {m.NrPages(), 0}} {
		if _, err := m.AllocPagesAt(tc.pfn, tc.order, GFPKernel, "x"); !errors.Is(err, ErrNotFree) {
			t.Errorf("AllocPagesAt(%#x, %d): %v, want ErrNotFree", tc.pfn, tc.order, err)
		}
	}
	if log.Len() != n {
		t.Error("a refused AllocPagesAt recorded events")
	}
	if err := m.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
	// Freed, they wait on the pcp lists (orders 0 and 2 are pcp orders);
	// drained, they merge back into the order-10 block.
	if err := m.FreePages(m.PFNAddr(0x1005), 0); err != nil {
		t.Fatal(err)
	}
	if err := m.FreePages(m.PFNAddr(0x1008), 2); err != nil {
		t.Fatal(err)
	}
	if p := m.Page(0x1005); p.Owner != OwnerPCP {
		t.Errorf("pfn 0x1005 freed: %+v, want on a pcp list", p)
	}
	// A block on a pcp list is free to be placed again: it comes off it.
	if _, err := m.AllocPagesAt(0x1005, 0, GFPKernel, "again"); err != nil {
		t.Fatalf("AllocPagesAt of a page on a pcp list: %v", err)
	}
	if e := log.At(log.Len() - 1); e.Kind() != EvPageAlloc || e.Text() != "order-0 block at pfn 0x1005, taken off the pcp list it waited on: again" {
		t.Errorf("placing a pcp page: %v", e)
	}
	if err := m.FreePages(m.PFNAddr(0x1005), 0); err != nil {
		t.Fatal(err)
	}
	m.DrainAllPages()
	if p := m.Page(0x1000); p.State != PageFree || p.Order != MaxPageOrder || m.FreePageCount() != free {
		t.Errorf("after the frees pfn 0x1000 is %+v, %d free pages", p, m.FreePageCount())
	}
	// (That the halves split off go to their lists' tails, so that
	// ordinary allocations reach them last, is pageNode's TestTakeAt.)
	if err := m.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

// TestVmallocCallerAndPurge: an area with the trace's alignment and
// caller, freed, then purged on request.
func TestVmallocCallerAndPurge(t *testing.T) {
	m := newTestMachine(t, Config{})
	a, err := m.VmallocCaller(16384, 16384, GFPKernel, "trace.txt:145")
	if err != nil || uint64(a)%16384 != 0 {
		t.Fatalf("VmallocCaller = %v, %v", a, err)
	}
	if !strings.Contains(m.Vmallocinfo(), "trace.txt:145 pages=4 vmalloc") {
		t.Errorf("vmallocinfo:\n%s", m.Vmallocinfo())
	}
	if err := m.Vfree(a); err != nil {
		t.Fatal(err)
	}
	log := &EventLog{}
	m.SetLog(log)
	m.PurgeVmapAreaLazy("purge_vmap_area_lazy in the trace")
	if e := log.At(log.Len() - 1); e.Kind() != EvVmapPurge || e.Areas() != 1 || !strings.Contains(e.Text(), "in the trace") {
		t.Errorf("purge event %v", e)
	}
	if err := m.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

// TestSlabPagesAllocated counts the pages SLUB has taken for slabs.
func TestSlabPagesAllocated(t *testing.T) {
	m := newTestMachine(t, Config{})
	before := m.SlabPagesAllocated()
	for range 40 {
		if _, err := m.Kmalloc(4096, GFPKernel); err != nil { // kmalloc-4k: 8 objects per order-3 slab
			t.Fatal(err)
		}
	}
	if got := m.SlabPagesAllocated() - before; got != 5*8 {
		t.Errorf("40 objects of kmalloc-4k took %d slab pages, want 40", got)
	}
}

// TestFreeSynthetic frees what each allocator made, marks the free's own
// event (not the kmem:kfree tracepoint, not the merges), and refuses what
// is not a live allocation without marking anything.
func TestFreeSynthetic(t *testing.T) {
	m := newTestMachine(t, Config{})
	log := &EventLog{}
	m.SetLog(log)
	c, err := m.KmemCacheCreate("maple_node", 256, 256, 0)
	if err != nil {
		t.Fatal(err)
	}
	obj, _ := m.KmemCacheAlloc(c, GFPKernel)
	small, _ := m.Kmalloc(100, GFPKernel)
	large, _ := m.Kmalloc(5*m.PageSize(), GFPKernel)
	pages, _ := m.AllocPages(2, GFPKernel)
	area, _ := m.Vmalloc(3*m.PageSize(), GFPKernel)
	for _, tc := range []struct {
		addr Addr
		kind EventKind
	}{{obj, EvObjFree}, {small, EvObjFree}, {large, EvPageFree}, {pages, EvPageFree}, {area, EvVmapFree}} {
		start := log.Len()
		if err := m.FreeSynthetic(tc.addr, "allocated again at line 9"); err != nil {
			t.Fatalf("FreeSynthetic(%v): %v", tc.addr, err)
		}
		var marked []Event
		for e := range log.Events(start, log.Len()) {
			if e.Synthetic() != "" {
				marked = append(marked, e)
			}
		}
		if len(marked) != 1 || marked[0].Kind() != tc.kind || marked[0].Synthetic() != "allocated again at line 9" ||
			!strings.HasSuffix(marked[0].Text(), "; synthetic free: allocated again at line 9") {
			t.Errorf("FreeSynthetic(%v) marked %v, want one %v", tc.addr, marked, tc.kind)
		}
	}
	if o, ok := m.ObjectAt(obj); !ok || o.Allocated() {
		t.Errorf("the object is still live: %+v", o)
	}
	n := log.Len()
	for _, a := range []Addr{obj, pages + 1, 0x1234} {
		if err := m.FreeSynthetic(a, "x"); err == nil {
			t.Errorf("FreeSynthetic(%v) of no live allocation succeeded", a)
		}
	}
	for e := range log.Events(n, log.Len()) {
		if e.Synthetic() != "" {
			t.Errorf("a refused free marked %v", e)
		}
	}
	if err := m.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

// TestPCPRefillAndDrainAt: a replayed refill puts a free page on the
// named CPU's pcp list (not free, not merged), the allocation that follows
// takes it from there, its free goes back to a pcp list, and a replayed
// drain returns it to the buddy allocator with its merges; a block that
// is not where the trace says is refused with nothing changed.
func TestPCPRefillAndDrainAt(t *testing.T) {
	m := newTestMachine(t, Config{CPUs: 2, RAM: 64 << 20})
	log := &EventLog{}
	m.SetLog(log)
	free0, pcp0 := m.FreePageCount(), m.PCPPageCount()
	blocks := m.FreeBlocks(MaxPageOrder)
	if len(blocks) == 0 {
		t.Fatal("no free order-10 block")
	}
	pfn := blocks[len(blocks)-1] + 5 // inside a free block: the refill splits down to it
	if err := m.PCPRefillAt(pfn, 0, MigrateUnmovable, 1); err != nil {
		t.Fatal(err)
	}
	e := log.At(log.Len() - 1)
	if e.Kind() != EvPCPRefill || e.PFN() != pfn || e.ListCPU() != 1 || e.Order() != 0 {
		t.Errorf("refill event %v (pfn %#x cpu %d)", e, e.PFN(), e.ListCPU())
	}
	if m.FreePageCount() != free0-1 || m.PCPPageCount() != pcp0+1 {
		t.Errorf("after the refill: free %d (was %d), pcp %d (was %d)", m.FreePageCount(), free0, m.PCPPageCount(), pcp0)
	}
	if err := m.PCPRefillAt(pfn, 0, MigrateUnmovable, 0); !errors.Is(err, ErrNotFree) {
		t.Errorf("a second refill of the same page: %v", err)
	}
	if err := m.PCPRefillAt(blocks[0], 4, MigrateMovable, 0); !errors.Is(err, ErrBadSize) {
		t.Errorf("an order-4 refill: %v", err)
	}
	if err := m.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
	a, err := m.AllocPagesAt(pfn, 0, GFPKernel, "")
	if err != nil || m.PCPPageCount() != pcp0 {
		t.Fatalf("AllocPagesAt of the refilled page: %v, %v; pcp %d", a, err, m.PCPPageCount())
	}
	if err := m.PCPDrainAt(pfn, 0); !errors.Is(err, ErrNotFree) {
		t.Errorf("drain of an allocated page: %v", err)
	}
	if err := m.FreePages(a, 0); err != nil {
		t.Fatal(err)
	}
	if m.PCPPageCount() != pcp0+1 {
		t.Fatalf("the free went to a pcp list: pcp %d", m.PCPPageCount())
	}
	n := log.Len()
	if err := m.PCPDrainAt(pfn, 0); err != nil {
		t.Fatal(err)
	}
	if e := log.At(n); e.Kind() != EvPCPDrain || e.PFN() != pfn {
		t.Errorf("drain event %v", e)
	}
	merges := 0
	for i := n + 1; i < log.Len(); i++ {
		if log.At(i).Kind() == EvMerge {
			merges++
		}
	}
	if m.FreePageCount() != free0 || m.PCPPageCount() != pcp0 || merges != MaxPageOrder {
		t.Errorf("after the drain: free %d (want %d), pcp %d (want %d), %d merges (want %d, back to the order-10 block)",
			m.FreePageCount(), free0, m.PCPPageCount(), pcp0, merges, MaxPageOrder)
	}
	if err := m.PCPDrainAt(pfn, 0); !errors.Is(err, ErrNotFree) {
		t.Errorf("a second drain: %v", err)
	}
	if err := m.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

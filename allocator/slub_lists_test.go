package allocator

import (
	"errors"
	"strings"
	"testing"
)

// slabsOf returns the snapshot of one cache's slabs.
func slabsOf(t *testing.T, m *Machine, name string) []SlabInfo {
	t.Helper()
	for _, c := range m.Caches() {
		if c.Name == name {
			return c.Slabs
		}
	}
	t.Fatalf("no cache %s", name)
	return nil
}

func listOf(m *Machine, p Addr) (SlabList, int) {
	sl := m.slabOf(p)
	return sl.list, sl.cpu
}

// TestSlabLifecycle walks one cache through SLUB's lists (mm/slub.c): cpu slab, full,
// per-CPU partial with its drain to the node, node partial, refills, and
// the min_partial rule for empty slabs.
func TestSlabLifecycle(t *testing.T) {
	m := newTestMachine(t, Config{})
	log := &EventLog{}
	m.SetLog(log)
	// 1024-byte objects: 16 per order-2 slab (4 cpus), min_partial 5,
	// cpu_partial 24 objects = DIV_ROUND_UP(48, 16) = 3 slabs.
	s := mustCache(t, m, "life", 1024, 0)
	if s.objects != 16 || s.order != 2 || s.minPartial != 5 || s.cpuPartialSlabs != 3 {
		t.Fatalf("geometry %d/%d min_partial %d cpu_partial_slabs %d", s.objects, s.order, s.minPartial, s.cpuPartialSlabs)
	}
	var ps []Addr
	var slabs []*slab
	for i := 0; i < 7*16; i++ {
		p := mustAlloc(t, m, s)
		ps = append(ps, p)
		if i%16 == 0 {
			slabs = append(slabs, m.slabOf(p))
		}
	}
	for i, sl := range slabs[:6] {
		if sl.list != ListFull {
			t.Fatalf("slab %d is %v, want full", i+1, sl.list)
		}
	}
	if slabs[6].list != ListCPU || slabs[6].cpu != 0 {
		t.Fatalf("slab 7 is %v cpu %d, want cpu 0's cpu slab", slabs[6].list, slabs[6].cpu)
	}
	// One object back to each full slab: the first three go to cpu 0's
	// partial list; the fourth finds it full (3 >= cpu_partial_slabs) and
	// drains it to the node.
	freed := make(map[Addr]bool)
	for i := 0; i < 6; i++ {
		m.KmemCacheFree(s, ps[i*16])
		freed[ps[i*16]] = true
	}
	var order []string
	for _, si := range slabsOf(t, m, "life") {
		for i, sl := range slabs {
			if sl.pfn == si.PFN {
				order = append(order, string(rune('1'+i))+":"+si.List.String())
			}
		}
	}
	if got := strings.Join(order, " "); got != "7:cpu 6:cpu-partial 5:cpu-partial 4:cpu-partial 3:node-partial 2:node-partial 1:node-partial" {
		t.Errorf("lists after the frees: %s", got)
	}
	// The cpu slab is used up: the next allocation unfreezes it as full and
	// takes the head of the per-CPU partial list.
	p := mustAlloc(t, m, s)
	if m.slabOf(p) != slabs[5] || slabs[6].list != ListFull || slabs[5].list != ListCPU {
		t.Errorf("refill: object from %v, slab 7 %v, slab 6 %v", m.slabOf(p).pfn, slabs[6].list, slabs[5].list)
	}
	if ev := lastOf(log, EvObjAlloc); ev.Path() != "slowpath: took a per-CPU partial slab" {
		t.Errorf("path %q", ev.Path())
	}
	m.KmemCacheFree(s, p)
	if ev := lastOf(log, EvObjFree); !strings.HasPrefix(ev.Path(), "fastpath") {
		t.Errorf("free to the cpu slab took %q", ev.Path())
	}
	// flush_all: the cpu slab goes to the head of the node partial list,
	// the per-CPU partial slabs to its tail.
	m.ValidateSlabCache(s)
	order = order[:0]
	for sl := s.partial.head; sl != nil; sl = sl.lnext {
		for i, x := range slabs {
			if x == sl {
				order = append(order, string(rune('1'+i)))
			}
		}
	}
	if got := strings.Join(order, ""); got != "632154" {
		t.Errorf("node partial list after the flush: %s, want 632154", got)
	}
	// Free everything: slabs 1 and 2 empty while the node has >= 5
	// partial slabs and are discarded; 3..6 stay; slab 7 (full) gets an
	// object back and goes to the per-CPU partial list.
	for _, q := range ps {
		if !freed[q] {
			if err := m.KmemCacheFree(s, q); err != nil {
				t.Fatal(err)
			}
		}
	}
	if s.nrSlabs != 5 || s.partial.n != 4 || slabs[6].list != ListCPUPartial {
		t.Errorf("after freeing all: %d slabs, %d node partial, slab 7 %v; want 5, 4, cpu-partial", s.nrSlabs, s.partial.n, slabs[6].list)
	}
	for _, r := range m.SlabinfoRows() {
		if r.Name == "life" && (r.NumObjs != 80 || r.ActiveObjs != 16) {
			t.Errorf("slabinfo %+v: want 80 objects, 16 active (the per-CPU partial slab's)", r)
		}
	}
	discards := 0
	for _, e := range logEvents(log) {
		if e.Kind() == EvSlabDiscard && e.Cache() == "life" {
			discards++
			if !strings.Contains(e.Text(), "min_partial 5") {
				t.Errorf("discard rule %q", e.Text())
			}
		}
	}
	if discards != 2 {
		t.Errorf("%d slabs discarded, want 2", discards)
	}
	checkSlubAll(t, m)
}

// TestPerCPUSlabs checks that each CPU allocates from its own cpu slab and
// that a free from another CPU goes to the slab's own freelist, which the
// owning CPU picks up when its lockless freelist runs out.
func TestPerCPUSlabs(t *testing.T) {
	m := newTestMachine(t, Config{CPUs: 2})
	log := &EventLog{}
	m.SetLog(log)
	a, _ := m.Kmalloc(64, GFPKernel)
	m.SetCPU(1)
	b, _ := m.Kmalloc(64, GFPKernel)
	if m.slabOf(a) == m.slabOf(b) {
		t.Fatal("cpu 1 allocated from cpu 0's slab")
	}
	if l, cpu := listOf(m, b); l != ListCPU || cpu != 1 {
		t.Errorf("cpu 1's slab: %v cpu %d", l, cpu)
	}
	if ev := lastOf(log, EvObjAlloc); ev.CPU() != 1 {
		t.Errorf("event CPU %d", ev.CPU())
	}
	// A remote free.
	if err := m.Kfree(a); err != nil {
		t.Fatal(err)
	}
	if ev := lastOf(log, EvObjFree); ev.Path() != "slowpath: to the slab freelist of another cpu's cpu slab" ||
		!strings.Contains(ev.Text(), "(cpu 0's cpu slab)") || ev.CPU() != 1 {
		t.Errorf("remote free: %q %q on cpu %d", ev.Path(), ev.Text(), ev.CPU())
	}
	m.SetCPU(0)
	s := m.Cache("kmalloc-64")
	for i := 0; i < 63; i++ {
		m.Kmalloc(64, GFPKernel)
	}
	// cpu 0's lockless freelist is empty now; the next allocation takes
	// the remotely freed object back from the slab freelist.
	c, _ := m.Kmalloc(64, GFPKernel)
	if c != a || lastOf(log, EvObjAlloc).Path() != "slowpath: cpu slab's freelist (objects freed by other paths) moved to the lockless freelist" {
		t.Errorf("refill got %v (want %v) by %q", c, a, lastOf(log, EvObjAlloc).Path())
	}
	if s.cpus[0].freelist != 0 {
		t.Error("the refill should have taken exactly one object")
	}
	checkSlubAll(t, m)
	if err := m.SetCPU(2); err == nil {
		t.Error("SetCPU(2) on a 2-cpu machine succeeded")
	}
}

// TestFreelistCorruptionWithoutDebug overwrites the free pointer of a free
// object (a write after free) with the address of a live object. The
// kernel would hand that object out twice; allocviz reports and rebuilds.
func TestFreelistCorruptionWithoutDebug(t *testing.T) {
	for _, hardened := range []bool{false, true} {
		m := newTestMachine(t, Config{FreelistHardened: hardened, Seed: 5})
		log := &EventLog{}
		m.SetLog(log)
		live, _ := m.Kmalloc(64, GFPKernel)
		p, _ := m.Kmalloc(64, GFPKernel)
		m.Kfree(p)
		// What the kernel would read as the next free object: live.
		m.setFreepointer(m.Cache("kmalloc-64"), p, live)
		q, _ := m.Kmalloc(64, GFPKernel)
		if q != p {
			t.Fatalf("LIFO: got %v, want %v", q, p)
		}
		r := lastOf(log, EvSlubReport).Text()
		if !strings.Contains(r, "allocviz: freelist of the kmalloc-64 slab") || !strings.Contains(r, "a write after free?") {
			t.Errorf("hardened %v: report %q", hardened, r)
		}
		seen := map[Addr]bool{live: true, p: true}
		for i := 0; i < 200; i++ {
			x, _ := m.Kmalloc(64, GFPKernel)
			if seen[x] {
				t.Fatalf("hardened %v: %v handed out twice", hardened, x)
			}
			seen[x] = true
		}
		checkSlubAll(t, m)
	}
}

// TestCPUFreelistCorruptionOnFlush corrupts the lockless freelist in the
// middle, then flushes: the splice notices and relinks every free object.
func TestCPUFreelistCorruptionOnFlush(t *testing.T) {
	m := newTestMachine(t, Config{})
	s := m.Cache("kmalloc-32")
	var ps []Addr
	for i := 0; i < 10; i++ {
		p, _ := m.Kmalloc(32, GFPKernel)
		ps = append(ps, p)
	}
	for _, p := range ps[:5] {
		m.Kfree(p)
	}
	// ps[2]'s free pointer (to ps[1]) becomes garbage.
	m.WriteAt(ps[2]+16, []byte{1, 2, 3, 4, 5, 6, 7, 8})
	if _, err := m.ValidateSlabCache(s); err != nil {
		t.Fatal(err)
	}
	checkSlubAll(t, m)
	seen := map[Addr]bool{}
	for _, p := range ps[5:] {
		seen[p] = true
	}
	for i := 0; i < 200; i++ {
		x, _ := m.Kmalloc(32, GFPKernel)
		if seen[x] {
			t.Fatalf("%v handed out twice", x)
		}
		seen[x] = true
	}
	checkSlubAll(t, m)
}

// TestSlabOutOfMemory fragments a 2 MiB machine so that no order-3 block
// is left: kmalloc-4k falls back to one-object order-0 slabs (s->min),
// and when those run out SLUB warns.
func TestSlabOutOfMemory(t *testing.T) {
	m := newTestMachine(t, Config{RAM: 2 * MiB})
	var pages []Addr
	for {
		p, err := m.AllocPages(0, GFPKernel|GFPNoWarn)
		if err != nil {
			break
		}
		pages = append(pages, p)
	}
	for i := 0; i < len(pages); i += 2 {
		m.FreePages(pages[i], 0)
	}
	log := &EventLog{}
	m.SetLog(log)
	var err error
	n := 0
	for ; n < 10000; n++ {
		if _, err = m.Kmalloc(4096, GFPKernel); err != nil {
			break
		}
	}
	if !errors.Is(err, ErrNoMemory) {
		t.Fatalf("after %d allocations: %v", n, err)
	}
	fallback := false
	for _, e := range logEvents(log) {
		if e.Kind() == EvSlabNew && strings.Contains(e.Text(), "s->min") {
			fallback = true
			if e.Order() != 0 || e.Objects() != 1 {
				t.Errorf("fallback slab order %d with %d objects", e.Order(), e.Objects())
			}
		}
	}
	if !fallback {
		t.Error("no order-0 fallback slab")
	}
	if !hasWarn(logEvents(log), "SLUB: Unable to allocate memory on CPU 0") || !hasWarn(logEvents(log), "cache: kmalloc-4k, object size: 4096, buffer size: 4096, default order: 3, min order: 0") {
		t.Error("no slab_out_of_memory warning")
	}
	// GFP_KERNEL stops at the min watermark: allocviz has no reclaim.
	if min := m.Zones()[ZoneDMA].Wmark[WmarkMin]; m.IdlePages() > min {
		t.Errorf("%d pages free after the failure, more than the min watermark %d", m.IdlePages(), min)
	}
	before := log.Len()
	if _, err := m.Kmalloc(4096, GFPKernel|GFPNoWarn); err == nil {
		t.Fatal("allocation succeeded with no memory")
	}
	if hasWarn(logEvents(log)[before:], "") {
		t.Error("__GFP_NOWARN still warned")
	}
	checkSlubAll(t, m)
}

func TestObjectAtRegions(t *testing.T) {
	m := newTestMachine(t, Config{SlabDebug: "FZPU"})
	p, _ := m.Kmalloc(50, GFPKernel)
	for _, tc := range []struct {
		off    int64
		region string
	}{
		{-1, "left red zone"}, {0, "object"}, {63, "object"}, {64, "right red zone"}, {72, "free pointer"},
		{80, "alloc track"}, {112, "free track"}, {144, "orig_size"}, {148, "padding"},
	} {
		o, ok := m.ObjectAt(Addr(int64(p) + tc.off))
		if !ok || o.Region != tc.region || o.Start != p || o.Cache != "kmalloc-64" {
			t.Errorf("offset %d: %+v, want %s of the object at %v", tc.off, o, tc.region, p)
		}
	}
	if o, _ := m.ObjectAt(p); o.Size != 50 || o.Ksize != 64 || !o.Allocated() || o.Index != 0 {
		t.Errorf("ObjectAt(p) = %+v", o)
	}
	// The slab's tail padding: 4096 % 256 = 0 here, so use kmalloc-96
	// without debug: 42 * 96 = 4032, 64 bytes of tail.
	m2 := newTestMachine(t, Config{})
	q, _ := m2.Kmalloc(96, GFPKernel)
	if o, ok := m2.ObjectAt(q + 42*96); !ok || o.Region != "slab padding" || o.Index != -1 {
		t.Errorf("tail padding: %+v", o)
	}
	if _, ok := m2.ObjectAt(m2.PFNAddr(m2.NrPages() - 1)); ok {
		t.Error("a free page is an object")
	}
}

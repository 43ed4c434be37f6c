package allocator

import "testing"

// TestSlabListEventSaysWhichEnd: a slab that joins the node partial list
// says in its EvSlabList's Path which end it joined, so a viewer can keep
// the list in the kernel's order: deactivate_slab() adds a slab without
// remote frees at the head, __put_partials() drains per-CPU partial slabs
// to the tail.
func TestSlabListEventSaysWhichEnd(t *testing.T) {
	m, err := NewMachine(Config{RAM: 8 * MiB, CPUs: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	log := &EventLog{}
	m.SetLog(log)
	c, err := m.KmemCacheCreate("ends", 512, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var objs []Addr
	for range 3 * c.objects {
		p, err := m.KmemCacheAlloc(c, GFPKernel)
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, p)
	}
	// Free one object of each of the first two (full) slabs from cpu 1:
	// they go to cpu 1's partial list. cpu 0 frees into its own cpu slab.
	// Validation flushes cpu 0's slab, which had no remote frees (head),
	// and cpu 1's partial slabs (tail).
	m.SetCPU(1)
	for i := 0; i < 2*c.objects; i += c.objects {
		if err := m.KmemCacheFree(c, objs[i]); err != nil {
			t.Fatal(err)
		}
	}
	m.SetCPU(0)
	if err := m.KmemCacheFree(c, objs[len(objs)-1]); err != nil {
		t.Fatal(err)
	}
	if _, err := m.ValidateSlabCache(c); err != nil {
		t.Fatal(err)
	}
	ends := map[string]int{}
	for _, e := range logEvents(log) {
		if e.Kind() != EvSlabList {
			continue
		}
		if e.List() != ListNodePartial {
			if e.Path() != "" {
				t.Errorf("a move to %v names an end, %q", e.List(), e.Path())
			}
			continue
		}
		ends[e.Path()]++
	}
	if ends["head"] == 0 || ends["tail"] == 0 || len(ends) != 2 {
		t.Fatalf("node partial list ends named: %v; want both head and tail, nothing else", ends)
	}
	// The order the events imply is the list's order.
	var order []uint64
	for _, e := range logEvents(log) {
		if e.Kind() != EvSlabList {
			continue
		}
		for i, p := range order {
			if p == e.PFN() {
				order = append(order[:i], order[i+1:]...)
				break
			}
		}
		switch {
		case e.List() == ListNodePartial && e.Path() == "head":
			order = append([]uint64{e.PFN()}, order...)
		case e.List() == ListNodePartial:
			order = append(order, e.PFN())
		}
	}
	var want []uint64
	for sl := c.partial.head; sl != nil; sl = sl.lnext {
		want = append(want, sl.pfn)
	}
	if len(order) != len(want) || len(want) < 2 {
		t.Fatalf("events put %v on the node partial list, the cache has %v", order, want)
	}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("events put %v on the node partial list, the cache has %v", order, want)
		}
	}
}

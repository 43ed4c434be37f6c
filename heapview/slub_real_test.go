package heapview

import (
	"math/rand/v2"
	"testing"

	"github.com/allocviz/allocviz/allocator"
)

// TestRealSlubEventsFit feeds the model the events of the real SLUB: a
// seeded mix of kmalloc, kfree, krealloc, kmem_cache_*, CPU switches,
// validation and refused misuse, with per-CPU slabs, with slab_debug=FZPU
// (objects start after a left red zone) and with shuffled freelists.
func TestRealSlubEventsFit(t *testing.T) {
	for _, cfg := range []allocator.Config{
		{RAM: 8 * allocator.MiB, CPUs: 2},
		{RAM: 8 * allocator.MiB, SlabDebug: "FZPU"},
		{RAM: 8 * allocator.MiB, FreelistRandom: true, Seed: 3},
	} {
		m, err := allocator.NewMachine(cfg)
		if err != nil {
			t.Fatal(err)
		}
		log := &allocator.EventLog{}
		m.SetLog(log)
		rng := rand.New(rand.NewPCG(1, 2))
		var live []allocator.Addr
		c, _ := m.KmemCacheCreate("tmp_cache", 100, 0, 0)
		d, _ := m.KmemCacheCreate("tmp_dbg", 50, 0, allocator.SlabRedZone|allocator.SlabStoreUser)
		for i := 0; i < 3000; i++ {
			switch r := rng.IntN(10); {
			case r < 4 || len(live) == 0:
				p, err := m.Kmalloc(uint64(1+rng.IntN(20000)), allocator.GFPKernel)
				if err == nil {
					live = append(live, p)
				}
			case r < 6:
				k := rng.IntN(len(live))
				m.Kfree(live[k])
				live = append(live[:k], live[k+1:]...)
			case r < 7:
				k := rng.IntN(len(live))
				if q, err := m.Krealloc(live[k], uint64(1+rng.IntN(3000)), allocator.GFPKernel); err == nil {
					live[k] = q
				}
			case r < 8:
				p, _ := m.KmemCacheAlloc(c, allocator.GFPKernel)
				live = append(live, p)
				q, _ := m.KmemCacheAlloc(d, allocator.GFPKernel)
				live = append(live, q)
			case r < 9:
				m.SetCPU(rng.IntN(m.Config().CPUs))
			default:
				m.Kfree(live[rng.IntN(len(live))] + 1)
				m.ValidateSlabCache(c)
			}
		}
		for _, p := range live {
			m.Kfree(p)
		}
		m.KmemCacheDestroy(c)
		if _, err := New(log); err != nil {
			t.Errorf("slab_debug=%q: %v", cfg.SlabDebug, err)
		}
		m.Close()
	}
}

package heapview

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/allocviz/allocviz/allocator"
)

// slubScene: a real 16 MiB machine with two CPUs fills kmalloc-64 and
// kmalloc-192 on cpu 0, frees a scrambled half of them from cpu 1 (full
// slabs go to cpu 1's partial list, and drain to the node), allocates
// again on cpu 1, makes a red-zoned debug cache, and takes a large
// kmalloc. It returns the model and an object freed last.
func slubScene(t *testing.T) (*Model, allocator.Addr) {
	s := newSession(t, allocator.Config{RAM: 16 * allocator.MiB, CPUs: 2})
	rng := rand.New(rand.NewPCG(6, 4))
	var ps []allocator.Addr
	for _, size := range []uint64{64, 192} {
		s.begin(fmt.Sprintf("for i in range(300): p.append(kmalloc(%d))", size))
		for range 300 {
			p, err := s.m.Kmalloc(size-uint64(rng.IntN(8)), allocator.GFPKernel)
			if err != nil {
				t.Fatal(err)
			}
			ps = append(ps, p)
		}
	}
	s.begin("set_cpu(1)")
	s.m.SetCPU(1)
	rng.Shuffle(len(ps), func(i, j int) { ps[i], ps[j] = ps[j], ps[i] })
	s.begin("for q in p[:300]: kfree(q)")
	for _, p := range ps[:300] {
		if err := s.m.Kfree(p); err != nil {
			t.Fatal(err)
		}
	}
	s.begin("for i in range(40): kmalloc(64)")
	for range 40 {
		s.m.Kmalloc(60, allocator.GFPKernel)
	}
	c, err := s.m.KmemCacheCreate("dbg_cache", 100, 0, allocator.SlabRedZone|allocator.SlabStoreUser)
	if err != nil {
		t.Fatal(err)
	}
	s.begin("for i in range(30): kmem_cache_alloc(dbg_cache)")
	for range 30 {
		s.m.KmemCacheAlloc(c, allocator.GFPKernel)
	}
	s.begin("kmalloc(40000)")
	s.m.Kmalloc(40000, allocator.GFPKernel)
	s.begin("kfree(p[300])")
	s.m.Kfree(ps[300])
	hv, err := New(s.log)
	if err != nil {
		t.Fatal(err)
	}
	return hv, ps[300]
}

// TestRealSlubViews renders the slab table, the slab view with freelists,
// the page map and the inspector of an object of a real SLUB session.
func TestRealSlubViews(t *testing.T) {
	hv, freed := slubScene(t)
	t.Run("slabtable", func(t *testing.T) {
		eachSize(t, func(t *testing.T, w, h int) []Row {
			return hv.SlabTable(SlabTableOptions{Width: w, Height: h, Sort: ColObjects, Desc: true, Selected: "kmalloc-64"})
		})
	})
	for _, cache := range []string{"kmalloc-64", "dbg_cache"} {
		t.Run("slab/"+cache, func(t *testing.T) {
			eachSize(t, func(t *testing.T, w, h int) []Row {
				return hv.SlabView(SlabViewOptions{Width: w, Height: h, Cache: cache, Freelist: true, Selected: freed})
			})
		})
	}
	t.Run("pagemap", func(t *testing.T) {
		eachSize(t, func(t *testing.T, w, h int) []Row { return hv.PageMap(PageMapOptions{Width: w, Height: h}).Rows })
	})
	in, err := hv.InspectAddr(freed + 3)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("inspect", func(t *testing.T) {
		eachSize(t, func(t *testing.T, w, h int) []Row { return in.Rows(w, h) })
	})
}

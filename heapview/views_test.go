package heapview

import (
	"fmt"
	"strings"
	"testing"

	"github.com/allocviz/allocviz/allocator"
)

// kmallocGeometry is the kmalloc caches of a 4-CPU machine (calculate_order()'s
// 2-7 CPU row): size, order, objects per slab.
var kmallocGeometry = []struct {
	size    uint64
	order   int
	perSlab int
}{{8, 0, 512}, {16, 0, 256}, {32, 0, 128}, {64, 0, 64}, {96, 0, 42}, {128, 0, 32}, {192, 0, 21}, {256, 0, 16},
	{512, 1, 16}, {1024, 2, 16}, {2048, 3, 16}, {4096, 3, 8}, {8192, 3, 4}}

func kmallocName(size uint64) string {
	if size >= 1024 {
		return fmt.Sprintf("kmalloc-%dk", size/1024)
	}
	return fmt.Sprintf("kmalloc-%d", size)
}

// slabScene has several caches in use: kmalloc-64 with 40 of 64 objects
// on cpu 0's slab, kmalloc-512 with a slab that filled and then lost two
// objects (cpu 0's partial list) and a cpu slab of 3, and kmalloc-192
// with 5 objects on a slab cpu 1 gave up (node partial list).
func slabScene(t *testing.T) *Model {
	b := newBuilder(t)
	for _, g := range kmallocGeometry {
		b.cache(kmallocName(g.size), g.size, g.order, g.perSlab)
	}
	alloc := func(cache string, pfn uint64, size uint64, stride uint64, i int) {
		a := b.addr(pfn) + allocator.Addr(uint64(i)*stride)
		b.add(allocator.Fields{Kind: allocator.EvObjAlloc, Cache: cache, Addr: a, PFN: pfn, Object: i, Size: size, Path: "fastpath"})
		b.add(allocator.Fields{Kind: allocator.EvKmalloc, Cache: cache, Addr: a, Size: size, Bytes: stride})
	}
	slab := func(cache string, pfn uint64, order, n int) {
		b.add(allocator.Fields{Kind: allocator.EvSlabNew, Cache: cache, PFN: pfn, Order: order, Objects: n, Addr: b.addr(pfn)})
	}
	b.begin("for i in range(40): kmalloc(33 + i % 32)")
	b.take(256, 8, 0, allocator.OwnerSlab, allocator.GFPKernel)
	slab("kmalloc-64", 256, 0, 64)
	for i := range 40 {
		alloc("kmalloc-64", 256, uint64(33+i%32), 64, i)
	}
	b.begin("for i in range(16): kmalloc(300 + 13 * i)")
	b.add(allocator.Fields{Kind: allocator.EvPageAlloc, PFN: 258, Order: 1, Owner: allocator.OwnerSlab})
	slab("kmalloc-512", 258, 1, 16)
	for i := range 16 {
		alloc("kmalloc-512", 258, uint64(300+13*i), 512, i)
	}
	b.add(allocator.Fields{Kind: allocator.EvSlabList, Cache: "kmalloc-512", PFN: 258, List: allocator.ListFull, Text: "freelist exhausted"})
	b.begin("for i in range(3): kmalloc(512)")
	b.take(260, 2, 1, allocator.OwnerSlab, allocator.GFPKernel)
	slab("kmalloc-512", 260, 1, 16)
	for i := range 3 {
		alloc("kmalloc-512", 260, 512, 512, i)
	}
	b.begin("kfree(a[3]); kfree(a[9])")
	for _, i := range []int{3, 9} {
		b.add(allocator.Fields{Kind: allocator.EvObjFree, Cache: "kmalloc-512", Addr: b.addr(258) + allocator.Addr(512*i), PFN: 258, Object: i, Path: "slowpath"})
		if i == 3 {
			b.add(allocator.Fields{Kind: allocator.EvSlabList, Cache: "kmalloc-512", PFN: 258, List: allocator.ListCPUPartial, ListCPU: 0, Text: "a full slab got an object back"})
		}
	}
	b.cpu = 1
	b.begin("on cpu 1: for i in range(5): kmalloc(150)")
	b.take(262, 1, 0, allocator.OwnerSlab, allocator.GFPKernel)
	slab("kmalloc-192", 262, 0, 21)
	for i := range 5 {
		alloc("kmalloc-192", 262, 150, 192, i)
	}
	b.begin("flush cpu 1")
	b.add(allocator.Fields{Kind: allocator.EvSlabList, Cache: "kmalloc-192", PFN: 262, List: allocator.ListNodePartial, Text: "deactivate_slab"})
	hv := b.model()
	if len(hv.Anomalies()) != 0 {
		t.Fatal(hv.Anomalies())
	}
	return hv
}

func TestSlabTableGolden(t *testing.T) {
	hv := slabScene(t)
	eachSize(t, func(t *testing.T, w, h int) []Row {
		return hv.SlabTable(SlabTableOptions{Width: w, Height: h, Sort: ColActive, Desc: true, Selected: "kmalloc-512"})
	})
	t.Run("all-by-name", func(t *testing.T) {
		eachSize(t, func(t *testing.T, w, h int) []Row {
			return hv.SlabTable(SlabTableOptions{Width: w, Height: h, Sort: ColName, All: true})
		})
	})
}

func TestSlabTableFigures(t *testing.T) {
	hv := slabScene(t)
	c, _ := hv.CacheByName("kmalloc-512")
	// Two order-1 slabs of 16: 14 + 3 in use, no node partial slab, so
	// slabinfo counts all 32 as active. Requests: 300+13i for i != 3, 9 and
	// three of 512.
	req := uint64(3 * 512)
	for i := range 16 {
		if i != 3 && i != 9 {
			req += uint64(300 + 13*i)
		}
	}
	if c.Slabs != 2 || c.Objects != 32 || c.InUse != 17 || c.Active != 32 || c.CPUSlabs != 1 || c.CPUPartial != 1 ||
		c.Requested != req || c.Rounding != 17*512-req || c.Tail != 0 {
		t.Fatalf("kmalloc-512: %+v", c)
	}
	c, _ = hv.CacheByName("kmalloc-192")
	// 21 objects of 192 bytes leave 64 bytes of the page; the node partial
	// slab's 16 free objects are not active.
	if c.Tail != 64 || c.Active != 5 || c.NodePartial != 1 {
		t.Fatalf("kmalloc-192: %+v", c)
	}
	names := func(cs []Cache) string {
		var s []string
		for _, c := range cs {
			s = append(s, c.Name)
		}
		return strings.Join(s, " ")
	}
	if got := names(hv.SortedCaches(ColActive, true, false)); got != "kmalloc-64 kmalloc-512 kmalloc-192" {
		t.Errorf("by active, descending: %s", got)
	}
	if got := names(hv.SortedCaches(ColObjSize, false, false)); got != "kmalloc-64 kmalloc-192 kmalloc-512" {
		t.Errorf("by object size: %s", got)
	}
	if n := len(hv.SortedCaches(ColName, false, true)); n != len(kmallocGeometry) {
		t.Errorf("all caches: %d, want %d", n, len(kmallocGeometry))
	}
}

func TestSlabViewGolden(t *testing.T) {
	hv := slabScene(t)
	for _, name := range []string{"kmalloc-512", "kmalloc-64"} {
		t.Run(name, func(t *testing.T) {
			eachSize(t, func(t *testing.T, w, h int) []Row {
				return hv.SlabView(SlabViewOptions{Width: w, Height: h, Cache: name, Freelist: true})
			})
		})
	}
	t.Run("touched", func(t *testing.T) {
		hv.Seek(4)
		eachSize(t, func(t *testing.T, w, h int) []Row {
			return hv.SlabView(SlabViewOptions{Width: w, Height: h, Cache: "kmalloc-512", Selected: hv.PFNAddr(258) + 512*5 + 7})
		})
	})
}

func TestFreelistIsLIFO(t *testing.T) {
	hv := slabScene(t)
	sl, _ := hv.SlabAt(258)
	// 3 was freed before 9, so 9 is handed out first.
	if got := hv.Freelist(sl); fmt.Sprint(got) != "[9 3]" {
		t.Fatalf("freelist of the kmalloc-512 slab: %v", got)
	}
	sl, _ = hv.SlabAt(260)
	if got := hv.Freelist(sl); len(got) != 13 || got[0] != 3 || got[12] != 15 {
		t.Fatalf("freelist of the new slab: %v", got)
	}
}

func TestVmallocViewGolden(t *testing.T) {
	b, start := vmallocSession(t)
	// A second area after a hole, mapped by one page.
	b.ev = b.ev[:stepStart(b.ev, 2)]
	b.begin("vmalloc(100)")
	b.add(allocator.Fields{Kind: allocator.EvPageAlloc, PFN: 259, Order: 0, Owner: allocator.OwnerVmalloc})
	second := start + allocator.Addr(6*b.pageSz)
	b.add(allocator.Fields{Kind: allocator.EvVmapAlloc, Addr: second, Bytes: 2 * b.pageSz, Size: 100, Pages: 1, PFNs: []uint64{259}})
	hv := b.model()
	if len(hv.Anomalies()) != 0 {
		t.Fatal(hv.Anomalies())
	}
	eachSize(t, func(t *testing.T, w, h int) []Row {
		return hv.VmallocView(VmallocOptions{Width: w, Height: h, Selected: start + 100})
	})
	t.Run("none", func(t *testing.T) {
		hv.Seek(0)
		eachSize(t, func(t *testing.T, w, h int) []Row {
			return hv.VmallocView(VmallocOptions{Width: w, Height: h})
		})
	})
}

func TestReallocPanelGolden(t *testing.T) {
	b, _, _ := reallocSession(t)
	hv := b.model()
	eachSize(t, func(t *testing.T, w, h int) []Row {
		return hv.ReallocPanel(ReallocOptions{Width: w, Height: h})
	})
	t.Run("step3", func(t *testing.T) {
		hv.Seek(3)
		eachSize(t, func(t *testing.T, w, h int) []Row {
			return hv.ReallocPanel(ReallocOptions{Width: w, Height: h})
		})
	})
	t.Run("none", func(t *testing.T) {
		hv.Seek(1)
		eachSize(t, func(t *testing.T, w, h int) []Row {
			return hv.ReallocPanel(ReallocOptions{Width: w, Height: h})
		})
	})
}

// TestFreelistFollowsARandomisedInitialOrder: an EvSlabNew listing a
// permutation of object indices in PFNs sets the initial freelist order.
func TestFreelistFollowsARandomisedInitialOrder(t *testing.T) {
	b := newBuilder(t)
	b.cache("kmalloc-1k", 1024, 0, 4)
	b.begin("kmalloc(1000)")
	b.take(256, 8, 0, allocator.OwnerSlab, allocator.GFPKernel)
	b.add(allocator.Fields{Kind: allocator.EvSlabNew, Cache: "kmalloc-1k", PFN: 256, Objects: 4, Addr: b.addr(256), PFNs: []uint64{2, 0, 3, 1}})
	b.add(allocator.Fields{Kind: allocator.EvObjAlloc, Cache: "kmalloc-1k", PFN: 256, Object: 2, Addr: b.addr(256) + 2048, Size: 1000})
	hv := b.model()
	sl, _ := hv.SlabAt(256)
	if got := fmt.Sprint(hv.Freelist(sl)); got != "[0 3 1]" {
		t.Fatalf("freelist %s, want [0 3 1]", got)
	}
}

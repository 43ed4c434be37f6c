package ktrace

import (
	"fmt"
	"strings"
	"testing"

	"github.com/allocviz/allocviz/allocator"
)

// traceOf makes a trace of lines in the 6.18 layout, each "cpu event:
// fields" with the CPU as a number: traceOf("0 kfree: call_site=f ptr=1").
func traceOf(t *testing.T, lines ...string) *Trace {
	t.Helper()
	var b strings.Builder
	b.WriteString("# tracer: nop\n# entries-in-buffer/entries-written: 9/9   #P:2\n")
	for i, l := range lines {
		cpu, ev, _ := strings.Cut(l, " ")
		fmt.Fprintf(&b, "            test-100    [%03s] .....   10.%06d: %s\n", cpu, i, ev)
	}
	tr, err := Parse("t.txt", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Errors) > 0 {
		t.Fatal(tr.Errors[0])
	}
	return tr
}

// Lines of the 6.18 formats.
func kmallocLine(cpu int, ptr string, req, alloc int, gfp string) string {
	return fmt.Sprintf("%d kmalloc: call_site=f+0x1/0x2 ptr=%s bytes_req=%d bytes_alloc=%d gfp_flags=%s node=-1 accounted=%v",
		cpu, ptr, req, alloc, gfp, strings.Contains(gfp, "ACCOUNT"))
}

func cacheAllocLine(cpu int, ptr, name string, req, alloc int) string {
	return fmt.Sprintf("%d kmem_cache_alloc: call_site=g+0x1/0x2 ptr=%s name=%s bytes_req=%d bytes_alloc=%d gfp_flags=GFP_KERNEL node=-1 accounted=false",
		cpu, ptr, name, req, alloc)
}

func pageAllocLine(cpu int, pfn uint64, order int, gfp string) string {
	return fmt.Sprintf("%d mm_page_alloc: page=000000001234abcd pfn=%#x order=%d migratetype=0 gfp_flags=%s", cpu, pfn, order, gfp)
}

func pageFreeLine(cpu int, pfn uint64, order int) string {
	return fmt.Sprintf("%d mm_page_free: page=000000001234abcd pfn=%#x order=%d", cpu, pfn, order)
}

func refillLine(cpu int, pfn uint64, order, mt, refill int) string {
	return fmt.Sprintf("%d mm_page_alloc_zone_locked: page=000000001234abcd pfn=%#x order=%d migratetype=%d percpu_refill=%d", cpu, pfn, order, mt, refill)
}

func drainLine(cpu int, pfn uint64, order int) string {
	return fmt.Sprintf("%d mm_page_pcpu_drain: page=000000001234abcd pfn=%#x order=%d migratetype=1", cpu, pfn, order)
}

func batchedLine(cpu int, pfn uint64) string {
	return fmt.Sprintf("%d mm_page_free_batched: page=000000001234abcd pfn=%#x order=0", cpu, pfn)
}

// opsOf plans a trace and returns its ops.
func opsOf(t *testing.T, lines ...string) (*Plan, []Op) {
	t.Helper()
	p := Build(traceOf(t, lines...), PlanOptions{})
	return p, p.Ops
}

// kinds summarises ops as "kmalloc kfree skip:before the trace".
func kinds(ops []Op) string {
	var parts []string
	for _, op := range ops {
		s := op.Kind.String()
		if op.Kind == OpSkip {
			s += ":" + op.Skip.String()
		}
		if op.Synth >= 0 {
			s = "synth+" + s
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

// TestPlanRules applies each replay rule to the smallest trace that shows
// it.
func TestPlanRules(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lines []string
		want  string
	}{
		{"a pcp refill and the allocation that takes the block from the list", []string{
			refillLine(0, 0x5000, 0, 1, 1),
			refillLine(0, 0x5001, 0, 1, 1),
			pageAllocLine(0, 0x5000, 0, "GFP_HIGHUSER_MOVABLE"),
		}, "pcp_refill pcp_refill alloc_pages"},
		{"a refill for a slab page, a vmalloc page or a large kmalloc is theirs: skipped with them", []string{
			refillLine(0, 0x5000, 2, 2, 1),
			refillLine(0, 0x6000, 0, 0, 1),
			refillLine(0, 0x7000, 2, 0, 1),
			pageAllocLine(0, 0x5000, 2, "__GFP_RECLAIMABLE|__GFP_IO|__GFP_NOWARN|__GFP_NORETRY|__GFP_COMP|__GFP_NOMEMALLOC"),
			pageAllocLine(0, 0x6000, 0, "GFP_KERNEL|__GFP_HIGHMEM|__GFP_NOWARN"),
			pageAllocLine(0, 0x7000, 2, "GFP_KERNEL|__GFP_COMP"),
			kmallocLine(0, "00000000aaaaaaaa", 16384, 16384, "GFP_KERNEL"),
		}, "skip:slab page skip:vmalloc page skip:large kmalloc pages skip:slab page skip:vmalloc page skip:large kmalloc pages kmalloc"},
		{"percpu_refill=0: the allocation that follows takes the block", []string{
			refillLine(0, 0x5000, 4, 1, 0),
			pageAllocLine(0, 0x5000, 4, "GFP_HIGHUSER_MOVABLE"),
		}, "skip:buddy take alloc_pages"},
		{"a pcp drain of a block whose free was replayed, skipped, or before the trace", []string{
			pageAllocLine(0, 0x5000, 0, "GFP_HIGHUSER_MOVABLE"),
			pageFreeLine(0, 0x5000, 0),
			drainLine(0, 0x5000, 0),
			pageAllocLine(0, 0x6000, 1, "__GFP_IO|__GFP_NOWARN|__GFP_NORETRY|__GFP_COMP"),
			pageFreeLine(0, 0x6000, 1),
			drainLine(0, 0x6000, 1),
			drainLine(0, 0x7000, 0),
			refillLine(1, 0x8000, 0, 1, 1),
			drainLine(1, 0x8000, 0),
			drainLine(1, 0x5000, 0),
		}, "alloc_pages free_pages pcp_drain skip:slab page skip:slab page skip:slab page skip:before the trace pcp_refill pcp_drain skip:before the trace"},
		{"a free of something allocated before the trace", []string{
			"0 kfree: call_site=f ptr=00000000aaaaaaaa",
			"0 kmem_cache_free: call_site=f ptr=00000000aaaaaaaa name=filp",
			pageFreeLine(0, 0x5000, 0),
		}, "skip:before the trace skip:before the trace skip:before the trace"},
		{"kfree(NULL) is replayed: it is traced and does nothing", []string{
			"0 kfree: call_site=f ptr=0000000000000000",
		}, "kfree"},
		{"an allocation and its free", []string{
			kmallocLine(0, "00000000aaaaaaaa", 100, 128, "GFP_KERNEL"),
			"0 kfree: call_site=f ptr=00000000aaaaaaaa",
			"0 kfree: call_site=f ptr=00000000aaaaaaaa",
		}, "kmalloc kfree skip:before the trace"},
		{"mm_page_free_batched after mm_page_free of the same page (6.x)", []string{
			pageAllocLine(0, 0x5000, 0, "GFP_HIGHUSER_MOVABLE|__GFP_COMP"),
			pageFreeLine(0, 0x5000, 0),
			batchedLine(0, 0x5000),
			pageFreeLine(0, 0x6000, 0),
			batchedLine(0, 0x6000),
		}, "alloc_pages free_pages skip:duplicate page free skip:before the trace skip:duplicate page free"},
		{"mm_page_free_batched before mm_page_free (older kernels)", []string{
			pageAllocLine(0, 0x5000, 0, "GFP_HIGHUSER_MOVABLE"),
			batchedLine(0, 0x5000),
			pageFreeLine(0, 0x5000, 0),
		}, "alloc_pages free_pages skip:duplicate page free"},
		{"slab pages: the slab GFP signature, and the page's free", []string{
			pageAllocLine(0, 0x5000, 2, "__GFP_RECLAIMABLE|__GFP_IO|__GFP_NOWARN|__GFP_NORETRY|__GFP_COMP|__GFP_NOMEMALLOC"),
			pageAllocLine(1, 0x5004, 0, "GFP_NOWAIT|__GFP_NORETRY|__GFP_COMP|__GFP_THISNODE"),
			pageFreeLine(0, 0x5000, 2),
		}, "skip:slab page skip:slab page skip:slab page"},
		{"readahead has the slab's two bits but is movable: real pages", []string{
			pageAllocLine(0, 0x5000, 0, "GFP_NOFS|__GFP_HIGHMEM|__GFP_MOVABLE|__GFP_NOWARN|__GFP_NORETRY|__GFP_COMP|__GFP_HARDWALL"),
		}, "alloc_pages"},
		{"a large kmalloc takes the pages traced just before it on its CPU", []string{
			pageAllocLine(1, 0x5000, 2, "GFP_KERNEL|__GFP_COMP"),
			pageAllocLine(0, 0x6000, 2, "GFP_KERNEL|__GFP_COMP"),
			kmallocLine(0, "00000000bbbbbbbb", 10000, 16384, "GFP_KERNEL"),
			"0 kfree: call_site=f ptr=00000000bbbbbbbb",
			pageFreeLine(0, 0x6000, 2),
			pageFreeLine(1, 0x5000, 2),
		}, "alloc_pages skip:large kmalloc pages kmalloc kfree skip:large kmalloc pages free_pages"},
		{"an object allocated again with no free traced gets a synthetic free", []string{
			cacheAllocLine(0, "00000000cccccccc", "maple_node", 256, 256),
			cacheAllocLine(1, "00000000cccccccc", "maple_node", 256, 256),
			"1 kmem_cache_free: call_site=f ptr=00000000cccccccc name=maple_node",
		}, "kmem_cache_alloc synth+kmem_cache_alloc kmem_cache_free"},
		{"a page allocated inside a live block frees the block first", []string{
			pageAllocLine(0, 0x5000, 1, "GFP_KERNEL"),
			pageAllocLine(0, 0x5001, 0, "GFP_KERNEL"),
			pageFreeLine(0, 0x5000, 1),
		}, "alloc_pages synth+alloc_pages skip:before the trace"},
		{"a free of part of a block", []string{
			pageAllocLine(0, 0x5000, 2, "GFP_KERNEL"),
			pageFreeLine(0, 0x5002, 0),
			pageFreeLine(0, 0x5000, 1),
		}, "alloc_pages skip:part of a block skip:part of a block"},
		{"failed allocations", []string{
			kmallocLine(0, "0000000000000000", 100, 128, "GFP_NOWAIT"),
			"0 mm_page_alloc: page=(null) pfn=0x0 order=9 migratetype=0 gfp_flags=GFP_KERNEL",
			"0 alloc_vmap_area: va_start: 0 size=8192 align=4096 vstart=0xffffc90000000000 vend=0xffffe8ffffffffff failed=1",
		}, "skip:failed in the trace skip:failed in the trace skip:failed in the trace"},
		{"vmalloc: the area, its pages[] array, its pages, their frees", []string{
			"0 alloc_vmap_area: va_start: 18446683600648110080 size=20480 align=16384 vstart=0xffffc90000000000 vend=0xffffe8ffffffffff failed=0",
			"0 kmalloc: call_site=__vmalloc_node_range_noprof+0x1a8/0x8b0 ptr=00000000dddddddd bytes_req=32 bytes_alloc=32 gfp_flags=GFP_KERNEL|__GFP_ZERO node=-1 accounted=false",
			pageAllocLine(0, 0x7000, 0, "GFP_KERNEL|__GFP_HIGHMEM|__GFP_NOWARN|__GFP_ZERO"),
			"0 free_vmap_area_noflush: va_start=0xffffc90004a78000 nr_lazy=5 nr_lazy_max=32768",
			pageFreeLine(0, 0x8000, 0),
			pageFreeLine(0, 0x8001, 0),
			pageFreeLine(0, 0x7000, 0),
			"0 kfree: call_site=vfree+0x1/0x2 ptr=00000000dddddddd",
			pageFreeLine(0, 0x8002, 0),
			"0 purge_vmap_area_lazy: start=0xffffc90000000000 end=0xffffc90000100000 num_purged=1",
		}, "vmalloc skip:vmalloc pages[] array skip:vmalloc page vfree skip:vmalloc page skip:vmalloc page skip:vmalloc page " +
			"skip:vmalloc pages[] array skip:before the trace purge_vmap_area_lazy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, ops := opsOf(t, tc.lines...)
			if got := kinds(ops); got != tc.want {
				t.Errorf("ops\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

// TestPlanCountsAndCaches checks the plan's statistics, the per-CPU list
// list events, and the caches it infers.
func TestPlanCountsAndCaches(t *testing.T) {
	p, ops := opsOf(t,
		cacheAllocLine(0, "0000000000000001", "bio-184", 184, 192),
		cacheAllocLine(0, "0000000000000002", "radix_tree_node", 576, 584),
		cacheAllocLine(1, "0000000000000003", "bio-184", 184, 192),
		cacheAllocLine(1, "0000000000000003", "bio-184", 184, 192),
		"0 mm_page_alloc_zone_locked: page=000000001234abcd pfn=0x15d514 order=2 migratetype=2 percpu_refill=1",
		"1 mm_page_pcpu_drain: page=000000001234abcd pfn=0x15d514 order=0 migratetype=1",
	)
	if len(ops) != 6 || p.Stats.Replayed[MmPageAllocZoneLocked] != 1 || p.Stats.Replayed[MmPagePcpuDrain] != 1 ||
		ops[4].Kind != OpPCPRefill || ops[5].Kind != OpPCPDrain || ops[4].PFN == NoPFN || ops[5].PFN != ops[4].PFN {
		t.Errorf("%d ops %+v, replayed %v", len(ops), ops, p.Stats.Replayed)
	}
	if p.Stats.Replayed[KmemCacheAlloc] != 4 || p.Stats.Synthetic != 1 || p.Stats.SynthByCache["bio-184"] != 1 {
		t.Errorf("stats %+v", p.Stats)
	}
	want := []CachePlan{
		{Name: "bio-184", ObjectSize: 184, Align: 16, Stride: 192, Req: 184, Exact: true, Line: 3},
		{Name: "radix_tree_node", ObjectSize: 584, Align: 8, Stride: 584, Req: 576, Exact: false, Line: 4},
	}
	if len(p.Caches) != 2 || p.Caches[0] != want[0] || p.Caches[1] != want[1] {
		t.Errorf("caches %+v", p.Caches)
	}
	if ops[0].Cache != 0 || ops[2].Cache != 0 || ops[1].Cache != 1 || ops[3].Synth != ops[2].Slot {
		t.Errorf("ops %+v", ops)
	}
	if p.Config.CPUs != 2 || p.Config.RAM < allocator.DefaultRAM {
		t.Errorf("config %+v", p.Config)
	}
	// Without name= (before 6.x) caches are told apart by their sizes.
	old := Build(traceOf(t,
		"0 kmem_cache_alloc: call_site=a ptr=0000000000000001 bytes_req=224 bytes_alloc=256 gfp_flags=GFP_ATOMIC",
		"0 kmem_cache_alloc: call_site=b ptr=0000000000000002 bytes_req=256 bytes_alloc=256 gfp_flags=GFP_KERNEL",
		"0 kmem_cache_alloc: call_site=c ptr=0000000000000003 bytes_req=224 bytes_alloc=256 gfp_flags=GFP_ATOMIC",
	), PlanOptions{})
	if len(old.Caches) != 2 || old.Caches[0].Name != "cache-224-256" || old.Caches[1].Name != "cache-256" || old.Ops[2].Cache != 0 {
		t.Errorf("unnamed caches %+v", old.Caches)
	}
}

// TestInferGeometry finds the object size and alignment that give the
// trace's stride, as SLUB lays objects out.
func TestInferGeometry(t *testing.T) {
	for _, tc := range []struct {
		req, alloc, obj, align uint64
		exact                  bool
	}{
		{4096, 4096, 4096, 8, true},
		{104, 104, 104, 8, true},
		{184, 192, 184, 16, true},
		{648, 656, 648, 16, true},
		{4, 8, 4, 8, true},
		{24, 64, 24, 64, true},
		{576, 584, 584, 8, false},      // a free pointer after the object (radix_tree_node has a constructor)
		{5678, 10320, 10320, 8, false}, // slab_debug metadata
		{0, 0, 8, 8, false},
	} {
		obj, align, exact := inferGeometry(tc.req, tc.alloc, 4096)
		if obj != tc.obj || align != tc.align || exact != tc.exact {
			t.Errorf("inferGeometry(%d, %d) = %d, %d, %v; want %d, %d, %v", tc.req, tc.alloc, obj, align, exact, tc.obj, tc.align, tc.exact)
		}
	}
}

// TestPlanConfig chooses the machine from the trace unless the user did.
func TestPlanConfig(t *testing.T) {
	tr := traceOf(t, pageAllocLine(0, 0x123456, 0, "GFP_KERNEL"), pageAllocLine(1, 0x7ff001, 0, "GFP_KERNEL"))
	p := Build(tr, PlanOptions{})
	if p.Config.CPUs != 2 || p.Config.RAM != allocator.DefaultRAM || p.Config.PageSize != 4096 {
		t.Errorf("chosen config %+v", p.Config)
	}
	a, b := p.Ops[0].PFN, p.Ops[1].PFN
	if a >= b || a&1023 != 0x56 || b&1023 != 1 || b>>10 != a>>10+1 {
		t.Errorf("pfns 0x123456 and 0x7ff001 renumbered to %#x and %#x", a, b)
	}
	user := Build(tr, PlanOptions{Config: allocator.Config{CPUs: 8, RAM: 16 * allocator.MiB}})
	if user.Config.CPUs != 8 || user.Config.RAM != 16*allocator.MiB {
		t.Errorf("the user's config %+v", user.Config)
	}
}

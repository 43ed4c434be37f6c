package allocator

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

func newTestNode(t *testing.T, ram uint64, pageSize uint64, cpus int) *pageNode {
	t.Helper()
	reserved := MiB / pageSize
	if reserved > ram/pageSize/4 {
		reserved = ram / pageSize / 4
	}
	n := newPageNode(pageNodeConfig{RAM: ram, PageSize: pageSize, CPUs: cpus, Reserved: reserved})
	if err := n.check(); err != nil {
		t.Fatalf("after boot: %v", err)
	}
	return n
}

func nodeAlloc(t *testing.T, n *pageNode, order int, gfp GFP, cpu int) uint64 {
	t.Helper()
	pfn, _, f := n.alloc(order, gfp, cpu)
	if f != nil {
		t.Fatalf("alloc order %d %v on cpu %d failed: %+v", order, gfp, cpu, f)
	}
	n.markInUse(pfn, order)
	return pfn
}

// TestBootZones: a 2 GiB machine has DMA and DMA32 in /proc/buddyinfo, an
// 8 GiB one adds Normal, and every managed page is on a free list.
func TestBootZones(t *testing.T) {
	for _, c := range []struct {
		ram   uint64
		zones string
	}{{2 * GiB, "DMA DMA32"}, {8 * GiB, "DMA DMA32 Normal"}, {64 * MiB, "DMA DMA32"}, {8 * MiB, "DMA"}} {
		n := newTestNode(t, c.ram, 4096, 2)
		var names []string
		for _, line := range strings.Split(strings.TrimSuffix(FormatBuddyinfo(n.stats()), "\n"), "\n") {
			names = append(names, strings.Fields(line)[3])
		}
		if got := strings.Join(names, " "); got != c.zones {
			t.Errorf("%s: buddyinfo zones %q, want %q", FormatBytes(c.ram), got, c.zones)
		}
		for _, z := range n.zones {
			if z.freePgs != z.managed {
				t.Errorf("%s %v: %d free pages at boot, %d managed", FormatBytes(c.ram), z.t, z.freePgs, z.managed)
			}
		}
	}
	// Above 3 GiB nothing lies in the hole.
	n := newTestNode(t, 4*GiB, 4096, 1)
	if n.zones[ZoneNormal].span.StartPFN != 0x100000 || n.zones[ZoneNormal].managed != 0x40000 {
		t.Errorf("4 GiB: Normal starts at %#x with %d pages, want 0x100000 and 262144",
			n.zones[ZoneNormal].span.StartPFN, n.zones[ZoneNormal].managed)
	}
	for pfn := uint64(0xc0000); pfn < 0x100000; pfn += 4096 {
		if n.pfns[pfn].kind != pfnHole {
			t.Fatalf("pfn %#x in the PCI hole is not a hole", pfn)
		}
	}
}

// TestPCPFreedPageComesBackFirst is the kernel's LIFO pcp list: free a,
// then b, and the next allocation on that CPU returns b; neither merged.
func TestPCPFreedPageComesBackFirst(t *testing.T) {
	n := newTestNode(t, 64*MiB, 4096, 2)
	a := nodeAlloc(t, n, 0, GFPKernel, 0)
	b := nodeAlloc(t, n, 0, GFPKernel, 0)
	before := n.zoneOf(a).freePgs
	n.free(a, 0, 0)
	n.free(b, 0, 0)
	if got := n.zoneOf(a).freePgs; got != before {
		t.Errorf("free pages went from %d to %d: pcp pages are not free pages", before, got)
	}
	if c := nodeAlloc(t, n, 0, GFPKernel, 0); c != b {
		t.Errorf("allocation after freeing %#x then %#x returned %#x, want %#x (the last freed)", a, b, c, b)
	}
	// Another CPU does not see cpu 0's list.
	if d := nodeAlloc(t, n, 0, GFPKernel, 1); d == a {
		t.Errorf("cpu 1 got cpu 0's pcp page %#x", a)
	}
	if err := n.check(); err != nil {
		t.Fatal(err)
	}
}

// TestPCPRefillAndDrainSteps: the first order-0 allocation refills the
// list with a batch from the buddy allocator (one mm_page_alloc_zone_locked
// with percpu_refill=1 per block), and frees past high drain the oldest
// blocks from the tail (mm_page_pcpu_drain).
func TestPCPRefillAndDrainSteps(t *testing.T) {
	n := newTestNode(t, 64*MiB, 4096, 1)
	n.tracing = true
	z := &n.zones[ZoneDMA32]
	batch := z.pcp[0].Batch
	first := nodeAlloc(t, n, 0, GFPKernel, 0)
	// The first block came from claiming a whole Movable block (no
	// mm_page_alloc_zone_locked for that one, as in the kernel); the rest
	// of the batch from the Unmovable lists, each traced with
	// percpu_refill=1.
	takes, refilled := 0, uint64(0)
	for _, s := range n.steps {
		if s.Kind == stepTake && s.Aux == 1 {
			takes++
		}
		if s.Kind == stepPCPRefill {
			refilled = s.PFN
		}
	}
	if refilled != uint64(batch) || takes != batch-1 {
		t.Errorf("first allocation refilled %d blocks (%d traced), want the batch %d (%d traced)", refilled, takes, batch, batch-1)
	}
	if z.pcp[0].Count != batch-1 {
		t.Errorf("pcp count %d after taking one of %d", z.pcp[0].Count, batch)
	}
	// The refilled blocks came in address order and the list hands them
	// out from its head.
	if second := nodeAlloc(t, n, 0, GFPKernel, 0); second != first+1 {
		t.Errorf("second page %#x, want %#x", second, first+1)
	}
	// Fill the list past high with frees.
	var pages []uint64
	for i := 0; i < z.pcp[0].HighMax+batch*4; i++ {
		pages = append(pages, nodeAlloc(t, n, 0, GFPKernel, 0))
	}
	n.steps = n.steps[:0]
	for _, p := range pages {
		n.free(p, 0, 0)
	}
	drains := 0
	for _, s := range n.steps {
		if s.Kind == stepPCPDrain {
			drains++
		}
	}
	if drains == 0 || z.pcp[0].Count > z.pcp[0].HighMax {
		t.Errorf("%d drains, pcp count %d (high_max %d)", drains, z.pcp[0].Count, z.pcp[0].HighMax)
	}
	if err := n.check(); err != nil {
		t.Fatal(err)
	}
}

// TestUnmovableClaimsAPageblock: every pageblock is Movable at boot, so
// the first unmovable allocation falls back and claims the largest Movable
// block whole; later unmovable allocations are served from it, and a
// movable one stays on Movable blocks.
func TestUnmovableClaimsAPageblock(t *testing.T) {
	n := newTestNode(t, 64*MiB, 4096, 1)
	n.tracing = true
	pfn := nodeAlloc(t, n, 0, GFPKernel, 0)
	var claim *pageStep
	for i := range n.steps {
		if n.steps[i].Kind == stepClaim {
			claim = &n.steps[i]
			break
		}
	}
	if claim == nil || claim.MT != MigrateMovable || MigrateType(claim.Aux) != MigrateUnmovable || claim.Order != MaxPageOrder {
		t.Fatalf("first GFP_KERNEL allocation: claim %+v, want an order-10 Movable block taken for Unmovable", claim)
	}
	if n.blockType(pfn) != MigrateUnmovable || n.blockType(pfn+512) != MigrateUnmovable {
		t.Errorf("the claimed block's pageblocks are %v and %v", n.blockType(pfn), n.blockType(pfn+512))
	}
	mov := nodeAlloc(t, n, 0, GFPHighUserMovable, 0)
	if n.blockType(mov) != MigrateMovable {
		t.Errorf("a movable page came from a %v pageblock", n.blockType(mov))
	}
	var blocks [MigrateTypes]uint64
	for _, s := range n.stats() {
		for mt, c := range s.Pageblocks {
			blocks[mt] += c
		}
	}
	if blocks[MigrateUnmovable] != 2 {
		t.Errorf("%d Unmovable pageblocks after the claim, want 2", blocks[MigrateUnmovable])
	}
	if err := n.check(); err != nil {
		t.Fatal(err)
	}
}

// TestNormalPreferredAvoidsFragmenting: on a machine with Normal, the fast
// path's ALLOC_NOFRAGMENT first looks for whole pageblocks in every zone.
func TestNormalPreferredAvoidsFragmenting(t *testing.T) {
	n := newTestNode(t, 8*GiB, 4096, 1)
	n.tracing = true
	pfn := nodeAlloc(t, n, 0, GFPKernel, 0)
	if n.zoneOf(pfn).t != ZoneNormal {
		t.Errorf("first GFP_KERNEL page in %v, want Normal", n.zoneOf(pfn).t)
	}
	for _, s := range n.steps {
		if s.Kind == stepSteal {
			t.Errorf("a steal under ALLOC_NOFRAGMENT: %+v", s)
		}
	}
	if d := nodeAlloc(t, n, 0, GFPKernel|GFPDMA32, 0); n.zoneOf(d).t != ZoneDMA32 {
		t.Errorf("__GFP_DMA32 page in %v", n.zoneOf(d).t)
	}
	if d := nodeAlloc(t, n, 0, GFPKernel|GFPDMA, 0); n.zoneOf(d).t != ZoneDMA {
		t.Errorf("__GFP_DMA page in %v", n.zoneOf(d).t)
	}
}

// TestMovableStealsWhenItsOwnAreGone: once the Movable lists are empty,
// a small movable allocation does not claim another type's pageblock
// (should_try_claim_block() says no below pageblock_order / 2): it steals
// a block, and the pageblock stays Unmovable.
func TestMovableStealsWhenItsOwnAreGone(t *testing.T) {
	n := newTestNode(t, 16*MiB, 4096, 1)
	// 800 unmovable pages: the first claims an order-10 block (two
	// pageblocks) for Unmovable; the second pageblock keeps fewer than
	// half its pages free, too few for a movable allocation to claim.
	u := nodeAlloc(t, n, 0, GFPKernel, 0)
	for i := 1; i < 800; i++ {
		nodeAlloc(t, n, 0, GFPKernel, 0)
	}
	n.tracing = true
	for i := 0; ; i++ {
		n.steps = n.steps[:0]
		pfn, _, f := n.alloc(0, GFPHighUserMovable|GFPNoWarn, 0)
		if f != nil {
			t.Fatal("movable allocations failed before stealing")
		}
		n.markInUse(pfn, 0)
		if n.blockType(pfn) == MigrateMovable {
			continue
		}
		stole := false
		for _, s := range n.steps {
			stole = stole || s.Kind == stepSteal && s.MT == MigrateUnmovable
			if s.Kind == stepClaim {
				t.Errorf("a small movable allocation claimed a pageblock: %+v", s)
			}
		}
		if !stole || n.blockType(pfn) != MigrateUnmovable || n.blockType(u) != MigrateUnmovable {
			t.Errorf("movable page %#x from a %v pageblock, stole %v", pfn, n.blockType(pfn), stole)
		}
		break
	}
	if err := n.check(); err != nil {
		t.Fatal(err)
	}
}

// TestAtomicReachesBelowMin is the watermark rule: with no reclaim,
// GFP_KERNEL stops at the min watermark, and GFP_ATOMIC goes on to 3/8 of
// min. (An 8 MiB machine has only the DMA zone, so no other zone takes
// over.)
func TestAtomicReachesBelowMin(t *testing.T) {
	n := newTestNode(t, 8*MiB, 4096, 1)
	z := &n.zones[ZoneDMA]
	for {
		pfn, _, f := n.alloc(0, GFPKernel|GFPNoWarn, 0)
		if f != nil {
			break
		}
		n.markInUse(pfn, 0)
	}
	min := z.wm.Mark[WmarkMin]
	kernelStop := z.freePgs
	for {
		pfn, _, f := n.alloc(0, GFPAtomic|GFPNoWarn, 0)
		if f != nil {
			break
		}
		n.markInUse(pfn, 0)
	}
	atomicFloor := uint64(watermarkMin(int64(min), gfpToAllocFlags(GFPAtomic, 0)))
	if kernelStop > min || kernelStop <= atomicFloor || z.freePgs >= kernelStop || z.freePgs > atomicFloor {
		t.Errorf("GFP_KERNEL stopped at %d free pages (min %d), GFP_ATOMIC at %d (its floor %d)", kernelStop, min, z.freePgs, atomicFloor)
	}
	if err := n.check(); err != nil {
		t.Fatal(err)
	}
}

// TestDrainAllPagesBeforeFailing: an allocation that may reclaim drains
// every CPU's pcp lists before it fails, so pages parked on another CPU
// are found.
func TestDrainAllPagesBeforeFailing(t *testing.T) {
	n := newTestNode(t, 8*MiB, 4096, 2)
	var held []uint64
	for {
		pfn, _, f := n.alloc(0, GFPKernel|GFPNoWarn, 0)
		if f != nil {
			break
		}
		n.markInUse(pfn, 0)
		held = append(held, pfn)
	}
	// cpu 1 frees a few pages: they sit on its pcp list.
	for _, p := range held[:3] {
		n.free(p, 0, 1)
	}
	n.tracing = true
	pfn, _, f := n.alloc(0, GFPKernel, 0)
	if f != nil {
		t.Fatal("GFP_KERNEL failed although cpu 1's pcp list had pages")
	}
	drained := false
	for _, s := range n.steps {
		drained = drained || s.Kind == stepDrainAll
	}
	if !drained {
		t.Error("no drain_all_pages before the allocation succeeded")
	}
	n.markInUse(pfn, 0)
	// GFP_ATOMIC cannot reclaim, so it does not drain.
	n.free(held[3], 0, 1)
	n.steps = n.steps[:0]
	if _, _, f := n.alloc(0, GFPAtomic|GFPNoWarn, 0); f == nil {
		for _, s := range n.steps {
			if s.Kind == stepDrainAll {
				t.Error("GFP_ATOMIC drained the pcp lists")
			}
		}
	}
}

// TestHighAtomicReserve: a high-order GFP_ATOMIC allocation served by the
// slow path reserves its pageblock as HighAtomic.
func TestHighAtomicReserve(t *testing.T) {
	n := newTestNode(t, 512*MiB, 4096, 1)
	z, dma := &n.zones[ZoneDMA32], &n.zones[ZoneDMA]
	// Bring both zones below their low watermarks (DMA's with the reserve
	// it keeps from allocations that could use DMA32) with order-3
	// GFP_KERNEL blocks, so the next allocation takes the slow path.
	for z.freePgs > z.wm.Mark[WmarkLow] || dma.freePgs > dma.wm.Mark[WmarkLow]+dma.wm.LowmemReserve[ZoneNormal] {
		nodeAlloc(t, n, 3, GFPKernel, 0)
	}
	n.tracing = true
	pfn := nodeAlloc(t, n, 1, GFPAtomic, 0)
	if n.blockType(pfn) != MigrateHighAtomic || z.nrReservedHighatomic != 1<<n.pbOrder {
		t.Errorf("after a slow-path GFP_ATOMIC order-1: pageblock %v, %d reserved", n.blockType(pfn), z.nrReservedHighatomic)
	}
	if err := n.check(); err != nil {
		t.Fatal(err)
	}
}

// TestPageNodeInvariantsUnderRandomWork runs random allocations and frees
// of every order and many flags on several CPUs, machines and page sizes,
// checking the structures as it goes.
func TestPageNodeInvariantsUnderRandomWork(t *testing.T) {
	gfps := []GFP{GFPKernel, GFPAtomic, GFPHighUserMovable, GFPKernel | GFPReclaimable, GFPKernel | GFPDMA,
		GFPKernel | GFPDMA32, GFPNowait, GFPKernel | GFPNoWarn}
	for _, c := range []struct {
		ram      uint64
		pageSize uint64
		cpus     int
	}{{8 * MiB, 4096, 2}, {64 * MiB, 4096, 4}, {3*GiB + 512*MiB, 4096, 2}, {256 * MiB, 16384, 3}, {512 * MiB, 65536, 1}, {2 * MiB, 4096, 1}} {
		n := newTestNode(t, c.ram, c.pageSize, c.cpus)
		rng := rand.New(rand.NewPCG(1, c.ram))
		type blk struct {
			pfn   uint64
			order int
		}
		var live []blk
		for i := 0; i < 4000; i++ {
			cpu := rng.IntN(c.cpus)
			if len(live) > 0 && rng.IntN(3) == 0 {
				j := rng.IntN(len(live))
				b := live[j]
				live[j] = live[len(live)-1]
				live = live[:len(live)-1]
				n.free(b.pfn, b.order, cpu)
			} else {
				order := rng.IntN(4)
				if rng.IntN(20) == 0 {
					order = rng.IntN(MaxPageOrder + 1)
				}
				if pfn, _, f := n.alloc(order, gfps[rng.IntN(len(gfps))], cpu); f == nil {
					n.markInUse(pfn, order)
					live = append(live, blk{pfn, order})
				}
			}
			if i%500 == 0 {
				if err := n.check(); err != nil {
					t.Fatalf("%s %d-byte pages, op %d: %v", FormatBytes(c.ram), c.pageSize, i, err)
				}
			}
		}
		for _, b := range live {
			n.free(b.pfn, b.order, 0)
		}
		n.drainAllPages()
		if err := n.check(); err != nil {
			t.Fatalf("%s: after freeing everything: %v", FormatBytes(c.ram), err)
		}
		for _, z := range n.zones {
			if z.freePgs != z.managed {
				t.Errorf("%s %v: %d free pages after freeing everything, %d managed", FormatBytes(c.ram), z.t, z.freePgs, z.managed)
			}
		}
	}
}

// BenchmarkPageNodeAllocFree times the page allocator core alone (no
// owner bookkeeping, no events): an alloc and a free of one block, the
// figure to set beside BenchmarkAllocFreePages' events=false rows.
func BenchmarkPageNodeAllocFree(b *testing.B) {
	for _, order := range []int{0, 3} {
		b.Run(fmt.Sprintf("order=%d", order), func(b *testing.B) {
			n := newPageNode(pageNodeConfig{RAM: DefaultRAM, PageSize: 4096, CPUs: DefaultCPUs, Reserved: 256})
			if pfn, _, f := n.alloc(order, GFPKernel, 0); f == nil {
				n.markInUse(pfn, order)
			}
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				pfn, _, f := n.alloc(order, GFPKernel, 0)
				if f != nil {
					b.Fatal(f)
				}
				n.markInUse(pfn, order)
				n.free(pfn, order, 0)
			}
		})
	}
}

// TestTakeAt places blocks where a replayed trace had them: out of a free
// block (split down, keeping the half with the pfn, the other halves free
// at their lists' tails), off a pcp list, and refused when in use.
func TestTakeAt(t *testing.T) {
	n := newTestNode(t, 64*MiB, 4096, 2)
	z := &n.zones[ZoneDMA32]
	free := z.freePgs
	const pfn = 0x1403 // inside the free order-10 block at 0x1400
	from, ok := n.takeAt(pfn, 0)
	if !ok || from != MaxPageOrder {
		t.Fatalf("takeAt(%#x, 0) = %d, %v; want the order-10 block it lies in", pfn, from, ok)
	}
	n.markInUse(pfn, 0)
	if z.freePgs != free-1 {
		t.Errorf("free pages %d, want %d", z.freePgs, free-1)
	}
	// The halves without pfn are free: 0x1402 (order 0), 0x1400 (order 1),
	// 0x1404 (order 2), ... 0x1600 (order 9), each at its list's tail.
	for o, head := range map[int]uint64{0: 0x1402, 1: 0x1400, 2: 0x1404, 9: 0x1600} {
		if st := n.pfns[head]; st.kind != pfnBuddy || int(st.order) != o {
			t.Errorf("pfn %#x: kind %d order %d, want a free order-%d block", head, st.kind, st.order, o)
		}
		if l := z.free[o][MigrateMovable]; l.tail != int32(head) {
			t.Errorf("order-%d Movable list's tail is %#x, want %#x", o, l.tail, head)
		}
	}
	if _, ok := n.takeAt(pfn, 0); ok {
		t.Errorf("takeAt of a block in use succeeded")
	}
	if _, ok := n.takeAt(0x1404, 1); !ok {
		t.Errorf("takeAt(0x1404, 1), the lower half of a free order-2 block, failed")
	}
	n.markInUse(0x1404, 1)
	// A block on a pcp list comes off it.
	a := nodeAlloc(t, n, 0, GFPKernel, 1)
	n.free(a, 0, 1)
	count := z.pcp[1].Count
	if from, ok := n.takeAt(a, 0); !ok || from != -1 {
		t.Fatalf("takeAt of a pcp block = %d, %v; want -1, true", from, ok)
	}
	n.markInUse(a, 0)
	if z.pcp[1].Count != count-1 {
		t.Errorf("cpu 1's pcp count %d, want %d", z.pcp[1].Count, count-1)
	}
	if err := n.check(); err != nil {
		t.Fatal(err)
	}
}

package allocator

import (
	"fmt"
	"math/bits"
)

// pageNode is the page allocator of the machine's one NUMA node
// (pg_data_t and its zones, mm/page_alloc.c, 6.18): per zone a free list
// per order and migrate type, per CPU a set of pcp lists, the pageblocks'
// migrate types, the watermarks. It keeps the state of free and pcp page
// frames (their list links and order) in pfns, one small record per page
// frame; who owns an allocated block is the caller's business.
//
// It emits no events: when tracing is on it appends what it did, in
// order, to steps (splits, merges, blocks taken, fallbacks, pcp refills and
// drains), and the caller turns them into events.
type pageNode struct {
	pageSize    uint64
	pageShift   uint
	pbOrder     int  // pageblock_order
	mobilityOff bool // page_group_by_mobility_disabled
	cpus        int
	endPFN      uint64 // node_end_pfn: one past the last RAM pfn

	spans         [MaxNrZones]zoneSpan
	zoneStarts    [MaxNrZones]uint64 // each zone's first pfn; ^0 for an empty zone (zoneOf)
	zones         [MaxNrZones]pzone
	minFreeKbytes uint64
	// zonelists[t] is the zonelist for highest zone t: t and every
	// populated zone below it, highest first.
	zonelists [MaxNrZones][]ZoneType

	pfns   []pfnState    // per pfn, 0..endPFN-1
	pbType []MigrateType // per pageblock, pfn >> pbOrder

	tracing bool
	steps   []pageStep
	// lastFrom is the order of the free block the last allocation was
	// split from; -1 when it came off a pcp list.
	lastFrom int
	// wfails are the zones the last zonelist walk skipped for their
	// watermarks.
	wfails []WmarkFailure
}

// WmarkFailure is a zone an allocation skipped: its free pages were not
// above the watermark its flags check, lowered for its rights to the
// reserves, plus the lowmem reserve it keeps from allocations that could
// use a higher zone.
type WmarkFailure struct {
	Zone    ZoneType
	Free    uint64     // NR_FREE_PAGES
	Wmark   int        // which watermark: WmarkMin, WmarkLow, WmarkHigh
	Mark    uint64     // its value
	Flags   AllocFlags // the flags of the pass
	Reserve uint64     // lowmem_reserve[highest zone]
	Limit   uint64     // the mark lowered (watermarkMin) plus the reserve: free pages must be above it
	NoBlock bool       // the free pages were above it, but no free list of the order or above had a block
}

// pfnState kinds.
const (
	pfnNone     uint8 = iota // inside a block, allocated, or a tail
	pfnHole                  // not RAM: the PCI hole
	pfnReserved              // RAM that boot kept from the allocator
	pfnBuddy                 // first page of a free block on a buddy free list (PageBuddy)
	pfnPCP                   // first page of a block on a pcp list
	pfnInUse                 // first page of a block handed out
)

// pfnState is what the page allocator keeps of one page frame: the links
// of the list a free or pcp block is on (pcp_list / buddy_list in struct
// page), its order, and which list.
type pfnState struct {
	next, prev int32 // list links; -1 at the ends
	order      int8
	kind       uint8
	list       uint8 // pfnBuddy: the migrate type of its free list; pfnPCP: the pindex
	cpu        uint8 // pfnPCP: the CPU whose list (CPUs are at most 256)
}

// pageList is a list of blocks threaded through pfns.
type pageList struct {
	head, tail int32
	n          uint64 // blocks
}

func newList() pageList { return pageList{head: -1, tail: -1} }

// pzone is one struct zone: its free area, counters, watermarks and the
// per-CPU lists.
type pzone struct {
	t        ZoneType
	span     zoneSpan
	managed  uint64
	free     [NrPageOrders][MigrateTypes]pageList
	nrFree   [NrPageOrders]uint64 // free_area[order].nr_free
	freePgs  uint64               // NR_FREE_PAGES (isolated pages excluded; none here)
	freeBlks uint64               // NR_FREE_PAGES_BLOCKS: pages in free blocks of pageblock_order and up
	wm       zoneWmarks

	nrReservedHighatomic uint64 // pages in HighAtomic pageblocks
	nrFreeHighatomic     uint64 // free pages in them
	belowHigh            bool   // ZONE_BELOW_HIGH

	pcp           []pcpSet // per CPU
	statThreshold int
	// numaHit counts the allocations served from this zone
	// (zone_statistics(): with one node every one is a NUMA_HIT and a
	// NUMA_LOCAL).
	numaHit uint64
}

// pcpSet is one CPU's struct per_cpu_pages for a zone.
type pcpSet struct {
	pcpCounters
	lists [nrPCPLists]pageList
}

// pageStep kinds: what the allocator did, for events.
type pageStepKind uint8

const (
	stepSplit     pageStepKind = iota + 1 // the order-Order block at PFN halved; its upper half to the Order-1 list of MT
	stepMerge                             // the order-Order block at PFN merged with its buddy PFN^(1<<Order)
	stepTake                              // mm_page_alloc_zone_locked: the order-Order block at PFN taken from the MT free list; Aux 1 if percpu_refill
	stepClaim                             // fallback claimed the pageblock(s) at PFN (Order: the free block found) from MT to Aux
	stepSteal                             // fallback stole the order-Order free block at PFN from an MT pageblock (the pageblock keeps its type)
	stepPCPRefill                         // CPU's pcp list Aux (pindex) refilled with Order-blocks: PFN = count
	stepPCPDrain                          // mm_page_pcpu_drain: the order-Order block at PFN of type MT left CPU's pcp list for the buddy
	stepPCPFree                           // the freed order-Order block at PFN went to the head of CPU's pcp list Aux
	stepBuddyFree                         // the order-Order block at PFN (type MT) freed to the buddy lists; merges follow
	stepDrainAll                          // drain_all_pages(): every CPU's lists go back
	stepPageblock                         // Aux pageblocks from PFN became MT
	stepPCPAdd                            // a refill put the order-Order block at PFN (its pageblock type MT) at the tail of CPU\'s pcp list
)

// pageStep is one thing the allocator did.
type pageStep struct {
	Kind  pageStepKind
	Zone  ZoneType
	MT    MigrateType
	Order int8
	CPU   int
	PFN   uint64
	Aux   uint64
}

func (n *pageNode) step(s pageStep) {
	if n.tracing {
		n.steps = append(n.steps, s)
	}
}

// pageNodeConfig is what boot needs to lay out the node.
type pageNodeConfig struct {
	RAM      uint64 // bytes of RAM
	PageSize uint64
	CPUs     int
	Reserved uint64 // pfns 0..Reserved-1 are kept from the allocator (the low megabyte)
	Trace    bool   // record the boot frees as steps
}

// newPageNode lays out the zones (free_area_init()), marks every pageblock
// Movable (memmap_init()), hands the RAM that boot did not reserve to the
// free lists (memblock_free_all()), and sets the watermarks, lowmem
// reserves and pcp sizes (init_per_zone_wmark_min(), khugepaged's
// set_recommended_min_free_kbytes(), setup_per_cpu_pageset()).
func newPageNode(c pageNodeConfig) *pageNode {
	ranges := ramRanges(c.RAM, c.PageSize)
	n := &pageNode{
		pageSize:  c.PageSize,
		pageShift: uint(bits.TrailingZeros64(c.PageSize)),
		pbOrder:   pageblockOrder(c.PageSize),
		cpus:      c.CPUs,
		endPFN:    ranges[len(ranges)-1].end,
		tracing:   c.Trace,
	}
	n.spans = zoneSpans(ranges, c.PageSize)
	for t, sp := range n.spans {
		n.zoneStarts[t] = ^uint64(0)
		if sp.Spanned > 0 {
			n.zoneStarts[t] = sp.StartPFN
		}
	}
	n.pfns = make([]pfnState, n.endPFN)
	n.pbType = make([]MigrateType, (n.endPFN+1<<n.pbOrder-1)>>n.pbOrder)
	for i := range n.pbType {
		n.pbType[i] = MigrateMovable
	}
	// Everything is a hole until a range says it is RAM.
	for i := range n.pfns {
		n.pfns[i] = pfnState{next: -1, prev: -1, kind: pfnHole}
	}
	for _, r := range ranges {
		for pfn := r.start; pfn < r.end; pfn++ {
			n.pfns[pfn].kind = pfnNone
		}
	}
	var managed [MaxNrZones]uint64
	var populated [MaxNrZones]bool
	for t := range n.zones {
		z := &n.zones[t]
		z.t, z.span = ZoneType(t), n.spans[t]
		for o := range z.free {
			for mt := range z.free[o] {
				z.free[o][mt] = newList()
			}
		}
		managed[t] = z.span.Present
		if z.span.Populated() {
			lo, hi := z.span.StartPFN, min(z.span.EndPFN(), c.Reserved)
			if hi > lo {
				managed[t] -= hi - lo
			}
		}
		z.managed = managed[t]
		populated[t] = z.span.Populated()
	}
	for pfn := uint64(0); pfn < min(c.Reserved, n.endPFN); pfn++ {
		if n.pfns[pfn].kind != pfnHole {
			n.pfns[pfn].kind = pfnReserved
		}
	}
	for t := range n.zonelists {
		n.zonelists[t] = zonelist(&n.spans, ZoneType(t))
	}
	// memblock_free_all(): __free_pages_memory() per RAM range, the
	// largest aligned blocks, each freed to the tail.
	for _, r := range ranges {
		start := max(r.start, c.Reserved)
		for start < r.end {
			order := MaxPageOrder
			if start != 0 {
				order = min(order, bits.TrailingZeros64(start))
			}
			for start+1<<order > r.end {
				order--
			}
			n.freeBoot(start, order)
			start += 1 << order
		}
	}
	var w [MaxNrZones]zoneWmarks
	n.minFreeKbytes, w = bootWatermarks(&managed, &populated, c.PageSize, n.pbOrder)
	var usable uint64
	for t := range n.zones {
		z := &n.zones[t]
		z.wm = w[t]
		if managed[t] > w[t].Mark[WmarkHigh] {
			usable += managed[t] - w[t].Mark[WmarkHigh]
		}
	}
	// build_all_zonelists(): grouping by mobility needs a pageblock per
	// migrate type, and more.
	n.mobilityOff = mobilityDisabled(usable, n.pbOrder)
	for t := range n.zones {
		z := &n.zones[t]
		if !z.span.Populated() {
			continue
		}
		batch := max(1, zoneBatchsize(z.managed, c.PageSize))
		highMin := zoneHighsize(z.managed, z.wm.Mark[WmarkLow], batch, c.CPUs, 0)
		highMax := zoneHighsize(z.managed, z.wm.Mark[WmarkLow], batch, c.CPUs, minPercpuPagelistHighFraction)
		z.pcp = make([]pcpSet, c.CPUs)
		for cpu := range z.pcp {
			p := &z.pcp[cpu]
			p.pcpCounters = pcpCounters{HighMin: highMin, HighMax: highMax, Batch: batch}
			for i := range p.lists {
				p.lists[i] = newList()
			}
		}
		z.statThreshold = statThreshold(z.managed, n.pageShift, c.CPUs)
	}
	return n
}

// freeBoot is __free_pages_core() at boot: the block goes to the tail of
// its list (FPI_TO_TAIL), split into pageblocks first when it is larger
// (split_large_buddy()).
func (n *pageNode) freeBoot(pfn uint64, order int) {
	n.splitLargeBuddy(pfn, order, true)
}

// zoneOf returns the zone of a RAM pfn.
func (n *pageNode) zoneOf(pfn uint64) *pzone {
	// The zones lie in pfn order: the highest populated zone that starts
	// at or below pfn holds it. DMA starts at pfn 0 on every machine.
	switch {
	case pfn >= n.zoneStarts[ZoneNormal]:
		return &n.zones[ZoneNormal]
	case pfn >= n.zoneStarts[ZoneDMA32]:
		return &n.zones[ZoneDMA32]
	}
	return &n.zones[ZoneDMA]
}

// blockType is get_pfnblock_migratetype().
func (n *pageNode) blockType(pfn uint64) MigrateType { return n.pbType[pfn>>n.pbOrder] }

// setBlockType is set_pageblock_migratetype(): with mobility grouping off
// the pcp types all read as Unmovable.
func (n *pageNode) setBlockType(pfn uint64, mt MigrateType) {
	if n.mobilityOff && mt < MigratePCPTypes {
		mt = MigrateUnmovable
	}
	n.pbType[pfn>>n.pbOrder] = mt
}

// listAdd links the block at pfn into l, at the head or the tail.
func (n *pageNode) listAdd(l *pageList, pfn uint64, tail bool) {
	i := int32(pfn)
	p := &n.pfns[pfn]
	p.next, p.prev = -1, -1
	l.n++
	switch {
	case l.head < 0:
		l.head, l.tail = i, i
	case tail:
		p.prev = l.tail
		n.pfns[l.tail].next = i
		l.tail = i
	default:
		p.next = l.head
		n.pfns[l.head].prev = i
		l.head = i
	}
}

// listDel unlinks the block at pfn from l.
func (n *pageNode) listDel(l *pageList, pfn uint64) {
	p := &n.pfns[pfn]
	if p.prev >= 0 {
		n.pfns[p.prev].next = p.next
	} else {
		l.head = p.next
	}
	if p.next >= 0 {
		n.pfns[p.next].prev = p.prev
	} else {
		l.tail = p.prev
	}
	p.next, p.prev = -1, -1
	l.n--
}

// accountFreepages is account_freepages(): NR_FREE_PAGES and the
// HighAtomic count (isolated pages are not free pages; none are here).
func (z *pzone) accountFreepages(nr int64, mt MigrateType) {
	if mt == MigrateIsolate {
		return
	}
	z.freePgs = uint64(int64(z.freePgs) + nr)
	if mt == MigrateHighAtomic {
		z.nrFreeHighatomic = uint64(int64(z.nrFreeHighatomic) + nr)
	}
}

// addToFreeList is __add_to_free_list() with set_buddy_order().
func (n *pageNode) addToFreeList(z *pzone, pfn uint64, order int, mt MigrateType, tail bool) {
	p := &n.pfns[pfn]
	p.kind, p.order, p.list = pfnBuddy, int8(order), uint8(mt)
	n.listAdd(&z.free[order][mt], pfn, tail)
	z.nrFree[order]++
	if order >= n.pbOrder && mt != MigrateIsolate {
		z.freeBlks += 1 << order
	}
}

// delFromFreeList is __del_page_from_free_list() (accounting left to the
// caller, as there).
func (n *pageNode) delFromFreeList(z *pzone, pfn uint64, order int) {
	p := &n.pfns[pfn]
	mt := MigrateType(p.list)
	n.listDel(&z.free[order][mt], pfn)
	p.kind = pfnNone
	z.nrFree[order]--
	if order >= n.pbOrder && mt != MigrateIsolate {
		z.freeBlks -= 1 << order
	}
}

// expand is expand() with account_freepages(): the order-high block at pfn
// is halved down to low; each upper half goes to the head of its order's
// list of type mt.
func (n *pageNode) expand(z *pzone, pfn uint64, low, high int, mt MigrateType) uint64 {
	var added uint64
	for high > low {
		n.step(pageStep{Kind: stepSplit, Zone: z.t, MT: mt, Order: int8(high), PFN: pfn})
		high--
		n.addToFreeList(z, pfn+1<<high, high, mt, false)
		added += 1 << high
	}
	return added
}

// pageDelAndExpand is page_del_and_expand().
func (n *pageNode) pageDelAndExpand(z *pzone, pfn uint64, low, high int, mt MigrateType) {
	n.delFromFreeList(z, pfn, high)
	added := n.expand(z, pfn, low, high, mt)
	z.accountFreepages(-int64(1<<high)+int64(added), mt)
}

// rmqueueSmallest is __rmqueue_smallest(): the first block of the lowest
// order at or above order on the mt free lists, split down.
func (n *pageNode) rmqueueSmallest(z *pzone, order int, mt MigrateType) (uint64, bool) {
	for cur := order; cur <= MaxPageOrder; cur++ {
		h := z.free[cur][mt].head
		if h < 0 {
			continue
		}
		pfn := uint64(h)
		n.pageDelAndExpand(z, pfn, order, cur, mt)
		n.lastFrom = cur
		refill := uint64(0)
		if pcpAllowedOrder(order, n.pageSize) && mt < MigratePCPTypes {
			refill = 1
		}
		n.step(pageStep{Kind: stepTake, Zone: z.t, MT: mt, Order: int8(order), PFN: pfn, Aux: refill})
		return pfn, true
	}
	return 0, false
}

// findSuitableFallback is find_suitable_fallback(): the first fallback
// type with a free block of order; -1 if none; -2 when a claim is asked
// for and should_try_claim_block() says no.
func (n *pageNode) findSuitableFallback(z *pzone, order int, mt MigrateType, claimable bool) int {
	if claimable && !shouldTryClaimBlock(order, n.pbOrder, mt, n.mobilityOff) {
		return -2
	}
	if z.nrFree[order] == 0 {
		return -1
	}
	for _, f := range fallbacks[mt] {
		if z.free[order][f].head >= 0 {
			return int(f)
		}
	}
	return -1
}

// rmqueueClaim is __rmqueue_claim() (6.15+): from the largest order down,
// a fallback type's free block whose pageblock the allocation can take
// over (try_to_claim_block()). With ALLOC_NOFRAGMENT only whole
// pageblocks are considered.
func (n *pageNode) rmqueueClaim(z *pzone, order int, start MigrateType, flags AllocFlags) (uint64, bool) {
	minOrder := order
	if order < n.pbOrder && flags&AllocNoFragment != 0 {
		minOrder = n.pbOrder
	}
	for cur := MaxPageOrder; cur >= minOrder; cur-- {
		f := n.findSuitableFallback(z, cur, start, true)
		if f == -1 {
			continue
		}
		if f == -2 {
			break
		}
		pfn := uint64(z.free[cur][f].head)
		if got, ok := n.tryToClaimBlock(z, pfn, cur, order, start, MigrateType(f)); ok {
			return got, true
		}
	}
	return 0, false
}

// tryToClaimBlock is try_to_claim_block() (6.15+). A block of at least a
// pageblock is taken whole: its pageblocks change type and it is split for
// the allocation. A smaller one claims its pageblock when enough of it is
// free or alike (claimsBlock): every free block in the pageblock moves to
// the new type's lists, and the allocation is served from them. allocviz
// has no LRU pages, so no allocated page counts as movable. The watermark
// boost this path also raises is not modelled (docs/fidelity.md).
func (n *pageNode) tryToClaimBlock(z *pzone, pfn uint64, cur, order int, start, block MigrateType) (uint64, bool) {
	if cur >= n.pbOrder {
		n.delFromFreeList(z, pfn, cur)
		z.accountFreepages(-int64(1<<cur), block)
		n.step(pageStep{Kind: stepClaim, Zone: z.t, MT: block, Order: int8(cur), PFN: pfn, Aux: uint64(start)})
		for b := pfn; b < pfn+1<<cur; b += 1 << n.pbOrder {
			n.setBlockType(b, start)
		}
		n.step(pageStep{Kind: stepPageblock, Zone: z.t, MT: n.blockType(pfn), PFN: pfn, Aux: 1 << (cur - n.pbOrder)})
		n.lastFrom = cur
		added := n.expand(z, pfn, order, cur, start)
		z.accountFreepages(int64(added), start)
		return pfn, true
	}
	bs := pfn &^ (1<<n.pbOrder - 1)
	be := bs + 1<<n.pbOrder
	// prep_move_freepages_block(): the pageblock must lie in the zone.
	if bs < z.span.StartPFN || be > z.span.EndPFN() {
		return 0, false
	}
	var free uint64
	for p := bs; p < be; {
		if st := &n.pfns[p]; st.kind == pfnBuddy {
			free += 1 << st.order
			p += 1 << st.order
			continue
		}
		p++
	}
	if !claimsBlock(n.pbOrder, free, 0, start, block, n.mobilityOff) {
		return 0, false
	}
	n.step(pageStep{Kind: stepClaim, Zone: z.t, MT: block, Order: int8(cur), PFN: pfn, Aux: uint64(start)})
	n.moveFreepagesBlock(z, bs, block, start)
	n.setBlockType(bs, start)
	n.step(pageStep{Kind: stepPageblock, Zone: z.t, MT: n.blockType(bs), PFN: bs, Aux: 1})
	return n.rmqueueSmallest(z, order, start)
}

// moveFreepagesBlock is __move_freepages_block(): every free block in the
// pageblock at start moves from the from lists to the tail of the to
// lists (move_to_free_list()'s list_move_tail()).
func (n *pageNode) moveFreepagesBlock(z *pzone, start uint64, from, to MigrateType) uint64 {
	var moved uint64
	for p := start; p < start+1<<n.pbOrder; {
		st := &n.pfns[p]
		if st.kind != pfnBuddy {
			p++
			continue
		}
		o := int(st.order)
		n.delFromFreeList(z, p, o)
		n.addToFreeList(z, p, o, to, true)
		moved += 1 << o
		p += 1 << o
	}
	z.accountFreepages(-int64(moved), from)
	z.accountFreepages(int64(moved), to)
	return moved
}

// rmqueueSteal is __rmqueue_steal() (6.15+): the smallest block of a
// fallback type at or above order, split on its own type's lists; the
// pageblock keeps its type.
func (n *pageNode) rmqueueSteal(z *pzone, order int, start MigrateType) (uint64, bool) {
	for cur := order; cur <= MaxPageOrder; cur++ {
		f := n.findSuitableFallback(z, cur, start, false)
		if f < 0 {
			continue
		}
		pfn := uint64(z.free[cur][f].head)
		n.step(pageStep{Kind: stepSteal, Zone: z.t, MT: MigrateType(f), Order: int8(cur), PFN: pfn, Aux: uint64(start)})
		n.pageDelAndExpand(z, pfn, order, cur, MigrateType(f))
		n.lastFrom = cur
		return pfn, true
	}
	return 0, false
}

// rmqueueMode is enum rmqueue_mode: where __rmqueue() found blocks last
// time in one rmqueue_bulk(), so the next call starts there.
type rmqueueMode uint8

const (
	rmqNormal rmqueueMode = iota
	rmqClaim
	rmqSteal
)

// rmqueueBlock is __rmqueue() (6.15+, no CMA): the type's own lists, then
// claiming another type's pageblock, then (without ALLOC_NOFRAGMENT)
// stealing a block.
func (n *pageNode) rmqueueBlock(z *pzone, order int, mt MigrateType, flags AllocFlags, mode *rmqueueMode) (uint64, bool) {
	if *mode == rmqNormal {
		if pfn, ok := n.rmqueueSmallest(z, order, mt); ok {
			return pfn, true
		}
	}
	if *mode <= rmqClaim {
		if pfn, ok := n.rmqueueClaim(z, order, mt, flags); ok {
			*mode = rmqNormal
			return pfn, true
		}
	}
	if flags&AllocNoFragment == 0 {
		if pfn, ok := n.rmqueueSteal(z, order, mt); ok {
			*mode = rmqSteal
			return pfn, true
		}
	}
	return 0, false
}

// rmqueueBulk is rmqueue_bulk(): up to count blocks of order for cpu's
// list, each added at the tail, so the list is in the order the buddy
// allocator handed them out.
func (n *pageNode) rmqueueBulk(z *pzone, cpu, order, count int, mt MigrateType, flags AllocFlags, l *pageList, pindex int) int {
	mode := rmqNormal
	i := 0
	for ; i < count; i++ {
		pfn, ok := n.rmqueueBlock(z, order, mt, flags, &mode)
		if !ok {
			break
		}
		st := &n.pfns[pfn]
		st.kind, st.order, st.list, st.cpu = pfnPCP, int8(order), uint8(pindex), uint8(cpu)
		n.listAdd(l, pfn, true)
		n.step(pageStep{Kind: stepPCPAdd, Zone: z.t, MT: n.blockType(pfn), Order: int8(order), CPU: cpu, PFN: pfn})
	}
	return i
}

// rmqueuePcplist is rmqueue_pcplist() with __rmqueue_pcplist(): halve
// free_count, refill an empty list with nr_pcp_alloc() blocks, and take
// the head.
func (n *pageNode) rmqueuePcplist(z *pzone, cpu, order int, mt MigrateType, flags AllocFlags) (uint64, bool) {
	p := &z.pcp[cpu]
	p.allocBegin()
	pindex := orderToPindex(mt, order)
	l := &p.lists[pindex]
	if l.head < 0 {
		batch := p.nrPcpAlloc(order, z.belowHigh)
		got := n.rmqueueBulk(z, cpu, order, batch, mt, flags, l, pindex)
		p.Count += got << order
		n.step(pageStep{Kind: stepPCPRefill, Zone: z.t, MT: mt, Order: int8(order), CPU: cpu, PFN: uint64(got), Aux: uint64(pindex)})
		if l.head < 0 {
			return 0, false
		}
	}
	pfn := uint64(l.head)
	n.listDel(l, pfn)
	p.Count -= 1 << order
	n.lastFrom = -1
	return pfn, true
}

// rmqueueBuddy is rmqueue_buddy(): ALLOC_HIGHATOMIC callers try the
// HighAtomic reserve first; a non-blocking or OOM caller that finds
// nothing else may use it after all.
func (n *pageNode) rmqueueBuddy(z *pzone, order int, flags AllocFlags, mt MigrateType) (uint64, bool) {
	if flags&AllocHighAtomic != 0 {
		if pfn, ok := n.rmqueueSmallest(z, order, MigrateHighAtomic); ok {
			return pfn, true
		}
	}
	mode := rmqNormal
	if pfn, ok := n.rmqueueBlock(z, order, mt, flags, &mode); ok {
		return pfn, true
	}
	if flags&(AllocOOM|AllocNonBlock) != 0 {
		return n.rmqueueSmallest(z, order, MigrateHighAtomic)
	}
	return 0, false
}

// rmqueue is rmqueue(): the pcp lists for the orders they hold, else the
// buddy free lists.
func (n *pageNode) rmqueue(z *pzone, cpu, order int, flags AllocFlags, mt MigrateType) (uint64, bool) {
	if pcpAllowedOrder(order, n.pageSize) {
		if pfn, ok := n.rmqueuePcplist(z, cpu, order, mt, flags); ok {
			return pfn, true
		}
	}
	return n.rmqueueBuddy(z, order, flags, mt)
}

// watermarkFast is zone_watermark_fast() without the boost case (no boost
// here): for order 0 a quick test of free pages against the mark, then
// __zone_watermark_ok().
func (n *pageNode) watermarkFast(z *pzone, order int, mark uint64, highest ZoneType, flags AllocFlags) bool {
	if order == 0 && z.order0Above(mark, highest, flags) {
		return true
	}
	return zoneWatermarkOK(watermarkInput{Free: int64(z.freePgs), LowmemReserve: z.wm.LowmemReserve[highest], FreeHighAtomic: z.nrFreeHighatomic,
		HasFree: func(o int, mt MigrateType) bool { return z.free[o][mt].head >= 0 }}, order, mark, flags)
}

// order0Above is zone_watermark_fast()'s quick test for order 0: the free
// pages the caller may use (less the HighAtomic reserve unless it has
// rights to reserves) are above the mark plus the lowmem reserve.
func (z *pzone) order0Above(mark uint64, highest ZoneType, flags AllocFlags) bool {
	free, unusable := z.freePgs, uint64(0)
	if flags&AllocReserves == 0 {
		unusable = z.nrFreeHighatomic
	}
	return free-min(free, unusable) > mark+z.wm.LowmemReserve[highest]
}

// allocContext is struct alloc_context.
type allocContext struct {
	highest   ZoneType    // highest_zoneidx
	migrate   MigrateType // migratetype
	preferred ZoneType    // the first zone of the zonelist
	cpu       int
}

// getPageFromFreelist is get_page_from_freelist() on one node: the
// zonelist from the preferred zone down; a zone above its high watermark
// is used at once, otherwise (ZONE_BELOW_HIGH set) the watermark the flags
// name is checked; a failing zone is skipped (no node reclaim). With
// ALLOC_NOFRAGMENT a pass that finds nothing is retried without it.
func (n *pageNode) getPageFromFreelist(order int, flags AllocFlags, ac *allocContext) (uint64, *pzone, bool) {
	n.wfails = n.wfails[:0]
	for {
		noFallback := flags&AllocNoFragment != 0
		for _, t := range n.zonelists[ac.highest] {
			z := &n.zones[t]
			try := false
			if !z.belowHigh {
				if n.watermarkFast(z, order, z.wm.Mark[WmarkHigh], ac.highest, flags) {
					try = true
				} else {
					z.belowHigh = true
				}
			}
			if !try {
				mark := z.wm.Mark[min(flags.Wmark(), WmarkHigh)]
				if !n.watermarkFast(z, order, mark, ac.highest, flags) && flags&AllocNoWatermarks == 0 {
					reserve := z.wm.LowmemReserve[ac.highest]
					limit := uint64(max(watermarkMin(int64(mark), flags), 0)) + reserve
					n.wfails = append(n.wfails, WmarkFailure{Zone: t, Free: z.freePgs, Wmark: min(flags.Wmark(), WmarkHigh),
						Mark: mark, Flags: flags, Reserve: reserve, Limit: limit,
						NoBlock: order > 0 && int64(z.freePgs)-int64(1<<order-1) > int64(limit)})
					continue
				}
			}
			pfn, ok := n.rmqueue(z, ac.cpu, order, flags, ac.migrate)
			if !ok {
				continue
			}
			z.numaHit++
			if flags&AllocHighAtomic != 0 {
				n.reserveHighatomicPageblock(z, pfn, order)
			}
			return pfn, z, true
		}
		if !noFallback {
			return 0, nil, false
		}
		flags &^= AllocNoFragment
	}
}

// reserveHighatomicPageblock is reserve_highatomic_pageblock(): after a
// high-order atomic allocation from the slow path, its pageblock becomes
// a HighAtomic reserve, up to about 1% of the zone (none when 1% is less
// than a pageblock).
func (n *pageNode) reserveHighatomicPageblock(z *pzone, pfn uint64, order int) {
	pb := uint64(1) << n.pbOrder
	if z.managed/100 < pb {
		return
	}
	maxManaged := (z.managed/100 + pb - 1) &^ (pb - 1)
	if z.nrReservedHighatomic >= maxManaged {
		return
	}
	mt := n.blockType(pfn)
	if mt >= MigratePCPTypes {
		return
	}
	if order < n.pbOrder {
		bs := pfn &^ (pb - 1)
		if bs < z.span.StartPFN || bs+pb > z.span.EndPFN() {
			return
		}
		n.moveFreepagesBlock(z, bs, mt, MigrateHighAtomic)
		n.setBlockType(bs, MigrateHighAtomic)
		z.nrReservedHighatomic += pb
		n.step(pageStep{Kind: stepPageblock, Zone: z.t, MT: MigrateHighAtomic, PFN: bs, Aux: 1})
		return
	}
	for b := pfn; b < pfn+1<<order; b += pb {
		n.setBlockType(b, MigrateHighAtomic)
	}
	z.nrReservedHighatomic += 1 << order
	n.step(pageStep{Kind: stepPageblock, Zone: z.t, MT: MigrateHighAtomic, PFN: pfn, Aux: 1 << (order - n.pbOrder)})
}

// pageAllocFailure says why an allocation got no page.
type pageAllocFailure struct {
	Order    int
	BadZone  bool           // GFP_ZONE_BAD: two zone modifiers
	TooLarge bool           // order above MAX_PAGE_ORDER
	Wmarks   []WmarkFailure // the zones the last pass skipped for their watermarks (the others had no block)
}

// alloc is __alloc_pages_noprof() on a machine without reclaim,
// compaction, kswapd or the OOM killer: the fast path at the low
// watermark (avoiding fragmentation when Normal is preferred), then the
// slow path's flags (gfp_to_alloc_flags(): the min watermark, lowered for
// __GFP_HIGH and non-blocking callers), then, for __GFP_MEMALLOC, no
// watermarks; a caller that may reclaim gets one more try after every
// CPU's pcp lists are drained (__alloc_pages_direct_reclaim()'s
// drain_all_pages()). It returns the pfn and its zone.
func (n *pageNode) alloc(order int, gfp GFP, cpu int) (uint64, ZoneType, *pageAllocFailure) {
	if order < 0 || order > MaxPageOrder {
		return 0, 0, &pageAllocFailure{Order: order, TooLarge: true}
	}
	highest, ok := gfpZone(gfp)
	if !ok {
		return 0, 0, &pageAllocFailure{Order: order, BadZone: true}
	}
	list := n.zonelists[highest]
	if len(list) == 0 {
		return 0, 0, &pageAllocFailure{Order: order}
	}
	ac := allocContext{highest: highest, migrate: gfpMigratetype(gfp, n.mobilityOff), preferred: list[0], cpu: cpu}
	flags := AllocWmarkLow | allocFlagsNofragment(ac.preferred, gfp)
	// The common case, taken straight: an order-0 page from the preferred
	// zone, above its high watermark, off a non-empty pcp list. It is the
	// path below (get_page_from_freelist()'s try_this_zone, rmqueue_pcplist())
	// with nothing to decide.
	if z := &n.zones[ac.preferred]; order == 0 && !z.belowHigh && z.order0Above(z.wm.Mark[WmarkHigh], highest, flags) {
		p := &z.pcp[cpu]
		if l := &p.lists[orderToPindex(ac.migrate, 0)]; l.head >= 0 {
			p.allocBegin()
			pfn := uint64(l.head)
			n.listDel(l, pfn)
			p.Count--
			n.lastFrom = -1
			z.numaHit++
			return pfn, z.t, nil
		}
	}
	if pfn, z, ok := n.getPageFromFreelist(order, flags, &ac); ok {
		return pfn, z.t, nil
	}
	flags = gfpToAllocFlags(gfp, order)
	if pfn, z, ok := n.getPageFromFreelist(order, flags, &ac); ok {
		return pfn, z.t, nil
	}
	if gfpPfmemallocAllowed(gfp) {
		if pfn, z, ok := n.getPageFromFreelist(order, AllocNoWatermarks|flags&AllocKswapd, &ac); ok {
			return pfn, z.t, nil
		}
	}
	if gfp.AllowBlocking() {
		n.drainAllPages()
		if pfn, z, ok := n.getPageFromFreelist(order, flags, &ac); ok {
			return pfn, z.t, nil
		}
	}
	return 0, 0, &pageAllocFailure{Order: order, Wmarks: n.wfails}
}

// markInUse records that the block at pfn was handed out.
func (n *pageNode) markInUse(pfn uint64, order int) {
	st := &n.pfns[pfn]
	st.kind, st.order, st.next, st.prev = pfnInUse, int8(order), -1, -1
}

// free is __free_frozen_pages(): a block of an order the pcp lists hold
// goes to the head of the CPU's list for its pageblock's type (HighAtomic
// as Movable), and a drain may follow (free_frozen_page_commit()); any
// other block is freed to the buddy lists at once (__free_pages_ok()).
func (n *pageNode) free(pfn uint64, order int, cpu int) {
	st := &n.pfns[pfn]
	if st.kind != pfnInUse || int(st.order) != order {
		throw("pageNode.free", fmt.Sprintf("pfn %#x is not an allocated order-%d block", pfn, order))
	}
	st.kind = pfnNone
	if !pcpAllowedOrder(order, n.pageSize) {
		n.splitLargeBuddy(pfn, order, false)
		return
	}
	z := n.zoneOf(pfn)
	mt := n.blockType(pfn)
	if mt >= MigratePCPTypes {
		if mt == MigrateIsolate {
			n.freeOneBuddy(z, pfn, order, mt, false)
			return
		}
		mt = MigrateMovable
	}
	p := &z.pcp[cpu]
	pindex := orderToPindex(mt, order)
	st.kind, st.order, st.list, st.cpu = pfnPCP, int8(order), uint8(pindex), uint8(cpu)
	n.listAdd(&p.lists[pindex], pfn, false)
	n.step(pageStep{Kind: stepPCPFree, Zone: z.t, MT: mt, Order: int8(order), CPU: cpu, PFN: pfn, Aux: uint64(pindex)})
	if drain := p.freeCommit(order, z.belowHigh); drain > 0 {
		n.freePcppagesBulk(z, cpu, drain, pindex)
		if z.belowHigh && n.watermarkFast(z, 0, z.wm.Mark[WmarkHigh], ZoneMovable, 0) {
			z.belowHigh = false
		}
	}
}

// freePcppagesBulk is free_pcppages_bulk(): count pages leave cpu's lists
// for the buddy allocator, from the tails, list by list round robin
// starting with pindex; each block is freed with its pageblock's current
// type.
func (n *pageNode) freePcppagesBulk(z *pzone, cpu, count, pindex int) {
	p := &z.pcp[cpu]
	count = min(count, p.Count)
	pindex--
	for count > 0 {
		var l *pageList
		for {
			pindex++
			if pindex > nrPCPLists-1 {
				pindex = 0
			}
			l = &p.lists[pindex]
			if l.head >= 0 {
				break
			}
		}
		order := pindexToOrder(pindex, n.pageSize)
		for {
			pfn := uint64(l.tail)
			mt := n.blockType(pfn)
			n.listDel(l, pfn)
			n.pfns[pfn].kind = pfnNone
			count -= 1 << order
			p.Count -= 1 << order
			n.step(pageStep{Kind: stepPCPDrain, Zone: z.t, MT: mt, Order: int8(order), CPU: cpu, PFN: pfn})
			n.freeOneBuddy(z, pfn, order, mt, false)
			if count <= 0 || l.head < 0 {
				break
			}
		}
	}
}

// drainAllPages is drain_all_pages(NULL): every CPU's lists in every zone
// go back to the buddy allocator (drain_pages_zone(), in batches of
// batch << CONFIG_PCP_BATCH_SCALE_MAX).
func (n *pageNode) drainAllPages() {
	n.step(pageStep{Kind: stepDrainAll})
	for cpu := 0; cpu < n.cpus; cpu++ {
		for t := range n.zones {
			z := &n.zones[t]
			if !z.span.Populated() {
				continue
			}
			p := &z.pcp[cpu]
			for p.Count > 0 {
				n.freePcppagesBulk(z, cpu, min(p.Count, p.Batch<<pcpBatchScaleMax), 0)
			}
		}
	}
}

// splitLargeBuddy is split_large_buddy() with free_one_page(): a block
// larger than a pageblock is freed a pageblock at a time, each with its
// own type.
func (n *pageNode) splitLargeBuddy(pfn uint64, order int, toTail bool) {
	z := n.zoneOf(pfn)
	end := pfn + 1<<order
	if order > n.pbOrder {
		order = n.pbOrder
	}
	for ; pfn < end; pfn += 1 << order {
		n.freeOneBuddy(z, pfn, order, n.blockType(pfn), toTail)
	}
}

// freeOneBuddy is __free_one_page() (6.10+): merge with the buddy while it
// is a free block of the same order in the same zone (from
// pageblock_order up, only between types that may merge: not HighAtomic
// or Isolate with others; a merged buddy's pageblock takes this block's
// type); then to the tail when the merged block is likely to merge again
// soon (buddy_merge_likely()) or toTail (FPI_TO_TAIL), else the head.
func (n *pageNode) freeOneBuddy(z *pzone, pfn uint64, order int, mt MigrateType, toTail bool) {
	n.step(pageStep{Kind: stepBuddyFree, Zone: z.t, MT: mt, Order: int8(order), PFN: pfn})
	z.accountFreepages(int64(1)<<order, mt)
	for order < MaxPageOrder {
		buddy := pfn ^ 1<<order
		if !n.isBuddy(z, buddy, order) {
			break
		}
		if order >= n.pbOrder {
			bmt := n.blockType(buddy)
			if bmt != mt && (mt >= MigratePCPTypes || bmt >= MigratePCPTypes) {
				break
			}
		}
		n.delFromFreeList(z, buddy, order)
		if n.blockType(buddy) != mt {
			// The buddy is a pageblock here (order pageblock_order;
			// MAX_PAGE_ORDER blocks do not merge), and only its
			// first pageblock's type is set, as in the kernel.
			n.setBlockType(buddy, mt)
			n.step(pageStep{Kind: stepPageblock, Zone: z.t, MT: n.blockType(buddy), PFN: buddy, Aux: 1})
		}
		n.step(pageStep{Kind: stepMerge, Zone: z.t, MT: mt, Order: int8(order), PFN: pfn})
		pfn &= buddy
		order++
	}
	tail := toTail || n.mergeLikely(z, pfn, order)
	n.addToFreeList(z, pfn, order, mt, tail)
}

// isBuddy is page_is_buddy() with find_buddy_page_pfn()'s pfn_valid(): the
// pfn is RAM in the zone and heads a free block of order.
func (n *pageNode) isBuddy(z *pzone, pfn uint64, order int) bool {
	if pfn < z.span.StartPFN || pfn >= z.span.EndPFN() || pfn >= n.endPFN {
		return false
	}
	st := &n.pfns[pfn]
	return st.kind == pfnBuddy && int(st.order) == order
}

// mergeLikely is buddy_merge_likely(): the block one order up, containing
// this one, has a free buddy of that order.
func (n *pageNode) mergeLikely(z *pzone, pfn uint64, order int) bool {
	if order >= MaxPageOrder-1 {
		return false
	}
	higher := pfn &^ (1 << order)
	return n.isBuddy(z, higher^1<<(order+1), order+1)
}

// stats snapshots every zone for the /proc formatters.
func (n *pageNode) stats() []ZoneStats {
	out := make([]ZoneStats, MaxNrZones)
	for t := range n.zones {
		z := &n.zones[t]
		s := &out[t]
		s.Type, s.StartPFN, s.Spanned, s.Present, s.Managed = z.t, z.span.StartPFN, z.span.Spanned, z.span.Present, z.managed
		if !z.span.Populated() {
			s.StartPFN = 0
		}
		for o := range z.free {
			for mt := range z.free[o] {
				s.NrFree[o][mt] = z.free[o][mt].n
			}
		}
		if z.span.Populated() {
			// pagetypeinfo_showblockcount_print(): from zone_start_pfn in
			// pageblock steps, RAM pfns only.
			for pfn := z.span.StartPFN; pfn < z.span.EndPFN(); pfn += 1 << n.pbOrder {
				if n.pfns[pfn].kind != pfnHole {
					s.Pageblocks[n.blockType(pfn)]++
				}
			}
		}
		s.Free, s.FreeBlocks = z.freePgs, z.freeBlks
		s.Wmark, s.Boost, s.LowmemReserve = z.wm.Mark, z.wm.Boost, z.wm.LowmemReserve
		s.StatThreshold = z.statThreshold
		for _, p := range z.pcp {
			s.PCP = append(s.PCP, PCPStats{Count: p.Count, High: p.High, Batch: p.Batch, HighMin: p.HighMin, HighMax: p.HighMax})
		}
		s.Counters = map[string]uint64{"numa_hit": z.numaHit, "numa_local": z.numaHit}
	}
	return out
}

// check verifies the node's structures: every list well linked and
// counted, every free block aligned, in one zone, on the list of its
// pageblock's type (below pageblock_order) and unmerged with a free buddy
// it could merge with, NR_FREE_PAGES equal to the free lists, every pcp
// count equal to its lists.
func (n *pageNode) check() error {
	seen := make(map[uint64]bool)
	walk := func(l *pageList, what string, kind uint8, order int, visit func(pfn uint64) error) error {
		prev := int32(-1)
		var c uint64
		for i := l.head; i >= 0; i = n.pfns[i].next {
			pfn := uint64(i)
			if n.pfns[i].prev != prev {
				return fmt.Errorf("%s: pfn %#x has prev %d, want %d", what, pfn, n.pfns[i].prev, prev)
			}
			if seen[pfn] {
				return fmt.Errorf("%s: pfn %#x is on two lists", what, pfn)
			}
			seen[pfn] = true
			if st := &n.pfns[i]; st.kind != kind || int(st.order) != order {
				return fmt.Errorf("%s: pfn %#x has kind %d order %d", what, pfn, st.kind, st.order)
			}
			if pfn&(1<<order-1) != 0 {
				return fmt.Errorf("%s: pfn %#x is not aligned to order %d", what, pfn, order)
			}
			if err := visit(pfn); err != nil {
				return err
			}
			prev = i
			c++
			if c > n.endPFN {
				return fmt.Errorf("%s: a cycle", what)
			}
		}
		if l.tail != prev || l.n != c {
			return fmt.Errorf("%s: tail %d count %d, want %d and %d", what, l.tail, l.n, prev, c)
		}
		return nil
	}
	for t := range n.zones {
		z := &n.zones[t]
		var free, highatomic, blks uint64
		for o := range z.free {
			var nr uint64
			for mt := range z.free[o] {
				what := fmt.Sprintf("%v order %d %v list", z.t, o, MigrateType(mt))
				err := walk(&z.free[o][mt], what, pfnBuddy, o, func(pfn uint64) error {
					if pfn < z.span.StartPFN || pfn+1<<o > z.span.EndPFN() {
						return fmt.Errorf("%s: pfn %#x outside the zone", what, pfn)
					}
					if o < n.pbOrder && n.blockType(pfn) != MigrateType(mt) && !n.mobilityOff {
						return fmt.Errorf("%s: pfn %#x is in a %v pageblock", what, pfn, n.blockType(pfn))
					}
					if b := pfn ^ 1<<o; o < MaxPageOrder && n.isBuddy(z, b, o) && (o < n.pbOrder || n.blockType(b) == MigrateType(mt)) {
						return fmt.Errorf("%s: free buddies %#x and %#x not merged", what, pfn, b)
					}
					return nil
				})
				if err != nil {
					return err
				}
				nr += z.free[o][mt].n
				if MigrateType(mt) != MigrateIsolate {
					free += z.free[o][mt].n << o
					if o >= n.pbOrder {
						blks += z.free[o][mt].n << o
					}
				}
				if MigrateType(mt) == MigrateHighAtomic {
					highatomic += z.free[o][mt].n << o
				}
			}
			if nr != z.nrFree[o] {
				return fmt.Errorf("%v order %d: nr_free %d, lists hold %d", z.t, o, z.nrFree[o], nr)
			}
		}
		if free != z.freePgs || highatomic != z.nrFreeHighatomic || blks != z.freeBlks {
			return fmt.Errorf("%v: NR_FREE_PAGES %d (lists %d), highatomic %d (lists %d), blocks %d (lists %d)",
				z.t, z.freePgs, free, z.nrFreeHighatomic, highatomic, z.freeBlks, blks)
		}
		for cpu := range z.pcp {
			p := &z.pcp[cpu]
			var count int
			for i := range p.lists {
				o := pindexToOrder(i, n.pageSize)
				what := fmt.Sprintf("%v cpu %d pcp list %d", z.t, cpu, i)
				if err := walk(&p.lists[i], what, pfnPCP, o, func(pfn uint64) error {
					if st := &n.pfns[pfn]; int(st.cpu) != cpu || int(st.list) != i {
						return fmt.Errorf("%s: pfn %#x says cpu %d list %d", what, pfn, st.cpu, st.list)
					}
					return nil
				}); err != nil {
					return err
				}
				count += int(p.lists[i].n) << o
			}
			if count != p.Count {
				return fmt.Errorf("%v cpu %d: pcp count %d, lists hold %d", z.t, cpu, p.Count, count)
			}
		}
	}
	return nil
}

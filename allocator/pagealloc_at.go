package allocator

// takeAt takes the order-order block at pfn out of wherever it lies free,
// for a replayed trace that puts a page where the traced kernel had it: a
// block of that order on a pcp list comes off it; otherwise the free block
// holding pfn leaves its list and is halved down to pfn's block as
// expand() halves, except that at each split the half without pfn goes
// back, to the tail of its order's list of the block's type (so that the
// machine's own allocations, which take list heads, reach it last). It
// returns the order of the free block it came from (-1: a pcp list) and
// false, changing nothing, when no free block holds the block at pfn.
// Watermarks are not consulted: the traced kernel already decided.
func (n *pageNode) takeAt(pfn uint64, order int) (int, bool) {
	if order < 0 || order > MaxPageOrder || pfn&(1<<order-1) != 0 || pfn+1<<order > n.endPFN {
		return 0, false
	}
	if st := &n.pfns[pfn]; st.kind == pfnPCP {
		if int(st.order) != order {
			return 0, false
		}
		z := n.zoneOf(pfn)
		p := &z.pcp[st.cpu]
		n.listDel(&p.lists[st.list], pfn)
		p.Count -= 1 << order
		st.kind = pfnNone
		n.lastFrom = -1
		return -1, true
	}
	from, head := order, pfn
	for ; from <= MaxPageOrder; from++ {
		head = pfn &^ (1<<from - 1)
		if st := &n.pfns[head]; st.kind == pfnBuddy && int(st.order) == from {
			break
		}
	}
	if from > MaxPageOrder {
		return 0, false
	}
	z := n.zoneOf(head)
	mt := MigrateType(n.pfns[head].list)
	n.delFromFreeList(z, head, from)
	var added uint64
	for high := from; high > order; high-- {
		half := uint64(1) << (high - 1)
		keep, other := head, head+half
		var upper uint64
		if pfn >= other {
			keep, other, upper = other, head, 1
		}
		n.step(pageStep{Kind: stepSplit, Zone: z.t, MT: mt, Order: int8(high), PFN: head, Aux: upper})
		n.addToFreeList(z, other, high-1, mt, true)
		added += half
		head = keep
	}
	z.accountFreepages(-int64(1<<from)+int64(added), mt)
	n.lastFrom = from
	return from, true
}

// refillAt puts the free order-order block at pfn at the tail of cpu's
// pcp list for mt, as rmqueue_bulk() does with each block it takes: what
// a replayed mm_page_alloc_zone_locked with percpu_refill=1 did in the
// traced kernel. The caller has checked that the lists hold order and
// mt and that cpu exists (Machine.PCPRefillAt). It returns false, changing
// nothing, when no free block holds the block (takeAt: one on a pcp list
// already is not free).
func (n *pageNode) refillAt(pfn uint64, order int, mt MigrateType, cpu int) bool {
	if pfn >= n.endPFN || n.pfns[pfn].kind == pfnPCP {
		return false
	}
	if _, ok := n.takeAt(pfn, order); !ok {
		return false
	}
	z := n.zoneOf(pfn)
	p := &z.pcp[cpu]
	pindex := orderToPindex(mt, order)
	st := &n.pfns[pfn]
	st.kind, st.order, st.list, st.cpu = pfnPCP, int8(order), uint8(pindex), uint8(cpu)
	n.listAdd(&p.lists[pindex], pfn, true)
	p.Count += 1 << order
	n.step(pageStep{Kind: stepPCPAdd, Zone: z.t, MT: n.blockType(pfn), Order: int8(order), CPU: cpu, PFN: pfn})
	return true
}

// drainAt sends the order-order block at pfn from the pcp list holding it
// to the buddy allocator, as free_pcppages_bulk() does with each block it
// drains (with the merges __free_one_page() makes): what a replayed
// mm_page_pcpu_drain did. It returns false, changing nothing, when the
// block is not on a pcp list.
func (n *pageNode) drainAt(pfn uint64, order int) bool {
	if order < 0 || pfn >= n.endPFN {
		return false
	}
	st := &n.pfns[pfn]
	if st.kind != pfnPCP || int(st.order) != order {
		return false
	}
	z := n.zoneOf(pfn)
	cpu := int(st.cpu)
	p := &z.pcp[cpu]
	mt := n.blockType(pfn)
	n.listDel(&p.lists[st.list], pfn)
	st.kind = pfnNone
	p.Count -= 1 << order
	n.step(pageStep{Kind: stepPCPDrain, Zone: z.t, MT: mt, Order: int8(order), CPU: cpu, PFN: pfn})
	n.freeOneBuddy(z, pfn, order, mt, false)
	return true
}

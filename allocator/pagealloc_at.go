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

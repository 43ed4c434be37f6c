package allocator

import (
	"errors"
	"fmt"
)

// This file has what replaying a real kernel's trace needs beyond the
// calls scripts make: a page allocation where the trace had it, a vmalloc
// with the trace's alignment and caller, and the lazy purge the trace
// records.

// splitKeepsUpper is the Path of an EvSplit whose lower half goes to the
// free list while the upper half is split further or handed out (the
// buddy allocator's own splits keep the lower half).
const splitKeepsUpper = "upper"

// ErrNotFree is returned by AllocPagesAt when the block asked for is not
// free.
var ErrNotFree = errors.New("not free")

// AllocPagesAt allocates the order-order block at pfn, which must lie in
// a free block: that block is split down to it (each split's other half
// goes back on its free list) and the block is handed out as AllocPages
// hands out one. It is how a replayed trace puts a page where the traced
// kernel had it; why says so in the event. When the block is not free
// (the machine's own allocations took it), or pfn is not aligned to
// order, it returns an error matching ErrNotFree and changes nothing.
func (m *Machine) AllocPagesAt(pfn uint64, order int, gfp GFP, why string) (Addr, error) {
	if order < 0 || order > MaxPageOrder || pfn&(1<<order-1) != 0 || pfn+1<<order > m.nrPages {
		return 0, fmt.Errorf("%w: no order-%d block at pfn %#x", ErrNotFree, order, pfn)
	}
	from := order
	head := pfn
	for ; from <= MaxPageOrder; from++ {
		head = pfn &^ (1<<from - 1)
		if p := &m.pages[head]; p.flags&pgBuddy != 0 && int(p.order) == from {
			break
		}
	}
	if from > MaxPageOrder || head+1<<from > m.nrPages {
		return 0, fmt.Errorf("%w: pfn %#x is in use", ErrNotFree, pfn)
	}
	m.delFree(head, from)
	// Halve the free block down to the one asked for: at each split the
	// half without pfn goes back on its free list, at the tail, so that
	// the machine's own allocations (which take the head) reach the
	// replay's part of RAM last.
	for high := from; high > order; high-- {
		half := uint64(1) << (high - 1)
		upper := head + half
		keep, other := head, upper
		path := ""
		if pfn >= upper {
			keep, other = upper, head
			path = splitKeepsUpper
		}
		m.emit(Event{Kind: EvSplit, PFN: head, Order: high, Path: path})
		m.pages[upper].since = m.seq // the upper half is a block of its own now; the lower one keeps its record's age
		m.pages[other].head = uint32(other)
		m.addFree(other, high-1, true)
		head = keep
	}
	var text string
	if m.tracing() {
		t := m.text().str("order-").dec(order).str(" block at pfn ").hex(pfn)
		if from > order {
			t.str(", split out of the free order-").dec(from).str(" block at pfn ").hex(pfn &^ (1<<from - 1))
		} else {
			t.str(", a free block of its own")
		}
		text = t.str(": ").str(why).String()
	}
	m.prepBlock(pfn, order, gfp, OwnerPages, text)
	return m.PFNAddr(pfn), nil
}

// VmallocCaller is __vmalloc_node_range(size, align, gfp) with caller as
// the area's caller in /proc/vmallocinfo: what a replayed
// alloc_vmap_area makes.
func (m *Machine) VmallocCaller(size, align uint64, gfp GFP, caller string) (Addr, error) {
	return m.vmallocNodeRange(size, align, gfp, 0, caller)
}

// PurgeVmapAreaLazy is purge_vmap_area_lazy(): every lazily freed area's
// address range is free again. why says who asked.
func (m *Machine) PurgeVmapAreaLazy(why string) { m.purgeLazy(why) }

// SlabPagesAllocated returns how many pages SLUB has allocated for slabs
// since boot, freed ones included: what a replay compares with the slab
// pages the traced kernel allocated.
func (m *Machine) SlabPagesAllocated() uint64 { return m.slub.slabPages }

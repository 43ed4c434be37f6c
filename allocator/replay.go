package allocator

import (
	"errors"
	"fmt"
	"strconv"
)

// This file has what replaying a real kernel's trace needs beyond the
// calls scripts make: a page allocation where the trace had it, a vmalloc
// with the trace's alignment and caller, the lazy purge the trace
// records, and the synthetic free of what the trace allocates again
// without having traced its free.

// ErrNotFree is returned by AllocPagesAt when the block asked for is not
// free.
var ErrNotFree = errors.New("not free")

// AllocPagesAt allocates the order-order block at pfn, which must be
// free: on a pcp list as a block of that order, or inside a free block of
// the buddy lists. That block is split down to it (each split's other
// half goes back on its free list, of the block's migrate type, at the
// tail) and the block is handed out as AllocPages hands out one, whatever
// its zone and pageblock type: the traced kernel already chose them, so
// no watermark is consulted and no pageblock changes type (pageNode.takeAt).
// It is how a replayed trace puts a page where the traced kernel had it;
// why says so in the event. When the block is not free (the machine's own
// allocations took it), or pfn is not aligned to order, it returns an
// error matching ErrNotFree and changes nothing.
func (m *Machine) AllocPagesAt(pfn uint64, order int, gfp GFP, why string) (Addr, error) {
	if order < 0 || order > MaxPageOrder || pfn&(1<<order-1) != 0 || pfn+1<<order > m.nrPages {
		return 0, fmt.Errorf("%w: no order-%d block at pfn %#x", ErrNotFree, order, pfn)
	}
	m.pn.tracing = m.tracing()
	from, ok := m.pn.takeAt(pfn, order)
	if !ok {
		m.pn.steps = m.pn.steps[:0]
		return 0, fmt.Errorf("%w: pfn %#x is in use", ErrNotFree, pfn)
	}
	m.pn.markInUse(pfn, order)
	var whyID StrID
	if m.tracing() {
		whyID = m.str(why)
		if whyID == 0 {
			whyID = phPlaced
		}
	}
	m.prepBlock(pfn, order, gfp, OwnerPages, from, whyID)
	return m.PFNAddr(pfn), nil
}

// PCPRefillAt is a replayed mm_page_alloc_zone_locked with
// percpu_refill=1: the free order-order block at pfn leaves the buddy free
// lists (split down to it as AllocPagesAt splits) for the tail of CPU
// cpu's pcp list of migrate type mt, as rmqueue_bulk() puts each block it
// takes; an EvPCPRefill records it. The allocation that takes the block
// later (AllocPagesAt) takes it off that list. The error matches
// ErrNotFree, with nothing changed, when no free block holds the block
// (allocviz's own allocations took it) or it is on a pcp list already,
// and ErrBadSize for an order or type the pcp lists do not hold.
func (m *Machine) PCPRefillAt(pfn uint64, order int, mt MigrateType, cpu int) error {
	if order < 0 || order > MaxPageOrder || !pcpAllowedOrder(order, m.pageSize) || mt >= MigratePCPTypes {
		return fmt.Errorf("%w: the pcp lists hold no order-%d %v blocks", ErrBadSize, order, mt)
	}
	if cpu < 0 || cpu >= m.cfg.CPUs {
		return fmt.Errorf("%w: no CPU %d", ErrBadSize, cpu)
	}
	m.pn.tracing = m.tracing()
	if !m.pn.refillAt(pfn, order, mt, cpu) {
		m.pn.steps = m.pn.steps[:0]
		return fmt.Errorf("%w: no free order-%d block at pfn %#x", ErrNotFree, order, pfn)
	}
	if m.pn.tracing {
		m.emitSteps(OwnerFree, 0, -1)
	}
	return nil
}

// PCPDrainAt is a replayed mm_page_pcpu_drain: the order-order block at
// pfn leaves the pcp list that holds it for the buddy allocator, merging
// as free_pcppages_bulk() frees each block; an EvPCPDrain and its
// EvMerges record it. The error matches ErrNotFree, with nothing
// changed, when the block is on no pcp list (allocviz's own drains, by
// its high and batch, sent it back already).
func (m *Machine) PCPDrainAt(pfn uint64, order int) error {
	m.pn.tracing = m.tracing()
	if !m.pn.drainAt(pfn, order) {
		m.pn.steps = m.pn.steps[:0]
		return fmt.Errorf("%w: no order-%d block at pfn %#x on a pcp list", ErrNotFree, order, pfn)
	}
	if m.pn.tracing {
		m.emitSteps(OwnerFree, pfn, order)
	}
	return nil
}

// TraceLine is where a replayed trace's line came from: its step's Src
// (File:Line) and Label (TS, Task-PID, CPU and CallSite), as
// Machine.BeginTraceStep records them.
type TraceLine struct {
	File     string
	Line     int   // 1-based
	TS       int64 // nanoseconds on the trace clock
	Task     string
	PID      int32
	CPU      int // the traced kernel's CPU
	CallSite string
}

// AppendTraceLabel appends the label of a trace's line as the event log
// shows it: "2422.856103 ls-5302 [000] getname_flags.part.0+0x24/0x1f0",
// the time in seconds to the microsecond as ftrace prints it, the CPU in
// three digits, and the call site when the line has one.
func AppendTraceLabel(b []byte, ts int64, task string, pid int32, cpu int, callSite string) []byte {
	b = strconv.AppendInt(b, ts/1e9, 10)
	us := (ts % 1e9) / 1e3
	b = append(b, '.')
	for d := int64(100000); d > 1 && us < d; d /= 10 {
		b = append(b, '0')
	}
	b = strconv.AppendInt(b, us, 10)
	b = append(append(b, ' '), task...)
	b = strconv.AppendInt(append(b, '-'), int64(pid), 10)
	b = append(b, " ["...)
	for d := 100; d > 1 && cpu < d; d /= 10 {
		b = append(b, '0')
	}
	b = append(strconv.AppendInt(b, int64(cpu), 10), ']')
	if callSite != "" {
		b = append(append(b, ' '), callSite...)
	}
	return b
}

// phPlaced is the why of a block AllocPagesAt placed without saying why.
var phPlaced = phrase("placed by AllocPagesAt")

// VmallocCaller is __vmalloc_node_range(size, align, gfp) with caller as
// the area's caller in /proc/vmallocinfo (a trace's line as
// SourceCaller prints it): what a replayed alloc_vmap_area makes.
func (m *Machine) VmallocCaller(size, align uint64, gfp GFP, caller string) (Addr, error) {
	return m.vmallocNodeRange(size, align, gfp, 0, vmCaller{fn: "vmalloc", ret: caller})
}

// PurgeVmapAreaLazy is purge_vmap_area_lazy(): every lazily freed area's
// address range is free again. why says who asked.
func (m *Machine) PurgeVmapAreaLazy(why string) { m.purgeLazy(why) }

// SlabPagesAllocated returns how many pages SLUB has allocated for slabs
// since boot, freed ones included: what a replay compares with the slab
// pages the traced kernel allocated.
func (m *Machine) SlabPagesAllocated() uint64 { return m.slub.slabPages }

// FreeSynthetic frees the live allocation that starts at addr, whatever
// made it, as a replay does when its trace allocates the memory again
// without having traced its free (kfree_rcu and a sheaf's bulk free trace
// no per-object free): a slab object goes back to its cache as
// kmem_cache_free does, a large kmalloc as kfree does, a block of
// alloc_pages as free_pages of its order, a vmalloc area as vfree. The
// free's own event (EvObjFree, EvPageFree or EvVmapFree: the first of
// the kinds the kind table lets be marked) is marked Synthetic with why,
// and its sentence ends with it. Anything else at addr is refused as the
// matching free would refuse it.
func (m *Machine) FreeSynthetic(addr Addr, why string) error {
	start := 0
	if m.log != nil {
		start = m.log.Len()
	}
	var err error
	switch pfn, ok := m.AddrPFN(addr); {
	case m.IsVmallocAddr(addr):
		err = m.Vfree(addr)
	case !ok:
		err = m.Kfree(addr) // reported as kfree reports it
	default:
		h := &m.pages[m.pages[pfn].head]
		switch {
		case h.owner == OwnerSlab && h.slab != nil:
			err = m.KmemCacheFree(h.slab.cache, addr)
		case h.owner == OwnerPages && h.flags&pgHead != 0:
			err = m.FreePages(addr, int(m.pages[pfn].order))
		default:
			err = m.Kfree(addr)
		}
	}
	if err != nil || m.log == nil {
		return err
	}
	for i := start; i < m.log.Len(); i++ {
		if kinds[m.log.At(i).Kind()].synthetic {
			m.log.markSynthetic(i, m.str(why))
			break
		}
	}
	return nil
}

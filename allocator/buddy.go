package allocator

import (
	"fmt"
	"strings"
)

// Owner says who holds a page frame.
type Owner uint8

// Owners. A page moves Free -> (Pages | Slab | LargeKmalloc | Vmalloc) on
// allocation and back to Free on free, by way of a CPU's pcp list (PCP)
// for the orders those lists hold; Reserved and Hole pages never change.
const (
	OwnerFree         Owner = iota // on a buddy free list
	OwnerReserved                  // reserved at boot (the low 1 MiB)
	OwnerPages                     // alloc_pages by a caller
	OwnerSlab                      // a slab of some kmem_cache
	OwnerLargeKmalloc              // a kmalloc above KMALLOC_MAX_CACHE_SIZE
	OwnerVmalloc                   // a page behind a vmalloc area
	OwnerPCP                       // on a CPU's per-CPU page list: freed, but not free
	OwnerHole                      // no RAM: the PCI hole below 4 GiB
	numOwners
)

// NumOwners is the number of Owner values.
const NumOwners = int(numOwners)

var ownerNames = [numOwners]string{"free", "reserved", "pages", "slab", "large kmalloc", "vmalloc", "pcp", "hole"}

func (o Owner) String() string {
	if o < numOwners {
		return ownerNames[o]
	}
	return "unknown"
}

// pageFlags are the bits of a page record that matter to its owner. Free
// and pcp blocks have none; the page allocator (pageNode) keeps their
// lists and orders.
type pageFlags uint8

const (
	pgHead     pageFlags = 1 << iota // first page of an allocated block of page.order
	pgTail                           // a later page of an allocated block headed by page.head
	pgReserved                       // reserved at boot, or no RAM
	pgCompound                       // part of a block allocated with __GFP_COMP
)

// page is the struct page analogue: one per page frame.
type page struct {
	flags pageFlags
	order int8    // order of the allocated block this page heads (pgHead pages)
	owner Owner   // who holds the page; OwnerFree when free or on a pcp list
	head  uint32  // pfn of the first page of the allocated block this page is in
	since uint64  // Seq of the event that gave the page its current state
	slab  *slab   // the slab this page is part of (OwnerSlab), else nil
	area  *vmArea // the vmap area this page is mapped into (OwnerVmalloc), else nil
}

// reservedBytes is how much low memory boot reserves: x86 has kept the
// whole first megabyte away from the page allocator since Linux 5.13
// ("x86/setup: Always reserve the first 1M of RAM"), for the BIOS, the real
// mode trampoline and firmware quirks.
const reservedBytes = 1 * MiB

// bootBuddy lays out the zones and reserves the low pages, then hands the
// rest of RAM to the page allocator (newPageNode: the largest aligned
// blocks, ascending, each freed to the tail as __free_pages_core() does
// with FPI_TO_TAIL, so the lowest free address is handed out first), and
// records the zones' sizes and watermarks.
func (m *Machine) bootBuddy() {
	m.pages = make([]page, m.nrPages)
	m.reserved = reservedBytes / m.pageSize
	if m.reserved > m.ramPages/4 {
		m.reserved = m.ramPages / 4
	}
	m.emit(record{kind: EvBoot, size: uint64(m.cfg.RAM), n: int32(m.pageSize),
		s1: m.strf("booted %s of RAM in %d pages of %s, %d cpus, kernel profile %s",
			FormatBytes(uint64(m.cfg.RAM)), m.ramPages, FormatBytes(m.pageSize), m.cfg.CPUs, m.cfg.Profile)})
	for pfn := uint64(0); pfn < m.reserved; pfn++ {
		m.pages[pfn] = page{flags: pgReserved, owner: OwnerReserved, head: uint32(pfn)}
	}
	m.emit(record{kind: EvReserve, pfn: 0, n: int32(m.reserved), b: uint8(OwnerReserved),
		s1: m.strf("reserved pfn 0x0-%#x (%s): x86 keeps the first megabyte from the page allocator", m.reserved-1, FormatBytes(m.reserved*m.pageSize))})
	if hole := ramRanges(uint64(m.cfg.RAM), m.pageSize); len(hole) > 1 {
		lo, hi := hole[0].end, hole[1].start
		for pfn := lo; pfn < hi; pfn++ {
			m.pages[pfn] = page{flags: pgReserved, owner: OwnerHole, head: uint32(pfn)}
		}
		m.emit(record{kind: EvReserve, pfn: uint32(lo), n: int32(hi - lo), b: uint8(OwnerHole),
			s1: m.strf("pfn %#x-%#x (%s) is no RAM: the PCI hole below 4 GiB; RAM above 3 GiB starts at 4 GiB", lo, hi-1, FormatBytes((hi-lo)*m.pageSize))})
	}
	m.pn = newPageNode(pageNodeConfig{RAM: uint64(m.cfg.RAM), PageSize: m.pageSize, CPUs: m.cfg.CPUs, Reserved: m.reserved, Trace: true})
	for pfn := uint64(0); pfn < m.nrPages; pfn++ {
		if p := &m.pages[pfn]; p.flags == 0 {
			p.head = uint32(pfn)
		}
	}
	m.emitSteps(OwnerFree, 0, -1)
	m.pn.tracing = false
	for i := range m.pages {
		m.pages[i].since = m.seq
	}
	for _, z := range m.pn.zones {
		if !z.span.Populated() {
			continue
		}
		m.emit(record{kind: EvZone, b: uint8(z.t), pfn: uint32(z.span.StartPFN), size: z.span.Spanned, bytes: z.span.Present,
			n: int32(z.managed), s1: m.strf("zone %v: pfn %#x-%#x, %d pages present, %d managed; watermarks min %d, low %d, high %d (min_free_kbytes %d); protection %v; pcp batch %d, high %d..%d per cpu; pageblocks of %d pages%s",
				z.t, z.span.StartPFN, z.span.EndPFN()-1, z.span.Present, z.managed, z.wm.Mark[WmarkMin], z.wm.Mark[WmarkLow], z.wm.Mark[WmarkHigh],
				m.pn.minFreeKbytes, z.wm.LowmemReserve, z.pcp[0].Batch, z.pcp[0].HighMin, z.pcp[0].HighMax, 1<<m.pn.pbOrder,
				map[bool]string{true: "; mobility grouping off: fewer usable pages than a pageblock per migrate type, so every allocation is Unmovable", false: ""}[m.pn.mobilityOff])})
	}
}

// emitSteps turns what the page allocator just did into events. prev is
// the owner of the block being freed at pfn (order; -1: none), OwnerFree
// at boot. A block larger than a pageblock is freed a pageblock at a time
// and merged back (split_large_buddy()); its events show it freed whole.
func (m *Machine) emitSteps(prev Owner, freed uint64, order int) {
	n := m.pn
	if !m.tracing() {
		n.steps = n.steps[:0]
		return
	}
	steps := n.steps
	for i := 0; i < len(steps); i++ {
		s := &steps[i]
		switch s.Kind {
		case stepSplit:
			m.putWords(m.head(EvSplit, s.Order, uint8(s.MT), 0, uint32(s.PFN), int32(s.Aux), 0, 0), 0, 0, 0)
			m.pages[s.PFN+1<<(s.Order-1)].since = m.seq
		case stepMerge:
			if int(s.Order) < order && s.PFN>>order == freed>>order {
				continue // inside the block freed whole
			}
			m.putWords(m.head(EvMerge, s.Order, uint8(s.MT), 0, uint32(s.PFN), 0, 0, 0), 0, 0, 0)
			m.touch(s.PFN&^(1<<s.Order), int(s.Order)+1)
		case stepClaim:
			m.emit(record{kind: EvClaim, pfn: uint32(s.PFN), order: s.Order, b: uint8(s.MT), n: int32(s.Aux)})
		case stepSteal:
			m.emit(record{kind: EvSteal, pfn: uint32(s.PFN), order: s.Order, b: uint8(s.MT), n: int32(s.Aux)})
		case stepPageblock:
			m.emit(record{kind: EvPageblock, pfn: uint32(s.PFN), b: uint8(s.MT), n: int32(s.Aux)})
		case stepPCPAdd:
			m.putWords(m.head(EvPCPRefill, s.Order, uint8(s.MT), 0, uint32(s.PFN), int32(s.CPU), 0, 0), 0, 0, 0)
			m.touch(s.PFN, int(s.Order))
		case stepPCPDrain:
			m.putWords(m.head(EvPCPDrain, s.Order, uint8(s.MT), 0, uint32(s.PFN), int32(s.CPU), 0, 0), 0, 0, 0)
			m.touch(s.PFN, int(s.Order))
			// The block's own __free_one_page() follows: its merges are
			// the drain's.
			if i+1 < len(steps) && steps[i+1].Kind == stepBuddyFree {
				i++
			}
		case stepDrainAll:
			m.emit(record{kind: EvDrainAll})
		case stepPCPFree:
			m.putWords(m.head(EvPageFree, s.Order, uint8(prev), 0, uint32(s.PFN), -1, 0, 0), m.PFNAddr(s.PFN), 0, 0)
			m.touch(s.PFN, int(s.Order))
		case stepBuddyFree:
			if order > int(s.Order) && prev != OwnerFree {
				if s.PFN != freed {
					continue // a later piece of the block freed whole
				}
				final := order
				for j := i + 1; j < len(steps); j++ {
					if steps[j].Kind == stepMerge && int(steps[j].Order) >= order {
						final = int(steps[j].Order) + 1
					}
				}
				m.putWords(m.head(EvPageFree, int8(order), uint8(prev), 0, uint32(freed), int32(final), 0, 0), m.PFNAddr(freed), 0, 0)
				m.touch(freed, order)
				continue
			}
			final := int(s.Order)
			for j := i + 1; j < len(steps) && (steps[j].Kind == stepMerge || steps[j].Kind == stepPageblock); j++ {
				if steps[j].Kind == stepMerge {
					final++
				}
			}
			var addr Addr
			if prev != OwnerFree {
				addr = m.PFNAddr(s.PFN)
			}
			m.putWords(m.head(EvPageFree, s.Order, uint8(prev), 0, uint32(s.PFN), int32(final), 0, 0), addr, 0, 0)
			m.touch(s.PFN, int(s.Order))
		}
	}
	n.steps = n.steps[:0]
}

// touch marks the pages of a block as changed by the last event.
func (m *Machine) touch(pfn uint64, order int) {
	for i := uint64(0); i < 1<<order; i++ {
		m.pages[pfn+i].since = m.seq
	}
}

// AllocPages is alloc_pages(gfp, order): a block of 1<<order page frames,
// returned as its direct-map address. On failure it returns a
// *PageAllocError (which matches ErrNoMemory) and changes nothing.
func (m *Machine) AllocPages(order int, gfp GFP) (Addr, error) {
	pfn, err := m.allocPages(order, gfp, OwnerPages)
	if err != nil {
		return 0, err
	}
	return m.PFNAddr(pfn), nil
}

// allocPages is __alloc_pages(): the page allocator (pageNode.alloc: the
// zonelist, watermarks, pcp lists, free lists and fallbacks) finds the
// block; its pages are then marked for owner.
func (m *Machine) allocPages(order int, gfp GFP, owner Owner) (uint64, error) {
	if order < 0 || order > MaxPageOrder {
		return 0, m.pageAllocFailed(order, gfp, nil)
	}
	if m.fi.on {
		// prepare_alloc_pages(): should_fail_alloc_page() (faultinject.go).
		if err := m.shouldFailAllocPage(order, gfp); err != nil {
			return 0, err
		}
	}
	m.pn.tracing = m.tracing()
	pfn, _, fail := m.pn.alloc(order, gfp, m.cpu)
	if fail != nil {
		return 0, m.pageAllocFailed(order, gfp, fail)
	}
	m.pn.markInUse(pfn, order)
	m.prepBlock(pfn, order, gfp, owner, m.pn.lastFrom, 0)
	return pfn, nil
}

// prepBlock hands out the block at pfn, already off the page allocator's
// lists: its page records say who owns it, __GFP_ZERO clears it, and
// EvPageAlloc records it (after the page allocator's own steps) with from,
// the order of the free block it was split from (-1: a pcp list), and
// why, the reason AllocPagesAt placed it (0 for alloc_pages).
func (m *Machine) prepBlock(pfn uint64, order int, gfp GFP, owner Owner, from int, why StrID) {
	p := &m.pages[pfn]
	p.flags = pgHead
	if gfp&GFPComp != 0 {
		p.flags |= pgCompound
	}
	p.order = int8(order)
	p.owner = owner
	p.head = uint32(pfn)
	tailFlags := pgTail | p.flags&pgCompound
	for i := uint64(1); i < 1<<order; i++ {
		t := &m.pages[pfn+i]
		t.flags, t.order, t.owner, t.head = tailFlags, 0, owner, uint32(pfn)
		t.slab, t.area = nil, nil
	}
	if gfp.Zero() {
		clear(m.pfnBytes(pfn, 1<<order))
	}
	if m.tracing() {
		if len(m.pn.steps) > 0 {
			m.emitSteps(OwnerFree, 0, -1)
		}
		m.putWords(m.head(EvPageAlloc, int8(order), uint8(owner), gfp, uint32(pfn), int32(from), 0, why), m.PFNAddr(pfn), 0, m.pageSize<<order)
	}
	for i := uint64(0); i < 1<<order; i++ {
		m.pages[pfn+i].since = m.seq
	}
}

// pageAllocFailed reports a failed allocation: an order above
// MAX_PAGE_ORDER warns once (WARN_ON_ONCE_GFP in __alloc_pages_noprof());
// any other failure is warn_alloc()'s "page allocation failure" unless
// __GFP_NOWARN, as rate-limited as the kernel's (a burst of 10, then
// silence: allocviz has no clock to end the 5-second interval).
func (m *Machine) pageAllocFailed(order int, gfp GFP, fail *pageAllocFailure) error {
	err := &PageAllocError{Order: order, Largest: m.largestFreeOrder(), GFP: gfp}
	if fail != nil {
		err.Reason = m.failureRule(order, gfp, fail)
	}
	if m.tracing() {
		m.emitSteps(OwnerFree, 0, -1)
		m.emit(record{kind: EvPageFail, size: uint64(int64(order)), gfp: gfp, n: int32(err.Largest), s1: m.str(err.Error())})
	}
	if gfp.NoWarn() {
		return err
	}
	if order > MaxPageOrder || order < 0 {
		if !m.warnedOrder {
			m.warnedOrder = true
			m.warn(fmt.Sprintf("WARNING: mm/page_alloc.c: __alloc_pages_noprof: order %d > MAX_PAGE_ORDER (%d) (WARN_ON_ONCE: later calls are silent)", order, MaxPageOrder))
		}
		return err
	}
	if m.warnAllocShown < warnAllocBurst {
		m.warnAllocShown++
		m.warn(fmt.Sprintf("allocviz: page allocation failure: order:%d, mode:%#x(%v), nodemask=(null)", order, uint32(gfp), gfp))
	} else {
		m.warnAllocSuppressed++
	}
	return err
}

// warnAllocBurst is DEFAULT_RATELIMIT_BURST, the warn_alloc() messages
// allowed per DEFAULT_RATELIMIT_INTERVAL (5 s).
const warnAllocBurst = 10

// failureRule says why the page allocator found no block: the zones it
// tried and the watermark each was below, or that no free block was big
// enough; and that allocviz has no reclaim, compaction or OOM killer to
// make room.
func (m *Machine) failureRule(order int, gfp GFP, f *pageAllocFailure) string {
	if f.BadZone {
		return fmt.Sprintf("%v asks for two zones at once (GFP_ZONE_BAD)", gfp)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "no order-%d block for %v", order, gfp)
	for _, w := range f.Wmarks {
		if w.NoBlock {
			fmt.Fprintf(&b, "; %v has %d free pages, none in a block of order %d or above", w.Zone, w.Free, order)
			continue
		}
		fmt.Fprintf(&b, "; %v has %d free pages, not above %d (its %s watermark %d as %s may use it, + lowmem_reserve %d)",
			w.Zone, w.Free, w.Limit, wmarkNames[w.Wmark], w.Mark, gfp, w.Reserve)
	}
	if len(f.Wmarks) == 0 {
		b.WriteString("; no zone it may use has a free block of that order")
	}
	b.WriteString("; allocviz has no reclaim, compaction or OOM killer to free memory, so it fails")
	return b.String()
}

// DrainAllPages is drain_all_pages(NULL): every CPU's pcp lists go back
// to the buddy allocator, where their blocks merge.
func (m *Machine) DrainAllPages() {
	m.pn.tracing = m.tracing()
	m.pn.drainAllPages()
	m.emitSteps(OwnerFree, 0, -1)
}

// largestFreeOrder returns the highest order with a free block in any
// zone, or -1.
func (m *Machine) largestFreeOrder() int {
	for o := MaxPageOrder; o >= 0; o-- {
		for _, z := range m.pn.zones {
			if z.nrFree[o] > 0 {
				return o
			}
		}
	}
	return -1
}

// FreePages is free_pages(addr, order). A free that does not match an
// allocated block of that order made by alloc_pages is reported as an
// event and returned as an error, and nothing changes.
func (m *Machine) FreePages(addr Addr, order int) error {
	pfn, ok := m.AddrPFN(addr)
	if !ok || addr != m.PFNAddr(pfn) {
		return m.badFree(addr, 0, order, ErrInvalidFree, fmt.Sprintf("free_pages: %v is not the address of a page frame in RAM; not freed", addr))
	}
	p := &m.pages[pfn]
	switch {
	case p.flags&pgReserved != 0:
		return m.badFree(addr, pfn, order, ErrInvalidFree, fmt.Sprintf("BUG: Bad page state in process allocviz  pfn:%05x: page is reserved; not freed", pfn))
	case p.owner == OwnerFree:
		return m.badFree(addr, pfn, order, ErrDoubleFree, fmt.Sprintf("BUG: Bad page state in process allocviz  pfn:%05x: page is already free (double free); not freed", pfn))
	case p.flags&pgHead == 0:
		return m.badFree(addr, pfn, order, ErrInvalidFree, fmt.Sprintf("free_pages: pfn %#x is inside the order-%d block at pfn %#x, not its first page; not freed", pfn, m.pages[p.head].order, p.head))
	case int(p.order) != order:
		return m.badFree(addr, pfn, order, ErrInvalidFree, fmt.Sprintf("free_pages: pfn %#x heads an order-%d block, not order %d; not freed", pfn, p.order, order))
	case p.owner != OwnerPages:
		return m.badFree(addr, pfn, order, ErrInvalidFree, fmt.Sprintf("free_pages: pfn %#x belongs to %s, not to alloc_pages; not freed", pfn, m.describeOwner(pfn)))
	}
	m.freePages(pfn, order)
	return nil
}

func (m *Machine) badFree(addr Addr, pfn uint64, order int, kind error, text string) error {
	m.emit(record{kind: EvBadFree, addr: addr, pfn: uint32(pfn), size: uint64(int64(order)), s1: m.str(text)})
	return fmt.Errorf("%w: %s", kind, text)
}

// describeOwner names who holds pfn, for reports.
func (m *Machine) describeOwner(pfn uint64) string {
	return m.pages[m.pages[pfn].head].owner.String()
}

// freePages is free_pages() after the checks: the pages lose their owner
// and the page allocator takes the block (pageNode.free: a pcp list for
// the orders those lists hold, else the buddy lists with its merges).
func (m *Machine) freePages(pfn uint64, order int) {
	p := &m.pages[pfn]
	if p.flags&pgHead == 0 || int(p.order) != order {
		throw("freePages", fmt.Sprintf("pfn %#x is not an allocated order-%d block", pfn, order))
	}
	prev := p.owner
	for i := uint64(0); i < 1<<order; i++ {
		m.pages[pfn+i] = page{owner: OwnerFree, head: uint32(pfn + i)}
	}
	m.pn.tracing = m.tracing()
	m.pn.free(pfn, order, m.cpu)
	if m.pn.tracing {
		m.emitSteps(prev, pfn, order)
	}
}

// PFNAddr returns pfn's direct-map address.
func (m *Machine) PFNAddr(pfn uint64) Addr { return DirectMapBase + Addr(pfn<<m.pageShift) }

// AddrPFN returns the page frame behind a direct-map address.
func (m *Machine) AddrPFN(a Addr) (uint64, bool) {
	if a < DirectMapBase {
		return 0, false
	}
	pfn := uint64(a-DirectMapBase) >> m.pageShift
	return pfn, pfn < m.nrPages
}

// pfnBytes is the memory of n page frames from pfn, through the direct map.
func (m *Machine) pfnBytes(pfn, n uint64) []byte {
	return m.mem.ram[pfn<<m.pageShift : (pfn+n)<<m.pageShift : (pfn+n)<<m.pageShift]
}

// PageBytes returns the memory of one page frame as a []byte view of RAM.
// Views of the same pfn share their bytes.
func (m *Machine) PageBytes(pfn uint64) []byte {
	if pfn >= m.nrPages {
		return nil
	}
	return m.pfnBytes(pfn, 1)
}

// FreeCounts returns the number of free blocks per order, all zones and
// migrate types added up.
func (m *Machine) FreeCounts() [NrPageOrders]uint64 {
	var c [NrPageOrders]uint64
	for _, z := range m.pn.zones {
		for o := range c {
			c[o] += z.nrFree[o]
		}
	}
	return c
}

// FreePageCount returns the number of free page frames (NR_FREE_PAGES of
// every zone: pages on pcp lists are not free).
func (m *Machine) FreePageCount() uint64 {
	var n uint64
	for _, z := range m.pn.zones {
		n += z.freePgs
	}
	return n
}

// IdlePages returns the pages nobody holds: the free pages and the pages
// on pcp lists. Freeing an allocation gives back exactly its pages to this
// count, where FreePageCount also moves with pcp refills and drains.
func (m *Machine) IdlePages() uint64 { return m.FreePageCount() + m.PCPPageCount() }

// PCPPageCount returns the pages on every CPU's pcp lists.
func (m *Machine) PCPPageCount() uint64 {
	var n uint64
	for _, z := range m.pn.zones {
		for _, p := range z.pcp {
			n += uint64(p.Count)
		}
	}
	return n
}

// FreeBlocks returns the pfns on the order's free lists, zone by zone from
// DMA up and migrate type by type, each list first to be handed out first.
func (m *Machine) FreeBlocks(order int) []uint64 {
	var out []uint64
	for t := range m.pn.zones {
		z := &m.pn.zones[t]
		for mt := range z.free[order] {
			for i := z.free[order][mt].head; i >= 0; i = m.pn.pfns[i].next {
				out = append(out, uint64(i))
			}
		}
	}
	return out
}

// Zones snapshots every zone: what /proc/buddyinfo, /proc/pagetypeinfo and
// /proc/zoneinfo show.
func (m *Machine) Zones() []ZoneStats {
	zs := m.pn.stats()
	for i := range zs {
		if zs[i].Counters == nil {
			zs[i].Counters = map[string]uint64{}
		}
	}
	return zs
}

// Buddyinfo renders /proc/buddyinfo (mm/vmstat.c frag_show_print()): a
// line per populated zone.
func (m *Machine) Buddyinfo() string { return FormatBuddyinfo(m.Zones()) }

// Pagetypeinfo renders /proc/pagetypeinfo (mm/vmstat.c pagetypeinfo_show()).
func (m *Machine) Pagetypeinfo() string { return FormatPagetypeinfo(m.Zones(), m.pn.pbOrder) }

// Zoneinfo renders /proc/zoneinfo (mm/vmstat.c zoneinfo_show()): the node's
// counters allocviz keeps (slab pages), then every zone.
func (m *Machine) Zoneinfo() string {
	var slab uint64
	for pfn := range m.pages {
		if m.pages[pfn].owner == OwnerSlab {
			slab++
		}
	}
	return FormatZoneinfo(m.Zones(), map[string]uint64{"nr_slab_unreclaimable": slab})
}

// MobilityGrouping reports whether pages are grouped by mobility: false
// on a machine too small for a pageblock per migrate type
// (page_group_by_mobility_disabled), where every allocation is Unmovable.
func (m *Machine) MobilityGrouping() bool { return !m.pn.mobilityOff }

// PageblockOrder returns pageblock_order.
func (m *Machine) PageblockOrder() int { return m.pn.pbOrder }

// PageState is the coarse state of a page frame.
type PageState uint8

// Page states.
const (
	PageFree      PageState = iota // part of a free block, or of a block on a pcp list
	PageAllocated                  // part of an allocated block
	PageReserved                   // reserved at boot, or no RAM
)

// PageInfo describes one page frame.
type PageInfo struct {
	PFN      uint64
	State    PageState
	Owner    Owner  // OwnerPCP for a block on a pcp list
	Head     uint64 // first pfn of the block the page is in
	Order    int    // order of that block
	Compound bool   // allocated with __GFP_COMP
	Since    uint64 // Seq of the event that gave the page its state
	Cache    string // the slab cache, for OwnerSlab pages

	Zone      ZoneType    // the zone the page is in (MaxNrZones for a hole)
	Pageblock uint64      // the first pfn of its pageblock
	Migrate   MigrateType // its pageblock's migrate type
	PCPCPU    int         // OwnerPCP: the CPU whose list holds the block
}

// Page describes page frame pfn, which must be below NrPages.
func (m *Machine) Page(pfn uint64) PageInfo {
	p := &m.pages[pfn]
	info := PageInfo{PFN: pfn, Owner: p.owner, Since: p.since, Compound: p.flags&pgCompound != 0,
		Zone: MaxNrZones, Pageblock: pfn &^ (1<<m.pn.pbOrder - 1), Migrate: m.pn.blockType(pfn)}
	if p.owner != OwnerHole {
		info.Zone = m.pn.zoneOf(pfn).t
	}
	switch {
	case p.flags&pgReserved != 0:
		info.State, info.Head = PageReserved, pfn
	case p.flags&(pgHead|pgTail) != 0:
		info.State, info.Head = PageAllocated, uint64(p.head)
		info.Order = int(m.pages[p.head].order)
		info.Cache = m.slabCacheName(m.pages[p.head].slab)
	default:
		info.State = PageFree
		info.Head, info.Order = m.freeBlockOf(pfn)
		if st := &m.pn.pfns[info.Head]; st.kind == pfnPCP {
			info.Owner, info.PCPCPU = OwnerPCP, int(st.cpu)
		}
	}
	return info
}

// freeOrderAt returns the order of the free or pcp block that starts at
// pfn.
func (m *Machine) freeOrderAt(pfn uint64) (int, bool) {
	if st := &m.pn.pfns[pfn]; st.kind == pfnBuddy || st.kind == pfnPCP {
		return int(st.order), true
	}
	return 0, false
}

// isFreeHead reports whether a free or pcp block starts at pfn.
func (m *Machine) isFreeHead(pfn uint64) bool {
	_, ok := m.freeOrderAt(pfn)
	return ok
}

// freeBlockOf finds the free or pcp block containing a free pfn.
func (m *Machine) freeBlockOf(pfn uint64) (uint64, int) {
	for o := 0; o <= MaxPageOrder; o++ {
		h := pfn &^ (1<<o - 1)
		if st := &m.pn.pfns[h]; (st.kind == pfnBuddy || st.kind == pfnPCP) && int(st.order) >= o && h+1<<st.order > pfn {
			return h, int(st.order)
		}
	}
	throw("freeBlockOf", fmt.Sprintf("free pfn %#x is in no free block", pfn))
	return 0, 0
}

// CheckInvariants verifies the machine's structures and returns the first
// violation found: the page allocator's, then vmalloc's, then SLUB's
// records (CheckSlub also reads the freelists from memory).
func (m *Machine) CheckInvariants() error {
	if err := m.checkBuddy(); err != nil {
		return err
	}
	if err := m.checkVmalloc(); err != nil {
		return err
	}
	return m.checkSlub(false)
}

// checkBuddy verifies the page allocator (pageNode.check: every list,
// count and free block) and that the page records agree with it: every
// pfn reserved, in a hole, in an allocated block the allocator handed out,
// or in exactly one free or pcp block.
func (m *Machine) checkBuddy() error {
	if err := m.pn.check(); err != nil {
		return err
	}
	for pfn := uint64(0); pfn < m.nrPages; {
		p := &m.pages[pfn]
		st := &m.pn.pfns[pfn]
		switch {
		case p.flags&pgReserved != 0:
			if want := map[bool]uint8{true: pfnHole, false: pfnReserved}[p.owner == OwnerHole]; st.kind != want {
				return fmt.Errorf("pfn %#x is %v but the page allocator says %d", pfn, p.owner, st.kind)
			}
			pfn++
		case p.flags&pgHead != 0:
			o := int(p.order)
			if st.kind != pfnInUse || int(st.order) != o {
				return fmt.Errorf("allocated block pfn %#x order %d is not handed out by the page allocator (kind %d order %d)", pfn, o, st.kind, st.order)
			}
			if p.owner == OwnerFree {
				return fmt.Errorf("allocated block pfn %#x has no owner", pfn)
			}
			for i := uint64(1); i < 1<<o; i++ {
				if q := &m.pages[pfn+i]; q.flags&pgTail == 0 || uint64(q.head) != pfn || q.owner != p.owner {
					return fmt.Errorf("pfn %#x inside allocated block %#x is not its tail", pfn+i, pfn)
				}
			}
			pfn += 1 << o
		case st.kind == pfnBuddy || st.kind == pfnPCP:
			o := int(st.order)
			for i := uint64(0); i < 1<<o; i++ {
				if q := &m.pages[pfn+i]; q.flags != 0 || q.owner != OwnerFree {
					return fmt.Errorf("pfn %#x inside free block %#x has flags %#x owner %v", pfn+i, pfn, q.flags, q.owner)
				}
			}
			pfn += 1 << o
		default:
			return fmt.Errorf("pfn %#x is neither free, allocated nor reserved", pfn)
		}
	}
	return nil
}

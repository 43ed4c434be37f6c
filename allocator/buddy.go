package allocator

import (
	"fmt"
	"math/bits"
	"strings"
)

// Owner says who holds a page frame.
type Owner uint8

// Owners. A page moves Free -> (Pages | Slab | LargeKmalloc | Vmalloc) on
// allocation and back to Free on free; Reserved pages never change.
const (
	OwnerFree         Owner = iota // on a buddy free list
	OwnerReserved                  // reserved at boot (the low 1 MiB)
	OwnerPages                     // alloc_pages by a caller
	OwnerSlab                      // a slab of some kmem_cache
	OwnerLargeKmalloc              // a kmalloc above KMALLOC_MAX_CACHE_SIZE
	OwnerVmalloc                   // a page behind a vmalloc area
	numOwners
)

var ownerNames = [numOwners]string{"free", "reserved", "pages", "slab", "large kmalloc", "vmalloc"}

func (o Owner) String() string {
	if o < numOwners {
		return ownerNames[o]
	}
	return "unknown"
}

// pageFlags are the bits of a page record that matter to the buddy
// allocator.
type pageFlags uint8

const (
	pgBuddy    pageFlags = 1 << iota // first page of a free block, on free list page.order (PageBuddy)
	pgHead                           // first page of an allocated block of page.order
	pgTail                           // a later page of an allocated block headed by page.head
	pgReserved                       // reserved at boot
	pgCompound                       // part of a block allocated with __GFP_COMP
)

// page is the struct page analogue: one per page frame.
type page struct {
	flags pageFlags
	order int8    // order of the block this page heads (pgBuddy or pgHead pages)
	owner Owner   // who holds the page; OwnerFree when free
	head  uint32  // pfn of the first page of the allocated block this page is in
	next  int32   // free list: the next block's pfn, -1 at the end (pgBuddy pages)
	prev  int32   // free list: the previous block's pfn, -1 at the start (pgBuddy pages)
	since uint64  // Seq of the event that gave the page its current state
	slab  *slab   // the slab this page is part of (OwnerSlab), else nil
	area  *vmArea // the vmap area this page is mapped into (OwnerVmalloc), else nil
}

// freeArea is one order's free list: a doubly linked list threaded through
// the page records (next/prev), like zone->free_area[order].
type freeArea struct {
	head, tail int32  // pfn of the first and last block; -1 when empty
	nrFree     uint64 // blocks on the list
}

// zone is the single memory zone ("Normal") with its free lists.
type zone struct {
	free      [NrPageOrders]freeArea
	freePages uint64 // pages on all free lists
}

// reservedBytes is how much low memory boot reserves: x86 has kept the
// whole first megabyte away from the page allocator since Linux 5.13
// ("x86/setup: Always reserve the first 1M of RAM"), for the BIOS, the real
// mode trampoline and firmware quirks.
const reservedBytes = 1 * MiB

// bootBuddy reserves the low pages and hands the rest to the free lists in
// the largest naturally aligned blocks, ascending, each added at the tail
// as __free_pages_core does (FPI_TO_TAIL), so the lowest free address is
// handed out first.
func (m *Machine) bootBuddy() {
	m.pages = make([]page, m.nrPages)
	for o := range m.zone.free {
		m.zone.free[o] = freeArea{head: -1, tail: -1}
	}
	m.reserved = reservedBytes / m.pageSize
	if m.reserved > m.nrPages/4 {
		m.reserved = m.nrPages / 4
	}
	m.emit(record{kind: EvBoot, size: uint64(m.cfg.RAM), n: int32(m.pageSize),
		s1: m.strf("booted %s of RAM in %d pages of %s, %d cpus, kernel profile %s",
			FormatBytes(uint64(m.cfg.RAM)), m.nrPages, FormatBytes(m.pageSize), m.cfg.CPUs, m.cfg.Profile)})
	for pfn := uint64(0); pfn < m.reserved; pfn++ {
		m.pages[pfn] = page{flags: pgReserved, owner: OwnerReserved, head: uint32(pfn), next: -1, prev: -1}
	}
	m.emit(record{kind: EvReserve, pfn: 0, n: int32(m.reserved), b: uint8(OwnerReserved),
		s1: m.strf("reserved pfn 0x0-%#x (%s): x86 keeps the first megabyte from the page allocator", m.reserved-1, FormatBytes(m.reserved*m.pageSize))})
	for pfn := m.reserved; pfn < m.nrPages; {
		order := MaxPageOrder
		if tz := bits.TrailingZeros64(pfn); tz < order {
			order = tz
		}
		for pfn+1<<order > m.nrPages {
			order--
		}
		m.pages[pfn].head = uint32(pfn)
		m.addFree(pfn, order, true)
		m.emit(record{kind: EvPageFree, pfn: uint32(pfn), order: int8(order), b: uint8(OwnerFree)})
		pfn += 1 << order
	}
	for i := range m.pages {
		m.pages[i].since = m.seq
	}
}

// addFree puts the block at pfn on the order's free list, at the tail or
// the head.
func (m *Machine) addFree(pfn uint64, order int, tail bool) {
	p := &m.pages[pfn]
	p.flags = pgBuddy
	p.order = int8(order)
	p.owner = OwnerFree
	p.slab, p.area = nil, nil
	fa := &m.zone.free[order]
	i := int32(pfn)
	switch {
	case fa.head < 0:
		p.next, p.prev = -1, -1
		fa.head, fa.tail = i, i
	case tail:
		p.next, p.prev = -1, fa.tail
		m.pages[fa.tail].next = i
		fa.tail = i
	default:
		p.next, p.prev = fa.head, -1
		m.pages[fa.head].prev = i
		fa.head = i
	}
	fa.nrFree++
	m.zone.freePages += 1 << order
}

// delFree takes the block at pfn off its free list.
func (m *Machine) delFree(pfn uint64, order int) {
	p := &m.pages[pfn]
	if p.flags&pgBuddy == 0 || int(p.order) != order {
		throw("delFree", fmt.Sprintf("pfn %#x is not a free order-%d block", pfn, order))
	}
	fa := &m.zone.free[order]
	if p.prev >= 0 {
		m.pages[p.prev].next = p.next
	} else {
		fa.head = p.next
	}
	if p.next >= 0 {
		m.pages[p.next].prev = p.prev
	} else {
		fa.tail = p.prev
	}
	p.next, p.prev = -1, -1
	p.flags &^= pgBuddy
	fa.nrFree--
	m.zone.freePages -= 1 << order
}

// largestFreeOrder returns the highest order with a free block, or -1.
func (m *Machine) largestFreeOrder() int {
	for o := MaxPageOrder; o >= 0; o-- {
		if m.zone.free[o].nrFree > 0 {
			return o
		}
	}
	return -1
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

// allocPages is __rmqueue_smallest plus expand(): take the first block of
// the smallest order >= order that has one, and split it down, putting the
// upper half of each split on the free list one order below. The caller
// gets the lowest-addressed pages.
func (m *Machine) allocPages(order int, gfp GFP, owner Owner) (uint64, error) {
	if order < 0 || order > MaxPageOrder {
		return 0, m.pageAllocFailed(order, gfp)
	}
	cur := order
	for cur <= MaxPageOrder && m.zone.free[cur].head < 0 {
		cur++
	}
	if cur > MaxPageOrder {
		return 0, m.pageAllocFailed(order, gfp)
	}
	pfn := uint64(m.zone.free[cur].head)
	m.delFree(pfn, cur)
	// expand(): order-3 block at 0x2000 for an order-1 request: 0x2004
	// (order 2) and 0x2002 (order 1) go back, 0x2000-0x2001 are handed out.
	for high := cur; high > order; high-- {
		upper := pfn + 1<<(high-1)
		if m.tracing() {
			m.putWords(m.head(EvSplit, int8(high), 0, 0, uint32(pfn), 0, 0, 0), 0, 0, 0)
		}
		m.addFree(upper, high-1, false)
		m.pages[upper].since = m.seq
	}
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
		m.putWords(m.head(EvPageAlloc, int8(order), uint8(owner), gfp, uint32(pfn), int32(cur), 0, 0), m.PFNAddr(pfn), 0, m.pageSize<<order)
	}
	for i := uint64(0); i < 1<<order; i++ {
		m.pages[pfn+i].since = m.seq
	}
	return pfn, nil
}

func (m *Machine) pageAllocFailed(order int, gfp GFP) error {
	err := &PageAllocError{Order: order, Largest: m.largestFreeOrder(), GFP: gfp}
	if m.tracing() {
		m.emit(record{kind: EvPageFail, size: uint64(int64(order)), gfp: gfp, n: int32(err.Largest)})
		if !gfp.NoWarn() {
			if order > MaxPageOrder {
				m.warn(fmt.Sprintf("WARNING: mm/page_alloc.c: __alloc_pages: order %d > MAX_PAGE_ORDER (%d)", order, MaxPageOrder))
			} else {
				m.warn(fmt.Sprintf("allocviz: page allocation failure: order:%d, mode:%#x(%v), nodemask=(null)", order, uint32(gfp), gfp))
			}
		}
	}
	return err
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

// freePages is __free_one_page: merge with the buddy pfn ^ (1 << order)
// while it is a free block of the same order, then put the result on its
// free list. Example: freeing order 0 at 0x2001 finds buddy 0x2000; if it
// is free they merge into order 1 at 0x2000 (0x2001 & 0x2000), whose buddy
// is 0x2002, and so on up to MAX_PAGE_ORDER.
func (m *Machine) freePages(pfn uint64, order int) {
	p := &m.pages[pfn]
	if p.flags&pgHead == 0 || int(p.order) != order {
		throw("freePages", fmt.Sprintf("pfn %#x is not an allocated order-%d block", pfn, order))
	}
	prev := p.owner
	for i := uint64(0); i < 1<<order; i++ {
		t := &m.pages[pfn+i]
		*t = page{owner: OwnerFree, head: uint32(pfn + i), next: -1, prev: -1}
	}
	// The merge plan is read before anything moves: each buddy checked is
	// disjoint from the block grown so far.
	final, finalOrder := pfn, order
	for finalOrder < MaxPageOrder {
		buddy := final ^ 1<<finalOrder
		if buddy+1<<finalOrder > m.nrPages {
			break
		}
		if b := &m.pages[buddy]; b.flags&pgBuddy == 0 || int(b.order) != finalOrder {
			break
		}
		final &= buddy
		finalOrder++
	}
	if m.tracing() {
		m.putWords(m.head(EvPageFree, int8(order), uint8(prev), 0, uint32(pfn), int32(finalOrder), 0, 0), m.PFNAddr(pfn), 0, 0)
	}
	for order < finalOrder {
		buddy := pfn ^ 1<<order
		m.delFree(buddy, order)
		if m.tracing() {
			m.putWords(m.head(EvMerge, int8(order), 0, 0, uint32(pfn), 0, 0, 0), 0, 0, 0)
		}
		pfn &= buddy
		order++
	}
	m.addFree(pfn, order, m.buddyMergeLikely(pfn, order))
	for i := uint64(0); i < 1<<order; i++ {
		m.pages[pfn+i].since = m.seq
	}
}

// buddyMergeLikely is the kernel's heuristic for where a freed block goes:
// if the block's buddy one order up is free, this block is likely to merge
// soon, so it goes to the tail of its list and is handed out last.
func (m *Machine) buddyMergeLikely(pfn uint64, order int) bool {
	if order >= MaxPageOrder-1 {
		return false
	}
	higher := pfn &^ (1 << order) // the order+1 block containing pfn
	hb := higher ^ 1<<(order+1)   // its buddy
	if hb+1<<(order+1) > m.nrPages {
		return false
	}
	b := &m.pages[hb]
	return b.flags&pgBuddy != 0 && int(b.order) == order+1
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

// FreeCounts returns the number of free blocks per order.
func (m *Machine) FreeCounts() [NrPageOrders]uint64 {
	var c [NrPageOrders]uint64
	for o := range c {
		c[o] = m.zone.free[o].nrFree
	}
	return c
}

// FreePageCount returns the number of free page frames.
func (m *Machine) FreePageCount() uint64 { return m.zone.freePages }

// FreeBlocks returns the pfns on the order's free list, first to be handed
// out first.
func (m *Machine) FreeBlocks(order int) []uint64 {
	var out []uint64
	for i := m.zone.free[order].head; i >= 0; i = m.pages[i].next {
		out = append(out, uint64(i))
	}
	return out
}

// Buddyinfo renders /proc/buddyinfo (mm/vmstat.c frag_show_print): one
// line for the zone, "Node 0, zone %8s" then "%6lu " per order.
func (m *Machine) Buddyinfo() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Node %d, zone %8s ", 0, "Normal")
	for o := 0; o < NrPageOrders; o++ {
		fmt.Fprintf(&b, "%6d ", m.zone.free[o].nrFree)
	}
	b.WriteByte('\n')
	return b.String()
}

// PageState is the coarse state of a page frame.
type PageState uint8

// Page states.
const (
	PageFree      PageState = iota // part of a free block
	PageAllocated                  // part of an allocated block
	PageReserved                   // reserved at boot
)

// PageInfo describes one page frame.
type PageInfo struct {
	PFN      uint64
	State    PageState
	Owner    Owner
	Head     uint64 // first pfn of the block the page is in
	Order    int    // order of that block
	Compound bool   // allocated with __GFP_COMP
	Since    uint64 // Seq of the event that gave the page its state
	Cache    string // the slab cache, for OwnerSlab pages
}

// Page describes page frame pfn, which must be below NrPages.
func (m *Machine) Page(pfn uint64) PageInfo {
	p := &m.pages[pfn]
	info := PageInfo{PFN: pfn, Owner: p.owner, Since: p.since, Compound: p.flags&pgCompound != 0}
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
	}
	return info
}

// freeBlockOf finds the free block containing a free pfn.
func (m *Machine) freeBlockOf(pfn uint64) (uint64, int) {
	for o := 0; o <= MaxPageOrder; o++ {
		h := pfn &^ (1<<o - 1)
		if q := &m.pages[h]; q.flags&pgBuddy != 0 && int(q.order) >= o && h+1<<q.order > pfn {
			return h, int(q.order)
		}
	}
	throw("freeBlockOf", fmt.Sprintf("free pfn %#x is in no free block", pfn))
	return 0, 0
}

// CheckInvariants verifies the machine's structures and returns the first
// violation found: the buddy allocator's, then vmalloc's, then SLUB's
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

// checkBuddy verifies the buddy allocator's structure: every pfn accounted
// for exactly once, free blocks aligned and on the list of their order, no
// two free buddies of the same order, and the counts equal to the lists.
func (m *Machine) checkBuddy() error {
	onList := make(map[uint64]int)
	var freePages uint64
	for o := 0; o <= MaxPageOrder; o++ {
		n := uint64(0)
		prev := int32(-1)
		for i := m.zone.free[o].head; i >= 0; i = m.pages[i].next {
			if m.pages[i].prev != prev {
				return fmt.Errorf("order %d free list: pfn %#x has prev %d, want %d", o, i, m.pages[i].prev, prev)
			}
			if _, dup := onList[uint64(i)]; dup {
				return fmt.Errorf("pfn %#x is on free lists twice", i)
			}
			onList[uint64(i)] = o
			n++
			freePages += 1 << o
			prev = i
			if n > m.nrPages {
				return fmt.Errorf("order %d free list has a cycle", o)
			}
		}
		if m.zone.free[o].tail != prev {
			return fmt.Errorf("order %d free list: tail %d, want %d", o, m.zone.free[o].tail, prev)
		}
		if n != m.zone.free[o].nrFree {
			return fmt.Errorf("order %d: nr_free %d but %d blocks on the list", o, m.zone.free[o].nrFree, n)
		}
	}
	if freePages != m.zone.freePages {
		return fmt.Errorf("free pages counted %d, lists hold %d", m.zone.freePages, freePages)
	}
	for pfn := uint64(0); pfn < m.nrPages; {
		p := &m.pages[pfn]
		switch {
		case p.flags&pgReserved != 0:
			pfn++
		case p.flags&pgBuddy != 0:
			o := int(p.order)
			if lo, ok := onList[pfn]; !ok || lo != o {
				return fmt.Errorf("free block pfn %#x order %d is not on the order-%d list", pfn, o, o)
			}
			if pfn&(1<<o-1) != 0 {
				return fmt.Errorf("free block pfn %#x is not aligned to order %d", pfn, o)
			}
			if o < MaxPageOrder {
				if b := pfn ^ 1<<o; b+1<<o <= m.nrPages {
					if bp := &m.pages[b]; bp.flags&pgBuddy != 0 && int(bp.order) == o {
						return fmt.Errorf("free buddies pfn %#x and %#x of order %d were not merged", pfn, b, o)
					}
				}
			}
			for i := uint64(1); i < 1<<o; i++ {
				if q := &m.pages[pfn+i]; q.flags != 0 || q.owner != OwnerFree {
					return fmt.Errorf("pfn %#x inside free block %#x has flags %#x owner %v", pfn+i, pfn, q.flags, q.owner)
				}
			}
			pfn += 1 << o
		case p.flags&pgHead != 0:
			o := int(p.order)
			if pfn&(1<<o-1) != 0 {
				return fmt.Errorf("allocated block pfn %#x is not aligned to order %d", pfn, o)
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
		default:
			return fmt.Errorf("pfn %#x is neither free, allocated nor reserved", pfn)
		}
	}
	return nil
}

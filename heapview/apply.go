package heapview

import (
	"cmp"
	"errors"
	"fmt"
	"sort"

	"github.com/allocviz/allocviz/allocator"
)

// apply changes s by the event at pos. It checks everything first and
// changes nothing when the event does not fit the state. head is true for
// the head state, which also keeps the model's indexes (caches, realloc
// lineage) that replays read back.
func (m *Model) apply(s *state, e allocator.Event, head bool) error {
	pos := e.Pos()
	idx := uint32(pos + 1)
	switch e.Kind() {
	case allocator.EvBoot:
		if pos != 0 {
			return errors.New("the machine boots a second time")
		}
	case allocator.EvReserve:
		return m.applyReserve(s, e, idx)
	case allocator.EvPageFree:
		if e.Owner() == allocator.OwnerFree {
			return m.applyBootFree(s, e, idx, head)
		}
		return m.applyPageFree(s, e, idx, head)
	case allocator.EvSplit:
		return m.applySplit(s, e, idx)
	case allocator.EvMerge:
		return m.applyMerge(s, e, idx)
	case allocator.EvPageAlloc:
		return m.applyPageAlloc(s, e, idx)
	case allocator.EvZone:
		return m.applyZone(e)
	case allocator.EvPageblock:
		return m.applyPageblock(s, e, idx)
	case allocator.EvPCPRefill:
		return m.applyPCPRefill(s, e, idx)
	case allocator.EvPCPDrain:
		return m.applyPCPDrain(s, e, idx)
	case allocator.EvClaim, allocator.EvSteal, allocator.EvDrainAll:
		// Explanations: the EvPageblock, EvSplit and EvPCPDrain events
		// that follow change the state.
	case allocator.EvCacheCreate:
		return m.applyCacheCreate(s, e, pos, head)
	case allocator.EvCacheDestroy:
		id, err := m.liveCache(s, e.CacheID(), pos)
		if err != nil {
			return err
		}
		c := s.caches[id]
		c.alive = false
		s.setCache(id, c)
	case allocator.EvSlabNew:
		return m.applySlabNew(s, e, pos)
	case allocator.EvSlabDiscard:
		return m.applySlabDiscard(s, e, pos)
	case allocator.EvSlabList:
		return m.applySlabList(s, e, pos)
	case allocator.EvObjAlloc:
		return m.applyObjAlloc(s, e, pos)
	case allocator.EvObjFree:
		return m.applyObjFree(s, e, pos, head)
	case allocator.EvKmalloc:
		return m.applyKmalloc(s, e, idx)
	case allocator.EvRealloc:
		return m.applyRealloc(s, e, pos, head)
	case allocator.EvVmapAlloc:
		return m.applyVmapAlloc(s, e, idx)
	case allocator.EvVmapFree:
		return m.applyVmapFree(s, e, pos, head)
	case allocator.EvVmapPurge:
		return m.applyVmapPurge(s, e)
	case allocator.EvKvmalloc:
		if e.Addr().ZeroOrNull() {
			return nil
		}
		a, ok := s.allocs.get(uint64(e.Addr()))
		if !ok {
			return fmt.Errorf("kvmalloc returned %v, which is not a live allocation", e.Addr())
		}
		r := *a
		r.fn = nameKvmalloc
		r.path = m.intern(e.Path())
		r.changed = idx
		s.putAlloc(e.Addr(), r)
	case allocator.EvVecOp:
		if a, ok := s.allocs.get(uint64(e.Addr())); ok && !e.Addr().ZeroOrNull() {
			r := *a
			r.vec = true
			r.changed = idx
			s.putAlloc(e.Addr(), r)
		}
	default:
		// A kind that changes no state needs no case: the script's
		// narration, a tracepoint that repeats another event (kmem:kfree),
		// and reports, which are counted. Any other kind without a case
		// is an anomaly, so one added to the kind table and forgotten here
		// shows.
		k := e.Kind()
		if c := k.Class(); c != allocator.ClassNarration && c != allocator.ClassReport && !k.Trace() {
			return fmt.Errorf("heapview cannot apply %v events (kind %d)", k, k)
		}
		switch {
		case e.Failed():
			s.add(cFailures, 1)
		case e.Report():
			s.add(cReports, 1)
		}
	}
	return nil
}

// checkBlock checks that an order-order block at pfn lies in RAM and is
// aligned.
func (m *Model) checkBlock(pfn uint64, order int) error {
	if order < 0 || order > allocator.MaxPageOrder {
		return fmt.Errorf("order %d is outside 0..%d", order, allocator.MaxPageOrder)
	}
	if pfn&(1<<order-1) != 0 {
		return fmt.Errorf("pfn %#x is not aligned to order %d", pfn, order)
	}
	if pfn >= m.geo.nrPages || 1<<order > m.geo.nrPages-pfn {
		return fmt.Errorf("the order-%d block at pfn %#x runs past the last page frame %#x", order, pfn, m.geo.nrPages-1)
	}
	return nil
}

func (m *Model) applyReserve(s *state, e allocator.Event, idx uint32) error {
	n := uint64(e.Pages())
	if e.Pages() <= 0 || e.PFN() >= m.geo.nrPages || n > m.geo.nrPages-e.PFN() {
		return fmt.Errorf("reserving %d pages at pfn %#x does not fit %d page frames", e.Pages(), e.PFN(), m.geo.nrPages)
	}
	for p := e.PFN(); p < e.PFN()+n; p++ {
		if s.page(p).since != 0 {
			return fmt.Errorf("pfn %#x is reserved after boot already described it", p)
		}
	}
	s.savePages(e.PFN(), n)
	for p := e.PFN(); p < e.PFN()+n; p++ {
		r := s.mutPage(p)
		*r = pageRec{owner: e.Owner(), flags: pfReserved, head: uint32(p), since: idx, pbt: r.pbt}
	}
	s.add(cOwner+int(e.Owner()), int64(n))
	return nil
}

// applyBootFree puts a block that was never described on the free lists.
func (m *Model) applyBootFree(s *state, e allocator.Event, idx uint32, head bool) error {
	if err := m.checkBlock(e.PFN(), e.Order()); err != nil {
		return err
	}
	n := uint64(1) << e.Order()
	if z := m.geo.zoneOf(e.PFN()); z == allocator.MaxNrZones || m.geo.zoneOf(e.PFN()+n-1) != z {
		return fmt.Errorf("boot frees the order-%d block at pfn %#x, which does not lie in one zone", e.Order(), e.PFN())
	}
	for p := e.PFN(); p < e.PFN()+n; p++ {
		if s.page(p).since != 0 {
			return fmt.Errorf("boot frees pfn %#x, which is already described", p)
		}
	}
	m.setFreeBlock(s, e.PFN(), e.Order(), idx)
	if head && !m.bootDone {
		m.bootEnd = idx
	}
	return nil
}

// setFreeBlock makes the pages of a block one free block on the list of
// its order.
func (m *Model) setFreeBlock(s *state, pfn uint64, order int, idx uint32) {
	m.setIdleBlock(s, pfn, order, allocator.OwnerFree, pfFree, 0, idx)
	m.addFree(s, pfn, order, 1)
	s.add(cFreePages, int64(1)<<order)
	countFreeMT(s, pfn, order, 1)
}

// addFree counts delta free blocks of order in the zone of pfn, a block
// the zones hold (applyBootFree checks each lies in one).
func (m *Model) addFree(s *state, pfn uint64, order int, delta int64) {
	s.add(freeCounter(m.geo.zoneOf(pfn), order), delta)
}

// countFreeMT counts a free block of order at pfn in (sign 1) or out of
// (sign -1) the free pages of its migrate type: its first pageblock's, the
// free list the kernel keeps it on (account_freepages in mm/page_alloc.c).
func countFreeMT(s *state, pfn uint64, order int, sign int64) {
	s.add(cFreeMT+int(s.page(pfn).migrate()), sign<<order)
}

// setIdleBlock makes the pages of a block one block nobody holds, owned by
// owner (free, or on a pcp list) with flag on its first page and cache
// (the pcp list's CPU) there; the pageblock types stay.
func (m *Model) setIdleBlock(s *state, pfn uint64, order int, owner allocator.Owner, flag pageFlags, cache uint32, idx uint32) {
	n := uint64(1) << order
	s.savePages(pfn, n)
	for p := pfn; p < pfn+n; p++ {
		r := s.mutPage(p)
		*r = pageRec{owner: owner, since: idx, pbt: r.pbt}
	}
	h := s.mutPage(pfn)
	h.flags, h.order, h.cache = flag, int8(order), cache
	s.add(cOwner+int(owner), int64(n))
}

func (m *Model) isFreeBlock(s *state, pfn uint64, order int) error {
	return m.isIdleBlock(s, pfn, order, pfFree, "a free order-%d block")
}

// isIdleBlock checks that pfn begins a block of order whose first page has
// flag: what says which (with the order's %d).
func (m *Model) isIdleBlock(s *state, pfn uint64, order int, flag pageFlags, what string) error {
	if err := m.checkBlock(pfn, order); err != nil {
		return err
	}
	if r := s.page(pfn); r.flags&flag == 0 || int(r.order) != order {
		return fmt.Errorf("pfn %#x does not begin "+what, pfn, order)
	}
	return nil
}

func (m *Model) applySplit(s *state, e allocator.Event, idx uint32) error {
	if e.Order() < 1 {
		return fmt.Errorf("an order-%d block cannot be split", e.Order())
	}
	if err := m.isFreeBlock(s, e.PFN(), e.Order()); err != nil {
		return err
	}
	o := e.Order()
	upper := e.PFN() + 1<<(o-1)
	countFreeMT(s, e.PFN(), o, -1)
	countFreeMT(s, e.PFN(), o-1, 1)
	countFreeMT(s, upper, o-1, 1)
	s.savePages(e.PFN(), 1)
	s.mutPage(e.PFN()).order = int8(o - 1)
	s.savePages(upper, 1)
	u := s.mutPage(upper)
	*u = pageRec{owner: allocator.OwnerFree, flags: pfFree, order: int8(o - 1), since: idx, pbt: u.pbt}
	m.addFree(s, e.PFN(), o, -1)
	m.addFree(s, e.PFN(), o-1, 2)
	return nil
}

func (m *Model) applyMerge(s *state, e allocator.Event, idx uint32) error {
	o := e.Order()
	if o < 0 || o >= allocator.MaxPageOrder {
		return fmt.Errorf("order-%d blocks cannot merge (orders 0..%d merge)", o, allocator.MaxPageOrder-1)
	}
	buddy := e.PFN() ^ 1<<o
	if err := m.isFreeBlock(s, e.PFN(), o); err != nil {
		return err
	}
	if err := m.isFreeBlock(s, buddy, o); err != nil {
		return fmt.Errorf("buddy: %w", err)
	}
	lo := min(e.PFN(), buddy)
	n := uint64(2) << o
	countFreeMT(s, e.PFN(), o, -1)
	countFreeMT(s, buddy, o, -1)
	countFreeMT(s, lo, o+1, 1)
	s.savePages(lo, n)
	for p := lo; p < lo+n; p++ {
		r := s.mutPage(p)
		*r = pageRec{owner: allocator.OwnerFree, since: idx, pbt: r.pbt}
	}
	h := s.mutPage(lo)
	h.flags, h.order = pfFree, int8(o+1)
	m.addFree(s, lo, o, -2)
	m.addFree(s, lo, o+1, 1)
	return nil
}

func (m *Model) applyPageAlloc(s *state, e allocator.Event, idx uint32) error {
	from := allocator.OwnerFree
	if e.FromOrder() == -1 {
		if err := m.isPCPBlock(s, e.PFN(), e.Order()); err != nil {
			return err
		}
		from = allocator.OwnerPCP
	} else if err := m.isFreeBlock(s, e.PFN(), e.Order()); err != nil {
		return err
	}
	switch e.Owner() {
	case allocator.OwnerPages, allocator.OwnerSlab, allocator.OwnerLargeKmalloc, allocator.OwnerVmalloc:
	default:
		return fmt.Errorf("pages cannot be allocated to %v", e.Owner())
	}
	addr := m.geo.pfnAddr(e.PFN())
	if e.Owner() == allocator.OwnerPages {
		if _, ok := s.allocs.get(uint64(addr)); ok {
			return fmt.Errorf("%v is already a live allocation", addr)
		}
	}
	n := uint64(1) << e.Order()
	if from == allocator.OwnerFree {
		countFreeMT(s, e.PFN(), e.Order(), -1)
	}
	var comp pageFlags
	if e.GFP()&allocator.GFPComp != 0 {
		comp = pfCompound
	}
	s.savePages(e.PFN(), n)
	for p := e.PFN(); p < e.PFN()+n; p++ {
		r := s.mutPage(p)
		*r = pageRec{owner: e.Owner(), flags: pfTail | comp, head: uint32(e.PFN()), since: idx, pbt: r.pbt}
	}
	h := s.mutPage(e.PFN())
	h.flags, h.order = pfHead|comp, int8(e.Order())
	if from == allocator.OwnerFree {
		m.addFree(s, e.PFN(), e.Order(), -1)
		s.add(cFreePages, -int64(n))
	}
	s.add(cOwner+int(from), -int64(n))
	s.add(cOwner+int(e.Owner()), int64(n))
	if e.Owner() == allocator.OwnerPages {
		m.newAlloc(s, addr, allocRec{size: n << m.geo.shift, bytes: n << m.geo.shift, since: idx, lineage: idx,
			changed: idx, cache: -1, fn: nameAllocPages, kind: AllocPages})
	}
	return nil
}

func (m *Model) applyPageFree(s *state, e allocator.Event, idx uint32, head bool) error {
	if err := m.checkBlock(e.PFN(), e.Order()); err != nil {
		return err
	}
	h := s.page(e.PFN())
	if h.flags&pfHead == 0 || int(h.order) != e.Order() {
		return fmt.Errorf("pfn %#x does not begin an allocated order-%d block", e.PFN(), e.Order())
	}
	if h.owner != e.Owner() {
		return fmt.Errorf("the block at pfn %#x belongs to %v, not %v", e.PFN(), h.owner, e.Owner())
	}
	addr := m.geo.pfnAddr(e.PFN())
	switch e.Owner() {
	case allocator.OwnerSlab:
		if sl, ok := s.slabs.get(e.PFN()); ok {
			m.dropSlab(s, e.PFN(), sl)
		}
	case allocator.OwnerPages, allocator.OwnerLargeKmalloc:
		if _, ok := s.allocs.get(uint64(addr)); ok {
			m.dropAlloc(s, addr, head)
		}
	}
	n := uint64(1) << e.Order()
	s.add(cOwner+int(e.Owner()), -int64(n))
	if e.FinalOrder() == -1 {
		m.setPCPBlock(s, e.PFN(), e.Order(), e.CPU(), idx)
		return nil
	}
	m.setFreeBlock(s, e.PFN(), e.Order(), idx)
	return nil
}

// setPCPBlock makes the pages of a block one block on cpu's pcp list: not
// free, not held by anyone.
func (m *Model) setPCPBlock(s *state, pfn uint64, order int, cpu int, idx uint32) {
	m.setIdleBlock(s, pfn, order, allocator.OwnerPCP, pfPCP, uint32(cpu), idx)
}

func (m *Model) isPCPBlock(s *state, pfn uint64, order int) error {
	return m.isIdleBlock(s, pfn, order, pfPCP, "an order-%d block on a pcp list")
}

// applyZone records where a zone lies.
func (m *Model) applyZone(e allocator.Event) error {
	z := e.Zone()
	if e.Pos() >= m.bootZones {
		return fmt.Errorf("zone %v is described after boot", z)
	}
	if z >= allocator.MaxNrZones {
		return fmt.Errorf("zone %d does not exist", z)
	}
	g := &m.geo.zones[z]
	if e.PFN() != g.start || e.Size() != g.spanned || e.Bytes() != g.present || uint64(e.Pages()) > g.present {
		return fmt.Errorf("zone %v at pfn %#x, %d pages spanned, %d present is not where %s of RAM puts it", z, e.PFN(), e.Size(), e.Bytes(), allocator.FormatBytes(m.geo.ram))
	}
	g.managed = uint64(e.Pages())
	return nil
}

// applyPageblock sets the migrate type of whole pageblocks.
func (m *Model) applyPageblock(s *state, e allocator.Event, idx uint32) error {
	nb := uint64(e.Pageblocks())
	per := uint64(1) << m.geo.pbOrder
	if e.PFN()%per != 0 || nb == 0 || e.PFN() >= m.geo.nrPages || nb*per > m.geo.nrPages-e.PFN() || e.Migrate() >= allocator.MigrateTypes {
		return fmt.Errorf("%d pageblocks at pfn %#x becoming %v do not fit", nb, e.PFN(), e.Migrate())
	}
	s.savePages(e.PFN(), nb*per)
	for p := e.PFN(); p < e.PFN()+nb*per; p++ {
		r := s.mutPage(p)
		if r.flags&pfFree != 0 {
			// A free block's pages move to the list of its new type.
			s.add(cFreeMT+int(r.migrate()), -1<<r.order)
			s.add(cFreeMT+int(e.Migrate()), 1<<r.order)
		}
		r.pbt = uint8(e.Migrate() ^ allocator.MigrateMovable)
	}
	return nil
}

// applyPCPRefill moves a free block to a pcp list.
func (m *Model) applyPCPRefill(s *state, e allocator.Event, idx uint32) error {
	if err := m.isFreeBlock(s, e.PFN(), e.Order()); err != nil {
		return err
	}
	n := int64(1) << e.Order()
	countFreeMT(s, e.PFN(), e.Order(), -1)
	m.addFree(s, e.PFN(), e.Order(), -1)
	s.add(cFreePages, -n)
	s.add(cOwner+int(allocator.OwnerFree), -n)
	m.setPCPBlock(s, e.PFN(), e.Order(), e.ListCPU(), idx)
	return nil
}

// applyPCPDrain moves a pcp block back to the free lists.
func (m *Model) applyPCPDrain(s *state, e allocator.Event, idx uint32) error {
	if err := m.isPCPBlock(s, e.PFN(), e.Order()); err != nil {
		return err
	}
	s.add(cOwner+int(allocator.OwnerPCP), -(int64(1) << e.Order()))
	m.setFreeBlock(s, e.PFN(), e.Order(), idx)
	return nil
}

// newAlloc records a live allocation and counts it. A lost object counts
// in its cache as not free, but is no allocation. It reports false, and
// changes nothing, when an allocation already begins at a.
func (m *Model) newAlloc(s *state, a allocator.Addr, r allocRec) bool {
	if !s.insertAlloc(a, r) {
		return false
	}
	s.countAlloc(&r, 1)
	return true
}

// dropAlloc forgets the live allocation at a, which must exist.
func (m *Model) dropAlloc(s *state, a allocator.Addr, head bool) {
	r := s.delAlloc(a)
	if head {
		m.lastLineage[uint64(a)] = r.lineage
	}
	s.countAlloc(&r, -1)
}

// resize changes a live allocation's requested size.
func (m *Model) resize(s *state, a allocator.Addr, size uint64, idx uint32) {
	p, _ := s.allocs.get(uint64(a))
	r := *p
	s.countAlloc(&r, -1)
	r.size, r.changed = size, idx
	s.countAlloc(&r, 1)
	s.putAlloc(a, r)
}

// Names every model interns first, in this order (names[0] is "").
const (
	nameKmemCacheAlloc uint16 = 1 + iota
	nameKmalloc
	nameAllocPages
	nameKvmalloc
	nameLost
)

var fixedNames = []string{"", "kmem_cache_alloc", "kmalloc", "alloc_pages", "kvmalloc", "lost"}

// intern returns the id of a name, adding it on first sight.
func (m *Model) intern(name string) uint16 {
	if id, ok := m.nameIDs[name]; ok {
		return id
	}
	if len(m.names) > 0xffff {
		return 0
	}
	id := uint16(len(m.names))
	m.names = append(m.names, name)
	m.nameIDs[name] = id
	return id
}

// cacheAt returns the id of the newest cache called name created before
// pos, or -1.
func (m *Model) cacheAt(name string, pos int) int32 {
	return m.newestBefore(m.cacheNames[name], pos)
}

// cacheOf is cacheAt for a name as the log holds it.
func (m *Model) cacheOf(name allocator.StrID, pos int) int32 {
	return m.newestBefore(m.cacheIDs[name], pos)
}

func (m *Model) newestBefore(ids []int32, pos int) int32 {
	for i := len(ids) - 1; i >= 0; i-- {
		if m.caches[ids[i]].created < pos {
			return ids[i]
		}
	}
	return -1
}

// liveCache returns the id of the live cache called name.
func (m *Model) liveCache(s *state, name allocator.StrID, pos int) (int32, error) {
	id := m.cacheOf(name, pos)
	if id < 0 || int(id) >= len(s.caches) || !s.caches[id].alive {
		return -1, fmt.Errorf("no live slab cache is called %q", m.log.String(name))
	}
	return id, nil
}

func (m *Model) applyCacheCreate(s *state, e allocator.Event, pos int, head bool) error {
	objs := e.Objects()
	if e.Cache() == "" || objs < 1 || e.Size() == 0 || e.Bytes() < e.Size() || e.Order() < 0 || e.Order() > allocator.MaxPageOrder {
		return fmt.Errorf("cache %q: object size %d, stride %d, order %d, %d objects per slab is not a cache", e.Cache(), e.Size(), e.Bytes(), e.Order(), objs)
	}
	if slab := m.geo.pageSize << e.Order(); e.Bytes() > slab || uint64(objs) > slab/e.Bytes() {
		return fmt.Errorf("cache %q: %d objects of %d bytes do not fit an order-%d slab", e.Cache(), objs, e.Bytes(), e.Order())
	}
	if _, err := m.liveCache(s, e.CacheID(), pos); err == nil {
		return fmt.Errorf("a live cache is already called %q", e.Cache())
	}
	var id int32
	if head {
		id = int32(len(m.caches))
		m.caches = append(m.caches, cacheInfo{name: e.Cache(), nameID: e.CacheID(), objSize: e.Size(), size: e.Bytes(),
			order: e.Order(), perSlab: objs, created: pos})
		m.cacheIDs[e.CacheID()] = append(m.cacheIDs[e.CacheID()], id)
		m.cacheNames[e.Cache()] = append(m.cacheNames[e.Cache()], id)
	} else {
		id = int32(sort.Search(len(m.caches), func(i int) bool { return m.caches[i].created >= pos }))
	}
	s.setCache(id, cacheState{alive: true})
	return nil
}

// slabOf returns the slab at pfn, checking that it belongs to the named
// cache.
func (m *Model) slabOf(s *state, name allocator.StrID, pfn uint64) (*slabRec, error) {
	sl, ok := s.slabs.get(pfn)
	if !ok {
		return nil, fmt.Errorf("no slab begins at pfn %#x", pfn)
	}
	if c := &m.caches[sl.cache]; c.nameID != name {
		return nil, fmt.Errorf("the slab at pfn %#x belongs to %s, not %s", pfn, c.name, m.log.String(name))
	}
	return sl, nil
}

func (m *Model) applySlabNew(s *state, e allocator.Event, pos int) error {
	id, err := m.liveCache(s, e.CacheID(), pos)
	if err != nil {
		return err
	}
	if err := m.checkBlock(e.PFN(), e.Order()); err != nil {
		return err
	}
	h := s.page(e.PFN())
	if h.flags&pfHead == 0 || h.owner != allocator.OwnerSlab || int(h.order) != e.Order() {
		return fmt.Errorf("pfn %#x does not begin an order-%d block allocated for a slab", e.PFN(), e.Order())
	}
	if _, ok := s.slabs.get(e.PFN()); ok {
		return fmt.Errorf("pfn %#x already holds a slab", e.PFN())
	}
	ci := &m.caches[id]
	lo, hi := m.geo.pfnAddr(e.PFN()), m.geo.pfnAddr(e.PFN()+1<<e.Order())
	// The first object may start inside its stride (after a SLUB debug
	// left red zone): the strides fill the slab, the objects start in them.
	objs := e.Objects()
	if objs < 1 || e.Addr() < lo || uint64(e.Addr()-lo) >= ci.size || uint64(objs)*ci.size > uint64(hi-lo) {
		return fmt.Errorf("%d objects of %d bytes from %v do not fit the order-%d slab at pfn %#x", objs, ci.size, e.Addr(), e.Order(), e.PFN())
	}
	idx := uint32(pos + 1)
	s.putSlab(e.PFN(), slabRec{cache: id, order: int8(e.Order()), list: allocator.ListCPU, cpu: int16(e.CPU()),
		objects: int32(objs), off: uint32(e.Addr() - lo), since: idx, listed: idx})
	s.savePages(e.PFN(), 1)
	s.mutPage(e.PFN()).cache = uint32(id) + 1
	c := s.caches[id]
	c.slabs++
	c.objects += int32(objs)
	s.setCache(id, c)
	s.add(cSlabs, 1)
	return nil
}

// slabFirst returns the address of object 0 of the slab at pfn.
func (m *Model) slabFirst(pfn uint64, sl *slabRec) allocator.Addr {
	return m.geo.pfnAddr(pfn) + allocator.Addr(sl.off)
}

// dropSlab forgets the slab at pfn.
func (m *Model) dropSlab(s *state, pfn uint64, sl *slabRec) {
	id := sl.cache
	objs := sl.objects
	s.delSlab(pfn)
	if s.used(pfn) != 0 {
		s.setUsed(pfn, 0)
	}
	if h := s.page(pfn); h.cache != 0 {
		s.savePages(pfn, 1)
		s.mutPage(pfn).cache = 0
	}
	c := s.caches[id]
	c.slabs--
	c.objects -= objs
	s.setCache(id, c)
	s.add(cSlabs, -1)
}

func (m *Model) applySlabDiscard(s *state, e allocator.Event, pos int) error {
	if _, ok := s.slabs.get(e.PFN()); !ok {
		// The pages may have gone back to the buddy allocator first.
		if e.PFN() < m.geo.nrPages && s.page(e.PFN()).owner != allocator.OwnerSlab {
			return nil
		}
	}
	sl, err := m.slabOf(s, e.CacheID(), e.PFN())
	if err != nil {
		return err
	}
	m.dropSlab(s, e.PFN(), sl)
	return nil
}

func (m *Model) applySlabList(s *state, e allocator.Event, pos int) error {
	sl, err := m.slabOf(s, e.CacheID(), e.PFN())
	if err != nil {
		return err
	}
	if e.List() > allocator.ListFull {
		return fmt.Errorf("slab list %d does not exist", e.List())
	}
	r := *sl
	r.list, r.cpu, r.listed, r.head = e.List(), -1, uint32(pos+1), e.List() == allocator.ListNodePartial && e.Path() == "head"
	if e.List() == allocator.ListCPU || e.List() == allocator.ListCPUPartial {
		r.cpu = int16(e.ListCPU())
	}
	s.putSlab(e.PFN(), r)
	return nil
}

func (m *Model) applyObjAlloc(s *state, e allocator.Event, pos int) error {
	sl, err := m.slabOf(s, e.CacheID(), e.PFN())
	if err != nil {
		return err
	}
	ci := &m.caches[sl.cache]
	obj := e.Object()
	if obj < 0 || int32(obj) >= sl.objects {
		return fmt.Errorf("object %d does not exist in a slab of %d objects", obj, sl.objects)
	}
	if want := m.slabFirst(e.PFN(), sl) + allocator.Addr(uint64(obj)*ci.size); e.Addr() != want {
		return fmt.Errorf("object %d of the slab at pfn %#x is at %v, not %v", obj, e.PFN(), want, e.Addr())
	}
	idx := uint32(pos + 1)
	fn, lost := nameKmemCacheAlloc, e.Path() == "lost"
	if lost {
		fn = nameLost
	}
	if !m.newAlloc(s, e.Addr(), allocRec{size: e.Size(), bytes: ci.size, since: idx, lineage: idx, changed: idx,
		cache: sl.cache, fn: fn, kind: AllocSlab, lost: lost}) {
		return fmt.Errorf("object %v is already allocated", e.Addr())
	}
	s.setUsed(e.PFN(), s.used(e.PFN())+1)
	return nil
}

func (m *Model) applyObjFree(s *state, e allocator.Event, pos int, head bool) error {
	sl, err := m.slabOf(s, e.CacheID(), e.PFN())
	if err != nil {
		return err
	}
	a, ok := s.allocs.get(uint64(e.Addr()))
	if !ok || a.kind != AllocSlab || a.cache != sl.cache {
		return fmt.Errorf("object %v is not allocated from %s", e.Addr(), e.Cache())
	}
	if first := m.slabFirst(e.PFN(), sl); e.Addr() < first || uint64(e.Addr()-first) >= uint64(sl.objects)*m.caches[sl.cache].size {
		return fmt.Errorf("object %v is not in the slab at pfn %#x", e.Addr(), e.PFN())
	}
	s.setUsed(e.PFN(), s.used(e.PFN())-1)
	m.dropAlloc(s, e.Addr(), head)
	return nil
}

func (m *Model) applyKmalloc(s *state, e allocator.Event, idx uint32) error {
	if e.Addr().ZeroOrNull() {
		if e.Failed() {
			s.add(cFailures, 1)
		}
		return nil
	}
	if e.Cache() != "" {
		// The object's API is read from this event (fnOf): nothing to write.
		a, ok := s.allocs.get(uint64(e.Addr()))
		if !ok || a.kind != AllocSlab || a.lost || m.caches[a.cache].nameID != e.CacheID() {
			return fmt.Errorf("kmalloc reports %v from %s, which that cache did not hand out", e.Addr(), e.Cache())
		}
		return nil
	}
	pfn, ok := m.geo.addrPFN(e.Addr())
	if !ok || m.geo.pfnAddr(pfn) != e.Addr() {
		return fmt.Errorf("large kmalloc returned %v, which is not the start of a page frame", e.Addr())
	}
	h := s.page(pfn)
	if h.flags&pfHead == 0 || h.owner != allocator.OwnerLargeKmalloc {
		return fmt.Errorf("large kmalloc returned %v, but pfn %#x does not begin a block allocated for it", e.Addr(), pfn)
	}
	if _, ok := s.allocs.get(uint64(e.Addr())); ok {
		return fmt.Errorf("%v is already a live allocation", e.Addr())
	}
	m.newAlloc(s, e.Addr(), allocRec{size: e.Size(), bytes: m.geo.pageSize << h.order, since: idx, lineage: idx,
		changed: idx, cache: -1, fn: nameKmalloc, kind: AllocLargeKmalloc})
	return nil
}

func (m *Model) applyRealloc(s *state, e allocator.Event, pos int, head bool) error {
	r, ok := e.Realloc()
	if !ok {
		return errors.New("a realloc event without its decision")
	}
	if r.Within != "" {
		// A krealloc or vrealloc inside a kvrealloc: the outer call's
		// own EvRealloc follows and carries the decision.
		return nil
	}
	idx := uint32(pos + 1)
	var lin uint32
	lineageOf := func(a allocator.Addr) uint32 {
		if p, ok := s.allocs.get(uint64(a)); ok {
			return p.lineage
		}
		return m.lastLineage[uint64(a)]
	}
	switch r.Decision {
	case allocator.DecisionGrownInPlace, allocator.DecisionShrunkInPlace:
		if _, ok := s.allocs.get(uint64(r.Old)); !ok {
			return fmt.Errorf("%s kept %v in place, but it is not a live allocation", r.Func, r.Old)
		}
		if head {
			lin = lineageOf(r.Old)
		}
		m.resize(s, r.Old, r.NewSize, idx)
		if a, ok := s.areas.get(uint64(r.Old)); ok && !a.unpurged {
			ar := *a
			ar.size = r.NewSize
			s.putArea(r.Old, ar)
		}
	case allocator.DecisionMoved, allocator.DecisionNew:
		if !r.New.ZeroOrNull() {
			if _, ok := s.allocs.get(uint64(r.New)); !ok {
				return fmt.Errorf("%s returned %v, which is not a live allocation", r.Func, r.New)
			}
		}
		if head {
			if r.Decision == allocator.DecisionMoved && !r.Old.ZeroOrNull() {
				lin = lineageOf(r.Old)
			}
			if lin == 0 && !r.New.ZeroOrNull() {
				lin = lineageOf(r.New)
			}
		} else {
			lin = m.reallocAt(pos).lineage
		}
		if !r.New.ZeroOrNull() {
			p, _ := s.allocs.get(uint64(r.New))
			a := *p
			a.fn, a.changed = m.intern(r.Func), idx
			if lin != 0 {
				a.lineage = lin
			}
			s.putAlloc(r.New, a)
		}
	default:
		if head && !r.Old.ZeroOrNull() {
			lin = lineageOf(r.Old)
		}
	}
	s.add(cReallocs, 1)
	if head {
		m.reallocs = append(m.reallocs, reallocRec{pos: pos, lineage: lin})
	}
	return nil
}

// reallocAt returns the index record of the EvRealloc at pos.
func (m *Model) reallocAt(pos int) reallocRec {
	i := sort.Search(len(m.reallocs), func(i int) bool { return m.reallocs[i].pos >= pos })
	if i == len(m.reallocs) || m.reallocs[i].pos != pos {
		panic(fmt.Sprintf("heapview: the realloc at event %d was never indexed", pos))
	}
	return m.reallocs[i]
}

func (m *Model) applyVmapAlloc(s *state, e allocator.Event, idx uint32) error {
	if e.Addr() < allocator.VmallocStart || e.Addr() >= allocator.VmallocEnd || e.Bytes() == 0 ||
		uint64(e.Addr())+e.Bytes() > uint64(allocator.VmallocEnd) {
		return fmt.Errorf("a vmap area of %d bytes at %v is outside vmalloc space", e.Bytes(), e.Addr())
	}
	pfns := e.PFNs()
	if e.Pages() != len(pfns) || uint64(e.Pages())<<m.geo.shift > e.Bytes() {
		return fmt.Errorf("a vmap area of %d bytes at %v with %d pages lists %d page frames", e.Bytes(), e.Addr(), e.Pages(), len(pfns))
	}
	for _, p := range pfns {
		if p >= m.geo.nrPages {
			return fmt.Errorf("vmap area %v maps pfn %#x, beyond RAM", e.Addr(), p)
		}
		if r := s.page(p); r.owner != allocator.OwnerVmalloc {
			return fmt.Errorf("vmap area %v maps pfn %#x, which is not allocated for vmalloc (%v)", e.Addr(), p, r.owner)
		}
	}
	if err := m.areaFits(s, e.Addr(), e.Bytes()); err != nil {
		return err
	}
	if _, ok := s.allocs.get(uint64(e.Addr())); ok {
		return fmt.Errorf("%v is already a live allocation", e.Addr())
	}
	fn := cmp.Or(e.Op(), "vmalloc")
	s.putArea(e.Addr(), areaRec{bytes: e.Bytes(), size: e.Size(), since: idx, caller: m.intern(e.Src()), flags: m.intern(e.Path()),
		pfns: e.PFNList()})
	s.add(cAreas, 1)
	s.add(cAreaBytes, int64(e.Bytes()))
	m.newAlloc(s, e.Addr(), allocRec{size: e.Size(), bytes: uint64(e.Pages()) << m.geo.shift, since: idx, lineage: idx,
		changed: idx, cache: -1, fn: m.intern(fn), kind: AllocVmalloc})
	return nil
}

// areaFits checks that [a, a+bytes) overlaps no area or unpurged range.
func (m *Model) areaFits(s *state, a allocator.Addr, bytes uint64) error {
	if k, r, ok := s.areas.floor(uint64(a) + bytes - 1); ok && k+r.bytes > uint64(a) {
		what := "the area"
		if r.unpurged {
			what = "the unpurged range"
		}
		return fmt.Errorf("vmap area %v overlaps %s at %v", a, what, allocator.Addr(k))
	}
	return nil
}

// applyVmapFree unmaps an area: its range stays taken until the lazy
// purge. vmalloc also frees this way an area whose pages it could not all
// get, which was never announced by EvVmapAlloc.
func (m *Model) applyVmapFree(s *state, e allocator.Event, pos int, head bool) error {
	idx := uint32(pos + 1)
	a, ok := s.areas.get(uint64(e.Addr()))
	switch {
	case ok && a.unpurged:
		return fmt.Errorf("the vmap area at %v was already freed", e.Addr())
	case ok:
		r := *a
		s.add(cAreas, -1)
		s.add(cAreaBytes, -int64(r.bytes))
		r.unpurged, r.pfns = true, 0
		s.putArea(e.Addr(), r)
		if _, live := s.allocs.get(uint64(e.Addr())); live {
			m.dropAlloc(s, e.Addr(), head)
		}
	default:
		if e.Addr() < allocator.VmallocStart || e.Addr() >= allocator.VmallocEnd || e.Bytes() == 0 || uint64(e.Addr())+e.Bytes() > uint64(allocator.VmallocEnd) {
			return fmt.Errorf("a vmap area of %d bytes at %v is outside vmalloc space", e.Bytes(), e.Addr())
		}
		if err := m.areaFits(s, e.Addr(), e.Bytes()); err != nil {
			return err
		}
		s.putArea(e.Addr(), areaRec{bytes: e.Bytes(), size: e.Size(), since: idx, unpurged: true})
	}
	r, _ := s.areas.get(uint64(e.Addr()))
	s.add(cUnpurged, 1)
	s.add(cUnpurgedB, int64(r.bytes))
	return nil
}

// applyVmapPurge frees every unpurged range.
func (m *Model) applyVmapPurge(s *state, e allocator.Event) error {
	if int64(e.Areas()) != s.num[cUnpurged] {
		return fmt.Errorf("the lazy purge frees %d ranges, but %d wait for it", e.Areas(), s.num[cUnpurged])
	}
	var keys []uint64
	s.areas.ascend(0, func(k uint64, r *areaRec) bool {
		if r.unpurged {
			keys = append(keys, k)
		}
		return true
	})
	for _, k := range keys {
		s.delArea(allocator.Addr(k))
	}
	s.add(cUnpurged, -s.num[cUnpurged])
	s.add(cUnpurgedB, -s.num[cUnpurgedB])
	return nil
}

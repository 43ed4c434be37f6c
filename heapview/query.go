package heapview

import (
	"cmp"
	"slices"

	"github.com/allocviz/allocviz/allocator"
)

// The read side: what the state under the cursor holds. Every method
// describes the cursor's state; Seek moves it.

// PageSize returns PAGE_SIZE in bytes.
func (m *Model) PageSize() uint64 { return m.geo.pageSize }

// NrPages returns the number of page frames of RAM.
func (m *Model) NrPages() uint64 { return m.geo.nrPages }

// RAM returns the bytes of RAM.
func (m *Model) RAM() uint64 { return m.geo.ram }

// PFNAddr returns the direct-map address of pfn.
func (m *Model) PFNAddr(pfn uint64) allocator.Addr { return m.geo.pfnAddr(pfn) }

// AddrPFN returns the page frame behind a direct-map address.
func (m *Model) AddrPFN(a allocator.Addr) (uint64, bool) { return m.geo.addrPFN(a) }

// seqOf returns the Seq of the event at position+1 idx (0 for 0).
func (m *Model) seqOf(idx uint32) uint64 { return uint64(idx) }

// stepOfIdx returns the step of the event at position+1 idx.
func (m *Model) stepOfIdx(idx uint32) int {
	if idx == 0 {
		return 0
	}
	return m.log.StepOf(int(idx - 1))
}

// pageSince returns the Seq the machine gives a page of state s last
// changed by the event at position+1 idx: pages last described by the
// boot phase (reserved pages and the blocks freed at boot) carry the Seq
// of the last event of that phase applied, as bootBuddy stamps them.
func (m *Model) pageSince(s *state, idx uint32) uint64 {
	if end := min(m.bootEnd, uint32(s.pos)); idx != 0 && idx <= end {
		idx = end
	}
	return m.seqOf(idx)
}

// freeBlockOf finds the free block holding pfn in s.
func (m *Model) freeBlockOf(s *state, pfn uint64) (uint64, int, bool) {
	for o := 0; o <= allocator.MaxPageOrder; o++ {
		h := pfn &^ (1<<o - 1)
		if r := s.page(h); r.flags&(pfFree|pfPCP) != 0 && int(r.order) >= o && h+1<<r.order > pfn {
			return h, int(r.order), true
		}
	}
	return 0, 0, false
}

// pageInfo describes pfn in s as allocator.Machine.Page does.
func (m *Model) pageInfo(s *state, pfn uint64) allocator.PageInfo {
	r := s.page(pfn)
	info := allocator.PageInfo{PFN: pfn, Owner: r.owner, Since: m.pageSince(s, r.since), Compound: r.flags&pfCompound != 0,
		Zone: m.geo.zoneOf(pfn), Pageblock: pfn &^ (1<<m.geo.pbOrder - 1), Migrate: r.migrate()}
	switch {
	case r.flags&pfReserved != 0:
		info.State, info.Head = allocator.PageReserved, pfn
	case r.flags&(pfHead|pfTail) != 0:
		h := s.page(uint64(r.head))
		info.State, info.Head, info.Order = allocator.PageAllocated, uint64(r.head), int(h.order)
		if h.cache != 0 {
			info.Cache = m.caches[h.cache-1].name
		}
	default:
		info.State, info.Head = allocator.PageFree, pfn
		if h, o, ok := m.freeBlockOf(s, pfn); ok {
			info.Head, info.Order = h, o
			if hr := s.page(h); hr.flags&pfPCP != 0 {
				info.PCPCPU = int(hr.cache)
			}
		}
	}
	return info
}

// Page describes page frame pfn as allocator.Machine.Page does; pfn must
// be below NrPages.
func (m *Model) Page(pfn uint64) allocator.PageInfo { return m.pageInfo(m.cur, pfn) }

// FreeCounts returns the number of free blocks per order, all zones
// together (/proc/buddyinfo's rows added up).
func (m *Model) FreeCounts() [allocator.NrPageOrders]uint64 {
	var c [allocator.NrPageOrders]uint64
	for z := range allocator.MaxNrZones {
		for o := range c {
			c[o] += uint64(m.cur.num[freeCounter(z, o)])
		}
	}
	return c
}

// Buddyinfo renders /proc/buddyinfo as the machine does: a line per
// populated zone.
func (m *Model) Buddyinfo() string { return allocator.FormatBuddyinfo(m.Zones()) }

// Zones counts the free blocks of every zone by order and migrate type,
// and the pageblocks by migrate type, from the pages (the zones' sizes
// from boot); what /proc/buddyinfo and /proc/pagetypeinfo show.
func (m *Model) Zones() []allocator.ZoneStats {
	out := make([]allocator.ZoneStats, allocator.MaxNrZones)
	for t := range out {
		g := &m.geo.zones[t]
		z := &out[t]
		z.Type, z.StartPFN, z.Spanned, z.Present, z.Managed = allocator.ZoneType(t), g.start, g.spanned, g.present, g.managed
		if g.spanned == 0 {
			continue
		}
		// Every pageblock by its first page (a free block above
		// pageblock_order spans several, each with its own type).
		for p := g.start; p < g.start+g.spanned; p += 1 << m.geo.pbOrder {
			if r := m.cur.page(p); r.owner != allocator.OwnerHole {
				z.Pageblocks[r.migrate()]++
			}
		}
		for p := g.start; p < g.start+g.spanned; {
			r := m.cur.page(p)
			if r.flags&pfFree != 0 {
				z.NrFree[r.order][r.migrate()]++
				z.Free += 1 << r.order
				p += 1 << r.order
				continue
			}
			p++
		}
	}
	return out
}

// Totals are the machine-wide counters.
type Totals struct {
	Pages        uint64                         // page frames of RAM
	PagesByOwner [allocator.NumOwners]uint64    // page frames by allocator.Owner (OwnerFree: free; OwnerPCP: on pcp lists)
	FreeBlocks   [allocator.NrPageOrders]uint64 // free blocks by order
	Allocs       int                            // live allocations
	Requested    uint64                         // bytes requested by live allocations
	Taken        uint64                         // bytes those allocations occupy (objects, blocks, area pages)
	Slabs        int                            // slabs of all caches
	Areas        int                            // vmap areas
	VmallocBytes uint64                         // their address space, guard pages included
	Unpurged     int                            // freed areas whose ranges wait for the lazy purge
	UnpurgedB    uint64                         // their address space
	Reallocs     int                            // realloc decisions so far
	Failures     int                            // allocations that failed
	Reports      int                            // warnings, bad frees, SLUB reports, faults, misuse, failed checks
}

// Totals returns the counters of the state under the cursor.
func (m *Model) Totals() Totals {
	n := &m.cur.num
	t := Totals{Pages: m.geo.nrPages, Allocs: int(n[cAllocs]), Requested: uint64(n[cAllocReq]),
		Taken: uint64(n[cAllocBytes]), Slabs: int(n[cSlabs]), Areas: int(n[cAreas]), VmallocBytes: uint64(n[cAreaBytes]),
		Unpurged: int(n[cUnpurged]), UnpurgedB: uint64(n[cUnpurgedB]),
		Reallocs: int(n[cReallocs]), Failures: int(n[cFailures]), Reports: int(n[cReports])}
	for o := range t.PagesByOwner {
		t.PagesByOwner[o] = uint64(n[cOwner+o])
	}
	t.FreeBlocks = m.FreeCounts()
	return t
}

// Alloc is one live allocation.
type Alloc struct {
	Addr    allocator.Addr
	Size    uint64 // bytes requested (the latest size after in-place reallocs)
	Bytes   uint64 // bytes it occupies: the object size, the block, the area's pages (no guard page)
	Kind    AllocKind
	Func    string // the API that made it: "kmalloc", "kmem_cache_alloc", "krealloc", "kvmalloc", "vmalloc", "alloc_pages", ...
	Path    string // kvmalloc's path, if kvmalloc made it
	Cache   string // AllocSlab: the cache
	Vec     bool   // a KVec or KBox buffer
	Seq     uint64 // the event that made it
	Step    int    // the step that made it
	Lineage uint64 // Seq of the event that made the first allocation of its realloc chain
	Changed uint64 // Seq of the last event that changed it
}

// Bucket names where the allocation lives as ReallocInfo.Bucket does: the
// cache, "pages" or "vmalloc".
func (a Alloc) Bucket() string {
	switch a.Kind {
	case AllocSlab:
		return a.Cache
	case AllocVmalloc:
		return "vmalloc"
	}
	return "pages"
}

// fnOf names the API that made an allocation in a state of pos events. An
// object kmalloc handed out is recorded as kmem_cache_alloc's until the
// kmem:kmalloc event that follows its EvObjAlloc is applied; then it is
// kmalloc's (read from the events, so that applying that event needs no
// write).
func (m *Model) fnOf(pos int, addr uint64, r *allocRec) string {
	if r.fn == nameKmemCacheAlloc && r.kind == AllocSlab && int(r.since) < pos {
		if e := m.log.At(int(r.since)); e.Kind() == allocator.EvKmalloc && uint64(e.Addr()) == addr && !m.isBad(int(r.since)) {
			return "kmalloc"
		}
	}
	return m.names[r.fn]
}

// alloc describes the allocation record r at addr of a state of pos
// events.
func (m *Model) alloc(pos int, addr uint64, r *allocRec) Alloc {
	a := Alloc{Addr: allocator.Addr(addr), Size: r.size, Bytes: r.bytes, Kind: r.kind, Func: m.fnOf(pos, addr, r),
		Path: m.names[r.path], Vec: r.vec, Seq: m.seqOf(r.since), Step: m.stepOfIdx(r.since),
		Lineage: m.seqOf(r.lineage), Changed: m.seqOf(r.changed)}
	if r.kind == AllocSlab {
		a.Cache = m.caches[r.cache].name
	}
	return a
}

// Alloc returns the live allocation that begins at addr.
func (m *Model) Alloc(addr allocator.Addr) (Alloc, bool) {
	r, ok := m.cur.allocs.get(uint64(addr))
	if !ok || r.lost {
		return Alloc{}, false
	}
	return m.alloc(m.cur.pos, uint64(addr), r), true
}

// AllocContaining returns the live allocation whose bytes (Bytes, from its
// address) hold addr.
func (m *Model) AllocContaining(addr allocator.Addr) (Alloc, bool) {
	k, r, ok := m.cur.allocs.floor(uint64(addr))
	if !ok || r.lost || uint64(addr) >= k+max(r.bytes, 1) {
		return Alloc{}, false
	}
	return m.alloc(m.cur.pos, k, r), true
}

// Allocs returns the live allocations in address order.
func (m *Model) Allocs() []Alloc {
	out := make([]Alloc, 0, m.cur.num[cAllocs])
	m.cur.allocs.ascend(0, func(k uint64, r *allocRec) bool {
		if !r.lost {
			out = append(out, m.alloc(m.cur.pos, k, r))
		}
		return true
	})
	return out
}

// Cache is one slab cache, as /proc/slabinfo and slabtop show it.
type Cache struct {
	Name         string
	ObjSize      uint64 // object_size, bytes
	Size         uint64 // s->size, bytes: what each object occupies (slabinfo's objsize)
	Order        int    // slab order
	ObjPerSlab   int    // objects per slab
	PagesPerSlab int
	Alive        bool // not destroyed
	Slabs        int
	Objects      int    // objects in all slabs (slabinfo's num_objs)
	InUse        int    // objects handed out (and any lost to a slab_debug repair: not free either)
	Active       int    // slabinfo's active_objs: Objects less the free objects on node partial slabs
	CPUSlabs     int    // slabs that are some CPU's slab
	CPUPartial   int    // slabs on per-CPU partial lists
	NodePartial  int    // slabs on the node partial list
	Full         int    // full slabs (on no list)
	Requested    uint64 // bytes requested by the objects in use
	Rounding     uint64 // bytes lost to rounding requests up to Size: InUse*Size - Requested
	Tail         uint64 // bytes at the end of each slab that no object fits, times Slabs
}

// Use returns Active as a percentage of Objects, as slabtop's USE column.
func (c Cache) Use() int {
	if c.Objects == 0 {
		return 0
	}
	return c.Active * 100 / c.Objects
}

// Lost returns the bytes lost to rounding: request rounding and slab tails.
func (c Cache) Lost() uint64 { return c.Rounding + c.Tail }

// Caches returns every cache created so far (destroyed ones too, with
// Alive false), in creation order.
func (m *Model) Caches() []Cache {
	s := m.cur
	out := make([]Cache, len(s.caches))
	for id := range s.caches {
		ci, cs := &m.caches[id], &s.caches[id]
		slabBytes := m.geo.pageSize << ci.order
		out[id] = Cache{Name: ci.name, ObjSize: ci.objSize, Size: ci.size, Order: ci.order, ObjPerSlab: ci.perSlab,
			PagesPerSlab: 1 << ci.order, Alive: cs.alive, Slabs: int(cs.slabs), Objects: int(cs.objects),
			InUse: int(cs.inuse), Active: int(cs.objects), Requested: cs.req,
			Rounding: uint64(cs.inuse)*ci.size - cs.req, Tail: uint64(cs.slabs) * (slabBytes - uint64(ci.perSlab)*ci.size)}
	}
	s.slabs.ascend(0, func(k uint64, sl *slabRec) bool {
		c := &out[sl.cache]
		switch sl.list {
		case allocator.ListCPU:
			c.CPUSlabs++
		case allocator.ListCPUPartial:
			c.CPUPartial++
		case allocator.ListNodePartial:
			c.NodePartial++
			c.Active -= int(sl.objects - s.used(k))
		case allocator.ListFull:
			c.Full++
		}
		return true
	})
	return out
}

// CacheByName returns the newest cache called name.
func (m *Model) CacheByName(name string) (Cache, bool) {
	id := m.cacheAt(name, m.cur.pos)
	if id < 0 || int(id) >= len(m.cur.caches) {
		return Cache{}, false
	}
	return m.Caches()[id], true
}

// Slab is one slab of a cache.
type Slab struct {
	Cache   string
	PFN     uint64 // first page frame
	Order   int
	Objects int
	InUse   int // objects not free: handed out, or lost to a slab_debug repair
	List    allocator.SlabList
	CPU     int            // ListCPU and ListCPUPartial: the CPU; else -1
	First   allocator.Addr // object 0
	ObjSize uint64         // the stride between objects, bytes
	Seq     uint64         // the event that made it
	Step    int            // the step that made it
	Listed  uint64         // Seq of the event that put it on its list
}

// slab describes the slab record r at pfn of state s.
func (m *Model) slab(s *state, pfn uint64, r *slabRec) Slab {
	return Slab{Cache: m.caches[r.cache].name, PFN: pfn, Order: int(r.order), Objects: int(r.objects),
		InUse: int(s.used(pfn)), List: r.list, CPU: int(r.cpu), First: m.slabFirst(pfn, r), ObjSize: m.caches[r.cache].size,
		Seq: m.seqOf(r.since), Step: m.stepOfIdx(r.since), Listed: m.seqOf(r.listed)}
}

// Slabs returns the slabs of the named cache ("" for all) by pfn. A
// name is the newest cache called so, as in CacheByName: the leaked slabs
// of a destroyed cache of the same name are not among them.
func (m *Model) Slabs(cache string) []Slab {
	var out []Slab
	id := m.cacheAt(cache, m.cur.pos)
	m.cur.slabs.ascend(0, func(k uint64, r *slabRec) bool {
		if cache == "" || r.cache == id {
			out = append(out, m.slab(m.cur, k, r))
		}
		return true
	})
	return out
}

// ListedSlabs returns the slabs of the named cache ("" for all; a name is
// the newest cache called so) in SLUB's order: for each CPU its cpu slab and then its partial list from the head
// (the slab it takes next), then the node partial list from the head, then
// full slabs by pfn. The events give the order: a per-CPU partial list is
// pushed at the head, and the node partial list is joined at the end an
// EvSlabList's Path names ("head", else the tail).
func (m *Model) ListedSlabs(cache string) []Slab {
	type keyed struct {
		sl    Slab
		key   int64
		group int
	}
	var ks []keyed
	id := m.cacheAt(cache, m.cur.pos)
	m.cur.slabs.ascend(0, func(k uint64, r *slabRec) bool {
		if cache != "" && r.cache != id {
			return true
		}
		x := keyed{sl: m.slab(m.cur, k, r)}
		switch r.list {
		case allocator.ListCPU:
			x.group = 2 * int(r.cpu)
		case allocator.ListCPUPartial:
			x.group, x.key = 2*int(r.cpu)+1, -int64(r.listed)
		case allocator.ListNodePartial:
			x.group, x.key = 1<<20, int64(r.listed)
			if r.head {
				x.key = -x.key
			}
		default:
			x.group, x.key = 1<<21, int64(k)
		}
		ks = append(ks, x)
		return true
	})
	slices.SortStableFunc(ks, func(a, b keyed) int {
		if c := cmp.Compare(a.group, b.group); c != 0 {
			return c
		}
		return cmp.Compare(a.key, b.key)
	})
	out := make([]Slab, len(ks))
	for i, x := range ks {
		out[i] = x.sl
	}
	return out
}

// SlabAt returns the slab holding page frame pfn.
func (m *Model) SlabAt(pfn uint64) (Slab, bool) {
	if pfn >= m.geo.nrPages {
		return Slab{}, false
	}
	r := m.cur.page(pfn)
	if r.owner != allocator.OwnerSlab {
		return Slab{}, false
	}
	h := uint64(r.head)
	sl, ok := m.cur.slabs.get(h)
	if !ok {
		return Slab{}, false
	}
	return m.slab(m.cur, h, sl), true
}

// ObjectUsed reports whether object i of slab sl is not free: handed out,
// or lost (see ObjectLost).
func (m *Model) ObjectUsed(sl Slab, i int) bool {
	_, ok := m.cur.allocs.get(uint64(sl.First) + uint64(i)*sl.ObjSize)
	return ok
}

// ObjectLost reports whether object i of slab sl is lost: a slab_debug
// consistency repair took it off the freelists (EvObjAlloc Path "lost"),
// so it is neither free nor an allocation until a repair puts it back or
// the slab goes.
func (m *Model) ObjectLost(sl Slab, i int) bool {
	r, ok := m.cur.allocs.get(uint64(sl.First) + uint64(i)*sl.ObjSize)
	return ok && r.lost
}

// Area is one vmap area, or the range of a freed area that waits for the
// lazy purge (Unpurged, /proc/vmallocinfo's "unpurged vm_area").
type Area struct {
	Addr     allocator.Addr
	Bytes    uint64   // address space, guard page included (vmallocinfo's size)
	Size     uint64   // bytes requested (the latest, after in-place vreallocs)
	PFNs     []uint64 // the page frames behind it, in address order; nil when Unpurged; must not be changed
	Caller   string   // who asked (vmallocinfo's caller)
	Flags    string   // vmallocinfo's flag words ("vmalloc", "vmalloc vpages")
	Unpurged bool     // freed: unmapped, the range taken until the lazy purge
	Seq      uint64   // the event that made it (for an unpurged range, the one that freed it)
	Step     int
	Func     string // the API that made it, if it is a live allocation
}

// Guard reports whether the area has a guard page, and its address.
func (a Area) Guard(pageSize uint64) (allocator.Addr, bool) {
	if a.Bytes <= uint64(len(a.PFNs))*pageSize {
		return 0, false
	}
	return a.Addr + allocator.Addr(a.Bytes-pageSize), true
}

// areaOf describes an area record without its allocation.
func (m *Model) areaOf(k uint64, r *areaRec) Area {
	return Area{Addr: allocator.Addr(k), Bytes: r.bytes, Size: r.size, PFNs: m.log.PFNs(nil, r.pfns), Caller: m.names[r.caller],
		Flags: m.names[r.flags], Unpurged: r.unpurged, Seq: m.seqOf(r.since), Step: m.stepOfIdx(r.since)}
}

func (m *Model) area(k uint64, r *areaRec) Area {
	a := m.areaOf(k, r)
	if al, ok := m.cur.allocs.get(k); ok && !r.unpurged {
		a.Func = m.fnOf(m.cur.pos, k, al)
	}
	return a
}

// Areas returns the vmap areas and the unpurged ranges in address order.
func (m *Model) Areas() []Area {
	out := make([]Area, 0, m.cur.areas.n)
	m.cur.areas.ascend(0, func(k uint64, r *areaRec) bool {
		out = append(out, m.area(k, r))
		return true
	})
	return out
}

// AreaContaining returns the vmap area whose address space holds addr.
func (m *Model) AreaContaining(addr allocator.Addr) (Area, bool) {
	k, r, ok := m.cur.areas.floor(uint64(addr))
	if !ok || uint64(addr) >= k+r.bytes {
		return Area{}, false
	}
	return m.area(k, r), true
}

// AreaOfPage returns the vmap area that maps page frame pfn.
func (m *Model) AreaOfPage(pfn uint64) (Area, int, bool) {
	var found Area
	idx := -1
	var pfns []uint64
	m.cur.areas.ascend(0, func(k uint64, r *areaRec) bool {
		pfns = m.log.PFNs(pfns[:0], r.pfns)
		for i, p := range pfns {
			if p == pfn {
				found, idx = m.area(k, r), i
				return false
			}
		}
		return true
	})
	return found, idx, idx >= 0
}

// Realloc is one realloc decision.
type Realloc struct {
	allocator.ReallocInfo
	Text    string // the rule that decided
	Seq     uint64 // the event
	Pos     int    // its position in the log
	Step    int
	Lineage uint64 // Seq of the event that made the first allocation of the chain
}

func (m *Model) realloc(r reallocRec) Realloc {
	e := m.log.At(r.pos)
	info, _ := e.Realloc()
	return Realloc{ReallocInfo: info, Text: e.Text(), Seq: e.Seq(), Pos: r.pos, Step: e.Step(), Lineage: m.seqOf(r.lineage)}
}

// Reallocs returns the realloc decisions made up to the cursor.
func (m *Model) Reallocs() []Realloc {
	var out []Realloc
	for _, r := range m.reallocs {
		if r.pos >= m.cur.pos {
			break
		}
		out = append(out, m.realloc(r))
	}
	return out
}

// LatestRealloc returns the last realloc decision made up to the cursor.
func (m *Model) LatestRealloc() (Realloc, bool) {
	for i := len(m.reallocs) - 1; i >= 0; i-- {
		if m.reallocs[i].pos < m.cur.pos {
			return m.realloc(m.reallocs[i]), true
		}
	}
	return Realloc{}, false
}

// ReallocHistory returns the decisions of one realloc chain (identified by
// Realloc.Lineage or Alloc.Lineage) up to the cursor, oldest first.
func (m *Model) ReallocHistory(lineage uint64) []Realloc {
	var out []Realloc
	for _, r := range m.reallocs {
		if r.pos >= m.cur.pos {
			break
		}
		if r.lineage != 0 && m.seqOf(r.lineage) == lineage {
			out = append(out, m.realloc(r))
		}
	}
	return out
}

package heapview

import (
	"slices"

	"github.com/allocviz/allocviz/allocator"
)

// pageFlags mirror the buddy allocator's page flags. A page is exactly one
// of: untouched (no flags, before boot describes it), free (pfFree on the
// first page of a free block, no flags on the others), allocated (pfHead on
// the first page, pfTail on the others) or reserved.
type pageFlags uint8

const (
	pfFree     pageFlags = 1 << iota // first page of a free block of order .order
	pfHead                           // first page of an allocated block of order .order
	pfTail                           // a later page of an allocated block headed by .head
	pfReserved                       // reserved at boot
	pfCompound                       // part of a block allocated with __GFP_COMP
	pfPCP                            // first page of a block of order .order on a CPU's pcp list
)

// pageRec is the model of one page frame (16 bytes).
type pageRec struct {
	owner allocator.Owner // who holds the page; OwnerFree when free
	flags pageFlags
	order int8   // pfFree, pfPCP and pfHead pages: the block's order
	pbt   uint8  // the migrate type of the page's pageblock, XOR MigrateMovable (so the zero value is Movable, as at boot)
	head  uint32 // pfn of the first page of the allocated block (pfHead, pfTail)
	since uint32 // position+1 of the event that last changed the page; 0: untouched
	cache uint32 // pfHead pages of a slab: the cache id + 1; pfPCP pages: the CPU whose list; else 0
}

// migrate returns the migrate type of the page's pageblock.
func (r *pageRec) migrate() allocator.MigrateType {
	return allocator.MigrateType(r.pbt) ^ allocator.MigrateMovable
}

// slabRec is one slab, keyed by its first pfn.
type slabRec struct {
	cache   int32              // cache id
	order   int8               // pages = 1 << order
	list    allocator.SlabList // the list it is on
	cpu     int16              // ListCPU, ListCPUPartial: the CPU; else -1
	objects int32              // objects in the slab (the objects in use are in state.inuse)
	off     uint32             // bytes from the slab's first page to object 0 (a left red zone)
	since   uint32             // position+1 of EvSlabNew
	listed  uint32             // position+1 of the event that put it on its list
	head    bool               // ListNodePartial: it joined the list at the head (else the tail)
}

// areaRec is one vmap area, or the range of a freed one that waits for
// the lazy purge, keyed by its start address.
type areaRec struct {
	bytes    uint64 // address space, guard page included
	size     uint64 // bytes requested (the latest, after in-place vreallocs)
	since    uint32 // position+1 of EvVmapAlloc (or of EvVmapFree for an unpurged range)
	caller   uint16 // interned caller (/proc/vmallocinfo)
	flags    uint16 // interned flag words (/proc/vmallocinfo)
	unpurged bool   // freed: unmapped, its range taken until EvVmapPurge
	pfns     uint32 // the pages behind the area in address order: the log's list (allocator.Event.PFNList); 0 when unpurged
}

// AllocKind says what kind of memory an allocation is.
type AllocKind uint8

// Allocation kinds.
const (
	AllocSlab         AllocKind = iota // an object of a slab cache
	AllocLargeKmalloc                  // a kmalloc above KMALLOC_MAX_CACHE_SIZE: a compound page block
	AllocPages                         // alloc_pages
	AllocVmalloc                       // a vmap area
)

var allocKindNames = [...]string{"slab object", "large kmalloc", "pages", "vmalloc"}

func (k AllocKind) String() string {
	if int(k) < len(allocKindNames) {
		return allocKindNames[k]
	}
	return "unknown"
}

// allocRec is one live allocation, keyed by its address.
type allocRec struct {
	size    uint64 // bytes requested (the latest, after in-place reallocs)
	bytes   uint64 // bytes taken: object size, block size, area pages
	since   uint32 // position+1 of the event that made it
	lineage uint32 // position+1 of the event that made the first allocation of its realloc chain
	changed uint32 // position+1 of the last event that changed it
	cache   int32  // AllocSlab: cache id; else -1
	fn      uint16 // interned name of the API that made it ("kmalloc", "krealloc", ...)
	path    uint16 // interned kvmalloc path, 0: none
	kind    AllocKind
	vec     bool // a KVec or KBox buffer (an EvVecOp named it)
	lost    bool // a slab object a consistency repair took off the freelists: not free, but no allocation
}

// cacheState is the changing part of a slab cache; its geometry is in
// Model.caches. inuse and req follow from the allocations (countAlloc);
// the rest is what slabs and the cache's life change.
type cacheState struct {
	req     uint64 // bytes requested by the objects handed out
	objects int32  // objects in all slabs
	inuse   int32  // objects handed out
	slabs   int32  // slabs
	alive   bool
}

// Counter indices.
const (
	cFree       = 0                                                        // + zone*NrPageOrders + order: free blocks of that order in that zone (freeCounter)
	cFreePages  = cFree + int(allocator.MaxNrZones)*allocator.NrPageOrders // free page frames
	cOwner      = cFreePages + 1                                           // + owner: page frames held by that owner
	cAllocs     = cOwner + allocator.NumOwners                             // live allocations
	cAllocReq   = cAllocs + 1                                              // bytes requested by live allocations
	cAllocBytes = cAllocReq + 1                                            // bytes taken by live allocations
	cSlabs      = cAllocBytes + 1                                          // slabs
	cAreas      = cSlabs + 1                                               // vmap areas
	cAreaBytes  = cAreas + 1                                               // vmalloc address space in use, guard pages included
	cUnpurged   = cAreaBytes + 1                                           // freed areas whose ranges wait for the lazy purge
	cUnpurgedB  = cUnpurged + 1                                            // their address space
	cReallocs   = cUnpurgedB + 1                                           // realloc decisions
	cFailures   = cReallocs + 1                                            // failed allocations
	cReports    = cFailures + 1                                            // reports: bad frees, warnings, SLUB reports, faults, misuse, failed checks
	cFreeMT     = cReports + 1                                             // + migrate type: free page frames in blocks whose first pageblock has that type
	nCounters   = cFreeMT + int(allocator.MigrateTypes)
)

// freeCounter is the counter of free blocks of order in zone z.
func freeCounter(z allocator.ZoneType, order int) int {
	return cFree + int(z)*allocator.NrPageOrders + order
}

// state is the machine as the events describe it after pos events.
type state struct {
	epoch  uint64 // writes copy chunks and nodes of other epochs
	pos    int    // events applied
	pages  vec[pageRec]
	inuse  vec[int32]      // by first pfn of a slab: its objects not free; kept apart from slabRec, as it changes with every object
	slabs  treap[slabRec]  // by first pfn
	allocs treap[allocRec] // by address
	areas  treap[areaRec]  // by start address
	caches []cacheState    // by cache id; owned (never shared)
	num    [nCounters]int64
	jr     *journal // non-nil: record how to undo each change (the head state only)
	work   uint64   // pages and entries written so far (the head's measure of replay cost)
}

// copied returns the bytes of chunks and nodes s copied since its last
// snapshot: what that snapshot keeps alone.
func (s *state) copied() uint64 {
	return s.pages.copied + s.inuse.copied + s.slabs.copied + s.allocs.copied + s.areas.copied
}

// snapshot returns a copy of s that shares its chunks and nodes; s moves
// to a new epoch so that neither writes what the other sees. It resets
// s's count of copies.
func (s *state) snapshot(newEpoch func() uint64) *state {
	c := *s
	c.pages = s.pages.clone()
	c.inuse = s.inuse.clone()
	c.caches = slices.Clone(s.caches)
	c.jr = nil
	c.epoch = newEpoch()
	s.epoch = newEpoch()
	s.pages.copied, s.inuse.copied, s.slabs.copied, s.allocs.copied, s.areas.copied = 0, 0, 0, 0, 0
	return &c
}

// fork is snapshot for a state that is not a checkpoint (the cursor's):
// s keeps its count of copies, which measures what the next checkpoint
// will hold.
func (s *state) fork(newEpoch func() uint64) *state {
	p, i, sl, a, ar := s.pages.copied, s.inuse.copied, s.slabs.copied, s.allocs.copied, s.areas.copied
	c := s.snapshot(newEpoch)
	s.pages.copied, s.inuse.copied, s.slabs.copied, s.allocs.copied, s.areas.copied = p, i, sl, a, ar
	return c
}

// treapWork is the replay cost of a tree operation, in page writes.
const treapWork = 64

// savePages records the old values of pages [pfn, pfn+n) as runs of equal
// records.
func (s *state) savePages(pfn, n uint64) {
	s.work += n
	if s.jr == nil {
		return
	}
	pages := &s.jr.pend.pages
	for i := pfn; i < pfn+n; i++ {
		r := *s.pages.at(i)
		if k := len(*pages) - 1; k >= 0 {
			if u := &(*pages)[k]; u.pfn+u.n == i && u.rec == r {
				u.n++
				continue
			}
		}
		*pages = append(*pages, pageUndo{pfn: i, n: 1, rec: r})
	}
}

func (s *state) page(pfn uint64) *pageRec { return s.pages.at(pfn) }

// used returns the objects in use of the slab at pfn.
func (s *state) used(pfn uint64) int32 { return *s.inuse.at(pfn) }

// setUsed sets the objects in use of the slab at pfn.
func (s *state) setUsed(pfn uint64, n int32) {
	s.work++
	p := s.inuse.mut(s.epoch, pfn)
	if s.jr != nil {
		s.jr.pend.counts = append(s.jr.pend.counts, countUndo{uint32(pfn), *p})
	}
	*p = n
}

func (s *state) mutPage(pfn uint64) *pageRec { return s.pages.mut(s.epoch, pfn) }

func (s *state) add(id int, delta int64) {
	if delta == 0 {
		return
	}
	if s.jr != nil {
		s.jr.pend.nums = append(s.jr.pend.nums, numUndo{uint8(id), delta})
	}
	s.num[id] += delta
}

// countAlloc adds (sign 1) or takes away (-1) what allocation r counts
// for: the counts of live allocations and their bytes (not for a lost
// object), and its cache's objects in use. These follow from the
// allocation records, so the journal does not record them: undoing an
// allocation record counts them back (undoAllocs).
func (s *state) countAlloc(r *allocRec, sign int64) {
	if !r.lost {
		s.num[cAllocs] += sign
		s.num[cAllocReq] += sign * int64(r.size)
		s.num[cAllocBytes] += sign * int64(r.bytes)
	}
	if r.kind == AllocSlab && int(r.cache) < len(s.caches) {
		c := &s.caches[r.cache]
		c.inuse += int32(sign)
		c.req += uint64(sign * int64(r.size))
	}
}

func (s *state) putSlab(pfn uint64, v slabRec) {
	s.work += treapWork
	old, _ := s.slabs.set(s.epoch, pfn, v)
	if s.jr != nil {
		s.jr.pend.slabs = append(s.jr.pend.slabs, kvUndo[slabRec]{pfn, old})
	}
}

func (s *state) delSlab(pfn uint64) {
	s.work += treapWork
	old, had := s.slabs.del(s.epoch, pfn)
	if s.jr != nil && had {
		s.jr.pend.slabs = append(s.jr.pend.slabs, kvUndo[slabRec]{pfn, old})
	}
}

// insertAlloc adds an allocation at a and reports true, or reports false
// and changes nothing when one is there already.
func (s *state) insertAlloc(a allocator.Addr, v allocRec) bool {
	s.work += treapWork
	old, had := s.allocs.set(s.epoch, uint64(a), v)
	if had {
		s.allocs.set(s.epoch, uint64(a), old)
		return false
	}
	if s.jr != nil {
		s.jr.pend.allocs = append(s.jr.pend.allocs, kvUndo[allocRec]{key: uint64(a)})
	}
	return true
}

func (s *state) putAlloc(a allocator.Addr, v allocRec) {
	s.work += treapWork
	old, _ := s.allocs.set(s.epoch, uint64(a), v)
	if s.jr != nil {
		s.jr.pend.allocs = append(s.jr.pend.allocs, kvUndo[allocRec]{uint64(a), old})
	}
}

// delAlloc removes the allocation at a, which must exist, and returns it.
func (s *state) delAlloc(a allocator.Addr) allocRec {
	s.work += treapWork
	old, had := s.allocs.del(s.epoch, uint64(a))
	if s.jr != nil && had {
		s.jr.pend.allocs = append(s.jr.pend.allocs, kvUndo[allocRec]{uint64(a), old})
	}
	return old
}

func (s *state) putArea(a allocator.Addr, v areaRec) {
	s.work += treapWork
	old, _ := s.areas.set(s.epoch, uint64(a), v)
	if s.jr != nil {
		s.jr.pend.areas = append(s.jr.pend.areas, kvUndo[areaRec]{uint64(a), old})
	}
}

func (s *state) delArea(a allocator.Addr) {
	s.work += treapWork
	old, had := s.areas.del(s.epoch, uint64(a))
	if s.jr != nil && had {
		s.jr.pend.areas = append(s.jr.pend.areas, kvUndo[areaRec]{uint64(a), old})
	}
}

// setCache stores cache id's state; id == len(caches) appends. Only its
// slabs, objects and life may change: inuse and req are countAlloc's.
func (s *state) setCache(id int32, c cacheState) {
	grew := int(id) == len(s.caches)
	if !grew {
		old := s.caches[id]
		c.inuse, c.req = old.inuse, old.req
		if s.jr != nil {
			s.jr.pend.caches = append(s.jr.pend.caches, cacheUndo{id: id, slabs: c.slabs - old.slabs,
				objects: c.objects - old.objects, alive: c.alive != old.alive})
		}
		s.caches[id] = c
		return
	}
	if s.jr != nil {
		s.jr.pend.caches = append(s.jr.pend.caches, cacheUndo{id: id, grew: true})
	}
	s.caches = append(s.caches, c)
}

// undo reverts the records the journal holds in [from, to) on s: one
// event's, or those of a run of events, newest first.
func (s *state) undo(j *journal, from, to uint64) {
	u := &j.scr
	j.decode(from, to, u)
	for i := len(u.pages) - 1; i >= 0; i-- {
		p := &u.pages[i]
		for pfn := p.pfn; pfn < p.pfn+p.n; pfn++ {
			*s.mutPage(pfn) = p.rec
		}
	}
	undoTree(&s.slabs, s.epoch, oldestOnly(u.slabs, j), func(r *slabRec) bool { return r.since != 0 })
	s.undoAllocs(oldestOnly(u.allocs, j))
	undoTree(&s.areas, s.epoch, oldestOnly(u.areas, j), func(r *areaRec) bool { return r.since != 0 })
	for i := len(u.caches) - 1; i >= 0; i-- {
		c := &u.caches[i]
		if c.grew {
			s.caches = s.caches[:c.id]
			continue
		}
		cs := &s.caches[c.id]
		cs.slabs -= c.slabs
		cs.objects -= c.objects
		cs.alive = cs.alive != c.alive
	}
	for i := len(u.nums) - 1; i >= 0; i-- {
		s.num[u.nums[i].id] -= u.nums[i].delta
	}
	for i := len(u.counts) - 1; i >= 0; i-- {
		c := &u.counts[i]
		*s.inuse.mut(s.epoch, uint64(c.pfn)) = c.old
	}
}

// undoAllocs reverts allocation records, newest first, and the counts
// they made (countAlloc).
func (s *state) undoAllocs(l []kvUndo[allocRec]) {
	for i := len(l) - 1; i >= 0; i-- {
		u := &l[i]
		if cur, ok := s.allocs.get(u.key); ok {
			s.countAlloc(cur, -1)
		}
		if u.old.since != 0 {
			s.allocs.set(s.epoch, u.key, u.old)
			s.countAlloc(&u.old, 1)
		} else {
			s.allocs.del(s.epoch, u.key)
		}
	}
}

// oldestOnly keeps, of a long run of tree records (oldest first), only
// the oldest of each key: undoing the run puts back the value each key
// had before it, which that record holds, so the later ones are work for
// nothing. A seek that undoes a long stretch touches each key once.
func oldestOnly[V record](l []kvUndo[V], j *journal) []kvUndo[V] {
	if len(l) < 64 {
		return l
	}
	if j.seen == nil {
		j.seen = make(map[uint64]struct{})
	}
	clear(j.seen)
	out := l[:0]
	for _, u := range l {
		if _, dup := j.seen[u.key]; !dup {
			j.seen[u.key] = struct{}{}
			out = append(out, u)
		}
	}
	return out
}

// undoTree reverts tree records [from, to): an old value that existed is
// put back, else the key is deleted.
func undoTree[V record](t *treap[V], epoch uint64, l []kvUndo[V], existed func(*V) bool) {
	for i := len(l) - 1; i >= 0; i-- {
		u := &l[i]
		if existed(&u.old) {
			t.set(epoch, u.key, u.old)
		} else {
			t.del(epoch, u.key)
		}
	}
}

package heapview

import (
	"slices"
	"sort"

	"github.com/allocviz/allocviz/allocator"
)

// A slab's freelists are not part of the model's state, which has only
// which objects are in use: they are followed from the events. A new
// slab's objects are on its freelist in index order, or in the order its
// EvSlabNew lists (CONFIG_SLAB_FREELIST_RANDOM). An allocation from a CPU
// slab pops the CPU's list; when that is empty it first takes the whole
// slab freelist (the slow path's get_freelist). A free by the CPU whose
// CPU slab it is pushes onto the CPU's list (the fast path), any other
// onto the slab's freelist; both are LIFO. A debug cache's slabs are never
// CPU slabs: they hand out the head of the slab freelist. When the slab
// stops being a CPU slab (deactivate_slab) the CPU's list is spliced in
// front of the slab's. Objects a consistency repair puts back (EvObjFree
// Path "repair") go to the front of the slab's freelist; those it loses
// (EvObjAlloc Path "lost") leave the lists.
//
// While taking events in, the model follows every live slab's freelists
// (flHead) and, each time it takes a checkpoint, keeps those of the slabs
// that changed since the last one (flSnap). The freelists under the
// cursor are then those of the latest checkpoint at or before it, plus
// the events between that checkpoint and the cursor: the same work at the
// first step and at the millionth.

// slabFreelists is one slab's two freelists, and when each free object
// was last freed.
type slabFreelists struct {
	cpu, slab []int
	freed     map[int]int // object -> position of the event that freed it; absent: never freed
}

// objList is a singly linked list of object indexes threaded through a
// shared next array, as SLUB threads its freelists through the objects.
type objList struct {
	head, tail int32 // -1 when empty
}

var emptyList = objList{-1, -1}

// flSim follows one slab's freelists.
type flSim struct {
	since   uint32  // position+1 of its EvSlabNew
	next    []int32 // per object: the next on its list, -1 at the end
	on      []uint8 // per object: 0 on no list, 1 the CPU's, 2 the slab's
	freed   []uint32
	lists   [3]objList
	list    allocator.SlabList // the slab's list as the events go
	cpu     int                // for ListCPU
	touched bool               // changed since the last checkpoint
}

// newSim starts the freelists of a slab of n objects made by the EvSlabNew
// e: every object on the slab's freelist, in the order e lists or in index
// order.
func newSim(e allocator.Event, n int) *flSim {
	f := &flSim{since: uint32(e.Pos() + 1), next: make([]int32, n), on: make([]uint8, n), freed: make([]uint32, n),
		lists: [3]objList{emptyList, emptyList, emptyList}, list: allocator.ListCPU, cpu: e.CPU(), touched: true}
	order := initialOrder(e, n)
	for j := len(order) - 1; j >= 0; j-- {
		f.push(2, int32(order[j]))
	}
	return f
}

// initialOrder returns the order of a new slab's freelist: the indexes
// its EvSlabNew lists when they are a permutation of its objects, else
// index order.
func initialOrder(e allocator.Event, objects int) []int {
	out := make([]int, 0, objects)
	if e.Kind() == allocator.EvSlabNew && e.NumPFNs() == objects {
		seen := make([]bool, objects)
		for _, i := range e.PFNs() {
			if i < uint64(objects) && !seen[i] {
				seen[i] = true
				out = append(out, int(i))
			}
		}
	}
	if len(out) != objects {
		out = out[:0]
		for i := range objects {
			out = append(out, i)
		}
	}
	return out
}

func (f *flSim) push(l uint8, i int32) {
	f.drop(i)
	lst := &f.lists[l]
	f.next[i] = lst.head
	lst.head = i
	if lst.tail < 0 {
		lst.tail = i
	}
	f.on[i] = l
}

// drop takes object i off the list it is on.
func (f *flSim) drop(i int32) {
	l := f.on[i]
	if l == 0 {
		return
	}
	lst := &f.lists[l]
	prev := int32(-1)
	for p := lst.head; p >= 0; prev, p = p, f.next[p] {
		if p != i {
			continue
		}
		if prev < 0 {
			lst.head = f.next[p]
		} else {
			f.next[prev] = f.next[p]
		}
		if lst.tail == p {
			lst.tail = prev
		}
		break
	}
	f.next[i], f.on[i] = -1, 0
}

// splice moves the whole of list from in front of list to.
func (f *flSim) splice(from, to uint8) {
	a, b := f.lists[from], f.lists[to]
	if a.head < 0 {
		return
	}
	for p := a.head; p >= 0; p = f.next[p] {
		f.on[p] = to
	}
	f.next[a.tail] = b.head
	if b.head < 0 {
		b.tail = a.tail
	}
	b.head = a.head
	f.lists[to], f.lists[from] = b, emptyList
}

func (f *flSim) items(l uint8) []int {
	var out []int
	for p := f.lists[l].head; p >= 0 && len(out) < len(f.next); p = f.next[p] {
		out = append(out, int(p))
	}
	return out
}

// replay applies one event naming the slab to its freelists.
func (f *flSim) replay(e allocator.Event) {
	f.touched = true
	if e.Kind() == allocator.EvSlabList {
		if f.list == allocator.ListCPU && e.List() != allocator.ListCPU {
			f.splice(1, 2) // deactivate_slab
		}
		f.list, f.cpu = e.List(), e.ListCPU()
		return
	}
	obj := e.Object()
	if e.Kind() != allocator.EvObjAlloc && e.Kind() != allocator.EvObjFree || obj < 0 || obj >= len(f.next) {
		return
	}
	i := int32(obj)
	switch {
	case e.Kind() == allocator.EvObjAlloc && e.Path() == "lost":
		f.drop(i)
	case e.Kind() == allocator.EvObjAlloc:
		if f.list == allocator.ListCPU && f.lists[1].head < 0 {
			f.splice(2, 1) // the slow path takes the slab's freelist
		}
		f.drop(i)
	case e.Path() != "repair" && f.list == allocator.ListCPU && f.cpu == e.CPU():
		f.push(1, i) // the fast path: this CPU's cpu slab
		f.freed[i] = uint32(e.Pos() + 1)
	default:
		f.push(2, i)
		f.freed[i] = uint32(e.Pos() + 1)
	}
}

// result returns the freelists as Freelists gives them.
func (f *flSim) result() slabFreelists {
	out := slabFreelists{cpu: f.items(1), slab: f.items(2), freed: map[int]int{}}
	for _, l := range [][]int{out.cpu, out.slab} {
		for _, i := range l {
			if f.freed[i] != 0 {
				out.freed[i] = int(f.freed[i]) - 1
			}
		}
	}
	if f.list != allocator.ListCPU {
		out.slab, out.cpu = append(out.cpu, out.slab...), nil
	}
	return out
}

// flSnap is a slab's freelists at a checkpoint: the objects of the CPU's
// list then of the slab's, and when each was freed.
type flSnap struct {
	at    uint32 // the checkpoint: events applied
	since uint32 // the slab (position+1 of its EvSlabNew)
	list  allocator.SlabList
	cpu   int32
	ncpu  uint32
	objs  []uint32
	freed []uint32
}

// snap returns the freelists' snapshot at position at.
func (f *flSim) snap(at int) flSnap {
	s := flSnap{at: uint32(at), since: f.since, list: f.list, cpu: int32(f.cpu)}
	for l := uint8(1); l <= 2; l++ {
		for p := f.lists[l].head; p >= 0 && len(s.objs) < len(f.next); p = f.next[p] {
			s.objs = append(s.objs, uint32(p))
			s.freed = append(s.freed, f.freed[p])
		}
		if l == 1 {
			s.ncpu = uint32(len(s.objs))
		}
	}
	s.objs, s.freed = slices.Clip(s.objs), slices.Clip(s.freed)
	return s
}

// restore returns freelists of n objects as s keeps them.
func (s *flSnap) restore(n int) *flSim {
	f := &flSim{since: s.since, next: make([]int32, n), on: make([]uint8, n), freed: make([]uint32, n),
		lists: [3]objList{emptyList, emptyList, emptyList}, list: s.list, cpu: int(s.cpu)}
	for k := len(s.objs) - 1; k >= 0; k-- {
		l := uint8(2)
		if uint32(k) < s.ncpu {
			l = 1
		}
		if i := s.objs[k]; int(i) < n {
			f.push(l, int32(i))
			f.freed[i] = s.freed[k]
		}
	}
	return f
}

// freelistState is what the model keeps of freelists.
type freelistState struct {
	head   map[uint64]*flSim   // every live slab's freelists after the events taken in
	snaps  map[uint64][]flSnap // by slab pfn, oldest first: the freelists at checkpoints of slabs that changed since the one before
	points []int               // the positions of the checkpoints snaps were taken at, ascending
	cache  struct {
		version uint64
		lists   map[uint64]slabFreelists // by slab pfn, under the cursor
		window  map[uint64][]int32       // by slab pfn, the events from the latest checkpoint to the cursor that change freelists
	}
}

// followSlab updates the head's freelists with the event e, which the
// head state took in.
func (m *Model) followSlab(e allocator.Event) {
	fl := &m.fl
	if fl.head == nil {
		fl.head, fl.snaps = map[uint64]*flSim{}, map[uint64][]flSnap{}
	}
	switch e.Kind() {
	case allocator.EvSlabNew:
		fl.head[e.PFN()] = newSim(e, e.Objects())
	case allocator.EvSlabList, allocator.EvObjAlloc, allocator.EvObjFree:
		if f := fl.head[e.PFN()]; f != nil {
			f.replay(e)
		}
	case allocator.EvSlabDiscard, allocator.EvPageFree:
		if f := fl.head[e.PFN()]; f != nil {
			if _, live := m.head.slabs.get(e.PFN()); !live {
				delete(fl.head, e.PFN())
			}
		}
	}
}

// snapFreelists keeps the freelists of the slabs that changed since the
// last checkpoint, at the checkpoint at position at.
func (m *Model) snapFreelists(at int) {
	fl := &m.fl
	for pfn, f := range fl.head {
		if f.touched {
			fl.snaps[pfn] = append(fl.snaps[pfn], f.snap(at))
			f.touched = false
		}
	}
	fl.points = append(fl.points, at)
}

// freelists computes Freelists for slabs in the state under the cursor.
func (m *Model) freelists(slabs []Slab) []slabFreelists {
	out := make([]slabFreelists, len(slabs))
	fl := &m.fl
	c := &fl.cache
	if c.version != m.version || c.lists == nil {
		c.version, c.lists, c.window = m.version, map[uint64]slabFreelists{}, nil
	}
	pos := m.cur.pos
	for k, sl := range slabs {
		if l, ok := c.lists[sl.PFN]; ok {
			out[k] = l
			continue
		}
		since := uint32(sl.Seq)
		var f *flSim
		if h := fl.head[sl.PFN]; pos == m.n && h != nil && h.since == since {
			f = h
		} else {
			var from int
			f, from = m.simAt(sl, since, pos)
			for _, i := range m.slabEventsSince(sl.PFN, from, pos) {
				if uint32(i+1) > f.since {
					f.replay(m.log.At(int(i)))
				}
			}
		}
		out[k] = f.result()
		c.lists[sl.PFN] = out[k]
	}
	return out
}

// slabEventsSince returns the positions in [from, pos) of the events that
// change the freelists of the slab at pfn. The events from the latest
// checkpoint at or before pos are read once per cursor position, for
// every slab.
func (m *Model) slabEventsSince(pfn uint64, from, pos int) []int32 {
	fl := &m.fl
	start := m.windowStart(pos)
	if from < start {
		// Before the window: read what it needs.
		var out []int32
		for i := from; i < pos; i++ {
			if e := m.log.At(i); !m.isBad(i) && e.PFN() == pfn && changesFreelists(e.Kind()) {
				out = append(out, int32(i))
			}
		}
		return out
	}
	if fl.cache.window == nil {
		fl.cache.window = map[uint64][]int32{}
		for i := start; i < pos; i++ {
			if e := m.log.At(i); !m.isBad(i) && changesFreelists(e.Kind()) {
				fl.cache.window[e.PFN()] = append(fl.cache.window[e.PFN()], int32(i))
			}
		}
	}
	evs := fl.cache.window[pfn]
	k := sort.Search(len(evs), func(i int) bool { return int(evs[i]) >= from })
	return evs[k:]
}

// windowStart returns the latest checkpoint at or before pos at which
// freelists were kept, 0 if none.
func (m *Model) windowStart(pos int) int {
	fl := &m.fl
	if p := sort.Search(len(fl.points), func(i int) bool { return fl.points[i] > pos }) - 1; p >= 0 {
		return fl.points[p]
	}
	return 0
}

func changesFreelists(k allocator.EventKind) bool {
	return k == allocator.EvSlabList || k == allocator.EvObjAlloc || k == allocator.EvObjFree
}

// simAt returns the freelists of slab sl (made by the event at position
// since-1) as the last checkpoint at or before pos kept them, or as the
// slab was made when no checkpoint did, and the position from which the
// events change them.
func (m *Model) simAt(sl Slab, since uint32, pos int) (*flSim, int) {
	snaps := m.fl.snaps[sl.PFN]
	k := sort.Search(len(snaps), func(i int) bool { return int(snaps[i].at) > pos }) - 1
	if k >= 0 && snaps[k].since == since {
		f := snaps[k].restore(sl.Objects)
		// Replay from the checkpoint on, not from the slab's making. A
		// slab kept at an earlier checkpoint than the latest did not change
		// in between: it would have been kept again.
		f.since = max(since, snaps[k].at)
		return f, max(int(f.since), m.windowStart(pos))
	}
	return newSim(m.log.At(int(since-1)), sl.Objects), int(since)
}

// lastFree returns the position of the event that last freed object i of
// slab sl, before the cursor, or -1 when the object is not free or was
// never freed.
func (m *Model) lastFree(sl Slab, i int) int {
	fl := m.freelists([]Slab{sl})[0]
	if pos, ok := fl.freed[i]; ok {
		return pos
	}
	return -1
}

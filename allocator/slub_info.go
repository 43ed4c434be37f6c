package allocator

import (
	"fmt"
)

// CacheInfo is a snapshot of one cache for viewers: its geometry and
// every slab.
type CacheInfo struct {
	Name            string
	ObjectSize      uint64 // bytes: s->object_size
	Size            uint64 // bytes: s->size, the stride
	Align           uint64 // bytes
	Inuse           uint64 // bytes: object and right red zone; metadata starts here
	Offset          uint64 // bytes: the free pointer's offset in an object
	RedLeftPad      uint64 // bytes: left red zone before each object
	Order           int    // slab order
	ObjectsPerSlab  int
	MinPartial      int
	CPUPartialSlabs int // per-CPU partial list budget in slabs
	Flags           SlabFlags
	Kmalloc         bool // a boot kmalloc cache
	Destroyed       bool // destroyed with objects left: unlisted, its slabs leaked
	Slabs           []SlabInfo
}

// SlabInfo is a snapshot of one slab.
type SlabInfo struct {
	PFN     uint64
	Addr    Addr // first object (after the left red zone)
	Order   int
	Objects int
	Inuse   int      // objects not on the slab freelist (a cpu slab counts its CPU freelist as in use)
	List    SlabList // ListCPU, ListCPUPartial, ListNodePartial or ListFull
	CPU     int      // for ListCPU and ListCPUPartial, else -1
	Free    []int    // object indexes on slab.freelist, in freelist order
	CPUFree []int    // for a cpu slab: object indexes on the CPU's lockless freelist, in order
	Since   uint64   // Seq of the event that created the slab
}

// Caches returns a snapshot of every cache in creation order, the kmalloc
// caches first, including destroyed caches whose slabs were leaked. Slabs
// are listed per CPU (cpu slab, then per-CPU partial slabs in list order),
// then the node partial list in order, then full slabs by pfn.
func (m *Machine) Caches() []CacheInfo {
	out := make([]CacheInfo, 0, len(m.slub.caches))
	all := m.allSlabs()
	for _, s := range m.slub.caches {
		slabs := all[s]
		if s.destroyed && len(slabs) == 0 {
			continue
		}
		ci := s.Geometry()
		seen := make(map[*slab]bool)
		add := func(sl *slab) {
			if sl == nil || seen[sl] {
				return
			}
			seen[sl] = true
			ci.Slabs = append(ci.Slabs, m.slabInfo(s, sl))
		}
		for cpu := range s.cpus {
			add(s.cpus[cpu].slab)
			for sl := s.cpus[cpu].partial; sl != nil; sl = sl.next {
				add(sl)
			}
		}
		for sl := s.partial.head; sl != nil; sl = sl.lnext {
			add(sl)
		}
		for sl := s.full.head; sl != nil; sl = sl.lnext {
			add(sl)
		}
		for _, sl := range slabs {
			add(sl)
		}
		out = append(out, ci)
	}
	return out
}

// Geometry returns the cache's geometry, fixed at creation, and whether it
// was destroyed, as a CacheInfo without slabs: cheap, unlike Caches.
func (s *KmemCache) Geometry() CacheInfo {
	return CacheInfo{Name: s.name, ObjectSize: s.objectSize, Size: s.size, Align: s.align, Inuse: s.inuse, Offset: s.offset,
		RedLeftPad: s.redLeftPad, Order: s.order, ObjectsPerSlab: s.objects, MinPartial: s.minPartial,
		CPUPartialSlabs: s.cpuPartialSlabs, Flags: s.flags, Kmalloc: s.kmalloc, Destroyed: s.destroyed}
}

// allSlabs maps every cache to its slabs in pfn order.
func (m *Machine) allSlabs() map[*KmemCache][]*slab {
	out := make(map[*KmemCache][]*slab)
	for pfn := uint64(0); pfn < m.nrPages; {
		p := &m.pages[pfn]
		switch {
		case p.flags&pgHead != 0:
			if p.owner == OwnerSlab && p.slab != nil {
				out[p.slab.cache] = append(out[p.slab.cache], p.slab)
			}
			pfn += 1 << p.order
		case m.isFreeHead(pfn):
			o, _ := m.freeOrderAt(pfn)
			pfn += 1 << o
		default:
			pfn++
		}
	}
	return out
}

func (m *Machine) slabInfo(s *KmemCache, sl *slab) SlabInfo {
	si := SlabInfo{PFN: sl.pfn, Addr: s.objAddr(sl, 0), Order: sl.order, Objects: sl.objects, Inuse: sl.inuse,
		List: sl.list, CPU: sl.cpu, Since: sl.since}
	si.Free = m.chainIndexes(s, sl, sl.freelist)
	if sl.list == ListCPU && sl.cpu >= 0 {
		si.CPUFree = m.chainIndexes(s, sl, s.cpus[sl.cpu].freelist)
	}
	return si
}

// chainIndexes reads a freelist from memory as far as it is valid.
func (m *Machine) chainIndexes(s *KmemCache, sl *slab, head Addr) []int {
	if head == 0 {
		return nil
	}
	out := make([]int, 0, sl.objects-sl.inuse+sl.cpuFreeN)
	for p := head; p != 0 && len(out) < sl.objects; p = m.getFreepointer(s, p) {
		idx, ok := s.objIndex(sl, p)
		if !ok {
			break
		}
		out = append(out, idx)
	}
	return out
}

// ObjectInfo describes what lives at an address.
type ObjectInfo struct {
	Cache   string // the slab cache; "" for a large kmalloc
	Large   bool   // a large kmalloc (pages from the buddy allocator)
	Start   Addr   // the object (or the large kmalloc's first page)
	Offset  uint64 // bytes from Start to the address asked about (negative offsets are in Region "left red zone")
	Size    uint64 // bytes requested, for an allocated object
	Ksize   uint64 // bytes usable: slab_ksize() or PAGE_SIZE << order
	SlabPFN uint64 // first pfn of the slab or block
	Index   int    // object index in its slab; -1 for the slab's tail padding
	State   ObjState
	Region  string // "object", "left red zone", "right red zone", "free pointer", "alloc track", "free track", "orig_size", "padding", "slab padding"
	Since   uint64 // Seq of the event that gave the object its state
}

// Allocated reports whether the object is handed out.
func (o ObjectInfo) Allocated() bool { return o.State == ObjAllocated }

// ObjectAt tells what lives at a: a slab object (allocated, free or lost)
// and which part of its layout a falls in, or a large kmalloc. It reports
// false for addresses that are neither.
func (m *Machine) ObjectAt(a Addr) (ObjectInfo, bool) {
	pfn, ok := m.AddrPFN(a)
	if !ok {
		return ObjectInfo{}, false
	}
	head, h, live := m.blockOf(pfn)
	switch {
	case !live:
		return ObjectInfo{}, false
	case h.owner == OwnerSlab && h.slab != nil:
		sl := h.slab
		s := sl.cache
		rel := uint64(a - sl.base)
		idx := int(rel / s.size)
		if idx >= sl.objects {
			return ObjectInfo{Cache: s.name, SlabPFN: sl.pfn, Index: -1, Region: "slab padding", Since: sl.since}, true
		}
		start := s.objAddr(sl, idx)
		o := sl.obj[idx]
		info := ObjectInfo{Cache: s.name, Start: start, Ksize: s.slabKsize(), SlabPFN: sl.pfn, Index: idx,
			State: o.state, Since: o.since, Region: s.region(rel % s.size)}
		if a >= start {
			info.Offset = uint64(a - start)
		}
		if o.state == ObjAllocated {
			info.Size = uint64(o.size)
		}
		return info, true
	case h.owner == OwnerLargeKmalloc:
		lk := m.slub.large[head]
		if lk == nil {
			throw("ObjectAt", fmt.Sprintf("large kmalloc pfn %#x has no record", head))
		}
		start := m.PFNAddr(head)
		return ObjectInfo{Large: true, Start: start, Offset: uint64(a - start), Size: lk.size, Ksize: m.pageSize << lk.order,
			SlabPFN: head, State: ObjAllocated, Region: "object", Since: lk.since}, true
	}
	return ObjectInfo{}, false
}

// region names the part of an object's layout at offset off of its stride.
func (s *KmemCache) region(off uint64) string {
	if off < s.redLeftPad {
		return "left red zone"
	}
	o := off - s.redLeftPad
	switch {
	case s.freeptrOutside() && o >= s.offset && o < s.offset+wordSize:
		return "free pointer"
	case o < s.objectSize:
		return "object"
	case o < s.inuse && s.flags&SlabRedZone != 0:
		return "right red zone"
	case o < s.inuse:
		return "padding"
	}
	t := s.infoEnd()
	if s.flags&SlabStoreUser != 0 {
		switch {
		case o >= t && o < t+trackSize:
			return "alloc track"
		case o >= t+trackSize && o < t+2*trackSize:
			return "free track"
		case s.debugOrigSize() && o >= t+2*trackSize && o < t+2*trackSize+origSizeSize:
			return "orig_size"
		}
	}
	return "padding"
}

// CheckSlub verifies SLUB's structure against allocviz's records: every
// slab's pages, freelists (read from memory), inuse count and list, every
// cache's lists and counters, and every large kmalloc. It returns the
// first violation found. Freelists live in the free objects, so after the
// caller wrote into freed memory CheckSlub can fail until SLUB reaches the
// corrupted pointer, reports it and repairs the list; CheckInvariants
// checks everything but the freelists in memory.
func (m *Machine) CheckSlub() error { return m.checkSlub(true) }

func (m *Machine) checkSlub(memory bool) error {
	all := m.allSlabs()
	for _, s := range m.slub.caches {
		if err := m.checkCache(s, all[s], memory); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	for pfn, lk := range m.slub.large {
		p := &m.pages[pfn]
		if p.owner != OwnerLargeKmalloc || p.flags&pgHead == 0 || int(p.order) != lk.order {
			return fmt.Errorf("large kmalloc at pfn %#x: page is %v order %d, want a large kmalloc head of order %d", pfn, p.owner, p.order, lk.order)
		}
	}
	for pfn := uint64(0); pfn < m.nrPages; pfn++ {
		p := &m.pages[pfn]
		if p.owner == OwnerLargeKmalloc && p.flags&pgHead != 0 && m.slub.large[pfn] == nil {
			return fmt.Errorf("pfn %#x is a large kmalloc block allocviz has no record of", pfn)
		}
	}
	return nil
}

func (m *Machine) checkCache(s *KmemCache, slabs []*slab, memory bool) error {
	where := make(map[*slab]string)
	place := func(sl *slab, w string) error {
		if prev, dup := where[sl]; dup {
			return fmt.Errorf("slab pfn %#x is on %s and %s", sl.pfn, prev, w)
		}
		where[sl] = w
		return nil
	}
	for cpu := range s.cpus {
		c := &s.cpus[cpu]
		if sl := c.slab; sl != nil {
			if sl.list != ListCPU || sl.cpu != cpu || !sl.frozen {
				return fmt.Errorf("cpu %d's slab pfn %#x is recorded as %v cpu %d frozen %v", cpu, sl.pfn, sl.list, sl.cpu, sl.frozen)
			}
			if err := place(sl, fmt.Sprintf("cpu %d", cpu)); err != nil {
				return err
			}
		} else if c.freelist != 0 {
			return fmt.Errorf("cpu %d has a freelist but no cpu slab", cpu)
		}
		n := 0
		for sl := c.partial; sl != nil; sl = sl.next {
			if sl.list != ListCPUPartial || sl.cpu != cpu || sl.frozen || sl.freelist == 0 {
				return fmt.Errorf("cpu %d partial slab pfn %#x: list %v cpu %d frozen %v freelist %v", cpu, sl.pfn, sl.list, sl.cpu, sl.frozen, sl.freelist)
			}
			if err := place(sl, fmt.Sprintf("cpu %d partial", cpu)); err != nil {
				return err
			}
			n++
		}
		if c.partial != nil && c.partial.slabs != n {
			return fmt.Errorf("cpu %d partial list has %d slabs, head says %d", cpu, n, c.partial.slabs)
		}
	}
	for _, l := range []struct {
		list *slabList
		kind SlabList
		full bool
	}{{&s.partial, ListNodePartial, false}, {&s.full, ListFull, true}} {
		n := 0
		var prev *slab
		for sl := l.list.head; sl != nil; sl = sl.lnext {
			if sl.lprev != prev || sl.list != l.kind || sl.frozen || sl.onFull != l.full {
				return fmt.Errorf("node %v slab pfn %#x is recorded as %v (frozen %v)", l.kind, sl.pfn, sl.list, sl.frozen)
			}
			if l.kind == ListNodePartial && sl.freelist == 0 {
				return fmt.Errorf("node partial slab pfn %#x has no free object", sl.pfn)
			}
			if err := place(sl, l.kind.String()); err != nil {
				return err
			}
			prev = sl
			n++
		}
		if n != l.list.n || l.list.tail != prev {
			return fmt.Errorf("node %v list holds %d slabs, counter says %d", l.kind, n, l.list.n)
		}
	}
	objects := 0
	for _, sl := range slabs {
		objects += sl.objects
		if _, ok := where[sl]; !ok {
			if sl.list != ListFull || sl.onFull {
				return fmt.Errorf("slab pfn %#x is on no list but recorded as %v", sl.pfn, sl.list)
			}
			if sl.freelist != 0 {
				return fmt.Errorf("full slab pfn %#x has a freelist", sl.pfn)
			}
		}
		if err := m.checkSlabRecords(s, sl, memory); err != nil {
			return fmt.Errorf("slab pfn %#x: %w", sl.pfn, err)
		}
	}
	if len(slabs) != s.nrSlabs || objects != s.totalObjects {
		return fmt.Errorf("%d slabs of %d objects, counters say %d and %d", len(slabs), objects, s.nrSlabs, s.totalObjects)
	}
	if len(where) > len(slabs) {
		return fmt.Errorf("lists hold %d slabs, the pages %d", len(where), len(slabs))
	}
	return nil
}

// checkSlabRecords checks one slab's pages, freelists and counts.
func (m *Machine) checkSlabRecords(s *KmemCache, sl *slab, memory bool) error {
	if sl.objects != m.orderObjects(sl.order, s.size) {
		return fmt.Errorf("%d objects, order %d holds %d", sl.objects, sl.order, m.orderObjects(sl.order, s.size))
	}
	for i := uint64(0); i < 1<<sl.order; i++ {
		p := &m.pages[sl.pfn+i]
		if p.owner != OwnerSlab || p.slab != sl || uint64(p.head) != sl.pfn {
			return fmt.Errorf("page %#x is %v, slab %p, head %#x", sl.pfn+i, p.owner, p.slab, p.head)
		}
	}
	if m.pages[sl.pfn].flags&pgHead == 0 || int(m.pages[sl.pfn].order) != sl.order {
		return fmt.Errorf("the block at pfn %#x is not an order-%d head", sl.pfn, sl.order)
	}
	walk := func(head Addr, cpu bool) (int, error) {
		n := 0
		seen := make([]bool, sl.objects)
		for p := head; p != 0; p = m.getFreepointer(s, p) {
			idx, ok := s.objIndex(sl, p)
			if !ok {
				return n, fmt.Errorf("freelist entry %d is %v, not an object", n, p)
			}
			if seen[idx] {
				return n, fmt.Errorf("freelist has a cycle at object %d", idx)
			}
			seen[idx] = true
			if o := sl.obj[idx]; o.state != ObjFree || o.onCPU != cpu {
				return n, fmt.Errorf("freelist holds object %d, recorded %v (cpu list %v)", idx, o.state, o.onCPU)
			}
			n++
		}
		return n, nil
	}
	nSlab, nCPU := sl.objects-sl.inuse, sl.cpuFreeN
	if sl.list != ListCPU && sl.cpuFreeN != 0 {
		return fmt.Errorf("%d objects on a cpu freelist, but it is not a cpu slab", sl.cpuFreeN)
	}
	if memory {
		n, err := walk(sl.freelist, false)
		if err != nil {
			return err
		}
		if n != nSlab {
			return fmt.Errorf("inuse %d, but %d of %d objects are on the slab freelist", sl.inuse, n, sl.objects)
		}
		if sl.list == ListCPU {
			if nCPU, err = walk(s.cpus[sl.cpu].freelist, true); err != nil {
				return fmt.Errorf("cpu freelist: %w", err)
			}
		}
	}
	if nCPU != sl.cpuFreeN {
		return fmt.Errorf("cpu freelist holds %d objects, counter says %d", nCPU, sl.cpuFreeN)
	}
	var free, used, onCPU int
	for _, o := range sl.obj {
		switch {
		case o.state != ObjFree:
			used++
		case o.onCPU:
			onCPU++
			free++
		default:
			free++
		}
	}
	if onCPU != nCPU {
		return fmt.Errorf("%d free objects are recorded on the cpu freelist, it holds %d", onCPU, nCPU)
	}
	if free != nSlab+nCPU {
		return fmt.Errorf("%d objects recorded free, freelists hold %d", free, nSlab+nCPU)
	}
	if used+nCPU != sl.inuse {
		return fmt.Errorf("inuse %d, but %d objects are allocated or lost and %d on the cpu freelist", sl.inuse, used, nCPU)
	}
	return nil
}

package allocator

import (
	"encoding/binary"
	"fmt"
	"math/bits"
)

// The SLUB allocation and free paths of mm/slub.c, classic (6.8-6.19)
// shape: a cpu slab with a lockless freelist, per-CPU partial slabs, the
// node partial list, and debug caches that bypass all per-CPU state. The
// doc comment of each function names the kernel function it follows.

// GFP masks of new_slab() (include/linux/gfp.h).
const (
	gfpReclaimMask    = GFPReclaim | GFPHigh | GFPIO | GFPFS | GFPNoWarn | GFPRetryMayfail | GFPNoFail | GFPNoRetry | GFPMemalloc | GFPNoMemalloc
	gfpConstraintMask = GFPHardwall | GFPThisNode
	// gfpSlabBugMask is GFP_SLAB_BUG_MASK: zones slab memory cannot come
	// from, and bits no gfp_t has.
	gfpSlabBugMask = GFPDMA32 | GFPHighmem | ^(GFPZeroTags<<1 - 1)
)

// The SLUB paths' reasons, the why of EvObjAlloc, EvObjFree, EvSlabList
// and EvSlabDiscard.
var (
	whyAllocFast            = phrase("fastpath: popped the cpu's lockless freelist")
	whyAllocCPUSlabFreelist = phrase("slowpath: cpu slab's freelist (objects freed by other paths) moved to the lockless freelist")
	whyAllocCPUPartial      = phrase("slowpath: took a per-CPU partial slab")
	whyAllocDebugPartial    = phrase("debug cache: one object from the first node partial slab")
	whyAllocNodePartial     = phrase("slowpath: took a node partial slab")
	whyAllocDebugNew        = phrase("debug cache: one object from a new slab")
	whyAllocNewSlab         = phrase("slowpath: new slab")
	whyListCPUSlabFull      = phrase("the cpu slab has no free object left: unfrozen as a full slab, on no list")
	whyListCPUPartialToCPU  = phrase("the cpu slab is used up: the first per-CPU partial slab becomes the cpu slab")
	whyListNodeToCPU        = phrase("taken from the node partial list and frozen as cpu slab")
	whyListNewCPU           = phrase("new slab frozen as the cpu slab")
	whyListRefill           = phrase("refilling the per-CPU partial list from the node partial list")
	whyListFullToCPUPartial = phrase("a full slab got an object back: to the head of the cpu's partial list")
	whyListDisabled         = phrase("marked all objects used after a failed consistency check: disabled, on no list")
	whyListDebugFull        = phrase("debug cache: the slab's last free object was taken")
	whyListDebugNewFull     = phrase("debug cache: a new one-object slab is full at once")
	whyListDebugNew         = phrase("debug cache: new slab")
	whyListDebugFullBack    = phrase("a full slab got an object back")
	whyFreeFast             = phrase("fastpath: pushed on the cpu's lockless freelist")
	whyFreeRemoteCPUSlab    = phrase("slowpath: to the slab freelist of another cpu's cpu slab")
	whyFreeWasFull          = phrase("slowpath: the slab was full, now on the cpu's partial list")
	whyFreeCPUPartial       = phrase("slowpath: to the slab freelist of a per-CPU partial slab")
	whyFreeEmptyDiscard     = phrase("slowpath: the slab became empty and is discarded")
	whyFreeEmptyKept        = phrase("slowpath: the slab became empty and stays on the node partial list (fewer than min_partial partial slabs)")
	whyFreeNodePartial      = phrase("slowpath: to the slab freelist of a node partial slab")
	whyFreeDebugEmpty       = phrase("debug cache: the slab became empty and is discarded")
	whyFreeDebugWasFull     = phrase("debug cache: the slab was full, now on the node partial list")
	whyFreeDebug            = phrase("debug cache: to the slab freelist")
	whyDiscardLast          = phrase("the last object was freed")
	whyDiscardDestroy       = phrase("kmem_cache_destroy: empty slab freed")
)

// dm returns the memory behind n bytes of direct-map address a. Slab and
// large kmalloc addresses are always in RAM.
func (m *Machine) dm(a Addr, n uint64) []byte {
	off := uint64(a - DirectMapBase)
	return m.mem.ram[off : off+n : off+n]
}

// getFreepointer is get_freepointer(): the next free object, stored at
// s->offset inside the free object. With CONFIG_SLAB_FREELIST_HARDENED the
// word holds ptr ^ s->random ^ swab(address of the word).
func (m *Machine) getFreepointer(s *KmemCache, obj Addr) Addr {
	pa := obj + Addr(s.offset)
	v := binary.LittleEndian.Uint64(m.dm(pa, wordSize))
	if m.cfg.FreelistHardened {
		v ^= s.random ^ bits.ReverseBytes64(uint64(pa))
	}
	return Addr(v)
}

// setFreepointer is set_freepointer().
func (m *Machine) setFreepointer(s *KmemCache, obj, fp Addr) {
	pa := obj + Addr(s.offset)
	v := uint64(fp)
	if m.cfg.FreelistHardened {
		v ^= s.random ^ bits.ReverseBytes64(uint64(pa))
	}
	binary.LittleEndian.PutUint64(m.dm(pa, wordSize), v)
}

// objAddr is the address of object idx: the slab base, idx strides, and
// the left red zone (fixup_red_left).
func (s *KmemCache) objAddr(sl *slab, idx int) Addr {
	return sl.base + Addr(uint64(idx)*s.size+s.redLeftPad)
}

// objIndex is check_valid_pointer() plus the index: p must be the start
// of an object of sl. 0 is not an object.
func (s *KmemCache) objIndex(sl *slab, p Addr) (int, bool) {
	start := sl.base + Addr(s.redLeftPad)
	if p < start {
		return 0, false
	}
	off := uint64(p - start)
	if off >= uint64(sl.objects)*s.size {
		return 0, false
	}
	// obj_to_index(): the offset, below a slab's size, divided by the
	// stride with the cache's reciprocal.
	idx := uint64(s.reciprocal.divide(uint32(off)))
	if idx*s.size != off {
		return 0, false
	}
	return int(idx), true
}

// index is objIndex for an object known to be one of sl's.
func (s *KmemCache) index(sl *slab, p Addr) int {
	return int(s.reciprocal.divide(uint32(p - sl.base - Addr(s.redLeftPad))))
}

// reciprocal is struct reciprocal_value (lib/reciprocal_div.c): what
// divides a 32-bit number by a fixed divisor with a multiplication and
// shifts.
type reciprocal struct {
	m        uint32
	sh1, sh2 uint8
}

// reciprocalValue is reciprocal_value(d), d > 0.
func reciprocalValue(d uint32) reciprocal {
	l := bits.Len32(d - 1)
	m := (uint64(1) << 32) * (uint64(1)<<l - uint64(d)) / uint64(d)
	return reciprocal{m: uint32(m + 1), sh1: uint8(min(l, 1)), sh2: uint8(max(l-1, 0))}
}

// divide is reciprocal_divide(a, r): a / d, exactly, for every a.
func (r reciprocal) divide(a uint32) uint32 {
	t := uint32(uint64(a) * uint64(r.m) >> 32)
	return (t + (a-t)>>(r.sh1&31)) >> (r.sh2 & 31) // both below 32; the mask spares Go's check
}

// blockOf returns the first pfn and page record of the allocated block
// that pfn is part of; ok is false for free and reserved pages.
func (m *Machine) blockOf(pfn uint64) (uint64, *page, bool) {
	if m.pages[pfn].flags&(pgHead|pgTail) == 0 {
		return pfn, &m.pages[pfn], false
	}
	head := uint64(m.pages[pfn].head)
	return head, &m.pages[head], true
}

// slabOf returns the slab a direct-map address is in, or nil.
func (m *Machine) slabOf(p Addr) *slab {
	pfn, ok := m.AddrPFN(p)
	if !ok {
		return nil
	}
	_, h, ok := m.blockOf(pfn)
	if !ok || h.owner != OwnerSlab {
		return nil
	}
	return h.slab
}

// fixSlabGFP is kmalloc_fix_flags(): slab memory never comes from HIGHMEM
// or DMA32, and bits outside gfp_t are dropped, with the kernel's warning.
func (m *Machine) fixSlabGFP(gfp GFP) GFP {
	bad := gfp & gfpSlabBugMask
	if bad == 0 {
		return gfp
	}
	fixed := gfp &^ gfpSlabBugMask
	m.warn(fmt.Sprintf("Unexpected gfp: %#x (%v). Fixing up to gfp: %#x (%v). Fix your code!", uint32(bad), bad, uint32(fixed), fixed))
	return fixed
}

// newSlab is new_slab()/allocate_slab(): a block of s->oo's order from the
// buddy allocator, tried without warning or retry; if that fails, the
// one-object order s->min with the caller's flags. The new slab's freelist
// is written into its objects, in address order or shuffled.
func (m *Machine) newSlab(s *KmemCache, gfp GFP) (*slab, error) {
	gfp = m.fixSlabGFP(gfp)
	flags := gfp&(gfpReclaimMask|gfpConstraintMask) | s.allocGFP
	try := (flags | GFPNoWarn | GFPNoRetry) &^ GFPNoFail
	if try&GFPDirectReclaim != 0 && s.order > s.minOrder {
		try = (try | GFPNoMemalloc) &^ GFPReclaim
	}
	order, objects := s.order, s.objects
	pfn, err := m.allocPages(order, try, OwnerSlab)
	fallback := false
	if err != nil {
		order, objects = s.minOrder, s.minObjects
		pfn, err = m.allocPages(order, flags, OwnerSlab)
		if err != nil {
			return nil, err
		}
		fallback = true
	}
	sl := &slab{cache: s, pfn: pfn, order: order, base: m.PFNAddr(pfn), objects: objects, cpu: -1,
		obj: make([]objMeta, objects)}
	for i := uint64(0); i < 1<<order; i++ {
		m.pages[pfn+i].slab = sl
	}
	s.nrSlabs++
	s.totalObjects += objects
	m.slub.slabPages += 1 << order
	if s.flags&SlabPoison != 0 {
		// setup_slab_debug(): the whole slab, padding included, is 0x5a.
		fill(m.pfnBytes(pfn, 1<<order), poisonInuse)
	}
	shuffled := m.shuffleFreelist(s, sl)
	if !shuffled {
		for i := 0; i < objects; i++ {
			m.setupObject(s, s.objAddr(sl, i))
			next := Addr(0)
			if i+1 < objects {
				next = s.objAddr(sl, i+1)
			}
			m.setFreepointer(s, s.objAddr(sl, i), next)
		}
		sl.freelist = s.objAddr(sl, 0)
	}
	if m.tracing() {
		name, _ := m.cacheIDs(s)
		r := record{kind: EvSlabNew, s1: name, pfn: uint32(pfn), order: int8(order), n: int32(objects), addr: s.objAddr(sl, 0),
			bytes: s.size}
		if fallback {
			r.b, r.size = 1, uint64(s.order)
		}
		if shuffled {
			order0 := make([]uint64, 0, objects)
			for p := sl.freelist; p != 0; p = m.getFreepointer(s, p) {
				idx, _ := s.objIndex(sl, p)
				order0 = append(order0, uint64(idx))
			}
			r.s2 = m.log.pfnList(order0)
		}
		m.emit(r)
	}
	sl.since = m.seq
	for i := range sl.obj {
		sl.obj[i].since = m.seq
	}
	return sl, nil
}

// shuffleFreelist is shuffle_freelist(): start at a random position of
// s->random_seq and chain the objects in that order, skipping indexes a
// smaller fallback slab does not have.
func (m *Machine) shuffleFreelist(s *KmemCache, sl *slab) bool {
	if sl.objects < 2 || s.randomSeq == nil {
		return false
	}
	count := uint32(len(s.randomSeq))
	pos := m.slub.randomBelow(count)
	next := func() int {
		for {
			idx := s.randomSeq[pos]
			pos++
			if pos >= count {
				pos = 0
			}
			if int(idx) < sl.objects {
				return int(idx)
			}
		}
	}
	cur := s.objAddr(sl, next())
	m.setupObject(s, cur)
	sl.freelist = cur
	for i := 1; i < sl.objects; i++ {
		n := s.objAddr(sl, next())
		m.setupObject(s, n)
		m.setFreepointer(s, cur, n)
		cur = n
	}
	m.setFreepointer(s, cur, 0)
	return true
}

// discardSlab is discard_slab()/free_slab(): the slab's pages go back to
// the buddy allocator. With SLAB_CONSISTENCY_CHECKS every object is checked
// first, as free_slab() does. minPartial says the min_partial rule decided
// it; the slab may still be on the node partial list and counts there.
func (m *Machine) discardSlab(s *KmemCache, sl *slab, why StrID, minPartial bool) {
	s.nrSlabs--
	s.totalObjects -= sl.objects
	if s.flags&SlabConsistencyChecks != 0 {
		r := m.newReport()
		m.slabPadCheck(r, s, sl)
		for i := 0; i < sl.objects; i++ {
			m.checkObject(r, s, sl, s.objAddr(sl, i), slubRedInactive)
		}
		m.flushReport(r, s, sl.base)
	}
	if m.tracing() {
		name, _ := m.cacheIDs(s)
		r := record{kind: EvSlabDiscard, s1: name, pfn: uint32(sl.pfn), order: int8(sl.order), s2: why}
		if minPartial {
			r.b, r.n, r.size = 1, int32(s.partial.n), uint64(s.minPartial)
		}
		m.emit(r)
	}
	sl.list, sl.cpu = ListNone, -1
	m.freePages(sl.pfn, sl.order)
}

// slabAlloc is slab_alloc_node() for one object of s: the allocation
// itself, then the post-alloc zeroing and the EvObjAlloc. orig is the
// requested size (orig_size): the object size for kmem_cache_alloc.
// kmalloc, when not nil, is the head of kmalloc's kmem:kmalloc event,
// recorded right after the EvObjAlloc of the object handed out.
func (m *Machine) slabAlloc(s *KmemCache, gfp GFP, orig uint64, kmalloc *recHead) (Addr, error) {
	if m.fi.on {
		// slab_pre_alloc_hook(): should_failslab() (faultinject.go).
		if err := m.shouldFailslab(s, gfp); err != nil {
			return 0, err
		}
	}
	obj, sl, why, err := m.slabAllocObject(s, gfp, orig)
	if err != nil {
		return 0, err
	}
	idx := s.index(sl, obj)
	meta := &sl.obj[idx]
	meta.state, meta.onCPU, meta.size = ObjAllocated, false, uint32(orig)
	if gfp.Zero() {
		// slab_post_alloc_hook(): a kmalloc cache that red-zones the
		// spare bytes zeroes only what was asked for.
		zero := s.objectSize
		if s.flags&(SlabStoreUser|SlabRedZone) != 0 && s.flags&SlabKmalloc != 0 {
			zero = orig
		}
		clear(m.dm(obj, zero))
	}
	if m.tracing() {
		h := m.objectHead(EvObjAlloc, sl, idx, why, gfp)
		if kmalloc != nil {
			m.putPair(h, *kmalloc, obj, orig, s.size)
			meta.since = m.seq - 1
			return obj, nil
		}
		m.putWords(h, obj, orig, s.size)
	}
	meta.since = m.seq
	return obj, nil
}

// slabAllocObject is __slab_alloc_node() and ___slab_alloc(): the fast
// path pops the current CPU's lockless freelist; the slow path refills it
// from the cpu slab's own freelist, the next per-CPU partial slab, the node
// partial list, or a new slab. Debug caches take one object at a time from
// the node lists. It returns the object, its slab and which path it took.
func (m *Machine) slabAllocObject(s *KmemCache, gfp GFP, orig uint64) (Addr, *slab, StrID, error) {
	c := &s.cpus[m.cpu]
	if !s.debug() && c.freelist != 0 && c.slab != nil {
		obj, sl := c.freelist, c.slab
		c.freelist = m.popNext(s, sl, obj, true)
		return obj, sl, whyAllocFast, nil
	}
	if !s.debug() {
		if sl := c.slab; sl != nil {
			if fl := m.getFreelist(s, sl); fl != 0 {
				return m.loadFreelist(s, c, sl, fl), sl, whyAllocCPUSlabFreelist, nil
			}
			c.slab = nil
			m.setList(sl, ListFull, -1, whyListCPUSlabFull)
		}
		if c.partial != nil {
			sl := c.partial
			c.partial, sl.next = sl.next, nil
			c.slab = sl
			fl := m.getFreelist(s, sl)
			if fl == 0 {
				throw("slabAllocObject", "a per-CPU partial slab has no free object")
			}
			m.setList(sl, ListCPU, m.cpu, whyListCPUPartialToCPU)
			return m.loadFreelist(s, c, sl, fl), sl, whyAllocCPUPartial, nil
		}
	}
	if sl, obj := m.getPartialNode(s, orig); sl != nil {
		if s.debug() {
			return obj, sl, whyAllocDebugPartial, nil
		}
		fl := m.getFreelist(s, sl)
		c.slab = sl
		m.setList(sl, ListCPU, m.cpu, whyListNodeToCPU)
		return m.loadFreelist(s, c, sl, fl), sl, whyAllocNodePartial, nil
	}
	for {
		sl, err := m.newSlab(s, gfp)
		if err != nil {
			m.slabOutOfMemory(s, gfp)
			return 0, nil, 0, err
		}
		if s.debug() {
			if obj := m.allocSingleFromNewSlab(s, sl, orig); obj != 0 {
				return obj, sl, whyAllocDebugNew, nil
			}
			continue
		}
		fl := sl.freelist
		sl.freelist, sl.inuse, sl.frozen = 0, sl.objects, true
		m.markChain(s, sl, fl, sl.objects)
		c.slab = sl
		m.setList(sl, ListCPU, m.cpu, whyListNewCPU)
		return m.loadFreelist(s, c, sl, fl), sl, whyAllocNewSlab, nil
	}
}

// slabOutOfMemory is slab_out_of_memory().
func (m *Machine) slabOutOfMemory(s *KmemCache, gfp GFP) {
	if gfp.NoWarn() || !m.tracing() {
		return
	}
	free := 0
	for sl := s.partial.head; sl != nil; sl = sl.lnext {
		free += sl.objects - sl.inuse
	}
	m.warn(fmt.Sprintf("SLUB: Unable to allocate memory on CPU %d (of node 0) on node -1, gfp=%#x(%v)\n"+
		"  cache: %s, object size: %d, buffer size: %d, default order: %d, min order: %d\n"+
		"  node 0: slabs: %d, objs: %d, free: %d",
		m.cpu, uint32(gfp), gfp, s.name, s.objectSize, s.size, s.order, s.minOrder, s.nrSlabs, s.totalObjects, free))
}

// loadFreelist is ___slab_alloc()'s load_freelist: the first object of fl
// is returned and the rest becomes the CPU's lockless freelist.
func (m *Machine) loadFreelist(s *KmemCache, c *kmemCacheCPU, sl *slab, fl Addr) Addr {
	c.freelist = m.popNext(s, sl, fl, true)
	return fl
}

// getFreelist is get_freelist()/freeze_slab(): take the whole slab
// freelist for the CPU; the slab counts all its objects in use and stays
// frozen if it got any.
func (m *Machine) getFreelist(s *KmemCache, sl *slab) Addr {
	fl, n := sl.freelist, sl.objects-sl.inuse
	sl.freelist, sl.inuse = 0, sl.objects
	if fl != 0 || n != 0 {
		fl = m.markChain(s, sl, fl, n)
	}
	sl.frozen = fl != 0
	return fl
}

// getPartialNode is get_partial_node(): the first slab of the node
// partial list becomes the cpu slab and up to half the per-CPU partial
// budget more go to the per-CPU partial list. For a debug cache it
// allocates one object from the first slab that passes the checks.
func (m *Machine) getPartialNode(s *KmemCache, orig uint64) (*slab, Addr) {
	var partial *slab
	partialSlabs := 0
	for sl := s.partial.head; sl != nil; {
		next := sl.lnext
		if s.debug() {
			if obj := m.allocSingleFromPartial(s, sl, orig); obj != 0 {
				return sl, obj
			}
			sl = next
			continue
		}
		s.removePartial(sl)
		if partial == nil {
			partial = sl
			if s.cpuPartialSlabs == 0 {
				break
			}
		} else {
			m.putCPUPartial(s, sl, false, whyListRefill)
			partialSlabs++
			if partialSlabs > s.cpuPartialSlabs/2 {
				break
			}
		}
		sl = next
	}
	return partial, 0
}

// putCPUPartial is put_cpu_partial(): the slab goes to the head of the
// current CPU's partial list. When drain is set and the list already holds
// cpu_partial_slabs slabs, the whole old list moves to the node first.
func (m *Machine) putCPUPartial(s *KmemCache, sl *slab, drain bool, why StrID) {
	c := &s.cpus[m.cpu]
	old := c.partial
	var toPut *slab
	slabs := 0
	if old != nil {
		if drain && old.slabs >= s.cpuPartialSlabs {
			toPut, old = old, nil
		} else {
			slabs = old.slabs
		}
	}
	slabs++
	sl.slabs, sl.next = slabs, old
	c.partial = sl
	sl.frozen = false
	m.setList(sl, ListCPUPartial, m.cpu, why)
	if toPut != nil {
		m.putPartials(s, toPut, m.strf("cpu %d's partial list was full (%d slabs, cpu_partial_slabs %d): drained to the node",
			m.cpu, toPut.slabs, s.cpuPartialSlabs))
	}
}

// putPartials is __put_partials(): each slab of a per-CPU partial list goes
// to the tail of the node partial list, or is discarded if it is empty and
// the node already has min_partial partial slabs.
func (m *Machine) putPartials(s *KmemCache, list *slab, why StrID) {
	var discard []*slab
	for sl := list; sl != nil; {
		next := sl.next
		sl.next = nil
		if sl.inuse == 0 && s.partial.n >= s.minPartial {
			discard = append(discard, sl)
		} else {
			m.addPartial(s, sl, true, why)
		}
		sl = next
	}
	for _, sl := range discard {
		m.discardSlab(s, sl, m.cat(why, "; the slab is empty"), true)
	}
}

// deactivateSlab is deactivate_slab(): the CPU's lockless freelist is
// spliced in front of the slab freelist and the slab unfrozen: discarded if
// empty and the node has min_partial partial slabs, onto the node partial
// list (at the tail if it had remote frees) if it has free objects, else
// full.
func (m *Machine) deactivateSlab(s *KmemCache, sl *slab, fl Addr, why StrID) {
	tail := sl.freelist != 0
	if n := sl.cpuFree(); n > 0 || fl != 0 {
		if m.spliceCPUChain(s, sl, fl, n) {
			sl.inuse -= n
		} else {
			sl.inuse = sl.objects - sl.countFree()
		}
	}
	sl.frozen = false
	switch {
	case sl.inuse == 0 && s.partial.n >= s.minPartial:
		m.discardSlab(s, sl, m.cat(why, ": the slab is empty"), true)
	case sl.freelist != 0:
		m.addPartial(s, sl, tail, m.cat(why, ": unfrozen with free objects"))
	default:
		m.setList(sl, ListFull, -1, m.cat(why, ": unfrozen with no free object, full slabs are on no list"))
	}
}

// flushAll is flush_all(): every CPU's cpu slab is deactivated and its
// per-CPU partial slabs go to the node.
func (m *Machine) flushAll(s *KmemCache, why string) {
	for cpu := range s.cpus {
		c := &s.cpus[cpu]
		if sl := c.slab; sl != nil {
			fl := c.freelist
			c.slab, c.freelist = nil, 0
			m.deactivateSlab(s, sl, fl, m.strf("%s: cpu %d's cpu slab deactivated", why, cpu))
		}
		if list := c.partial; list != nil {
			c.partial = nil
			m.putPartials(s, list, m.strf("%s: cpu %d's partial slabs to the node", why, cpu))
		}
	}
}

// slabFreeFast is do_slab_free()'s fast path: an object of the current
// CPU's cpu slab goes on its lockless freelist (LIFO). It reports false,
// doing nothing, for any other object: that one takes the slow path.
// kfree says kfree's kmem:kfree event is still to be recorded, before
// the EvObjFree.
func (m *Machine) slabFreeFast(s *KmemCache, sl *slab, obj Addr, idx int, kfree bool) bool {
	c := &s.cpus[m.cpu]
	if sl != c.slab {
		return false
	}
	meta := &sl.obj[idx]
	m.setFreepointer(s, obj, c.freelist)
	c.freelist = obj
	meta.state, meta.onCPU = ObjFree, true
	sl.cpuFreeN++
	if m.tracing() {
		h := m.objectHead(EvObjFree, sl, idx, whyFreeFast, 0)
		if kfree {
			m.putPair(m.head(EvKfree, 0, 0, 0, 0, 0, 0, 0), h, obj, 0, 0)
		} else {
			m.putWords(h, obj, 0, 0)
		}
	}
	meta.since = m.seq
	return true
}

// slabFreeSlow is __slab_free() for a cache with per-CPU partial lists:
// the object goes on the slab freelist; a slab that was full moves to the
// current CPU's partial list; a node partial slab that became empty is
// discarded when the node has min_partial partial slabs.
func (m *Machine) slabFreeSlow(s *KmemCache, sl *slab, obj Addr, idx int, freed func(why StrID)) {
	prior := sl.freelist
	m.setFreepointer(s, obj, prior)
	sl.freelist = obj
	sl.inuse--
	sl.obj[idx].state, sl.obj[idx].onCPU = ObjFree, false
	switch {
	case sl.frozen:
		freed(whyFreeRemoteCPUSlab)
	case prior == 0:
		freed(whyFreeWasFull)
		m.putCPUPartial(s, sl, true, whyListFullToCPUPartial)
	case sl.list != ListNodePartial:
		freed(whyFreeCPUPartial)
	case sl.inuse == 0 && s.partial.n >= s.minPartial:
		freed(whyFreeEmptyDiscard)
		m.discardSlab(s, sl, whyDiscardLast, true)
		s.removePartial(sl)
	case sl.inuse == 0:
		freed(whyFreeEmptyKept)
	default:
		freed(whyFreeNodePartial)
	}
}

// freeToPartialList is free_to_partial_list(): a debug cache's free, after
// free_debug_processing() passed. The slab moves from the full list to the
// node partial list, or is discarded once empty if the node has
// min_partial partial slabs.
func (m *Machine) freeToPartialList(s *KmemCache, sl *slab, obj Addr, idx int, freed func(why StrID)) {
	prior := sl.freelist
	sl.inuse--
	m.setFreepointer(s, obj, prior)
	sl.freelist = obj
	sl.obj[idx].state, sl.obj[idx].onCPU = ObjFree, false
	slabFree := sl.inuse == 0 && s.partial.n >= s.minPartial
	switch {
	case slabFree:
		freed(whyFreeDebugEmpty)
	case prior == 0:
		freed(whyFreeDebugWasFull)
	default:
		freed(whyFreeDebug)
	}
	switch {
	case prior == 0 && slabFree:
		s.removeFull(sl)
		m.discardSlab(s, sl, whyDiscardLast, true)
	case prior == 0:
		s.removeFull(sl)
		m.addPartial(s, sl, true, whyListDebugFullBack)
	case slabFree:
		m.discardSlab(s, sl, whyDiscardLast, true)
		s.removePartial(sl)
	}
}

// allocSingleFromPartial is alloc_single_from_partial(): one object off a
// debug cache's node partial slab, checked by alloc_debug_processing(); the
// slab moves to the full list when it is used up.
func (m *Machine) allocSingleFromPartial(s *KmemCache, sl *slab, orig uint64) Addr {
	obj := sl.freelist
	sl.freelist = m.popNext(s, sl, obj, false)
	sl.inuse++
	if !m.allocDebugProcessing(s, sl, obj, orig) {
		s.removePartial(sl)
		m.setList(sl, ListFull, -1, whyListDisabled)
		return 0
	}
	if sl.inuse == sl.objects {
		s.removePartial(sl)
		m.addFull(s, sl, whyListDebugFull)
	}
	return obj
}

// allocSingleFromNewSlab is alloc_single_from_new_slab().
func (m *Machine) allocSingleFromNewSlab(s *KmemCache, sl *slab, orig uint64) Addr {
	obj := sl.freelist
	sl.freelist = m.popNext(s, sl, obj, false)
	sl.inuse = 1
	if !m.allocDebugProcessing(s, sl, obj, orig) {
		m.setList(sl, ListFull, -1, whyListDisabled)
		return 0
	}
	if sl.inuse == sl.objects {
		m.addFull(s, sl, whyListDebugNewFull)
	} else {
		m.addPartial(s, sl, false, whyListDebugNew)
	}
	return obj
}

// cpuFree returns how many free objects are on a CPU's lockless freelist.
func (sl *slab) cpuFree() int { return sl.cpuFreeN }

// popNext reads the free pointer of obj, the head of a freelist, which is
// being handed out. allocviz checks what the kernel follows blindly: the
// next object must be a free object of the same slab and freelist, and the
// chain must not end while free objects remain. A corrupted chain is
// reported and rebuilt from allocviz's records, so a use-after-free write
// can never make two allocations overlap.
func (m *Machine) popNext(s *KmemCache, sl *slab, obj Addr, cpu bool) Addr {
	idx := s.index(sl, obj) // checked when it became the head
	// Objects left on this chain once obj is taken.
	left := sl.objects - sl.inuse - 1
	if cpu {
		sl.cpuFreeN--
		left = sl.cpuFreeN
	}
	sl.obj[idx].state = ObjAllocated
	next := m.getFreepointer(s, obj)
	if next == 0 && left == 0 {
		return 0
	}
	if next != 0 && left > 0 {
		if ni, ok := s.objIndex(sl, next); ok && sl.obj[ni].state == ObjFree && sl.obj[ni].onCPU == cpu {
			return next
		}
	}
	return m.rebuildChain(s, sl, cpu, fmt.Sprintf("the free pointer of object %d (0x%016x) reads %v", idx, uint64(obj), next))
}

// markChain walks a freelist of n objects that becomes the CPU's lockless
// freelist and tags its objects so. A chain that is corrupt is rebuilt.
func (m *Machine) markChain(s *KmemCache, sl *slab, fl Addr, n int) Addr {
	seen := 0
	for p := fl; p != 0; p = m.getFreepointer(s, p) {
		idx, ok := s.objIndex(sl, p)
		if !ok || seen == n || sl.obj[idx].state != ObjFree || sl.obj[idx].onCPU {
			return m.rebuildAll(s, sl, true, fmt.Sprintf("object %d of the freelist is %v, not a free object of the slab", seen, p))
		}
		sl.obj[idx].onCPU = true
		seen++
	}
	if seen != n {
		return m.rebuildAll(s, sl, true, fmt.Sprintf("the freelist ends after %d of %d free objects", seen, n))
	}
	sl.cpuFreeN = n
	return fl
}

// spliceCPUChain is deactivate_slab()'s stages one and two: find the tail
// of the CPU's freelist fl (n objects) and link it in front of the slab
// freelist. It reports false when the chain was corrupt and every free
// object of the slab had to be relinked.
func (m *Machine) spliceCPUChain(s *KmemCache, sl *slab, fl Addr, n int) bool {
	var tail Addr
	seen := 0
	for p := fl; p != 0; p = m.getFreepointer(s, p) {
		idx, ok := s.objIndex(sl, p)
		if !ok || seen == n || sl.obj[idx].state != ObjFree || !sl.obj[idx].onCPU {
			sl.cpuFreeN = 0
			sl.freelist = m.rebuildAll(s, sl, false, fmt.Sprintf("object %d of the cpu freelist is %v, not a free object of the slab", seen, p))
			return false
		}
		sl.obj[idx].onCPU = false
		tail = p
		seen++
	}
	sl.cpuFreeN = 0
	if seen != n {
		sl.freelist = m.rebuildAll(s, sl, false, fmt.Sprintf("the cpu freelist ends after %d of %d free objects", seen, n))
		return false
	}
	if tail != 0 {
		m.setFreepointer(s, tail, sl.freelist)
		sl.freelist = fl
	}
	return true
}

// countFree counts the slab's free objects in allocviz's records.
func (sl *slab) countFree() int {
	n := 0
	for i := range sl.obj {
		if sl.obj[i].state == ObjFree {
			n++
		}
	}
	return n
}

// rebuildChain relinks the free objects of one freelist (the CPU's or the
// slab's) in address order and reports the corruption.
func (m *Machine) rebuildChain(s *KmemCache, sl *slab, cpu bool, what string) Addr {
	head, n := m.relink(s, sl, func(o *objMeta) bool { return o.state == ObjFree && o.onCPU == cpu }, cpu)
	if cpu {
		sl.cpuFreeN = n
	}
	m.reportFreechain(s, sl, what)
	return head
}

// rebuildAll relinks every free object of the slab into one freelist,
// tagged as the CPU's or the slab's, and reports the corruption.
func (m *Machine) rebuildAll(s *KmemCache, sl *slab, cpu bool, what string) Addr {
	head, n := m.relink(s, sl, func(o *objMeta) bool { return o.state == ObjFree }, cpu)
	if cpu {
		sl.cpuFreeN = n
	}
	m.reportFreechain(s, sl, what)
	return head
}

func (m *Machine) relink(s *KmemCache, sl *slab, member func(*objMeta) bool, cpu bool) (Addr, int) {
	var head, prev Addr
	n := 0
	for i := range sl.obj {
		if !member(&sl.obj[i]) {
			continue
		}
		sl.obj[i].onCPU = cpu
		p := s.objAddr(sl, i)
		if prev == 0 {
			head = p
		} else {
			m.setFreepointer(s, prev, p)
		}
		prev = p
		n++
	}
	if prev != 0 {
		m.setFreepointer(s, prev, 0)
	}
	return head, n
}

func (m *Machine) reportFreechain(s *KmemCache, sl *slab, what string) {
	if m.tracing() {
		name, _ := m.cacheIDs(s)
		m.emit(record{kind: EvSlubReport, s1: name, addr: sl.base, pfn: uint32(sl.pfn), s2: m.strf(
			"allocviz: freelist of the %s slab at pfn %#x is corrupt: %s (a write after free?); the kernel would follow it, allocviz relinked the free objects in address order",
			s.name, sl.pfn, what)})
	}
}

func itoa(i int) string { return fmt.Sprint(i) }

func fill(b []byte, c byte) {
	for i := range b {
		b[i] = c
	}
}

// emitObject records an EvObjAlloc or EvObjFree of object idx of sl, with
// the slab's list as it is now, for the sentence.
func (m *Machine) emitObject(kind EventKind, sl *slab, obj Addr, idx int, why StrID, size, bytes uint64, gfp GFP) {
	m.putWords(m.objectHead(kind, sl, idx, why, gfp), obj, size, bytes)
}

// objectHead is the head of emitObject's record.
func (m *Machine) objectHead(kind EventKind, sl *slab, idx int, why StrID, gfp GFP) recHead {
	name, _ := m.cacheIDs(sl.cache)
	b := uint8(sl.list)
	if sl.onFull {
		b |= objOnFull
	}
	return m.head(kind, int8(uint8(sl.cpu)), b, gfp, uint32(sl.pfn), int32(idx), name, why)
}

package allocator

import (
	"fmt"
)

// liveCache checks that a cache handed in by a caller can be used.
func (m *Machine) liveCache(s *KmemCache, op string) error {
	switch {
	case s == nil:
		return fmt.Errorf("%w: %s: no cache (NULL)", ErrBadAddress, op)
	case s.destroyed:
		return fmt.Errorf("%w: %s: cache %s was destroyed", ErrBadAddress, op, s.name)
	}
	return nil
}

// KmemCacheAlloc is kmem_cache_alloc(s, gfp): one object of s.
func (m *Machine) KmemCacheAlloc(s *KmemCache, gfp GFP) (Addr, error) {
	if err := m.liveCache(s, "kmem_cache_alloc"); err != nil {
		return 0, err
	}
	p, err := m.slabAlloc(s, gfp, s.objectSize, nil)
	if err != nil {
		return 0, fmt.Errorf("kmem_cache_alloc(%s, %v): %w", s.name, gfp, err)
	}
	return p, nil
}

// KmemCacheFree is kmem_cache_free(s, p). cache_from_obj() first: an
// object of another cache, or an address in no slab, is reported with the
// kernel's warning and not freed (the kernel, with hardening, would free
// it to the cache it really belongs to). Then the same checks as Kfree.
// NULL is a no-op.
func (m *Machine) KmemCacheFree(s *KmemCache, p Addr) error {
	if err := m.liveCache(s, "kmem_cache_free"); err != nil {
		return err
	}
	if p == 0 {
		return nil
	}
	sl := m.slabOf(p)
	if sl == nil {
		text := fmt.Sprintf("WARNING: virt_to_cache: Object is not a Slab page!\nkmem_cache_free(%s, %v): not freed", s.name, p)
		m.slubReport(s, p, 0, text)
		return fmt.Errorf("%w: kmem_cache_free(%s, %v): not a slab object", ErrInvalidFree, s.name, p)
	}
	if sl.cache != s {
		var text string
		if m.cfg.FreelistHardened || s.flags&SlabConsistencyChecks != 0 {
			text = fmt.Sprintf("WARNING: kmem_cache_free: Wrong slab cache. %s but object is from %s", s.name, sl.cache.name)
		} else {
			text = fmt.Sprintf("allocviz: kmem_cache_free(%s, %v): the object is from %s; without CONFIG_SLAB_FREELIST_HARDENED or slab_debug=F the kernel would put it on the wrong cache's freelist; not freed",
				s.name, p, sl.cache.name)
		}
		m.slubReport(s, p, sl.pfn, text)
		return fmt.Errorf("%w: kmem_cache_free(%s, %v): the object belongs to %s", ErrInvalidFree, s.name, p, sl.cache.name)
	}
	return m.slabFree(sl, p, false)
}

// slabFree is slab_free() of p, somewhere in sl. Debug caches run
// free_debug_processing() with the kernel's reports. allocviz then checks
// its own records, so that a bad free is refused even where the kernel
// would not notice: p must be the start of an allocated object.
//
// kfree says the call is kfree's, whose kmem:kfree event comes first: on
// the fast path it is recorded with the EvObjFree, else before anything.
func (m *Machine) slabFree(sl *slab, p Addr, kfree bool) error {
	s := sl.cache
	idx, ok := s.objIndex(sl, p)
	if kfree && !(ok && !s.debug() && sl.obj[idx].state == ObjAllocated && sl == s.cpus[m.cpu].slab) {
		m.traceKfree(p)
		kfree = false
	}
	if s.debug() {
		if err := m.freeDebugChecks(s, sl, p); err != nil {
			return err
		}
	}
	switch {
	case !ok:
		return m.badSlabFree(s, sl, p, ErrInvalidFree, fmt.Sprintf(
			"allocviz: free of %v: not the start of an object of %s (objects are %d bytes apart from %v); the kernel would corrupt the freelist; not freed",
			p, s.name, s.size, s.objAddr(sl, 0)))
	case sl.obj[idx].state == ObjFree:
		return m.badSlabFree(s, sl, p, ErrDoubleFree, fmt.Sprintf(
			"allocviz: double free of %v: object %d of %s is already free; the kernel without slab_debug=F would corrupt the freelist; not freed",
			p, idx, s.name))
	case sl.obj[idx].state == ObjLost:
		return m.badSlabFree(s, sl, p, ErrInvalidFree, fmt.Sprintf(
			"allocviz: free of %v: object %d of %s was never handed out (its slab was marked used by a consistency repair); not freed", p, idx, s.name))
	}
	if !s.debug() && m.slabFreeFast(s, sl, p, idx, kfree) {
		return nil
	}
	freed := func(why StrID) {
		if m.tracing() {
			m.emitObject(EvObjFree, sl, p, idx, why, 0, 0, 0)
		}
		sl.obj[idx].since = m.seq
	}
	if s.debug() {
		m.freeDebugUpdate(s, sl, p)
		m.freeToPartialList(s, sl, p, idx, freed)
	} else {
		m.slabFreeSlow(s, sl, p, idx, freed)
	}
	return nil
}

func (m *Machine) badSlabFree(s *KmemCache, sl *slab, p Addr, kind error, text string) error {
	m.slubReport(s, p, sl.pfn, text)
	return fmt.Errorf("%w: %s", kind, text)
}

// KmemCacheDestroy is kmem_cache_destroy(s): every CPU's slabs are flushed
// and the empty slabs go back to the buddy allocator. A cache with objects
// left is reported as the kernel does ("Objects remaining ... on
// __kmem_cache_shutdown()" and the kmem_cache_destroy warning), removed
// from the cache list, and its slabs are leaked: their objects can still
// be freed. The kmalloc caches cannot be destroyed.
func (m *Machine) KmemCacheDestroy(s *KmemCache) error {
	if err := m.liveCache(s, "kmem_cache_destroy"); err != nil {
		return err
	}
	if s.kmalloc {
		return fmt.Errorf("%w: kmem_cache_destroy(%s): the kmalloc caches live as long as the machine", ErrInvalidFree, s.name)
	}
	m.flushAll(s, "kmem_cache_destroy")
	r := m.newReport()
	var discard []*slab
	for sl := s.partial.head; sl != nil; {
		next := sl.lnext
		if sl.inuse == 0 {
			s.removePartial(sl)
			discard = append(discard, sl)
		} else {
			m.listSlabObjects(r, s, sl)
		}
		sl = next
	}
	m.flushReport(r, s, 0)
	for _, sl := range discard {
		m.discardSlab(s, sl, whyDiscardDestroy, false)
	}
	busy := s.partial.n > 0 || s.nrSlabs > 0
	s.destroyed = true
	delete(m.slub.byName, s.name)
	if busy {
		live := 0
		for _, sl := range m.cacheSlabs(s) {
			live += sl.inuse
		}
		m.warn(fmt.Sprintf("kmem_cache_destroy %s: Slab cache still has objects when called from step %d", s.name, m.step))
		if m.tracing() {
			name, _ := m.cacheIDs(s)
			m.emit(record{kind: EvCacheDestroy, s1: name, s2: m.strf(
				"%s removed from the cache list with %d objects in %d slabs still allocated; the kernel leaks those slabs", s.name, live, s.nrSlabs)})
		}
		return fmt.Errorf("%w: kmem_cache_destroy(%s): %d objects are still allocated", ErrInvalidFree, s.name, live)
	}
	if m.tracing() {
		name, _ := m.cacheIDs(s)
		m.emit(record{kind: EvCacheDestroy, s1: name, s2: m.str(s.name + " destroyed: no objects left, every slab returned")})
	}
	return nil
}

// cacheSlabs returns every slab of s by walking the page array, in pfn
// order.
func (m *Machine) cacheSlabs(s *KmemCache) []*slab {
	var out []*slab
	for pfn := uint64(0); pfn < m.nrPages; {
		p := &m.pages[pfn]
		if p.flags&pgHead != 0 {
			if p.owner == OwnerSlab && p.slab != nil && p.slab.cache == s {
				out = append(out, p.slab)
			}
			pfn += 1 << p.order
			continue
		}
		if o, ok := m.freeOrderAt(pfn); ok {
			pfn += 1 << o
			continue
		}
		pfn++
	}
	return out
}

// slubReport records a SLUB report of one line about p.
func (m *Machine) slubReport(s *KmemCache, p Addr, pfn uint64, text string) {
	if m.tracing() {
		name, _ := m.cacheIDs(s)
		m.emit(record{kind: EvSlubReport, s1: name, addr: p, pfn: uint32(pfn), s2: m.str(text)})
	}
}

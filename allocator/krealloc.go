package allocator

import (
	"fmt"
)

// kmallocObject is what a krealloc()'d pointer is: a slab object or a
// large kmalloc, with its caches and sizes.
type kmallocObject struct {
	s     *KmemCache    // nil for a large kmalloc
	sl    *slab         // nil for a large kmalloc
	idx   int           // object index in sl
	large *largeKmalloc // nil for a slab object
	size  uint64        // bytes requested (tracked by allocviz)
	cap   uint64        // bytes usable: slab_ksize() or folio_size()
	where string        // ReallocInfo.Bucket: cache name or "pages"
}

// describe names where the allocation lives, for explanations:
// "kmalloc-64", or "an order-2 large kmalloc (16 KiB)".
func (o kmallocObject) describe() string {
	if o.large == nil {
		return o.where
	}
	return fmt.Sprintf("an order-%d large kmalloc (%s)", o.large.order, FormatBytes(o.cap))
}

// lookupKmalloc finds the live kmalloc allocation that starts at p.
func (m *Machine) lookupKmalloc(p Addr) (kmallocObject, error) {
	pfn, ok := m.AddrPFN(p)
	if !ok {
		return kmallocObject{}, fmt.Errorf("%w: %v is not a direct-map address of RAM", ErrInvalidFree, p)
	}
	head, h, live := m.blockOf(pfn)
	switch {
	case !live && h.owner == OwnerFree:
		return kmallocObject{}, fmt.Errorf("%w: %v is a free page (use after free)", ErrDoubleFree, p)
	case h.owner == OwnerSlab && h.slab != nil:
		sl := h.slab
		s := sl.cache
		idx, ok := s.objIndex(sl, p)
		if !ok {
			return kmallocObject{}, fmt.Errorf("%w: %v is inside %s but not the start of an object", ErrInvalidFree, p, s.name)
		}
		switch sl.obj[idx].state {
		case ObjFree:
			return kmallocObject{}, fmt.Errorf("%w: %v is object %d of %s, which is free (use after free)", ErrDoubleFree, p, idx, s.name)
		case ObjLost:
			return kmallocObject{}, fmt.Errorf("%w: %v is object %d of %s, which was never handed out", ErrInvalidFree, p, idx, s.name)
		}
		return kmallocObject{s: s, sl: sl, idx: idx, size: uint64(sl.obj[idx].size), cap: s.slabKsize(), where: s.name}, nil
	case h.owner == OwnerLargeKmalloc && p == m.PFNAddr(head):
		lk := m.slub.large[head]
		return kmallocObject{large: lk, size: lk.size, cap: m.pageSize << lk.order, where: "pages"}, nil
	}
	return kmallocObject{}, fmt.Errorf("%w: %v is not a kmalloc allocation (pfn %#x belongs to %v)", ErrInvalidFree, p, pfn, h.owner)
}

// Krealloc is krealloc(p, size, gfp): see KreallocAlign.
func (m *Machine) Krealloc(p Addr, size uint64, gfp GFP) (Addr, error) {
	return m.KreallocAlign(p, size, 0, gfp)
}

// KreallocAlign is krealloc_node_align(p, size, align, gfp, NUMA_NO_NODE)
// as the newest kernel (ProfileLatest) does it, or krealloc() of 6.12:
//
//   - size 0 frees p and returns ZeroSizePtr; NULL and ZeroSizePtr behave
//     as kmalloc(size).
//   - 6.18: p stays when size fits s->object_size (large: the folio) and p
//     is align-aligned; with __GFP_ZERO the spare bytes from
//     max(size, orig_size) are zeroed, and with the kmalloc red zone the
//     new orig_size is stored and [size, object_size) red-zoned. Otherwise
//     kmalloc(size), copy min(size, orig_size or ksize) bytes, kfree(p).
//   - 6.12: p stays when size <= ksize(p), with __GFP_ZERO zeroing
//     [size, ksize); otherwise the whole old ksize is copied.
//   - On failure p is untouched and an error matching ErrNoMemory is
//     returned.
//
// Every call emits one EvRealloc with the decision and its rule, after the
// kmalloc and kfree events of a move.
func (m *Machine) KreallocAlign(p Addr, size, align uint64, gfp GFP) (Addr, error) {
	info := &ReallocInfo{Func: "krealloc", Old: p, NewSize: size}
	if align != 0 && !isPowerOfTwo(align) {
		info.Decision = DecisionFailed
		m.reallocEvent(info, "alignment %d is not a power of two: refused, %v untouched", align, p)
		return 0, fmt.Errorf("%w: krealloc: alignment %d is not a power of two", ErrBadSize, align)
	}
	var old kmallocObject
	if !p.ZeroOrNull() {
		var err error
		old, err = m.lookupKmalloc(p)
		if err != nil {
			info.Decision = DecisionFailed
			if m.tracing() {
				text := fmt.Sprintf("krealloc(%v, %d): %v; nothing changed", p, size, err)
				m.Misuse(p, text)
				m.reallocEvent(info, "%s", text)
			}
			return 0, fmt.Errorf("krealloc: %w", err)
		}
		info.OldSize, info.OldCap = old.size, old.cap
	}
	if size == 0 {
		err := m.Kfree(p)
		info.New, info.Decision = ZeroSizePtr, DecisionFreed
		m.reallocEvent(info, "new size 0: kfree(%v) and return ZERO_SIZE_PTR", p)
		return ZeroSizePtr, err
	}
	if m.cfg.Profile == Profile612 {
		return m.krealloc612(p, size, gfp, old, info)
	}

	var why string
	orig := uint64(0)
	ks := uint64(0)
	if !p.ZeroOrNull() {
		if old.s != nil {
			orig = m.getOrigSize(old.s, p)
			ks = old.s.objectSize
		} else {
			ks = old.cap
		}
		switch {
		case size > ks:
			if m.tracing() {
				why = fmt.Sprintf("%d > ksize %d", size, ks)
			}
		case align != 0 && uint64(p)%align != 0:
			if m.tracing() {
				why = fmt.Sprintf("%d <= ksize %d but %v is not %d-aligned", size, ks, p, align)
			}
		default:
			return m.kreallocInPlace(p, size, gfp, old, orig, ks, info), nil
		}
	}
	// 6.18 copies orig_size ?: ksize whatever the new size
	// (krealloc_node_align_noprof(), as 6.17 made it and 6.18.0 released
	// it): when an alignment forces a shrinking krealloc to move, the copy
	// runs past the end of the smaller new object. A 2026 fix ("Fixes:
	// 2cd8231796b5") copies min(new size, that) instead; it is not in
	// 6.18.0 (docs/fidelity.md).
	keep := orig
	if keep == 0 {
		keep = ks
	}
	return m.kreallocMove(p, size, gfp, old, keep, why, info)
}

// kreallocInPlace is __do_krealloc()'s in-place branch (6.18).
func (m *Machine) kreallocInPlace(p Addr, size uint64, gfp GFP, old kmallocObject, orig, ks uint64, info *ReallocInfo) Addr {
	var zeroFrom, zeroTo uint64
	if gfp.Zero() {
		if orig != 0 && orig < size {
			zeroFrom, zeroTo = orig, size
		} else {
			zeroFrom, zeroTo = size, ks
		}
		clear(m.dm(p+Addr(zeroFrom), zeroTo-zeroFrom))
	}
	if old.s != nil && old.s.debugOrigSize() {
		m.setOrigSize(old.s, p, uint32(size))
		if old.s.flags&SlabRedZone != 0 && size < ks {
			fill(m.dm(p+Addr(size), ks-size), slubRedActive)
		}
	}
	m.setTrackedSize(old, size)
	info.New, info.NewCap, info.Bucket, info.Zeroed = p, old.cap, old.where, zeroTo-zeroFrom
	info.Decision = DecisionShrunkInPlace
	if size > old.size {
		info.Decision = DecisionGrownInPlace
	}
	if m.tracing() {
		text := fmt.Sprintf("%d <= ksize %d: stays in %s", size, ks, old.describe())
		if zeroTo > zeroFrom {
			text += fmt.Sprintf("; __GFP_ZERO zeroed bytes %d..%d", zeroFrom, zeroTo-1)
		}
		if old.s != nil && old.s.debugOrigSize() {
			text += fmt.Sprintf("; orig_size is now %d", size)
			if old.s.flags&SlabRedZone != 0 && size < ks {
				text += fmt.Sprintf(" and bytes %d..%d are the kmalloc red zone", size, ks-1)
			}
		}
		m.reallocEvent(info, "%s", text)
	}
	return p
}

// kreallocMove is __do_krealloc()'s alloc_new, then krealloc()'s kfree of
// the old object: keep bytes are copied.
func (m *Machine) kreallocMove(p Addr, size uint64, gfp GFP, old kmallocObject, keep uint64, why string, info *ReallocInfo) (Addr, error) {
	q, err := m.Kmalloc(size, gfp)
	if err != nil {
		info.Decision = DecisionFailed
		if m.tracing() {
			text := fmt.Sprintf("kmalloc(%d) failed; the old object is untouched", size)
			if p.ZeroOrNull() {
				// krealloc(NULL, n) is kmalloc(n): there is no old object.
				text = fmt.Sprintf("krealloc(%v, %d) is kmalloc(%d), and it failed", p, size, size)
			}
			if why != "" {
				text = why + ": " + text
			}
			m.reallocEvent(info, "%s", text)
		}
		return 0, fmt.Errorf("krealloc(%v, %d): %w", p, size, err)
	}
	newObj, _ := m.lookupKmalloc(q)
	info.New, info.NewCap, info.Bucket = q, newObj.cap, newObj.where
	if p.ZeroOrNull() {
		info.Decision = DecisionNew
		m.reallocEvent(info, "krealloc(%v, %d) is kmalloc(%d): a new object in %s", p, size, size, newObj.describe())
		return q, nil
	}
	// The copy is real: bytes past the new object land in whatever follows
	// it in RAM (a neighbouring object, a red zone), as in the kernel. Only
	// RAM's end bounds it.
	dst := min(keep, uint64(len(m.mem.ram))-uint64(q-DirectMapBase))
	copy(m.dm(q, dst), m.dm(p, dst))
	info.Copied, info.Decision = keep, DecisionMoved
	// A debug check can refuse the kfree of the old object (its red zone
	// was overwritten, or its slab was disabled): the kernel reports it and
	// krealloc still returns the new object; the old one leaks.
	ferr := m.Kfree(p)
	if m.tracing() {
		text := fmt.Sprintf("%s: moved from %s to %s, copied %d bytes", why, old.describe(), newObj.describe(), keep)
		if keep > newObj.cap {
			text += fmt.Sprintf(", %d past the end of the new object (6.18 copies the old size, not min(new, old))", keep-newObj.cap)
		}
		if ferr != nil {
			text += "; the kfree of the old object was refused (see the report), so it leaks"
		}
		m.reallocEvent(info, "%s", text)
	}
	return q, nil
}

// krealloc612 is 6.12's __do_krealloc(): in place while size <= ksize(p),
// zeroing [size, ksize) with __GFP_ZERO; else a new object and a copy of
// the whole old ksize.
func (m *Machine) krealloc612(p Addr, size uint64, gfp GFP, old kmallocObject, info *ReallocInfo) (Addr, error) {
	ks := uint64(0)
	if !p.ZeroOrNull() {
		ks = m.Ksize(p)
	}
	if ks >= size {
		if gfp.Zero() {
			clear(m.dm(p+Addr(size), ks-size))
			info.Zeroed = ks - size
		}
		m.setTrackedSize(old, size)
		info.New, info.NewCap, info.Bucket = p, old.cap, old.where
		info.Decision = DecisionShrunkInPlace
		if size > old.size {
			info.Decision = DecisionGrownInPlace
		}
		if m.tracing() {
			text := fmt.Sprintf("%d <= ksize %d: stays in %s", size, ks, old.describe())
			if info.Zeroed > 0 {
				text += fmt.Sprintf("; __GFP_ZERO zeroed bytes %d..%d", size, ks-1)
			}
			m.reallocEvent(info, "%s", text)
		}
		return p, nil
	}
	why := ""
	if !p.ZeroOrNull() && m.tracing() {
		why = fmt.Sprintf("%d > ksize %d", size, ks)
	}
	return m.kreallocMove(p, size, gfp, old, ks, why, info)
}

// setTrackedSize records the new requested size of an object resized in
// place.
func (m *Machine) setTrackedSize(o kmallocObject, size uint64) {
	switch {
	case o.sl != nil:
		o.sl.obj[o.idx].size = uint32(size)
	case o.large != nil:
		o.large.size = size
	}
}

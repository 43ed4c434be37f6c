package allocator

import "fmt"

// Vrealloc is vrealloc(p, size, gfp) (mm/vmalloc.c) in the machine's
// profile:
//
//   - p NULL behaves as Vmalloc; size 0 frees p and returns NULL.
//   - Profile612 (3ddc2fefe6f3): a size that fits the page-rounded area
//     stays in place (the spare bytes zeroed when __GFP_ZERO); anything
//     larger gets a new area, the whole old area copied, the old one freed.
//   - ProfileLatest (6.15+): the requested size is tracked; a shrink stays
//     in place and zeroes the cut tail when __GFP_ZERO; a grow that fits
//     the pages already mapped stays in place without zeroing; anything
//     larger moves, copying the old requested size.
//
// Every call records an EvRealloc with its ReallocInfo. On failure the
// old area is untouched and the error matches ErrNoMemory (or
// ErrBadAddress for a p that is no area).
func (m *Machine) Vrealloc(p Addr, size uint64, gfp GFP) (Addr, error) {
	return m.vreallocNodeAlign(p, size, 1, gfp, callerVrealloc)
}

// VreallocAlign is vrealloc_node_align(p, size, align, gfp, NUMA_NO_NODE)
// (6.17+): Vrealloc whose new area is aligned to align, a power of two.
// An existing p not aligned to align is refused with the kernel's WARN.
// Profile612 has no such function: alignments up to PAGE_SIZE (which
// every area has) are accepted there and larger ones refused.
func (m *Machine) VreallocAlign(p Addr, size, align uint64, gfp GFP) (Addr, error) {
	if !isPowerOfTwo(align) {
		return 0, fmt.Errorf("%w: vrealloc alignment %d is not a power of two", ErrBadSize, align)
	}
	if m.cfg.Profile == Profile612 {
		if align > m.pageSize {
			text := fmt.Sprintf("vrealloc in 6.12 takes no alignment: areas are page aligned, and %d is above PAGE_SIZE (%d)", align, m.pageSize)
			m.Misuse(p, text)
			return 0, fmt.Errorf("%w: %s", ErrBadSize, text)
		}
		align = 1
	}
	return m.vreallocNodeAlign(p, size, align, gfp, callerVrealloc)
}

// vreallocNodeAlign is vrealloc_node_align_noprof (ProfileLatest) or
// vrealloc_noprof (Profile612, where align is 1).
func (m *Machine) vreallocNodeAlign(p Addr, size, align uint64, gfp GFP, caller vmCaller) (Addr, error) {
	info := ReallocInfo{Func: "vrealloc", Old: p, NewSize: size, Bucket: "vmalloc"}
	latest := m.cfg.Profile != Profile612
	var a *vmArea
	if p != 0 {
		if i, ok := findArea(m.vm.busy, p); ok && m.vm.busy[i].start == p {
			a = m.vm.busy[i]
			info.OldCap = a.usable
			info.OldSize = a.usable
			if latest {
				info.OldSize = a.requested
			}
		}
	}
	if size == 0 {
		if err := m.Vfree(p); err != nil {
			info.Decision = DecisionFailed
			m.reallocEvent(&info, "vrealloc(%v, 0) frees through vfree, which refused: %v", p, err)
			return 0, err
		}
		info.Decision = DecisionFreed
		if p == 0 {
			m.reallocEvent(&info, "vrealloc(NULL, 0): nothing to free; returns NULL")
		} else {
			m.reallocEvent(&info, "vrealloc(%v, 0) frees the %d-byte area and returns NULL", p, info.OldCap)
		}
		return 0, nil
	}
	if p != 0 && a == nil {
		text := fmt.Sprintf("Trying to vrealloc() nonexistent vm area (%016x)", uint64(p))
		m.warn(text)
		info.Decision = DecisionFailed
		m.reallocEvent(&info, "vrealloc(%v): no live vmap area starts there; returns NULL and nothing changes", p)
		return 0, fmt.Errorf("%w: %s", ErrBadAddress, text)
	}
	if a != nil && latest {
		if a.usable < a.requested {
			text := fmt.Sprintf("vrealloc() has mismatched area vs requested sizes (%016x)", uint64(p))
			m.warn(text)
			info.Decision = DecisionFailed
			m.reallocEvent(&info, "%s", text)
			return 0, fmt.Errorf("%w: %s", ErrBadAddress, text)
		}
		if uint64(p)&(align-1) != 0 {
			text := fmt.Sprintf("will not reallocate with a bigger alignment (0x%x)", align)
			m.warn(text)
			info.Decision = DecisionFailed
			m.reallocEvent(&info, "vrealloc(%v): the area is not aligned to %#x and vrealloc will not move it to a bigger alignment; returns NULL", p, align)
			return 0, fmt.Errorf("%w: %s", ErrBadSize, text)
		}
	}
	if a != nil {
		if latest {
			if size <= a.requested {
				return m.vreallocShrink(a, size, gfp, &info), nil
			}
			if size <= a.usable {
				prev := a.requested
				a.requested = size
				info.New, info.NewCap, info.Decision = p, a.usable, DecisionGrownInPlace
				m.reallocEvent(&info, "vrealloc: %d bytes fit the %d bytes already mapped, so the area grows in place from %d without zeroing; requested_size is now %d",
					size, a.usable, prev, size)
				return p, nil
			}
		} else if size <= a.usable {
			return m.vrealloc612InPlace(a, size, gfp, &info), nil
		}
	}
	n, err := m.vmallocNodeRange(size, align, gfp, 0, caller)
	if err != nil {
		info.Decision = DecisionFailed
		if p == 0 {
			m.reallocEvent(&info, "vrealloc(NULL, %d) behaves like vmalloc, which failed: %v", size, err)
		} else {
			m.reallocEvent(&info, "vrealloc: a new %d-byte area could not be had, so the old area at %v is untouched: %v", size, p, err)
		}
		return 0, err
	}
	b := m.vm.busy[mustFindArea(m.vm.busy, n)]
	info.New, info.NewCap = n, b.usable
	if a == nil {
		info.Decision = DecisionNew
		m.reallocEvent(&info, "vrealloc(NULL, %d) behaves like vmalloc: new area at %v", size, n)
		return n, nil
	}
	keep := info.OldSize
	copy(m.vm.win.mem[m.winOff(n):m.winOff(n)+keep], m.vm.win.mem[m.winOff(p):m.winOff(p)+keep])
	if err := m.Vfree(p); err != nil {
		throw("vrealloc", fmt.Sprintf("freeing the old area %v: %v", p, err))
	}
	info.Copied, info.Decision = keep, DecisionMoved
	if latest {
		m.reallocEvent(&info, "vrealloc: %d bytes exceed the %d bytes mapped at %v: new area at %v, the %d requested bytes copied, the old area freed",
			size, a.usable, p, n, keep)
	} else {
		m.reallocEvent(&info, "vrealloc (6.12): %d bytes do not fit the %d-byte page-rounded area at %v: new area at %v, the whole old area (%d bytes) copied, the old one freed",
			size, a.usable, p, n, keep)
	}
	return n, nil
}

// vreallocShrink is the 6.15+ shrink path: stay in place, zero the cut
// tail [size, requested) when the caller wants zeroed memory, and track
// the new requested size.
func (m *Machine) vreallocShrink(a *vmArea, size uint64, gfp GFP, info *ReallocInfo) Addr {
	prev := a.requested
	if gfp.Zero() {
		off := m.winOff(a.start)
		clear(m.vm.win.mem[off+size : off+prev])
		info.Zeroed = prev - size
	}
	a.requested = size
	info.New, info.NewCap, info.Decision = a.start, a.usable, DecisionShrunkInPlace
	if m.tracing() {
		zero := ""
		switch {
		case info.Zeroed > 0:
			zero = fmt.Sprintf("; bytes %d-%d were zeroed because __GFP_ZERO asks for zeroed memory", size, prev-1)
		case size < prev:
			zero = "; the cut tail keeps its bytes (zeroed only with __GFP_ZERO or init_on_free, both off)"
		}
		m.reallocEvent(info, "vrealloc: %d bytes are no more than the %d requested, so the area stays in place; requested_size is now %d%s",
			size, prev, size, zero)
	}
	return a.start
}

// vrealloc612InPlace is 6.12's only in-place path: the new size fits the
// page-rounded area. With __GFP_ZERO every byte from size to the end of
// the area is zeroed.
func (m *Machine) vrealloc612InPlace(a *vmArea, size uint64, gfp GFP, info *ReallocInfo) Addr {
	prev := a.requested
	a.requested = size
	info.New, info.NewCap = a.start, a.usable
	info.Decision = DecisionShrunkInPlace
	if size > prev {
		info.Decision = DecisionGrownInPlace
	}
	if gfp.Zero() {
		off := m.winOff(a.start)
		clear(m.vm.win.mem[off+size : off+a.usable])
		info.Zeroed = a.usable - size
	}
	if m.tracing() {
		zero := ""
		if info.Zeroed > 0 {
			zero = fmt.Sprintf("; bytes %d-%d zeroed for __GFP_ZERO", size, a.usable-1)
		}
		m.reallocEvent(info, "vrealloc (6.12): %d bytes fit the %d-byte page-rounded area, so it stays in place and nothing is mapped or unmapped%s",
			size, a.usable, zero)
	}
	return a.start
}

// mustFindArea returns the index of the busy area starting at p, which
// must exist.
func mustFindArea(list []*vmArea, p Addr) int {
	i, ok := findArea(list, p)
	if !ok || list[i].start != p {
		throw("mustFindArea", fmt.Sprintf("no area starts at %v", p))
	}
	return i
}

// reallocEvent records a realloc decision; the rule is formatted only
// when events are being recorded.
func (m *Machine) reallocEvent(info *ReallocInfo, format string, args ...any) {
	if !m.tracing() {
		return
	}
	text := fmt.Sprintf(format, args...)
	r := m.nestRealloc(info, text)
	m.emit(record{kind: EvRealloc, addr: r.New, size: r.NewSize, s1: StrID(m.log.addRealloc(r)), s2: m.str(text)})
}

package allocator

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// SLUB debugging (slab_debug=FZPU, mm/slub.c): red zones, poisoning,
// tracks, the kmalloc red zone after orig_size, the consistency checks on
// allocation and free, validate_slab_cache(), and the reports in the
// kernel's words. Each report becomes one EvSlubReport whose Text is what
// the kernel prints and whose Index counts the errors as lib/slub_kunit.c
// does (one per BUG report or FIX line).

// Poison and red zone bytes (include/linux/poison.h).
const (
	poisonInuse     = 0x5a // POISON_INUSE: slab padding, object padding
	poisonFree      = 0x6b // POISON_FREE: the body of a poisoned object
	poisonEnd       = 0xa5 // POISON_END: the last byte of a poisoned object
	slubRedInactive = 0xbb // SLUB_RED_INACTIVE: red zone of a free object
	slubRedActive   = 0xcc // SLUB_RED_ACTIVE: red zone of an allocated object
)

// Kernel taint bits that reports set (include/linux/panic.h).
const (
	taintBadPage = 1 << 5 // TAINT_BAD_PAGE, 'B'
	taintWarn    = 1 << 9 // TAINT_WARN, 'W'
)

// trackCaller is the "caller" allocviz stores in a struct track: a kernel
// text address whose low 32 bits are the script step.
const trackCaller = 0xffffffff00000000

// slubReport collects the lines of one report and counts its errors. With
// recording off it only counts.
type slubReport struct {
	on    bool
	lines []string
	errs  int // errors as slab_add_kunit_errors() counts them
}

func (m *Machine) newReport() *slubReport { return &slubReport{on: m.tracing()} }

func (r *slubReport) printf(format string, args ...any) {
	if r.on {
		r.lines = append(r.lines, fmt.Sprintf(format, args...))
	}
}

// count records one error.
func (m *Machine) count(r *slubReport) {
	r.errs++
	m.slub.errors++
}

// flushReport emits the report, if it has anything.
func (m *Machine) flushReport(r *slubReport, s *KmemCache, addr Addr) {
	if r.errs == 0 && len(r.lines) == 0 {
		return
	}
	if m.tracing() {
		name, _ := m.cacheIDs(s)
		m.emit(record{kind: EvSlubReport, s1: name, addr: addr, n: int32(r.errs), s2: m.str(strings.Join(r.lines, "\n"))})
	}
}

// SlabErrors returns how many SLUB errors the machine has reported, as
// lib/slub_kunit.c counts them: one for each BUG report and each FIX.
func (m *Machine) SlabErrors() int { return m.slub.errors }

// printTainted is print_tainted(): "Not tainted", or "Tainted: " and one
// character per taint flag ('G' or 'P' first, then the letter of each set
// flag or a space). 6.12 has 19 flags; 6.15 added TAINT_FWCTL ('J').
func (m *Machine) printTainted() string {
	if m.slub.taint == 0 {
		return "Not tainted"
	}
	const letters = "PFSRMBUDAWCIOELKXTNJ"
	n := len(letters)
	if m.cfg.Profile == Profile612 {
		n--
	}
	b := []byte("Tainted: ")
	for i := 0; i < n; i++ {
		switch {
		case m.slub.taint&(1<<i) != 0:
			b = append(b, letters[i])
		case i == 0:
			b = append(b, 'G')
		default:
			b = append(b, ' ')
		}
	}
	return string(b)
}

// slabBug is slab_bug(): the banner of a report.
func (m *Machine) slabBug(r *slubReport, s *KmemCache, msg string) {
	name := "<unknown>"
	if s != nil {
		name = s.name
	}
	r.printf("%s", strings.Repeat("=", 77))
	r.printf("BUG %s (%s): %s", name, m.printTainted(), msg)
	r.printf("%s", strings.Repeat("-", 77))
	r.printf("")
}

// slabFix is slab_fix(): one counted "FIX" line.
func (m *Machine) slabFix(r *slubReport, s *KmemCache, format string, args ...any) {
	m.count(r)
	r.printf("FIX %s: %s", s.name, fmt.Sprintf(format, args...))
}

// objectErr is object_err(): a counted BUG report about one object.
func (m *Machine) objectErr(r *slubReport, s *KmemCache, sl *slab, obj Addr, reason string) {
	m.count(r)
	m.printObjectErr(r, s, sl, obj, reason)
}

func (m *Machine) printObjectErr(r *slubReport, s *KmemCache, sl *slab, obj Addr, reason string) {
	m.slabBug(r, s, reason)
	m.printTrailer(r, s, sl, obj)
	m.slub.taint |= taintBadPage | taintWarn
}

// slabErr is slab_err(): a counted BUG report about a slab.
func (m *Machine) slabErr(r *slubReport, s *KmemCache, sl *slab, format string, args ...any) {
	m.count(r)
	m.slabBug(r, s, fmt.Sprintf(format, args...))
	m.printSlabInfo(r, sl)
	m.slub.taint |= taintBadPage | taintWarn
}

// printSlabInfo is print_slab_info(). The slab's address is that of its
// struct page in the vmemmap.
func (m *Machine) printSlabInfo(r *slubReport, sl *slab) {
	flags := []string{}
	if sl.order > 0 {
		flags = append(flags, "head")
	}
	if sl.list == ListNodePartial {
		flags = append(flags, "workingset")
	}
	flags = append(flags, "node=0", "zone=2")
	r.printf("Slab 0x%016x objects=%d used=%d fp=0x%016x flags=%s",
		uint64(vmemmapBase)+sl.pfn*sizeofStructPage, sl.objects, sl.inuse, uint64(sl.freelist), strings.Join(flags, "|"))
}

// printSection is print_section(): print_hex_dump() with the address
// prefix, 16 bytes a row, and the ASCII column.
func (m *Machine) printSection(r *slubReport, text string, addr Addr, n uint64) {
	if !r.on {
		return
	}
	b := m.dm(addr, n)
	for i := uint64(0); i < n; i += 16 {
		row := b[i:min(i+16, n)]
		var line strings.Builder
		for j, c := range row {
			if j > 0 {
				line.WriteByte(' ')
			}
			fmt.Fprintf(&line, "%02x", c)
		}
		for line.Len() < 49 {
			line.WriteByte(' ')
		}
		for _, c := range row {
			if c >= 0x20 && c < 0x7f {
				line.WriteByte(c)
			} else {
				line.WriteByte('.')
			}
		}
		r.printf("%s%016x: %s", text, uint64(addr)+i, line.String())
	}
}

// printTrailer is print_trailer(): tracks, slab, object and its red zones
// and padding as hex dumps.
func (m *Machine) printTrailer(r *slubReport, s *KmemCache, sl *slab, p Addr) {
	if !r.on {
		return
	}
	m.printTracking(r, s, p)
	m.printSlabInfo(r, sl)
	r.printf("Object 0x%016x @offset=%d fp=0x%016x", uint64(p), p-sl.base, uint64(m.getFreepointer(s, p)))
	r.printf("")
	if s.flags&SlabRedZone != 0 {
		m.printSection(r, "Redzone  ", p-Addr(s.redLeftPad), s.redLeftPad)
	} else if p > sl.base+16 {
		m.printSection(r, "Bytes b4 ", p-16, 16)
	}
	m.printSection(r, "Object   ", p, min(s.objectSize, m.pageSize))
	if s.flags&SlabRedZone != 0 {
		m.printSection(r, "Redzone  ", p+Addr(s.objectSize), s.inuse-s.objectSize)
	}
	off := s.infoEnd()
	if s.flags&SlabStoreUser != 0 {
		off += 2 * trackSize
	}
	if s.debugOrigSize() {
		off += origSizeSize
	}
	if off != s.sizeFromObject() {
		m.printSection(r, "Padding  ", p+Addr(off), s.sizeFromObject()-off)
	}
}

// trackAddr is get_track(): the alloc track, then the free track, after
// the free pointer.
func (s *KmemCache) trackAddr(obj Addr, free bool) Addr {
	a := obj + Addr(s.infoEnd())
	if free {
		a += trackSize
	}
	return a
}

// setTrack is set_track(): the caller (the script step), the CPU, the pid
// and the time (the event sequence number, for jiffies).
func (m *Machine) setTrack(s *KmemCache, obj Addr, free bool) {
	t := m.dm(s.trackAddr(obj, free), trackSize)
	clear(t)
	binary.LittleEndian.PutUint64(t[0:], trackCaller|uint64(uint32(m.step)))
	binary.LittleEndian.PutUint32(t[12:], uint32(m.cpu))
	binary.LittleEndian.PutUint32(t[16:], 1)
	binary.LittleEndian.PutUint64(t[24:], m.seq)
}

// printTracking is print_tracking().
func (m *Machine) printTracking(r *slubReport, s *KmemCache, obj Addr) {
	if s.flags&SlabStoreUser == 0 || !r.on {
		return
	}
	for _, free := range []bool{false, true} {
		t := m.dm(s.trackAddr(obj, free), trackSize)
		addr := binary.LittleEndian.Uint64(t[0:])
		if addr == 0 {
			continue
		}
		what := "Allocated"
		if free {
			what = "Freed"
		}
		caller := fmt.Sprintf("%#x", addr)
		if addr&^0xffffffff == trackCaller {
			caller = fmt.Sprintf("step %d", uint32(addr))
		}
		r.printf("%s in %s age=%d cpu=%d pid=%d", what, caller, m.seq-binary.LittleEndian.Uint64(t[24:]),
			binary.LittleEndian.Uint32(t[12:]), binary.LittleEndian.Uint32(t[16:]))
	}
}

// origSizeAddr is where set_orig_size() keeps the requested size: after
// the two tracks.
func (s *KmemCache) origSizeAddr(obj Addr) Addr { return obj + Addr(s.infoEnd()+2*trackSize) }

// setOrigSize is set_orig_size().
func (m *Machine) setOrigSize(s *KmemCache, obj Addr, size uint32) {
	if s.debugOrigSize() {
		binary.LittleEndian.PutUint32(m.dm(s.origSizeAddr(obj), origSizeSize), size)
	}
}

// getOrigSize is get_orig_size(): the stored size, or s->object_size for
// a cache that does not store it.
func (m *Machine) getOrigSize(s *KmemCache, obj Addr) uint64 {
	if !s.debugOrigSize() {
		return s.objectSize
	}
	return uint64(binary.LittleEndian.Uint32(m.dm(s.origSizeAddr(obj), origSizeSize)))
}

// setupObject is setup_object()'s setup_object_debug(): a free object gets
// its inactive red zones, poison and empty tracks.
func (m *Machine) setupObject(s *KmemCache, obj Addr) {
	if s.flags&(SlabStoreUser|SlabRedZone|slabObjectPoison) == 0 {
		return
	}
	m.initObject(s, obj, slubRedInactive)
	if s.flags&SlabStoreUser != 0 {
		clear(m.dm(s.trackAddr(obj, false), 2*trackSize))
	}
}

// initObject is init_object(): the left red zone, the poison (up to
// orig_size for an allocated kmalloc object), and the right red zone with
// val. An allocated kmalloc object of a SLAB_STORE_USER|SLAB_RED_ZONE
// cache gets val from orig_size on: the kmalloc red zone.
func (m *Machine) initObject(s *KmemCache, obj Addr, val byte) {
	poisonSize := s.objectSize
	if s.flags&SlabRedZone != 0 {
		fill(m.dm(obj-Addr(s.redLeftPad), s.redLeftPad), val)
		if s.debugOrigSize() && val == slubRedActive {
			// A stored size is trusted only as far as the object goes.
			poisonSize = min(max(m.getOrigSize(s, obj), 1), s.objectSize)
		}
	}
	if s.flags&slabObjectPoison != 0 {
		b := m.dm(obj, poisonSize)
		fill(b[:poisonSize-1], poisonFree)
		b[poisonSize-1] = poisonEnd
	}
	if s.flags&SlabRedZone != 0 {
		fill(m.dm(obj+Addr(poisonSize), s.inuse-poisonSize), val)
	}
}

// checkValidPointer is check_valid_pointer(): NULL, or the start of an
// object of the slab.
func (m *Machine) checkValidPointer(s *KmemCache, sl *slab, p Addr) bool {
	if p == 0 {
		return true
	}
	_, ok := s.objIndex(sl, p)
	return ok
}

// checkBytesAndReport is check_bytes_and_report(): n bytes from start
// must all be val. A mismatch is reported ("[Right Redzone overwritten]
// ..." on 6.18, "BUG ...: Right Redzone overwritten" on 6.12) and the
// bytes are restored, which slab_fix() reports too: two errors.
func (m *Machine) checkBytesAndReport(r *slubReport, s *KmemCache, sl *slab, obj Addr, what string, start Addr, val byte, n uint64, printObj bool) bool {
	if n == 0 {
		return true
	}
	b := m.dm(start, n)
	i := 0
	for i < len(b) && b[i] == val {
		i++
	}
	if i == len(b) {
		return true
	}
	end := len(b)
	for end > i && b[end-1] == val {
		end--
	}
	fault, last := start+Addr(i), start+Addr(end-1)
	m.count(r)
	if m.cfg.Profile == Profile612 {
		m.slabBug(r, s, what+" overwritten")
		r.printf("0x%016x-0x%016x @offset=%d. First byte 0x%x instead of 0x%x", uint64(fault), uint64(last), fault-sl.base, b[i], val)
		m.printTrailer(r, s, sl, obj)
		m.slub.taint |= taintBadPage
	} else {
		r.printf("[%s overwritten] 0x%016x-0x%016x @offset=%d. First byte 0x%x instead of 0x%x", what, uint64(fault), uint64(last), fault-sl.base, b[i], val)
		if printObj {
			m.printObjectErr(r, s, sl, obj, "Object corrupt")
		}
	}
	m.restoreBytes(r, s, what, val, fault, start+Addr(end))
	return false
}

// restoreBytes is restore_bytes().
func (m *Machine) restoreBytes(r *slubReport, s *KmemCache, what string, val byte, from, to Addr) {
	m.slabFix(r, s, "Restoring %s 0x%016x-0x%016x=0x%x", what, uint64(from), uint64(to-1), val)
	fill(m.dm(from, uint64(to-from)), val)
}

// checkPadBytes is check_pad_bytes(): the padding after the metadata is
// POISON_INUSE.
func (m *Machine) checkPadBytes(r *slubReport, s *KmemCache, sl *slab, p Addr) bool {
	off := s.infoEnd()
	if s.flags&SlabStoreUser != 0 {
		off += 2 * trackSize
		if s.flags&SlabKmalloc != 0 {
			off += origSizeSize
		}
	}
	if s.sizeFromObject() == off {
		return true
	}
	return m.checkBytesAndReport(r, s, sl, p, "Object padding", p+Addr(off), poisonInuse, s.sizeFromObject()-off, true)
}

// slabPadCheck is slab_pad_check(): the bytes after the last object of a
// SLAB_POISON slab are POISON_INUSE.
func (m *Machine) slabPadCheck(r *slubReport, s *KmemCache, sl *slab) {
	if s.flags&SlabPoison == 0 {
		return
	}
	length := m.pageSize << sl.order
	remainder := length % s.size
	if remainder == 0 {
		return
	}
	pad := sl.base + Addr(length-remainder)
	b := m.dm(pad, remainder)
	i := 0
	for i < len(b) && b[i] == poisonInuse {
		i++
	}
	if i == len(b) {
		return
	}
	end := len(b)
	for end > i && b[end-1] == poisonInuse {
		end--
	}
	fault := pad + Addr(i)
	m.slabBug(r, s, fmt.Sprintf("Padding overwritten. 0x%016x-0x%016x @offset=%d", uint64(fault), uint64(pad)+uint64(end-1), fault-sl.base))
	m.printSection(r, "Padding ", pad, remainder)
	m.printSlabInfo(r, sl)
	m.slub.taint |= taintBadPage | taintWarn
	m.restoreBytes(r, s, "slab padding", poisonInuse, fault, pad+Addr(end))
}

// checkObject is check_object() with val SLUB_RED_ACTIVE for an allocated
// object and SLUB_RED_INACTIVE for a free one: red zones, the kmalloc red
// zone, poison, padding, and the free pointer.
func (m *Machine) checkObject(r *slubReport, s *KmemCache, sl *slab, obj Addr, val byte) bool {
	ret := true
	if s.flags&SlabRedZone != 0 {
		if !m.checkBytesAndReport(r, s, sl, obj, "Left Redzone", obj-Addr(s.redLeftPad), val, s.redLeftPad, ret) {
			ret = false
		}
		if !m.checkBytesAndReport(r, s, sl, obj, "Right Redzone", obj+Addr(s.objectSize), val, s.inuse-s.objectSize, ret) {
			ret = false
		}
		if s.debugOrigSize() && val == slubRedActive {
			if orig := m.getOrigSize(s, obj); s.objectSize > orig &&
				!m.checkBytesAndReport(r, s, sl, obj, "kmalloc Redzone", obj+Addr(orig), val, s.objectSize-orig, ret) {
				ret = false
			}
		}
	} else if s.flags&SlabPoison != 0 && s.objectSize < s.inuse {
		if !m.checkBytesAndReport(r, s, sl, obj, "Alignment padding", obj+Addr(s.objectSize), poisonInuse, s.inuse-s.objectSize, ret) {
			ret = false
		}
	}
	if s.flags&SlabPoison != 0 {
		if val != slubRedActive && s.flags&slabObjectPoison != 0 {
			if !m.checkBytesAndReport(r, s, sl, obj, "Poison", obj, poisonFree, s.objectSize-1, ret) {
				ret = false
			}
			if !m.checkBytesAndReport(r, s, sl, obj, "End Poison", obj+Addr(s.objectSize-1), poisonEnd, 1, ret) {
				ret = false
			}
		}
		if !m.checkPadBytes(r, s, sl, obj) {
			ret = false
		}
	}
	if (s.freeptrOutside() || val != slubRedActive) && !m.checkValidPointer(s, sl, m.getFreepointer(s, obj)) {
		m.objectErr(r, s, sl, obj, "Freepointer corrupt")
		m.setFreepointer(s, obj, 0)
		ret = false
	}
	return ret
}

// checkSlab is check_slab().
func (m *Machine) checkSlab(r *slubReport, s *KmemCache, sl *slab) bool {
	if maxobj := m.orderObjects(sl.order, s.size); sl.objects > maxobj {
		m.slabErr(r, s, sl, "objects %d > max %d", sl.objects, maxobj)
		return false
	}
	if sl.inuse > sl.objects {
		m.slabErr(r, s, sl, "inuse %d > max %d", sl.inuse, sl.objects)
		return false
	}
	if sl.frozen && s.debug() {
		m.slabErr(r, s, sl, "Slab disabled since SLUB metadata consistency check failed")
		return false
	}
	m.slabPadCheck(r, s, sl)
	return true
}

// onFreelist is on_freelist(): walk the slab freelist in memory looking
// for search (0: just walk), isolating a corrupted chain, clearing a
// freelist that is corrupt at its head or cyclic, and correcting the inuse
// count to what the walk found. allocviz slabs always hold order_objects()
// objects, so its "Wrong number of objects" branch cannot trigger.
func (m *Machine) onFreelist(r *slubReport, s *KmemCache, sl *slab, search Addr) bool {
	nr := 0
	var object Addr
	fp := sl.freelist
	for fp != 0 && nr <= sl.objects {
		if fp == search {
			return true
		}
		if !m.checkValidPointer(s, sl, fp) {
			if object != 0 {
				m.objectErr(r, s, sl, object, "Freechain corrupt")
				m.setFreepointer(s, object, 0)
				break
			}
			m.slabErr(r, s, sl, "Freepointer corrupt")
			sl.freelist, sl.inuse = 0, sl.objects
			m.slabFix(r, s, "Freelist cleared")
			return false
		}
		object = fp
		fp = m.getFreepointer(s, object)
		nr++
	}
	if nr > sl.objects {
		m.slabErr(r, s, sl, "Freelist cycle detected")
		sl.freelist, sl.inuse = 0, sl.objects
		m.slabFix(r, s, "Freelist cleared")
		return false
	}
	if sl.inuse != sl.objects-nr {
		m.slabErr(r, s, sl, "Wrong object count. Counter is %d but counted were %d", sl.inuse, sl.objects-nr)
		sl.inuse = sl.objects - nr
		m.slabFix(r, s, "Object count adjusted")
	}
	return search == 0
}

// allocDebugProcessing is alloc_debug_processing(): with
// SLAB_CONSISTENCY_CHECKS the slab and the free object are checked; a
// failure marks every object of the slab used and the allocation moves on
// to another slab. Then the track, orig_size and the active red zones.
func (m *Machine) allocDebugProcessing(s *KmemCache, sl *slab, obj Addr, orig uint64) bool {
	if s.flags&SlabConsistencyChecks != 0 {
		r := m.newReport()
		ok := m.checkSlab(r, s, sl)
		if ok && !m.checkValidPointer(s, sl, obj) {
			m.objectErr(r, s, sl, obj, "Freelist Pointer check fails")
			ok = false
		}
		if ok && !m.checkObject(r, s, sl, obj, slubRedInactive) {
			ok = false
		}
		if !ok {
			m.slabFix(r, s, "Marking all objects used")
			sl.inuse, sl.freelist, sl.frozen = sl.objects, 0, true
			m.flushReport(r, s, obj)
			if idx, ok := s.objIndex(sl, obj); ok {
				sl.obj[idx].state = ObjFree
			}
			m.reconcileSlab(s, sl)
			return false
		}
		m.flushReport(r, s, obj)
	}
	if s.flags&SlabStoreUser != 0 {
		m.setTrack(s, obj, false)
	}
	m.setOrigSize(s, obj, uint32(orig))
	m.initObject(s, obj, slubRedActive)
	return true
}

// freeDebugChecks is the checking half of free_debug_processing(): the
// slab must have an object to free and, with SLAB_CONSISTENCY_CHECKS, p
// must be a valid object pointer, not already free and with intact red
// zones and poison. A failure is reported, ends in "Object at ... not
// freed", and returns the error for the caller.
func (m *Machine) freeDebugChecks(s *KmemCache, sl *slab, p Addr) error {
	r := m.newReport()
	ok := true
	kind := ErrInvalidFree
	reason := "the slab failed its consistency check"
	if s.flags&SlabConsistencyChecks != 0 && !m.checkSlab(r, s, sl) {
		ok = false
	}
	if ok && sl.inuse < 1 {
		m.slabErr(r, s, sl, "Slab has %d allocated objects but %d are to be freed", sl.inuse, 1)
		ok, kind, reason = false, ErrDoubleFree, "the slab has no allocated object"
	}
	if ok && s.flags&SlabConsistencyChecks != 0 {
		switch {
		case !m.checkValidPointer(s, sl, p):
			m.slabErr(r, s, sl, "Invalid object pointer 0x%016x", uint64(p))
			ok, reason = false, "invalid object pointer"
		case m.onFreelist(r, s, sl, p):
			m.objectErr(r, s, sl, p, "Object already free")
			ok, kind, reason = false, ErrDoubleFree, "object already free"
		case !m.checkObject(r, s, sl, p, slubRedActive):
			ok, reason = false, "the object's red zone or padding was overwritten"
		}
	}
	if !ok {
		m.slabFix(r, s, "Object at 0x%016x not freed", uint64(p))
	}
	m.flushReport(r, s, p)
	if r.errs > 0 {
		m.reconcileSlab(s, sl)
	}
	if !ok {
		return fmt.Errorf("%w: free of %v in %s: %s; not freed", kind, p, s.name, reason)
	}
	return nil
}

// freeDebugUpdate is the updating half of free_debug_processing(): the
// free track, then the inactive red zones and the poison.
func (m *Machine) freeDebugUpdate(s *KmemCache, sl *slab, p Addr) {
	if s.flags&SlabStoreUser != 0 {
		m.setTrack(s, p, true)
	}
	m.initObject(s, p, slubRedInactive)
}

// ValidateSlabCache is validate_slab_cache(s): flush every CPU's slabs to
// the node, then check every node partial slab (and full slab, with
// SLAB_STORE_USER): its freelist and every object, free ones against the
// inactive and allocated ones against the active red zones. Problems are
// reported and repaired as the kernel does. It returns the number of slabs
// checked; SlabErrors counts the errors found.
func (m *Machine) ValidateSlabCache(s *KmemCache) (int, error) {
	if err := m.liveCache(s, "validate_slab_cache"); err != nil {
		return 0, err
	}
	m.flushAll(s, "validate_slab_cache")
	r := m.newReport()
	count := 0
	var slabs []*slab
	for sl := s.partial.head; sl != nil; sl = sl.lnext {
		slabs = append(slabs, sl)
	}
	if s.flags&SlabStoreUser != 0 {
		for sl := s.full.head; sl != nil; sl = sl.lnext {
			slabs = append(slabs, sl)
		}
	}
	for _, sl := range slabs {
		before := r.errs
		m.validateSlab(r, s, sl)
		if r.errs > before {
			m.reconcileSlab(s, sl)
		}
		count++
	}
	m.flushReport(r, s, 0)
	return count, nil
}

// validateSlab is validate_slab().
func (m *Machine) validateSlab(r *slubReport, s *KmemCache, sl *slab) {
	if !m.checkSlab(r, s, sl) || !m.onFreelist(r, s, sl, 0) {
		return
	}
	free := m.freeMap(s, sl)
	for i := 0; i < sl.objects; i++ {
		val := byte(slubRedActive)
		if free[i] {
			val = slubRedInactive
		}
		if !m.checkObject(r, s, sl, s.objAddr(sl, i), val) {
			break
		}
	}
}

// freeMap is __fill_map(): which objects the slab freelist in memory
// holds, walked as far as it stays inside the slab.
func (m *Machine) freeMap(s *KmemCache, sl *slab) []bool {
	free := make([]bool, sl.objects)
	n := 0
	for p := sl.freelist; p != 0 && n <= sl.objects; p = m.getFreepointer(s, p) {
		idx, ok := s.objIndex(sl, p)
		if !ok {
			break
		}
		free[idx] = true
		n++
	}
	return free
}

// listSlabObjects is list_slab_objects(): the leak report of
// kmem_cache_destroy() for a slab with objects left. 6.18 counts the
// report and each leaked object; 6.12 reported through slab_err() once.
func (m *Machine) listSlabObjects(r *slubReport, s *KmemCache, sl *slab) {
	if m.cfg.Profile == Profile612 {
		m.slabErr(r, s, sl, "Objects remaining in %s on __kmem_cache_shutdown()", s.name)
	} else {
		m.count(r)
		m.slabBug(r, s, "Objects remaining on __kmem_cache_shutdown()")
	}
	free := m.freeMap(s, sl)
	for i := 0; i < sl.objects; i++ {
		if free[i] {
			continue
		}
		if m.cfg.Profile != Profile612 {
			m.count(r)
		}
		p := s.objAddr(sl, i)
		r.printf("Object 0x%016x @offset=%d", uint64(p), p-sl.base)
		m.printTracking(r, s, p)
	}
	if m.cfg.Profile != Profile612 {
		m.printSlabInfo(r, sl)
		m.slub.taint |= taintBadPage | taintWarn
	}
}

// reconcileSlab brings allocviz's records of a debug cache's slab in line
// with its freelist after the kernel's repairs: objects the repaired chain
// holds are free, free objects it lost are lost, and inuse counts the
// rest. A chain that reaches an allocated object, a foreign pointer or a
// cycle is cut there, since following it would hand out memory twice.
func (m *Machine) reconcileSlab(s *KmemCache, sl *slab) {
	on := make([]bool, sl.objects)
	n := 0
	var prev Addr
	for p := sl.freelist; p != 0; {
		idx, ok := s.objIndex(sl, p)
		if !ok || on[idx] || sl.obj[idx].state == ObjAllocated {
			if prev == 0 {
				sl.freelist = 0
			} else {
				m.setFreepointer(s, prev, 0)
			}
			m.reportFreechain(s, sl, fmt.Sprintf("after the kernel's repairs the chain reaches %v; cut there", p))
			break
		}
		on[idx] = true
		n++
		prev = p
		p = m.getFreepointer(s, p)
	}
	for i := range sl.obj {
		o := &sl.obj[i]
		switch {
		case on[i] && o.state != ObjFree:
			o.state, o.onCPU = ObjFree, false
			if m.tracing() {
				m.emitObject(EvObjFree, sl, s.objAddr(sl, i), i, phRepair, 0, 0, 0)
			}
			o.since = m.seq
		case !on[i] && o.state == ObjFree:
			o.state = ObjLost
			if m.tracing() {
				m.emitObject(EvObjAlloc, sl, s.objAddr(sl, i), i, phLost, 0, 0, 0)
			}
			o.since = m.seq
		}
	}
	sl.inuse = sl.objects - n
}

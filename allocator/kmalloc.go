package allocator

import (
	"fmt"
	"math/bits"
)

// kmallocType is enum kmalloc_cache_type: which array of kmalloc caches a
// GFP mask selects.
type kmallocType uint8

// kmalloc cache types, in enum order (NORMAL, RECLAIM, DMA, CGROUP), which
// is also the order create_kmalloc_caches() creates them in.
const (
	kmallocNormal  kmallocType = iota // "kmalloc-"
	kmallocReclaim                    // "kmalloc-rcl-": __GFP_RECLAIMABLE
	kmallocDMA                        // "dma-kmalloc-": __GFP_DMA
	kmallocCgroup                     // "kmalloc-cg-": __GFP_ACCOUNT
	nrKmallocTypes
)

var kmallocPrefix = [nrKmallocTypes]string{"kmalloc-", "kmalloc-rcl-", "dma-kmalloc-", "kmalloc-cg-"}

// kmallocSizeIndex is kmalloc_size_index[24] (mm/slab_common.c): the
// kmalloc array index for sizes 1..192, one entry per 8 bytes. Index 1 is
// the 96-byte cache, 2 the 192-byte cache, n >= 3 the 2^n-byte cache.
// Entry (100-1)/8 = 12 is 7, so kmalloc(100) uses kmalloc-128.
const kmallocSizeIndex = "\x03\x04\x05\x05\x06\x06\x06\x06\x01\x01\x01\x01\x07\x07\x07\x07\x02\x02\x02\x02\x02\x02\x02\x02"

// kmallocTypeOf is kmalloc_type(): NORMAL unless one of __GFP_DMA,
// __GFP_RECLAIMABLE, __GFP_ACCOUNT is set, in that priority.
func kmallocTypeOf(gfp GFP) kmallocType {
	switch {
	case gfp&(GFPDMA|GFPReclaimable|GFPAccount) == 0:
		return kmallocNormal
	case gfp&GFPDMA != 0:
		return kmallocDMA
	case gfp&GFPReclaimable != 0:
		return kmallocReclaim
	}
	return kmallocCgroup
}

// kmallocIndexSize returns the object size of kmalloc array index idx.
func kmallocIndexSize(idx int) uint64 {
	switch idx {
	case 1:
		return 96
	case 2:
		return 192
	}
	return 1 << idx
}

// kmallocShortSize is the size part of a kmalloc cache name as
// INIT_KMALLOC_INFO spells it: 96, 192, 8 .. 512, then 1k .. 512k, 1M, 2M.
func kmallocShortSize(size uint64) string {
	switch {
	case size >= MiB:
		return fmt.Sprintf("%dM", size/MiB)
	case size >= KiB:
		return fmt.Sprintf("%dk", size/KiB)
	}
	return fmt.Sprint(size)
}

// createKmallocCaches is create_kmalloc_caches() (6.10+ order): for each
// type, the 96- and 192-byte caches, then 8 up to KMALLOC_MAX_CACHE_SIZE.
// Each is create_boot_cache() with SLAB_KMALLOC: aligned to the largest
// power-of-two divisor of its size (kmalloc-96 to 32, kmalloc-192 to 64).
func (m *Machine) createKmallocCaches() error {
	ss := &m.slub
	for t := kmallocNormal; t < nrKmallocTypes; t++ {
		ss.kmallocCaches[t] = make([]*KmemCache, ss.shiftHigh+1)
		idxs := []int{1, 2}
		for i := kmallocShiftLow; i <= int(ss.shiftHigh); i++ {
			idxs = append(idxs, i)
		}
		for _, idx := range idxs {
			size := kmallocIndexSize(idx)
			flags := SlabKmalloc
			switch t {
			case kmallocReclaim:
				flags |= SlabReclaimAccount
			case kmallocDMA:
				flags |= SlabCacheDMA
			case kmallocCgroup:
				flags |= SlabAccount
			}
			flags |= ss.debugFlags
			align := max(uint64(kmallocMinalign), size&-size)
			s := &KmemCache{name: kmallocPrefix[t] + kmallocShortSize(size), objectSize: size, flags: flags,
				align: calculateAlignment(flags, align, size), kmalloc: true, kmType: t, kmIndex: idx}
			if err := m.doKmemCacheCreate(s); err != nil {
				return fmt.Errorf("creation of kmalloc slab %s size=%d failed: %w", s.name, size, err)
			}
			ss.kmallocCaches[t][idx] = s
			m.addCache(s)
		}
	}
	// sizeClass asks kmalloc_slab() about smaller sizes, so it runs once
	// every cache exists.
	for t := range ss.kmallocCaches {
		for _, s := range ss.kmallocCaches[t] {
			if s != nil {
				s.sizeClass = m.sizeClass(s)
			}
		}
	}
	return nil
}

// kmallocSlab is kmalloc_slab(): the cache for a request of size bytes,
// 1..KMALLOC_MAX_CACHE_SIZE. Up to 192 bytes the size index table decides,
// above it fls(size - 1): 200 -> fls(199) = 8, kmalloc-256.
func (m *Machine) kmallocSlab(size uint64, gfp GFP) *KmemCache {
	var idx int
	if size <= 192 {
		idx = int(kmallocSizeIndex[(size-1)/8])
	} else {
		idx = bits.Len64(size - 1)
	}
	return m.slub.kmallocCaches[kmallocTypeOf(gfp)][idx]
}

// KmallocCacheFor returns the kmalloc cache kmalloc(size, gfp) would use,
// or nil for 0 and for sizes above KMALLOC_MAX_CACHE_SIZE.
func (m *Machine) KmallocCacheFor(size uint64, gfp GFP) *KmemCache {
	if size == 0 || size > m.slub.maxCacheSize {
		return nil
	}
	return m.kmallocSlab(size, gfp)
}

// KmallocMaxCacheSize returns KMALLOC_MAX_CACHE_SIZE: 2 pages.
func (m *Machine) KmallocMaxCacheSize() uint64 { return m.slub.maxCacheSize }

// KmallocMaxSize returns KMALLOC_MAX_SIZE: PAGE_SIZE << MAX_PAGE_ORDER.
func (m *Machine) KmallocMaxSize() uint64 { return m.slub.maxSize }

// sizeClass is the part of sizeRule that depends only on the kmalloc
// cache: the sizes it serves and, for a cache of another type than
// normal, the flag that picked it.
func (m *Machine) sizeClass(s *KmemCache) string {
	lo := uint64(1)
	if s.objectSize > 192 {
		// fls(size - 1): the half above the next power of two down,
		// except that 129..192 belong to kmalloc-192.
		lo = max(s.objectSize/2+1, 193)
	} else {
		// The first size kmalloc_slab() maps to a cache of this size.
		for m.kmallocSlab(lo, 0).objectSize != s.objectSize {
			lo++
		}
	}
	class := fmt.Sprintf("%d..%d bytes use %s", lo, s.objectSize, s.name)
	switch s.kmType {
	case kmallocDMA:
		class += " (__GFP_DMA picks the dma-kmalloc- caches)"
	case kmallocReclaim:
		class += " (__GFP_RECLAIMABLE picks the kmalloc-rcl- caches)"
	case kmallocCgroup:
		class += " (__GFP_ACCOUNT picks the kmalloc-cg- caches)"
	}
	return class
}

// Kmalloc is kmalloc(size, gfp) (__do_kmalloc_node): size 0 returns
// ZeroSizePtr; up to KMALLOC_MAX_CACHE_SIZE an object of the kmalloc cache
// for size and the GFP type; above it whole pages from the buddy allocator
// (large kmalloc). On failure it returns 0 and an error matching
// ErrNoMemory. Every call but kmalloc(0) emits the kmem:kmalloc EvKmalloc.
func (m *Machine) Kmalloc(size uint64, gfp GFP) (Addr, error) {
	if size > m.slub.maxCacheSize {
		return m.kmallocLarge(size, gfp)
	}
	if size == 0 {
		return ZeroSizePtr, nil
	}
	s := m.kmallocSlab(size, gfp)
	if !m.tracing() {
		p, err := m.slabAlloc(s, gfp, size, nil)
		if err != nil {
			return 0, fmt.Errorf("kmalloc(%d, %v) from %s: %w", size, gfp, s.name, err)
		}
		return p, nil
	}
	// kmem:kmalloc follows the object's EvObjAlloc, or the failure.
	name, class := m.cacheIDs(s)
	km := m.head(EvKmalloc, 0, kmallocSizeClass, gfp, 0, 0, name, class)
	p, err := m.slabAlloc(s, gfp, size, &km)
	if err != nil {
		m.putWords(km, 0, size, s.size)
		return 0, fmt.Errorf("kmalloc(%d, %v) from %s: %w", size, gfp, s.name, err)
	}
	return p, nil
}

// KmallocCache is __kmalloc_cache_noprof(s, gfp, size), what kmalloc()
// compiles to for a constant size: an object of s for a request of size
// bytes (its orig_size with slab_debug=U). size must be 1..s.ObjectSize().
func (m *Machine) KmallocCache(s *KmemCache, size uint64, gfp GFP) (Addr, error) {
	if err := m.liveCache(s, "kmalloc"); err != nil {
		return 0, err
	}
	if size == 0 || size > s.objectSize {
		return 0, fmt.Errorf("%w: kmalloc of %d bytes from %s, whose objects are %d bytes", ErrBadSize, size, s.name, s.objectSize)
	}
	p, err := m.slabAlloc(s, gfp, size, nil)
	if m.tracing() {
		name, _ := m.cacheIDs(s)
		m.emit(record{kind: EvKmalloc, addr: p, size: size, bytes: s.size, gfp: gfp, s1: name, b: kmallocFromCache})
	}
	if err != nil {
		return 0, fmt.Errorf("kmalloc(%d, %v) from %s: %w", size, gfp, s.name, err)
	}
	return p, nil
}

// kmallocLarge is __kmalloc_large_node(): get_order(size) pages with
// __GFP_COMP. Above KMALLOC_MAX_SIZE the order exceeds MAX_PAGE_ORDER and
// the page allocator refuses, with its warning unless __GFP_NOWARN.
func (m *Machine) kmallocLarge(size uint64, gfp GFP) (Addr, error) {
	order := m.getOrder(size)
	var bytes uint64
	if order+int(m.pageShift) < 64 {
		bytes = m.pageSize << order
	}
	// The tracepoint shows the caller's flags; the pages get __GFP_COMP.
	pfn, err := m.allocPages(order, m.fixSlabGFP(gfp)|GFPComp, OwnerLargeKmalloc)
	var p Addr
	if err == nil {
		p = m.PFNAddr(pfn)
	}
	if m.tracing() {
		r := record{kind: EvKmalloc, addr: p, size: size, bytes: bytes, gfp: gfp, order: int8(order),
			b: kmallocLargeRule, n: int32(m.slub.maxCacheSize)}
		if size > m.slub.maxSize {
			r.b, r.n = kmallocTooLarge, int32(m.slub.maxSize)
		}
		m.emit(r)
	}
	if err != nil {
		return 0, fmt.Errorf("kmalloc(%d, %v): large kmalloc of order %d: %w", size, gfp, order, err)
	}
	m.slub.large[pfn] = &largeKmalloc{size: size, order: order, since: m.seq}
	return p, nil
}

// KmallocSizeRoundup is kmalloc_size_roundup(): the bucket size for
// 1..KMALLOC_MAX_CACHE_SIZE, whole pages of get_order(n) up to
// KMALLOC_MAX_SIZE, and n itself for 0 and anything larger.
func (m *Machine) KmallocSizeRoundup(n uint64) uint64 {
	switch {
	case n == 0:
		return 0
	case n <= m.slub.maxCacheSize:
		return m.kmallocSlab(n, GFPKernel).objectSize
	case n <= m.slub.maxSize:
		return m.pageSize << m.getOrder(n)
	}
	return n
}

// traceKfree records kfree's kmem:kfree event, if recording.
func (m *Machine) traceKfree(p Addr) {
	if m.tracing() {
		m.putWords(m.head(EvKfree, 0, 0, 0, 0, 0, 0, 0), p, 0, 0)
	}
}

// Kfree is kfree(p): the kmem:kfree EvKfree first (also for NULL), then
// nothing for NULL and ZeroSizePtr, the slab free for a slab object, or
// the pages of a large kmalloc. A pointer that is not a live kmalloc
// allocation is reported (EvSlubReport or EvBadFree, in the kernel's words
// where it has them) and returned as an error matching ErrInvalidFree or
// ErrDoubleFree; nothing changes.
func (m *Machine) Kfree(p Addr) error {
	if p.ZeroOrNull() {
		m.traceKfree(p)
		return nil
	}
	pfn, ok := m.AddrPFN(p)
	if !ok {
		m.traceKfree(p)
		return m.badKfree(p, 0, ErrInvalidFree, fmt.Sprintf("kfree(%v): not a direct-map address of RAM (vmalloc memory needs vfree or kvfree); not freed", p))
	}
	head, h, live := m.blockOf(pfn)
	if h.owner == OwnerSlab && h.slab != nil {
		return m.slabFree(h.slab, p, true) // records kmem:kfree
	}
	m.traceKfree(p)
	switch {
	case !live && h.owner == OwnerFree:
		return m.badKfree(p, pfn, ErrDoubleFree, fmt.Sprintf("kfree(%v): pfn %#x is free, not a kmalloc allocation (double free?); not freed", p, pfn))
	case h.owner == OwnerLargeKmalloc:
		if p != m.PFNAddr(head) {
			return m.badKfree(p, pfn, ErrInvalidFree, fmt.Sprintf("kfree(%v): inside the large kmalloc at %v, not its start; not freed", p, m.PFNAddr(head)))
		}
		m.freeLarge(head)
		return nil
	}
	return m.badKfree(p, pfn, ErrInvalidFree, fmt.Sprintf("kfree(%v): WARNING: free_large_kmalloc: Not a kmalloc allocation: pfn %#x belongs to %v; not freed",
		p, pfn, h.owner))
}

func (m *Machine) badKfree(p Addr, pfn uint64, kind error, text string) error {
	m.emit(record{kind: EvBadFree, addr: p, pfn: uint32(pfn), s1: m.str(text)})
	return fmt.Errorf("%w: %s", kind, text)
}

// freeLarge is free_large_kmalloc().
func (m *Machine) freeLarge(head uint64) {
	delete(m.slub.large, head)
	m.freePages(head, int(m.pages[head].order))
}

// Ksize is ksize(p): 0 for NULL and ZeroSizePtr; the usable size of a slab
// object (slab_ksize: s->size, or s->object_size with red zones or poison,
// s->inuse with SLAB_STORE_USER); PAGE_SIZE << order for a large kmalloc.
// Like __ksize() it gives up a kmalloc red zone (skip_orig_size_check), as
// the caller may now use every byte. Anything else is 0.
func (m *Machine) Ksize(p Addr) uint64 {
	if p.ZeroOrNull() {
		return 0
	}
	pfn, ok := m.AddrPFN(p)
	if !ok {
		return 0
	}
	head, h, live := m.blockOf(pfn)
	switch {
	case !live:
		return 0
	case h.owner == OwnerSlab && h.slab != nil:
		sl := h.slab
		s := sl.cache
		if idx, ok := s.objIndex(sl, p); ok && sl.obj[idx].state == ObjAllocated && s.debugOrigSize() {
			m.setOrigSize(s, p, uint32(s.objectSize))
		}
		return s.slabKsize()
	case h.owner == OwnerLargeKmalloc && p == m.PFNAddr(head):
		return m.pageSize << h.order
	}
	return 0
}

// slabKsize is slab_ksize().
func (s *KmemCache) slabKsize() uint64 {
	switch {
	case s.flags&(SlabRedZone|SlabPoison) != 0:
		return s.objectSize
	case s.flags&SlabStoreUser != 0:
		return s.inuse
	}
	return s.size
}

// cacheIDs returns the ids of a cache's name and, for a kmalloc cache,
// its size class in the log being written, interning them once per log.
func (m *Machine) cacheIDs(s *KmemCache) (name, sizeClass StrID) {
	if m.log == nil {
		return 0, 0
	}
	if s.idLog != m.log {
		s.idLog, s.nameID, s.classID = m.log, m.str(s.name), m.str(s.sizeClass)
	}
	return s.nameID, s.classID
}

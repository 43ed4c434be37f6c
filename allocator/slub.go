package allocator

import (
	"fmt"
	"math/bits"
	"strings"
)

// SlabFlags are the kmem_cache creation flags allocviz models (the
// kernel's SLAB_* flags, include/linux/slab.h). The bit values are
// allocviz's own; the names are the kernel's in Go casing.
type SlabFlags uint32

// Slab flags. The first four are the slab_debug= letters F, Z, P and U.
const (
	SlabConsistencyChecks SlabFlags = 1 << iota // SLAB_CONSISTENCY_CHECKS (F): check on every alloc and free
	SlabRedZone                                 // SLAB_RED_ZONE (Z): red zones around every object
	SlabPoison                                  // SLAB_POISON (P): poison free objects with 0x6b..0xa5
	SlabStoreUser                               // SLAB_STORE_USER (U): alloc/free tracks (and orig_size for kmalloc)
	SlabHWCacheAlign                            // SLAB_HWCACHE_ALIGN: align objects to the 64-byte cache line
	SlabCacheDMA                                // SLAB_CACHE_DMA: slabs from ZONE_DMA (the dma-kmalloc- caches)
	SlabReclaimAccount                          // SLAB_RECLAIM_ACCOUNT: reclaimable (the kmalloc-rcl- caches)
	SlabAccount                                 // SLAB_ACCOUNT: charged to the memory cgroup (the kmalloc-cg- caches)
	SlabKmalloc                                 // SLAB_KMALLOC: a kmalloc cache (power-of-two divisor alignment, orig_size)
	SlabNoUserFlags                             // SLAB_NO_USER_FLAGS: ignore the machine's slab_debug=
	slabObjectPoison                            // __OBJECT_POISON: internal, the object itself is poisoned
)

// SlabDebugFlags is SLAB_DEBUG_FLAGS as far as allocviz models it: any of
// these makes a cache a debug cache, which bypasses the per-CPU slabs.
const SlabDebugFlags = SlabConsistencyChecks | SlabRedZone | SlabPoison | SlabStoreUser

var slabFlagNames = [...]string{"CONSISTENCY_CHECKS", "RED_ZONE", "POISON", "STORE_USER", "HWCACHE_ALIGN",
	"CACHE_DMA", "RECLAIM_ACCOUNT", "ACCOUNT", "KMALLOC", "NO_USER_FLAGS", "OBJECT_POISON"}

func (f SlabFlags) String() string {
	if f == 0 {
		return "0"
	}
	var parts []string
	for i, n := range slabFlagNames {
		if f&(1<<i) != 0 {
			parts = append(parts, "SLAB_"+n)
		}
	}
	if rest := f &^ (1<<len(slabFlagNames) - 1); rest != 0 {
		parts = append(parts, fmt.Sprintf("%#x", uint32(rest)))
	}
	return strings.Join(parts, "|")
}

// ParseSlabDebug reads slab_debug= option letters (parse_slub_debug_flags):
// F, Z, P, U in either case; '-' clears what came before. The empty string
// is no debugging.
func ParseSlabDebug(s string) (SlabFlags, error) {
	var f SlabFlags
	for _, r := range s {
		switch r {
		case 'f', 'F':
			f |= SlabConsistencyChecks
		case 'z', 'Z':
			f |= SlabRedZone
		case 'p', 'P':
			f |= SlabPoison
		case 'u', 'U':
			f |= SlabStoreUser
		case '-':
			f = 0
		default:
			return 0, fmt.Errorf("slab_debug option %q unknown (allowed: F, Z, P, U, -)", r)
		}
	}
	return f, nil
}

// SLUB constants (mm/slub.c, include/linux/slab.h, x86_64).
const (
	wordSize         = 8     // sizeof(void *)
	archSlabMinalign = 8     // ARCH_SLAB_MINALIGN
	kmallocMinalign  = 8     // ARCH_KMALLOC_MINALIGN
	kmallocShiftLow  = 3     // KMALLOC_SHIFT_LOW
	maxObjsPerPage   = 32767 // MAX_OBJS_PER_PAGE: slab.objects is 15 bits
	minPartialSlabs  = 5     // MIN_PARTIAL
	maxPartialSlabs  = 10    // MAX_PARTIAL
	slabMaxOrder     = PageAllocCostlyOrder
	cacheLineSize    = 64 // cache_line_size() on x86_64
	trackSize        = 32 // sizeof(struct track) with CONFIG_STACKDEPOT: addr, handle, cpu, pid, when
	origSizeSize     = 4  // sizeof(unsigned int): the kmalloc orig_size after the tracks
)

// ObjState is the state of one slab object. Transitions: Free ->
// Allocated on allocation and back on free; Free -> Lost when a debug
// consistency repair marks the objects of a slab used ("Marking all
// objects used", "Freelist cleared"); Lost objects stay so until their
// slab would be discarded, which cannot happen while they exist.
type ObjState uint8

// Object states.
const (
	ObjFree      ObjState = iota // on a freelist
	ObjAllocated                 // handed out and not yet freed
	ObjLost                      // taken off the freelists by a consistency repair; nobody owns it
)

var objStateNames = [...]string{"free", "allocated", "lost"}

func (o ObjState) String() string {
	if int(o) < len(objStateNames) {
		return objStateNames[o]
	}
	return "unknown"
}

// objMeta is allocviz's own record of one object. SLUB keeps no such
// record; allocviz uses it to catch double frees and freelist corruption
// the kernel would follow blindly, and to answer ObjectAt.
type objMeta struct {
	since uint64   // Seq of the event that gave the object its state
	size  uint32   // bytes requested by the allocation (orig_size), for allocated objects
	state ObjState // free, allocated or lost
	onCPU bool     // for free objects: on the CPU's lockless freelist rather than slab.freelist
}

// slab is struct slab: one slab of a cache, 1 << order page frames from
// the buddy allocator. Owned by its cache; every page of it points here
// (page.slab) while it is allocated.
type slab struct {
	cache    *KmemCache
	pfn      uint64 // first page frame
	order    int    // pages = 1 << order
	base     Addr   // direct-map address of the first page
	objects  int    // objects in this slab (oo_objects, or fewer for a s->min fallback slab)
	inuse    int    // objects not on slab.freelist (includes the CPU freelist of a cpu slab)
	freelist Addr   // first free object, 0 for none; the chain lives in the objects' memory
	frozen   bool   // a cpu slab (or a slab disabled by a failed consistency check)
	list     SlabList
	cpu      int   // the CPU of ListCPU and ListCPUPartial, else -1
	next     *slab // the next slab on a per-CPU partial list
	slabs    int   // slab->slabs: slabs on the per-CPU partial list from this one on
	cpuFreeN int   // free objects on the CPU's lockless freelist (a cpu slab only)
	onFull   bool  // on the node full list (SLAB_STORE_USER caches)
	lprev    *slab // node partial or full list links
	lnext    *slab
	obj      []objMeta // per object, by index
	since    uint64    // Seq of the event that created the slab
}

// slabList is a doubly linked list of slabs through lprev/lnext, like a
// list_head list: kmem_cache_node.partial and .full.
type slabList struct {
	head, tail *slab
	n          int // slabs on the list (nr_partial for the partial list)
}

func (l *slabList) add(s *slab, tail bool) {
	if l.head == nil {
		s.lprev, s.lnext = nil, nil
		l.head, l.tail = s, s
	} else if tail {
		s.lprev, s.lnext = l.tail, nil
		l.tail.lnext = s
		l.tail = s
	} else {
		s.lprev, s.lnext = nil, l.head
		l.head.lprev = s
		l.head = s
	}
	l.n++
}

func (l *slabList) remove(s *slab) {
	if s.lprev != nil {
		s.lprev.lnext = s.lnext
	} else {
		l.head = s.lnext
	}
	if s.lnext != nil {
		s.lnext.lprev = s.lprev
	} else {
		l.tail = s.lprev
	}
	s.lprev, s.lnext = nil, nil
	l.n--
}

// kmemCacheCPU is struct kmem_cache_cpu: one CPU's view of a cache.
type kmemCacheCPU struct {
	freelist Addr  // the lockless freelist of the cpu slab; 0 when empty
	slab     *slab // the cpu slab, frozen; nil for none
	partial  *slab // head of the per-CPU partial list (most recently added first)
}

// KmemCache is struct kmem_cache: a slab cache with its geometry, its
// per-CPU state and its node lists. The kmalloc caches are created at
// boot; others by KmemCacheCreate. Fields are immutable after creation
// except the lists and counters, which the SLUB paths change.
type KmemCache struct {
	name            string
	id              int        // creation number; /proc/slabinfo lists the newest first
	flags           SlabFlags  // after slab_debug= was applied
	objectSize      uint64     // bytes: s->object_size, what the caller asked for
	size            uint64     // bytes: s->size, the stride between objects
	reciprocal      reciprocal // s->reciprocal_size: divides by size without a division
	align           uint64     // bytes: s->align
	inuse           uint64     // bytes: s->inuse, object plus right red zone (where metadata starts)
	offset          uint64     // bytes: s->offset, free pointer from the object start
	redLeftPad      uint64     // bytes: s->red_left_pad, the left red zone
	order           int        // oo_order(s->oo)
	objects         int        // oo_objects(s->oo)
	minOrder        int        // oo_order(s->min): the one-object fallback order
	minObjects      int        // oo_objects(s->min)
	minPartial      int        // s->min_partial: empty slabs kept on the node partial list
	cpuPartial      int        // s->cpu_partial: the per-CPU partial budget in objects
	cpuPartialSlabs int        // s->cpu_partial_slabs: the budget in slabs
	allocGFP        GFP        // s->allocflags: __GFP_COMP plus the zone and reclaim bits
	random          uint64     // s->random: the freelist hardening key
	randomSeq       []uint32   // s->random_seq: object indexes in shuffled order (CONFIG_SLAB_FREELIST_RANDOM)
	kmalloc         bool       // one of the boot kmalloc caches
	kmType          kmallocType
	kmIndex         int    // index in kmalloc_caches[type][]
	sizeClass       string // kmalloc caches: "97..128 bytes use kmalloc-128", the end of kmalloc(n)'s size-class sentence

	// The ids of name and sizeClass in idLog, the log last written to
	// (Machine.cacheIDs).
	idLog           *EventLog
	nameID, classID StrID

	cpus         []kmemCacheCPU // per CPU
	partial      slabList       // node partial list
	full         slabList       // node full list (SLAB_STORE_USER debug caches only)
	nrSlabs      int            // node nr_slabs
	totalObjects int            // node total_objects
	destroyed    bool           // removed from the cache list by kmem_cache_destroy
	failslab     bool           // /sys/kernel/slab/<cache>/failslab (SLAB_FAILSLAB): failslab's cache-filter lets it fail
}

// Name returns the cache name as /proc/slabinfo shows it.
func (s *KmemCache) Name() string { return s.name }

// ObjectSize returns s->object_size in bytes.
func (s *KmemCache) ObjectSize() uint64 { return s.objectSize }

// Size returns s->size in bytes: the object stride, objsize in slabinfo.
func (s *KmemCache) Size() uint64 { return s.size }

// Align returns s->align in bytes.
func (s *KmemCache) Align() uint64 { return s.align }

// Flags returns the cache flags after slab_debug= was applied.
func (s *KmemCache) Flags() SlabFlags { return s.flags }

// ObjectsPerSlab returns oo_objects(s->oo).
func (s *KmemCache) ObjectsPerSlab() int { return s.objects }

// Order returns oo_order(s->oo).
func (s *KmemCache) Order() int { return s.order }

// debug is kmem_cache_debug(): a debug cache takes every allocation and
// free through the node lists, one object at a time.
func (s *KmemCache) debug() bool { return s.flags&SlabDebugFlags != 0 }

// debugOrigSize is slub_debug_orig_size(): a kmalloc cache that stores the
// requested size after the tracks and red-zones the rest of the object.
func (s *KmemCache) debugOrigSize() bool {
	return s.flags&(SlabStoreUser|SlabKmalloc) == SlabStoreUser|SlabKmalloc
}

// freeptrOutside is freeptr_outside_object(): the free pointer has its own
// word after the object.
func (s *KmemCache) freeptrOutside() bool { return s.offset >= s.inuse }

// infoEnd is get_info_end(): where the tracks begin.
func (s *KmemCache) infoEnd() uint64 {
	if s.freeptrOutside() {
		return s.inuse + wordSize
	}
	return s.inuse
}

// sizeFromObject is size_from_object(): the stride minus the left red zone.
func (s *KmemCache) sizeFromObject() uint64 {
	if s.flags&SlabRedZone != 0 {
		return s.size - s.redLeftPad
	}
	return s.size
}

// slubState holds SLUB: every cache in creation order, the kmalloc arrays,
// and the machine-wide debug state.
type slubState struct {
	caches        []*KmemCache                 // every cache ever created, in creation order
	byName        map[string]*KmemCache        // live caches by name
	kmallocCaches [nrKmallocTypes][]*KmemCache // kmalloc_caches[type][index]; index 0 unused
	large         map[uint64]*largeKmalloc     // large kmalloc blocks by head pfn
	debugFlags    SlabFlags                    // slab_debug= of the machine
	rng           uint64                       // splitmix64 state for s->random and freelist shuffles
	errors        int                          // slab errors as lib/slub_kunit.c counts them
	taint         uint32                       // kernel taint bits set by reports (TAINT_BAD_PAGE, TAINT_WARN)
	maxCacheSize  uint64                       // KMALLOC_MAX_CACHE_SIZE = 1 << (PAGE_SHIFT + 1)
	maxSize       uint64                       // KMALLOC_MAX_SIZE = PAGE_SIZE << MAX_PAGE_ORDER
	shiftHigh     uint                         // KMALLOC_SHIFT_HIGH = PAGE_SHIFT + 1
	nrCPUs        int                          // calculate_order()'s CPU count: num_present_cpus(), or nr_cpu_ids when that is 1; immutable
	slabPages     uint64                       // pages ever allocated for slabs (SlabPagesAllocated)
}

// largeKmalloc records one kmalloc above KMALLOC_MAX_CACHE_SIZE.
type largeKmalloc struct {
	size  uint64 // bytes requested
	order int    // get_order(size)
	since uint64 // Seq of its EvKmalloc
}

// random returns the next value of the machine's seeded generator
// (splitmix64), used for s->random and freelist shuffles.
func (ss *slubState) random() uint64 {
	ss.rng += 0x9e3779b97f4a7c15
	z := ss.rng
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// randomBelow is get_random_u32_below(n).
func (ss *slubState) randomBelow(n uint32) uint32 {
	hi, _ := bits.Mul64(ss.random(), uint64(n))
	return uint32(hi)
}

// initSlub sets up SLUB at boot: parses slab_debug= and creates the
// kmalloc caches in create_kmalloc_caches() order. No slab exists until
// the first allocation.
func (m *Machine) initSlub() error {
	ss := &m.slub
	flags, err := ParseSlabDebug(m.cfg.SlabDebug)
	if err != nil {
		return err
	}
	ss.debugFlags = flags
	ss.rng = m.cfg.Seed
	ss.byName = make(map[string]*KmemCache)
	ss.large = make(map[uint64]*largeKmalloc)
	// calculate_order() (mm/slub.c, 6.8+) does not trust a present count
	// of 1 (some architectures add present CPUs only as they come online)
	// and uses nr_cpu_ids then.
	ss.nrCPUs = m.cfg.CPUs
	if ss.nrCPUs <= 1 {
		ss.nrCPUs = m.cfg.PossibleCPUs
	}
	ss.shiftHigh = m.pageShift + 1
	ss.maxCacheSize = 1 << ss.shiftHigh
	ss.maxSize = m.pageSize << MaxPageOrder
	return m.createKmallocCaches()
}

// slabCacheName names the cache a slab belongs to, "" for nil.
func (m *Machine) slabCacheName(s *slab) string {
	if s == nil {
		return ""
	}
	return s.cache.name
}

// getOrder is get_order(): the smallest order with PAGE_SIZE << order >=
// size. 4 KiB pages: 4096 -> 0, 4097 -> 1, 16384 -> 2, 16385 -> 3.
func (m *Machine) getOrder(size uint64) int {
	if size <= m.pageSize {
		return 0
	}
	return bits.Len64((size - 1) >> m.pageShift)
}

// orderObjects is order_objects(): objects of size that fit a slab of order.
func (m *Machine) orderObjects(order int, size uint64) int {
	return int((m.pageSize << order) / size)
}

// calcSlabOrder is calc_slab_order(): the lowest order from minOrder to
// maxOrder whose leftover is at most 1/fract of the slab, or maxOrder+1.
// kmalloc-1k with 4 KiB pages and fract 16: order 2 leaves 16384 % 1024 = 0.
func (m *Machine) calcSlabOrder(size uint64, minOrder, maxOrder int, fract uint64) int {
	order := minOrder
	for ; order <= maxOrder; order++ {
		slabSize := m.pageSize << order
		if slabSize%size <= slabSize/fract {
			break
		}
	}
	return order
}

// calculateOrder is calculate_order() (6.8+): min_objects from the CPU
// count, then the lowest order that wastes at most 1/16, 1/8, 1/4, 1/2 of
// the slab, else one object per slab. It returns -1 (-ENOSYS) when even
// one object does not fit MAX_PAGE_ORDER.
func (m *Machine) calculateOrder(size uint64) int {
	nrCPUs := m.slub.nrCPUs
	minObjects := 4 * (bits.Len(uint(nrCPUs)) + 1) // 4 CPUs: fls(4) = 3, 16 objects
	maxObjects := max(m.orderObjects(slabMaxOrder, size), 1)
	minObjects = min(minObjects, maxObjects)
	minOrder := m.getOrder(uint64(minObjects) * size)
	if m.orderObjects(minOrder, size) > maxObjsPerPage {
		return m.getOrder(size*maxObjsPerPage) - 1
	}
	for fraction := uint64(16); fraction > 1; fraction /= 2 {
		if order := m.calcSlabOrder(size, minOrder, slabMaxOrder, fraction); order <= slabMaxOrder {
			return order
		}
	}
	if order := m.getOrder(size); order <= MaxPageOrder {
		return order
	}
	return -1
}

// calculateAlignment is calculate_alignment(): SLAB_HWCACHE_ALIGN halves
// the cache line while the object fits half of it (a 20-byte object gets
// 32), then at least ARCH_SLAB_MINALIGN, rounded to a word.
func calculateAlignment(flags SlabFlags, align, size uint64) uint64 {
	if flags&SlabHWCacheAlign != 0 {
		ralign := uint64(cacheLineSize)
		for size <= ralign/2 {
			ralign /= 2
		}
		align = max(align, ralign)
	}
	align = max(align, archSlabMinalign)
	return alignUp(align, wordSize)
}

// calculateSizes is calculate_sizes(): the object layout
//
//	[left red zone][object][right red zone][free pointer if outside][alloc track][free track][orig_size][padding]
//
// then the slab order and the objects per slab. kmalloc-64 without debug:
// size 64, free pointer at offset 32. With slab_debug=FZPU: inuse 72, free
// pointer at 72, tracks at 80..143, orig_size at 144, right pad word to 156,
// left red zone 64 (aligned to the cache's 64), size ALIGN(220, 64) = 256.
func (m *Machine) calculateSizes(s *KmemCache) bool {
	flags := s.flags
	size := alignUp(s.objectSize, wordSize)
	if flags&SlabPoison != 0 {
		s.flags |= slabObjectPoison
	} else {
		s.flags &^= slabObjectPoison
	}
	if flags&SlabRedZone != 0 && size == s.objectSize {
		size += wordSize
	}
	s.inuse = size
	if flags&SlabPoison != 0 || (flags&SlabRedZone != 0 && (s.objectSize < wordSize || s.debugOrigSize())) {
		s.offset = size
		size += wordSize
	} else {
		s.offset = (s.objectSize / 2) &^ (wordSize - 1)
	}
	if flags&SlabStoreUser != 0 {
		size += 2 * trackSize
		if flags&SlabKmalloc != 0 {
			size += origSizeSize
		}
	}
	s.redLeftPad = 0
	if flags&SlabRedZone != 0 {
		size += wordSize
		s.redLeftPad = alignUp(wordSize, s.align)
		size += s.redLeftPad
	}
	size = alignUp(size, s.align)
	s.size = size
	order := m.calculateOrder(size)
	if order < 0 {
		return false
	}
	s.allocGFP = GFPComp
	if s.flags&SlabCacheDMA != 0 {
		s.allocGFP |= GFPDMA
	}
	if s.flags&SlabReclaimAccount != 0 {
		s.allocGFP |= GFPReclaimable
	}
	s.order, s.objects = order, m.orderObjects(order, size)
	s.minOrder = m.getOrder(size)
	s.minObjects = m.orderObjects(s.minOrder, size)
	return s.objects > 0
}

// doKmemCacheCreate is do_kmem_cache_create(): layout, min_partial, the
// per-CPU partial budget, the hardening key and the shuffle sequence.
func (m *Machine) doKmemCacheCreate(s *KmemCache) error {
	ss := &m.slub
	if !m.calculateSizes(s) {
		return fmt.Errorf("%w: kmem_cache_create(%s): an object of %d bytes does not fit a slab of order %d or below",
			ErrBadSize, s.name, s.size, MaxPageOrder)
	}
	// min_partial = clamp(ilog2(size) / 2, MIN_PARTIAL, MAX_PARTIAL):
	// 64-byte objects give ilog2 = 6, 3, so 5; 4096 gives 6.
	s.reciprocal = reciprocalValue(uint32(s.size))
	s.minPartial = min(max((bits.Len64(s.size)-1)/2, minPartialSlabs), maxPartialSlabs)
	switch {
	case s.debug():
		s.cpuPartial = 0
	case s.size >= m.pageSize:
		s.cpuPartial = 6
	case s.size >= 1024:
		s.cpuPartial = 24
	case s.size >= 256:
		s.cpuPartial = 52
	default:
		s.cpuPartial = 120
	}
	// slub_set_cpu_partial(): assume half-full slabs.
	s.cpuPartialSlabs = (s.cpuPartial*2 + s.objects - 1) / s.objects
	if m.cfg.FreelistHardened {
		s.random = ss.random()
	}
	if m.cfg.FreelistRandom && s.objects >= 2 {
		// cache_random_seq_create(): Fisher-Yates over the object indexes.
		s.randomSeq = make([]uint32, s.objects)
		for i := range s.randomSeq {
			s.randomSeq[i] = uint32(i)
		}
		for i := uint32(s.objects - 1); i > 0; i-- {
			j := ss.randomBelow(i + 1)
			s.randomSeq[i], s.randomSeq[j] = s.randomSeq[j], s.randomSeq[i]
		}
	}
	s.cpus = make([]kmemCacheCPU, m.cfg.CPUs)
	return nil
}

// addCache links a created cache into the cache list and emits its
// EvCacheCreate.
func (m *Machine) addCache(s *KmemCache) {
	ss := &m.slub
	s.id = len(ss.caches)
	ss.caches = append(ss.caches, s)
	ss.byName[s.name] = s
	if m.tracing() {
		name, _ := m.cacheIDs(s)
		m.emit(record{kind: EvCacheCreate, s1: name, size: s.objectSize, bytes: s.size, order: int8(s.order),
			n: int32(s.objects), s2: m.str(m.geometryRule(s))})
	}
}

// geometryRule explains a cache's geometry in one sentence.
func (m *Machine) geometryRule(s *KmemCache) string {
	nrCPUs := m.slub.nrCPUs
	minObjects := 4 * (bits.Len(uint(nrCPUs)) + 1)
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d-byte objects in a %d-byte stride aligned to %d", s.name, s.objectSize, s.size, s.align)
	if s.flags&SlabKmalloc != 0 && s.align > kmallocMinalign {
		fmt.Fprintf(&b, " (the largest power-of-two divisor of %d)", s.objectSize)
	}
	if nrCPUs != m.cfg.CPUs {
		fmt.Fprintf(&b, "; 1 cpu present, so nr_cpu_ids")
	}
	fmt.Fprintf(&b, "; %d cpus give min_objects %d, so %d objects in order-%d slabs of %s (%d bytes left over); free pointer at offset %d",
		nrCPUs, minObjects, s.objects, s.order, FormatBytes(m.pageSize<<s.order),
		(m.pageSize<<s.order)-uint64(s.objects)*s.size, s.offset)
	if s.debug() {
		fmt.Fprintf(&b, "; debug %s", s.flags&SlabDebugFlags)
	}
	return b.String()
}

// KmemCacheCreate is kmem_cache_create(name, size, align, flags, NULL): a
// cache of size-byte objects aligned to at least align (0 for the
// default). The machine's slab_debug= applies unless flags has
// SlabNoUserFlags. allocviz never merges caches (slab_nomerge), and
// refuses a name that is already in use.
func (m *Machine) KmemCacheCreate(name string, size, align uint64, flags SlabFlags) (*KmemCache, error) {
	ss := &m.slub
	fail := func(err error) (*KmemCache, error) {
		m.warn(fmt.Sprintf("__kmem_cache_create_args(%s) failed with error -22", name))
		return nil, err
	}
	switch {
	case name == "":
		return fail(fmt.Errorf("%w: kmem_cache_create: the cache needs a name", ErrBadSize))
	case strings.ContainsAny(name, " \t\n"):
		return fail(fmt.Errorf("%w: kmem_cache_create(%q): a name with spaces confuses /proc/slabinfo parsers", ErrBadSize, name))
	case ss.byName[name] != nil:
		return fail(fmt.Errorf("%w: kmem_cache of name '%s' already exists", ErrBadSize, name))
	case size == 0 || size > ss.maxSize:
		return fail(fmt.Errorf("%w: kmem_cache_create(%s): size %d is outside 1..KMALLOC_MAX_SIZE (%d)", ErrBadSize, name, size, ss.maxSize))
	case align != 0 && !isPowerOfTwo(align):
		return fail(fmt.Errorf("%w: kmem_cache_create(%s): alignment %d is not a power of two", ErrBadSize, name, align))
	case align > m.pageSize<<MaxPageOrder:
		return fail(fmt.Errorf("%w: kmem_cache_create(%s): alignment %d is larger than the largest slab", ErrBadSize, name, align))
	}
	f := flags &^ slabObjectPoison
	if f&SlabNoUserFlags == 0 {
		f |= ss.debugFlags
	}
	s := &KmemCache{name: name, objectSize: size, flags: f, align: calculateAlignment(f, align, size)}
	if err := m.doKmemCacheCreate(s); err != nil {
		return fail(err)
	}
	m.addCache(s)
	return s, nil
}

// Cache returns the live cache with that name, or nil.
func (m *Machine) Cache(name string) *KmemCache { return m.slub.byName[name] }

// setList moves a slab to a list and records it with why.
func (m *Machine) setList(sl *slab, list SlabList, cpu int, why StrID) {
	sl.list, sl.cpu = list, cpu
	if m.tracing() {
		name, _ := m.cacheIDs(sl.cache)
		m.putWords(m.head(EvSlabList, 0, uint8(list), 0, uint32(sl.pfn), int32(cpu), name, why), 0, 0, 0)
	}
}

// addPartial is add_partial(): onto the node partial list at the head or
// the tail. The event records the end it joined and the slabs the list
// then holds.
func (m *Machine) addPartial(s *KmemCache, sl *slab, tail bool, why StrID) {
	s.partial.add(sl, tail)
	sl.list, sl.cpu = ListNodePartial, -1
	if m.tracing() {
		end := endHead
		if tail {
			end = endTail
		}
		name, _ := m.cacheIDs(s)
		m.emit(record{kind: EvSlabList, s1: name, pfn: uint32(sl.pfn), b: uint8(ListNodePartial), n: -1, s2: why,
			order: end, size: uint64(s.partial.n)})
	}
}

// removePartial is remove_partial(). The caller places the slab next and
// records that.
func (s *KmemCache) removePartial(sl *slab) {
	s.partial.remove(sl)
	sl.list = ListNone
}

// addFull is add_full(): SLAB_STORE_USER caches keep full slabs on a list
// so validation can find them; others leave full slabs on no list. Both
// are ListFull in events and snapshots.
func (m *Machine) addFull(s *KmemCache, sl *slab, why StrID) {
	if s.flags&SlabStoreUser != 0 {
		s.full.add(sl, false)
		sl.onFull = true
		m.setList(sl, ListFull, -1, m.cat(why, "; on the node full list (SLAB_STORE_USER)"))
		return
	}
	m.setList(sl, ListFull, -1, m.cat(why, "; full slabs are on no list"))
}

// removeFull is remove_full().
func (s *KmemCache) removeFull(sl *slab) {
	if sl.onFull {
		s.full.remove(sl)
		sl.onFull = false
	}
	sl.list = ListNone
}

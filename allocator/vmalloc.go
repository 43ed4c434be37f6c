package allocator

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"os"
	"slices"
	"sort"
	"strings"
)

// vmalloc (mm/vmalloc.c): virtually contiguous memory made of physically
// scattered pages.
//
// Data structures:
//
//	vmWindow      host address space reserved PROT_NONE at boot; kernel
//	              address VmallocStart+off is host address base+off
//	vmallocState  the free address ranges (the free vmap_area tree), the
//	              busy areas and the lazily freed ones (the purge list)
//	vmArea        one vm_struct with its vmap_area: start, size with the
//	              guard page, requested size, the pfns mapped, the caller
//
// Allocating (__vmalloc_node_range_noprof):
//
//  1. size 0 is a WARN_ON_ONCE and NULL; more pages than RAM is the
//     "exceeds total pages" warning and NULL.
//  2. Address space: the size rounded up to pages plus a guard page
//     (unless VM_NO_GUARD) is carved from the lowest free range that fits
//     at the alignment. If none fits, the lazily freed areas are purged
//     and the search repeated.
//  3. The pages[] array (one struct page pointer per page): kmalloc'ed
//     when it fits in a page, else itself vmalloc'ed (the area then shows
//     "vpages" in /proc/vmallocinfo).
//  4. Pages: order-0 pages from the buddy allocator, one at a time, so
//     that they are wherever the free lists put them.
//  5. Mapping: each run of consecutive pfns is mapped for real, MAP_FIXED
//     and MAP_SHARED from the RAM file, at its place in the window. The
//     guard page stays PROT_NONE, so touching it faults.
//
// Any failure after step 2 frees what was taken through vfree, as the
// kernel's error path does.
//
// Freeing (vfree):
//
//  1. NULL is a no-op; an address that is not page aligned or that no
//     busy area covers gets the kernel's warnings and nothing changes.
//  2. The area's range is unmapped (PROT_NONE again), it moves to the
//     lazy list, and its pages go back to the buddy allocator.
//  3. When the lazily freed address space exceeds lazy_max_pages() (on
//     the kernel a worker purges it; here at once) every lazy area's
//     range returns to the free ranges.

// VMFlags are the flags of a vm_struct (include/linux/vmalloc.h).
type VMFlags uint32

// VM flags. Only the ones the model sets are listed.
const (
	VMIoremap       VMFlags = 0x001 // ioremap() and friends
	VMAlloc         VMFlags = 0x002 // vmalloc()
	VMMap           VMFlags = 0x004 // vmap()ed pages
	VMUninitialized VMFlags = 0x020 // vm_struct is not fully initialized
	VMNoGuard       VMFlags = 0x040 // no guard page after the area
	VMAllowHugeVmap VMFlags = 0x400 // huge pages allowed (kvmalloc); x86 has no huge vmalloc, so ignored
)

var vmFlagNames = [...]struct {
	f    VMFlags
	name string
}{
	{VMIoremap, "VM_IOREMAP"}, {VMAlloc, "VM_ALLOC"}, {VMMap, "VM_MAP"},
	{VMUninitialized, "VM_UNINITIALIZED"}, {VMNoGuard, "VM_NO_GUARD"}, {VMAllowHugeVmap, "VM_ALLOW_HUGE_VMAP"},
}

func (f VMFlags) String() string {
	if f == 0 {
		return "0"
	}
	var parts []string
	rest := f
	for _, n := range vmFlagNames {
		if f&n.f != 0 {
			parts = append(parts, n.name)
			rest &^= n.f
		}
	}
	if rest != 0 {
		parts = append(parts, fmt.Sprintf("%#x", uint32(rest)))
	}
	return strings.Join(parts, "|")
}

// vmemmapBase is vmemmap_base without KASLR: struct page for pfn N lives
// at vmemmapBase + N*sizeofStructPage. The pages[] array of a vmap area
// holds these pointers.
const (
	vmemmapBase      = 0xffffea0000000000
	sizeofStructPage = 64
	sizeofPointer    = 8
)

// nestedGFPMask is GFP_RECLAIM_MASK (mm/internal.h): the flags a nested
// allocation (the pages[] array) inherits.
const nestedGFPMask = GFPReclaim | GFPHigh | GFPIO | GFPFS | GFPNoWarn | GFPRetryMayfail | GFPNoFail |
	GFPNoRetry | GFPMemalloc | GFPNoMemalloc

// vaRange is a free range of the window: byte offsets from VmallocStart,
// end exclusive.
type vaRange struct {
	start, end uint64 // bytes from VmallocStart
}

// vmallocState holds the vmalloc window and its areas. It belongs to the
// Machine's goroutine. The window is reserved by initVmalloc and released
// by closeVmalloc; between them free, busy and lazy always partition it:
// every byte is in exactly one free range, busy area or lazy area.
type vmallocState struct {
	win       vmWindow  // the reserved host range (vmalloc_unix.go)
	free      []vaRange // free address space, sorted by start, no two adjacent
	busy      []*vmArea // live areas, sorted by start
	lazy      []*vmArea // freed areas whose address space awaits the purge, sorted by start
	lazyPages uint64    // pages of address space on the lazy list, guard pages included (vmap_lazy_nr)
	lazyMax   uint64    // pages: lazy_max_pages() = fls(online cpus) * 32 MiB / PAGE_SIZE; immutable
	nodes     int       // nr_vmap_nodes = clamp(cpus, 1, 128); immutable
	totalRAM  uint64    // pages: totalram_pages(), the pages the buddy allocator manages; immutable
	warned0   bool      // WARN_ON_ONCE(!size) has fired
}

// vmArea is one vmap area: struct vm_struct together with its struct
// vmap_area. Transitions: busy (on vmallocState.busy, pages mapped) ->
// lazy (freed: unmapped, pages returned, range still taken) -> gone
// (purged: range free again).
type vmArea struct {
	start     Addr     // first byte, page aligned (vm->addr, va->va_start)
	size      uint64   // bytes of address space including the guard page (vm->size)
	usable    uint64   // bytes that can hold pages: size minus the guard page (get_vm_area_size)
	requested uint64   // bytes last asked for (vm->requested_size)
	flags     VMFlags  // VM_ALLOC and friends
	pfns      []uint64 // the page frames mapped, in address order (vm->pages); nil once freed
	pages     Addr     // the pages[] array: a kmalloc object when it fits in a page, else a vmalloc area ("vpages"); 0 until allocated
	caller    vmCaller // who asked: vm->caller, and the entry point called
	gfp       GFP      // flags of the allocation
	node      int      // vmap node whose lazy list takes the area when freed
	freed     bool     // on the lazy list
	runs      int      // runs of pfns mapped, counted in hostRuns; 0 while unmapped
}

// AreaInfo describes one live vmap area.
type AreaInfo struct {
	Start      Addr     // first byte
	Size       uint64   // bytes of address space including the guard page, as /proc/vmallocinfo prints it
	Requested  uint64   // bytes last requested (vm->requested_size)
	NrPages    int      // pages mapped
	PFNs       []uint64 // the page frames behind the area, in address order
	Flags      VMFlags  // VM_ALLOC and friends
	Caller     string   // vm->caller as /proc/vmallocinfo prints it (%pS shape: "lab_star+0x1a/0x5c" for line 26 of a 92-line lab.star)
	Func       string   // the entry point that made it: "vmalloc", "vrealloc", "kvmalloc", "kvrealloc", ...
	PagesArea  Addr     // the vmalloc'ed pages[] array ("vpages"), or 0
	PagesArray Addr     // the pages[] array wherever it is: a kmalloc object (direct map) or PagesArea
}

// Usable returns the bytes the area can hold: Size minus the guard page.
func (a AreaInfo) Usable(pageSize uint64) uint64 {
	if a.Flags&VMNoGuard != 0 {
		return a.Size
	}
	return a.Size - pageSize
}

// windowBytes sizes the reserved window: 4 x RAM holds every page of RAM
// in one-page areas with their guard pages (2 x RAM) with as much again
// for alignment holes, and lazy_max_pages() more holds the lazily freed
// areas the kernel lets pile up before it purges. The kernel's range is
// 32 TiB; a fit that fails here purges first, as the kernel does, so the
// smaller window only matters when live areas fill it.
func (m *Machine) windowBytes() uint64 {
	return 4*uint64(m.cfg.RAM) + m.vm.lazyMax*m.pageSize
}

func (m *Machine) initVmalloc() error {
	if host := uint64(os.Getpagesize()); m.pageSize%host != 0 {
		return fmt.Errorf("vmalloc: the host page size %d does not divide the simulated page size %d, so pages cannot be mapped one by one", host, m.pageSize)
	}
	v := &m.vm
	v.totalRAM = m.ramPages - m.reserved
	v.lazyMax = uint64(bits.Len(uint(m.cfg.CPUs))) * (32 * MiB / m.pageSize)
	v.nodes = min(max(m.cfg.CPUs, 1), 128)
	size := m.windowBytes()
	if err := v.win.reserve(size); err != nil {
		return err
	}
	v.free = []vaRange{{0, size}}
	return nil
}

func (m *Machine) closeVmalloc() error {
	v := &m.vm
	for _, a := range v.busy {
		giveRuns(a.runs)
	}
	v.free, v.busy, v.lazy = nil, nil, nil
	return v.win.release()
}

// IsVmallocAddr is is_vmalloc_addr(): VMALLOC_START <= a < VMALLOC_END.
func (m *Machine) IsVmallocAddr(a Addr) bool { return a >= VmallocStart && a < VmallocEnd }

// Vmalloc is __vmalloc(size, gfp): size bytes of virtually contiguous
// memory, rounded up to whole pages, each page taken separately from the
// buddy allocator and mapped at its place, followed by an unmapped guard
// page. It returns the area's address. Size 0 is a warning and an error
// matching ErrBadSize; too little memory is an error matching
// ErrNoMemory, with nothing taken.
func (m *Machine) Vmalloc(size uint64, gfp GFP) (Addr, error) {
	return m.vmallocNodeRange(size, 1, gfp, 0, callerVmalloc)
}

// vmallocNodeRange is __vmalloc_node_range_noprof over the whole vmalloc
// window: size bytes at align (a power of two; PAGE_SIZE at least in
// effect), vmFlags added to VM_ALLOC, caller recorded for
// /proc/vmallocinfo.
func (m *Machine) vmallocNodeRange(size, align uint64, gfp GFP, vmFlags VMFlags, caller vmCaller) (Addr, error) {
	v := &m.vm
	if size == 0 {
		if !v.warned0 {
			v.warned0 = true
			m.warn("WARNING: mm/vmalloc.c: __vmalloc_node_range_noprof: WARN_ON_ONCE(!size)")
		}
		return 0, fmt.Errorf("%w: vmalloc of 0 bytes returns NULL", ErrBadSize)
	}
	if !isPowerOfTwo(align) {
		return 0, fmt.Errorf("%w: vmalloc alignment %d is not a power of two", ErrBadSize, align)
	}
	if size>>m.pageShift > v.totalRAM {
		text := fmt.Sprintf("vmalloc error: size %d, exceeds total pages", size)
		m.warnAlloc(gfp, text)
		return 0, fmt.Errorf("%w: %s (%d pages)", ErrNoMemory, text, v.totalRAM)
	}
	a, err := m.getVMArea(size, align, vmFlags|VMAlloc|VMUninitialized, gfp, caller)
	if err != nil {
		return 0, err
	}
	if err := m.vmallocAreaNode(a, gfp); err != nil {
		return 0, err
	}
	a.flags &^= VMUninitialized
	if m.tracing() {
		m.log.vmaps.Push(vmapRec{pfns: uint32(m.log.pfnList(a.pfns)), caller: m.str(a.caller.ret), fn: m.str(a.caller.fn), flags: m.str(m.vmFlagWords(a)),
			array: a.pages})
		m.emit(record{kind: EvVmapAlloc, addr: a.start, bytes: a.size, size: a.requested, n: int32(len(a.pfns)), gfp: gfp,
			s1: StrID(m.log.vmaps.Len())})
	}
	return a.start, nil
}

// vmWarnf records a kernel warning, formatted only when events are
// being recorded.
func (m *Machine) vmWarnf(format string, args ...any) {
	if m.tracing() {
		m.warn(fmt.Sprintf(format, args...))
	}
}

// warnAlloc is warn_alloc(): the allocation-failure report, unless the
// caller asked for __GFP_NOWARN.
func (m *Machine) warnAlloc(gfp GFP, text string) {
	if gfp.NoWarn() || !m.tracing() {
		return
	}
	m.warn(fmt.Sprintf("allocviz: %s, mode:%#x(%v), nodemask=(null)", text, uint32(gfp), gfp))
}

// getVMArea is __get_vm_area_node plus alloc_vmap_area: it takes address
// space for size bytes and the guard page and records a busy area with no
// pages yet.
func (m *Machine) getVMArea(size, align uint64, flags VMFlags, gfp GFP, caller vmCaller) (*vmArea, error) {
	v := &m.vm
	usable := alignUp(size, m.pageSize)
	total := usable
	if flags&VMNoGuard == 0 {
		total += m.pageSize
	}
	align = max(align, m.pageSize)
	off, ok := v.allocVA(total, align)
	if !ok && len(v.lazy) > 0 {
		m.purgeLazy(fmt.Sprintf("no free range holds %s at alignment %s, so the lazily freed areas are purged first", FormatBytes(total), FormatBytes(align)))
		off, ok = v.allocVA(total, align)
	}
	if !ok {
		if !gfp.NoWarn() {
			m.vmWarnf("vmalloc_node_range for size %d failed: Address range restricted to %#x - %#x",
				total, uint64(VmallocStart), uint64(VmallocStart)+v.win.size)
		}
		text := fmt.Sprintf("vmalloc error: size %d, vm_struct allocation failed", size)
		m.warnAlloc(gfp, text)
		return nil, fmt.Errorf("%w: %s: no %s of free vmalloc space at alignment %s", ErrNoMemory, text, FormatBytes(total), FormatBytes(align))
	}
	a := &vmArea{start: VmallocStart + Addr(off), size: total, usable: usable, requested: size, flags: flags,
		caller: m.resolve(caller), gfp: gfp, node: m.cpu % v.nodes}
	v.busy = insertArea(v.busy, a)
	return a, nil
}

// vmallocAreaNode is __vmalloc_area_node: the pages[] array, the pages,
// and the mapping. On failure everything taken is given back through
// vfree and the area's range goes to the lazy list, as in the kernel.
func (m *Machine) vmallocAreaNode(a *vmArea, gfp GFP) error {
	nr := a.usable >> m.pageShift
	arraySize := nr * sizeofPointer
	pageGFP := gfp | GFPNoWarn
	if gfp&(GFPDMA|GFPDMA32) == 0 {
		gfp |= GFPHighmem
		pageGFP |= GFPHighmem
	}
	// The array is kmalloc'ed when it fits in a page, else vmalloc'ed
	// (the recursion ends: a page of pointers maps 512 pages).
	nested := gfp&nestedGFPMask | GFPZero
	var pa Addr
	var err error
	if arraySize > m.pageSize {
		pa, err = m.vmallocNodeRange(arraySize, 1, nested, 0, a.caller)
	} else {
		pa, err = m.Kmalloc(arraySize, nested)
	}
	if err != nil {
		text := fmt.Sprintf("vmalloc error: size %d, failed to allocated page array size %d", nr*m.pageSize, arraySize)
		m.warnAlloc(gfp, text)
		m.removeArea(a, "the pages[] array could not be allocated")
		m.purgeIfOverLazyMax()
		return fmt.Errorf("%w: %s: %v", ErrNoMemory, text, err)
	}
	a.pages = pa
	a.pfns = make([]uint64, 0, nr)
	for uint64(len(a.pfns)) < nr {
		pfn, err := m.allocPages(0, pageGFP, OwnerVmalloc)
		if err != nil {
			text := fmt.Sprintf("vmalloc error: size %d, failed to allocate pages", uint64(len(a.pfns))*m.pageSize)
			m.warnAlloc(gfp, text)
			m.removeArea(a, fmt.Sprintf("only %d of %d pages could be had", len(a.pfns), nr))
			m.purgeIfOverLazyMax()
			return fmt.Errorf("%w: %s (%d of %d pages): %v", ErrNoMemory, text, len(a.pfns), nr, err)
		}
		m.pages[pfn].area = a
		a.pfns = append(a.pfns, pfn)
	}
	if err := m.mapArea(a); err != nil {
		text := fmt.Sprintf("vmalloc error: size %d, failed to map pages", nr*m.pageSize)
		m.warnAlloc(gfp, text)
		m.vmWarnf("allocviz: %v", err)
		m.removeArea(a, "its pages could not be mapped")
		m.purgeIfOverLazyMax()
		return fmt.Errorf("%w: %s: %v", ErrNoMemory, text, err)
	}
	arr, err := m.Span(a.pages, arraySize)
	if err != nil {
		throw("vmallocAreaNode", fmt.Sprintf("the pages[] array at %v: %v", a.pages, err))
	}
	for i, pfn := range a.pfns {
		binary.LittleEndian.PutUint64(arr[i*sizeofPointer:], vmemmapBase+pfn*sizeofStructPage)
	}
	return nil
}

// mapArea maps the area's pages at their places in the window: one
// MAP_FIXED, MAP_SHARED mapping of the RAM file per run of consecutive
// pfns, if the host's limit on mappings leaves room for them (takeRuns).
func (m *Machine) mapArea(a *vmArea) error {
	runs := pfnRuns(a.pfns)
	if err := takeRuns(len(runs)); err != nil {
		return err
	}
	a.runs = len(runs)
	off := m.winOff(a.start)
	for _, r := range runs {
		at := off + uint64(r.index)<<m.pageShift
		if err := m.vm.win.mapFile(at, m.mem.fd, r.pfn<<m.pageShift, r.n<<m.pageShift); err != nil {
			return fmt.Errorf("map pfns %#x-%#x at %v: %w", r.pfn, r.pfn+r.n-1, VmallocStart+Addr(at), err)
		}
	}
	return nil
}

// pfnRun is a run of consecutive page frames mapped consecutively.
type pfnRun struct {
	index int    // position of the first page in the area
	pfn   uint64 // first page frame
	n     uint64 // pages
}

func pfnRuns(pfns []uint64) []pfnRun {
	var runs []pfnRun
	for i, pfn := range pfns {
		if k := len(runs) - 1; k >= 0 && runs[k].pfn+runs[k].n == pfn {
			runs[k].n++
			continue
		}
		runs = append(runs, pfnRun{index: i, pfn: pfn, n: 1})
	}
	return runs
}

// vpages reports whether the area's pages[] array is itself vmalloc'ed.
func (a *vmArea) vpages() bool { return a.pages >= VmallocStart && a.pages < VmallocEnd }

// winOff is the window offset of a vmalloc address.
func (m *Machine) winOff(a Addr) uint64 { return uint64(a - VmallocStart) }

// Vfree is vfree(p): it unmaps the area at p, returns its pages to the
// buddy allocator and puts its address range on the lazy list. NULL is a
// no-op. An address no live area covers gets the kernel's warning, is
// returned as an error (ErrDoubleFree if the area was already freed,
// ErrInvalidFree otherwise), and nothing changes.
func (m *Machine) Vfree(p Addr) error {
	if p == 0 {
		return nil
	}
	if err := m.vfree(p); err != nil {
		return err
	}
	m.purgeIfOverLazyMax()
	return nil
}

// vfree is Vfree without the lazy purge check, for callers that free
// more than one area in a step.
func (m *Machine) vfree(p Addr) error {
	v := &m.vm
	if uint64(p)&(m.pageSize-1) != 0 {
		m.vmWarnf("Trying to vfree() bad address (%016x)", uint64(p))
		m.vmWarnf("Trying to vfree() nonexistent vm area (%016x)", uint64(p))
		return fmt.Errorf("%w: vfree(%v): not page aligned, so it cannot be the start of a vmap area; nothing freed", ErrInvalidFree, p)
	}
	i, ok := findArea(v.busy, p)
	if !ok {
		m.vmWarnf("Trying to vfree() nonexistent vm area (%016x)", uint64(p))
		if j, lazy := findArea(v.lazy, p); lazy {
			return fmt.Errorf("%w: vfree(%v): the area at %v was already freed; nothing freed", ErrDoubleFree, p, v.lazy[j].start)
		}
		return fmt.Errorf("%w: vfree(%v): no vmap area covers it; nothing freed", ErrInvalidFree, p)
	}
	a := v.busy[i]
	if a.start != p {
		m.Misuse(p, fmt.Sprintf("vfree(%v) points %d bytes into the area at %v; the kernel looks areas up by containment, so the whole area is freed", p, uint64(p-a.start), a.start))
	}
	m.removeArea(a, "")
	return nil
}

// removeArea is remove_vm_area plus the rest of vfree: unmap the range,
// move the area to the lazy list, free its pages, then kvfree the pages[]
// array. why, when set, says why an allocation is being undone.
func (m *Machine) removeArea(a *vmArea, why string) {
	v := &m.vm
	if len(a.pfns) > 0 {
		if err := v.win.unmap(m.winOff(a.start), a.usable); err != nil {
			// The pages stay visible at the old address until the range is
			// reused; memory safety is unaffected (it is still the RAM file).
			m.vmWarnf("allocviz: could not unmap %v-%v: %v", a.start, a.start+Addr(a.usable), err)
		}
	}
	giveRuns(a.runs)
	a.runs = 0
	i, ok := findArea(v.busy, a.start)
	if !ok || v.busy[i] != a {
		throw("removeArea", fmt.Sprintf("area %v is not busy", a.start))
	}
	v.busy = slices.Delete(v.busy, i, i+1)
	a.freed = true
	v.lazy = insertArea(v.lazy, a)
	v.lazyPages += a.size >> m.pageShift
	pfns := a.pfns
	a.pfns = nil
	if m.tracing() {
		m.emit(record{kind: EvVmapFree, addr: a.start, bytes: a.size, size: a.requested, n: int32(len(pfns)),
			s1: m.log.pfnList(pfns), s2: m.str(m.freeRule(a, len(pfns), why))})
	}
	for _, pfn := range pfns {
		m.pages[pfn].area = nil
		m.freePages(pfn, 0)
	}
	// kvfree(vm->pages): by address, as the kernel does.
	var err error
	switch {
	case a.pages == 0:
	case a.vpages():
		err = m.vfree(a.pages)
	default:
		err = m.Kfree(a.pages)
	}
	if err != nil {
		m.vmWarnf("allocviz: freeing the pages[] array of %v: %v", a.start, err)
	}
	a.pages = 0
}

// purgeIfOverLazyMax purges when the lazily freed address space exceeds
// lazy_max_pages(), as free_vmap_area_noflush schedules the purge worker.
func (m *Machine) purgeIfOverLazyMax() {
	v := &m.vm
	if v.lazyPages > v.lazyMax {
		m.purgeLazy(fmt.Sprintf("%d lazily freed pages of address space exceed lazy_max_pages() = fls(%d cpus) x 32 MiB = %d pages",
			v.lazyPages, m.cfg.CPUs, v.lazyMax))
	}
}

// purgeLazy is __purge_vmap_area_lazy: every lazily freed area's range
// returns to the free ranges.
func (m *Machine) purgeLazy(why string) {
	v := &m.vm
	n, pages := len(v.lazy), v.lazyPages
	for _, a := range v.lazy {
		off := m.winOff(a.start)
		v.freeVA(off, off+a.size)
	}
	clear(v.lazy)
	v.lazy = v.lazy[:0]
	v.lazyPages = 0
	if m.tracing() {
		m.emit(record{kind: EvVmapPurge, n: int32(n), bytes: pages << m.pageShift,
			s1: m.strf("lazy purge of %d areas (%s of address space): %s", n, FormatBytes(pages<<m.pageShift), why)})
	}
}

// allocVA takes size bytes at the lowest offset aligned to align that a
// free range holds, as alloc_vmap_area's lowest-address-first search of
// the free tree does.
func (v *vmallocState) allocVA(size, align uint64) (uint64, bool) {
	for i, r := range v.free {
		s := alignUp(r.start, align)
		if s < r.start || s > r.end || r.end-s < size {
			continue
		}
		var rest []vaRange
		if s > r.start {
			rest = append(rest, vaRange{r.start, s})
		}
		if s+size < r.end {
			rest = append(rest, vaRange{s + size, r.end})
		}
		v.free = slices.Replace(v.free, i, i+1, rest...)
		return s, true
	}
	return 0, false
}

// freeVA returns [start, end) to the free ranges, merging with the
// neighbours it touches.
func (v *vmallocState) freeVA(start, end uint64) {
	i := sort.Search(len(v.free), func(i int) bool { return v.free[i].start >= end })
	if i > 0 && v.free[i-1].end > start {
		throw("freeVA", fmt.Sprintf("range %#x-%#x overlaps free range %#x-%#x", start, end, v.free[i-1].start, v.free[i-1].end))
	}
	mergePrev := i > 0 && v.free[i-1].end == start
	mergeNext := i < len(v.free) && v.free[i].start == end
	switch {
	case mergePrev && mergeNext:
		v.free[i-1].end = v.free[i].end
		v.free = slices.Delete(v.free, i, i+1)
	case mergePrev:
		v.free[i-1].end = end
	case mergeNext:
		v.free[i].start = start
	default:
		v.free = slices.Insert(v.free, i, vaRange{start, end})
	}
}

// findArea returns the index of the area in list (sorted by start) whose
// address space, guard page included, holds a.
func findArea(list []*vmArea, a Addr) (int, bool) {
	i := sort.Search(len(list), func(i int) bool { return list[i].start+Addr(list[i].size) > a })
	return i, i < len(list) && list[i].start <= a
}

// insertArea adds a to list, keeping it sorted by start.
func insertArea(list []*vmArea, a *vmArea) []*vmArea {
	i := sort.Search(len(list), func(i int) bool { return list[i].start > a.start })
	return slices.Insert(list, i, a)
}

func alignUp(x, align uint64) uint64 { return (x + align - 1) &^ (align - 1) }

// Areas returns the live vmap areas in address order.
func (m *Machine) Areas() []AreaInfo {
	out := make([]AreaInfo, len(m.vm.busy))
	for i, a := range m.vm.busy {
		out[i] = a.info()
	}
	return out
}

// AreaOf returns the live area whose address space (guard page included)
// holds a.
func (m *Machine) AreaOf(a Addr) (AreaInfo, bool) {
	i, ok := findArea(m.vm.busy, a)
	if !ok {
		return AreaInfo{}, false
	}
	return m.vm.busy[i].info(), true
}

func (a *vmArea) info() AreaInfo {
	info := AreaInfo{Start: a.start, Size: a.size, Requested: a.requested, NrPages: len(a.pfns),
		PFNs: slices.Clone(a.pfns), Flags: a.flags, Caller: a.caller.ret, Func: a.caller.fn, PagesArray: a.pages}
	if a.vpages() {
		info.PagesArea = a.pages
	}
	return info
}

// vmallocSpan returns the host memory behind [addr, addr+n) in the vmalloc
// window. Parts not mapped (guard pages, free space) fault when touched.
func (m *Machine) vmallocSpan(addr Addr, n int) ([]byte, error) {
	off := m.winOff(addr)
	size := m.vm.win.size
	if n < 0 || off > size || uint64(n) > size-off {
		return nil, fmt.Errorf("%w: %v + %d is beyond the %s of vmalloc space this machine models", ErrBadAddress, addr, n, FormatBytes(size))
	}
	return m.vm.win.mem[off : off+uint64(n) : off+uint64(n)], nil
}

// faulted reports a real memory fault during an access of n bytes at
// addr: it translates the host address that faulted back to a kernel
// address, says what is there (a guard page, a freed area, nothing),
// records the kernel's page-fault line and an EvGuardHit, and returns an
// error matching ErrFault.
func (m *Machine) faulted(addr Addr, n int, f *faultError) error {
	off, ok := m.vm.win.offsetOf(f.hostAddr)
	if !ok {
		return fmt.Errorf("%w: an access of %d bytes at %v faulted at host address %#x, outside the vmalloc window", ErrFault, n, addr, f.hostAddr)
	}
	at := VmallocStart + Addr(off)
	text := m.describeFault(at)
	if m.tracing() {
		m.warn(fmt.Sprintf("BUG: unable to handle page fault for address: %016x", uint64(at)))
		m.emit(record{kind: EvGuardHit, addr: at, s1: m.str(text)})
	}
	return fmt.Errorf("%w: %s (an access of %d bytes at %v)", ErrFault, text, n, addr)
}

// describeFault says what lies at a vmalloc address that faulted.
func (m *Machine) describeFault(at Addr) string {
	v := &m.vm
	if i, ok := findArea(v.busy, at); ok {
		a := v.busy[i]
		end := a.start + Addr(a.usable)
		if at < end {
			return fmt.Sprintf("fault at %v inside the mapped area at %v", at, a.start)
		}
		past := uint64(at-end) + 1
		unit := plural(past, "byte")
		req := ""
		if a.requested != a.usable {
			req = fmt.Sprintf(" (%d bytes requested)", a.requested)
		}
		return fmt.Sprintf("guard page hit at %v: %d %s past the end of a %d-byte area at %v%s", at, past, unit, a.usable, a.start, req)
	}
	if i, ok := findArea(v.lazy, at); ok {
		a := v.lazy[i]
		if off := uint64(at - a.start); off >= a.usable {
			return fmt.Sprintf("guard page hit at %v: %d %s past the end of the %d-byte area at %v, which was freed and awaits the lazy purge",
				at, off-a.usable+1, plural(off-a.usable+1, "byte"), a.usable, a.start)
		}
		return fmt.Sprintf("use after vfree at %v: %d %s into the %d-byte area at %v, which was freed and unmapped (its address range awaits the lazy purge)",
			at, uint64(at-a.start), plural(uint64(at-a.start), "byte"), a.usable, a.start)
	}
	return fmt.Sprintf("unmapped vmalloc address %v: no vmap area covers it", at)
}

// vmFlagWords are the flag words /proc/vmallocinfo prints for an area.
func (m *Machine) vmFlagWords(a *vmArea) string {
	var w []string
	if a.flags&VMIoremap != 0 {
		w = append(w, "ioremap")
	}
	if a.flags&VMAlloc != 0 {
		w = append(w, "vmalloc")
	}
	if a.flags&VMMap != 0 {
		w = append(w, "vmap")
	}
	if a.vpages() {
		w = append(w, "vpages")
	}
	return strings.Join(w, " ")
}

// vmapAllocText is an EvVmapAlloc's sentence: where the new area's pages
// and addresses came from, built from its fields. Every area vmalloc
// makes has a guard page (no allocviz caller passes VM_NO_GUARD), so its
// Bytes are its Pages and one page more.
func vmapAllocText(e Event, b []byte) []byte {
	pfns := e.PFNs()
	if len(pfns) == 0 {
		return vmapAllocDescription(e, b)
	}
	usable := Addr(e.Bytes() / uint64(len(pfns)+1) * uint64(len(pfns)))
	b = fmt.Appendf(b, "vmalloc(%d): %s, each taken on its own from the buddy allocator, mapped at %v-%v, the lowest free range; guard page at %v",
		e.Size(), describePFNs(pfns), e.Addr(), e.Addr()+usable, e.Addr()+usable)
	switch arr := len(pfns) * sizeofPointer; {
	case e.Array() == 0:
	case strings.Contains(e.Path(), "vpages"):
		b = fmt.Appendf(b, "; its pages[] array of %d bytes is larger than a page, so it was vmalloc'ed at %v", arr, e.Array())
	default:
		b = fmt.Appendf(b, "; its pages[] array of %d bytes fits in a page, so it was kmalloc'ed at %v", arr, e.Array())
	}
	return b
}

// describePFNs says how scattered a set of pages is.
func describePFNs(pfns []uint64) string {
	runs := pfnRuns(pfns)
	if len(pfns) == 1 {
		return fmt.Sprintf("1 page (pfn %#x)", pfns[0])
	}
	if len(runs) == 1 {
		return fmt.Sprintf("%d pages that happen to be physically contiguous (pfns %#x-%#x)", len(pfns), runs[0].pfn, runs[0].pfn+runs[0].n-1)
	}
	const show = 4
	parts := make([]string, 0, show)
	for _, r := range runs[:min(len(runs), show)] {
		if r.n == 1 {
			parts = append(parts, fmt.Sprintf("%#x", r.pfn))
		} else {
			parts = append(parts, fmt.Sprintf("%#x-%#x", r.pfn, r.pfn+r.n-1))
		}
	}
	more := ""
	if len(runs) > show {
		more = fmt.Sprintf(" and %d more runs", len(runs)-show)
	}
	return fmt.Sprintf("%d scattered pages in %d runs (pfns %s%s)", len(pfns), len(runs), strings.Join(parts, ", "), more)
}

// freeRule explains what freeing an area did.
func (m *Machine) freeRule(a *vmArea, pages int, why string) string {
	if why != "" {
		return fmt.Sprintf("vmalloc of %d bytes failed: %s; the %d %s taken were freed and the range %v-%v awaits the lazy purge",
			a.requested, why, pages, plural(uint64(pages), "page"), a.start, a.start+Addr(a.size))
	}
	return fmt.Sprintf("vfree: %v-%v unmapped and its %d %s returned to the buddy allocator; the %s of address space waits for the lazy purge (%d of %d pages now lazy)",
		a.start, a.start+Addr(a.usable), pages, plural(uint64(pages), "page"), FormatBytes(a.size), m.vm.lazyPages, m.vm.lazyMax)
}

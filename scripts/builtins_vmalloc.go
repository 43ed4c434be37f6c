package scripts

import (
	"fmt"

	"github.com/allocviz/allocviz/allocator"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

// vmallocGroup is vmalloc: vmalloc, vfree, vrealloc, and the look-only
// vmallocinfo, is_vmalloc_addr and pfn_to_kaddr.
func vmallocGroup() Group {
	return Group{
		Name: "vmalloc",
		Builtins: []Builtin{
			{Name: "vmalloc", Step: true, Fn: builtinVmalloc,
				Doc: "vmalloc(size, flags=GFP_KERNEL): size bytes, virtually contiguous, of order-0 pages mapped one by one and followed by a guard page; None (NULL) on failure"},
			{Name: "vfree", Step: true, Fn: builtinVfree,
				Doc: "vfree(p): free a vmalloc area; True if freed, False if the free was reported and refused (not a vmalloc area, or freed already)"},
			{Name: "vrealloc", Step: true, Fn: builtinVrealloc,
				Doc: "vrealloc(p, size, flags=GFP_KERNEL): resize in place or move, by the profile's rules; the new pointer, or None for size 0 and on failure (p is then still live)"},
			{Name: "vmallocinfo", Fn: builtinVmallocinfo,
				Doc: "vmallocinfo(): /proc/vmallocinfo as a string, one line per vmap area"},
			{Name: "is_vmalloc_addr", Fn: builtinIsVmallocAddr,
				Doc: "is_vmalloc_addr(p): whether the pointer or address lies between VMALLOC_START and VMALLOC_END"},
			{Name: "pfn_to_kaddr", Fn: builtinPfnToKaddr,
				Doc: "pfn_to_kaddr(pfn): a pointer to page frame pfn through the direct map, one page long, to look at a page whoever owns it"},
		},
		Constants: starlark.StringDict{
			"VMALLOC_START": starlark.MakeUint64(uint64(allocator.VmallocStart)),
			"VMALLOC_END":   starlark.MakeUint64(uint64(allocator.VmallocEnd)),
		},
	}
}

// VmArea is what a vmalloc Pointer knows of its vmap area, as the
// allocator reported it when the pointer was handed out or last
// reallocated in place. Scripts see it as p.area.
type VmArea struct {
	Start  allocator.Addr // first byte
	Usable uint64         // bytes mapped: the requested size rounded up to whole pages
	Size   uint64         // bytes of address space, guard page included, as /proc/vmallocinfo prints it
	Guard  allocator.Addr // first byte of the guard page; 0 when the area has none (VM_NO_GUARD)
	PFNs   []uint64       // the page frames behind the area, in address order
}

// vmArea looks up the live area starting at addr.
func vmArea(m *allocator.Machine, addr allocator.Addr) (*VmArea, bool) {
	info, ok := m.AreaOf(addr)
	if !ok || info.Start != addr {
		return nil, false
	}
	a := &VmArea{Start: info.Start, Usable: info.Usable(m.PageSize()), Size: info.Size, PFNs: info.PFNs}
	if info.Flags&allocator.VMNoGuard == 0 {
		a.Guard = info.Start + allocator.Addr(a.Usable)
	}
	return a, true
}

// value is the area as a Starlark struct: start, end (the first byte past
// the mapped pages), usable, size, guard (None without a guard page),
// nr_pages and pfns.
func (a *VmArea) value() starlark.Value {
	pfns := make([]starlark.Value, len(a.PFNs))
	for i, pfn := range a.PFNs {
		pfns[i] = starlark.MakeUint64(pfn)
	}
	var guard starlark.Value = starlark.None
	if a.Guard != 0 {
		guard = starlark.MakeUint64(uint64(a.Guard))
	}
	return starlarkstruct.FromStringDict(starlark.String("vmap_area"), starlark.StringDict{
		"start":    starlark.MakeUint64(uint64(a.Start)),
		"end":      starlark.MakeUint64(uint64(a.Start) + a.Usable),
		"usable":   starlark.MakeUint64(a.Usable),
		"size":     starlark.MakeUint64(a.Size),
		"guard":    guard,
		"nr_pages": starlark.MakeInt(len(a.PFNs)),
		"pfns":     starlark.NewList(pfns),
	})
}

// vmallocPointer makes the Pointer for a new vmalloc area of size bytes.
func vmallocPointer(c *Call, addr allocator.Addr, size uint64, gfp allocator.GFP) (*Pointer, error) {
	area, ok := vmArea(c.Machine(), addr)
	if !ok {
		return nil, fmt.Errorf("internal error: %s returned %v, where no vmap area starts", c.Name, addr)
	}
	return &Pointer{Addr: addr, Size: size, Owner: allocator.OwnerVmalloc.String(), Order: -1, PFN: -1,
		GFP: gfp, Step: c.Step(), Area: area}, nil
}

// sizeArg unpacks a size_t: a negative int becomes the huge unsigned
// value C would pass, which the allocator then refuses as it would.
type sizeArg struct{ v uint64 }

// Unpack implements starlark.Unpacker.
func (a *sizeArg) Unpack(v starlark.Value) error {
	var n int64
	if err := starlark.AsInt(v, &n); err != nil {
		var u uint64
		if err2 := starlark.AsInt(v, &u); err2 != nil {
			return fmt.Errorf("got %s, want int (bytes)", v.Type())
		}
		a.v = u
		return nil
	}
	a.v = uint64(n)
	return nil
}

// unpackAlloc unpacks size and flags=GFP_KERNEL, the arguments of
// kmalloc, vmalloc and kvmalloc, and sets the op shown for the step.
func unpackAlloc(c *Call) (size uint64, gfp allocator.GFP, err error) {
	var s sizeArg
	flags := gfpArg{allocator.GFPKernel}
	if err := c.Unpack("size", &s, "flags?", &flags); err != nil {
		return 0, 0, err
	}
	c.SetOp(fmt.Sprintf("%s(%d, %v)", c.Name, s.v, flags.v))
	return s.v, flags.v, nil
}

func builtinVmalloc(c *Call) (starlark.Value, error) {
	size, gfp, err := unpackAlloc(c)
	if err != nil {
		return nil, err
	}
	addr, err := c.Machine().Vmalloc(size, gfp)
	if err != nil {
		// The allocator recorded why (vmalloc(0), more than RAM, no pages).
		return allocFailed(c, err)
	}
	return vmallocPointer(c, addr, size, gfp)
}

// reallocArgs are the arguments of krealloc, vrealloc and kvrealloc.
type reallocArgs struct {
	p     *Pointer       // the pointer to resize; nil for None (NULL)
	old   allocator.Addr // p's address; 0 for NULL
	size  uint64         // the new size, bytes
	gfp   allocator.GFP  // flags, GFP_KERNEL by default
	stale bool           // p was freed and its memory handed out again: reported, and the call is not made
}

// unpackRealloc unpacks p, size and flags=GFP_KERNEL, sets the op shown
// for the step, and checks p with stale.
func unpackRealloc(c *Call, stale staleCheck) (reallocArgs, error) {
	var pa ptrArg
	var size sizeArg
	flags := gfpArg{allocator.GFPKernel}
	if err := c.Unpack("p", &pa, "size", &size, "flags?", &flags); err != nil {
		return reallocArgs{}, err
	}
	c.SetOp(fmt.Sprintf("%s(%v, %d, %v)", c.Name, pa.v, size.v, flags.v))
	p := pa.p
	a := reallocArgs{p: p, size: size.v, gfp: flags.v}
	if p != nil {
		a.old = p.Addr
		a.stale = stale(c, p, "reallocated")
	}
	return a, nil
}

// freeOld marks p freed in this step, after a realloc that freed or
// moved it; NULL has nothing to mark.
func (a reallocArgs) freeOld(c *Call) {
	if a.p != nil {
		a.p.MarkFreed(c.Step())
	}
}

// staleCheck reports a freed p whose memory a newer allocation now holds,
// where the call (verb: "freed", "reallocated") would act on someone
// else's memory: staleObject, staleReused or kvStale.
type staleCheck func(c *Call, p *Pointer, verb string) bool

// freePointer is the body of vfree and kvfree: it unpacks p, a Pointer,
// None or a plain address (None and 0 free nothing), sets the op,
// refuses a p that stale reports (freed, and its memory handed out
// again), and frees p's address with free, which reports what it refuses
// (ZERO_SIZE_PTR, an address no allocation starts at) as the kernel does.
func freePointer(c *Call, stale staleCheck, free func(m *allocator.Machine, p allocator.Addr) error) (starlark.Value, error) {
	var o objectArg
	if err := c.Unpack("p", &o); err != nil {
		return nil, err
	}
	c.SetOp(fmt.Sprintf("%s(%v)", c.Name, o.v))
	if o.null() {
		return starlark.None, nil
	}
	if o.ptr != nil && stale(c, o.ptr, "freed") {
		return starlark.False, nil
	}
	return freeResult(c, o.ptr, free(c.Machine(), o.addr))
}

// staleReused reports a stale pointer whose address a newer vmap area
// now covers: acting on it would act on someone else's area, so the
// call is reported and not made.
func staleReused(c *Call, p *Pointer, verb string) bool {
	if p.Live() {
		return false
	}
	m := c.Machine()
	info, ok := m.AreaOf(p.Addr)
	if !ok {
		return false
	}
	m.Misuse(p.Addr, fmt.Sprintf("%s: %v was freed in step %d and its address now belongs to a newer vmap area at %v (%d bytes); not %s",
		c.Name, p.Addr, p.FreedStep(), info.Start, info.Size, verb))
	return true
}

// builtinVfree frees a vmalloc area. vfree(None) does nothing, as
// vfree(NULL) does. A free the allocator refuses (a pointer that is no
// vmalloc area, a double vfree) is reported by it as the kernel's warning
// and returns False.
func builtinVfree(c *Call) (starlark.Value, error) {
	return freePointer(c, staleReused, (*allocator.Machine).Vfree)
}

// builtinVrealloc is vrealloc. In place it returns p itself with its
// size updated; after a move it marks p freed and returns a new Pointer.
// Size 0 frees p and returns None. A failure returns None with p still
// live, and the allocator records why.
func builtinVrealloc(c *Call) (starlark.Value, error) {
	a, err := unpackRealloc(c, staleReused)
	if err != nil {
		return nil, err
	}
	if a.stale {
		return null(c)
	}
	m := c.Machine()
	addr, err := m.Vrealloc(a.old, a.size, a.gfp)
	switch {
	case err != nil:
		// Refused or failed: the allocator recorded why; p is untouched.
		return allocFailed(c, err)
	case a.size == 0:
		a.freeOld(c)
		return null(c)
	case a.p != nil && addr == a.old:
		area, ok := vmArea(m, addr)
		if !ok {
			return nil, fmt.Errorf("internal error: vrealloc kept %v in place, where no vmap area starts", addr)
		}
		a.p.Size, a.p.Area = a.size, area
		return a.p, nil
	}
	a.freeOld(c)
	return vmallocPointer(c, addr, a.size, a.gfp)
}

func builtinVmallocinfo(c *Call) (starlark.Value, error) {
	if err := c.Unpack(); err != nil {
		return nil, err
	}
	return starlark.String(c.Machine().Vmallocinfo()), nil
}

func builtinIsVmallocAddr(c *Call) (starlark.Value, error) {
	var v starlark.Value
	if err := c.Unpack("p", &v); err != nil {
		return nil, err
	}
	var addr uint64
	switch v := v.(type) {
	case *Pointer:
		addr = uint64(v.Addr)
	case starlark.NoneType:
		addr = 0
	default:
		if err := starlark.AsInt(v, &addr); err != nil {
			return nil, c.Errorf("for parameter p: got %s, want pointer or address", v.Type())
		}
	}
	return starlark.Bool(c.Machine().IsVmallocAddr(allocator.Addr(addr))), nil
}

// builtinPfnToKaddr is pfn_to_kaddr: the direct-map address of a page
// frame, as a Pointer one page long that is never freed. It lets a script
// read a page that belongs to someone else, such as a page behind a
// vmalloc area, through its other address.
func builtinPfnToKaddr(c *Call) (starlark.Value, error) {
	var pfn int64
	if err := c.Unpack("pfn", &pfn); err != nil {
		return nil, err
	}
	m := c.Machine()
	if pfn < 0 || uint64(pfn) >= m.NrPages() {
		return nil, c.Errorf("pfn %d does not exist (this machine has pfns 0 to %d)", pfn, m.NrPages()-1)
	}
	return &Pointer{Addr: m.PFNAddr(uint64(pfn)), Size: m.PageSize(), Owner: "pfn_to_kaddr", Order: -1, PFN: pfn}, nil
}

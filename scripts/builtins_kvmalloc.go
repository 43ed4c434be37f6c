package scripts

import (
	"fmt"

	"github.com/allocviz/allocviz/allocator"
	"go.starlark.net/starlark"
)

// kvmallocGroup is kvmalloc: kvmalloc, kvfree, kvrealloc. The pointers
// they hand out are kmalloc- or vmalloc-backed, and say which: p.owner is
// the kmalloc cache ("kmalloc-128"), "large kmalloc" or "vmalloc", and
// p.area is set for vmalloc memory.
func kvmallocGroup() Group {
	return Group{
		Name: "kvmalloc",
		Builtins: []Builtin{
			{Name: "kvmalloc", Step: true, Fn: builtinKvmalloc,
				Doc: "kvmalloc(size, flags=GFP_KERNEL): kmalloc, and above a page vmalloc when kmalloc fails and the flags may block; ZERO_SIZE_PTR (0x10) for 0; None (NULL) on failure"},
			{Name: "kvfree", Step: true, Fn: builtinKvfree,
				Doc: "kvfree(p): vfree for a vmalloc address, kfree otherwise; True if freed, False if the free was reported and refused"},
			{Name: "kvrealloc", Step: true, Fn: builtinKvrealloc,
				Doc: "kvrealloc(p, size, flags=GFP_KERNEL): vrealloc for vmalloc memory, else krealloc and on failure kvmalloc, copy and kfree; the new pointer; for size 0 ZERO_SIZE_PTR (kmalloc memory) or None (vmalloc memory); None on failure (p is then still live)"},
		},
	}
}

// kvPointer makes the Pointer for memory kvmalloc or kvrealloc handed out
// at addr for a request of size bytes: a vmalloc pointer with its area,
// or a kmalloc pointer naming its cache (or "large kmalloc" and its
// order), as kmalloc's own are.
func kvPointer(c *Call, addr allocator.Addr, size uint64, gfp allocator.GFP) (*Pointer, error) {
	if c.Machine().IsVmallocAddr(addr) {
		return vmallocPointer(c, addr, size, gfp)
	}
	return slabPointer(c, addr, size, gfp)
}

// kvStale reports a freed pointer whose memory a newer allocation now
// holds: acting on it would act on someone else's memory, so the call is
// reported and not made. A freed pointer whose memory is still free goes
// to the allocator, which reports the double free itself.
func kvStale(c *Call, p *Pointer, verb string) bool {
	if c.Machine().IsVmallocAddr(p.Addr) {
		return staleReused(c, p, verb)
	}
	return staleObject(c, p, verb)
}

func builtinKvmalloc(c *Call) (starlark.Value, error) {
	size, gfp, err := unpackAlloc(c)
	if err != nil {
		return nil, err
	}
	addr, err := c.Machine().KVmalloc(size, gfp)
	switch {
	case err != nil:
		// The allocator recorded why (EvKvmalloc, and any warning).
		return allocFailed(c, err)
	case addr == allocator.ZeroSizePtr:
		// kvmalloc(0) is kmalloc(0): ZERO_SIZE_PTR, as krealloc's size 0.
		return slabPointer(c, addr, 0, gfp)
	}
	return kvPointer(c, addr, size, gfp)
}

// builtinKvfree frees kvmalloc'd memory: vfree for a vmalloc address,
// kfree for anything else. kvfree(None) does nothing. A free the
// allocator refuses is reported by it and returns False.
func builtinKvfree(c *Call) (starlark.Value, error) {
	return freePointer(c, kvStale, (*allocator.Machine).KVfree)
}

// builtinKvrealloc is kvrealloc. In place it returns p itself with its
// size updated; after a move (within kmalloc, within vmalloc, or from
// kmalloc to vmalloc) it marks p freed and returns a new Pointer. Size 0
// frees p and returns what the kernel returns: ZERO_SIZE_PTR for kmalloc
// memory (krealloc's answer), None (NULL) for vmalloc memory (vrealloc's).
// A failure returns None with p still live, and the allocator records why.
func builtinKvrealloc(c *Call) (starlark.Value, error) {
	a, err := unpackRealloc(c, kvStale)
	if err != nil {
		return nil, err
	}
	if a.stale {
		return null(c)
	}
	m := c.Machine()
	addr, err := m.KVrealloc(a.old, a.size, a.gfp)
	switch {
	case err != nil:
		// Refused or failed: the allocator recorded why; p is untouched.
		return allocFailed(c, err)
	case a.size == 0:
		a.freeOld(c)
		if addr == allocator.ZeroSizePtr {
			return slabPointer(c, addr, 0, a.gfp)
		}
		c.SetResult("NULL")
		return starlark.None, nil
	case a.p != nil && addr == a.old:
		if m.IsVmallocAddr(addr) {
			area, ok := vmArea(m, addr)
			if !ok {
				return nil, fmt.Errorf("internal error: kvrealloc kept %v in place, where no vmap area starts", addr)
			}
			a.p.Area = area
		}
		a.p.Size = a.size
		return a.p, nil
	}
	a.freeOld(c)
	return kvPointer(c, addr, a.size, a.gfp)
}

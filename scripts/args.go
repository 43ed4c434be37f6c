package scripts

import (
	"fmt"

	"github.com/allocviz/allocviz/allocator"
	"go.starlark.net/starlark"
)

// Argument types. Each is a starlark.Unpacker, so starlark.UnpackArgs
// rejects a value of the wrong type with "name: for parameter p: got
// string, want pointer" before Call.Unpack begins the step: a call that
// fails leaves no step behind. A type whose check needs the machine (a
// cache of the machine config() replaced, a cpu that does not exist) also
// implements argChecker, which Call.Unpack runs after unpacking and still
// before the step begins.

// argChecker is an argument that can be checked only against the
// session: Call.Unpack calls check after starlark.UnpackArgs and before
// the step begins.
type argChecker interface {
	check(c *Call) error
}

// ptrArg is a pointer parameter: a Pointer, or None (NULL). v is the
// value as passed, for the operation shown.
type ptrArg struct {
	p *Pointer       // nil for None
	v starlark.Value // the argument as given
}

// Unpack implements starlark.Unpacker.
func (a *ptrArg) Unpack(v starlark.Value) error {
	switch v := v.(type) {
	case starlark.NoneType:
		a.p, a.v = nil, v
		return nil
	case *Pointer:
		a.p, a.v = v, v
		return nil
	}
	return fmt.Errorf("got %s, want pointer", v.Type())
}

// objectArg is a pointer parameter that also takes a plain address, as
// kfree, kvfree, vfree and free_pages do in C, where a pointer is a
// number: a Pointer, None (NULL), or an int from 0 to 2^64-1 (to free
// what no Pointer names, such as p.addr + 8, or ZERO_SIZE_PTR).
type objectArg struct {
	ptr  *Pointer       // nil for None and addresses
	addr allocator.Addr // the address; 0 for None
	v    starlark.Value // the argument as given
}

// Unpack implements starlark.Unpacker.
func (o *objectArg) Unpack(v starlark.Value) error {
	o.v = v
	switch v := v.(type) {
	case starlark.NoneType:
		o.ptr, o.addr = nil, 0
		return nil
	case *Pointer:
		o.ptr, o.addr = v, v.Addr
		return nil
	case starlark.Int:
		a, ok := v.Uint64()
		if !ok {
			return fmt.Errorf("address %v is not a 64-bit address", v)
		}
		o.ptr, o.addr = nil, allocator.Addr(a)
		return nil
	}
	return fmt.Errorf("got %s, want pointer or address", v.Type())
}

// null reports whether o is NULL: None or the address 0.
func (o objectArg) null() bool { return o.ptr == nil && o.addr == 0 }

// cacheArg is a kmem_cache parameter of the session's machine; with
// orNone, None (NULL) too.
type cacheArg struct {
	k      *Cache // nil for None
	orNone bool   // None is allowed
}

// Unpack implements starlark.Unpacker.
func (a *cacheArg) Unpack(v starlark.Value) error {
	switch v := v.(type) {
	case *Cache:
		a.k = v
		return nil
	case starlark.NoneType:
		if a.orNone {
			a.k = nil
			return nil
		}
	}
	return fmt.Errorf("got %s, want kmem_cache", v.Type())
}

func (a *cacheArg) check(c *Call) error {
	if a.k != nil && a.k.m != c.Machine() {
		return c.Errorf("cache %s belongs to the machine config() replaced", a.k)
	}
	return nil
}

// cpuArg is a CPU number of the session's machine.
type cpuArg struct{ n int }

// Unpack implements starlark.Unpacker.
func (a *cpuArg) Unpack(v starlark.Value) error { return starlark.AsInt(v, &a.n) }

func (a *cpuArg) check(c *Call) error {
	if err := c.Machine().CheckCPU(a.n); err != nil {
		return c.Errorf("%v", err)
	}
	return nil
}

// dataArg is write's data: bytes, a string (its UTF-8 bytes), or a list
// or tuple of ints 0..255.
type dataArg struct{ b []byte }

// Unpack implements starlark.Unpacker.
func (a *dataArg) Unpack(v starlark.Value) error {
	b, err := dataBytes(v)
	a.b = b
	return err
}

// byteArg is a byte value, 0 to 255.
type byteArg struct{ b byte }

// Unpack implements starlark.Unpacker.
func (a *byteArg) Unpack(v starlark.Value) error {
	var n int
	if err := starlark.AsInt(v, &n); err != nil {
		return err
	}
	if n < 0 || n > 0xff {
		return fmt.Errorf("byte %d is not in 0..255", n)
	}
	a.b = byte(n)
	return nil
}

// lengthArg is a byte count: an int from 0 up, or (with orNone) None
// for a default the builtin chooses.
type lengthArg struct {
	n      int64
	none   bool // None was given
	orNone bool // None is allowed
}

// Unpack implements starlark.Unpacker.
func (a *lengthArg) Unpack(v starlark.Value) error {
	if v == starlark.None && a.orNone {
		a.none = true
		return nil
	}
	a.none = false
	if err := starlark.AsInt(v, &a.n); err != nil {
		return err
	}
	if a.n < 0 {
		return fmt.Errorf("size %d is negative", a.n)
	}
	return nil
}

// slabFlagsArg is kmem_cache_create's flags: SLAB_* bits scripts may
// pass (slabFlagNames).
type slabFlagsArg struct{ f allocator.SlabFlags }

// Unpack implements starlark.Unpacker.
func (a *slabFlagsArg) Unpack(v starlark.Value) error {
	var n uint64
	if err := starlark.AsInt(v, &n); err != nil {
		return err
	}
	f := allocator.SlabFlags(n)
	if uint64(f) != n || f&^slabFlagsAllowed() != 0 {
		return fmt.Errorf("%#x: unknown bits (use SLAB_HWCACHE_ALIGN, SLAB_RED_ZONE, SLAB_POISON, SLAB_STORE_USER, SLAB_CONSISTENCY_CHECKS, ...)", n)
	}
	a.f = f
	return nil
}

// dropArg is drop's argument: a kvec, a kbox, or None.
type dropArg struct{ v starlark.Value }

// Unpack implements starlark.Unpacker.
func (a *dropArg) Unpack(v starlark.Value) error {
	switch v.(type) {
	case starlark.NoneType, *VecValue, *BoxValue:
		a.v = v
		return nil
	}
	return fmt.Errorf("got %s, want kvec, kbox or None", v.Type())
}

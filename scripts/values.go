package scripts

import (
	"fmt"

	"github.com/allocviz/allocviz/allocator"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// Pointer is a kernel pointer handed to a script by an allocating builtin:
// alloc_pages, vmalloc, vrealloc, kmalloc, krealloc, kmem_cache_alloc. It prints as the
// kernel address (0xffff888000100000) and compares by address, as C
// pointers do, so a block handed out again at the same address compares
// equal to the pointer it replaced.
//
// A Pointer knows whether its allocation is still live. The builtin that
// frees it calls MarkFreed; read, write and fill through a freed pointer
// are reported as use after free and not performed.
//
// States: live (FreedStep 0) -> freed (FreedStep > 0). There is no way
// back: a later allocation at the same address is a new Pointer.
type Pointer struct {
	Addr  allocator.Addr // the kernel address
	Size  uint64         // bytes that read, write and fill may touch from Addr
	Owner string         // who handed it out: "pages" (alloc_pages), "vmalloc", a slab cache ("kmalloc-128"), "large kmalloc", "ZERO_SIZE_PTR"
	Order int            // page order of the block for page allocations, -1 otherwise
	PFN   int64          // first page frame behind Addr for direct-map pointers, -1 otherwise
	GFP   allocator.GFP  // the flags it was allocated with
	Step  int            // the step that allocated it (0 for a view such as pfn_to_kaddr)
	Area  *VmArea        // vmalloc pointers: the vmap area as the allocator last reported it; nil otherwise
	Cache string         // slab objects: the cache ("kmalloc-128"); "" otherwise (a large kmalloc has none)
	Ksize uint64         // kmalloc and slab pointers: bytes usable, ksize(); 0 otherwise

	freedStep int // the step that freed it; 0 while live
}

var (
	_ starlark.Value      = (*Pointer)(nil)
	_ starlark.HasAttrs   = (*Pointer)(nil)
	_ starlark.Comparable = (*Pointer)(nil)
)

// Live reports whether the allocation has not been freed.
func (p *Pointer) Live() bool { return p.freedStep == 0 }

// FreedStep returns the step that freed the allocation, 0 while it is live.
func (p *Pointer) FreedStep() int { return p.freedStep }

// MarkFreed records that the allocation was freed in step.
func (p *Pointer) MarkFreed(step int) { p.freedStep = step }

// String prints the kernel address.
func (p *Pointer) String() string { return p.Addr.String() }

// Type returns "pointer".
func (p *Pointer) Type() string { return "pointer" }

// Freeze does nothing: a Pointer's fields do not change from Starlark.
func (p *Pointer) Freeze() {}

// Truth is always true: NULL is None, never a Pointer.
func (p *Pointer) Truth() starlark.Bool { return true }

// Hash hashes the address.
func (p *Pointer) Hash() (uint32, error) { return uint32(p.Addr ^ p.Addr>>32), nil }

// CompareSameType orders pointers by address.
func (p *Pointer) CompareSameType(op syntax.Token, y starlark.Value, depth int) (bool, error) {
	q := y.(*Pointer)
	return threeway(op, cmpUint(uint64(p.Addr), uint64(q.Addr))), nil
}

// AttrNames lists the attributes, in a new slice (dir() sorts it in place).
func (p *Pointer) AttrNames() []string {
	return []string{"addr", "area", "cache", "gfp", "ksize", "live", "order", "owner", "pfn", "size", "step"}
}

// Attr returns an attribute: addr (int), size (bytes), owner, order, pfn
// (first page frame, direct-map pointers only), area (vmalloc pointers
// only, else None), cache (slab objects only, else None), ksize (bytes
// usable, kmalloc and slab pointers; 0 otherwise), gfp, step (that
// allocated it) and live.
func (p *Pointer) Attr(name string) (starlark.Value, error) {
	switch name {
	case "addr":
		return starlark.MakeUint64(uint64(p.Addr)), nil
	case "size":
		return starlark.MakeUint64(p.Size), nil
	case "owner":
		return starlark.String(p.Owner), nil
	case "order":
		return starlark.MakeInt(p.Order), nil
	case "pfn":
		if p.PFN < 0 {
			return starlark.None, nil
		}
		return starlark.MakeInt64(p.PFN), nil
	case "gfp":
		return GFPValue(p.GFP), nil
	case "step":
		return starlark.MakeInt(p.Step), nil
	case "live":
		return starlark.Bool(p.Live()), nil
	case "area":
		if p.Area == nil {
			return starlark.None, nil
		}
		return p.Area.value(), nil
	case "cache":
		if p.Cache == "" {
			return starlark.None, nil
		}
		return starlark.String(p.Cache), nil
	case "ksize":
		return starlark.MakeUint64(p.Ksize), nil
	}
	return nil, nil
}

// GFPValue is a gfp_t in Starlark: every GFP constant (GFP_KERNEL,
// __GFP_ZERO, ...) is one. It prints as the kmem tracepoints do,
// "GFP_KERNEL|__GFP_ZERO", and combines with |, & , ^ and ~ (with other
// flags or plain ints), so kernel expressions such as
// GFP_KERNEL & ~__GFP_DIRECT_RECLAIM work as written.
type GFPValue allocator.GFP

var (
	_ starlark.Value      = GFPValue(0)
	_ starlark.HasBinary  = GFPValue(0)
	_ starlark.HasUnary   = GFPValue(0)
	_ starlark.Comparable = GFPValue(0)
	_ starlark.HasAttrs   = GFPValue(0)
)

// String prints the flags in tracepoint style.
func (g GFPValue) String() string { return allocator.GFP(g).String() }

// Type returns "gfp_t".
func (g GFPValue) Type() string { return "gfp_t" }

// Freeze does nothing: the value is immutable.
func (g GFPValue) Freeze() {}

// Truth reports whether any flag is set.
func (g GFPValue) Truth() starlark.Bool { return g != 0 }

// Hash returns the bits.
func (g GFPValue) Hash() (uint32, error) { return uint32(g), nil }

// CompareSameType compares the bit values.
func (g GFPValue) CompareSameType(op syntax.Token, y starlark.Value, depth int) (bool, error) {
	return threeway(op, cmpUint(uint64(g), uint64(y.(GFPValue)))), nil
}

// AttrNames lists the attributes.
func (g GFPValue) AttrNames() []string { return []string{"value"} }

// Attr returns "value", the bits as an int.
func (g GFPValue) Attr(name string) (starlark.Value, error) {
	if name == "value" {
		return starlark.MakeUint64(uint64(g)), nil
	}
	return nil, nil
}

// Binary implements |, & and ^ with another gfp_t or an int in 0..2^32-1.
func (g GFPValue) Binary(op syntax.Token, y starlark.Value, side starlark.Side) (starlark.Value, error) {
	var other GFPValue
	switch y := y.(type) {
	case GFPValue:
		other = y
	case starlark.Int:
		v, ok := y.Uint64()
		if !ok || v > 0xffffffff {
			return nil, fmt.Errorf("gfp_t %s %s: %v does not fit in 32 bits", g, op, y)
		}
		other = GFPValue(v)
	default:
		return nil, nil
	}
	switch op {
	case syntax.PIPE:
		return g | other, nil
	case syntax.AMP:
		return g & other, nil
	case syntax.CIRCUMFLEX:
		return g ^ other, nil
	}
	return nil, nil
}

// Unary implements ~, the complement within gfp_t's 32 bits.
func (g GFPValue) Unary(op syntax.Token) (starlark.Value, error) {
	if op == syntax.TILDE {
		return ^g, nil
	}
	return nil, nil
}

// toGFP converts a gfp_t or a non-negative int that fits in 32 bits.
func toGFP(v starlark.Value) (allocator.GFP, error) {
	switch v := v.(type) {
	case GFPValue:
		return allocator.GFP(v), nil
	case starlark.Int:
		n, ok := v.Uint64()
		if !ok || n > 0xffffffff {
			return 0, fmt.Errorf("flags %v do not fit in gfp_t's 32 bits", v)
		}
		return allocator.GFP(n), nil
	}
	return 0, fmt.Errorf("got %s, want gfp_t flags (GFP_KERNEL, ...) or int", v.Type())
}

// gfpArg unpacks a flags argument: a gfp_t or an int.
type gfpArg struct{ v allocator.GFP }

// Unpack implements starlark.Unpacker.
func (a *gfpArg) Unpack(v starlark.Value) error {
	g, err := toGFP(v)
	if err != nil {
		return err
	}
	a.v = g
	return nil
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// threeway interprets a three-way comparison result for op.
func threeway(op syntax.Token, cmp int) bool {
	switch op {
	case syntax.EQL:
		return cmp == 0
	case syntax.NEQ:
		return cmp != 0
	case syntax.LE:
		return cmp <= 0
	case syntax.LT:
		return cmp < 0
	case syntax.GE:
		return cmp >= 0
	case syntax.GT:
		return cmp > 0
	}
	return false
}

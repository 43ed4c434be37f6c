package scripts

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strings"

	"github.com/allocviz/allocviz/allocator"
	"go.starlark.net/starlark"
)

// kvecGroup is the Rust kernel's Vec and Box (rust/kernel/alloc/kvec.rs,
// kbox.rs) over the three Rust allocators: kvec, kbox and drop.
//
// A kvec(elem_size) is an allocator.RawVec, the same implementation as the
// Go Vec[T]: growth to max(2 * capacity, len + additional) through
// Allocator.Realloc, no shrinking, a failed grow that changes nothing, and
// the same EvVecOp events linked to the EvRealloc they caused. Each method
// call is a step. Element sizes 1, 2, 4 and 8 are u8, u16, u32 and u64
// (naturally aligned); 0 is () (zero-sized: never allocates); any other
// size n is [u8; n] (alignment 1).
//
// Results follow the kernel's: an allocation failure (Err(AllocError)) is
// False, or None from kbox, and the vector is unchanged; remove and insert
// return the kernel's Err values (None, False) with the vector's own
// refusal event, as kernel code gets them as values, not crashes. Using a
// vector or box after drop() is misuse Rust's ownership rules would not
// compile: it is recorded as an EvMisuse event and ignored. Wrong
// argument types and values that do not fit an element are script errors.
func kvecGroup() Group {
	return Group{
		Name: "kvec",
		Builtins: []Builtin{
			{Name: "kvec", Step: true, Fn: builtinKvec,
				Doc: "kvec(elem_size, allocator=\"Kmalloc\"): an empty Vec of elem_size-byte elements over Kmalloc (KVec), Vmalloc (VVec) or KVmalloc (KVVec); methods push, pop, reserve, truncate, clear, resize, extend, remove, insert; attributes len, cap, ptr"},
			{Name: "kbox", Step: true, Fn: builtinKbox,
				Doc: "kbox(size, allocator=\"Kmalloc\", flags=GFP_KERNEL): Box<[u8; size]>::new_uninit over Kmalloc (KBox), Vmalloc (VBox) or KVmalloc (KVBox); None on AllocError"},
			{Name: "drop", Step: true, Fn: builtinDrop,
				Doc: "drop(x): drop a kvec or kbox, freeing its memory with the layout it was allocated with; True, or False if it was dropped already (reported); drop(None) does nothing"},
		},
	}
}

// rustAllocatorNames returns the allocators kvec and kbox accept, in the
// order error messages list them.
func rustAllocatorNames() []string { return []string{"Kmalloc", "Vmalloc", "KVmalloc"} }

// rustAllocator returns the Rust allocator called name on m.
func rustAllocator(m *allocator.Machine, name string) (allocator.Allocator, bool) {
	switch name {
	case "Kmalloc":
		return allocator.Kmalloc{M: m}, true
	case "Vmalloc":
		return allocator.Vmalloc{M: m}, true
	case "KVmalloc":
		return allocator.KVmalloc{M: m}, true
	}
	return nil, false
}

// allocatorArg unpacks allocator="Kmalloc".
func allocatorArg(c *Call, name string) (allocator.Allocator, error) {
	a, ok := rustAllocator(c.Machine(), name)
	if !ok {
		return nil, c.Errorf("allocator %q is not one of %s", name, strings.Join(rustAllocatorNames(), ", "))
	}
	return a, nil
}

// elemType is the Rust element type kvec(size) stands for: u8, u16, u32
// and u64 for 1, 2, 4 and 8 bytes, () for 0, else [u8; size].
func elemType(size uint64) (allocator.Layout, string) {
	switch size {
	case 0:
		return allocator.Layout{Size: 0, Align: 1}, "()"
	case 1, 2, 4, 8:
		return allocator.Layout{Size: size, Align: size}, fmt.Sprintf("u%d", 8*size)
	}
	return allocator.Layout{Size: size, Align: 1}, fmt.Sprintf("[u8; %d]", size)
}

// usizeArg unpacks a Rust usize: an int from 0 to 2^64-1. A negative
// value is a script error, not the huge number C would make of it.
type usizeArg struct{ v uint64 }

// Unpack implements starlark.Unpacker.
func (a *usizeArg) Unpack(v starlark.Value) error {
	i, ok := v.(starlark.Int)
	if !ok {
		return fmt.Errorf("got %s, want int", v.Type())
	}
	u, ok := i.Uint64()
	if !ok {
		return fmt.Errorf("%v is not a usize (0 to 2^64-1)", i)
	}
	a.v = u
	return nil
}

// allocResult turns the error of an operation that may allocate into its
// result: True, or False for Err(AllocError), which the vector recorded.
func allocResult(c *Call, err error) (starlark.Value, error) {
	var ae *allocator.AllocError
	switch {
	case err == nil:
		return starlark.True, nil
	case errors.As(err, &ae):
		c.SetResult("Err(AllocError)")
		return starlark.False, nil
	}
	return nil, c.Errorf("%w", err)
}

// scriptElem is a script value checked to fit one element: an int,
// stored little-endian in two's complement, or bytes of exactly the
// element's size. It is written straight into the buffer, so an element
// is never built in Go memory: its size may be any a Rust type can have.
type scriptElem struct {
	b   []byte // bytes: the element; int: the low bytes of its two's complement, little-endian, before the fill
	neg bool   // a negative int: the bytes past b are 0xff, else 0
}

// write writes the element into dst, its place in the buffer.
func (e scriptElem) write(dst []byte) {
	n := copy(dst, e.b)
	fill := byte(0)
	if e.neg {
		fill = 0xff
	}
	for i := n; i < len(dst); i++ {
		dst[i] = fill
	}
}

// elemArg checks that v fits an element of size bytes: an int from
// -2^(8*size-1) to 2^(8*size)-1, or bytes of exactly size.
func elemArg(v starlark.Value, size uint64) (scriptElem, error) {
	switch v := v.(type) {
	case starlark.Bytes:
		if uint64(len(v)) != size {
			return scriptElem{}, fmt.Errorf("%d bytes given for an element of %d", len(v), size)
		}
		return scriptElem{b: []byte(v)}, nil
	case starlark.Int:
		x := v.BigInt()
		neg := x.Sign() < 0
		if neg {
			x.Neg(x).Sub(x, big.NewInt(1)) // -x-1: its bits inverted are x's two's complement
		}
		bitsNeeded := uint64(x.BitLen())
		if neg {
			bitsNeeded++ // the sign bit
		}
		if size < 1<<60 && bitsNeeded > 8*size {
			return scriptElem{}, fmt.Errorf("%v does not fit in an element of %d bytes", v, size)
		}
		b := x.Bytes()
		slices.Reverse(b)
		if neg {
			for i := range b {
				b[i] = ^b[i]
			}
		}
		return scriptElem{b: b, neg: neg}, nil
	}
	return scriptElem{}, fmt.Errorf("got %s, want int or bytes", v.Type())
}

// elemValue is an element read back: its bytes as an unsigned
// little-endian int.
func elemValue(b []byte) starlark.Value {
	be := slices.Clone(b)
	slices.Reverse(be)
	return starlark.MakeBigInt(new(big.Int).SetBytes(be))
}

// VecValue is a vector made by kvec(): a Rust Vec<T, A> whose buffer is
// machine memory. It is a handle, like a Pointer: Freeze does nothing, and
// its methods change the machine, each as a step. Indexing (v[i]), len(v)
// and iteration read the elements, as unsigned little-endian ints.
//
// States: live -> dropped (drop(v)). A dropped vector has no buffer; its
// methods record misuse and do nothing.
type VecValue struct {
	sess    *Session
	v       *allocator.RawVec
	alloc   string   // the allocator's name: "Kmalloc"
	ptr     *Pointer // the buffer as handed to the script; nil when there is none
	dropped int      // the step that dropped it; 0 while live
}

var (
	_ starlark.HasAttrs  = (*VecValue)(nil)
	_ starlark.Indexable = (*VecValue)(nil)
	_ starlark.Sequence  = (*VecValue)(nil)
)

// vecMethods returns the methods of a kvec, sorted.
func vecMethods() []string {
	return []string{"clear", "extend", "insert", "pop", "push", "push_within_capacity", "remove", "reserve", "resize", "truncate"}
}

// String prints the vector as Rust's Debug does, after its type:
// KVec<u8>[1, 2, 3]; elements wider than 16 bytes are not printed, only
// the length and capacity.
func (x *VecValue) String() string {
	switch {
	case x.dropped > 0:
		return fmt.Sprintf("%s(dropped in step %d)", x.v.Name(), x.dropped)
	case x.bufferGone():
		return fmt.Sprintf("%s(its buffer at %v was freed behind its back)", x.v.Name(), x.ptr)
	}
	if x.v.ElemLayout().Size > 16 {
		return fmt.Sprintf("%s(len %d, cap %d)", x.v.Name(), x.v.Len(), x.v.Cap())
	}
	var b strings.Builder
	b.WriteString(x.v.Name())
	b.WriteByte('[')
	n := min(x.v.Len(), 16)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		e, _ := x.v.At(i)
		b.WriteString(elemValue(e).String())
	}
	if x.v.Len() > n {
		fmt.Fprintf(&b, ", ... %d more", x.v.Len()-n)
	}
	b.WriteByte(']')
	return b.String()
}

// Type returns "kvec".
func (x *VecValue) Type() string { return "kvec" }

// Freeze does nothing: the vector is machine state, changed by its methods.
func (x *VecValue) Freeze() {}

// Truth is always true: a vector is an object, empty or not.
func (x *VecValue) Truth() starlark.Bool { return true }

// Hash fails: a vector is mutable.
func (x *VecValue) Hash() (uint32, error) { return 0, errors.New("unhashable type: kvec") }

// Len returns the number of elements (at most math.MaxInt); 0 when the
// buffer was freed behind the vector's back, whose memory must not be read.
func (x *VecValue) Len() int {
	if x.bufferGone() {
		return 0
	}
	return int(min(x.v.Len(), math.MaxInt))
}

// bufferGone reports whether the vector's buffer was freed behind its
// back, by kfree, vfree or kvfree of v.ptr or of its address. Its memory
// must then not be touched: a vfree'd buffer is not even mapped.
func (x *VecValue) bufferGone() bool {
	return x.ptr != nil && memoryGone(x.sess.Machine(), x.ptr, x.v.Layout().Size)
}

// memoryGone reports whether the size bytes at p, which a Box or Vec
// owns, were freed behind its back: p was freed, or no allocation of at
// least size bytes starts at its address any more.
func memoryGone(m *allocator.Machine, p *Pointer, size uint64) bool {
	if !p.Live() {
		return true
	}
	if m.IsVmallocAddr(p.Addr) {
		info, ok := m.AreaOf(p.Addr)
		return !ok || info.Start != p.Addr || info.Usable(m.PageSize()) < size
	}
	info, ok := m.ObjectAt(p.Addr)
	return !ok || !info.Allocated() || info.Start != p.Addr
}

// Index returns element i; Starlark has checked 0 <= i < Len().
func (x *VecValue) Index(i int) starlark.Value {
	e, _ := x.v.At(uint64(i))
	return elemValue(e)
}

// Iterate iterates over the elements, reading each as it is reached, as
// long as the vector has one at the next index.
func (x *VecValue) Iterate() starlark.Iterator { return &vecIterator{x: x} }

// vecIterator reads a vector's elements front to back.
type vecIterator struct {
	x *VecValue
	i uint64 // the next index
}

// Next reads the next element, a step of the input's budget each (a
// vector of zero-sized elements may be 2^62 long).
func (it *vecIterator) Next(p *starlark.Value) bool {
	if it.i >= uint64(it.x.Len()) || it.x.sess.charge(1) != nil {
		return false
	}
	*p = it.x.Index(int(it.i))
	it.i++
	return true
}

// Done does nothing.
func (it *vecIterator) Done() {}

// AttrNames lists the attributes and methods, in a new slice.
func (x *VecValue) AttrNames() []string {
	names := append([]string{"addr", "allocator", "cap", "elem_size", "len", "live", "name", "ptr"}, vecMethods()...)
	slices.Sort(names)
	return names
}

// Attr returns an attribute: len, cap (elements; usize::MAX for
// zero-sized elements), ptr (the buffer as a pointer, None when there is
// none), addr (as_ptr as an int: the dangling alignment when there is no
// buffer), elem_size, allocator, name (KVec<u8>), live, or a method.
func (x *VecValue) Attr(name string) (starlark.Value, error) {
	switch name {
	case "len":
		return starlark.MakeUint64(x.v.Len()), nil
	case "cap":
		return starlark.MakeUint64(x.v.Cap()), nil
	case "ptr":
		if x.ptr == nil {
			return starlark.None, nil
		}
		return x.ptr, nil
	case "addr":
		return starlark.MakeUint64(uint64(x.v.Addr())), nil
	case "elem_size":
		return starlark.MakeUint64(x.v.ElemLayout().Size), nil
	case "allocator":
		return starlark.String(x.alloc), nil
	case "name":
		return starlark.String(x.v.Name()), nil
	case "live":
		return starlark.Bool(x.dropped == 0), nil
	}
	if _, ok := slices.BinarySearch(vecMethods(), name); ok {
		return x.sess.wrap(Builtin{Name: name, Step: true, Fn: func(c *Call) (starlark.Value, error) {
			return x.call(c, name)
		}}), nil
	}
	return nil, nil
}

// builtinKvec is kvec(elem_size, allocator="Kmalloc"): Vec::new, which
// allocates nothing.
func builtinKvec(c *Call) (starlark.Value, error) {
	var size usizeArg
	alloc := "Kmalloc"
	if err := starlark.UnpackArgs(c.Name, c.Args, c.Kwargs, "elem_size", &size, "allocator?", &alloc); err != nil {
		return nil, err
	}
	a, err := allocatorArg(c, alloc)
	if err != nil {
		return nil, err
	}
	if size.v > math.MaxInt64 {
		return nil, c.Errorf("elem_size %d exceeds isize::MAX: no Rust type is that large", size.v)
	}
	elem, name := elemType(size.v)
	v, err := allocator.NewRawVec(c.Machine(), a, elem, name)
	if err != nil {
		return nil, c.Errorf("%v", err)
	}
	if err := c.Begin(); err != nil {
		return nil, err
	}
	c.SetOp(v.Name() + "::new()")
	return &VecValue{sess: c.Session, v: v, alloc: alloc}, nil
}

// call runs method op of the vector. Arguments are checked before the
// step begins, so a script error takes no step.
func (x *VecValue) call(c *Call, op string) (starlark.Value, error) {
	size := x.v.ElemLayout().Size
	flags := gfpArg{allocator.GFPKernel}
	var n usizeArg
	var val starlark.Value
	var elem scriptElem
	var elems []scriptElem
	var err error
	switch op {
	case "push":
		err = starlark.UnpackArgs(op, c.Args, c.Kwargs, "x", &val, "flags?", &flags)
	case "push_within_capacity":
		err = starlark.UnpackArgs(op, c.Args, c.Kwargs, "x", &val)
	case "pop", "clear":
		err = starlark.UnpackArgs(op, c.Args, c.Kwargs)
	case "reserve":
		err = starlark.UnpackArgs(op, c.Args, c.Kwargs, "additional", &n, "flags?", &flags)
	case "truncate":
		err = starlark.UnpackArgs(op, c.Args, c.Kwargs, "len", &n)
	case "resize":
		err = starlark.UnpackArgs(op, c.Args, c.Kwargs, "new_len", &n, "x", &val, "flags?", &flags)
	case "extend":
		err = starlark.UnpackArgs(op, c.Args, c.Kwargs, "xs", &val, "flags?", &flags)
	case "remove":
		err = starlark.UnpackArgs(op, c.Args, c.Kwargs, "i", &n)
	case "insert":
		err = starlark.UnpackArgs(op, c.Args, c.Kwargs, "i", &n, "x", &val)
	}
	if err != nil {
		return nil, err
	}
	switch op {
	case "push", "push_within_capacity", "resize", "insert":
		if elem, err = elemArg(val, size); err != nil {
			return nil, c.Errorf("for parameter x: %v", err)
		}
	case "extend":
		if elems, err = elemList(val, size); err != nil {
			return nil, c.Errorf("for parameter xs: %v", err)
		}
	}
	if err := c.Begin(); err != nil {
		return nil, err
	}
	name := x.v.Name()
	switch op {
	case "push":
		c.SetOp(fmt.Sprintf("%s::push(%s, %v)", name, shortText(val, 40), flags.v))
	case "pop", "clear":
		c.SetOp(fmt.Sprintf("%s::%s()", name, op))
	case "reserve":
		c.SetOp(fmt.Sprintf("%s::reserve(%d, %v)", name, n.v, flags.v))
	case "truncate", "remove":
		c.SetOp(fmt.Sprintf("%s::%s(%d)", name, op, n.v))
	case "resize":
		c.SetOp(fmt.Sprintf("%s::resize(%d, %s, %v)", name, n.v, shortText(val, 40), flags.v))
	case "extend":
		c.SetOp(fmt.Sprintf("%s::extend_from_slice(%s, %v)", name, shortText(val, 40), flags.v))
	case "insert":
		c.SetOp(fmt.Sprintf("%s::insert_within_capacity(%d, %s)", name, n.v, shortText(val, 40)))
	case "push_within_capacity":
		c.SetOp(fmt.Sprintf("%s::push_within_capacity(%s)", name, shortText(val, 40)))
	}
	if x.dropped > 0 || x.bufferGone() {
		if x.dropped > 0 {
			c.Machine().Misuse(0, fmt.Sprintf("%s::%s on a Vec that was already dropped in step %d; ignored (drop moved it: Rust would not compile this)",
				name, op, x.dropped))
		} else {
			c.Machine().Misuse(x.ptr.Addr, fmt.Sprintf("BUG: KASAN: use-after-free in %s::%s: its buffer at %v was freed%s behind the vector's back; ignored",
				name, op, x.ptr, freedIn(x.ptr)))
		}
		switch op {
		case "pop", "remove", "truncate", "clear":
			return starlark.None, nil
		}
		return starlark.False, nil
	}
	var res starlark.Value = starlark.None
	err = nil
	switch op {
	case "push":
		res, err = allocResult(c, x.v.PushFunc(func(_ uint64, dst []byte) { elem.write(dst) }, flags.v))
	case "reserve":
		res, err = allocResult(c, x.v.Reserve(n.v, flags.v))
	case "resize":
		res, err = allocResult(c, x.v.ResizeFunc(n.v, func(_ uint64, dst []byte) { elem.write(dst) }, flags.v))
	case "extend":
		res, err = allocResult(c, x.v.ExtendFunc(uint64(len(elems)), func(k uint64, dst []byte) { elems[k].write(dst) }, flags.v))
	case "truncate":
		x.v.Truncate(n.v)
	case "clear":
		x.v.Clear()
	case "pop":
		if e, ok := x.v.Pop(); ok {
			res = elemValue(e)
		}
	case "remove":
		e, rerr := x.v.Remove(n.v)
		var re *allocator.RemoveError
		switch {
		case errors.As(rerr, &re):
			c.SetResult("Err(RemoveError)")
		case rerr != nil:
			return nil, c.Errorf("%w", rerr)
		default:
			res = elemValue(e)
		}
	case "push_within_capacity":
		buf := make([]byte, size)
		elem.write(buf)
		perr := x.v.PushWithinCapacity(buf)
		var pe *allocator.PushError
		switch {
		case errors.As(perr, &pe):
			c.SetResult("Err(PushError)")
			res = starlark.False
		case perr != nil:
			return nil, c.Errorf("%w", perr)
		default:
			res = starlark.True
		}
	case "insert":
		ierr := x.v.InsertWithinCapacityFunc(n.v, func(_ uint64, dst []byte) { elem.write(dst) })
		var ie *allocator.InsertError
		switch {
		case errors.As(ierr, &ie) && ie.Kind == allocator.InsertIndexOutOfBounds:
			c.SetResult("Err(InsertError::IndexOutOfBounds)")
			res = starlark.False
		case errors.As(ierr, &ie):
			c.SetResult("Err(InsertError::OutOfCapacity)")
			res = starlark.False
		case ierr != nil:
			return nil, c.Errorf("%w", ierr)
		default:
			res = starlark.True
		}
	}
	if err != nil {
		return nil, err
	}
	if err := x.sync(c, flags.v); err != nil {
		return nil, err
	}
	return res, nil
}

// elemList converts extend's argument: bytes holding whole elements back
// to back, or an iterable of ints and bytes, one element each.
func elemList(v starlark.Value, size uint64) ([]scriptElem, error) {
	if b, ok := v.(starlark.Bytes); ok {
		switch {
		case size == 0 && len(b) > 0:
			return nil, fmt.Errorf("%d bytes given for zero-sized elements", len(b))
		case size == 0:
			return nil, nil
		case uint64(len(b))%size != 0:
			return nil, fmt.Errorf("%d bytes are not a whole number of %d-byte elements", len(b), size)
		}
		out := make([]scriptElem, uint64(len(b))/size)
		for k := range out {
			out[k] = scriptElem{b: []byte(b[uint64(k)*size : uint64(k+1)*size])}
		}
		return out, nil
	}
	it, ok := v.(starlark.Iterable)
	if !ok {
		return nil, fmt.Errorf("got %s, want bytes or a list of ints or bytes", v.Type())
	}
	iter := it.Iterate()
	defer iter.Done()
	var out []scriptElem
	var e starlark.Value
	for iter.Next(&e) {
		se, err := elemArg(e, size)
		if err != nil {
			return nil, fmt.Errorf("element %d: %v", len(out), err)
		}
		out = append(out, se)
	}
	return out, nil
}

// sync brings the script's Pointer to the buffer up to date after an
// operation: the same Pointer, its size updated, while the buffer stays
// in place; a new one, with the old marked freed, when it moved; none
// when there is no buffer.
func (x *VecValue) sync(c *Call, gfp allocator.GFP) error {
	l, addr := x.v.Layout(), x.v.Addr()
	switch {
	case l.Size == 0:
		if x.ptr != nil && x.ptr.Live() {
			x.ptr.MarkFreed(c.Step())
		}
		x.ptr = nil
	case x.ptr != nil && x.ptr.Addr == addr:
		x.ptr.Size = l.Size
		// The area is gone only if the script vfree'd the buffer behind the
		// vector's back; the Pointer then keeps what it last knew.
		if area, ok := vmArea(c.Machine(), addr); ok && x.ptr.Area != nil {
			x.ptr.Area = area
		}
	default:
		if x.ptr != nil && x.ptr.Live() {
			x.ptr.MarkFreed(c.Step())
		}
		p, err := kvPointer(c, addr, l.Size, gfp)
		if err != nil {
			return err
		}
		x.ptr = p
	}
	return nil
}

// BoxValue is a Box made by kbox(): Box<[u8; size], A>, size bytes of
// machine memory. Its ptr is a Pointer to read and write the bytes.
//
// States: live -> dropped (drop(b)), or live -> stale (its memory was
// freed behind its back and handed out again, so drop refused to free the
// new owner's). Dropping it again is misuse, recorded and ignored.
type BoxValue struct {
	b     *allocator.RawBox
	alloc string   // the allocator's name: "Kmalloc"
	size  uint64   // bytes
	ptr   *Pointer // the allocation; nil for size 0, which has no memory
	stale bool     // drop found the memory owned by a newer allocation
}

// live reports whether the Box still owns its memory.
func (x *BoxValue) live() bool { return x.b.Live() && !x.stale }

var _ starlark.HasAttrs = (*BoxValue)(nil)

// String prints the type and the address: KBox<[u8; 100]>(0xffff888000123000).
func (x *BoxValue) String() string {
	if !x.live() {
		return x.b.Name() + "(dropped)"
	}
	return fmt.Sprintf("%s(%v)", x.b.Name(), x.b.Addr())
}

// Type returns "kbox".
func (x *BoxValue) Type() string { return "kbox" }

// Freeze does nothing: the box is machine state.
func (x *BoxValue) Freeze() {}

// Truth is always true: a failed kbox is None, never a BoxValue.
func (x *BoxValue) Truth() starlark.Bool { return true }

// Hash fails: a box is mutable.
func (x *BoxValue) Hash() (uint32, error) { return 0, errors.New("unhashable type: kbox") }

// AttrNames lists the attributes.
func (x *BoxValue) AttrNames() []string {
	return []string{"addr", "allocator", "live", "name", "ptr", "size"}
}

// Attr returns an attribute: ptr (None for size 0 and once dropped), addr
// (an int: the dangling 1 for size 0, 0 once dropped), size, allocator,
// name (KBox<[u8; 100]>) and live.
func (x *BoxValue) Attr(name string) (starlark.Value, error) {
	switch name {
	case "ptr":
		if x.ptr == nil || !x.live() {
			return starlark.None, nil
		}
		return x.ptr, nil
	case "addr":
		return starlark.MakeUint64(uint64(x.b.Addr())), nil
	case "size":
		return starlark.MakeUint64(x.size), nil
	case "allocator":
		return starlark.String(x.alloc), nil
	case "name":
		return starlark.String(x.b.Name()), nil
	case "live":
		return starlark.Bool(x.live()), nil
	}
	return nil, nil
}

// builtinKbox is kbox(size, allocator="Kmalloc", flags=GFP_KERNEL):
// Box<[u8; size], A>::new_uninit. The bytes are what the allocator gave.
func builtinKbox(c *Call) (starlark.Value, error) {
	var size usizeArg
	alloc := "Kmalloc"
	flags := gfpArg{allocator.GFPKernel}
	if err := starlark.UnpackArgs(c.Name, c.Args, c.Kwargs, "size", &size, "allocator?", &alloc, "flags?", &flags); err != nil {
		return nil, err
	}
	a, err := allocatorArg(c, alloc)
	if err != nil {
		return nil, err
	}
	if size.v > math.MaxInt64 {
		return nil, c.Errorf("size %d exceeds isize::MAX: no Rust type is that large", size.v)
	}
	if err := c.Begin(); err != nil {
		return nil, err
	}
	name := fmt.Sprintf("[u8; %d]", size.v)
	c.SetOp(fmt.Sprintf("%s<%s>::new_uninit(%v)", boxAlias(alloc), name, flags.v))
	b, err := allocator.NewRawBoxUninit(c.Machine(), a, allocator.Layout{Size: size.v, Align: 1}, name, flags.v)
	var ae *allocator.AllocError
	switch {
	case errors.As(err, &ae):
		c.SetResult("Err(AllocError)")
		return starlark.None, nil
	case err != nil:
		return nil, c.Errorf("%v", err)
	}
	x := &BoxValue{b: b, alloc: alloc, size: size.v}
	if size.v > 0 {
		if x.ptr, err = kvPointer(c, b.Addr(), size.v, flags.v); err != nil {
			return nil, err
		}
	}
	return x, nil
}

// boxAlias is the kernel's name for a Box over allocator name.
func boxAlias(name string) string {
	switch name {
	case "Kmalloc":
		return "KBox"
	case "Vmalloc":
		return "VBox"
	case "KVmalloc":
		return "KVBox"
	}
	return "Box"
}

// builtinDrop is drop(x) for a kvec or kbox: its memory is freed with the
// layout it was allocated with. Dropping twice is recorded as misuse and
// returns False. drop(None) does nothing, as dropping a None Option does.
func builtinDrop(c *Call) (starlark.Value, error) {
	var d dropArg
	if err := c.Unpack("x", &d); err != nil {
		return nil, err
	}
	switch x := d.v.(type) {
	case *VecValue:
		c.SetOp(fmt.Sprintf("drop(%s)", x.v.Name()))
		if x.dropped > 0 {
			c.Machine().Misuse(0, fmt.Sprintf("drop of a %s that was already dropped in step %d; ignored, where the kernel would free its buffer twice",
				x.v.Name(), x.dropped))
			return starlark.False, nil
		}
		if x.ptr != nil && kvStale(c, x.ptr, "freed") {
			// Freed behind the vector's back and handed out again: freeing
			// it would free the new owner's memory.
			x.dropped = c.Step()
			return starlark.False, nil
		}
		// A buffer freed behind the vector's back is freed twice: the
		// allocator reports it and refuses.
		twice := x.bufferGone()
		x.v.Drop()
		x.dropped = c.Step()
		if err := x.sync(c, 0); err != nil {
			return nil, err
		}
		return starlark.Bool(!twice), nil
	case *BoxValue:
		c.SetOp(fmt.Sprintf("drop(%s)", x.b.Name()))
		if x.stale {
			c.Machine().Misuse(0, fmt.Sprintf("drop of a %s whose memory was freed behind its back and handed out again; ignored", x.b.Name()))
			return starlark.False, nil
		}
		if x.ptr != nil && kvStale(c, x.ptr, "freed") {
			x.stale = true
			return starlark.False, nil
		}
		twice := x.ptr != nil && memoryGone(c.Machine(), x.ptr, x.size)
		if !x.b.Drop() {
			return starlark.False, nil
		}
		if x.ptr != nil && x.ptr.Live() {
			x.ptr.MarkFreed(c.Step())
		}
		return starlark.Bool(!twice), nil
	}
	c.SetOp("drop(None)")
	return starlark.None, nil
}

// freedIn says in which step p was freed, if a builtin freed it: " in
// step 7", or "" when it was freed through its plain address.
func freedIn(p *Pointer) string {
	if p.Live() {
		return ""
	}
	return fmt.Sprintf(" in step %d", p.FreedStep())
}

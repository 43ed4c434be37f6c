package allocator

import "fmt"

// Box is the kernel's Box<T, A> (rust/kernel/alloc/kbox.rs, spec §8.6): one
// value of T in memory of the simulated machine obtained from an
// Allocator. KBox, VBox and KVBox are Box over Kmalloc, Vmalloc and
// KVmalloc.
//
// A Box is allocated with Allocator.Alloc for Layout::new::<T>() (a
// zero-sized T gets the dangling pointer and no memory) and freed by Drop
// with the same layout. IntoRaw and Leak give the memory up; BoxFromRaw
// takes it back. Once dropped, leaked or turned into a raw pointer the Box
// is gone: using it again is misuse, recorded as an EvMisuse event.
//
// T must hold no Go pointers (see ElemTypeError). A Box is used by the
// goroutine that owns its Machine, and the machine must outlive it.
type Box[T any] struct {
	m   *Machine  // whose memory holds the value; immutable
	a   Allocator // immutable
	e   elemInfo  // immutable
	ptr Addr      // the allocation; the dangling pointer for zero-sized T
	val *T        // the value in the machine's memory; nil once gone
}

// NewBox is Box::new: allocate room for a T with flags and store x there,
// or return an *AllocError (or an *ElemTypeError for a T that cannot live
// in kernel memory).
func NewBox[T any](m *Machine, a Allocator, x T, flags GFP) (*Box[T], error) {
	b, err := newBox[T](m, a, flags, "new")
	if err != nil {
		return nil, err
	}
	*b.val = x
	return b, nil
}

// KBox is KBox::new: x in a Box over Kmalloc on machine m.
func KBox[T any](m *Machine, x T, flags GFP) (*Box[T], error) {
	return NewBox(m, Kmalloc{M: m}, x, flags)
}

// VBox is VBox::new: x in a Box over Vmalloc on machine m.
func VBox[T any](m *Machine, x T, flags GFP) (*Box[T], error) {
	return NewBox(m, Vmalloc{M: m}, x, flags)
}

// NewBoxUninit is Box::new_uninit: allocate room for a T with flags and
// leave what the allocator gave (zeroes only with __GFP_ZERO). Write
// stores the value.
func NewBoxUninit[T any](m *Machine, a Allocator, flags GFP) (*Box[T], error) {
	return newBox[T](m, a, flags, "new_uninit")
}

func newBox[T any](m *Machine, a Allocator, flags GFP, op string) (*Box[T], error) {
	if m == nil || a == nil {
		return nil, fmt.Errorf("%w: a Box needs a machine and an allocator", ErrBadAddress)
	}
	e, err := elemOf[T]()
	if err != nil {
		return nil, err
	}
	b := &Box[T]{m: m, a: a, e: e}
	mark := m.logMark()
	blk, err := a.Alloc(e.layout, flags)
	cause, info := m.reallocSince(mark)
	if err != nil {
		err = asAllocError(err)
		if m.tracing() {
			b.ptr = 0
			b.emit(op, cause, info, fmt.Sprintf("%s::%s returned AllocError: %d bytes aligned to %d could not be had (%v)",
				b.name(), op, e.layout.Size, e.layout.Align, err))
		}
		return nil, err
	}
	b.ptr = blk.Addr
	b.val = boxView[T](a, blk, e)
	if m.tracing() {
		b.emit(op, cause, info, fmt.Sprintf("%s::%s allocated Layout::new::<%s>() (%d bytes, align %d) at %v",
			b.name(), op, e.name, e.layout.Size, e.layout.Align, blk.Addr))
	}
	return b, nil
}

// BoxFromRaw is Box::from_raw: take back the value at ptr, which IntoRaw
// returned for a Box over allocator a. The kernel trusts the caller; this
// checks that ptr has memory and is aligned, and returns an error
// otherwise.
func BoxFromRaw[T any](m *Machine, a Allocator, ptr Addr) (*Box[T], error) {
	if m == nil || a == nil {
		return nil, fmt.Errorf("%w: a Box needs a machine and an allocator", ErrBadAddress)
	}
	e, err := elemOf[T]()
	if err != nil {
		return nil, err
	}
	b := &Box[T]{m: m, a: a, e: e, ptr: ptr}
	if e.zst() {
		b.val = new(T)
	} else {
		if ptr.ZeroOrNull() || uint64(ptr)%e.layout.Align != 0 {
			return nil, fmt.Errorf("%w: from_raw: %v is not a pointer to a %s aligned to %d", ErrBadAddress, ptr, e.name, e.layout.Align)
		}
		mem, err := m.Span(ptr, e.layout.Size)
		if err != nil {
			return nil, fmt.Errorf("from_raw: %w", err)
		}
		b.val = boxView[T](a, Block{Addr: ptr, Mem: mem}, e)
	}
	if m.tracing() {
		b.emit("from_raw", 0, nil, fmt.Sprintf("%s::from_raw took back the allocation at %v; dropping it will free it", b.name(), ptr))
	}
	return b, nil
}

// boxView views the block allocated for one T.
func boxView[T any](a Allocator, blk Block, e elemInfo) *T {
	if e.zst() {
		return new(T)
	}
	return &viewAs[T](a, blk, 1, e)[0]
}

// Addr returns the address of the value: the dangling pointer for a
// zero-sized T; 0 once the Box is gone.
func (b *Box[T]) Addr() Addr { return b.ptr }

// Live reports whether the Box still owns its value.
func (b *Box[T]) Live() bool { return b.val != nil }

// Ptr returns a pointer to the value in the machine's memory, or nil once
// the Box is gone. Writes through it change the value.
func (b *Box[T]) Ptr() *T { return b.val }

// Get returns a copy of the value (*b). On a Box that is gone it records
// the misuse and returns the zero value.
func (b *Box[T]) Get() T {
	if !b.live("deref") {
		var zero T
		return zero
	}
	return *b.val
}

// Write is Box::write: store x (*b = x). On a Box that is gone it records
// the misuse and does nothing.
func (b *Box[T]) Write(x T) {
	if b.live("write") {
		*b.val = x
	}
}

// DropContents is Box::drop_contents: drop the value and keep the
// allocation for a new one (Write). Values without Go pointers need no
// dropping, so the memory keeps its bytes, as in the kernel.
func (b *Box[T]) DropContents() {
	if b.live("drop_contents") && b.m.tracing() {
		b.emit("drop_contents", 0, nil, fmt.Sprintf("%s::drop_contents dropped the value and kept the allocation at %v for the next write", b.name(), b.ptr))
	}
}

// IntoInner is Box::into_inner: the value, with the allocation freed. On a
// Box that is gone it records the misuse and returns the zero value.
func (b *Box[T]) IntoInner() T {
	var x T
	if !b.live("into_inner") {
		return x
	}
	x = *b.val
	b.free("into_inner")
	return x
}

// IntoRaw is Box::into_raw: the value's address, given up by the Box; the
// memory is freed only if BoxFromRaw takes it back. It returns 0 on a Box
// that is gone (and records the misuse).
func (b *Box[T]) IntoRaw() Addr {
	if !b.live("into_raw") {
		return 0
	}
	ptr := b.ptr
	if b.m.tracing() {
		b.emit("into_raw", 0, nil, fmt.Sprintf("%s::into_raw gave up the allocation at %v; only from_raw can free it now", b.name(), ptr))
	}
	b.ptr, b.val = 0, nil
	return ptr
}

// Leak is Box::leak: the value, never to be freed. It returns nil on a
// Box that is gone (and records the misuse).
func (b *Box[T]) Leak() *T {
	if !b.live("leak") {
		return nil
	}
	p := b.val
	if b.m.tracing() {
		b.emit("leak", 0, nil, fmt.Sprintf("%s::leak gave up the allocation at %v; it will never be freed", b.name(), b.ptr))
	}
	b.ptr, b.val = 0, nil
	return p
}

// Drop drops the Box: the value, then Allocator.Free with
// Layout::for_value (for a zero-sized T a zero-size layout, which frees
// nothing). Dropping a Box that is gone records the misuse and does
// nothing, where the kernel would have freed twice.
func (b *Box[T]) Drop() {
	if b.live("drop") {
		b.free("drop")
	}
}

func (b *Box[T]) free(op string) {
	mark := b.m.logMark()
	b.a.Free(b.ptr, b.e.layout)
	if b.m.tracing() {
		cause, info := b.m.reallocSince(mark)
		text := fmt.Sprintf("%s::%s freed %v with Layout::for_value (%d bytes, align %d)", b.name(), op, b.ptr, b.e.layout.Size, b.e.layout.Align)
		if b.e.zst() {
			text = fmt.Sprintf("%s::%s freed a zero-size layout, which does nothing", b.name(), op)
		}
		b.emit(op, cause, info, text)
	}
	b.ptr, b.val = 0, nil
}

// live reports whether the Box still owns its value, recording misuse of
// one that does not.
func (b *Box[T]) live(op string) bool {
	if b.val != nil {
		return true
	}
	if b.m.tracing() {
		b.m.Misuse(0, fmt.Sprintf("%s::%s on a Box that was already dropped, leaked or turned into a raw pointer; ignored", b.name(), op))
	}
	return false
}

// name is the Box's type as the kernel spells it: KBox<u64>.
func (b *Box[T]) name() string { return containerName("Box", b.a, b.e.name) }

// emit records an EvVecOp for the Box: one element.
func (b *Box[T]) emit(op string, cause uint64, info *ReallocInfo, text string) {
	b.m.emit(Event{Kind: EvVecOp, Op: "box_" + op, Addr: b.ptr, Size: 1, Index: 1, Bytes: b.e.layout.Size,
		Cause: cause, Realloc: info, Text: text})
}

package allocator

import "fmt"

// Box is the kernel's Box<T, A> (rust/kernel/alloc/kbox.rs, 6.18): one
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
//
// Box[T] is a typed view of a RawBox, which holds the allocation and does
// all the work, so a Box[T] and a RawBox of T's layout behave and record
// events identically.
type Box[T any] struct {
	r RawBox // the Box; its layout is T's
}

// NewBox is Box::new: allocate room for a T with flags and store x there,
// or return an *AllocError (or an *ElemTypeError for a T that cannot live
// in kernel memory).
func NewBox[T any](m *Machine, a Allocator, x T, flags GFP) (*Box[T], error) {
	b, err := newBox[T](m, a, flags, "new")
	if err != nil {
		return nil, err
	}
	*b.val() = x
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

// KVBox is KVBox::new: x in a Box over KVmalloc on machine m.
func KVBox[T any](m *Machine, x T, flags GFP) (*Box[T], error) {
	return NewBox(m, KVmalloc{M: m}, x, flags)
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
	r, err := newRawBox(m, a, e, flags, op)
	if err != nil {
		return nil, err
	}
	return &Box[T]{r: *r}, nil
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
	r, err := rawBoxFromRaw(m, a, e, ptr)
	if err != nil {
		return nil, err
	}
	return &Box[T]{r: *r}, nil
}

// Raw returns the RawBox behind the Box: the same allocation, seen as bytes.
func (b *Box[T]) Raw() *RawBox { return &b.r }

// val is the value in the machine's memory, or nil once the Box is gone.
func (b *Box[T]) val() *T {
	if !b.r.live {
		return nil
	}
	return elemPtr[T](b.r.mem)
}

// Addr returns the address of the value: the dangling pointer for a
// zero-sized T; 0 once the Box is gone.
func (b *Box[T]) Addr() Addr { return b.r.ptr }

// Live reports whether the Box still owns its value.
func (b *Box[T]) Live() bool { return b.r.live }

// Ptr returns a pointer to the value in the machine's memory, or nil once
// the Box is gone. Writes through it change the value.
func (b *Box[T]) Ptr() *T { return b.val() }

// Get returns a copy of the value (*b). On a Box that is gone it records
// the misuse and returns the zero value.
func (b *Box[T]) Get() T {
	if !b.r.check("deref") {
		var zero T
		return zero
	}
	return *b.val()
}

// Write is Box::write: store x (*b = x). On a Box that is gone it records
// the misuse and does nothing.
func (b *Box[T]) Write(x T) {
	if b.r.check("write") {
		*b.val() = x
	}
}

// DropContents is Box::drop_contents: drop the value and keep the
// allocation for a new one (Write). Values without Go pointers need no
// dropping, so the memory keeps its bytes, as in the kernel.
func (b *Box[T]) DropContents() { b.r.DropContents() }

// IntoInner is Box::into_inner: the value, with the allocation freed. On a
// Box that is gone it records the misuse and returns the zero value.
func (b *Box[T]) IntoInner() T {
	var x T
	if !b.r.check("into_inner") {
		return x
	}
	x = *b.val()
	b.r.free("into_inner")
	return x
}

// IntoRaw is Box::into_raw: the value's address, given up by the Box; the
// memory is freed only if BoxFromRaw takes it back. It returns 0 on a Box
// that is gone (and records the misuse).
func (b *Box[T]) IntoRaw() Addr { return b.r.IntoRaw() }

// Leak is Box::leak: the value, never to be freed. It returns nil on a
// Box that is gone (and records the misuse).
func (b *Box[T]) Leak() *T {
	p := b.val()
	if _, ok := b.r.Leak(); !ok {
		return nil
	}
	return p
}

// Drop drops the Box: the value, then Allocator.Free with
// Layout::for_value (for a zero-sized T a zero-size layout, which frees
// nothing). Dropping a Box that is gone records the misuse and does
// nothing, where the kernel would have freed twice.
func (b *Box[T]) Drop() { b.r.Drop() }

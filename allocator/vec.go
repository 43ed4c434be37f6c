package allocator

import (
	"fmt"
	"math"
	"unsafe"
)

// Vec is the kernel's Vec<T, A> (rust/kernel/alloc/kvec.rs, 6.18): a
// growable array whose buffer is real memory of the simulated machine,
// obtained from an Allocator. KVec, VVec and KVVec are Vec over Kmalloc,
// Vmalloc and KVmalloc.
//
// The rules are the kernel's:
//   - Growth goes through Allocator.Realloc to max(2 * capacity, len +
//     additional) elements; NewVecWithCapacity gives exactly what it asks.
//   - Nothing shrinks the buffer: Truncate, Clear, Pop, Remove, Retain and
//     DrainAll keep the capacity. Only IntoIter().Collect reallocates down.
//   - A failed grow returns an *AllocError and leaves the vector unchanged.
//   - Zero-sized elements never allocate; their capacity is usize::MAX.
//   - Drop frees the buffer with the layout it was allocated with.
//
// T must hold no Go pointers (see ElemTypeError). Elements live in the
// machine's memory and are reached through Slice; they stay valid until
// the vector reallocates or is dropped, and the machine must outlive the
// vector. A Vec is used by the goroutine that owns its Machine.
//
// Vec[T] is a typed view of a RawVec, which holds the buffer and does all
// the work, so a Vec[T] and a RawVec of T's layout behave and record
// events identically.
type Vec[T any] struct {
	r RawVec // the vector; its element layout is T's
}

// PushError is the kernel's PushError: PushWithinCapacity found no spare
// capacity. The element is not stored.
type PushError struct {
	Cap uint64 // elements: the capacity, all of it in use
}

func (e *PushError) Error() string {
	return fmt.Sprintf("push_within_capacity: no spare capacity (len == capacity == %d)", e.Cap)
}

// InsertErrorKind says why InsertWithinCapacity refused.
type InsertErrorKind uint8

// InsertError kinds, as the kernel's InsertError variants.
const (
	InsertIndexOutOfBounds InsertErrorKind = iota // index > len
	InsertOutOfCapacity                           // len == capacity
)

// InsertError is the kernel's InsertError: IndexOutOfBounds or
// OutOfCapacity. The index is checked first.
type InsertError struct {
	Kind  InsertErrorKind
	Index uint64 // the index asked for
	Len   uint64 // elements
	Cap   uint64 // elements
}

func (e *InsertError) Error() string {
	if e.Kind == InsertIndexOutOfBounds {
		return fmt.Sprintf("insert_within_capacity: index %d out of bounds (len %d)", e.Index, e.Len)
	}
	return fmt.Sprintf("insert_within_capacity: no spare capacity (len == capacity == %d)", e.Cap)
}

// RemoveError is the kernel's RemoveError: the index was out of bounds.
type RemoveError struct {
	Index uint64 // the index asked for
	Len   uint64 // elements
}

func (e *RemoveError) Error() string {
	return fmt.Sprintf("remove: index %d out of bounds (len %d)", e.Index, e.Len)
}

// NewVec is Vec::new over allocator a: an empty vector with no memory.
// It fails only for an element type that cannot live in kernel memory
// (an *ElemTypeError) or a nil machine or allocator.
func NewVec[T any](m *Machine, a Allocator) (*Vec[T], error) {
	if m == nil || a == nil {
		return nil, fmt.Errorf("%w: a Vec needs a machine and an allocator", ErrBadAddress)
	}
	e, err := elemOf[T]()
	if err != nil {
		return nil, err
	}
	return &Vec[T]{r: RawVec{m: m, a: a, e: e, ptr: e.layout.Dangling()}}, nil
}

// KVec is KVec::new: an empty Vec over Kmalloc on machine m.
func KVec[T any](m *Machine) (*Vec[T], error) { return NewVec[T](m, Kmalloc{M: m}) }

// VVec is VVec::new: an empty Vec over Vmalloc on machine m.
func VVec[T any](m *Machine) (*Vec[T], error) { return NewVec[T](m, Vmalloc{M: m}) }

// KVVec is KVVec::new: an empty Vec over KVmalloc on machine m.
func KVVec[T any](m *Machine) (*Vec[T], error) { return NewVec[T](m, KVmalloc{M: m}) }

// NewVecWithCapacity is Vec::with_capacity: an empty vector whose capacity
// is exactly n (usize::MAX for zero-sized T), or an *AllocError.
func NewVecWithCapacity[T any](m *Machine, a Allocator, n uint64, flags GFP) (*Vec[T], error) {
	v, err := NewVec[T](m, a)
	if err != nil {
		return nil, err
	}
	if err := v.r.reserveOp("with_capacity", n, flags); err != nil {
		return nil, err
	}
	return v, nil
}

// NewVecFrom is the kvec![a, b, c] macro: a vector holding elems whose
// capacity is exactly len(elems). (The kernel builds a KBox<[T; N]> and
// converts it; that is one allocation of the same layout.)
func NewVecFrom[T any](m *Machine, a Allocator, flags GFP, elems ...T) (*Vec[T], error) {
	v, err := NewVecWithCapacity[T](m, a, uint64(len(elems)), flags)
	if err != nil {
		return nil, err
	}
	if err := v.ExtendFromSlice(elems, flags); err != nil {
		v.Drop()
		return nil, err
	}
	return v, nil
}

// VecFromRawParts is Vec::from_raw_parts: a vector over a buffer at ptr,
// made by allocator a with room for capacity elements, of which the first
// length are in use (as IntoRawParts returned them). The kernel trusts the
// caller; this checks what it can (the address has memory and is aligned,
// length <= capacity, the layout is valid) and returns an error otherwise.
// For zero-sized T the capacity is ignored.
func VecFromRawParts[T any](m *Machine, a Allocator, ptr Addr, length, capacity uint64) (*Vec[T], error) {
	v, err := NewVec[T](m, a)
	if err != nil {
		return nil, err
	}
	if err := v.r.fromRawParts(ptr, length, capacity); err != nil {
		return nil, err
	}
	return v, nil
}

// bytesOf views *x as its bytes. T holds no Go pointers (elemOf checked).
func bytesOf[T any](x *T) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(x)), unsafe.Sizeof(*x))
}

// bytesOfSlice views xs as their bytes.
func bytesOfSlice[T any](xs []T) []byte {
	if len(xs) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(xs))), uintptr(len(xs))*unsafe.Sizeof(xs[0]))
}

// elemPtr views the element bytes b (empty for zero-sized T) as a *T.
func elemPtr[T any](b []byte) *T {
	if len(b) == 0 {
		return new(T)
	}
	return (*T)(unsafe.Pointer(unsafe.SliceData(b)))
}

// Raw returns the RawVec behind the vector: the same buffer, seen as bytes.
func (v *Vec[T]) Raw() *RawVec { return &v.r }

// Len returns the number of elements.
func (v *Vec[T]) Len() uint64 { return v.r.len }

// Cap returns the capacity in elements: the layout the buffer was
// allocated with, never the allocator's slack; usize::MAX for zero-sized T.
func (v *Vec[T]) Cap() uint64 { return v.r.Cap() }

// IsEmpty reports whether the vector has no elements.
func (v *Vec[T]) IsEmpty() bool { return v.r.len == 0 }

// Addr returns the buffer's address (as_ptr); the dangling pointer, equal
// to the alignment, when there is no buffer.
func (v *Vec[T]) Addr() Addr { return v.r.ptr }

// Allocator returns the allocator the buffer comes from.
func (v *Vec[T]) Allocator() Allocator { return v.r.a }

// Layout returns the layout the buffer was allocated with (size 0 when
// there is none).
func (v *Vec[T]) Layout() Layout { return v.r.Layout() }

// Slice returns the elements in use, in the machine's memory (as_slice and
// as_mut_slice). Writes through it change the vector. It is valid until
// the vector next grows, is dropped or turned into an iterator. For
// zero-sized T it holds at most math.MaxInt elements.
func (v *Vec[T]) Slice() []T {
	if v.r.e.zst() {
		return unsafe.Slice(new(T), min(v.r.len, math.MaxInt))
	}
	if v.r.mem == nil {
		return nil
	}
	return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(v.r.mem))), v.r.len)
}

// Push is Vec::push: reserve room for one more element, growing the buffer
// if it is full, and append x. On failure it returns an *AllocError and
// the vector is unchanged.
func (v *Vec[T]) Push(x T, flags GFP) error {
	if r := &v.r; r.len < r.n && !r.m.tracing() {
		// Room, and no event to record: store x where put would.
		unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(r.mem))), r.n)[r.len] = x
		r.len++
		return nil
	}
	return v.r.push(elemSrc{b: bytesOf(&x)}, flags)
}

// PushWithinCapacity is Vec::push_within_capacity: append x only if there
// is spare capacity, else return a *PushError. It never allocates.
func (v *Vec[T]) PushWithinCapacity(x T) error {
	return v.r.pushWithinCapacity(elemSrc{b: bytesOf(&x)})
}

// InsertWithinCapacity is Vec::insert_within_capacity: insert x at index i,
// shifting the rest up, only if i <= len (checked first) and there is
// spare capacity. It never allocates.
func (v *Vec[T]) InsertWithinCapacity(i uint64, x T) error {
	return v.r.insertWithinCapacity(i, elemSrc{b: bytesOf(&x)})
}

// Pop is Vec::pop: remove and return the last element; false when empty.
// The capacity is kept.
func (v *Vec[T]) Pop() (T, bool) {
	var x T
	ok := v.r.pop(bytesOf(&x))
	return x, ok
}

// Remove is Vec::remove: remove and return the element at index i,
// shifting the rest down, or a *RemoveError. The capacity is kept.
func (v *Vec[T]) Remove(i uint64) (T, error) {
	var x T
	err := v.r.remove(i, bytesOf(&x))
	return x, err
}

// Truncate is Vec::truncate: keep the first n elements. It does nothing
// when n >= len, and never reallocates.
func (v *Vec[T]) Truncate(n uint64) { v.r.Truncate(n) }

// Clear is Vec::clear: remove every element and keep the capacity.
func (v *Vec[T]) Clear() { v.r.Clear() }

// Reserve is Vec::reserve: make room for at least additional more
// elements. If capacity - len >= additional it does nothing; otherwise the
// buffer is reallocated to max(2 * capacity, len + additional) elements.
// On failure it returns an *AllocError and the vector is unchanged.
func (v *Vec[T]) Reserve(additional uint64, flags GFP) error {
	return v.r.Reserve(additional, flags)
}

// Resize is Vec::resize: truncate to n elements, or append copies of x
// until there are n (reserving first; on failure an *AllocError and no
// change).
func (v *Vec[T]) Resize(n uint64, x T, flags GFP) error {
	return v.r.resize(n, elemSrc{b: bytesOf(&x)}, flags)
}

// ExtendFromSlice is Vec::extend_from_slice: append a copy of xs
// (reserving len(xs) first; on failure an *AllocError and no change). xs
// may be the vector's own Slice.
func (v *Vec[T]) ExtendFromSlice(xs []T, flags GFP) error {
	return v.r.ExtendFromSlice(bytesOfSlice(xs), uint64(len(xs)), flags)
}

// Retain is Vec::retain: keep only the elements for which keep returns
// true, in order, and never reallocate. keep may change the element it is
// given. Like the kernel, it swaps each kept element down to the end of
// the kept prefix and then truncates.
func (v *Vec[T]) Retain(keep func(*T) bool) {
	v.r.Retain(func(b []byte) bool { return keep(elemPtr[T](b)) })
}

// DrainAll is Vec::drain_all: take every element out, in order, leaving
// the vector empty with its capacity. The elements are copied out of the
// machine's memory (the kernel's iterator reads them lazily, under a
// borrow Go cannot express).
func (v *Vec[T]) DrainAll() []T {
	out := make([]T, min(v.r.len, math.MaxInt))
	copy(bytesOfSlice(out), v.r.drainAll())
	return out
}

// IntoRawParts is Vec::into_raw_parts: the buffer's address, the length and
// the capacity, handed to the caller, who must give them back through
// VecFromRawParts for the memory to be freed. The vector is left empty
// with no buffer.
func (v *Vec[T]) IntoRawParts() (ptr Addr, length, capacity uint64) { return v.r.IntoRawParts() }

// Drop drops the vector: the buffer is freed with the layout it was
// allocated with (Allocator.Free, which for no buffer frees a zero-size
// layout: nothing). The vector is left empty and may be used again.
func (v *Vec[T]) Drop() { v.r.Drop() }

// IntoIter is the kernel's IntoIter<T, A>: it owns a vector's buffer and
// yields its elements by value, front to back. Collect turns what is left
// back into a vector; Drop frees the buffer.
type IntoIter[T any] struct {
	r *RawIntoIter // the iterator over T's layout
}

// IntoIter is Vec::into_iter: an iterator that takes over the buffer. The
// vector is left empty with no buffer.
func (v *Vec[T]) IntoIter() *IntoIter[T] { return &IntoIter[T]{r: v.r.IntoIter()} }

// Next yields the next element; false when there is none.
func (it *IntoIter[T]) Next() (T, bool) {
	var x T
	ok := it.r.next(bytesOf(&x))
	return x, ok
}

// SizeHint is Iterator::size_hint: the exact number of elements left, as
// both bounds.
func (it *IntoIter[T]) SizeHint() (lower, upper uint64) { return it.r.SizeHint() }

// Len returns the number of elements left.
func (it *IntoIter[T]) Len() uint64 { return it.r.Len() }

// Collect is IntoIter::collect: the elements left, as a vector over the
// same buffer. If the iterator has advanced, they are moved to the front
// and the buffer is reallocated to exactly their number; if that realloc
// fails the old buffer is kept with its capacity. It does not fail.
func (it *IntoIter[T]) Collect(flags GFP) *Vec[T] { return &Vec[T]{r: *it.r.Collect(flags)} }

// Drop drops the iterator: the elements left and then the buffer, freed
// with the layout it was allocated with.
func (it *IntoIter[T]) Drop() { it.r.Drop() }

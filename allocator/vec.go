package allocator

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"unsafe"
)

// Vec is the kernel's Vec<T, A> (rust/kernel/alloc/kvec.rs, spec §8.7): a
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
type Vec[T any] struct {
	m      *Machine       // whose memory holds the buffer; immutable
	a      Allocator      // immutable
	e      elemInfo       // immutable
	ptr    Addr           // the buffer; the dangling e.layout.Align when there is none
	layout ArrayLayout[T] // what the buffer was allocated as; empty when there is none and for zero-sized T
	len    uint64         // elements in use; <= Cap()
	buf    []T            // the buffer as Go sees it, len(buf) == layout.Len(); nil when there is none
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
	return &Vec[T]{m: m, a: a, e: e, ptr: e.layout.Dangling()}, nil
}

// KVec is KVec::new: an empty Vec over Kmalloc on machine m.
func KVec[T any](m *Machine) (*Vec[T], error) { return NewVec[T](m, Kmalloc{M: m}) }

// VVec is VVec::new: an empty Vec over Vmalloc on machine m.
func VVec[T any](m *Machine) (*Vec[T], error) { return NewVec[T](m, Vmalloc{M: m}) }

// NewVecWithCapacity is Vec::with_capacity: an empty vector whose capacity
// is exactly n (usize::MAX for zero-sized T), or an *AllocError.
func NewVecWithCapacity[T any](m *Machine, a Allocator, n uint64, flags GFP) (*Vec[T], error) {
	v, err := NewVec[T](m, a)
	if err != nil {
		return nil, err
	}
	if err := v.reserveOp("with_capacity", n, flags); err != nil {
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
	if v.e.zst() {
		v.len = length
		return v, nil
	}
	if length > capacity {
		return nil, fmt.Errorf("%w: from_raw_parts: length %d is more than capacity %d", ErrBadSize, length, capacity)
	}
	size, ok := arrayBytes(capacity, v.e.layout.Size)
	if !ok {
		return nil, &LayoutError{Len: capacity, ElemSize: v.e.layout.Size}
	}
	if capacity == 0 {
		return v, nil
	}
	if uint64(ptr)%v.e.layout.Align != 0 {
		return nil, fmt.Errorf("%w: from_raw_parts: %v is not aligned to %d", ErrBadAddress, ptr, v.e.layout.Align)
	}
	mem, err := m.Span(ptr, size)
	if err != nil {
		return nil, fmt.Errorf("from_raw_parts: %w", err)
	}
	v.setBuffer(Block{Addr: ptr, Mem: mem}, capacity)
	v.len = length
	if m.tracing() {
		v.emit("from_raw_parts", growth{}, fmt.Sprintf("%s::from_raw_parts took over the buffer at %v: len %d, capacity %d",
			v.name(), ptr, length, capacity))
	}
	return v, nil
}

// Len returns the number of elements.
func (v *Vec[T]) Len() uint64 { return v.len }

// Cap returns the capacity in elements: the layout the buffer was
// allocated with, never the allocator's slack; usize::MAX for zero-sized T.
func (v *Vec[T]) Cap() uint64 {
	if v.e.zst() {
		return math.MaxUint64
	}
	return v.layout.n
}

// IsEmpty reports whether the vector has no elements.
func (v *Vec[T]) IsEmpty() bool { return v.len == 0 }

// Addr returns the buffer's address (as_ptr); the dangling pointer, equal
// to the alignment, when there is no buffer.
func (v *Vec[T]) Addr() Addr { return v.ptr }

// Allocator returns the allocator the buffer comes from.
func (v *Vec[T]) Allocator() Allocator { return v.a }

// Layout returns the layout the buffer was allocated with (size 0 when
// there is none).
func (v *Vec[T]) Layout() Layout { return v.layout.layoutWith(v.e.layout) }

// Slice returns the elements in use, in the machine's memory (as_slice and
// as_mut_slice). Writes through it change the vector. It is valid until
// the vector next grows, is dropped or turned into an iterator. For
// zero-sized T it holds at most math.MaxInt elements.
func (v *Vec[T]) Slice() []T {
	if v.e.zst() {
		return unsafe.Slice(new(T), min(v.len, math.MaxInt))
	}
	return v.buf[:v.len:v.len]
}

// Push is Vec::push: reserve room for one more element, growing the buffer
// if it is full, and append x. On failure it returns an *AllocError and
// the vector is unchanged.
func (v *Vec[T]) Push(x T, flags GFP) error {
	g, err := v.grow(1, flags)
	if err != nil {
		v.failed("push", g, err)
		return err
	}
	v.put(x)
	if v.m.tracing() {
		if g.grew() {
			v.emit("push", g, fmt.Sprintf("%s::push %s; len %d -> %d", v.name(), v.grewText(g), v.len-1, v.len))
		} else {
			v.emit("push", g, fmt.Sprintf("%s::push stored the element within capacity %s: len %d -> %d",
				v.name(), v.capText(), v.len-1, v.len))
		}
	}
	return nil
}

// PushWithinCapacity is Vec::push_within_capacity: append x only if there
// is spare capacity, else return a *PushError. It never allocates.
func (v *Vec[T]) PushWithinCapacity(x T) error {
	if v.len >= v.Cap() {
		err := &PushError{Cap: v.Cap()}
		if v.m.tracing() {
			v.emit("push_within_capacity", growth{}, fmt.Sprintf("%s::push_within_capacity refused: len %d == capacity, and it never allocates",
				v.name(), v.len))
		}
		return err
	}
	v.put(x)
	if v.m.tracing() {
		v.emit("push_within_capacity", growth{}, fmt.Sprintf("%s::push_within_capacity stored the element: len %d -> %d, capacity %s",
			v.name(), v.len-1, v.len, v.capText()))
	}
	return nil
}

// put appends x; there is room.
func (v *Vec[T]) put(x T) {
	if !v.e.zst() {
		v.buf[v.len] = x
	}
	v.len++
}

// InsertWithinCapacity is Vec::insert_within_capacity: insert x at index i,
// shifting the rest up, only if i <= len (checked first) and there is
// spare capacity. It never allocates.
func (v *Vec[T]) InsertWithinCapacity(i uint64, x T) error {
	var err *InsertError
	switch {
	case i > v.len:
		err = &InsertError{Kind: InsertIndexOutOfBounds, Index: i, Len: v.len, Cap: v.Cap()}
	case v.len >= v.Cap():
		err = &InsertError{Kind: InsertOutOfCapacity, Index: i, Len: v.len, Cap: v.Cap()}
	}
	if err != nil {
		if v.m.tracing() {
			if err.Kind == InsertIndexOutOfBounds {
				v.emit("insert_within_capacity", growth{}, fmt.Sprintf("%s::insert_within_capacity refused: index %d > len %d (the index is checked before the capacity)", v.name(), i, v.len))
			} else {
				v.emit("insert_within_capacity", growth{}, fmt.Sprintf("%s::insert_within_capacity refused: len %d == capacity, and it never allocates", v.name(), v.len))
			}
		}
		return err
	}
	if !v.e.zst() {
		copy(v.buf[i+1:v.len+1], v.buf[i:v.len])
		v.buf[i] = x
	}
	v.len++
	if v.m.tracing() {
		v.emit("insert_within_capacity", growth{}, fmt.Sprintf("%s::insert_within_capacity put the element at index %d, shifting %s up: len %d -> %d",
			v.name(), i, elements(v.len-1-i), v.len-1, v.len))
	}
	return nil
}

// Pop is Vec::pop: remove and return the last element; false when empty.
// The capacity is kept.
func (v *Vec[T]) Pop() (T, bool) {
	var x T
	if v.len == 0 {
		return x, false
	}
	v.len--
	if !v.e.zst() {
		x = v.buf[v.len]
	}
	if v.m.tracing() {
		v.emit("pop", growth{}, fmt.Sprintf("%s::pop: len %d -> %d; capacity stays %s (a Vec never shrinks)", v.name(), v.len+1, v.len, v.capText()))
	}
	return x, true
}

// Remove is Vec::remove: remove and return the element at index i,
// shifting the rest down, or a *RemoveError. The capacity is kept.
func (v *Vec[T]) Remove(i uint64) (T, error) {
	var x T
	if i >= v.len {
		err := &RemoveError{Index: i, Len: v.len}
		if v.m.tracing() {
			v.emit("remove", growth{}, fmt.Sprintf("%s::remove refused: index %d >= len %d", v.name(), i, v.len))
		}
		return x, err
	}
	if !v.e.zst() {
		x = v.buf[i]
		copy(v.buf[i:v.len-1], v.buf[i+1:v.len])
	}
	v.len--
	if v.m.tracing() {
		v.emit("remove", growth{}, fmt.Sprintf("%s::remove took index %d, shifting %s down: len %d -> %d; capacity stays %s (a Vec never shrinks)",
			v.name(), i, elements(v.len-i), v.len+1, v.len, v.capText()))
	}
	return x, nil
}

// Truncate is Vec::truncate: keep the first n elements. It does nothing
// when n >= len, and never reallocates.
func (v *Vec[T]) Truncate(n uint64) { v.truncateOp("truncate", n) }

// Clear is Vec::clear: remove every element and keep the capacity.
func (v *Vec[T]) Clear() { v.truncateOp("clear", 0) }

func (v *Vec[T]) truncateOp(op string, n uint64) {
	if n >= v.len {
		return
	}
	old := v.len
	v.len = n
	if v.m.tracing() {
		v.emit(op, growth{}, fmt.Sprintf("%s::%s: len %d -> %d; capacity stays %s (a Vec never shrinks)", v.name(), op, old, n, v.capText()))
	}
}

// Reserve is Vec::reserve: make room for at least additional more
// elements. If capacity - len >= additional it does nothing; otherwise the
// buffer is reallocated to max(2 * capacity, len + additional) elements.
// On failure it returns an *AllocError and the vector is unchanged.
func (v *Vec[T]) Reserve(additional uint64, flags GFP) error {
	return v.reserveOp("reserve", additional, flags)
}

func (v *Vec[T]) reserveOp(op string, additional uint64, flags GFP) error {
	g, err := v.grow(additional, flags)
	if err != nil {
		v.failed(op, g, err)
		return err
	}
	if !v.m.tracing() {
		return nil
	}
	switch {
	case g.grew():
		v.emit(op, g, fmt.Sprintf("%s::%s(%d) %s", v.name(), op, additional, v.grewText(g)))
	case additional > 0:
		v.emit(op, g, fmt.Sprintf("%s::%s(%d) did nothing: capacity %s - len %d >= %d",
			v.name(), op, additional, v.capText(), v.len, additional))
	}
	return nil
}

// Resize is Vec::resize: truncate to n elements, or append copies of x
// until there are n (reserving first; on failure an *AllocError and no
// change).
func (v *Vec[T]) Resize(n uint64, x T, flags GFP) error {
	if n <= v.len {
		v.truncateOp("resize", n)
		return nil
	}
	add := n - v.len
	g, err := v.grow(add, flags)
	if err != nil {
		v.failed("resize", g, err)
		return err
	}
	if !v.e.zst() {
		fill := v.buf[v.len:n]
		for i := range fill {
			fill[i] = x
		}
	}
	old := v.len
	v.len = n
	if v.m.tracing() {
		v.emit("resize", g, fmt.Sprintf("%s::resize appended %s equal to the value: len %d -> %d; %s", v.name(), elements(add), old, n, v.growthClause(g)))
	}
	return nil
}

// ExtendFromSlice is Vec::extend_from_slice: append a copy of xs
// (reserving len(xs) first; on failure an *AllocError and no change). xs
// may be the vector's own Slice.
func (v *Vec[T]) ExtendFromSlice(xs []T, flags GFP) error {
	if len(xs) > 0 && !v.e.zst() && v.overlaps(xs) {
		// A grow may move and free the buffer xs points into: keep a copy.
		xs = append([]T(nil), xs...)
	}
	g, err := v.grow(uint64(len(xs)), flags)
	if err != nil {
		v.failed("extend_from_slice", g, err)
		return err
	}
	if !v.e.zst() {
		copy(v.buf[v.len:], xs)
	}
	old := v.len
	v.len += uint64(len(xs))
	if v.m.tracing() && len(xs) > 0 {
		v.emit("extend_from_slice", g, fmt.Sprintf("%s::extend_from_slice appended %s: len %d -> %d; %s",
			v.name(), elements(uint64(len(xs))), old, v.len, v.growthClause(g)))
	}
	return nil
}

// overlaps reports whether xs points into the buffer.
func (v *Vec[T]) overlaps(xs []T) bool {
	if len(v.buf) == 0 {
		return false
	}
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(v.buf)))
	hi := lo + uintptr(len(v.buf))*uintptr(v.e.layout.Size)
	p := uintptr(unsafe.Pointer(unsafe.SliceData(xs)))
	return p >= lo && p < hi
}

// Retain is Vec::retain: keep only the elements for which keep returns
// true, in order, and never reallocate. keep may change the element it is
// given. Like the kernel, it swaps each kept element down to the end of
// the kept prefix and then truncates.
func (v *Vec[T]) Retain(keep func(*T) bool) {
	var kept uint64
	if v.e.zst() {
		var x T
		for range v.len {
			if keep(&x) {
				kept++
			}
		}
	} else {
		for next := uint64(0); next < v.len; next++ {
			if keep(&v.buf[next]) {
				v.buf[kept], v.buf[next] = v.buf[next], v.buf[kept]
				kept++
			}
		}
	}
	if kept == v.len {
		return
	}
	old := v.len
	v.len = kept
	if v.m.tracing() {
		v.emit("retain", growth{}, fmt.Sprintf("%s::retain kept %d of %s: len %d -> %d; capacity stays %s (a Vec never shrinks)",
			v.name(), kept, elements(old), old, kept, v.capText()))
	}
}

// DrainAll is Vec::drain_all: take every element out, in order, leaving
// the vector empty with its capacity. The elements are copied out of the
// machine's memory (the kernel's iterator reads them lazily, under a
// borrow Go cannot express).
func (v *Vec[T]) DrainAll() []T {
	out := make([]T, min(v.len, math.MaxInt))
	if !v.e.zst() {
		copy(out, v.buf[:v.len])
	}
	old := v.len
	v.len = 0
	if v.m.tracing() && old > 0 {
		v.emit("drain_all", growth{}, fmt.Sprintf("%s::drain_all took %s: len %d -> 0; capacity stays %s (a Vec never shrinks)",
			v.name(), elements(old), old, v.capText()))
	}
	return out
}

// IntoRawParts is Vec::into_raw_parts: the buffer's address, the length and
// the capacity, handed to the caller, who must give them back through
// VecFromRawParts for the memory to be freed. The vector is left empty
// with no buffer.
func (v *Vec[T]) IntoRawParts() (ptr Addr, length, capacity uint64) {
	ptr, length, capacity = v.ptr, v.len, v.Cap()
	if v.m.tracing() {
		v.emit("into_raw_parts", growth{}, fmt.Sprintf("%s::into_raw_parts gave up the buffer at %v: len %d, capacity %s; it is no longer freed by the vector",
			v.name(), ptr, length, v.capText()))
	}
	v.forget()
	return ptr, length, capacity
}

// Drop drops the vector: the buffer is freed with the layout it was
// allocated with (Allocator.Free, which for no buffer frees a zero-size
// layout: nothing). The vector is left empty and may be used again.
func (v *Vec[T]) Drop() {
	ptr, l, n := v.ptr, v.Layout(), v.len
	mark := v.m.logMark()
	v.a.Free(ptr, l)
	if v.m.tracing() {
		var g growth
		g.cause, g.info = v.m.reallocSince(mark)
		if l.Size == 0 {
			v.emit("drop", g, fmt.Sprintf("%s dropped %s; it had no buffer, so the free of a zero-size layout did nothing", v.name(), elements(n)))
		} else {
			v.emit("drop", g, fmt.Sprintf("%s dropped %s and freed the buffer at %v with the layout it was allocated with (%d bytes, align %d)",
				v.name(), elements(n), ptr, l.Size, l.Align))
		}
	}
	v.forget()
}

// forget empties the vector without freeing anything.
func (v *Vec[T]) forget() {
	v.ptr, v.layout, v.len, v.buf = v.e.layout.Dangling(), ArrayLayout[T]{}, 0, nil
}

// growth describes what a grow did.
type growth struct {
	len, additional uint64       // elements: the length and the room asked for
	oldCap, newCap  uint64       // elements, before and after (equal: no realloc)
	cause           uint64       // Seq of the EvRealloc of the realloc, 0 if none
	info            *ReallocInfo // the allocator's decision, nil if none
}

func (g growth) grew() bool { return g.newCap != g.oldCap }

// grow is the kernel's reserve: nothing if capacity - len >= additional;
// an *AllocError for zero-sized T or on overflow; otherwise a realloc to
// max(2 * capacity, len + additional) elements. On failure nothing
// changes.
func (v *Vec[T]) grow(additional uint64, flags GFP) (growth, error) {
	c := v.Cap()
	g := growth{len: v.len, additional: additional, oldCap: c, newCap: c}
	if c-v.len >= additional {
		return g, nil
	}
	if v.e.zst() {
		return g, &AllocError{Err: fmt.Errorf("%w: %d zero-sized elements plus %d overflow usize", ErrBadSize, v.len, additional)}
	}
	need, carry := bits.Add64(v.len, additional, 0)
	if carry != 0 {
		return g, &AllocError{Err: fmt.Errorf("%w: len %d + %d overflows usize", ErrBadSize, v.len, additional)}
	}
	newCap := max(c*2, need)
	size, ok := arrayBytes(newCap, v.e.layout.Size)
	if !ok {
		return g, &AllocError{Err: &LayoutError{Len: newCap, ElemSize: v.e.layout.Size}}
	}
	g.newCap = newCap
	mark := v.m.logMark()
	b, err := v.a.Realloc(v.ptr, Layout{Size: size, Align: v.e.layout.Align}, v.Layout(), flags)
	g.cause, g.info = v.m.reallocSince(mark)
	if err != nil {
		return g, asAllocError(err)
	}
	v.setBuffer(b, newCap)
	return g, nil
}

// setBuffer makes b, allocated for n elements, the buffer.
func (v *Vec[T]) setBuffer(b Block, n uint64) {
	v.ptr, v.layout, v.buf = b.Addr, ArrayLayout[T]{n: n}, viewAs[T](v.a, b, n, v.e)
}

// viewAs views the block b, allocated for n elements of e, as a []T. An
// allocator that breaks its contract (a block of the wrong size or
// alignment) is a bug: Go cannot use misaligned memory as T.
func viewAs[T any](a Allocator, b Block, n uint64, e elemInfo) []T {
	if n == 0 || e.zst() {
		return nil
	}
	if uint64(len(b.Mem)) != n*e.layout.Size {
		throw("viewAs", fmt.Sprintf("%s returned %d bytes at %v for %d elements of %d bytes", a.Name(), len(b.Mem), b.Addr, n, e.layout.Size))
	}
	p := unsafe.Pointer(unsafe.SliceData(b.Mem))
	if uint64(b.Addr)%e.layout.Align != 0 || uintptr(p)%unsafe.Alignof(*(*T)(nil)) != 0 {
		throw("viewAs", fmt.Sprintf("%s returned %v (host %p), not aligned to %d", a.Name(), b.Addr, p, e.layout.Align))
	}
	return unsafe.Slice((*T)(p), n)
}

// elements says "1 element" or "n elements".
func elements(n uint64) string { return fmt.Sprintf("%d %s", n, plural(n, "element")) }

// name is the vector's type as the kernel spells it: KVec<u8>.
func (v *Vec[T]) name() string { return containerName("Vec", v.a, v.e.name) }

// capText prints the capacity: a number, or usize::MAX for zero-sized T.
func (v *Vec[T]) capText() string {
	if v.e.zst() {
		return "usize::MAX"
	}
	return fmt.Sprint(v.layout.n)
}

// grewText tells a growth: "grew capacity 8 -> 16 = max(2 * 8, 8 + 1):
// krealloc moved it to kmalloc-16".
func (v *Vec[T]) grewText(g growth) string {
	return fmt.Sprintf("grew capacity %d -> %d = max(2 * %d, %d + %d): %s",
		g.oldCap, g.newCap, g.oldCap, g.len, g.additional, describeRealloc(g.info))
}

// growthClause is grewText, or that the capacity sufficed.
func (v *Vec[T]) growthClause(g growth) string {
	if g.grew() {
		return v.grewText(g)
	}
	return "within capacity " + v.capText()
}

// failed records a grow that failed; the vector is unchanged.
func (v *Vec[T]) failed(op string, g growth, err error) {
	if !v.m.tracing() {
		return
	}
	what := err.Error()
	var le *LayoutError
	switch {
	case errors.As(err, &le), v.e.zst():
		// No realloc was tried: the error says why.
	case g.info != nil:
		what = fmt.Sprintf("growing capacity %d -> %d failed (%s)", g.oldCap, g.newCap, describeRealloc(g.info))
	default:
		what = fmt.Sprintf("growing capacity %d -> %d failed: %v", g.oldCap, g.newCap, err)
	}
	v.emit(op, g, fmt.Sprintf("%s::%s returned AllocError: %s; the vector is unchanged (len %d, capacity %s)",
		v.name(), op, what, v.len, v.capText()))
}

// emit records an EvVecOp for the vector as it now is.
func (v *Vec[T]) emit(op string, g growth, text string) {
	idx := -1
	if !v.e.zst() {
		idx = int(min(v.layout.n, math.MaxInt))
	}
	v.m.emit(Event{Kind: EvVecOp, Op: op, Addr: v.ptr, Size: v.len, Bytes: v.Layout().Size, Index: idx,
		Cause: g.cause, Realloc: g.info, Text: text})
}

// IntoIter is the kernel's IntoIter<T, A>: it owns a vector's buffer and
// yields its elements by value, front to back. Collect turns what is left
// back into a vector; Drop frees the buffer.
type IntoIter[T any] struct {
	m      *Machine       // immutable
	a      Allocator      // immutable
	e      elemInfo       // immutable
	buf    Addr           // the buffer; dangling when there is none
	layout ArrayLayout[T] // what the buffer was allocated as
	mem    []T            // the whole buffer as Go sees it
	pos    uint64         // index of the next element; stays 0 for zero-sized T, as ptr.add(1) does not move
	len    uint64         // elements not yet yielded
	spent  bool           // collected or dropped: it owns nothing
}

// IntoIter is Vec::into_iter: an iterator that takes over the buffer. The
// vector is left empty with no buffer.
func (v *Vec[T]) IntoIter() *IntoIter[T] {
	it := &IntoIter[T]{m: v.m, a: v.a, e: v.e, buf: v.ptr, layout: v.layout, mem: v.buf, len: v.len}
	v.forget()
	return it
}

// Next yields the next element; false when there is none.
func (it *IntoIter[T]) Next() (T, bool) {
	var x T
	if it.len == 0 {
		return x, false
	}
	if !it.e.zst() {
		x = it.mem[it.pos]
		it.pos++
	}
	it.len--
	return x, true
}

// SizeHint is Iterator::size_hint: the exact number of elements left, as
// both bounds.
func (it *IntoIter[T]) SizeHint() (lower, upper uint64) { return it.len, it.len }

// Len returns the number of elements left.
func (it *IntoIter[T]) Len() uint64 { return it.len }

// Collect is IntoIter::collect: the elements left, as a vector over the
// same buffer. If the iterator has advanced, they are moved to the front
// and the buffer is reallocated to exactly their number; if that realloc
// fails the old buffer is kept with its capacity. It does not fail.
func (it *IntoIter[T]) Collect(flags GFP) *Vec[T] {
	v := &Vec[T]{m: it.m, a: it.a, e: it.e, ptr: it.e.layout.Dangling()}
	if it.spent {
		return v
	}
	it.spent = true
	v.ptr, v.layout, v.buf, v.len = it.buf, it.layout, it.mem, it.len
	if it.pos == 0 {
		if it.m.tracing() {
			v.emit("collect", growth{}, fmt.Sprintf("%s::collect: the iterator had not advanced, so the buffer is kept as it is (len %d, capacity %s)",
				v.name(), v.len, v.capText()))
		}
		return v
	}
	copy(it.mem[:it.len], it.mem[it.pos:it.pos+it.len])
	old := v.Layout()
	g := growth{len: it.len, oldCap: it.layout.n, newCap: it.len}
	mark := it.m.logMark()
	b, err := it.a.Realloc(it.buf, ArrayLayout[T]{n: it.len}.layoutWith(it.e.layout), old, flags)
	g.cause, g.info = it.m.reallocSince(mark)
	if err != nil {
		g.newCap = g.oldCap
		if it.m.tracing() {
			v.emit("collect", g, fmt.Sprintf("%s::collect moved %s to the front; the realloc to exactly them failed (%s), so the old buffer is kept with capacity %d",
				v.name(), elements(it.len), describeRealloc(g.info), g.oldCap))
		}
		return v
	}
	v.setBuffer(b, it.len)
	if it.m.tracing() {
		v.emit("collect", g, fmt.Sprintf("%s::collect moved %s to the front and reallocated to exactly them: capacity %d -> %d, %s",
			v.name(), elements(it.len), g.oldCap, it.len, describeRealloc(g.info)))
	}
	return v
}

// Drop drops the iterator: the elements left and then the buffer, freed
// with the layout it was allocated with.
func (it *IntoIter[T]) Drop() {
	if it.spent {
		return
	}
	it.spent = true
	v := &Vec[T]{m: it.m, a: it.a, e: it.e, ptr: it.buf, layout: it.layout, buf: it.mem, len: it.len}
	v.Drop()
	it.len = 0
}

package allocator

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"unsafe"
)

// RawVec is the kernel's Vec<T, A> for an element type known only at run
// time: elements of a Layout (size and alignment) and a name for event
// texts, held as bytes. It is the one implementation of Vec: Vec[T] is a
// typed view of a RawVec, so the growth rule, the no-shrink rule, the
// failures and every event are the same for both. The scripting layer
// uses it for kvec(elem_size), whose element size is a run-time value.
//
// The rules are the kernel's (see Vec). Element arguments are byte slices
// exactly ElemLayout().Size long; a slice of another length is a caller
// bug, refused with an ErrBadSize error before anything changes. Values
// returned are copies.
type RawVec struct {
	m   *Machine  // whose memory holds the buffer; immutable
	a   Allocator // immutable
	e   elemInfo  // immutable
	ptr Addr      // the buffer; the dangling e.layout.Align when there is none
	n   uint64    // elements: the ArrayLayout the buffer was allocated as; 0 when there is none and for zero-sized elements
	len uint64    // elements in use; <= Cap()
	mem []byte    // the buffer, n * e.layout.Size bytes; nil when there is none
}

// NewRawVec is Vec::new over allocator a for elements of layout elem,
// called name in event texts ("u32", "[u8; 24]"; "" gives "[u8; size]").
// elem.Align must be a power of two no larger than 1<<29 that divides
// elem.Size, as for any Rust type.
func NewRawVec(m *Machine, a Allocator, elem Layout, name string) (*RawVec, error) {
	if m == nil || a == nil {
		return nil, fmt.Errorf("%w: a Vec needs a machine and an allocator", ErrBadAddress)
	}
	e, err := rawElem(elem, name)
	if err != nil {
		return nil, err
	}
	return &RawVec{m: m, a: a, e: e, ptr: e.layout.Dangling()}, nil
}

// rawElem checks a run-time element layout and names it.
func rawElem(elem Layout, name string) (elemInfo, error) {
	switch {
	case !isPowerOfTwo(elem.Align) || elem.Align > maxReprAlign:
		return elemInfo{}, fmt.Errorf("%w: element alignment %d is not a power of two up to 1<<29", ErrBadSize, elem.Align)
	case elem.Size%elem.Align != 0:
		return elemInfo{}, fmt.Errorf("%w: element size %d is not a multiple of its alignment %d (Rust pads a type to its alignment)", ErrBadSize, elem.Size, elem.Align)
	case elem.Size > maxIsize:
		return elemInfo{}, fmt.Errorf("%w: element size %d exceeds isize::MAX", ErrBadSize, elem.Size)
	}
	if name == "" {
		name = fmt.Sprintf("[u8; %d]", elem.Size)
	}
	return elemInfo{layout: elem, name: name}, nil
}

// NewRawVecWithCapacity is Vec::with_capacity for a RawVec: capacity
// exactly n (usize::MAX for zero-sized elements), or an *AllocError.
func NewRawVecWithCapacity(m *Machine, a Allocator, elem Layout, name string, n uint64, flags GFP) (*RawVec, error) {
	v, err := NewRawVec(m, a, elem, name)
	if err != nil {
		return nil, err
	}
	if err := v.reserveOp("with_capacity", n, flags); err != nil {
		return nil, err
	}
	return v, nil
}

// RawVecFromRawParts is Vec::from_raw_parts for a RawVec: a vector over
// the buffer at ptr, made by allocator a with room for capacity elements,
// of which the first length are in use. The kernel trusts the caller; this
// checks what it can (the address has memory and is aligned, length <=
// capacity, the layout is valid) and returns an error otherwise. For
// zero-sized elements the capacity is ignored.
func RawVecFromRawParts(m *Machine, a Allocator, elem Layout, name string, ptr Addr, length, capacity uint64) (*RawVec, error) {
	v, err := NewRawVec(m, a, elem, name)
	if err != nil {
		return nil, err
	}
	if err := v.fromRawParts(ptr, length, capacity); err != nil {
		return nil, err
	}
	return v, nil
}

func (v *RawVec) fromRawParts(ptr Addr, length, capacity uint64) error {
	if v.e.zst() {
		v.len = length
		return nil
	}
	if length > capacity {
		return fmt.Errorf("%w: from_raw_parts: length %d is more than capacity %d", ErrBadSize, length, capacity)
	}
	size, ok := arrayBytes(capacity, v.e.layout.Size)
	if !ok {
		return &LayoutError{Len: capacity, ElemSize: v.e.layout.Size}
	}
	if capacity == 0 {
		return nil
	}
	if uint64(ptr)%v.e.layout.Align != 0 {
		return fmt.Errorf("%w: from_raw_parts: %v is not aligned to %d", ErrBadAddress, ptr, v.e.layout.Align)
	}
	mem, err := v.m.Span(ptr, size)
	if err != nil {
		return fmt.Errorf("from_raw_parts: %w", err)
	}
	v.setBuffer(Block{Addr: ptr, Mem: mem}, capacity)
	v.len = length
	if v.m.tracing() {
		v.emit("from_raw_parts", growth{}, fmt.Sprintf("%s::from_raw_parts took over the buffer at %v: len %d, capacity %d",
			v.name(), ptr, length, capacity))
	}
	return nil
}

// Len returns the number of elements.
func (v *RawVec) Len() uint64 { return v.len }

// Cap returns the capacity in elements: the layout the buffer was
// allocated with, never the allocator's slack; usize::MAX for zero-sized
// elements.
func (v *RawVec) Cap() uint64 {
	if v.e.zst() {
		return math.MaxUint64
	}
	return v.n
}

// IsEmpty reports whether the vector has no elements.
func (v *RawVec) IsEmpty() bool { return v.len == 0 }

// Addr returns the buffer's address (as_ptr); the dangling pointer, equal
// to the alignment, when there is no buffer.
func (v *RawVec) Addr() Addr { return v.ptr }

// Allocator returns the allocator the buffer comes from.
func (v *RawVec) Allocator() Allocator { return v.a }

// Layout returns the layout the buffer was allocated with (size 0 when
// there is none).
func (v *RawVec) Layout() Layout {
	return Layout{Size: v.n * v.e.layout.Size, Align: v.e.layout.Align}
}

// ElemLayout returns the layout of one element.
func (v *RawVec) ElemLayout() Layout { return v.e.layout }

// Name returns the vector's type as the kernel spells it: KVec<u8>.
func (v *RawVec) Name() string { return v.name() }

// Bytes returns the elements in use as bytes in the machine's memory,
// Len() * ElemLayout().Size of them. Writes through it change the vector.
// It is valid until the vector next grows, is dropped or turned into an
// iterator.
func (v *RawVec) Bytes() []byte {
	if v.mem == nil {
		return nil
	}
	k := v.len * v.e.layout.Size
	return v.mem[:k:k]
}

// At returns a copy of element i, or false when i >= Len().
func (v *RawVec) At(i uint64) ([]byte, bool) {
	if i >= v.len {
		return nil, false
	}
	return append([]byte(nil), v.elem(i)...), true
}

// elem returns element i of the buffer (empty for zero-sized elements).
func (v *RawVec) elem(i uint64) []byte {
	if v.e.zst() {
		return nil
	}
	s := v.e.layout.Size
	return v.mem[i*s : (i+1)*s : (i+1)*s]
}

// checkElems refuses element bytes that are not n elements long.
func (v *RawVec) checkElems(op string, b []byte, n uint64) error {
	if hi, lo := bits.Mul64(n, v.e.layout.Size); hi != 0 || uint64(len(b)) != lo {
		return fmt.Errorf("%w: %s::%s: %d bytes given for %s of %d bytes", ErrBadSize, v.name(), op, len(b), elements(n), v.e.layout.Size)
	}
	return nil
}

// Push is Vec::push: reserve room for one more element, growing the buffer
// if it is full, and append x. On failure it returns an *AllocError and
// the vector is unchanged.
func (v *RawVec) Push(x []byte, flags GFP) error {
	if err := v.checkElems("push", x, 1); err != nil {
		return err
	}
	return v.push(elemSrc{b: x}, flags)
}

// ElemFunc writes element k of those a call adds (0 for push and insert)
// into dst, its place in the buffer: exactly ElemLayout().Size bytes,
// holding whatever was there before. It is called only once the vector
// has room, so an element need not be built in Go memory first.
type ElemFunc func(k uint64, dst []byte)

// elemSrc supplies the elements an operation stores: copies from b, laid
// out stride bytes apart (stride 0: b every time), or written by f.
type elemSrc struct {
	b      []byte
	stride uint64   // bytes
	f      ElemFunc // when set, b is unused
}

// write writes element k into dst.
func (src elemSrc) write(k uint64, dst []byte) {
	if src.f != nil {
		src.f(k, dst)
		return
	}
	copy(dst, src.b[k*src.stride:])
}

// PushFunc is Push with the element written by f into its place once
// there is room.
func (v *RawVec) PushFunc(f ElemFunc, flags GFP) error { return v.push(elemSrc{f: f}, flags) }

func (v *RawVec) push(src elemSrc, flags GFP) error {
	g, err := v.grow(1, flags)
	if err != nil {
		v.failed("push", g, err)
		return err
	}
	v.put(src)
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
func (v *RawVec) PushWithinCapacity(x []byte) error {
	if err := v.checkElems("push_within_capacity", x, 1); err != nil {
		return err
	}
	return v.pushWithinCapacity(elemSrc{b: x})
}

func (v *RawVec) pushWithinCapacity(src elemSrc) error {
	if v.len >= v.Cap() {
		err := &PushError{Cap: v.Cap()}
		if v.m.tracing() {
			v.emit("push_within_capacity", growth{}, fmt.Sprintf("%s::push_within_capacity refused: len %d == capacity, and it never allocates",
				v.name(), v.len))
		}
		return err
	}
	v.put(src)
	if v.m.tracing() {
		v.emit("push_within_capacity", growth{}, fmt.Sprintf("%s::push_within_capacity stored the element: len %d -> %d, capacity %s",
			v.name(), v.len-1, v.len, v.capText()))
	}
	return nil
}

// put appends the element src supplies; there is room.
func (v *RawVec) put(src elemSrc) {
	if !v.e.zst() {
		src.write(0, v.elem(v.len))
	}
	v.len++
}

// InsertWithinCapacity is Vec::insert_within_capacity: insert x at index i,
// shifting the rest up, only if i <= len (checked first) and there is
// spare capacity, else an *InsertError. It never allocates.
func (v *RawVec) InsertWithinCapacity(i uint64, x []byte) error {
	if err := v.checkElems("insert_within_capacity", x, 1); err != nil {
		return err
	}
	return v.insertWithinCapacity(i, elemSrc{b: x})
}

// InsertWithinCapacityFunc is InsertWithinCapacity with the element
// written by f into its place once there is room.
func (v *RawVec) InsertWithinCapacityFunc(i uint64, f ElemFunc) error {
	return v.insertWithinCapacity(i, elemSrc{f: f})
}

func (v *RawVec) insertWithinCapacity(i uint64, src elemSrc) error {
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
	if s := v.e.layout.Size; s > 0 {
		copy(v.mem[(i+1)*s:(v.len+1)*s], v.mem[i*s:v.len*s])
		src.write(0, v.elem(i))
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
func (v *RawVec) Pop() ([]byte, bool) {
	x := make([]byte, v.e.layout.Size)
	if !v.pop(x) {
		return nil, false
	}
	return x, true
}

// pop copies the last element into dst and removes it.
func (v *RawVec) pop(dst []byte) bool {
	if v.len == 0 {
		return false
	}
	v.len--
	copy(dst, v.elem(v.len))
	if v.m.tracing() {
		v.emit("pop", growth{}, fmt.Sprintf("%s::pop: len %d -> %d; capacity stays %s (a Vec never shrinks)", v.name(), v.len+1, v.len, v.capText()))
	}
	return true
}

// Remove is Vec::remove: remove and return the element at index i,
// shifting the rest down, or a *RemoveError. The capacity is kept.
func (v *RawVec) Remove(i uint64) ([]byte, error) {
	x := make([]byte, v.e.layout.Size)
	if err := v.remove(i, x); err != nil {
		return nil, err
	}
	return x, nil
}

// remove copies element i into dst and removes it.
func (v *RawVec) remove(i uint64, dst []byte) error {
	if i >= v.len {
		err := &RemoveError{Index: i, Len: v.len}
		if v.m.tracing() {
			v.emit("remove", growth{}, fmt.Sprintf("%s::remove refused: index %d >= len %d", v.name(), i, v.len))
		}
		return err
	}
	if s := v.e.layout.Size; s > 0 {
		copy(dst, v.elem(i))
		copy(v.mem[i*s:(v.len-1)*s], v.mem[(i+1)*s:v.len*s])
	}
	v.len--
	if v.m.tracing() {
		v.emit("remove", growth{}, fmt.Sprintf("%s::remove took index %d, shifting %s down: len %d -> %d; capacity stays %s (a Vec never shrinks)",
			v.name(), i, elements(v.len-i), v.len+1, v.len, v.capText()))
	}
	return nil
}

// Truncate is Vec::truncate: keep the first n elements. It does nothing
// when n >= len, and never reallocates.
func (v *RawVec) Truncate(n uint64) { v.truncateOp("truncate", n) }

// Clear is Vec::clear: remove every element and keep the capacity.
func (v *RawVec) Clear() { v.truncateOp("clear", 0) }

func (v *RawVec) truncateOp(op string, n uint64) {
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
func (v *RawVec) Reserve(additional uint64, flags GFP) error {
	return v.reserveOp("reserve", additional, flags)
}

func (v *RawVec) reserveOp(op string, additional uint64, flags GFP) error {
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
func (v *RawVec) Resize(n uint64, x []byte, flags GFP) error {
	if err := v.checkElems("resize", x, 1); err != nil {
		return err
	}
	return v.resize(n, elemSrc{b: x}, flags)
}

// ResizeFunc is Resize with each element appended written by f (k counts
// from 0) into its place once there is room.
func (v *RawVec) ResizeFunc(n uint64, f ElemFunc, flags GFP) error {
	return v.resize(n, elemSrc{f: f}, flags)
}

func (v *RawVec) resize(n uint64, src elemSrc, flags GFP) error {
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
		for i := v.len; i < n; i++ {
			src.write(i-v.len, v.elem(i))
		}
	}
	old := v.len
	v.len = n
	if v.m.tracing() {
		v.emit("resize", g, fmt.Sprintf("%s::resize appended %s equal to the value: len %d -> %d; %s", v.name(), elements(add), old, n, v.growthClause(g)))
	}
	return nil
}

// ExtendFromSlice is Vec::extend_from_slice: append a copy of the n
// elements laid out in xs, which must be n * ElemLayout().Size bytes
// (reserving n first; on failure an *AllocError and no change). xs may be
// the vector's own Bytes.
func (v *RawVec) ExtendFromSlice(xs []byte, n uint64, flags GFP) error {
	if err := v.checkElems("extend_from_slice", xs, n); err != nil {
		return err
	}
	if len(xs) > 0 && v.overlaps(xs) {
		// A grow may move and free the buffer xs points into: keep a copy.
		xs = append([]byte(nil), xs...)
	}
	return v.extend(elemSrc{b: xs, stride: v.e.layout.Size}, n, flags)
}

// ExtendFunc is ExtendFromSlice of n elements, element k written by f into
// its place once there is room.
func (v *RawVec) ExtendFunc(n uint64, f ElemFunc, flags GFP) error {
	return v.extend(elemSrc{f: f}, n, flags)
}

func (v *RawVec) extend(src elemSrc, n uint64, flags GFP) error {
	g, err := v.grow(n, flags)
	if err != nil {
		v.failed("extend_from_slice", g, err)
		return err
	}
	if !v.e.zst() {
		for k := range n {
			src.write(k, v.elem(v.len+k))
		}
	}
	old := v.len
	v.len += n
	if v.m.tracing() && n > 0 {
		v.emit("extend_from_slice", g, fmt.Sprintf("%s::extend_from_slice appended %s: len %d -> %d; %s",
			v.name(), elements(n), old, v.len, v.growthClause(g)))
	}
	return nil
}

// overlaps reports whether xs points into the buffer.
func (v *RawVec) overlaps(xs []byte) bool {
	if len(v.mem) == 0 {
		return false
	}
	lo := uintptrOf(v.mem)
	p := uintptrOf(xs)
	return p >= lo && p < lo+uintptr(len(v.mem))
}

// uintptrOf returns the host address of b's first byte.
func uintptrOf(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) }

// Retain is Vec::retain: keep only the elements for which keep returns
// true, in order, and never reallocate. keep is given the element in the
// buffer and may change it. Like the kernel, it swaps each kept element
// down to the end of the kept prefix and then truncates.
func (v *RawVec) Retain(keep func(elem []byte) bool) {
	var kept uint64
	for next := uint64(0); next < v.len; next++ {
		if keep(v.elem(next)) {
			if kept != next {
				a, b := v.elem(kept), v.elem(next)
				for k := range a {
					a[k], b[k] = b[k], a[k]
				}
			}
			kept++
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
// the vector empty with its capacity. It returns a copy of their bytes and
// their number.
func (v *RawVec) DrainAll() ([]byte, uint64) {
	n := v.len
	return append([]byte(nil), v.drainAll()...), n
}

// drainAll empties the vector and returns the elements it had, still in
// the buffer: valid until the vector next changes.
func (v *RawVec) drainAll() []byte {
	out := v.Bytes()
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
// RawVecFromRawParts for the memory to be freed. The vector is left empty
// with no buffer.
func (v *RawVec) IntoRawParts() (ptr Addr, length, capacity uint64) {
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
func (v *RawVec) Drop() {
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
func (v *RawVec) forget() {
	v.ptr, v.n, v.len, v.mem = v.e.layout.Dangling(), 0, 0, nil
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
// an *AllocError for zero-sized elements or on overflow; otherwise a
// realloc to max(2 * capacity, len + additional) elements. On failure
// nothing changes.
func (v *RawVec) grow(additional uint64, flags GFP) (growth, error) {
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

// setBuffer makes b, allocated for n elements, the buffer. An allocator
// that breaks its contract (a block of the wrong size or alignment) is a
// bug: typed views (Vec[T]) cannot use misaligned memory.
func (v *RawVec) setBuffer(b Block, n uint64) {
	v.ptr, v.n, v.mem = b.Addr, n, nil
	if n == 0 || v.e.zst() {
		return
	}
	if uint64(len(b.Mem)) != n*v.e.layout.Size {
		throw("setBuffer", fmt.Sprintf("%s returned %d bytes at %v for %s of %d bytes", v.a.Name(), len(b.Mem), b.Addr, elements(n), v.e.layout.Size))
	}
	hostAlign := min(v.e.layout.Align, 8) // no Go type needs more than 8
	if uint64(b.Addr)%v.e.layout.Align != 0 || uint64(uintptrOf(b.Mem))%hostAlign != 0 {
		throw("setBuffer", fmt.Sprintf("%s returned %v (host %p), not aligned to %d", v.a.Name(), b.Addr, unsafe.SliceData(b.Mem), v.e.layout.Align))
	}
	v.mem = b.Mem[:len(b.Mem):len(b.Mem)]
}

// elements says "1 element" or "n elements".
func elements(n uint64) string { return fmt.Sprintf("%d %s", n, plural(n, "element")) }

// name is the vector's type as the kernel spells it: KVec<u8>.
func (v *RawVec) name() string { return containerName("Vec", v.a, v.e.name) }

// capText prints the capacity: a number, or usize::MAX for zero-sized
// elements.
func (v *RawVec) capText() string {
	if v.e.zst() {
		return "usize::MAX"
	}
	return fmt.Sprint(v.n)
}

// grewText tells a growth: "grew capacity 8 -> 16 = max(2 * 8, 8 + 1):
// krealloc moved it to kmalloc-16".
func (v *RawVec) grewText(g growth) string {
	return fmt.Sprintf("grew capacity %d -> %d = max(2 * %d, %d + %d): %s",
		g.oldCap, g.newCap, g.oldCap, g.len, g.additional, describeRealloc(g.info))
}

// growthClause is grewText, or that the capacity sufficed.
func (v *RawVec) growthClause(g growth) string {
	if g.grew() {
		return v.grewText(g)
	}
	return "within capacity " + v.capText()
}

// failed records a grow that failed; the vector is unchanged.
func (v *RawVec) failed(op string, g growth, err error) {
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
func (v *RawVec) emit(op string, g growth, text string) {
	idx := -1
	if !v.e.zst() {
		idx = int(min(v.n, math.MaxInt))
	}
	v.m.emitVecOp(op, v.ptr, v.len, v.Layout().Size, idx, g.cause, g.info, text)
}

// RawIntoIter is the kernel's IntoIter<T, A> for a RawVec: it owns a
// vector's buffer and yields its elements by value, front to back.
// Collect turns what is left back into a vector; Drop frees the buffer.
type RawIntoIter struct {
	m     *Machine  // immutable
	a     Allocator // immutable
	e     elemInfo  // immutable
	buf   Addr      // the buffer; dangling when there is none
	n     uint64    // elements: the capacity the buffer was allocated as
	mem   []byte    // the whole buffer
	pos   uint64    // index of the next element; stays 0 for zero-sized elements, as ptr.add(1) does not move
	len   uint64    // elements not yet yielded
	spent bool      // collected or dropped: it owns nothing
}

// IntoIter is Vec::into_iter: an iterator that takes over the buffer. The
// vector is left empty with no buffer.
func (v *RawVec) IntoIter() *RawIntoIter {
	it := &RawIntoIter{m: v.m, a: v.a, e: v.e, buf: v.ptr, n: v.n, mem: v.mem, len: v.len}
	v.forget()
	return it
}

// Next yields a copy of the next element; false when there is none.
func (it *RawIntoIter) Next() ([]byte, bool) {
	x := make([]byte, it.e.layout.Size)
	if !it.next(x) {
		return nil, false
	}
	return x, true
}

// next copies the next element into dst.
func (it *RawIntoIter) next(dst []byte) bool {
	if it.len == 0 {
		return false
	}
	if s := it.e.layout.Size; s > 0 {
		copy(dst, it.mem[it.pos*s:(it.pos+1)*s])
		it.pos++
	}
	it.len--
	return true
}

// SizeHint is Iterator::size_hint: the exact number of elements left, as
// both bounds.
func (it *RawIntoIter) SizeHint() (lower, upper uint64) { return it.len, it.len }

// Len returns the number of elements left.
func (it *RawIntoIter) Len() uint64 { return it.len }

// Collect is IntoIter::collect: the elements left, as a vector over the
// same buffer. If the iterator has advanced, they are moved to the front
// and the buffer is reallocated to exactly their number; if that realloc
// fails the old buffer is kept with its capacity. It does not fail.
func (it *RawIntoIter) Collect(flags GFP) *RawVec {
	v := &RawVec{m: it.m, a: it.a, e: it.e, ptr: it.e.layout.Dangling()}
	if it.spent {
		return v
	}
	it.spent = true
	v.ptr, v.n, v.mem, v.len = it.buf, it.n, it.mem, it.len
	if it.pos == 0 {
		if it.m.tracing() {
			v.emit("collect", growth{}, fmt.Sprintf("%s::collect: the iterator had not advanced, so the buffer is kept as it is (len %d, capacity %s)",
				v.name(), v.len, v.capText()))
		}
		return v
	}
	s := it.e.layout.Size
	copy(it.mem[:it.len*s], it.mem[it.pos*s:(it.pos+it.len)*s])
	old := v.Layout()
	g := growth{len: it.len, oldCap: it.n, newCap: it.len}
	mark := it.m.logMark()
	b, err := it.a.Realloc(it.buf, Layout{Size: it.len * s, Align: it.e.layout.Align}, old, flags)
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
func (it *RawIntoIter) Drop() {
	if it.spent {
		return
	}
	it.spent = true
	v := &RawVec{m: it.m, a: it.a, e: it.e, ptr: it.buf, n: it.n, mem: it.mem, len: it.len}
	v.Drop()
	it.len = 0
}

package allocator

import "fmt"

// RawBox is the kernel's Box<T, A> for a type known only at run time: one
// value of a Layout, called by a name in event texts, held as bytes. It is
// the one implementation of Box: Box[T] is a typed view of a RawBox, so
// allocation, freeing, misuse and every event are the same for both. The
// scripting layer uses it for kbox(size), a Box<[u8; size]>.
//
// States: live (it owns its allocation) -> gone (dropped, leaked, turned
// into a raw pointer, or its value taken by IntoInner). Using a Box that is
// gone is misuse, recorded as an EvMisuse event, and does nothing.
type RawBox struct {
	m    *Machine  // whose memory holds the value; immutable
	a    Allocator // immutable
	e    elemInfo  // immutable
	ptr  Addr      // the allocation; the dangling pointer for a zero-sized value; 0 once gone
	mem  []byte    // the value in the machine's memory, e.layout.Size bytes; nil for a zero-sized value and once gone
	live bool      // it owns its allocation
}

// NewRawBoxUninit is Box::new_uninit for a value of layout elem called
// name ("" gives "[u8; size]"): allocate Layout::new::<T>() with flags and
// leave what the allocator gave (zeroes only with __GFP_ZERO). It returns
// an *AllocError when the allocation fails, and an ErrBadSize error for a
// layout no Rust type has.
func NewRawBoxUninit(m *Machine, a Allocator, elem Layout, name string, flags GFP) (*RawBox, error) {
	if m == nil || a == nil {
		return nil, fmt.Errorf("%w: a Box needs a machine and an allocator", ErrBadAddress)
	}
	e, err := rawElem(elem, name)
	if err != nil {
		return nil, err
	}
	return newRawBox(m, a, e, flags, "new_uninit")
}

func newRawBox(m *Machine, a Allocator, e elemInfo, flags GFP, op string) (*RawBox, error) {
	b := &RawBox{m: m, a: a, e: e}
	mark := m.logMark()
	blk, err := a.Alloc(e.layout, flags)
	cause, info := m.reallocSince(mark)
	if err != nil {
		err = asAllocError(err)
		if m.tracing() {
			b.emit(op, cause, info, fmt.Sprintf("%s::%s returned AllocError: %d bytes aligned to %d could not be had (%v)",
				b.name(), op, e.layout.Size, e.layout.Align, err))
		}
		return nil, err
	}
	b.take(blk)
	if m.tracing() {
		b.emit(op, cause, info, fmt.Sprintf("%s::%s allocated Layout::new::<%s>() (%d bytes, align %d) at %v",
			b.name(), op, e.name, e.layout.Size, e.layout.Align, blk.Addr))
	}
	return b, nil
}

// RawBoxFromRaw is Box::from_raw for a RawBox: take back the value of
// layout elem at ptr, which IntoRaw returned for a Box over allocator a.
// The kernel trusts the caller; this checks that ptr has memory and is
// aligned, and returns an error otherwise.
func RawBoxFromRaw(m *Machine, a Allocator, elem Layout, name string, ptr Addr) (*RawBox, error) {
	if m == nil || a == nil {
		return nil, fmt.Errorf("%w: a Box needs a machine and an allocator", ErrBadAddress)
	}
	e, err := rawElem(elem, name)
	if err != nil {
		return nil, err
	}
	return rawBoxFromRaw(m, a, e, ptr)
}

func rawBoxFromRaw(m *Machine, a Allocator, e elemInfo, ptr Addr) (*RawBox, error) {
	b := &RawBox{m: m, a: a, e: e}
	blk := Block{Addr: ptr}
	if !e.zst() {
		if ptr.ZeroOrNull() || uint64(ptr)%e.layout.Align != 0 {
			return nil, fmt.Errorf("%w: from_raw: %v is not a pointer to a %s aligned to %d", ErrBadAddress, ptr, e.name, e.layout.Align)
		}
		mem, err := m.Span(ptr, e.layout.Size)
		if err != nil {
			return nil, fmt.Errorf("from_raw: %w", err)
		}
		blk.Mem = mem
	}
	b.take(blk)
	if m.tracing() {
		b.emit("from_raw", 0, nil, fmt.Sprintf("%s::from_raw took back the allocation at %v; dropping it will free it", b.name(), ptr))
	}
	return b, nil
}

// take makes blk, allocated for the value, the Box's. An allocator that
// breaks its contract (a block of the wrong size or alignment) is a bug:
// typed views (Box[T]) cannot use misaligned memory.
func (b *RawBox) take(blk Block) {
	b.ptr, b.mem, b.live = blk.Addr, nil, true
	if b.e.zst() {
		return
	}
	if uint64(len(blk.Mem)) != b.e.layout.Size {
		throw("RawBox.take", fmt.Sprintf("%s returned %d bytes at %v for a value of %d bytes", b.a.Name(), len(blk.Mem), blk.Addr, b.e.layout.Size))
	}
	hostAlign := min(b.e.layout.Align, 8) // no Go type needs more than 8
	if uint64(blk.Addr)%b.e.layout.Align != 0 || uint64(uintptrOf(blk.Mem))%hostAlign != 0 {
		throw("RawBox.take", fmt.Sprintf("%s returned %v, not aligned to %d", b.a.Name(), blk.Addr, b.e.layout.Align))
	}
	b.mem = blk.Mem[:len(blk.Mem):len(blk.Mem)]
}

// Addr returns the address of the value: the dangling pointer for a
// zero-sized value; 0 once the Box is gone.
func (b *RawBox) Addr() Addr { return b.ptr }

// Live reports whether the Box still owns its value.
func (b *RawBox) Live() bool { return b.live }

// Layout returns the value's layout, Layout::new::<T>().
func (b *RawBox) Layout() Layout { return b.e.layout }

// Name returns the Box's type as the kernel spells it: KBox<[u8; 24]>.
func (b *RawBox) Name() string { return b.name() }

// Bytes returns the value in the machine's memory, or nil once the Box is
// gone (and for a zero-sized value). Writes through it change the value.
func (b *RawBox) Bytes() []byte { return b.mem }

// DropContents is Box::drop_contents: drop the value and keep the
// allocation for a new one. Values without Go pointers need no dropping,
// so the memory keeps its bytes, as in the kernel.
func (b *RawBox) DropContents() {
	if b.check("drop_contents") && b.m.tracing() {
		b.emit("drop_contents", 0, nil, fmt.Sprintf("%s::drop_contents dropped the value and kept the allocation at %v for the next write", b.name(), b.ptr))
	}
}

// IntoInner is Box::into_inner: a copy of the value, with the allocation
// freed. On a Box that is gone it records the misuse and returns nil.
func (b *RawBox) IntoInner() []byte {
	if !b.check("into_inner") {
		return nil
	}
	x := make([]byte, b.e.layout.Size)
	copy(x, b.mem)
	b.free("into_inner")
	return x
}

// IntoRaw is Box::into_raw: the value's address, given up by the Box; the
// memory is freed only if RawBoxFromRaw takes it back. It returns 0 on a
// Box that is gone (and records the misuse).
func (b *RawBox) IntoRaw() Addr {
	if !b.check("into_raw") {
		return 0
	}
	ptr := b.ptr
	if b.m.tracing() {
		b.emit("into_raw", 0, nil, fmt.Sprintf("%s::into_raw gave up the allocation at %v; only from_raw can free it now", b.name(), ptr))
	}
	b.gone()
	return ptr
}

// Leak is Box::leak: the value, never to be freed. It returns the value's
// memory, or false on a Box that is gone (and records the misuse).
func (b *RawBox) Leak() ([]byte, bool) {
	if !b.check("leak") {
		return nil, false
	}
	mem := b.mem
	if b.m.tracing() {
		b.emit("leak", 0, nil, fmt.Sprintf("%s::leak gave up the allocation at %v; it will never be freed", b.name(), b.ptr))
	}
	b.gone()
	return mem, true
}

// Drop drops the Box: the value, then Allocator.Free with
// Layout::for_value (for a zero-sized value a zero-size layout, which
// frees nothing). Dropping a Box that is gone records the misuse and does
// nothing, where the kernel would have freed twice. It reports whether it
// freed.
func (b *RawBox) Drop() bool {
	if !b.check("drop") {
		return false
	}
	b.free("drop")
	return true
}

func (b *RawBox) free(op string) {
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
	b.gone()
}

// gone records that the Box no longer owns its value.
func (b *RawBox) gone() { b.ptr, b.mem, b.live = 0, nil, false }

// check reports whether the Box still owns its value, recording misuse of
// one that does not.
func (b *RawBox) check(op string) bool {
	if b.live {
		return true
	}
	if b.m.tracing() {
		b.m.Misuse(0, fmt.Sprintf("%s::%s on a Box that was already dropped, leaked or turned into a raw pointer; ignored", b.name(), op))
	}
	return false
}

// name is the Box's type as the kernel spells it: KBox<u64>.
func (b *RawBox) name() string { return containerName("Box", b.a, b.e.name) }

// emit records an EvVecOp for the Box: one element.
func (b *RawBox) emit(op string, cause uint64, info *ReallocInfo, text string) {
	b.m.emitVecOp("box_"+op, b.ptr, 1, b.e.layout.Size, 1, cause, info, text)
}

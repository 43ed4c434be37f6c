package allocator

import (
	"errors"
	"fmt"
	"math/bits"
)

// Layout is Rust's core::alloc::Layout: a size in bytes and a power-of-two
// alignment.
type Layout struct {
	Size  uint64 // bytes
	Align uint64 // bytes, a power of two
}

// maxIsize is isize::MAX on a 64-bit kernel.
const maxIsize = 1<<63 - 1

// NewLayout is Layout::from_size_align: align must be a power of two and
// size rounded up to align must not exceed isize::MAX.
func NewLayout(size, align uint64) (Layout, error) {
	if align == 0 || align&(align-1) != 0 {
		return Layout{}, fmt.Errorf("%w: alignment %d is not a power of two", ErrBadSize, align)
	}
	if size > maxIsize-(align-1) {
		return Layout{}, fmt.Errorf("%w: size %d rounded up to alignment %d exceeds isize::MAX", ErrBadSize, size, align)
	}
	return Layout{Size: size, Align: align}, nil
}

// PadToAlign is Layout::pad_to_align: the size rounded up to a multiple of
// the alignment.
func (l Layout) PadToAlign() Layout {
	return Layout{Size: (l.Size + l.Align - 1) &^ (l.Align - 1), Align: l.Align}
}

// Dangling is the pointer a zero-sized allocation gets: the alignment
// itself (dangling_from_layout).
func (l Layout) Dangling() Addr { return Addr(l.Align) }

// AllocError is the Rust AllocError: the allocation failed. Err, when set,
// carries the allocator's reason.
type AllocError struct {
	Err error
}

func (e *AllocError) Error() string {
	if e.Err == nil {
		return "allocation failed"
	}
	return "allocation failed: " + e.Err.Error()
}

// Unwrap returns the reason.
func (e *AllocError) Unwrap() error { return e.Err }

// Is makes every AllocError match ErrNoMemory.
func (e *AllocError) Is(target error) bool { return target == ErrNoMemory }

// Block is what an Allocator hands out, NonNull<[u8]>: the address and a
// view of exactly the requested size (never the bucket size). A zero-size
// block has the dangling address and no memory.
type Block struct {
	Addr Addr
	Mem  []byte
}

// Allocator is the Rust kernel's Allocator trait (rust/kernel/alloc.rs,
// the 6.13-6.16 shape, which has no NUMA node argument):
//
//   - Alloc(layout, flags) = Realloc(0, layout, Layout{0, 1}, flags).
//   - Realloc(ptr, layout, oldLayout, flags): ptr 0 stands for None. Size 0
//     frees and returns the dangling pointer. A zero-size oldLayout means ptr
//     need not come from this allocator and a fresh allocation is made.
//     Contents are kept up to min(layout.Size, oldLayout.Size). On failure
//     the old allocation is untouched and an *AllocError is returned.
//   - Free(ptr, layout) = Realloc(ptr, Layout{0, 1}, layout, 0).
//
// Implementations: Kmalloc (krealloc), Vmalloc (vrealloc) and KVmalloc
// (kvrealloc), built with ReallocFunc.
type Allocator interface {
	Name() string     // "Kmalloc", "Vmalloc", "KVmalloc"
	MinAlign() uint64 // Allocator::MIN_ALIGN
	Alloc(layout Layout, flags GFP) (Block, error)
	Realloc(ptr Addr, layout, oldLayout Layout, flags GFP) (Block, error)
	Free(ptr Addr, layout Layout)
}

// ReallocFunc is the Rust ReallocFunc: one of krealloc, vrealloc or
// kvrealloc with the C signature (p, size, align, flags). It returns the
// new address (0 for NULL, ZeroSizePtr for kmalloc's zero-size pointer).
type ReallocFunc func(p Addr, size, align uint64, flags GFP) (Addr, error)

// Call is ReallocFunc::call (rust/kernel/alloc/allocator.rs): ptr becomes NULL when it is None
// or oldLayout is zero-sized; the C function runs with layout.Size; size 0
// returns the dangling pointer; NULL becomes an *AllocError; and the block
// returned is exactly layout.Size long.
func (f ReallocFunc) Call(m *Machine, ptr Addr, layout, oldLayout Layout, flags GFP) (Block, error) {
	if oldLayout.Size == 0 {
		ptr = 0
	}
	raw, err := f(ptr, layout.Size, layout.Align, flags)
	if layout.Size == 0 {
		return Block{Addr: layout.Dangling()}, nil
	}
	if err != nil || raw.ZeroOrNull() {
		if err == nil {
			err = ErrNoMemory
		}
		var ae *AllocError
		if errors.As(err, &ae) {
			return Block{}, ae
		}
		return Block{}, &AllocError{Err: err}
	}
	mem, err := m.Span(raw, layout.Size)
	if err != nil {
		throw("ReallocFunc.Call", fmt.Sprintf("allocator returned %v which has no memory: %v", raw, err))
	}
	return Block{Addr: raw, Mem: mem}, nil
}

// isPowerOfTwo reports whether x is a power of two.
func isPowerOfTwo(x uint64) bool { return x != 0 && bits.OnesCount64(x) == 1 }

package allocator

import (
	"errors"
	"fmt"
)

// Sentinel errors for failures a user can cause. Wrapped errors carry the
// details; test with errors.Is.
var (
	ErrNoMemory    = errors.New("out of memory")
	ErrInvalidFree = errors.New("invalid free")
	ErrDoubleFree  = errors.New("double free")
	ErrBadSize     = errors.New("bad size")
	ErrBadAddress  = errors.New("bad address")
	ErrFault       = errors.New("memory fault")
)

// PageAllocError is a failed alloc_pages: no free block of Order or above
// (or an order above MAX_PAGE_ORDER). It matches ErrNoMemory.
type PageAllocError struct {
	Order   int // the order asked for
	Largest int // the largest order with a free block; -1 when nothing is free
	GFP     GFP
	Reason  string // why the page allocator found none (watermarks, no reclaim); "" for the plain cases
}

func (e *PageAllocError) Error() string {
	if e.Reason != "" {
		return "alloc_pages: " + e.Reason
	}
	if e.Order > MaxPageOrder || e.Order < 0 {
		return fmt.Sprintf("alloc_pages: order %d is outside 0..MAX_PAGE_ORDER (%d)", e.Order, MaxPageOrder)
	}
	if e.Largest < 0 {
		return fmt.Sprintf("alloc_pages: no free block of order %d (no free memory at all)", e.Order)
	}
	return fmt.Sprintf("alloc_pages: no free block of order %d or above (largest free block is order %d)", e.Order, e.Largest)
}

// Is makes PageAllocError match ErrNoMemory.
func (e *PageAllocError) Is(target error) bool { return target == ErrNoMemory }

// throw reports a broken internal invariant: a bug in allocviz, never a
// user error.
func throw(fn, what string) {
	panic("allocator: " + fn + ": " + what)
}

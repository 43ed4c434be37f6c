package allocator

import "fmt"

// Vmalloc is the Rust kernel's Vmalloc allocator (rust/kernel/alloc/
// allocator.rs, 6.18): Allocator on top of vrealloc. MIN_ALIGN is
// PAGE_SIZE. In Profile612 (the 6.13-6.16 Rust API) an alignment above
// PAGE_SIZE is refused with the kernel's pr_warn; in ProfileLatest
// (6.17+) it is passed to vrealloc_node_align and honoured.
type Vmalloc struct{ M *Machine }

// Name returns "Vmalloc".
func (Vmalloc) Name() string { return "Vmalloc" }

// MinAlign returns PAGE_SIZE.
func (a Vmalloc) MinAlign() uint64 { return a.M.PageSize() }

// Alloc is Allocator::alloc: Realloc(None, layout, a zero-size layout).
func (a Vmalloc) Alloc(layout Layout, flags GFP) (Block, error) {
	return a.Realloc(0, layout, Layout{Size: 0, Align: 1}, flags)
}

// Realloc is Allocator::realloc through ReallocFunc::VREALLOC.
func (a Vmalloc) Realloc(ptr Addr, layout, oldLayout Layout, flags GFP) (Block, error) {
	if err := refuseLargeAlign(a.M, "Vmalloc", layout.Align); err != nil {
		return Block{}, err
	}
	return ReallocFunc(a.vrealloc).Call(a.M, ptr, layout, oldLayout, flags)
}

// refuseLargeAlign is the check Vmalloc and KVmalloc (the allocator
// called name) make in the 6.13-6.16 Rust API: an alignment above
// PAGE_SIZE is refused with the kernel's pr_warn. It returns nil in
// ProfileLatest, which passes the alignment on, and for an alignment that
// fits.
func refuseLargeAlign(m *Machine, name string, align uint64) error {
	if m.Profile() != Profile612 || align <= m.PageSize() {
		return nil
	}
	m.warn(name + " does not support alignments larger than PAGE_SIZE yet.")
	return &AllocError{Err: fmt.Errorf("%w: %s alignment %d is larger than PAGE_SIZE (%d)", ErrBadSize, name, align, m.PageSize())}
}

// Free is Allocator::free: Realloc(ptr, a zero-size layout, layout, no flags).
func (a Vmalloc) Free(ptr Addr, layout Layout) {
	a.Realloc(ptr, Layout{Size: 0, Align: 1}, layout, 0)
}

// vrealloc is the C function behind ReallocFunc::VREALLOC: vrealloc(p,
// size, flags) in 6.13-6.16, vrealloc_node_align(p, size, align, flags,
// NUMA_NO_NODE) from 6.17.
func (a Vmalloc) vrealloc(p Addr, size, align uint64, flags GFP) (Addr, error) {
	if a.M.Profile() == Profile612 {
		align = 1
	}
	return a.M.vreallocNodeAlign(p, size, align, flags, callerRustVmalloc)
}

package allocator

import "fmt"

// KVmalloc is the Rust kernel's KVmalloc allocator (rust/kernel/alloc/
// allocator.rs, spec §8.4): Allocator on top of kvrealloc. It may hit
// kmalloc, so the layout is padded first (Kmalloc::aligned_layout) and
// MIN_ALIGN is ARCH_KMALLOC_MINALIGN (8). In Profile612 (the 6.13-6.16
// Rust API) an alignment above PAGE_SIZE is refused with the kernel's
// pr_warn; in ProfileLatest (6.17+) it is passed to kvrealloc_node_align.
type KVmalloc struct{ M *Machine }

// Name returns "KVmalloc".
func (KVmalloc) Name() string { return "KVmalloc" }

// MinAlign returns ARCH_KMALLOC_MINALIGN (8).
func (KVmalloc) MinAlign() uint64 { return kmallocMinalign }

// Alloc is Allocator::alloc: Realloc(None, layout, a zero-size layout).
func (a KVmalloc) Alloc(layout Layout, flags GFP) (Block, error) {
	return a.Realloc(0, layout, Layout{Size: 0, Align: 1}, flags)
}

// Realloc is KVmalloc's Allocator::realloc: the padded layout goes to
// kvrealloc through ReallocFunc::call. The block's Mem is the caller's
// layout.Size long, as Kmalloc's is.
func (a KVmalloc) Realloc(ptr Addr, layout, oldLayout Layout, flags GFP) (Block, error) {
	m := a.M
	padded := KmallocAlignedLayout(layout)
	if m.Profile() == Profile612 && padded.Align > m.PageSize() {
		m.warn("KVmalloc does not support alignments larger than PAGE_SIZE yet.")
		return Block{}, &AllocError{Err: fmt.Errorf("%w: KVmalloc alignment %d is larger than PAGE_SIZE (%d)", ErrBadSize, padded.Align, m.PageSize())}
	}
	b, err := ReallocFunc(a.kvrealloc).Call(m, ptr, padded, oldLayout, flags)
	if err != nil {
		return Block{}, err
	}
	if layout.Size == 0 {
		return Block{Addr: layout.Dangling()}, nil
	}
	b.Mem = b.Mem[:layout.Size:layout.Size]
	return b, nil
}

// Free is Allocator::free: Realloc(ptr, a zero-size layout, layout, no flags).
func (a KVmalloc) Free(ptr Addr, layout Layout) {
	a.Realloc(ptr, Layout{Size: 0, Align: 1}, layout, 0)
}

// kvrealloc is the C function behind ReallocFunc::KVREALLOC: kvrealloc(p,
// size, flags) in 6.13-6.16, kvrealloc_node_align(p, size, align, flags,
// NUMA_NO_NODE) from 6.17.
func (a KVmalloc) kvrealloc(p Addr, size, align uint64, flags GFP) (Addr, error) {
	return a.M.kvreallocNodeAlign(p, size, align, flags)
}

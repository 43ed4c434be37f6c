package allocator

// KVmalloc is the Rust kernel's KVmalloc allocator (rust/kernel/alloc/
// allocator.rs, 6.18): Allocator on top of kvrealloc. It may hit
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
	if err := refuseLargeAlign(a.M, "KVmalloc", layout.Align); err != nil {
		return Block{}, err
	}
	return reallocPadded(a.M, a.kvrealloc, ptr, layout, oldLayout, flags)
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

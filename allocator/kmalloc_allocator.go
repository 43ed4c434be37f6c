package allocator

// Kmalloc is the Rust kernel's Kmalloc allocator (rust/kernel/alloc/
// allocator.rs): krealloc_node_align() through ReallocFunc, after padding
// the layout to its alignment (Kmalloc::aligned_layout, 6.17+). Padding is
// enough because kmalloc aligns every object to the largest power-of-two
// divisor of its size: a 24-byte layout aligned to 64 becomes a 64-byte
// request, served from kmalloc-64, which is 64-aligned.
type Kmalloc struct {
	M *Machine
}

// KmallocAlignedLayout is Kmalloc::aligned_layout(): Layout::pad_to_align().
func KmallocAlignedLayout(l Layout) Layout { return l.PadToAlign() }

// Name returns "Kmalloc".
func (k Kmalloc) Name() string { return "Kmalloc" }

// MinAlign returns Kmalloc::MIN_ALIGN, ARCH_KMALLOC_MINALIGN (8).
func (k Kmalloc) MinAlign() uint64 { return kmallocMinalign }

// Alloc is Allocator::alloc: Realloc(None, layout, Layout::new::<()>()).
func (k Kmalloc) Alloc(layout Layout, flags GFP) (Block, error) {
	return k.Realloc(0, layout, Layout{Size: 0, Align: 1}, flags)
}

// Realloc is Kmalloc's Allocator::realloc: the padded layout goes to
// krealloc_node_align() through ReallocFunc::call. The block's Mem is the
// caller's layout.Size long: Rust returns the padded length, which is at
// most align-1 bytes more.
func (k Kmalloc) Realloc(ptr Addr, layout, oldLayout Layout, flags GFP) (Block, error) {
	f := ReallocFunc(func(p Addr, size, align uint64, gfp GFP) (Addr, error) {
		return k.M.KreallocAlign(p, size, align, gfp)
	})
	return reallocPadded(k.M, f, ptr, layout, oldLayout, flags)
}

// reallocPadded is the realloc of the allocators that may hit kmalloc,
// Kmalloc and KVmalloc: f.Call with the layout padded to its alignment
// (Kmalloc::aligned_layout), and the block cut back to the caller's
// layout.Size.
func reallocPadded(m *Machine, f ReallocFunc, ptr Addr, layout, oldLayout Layout, flags GFP) (Block, error) {
	b, err := f.Call(m, ptr, KmallocAlignedLayout(layout), oldLayout, flags)
	if err != nil {
		return Block{}, err
	}
	if layout.Size == 0 {
		return Block{Addr: layout.Dangling()}, nil
	}
	b.Mem = b.Mem[:layout.Size:layout.Size]
	return b, nil
}

// Free is Allocator::free: Realloc(ptr, Layout::new::<()>(), layout, 0).
func (k Kmalloc) Free(ptr Addr, layout Layout) {
	k.Realloc(ptr, Layout{Size: 0, Align: 1}, layout, 0)
}

package allocator

// VmallocToPage is vmalloc_to_page() (mm/vmalloc.c), which the Rust
// Vmalloc::to_page() calls: the page frame mapped at a, any byte of the
// pages of a live vmap area. The kernel walks the page tables; the machine
// reads the area's page list, which is what it mapped. It reports false
// where nothing is mapped (the kernel returns NULL): outside vmalloc
// space, a guard page, free address space, a vfree'd area.
func (m *Machine) VmallocToPage(a Addr) (pfn uint64, ok bool) {
	if !m.IsVmallocAddr(a) {
		return 0, false
	}
	i, found := findArea(m.vm.busy, a)
	if !found {
		return 0, false
	}
	area := m.vm.busy[i]
	idx := uint64(a-area.start) >> m.pageShift
	if idx >= uint64(len(area.pfns)) {
		return 0, false
	}
	return area.pfns[idx], true
}

package allocator

import (
	"bytes"
	"testing"
)

// TestVmallocToPage is the Vmalloc::to_page doctest (allocator.rs, 6.16+;
// item 21 of the KVec list in docs/fidelity.md):
// a VBox<[u8; PAGE_SIZE]>, its page from Vmalloc::to_page, and
// fill_zero_raw(0, PAGE_SIZE) through that page zeroes the Box's memory.
func TestVmallocToPage(t *testing.T) {
	m := newTestMachine(t, Config{RAM: 16 * MiB})
	b, err := NewBoxUninit[[4096]byte](m, Vmalloc{M: m}, GFPKernel)
	must(t, err)
	for i := range b.Ptr() {
		b.Ptr()[i] = 0xaa
	}
	pfn, ok := m.VmallocToPage(b.Addr())
	info, live := m.AreaOf(b.Addr())
	if !ok || !live || len(info.PFNs) != 1 || pfn != info.PFNs[0] {
		t.Fatalf("Vmalloc::to_page(%v) = pfn %#x, %v; the area maps %v", b.Addr(), pfn, ok, info.PFNs)
	}
	// BorrowedPage::fill_zero_raw(0, PAGE_SIZE) writes through the page's
	// own (direct-map) address.
	must(t, m.Fill(m.PFNAddr(pfn), 0, m.PageSize()))
	if got := b.Get(); !bytes.Equal(got[:], make([]byte, 4096)) {
		t.Errorf("the VBox still holds % x... after fill_zero_raw of its page", got[:8])
	}
	if p2, _ := m.VmallocToPage(b.Addr() + 4095); p2 != pfn {
		t.Errorf("the last byte of the page is on pfn %#x, want %#x", p2, pfn)
	}
	b.Drop()
	if _, ok := m.VmallocToPage(info.Start); ok {
		t.Error("a vfree'd area still has a page")
	}
}

// TestVmallocToPageEveryPage: each page of a multi-page area is the pfn
// listed for it, and nothing is mapped at the guard page or outside
// vmalloc space.
func TestVmallocToPageEveryPage(t *testing.T) {
	m := newTestMachine(t, Config{RAM: 16 * MiB})
	a, err := m.Vmalloc(3*m.PageSize()+1, GFPKernel)
	must(t, err)
	info, _ := m.AreaOf(a)
	for i, want := range info.PFNs {
		at := a + Addr(uint64(i)*m.PageSize()+100)
		if pfn, ok := m.VmallocToPage(at); !ok || pfn != want {
			t.Errorf("page %d at %v: pfn %#x, %v; want %#x", i, at, pfn, ok, want)
		}
	}
	guard := a + Addr(info.Usable(m.PageSize()))
	for _, at := range []Addr{guard, guard + 1, a - 1, m.PFNAddr(10), 0, VmallocEnd} {
		if pfn, ok := m.VmallocToPage(at); ok {
			t.Errorf("VmallocToPage(%v) = %#x, want nothing mapped", at, pfn)
		}
	}
	must(t, m.Vfree(a))
}

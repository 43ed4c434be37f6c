package allocator

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
)

// pageSizes are the simulated page sizes every vmalloc behaviour must hold for.
var pageSizes = []int{4096, 16384, 65536}

// newVmTestMachine boots a machine with an event log.
func newVmTestMachine(t testing.TB, cfg Config) (*Machine, *EventLog) {
	t.Helper()
	m := newTestMachine(t, cfg)
	log := &EventLog{}
	m.SetLog(log)
	return m, log
}

// checkAll runs the buddy and vmalloc invariant checks.
func checkAll(t testing.TB, m *Machine) {
	t.Helper()
	if err := m.CheckInvariants(); err != nil {
		t.Fatalf("buddy invariants: %v", err)
	}
	if err := m.checkVmalloc(); err != nil {
		t.Fatalf("vmalloc invariants: %v", err)
	}
}

// eventsOf returns the events of kind k in evs.
func eventsOf(evs []Event, k EventKind) []Event {
	var out []Event
	for _, e := range evs {
		if e.Kind() == k {
			out = append(out, e)
		}
	}
	return out
}

// hasWarn reports whether a warning containing s was recorded in evs.
func hasWarn(evs []Event, s string) bool {
	for _, e := range eventsOf(evs, EvWarn) {
		if strings.Contains(e.Text(), s) {
			return true
		}
	}
	return false
}

// scatter leaves the free lists so that the next order-0 pages come from
// separate places: it allocates n order-0 pages and frees every other one.
// It returns the pages still held.
func scatter(t testing.TB, m *Machine, n int) []Addr {
	t.Helper()
	var held, gone []Addr
	for i := 0; i < n; i++ {
		a, err := m.AllocPages(0, GFPKernel)
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			held = append(held, a)
			continue
		}
		gone = append(gone, a)
	}
	for i := len(gone) - 1; i >= 0; i-- {
		if err := m.FreePages(gone[i], 0); err != nil {
			t.Fatal(err)
		}
	}
	// The freed pages sit on the pcp list, unmerged, the last freed
	// first; drain them so the buddy lists hold them as lone order-0
	// blocks between held ones.
	m.DrainAllPages()
	return held
}

func TestVmallocPagesAreScatteredAndAliased(t *testing.T) {
	for _, ps := range pageSizes {
		t.Run(FormatBytes(uint64(ps)), func(t *testing.T) {
			m, log := newVmTestMachine(t, Config{PageSize: ps, RAM: 64 * MiB})
			page := m.PageSize()
			scatter(t, m, 8)
			p, err := m.Vmalloc(3*page, GFPKernel)
			if err != nil {
				t.Fatal(err)
			}
			checkAll(t, m)
			if p != VmallocStart {
				t.Errorf("first area at %v, want VMALLOC_START %v", p, VmallocStart)
			}
			a, ok := m.AreaOf(p)
			if !ok || a.Start != p || a.Size != 4*page || a.NrPages != 3 || a.Requested != 3*page || a.Flags != VMAlloc {
				t.Fatalf("AreaOf(%v) = %+v, %v; want 3 pages in a 4-page area (guard included), VM_ALLOC", p, a, ok)
			}
			contiguous := true
			for i := 1; i < len(a.PFNs); i++ {
				if a.PFNs[i] != a.PFNs[i-1]+1 {
					contiguous = false
				}
			}
			if contiguous {
				t.Errorf("pfns %#x are contiguous; every other page was held, so they should be scattered", a.PFNs)
			}
			// Write through the vmalloc address, read through the direct map.
			want := make([]byte, 3*page)
			for i := range want {
				want[i] = byte(i*13 + i>>12)
			}
			if err := m.WriteAt(p, want); err != nil {
				t.Fatal(err)
			}
			for i, pfn := range a.PFNs {
				if got := m.PageBytes(pfn); !bytes.Equal(got, want[uint64(i)*page:uint64(i+1)*page]) {
					t.Fatalf("page %d (pfn %#x) seen through the direct map differs from what was written at %v", i, pfn, p+Addr(uint64(i)*page))
				}
			}
			// Write through the direct map, read through the vmalloc address.
			direct, err := m.Span(m.PFNAddr(a.PFNs[2]), page)
			if err != nil {
				t.Fatal(err)
			}
			const msg = "written through the direct map"
			copy(direct, msg)
			got := make([]byte, len(msg))
			if err := m.ReadAt(p+Addr(2*page), got); err != nil {
				t.Fatal(err)
			}
			if string(got) != msg {
				t.Errorf("vmalloc view of pfn %#x reads %q", a.PFNs[2], got)
			}
			for _, pfn := range a.PFNs {
				if pi := m.Page(pfn); pi.Owner != OwnerVmalloc || pi.Order != 0 {
					t.Errorf("pfn %#x: owner %v order %d, want an order-0 vmalloc page", pfn, pi.Owner, pi.Order)
				}
			}
			allocs := eventsOf(logEvents(log), EvVmapAlloc)
			if len(allocs) != 1 {
				t.Fatalf("%d EvVmapAlloc events, want 1", len(allocs))
			}
			e := allocs[0]
			if e.Addr() != p || e.Bytes() != 4*page || e.Size() != 3*page || e.Pages() != 3 || fmt.Sprint(e.PFNs()) != fmt.Sprint(a.PFNs) ||
				e.Src() != "vmalloc" || e.Path() != "vmalloc" || !strings.Contains(e.Text(), "3 scattered pages") {
				t.Errorf("EvVmapAlloc = %+v", e)
			}
		})
	}
}

func TestVmallocPlacesAreasLowestFirstWithGuards(t *testing.T) {
	m, _ := newVmTestMachine(t, Config{})
	page := m.PageSize()
	a1, _ := m.Vmalloc(1, GFPKernel)
	a2, _ := m.Vmalloc(page+1, GFPKernel)
	a3, err := m.vmallocNodeRange(page, 1, GFPKernel, VMNoGuard, vmCaller{fn: "vmalloc", ret: "test"})
	if err != nil {
		t.Fatal(err)
	}
	a4, _ := m.Vmalloc(page, GFPKernel)
	want := []Addr{VmallocStart, VmallocStart + Addr(2*page), VmallocStart + Addr(5*page), VmallocStart + Addr(6*page)}
	if got := []Addr{a1, a2, a3, a4}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("areas at %v, want %v (1-byte area + guard, 2 pages + guard, 1 page without guard, then adjacent)", got, want)
	}
	checkAll(t, m)
	// Freed areas keep their range until the purge, so a new area goes above.
	if err := m.Vfree(a1); err != nil {
		t.Fatal(err)
	}
	a5, _ := m.Vmalloc(1, GFPKernel)
	if a5 != VmallocStart+Addr(8*page) {
		t.Errorf("after vfree(%v) the next area is at %v, want %v: a lazily freed range is not reused before the purge", a1, a5, VmallocStart+Addr(8*page))
	}
	// Alignment above PAGE_SIZE is honoured by __vmalloc_node.
	a6, err := m.vmallocNodeRange(page, 64*page, GFPKernel, 0, vmCaller{fn: "vmalloc", ret: "test"})
	if err != nil || uint64(a6)%(64*page) != 0 {
		t.Errorf("64-page aligned area at %v (%v)", a6, err)
	}
	checkAll(t, m)
	if !m.IsVmallocAddr(a1) || m.IsVmallocAddr(m.PFNAddr(300)) || !m.IsVmallocAddr(VmallocEnd-1) || m.IsVmallocAddr(VmallocEnd) {
		t.Error("IsVmallocAddr does not follow VMALLOC_START <= a < VMALLOC_END")
	}
}

func TestGuardPageFaultsForReal(t *testing.T) {
	for _, ps := range pageSizes {
		t.Run(FormatBytes(uint64(ps)), func(t *testing.T) {
			m, log := newVmTestMachine(t, Config{PageSize: ps})
			page := m.PageSize()
			p, err := m.Vmalloc(3*page, GFPKernel)
			if err != nil {
				t.Fatal(err)
			}
			end := p + Addr(3*page)
			if err := m.WriteAt(end-1, []byte{0x5a}); err != nil {
				t.Fatalf("last byte of the area: %v", err)
			}
			before := log.Len()
			err = m.WriteAt(end, []byte{1})
			if !errors.Is(err, ErrFault) {
				t.Fatalf("writing the byte after a %d-byte area: %v, want ErrFault", 3*page, err)
			}
			want := fmt.Sprintf("guard page hit at %v: 1 byte past the end of a %d-byte area at %v", end, 3*page, p)
			hits := eventsOf(logEvents(log)[before:], EvGuardHit)
			if len(hits) != 1 || hits[0].Text() != want || hits[0].Addr() != end {
				t.Fatalf("guard events %+v, want one with %q", hits, want)
			}
			if !hasWarn(logEvents(log)[before:], fmt.Sprintf("BUG: unable to handle page fault for address: %016x", uint64(end))) {
				t.Error("no kernel page-fault line recorded")
			}
			// A read that starts inside and runs over faults at the guard page.
			buf := make([]byte, 16)
			err = m.ReadAt(end-8, buf)
			if !errors.Is(err, ErrFault) || !strings.Contains(err.Error(), "guard page hit at "+end.String()+": 1 byte past the end") {
				t.Errorf("read across the end: %v", err)
			}
			// Fill deep into the guard page.
			err = m.Fill(end+100, 0, 10)
			if !errors.Is(err, ErrFault) || !strings.Contains(err.Error(), "101 bytes past the end") {
				t.Errorf("fill in the guard page: %v", err)
			}
			// A requested size below the page-rounded size is mentioned.
			q, _ := m.Vmalloc(page+10, GFPKernel)
			err = m.WriteAt(q+Addr(2*page), []byte{1})
			if !strings.Contains(fmt.Sprint(err), fmt.Sprintf("1 byte past the end of a %d-byte area at %v (%d bytes requested)", 2*page, q, page+10)) {
				t.Errorf("guard hit after a %d-byte vmalloc: %v", page+10, err)
			}
			// After vfree the range is unmapped: use after free faults too.
			if err := m.Vfree(p); err != nil {
				t.Fatal(err)
			}
			err = m.ReadAt(p+5, buf[:1])
			if !errors.Is(err, ErrFault) || !strings.Contains(err.Error(), "use after vfree at "+(p+5).String()) {
				t.Errorf("read after vfree: %v", err)
			}
			// The guard page of a freed area that awaits the purge is still a guard page.
			err = m.ReadAt(end, buf[:1])
			if !errors.Is(err, ErrFault) || !strings.Contains(err.Error(), "guard page hit at "+end.String()+": 1 byte past the end of the") {
				t.Errorf("read of a freed area's guard page: %v", err)
			}
			// Address space nobody has used.
			far := VmallocStart + Addr(1000*page)
			err = m.ReadAt(far, buf[:1])
			if !errors.Is(err, ErrFault) || !strings.Contains(err.Error(), "unmapped vmalloc address "+far.String()) {
				t.Errorf("read of untouched vmalloc space: %v", err)
			}
			checkAll(t, m)
		})
	}
}

func TestVfreeMisuseIsReportedNotObeyed(t *testing.T) {
	m, log := newVmTestMachine(t, Config{})
	page := m.PageSize()
	p, _ := m.Vmalloc(2*page, GFPKernel)
	q, _ := m.Vmalloc(page, GFPKernel)
	freeBefore := m.IdlePages()
	info := m.Vmallocinfo()

	n := log.Len()
	if err := m.Vfree(0); err != nil || log.Len() != n {
		t.Errorf("vfree(NULL) = %v with %d events; want a silent no-op", err, log.Len()-n)
	}
	for _, tc := range []struct {
		addr  Addr
		kind  error
		warns []string
	}{
		{VmallocStart + Addr(100*page), ErrInvalidFree, []string{fmt.Sprintf("Trying to vfree() nonexistent vm area (%016x)", uint64(VmallocStart)+100*page)}},
		{p + 8, ErrInvalidFree, []string{fmt.Sprintf("Trying to vfree() bad address (%016x)", uint64(p+8)), "Trying to vfree() nonexistent vm area"}},
		{m.PFNAddr(400), ErrInvalidFree, []string{fmt.Sprintf("Trying to vfree() nonexistent vm area (%016x)", uint64(m.PFNAddr(400)))}},
	} {
		n := log.Len()
		err := m.Vfree(tc.addr)
		if !errors.Is(err, tc.kind) {
			t.Errorf("vfree(%v) = %v, want %v", tc.addr, err, tc.kind)
		}
		for _, w := range tc.warns {
			if !hasWarn(logEvents(log)[n:], w) {
				t.Errorf("vfree(%v): no warning %q", tc.addr, w)
			}
		}
		if m.IdlePages() != freeBefore || m.Vmallocinfo() != info {
			t.Fatalf("vfree(%v) changed the state", tc.addr)
		}
		checkAll(t, m)
	}
	// Double free.
	if err := m.Vfree(q); err != nil {
		t.Fatal(err)
	}
	n = log.Len()
	if err := m.Vfree(q); !errors.Is(err, ErrDoubleFree) || !hasWarn(logEvents(log)[n:], "Trying to vfree() nonexistent vm area") {
		t.Errorf("second vfree(%v) = %v", q, err)
	}
	// A page-aligned address inside an area frees the whole area, as the
	// kernel's containment lookup does, and says so.
	n = log.Len()
	if err := m.Vfree(p + Addr(page)); err != nil {
		t.Fatal(err)
	}
	if _, ok := m.AreaOf(p); ok || len(eventsOf(logEvents(log)[n:], EvMisuse)) != 1 {
		t.Errorf("vfree of the second page of %v: area still there or no misuse note", p)
	}
	if m.IdlePages() != freeBefore+3 {
		t.Errorf("free pages %d, want %d", m.IdlePages(), freeBefore+3)
	}
	checkAll(t, m)
}

func TestVmallocZeroAndOversize(t *testing.T) {
	m, log := newVmTestMachine(t, Config{RAM: 8 * MiB})
	for i := 0; i < 2; i++ {
		n := log.Len()
		p, err := m.Vmalloc(0, GFPKernel)
		if p != 0 || !errors.Is(err, ErrBadSize) {
			t.Errorf("vmalloc(0) = %v, %v; want NULL and ErrBadSize", p, err)
		}
		warned := hasWarn(logEvents(log)[n:], "WARN_ON_ONCE(!size)")
		if warned != (i == 0) {
			t.Errorf("vmalloc(0) call %d warned %v; WARN_ON_ONCE fires on the first only", i+1, warned)
		}
	}
	free := m.IdlePages()
	total := (m.NrPages() - m.ReservedPages()) * m.PageSize()
	// One page more than RAM holds.
	size := total + m.PageSize()
	n := log.Len()
	p, err := m.Vmalloc(size, GFPKernel)
	if p != 0 || !errors.Is(err, ErrNoMemory) {
		t.Fatalf("vmalloc(%d) = %v, %v", size, p, err)
	}
	want := fmt.Sprintf("allocviz: vmalloc error: size %d, exceeds total pages, mode:0xcc0(GFP_KERNEL), nodemask=(null)", size)
	if !hasWarn(logEvents(log)[n:], want) {
		t.Errorf("no warning %q in %+v", want, logEvents(log)[n:])
	}
	n = log.Len()
	if _, err := m.Vmalloc(size, GFPKernel|GFPNoWarn); err == nil || hasWarn(logEvents(log)[n:], "exceeds") {
		t.Error("__GFP_NOWARN did not silence the warning")
	}
	if m.IdlePages() != free || len(m.Areas()) != 0 {
		t.Error("a refused vmalloc changed the state")
	}
	checkAll(t, m)
}

func TestVmallocFailureMidwayGivesEverythingBack(t *testing.T) {
	m, log := newVmTestMachine(t, Config{RAM: 8 * MiB})
	page := m.PageSize()
	keep, _ := m.Vmalloc(2*page, GFPKernel)
	// An 8-page area kmallocs its 64-byte pages[] array; make the slab
	// for it now, so that the failure below takes only vmalloc pages.
	warm, _ := m.Vmalloc(8*page, GFPKernel)
	m.Vfree(warm)
	// Take all but 5 free pages. __GFP_MEMALLOC lets these allocations,
	// and the vmalloc below, past the watermarks, so every page counts.
	var held []Addr
	for m.IdlePages() > 5 {
		order := 0
		for o := MaxPageOrder; o > 0; o-- {
			if m.IdlePages()-uint64(1)<<o >= 5 && m.FreeCounts()[o] > 0 {
				order = o
				break
			}
		}
		a, err := m.AllocPages(order, GFPKernel|GFPMemalloc)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, a)
	}
	free := m.IdlePages()
	areas := fmt.Sprint(m.Areas())
	n := log.Len()
	p, err := m.Vmalloc(8*page, GFPKernel|GFPMemalloc)
	if p != 0 || !errors.Is(err, ErrNoMemory) {
		t.Fatalf("vmalloc of 8 pages with 5 free = %v, %v", p, err)
	}
	evs := logEvents(log)[n:]
	if !hasWarn(evs, fmt.Sprintf("vmalloc error: size %d, failed to allocate pages", 5*page)) {
		t.Errorf("no 'failed to allocate pages' warning naming the 5 pages had: %+v", eventsOf(evs, EvWarn))
	}
	if got := len(eventsOf(evs, EvPageAlloc)); got != 5 {
		t.Errorf("%d pages taken, want 5", got)
	}
	frees := eventsOf(evs, EvVmapFree)
	if len(frees) != 1 || len(frees[0].PFNs()) != 5 || !strings.Contains(frees[0].Text(), "failed") {
		t.Errorf("EvVmapFree %+v", frees)
	}
	if len(eventsOf(evs, EvVmapAlloc)) != 0 {
		t.Error("a failed vmalloc recorded an area")
	}
	if m.IdlePages() != free || fmt.Sprint(m.Areas()) != areas {
		t.Errorf("failure changed free pages %d -> %d or the live areas", free, m.IdlePages())
	}
	// As in the kernel, the range was released through vfree: lazily.
	if !strings.Contains(m.Vmallocinfo(), "unpurged vm_area") {
		t.Error("the failed area's range is not shown as unpurged")
	}
	got := make([]byte, 1)
	if err := m.ReadAt(keep, got); err != nil {
		t.Errorf("the earlier area is no longer readable: %v", err)
	}
	checkAll(t, m)
	for _, a := range held {
		pfn, _ := m.AddrPFN(a)
		if err := m.FreePages(a, m.Page(pfn).Order); err != nil {
			t.Fatal(err)
		}
	}
	checkAll(t, m)
}

func TestLazyPurge(t *testing.T) {
	// One CPU: lazy_max_pages = fls(1) * 32 MiB / 4 KiB = 8192 pages.
	m, log := newVmTestMachine(t, Config{CPUs: 1})
	page := m.PageSize()
	if m.vm.lazyMax != 8192 {
		t.Fatalf("lazy_max_pages = %d, want 8192", m.vm.lazyMax)
	}
	// 1 MiB areas take 257 pages of address space each: the 32nd free
	// brings the lazy total to 8224 > 8192 and purges.
	for i := 1; i <= 32; i++ {
		p, err := m.Vmalloc(MiB, GFPKernel)
		if err != nil {
			t.Fatal(err)
		}
		if want := VmallocStart + Addr(uint64(i-1)*257*page); p != want {
			t.Fatalf("area %d at %v, want %v (freed ranges are not reused before the purge)", i, p, want)
		}
		n := log.Len()
		if err := m.Vfree(p); err != nil {
			t.Fatal(err)
		}
		purges := eventsOf(logEvents(log)[n:], EvVmapPurge)
		if (len(purges) == 1) != (i == 32) {
			t.Fatalf("after %d frees: %d purges", i, len(purges))
		}
		if i == 32 && (purges[0].Areas() != 32 || purges[0].Bytes() != 32*257*page || !strings.Contains(purges[0].Text(), "exceed lazy_max_pages() = fls(1 cpus) x 32 MiB = 8192 pages")) {
			t.Errorf("purge event %+v", purges[0])
		}
		checkAll(t, m)
	}
	if p, _ := m.Vmalloc(1, GFPKernel); p != VmallocStart {
		t.Errorf("after the purge the lowest address %v is free again, got %v", VmallocStart, p)
	}
	if strings.Contains(m.Vmallocinfo(), "unpurged") {
		t.Error("purged areas still listed")
	}
}

func TestPurgeWhenNoRangeFits(t *testing.T) {
	m, log := newVmTestMachine(t, Config{RAM: 2 * MiB, CPUs: 1})
	page := m.PageSize()
	window := m.vm.win.size // 4 x 2 MiB + 32 MiB = 40 MiB
	align := uint64(32 * MiB)
	if window < align+2*page || window >= 2*align {
		t.Fatalf("window %d: the test needs exactly two %d-aligned slots", window, align)
	}
	if _, err := m.Vmalloc(page, GFPKernel); err != nil { // takes slot 0
		t.Fatal(err)
	}
	b, err := m.vmallocNodeRange(page, align, GFPKernel, 0, vmCaller{fn: "vmalloc", ret: "test"})
	if err != nil || b != VmallocStart+Addr(align) {
		t.Fatalf("aligned area at %v (%v)", b, err)
	}
	if err := m.Vfree(b); err != nil {
		t.Fatal(err)
	}
	n := log.Len()
	c, err := m.vmallocNodeRange(page, align, GFPKernel, 0, vmCaller{fn: "vmalloc", ret: "test"})
	if err != nil || c != b {
		t.Fatalf("second aligned area at %v (%v), want %v after a purge", c, err, b)
	}
	if p := eventsOf(logEvents(log)[n:], EvVmapPurge); len(p) != 1 || !strings.Contains(p[0].Text(), "no free range holds") {
		t.Errorf("purge events %+v", p)
	}
	// Nothing left at that alignment, even after purging.
	n = log.Len()
	if _, err := m.vmallocNodeRange(page, align, GFPKernel, 0, vmCaller{fn: "vmalloc", ret: "test"}); !errors.Is(err, ErrNoMemory) {
		t.Fatalf("third aligned area: %v", err)
	}
	if !hasWarn(logEvents(log)[n:], "vmalloc_node_range for size 8192 failed: Address range restricted to 0xffffc90000000000 - ") ||
		!hasWarn(logEvents(log)[n:], "vmalloc error: size 4096, vm_struct allocation failed") {
		t.Errorf("warnings %+v", eventsOf(logEvents(log)[n:], EvWarn))
	}
	checkAll(t, m)
}

func TestPagesArrayIsVmallocedWhenLargerThanAPage(t *testing.T) {
	m, log := newVmTestMachine(t, Config{})
	page := m.PageSize()
	// 512 pointers fill a page exactly: kmalloc'ed (from kmalloc-4k), not
	// vmalloc'ed.
	small, _ := m.Vmalloc(512*page, GFPKernel)
	if a, _ := m.AreaOf(small); a.PagesArea != 0 || len(m.Areas()) != 1 {
		t.Errorf("512-page area: pages[] array vmalloc'ed at %v", a.PagesArea)
	} else if o, ok := m.ObjectAt(a.PagesArray); !ok || o.Cache != "kmalloc-4k" || !o.Allocated() || o.Size != 512*8 {
		t.Errorf("512-page area: pages[] array at %v is %+v, want a 4096-byte kmalloc-4k object", a.PagesArray, o)
	}
	// The slabs behind the kmalloc'ed arrays stay when the arrays are
	// freed, so count free pages from here.
	m.Vfree(small)
	warm, _ := m.Vmalloc(513*page, GFPKernel)
	m.Vfree(warm)
	m.purgeLazy("test")
	free := m.IdlePages()
	small, _ = m.Vmalloc(512*page, GFPKernel)
	p, err := m.Vmalloc(513*page, GFPKernel)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := m.AreaOf(p)
	arr, ok := m.AreaOf(a.PagesArea)
	if !ok || arr.Requested != 513*8 || arr.NrPages != 2 || arr.Caller != a.Caller || arr.Start <= p {
		t.Fatalf("pages[] area %+v of area %+v", arr, a)
	}
	// The array holds the struct page pointers of the area's pages.
	buf := make([]byte, 513*8)
	if err := m.ReadAt(arr.Start, buf); err != nil {
		t.Fatal(err)
	}
	for i, pfn := range a.PFNs {
		got := uint64(buf[i*8]) | uint64(buf[i*8+1])<<8 | uint64(buf[i*8+2])<<16 | uint64(buf[i*8+3])<<24 |
			uint64(buf[i*8+4])<<32 | uint64(buf[i*8+5])<<40 | uint64(buf[i*8+6])<<48 | uint64(buf[i*8+7])<<56
		if got != vmemmapBase+pfn*64 {
			t.Fatalf("pages[%d] = %#x, want struct page of pfn %#x (%#x)", i, got, pfn, vmemmapBase+pfn*64)
		}
	}
	if !strings.Contains(m.Vmallocinfo(), fmt.Sprintf(" %7d vmalloc pages=513 vmalloc vpages N0=513\n", 514*page)) {
		t.Errorf("vmallocinfo:\n%s", m.Vmallocinfo())
	}
	checkAll(t, m)
	n := log.Len()
	m.Vfree(p)
	m.Vfree(small)
	if len(m.Areas()) != 0 || len(eventsOf(logEvents(log)[n:], EvVmapFree)) != 3 {
		t.Errorf("vfree left %d areas", len(m.Areas()))
	}
	if m.IdlePages() != free {
		t.Errorf("free pages %d, want %d", m.IdlePages(), free)
	}
	checkAll(t, m)
}

func TestHostPageSizeMustDividePageSize(t *testing.T) {
	// This host has 4 KiB pages, which divide every simulated size; the
	// check exists for hosts with 16 KiB or 64 KiB pages.
	for _, ps := range pageSizes {
		m := newTestMachine(t, Config{PageSize: ps})
		if m.vm.win.size == 0 {
			t.Errorf("page size %d: no window", ps)
		}
	}
}

func TestCloseReleasesTheWindow(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/self/maps")
	}
	m, err := NewMachine(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Vmalloc(3*m.PageSize(), GFPKernel); err != nil {
		t.Fatal(err)
	}
	base := fmt.Sprintf("%x-", uintptr(m.vm.win.base))
	mapped := func() bool {
		maps, err := os.ReadFile("/proc/self/maps")
		if err != nil {
			t.Fatal(err)
		}
		return strings.Contains(string(maps), "\n"+base) || strings.HasPrefix(string(maps), base)
	}
	if !mapped() {
		t.Fatalf("window at %s not found in /proc/self/maps", base)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if mapped() {
		t.Errorf("window at %s still mapped after Close", base)
	}
}

package allocator

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
)

var profiles = []Profile{ProfileLatest, Profile612}

// fragment takes every free page as an order-0 page and gives back every
// other one (the even pfns): each page given back has its buddy in use,
// so nothing merges and the largest free block is order 0. It returns the
// pages still held.
func fragment(t testing.TB, m *Machine) []Addr {
	t.Helper()
	var all []Addr
	// __GFP_MEMALLOC ignores the watermarks, so every page is taken; the
	// pcp lists go back first, since an order-0 allocation never takes a
	// higher-order block from them.
	m.DrainAllPages()
	for {
		a, err := m.AllocPages(0, GFPKernel|GFPMemalloc|GFPNoWarn)
		if err != nil {
			break
		}
		all = append(all, a)
	}
	var held []Addr
	for _, a := range all {
		pfn, _ := m.AddrPFN(a)
		if pfn%2 == 1 {
			held = append(held, a)
			continue
		}
		if err := m.FreePages(a, 0); err != nil {
			t.Fatal(err)
		}
	}
	m.DrainAllPages()
	if got := m.largestFreeOrder(); got != 0 {
		t.Fatalf("after fragmenting the largest free block is order %d, want 0", got)
	}
	return held
}

// lastKind returns the last event of kind k in evs.
func lastKind(t testing.TB, evs []Event, k EventKind) Event {
	t.Helper()
	es := eventsOf(evs, k)
	if len(es) == 0 {
		t.Fatalf("no %v event among %d", k, len(evs))
	}
	return es[len(es)-1]
}

func TestKmallocGFPAdjust(t *testing.T) {
	for _, tc := range []struct {
		prof Profile
		gfp  GFP
		size uint64
		want GFP
	}{
		// One page or less: the caller's flags.
		{ProfileLatest, GFPKernel, 4096, GFPKernel},
		{Profile612, GFPKernel | GFPNoFail, 100, GFPKernel | GFPNoFail},
		// 6.12: NOWARN and NORETRY added, NOFAIL cleared.
		{Profile612, GFPKernel, 4097, GFPKernel | GFPNoWarn | GFPNoRetry},
		{Profile612, GFPKernel | GFPNoFail, 16384, GFPKernel | GFPNoWarn | GFPNoRetry},
		{Profile612, GFPKernel | GFPRetryMayfail, 16384, GFPKernel | GFPNoWarn | GFPRetryMayfail},
		// 6.16+: direct reclaim cleared instead of NORETRY added.
		{ProfileLatest, GFPKernel, 4097, GFPKswapdReclaim | GFPIO | GFPFS | GFPNoWarn},
		{ProfileLatest, GFPKernel | GFPNoFail | GFPZero, 16384, GFPKswapdReclaim | GFPIO | GFPFS | GFPNoWarn | GFPZero},
		{ProfileLatest, GFPKernel | GFPRetryMayfail, 16384, GFPKernel | GFPNoWarn | GFPRetryMayfail},
		{ProfileLatest, GFPAtomic, 16384, GFPAtomic | GFPNoWarn},
	} {
		m := newTestMachine(t, Config{RAM: 2 * MiB, Profile: tc.prof})
		if got := m.KmallocGFPAdjust(tc.gfp, tc.size); got != tc.want {
			t.Errorf("%v: kmalloc_gfp_adjust(%v, %d) = %v, want %v", tc.prof, tc.gfp, tc.size, got, tc.want)
		}
	}
}

func TestKvmallocKmallocPath(t *testing.T) {
	for _, prof := range profiles {
		t.Run(prof.String(), func(t *testing.T) {
			m, log := newVmTestMachine(t, Config{RAM: 8 * MiB, Profile: prof})
			for _, tc := range []struct {
				size  uint64
				where string
				flags GFP
			}{
				{100, "kmalloc-128", GFPKernel},
				{4096, "kmalloc-4k", GFPKernel},
				{8192, "kmalloc-8k", m.KmallocGFPAdjust(GFPKernel, 8192)},
				{16384, "", m.KmallocGFPAdjust(GFPKernel, 16384)},
			} {
				n := log.Len()
				p, err := m.KVmalloc(tc.size, GFPKernel)
				if err != nil || m.IsVmallocAddr(p) {
					t.Fatalf("kvmalloc(%d) = %v, %v; want kmalloc memory", tc.size, p, err)
				}
				o, ok := m.ObjectAt(p)
				if !ok || o.Cache != tc.where || o.Size != tc.size || o.Start != p {
					t.Errorf("kvmalloc(%d) at %v is %+v, want %q", tc.size, p, o, tc.where)
				}
				evs := logEvents(log)[n:]
				km := lastKind(t, evs, EvKmalloc)
				kv := lastKind(t, evs, EvKvmalloc)
				if km.GFP() != tc.flags || km.Addr() != p {
					t.Errorf("kvmalloc(%d): the kmalloc ran with %v, want %v", tc.size, km.GFP(), tc.flags)
				}
				if evs[len(evs)-1].Kind() != EvKvmalloc || kv.Addr() != p || kv.Path() != "kmalloc" || kv.Size() != tc.size || kv.GFP() != GFPKernel ||
					!strings.Contains(kv.Text(), "succeeded, so no vmalloc") {
					t.Errorf("kvmalloc(%d): decision %+v", tc.size, kv)
				}
				if len(eventsOf(evs, EvVmapAlloc)) != 0 {
					t.Errorf("kvmalloc(%d) made a vmap area", tc.size)
				}
				n = log.Len()
				if err := m.KVfree(p); err != nil {
					t.Fatal(err)
				}
				if k := eventsOf(logEvents(log)[n:], EvKfree); len(k) != 1 || k[0].Addr() != p {
					t.Errorf("kvfree of kmalloc memory: kfree events %+v", k)
				}
				checkAll(t, m)
			}
		})
	}
}

// TestKvmallocFragmentationFallsBackToVmalloc is the lesson of kvmalloc:
// with every other page free, no block above order 0 exists, so a 16 KiB
// kmalloc (an order-2 block) fails, and kvmalloc of the same size
// succeeds through vmalloc, whose pages need not be contiguous.
func TestKvmallocFragmentationFallsBackToVmalloc(t *testing.T) {
	for _, prof := range profiles {
		t.Run(prof.String(), func(t *testing.T) {
			m, log := newVmTestMachine(t, Config{RAM: 8 * MiB, Profile: prof})
			held := fragment(t, m)
			if _, err := m.Kmalloc(16384, GFPKernel); !errors.Is(err, ErrNoMemory) {
				t.Fatalf("kmalloc(16 KiB) with only order-0 blocks free: %v, want ErrNoMemory", err)
			}
			n := log.Len()
			p, err := m.KVmalloc(16384, GFPKernel)
			if err != nil || !m.IsVmallocAddr(p) {
				t.Fatalf("kvmalloc(16 KiB) = %v, %v; want vmalloc memory", p, err)
			}
			evs := logEvents(log)[n:]
			// The kmalloc attempt comes first, quietly: adjusted flags, no warning.
			pf := eventsOf(evs, EvPageFail)
			if len(pf) == 0 || pf[0].Order() != 2 || pf[0].LargestOrder() != 0 || pf[0].GFP()&GFPNoWarn == 0 {
				t.Errorf("the kmalloc attempt's page failure %+v", pf)
			}
			if len(eventsOf(evs, EvWarn)) != 0 {
				t.Errorf("warnings %+v: kvmalloc's kmalloc attempt runs with __GFP_NOWARN", eventsOf(evs, EvWarn))
			}
			a, _ := m.AreaOf(p)
			if a.NrPages != 4 || a.Flags&VMAllowHugeVmap == 0 || a.Caller != "kvmalloc" || len(pfnRuns(a.PFNs)) != 4 {
				t.Errorf("the area %+v: want 4 scattered pages with VM_ALLOW_HUGE_VMAP", a)
			}
			kv := lastKind(t, evs, EvKvmalloc)
			want := "kmalloc order-2 attempt failed: largest free block is order 0"
			if kv.Path() != "vmalloc fallback" || kv.Addr() != p || !strings.Contains(kv.Text(), want) ||
				!strings.Contains(kv.Text(), "fell back to vmalloc: 4 scattered pages in 4 runs") {
				t.Errorf("decision %+v, want it to say %q and the pages", kv, want)
			}
			if evs[len(evs)-1].Kind() != EvKvmalloc {
				t.Error("the decision is not the last event")
			}
			// The memory is real: the same bytes at both addresses.
			if err := m.WriteAt(p+12288, []byte("last page")); err != nil {
				t.Fatal(err)
			}
			if got := m.PageBytes(a.PFNs[3])[:9]; string(got) != "last page" {
				t.Errorf("through the direct map of pfn %#x: %q", a.PFNs[3], got)
			}
			n = log.Len()
			if err := m.KVfree(p); err != nil {
				t.Fatal(err)
			}
			if len(eventsOf(logEvents(log)[n:], EvVmapFree)) != 1 || len(eventsOf(logEvents(log)[n:], EvKfree)) != 1 {
				t.Errorf("kvfree of vmalloc memory: %v", kindsOf(logEvents(log)[n:]))
			}
			checkAll(t, m)
			for _, h := range held {
				m.FreePages(h, 0)
			}
			checkAll(t, m)
		})
	}
}

func kindsOf(evs []Event) string {
	var b strings.Builder
	for _, e := range evs {
		fmt.Fprintf(&b, "%v ", e.Kind())
	}
	return b.String()
}

// TestKvmallocNoFallbackWhenFlagsCannotBlock: GFP_ATOMIC and GFP_NOWAIT
// have no __GFP_DIRECT_RECLAIM, and vmalloc may sleep, so kvmalloc gives
// up when the kmalloc attempt fails. GFP_KERNEL on the same state falls
// back.
func TestKvmallocNoFallbackWhenFlagsCannotBlock(t *testing.T) {
	for _, prof := range profiles {
		t.Run(prof.String(), func(t *testing.T) {
			m, log := newVmTestMachine(t, Config{RAM: 8 * MiB, Profile: prof})
			fragment(t, m)
			for _, gfp := range []GFP{GFPAtomic, GFPNowait, GFPKernel &^ GFPDirectReclaim} {
				free := m.IdlePages()
				n := log.Len()
				p, err := m.KVmalloc(16384, gfp)
				if p != 0 || !errors.Is(err, ErrNoMemory) {
					t.Fatalf("kvmalloc(16 KiB, %v) = %v, %v; want NULL", gfp, p, err)
				}
				evs := logEvents(log)[n:]
				if len(eventsOf(evs, EvVmapAlloc))+len(eventsOf(evs, EvVmapFree)) != 0 || m.IdlePages() != free {
					t.Errorf("kvmalloc(16 KiB, %v) tried vmalloc: %s", gfp, kindsOf(evs))
				}
				kv := lastKind(t, evs, EvKvmalloc)
				if kv.Addr() != 0 || kv.Path() != "no fallback" || kv.GFP() != gfp || !strings.Contains(kv.Text(), "cannot block (no __GFP_DIRECT_RECLAIM)") ||
					!strings.Contains(kv.Text(), "largest free block is order 0") {
					t.Errorf("kvmalloc(16 KiB, %v): decision %+v", gfp, kv)
				}
				if len(eventsOf(evs, EvWarn)) != 0 {
					t.Errorf("kvmalloc(16 KiB, %v) warned: %+v", gfp, eventsOf(evs, EvWarn))
				}
			}
			// Small requests never needed the fallback.
			if p, err := m.KVmalloc(100, GFPAtomic); err != nil || m.IsVmallocAddr(p) {
				t.Errorf("kvmalloc(100, GFP_ATOMIC) = %v, %v", p, err)
			}
			if p, err := m.KVmalloc(16384, GFPKernel); err != nil || !m.IsVmallocAddr(p) {
				t.Errorf("kvmalloc(16 KiB, GFP_KERNEL) on the same state = %v, %v; want the vmalloc fallback", p, err)
			}
			checkAll(t, m)
		})
	}
}

func TestKvmallocNoFallbackForOnePageOrLess(t *testing.T) {
	m, log := newVmTestMachine(t, Config{RAM: 4 * MiB})
	var held []Addr
	for {
		a, err := m.AllocPages(0, GFPKernel|GFPNoWarn)
		if err != nil {
			break
		}
		held = append(held, a)
	}
	for _, size := range []uint64{100, 4096} {
		n := log.Len()
		p, err := m.KVmalloc(size, GFPKernel)
		if p != 0 || !errors.Is(err, ErrNoMemory) {
			t.Fatalf("kvmalloc(%d) with no free page = %v, %v", size, p, err)
		}
		evs := logEvents(log)[n:]
		kv := lastKind(t, evs, EvKvmalloc)
		if kv.Path() != "kmalloc failed" || !strings.Contains(kv.Text(), "no vmalloc fallback for one page or less") {
			t.Errorf("kvmalloc(%d): decision %+v", size, kv)
		}
		if len(eventsOf(evs, EvVmapFree)) != 0 {
			t.Errorf("kvmalloc(%d) tried vmalloc", size)
		}
	}
	// One page more and it does try vmalloc, which fails for want of pages.
	n := log.Len()
	if p, err := m.KVmalloc(4097, GFPKernel); p != 0 || !errors.Is(err, ErrNoMemory) {
		t.Fatalf("kvmalloc(4097) = %v, %v", p, err)
	}
	if kv := lastKind(t, logEvents(log)[n:], EvKvmalloc); kv.Path() != "vmalloc fallback failed" || !strings.Contains(kv.Text(), "the vmalloc fallback failed too") {
		t.Errorf("kvmalloc(4097): decision %+v", kv)
	}
	for _, h := range held {
		m.FreePages(h, 0)
	}
	checkAll(t, m)
}

func TestKvmallocAboveIntMax(t *testing.T) {
	for _, prof := range profiles {
		m, log := newVmTestMachine(t, Config{Profile: prof})
		free := m.IdlePages()
		for i, gfp := range []GFP{GFPKernel | GFPNoWarn, GFPKernel, GFPKernel} {
			n := log.Len()
			p, err := m.KVmalloc(intMax+1, gfp)
			if p != 0 || !errors.Is(err, ErrNoMemory) {
				t.Fatalf("kvmalloc(INT_MAX+1) = %v, %v", p, err)
			}
			evs := logEvents(log)[n:]
			warned := hasWarn(evs, "__kvmalloc_node_noprof: WARN_ON_ONCE(!(flags & __GFP_NOWARN))")
			if warned != (i == 1) {
				t.Errorf("%v: call %d with %v warned %v; want only the first without __GFP_NOWARN (WARN_ON_ONCE)", prof, i, gfp, warned)
			}
			if len(eventsOf(evs, EvVmapFree)) != 0 || !strings.Contains(lastKind(t, evs, EvKvmalloc).Text(), "above INT_MAX") {
				t.Errorf("%v: call %d: %s", prof, i, kindsOf(evs))
			}
		}
		wantFile := map[Profile]string{ProfileLatest: "WARNING: mm/slub.c:", Profile612: "WARNING: mm/util.c:"}[prof]
		if !hasWarn(logEvents(log), wantFile) {
			t.Errorf("%v: the WARN names the wrong file", prof)
		}
		if m.IdlePages() != free {
			t.Error("a refused kvmalloc took pages")
		}
	}
}

// TestKvmallocZeroAndAlignment: kvmalloc(0) is kmalloc(0), ZERO_SIZE_PTR,
// in 6.12; 6.17+ makes the kmalloc attempt only when size >= align, and
// plain kvmalloc passes align 1, so a size of 0 goes to vmalloc, which
// warns and returns NULL.
func TestKvmallocZeroAndAlignment(t *testing.T) {
	m, _ := newVmTestMachine(t, Config{Profile: Profile612})
	if p, err := m.KVmalloc(0, GFPKernel); p != ZeroSizePtr || err != nil {
		t.Errorf("6.12: kvmalloc(0) = %v, %v; want ZERO_SIZE_PTR", p, err)
	}
	if _, err := m.KVmallocAlign(100, 2*m.PageSize(), GFPKernel); !errors.Is(err, ErrBadSize) {
		t.Errorf("6.12: an alignment above PAGE_SIZE: %v", err)
	}

	// 6.18 as merged: the kmalloc attempt is made whatever the alignment,
	// so kvmalloc(0) is kmalloc(0), and a small size with a large
	// alignment gets kmalloc's natural alignment only.
	m, log := newVmTestMachine(t, Config{})
	if p, err := m.KVmalloc(0, GFPKernel); p != ZeroSizePtr || err != nil {
		t.Errorf("6.18: kvmalloc(0) = %v, %v; want ZERO_SIZE_PTR", p, err)
	}
	align := 16 * m.PageSize()
	n := log.Len()
	p, err := m.KVmallocAlign(100, align, GFPKernel)
	if err != nil || m.IsVmallocAddr(p) {
		t.Fatalf("kvmalloc_node_align(100, %d) = %v, %v; want kmalloc memory", align, p, err)
	}
	if kv := lastKind(t, logEvents(log)[n:], EvKvmalloc); kv.Path() != "kmalloc" {
		t.Errorf("kvmalloc_node_align(100, %d) took path %q: %s", align, kv.Path(), kv.Text())
	}
	// size >= align: kmalloc, whose natural alignment covers it.
	q, err := m.KVmallocAlign(align, align, GFPKernel)
	if err != nil || m.IsVmallocAddr(q) || uint64(q)%align != 0 {
		t.Errorf("kvmalloc_node_align(%d, %d) = %v, %v; want aligned kmalloc memory", align, align, q, err)
	}
	if _, err := m.KVmallocAlign(100, 3, GFPKernel); !errors.Is(err, ErrBadSize) {
		t.Errorf("alignment 3: %v", err)
	}
	checkAll(t, m)
}

// reallocsOf returns the realloc decisions in evs.
func reallocsOf(evs []Event) []*ReallocInfo {
	var out []*ReallocInfo
	for _, e := range eventsOf(evs, EvRealloc) {
		out = append(out, ri(e))
	}
	return out
}

// checkKvreallocEvents checks kvrealloc's event shape: inner decisions
// marked Within "kvrealloc", then exactly one of its own, last of them.
func checkKvreallocEvents(t *testing.T, evs []Event) *ReallocInfo {
	t.Helper()
	rs := reallocsOf(evs)
	if len(rs) == 0 {
		t.Fatal("kvrealloc recorded no decision")
	}
	own := rs[len(rs)-1]
	if own.Func != "kvrealloc" || own.Within != "" {
		t.Fatalf("the last decision %+v is not kvrealloc's own", own)
	}
	for _, r := range rs[:len(rs)-1] {
		if r.Within != "kvrealloc" || r.Func == "kvrealloc" {
			t.Errorf("inner decision %+v is not marked as part of kvrealloc", r)
		}
	}
	return own
}

func TestKvreallocKmallocMemory(t *testing.T) {
	for _, prof := range profiles {
		t.Run(prof.String(), func(t *testing.T) {
			m, log := newVmTestMachine(t, Config{RAM: 8 * MiB, Profile: prof})
			p, _ := m.KVmalloc(100, GFPKernel)
			m.WriteAt(p, bytes.Repeat([]byte{0x5a}, 100))
			// In place.
			n := log.Len()
			q, err := m.KVrealloc(p, 120, GFPKernel)
			if err != nil || q != p {
				t.Fatalf("kvrealloc(p, 120) = %v, %v; want p in place", q, err)
			}
			own := checkKvreallocEvents(t, logEvents(log)[n:])
			if own.Decision != DecisionGrownInPlace || own.Bucket != "kmalloc-128" || len(reallocsOf(logEvents(log)[n:])) != 2 {
				t.Errorf("in place: %+v", own)
			}
			// Moved within kmalloc: krealloc with adjusted flags.
			n = log.Len()
			q, err = m.KVrealloc(p, 20000, GFPKernel)
			if err != nil || q == p || m.IsVmallocAddr(q) {
				t.Fatalf("kvrealloc(p, 20000) = %v, %v; want a large kmalloc", q, err)
			}
			evs := logEvents(log)[n:]
			if km := lastKind(t, evs, EvKmalloc); km.GFP() != m.KmallocGFPAdjust(GFPKernel, 20000) {
				t.Errorf("the krealloc's kmalloc ran with %v", km.GFP())
			}
			own = checkKvreallocEvents(t, evs)
			if own.Decision != DecisionMoved || own.Old != p || own.New != q || own.Bucket != "pages" {
				t.Errorf("moved: %+v", own)
			}
			got := make([]byte, 100)
			m.ReadAt(q, got)
			if !bytes.Equal(got, bytes.Repeat([]byte{0x5a}, 100)) {
				t.Error("the contents did not move")
			}
			// Size 0: kfree, ZERO_SIZE_PTR.
			n = log.Len()
			if z, err := m.KVrealloc(q, 0, GFPKernel); z != ZeroSizePtr || err != nil {
				t.Errorf("kvrealloc(q, 0) = %v, %v", z, err)
			}
			if own := checkKvreallocEvents(t, logEvents(log)[n:]); own.Decision != DecisionFreed {
				t.Errorf("size 0: %+v", own)
			}
			// NULL and ZERO_SIZE_PTR are kvmalloc.
			for _, from := range []Addr{0, ZeroSizePtr} {
				n = log.Len()
				r, err := m.KVrealloc(from, 50, GFPKernel)
				if err != nil || r.ZeroOrNull() {
					t.Fatalf("kvrealloc(%v, 50) = %v, %v", from, r, err)
				}
				if own := checkKvreallocEvents(t, logEvents(log)[n:]); own.Decision != DecisionNew || own.New != r {
					t.Errorf("kvrealloc(%v, 50): %+v", from, own)
				}
				m.KVfree(r)
			}
			checkAll(t, m)
		})
	}
}

func TestKvreallocVmallocStaysVmalloc(t *testing.T) {
	for _, prof := range profiles {
		t.Run(prof.String(), func(t *testing.T) {
			m, log := newVmTestMachine(t, Config{RAM: 8 * MiB, Profile: prof})
			held := fragment(t, m)
			p, err := m.KVmalloc(10000, GFPKernel)
			if err != nil || !m.IsVmallocAddr(p) {
				t.Fatalf("kvmalloc(10000) = %v, %v", p, err)
			}
			for _, h := range held { // now kmalloc would work, but vmalloc memory stays vmalloc
				m.FreePages(h, 0)
			}
			m.Fill(p, 0x77, 10000)
			n := log.Len()
			q, err := m.KVrealloc(p, 12000, GFPKernel)
			if err != nil || q != p {
				t.Fatalf("kvrealloc(p, 12000) = %v, %v; want in place", q, err)
			}
			evs := logEvents(log)[n:]
			rs := reallocsOf(evs)
			own := checkKvreallocEvents(t, evs)
			if len(rs) != 2 || rs[0].Func != "vrealloc" || own.Decision != DecisionGrownInPlace || own.Bucket != "vmalloc" {
				t.Errorf("grow in place: %+v", rs)
			}
			n = log.Len()
			q, err = m.KVrealloc(p, 40000, GFPKernel)
			if err != nil || q == p || !m.IsVmallocAddr(q) {
				t.Fatalf("kvrealloc(p, 40000) = %v, %v; want a new vmalloc area", q, err)
			}
			evs = logEvents(log)[n:]
			if len(eventsOf(evs, EvKmalloc)) != 1 { // the new area's pages[] array
				t.Errorf("kvrealloc of vmalloc memory tried kmalloc: %s", kindsOf(evs))
			}
			if own := checkKvreallocEvents(t, evs); own.Decision != DecisionMoved || own.New != q || own.Old != p {
				t.Errorf("moved: %+v", own)
			}
			got := make([]byte, 10000)
			m.ReadAt(q, got)
			if !bytes.Equal(got, bytes.Repeat([]byte{0x77}, 10000)) {
				t.Error("the contents did not move")
			}
			n = log.Len()
			if z, err := m.KVrealloc(q, 0, GFPKernel); z != 0 || err != nil || len(m.Areas()) != 0 {
				t.Errorf("kvrealloc(q, 0) = %v, %v; %d areas left", z, err, len(m.Areas()))
			}
			if own := checkKvreallocEvents(t, logEvents(log)[n:]); own.Decision != DecisionFreed {
				t.Errorf("size 0: %+v", own)
			}
			checkAll(t, m)
		})
	}
}

// TestKvreallocFallsBackToVmalloc: kmalloc memory that cannot grow in
// kmalloc because memory is fragmented moves to vmalloc; 6.12 copies
// ksize(p), the newest kernel min(size, ksize(p)).
func TestKvreallocFallsBackToVmalloc(t *testing.T) {
	for _, prof := range profiles {
		t.Run(prof.String(), func(t *testing.T) {
			m, log := newVmTestMachine(t, Config{RAM: 8 * MiB, Profile: prof})
			p, _ := m.KVmalloc(3000, GFPKernel)
			want := bytes.Repeat([]byte("kvrealloc!"), 300)
			m.WriteAt(p, want)
			held := fragment(t, m)
			n := log.Len()
			q, err := m.KVrealloc(p, 16384, GFPKernel)
			if err != nil || !m.IsVmallocAddr(q) {
				t.Fatalf("kvrealloc(p, 16384) = %v, %v; want the vmalloc fallback", q, err)
			}
			evs := logEvents(log)[n:]
			own := checkKvreallocEvents(t, evs)
			rs := reallocsOf(evs)
			if rs[0].Func != "krealloc" || rs[0].Decision != DecisionFailed {
				t.Errorf("the krealloc inside: %+v", rs[0])
			}
			if own.Decision != DecisionMoved || own.Old != p || own.New != q || own.Bucket != "vmalloc" || own.Copied != 4096 ||
				!strings.Contains(lastKind(t, evs, EvRealloc).Text(), "so kvmalloc(16384) used vmalloc") {
				t.Errorf("decision %+v: want a move to vmalloc copying ksize(p) = 4096 bytes", own)
			}
			if kv := lastKind(t, evs, EvKvmalloc); kv.Addr() != q || kv.Path() != "vmalloc fallback" {
				t.Errorf("kvmalloc decision %+v", kv)
			}
			if a, _ := m.AreaOf(q); a.Caller != "kvrealloc_node_align_noprof" || a.Func != "kvrealloc" {
				t.Errorf("area caller %q, func %q", a.Caller, a.Func)
			}
			// Order: kvmalloc, then the kfree of the old object, then the decision.
			var order []EventKind
			for _, e := range evs {
				if e.Kind() == EvKvmalloc || e.Kind() == EvKfree || e.Kind() == EvRealloc && ri(e).Within == "" {
					order = append(order, e.Kind())
				}
			}
			if fmt.Sprint(order) != fmt.Sprint([]EventKind{EvKvmalloc, EvKfree, EvRealloc}) {
				t.Errorf("event order %v", order)
			}
			got := make([]byte, len(want))
			m.ReadAt(q, got)
			if !bytes.Equal(got, want) {
				t.Error("the contents did not move")
			}
			if o, ok := m.ObjectAt(p); ok && o.Allocated() {
				t.Error("the old object is still allocated")
			}
			checkAll(t, m)
			for _, h := range held {
				m.FreePages(h, 0)
			}
			m.KVfree(q)
			checkAll(t, m)
		})
	}
}

// TestKvreallocCopyPastTheNewArea: when the krealloc fails although the
// new size fits the old object (a bigger alignment than p has), 6.18.0
// copies ksize(p) bytes, past the end of the new, smaller area (into its
// guard page: an oops); a 2026 fix copies min(size, ksize(p)). allocviz
// copies what the area holds and says so.
func TestKvreallocCopyPastTheNewArea(t *testing.T) {
	m, log := newVmTestMachine(t, Config{RAM: 8 * MiB})
	const align = 32768
	var p Addr
	var spare []Addr
	for { // a large kmalloc (16 KiB aligned) that is not 32 KiB aligned
		a, err := m.KVmalloc(12288, GFPKernel)
		if err != nil {
			t.Fatal(err)
		}
		if uint64(a)%align != 0 {
			p = a
			break
		}
		spare = append(spare, a)
	}
	for _, a := range spare {
		m.KVfree(a)
	}
	m.Fill(p, 0xcd, 16384)
	held := fragment(t, m)
	n := log.Len()
	q, err := m.KVreallocAlign(p, 10000, align, GFPKernel)
	if err != nil || !m.IsVmallocAddr(q) || uint64(q)%align != 0 {
		t.Fatalf("kvrealloc_node_align(p, 10000, 32 KiB) = %v, %v; want an aligned vmalloc area", q, err)
	}
	own := checkKvreallocEvents(t, logEvents(log)[n:])
	if own.Copied != 12288 || own.OldCap != 16384 {
		t.Errorf("copied %d of the %d-byte object, want the 12288 the area holds", own.Copied, own.OldCap)
	}
	if last := lastOf(log, EvRealloc); !strings.Contains(last.Text(), "ksize(p) is 16384, more than the new allocation holds") {
		t.Errorf("the decision does not say the kernel would copy past the area: %q", last.Text())
	}
	got := make([]byte, 10000)
	m.ReadAt(q, got)
	if !bytes.Equal(got, bytes.Repeat([]byte{0xcd}, 10000)) {
		t.Error("the first 10000 bytes did not move")
	}
	for _, h := range held {
		m.FreePages(h, 0)
	}
	checkAll(t, m)
}

func TestKvreallocFailureAndMisuseLeaveP(t *testing.T) {
	for _, prof := range profiles {
		t.Run(prof.String(), func(t *testing.T) {
			m, log := newVmTestMachine(t, Config{RAM: 8 * MiB, Profile: prof})
			p, _ := m.KVmalloc(100, GFPKernel)
			m.WriteAt(p, []byte("keep me"))
			// Too large for anything.
			n := log.Len()
			q, err := m.KVrealloc(p, 1<<40, GFPKernel|GFPNoWarn)
			if q != 0 || !errors.Is(err, ErrNoMemory) {
				t.Fatalf("kvrealloc(p, 1 TiB) = %v, %v", q, err)
			}
			if own := checkKvreallocEvents(t, logEvents(log)[n:]); own.Decision != DecisionFailed || own.Old != p {
				t.Errorf("failure: %+v", own)
			}
			got := make([]byte, 7)
			m.ReadAt(p, got)
			if o, _ := m.ObjectAt(p); string(got) != "keep me" || !o.Allocated() {
				t.Error("a failed kvrealloc changed p")
			}
			// A pointer that is no allocation: refused, no fallback.
			m.KVfree(p)
			free := m.IdlePages()
			n = log.Len()
			if q, err := m.KVrealloc(p, 20000, GFPKernel); q != 0 || !errors.Is(err, ErrDoubleFree) {
				t.Errorf("kvrealloc of a freed pointer = %v, %v", q, err)
			}
			evs := logEvents(log)[n:]
			if len(eventsOf(evs, EvKvmalloc)) != 0 || len(eventsOf(evs, EvMisuse)) != 1 || m.IdlePages() != free {
				t.Errorf("misuse: %s", kindsOf(evs))
			}
			if own := checkKvreallocEvents(t, evs); own.Decision != DecisionFailed {
				t.Errorf("misuse: %+v", own)
			}
			if q, err := m.KVrealloc(VmallocStart+5*Addr(m.PageSize()), 10, GFPKernel); q != 0 || !errors.Is(err, ErrBadAddress) {
				t.Errorf("kvrealloc of no vmap area = %v, %v", q, err)
			}
			if _, err := m.KVreallocAlign(0, 10, 3, GFPKernel); !errors.Is(err, ErrBadSize) {
				t.Errorf("alignment 3: %v", err)
			}
			checkAll(t, m)
		})
	}
}

// TestVmallocPagesArrayIsKmalloced: a pages[] array that fits in a page
// is a kmalloc object holding the struct page pointers, freed (kfree'd)
// after the area's pages.
func TestVmallocPagesArrayIsKmalloced(t *testing.T) {
	m, log := newVmTestMachine(t, Config{})
	n := log.Len()
	p, err := m.Vmalloc(3*m.PageSize(), GFPKernel)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := m.AreaOf(p)
	o, ok := m.ObjectAt(a.PagesArray)
	if !ok || o.Cache != "kmalloc-32" || o.Size != 24 || !o.Allocated() || a.PagesArea != 0 {
		t.Fatalf("pages[] array at %v: %+v", a.PagesArray, o)
	}
	arr := make([]byte, 24)
	m.ReadAt(a.PagesArray, arr)
	for i, pfn := range a.PFNs {
		if got := binary.LittleEndian.Uint64(arr[i*8:]); got != vmemmapBase+pfn*sizeofStructPage {
			t.Errorf("pages[%d] = %#x, want the struct page of pfn %#x", i, got, pfn)
		}
	}
	evs := logEvents(log)[n:]
	if km := eventsOf(evs, EvKmalloc); len(km) != 1 || km[0].Addr() != a.PagesArray || km[0].GFP() != GFPKernel&nestedGFPMask|GFPZero {
		t.Errorf("the array's kmalloc %+v", km)
	}
	if va := lastKind(t, evs, EvVmapAlloc); !strings.Contains(va.Text(), "its pages[] array of 24 bytes fits in a page, so it was kmalloc'ed at") || va.Path() != "vmalloc" {
		t.Errorf("EvVmapAlloc %q %q", va.Text(), va.Path())
	}
	n = log.Len()
	m.Vfree(p)
	var order []string
	for _, e := range logEvents(log)[n:] {
		switch e.Kind() {
		case EvVmapFree, EvKfree, EvObjFree:
			order = append(order, e.Kind().String())
		}
	}
	if strings.Join(order, " ") != "vmap_free kfree obj_free" {
		t.Errorf("vfree events %v, want the area, then kvfree(vm->pages)", order)
	}
	if o, _ := m.ObjectAt(a.PagesArray); o.Allocated() {
		t.Error("the pages[] array is still allocated")
	}
	checkAll(t, m)
}

// TestKVBoxOfMoreThanKmallocMaxSize is the other half of kbox.rs's
// doctest (6.18): the type a KBox cannot hold, one byte above
// KMALLOC_MAX_SIZE, fits a KVBox, because kvmalloc falls back to vmalloc.
func TestKVBoxOfMoreThanKmallocMaxSize(t *testing.T) {
	for _, prof := range profiles {
		m, log := newVmTestMachine(t, Config{RAM: 16 * MiB, Profile: prof})
		b, err := NewBoxUninit[hugeBox](m, KVmalloc{M: m}, GFPKernel)
		if err != nil || !m.IsVmallocAddr(b.Addr()) {
			t.Fatalf("%v: KVBox::<Huge>::new_uninit = %v, %v; want vmalloc memory", prof, b, err)
		}
		if a, _ := m.AreaOf(b.Addr()); a.NrPages != 1025 {
			t.Errorf("%v: %d pages for %d bytes", prof, a.NrPages, len(hugeBox{}))
		}
		if kv := lastKind(t, logEvents(log), EvKvmalloc); !strings.Contains(kv.Text(), "order 11 exceeds MAX_PAGE_ORDER (10)") {
			t.Errorf("%v: decision %q", prof, kv.Text())
		}
		if len(eventsOf(logEvents(log), EvWarn)) != 0 {
			t.Errorf("%v: warnings %+v: the kmalloc attempt runs with __GFP_NOWARN", prof, eventsOf(logEvents(log), EvWarn))
		}
		b.Drop()
		checkAll(t, m)
	}
}

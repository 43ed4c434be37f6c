package allocator

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// tableBucket is the kmalloc cache of a request, from the table in
// docs/fidelity.md (kmalloc_size_index[] up to 192 bytes, then fls(size-1)).
func tableBucket(n uint64) string {
	for _, r := range []struct {
		hi   uint64
		name string
	}{{8, "8"}, {16, "16"}, {32, "32"}, {64, "64"}, {96, "96"}, {128, "128"}, {192, "192"}, {256, "256"},
		{512, "512"}, {1024, "1k"}, {2048, "2k"}, {4096, "4k"}, {8192, "8k"}} {
		if n <= r.hi {
			return "kmalloc-" + r.name
		}
	}
	return ""
}

// TestKmallocSizeToCache allocates every size from 1 to 8192 and checks
// the cache against that table, ksize, kmalloc_size_roundup and the
// kmem:kmalloc event.
func TestKmallocSizeToCache(t *testing.T) {
	m := newTestMachine(t, Config{})
	log := &EventLog{}
	m.SetLog(log)
	for n := uint64(1); n <= 8192; n++ {
		want := tableBucket(n)
		before := log.Len()
		p, err := m.Kmalloc(n, GFPKernel)
		if err != nil {
			t.Fatalf("kmalloc(%d): %v", n, err)
		}
		o, ok := m.ObjectAt(p)
		if !ok || o.Cache != want || o.Start != p || o.Size != n || !o.Allocated() {
			t.Fatalf("kmalloc(%d) = %v: ObjectAt says %+v, want an allocated %d-byte object of %s", n, p, o, n, want)
		}
		bucket := m.Cache(want).ObjectSize()
		if ks := m.Ksize(p); ks != bucket {
			t.Fatalf("ksize(kmalloc(%d)) = %d, want %d", n, ks, bucket)
		}
		if r := m.KmallocSizeRoundup(n); r != bucket {
			t.Fatalf("kmalloc_size_roundup(%d) = %d, want %d", n, r, bucket)
		}
		ev := log.At(log.Len() - 1)
		if ev.Kind() != EvKmalloc || ev.Addr() != p || ev.Size() != n || ev.Bytes() != bucket || ev.Cache() != want {
			t.Fatalf("kmalloc(%d): last event %+v, want kmem:kmalloc bytes_req=%d bytes_alloc=%d", n, ev, n, bucket)
		}
		if log.At(before).Kind() == EvKmalloc {
			t.Fatalf("kmalloc(%d): the tracepoint came before the object was taken", n)
		}
		// The rule names the whole range of sizes that share the bucket.
		var req, lo, hi uint64
		var name string
		if _, err := fmt.Sscanf(ev.Text(), "kmalloc(%d): %d..%d bytes use %s", &req, &lo, &hi, &name); err != nil ||
			req != n || lo > n || hi != bucket || name != want || tableBucket(lo) != want || lo > 1 && tableBucket(lo-1) == want {
			t.Fatalf("kmalloc(%d): rule %q, want the range of sizes that use %s", n, ev.Text(), want)
		}
		if err := m.Kfree(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.CheckSlub(); err != nil {
		t.Fatal(err)
	}
}

// TestKmallocSizeToCacheOtherPageSizes checks the rule (the size index up
// to 192, then the next power of two up to two pages) for every size at
// 16 KiB and 64 KiB pages.
func TestKmallocSizeToCacheOtherPageSizes(t *testing.T) {
	for _, page := range []int{16384, 65536} {
		m := newTestMachine(t, Config{PageSize: page})
		maxCache := m.KmallocMaxCacheSize()
		for n := uint64(1); n <= maxCache; n++ {
			want := tableBucket(n)
			if n > 192 {
				b := uint64(256)
				for b < n {
					b *= 2
				}
				want = "kmalloc-" + kmallocShortSize(b)
			}
			if got := m.KmallocCacheFor(n, GFPKernel); got == nil || got.Name() != want {
				t.Fatalf("page %d: kmalloc(%d) uses %v, want %s", page, n, got, want)
			}
		}
		if m.KmallocCacheFor(maxCache+1, GFPKernel) != nil {
			t.Errorf("page %d: %d bytes should be a large kmalloc", page, maxCache+1)
		}
		// A real allocation at the top bucket and one above it.
		p, err := m.Kmalloc(maxCache, GFPKernel)
		if err != nil {
			t.Fatal(err)
		}
		q, err := m.Kmalloc(maxCache+1, GFPKernel)
		if err != nil {
			t.Fatal(err)
		}
		if o, _ := m.ObjectAt(q); !o.Large || o.Ksize != uint64(page)<<2 {
			t.Errorf("page %d: kmalloc(%d) = %+v, want a large kmalloc of order 2", page, maxCache+1, o)
		}
		m.Kfree(p)
		m.Kfree(q)
		if err := m.CheckSlub(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestKmallocLarge(t *testing.T) {
	m := newTestMachine(t, Config{})
	log := &EventLog{}
	m.SetLog(log)
	for _, tc := range []struct {
		size  uint64
		order int
	}{{8193, 2}, {16384, 2}, {16385, 3}, {32768, 3}, {100000, 5}, {4 * MiB, 10}} {
		free := m.IdlePages()
		p, err := m.Kmalloc(tc.size, GFPKernel)
		if err != nil {
			t.Fatalf("kmalloc(%d): %v", tc.size, err)
		}
		pfn, _ := m.AddrPFN(p)
		pi := m.Page(pfn)
		if pi.Owner != OwnerLargeKmalloc || pi.Order != tc.order || !pi.Compound || p != m.PFNAddr(pi.Head) {
			t.Errorf("kmalloc(%d): page %+v, want a __GFP_COMP large kmalloc block of order %d", tc.size, pi, tc.order)
		}
		if uint64(p)%(m.PageSize()<<tc.order) != 0 {
			t.Errorf("kmalloc(%d) = %v: not aligned to its %d-page block", tc.size, p, 1<<tc.order)
		}
		if ks := m.Ksize(p); ks != m.PageSize()<<tc.order {
			t.Errorf("ksize(kmalloc(%d)) = %d, want %d", tc.size, ks, m.PageSize()<<tc.order)
		}
		if r := m.KmallocSizeRoundup(tc.size); r != m.PageSize()<<tc.order {
			t.Errorf("kmalloc_size_roundup(%d) = %d", tc.size, r)
		}
		ev := lastOf(log, EvKmalloc)
		if ev.Bytes() != m.PageSize()<<tc.order || ev.Cache() != "" || ev.GFP() != GFPKernel {
			t.Errorf("kmalloc(%d): tracepoint %+v, want bytes_alloc %d and the caller's GFP_KERNEL", tc.size, ev, m.PageSize()<<tc.order)
		}
		if pa := lastOf(log, EvPageAlloc); pa.GFP() != GFPKernel|GFPComp || pa.Owner() != OwnerLargeKmalloc {
			t.Errorf("kmalloc(%d): pages allocated with %v for %v, want GFP_KERNEL|__GFP_COMP for a large kmalloc", tc.size, pa.GFP(), pa.Owner())
		}
		if m.IdlePages() != free-1<<tc.order {
			t.Errorf("kmalloc(%d) took %d pages, want %d", tc.size, free-m.IdlePages(), 1<<tc.order)
		}
		if err := m.Kfree(p); err != nil {
			t.Fatal(err)
		}
		if m.IdlePages() != free {
			t.Errorf("kfree of the large kmalloc left %d free pages, want %d", m.IdlePages(), free)
		}
	}
	// Above KMALLOC_MAX_SIZE the page allocator refuses, with its warning.
	before := log.Len()
	p, err := m.Kmalloc(4*MiB+1, GFPKernel)
	if p != 0 || !errors.Is(err, ErrNoMemory) {
		t.Fatalf("kmalloc(4 MiB + 1) = %v, %v; want NULL and ErrNoMemory", p, err)
	}
	if !hasWarn(logEvents(log)[before:], "order 11 > MAX_PAGE_ORDER") {
		t.Errorf("kmalloc(4 MiB + 1) did not warn about the order")
	}
	before = log.Len()
	if _, err := m.Kmalloc(4*MiB+1, GFPKernel|GFPNoWarn); err == nil {
		t.Fatal("kmalloc(4 MiB + 1, __GFP_NOWARN) succeeded")
	}
	if hasWarn(logEvents(log)[before:], "") {
		t.Errorf("__GFP_NOWARN still warned")
	}
	if r := m.KmallocSizeRoundup(4*MiB + 1); r != 4*MiB+1 {
		t.Errorf("kmalloc_size_roundup above KMALLOC_MAX_SIZE = %d, want the size itself", r)
	}
	if _, err := m.Kmalloc(1<<63, GFPKernel|GFPNoWarn); !errors.Is(err, ErrNoMemory) {
		t.Errorf("kmalloc(2^63): %v", err)
	}
	if err := m.CheckSlub(); err != nil {
		t.Fatal(err)
	}
}

func lastOf(log *EventLog, k EventKind) Event {
	for i := log.Len() - 1; i >= 0; i-- {
		if log.At(i).Kind() == k {
			return log.At(i)
		}
	}
	return Event{}
}

func TestKmallocCachesAreBootEvents(t *testing.T) {
	m := newTestMachine(t, Config{})
	var names []string
	for _, e := range logEvents(m.boot) {
		if e.Kind() == EvCacheCreate {
			names = append(names, e.Cache())
			if s := m.Cache(e.Cache()); s == nil || e.Bytes() != s.Size() || e.Objects() != s.ObjectsPerSlab() || e.Order() != s.Order() || e.Text() == "" {
				t.Errorf("boot event %+v does not describe its cache", e)
			}
		}
	}
	if len(names) != 52 || names[0] != "kmalloc-96" || names[1] != "kmalloc-192" || names[2] != "kmalloc-8" || names[51] != "kmalloc-cg-8k" {
		t.Errorf("boot created %d caches: %v", len(names), names)
	}
	want := "kmalloc-96: 96-byte objects in a 96-byte stride aligned to 32 (the largest power-of-two divisor of 96); " +
		"4 cpus give min_objects 16, so 42 objects in order-0 slabs of 4 KiB (64 bytes left over); free pointer at offset 48"
	if got := eventText(logEvents(m.boot), "kmalloc-96"); got != want {
		t.Errorf("kmalloc-96 geometry rule\n got %q\nwant %q", got, want)
	}
}

func eventText(evs []Event, cache string) string {
	for _, e := range evs {
		if e.Kind() == EvCacheCreate && e.Cache() == cache {
			return e.Text()
		}
	}
	return ""
}

func TestKmallocZeroAndNull(t *testing.T) {
	m := newTestMachine(t, Config{})
	log := &EventLog{}
	m.SetLog(log)
	before := log.Len()
	p, err := m.Kmalloc(0, GFPKernel)
	if p != ZeroSizePtr || err != nil {
		t.Fatalf("kmalloc(0) = %v, %v; want ZERO_SIZE_PTR", p, err)
	}
	if log.Len() != before {
		t.Errorf("kmalloc(0) emitted %v; the kernel traces nothing", logEvents(log)[before:])
	}
	for _, q := range []Addr{0, ZeroSizePtr} {
		before := log.Len()
		if err := m.Kfree(q); err != nil {
			t.Errorf("kfree(%v): %v", q, err)
		}
		if log.Len() != before+1 || log.At(before).Kind() != EvKfree {
			t.Errorf("kfree(%v) emitted %v, want just kmem:kfree", q, logEvents(log)[before:])
		}
		if m.Ksize(q) != 0 {
			t.Errorf("ksize(%v) != 0", q)
		}
	}
	if m.KmallocSizeRoundup(0) != 0 {
		t.Error("kmalloc_size_roundup(0) != 0")
	}
}

func TestKmallocGFPType(t *testing.T) {
	m := newTestMachine(t, Config{})
	for _, tc := range []struct {
		gfp  GFP
		want string
	}{
		{GFPKernel, "kmalloc-64"},
		{GFPAtomic, "kmalloc-64"},
		{GFPKernelAccount, "kmalloc-cg-64"},
		{GFPKernel | GFPReclaimable, "kmalloc-rcl-64"},
		{GFPKernel | GFPDMA, "dma-kmalloc-64"},
		{GFPKernel | GFPDMA | GFPAccount | GFPReclaimable, "dma-kmalloc-64"},
		{GFPKernel | GFPAccount | GFPReclaimable, "kmalloc-rcl-64"},
	} {
		p, err := m.Kmalloc(50, tc.gfp)
		if err != nil {
			t.Fatal(err)
		}
		if o, _ := m.ObjectAt(p); o.Cache != tc.want {
			t.Errorf("kmalloc(50, %v) from %s, want %s", tc.gfp, o.Cache, tc.want)
		}
	}
	// Slab pages of the reclaimable and DMA caches carry the zone bits.
	log := &EventLog{}
	m.SetLog(log)
	if _, err := m.Kmalloc(3000, GFPKernel|GFPReclaimable); err != nil {
		t.Fatal(err)
	}
	if pa := lastOf(log, EvPageAlloc); pa.GFP()&GFPReclaimable == 0 || pa.GFP()&GFPComp == 0 || pa.Owner() != OwnerSlab {
		t.Errorf("kmalloc-rcl-4k slab page allocated with %v by %v, want __GFP_RECLAIMABLE|__GFP_COMP for a slab", pa.GFP(), pa.Owner())
	}
	// HIGHMEM is not for slab memory: kmalloc_fix_flags() warns and drops it.
	before := log.Len()
	if _, err := m.Kmalloc(3000, GFPKernel|GFPHighmem); err != nil {
		t.Fatal(err)
	}
	if !hasWarn(logEvents(log)[before:], "Unexpected gfp: 0x2 (__GFP_HIGHMEM). Fixing up to gfp: 0xcc0 (GFP_KERNEL). Fix your code!") {
		t.Errorf("no kmalloc_fix_flags warning in %v", logEvents(log)[before:])
	}
	if err := m.CheckSlub(); err != nil {
		t.Fatal(err)
	}
}

func TestKmallocGFPZero(t *testing.T) {
	m := newTestMachine(t, Config{})
	p, _ := m.Kmalloc(100, GFPKernel)
	m.Fill(p, 0xee, 128)
	m.Kfree(p)
	q, _ := m.Kmalloc(100, GFPKernel|GFPZero)
	if q != p {
		t.Fatalf("LIFO: kmalloc after kfree = %v, want the freed %v", q, p)
	}
	got := make([]byte, 128)
	m.ReadAt(q, got)
	if !bytes.Equal(got, make([]byte, 128)) {
		t.Errorf("kmalloc(100, __GFP_ZERO) left bytes in the 128-byte object: % x", got)
	}
	// Without __GFP_ZERO the old contents stay, except the free pointer
	// SLUB wrote in the middle of the object while it was free.
	m.Fill(q, 0xee, 128)
	m.Kfree(q)
	r, _ := m.Kmalloc(100, GFPKernel)
	m.ReadAt(r, got)
	for i, c := range got {
		if (i < 64 || i >= 72) && c != 0xee {
			t.Fatalf("byte %d of a reused object is %#x, want the old 0xee", i, c)
		}
	}
	if bytes.Equal(got[64:72], bytes.Repeat([]byte{0xee}, 8)) {
		t.Errorf("bytes 64..71 hold no free pointer after a free")
	}
}

// TestKmallocAlignmentEveryCache fills two slabs of every kmalloc cache at
// every page size and checks each object's alignment: kmalloc-96 to 32,
// kmalloc-192 to 64, every other cache to its size (create_boot_cache(), 6.11+).
func TestKmallocAlignmentEveryCache(t *testing.T) {
	for _, page := range []int{4096, 16384, 65536} {
		m := newTestMachine(t, Config{PageSize: page, RAM: 256 * MiB})
		for _, s := range m.slub.caches {
			want := s.objectSize & -s.objectSize
			if s.align != max(want, 8) {
				t.Errorf("page %d: %s align %d, want %d", page, s.name, s.align, want)
			}
			gfp := GFPKernel
			switch s.kmType {
			case kmallocDMA:
				gfp |= GFPDMA
			case kmallocReclaim:
				gfp |= GFPReclaimable
			case kmallocCgroup:
				gfp |= GFPAccount
			}
			for i := 0; i < 2*s.objects; i++ {
				p, err := m.KmallocCache(s, s.objectSize, gfp)
				if err != nil {
					t.Fatalf("page %d: %s: %v", page, s.name, err)
				}
				if uint64(p)%want != 0 {
					t.Fatalf("page %d: %s object %v not %d-aligned", page, s.name, p, want)
				}
			}
		}
		if err := m.CheckSlub(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestKfreeMisuse(t *testing.T) {
	m := newTestMachine(t, Config{})
	log := &EventLog{}
	m.SetLog(log)
	p, _ := m.Kmalloc(64, GFPKernel)
	q, _ := m.Kmalloc(64, GFPKernel)
	large, _ := m.Kmalloc(20000, GFPKernel)
	pages, _ := m.AllocPages(0, GFPKernel)
	if err := m.Kfree(p); err != nil {
		t.Fatal(err)
	}
	state := m.Slabinfo()
	for _, tc := range []struct {
		p    Addr
		kind error
		text string
	}{
		{p, ErrDoubleFree, "double free of " + p.String()},
		{q + 8, ErrInvalidFree, "not the start of an object of kmalloc-64"},
		{large + 4096, ErrInvalidFree, "inside the large kmalloc"},
		{pages, ErrInvalidFree, "Not a kmalloc allocation"},
		{VmallocStart + 4096, ErrInvalidFree, "not a direct-map address"},
		{m.PFNAddr(m.NrPages() - 1), ErrDoubleFree, "is free, not a kmalloc allocation"},
	} {
		before := log.Len()
		err := m.Kfree(tc.p)
		if !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("kfree(%v) = %v, want %v mentioning %q", tc.p, err, tc.kind, tc.text)
		}
		reported := false
		for _, e := range logEvents(log)[before:] {
			if (e.Kind() == EvSlubReport || e.Kind() == EvBadFree) && strings.Contains(e.Text(), tc.text) {
				reported = true
			}
			if e.Kind() == EvObjFree || e.Kind() == EvPageFree {
				t.Errorf("kfree(%v) freed something: %+v", tc.p, e)
			}
		}
		if !reported {
			t.Errorf("kfree(%v): no report in %v", tc.p, logEvents(log)[before:])
		}
		if got := m.Slabinfo(); got != state {
			t.Errorf("kfree(%v) changed /proc/slabinfo", tc.p)
		}
		if err := m.CheckSlub(); err != nil {
			t.Fatal(err)
		}
	}
	// The good pointers still free normally.
	if err := m.Kfree(q); err != nil {
		t.Error(err)
	}
	if err := m.Kfree(large); err != nil {
		t.Error(err)
	}
	if err := m.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

func TestKmemCacheAllocFree(t *testing.T) {
	m := newTestMachine(t, Config{})
	a, _ := m.KmemCacheCreate("thing_a", 40, 0, 0)
	b, _ := m.KmemCacheCreate("thing_b", 40, 0, 0)
	p, err := m.KmemCacheAlloc(a, GFPKernel)
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := m.ObjectAt(p); o.Cache != "thing_a" || o.Size != 40 {
		t.Errorf("ObjectAt = %+v", o)
	}
	if err := m.KmemCacheFree(b, p); !errors.Is(err, ErrInvalidFree) || !strings.Contains(err.Error(), "belongs to thing_a") {
		t.Errorf("kmem_cache_free to the wrong cache: %v", err)
	}
	k, _ := m.Kmalloc(40, GFPKernel)
	if err := m.KmemCacheFree(a, k); !errors.Is(err, ErrInvalidFree) {
		t.Errorf("kmem_cache_free of a kmalloc object: %v", err)
	}
	pg, _ := m.AllocPages(0, GFPKernel)
	if err := m.KmemCacheFree(a, pg); !errors.Is(err, ErrInvalidFree) {
		t.Errorf("kmem_cache_free of a page: %v", err)
	}
	if err := m.KmemCacheFree(a, p); err != nil {
		t.Fatal(err)
	}
	if err := m.KmemCacheFree(a, 0); err != nil {
		t.Errorf("kmem_cache_free(NULL): %v", err)
	}
	if err := m.KmemCacheDestroy(a); err != nil {
		t.Fatal(err)
	}
	if m.Cache("thing_a") != nil || strings.Contains(m.Slabinfo(), "thing_a") {
		t.Error("destroyed cache still listed")
	}
	if _, err := m.KmemCacheAlloc(a, GFPKernel); err == nil {
		t.Error("alloc from a destroyed cache succeeded")
	}
	if err := m.KmemCacheDestroy(a); err == nil {
		t.Error("second destroy succeeded")
	}
	if err := m.KmemCacheDestroy(m.Cache("kmalloc-64")); err == nil {
		t.Error("destroying kmalloc-64 succeeded")
	}
	if _, err := m.KmemCacheAlloc(nil, GFPKernel); err == nil {
		t.Error("alloc from a nil cache succeeded")
	}
	if err := m.CheckSlub(); err != nil {
		t.Fatal(err)
	}
	if err := m.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

// TestDeterministic runs the same workload twice with hardening and
// randomisation on and expects identical addresses and events.
func TestDeterministic(t *testing.T) {
	run := func(seed uint64) string {
		m := newTestMachine(t, Config{FreelistRandom: true, FreelistHardened: true, Seed: seed})
		log := &EventLog{}
		m.SetLog(log)
		var b strings.Builder
		for i := 0; i < 300; i++ {
			p, _ := m.Kmalloc(uint64(8+i%200), GFPKernel)
			fmt.Fprintln(&b, p)
			if i%3 == 0 {
				m.Kfree(p)
			}
		}
		for _, e := range logEvents(log) {
			fmt.Fprintln(&b, e.Seq(), e.Kind(), e.PFN(), e.Addr(), e.Object(), e.Text())
		}
		return b.String()
	}
	a, b := run(7), run(7)
	if a != b {
		t.Fatal("two runs with seed 7 differ")
	}
	if c := run(8); c == a {
		t.Fatal("seeds 7 and 8 gave the same shuffled freelists")
	}
}

func TestFreelistHardenedAndRandom(t *testing.T) {
	plain := newTestMachine(t, Config{})
	hard := newTestMachine(t, Config{FreelistHardened: true, Seed: 1})
	rnd := newTestMachine(t, Config{FreelistRandom: true, Seed: 1})
	for _, m := range []*Machine{plain, hard, rnd} {
		p, _ := m.Kmalloc(64, GFPKernel)
		q, _ := m.Kmalloc(64, GFPKernel)
		word := make([]byte, 8)
		// q is allocated, but the word SLUB stored at offset 32 while it
		// was free still says what came next on the freelist.
		m.ReadAt(q+32, word)
		stored := Addr(le64(word))
		switch m {
		case plain:
			if p+64 != q || stored != q+64 {
				t.Errorf("no hardening: objects %v, %v and stored pointer %v, want address order and a plain pointer", p, q, stored)
			}
		case hard:
			if p+64 != q || stored == q+64 || m.getFreepointer(m.Cache("kmalloc-64"), q) != q+64 {
				t.Errorf("hardened: stored word %v should hide %v and decode to it", stored, q+64)
			}
		case rnd:
			if p+64 == q && q+64 == stored {
				t.Errorf("randomised freelist is in address order")
			}
		}
		if err := m.CheckSlub(); err != nil {
			t.Fatal(err)
		}
	}
	// EvSlabNew lists a shuffled slab's freelist: the order of allocation.
	m := newTestMachine(t, Config{FreelistRandom: true, Seed: 2})
	log := &EventLog{}
	m.SetLog(log)
	var got []Addr
	for i := 0; i < 64; i++ {
		x, _ := m.Kmalloc(64, GFPKernel)
		got = append(got, x)
	}
	ev := lastOf(log, EvSlabNew)
	if len(ev.PFNs()) != 64 {
		t.Fatalf("EvSlabNew of a shuffled slab lists %d indexes", len(ev.PFNs()))
	}
	for i, idx := range ev.PFNs() {
		if want := ev.Addr() + Addr(idx*64); got[i] != want {
			t.Fatalf("allocation %d is %v, EvSlabNew's order says %v", i, got[i], want)
		}
	}
}

func le64(b []byte) uint64 {
	var v uint64
	for i := 7; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}

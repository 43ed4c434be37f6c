package allocator

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// The lib/slub_kunit.c cases (6.18), each with the error count the
// kernel test expects. Caches are created with SLAB_NO_USER_FLAGS, as
// test_kmem_cache_create() does.

func errorsDuring(m *Machine, f func()) int {
	before := m.SlabErrors()
	f()
	return m.SlabErrors() - before
}

func mustCache(t *testing.T, m *Machine, name string, size uint64, flags SlabFlags) *KmemCache {
	t.Helper()
	s, err := m.KmemCacheCreate(name, size, 0, flags|SlabNoUserFlags)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustAlloc(t *testing.T, m *Machine, s *KmemCache) Addr {
	t.Helper()
	p, err := m.KmemCacheAlloc(s, GFPKernel)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func validate(t *testing.T, m *Machine, s *KmemCache) int {
	t.Helper()
	return errorsDuring(m, func() {
		if _, err := m.ValidateSlabCache(s); err != nil {
			t.Fatal(err)
		}
	})
}

// checkSlubAll runs every invariant check, SLUB's with its freelists read
// from memory.
func checkSlubAll(t *testing.T, m *Machine) {
	t.Helper()
	if err := m.CheckSlub(); err != nil {
		t.Fatal(err)
	}
	if err := m.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

func TestClobberZone(t *testing.T) {
	for _, profile := range []Profile{ProfileLatest, Profile612} {
		m := newTestMachine(t, Config{Profile: profile})
		log := &EventLog{}
		m.SetLog(log)
		s := mustCache(t, m, "TestSlub_RZ_alloc", 64, SlabRedZone)
		p := mustAlloc(t, m, s)
		m.WriteAt(p+64, []byte{0x12})
		if n := validate(t, m, s); n != 2 {
			t.Errorf("%v: test_clobber_zone: %d errors, want 2", profile, n)
		}
		report := lastOf(log, EvSlubReport).Text()
		var want []string
		if profile == ProfileLatest {
			want = []string{fmt.Sprintf("[Right Redzone overwritten] 0x%016x-0x%016x @offset=%d. First byte 0x12 instead of 0xcc",
				uint64(p+64), uint64(p+64), p+64-s.objAddr(m.slabOf(p), 0)+Addr(s.redLeftPad)),
				"BUG TestSlub_RZ_alloc (Not tainted): Object corrupt"}
		} else {
			want = []string{"BUG TestSlub_RZ_alloc (Not tainted): Right Redzone overwritten",
				fmt.Sprintf("0x%016x-0x%016x @offset=", uint64(p+64), uint64(p+64))}
		}
		want = append(want, fmt.Sprintf("FIX TestSlub_RZ_alloc: Restoring Right Redzone 0x%016x-0x%016x=0xcc", uint64(p+64), uint64(p+64)))
		for _, w := range want {
			if !strings.Contains(report, w) {
				t.Errorf("%v: report lacks %q:\n%s", profile, w, report)
			}
		}
		if err := m.KmemCacheFree(s, p); err != nil {
			t.Fatalf("free after the red zone was restored: %v", err)
		}
		if err := m.KmemCacheDestroy(s); err != nil {
			t.Fatal(err)
		}
		checkSlubAll(t, m)
	}
}

func TestNextPointer(t *testing.T) {
	m := newTestMachine(t, Config{})
	s := mustCache(t, m, "TestSlub_next_ptr_free", 64, SlabPoison)
	p := mustAlloc(t, m, s)
	if err := m.KmemCacheFree(s, p); err != nil {
		t.Fatal(err)
	}
	ptr := p + Addr(s.offset)
	tmp := make([]byte, 8)
	m.ReadAt(ptr, tmp)
	m.WriteAt(ptr, []byte{^tmp[0]})
	// The corrupted freechain, the wrong count of objects in use, and
	// the fix of that count.
	if n := validate(t, m, s); n != 3 {
		t.Errorf("corrupted free pointer: %d errors, want 3", n)
	}
	checkSlubAll(t, m)
	m.WriteAt(ptr, tmp)
	// The chain is whole again: the count is wrong the other way.
	if n := validate(t, m, s); n != 2 {
		t.Errorf("repaired free pointer: %d errors, want 2", n)
	}
	checkSlubAll(t, m)
	if n := validate(t, m, s); n != 0 {
		t.Errorf("third validation: %d errors, want 0", n)
	}
	if err := m.KmemCacheDestroy(s); err != nil {
		t.Fatal(err)
	}
	checkSlubAll(t, m)
}

func TestFirstWord(t *testing.T) {
	m := newTestMachine(t, Config{})
	s := mustCache(t, m, "TestSlub_1th_word_free", 64, SlabPoison)
	p := mustAlloc(t, m, s)
	m.KmemCacheFree(s, p)
	m.WriteAt(p, []byte{0x78})
	if n := validate(t, m, s); n != 2 {
		t.Errorf("test_first_word: %d errors, want 2", n)
	}
	if err := m.KmemCacheDestroy(s); err != nil {
		t.Fatal(err)
	}
	checkSlubAll(t, m)
}

func TestClobber50thByte(t *testing.T) {
	m := newTestMachine(t, Config{})
	log := &EventLog{}
	m.SetLog(log)
	s := mustCache(t, m, "TestSlub_50th_word_free", 64, SlabPoison)
	p := mustAlloc(t, m, s)
	m.KmemCacheFree(s, p)
	m.WriteAt(p+50, []byte{0x9a})
	if n := validate(t, m, s); n != 2 {
		t.Errorf("test_clobber_50th_byte: %d errors, want 2", n)
	}
	if r := lastOf(log, EvSlubReport).Text(); !strings.Contains(r, "[Poison overwritten]") || !strings.Contains(r, "First byte 0x9a instead of 0x6b") {
		t.Errorf("report:\n%s", r)
	}
	if err := m.KmemCacheDestroy(s); err != nil {
		t.Fatal(err)
	}
	checkSlubAll(t, m)
}

func TestClobberRedzoneFree(t *testing.T) {
	m := newTestMachine(t, Config{})
	s := mustCache(t, m, "TestSlub_RZ_free", 64, SlabRedZone)
	p := mustAlloc(t, m, s)
	m.KmemCacheFree(s, p)
	m.WriteAt(p+64, []byte{0xab})
	if n := validate(t, m, s); n != 2 {
		t.Errorf("test_clobber_redzone_free: %d errors, want 2", n)
	}
	if err := m.KmemCacheDestroy(s); err != nil {
		t.Fatal(err)
	}
	checkSlubAll(t, m)
}

func TestKmallocRedzoneAccess(t *testing.T) {
	m := newTestMachine(t, Config{})
	log := &EventLog{}
	m.SetLog(log)
	s := mustCache(t, m, "TestSlub_RZ_kmalloc", 32, SlabKmalloc|SlabStoreUser|SlabRedZone)
	p, err := m.KmallocCache(s, 18, GFPKernel)
	if err != nil {
		t.Fatal(err)
	}
	// Bytes 18..31 are the kmalloc red zone.
	got := make([]byte, 32)
	m.ReadAt(p, got)
	for i := 18; i < 32; i++ {
		if got[i] != slubRedActive {
			t.Fatalf("byte %d of kmalloc(18) from a 32-byte cache is %#x, want 0xcc", i, got[i])
		}
	}
	m.WriteAt(p+18, []byte{0xab, 0xab})
	if n := validate(t, m, s); n != 2 {
		t.Errorf("test_kmalloc_redzone_access: %d errors, want 2", n)
	}
	if r := lastOf(log, EvSlubReport).Text(); !strings.Contains(r, "[kmalloc Redzone overwritten]") ||
		!strings.Contains(r, "First byte 0xab instead of 0xcc") || !strings.Contains(r, "Allocated in step 0") {
		t.Errorf("report:\n%s", r)
	}
	if err := m.KmemCacheFree(s, p); err != nil {
		t.Fatal(err)
	}
	if err := m.KmemCacheDestroy(s); err != nil {
		t.Fatal(err)
	}
	checkSlubAll(t, m)
}

func TestLeakDestroy(t *testing.T) {
	for _, tc := range []struct {
		profile Profile
		errs    int
	}{{ProfileLatest, 2}, {Profile612, 1}} {
		m := newTestMachine(t, Config{Profile: tc.profile})
		log := &EventLog{}
		m.SetLog(log)
		s := mustCache(t, m, "TestSlub_leak_destroy", 64, 0)
		p := mustAlloc(t, m, s)
		var err error
		if n := errorsDuring(m, func() { err = m.KmemCacheDestroy(s) }); n != tc.errs {
			t.Errorf("%v: test_leak_destroy: %d errors, want %d", tc.profile, n, tc.errs)
		}
		if !errors.Is(err, ErrInvalidFree) {
			t.Errorf("%v: destroy with a live object: %v", tc.profile, err)
		}
		report := lastOf(log, EvSlubReport).Text()
		if !strings.Contains(report, "on __kmem_cache_shutdown()") || !strings.Contains(report, fmt.Sprintf("Object 0x%016x @offset=", uint64(p))) {
			t.Errorf("%v: report:\n%s", tc.profile, report)
		}
		if !hasWarn(logEvents(log), "kmem_cache_destroy TestSlub_leak_destroy: Slab cache still has objects") {
			t.Errorf("%v: no kmem_cache_destroy warning", tc.profile)
		}
		// The cache is gone from the list, its slab leaked but still
		// consistent; the object can still be freed.
		if strings.Contains(m.Slabinfo(), "TestSlub_leak_destroy") {
			t.Errorf("%v: destroyed cache still in /proc/slabinfo", tc.profile)
		}
		if o, ok := m.ObjectAt(p); !ok || !o.Allocated() {
			t.Errorf("%v: the leaked object: %+v", tc.profile, o)
		}
		checkSlubAll(t, m)
		if err := m.Kfree(p); err != nil {
			t.Errorf("%v: kfree of the leaked object: %v", tc.profile, err)
		}
		checkSlubAll(t, m)
	}
}

func TestDebugDoubleFree(t *testing.T) {
	m := newTestMachine(t, Config{SlabDebug: "FZPU"})
	log := &EventLog{}
	m.SetLog(log)
	p, _ := m.Kmalloc(64, GFPKernel)
	q, _ := m.Kmalloc(64, GFPKernel)
	if err := m.Kfree(p); err != nil {
		t.Fatal(err)
	}
	info := m.Slabinfo()
	var err error
	if n := errorsDuring(m, func() { err = m.Kfree(p) }); n != 2 {
		t.Errorf("double free: %d errors, want a report and a fix", n)
	}
	if !errors.Is(err, ErrDoubleFree) {
		t.Errorf("double free returned %v", err)
	}
	report := lastOf(log, EvSlubReport).Text()
	lines := strings.Split(report, "\n")
	if lines[0] != strings.Repeat("=", 77) || lines[1] != "BUG kmalloc-64 (Not tainted): Object already free" ||
		lines[2] != strings.Repeat("-", 77) {
		t.Errorf("report banner:\n%s", strings.Join(lines[:3], "\n"))
	}
	for _, w := range []string{
		fmt.Sprintf("Object 0x%016x @offset=", uint64(p)),
		"Redzone  ffff888",
		"Object   ffff888",
		"6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b  kkkkkkkkkkkkkkkk",
		fmt.Sprintf("FIX kmalloc-64: Object at 0x%016x not freed", uint64(p)),
		"Freed in step 0 age=",
	} {
		if !strings.Contains(report, w) {
			t.Errorf("report lacks %q:\n%s", w, report)
		}
	}
	if m.Slabinfo() != info {
		t.Error("the refused double free changed /proc/slabinfo")
	}
	// A second report shows the taint the first one set.
	m.Kfree(p)
	if r := lastOf(log, EvSlubReport).Text(); !strings.Contains(r, "BUG kmalloc-64 (Tainted: G    B   W          ): Object already free") {
		t.Errorf("second report's taint:\n%s", r)
	}
	if err := m.Kfree(q); err != nil {
		t.Error(err)
	}
	checkSlubAll(t, m)
}

func TestDebugChecksWithoutF(t *testing.T) {
	m := newTestMachine(t, Config{})
	log := &EventLog{}
	m.SetLog(log)
	s := mustCache(t, m, "zonly", 64, SlabRedZone)
	p := mustAlloc(t, m, s)
	m.KmemCacheFree(s, p)
	// The slab is empty: free_debug_processing() notices even without F.
	err := m.KmemCacheFree(s, p)
	if !errors.Is(err, ErrDoubleFree) || !strings.Contains(lastOf(log, EvSlubReport).Text(), "Slab has 0 allocated objects but 1 are to be freed") {
		t.Errorf("double free of the last object: %v\n%s", err, lastOf(log, EvSlubReport).Text())
	}
	// With another object live, only allocviz's records catch it.
	a := mustAlloc(t, m, s)
	b := mustAlloc(t, m, s)
	m.KmemCacheFree(s, a)
	err = m.KmemCacheFree(s, a)
	if !errors.Is(err, ErrDoubleFree) || !strings.Contains(lastOf(log, EvSlubReport).Text(), "allocviz: double free") {
		t.Errorf("double free without F: %v", err)
	}
	m.KmemCacheFree(s, b)
	checkSlubAll(t, m)
}

func TestDebugInvalidPointer(t *testing.T) {
	m := newTestMachine(t, Config{SlabDebug: "F"})
	log := &EventLog{}
	m.SetLog(log)
	p, _ := m.Kmalloc(64, GFPKernel)
	err := m.Kfree(p + 8)
	if !errors.Is(err, ErrInvalidFree) {
		t.Errorf("kfree(p+8): %v", err)
	}
	r := lastOf(log, EvSlubReport).Text()
	if !strings.Contains(r, fmt.Sprintf("BUG kmalloc-64 (Not tainted): Invalid object pointer 0x%016x", uint64(p+8))) ||
		!strings.Contains(r, fmt.Sprintf("FIX kmalloc-64: Object at 0x%016x not freed", uint64(p+8))) {
		t.Errorf("report:\n%s", r)
	}
	if err := m.Kfree(p); err != nil {
		t.Error(err)
	}
	checkSlubAll(t, m)
}

func TestDebugRedzoneOverwrittenOnFree(t *testing.T) {
	m := newTestMachine(t, Config{SlabDebug: "FZPU"})
	log := &EventLog{}
	m.SetLog(log)
	p, _ := m.Kmalloc(100, GFPKernel)
	// 100..127 are the kmalloc red zone; writing p[100] is a one-byte
	// overflow that only the kmalloc red zone catches.
	m.WriteAt(p+100, []byte{0})
	err := m.Kfree(p)
	if !errors.Is(err, ErrInvalidFree) || !strings.Contains(err.Error(), "red zone") {
		t.Errorf("kfree after an overflow: %v", err)
	}
	r := lastOf(log, EvSlubReport).Text()
	for _, w := range []string{
		fmt.Sprintf("[kmalloc Redzone overwritten] 0x%016x-0x%016x", uint64(p+100), uint64(p+100)),
		"First byte 0x0 instead of 0xcc",
		"BUG kmalloc-128 (Not tainted): Object corrupt",
		fmt.Sprintf("FIX kmalloc-128: Restoring kmalloc Redzone 0x%016x-0x%016x=0xcc", uint64(p+100), uint64(p+100)),
		fmt.Sprintf("FIX kmalloc-128: Object at 0x%016x not freed", uint64(p)),
	} {
		if !strings.Contains(r, w) {
			t.Errorf("report lacks %q:\n%s", w, r)
		}
	}
	if o, _ := m.ObjectAt(p); !o.Allocated() {
		t.Error("the object was freed despite the report")
	}
	// The red zone was restored, so the next kfree goes through.
	if err := m.Kfree(p); err != nil {
		t.Errorf("second kfree: %v", err)
	}
	checkSlubAll(t, m)
}

func TestDebugPoisonOverwrittenAfterFree(t *testing.T) {
	m := newTestMachine(t, Config{SlabDebug: "FZPU"})
	log := &EventLog{}
	m.SetLog(log)
	keep, _ := m.Kmalloc(64, GFPKernel)
	p, _ := m.Kmalloc(64, GFPKernel)
	m.Kfree(p)
	m.WriteAt(p+10, []byte{0x00}) // a write after free
	q, err := m.Kmalloc(64, GFPKernel)
	if err != nil {
		t.Fatal(err)
	}
	r := lastOf(log, EvSlubReport).Text()
	for _, w := range []string{"[Poison overwritten]", "First byte 0x0 instead of 0x6b", "FIX kmalloc-64: Marking all objects used"} {
		if !strings.Contains(r, w) {
			t.Errorf("report lacks %q:\n%s", w, r)
		}
	}
	// The poisoned slab is disabled; the allocation came from a new one.
	if m.slabOf(q) == m.slabOf(p) {
		t.Errorf("kmalloc after the poison report reused the disabled slab")
	}
	if sl := m.slabOf(p); sl.list != ListFull || sl.inuse != sl.objects {
		t.Errorf("disabled slab: list %v inuse %d of %d", sl.list, sl.inuse, sl.objects)
	}
	if o, _ := m.ObjectAt(p); o.State != ObjLost {
		t.Errorf("the poisoned object is %v, want lost", o.State)
	}
	// The live object of the disabled slab can still be freed? Its slab
	// is disabled: check_slab() refuses, as the kernel does.
	if err := m.Kfree(keep); err == nil || !strings.Contains(lastOf(log, EvSlubReport).Text(), "Slab disabled since SLUB metadata consistency check failed") {
		t.Errorf("kfree from the disabled slab: %v", err)
	}
	if err := m.Kfree(q); err != nil {
		t.Error(err)
	}
	checkSlubAll(t, m)
}

func TestDebugCacheLists(t *testing.T) {
	m := newTestMachine(t, Config{SlabDebug: "U"})
	s := m.Cache("kmalloc-512")
	var ps []Addr
	for i := 0; i < s.objects; i++ {
		p, _ := m.Kmalloc(500, GFPKernel)
		ps = append(ps, p)
		sl := m.slabOf(p)
		want := ListNodePartial
		if i == s.objects-1 {
			want = ListFull
		}
		if sl.list != want || sl.onFull != (want == ListFull) || s.cpus[0].slab != nil {
			t.Fatalf("object %d: slab on %v (cpu slab %v), want %v and no cpu slab", i, sl.list, s.cpus[0].slab, want)
		}
	}
	m.Kfree(ps[0])
	if sl := m.slabOf(ps[1]); sl.list != ListNodePartial {
		t.Errorf("after a free the full slab is on %v", sl.list)
	}
	if o, _ := m.ObjectAt(ps[1]); o.Ksize != s.inuse {
		t.Errorf("ksize with SLAB_STORE_USER is %d, want s->inuse %d", o.Ksize, s.inuse)
	}
	checkSlubAll(t, m)
}

// TestDebugReportAddressesAreRaw checks that reports print full 16-digit
// addresses, as SLUB debug switches off pointer hashing.
func TestDebugReportAddressesAreRaw(t *testing.T) {
	m := newTestMachine(t, Config{SlabDebug: "FZ"})
	log := &EventLog{}
	m.SetLog(log)
	p, _ := m.Kmalloc(64, GFPKernel)
	m.Kfree(p)
	m.Kfree(p)
	r := lastOf(log, EvSlubReport).Text()
	if !regexp.MustCompile(`Slab 0xffffea[0-9a-f]{10} objects=\d+ used=\d+ fp=0x[0-9a-f]{16} flags=`).MatchString(r) {
		t.Errorf("no slab line:\n%s", r)
	}
}

func TestSlabDebugWrongCacheWording(t *testing.T) {
	for _, hardened := range []bool{false, true} {
		m := newTestMachine(t, Config{FreelistHardened: hardened})
		log := &EventLog{}
		m.SetLog(log)
		a := mustCache(t, m, "cache_a", 32, 0)
		b := mustCache(t, m, "cache_b", 32, 0)
		p := mustAlloc(t, m, a)
		if err := m.KmemCacheFree(b, p); err == nil {
			t.Fatal("wrong cache free succeeded")
		}
		want := "allocviz: kmem_cache_free(cache_b"
		if hardened {
			want = "WARNING: kmem_cache_free: Wrong slab cache. cache_b but object is from cache_a"
		}
		if r := lastOf(log, EvSlubReport).Text(); !strings.Contains(r, want) {
			t.Errorf("hardened %v: report %q, want %q", hardened, r, want)
		}
		checkSlubAll(t, m)
	}
}

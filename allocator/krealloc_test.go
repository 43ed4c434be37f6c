package allocator

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func readBytes(t *testing.T, m *Machine, p Addr, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if err := m.ReadAt(p, b); err != nil {
		t.Fatal(err)
	}
	return b
}

func kindsSince(log *EventLog, from int) []EventKind {
	var out []EventKind
	for _, e := range logEvents(log)[from:] {
		out = append(out, e.Kind())
	}
	return out
}

// TestKreallocWorkedExample: kmalloc(20) is in kmalloc-32; krealloc to 30
// stays (zeroing 30..31 with __GFP_ZERO) and traces nothing; to 33 it moves
// to kmalloc-64, traced as kmalloc then kfree.
func TestKreallocWorkedExample(t *testing.T) {
	m := newTestMachine(t, Config{})
	log := &EventLog{}
	m.SetLog(log)
	p, _ := m.Kmalloc(20, GFPKernel)
	if o, _ := m.ObjectAt(p); o.Cache != "kmalloc-32" {
		t.Fatalf("kmalloc(20) from %s", o.Cache)
	}
	m.Fill(p, 0x11, 32)

	before := log.Len()
	q, err := m.Krealloc(p, 30, GFPKernel|GFPZero)
	if err != nil || q != p {
		t.Fatalf("krealloc(p, 30) = %v, %v; want p", q, err)
	}
	if got := readBytes(t, m, p, 32); !bytes.Equal(got[:30], bytes.Repeat([]byte{0x11}, 30)) || got[30] != 0 || got[31] != 0 {
		t.Errorf("krealloc(p, 30, __GFP_ZERO): % x, want bytes 30..31 zeroed", got)
	}
	if k := kindsSince(log, before); len(k) != 1 || k[0] != EvRealloc {
		t.Errorf("in-place krealloc emitted %v; the kernel traces nothing", k)
	}
	ev := lastOf(log, EvRealloc)
	if ri(ev).Decision != DecisionGrownInPlace || ri(ev).Zeroed != 2 || ri(ev).OldSize != 20 || ri(ev).OldCap != 32 ||
		ev.Text() != "30 <= ksize 32: stays in kmalloc-32; __GFP_ZERO zeroed bytes 30..31" {
		t.Errorf("decision %+v %q", ri(ev), ev.Text())
	}

	before = log.Len()
	r, err := m.Krealloc(p, 33, GFPKernel)
	if err != nil || r == p {
		t.Fatalf("krealloc(p, 33) = %v, %v; want a new object", r, err)
	}
	if o, _ := m.ObjectAt(r); o.Cache != "kmalloc-64" || o.Size != 33 {
		t.Errorf("krealloc(p, 33) gave %+v", o)
	}
	if got := readBytes(t, m, r, 32); !bytes.Equal(got[:30], bytes.Repeat([]byte{0x11}, 30)) {
		t.Errorf("copied bytes % x", got)
	}
	if o, _ := m.ObjectAt(p); o.Allocated() {
		t.Error("the old object is still allocated")
	}
	// A moving krealloc shows up as kmalloc then kfree.
	var trace []EventKind
	for _, k := range kindsSince(log, before) {
		if k == EvKmalloc || k == EvKfree {
			trace = append(trace, k)
		}
	}
	if len(trace) != 2 || trace[0] != EvKmalloc || trace[1] != EvKfree {
		t.Errorf("moving krealloc traced %v, want kmalloc then kfree", trace)
	}
	ev = lastOf(log, EvRealloc)
	if ri(ev).Decision != DecisionMoved || ri(ev).Copied != 32 || ri(ev).Bucket != "kmalloc-64" ||
		ev.Text() != "33 > ksize 32: moved from kmalloc-32 to kmalloc-64, copied 32 bytes" {
		t.Errorf("decision %+v %q", ri(ev), ev.Text())
	}

	z, err := m.Krealloc(r, 0, GFPKernel)
	if z != ZeroSizePtr || err != nil {
		t.Errorf("krealloc(p, 0) = %v, %v", z, err)
	}
	if o, _ := m.ObjectAt(r); o.Allocated() {
		t.Error("krealloc(p, 0) did not free")
	}
	if ev := lastOf(log, EvRealloc); ri(ev).Decision != DecisionFreed {
		t.Errorf("krealloc(p, 0) decision %v", ri(ev).Decision)
	}
	checkSlubAll(t, m)
}

func TestKreallocRules(t *testing.T) {
	m := newTestMachine(t, Config{})
	log := &EventLog{}
	m.SetLog(log)
	p, _ := m.Kmalloc(100, GFPKernel)
	if q, _ := m.Krealloc(p, 120, GFPKernel); q != p || lastOf(log, EvRealloc).Text() != "120 <= ksize 128: stays in kmalloc-128" {
		t.Errorf("krealloc(100 -> 120): %v %q", q, lastOf(log, EvRealloc).Text())
	}
	if q, _ := m.Krealloc(p, 10, GFPKernel); q != p || ri(lastOf(log, EvRealloc)).Decision != DecisionShrunkInPlace {
		t.Errorf("krealloc(120 -> 10) moved or decided %v", ri(lastOf(log, EvRealloc)).Decision)
	}
	if o, _ := m.ObjectAt(p); o.Size != 10 {
		t.Errorf("requested size after shrinking in place: %d", o.Size)
	}
	// NULL and ZERO_SIZE_PTR are kmalloc.
	for _, old := range []Addr{0, ZeroSizePtr} {
		q, err := m.Krealloc(old, 100, GFPKernel)
		if err != nil || q.ZeroOrNull() {
			t.Fatalf("krealloc(%v, 100) = %v, %v", old, q, err)
		}
		if ev := lastOf(log, EvRealloc); ri(ev).Decision != DecisionNew || !strings.Contains(ev.Text(), "is kmalloc(100)") {
			t.Errorf("krealloc(%v, 100): %+v %q", old, ri(ev), ev.Text())
		}
	}
	// Failure leaves the old object untouched.
	m.Fill(p, 0x5c, 10)
	before := m.Slabinfo()
	q, err := m.Krealloc(p, 64*MiB, GFPKernel|GFPNoWarn)
	if q != 0 || !errors.Is(err, ErrNoMemory) {
		t.Fatalf("krealloc to 64 MiB = %v, %v", q, err)
	}
	if got := readBytes(t, m, p, 10); !bytes.Equal(got, bytes.Repeat([]byte{0x5c}, 10)) {
		t.Error("failed krealloc changed the old object")
	}
	if ev := lastOf(log, EvRealloc); ri(ev).Decision != DecisionFailed || ri(ev).New != 0 {
		t.Errorf("failed krealloc: %+v", ri(ev))
	}
	if m.Slabinfo() != before {
		t.Error("failed krealloc changed slab state")
	}
	// krealloc of a freed object is refused.
	m.Kfree(p)
	if _, err := m.Krealloc(p, 50, GFPKernel); !errors.Is(err, ErrDoubleFree) {
		t.Errorf("krealloc of a freed object: %v", err)
	}
	if lastOf(log, EvMisuse).Addr() != p {
		t.Error("no misuse event")
	}
	checkSlubAll(t, m)
}

func TestKreallocLarge(t *testing.T) {
	m := newTestMachine(t, Config{})
	log := &EventLog{}
	m.SetLog(log)
	p, _ := m.Kmalloc(9000, GFPKernel)
	m.Fill(p, 0x42, 9000)
	// The order-2 block is 16 KiB: growing to 16000 and shrinking to 100
	// both stay.
	for _, n := range []uint64{16000, 100} {
		q, err := m.Krealloc(p, n, GFPKernel)
		if err != nil || q != p {
			t.Fatalf("krealloc(large, %d) = %v, %v; want in place", n, q, err)
		}
		if ev := lastOf(log, EvRealloc); ri(ev).Bucket != "pages" || ri(ev).OldCap != 16384 {
			t.Errorf("large in place: %+v", ri(ev))
		}
	}
	q, err := m.Krealloc(p, 17000, GFPKernel)
	if err != nil || q == p {
		t.Fatalf("krealloc(large, 17000) = %v, %v", q, err)
	}
	if ev := lastOf(log, EvRealloc); ri(ev).Copied != 16384 {
		t.Errorf("moving a large kmalloc copied %d bytes, want the whole 16 KiB folio (no orig_size for pages)", ri(ev).Copied)
	}
	if got := readBytes(t, m, q, 9000); !bytes.Equal(got, bytes.Repeat([]byte{0x42}, 9000)) {
		t.Error("contents lost")
	}
	// Shrinking a large kmalloc to a slab size moves only when forced by
	// alignment; a plain shrink stays.
	checkSlubAll(t, m)
}

// TestKreallocAlign checks krealloc_node_align(): a fitting object that is
// not aligned moves, and 6.18.0 copies the old size, 32 bytes past the end
// of the new 64-byte object (the bug a 2026 fix closed by copying
// min(new size, old size)).
func TestKreallocAlign(t *testing.T) {
	m := newTestMachine(t, Config{})
	log := &EventLog{}
	m.SetLog(log)
	var p Addr
	for {
		q, _ := m.Kmalloc(96, GFPKernel)
		if uint64(q)%64 != 0 {
			p = q
			break
		}
	}
	m.Fill(p, 0x77, 96)
	q, err := m.KreallocAlign(p, 64, 64, GFPKernel)
	if err != nil || q == p || uint64(q)%64 != 0 {
		t.Fatalf("krealloc_node_align(%v, 64, 64) = %v, %v", p, q, err)
	}
	ev := lastOf(log, EvRealloc)
	if ri(ev).Copied != 96 || !strings.Contains(ev.Text(), "is not 64-aligned") || !strings.Contains(ev.Text(), "32 past the end of the new object") {
		t.Errorf("aligned move: %+v %q", ri(ev), ev.Text())
	}
	// The overrun is real: the next object of kmalloc-64 got the old bytes.
	if got := readBytes(t, m, q, 96); !bytes.Equal(got, bytes.Repeat([]byte{0x77}, 96)) {
		t.Error("the copy did not write 96 bytes")
	}
	if _, err := m.KreallocAlign(q, 8, 3, GFPKernel); !errors.Is(err, ErrBadSize) {
		t.Errorf("alignment 3: %v", err)
	}
	checkSlubAll(t, m)
}

// TestKreallocRedzoneZeroing is lib/slub_kunit.c's
// test_krealloc_redzone_zeroing (6.18).
func TestKreallocRedzoneZeroing(t *testing.T) {
	m := newTestMachine(t, Config{})
	s := mustCache(t, m, "TestSlub_krealloc", 64, SlabKmalloc|SlabStoreUser|SlabRedZone)
	p, err := m.KmallocCache(s, 48, GFPKernel)
	if err != nil {
		t.Fatal(err)
	}
	m.Fill(p, 0xff, 48)
	expect := func(from, to int, want byte) {
		t.Helper()
		got := readBytes(t, m, p, 64)
		for i := from; i < to; i++ {
			if got[i] != want {
				t.Fatalf("byte %d is %#x, want %#x", i, got[i], want)
			}
		}
	}
	// Shrink.
	if p, err = m.Krealloc(p, 40, GFPKernel|GFPZero); err != nil {
		t.Fatal(err)
	}
	expect(40, 64, slubRedActive)
	// Grow within the same 64-byte object.
	q, err := m.Krealloc(p, 56, GFPKernel|GFPZero)
	if err != nil || q != p {
		t.Fatalf("krealloc(p, 56) = %v, %v; want in place", q, err)
	}
	expect(40, 56, 0)
	expect(56, 64, slubRedActive)
	if n := validate(t, m, s); n != 0 {
		t.Errorf("validate_slab_cache: %d errors, want 0", n)
	}
	m.Fill(p, 0xff, 56)
	// Grow into a 128-byte kmalloc object.
	q, err = m.Krealloc(p, 112, GFPKernel|GFPZero)
	if err != nil || q == p {
		t.Fatalf("krealloc(p, 112) = %v, %v; want a move", q, err)
	}
	got := readBytes(t, m, q, 112)
	if !bytes.Equal(got[:56], bytes.Repeat([]byte{0xff}, 56)) || !bytes.Equal(got[56:], make([]byte, 56)) {
		t.Errorf("after the move: % x", got)
	}
	m.Kfree(q)
	if err := m.KmemCacheDestroy(s); err != nil {
		t.Fatal(err)
	}
	checkSlubAll(t, m)
}

// TestKrealloc612 checks the 6.12 profile: ksize() decides and a move
// copies the whole old ksize.
func TestKrealloc612(t *testing.T) {
	m := newTestMachine(t, Config{Profile: Profile612, SlabDebug: "ZU"})
	log := &EventLog{}
	m.SetLog(log)
	p, _ := m.Kmalloc(20, GFPKernel)
	// 6.12's ksize() lifts the kmalloc red zone: orig_size becomes the
	// object size.
	q, err := m.Krealloc(p, 30, GFPKernel|GFPZero)
	if err != nil || q != p {
		t.Fatal(err)
	}
	if got := m.getOrigSize(m.Cache("kmalloc-32"), p); got != 32 {
		t.Errorf("orig_size after a 6.12 krealloc: %d, want 32", got)
	}
	r, err := m.Krealloc(p, 40, GFPKernel)
	if err != nil || r == p {
		t.Fatal(err)
	}
	if ev := lastOf(log, EvRealloc); ri(ev).Copied != 32 || ev.Text() != "40 > ksize 32: moved from kmalloc-32 to kmalloc-64, copied 32 bytes" {
		t.Errorf("6.12 move: %+v %q", ri(ev), ev.Text())
	}
	checkSlubAll(t, m)
}

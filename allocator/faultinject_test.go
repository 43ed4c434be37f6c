package allocator

import (
	"errors"
	"slices"
	"testing"
)

// TestFailslabTimesOne: probability 100 and times 1 fail exactly the next
// slab allocation that may be failed, and record why.
func TestFailslabTimesOne(t *testing.T) {
	m := newTestMachine(t, Config{})
	fs := DefaultFailSlab
	fs.Probability, fs.IgnoreGFPWait = 100, false
	if err := m.SetFailSlab(fs); err != nil {
		t.Fatal(err)
	}
	_, err := m.Kmalloc(64, GFPKernel)
	var fe *FaultInjectedError
	if !errors.As(err, &fe) || fe.Capability != "failslab" || !errors.Is(err, ErrNoMemory) {
		t.Fatalf("first kmalloc: err %v, want failslab's injected failure matching ErrNoMemory", err)
	}
	for i := range 50 {
		if _, err := m.Kmalloc(64, GFPKernel); err != nil {
			t.Fatalf("kmalloc %d after the one failure: %v", i+2, err)
		}
	}
	if got := m.FailSlab().Times; got != 0 {
		t.Errorf("times after the failure = %d, want 0", got)
	}
}

// TestFaultFilters: the filters of __should_failslab and
// should_fail_alloc_page come before the decision: __GFP_NOFAIL is never
// failed, ignore-gfp-wait spares sleeping allocations, min-order spares
// order 0, cache-filter spares unmarked caches.
func TestFaultFilters(t *testing.T) {
	m := newTestMachine(t, Config{})
	fs := DefaultFailSlab // ignore-gfp-wait Y
	fs.Probability, fs.Times = 100, -1
	m.SetFailSlab(fs)
	if _, err := m.Kmalloc(64, GFPKernel); err != nil {
		t.Errorf("GFP_KERNEL with ignore-gfp-wait: %v, want success", err)
	}
	if _, err := m.Kmalloc(64, GFPAtomic); err == nil {
		t.Error("GFP_ATOMIC with ignore-gfp-wait: succeeded, want the injected failure")
	}
	if _, err := m.Kmalloc(64, GFPAtomic|GFPNoFail); err != nil {
		t.Errorf("__GFP_NOFAIL: %v, never failed", err)
	}
	fs.CacheFilter = true
	m.SetFailSlab(fs)
	if _, err := m.Kmalloc(64, GFPAtomic); err != nil {
		t.Errorf("cache-filter with no cache marked: %v, want success", err)
	}
	m.SetCacheFailslab(m.KmallocCacheFor(64, GFPAtomic), true)
	if _, err := m.Kmalloc(128, GFPAtomic); err != nil {
		t.Errorf("cache-filter, kmalloc-128 unmarked: %v", err)
	}
	if _, err := m.Kmalloc(64, GFPAtomic); err == nil {
		t.Error("cache-filter, kmalloc-64 marked: succeeded")
	}

	fp := DefaultFailPageAlloc
	fp.Probability, fp.Times, fp.IgnoreGFPWait = 100, -1, false
	m.SetFailPageAlloc(fp)
	if _, err := m.AllocPages(0, GFPKernel); err != nil {
		t.Errorf("order 0 below min-order 1: %v", err)
	}
	if _, err := m.AllocPages(1, GFPKernel); err == nil {
		t.Error("order 1: succeeded, want the injected failure")
	}
	if _, err := m.AllocPages(1, GFPKernel|GFPNoFail); err != nil {
		t.Errorf("order 1 __GFP_NOFAIL: %v", err)
	}
}

// TestFaultIntervalSpaceNth: space lets that many bytes through first,
// interval fails every interval-th call, and fail-nth fails the n-th call
// whatever the probability.
func TestFaultIntervalSpaceNth(t *testing.T) {
	fails := func(m *Machine, n int, size uint64) []int {
		var out []int
		for i := 1; i <= n; i++ {
			if _, err := m.Kmalloc(size, GFPAtomic); err != nil {
				out = append(out, i)
			}
		}
		return out
	}
	m := newTestMachine(t, Config{})
	fs := DefaultFailSlab
	fs.Probability, fs.Times, fs.Interval = 100, -1, 3
	m.SetFailSlab(fs)
	if got := fails(m, 9, 64); !slices.Equal(got, []int{3, 6, 9}) {
		t.Errorf("interval 3: failed calls %v, want [3 6 9]", got)
	}
	fs.Interval, fs.Space, fs.Times = 1, 200, 1
	m.SetFailSlab(fs)
	// 200 bytes of space: 64, 64, 64 pass (space 200 -> 8); 8 > 64 is
	// false, so the 4th fails.
	if got := fails(m, 6, 64); !slices.Equal(got, []int{4}) {
		t.Errorf("space 200 with 64-byte objects: failed calls %v, want [4]", got)
	}
	fs.Probability = 0
	m.SetFailSlab(fs)
	m.SetFailNth(3)
	if got := fails(m, 6, 64); !slices.Equal(got, []int{3}) {
		t.Errorf("fail-nth 3: failed calls %v, want [3]", got)
	}
}

// TestFaultSeeded: with probability 50 the failures follow the seed: the
// same seed, the same calls fail; another seed, other calls.
func TestFaultSeeded(t *testing.T) {
	run := func(seed uint64) []int {
		m := newTestMachine(t, Config{Seed: seed, FailSlab: "1,50,0,-1"})
		var out []int
		for i := range 64 {
			if _, err := m.Kmalloc(32, GFPAtomic); err != nil {
				out = append(out, i)
			}
		}
		return out
	}
	a, b, c := run(1), run(1), run(2)
	if !slices.Equal(a, b) {
		t.Errorf("seed 1 twice: %v and %v", a, b)
	}
	if slices.Equal(a, c) {
		t.Errorf("seeds 1 and 2 failed the same calls %v", a)
	}
	if len(a) < 16 || len(a) > 48 {
		t.Errorf("probability 50 failed %d of 64 calls", len(a))
	}
}

func TestParseFaultAttr(t *testing.T) {
	var a FaultAttr
	if err := ParseFaultAttr("10,50,4096,-1", &a); err != nil {
		t.Fatal(err)
	}
	if a.Interval != 10 || a.Probability != 50 || a.Space != 4096 || a.Times != -1 {
		t.Errorf("parsed %+v, want interval 10, probability 50, space 4096, times -1", a)
	}
	for _, bad := range []string{"", "1,2,3", "1,x,0,1", "1,101,0,1", "1,50,0,-2", "-1,50,0,1"} {
		if err := ParseFaultAttr(bad, &a); err == nil {
			t.Errorf("ParseFaultAttr(%q) accepted", bad)
		}
	}
}

// BenchmarkFaultInjectKmalloc measures what fault injection adds to a
// kmalloc+kfree pair of 64 bytes: off (one flag tested), armed but
// filtered out before the decision (ignore-gfp-wait with GFP_KERNEL, the
// kernel's boot default), and armed with a decision drawn every call
// (probability 1: the random number, almost never a failure), in the
// same run.
//
//	go test ./allocator -run '^$' -bench FaultInjectKmalloc -benchmem
func BenchmarkFaultInjectKmalloc(b *testing.B) {
	for _, c := range []struct {
		name string
		set  func(m *Machine)
	}{
		{"off", func(*Machine) {}},
		{"filtered", func(m *Machine) {
			fs := DefaultFailSlab
			fs.Probability, fs.Times = 100, -1
			m.SetFailSlab(fs)
		}},
		{"decided", func(m *Machine) {
			fs := DefaultFailSlab
			fs.Probability, fs.Times, fs.IgnoreGFPWait, fs.Verbose = 1, -1, false, 0
			m.SetFailSlab(fs)
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			m := newTestMachine(b, Config{})
			c.set(m)
			b.ReportAllocs()
			for b.Loop() {
				p, err := m.Kmalloc(64, GFPKernel)
				if err == nil {
					m.Kfree(p)
				}
			}
		})
	}
}

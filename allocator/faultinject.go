package allocator

import (
	"fmt"
	"strconv"
	"strings"
)

// Fault injection: failslab and fail_page_alloc, as the kernel's
// CONFIG_FAILSLAB and CONFIG_FAIL_PAGE_ALLOC build them.
//
// The decision is lib/fault-inject.c should_fail_ex() (6.18), reached
// from two call sites, one per allocator, each a line in the allocation
// path: slabAlloc (mm/slub.c slab_pre_alloc_hook() calling
// should_failslab(), mm/failslab.c __should_failslab()) and allocPages
// (mm/page_alloc.c prepare_alloc_pages() calling
// should_fail_alloc_page(), mm/fail_page_alloc.c
// __should_fail_alloc_page()). Everything else is here.
//
// What allocviz leaves out, and why: the stack-trace filter
// (require-start/-end, reject-start/-end, stacktrace-depth: the machine
// has no call stacks), verbose_ratelimit_* (nothing is rate-limited), the
// stack dump of verbose=2 (the one-line notice is printed), and the 6.11
// static keys that skip the call when nothing is enabled (a flag does the
// same). The random numbers are prandom's Tausworthe generator, as
// lib/fault-inject.c uses it, one state per CPU, seeded from the
// machine's seed (the kernel seeds them from get_random_bytes, so a
// kernel's run never repeats; allocviz's does).

// FaultAttr is struct fault_attr (include/linux/fault-inject.h): the
// knobs every fault injection capability shares.
type FaultAttr struct {
	Probability uint64 // percent, 0 to 100; 0: never inject
	Interval    uint64 // inject on every interval-th call that gets this far; 0 and 1: every call
	Times       int    // how many failures may still be injected; -1: no limit
	Space       int    // bytes (failslab) or pages (fail_page_alloc) let through before failures start
	Verbose     int    // 0: silent; 1 and 2: print "FAULT_INJECTION: forcing a failure." (2 adds a stack dump in the kernel)
	TaskFilter  bool   // inject only into tasks marked make-it-fail (SetMakeItFail)
}

// DefaultFaultAttr is FAULT_ATTR_INITIALIZER: interval 1, times 1,
// verbose 2, probability 0 (off). Setting only the probability to 100
// injects exactly one failure.
var DefaultFaultAttr = FaultAttr{Interval: 1, Times: 1, Verbose: 2}

// FailSlab is the failslab capability (mm/failslab.c): its fault_attr and
// its own knobs.
type FailSlab struct {
	FaultAttr
	IgnoreGFPWait bool // ignore-gfp-wait (default Y): never fail an allocation that may sleep (__GFP_DIRECT_RECLAIM)
	CacheFilter   bool // cache-filter (default N): fail only caches marked failslab (SetCacheFailslab)
}

// DefaultFailSlab is failslab as the kernel boots it.
var DefaultFailSlab = FailSlab{FaultAttr: DefaultFaultAttr, IgnoreGFPWait: true}

// FailPageAlloc is the fail_page_alloc capability (mm/fail_page_alloc.c).
type FailPageAlloc struct {
	FaultAttr
	IgnoreGFPWait    bool // ignore-gfp-wait (default Y): never fail an allocation that may sleep
	IgnoreGFPHighmem bool // ignore-gfp-highmem (default Y): never fail __GFP_HIGHMEM
	MinOrder         int  // min-order (default 1): never fail orders below it, so order 0 is spared
}

// DefaultFailPageAlloc is fail_page_alloc as the kernel boots it.
var DefaultFailPageAlloc = FailPageAlloc{FaultAttr: DefaultFaultAttr, IgnoreGFPWait: true, IgnoreGFPHighmem: true, MinOrder: 1}

// faultState is the machine's fault injection: both capabilities, their
// counters, the one task's fail-nth and make-it-fail, and the per-CPU
// random states.
type faultState struct {
	on         bool // anything may be injected: the only test on the allocation paths
	slab       FailSlab
	page       FailPageAlloc
	slabCount  uint64 // fault_attr.count of failslab (the interval counter)
	pageCount  uint64
	failNth    int  // current->fail_nth: the n-th call to reach should_fail_ex fails; 0: off
	makeItFail bool // current->make_it_fail
	rnd        []rndState
}

// FaultInjectedError is an allocation failed on purpose by failslab or
// fail_page_alloc. It matches ErrNoMemory, as the caller sees NULL.
type FaultInjectedError struct {
	Capability string // "failslab" or "fail_page_alloc"
}

func (e *FaultInjectedError) Error() string { return e.Capability + ": failure injected" }

// Is makes FaultInjectedError match ErrNoMemory.
func (e *FaultInjectedError) Is(target error) bool { return target == ErrNoMemory }

// ParseFaultAttr parses a boot option's value, "<interval>,<probability>,
// <space>,<times>" (lib/fault-inject.c setup_fault_attr()), into attr.
// The kernel ignores a value it cannot parse with a warning; allocviz
// refuses it, naming the field.
func ParseFaultAttr(s string, attr *FaultAttr) error {
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		return fmt.Errorf("%q is not <interval>,<probability>,<space>,<times>", s)
	}
	names := [4]string{"interval", "probability", "space", "times"}
	var v [4]int64
	for i, p := range parts {
		n, err := strconv.ParseInt(strings.TrimSpace(p), 10, 64)
		if err != nil {
			return fmt.Errorf("%q: %s %q is not a number", s, names[i], p)
		}
		v[i] = n
	}
	a := *attr
	a.Interval, a.Probability, a.Space, a.Times = uint64(max(v[0], 0)), uint64(max(v[1], 0)), int(v[2]), int(v[3])
	if v[0] < 0 {
		return fmt.Errorf("%q: interval %d is negative", s, v[0])
	}
	if v[1] < 0 {
		return fmt.Errorf("%q: probability %d is negative", s, v[1])
	}
	if err := a.Check(); err != nil {
		return fmt.Errorf("%q: %w", s, err)
	}
	*attr = a
	return nil
}

// Check refuses knob values the model does not give a meaning.
func (a FaultAttr) Check() error {
	switch {
	case a.Probability > 100:
		return fmt.Errorf("probability %d is a percentage, 0 to 100", a.Probability)
	case a.Times < -1:
		return fmt.Errorf("times %d: give a count >= 0, or -1 for no limit", a.Times)
	case a.Space < 0:
		return fmt.Errorf("space %d is negative", a.Space)
	case a.Verbose < 0 || a.Verbose > 2:
		return fmt.Errorf("verbose %d is not 0, 1 or 2", a.Verbose)
	case a.Interval > 1<<40:
		return fmt.Errorf("interval %d is out of range (at most 2^40)", a.Interval)
	}
	return nil
}

// String is the knobs as debugfs would show them, one "name value" each.
func (a FaultAttr) String() string {
	return fmt.Sprintf("probability %d, interval %d, times %d, space %d, verbose %d%s", a.Probability, max(a.Interval, 1), a.Times,
		a.Space, a.Verbose, yn(", task-filter ", a.TaskFilter))
}

func (f FailSlab) String() string {
	return "failslab: " + f.FaultAttr.String() + yn(", ignore-gfp-wait ", f.IgnoreGFPWait) + yn(", cache-filter ", f.CacheFilter)
}

func (f FailPageAlloc) String() string {
	return "fail_page_alloc: " + f.FaultAttr.String() + yn(", ignore-gfp-wait ", f.IgnoreGFPWait) +
		yn(", ignore-gfp-highmem ", f.IgnoreGFPHighmem) + ", min-order " + strconv.Itoa(f.MinOrder)
}

// yn prints a debugfs bool as Y or N after its label; a false
// task-filter, which is rarely set, is left out.
func yn(label string, v bool) string {
	switch {
	case v:
		return label + "Y"
	case strings.Contains(label, "task-filter"):
		return ""
	}
	return label + "N"
}

// initFaults sets up fault injection at boot from the boot options in
// the config, recording each capability the options turn on.
func (m *Machine) initFaults() error {
	fi := &m.fi
	fi.slab, fi.page = DefaultFailSlab, DefaultFailPageAlloc
	fi.rnd = make([]rndState, m.cfg.CPUs)
	for cpu := range fi.rnd {
		// The kernel seeds each CPU's state from get_random_bytes once
		// (prandom_init_once); allocviz from the seed and the CPU.
		fi.rnd[cpu].seed(m.cfg.Seed ^ uint64(cpu)<<32 ^ 0xfa17)
	}
	if m.cfg.FailSlab != "" {
		if err := ParseFaultAttr(m.cfg.FailSlab, &fi.slab.FaultAttr); err != nil {
			return fmt.Errorf("config: failslab=%w", err)
		}
		m.faultConfig(fi.slab.String())
	}
	if m.cfg.FailPageAlloc != "" {
		if err := ParseFaultAttr(m.cfg.FailPageAlloc, &fi.page.FaultAttr); err != nil {
			return fmt.Errorf("config: fail_page_alloc=%w", err)
		}
		m.faultConfig(fi.page.String())
	}
	fi.update()
	return nil
}

// update recomputes whether anything may be injected.
func (fi *faultState) update() {
	fi.on = fi.slab.Probability > 0 || fi.page.Probability > 0 || fi.failNth > 0
}

func (m *Machine) faultConfig(text string) {
	if m.tracing() {
		m.emit(record{kind: EvFaultConfig, s1: m.str(text)})
	}
}

// FailSlab returns failslab's knobs as they are now (times counts down as
// failures are injected).
func (m *Machine) FailSlab() FailSlab { return m.fi.slab }

// SetFailSlab sets failslab's knobs, as writing its debugfs files does,
// and records them. The interval counter starts again.
func (m *Machine) SetFailSlab(f FailSlab) error {
	if err := f.Check(); err != nil {
		return fmt.Errorf("failslab: %w", err)
	}
	m.fi.slab, m.fi.slabCount = f, 0
	m.fi.update()
	m.faultConfig(f.String())
	return nil
}

// FailPageAlloc returns fail_page_alloc's knobs as they are now.
func (m *Machine) FailPageAlloc() FailPageAlloc { return m.fi.page }

// SetFailPageAlloc sets fail_page_alloc's knobs and records them.
func (m *Machine) SetFailPageAlloc(f FailPageAlloc) error {
	if err := f.Check(); err != nil {
		return fmt.Errorf("fail_page_alloc: %w", err)
	}
	if f.MinOrder < 0 {
		return fmt.Errorf("fail_page_alloc: min-order %d is negative", f.MinOrder)
	}
	m.fi.page, m.fi.pageCount = f, 0
	m.fi.update()
	m.faultConfig(f.String())
	return nil
}

// FailNth returns the task's fail-nth count: 0 when off, else how many
// more calls reaching the fault injection decision until one fails.
func (m *Machine) FailNth() int { return m.fi.failNth }

// SetFailNth is writing n to /proc/self/fail-nth: the n-th call from now
// that reaches should_fail_ex() (any capability, after its own filters)
// fails, whatever the probability; 0 turns it off.
func (m *Machine) SetFailNth(n int) error {
	if n < 0 {
		return fmt.Errorf("fail-nth %d is negative", n)
	}
	m.fi.failNth = n
	m.fi.update()
	if n > 0 {
		m.faultConfig(fmt.Sprintf("fail-nth: the %s call to reach fault injection from now fails", ordinal(n)))
	} else {
		m.faultConfig("fail-nth: off")
	}
	return nil
}

// SetMakeItFail is writing /proc/self/make-it-fail: with task-filter set,
// only a task so marked gets failures.
func (m *Machine) SetMakeItFail(on bool) {
	m.fi.makeItFail = on
	m.faultConfig("make-it-fail: " + yn("", on))
}

// MakeItFail reports the task's make-it-fail.
func (m *Machine) MakeItFail() bool { return m.fi.makeItFail }

// SetCacheFailslab is writing /sys/kernel/slab/<cache>/failslab: with
// cache-filter set, only caches so marked get failures.
func (m *Machine) SetCacheFailslab(s *KmemCache, on bool) error {
	if err := m.liveCache(s, "failslab"); err != nil {
		return err
	}
	s.failslab = on
	m.faultConfig(fmt.Sprintf("/sys/kernel/slab/%s/failslab: %d", s.name, b2i(on)))
	return nil
}

// CacheFailslab reports whether the cache is marked for failslab.
func (s *KmemCache) CacheFailslab() bool { return s.failslab }

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func ordinal(n int) string {
	suffix := "th"
	switch {
	case n%100 >= 11 && n%100 <= 13:
	case n%10 == 1:
		suffix = "st"
	case n%10 == 2:
		suffix = "nd"
	case n%10 == 3:
		suffix = "rd"
	}
	return strconv.Itoa(n) + suffix
}

// faultDecision is how should_fail_ex decided a call that failed.
type faultDecision struct {
	nth    bool   // fail-nth reached 0
	random uint32 // the draw below 100 that was under the probability
	count  uint64 // the interval counter, when interval > 1
	times  int    // times before the failure was counted
	space  int
}

// shouldFailEx is lib/fault-inject.c should_fail_ex(attr, size, flags),
// in its order:
//
//  1. the task's fail_nth, when set, counts down and fails the call that
//     brings it to 0 (whatever else is set);
//  2. probability 0 never fails;
//  3. task-filter set: only a task marked make-it-fail;
//  4. times 0: no failures left;
//  5. (the stack-trace filter: not modelled);
//  6. space greater than size: space -= size, no failure;
//  7. interval above 1: count the call, fail only every interval-th;
//  8. fail when a random number below 100 is under the probability;
//  9. failing: print unless __GFP_NOWARN (FAULT_NOWARN), and count one
//     of times unless it is -1.
//
// count is the capability's interval counter.
func (m *Machine) shouldFailEx(attr *FaultAttr, count *uint64, size int, noWarn bool, name string) (faultDecision, bool) {
	fi := &m.fi
	var d faultDecision
	if fi.failNth > 0 {
		fi.failNth--
		if fi.failNth > 0 {
			return d, false
		}
		fi.update()
		d.nth = true
	} else {
		switch {
		case attr.Probability == 0:
			return d, false
		case attr.TaskFilter && !fi.makeItFail:
			return d, false
		case attr.Times == 0:
			return d, false
		case attr.Space > size:
			attr.Space -= size
			return d, false
		}
		if attr.Interval > 1 {
			*count++
			if *count%attr.Interval != 0 {
				return d, false
			}
			d.count = *count
		}
		d.random = fi.rnd[m.cpu].next() % 100
		if attr.Probability <= uint64(d.random) {
			return d, false
		}
	}
	d.times, d.space = attr.Times, attr.Space
	if !noWarn && attr.Verbose > 0 {
		// fail_dump(): printed before times is counted down.
		m.warn(fmt.Sprintf("FAULT_INJECTION: forcing a failure.\nname %s, interval %d, probability %d, space %d, times %d",
			name, attr.Interval, attr.Probability, attr.Space, attr.Times))
	}
	if attr.Times != -1 && attr.Times != 0 {
		attr.Times-- // atomic_dec_not_zero
	}
	return d, true
}

// shouldFailslab is should_failslab() -> __should_failslab() (mm/failslab.c,
// 6.18): no failure for __GFP_NOFAIL; with ignore-gfp-wait, none for an
// allocation that may sleep; with cache-filter, only for caches marked
// failslab; otherwise should_fail_ex() with the cache's object size, and
// FAULT_NOWARN for __GFP_NOWARN. A failure is recorded (EvFaultInject)
// and returned as a *FaultInjectedError; nil means the allocation goes on.
func (m *Machine) shouldFailslab(s *KmemCache, gfp GFP) error {
	f := &m.fi.slab
	if gfp&GFPNoFail != 0 || f.IgnoreGFPWait && gfp&GFPDirectReclaim != 0 || f.CacheFilter && !s.failslab {
		return nil
	}
	d, fail := m.shouldFailEx(&f.FaultAttr, &m.fi.slabCount, int(s.objectSize), gfp.NoWarn(), "failslab")
	if !fail {
		return nil
	}
	if m.tracing() {
		name, _ := m.cacheIDs(s)
		text := fmt.Sprintf("failslab: injected: %s (object_size %d) returns NULL to %v; %s", s.name, s.objectSize, gfp,
			d.why(f.FaultAttr, "bytes"))
		m.emit(record{kind: EvFaultInject, s1: name, gfp: gfp, size: s.objectSize, s2: m.str(text)})
	}
	return &FaultInjectedError{Capability: "failslab"}
}

// shouldFailAllocPage is should_fail_alloc_page() ->
// __should_fail_alloc_page() (mm/fail_page_alloc.c, called from
// mm/page_alloc.c prepare_alloc_pages(), 6.18): no failure below
// min-order, for __GFP_NOFAIL, for __GFP_HIGHMEM with ignore-gfp-highmem,
// or for an allocation that may sleep with ignore-gfp-wait; otherwise
// should_fail_ex() with 1 << order pages. The page allocator returns NULL
// without its allocation-failure warning, as the kernel does.
func (m *Machine) shouldFailAllocPage(order int, gfp GFP) error {
	f := &m.fi.page
	if order < f.MinOrder || gfp&GFPNoFail != 0 || f.IgnoreGFPHighmem && gfp&GFPHighmem != 0 ||
		f.IgnoreGFPWait && gfp&GFPDirectReclaim != 0 {
		return nil
	}
	d, fail := m.shouldFailEx(&f.FaultAttr, &m.fi.pageCount, 1<<order, gfp.NoWarn(), "fail_page_alloc")
	if !fail {
		return nil
	}
	if m.tracing() {
		text := fmt.Sprintf("fail_page_alloc: injected: alloc_pages(order %d, %v) returns NULL; %s", order, gfp,
			d.why(f.FaultAttr, "pages"))
		m.emit(record{kind: EvFaultInject, order: int8(order), gfp: gfp, size: 1 << order, s2: m.str(text)})
	}
	return &FaultInjectedError{Capability: "fail_page_alloc"}
}

// why says which rule of should_fail_ex made the failure.
func (d faultDecision) why(a FaultAttr, unit string) string {
	if d.nth {
		return "the task's fail-nth count reached 0"
	}
	var b strings.Builder
	if a.Probability >= 100 {
		b.WriteString("probability 100%")
	} else {
		fmt.Fprintf(&b, "random %d < probability %d%%", d.random, a.Probability)
	}
	if d.count > 0 {
		fmt.Fprintf(&b, ", call %d of interval %d", d.count, a.Interval)
	}
	if d.space > 0 {
		fmt.Fprintf(&b, ", %d %s of space left", d.space, unit)
	}
	switch d.times {
	case -1:
		b.WriteString(", times -1 (no limit)")
	case 1:
		b.WriteString(", times 1 -> 0: no more failures")
	default:
		fmt.Fprintf(&b, ", times %d -> %d", d.times, d.times-1)
	}
	return b.String()
}

// rndState is struct rnd_state and prandom_u32_state() (lib/random32.c):
// L'Ecuyer's maximally equidistributed combined Tausworthe generator.
type rndState struct{ s1, s2, s3, s4 uint32 }

// seed is prandom_seed_state() (include/linux/prandom.h) followed by ten
// rounds of warm-up, as prandom_warmup() did.
func (r *rndState) seed(seed uint64) {
	i := uint32((seed >> 32) ^ (seed << 10) ^ seed)
	lim := func(x, m uint32) uint32 {
		if x < m {
			return x + m
		}
		return x
	}
	r.s1, r.s2, r.s3, r.s4 = lim(i, 2), lim(i, 8), lim(i, 16), lim(i, 128)
	for range 10 {
		r.next()
	}
}

// next is prandom_u32_state().
func (r *rndState) next() uint32 {
	taus := func(s, a, b, c, d uint32) uint32 { return ((s & c) << d) ^ (((s << a) ^ s) >> b) }
	r.s1 = taus(r.s1, 6, 13, 4294967294, 18)
	r.s2 = taus(r.s2, 2, 27, 4294967288, 2)
	r.s3 = taus(r.s3, 13, 21, 4294967280, 7)
	r.s4 = taus(r.s4, 3, 12, 4294967168, 13)
	return r.s1 ^ r.s2 ^ r.s3 ^ r.s4
}

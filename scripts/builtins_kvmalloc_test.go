package scripts

import (
	"fmt"
	"strings"
	"testing"

	"github.com/allocviz/allocviz/allocator"
)

// fragmentStar takes every free page and gives back the even pfns: no
// block above order 0 stays free.
const fragmentStar = `
def fragment():
    drain_all_pages()
    pages = []
    while True:
        p = alloc_pages(0, GFP_KERNEL | __GFP_MEMALLOC | __GFP_NOWARN)
        if p == None:
            break
        pages.append(p)
    held = []
    for p in pages:
        if p.pfn % 2 == 0:
            free_pages(p, 0)
        else:
            held.append(p)
    drain_all_pages()
    return held

def unfragment(held):
    for p in held:
        free_pages(p, 0)
`

func TestKvmallocPointersKnowTheirBacking(t *testing.T) {
	s := runScript(t, `config(ram="4M")`+fragmentStar+`
a = kvmalloc(100)
check(a.owner == "kmalloc-128" and a.area == None and a.size == 100 and a.pfn != None and a.order == -1, "small: a kmalloc-128 object")
b = kvmalloc(16384)
check(b.owner == "large kmalloc" and b.order == 2 and not is_vmalloc_addr(b), "16 KiB on a fresh machine: an order-2 large kmalloc")
held = fragment()
c = kvmalloc(16384)
check(c != None and c.owner == "vmalloc" and is_vmalloc_addr(c) and c.area.nr_pages == 4 and c.pfn == None, "16 KiB fragmented: vmalloc")
for p in [a, b, c]:
    check(write(p, p.size - 3, "end"), "write to the last bytes")
    check(read(p, p.size - 3, 3) == b"end", "and read them back")
check(write(c, c.size, "!") == False, "one past c's end is its guard page")
check(write(a, a.size, "!") == False, "one past a's end is reported by KASAN")
check(kvfree(a) and kvfree(b) and kvfree(c), "kvfree frees each")
check(not a.live and not b.live and not c.live, "and marks it freed")
check(kvfree(a) == False and kvfree(c) == False, "a second kvfree is refused")
check(kvfree(None) == None, "kvfree(NULL) does nothing")
unfragment(held)
`)
	noFailures(t, s)
	var paths []string
	for _, e := range eventsOf(s, allocator.EvKvmalloc) {
		paths = append(paths, e.Path())
	}
	if got := strings.Join(paths, ","); got != "kmalloc,kmalloc,vmalloc fallback" {
		t.Errorf("kvmalloc paths %s", got)
	}
	if err := s.Machine().CheckInvariants(); err != nil {
		t.Error(err)
	}
}

func TestKvmallocFailures(t *testing.T) {
	s := runScript(t, `config(ram="4M")`+fragmentStar+`
held = fragment()
check(kvmalloc(16384, GFP_ATOMIC) == None, "GFP_ATOMIC: no vmalloc fallback")
check(kvmalloc(16384, GFP_NOWAIT) == None, "GFP_NOWAIT: no vmalloc fallback")
check(kvmalloc(-1) == None, "a negative size is a huge size_t: above INT_MAX")
unfragment(held)
`)
	noFailures(t, s)
	var results []string
	for _, st := range allSteps(s) {
		if strings.HasPrefix(st.Op, "kvmalloc(") {
			results = append(results, st.Result)
		}
	}
	if got := strings.Join(results, ","); got != "NULL,NULL,NULL" {
		t.Errorf("kvmalloc results %s", got)
	}
	evs := eventsOf(s, allocator.EvKvmalloc)
	if len(evs) != 3 || !strings.Contains(evs[0].Text(), "GFP_ATOMIC cannot block") || !strings.Contains(evs[1].Text(), "GFP_NOWAIT cannot block") ||
		!strings.Contains(evs[2].Text(), "above INT_MAX") {
		t.Errorf("decisions %+v", evs)
	}
	if len(eventsOf(s, allocator.EvVmapAlloc)) != 0 {
		t.Error("a kvmalloc that may not fall back made a vmap area")
	}
}

func TestKvrealloc(t *testing.T) {
	for _, profile := range []string{"6.18", "6.12"} {
		t.Run(profile, func(t *testing.T) {
			s := runScript(t, fmt.Sprintf("config(ram=\"4M\", profile=%q)\n", profile)+fragmentStar+`
p = kvmalloc(100)
fill(p, 0x5a)
q = kvrealloc(p, 120)
check(q == p and p.live and p.size == 120, "in place: the same pointer, its size updated")
held = fragment()
r = kvrealloc(p, 20000)
check(r != None and r.owner == "vmalloc" and not p.live and r.live, "no order-3 block: kvmalloc fell back to vmalloc, the old object freed")
check(read(r, 0, 100) == bytes([0x5a] * 100), "the contents were copied")
s = kvrealloc(r, 20480)
check(s == r and r.size == 20480 and r.area.usable == 20480, "vmalloc memory stays vmalloc: grown in place within its pages")
t = kvrealloc(r, 1 << 40, GFP_KERNEL | __GFP_NOWARN)
check(t == None and r.live, "failure: NULL, r still live")
unfragment(held)
check(kvrealloc(r, 0) == None and not r.live, "size 0 frees")
u = kvrealloc(None, 10)
check(u != None and u.owner == "kmalloc-16", "kvrealloc(NULL, n) is kvmalloc(n)")
z = kvrealloc(u, 0)
check(str(z) == "0x10" and z.owner == "ZERO_SIZE_PTR" and not u.live, "size 0 frees kmalloc memory too and returns ZERO_SIZE_PTR, as krealloc does")
check(kvrealloc(u, 50) == None, "a freed pointer is refused")
`)
			noFailures(t, s)
			var own []string
			for _, e := range eventsOf(s, allocator.EvRealloc) {
				if ri(e).Within == "" {
					own = append(own, ri(e).Decision.String())
				}
			}
			want := "grown in place,moved,grown in place,failed,freed,new,freed,failed"
			if got := strings.Join(own, ","); got != want {
				t.Errorf("kvrealloc decisions %s, want %s", got, want)
			}
			results := map[string]bool{}
			for _, st := range allSteps(s) {
				if strings.HasPrefix(st.Op, "kvrealloc(") {
					results[st.Result] = true
				}
			}
			if !results["0x10"] || !results["NULL"] {
				t.Errorf("kvrealloc results %v: want ZERO_SIZE_PTR (0x10) for freed kmalloc memory and NULL for vmalloc", results)
			}
			if err := s.Machine().CheckInvariants(); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestKvStalePointers: a freed pointer whose memory was handed out again
// is refused and reported, not passed on to free someone else's memory.
func TestKvStalePointers(t *testing.T) {
	s := runScript(t, `
p = kvmalloc(100)
kvfree(p)
q = kvmalloc(100)
check(q == p, "the same object again")
check(kvfree(p) == False and q.live, "kvfree through the stale pointer is refused")
check(kvrealloc(p, 200) == None and q.live and q.size == 100, "so is kvrealloc")
check(kvfree(q), "q frees")
`)
	noFailures(t, s)
	n := 0
	for _, e := range eventsOf(s, allocator.EvMisuse) {
		if strings.Contains(e.Text(), "has been handed out again (object 0 of kmalloc-128") {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d stale-pointer reports, want 2", n)
	}
}

// TestKvmallocScenariosShowWhatTheyClaim checks that the bundled kvmalloc
// lessons are made of the events they narrate: a real kmalloc failure
// for want of an order-2 block and a vmalloc fallback of scattered pages;
// GFP_ATOMIC and GFP_NOWAIT giving up where GFP_KERNEL falls back.
func TestKvmallocScenariosShowWhatTheyClaim(t *testing.T) {
	run := func(t *testing.T, name string, cfg allocator.Config) *Session {
		t.Helper()
		s := runScenario(t, name, cfg)
		if len(s.Failures()) != 0 || countChecks(s) < 5 {
			t.Errorf("%s: %d checks, %d failed", name, countChecks(s), len(s.Failures()))
		}
		return s
	}
	for _, cfg := range []allocator.Config{{}, {PageSize: 16384}, {Profile: allocator.Profile612, RAM: 8 * allocator.MiB}} {
		t.Run(fmt.Sprint(cfg.PageSize, cfg.Profile), func(t *testing.T) {
			s := run(t, "kvmalloc-fragmentation", cfg)
			fellBack := false
			for _, e := range eventsOf(s, allocator.EvKvmalloc) {
				fellBack = fellBack || e.Path() == "vmalloc fallback" && strings.Contains(e.Text(), "attempt failed: largest free block is order 0") &&
					strings.Contains(e.Text(), "fell back to vmalloc: 4 scattered pages in 4 runs")
			}
			if !fellBack {
				t.Error("kvmalloc-fragmentation: no vmalloc fallback for want of an order-2 block")
			}
			if len(eventsOf(s, allocator.EvPageFail)) == 0 {
				t.Error("kvmalloc-fragmentation: no page allocation failed")
			}

			s = run(t, "kvmalloc-atomic", cfg)
			var noFallback []string
			for _, e := range eventsOf(s, allocator.EvKvmalloc) {
				if e.Path() == "no fallback" {
					noFallback = append(noFallback, e.GFP().String())
				}
			}
			if got := strings.Join(noFallback, ","); got != "GFP_ATOMIC,GFP_NOWAIT" {
				t.Errorf("kvmalloc-atomic: no-fallback decisions for %s", got)
			}
			if len(eventsOf(s, allocator.EvVmapAlloc)) == 0 {
				t.Error("kvmalloc-atomic: GFP_KERNEL did not fall back for contrast")
			}
		})
	}
}

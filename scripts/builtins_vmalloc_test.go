package scripts

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/allocviz/allocviz/allocator"
	"github.com/allocviz/allocviz/allocator/allocatortest"
)

func TestVmallocReturnsPointerWithArea(t *testing.T) {
	s := runScript(t, `
p = vmalloc(5000)
check(type(p) == "pointer" and p.owner == "vmalloc", "a vmalloc pointer")
check(p.addr == VMALLOC_START and str(p) == "0xffffc90000000000", "the first area is at VMALLOC_START")
check(p.size == 5000 and p.order == -1 and p.pfn == None and p.gfp == GFP_KERNEL and p.step == 1, "fields")
a = p.area
check(a.start == p.addr and a.usable == 8192 and a.end == p.addr + 8192, "rounded up to 2 pages")
check(a.size == 12288 and a.guard == a.end, "the guard page follows the pages")
check(a.nr_pages == 2 and len(a.pfns) == 2, "2 pages")
check(alloc_pages(0).area == None, "pages pointers have no area")
q = vmalloc(1, GFP_KERNEL | __GFP_ZERO)
check(q.addr == a.start + a.size and q.area.usable == 4096, "the next area follows the guard page")
check(read(q, 0, 1) == b"\x00", "__GFP_ZERO")
`)
	noFailures(t, s)
	st := s.Step(1)
	if st.Op != "vmalloc(5000, GFP_KERNEL)" || st.Result != "0xffffc90000000000" {
		t.Errorf("step 1 = %+v", st)
	}
	e, ok := findEvent(stepEvents(s, 1), allocator.EvVmapAlloc)
	info, live := s.Machine().AreaOf(allocator.VmallocStart)
	if !ok || !live || !reflect.DeepEqual(e.PFNs(), info.PFNs) || info.Requested != 5000 {
		t.Errorf("vmap_alloc %+v, area %+v", e, info)
	}
	// p.area.pfns is what the machine maps.
	v, err := s.Exec("p.area.pfns")
	if want := strings.ReplaceAll(fmt.Sprint(info.PFNs), " ", ", "); err != nil || v.String() != want {
		t.Errorf("p.area.pfns = %v (%v), want %v", v, err, info.PFNs)
	}
}

func TestVmallocFailureReturnsNone(t *testing.T) {
	s := runScript(t, `
config(ram="2M")
check(vmalloc(0) == None, "vmalloc(0)")
check(vmalloc(4 << 20) == None, "more than RAM")
check(vmalloc(-1, GFP_KERNEL | __GFP_NOWARN) == None, "a negative size is a huge size_t")
r = alloc_pages(0)
free = machine().nr_pages - machine().reserved_pages
vfree(vmalloc((free - 64) * machine().page_size)) # makes the kmalloc slab for a pages[] array that size, which stays
b = idle_pages()
check(vmalloc(free * machine().page_size) == None, "more than is free: fails after taking every page it may")
check(idle_pages() == b, "a failed vmalloc gives back every page it took")
`)
	noFailures(t, s)
	for _, n := range []int{1, 3, 5, 10} {
		if st := s.Step(n); st.Result != "NULL" || st.Err != "" {
			t.Errorf("step %d = %+v, want Result NULL", n, st)
		}
	}
	wantEvent(t, s, 1, allocator.EvWarn, "WARN_ON_ONCE(!size)")
	wantEvent(t, s, 3, allocator.EvWarn, "vmalloc error: size 4194304, exceeds total pages")
	if e, ok := findEvent(stepEvents(s, 5), allocator.EvWarn); ok {
		t.Errorf("__GFP_NOWARN still warned: %q", e.Text())
	}
	wantEvent(t, s, 10, allocator.EvVmapFree, "failed")
	if err := s.Machine().CheckInvariants(); err != nil {
		t.Error(err)
	}
}

func TestVfree(t *testing.T) {
	s := runScript(t, `
vfree(vmalloc(3 * 4096)) # the slab for the pages[] array stays
b = idle_pages()
p = vmalloc(3 * 4096)
check(idle_pages() == b - 3, "vmalloc took 3 pages")
check(vfree(p) == True and not p.live, "freed")
check(idle_pages() == b, "every page is back (on the per-CPU list)")
check(vfree(None) == None, "vfree(NULL) does nothing")
`)
	noFailures(t, s)
	if got := kinds(stepEvents(s, 8)); got != "step" {
		t.Errorf("vfree(None) events: %s", got)
	}
	if len(s.Machine().Areas()) != 0 {
		t.Error("an area is still live after vfree")
	}
	frees := eventsOf(s, allocator.EvVmapFree)
	if len(frees) != 2 || frees[1].Addr() != frees[0].Addr()+4*4096 {
		t.Errorf("vmap_free events %+v, want two 3-page areas side by side", frees)
	}
	for _, e := range frees {
		if e.Pages() != 3 {
			t.Errorf("vmap_free %+v", e)
		}
	}
}

func TestVfreeMisuseIsReportedNotFatal(t *testing.T) {
	s := runScript(t, `
config(cpus=1)
p = vmalloc(4096)
check(vfree(p), "freed")
check(vfree(p) == False, "a double vfree is refused")
r = alloc_pages(0)
check(vfree(r) == False and r.live, "vfree of a page from alloc_pages is refused; the page stays allocated")
# Free 32 MiB of address space so the lazy purge runs, then reuse p's range.
for i in range(2):
    vfree(vmalloc(16 << 20))
q = vmalloc(4096)
check(q.addr == p.addr, "p's range was purged and handed out again")
check(vfree(p) == False and q.live, "vfree of the stale pointer would free q: refused")
check(vrealloc(p, 100) == None and q.live, "so is vrealloc of it")
check(write(p, 0, "x") == False, "and writing through it")
check(vfree(q), "q itself frees")
`)
	noFailures(t, s)
	wantEvent(t, s, 4, allocator.EvWarn, "Trying to vfree() nonexistent vm area (ffffc90000000000)")
	wantEvent(t, s, 7, allocator.EvWarn, "Trying to vfree() nonexistent vm area (ffff888001")
	if len(eventsOf(s, allocator.EvVmapPurge)) == 0 {
		t.Fatal("no lazy purge happened")
	}
	var stale int
	for _, e := range eventsOf(s, allocator.EvMisuse) {
		if strings.Contains(e.Text(), "now belongs to a newer vmap area") {
			stale++
		}
		if strings.HasPrefix(e.Text(), "BUG: KASAN: use-after-free in write") {
			stale++
		}
	}
	if stale != 3 {
		t.Errorf("%d reports of the stale pointer, want 3 (vfree, vrealloc, write)", stale)
	}
	if err := s.Machine().CheckInvariants(); err != nil {
		t.Error(err)
	}
}

func TestVrealloc(t *testing.T) {
	for _, tc := range []struct {
		profile string
		src     string
		want    []allocator.Decision // the decisions of the vrealloc steps, in order
	}{
		{"6.18", `
p = vmalloc(5000)
fill(p, 0x5a)
q = vrealloc(p, 8000)
check(q == p and p.size == 8000 and p.live, "grown in place: the same pointer, its size updated")
check(read(p, 0, 5000) == bytes([0x5a] * 5000), "contents kept")
q = vrealloc(p, 100)
check(q == p and p.size == 100, "shrunk in place")
check(read(p, 100, 1) == None, "the cut tail is out of bounds now")
r = vrealloc(p, 9000)
check(r != p and not p.live and r.live and r.size == 9000 and r.area.usable == 12288, "moved")
check(read(r, 0, 100) == bytes([0x5a] * 100), "the requested bytes were copied")
check(r.step == 11 and r.owner == "vmalloc", "a new pointer from this step")
f = vrealloc(r, 1 << 40)
check(f == None and r.live, "failure: NULL, r still live")
check(vrealloc(r, 0) == None and not r.live, "size 0 frees")
n = vrealloc(None, 10)
check(n != None and n.size == 10 and n.area.usable == 4096, "vrealloc(NULL, n) is vmalloc(n)")
check(vrealloc(None, 0) == None, "vrealloc(NULL, 0) is NULL")
`, []allocator.Decision{allocator.DecisionGrownInPlace, allocator.DecisionShrunkInPlace, allocator.DecisionMoved,
			allocator.DecisionFailed, allocator.DecisionFreed, allocator.DecisionNew, allocator.DecisionFreed}},
		{"6.12", `
p = vmalloc(5000)
fill(p, 0x5a)
q = vrealloc(p, 8192)
check(q == p and p.size == 8192, "grown in place within the page-rounded area")
q = vrealloc(p, 8193)
check(q != p and not p.live and q.area.usable == 12288, "one byte more moves")
check(read(q, 0, 5000) == bytes([0x5a] * 5000), "contents kept")
q2 = vrealloc(q, 10, GFP_KERNEL | __GFP_ZERO)
check(q2 == q and read(q, 10, 1, unchecked=True) == b"\x00", "shrunk in place; __GFP_ZERO zeroes the rest")
`, []allocator.Decision{allocator.DecisionGrownInPlace, allocator.DecisionMoved, allocator.DecisionShrunkInPlace}},
	} {
		t.Run(tc.profile, func(t *testing.T) {
			s := runScript(t, fmt.Sprintf("config(profile=%q)\n%s", tc.profile, tc.src))
			noFailures(t, s)
			var got []allocator.Decision
			for _, e := range eventsOf(s, allocator.EvRealloc) {
				got = append(got, ri(e).Decision)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("decisions %v, want %v", got, tc.want)
			}
			for _, st := range allSteps(s) {
				if strings.HasPrefix(st.Op, "vrealloc(") && st.Err != "" {
					t.Errorf("step %+v", st)
				}
			}
			if err := s.Machine().CheckInvariants(); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestVreallocMisuse(t *testing.T) {
	s := runScript(t, `
r = alloc_pages(0)
check(vrealloc(r, 100) == None and r.live, "a page from alloc_pages is no vmap area: refused")
p = vmalloc(100)
vfree(p)
check(vrealloc(p, 200) == None, "a freed area: refused")
check(vrealloc(r, 0) == None and r.live, "vrealloc(page, 0) is a vfree of it: refused")
`)
	noFailures(t, s)
	wantEvent(t, s, 2, allocator.EvWarn, "Trying to vrealloc() nonexistent vm area (ffff888001")
	wantEvent(t, s, 6, allocator.EvWarn, "Trying to vrealloc() nonexistent vm area (ffffc90000000000)")
	wantEvent(t, s, 8, allocator.EvWarn, "Trying to vfree() nonexistent vm area")
	for _, n := range []int{2, 6, 8} {
		if st := s.Step(n); st.Result != "NULL" {
			t.Errorf("step %d result %q, want NULL", n, st.Result)
		}
	}
}

func TestVmallocGuardPageHits(t *testing.T) {
	for _, ps := range []int{4096, 16384} {
		t.Run(fmt.Sprint(ps), func(t *testing.T) {
			s := newSession(t, Options{Config: allocator.Config{PageSize: ps}})
			err := s.RunFile("guard.star", []byte(`
ps = machine().page_size
p = vmalloc(2 * ps)
check(write(p, 2 * ps - 2, "abcd") == False, "runs onto the guard page")
check(read(p, 2 * ps - 2, 2) == b"ab", "the bytes before it were written")
check(read(p, 2 * ps, 1) == None, "read of the guard page")
check(fill(p, 0x11, 2 * ps + 1) == False, "fill one byte too far")
check(read(p, 2 * ps - 1, 1) == b"\x11", "filled up to the guard page")
check(read(p, 0, 1 << 40) == None, "a huge read stops at the guard page")
q = vmalloc(100)
check(read(q, -1, 1) == None, "the byte before q is p's guard page")
check(write(q, 100, "x") == False, "past the request, inside the page: KASAN")
check(write(q, 100, "x", unchecked=True), "unchecked: the slack is mapped")
check(read(q, 100, 1, unchecked=True) == b"x", "and holds the byte")
check(read(q, ps, 1, unchecked=True) == None, "unchecked or not, the guard page faults")
vfree(q)
check(read(q, 0, 1) == None, "use after vfree faults: the area is unmapped")
check(read(p, -1, 1) == None, "below VMALLOC_START nothing is mapped")
`))
			if err != nil {
				t.Fatal(err)
			}
			noFailures(t, s)
			hits := eventsOf(s, allocator.EvGuardHit)
			var texts []string
			for _, e := range hits {
				texts = append(texts, e.Text())
			}
			p, q := allocator.VmallocStart, allocator.VmallocStart+allocator.Addr(3*ps)
			for _, want := range []string{
				fmt.Sprintf("guard page hit at %v: 1 byte past the end of a %d-byte area at %v", p+allocator.Addr(2*ps), 2*ps, p),
				fmt.Sprintf("guard page hit at %v: 1 byte past the end of a %d-byte area at %v (100 bytes requested)", q+allocator.Addr(ps), ps, q),
				fmt.Sprintf("guard page hit at %v: %d bytes past the end", q-1, ps),
				fmt.Sprintf("use after vfree at %v", q),
			} {
				if !strings.Contains(strings.Join(texts, "\n"), want) {
					t.Errorf("no guard hit %q in\n%s", want, strings.Join(texts, "\n"))
				}
			}
			// write, read, fill, huge read, q-1, q+ps unchecked, use after vfree.
			if len(hits) != 7 {
				t.Errorf("%d guard hits, want 7:\n%s", len(hits), strings.Join(texts, "\n"))
			}
			var kasan, unmapped int
			for _, e := range eventsOf(s, allocator.EvMisuse) {
				switch {
				case strings.HasPrefix(e.Text(), "BUG: KASAN: vmalloc-out-of-bounds in write: Write of size 1"):
					kasan++
				case strings.Contains(e.Text(), "nothing is mapped there on this machine"):
					unmapped++
				default:
					t.Errorf("unexpected report %q", e.Text())
				}
			}
			if kasan != 1 || unmapped != 1 {
				t.Errorf("%d KASAN reports, %d unmapped reports; want 1 and 1", kasan, unmapped)
			}
			// The bytes written through p are in RAM, in p's last page.
			info, _ := s.Machine().AreaOf(p)
			buf := make([]byte, 2)
			if err := s.Machine().ReadAt(s.Machine().PFNAddr(info.PFNs[1])+allocator.Addr(ps-2), buf); err != nil || !bytes.Equal(buf, []byte{0x11, 0x11}) {
				t.Errorf("p's last bytes in RAM: %x (%v)", buf, err)
			}
			if err := s.Machine().CheckInvariants(); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestUncheckedAccessOnTheDirectMap(t *testing.T) {
	s := runScript(t, `
config(ram="2M")
p = alloc_pages(0)
q = alloc_pages(0)
check(q.addr == p.addr + p.size, "q follows p")
check(write(p, p.size, "over") == False, "KASAN refuses the overrun")
check(write(p, p.size, "over", unchecked=True), "without KASAN it lands in q")
check(read(q, 0, 4) == b"over", "q was overwritten")
free_pages(q, 0)
check(read(q, 0, 4, unchecked=True) == b"over", "unchecked reads a freed page")
last = pfn_to_kaddr(machine().nr_pages - 1)
check(read(last, 0, 8) != None, "the last page of RAM")
check(read(last, last.size - 4, 8, unchecked=True) == None, "past the end of RAM nothing is mapped")
check(fill(None, 1, 1, unchecked=True) == False, "NULL is refused even unchecked")
`)
	noFailures(t, s)
	var unmapped, null bool
	for _, e := range eventsOf(s, allocator.EvMisuse) {
		unmapped = unmapped || strings.Contains(e.Text(), "nothing is mapped there on this machine") && strings.Contains(e.Text(), "stopped after 4 bytes")
		null = null || strings.HasPrefix(e.Text(), "BUG: kernel NULL pointer dereference")
	}
	if !unmapped || !null {
		t.Errorf("reports: unmapped %v, NULL %v", unmapped, null)
	}
	if st := s.Step(6); st.Op != "write(0xffff888000080000, 4096, 4 bytes, unchecked=True)" {
		t.Errorf("op %q", st.Op)
	}
}

func TestVmallocLookBuiltinsAreNotSteps(t *testing.T) {
	s := runScript(t, `
p = vmalloc(4096)
info = vmallocinfo()
check(info == "0xffffc90000000000-0xffffc90000002000    8192 test_star+0x2/0xa pages=1 vmalloc N0=1\n", "vmallocinfo: the caller is line 2 of the 10 of test.star")
check(is_vmalloc_addr(p) and is_vmalloc_addr(VMALLOC_START) and not is_vmalloc_addr(VMALLOC_END), "is_vmalloc_addr")
check(not is_vmalloc_addr(alloc_pages(0)) and not is_vmalloc_addr(None), "direct map and NULL")
k = pfn_to_kaddr(p.area.pfns[0])
check(k.addr == 0xffff888000000000 + p.area.pfns[0] * 4096 and k.size == 4096 and k.pfn == p.area.pfns[0], "pfn_to_kaddr")
write(p, 0, "shared")
check(read(k, 0, 6) == b"shared", "one page, two addresses")
`)
	noFailures(t, s)
	for _, st := range allSteps(s) {
		if st.Op == "vmallocinfo()" || strings.HasPrefix(st.Op, "is_vmalloc_addr") || strings.HasPrefix(st.Op, "pfn_to_kaddr") {
			t.Errorf("look-only builtin made step %+v", st)
		}
	}
	for _, tc := range []struct{ src, want string }{
		{`pfn_to_kaddr(1 << 20)`, "pfn_to_kaddr: pfn 1048576 does not exist (this machine has pfns 0 to 16383)"},
		{`pfn_to_kaddr(-1)`, "pfn_to_kaddr: pfn -1 does not exist"},
		{`is_vmalloc_addr("x")`, "is_vmalloc_addr: for parameter p: got string, want pointer or address"},
		{`vfree("1")`, "vfree: for parameter p: got string, want pointer or address"},
		{`vrealloc(p, "1")`, "vrealloc: for parameter size: got string, want int"},
		{`vmalloc(1.5)`, "vmalloc: for parameter size: got float, want int"},
	} {
		if _, err := s.Exec(tc.src); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.src, err, tc.want)
		}
	}
}

// TestVmallocScenarioShowsWhatItClaims checks that the bundled lessons
// are made of the events they narrate: real guard-page faults, a KASAN
// report, scattered pages, and every kind of vrealloc decision.
func TestVmallocScenariosShowWhatTheyClaim(t *testing.T) {
	for _, ps := range []int{4096, 16384} {
		cfg := allocator.Config{PageSize: ps}
		s := runScenario(t, "vmalloc", cfg)
		if n := len(eventsOf(s, allocator.EvGuardHit)); n != 4 {
			t.Errorf("vmalloc/%d: %d guard hits, want 4 (write, read, unchecked write, use after vfree)", ps, n)
		}
		scattered := false
		for _, e := range eventsOf(s, allocator.EvVmapAlloc) {
			scattered = scattered || strings.Contains(e.Text(), "4 scattered pages in 4 runs")
		}
		if !scattered {
			t.Errorf("vmalloc/%d: no area of 4 scattered pages", ps)
		}
		if len(eventsOf(s, allocator.EvMisuse)) != 1 {
			t.Errorf("vmalloc/%d: want exactly the one KASAN report", ps)
		}
		for _, name := range []string{"vrealloc", "vrealloc-6.12"} {
			s := runScenario(t, name, cfg)
			seen := map[allocator.Decision]int{}
			for _, e := range eventsOf(s, allocator.EvRealloc) {
				seen[ri(e).Decision]++
			}
			for _, d := range []allocator.Decision{allocator.DecisionGrownInPlace, allocator.DecisionShrunkInPlace,
				allocator.DecisionMoved, allocator.DecisionFreed, allocator.DecisionFailed} {
				if seen[d] == 0 {
					t.Errorf("%s/%d: no %v decision (%v)", name, ps, d, seen)
				}
			}
			if p := s.Machine().Profile().String(); !strings.HasSuffix(name, p) && name != "vrealloc" {
				t.Errorf("%s ran with profile %s", name, p)
			}
		}
	}
}

func TestVmallocScenarioRebuildsExactly(t *testing.T) {
	sc, _ := LookupScenario("vmalloc")
	s := newSession(t, Options{})
	if err := s.RunFile(sc.File, sc.Src); err != nil {
		t.Fatal(err)
	}
	for _, k := range []int{16, 36, s.NumSteps()} {
		ns, err := s.Rebuild(k)
		if err != nil {
			t.Fatal(err)
		}
		if want := s.Step(k).Last + 1; !reflect.DeepEqual(allocatortest.Fields(ns.Log()), allocatortest.Fields(s.Log())[:want]) {
			t.Errorf("Rebuild(%d): events differ", k)
		}
		ns.Close()
	}
}

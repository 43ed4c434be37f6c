package scripts

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/allocviz/allocviz/allocator"
	"github.com/allocviz/allocviz/allocator/allocatortest"
	"go.starlark.net/starlark"
)

func TestAllocPagesReturnsPointerAndStep(t *testing.T) {
	s := runScript(t, `
p = alloc_pages(2)
check(type(p) == "pointer", "type")
check(str(p) == "0xffff888001000000", "prints as the kernel address")
check(p.addr == 0xffff888001000000, "addr")
check(p.size == 4 * 4096, "size is the block's bytes")
check(p.order == 2 and p.pfn == 0x1000 and p.owner == "pages", "order, pfn, owner")
check(p.gfp == GFP_KERNEL, "default flags are GFP_KERNEL")
check(p.live and p.step == 1, "live, allocated in step 1")
`)
	noFailures(t, s)
	st := s.Step(1)
	if st.N != 1 || st.Pos != "test.star:2:5" || st.Call != "alloc_pages(2)" || st.Op != "alloc_pages(2, GFP_KERNEL)" || st.Result != "0xffff888001000000" {
		t.Errorf("step 1 = %+v", st)
	}
	ev := stepEvents(s, 1)
	// GFP_KERNEL wants Unmovable; every pageblock is Movable at boot, so the
	// first claims an order-10 block (two pageblocks), splits it and
	// refills cpu 0's order-2 pcp list with a batch.
	if got := kinds(ev); got != "step claim pageblock split split split split split split split split pcp_refill pcp_refill page_alloc" {
		t.Errorf("step 1 events: %s", got)
	}
	if ev[0].Src() != "test.star:2:5" || ev[0].Op() != "alloc_pages(2)" {
		t.Errorf("EvStep Src=%q Op=%q, want the position and the call as written", ev[0].Src(), ev[0].Op())
	}
	for _, e := range ev {
		if e.Step() != 1 {
			t.Errorf("event %v carries step %d, want 1", e.Kind(), e.Step())
		}
	}
}

func TestAllocPagesFailureReturnsNone(t *testing.T) {
	s := runScript(t, `
p = alloc_pages(MAX_PAGE_ORDER + 1)
check(p == None, "order 11 is refused")
q = alloc_pages(-1, GFP_KERNEL | __GFP_NOWARN)
check(q == None, "a negative order is refused")
`)
	noFailures(t, s)
	if st := s.Step(1); st.Result != "NULL" || st.Err != "" {
		t.Errorf("failed allocation step = %+v, want Result NULL and no error", st)
	}
	if got := kinds(stepEvents(s, 1)); got != "step page_fail warn" {
		t.Errorf("order 11 events: %s, want the failure and the kernel's warning", got)
	}
	if got := kinds(stepEvents(s, 3)); got != "step page_fail" {
		t.Errorf("__GFP_NOWARN events: %s, want the failure only", got)
	}
}

func TestAllocPagesExhaustsRAMPageByPage(t *testing.T) {
	s := runScript(t, `
config(ram="2M")
n = 0
while alloc_pages(0, GFP_KERNEL | __GFP_MEMALLOC | __GFP_NOWARN) != None:
    n += 1
check(n == machine().nr_pages - machine().reserved_pages, "every free page was handed out once (__GFP_MEMALLOC passes the watermarks)")
check(buddyinfo() == [0] * (MAX_PAGE_ORDER + 1) and idle_pages() == 0, "nothing is free, nothing on a per-CPU list")
`)
	noFailures(t, s)
	last := allSteps(s)[s.NumSteps()-3]
	if last.Result != "NULL" {
		t.Errorf("last allocation step %+v, want NULL", last)
	}
	if e, ok := findEvent(stepEvents(s, last.N), allocator.EvPageFail); !ok || e.LargestOrder() != -1 {
		t.Errorf("exhaustion event %+v, want a page_fail with no free order (-1)", e)
	}
	if err := s.Machine().CheckInvariants(); err != nil {
		t.Error(err)
	}
}

func TestGFPZeroZeroesAndPlainAllocationDoesNot(t *testing.T) {
	s := runScript(t, `
p = alloc_pages(0)
fill(p, 0xaa)
free_pages(p, 0)
q = alloc_pages(0)
check(q == p, "the same page comes back")
check(read(q, 0, 4) == bytes([0xaa] * 4), "free does not clear; a plain allocation sees old bytes")
free_pages(q, 0)
z = alloc_pages(0, GFP_KERNEL | __GFP_ZERO)
check(z == p, "the same page again")
check(read(z, 0, z.size) == bytes([0] * z.size), "__GFP_ZERO clears the whole block")
`)
	noFailures(t, s)
}

func TestFreePages(t *testing.T) {
	s := runScript(t, `
p = alloc_pages(1)
check(free_pages(p, 1) == True, "freed")
check(not p.live, "the pointer knows it was freed")
check(free_pages(None, 3) == None, "free_pages(NULL) does nothing")
`)
	noFailures(t, s)
	if got := kinds(stepEvents(s, 2)); got != "step page_free" {
		t.Errorf("free events: %s, want the free to the per-CPU list alone", got)
	}
	if got := kinds(stepEvents(s, 5)); got != "step" {
		t.Errorf("free_pages(None) events: %s, want none", got)
	}
}

func TestFreePagesMisuseIsReportedNotFatal(t *testing.T) {
	s := runScript(t, `
p = alloc_pages(0)
check(free_pages(p, 1) == False, "wrong order is refused")
check(p.live, "and p is still allocated")
check(free_pages(p, 0), "the right order frees")
check(free_pages(p, 0) == False, "a double free is refused")
q = alloc_pages(0)
check(q == p, "the page is handed out again")
check(free_pages(p, 0) == False, "freeing the stale pointer would free q: refused")
check(q.live, "q is untouched")
`)
	noFailures(t, s)
	wrongOrder, _ := findEvent(stepEvents(s, 2), allocator.EvBadFree)
	if !strings.Contains(wrongOrder.Text(), "heads an order-0 block, not order 1") {
		t.Errorf("wrong order report: %q", wrongOrder.Text())
	}
	double, _ := findEvent(stepEvents(s, 7), allocator.EvBadFree)
	if !strings.Contains(double.Text(), "BUG: Bad page state") || !strings.Contains(double.Text(), "double free") {
		t.Errorf("double free report: %q", double.Text())
	}
	stale, ok := findEvent(stepEvents(s, 11), allocator.EvMisuse)
	if !ok || !strings.Contains(stale.Text(), "was freed in step 5") {
		t.Errorf("stale free report: %+v", stale)
	}
	if err := s.Machine().CheckInvariants(); err != nil {
		t.Error(err)
	}
}

func TestWriteReadFill(t *testing.T) {
	s := runScript(t, `
p = alloc_pages(0)
check(write(p, 0, b"\x01\x02"), "bytes")
check(write(p, 2, "hi"), "a string writes its UTF-8 bytes")
check(write(p, 4, [3, 4, 255]), "a list of ints")
check(write(p, 7, (9,)), "a tuple of ints")
check(read(p, 0, 8) == b"\x01\x02hi\x03\x04\xff\x09", "read returns what was written")
check(fill(p, 0x5a, 16), "fill n bytes")
check(read(p, 0, 16) == bytes([0x5a] * 16) and read(p, 16, 1) == b"\x00", "fill stops after n bytes")
check(fill(p, 7), "fill the whole block")
check(read(p, p.size - 1, 1) == b"\x07", "up to the last byte")
check(read(p, 0, 0) == b"", "an empty read")
`)
	noFailures(t, s)
	// The bytes are in the machine's RAM, through the direct map.
	buf := make([]byte, 1)
	if err := s.Machine().ReadAt(allocator.DirectMapBase+0x1000000+100, buf); err != nil || buf[0] != 7 {
		t.Errorf("RAM holds %v (%v), want 7", buf, err)
	}
	if st := s.Step(10); st.Op != `read(0xffff888001000000, 0, 8)` || st.Result != `b"\x01\x02hi\x03\x04\xff\t"` {
		t.Errorf("read step = %+v", st)
	}
}

func TestMemoryMisuseIsReported(t *testing.T) {
	for _, tc := range []struct {
		name, src, want string
	}{
		{"write past the end", `check(write(p, 4090, "0123456789") == False)`,
			"BUG: KASAN: out-of-bounds in write: Write of size 10 at addr ffff888001000ffa runs 4 bytes past the end of the 4096-byte block at ffff888001000000"},
		{"read past the end", `check(read(p, 4096, 1) == None)`,
			"BUG: KASAN: out-of-bounds in read: Read of size 1 at addr ffff888001001000 runs 1 byte past the end"},
		{"negative offset", `check(read(p, -8, 4) == None)`,
			"starts 8 bytes before the 4096-byte block"},
		{"fill past the end", `check(fill(p, 1, 4097) == False)`,
			"Write of size 4097"},
		{"huge read", `check(read(p, 0, 1 << 40) == None)`,
			"out-of-bounds in read"},
		{"use after free", `free_pages(p, 0)
check(write(p, 0, "x") == False)`,
			"BUG: KASAN: use-after-free in write: Write of size 1 at addr ffff888001000000: the block at ffff888001000000 was freed in step 3"},
		{"NULL", `q = alloc_pages(11, __GFP_NOWARN)
check(read(q, 0, 8) == None)`,
			"BUG: kernel NULL pointer dereference, address: 0000000000000000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := runScript(t, "p = alloc_pages(0)\nfill(p, 0x11)\n"+tc.src+"\n")
			noFailures(t, s)
			var found bool
			for _, e := range allocatortest.Events(s.Log()) {
				if e.Kind() == allocator.EvMisuse {
					found = true
					if !strings.Contains(e.Text(), tc.want) {
						t.Errorf("report %q, want it to contain %q", e.Text(), tc.want)
					}
				}
			}
			if !found {
				t.Fatalf("no misuse event; events %s", kinds(allocatortest.Events(s.Log())))
			}
			// Nothing was written: the block still holds 0x11 everywhere
			// it is allocated, and the next page is untouched.
			if page0Live(s) {
				buf := make([]byte, 4096)
				s.Machine().ReadAt(allocator.DirectMapBase+0x100000, buf)
				for i, b := range buf {
					if b != 0x11 {
						t.Fatalf("byte %d is %#x after a refused access", i, b)
					}
				}
			}
		})
	}
}

// page0Live reports whether the first block the tests allocate is still
// allocated.
func page0Live(s *Session) bool {
	return s.m.Page(0x100).State == allocator.PageAllocated
}

func TestMemoryArgumentErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{`write(p, 0, [256])`, "test.star:2:1: write: for parameter data: element 0 is 256, want an int in 0..255"},
		{`write(p, 0, 3.5)`, "test.star:2:1: write: for parameter data: got float, want bytes, string or list of ints"},
		{`fill(p, 300)`, "test.star:2:1: fill: for parameter byte: byte 300 is not in 0..255"},
		{`read(p, 0, -1)`, "test.star:2:1: read: for parameter n: size -1 is negative"},
		{`read("p", 0, 1)`, "test.star:2:1: read: for parameter p: got string, want pointer"},
		{`read(p, "0", 1)`, "test.star:2:1: read: for parameter offset: got string, want int"},
	} {
		_, err := runScriptErr(t, Options{}, "p = alloc_pages(0)\n"+tc.src+"\n")
		if err.Error() != tc.want {
			t.Errorf("%s: error %q, want %q", tc.src, err, tc.want)
		}
	}
}

func TestCPU(t *testing.T) {
	s := runScript(t, `
cpu(2)
p = alloc_pages(0)
check(machine().cpu == 2, "machine() shows the current CPU")
cpu(2)
`)
	noFailures(t, s)
	if got := kinds(stepEvents(s, 1)); got != "step cpu" {
		t.Errorf("cpu(2) events: %s", got)
	}
	for _, e := range stepEvents(s, 2) {
		if e.CPU() != 2 {
			t.Errorf("event %v on cpu %d, want 2", e.Kind(), e.CPU())
		}
	}
	if got := kinds(stepEvents(s, 4)); got != "step" {
		t.Errorf("switching to the current CPU: %s, want no cpu event", got)
	}
	_, err := runScriptErr(t, Options{}, "cpu(4)\n")
	if want := "test.star:1:1: cpu: cpu 4 does not exist (this machine has cpus 0 to 3)"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
}

func TestSayAndCheck(t *testing.T) {
	s := runScript(t, `
say("hello")
say(42)
ok = check(1 + 1 == 2, "arithmetic")
bad = check(len([]) == 1)
check(ok == True and bad == False, "check returns the outcome")
`)
	if e, _ := findEvent(stepEvents(s, 1), allocator.EvSay); e.Text() != "hello" {
		t.Errorf("say event %+v", e)
	}
	if e, _ := findEvent(stepEvents(s, 2), allocator.EvSay); e.Text() != "42" {
		t.Errorf("say(42) event %+v", e)
	}
	if st := s.Step(1); st.Op != "say" || st.Result != "" {
		t.Errorf("say step %+v", st)
	}
	f := s.Failures()
	if len(f) != 1 || f[0].Step != 4 || f[0].Pos != "test.star:5:7" || f[0].Msg != "check(len([]) == 1)" {
		t.Fatalf("failures = %+v, want the one check, described by its source", f)
	}
	if e, _ := findEvent(stepEvents(s, 4), allocator.EvCheck); e.Decision() != allocator.DecisionFailed {
		t.Errorf("failed check event %+v", e)
	}
	if st := s.Step(4); st.Result != "FAILED" {
		t.Errorf("failed check step %+v", st)
	}
	if st := s.Step(3); st.Result != "ok" {
		t.Errorf("passed check step %+v", st)
	}
}

func TestConfig(t *testing.T) {
	s := runScript(t, `
config(ram="128M", page_size="16K", cpus=2, profile="6.12", max_steps=99)
m = machine()
check(m.ram == 128 << 20 and m.page_size == 16384 and m.cpus == 2, "geometry")
check(m.profile == "6.12" and m.max_steps == 99, "profile and step limit")
check(m.nr_pages == 8192 and m.reserved_pages == 64, "pages")
p = alloc_pages(0)
check(p.size == 16384, "pages are 16 KiB")
`)
	noFailures(t, s)
	cfg := s.Machine().Config()
	if cfg.RAM != 128<<20 || cfg.PageSize != 16384 || cfg.CPUs != 2 || cfg.Profile != allocator.Profile612 {
		t.Errorf("machine config %+v", cfg)
	}
	if s.Settings().MaxSteps != 99 {
		t.Errorf("max steps %d", s.Settings().MaxSteps)
	}
	boot := allocatortest.Events(s.Log())[0]
	if boot.Kind() != allocator.EvBoot || boot.Size() != 128<<20 {
		t.Errorf("the log begins with %+v, want the new machine's boot", boot)
	}
	for _, e := range allocatortest.Events(s.Log()) {
		if e.Kind() == allocator.EvBoot && e.Size() != 128<<20 {
			t.Errorf("the old machine's boot is still in the log: %+v", e)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"alloc_pages(0)\nconfig(ram=\"128M\")", "test.star:2:1: config: must come before the first step, at the top of the script (step 1, alloc_pages(0) at test.star:1:1, already ran)"},
		{"say(\"hi\")\nconfig(cpus=2)", "test.star:2:1: config: must come before the first step"},
		{"config(rma=1)", `test.star:1:1: config: unknown setting "rma" (known: cpus, debug, freelist_hardened, freelist_random, max_steps, page_size, possible_cpus, profile, ram, seed)`},
		{"config(64)", "test.star:1:1: config: takes keyword arguments only"},
		{"config(ram=\"1M\")", "test.star:1:1: config: ram 1048576 is out of range (allowed: 2 MiB to 16 GiB)"},
		{"config(page_size=8192)", "test.star:1:1: config: page_size 8192 is not supported (allowed: 4096, 16384, 65536)"},
		{"config(cpus=0)", "test.star:1:1: config: cpus: 0 is out of range (allowed: 1 to 256)"},
		{"config(cpus=300)", "test.star:1:1: config: cpus 300 is out of range (allowed: 1 to 256)"},
		{"config(ram=0)", "test.star:1:1: config: ram: 0 is out of range (allowed: 2 MiB to 16 GiB)"},
		{"config(profile=\"5.10\")", `test.star:1:1: config: profile: "5.10" is not a kernel profile (allowed: 6.18, 6.12)`},
		{"config(ram=\"64Q\")", `test.star:1:1: config: ram: size "64Q": unknown unit "Q"`},
		{"config(max_steps=0)", "test.star:1:1: config: max_steps: 0 is out of range (allowed: 1 to 1099511627776)"},
		{"config(ram=[1])", "test.star:1:1: config: ram: got list, want int or size string"},
	} {
		s, err := runScriptErr(t, Options{}, tc.src+"\n")
		if !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s:\n error %q\n want %q", tc.src, err, tc.want)
		}
		// The machine is usable after a refused config.
		if _, err := s.Exec("alloc_pages(0)"); err != nil {
			t.Errorf("after %q: %v", tc.src, err)
		}
	}
}

func TestConfigOverridesOptions(t *testing.T) {
	s := newSession(t, Options{Config: allocator.Config{PageSize: 65536, CPUs: 8}})
	if err := s.RunFile("test.star", []byte("config(cpus=2)\n")); err != nil {
		t.Fatal(err)
	}
	cfg := s.Machine().Config()
	if cfg.PageSize != 65536 || cfg.CPUs != 2 {
		t.Errorf("config %+v: want the options' page size and the script's cpus", cfg)
	}
}

func TestBuddyinfoAndMachineAreNotSteps(t *testing.T) {
	s := runScript(t, `
b = buddyinfo()
m = machine()
check(b == [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 15], "buddyinfo of a fresh 64 MiB machine: DMA's blocks and DMA32's added up")
check(m.ram == 64 << 20 and m.page_size == 4096 and m.cpus == 4 and m.profile == "6.18", "defaults")
p = alloc_pages(4, GFP_HIGHUSER_MOVABLE)
check(buddyinfo() == [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 14], "after an order-4 split of one of DMA32's order-10 blocks")
`)
	noFailures(t, s)
	if n := s.NumSteps(); n != 4 {
		t.Errorf("%d steps, want 4 (two checks, alloc_pages, check)", n)
	}
	if got, want := s.Machine().FreeCounts(), [11]uint64{0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 14}; got != want {
		t.Errorf("FreeCounts %v, want %v", got, want)
	}
}

func TestGFPConstants(t *testing.T) {
	s := runScript(t, `
check(str(GFP_KERNEL) == "GFP_KERNEL", "a composite prints by name")
check(str(GFP_KERNEL | __GFP_ZERO) == "GFP_KERNEL|__GFP_ZERO", "| combines")
check(str(GFP_KERNEL & ~__GFP_DIRECT_RECLAIM) == "__GFP_IO|__GFP_FS|__GFP_KSWAPD_RECLAIM", "& and ~")
check(GFP_KERNEL.value == 0xcc0, "value")
check((GFP_ATOMIC | 0x100) == GFP_ATOMIC | __GFP_ZERO, "ints combine")
check(type(GFP_KERNEL) == "gfp_t", "type")
check(GFP_NOWAIT.value == 0x2800 and GFP_USER.value == 0x100cc0, "kernel values")
check(__GFP_DMA == GFP_DMA, "both spellings of the zone bits")
check(not (GFP_KERNEL & __GFP_HIGHMEM), "an empty mask is false")
p = alloc_pages(0, 0x100)
check(p.gfp == __GFP_ZERO, "an int is accepted as flags")
`)
	noFailures(t, s)
	g := s.Globals()
	if _, ok := g["GFP_KERNEL"]; ok {
		t.Error("Globals lists a builtin constant")
	}
	for _, n := range allocator.GFPNames() {
		v, ok := s.predeclared[n.Name]
		if !ok {
			t.Errorf("%s is not predeclared", n.Name)
			continue
		}
		if v.(GFPValue) != GFPValue(n.Value) {
			t.Errorf("%s = %v, want %#x", n.Name, v, uint32(n.Value))
		}
	}
	for _, src := range []string{`GFP_KERNEL | "x"`, `alloc_pages(0, "GFP_KERNEL")`, `alloc_pages(0, 1 << 40)`} {
		if _, err := s.Exec(src); err == nil {
			t.Errorf("%s: no error", src)
		}
	}
}

func TestPointerComparesByAddress(t *testing.T) {
	s := runScript(t, `
p = alloc_pages(0)
q = alloc_pages(0)
check(p < q and q > p and p != q, "ordered by address")
d = {p: "first"}
check(d[p] == "first", "hashable")
check([p] == [p], "in lists")
check(str([p]) == "[0xffff888001000000]", "prints in lists as an address")
check(p, "a pointer is true; NULL is None")
check(sorted(dir(p)) == ["addr", "area", "cache", "gfp", "ksize", "live", "order", "owner", "pfn", "size", "step"], "attributes")
`)
	noFailures(t, s)
}

func TestPrintIsRecordedAndPassedOn(t *testing.T) {
	var got []string
	s := newSession(t, Options{Print: func(pos, msg string) { got = append(got, pos+" "+msg) }})
	if err := s.RunFile("test.star", []byte("print('a', 1)\nalloc_pages(0)\nprint(buddyinfo()[0])\n")); err != nil {
		t.Fatal(err)
	}
	want := []string{"test.star:1:1 a 1", "test.star:3:1 1"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("Print got %q, want %q", got, want)
	}
	p := s.Printed()
	if len(p) != 2 || p[0].Step != 0 || p[1].Step != 1 || p[1].Text != "1" {
		t.Errorf("Printed = %+v", p)
	}
	// Rebuild replays print() into the record but not into Print again.
	ns, err := s.Rebuild(1)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	if len(got) != 2 || !reflect.DeepEqual(ns.Printed(), s.Printed()) {
		t.Errorf("after Rebuild(1): Print got %q, Printed %+v", got, ns.Printed())
	}
}

func TestLoadIsRefused(t *testing.T) {
	_, err := runScriptErr(t, Options{}, `load("other.star", "x")`+"\n")
	if want := "test.star:1:1: cannot load other.star: load is not available: a scenario is one self-contained file"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
}

func TestEveryBuiltinIsDocumentedAndPredeclared(t *testing.T) {
	s := newSession(t, Options{})
	want := []string{"config", "cpu", "say", "check", "machine", "alloc_pages", "free_pages", "buddyinfo", "write", "fill", "read"}
	names := map[string]bool{}
	for _, b := range s.Builtins() {
		names[b.Name] = true
		if !strings.HasPrefix(b.Doc, b.Name+"(") {
			t.Errorf("%s: Doc %q does not begin with its signature", b.Name, b.Doc)
		}
		if _, ok := s.predeclared[b.Name].(*starlark.Builtin); !ok {
			t.Errorf("%s is not predeclared as a builtin", b.Name)
		}
	}
	for _, n := range want {
		if !names[n] {
			t.Errorf("builtin %s is missing", n)
		}
	}
}

func TestPromptErrorsArePositioned(t *testing.T) {
	s := runScript(t, "p = alloc_pages(0)\n")
	_, err := s.Exec("cpu(-1)")
	var se *Error
	if !errors.As(err, &se) || se.Pos != "<prompt>:1:1" {
		t.Fatalf("error %v, want a positioned *Error", err)
	}
}

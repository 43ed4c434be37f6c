package scripts

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/allocviz/allocviz/allocator"
	"github.com/allocviz/allocviz/allocator/allocatortest"
	"go.starlark.net/starlark"
)

func TestBadScriptsGiveErrorsOrReports(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      string // the positioned error; "" when the script succeeds with a report
		report    string // the text of the event that reports it
	}{
		{name: "syntax error", src: "p = alloc_pages(0)\nx = (1,\n", want: "test.star:3:1: got end of file, want ')'"},
		{name: "bad indentation", src: "if True:\nalloc_pages(0)\n", want: "test.star:2:12: got identifier, want indent"},
		{name: "unknown builtin", src: "p = alloc_pages(0)\nq = mempool_alloc(64)\n", want: "test.star:2:5: undefined: mempool_alloc"},
		{name: "wrong argument type", src: "p = alloc_pages(\"0\")\n", want: "test.star:1:5: alloc_pages: for parameter order: got string, want int"},
		{name: "missing argument", src: "free_pages(None)\n", want: "test.star:1:1: free_pages: missing argument for order"},
		{name: "too many arguments", src: "alloc_pages(0, GFP_KERNEL, 3)\n", want: "test.star:1:1: alloc_pages: got 3 arguments, want at most 2"},
		{name: "unknown keyword", src: "alloc_pages(order=0, gfp=GFP_KERNEL)\n", want: "test.star:1:1: alloc_pages: unexpected keyword argument \"gfp\""},
		{name: "free of a non-pointer", src: "free_pages(\"p\", 0)\n", want: "test.star:1:1: free_pages: for parameter p: got string, want pointer or address"},
		{name: "free of an address", src: "free_pages(0xffff888000100000, 0)\n",
			report: "BUG: Bad page state in process allocviz  pfn:00100: page is already free (double free); not freed"},
		{name: "error in a function", src: "def f(o):\n    return alloc_pages(o)\n\nf(\"x\")\n", want: "test.star:2:12: alloc_pages: for parameter order: got string, want int"},
		{name: "fail()", src: "fail(\"giving up\")\n", want: "test.star:1:1: fail: giving up"},
		{name: "division by zero", src: "x = 1 // 0\n", want: "test.star:1:7: floored division by zero"},
		{name: "freeing twice", src: "p = alloc_pages(0)\nfree_pages(p, 0)\nfree_pages(p, 0)\n",
			report: "BUG: Bad page state in process allocviz  pfn:01000: page is already free (double free); not freed"},
		{name: "freeing the wrong order", src: "p = alloc_pages(2)\nfree_pages(p, 0)\n",
			report: "free_pages: pfn 0x1000 heads an order-2 block, not order 0; not freed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSession(t, Options{})
			err := s.RunFile("test.star", []byte(tc.src))
			if tc.want != "" {
				var se *Error
				if !errors.As(err, &se) || err.Error() != tc.want {
					t.Fatalf("error %v (%T)\nwant %s", err, err, tc.want)
				}
				if !strings.HasPrefix(se.Error(), se.Pos+": ") || se.Msg == "" {
					t.Errorf("Error %+v does not render as pos: msg", se)
				}
			} else if err != nil {
				t.Fatalf("error %v, want the script to go on after the report", err)
			}
			if tc.report != "" {
				var got []string
				for _, e := range allocatortest.Events(s.Log()) {
					if e.Kind() == allocator.EvBadFree || e.Kind() == allocator.EvMisuse {
						got = append(got, e.Text())
					}
				}
				if len(got) != 1 || got[0] != tc.report {
					t.Errorf("reports %q, want [%q]", got, tc.report)
				}
			}
			if err := s.Machine().CheckInvariants(); err != nil {
				t.Error(err)
			}
			// The session is still usable.
			if v, err := s.Exec("len(buddyinfo())"); err != nil || v.String() != "11" {
				t.Errorf("after the error: %v, %v", v, err)
			}
		})
	}
}

func TestErrorBacktraceAndCause(t *testing.T) {
	_, err := runScriptErr(t, Options{}, "def g():\n    cpu(9)\ndef f():\n    g()\nf()\n")
	if err.Pos != "test.star:2:5" {
		t.Errorf("Pos %q, want the innermost call", err.Pos)
	}
	want := "test.star:5:1: in <toplevel>\ntest.star:4:5: in f\ntest.star:2:5: in g\n"
	if err.Backtrace != want {
		t.Errorf("Backtrace\n%s\nwant\n%s", err.Backtrace, want)
	}
}

func TestStepLimitStopsRunawayLoop(t *testing.T) {
	s, err := runScriptErr(t, Options{}, "config(max_steps=50)\nwhile True:\n    alloc_pages(0)\n")
	want := "test.star:3:5: step limit reached: 50 allocator steps in one run (a runaway loop?); raise it with config(max_steps=) or --max-steps"
	if err.Error() != want {
		t.Errorf("error %q\nwant %q", err, want)
	}
	if n := s.NumSteps(); n != 50 {
		t.Errorf("%d steps, want 50", n)
	}
	// The limit is per input: the prompt gets a fresh allowance.
	if _, err := s.Exec("for i in range(50):\n    alloc_pages(0)\n"); err != nil {
		t.Errorf("50 more steps at the prompt: %v", err)
	}
	if _, err := s.Exec("for i in range(51):\n    alloc_pages(0)\n"); err == nil || !strings.Contains(err.Error(), "step limit reached") {
		t.Errorf("51 steps at the prompt: %v, want the step limit", err)
	}
}

func TestStepLimitFromOptions(t *testing.T) {
	_, err := runScriptErr(t, Options{MaxSteps: 3}, "for i in range(4):\n    say(i)\n")
	if !strings.HasPrefix(err.Error(), "test.star:2:5: step limit reached: 3 allocator steps") {
		t.Errorf("error %q", err)
	}
	if _, err := New(Options{MaxSteps: -1}); err == nil {
		t.Error("a negative step limit is accepted")
	}
}

func TestDefaultStepLimitFillsTheLargestMachine(t *testing.T) {
	// Up to 4 GiB a machine can be filled a page per step within the
	// default; bigger ones need --max-steps.
	freePages := 4*allocator.GiB/4096 - 256
	if DefaultMaxSteps < 1_000_000 || DefaultMaxSteps < freePages {
		t.Errorf("DefaultMaxSteps %d cannot fill %d pages one at a time", DefaultMaxSteps, freePages)
	}
	// Filling the default machine page by page stays well inside it.
	s := runScript(t, `
n = 0
while alloc_pages(0, GFP_KERNEL | __GFP_MEMALLOC | __GFP_NOWARN):
    n += 1
check(n == 16384 - 256, "every page")
`)
	noFailures(t, s)
}

func TestExecutionLimitStopsLoopsWithoutSteps(t *testing.T) {
	if testing.Short() {
		t.Log("short: only the small limit")
	}
	opts := []Options{{MaxSteps: 1000}}
	if !testing.Short() {
		opts = append(opts, Options{}) // the default budget, about 10^8 Starlark steps
	}
	for _, o := range opts {
		s, err := runScriptErr(t, o, "x = 0\nfor i in range(10000000000):\n    x += 1\n")
		if !strings.HasPrefix(err.Error(), "test.star:2:1: execution limit reached: ") {
			t.Errorf("MaxSteps %d: error %q", o.MaxSteps, err)
		}
		// The thread is usable again afterwards.
		if v, err := s.Exec("x > 0"); err != nil || v != starlark.True {
			t.Errorf("after the limit: %v, %v", v, err)
		}
	}
}

func TestRecursionIsAllowedAndBounded(t *testing.T) {
	s := runScript(t, `
def fill_order(o):
    if o < 0:
        return []
    return [alloc_pages(o)] + fill_order(o - 1)
ps = fill_order(3)
check(len(ps) == 4 and ps[3].order == 0, "recursion")
`)
	noFailures(t, s)
	_, err := runScriptErr(t, Options{}, "def f(n):\n    return f(n + 1)\nf(0)\n")
	if !strings.Contains(err.Error(), "Starlark stack overflow") {
		t.Errorf("unbounded recursion: %v", err)
	}
}

func TestExecContinuesTheSession(t *testing.T) {
	s := runScript(t, "p = alloc_pages(0)\n")
	v, err := s.Exec("q = alloc_pages(1)")
	if err != nil || v != starlark.None {
		t.Fatalf("Exec statement = %v, %v", v, err)
	}
	if st := s.Step(2); st.N != 2 || st.Pos != "<prompt>:1:5" || st.Call != "alloc_pages(1)" {
		t.Errorf("prompt step %+v", st)
	}
	v, err = s.Exec("q")
	if p, ok := v.(*Pointer); err != nil || !ok || p.Order != 1 {
		t.Fatalf("Exec expression = %v, %v", v, err)
	}
	v, err = s.Exec("[p, free_pages(q, 1)]")
	if err != nil || v.String() != "[0xffff888001000000, True]" {
		t.Errorf("expression with a step = %v, %v", v, err)
	}
	// Errors: positioned on the prompt's own line numbers; nothing is
	// lost.
	_, err = s.Exec("undefined_name")
	if err == nil || err.Error() != "<prompt>:4:1: undefined: undefined_name" {
		t.Errorf("undefined name: %v", err)
	}
	_, err = s.Exec("x = (")
	if err == nil || !strings.HasPrefix(err.Error(), "<prompt>:5:") {
		t.Errorf("syntax error: %v", err)
	}
	_, err = s.Exec("r = alloc_pages(0)\nfree_pages(r, 5)\ncpu(77)")
	if err == nil || err.Error() != "<prompt>:8:1: cpu: cpu 77 does not exist (this machine has cpus 0 to 3)" {
		t.Errorf("runtime error: %v", err)
	}
	// A block.
	if _, err := s.Exec("def two():\n    return [alloc_pages(0), alloc_pages(0)]\n"); err != nil {
		t.Fatal(err)
	}
	v, err = s.Exec("len(two())")
	if err != nil || v.String() != "2" {
		t.Errorf("calling a function defined at the prompt: %v, %v", v, err)
	}
	g := s.Globals()
	for _, name := range []string{"p", "q", "r", "two"} {
		if _, ok := g[name]; !ok {
			t.Errorf("global %s missing from %v", name, g.Keys())
		}
	}
	if _, ok := g["alloc_pages"]; ok {
		t.Error("Globals lists builtins")
	}
	// The failed statement's first steps stand, and so does the input;
	// cpu(77) failed before its step began.
	if n := s.NumSteps(); n != 7 {
		t.Errorf("%d steps, want 7 (cpu(77) takes no step)", n)
	}
	if n := len(s.Inputs()); n != 7 {
		t.Errorf("%d inputs recorded, want 7 (the two that did not compile ran nothing)", n)
	}
}

// replayScript is a script whose steps include every builtin and some
// misuse, so rebuilding it exercises the whole runtime.
const replayScript = `
config(ram="8M")
ps = []
for o in [0, 3, 1, 0, 2]:
    ps.append(alloc_pages(o))
cpu(1)
free_pages(ps[1], 3)
write(ps[0], 0, "abc")
fill(ps[2], 1, 10)
say("half way")
free_pages(ps[1], 3)
x = read(ps[0], 0, 3)
check(x == b"abc", "read back")
for i in range(3):
    ps.append(alloc_pages(i, GFP_KERNEL | __GFP_ZERO))
free_pages(ps[4], 2)
`

func TestRebuildReplaysExactly(t *testing.T) {
	s := newSession(t, Options{})
	if err := s.RunFile("replay.star", []byte(replayScript)); err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{"q = alloc_pages(4)", "cpu(99)", "free_pages(q, 4)\nz = alloc_pages(0)"} {
		s.Exec(in)
	}
	n := s.NumSteps()
	if n != 20 {
		t.Fatalf("%d steps, want 20", n)
	}
	for _, k := range []int{0, 1, 5, 6, 13, 18, 19, n} {
		ns, err := s.Rebuild(k)
		if err != nil {
			t.Fatalf("Rebuild(%d): %v", k, err)
		}
		want := s.Machine().BootEvents()
		if k > 0 {
			want = s.Step(k).Last + 1
		}
		if !reflect.DeepEqual(allocatortest.Fields(ns.Log()), allocatortest.Fields(s.Log())[:want]) {
			t.Errorf("Rebuild(%d): events differ from the original's first %d", k, want)
		}
		if !reflect.DeepEqual(append([]Step{}, allSteps(ns)...), append([]Step{}, allSteps(s)[:k]...)) {
			t.Errorf("Rebuild(%d): steps differ", k)
		}
		if err := ns.Machine().CheckInvariants(); err != nil {
			t.Errorf("Rebuild(%d): %v", k, err)
		}
		// Continue from step k.
		v, err := ns.Exec("alloc_pages(0)")
		if err != nil {
			t.Fatalf("Rebuild(%d) then Exec: %v", k, err)
		}
		if st := ns.Step(ns.NumSteps()); st.N != k+1 || st.Result != v.String() {
			t.Errorf("Rebuild(%d): the next step is %+v", k, st)
		}
		ns.Close()
	}
}

func TestRebuildRestoresGlobalsAtTheStep(t *testing.T) {
	s := runScript(t, "a = alloc_pages(0)\nb = alloc_pages(0)\nc = [a, b]\n")
	ns, err := s.Rebuild(1)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	g := ns.Globals()
	if _, ok := g["a"]; !ok {
		t.Error("a is missing after step 1")
	}
	if _, ok := g["b"]; ok {
		t.Error("b exists, but step 2 was discarded")
	}
	if ns.Machine().Page(0x101).State != allocator.PageFree {
		t.Error("step 2's page is allocated after rebuilding to step 1")
	}
	// A rebuilt session continues, and can be rebuilt again.
	if _, err := ns.Exec("b = alloc_pages(3)"); err != nil {
		t.Fatal(err)
	}
	if _, err := ns.Exec("c = alloc_pages(1)"); err != nil {
		t.Fatal(err)
	}
	again, err := ns.Rebuild(2)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if st := allSteps(again); len(st) != 2 || st[1].Call != "alloc_pages(3)" || st[1].Pos != "<prompt>:1:5" {
		t.Errorf("steps after the second rebuild: %+v", st)
	}
	if _, ok := again.Globals()["b"].(*Pointer); !ok {
		t.Error("b is not the order-3 pointer")
	}
	if v, err := again.Exec("b.order"); err != nil || v.String() != "3" {
		t.Errorf("b.order = %v, %v", v, err)
	}
	if _, err := s.Rebuild(4); err == nil {
		t.Error("Rebuild past the last step succeeded")
	}
}

func TestSameScriptTwiceGivesIdenticalEvents(t *testing.T) {
	// A pseudo-random workload (a linear congruential generator in
	// Starlark) so the event stream is long and irregular.
	src := `
seed = 12345
live = []
for i in range(400):
    seed = (seed * 1103515245 + 12345) % 2147483648
    if seed % 3 != 0 or len(live) == 0:
        o = seed % 5
        p = alloc_pages(o, GFP_KERNEL | __GFP_NOWARN)
        if p != None:
            live.append((p, o))
            fill(p, seed % 256)
    else:
        j = seed % len(live)
        p, o = live.pop(j)
        free_pages(p, o)
    if i % 50 == 0:
        cpu(i % 4)
`
	run := func() *Session {
		s := newSession(t, Options{Config: allocator.Config{RAM: 4 * allocator.MiB}})
		if err := s.RunFile("random.star", []byte(src)); err != nil {
			t.Fatal(err)
		}
		return s
	}
	a, b := run(), run()
	if a.Log().Len() < 1000 {
		t.Fatalf("only %d events", a.Log().Len())
	}
	if !reflect.DeepEqual(allocatortest.Fields(a.Log()), allocatortest.Fields(b.Log())) {
		t.Error("two runs of the same script produced different events")
	}
	if !reflect.DeepEqual(allSteps(a), allSteps(b)) {
		t.Error("two runs of the same script produced different steps")
	}
	if err := a.Machine().CheckInvariants(); err != nil {
		t.Error(err)
	}
}

func TestEveryEventBelongsToItsStep(t *testing.T) {
	sc, ok := LookupScenario(DefaultScenario)
	if !ok {
		t.Fatal("no default scenario")
	}
	s := newSession(t, Options{})
	if err := s.RunFile(sc.File, sc.Src); err != nil {
		t.Fatal(err)
	}
	events := allocatortest.Events(s.Log())
	next := s.Machine().BootEvents()
	for _, st := range allSteps(s) {
		if st.First != next || events[st.First].Kind() != allocator.EvStep || events[st.First].Src() != st.Pos {
			t.Fatalf("step %d begins at event %d (%v), want %d, an EvStep at %s", st.N, st.First, events[st.First].Kind(), next, st.Pos)
		}
		for _, e := range events[st.First : st.Last+1] {
			if e.Step() != st.N {
				t.Fatalf("event %d (%v) carries step %d inside step %d", e.Seq(), e.Kind(), e.Step(), st.N)
			}
		}
		next = st.Last + 1
	}
	if next != len(events) {
		t.Errorf("%d events after the last step", len(events)-next)
	}
}

func TestClosedSessionRefusesInput(t *testing.T) {
	s, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := s.Exec("1"); err == nil {
		t.Error("Exec on a closed session succeeded")
	}
}

func TestBuiltinContractViolationsAreUndone(t *testing.T) {
	// A builtin that breaks the rules (here: a panic, standing for an
	// allocator invariant failure) must take down neither the program
	// nor the session: the statement is undone and the session goes on.
	s := newSession(t, Options{})
	s.predeclared["boom"] = s.wrap(Builtin{Name: "boom", Step: true, Fn: func(c *Call) (starlark.Value, error) {
		if err := c.Unpack(); err != nil {
			return nil, err
		}
		c.Machine().Say("half done")
		panic("invariant broken")
	}})
	s.predeclared["sneaky"] = s.wrap(Builtin{Name: "sneaky", Fn: func(c *Call) (starlark.Value, error) {
		c.Machine().Say("changing the machine outside a step")
		return starlark.None, nil
	}})
	if _, err := s.Exec("p = alloc_pages(0)"); err != nil {
		t.Fatal(err)
	}
	events := s.Log().Len()
	_, err := s.Exec("q = alloc_pages(1)\nsneaky()")
	if err == nil || !errors.Is(err, ErrInternal) || !strings.Contains(err.Error(), "<prompt>:3:1: internal error in sneaky: it is not a step but changed the machine") ||
		!strings.Contains(err.Error(), "the statement's step was undone") {
		t.Errorf("sneaky: %v", err)
	}
	_, err = s.Exec("r = alloc_pages(2)\nboom()")
	if err == nil || !errors.Is(err, ErrInternal) || !strings.Contains(err.Error(), "<prompt>:3:1: internal error in boom: invariant broken") {
		t.Errorf("boom: %v", err)
	}
	if n, got := s.NumSteps(), s.Log().Len(); n != 1 || got != events {
		t.Errorf("after the panics: %d steps and %d events, want 1 and %d", n, got, events)
	}
	if _, ok := s.Globals()["q"]; ok {
		t.Error("the undone statement's global q stands")
	}
	if v, err := s.Exec("free_pages(p, 0)"); err != nil || v != starlark.True {
		t.Errorf("after the panics the session does not go on: %v, %v", v, err)
	}
	if err := s.Machine().CheckInvariants(); err != nil {
		t.Error(err)
	}

	// In a script, the steps before the panic stand; the half-done one
	// is gone, and the session is rebuilt without it.
	s2 := newSession(t, Options{})
	s2.predeclared["boom"] = s.predeclared["boom"]
	err = s2.RunFile("boom.star", []byte("p = alloc_pages(0)\nq = alloc_pages(1)\nboom()\nalloc_pages(2)\n"))
	if err == nil || !errors.Is(err, ErrInternal) {
		t.Fatalf("script: %v", err)
	}
	if n := s2.NumSteps(); n != 2 {
		t.Errorf("script: %d steps stand, want 2", n)
	}
	if k := eventsOf(s2, allocator.EvSay); len(k) != 0 {
		t.Errorf("the half-done step's events stand: %v", k)
	}
	if _, err := s2.Exec("free_pages(q, 1)"); err != nil {
		t.Errorf("after the script's panic: %v", err)
	}
}

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"4096", 4096}, {"64M", 64 << 20}, {"256MiB", 256 << 20}, {"1G", 1 << 30}, {"16k", 16 << 10},
		{"64 MB", 64 << 20}, {"2gib", 2 << 30}, {"512B", 512}, {"1T", 1 << 40},
	} {
		got, err := ParseSize(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseSize(%q) = %d, %v, want %d", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "M", "-1", "1.5G", "12X", "99999999999999999999", "9000000000T"} {
		if got, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) = %d, want an error", in, got)
		}
	}
}

func TestScenarios(t *testing.T) {
	all, err := Scenarios()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) == 0 || all[0].Name == "" {
		t.Fatalf("scenarios: %+v", all)
	}
	found := false
	for _, sc := range all {
		found = found || sc.Name == DefaultScenario
		if sc.Description == "" || strings.Contains(sc.Description, "\n") {
			t.Errorf("%s: description %q, want one line", sc.Name, sc.Description)
		}
	}
	if !found {
		t.Errorf("the default scenario %q is not bundled", DefaultScenario)
	}
	if sc, _ := LookupScenario("buddy.star"); sc.Name != "buddy" {
		t.Error("LookupScenario does not accept the file name")
	}
	if _, err := Open("no-such-scenario"); err == nil || !strings.Contains(err.Error(), "allocviz scenarios lists them") {
		t.Errorf("Open of an unknown name: %v", err)
	}
}

func TestDescribe(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"\"\"\"First line.\n\nMore.\"\"\"\nx = 1\n", "First line."},
		{"#!/usr/bin/env allocviz\n# A comment.\n# More.\nx = 1\n", "A comment."},
		{"x = 1\n# late\n", ""},
	} {
		if got := describe("t.star", []byte(tc.src)); got != tc.want {
			t.Errorf("describe(%q) = %q, want %q", tc.src, got, tc.want)
		}
	}
}

// TestBundledScenariosPassEverywhere runs every bundled scenario on the
// page sizes and RAM sizes the machine supports, including RAM that is not
// a power of two: a scenario must never fail on a fresh machine.
func TestBundledScenariosPassEverywhere(t *testing.T) {
	all, err := Scenarios()
	if err != nil {
		t.Fatal(err)
	}
	configs := []allocator.Config{{}}
	for _, ps := range []int{4096, 16384, 65536} {
		for _, ram := range []int64{2 * allocator.MiB, 3 * allocator.MiB, 64 * allocator.MiB, 2*allocator.MiB + 65536} {
			configs = append(configs, allocator.Config{PageSize: ps, RAM: ram})
		}
	}
	configs = append(configs, allocator.Config{RAM: 2*allocator.MiB + 4096}, allocator.Config{Profile: allocator.Profile612, CPUs: 1})
	for _, sc := range all {
		for _, cfg := range configs {
			t.Run(fmt.Sprintf("%s/%d/%d", sc.Name, cfg.PageSize, cfg.RAM), func(t *testing.T) {
				s := newSession(t, Options{Config: cfg})
				if err := s.RunFile(sc.File, sc.Src); err != nil {
					t.Fatal(err)
				}
				noFailures(t, s)
				if err := s.Machine().CheckInvariants(); err != nil {
					t.Error(err)
				}
			})
		}
	}
}

func TestOpenReadsFilesAndScenarios(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/mine.star"
	if err := writeFile(path, "say('mine')\n"); err != nil {
		t.Fatal(err)
	}
	sc, err := Open(path)
	if err != nil || sc.Name != path || string(sc.Src) != "say('mine')\n" {
		t.Errorf("Open(file) = %+v, %v", sc, err)
	}
	sc, err = Open("buddy")
	if err != nil || sc.Name != "buddy.star" {
		t.Errorf("Open(buddy) = %q, %v", sc.Name, err)
	}
	s, err := Run(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if st := allSteps(s); len(st) != 1 || st[0].Pos != path+":1:1" {
		t.Errorf("Run(file) steps %+v", st)
	}
}

// TestSessionsRunInParallel runs sessions on separate goroutines, as a UI
// and a test might: nothing is shared between them (run with -race).
func TestSessionsRunInParallel(t *testing.T) {
	sc, _ := LookupScenario(DefaultScenario)
	for i := range 3 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			s := newSession(t, Options{})
			if err := s.RunFile(sc.File, sc.Src); err != nil {
				t.Fatal(err)
			}
			noFailures(t, s)
			if v, err := s.Exec("p = alloc_pages(0)\nd = dir(p) + dir(p)"); err != nil || v != starlark.None {
				t.Fatal(err)
			}
		})
	}
}

// A session that runs another's recorded prompt inputs with ExecInput
// ends in the same state: the same steps, events and inputs, though the
// other's prompt also had a line that did not compile (which moved its
// line numbers), a statement that failed part-way, one with a step cap of
// its own, and one cut short when it continued from an earlier step.
func TestExecInputFollowsAnotherSession(t *testing.T) {
	const script = "a = alloc_pages(0)\nb = kmalloc(100)\n"
	lead := runScript(t, script)
	lead.Exec("x = (")                                            // does not compile: not recorded, but its line counts
	lead.Exec("q = [kmalloc(64) for i in range(4)]\nkfree(q[0])") // steps 3 to 7
	lead.Exec("r = kmalloc(32)\ncpu(77)")                         // fails after step 8
	lead.ExecContext(context.Background(), "for i in range(50): kmalloc(8)", ExecOptions{MaxSteps: 10})
	if n := lead.NumSteps(); n != 18 {
		t.Fatalf("the leading session has %d steps, want 18", n)
	}
	// Continue from step 5, inside the list comprehension.
	cont, err := lead.Rebuild(5)
	if err != nil {
		t.Fatal(err)
	}
	defer cont.Close()
	if _, err := cont.Exec("z = vmalloc(8192)"); err != nil {
		t.Fatal(err)
	}
	cut, ok := cont.Inputs()[1].CutFrom(lead.Inputs()[1])
	if !ok || cut != 5 {
		t.Fatalf("the statement the rebuild stopped in is cut at %d (%v), want 5", cut, ok)
	}
	if _, ok := lead.Inputs()[1].CutFrom(cont.Inputs()[1]); ok {
		t.Error("a whole input is called a cut of its cut")
	}
	if _, ok := cont.Inputs()[2].CutFrom(lead.Inputs()[2]); ok {
		t.Error("another statement is called a cut of this one")
	}

	for _, leader := range []*Session{lead, cont} {
		s := runScript(t, script)
		for _, in := range leader.Inputs()[1:] {
			s.ExecInput(context.Background(), in)
		}
		if len(s.Inputs()) != len(leader.Inputs()) {
			t.Fatalf("%d inputs, want the leader's %d", len(s.Inputs()), len(leader.Inputs()))
		}
		for i, in := range s.Inputs() {
			if !in.Same(leader.Inputs()[i]) {
				t.Errorf("input %d: %+v, want the leader's %+v", i, in, leader.Inputs()[i])
			}
		}
		if !reflect.DeepEqual(allSteps(s), allSteps(leader)) {
			t.Errorf("the steps differ from the leader's:\n%+v\nwant\n%+v", allSteps(s), allSteps(leader))
		}
		if !reflect.DeepEqual(allocatortest.Fields(s.Log()), allocatortest.Fields(leader.Log())) {
			t.Error("the events differ from the leader's")
		}
	}
	if _, err := runScript(t, script).ExecInput(context.Background(), lead.Inputs()[0]); err == nil {
		t.Error("ExecInput ran a script file's input")
	}
}

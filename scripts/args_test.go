package scripts

import (
	"fmt"
	"strings"
	"testing"
)

// argsSetup gives the bad calls below something of every type to pass.
const argsSetup = `
p = kmalloc(64)
pg = alloc_pages(0)
v = vmalloc(8192)
c = kmem_cache_create("thing", 40)
o = kmem_cache_alloc(c)
vec = kvec(8)
box = kbox(16)
`

// TestFailedCallsLeaveNoStep calls every step builtin of each group with
// arguments of the wrong type or value: each call fails with a
// positioned error before its step begins, so the session has exactly
// the steps and events it had before.
func TestFailedCallsLeaveNoStep(t *testing.T) {
	groupCases := map[string][]struct{ call, want string }{
		"core": {
			{`cpu("1")`, `cpu: for parameter n: got string, want int`},
			{`cpu(9)`, `cpu: cpu 9 does not exist (this machine has cpus 0 to 3)`},
			{`cpu(-1)`, `cpu: cpu -1 does not exist`},
			{`say()`, `say: missing argument for text`},
			{`check()`, `check: missing argument for cond`},
		},
		"pages": {
			{`alloc_pages("x")`, `alloc_pages: for parameter order: got string, want int`},
			{`alloc_pages(0, "GFP_KERNEL")`, `alloc_pages: for parameter flags: got string, want gfp_t flags`},
			{`free_pages("x", 0)`, `free_pages: for parameter p: got string, want pointer or address`},
			{`free_pages([1], 0)`, `free_pages: for parameter p: got list, want pointer or address`},
			{`free_pages(-1, 0)`, `free_pages: for parameter p: address -1 is not a 64-bit address`},
			{`free_pages(pg, "0")`, `free_pages: for parameter order: got string, want int`},
		},
		"memory": {
			{`write("x", 0, b"a")`, `write: for parameter p: got string, want pointer`},
			{`write(p, 0, 3.5)`, `write: for parameter data: got float, want bytes, string or list of ints`},
			{`write(p, 0, [1, 300])`, `write: for parameter data: element 1 is 300, want an int in 0..255`},
			{`write(p, "0", b"a")`, `write: for parameter offset: got string, want int`},
			{`fill(1, 0)`, `fill: for parameter p: got int, want pointer`},
			{`fill(p, 256)`, `fill: for parameter byte: byte 256 is not in 0..255`},
			{`fill(p, 0, -1)`, `fill: for parameter n: size -1 is negative`},
			{`fill(p, 0, "8")`, `fill: for parameter n: got string, want int`},
			{`read([], 0, 1)`, `read: for parameter p: got list, want pointer`},
			{`read(p, 0, -1)`, `read: for parameter n: size -1 is negative`},
		},
		"vmalloc": {
			{`vmalloc("1")`, `vmalloc: for parameter size: got string, want int`},
			{`vfree([1])`, `vfree: for parameter p: got list, want pointer or address`},
			{`vfree("x")`, `vfree: for parameter p: got string, want pointer or address`},
			{`vrealloc(1, 10)`, `vrealloc: for parameter p: got int, want pointer`},
			{`vrealloc(v, "10")`, `vrealloc: for parameter size: got string, want int`},
		},
		"slub": {
			{`kmalloc(1.5)`, `kmalloc: for parameter size: got float, want int`},
			{`kfree("x")`, `kfree: for parameter p: got string, want pointer or address`},
			{`kfree([p])`, `kfree: for parameter p: got list, want pointer or address`},
			{`ksize("x")`, `ksize: for parameter p: got string, want pointer or address`},
			{`krealloc("p", 10)`, `krealloc: for parameter p: got string, want pointer`},
			{`kmem_cache_create(1, 8)`, `kmem_cache_create: for parameter name: got int, want string`},
			{`kmem_cache_create("x", 8, 0, 1 << 30)`, `kmem_cache_create: for parameter flags: 0x40000000: unknown bits`},
			{`kmem_cache_alloc(3)`, `kmem_cache_alloc: for parameter cache: got int, want kmem_cache`},
			{`kmem_cache_alloc("thing")`, `kmem_cache_alloc: for parameter cache: got string, want kmem_cache`},
			{`kmem_cache_free(c, "o")`, `kmem_cache_free: for parameter p: got string, want pointer or address`},
			{`kmem_cache_free(p, o)`, `kmem_cache_free: for parameter cache: got pointer, want kmem_cache`},
			{`kmem_cache_destroy(1)`, `kmem_cache_destroy: for parameter cache: got int, want kmem_cache`},
		},
		"kvmalloc": {
			{`kvmalloc("8")`, `kvmalloc: for parameter size: got string, want int`},
			{`kvfree("x")`, `kvfree: for parameter p: got string, want pointer or address`},
			{`kvfree(1 << 64)`, `kvfree: for parameter p: address 18446744073709551616 is not a 64-bit address`},
			{`kvrealloc([], 8)`, `kvrealloc: for parameter p: got list, want pointer`},
		},
		"kvec": {
			{`kvec("8")`, `kvec: for parameter elem_size: got string, want int`},
			{`kvec(8, "Slab")`, `kvec: allocator "Slab" is not one of Kmalloc, Vmalloc, KVmalloc`},
			{`kbox(-1)`, `kbox: for parameter size: -1 is not a usize`},
			{`drop(1)`, `drop: for parameter x: got int, want kvec, kbox or None`},
			{`drop(p)`, `drop: for parameter x: got pointer, want kvec, kbox or None`},
			{`vec.push("x")`, `push: for parameter x: got string, want int or bytes`},
			{`vec.push(1 << 64)`, `push: for parameter x: 18446744073709551616 does not fit in an element of 8 bytes`},
			{`vec.extend([1, "x"])`, `extend: for parameter xs: element 1: got string, want int or bytes`},
			{`vec.reserve(-1)`, `reserve: for parameter additional: -1 is not a usize`},
			{`vec.insert(0)`, `insert: missing argument for x`},
		},
	}
	groupCases["fault"] = []struct{ call, want string }{
		{`failslab(100)`, `failslab: takes keyword arguments only`},
		{`failslab(probability=-1)`, `probability -1 is negative`},
		{`failslab(probability=101)`, `probability 101 is a percentage`},
		{`failslab(times=-2)`, `times -2: give a count >= 0, or -1`},
		{`failslab(interval=0)`, `interval 0: give 1`},
		{`fail_page_alloc(min_order=99)`, `min_order 99 is out of range`},
		{`fail_nth(-1)`, `fail-nth -1 is negative`},
		{`fail_nth("x")`, `fail_nth: for parameter n: got string, want int`},
		{`slab_failslab(p)`, `slab_failslab: for parameter cache: got pointer, want kmem_cache`},
		{`make_it_fail(1)`, `make_it_fail: for parameter on: got int, want bool`},
	}
	groupCases["quiz"] = []struct{ call, want string }{
		{`ask("?")`, `ask: missing argument for answer`},
		{`ask("?", choices=["a"], answer=len)`, `1 choices: give 2 to 9`},
		{`ask("?", choices=["a", "a"], answer=len)`, `choice "a" is given twice`},
		{`ask("?", choices=["a", "b"], yes_no=True, answer=len)`, `not both`},
		{`ask("", yes_no=True, answer=len)`, `the question is empty`},
		{`reveal()`, `no question is waiting for reveal()`},
		{`ask("?", 1)`, `ask: for parameter answer: got int, want callable`},
	}
	s := newSession(t, Options{})
	if err := s.RunFile("setup.star", []byte(argsSetup)); err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, g := range groups() {
		known[g.Name] = true
		if _, ok := groupCases[g.Name]; !ok && hasStepBuiltin(g) {
			t.Errorf("group %s has step builtins but no bad calls here", g.Name)
		}
	}
	for group, cases := range groupCases {
		if !known[group] {
			t.Errorf("no group %s", group)
		}
		t.Run(group, func(t *testing.T) {
			for _, tc := range cases {
				steps, events := s.NumSteps(), s.Log().Len()
				_, err := s.Exec(tc.call)
				if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), PromptFile+":") {
					t.Errorf("%s: error %v, want ...%s", tc.call, err, tc.want)
				}
				if s.NumSteps() != steps || s.Log().Len() != events {
					t.Errorf("%s: the failed call left %d steps and %d events behind", tc.call, s.NumSteps()-steps, s.Log().Len()-events)
				}
			}
		})
	}
}

func hasStepBuiltin(g Group) bool {
	for _, b := range g.Builtins {
		if b.Step {
			return true
		}
	}
	return false
}

// TestNoFailedCallLeavesAStep sweeps every step builtin with arguments of
// every type: whatever a call does, if it fails it leaves no step.
func TestNoFailedCallLeavesAStep(t *testing.T) {
	s := newSession(t, Options{})
	if err := s.RunFile("setup.star", []byte(argsSetup)); err != nil {
		t.Fatal(err)
	}
	values := []string{"None", `"x"`, "[1]", "3.5", "-1", "1 << 70", "p", "c", "vec", "box", "GFP_KERNEL", "0"}
	var calls []string
	for _, b := range s.Builtins() {
		if !b.Step || b.Name == "config" {
			continue
		}
		for _, a := range values {
			calls = append(calls, fmt.Sprintf("%s(%s)", b.Name, a))
			for _, c := range []string{`"y"`, "None", "0"} {
				calls = append(calls, fmt.Sprintf("%s(%s, %s)", b.Name, a, c), fmt.Sprintf("%s(%s, %s)", b.Name, c, a))
			}
		}
		calls = append(calls, b.Name+"(nosuch=1)")
	}
	for _, m := range vecMethods() {
		for _, a := range values {
			calls = append(calls, fmt.Sprintf("vec.%s(%s)", m, a))
		}
	}
	failed := 0
	for _, call := range calls {
		steps, events := s.NumSteps(), s.Log().Len()
		if _, err := s.Exec(call); err != nil {
			failed++
			if s.NumSteps() != steps || s.Log().Len() != events {
				t.Errorf("%s: failed (%v) and left %d steps behind", call, err, s.NumSteps()-steps)
			}
		}
	}
	if failed < len(calls)/2 {
		t.Errorf("only %d of %d calls failed: the sweep is not sweeping", failed, len(calls))
	}
	if err := s.Machine().CheckInvariants(); err != nil {
		t.Error(err)
	}
}

// TestReadWithinTheMemoryBudget: read makes its bytes in Go memory, so a
// read bigger than the budget is refused before its step.
func TestReadWithinTheMemoryBudget(t *testing.T) {
	s := newSession(t, Options{MaxMemory: 1 << 20})
	_, err := s.Exec("read(pfn_to_kaddr(0), 0, 1 << 40, unchecked=True)")
	if err == nil || err.Error() != "<prompt>:1:1: read: 67108864 bytes would take 64 MiB, over the memory budget of 1 MiB (raise it with --max-memory)" {
		t.Errorf("error %v", err)
	}
	if v, err := s.Exec("p = vmalloc(1 << 19)\nread(p, 0, 1 << 40) == None"); err != nil || s.NumSteps() != 2 {
		t.Errorf("a checked read past the allocation is KASAN's to refuse: %v, %v", v, err)
	}
	if s.NumSteps() != 2 {
		t.Errorf("%d steps", s.NumSteps())
	}
}

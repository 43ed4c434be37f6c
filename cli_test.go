package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/allocviz/allocviz/allocator"
	"github.com/allocviz/allocviz/heapview"
	"github.com/allocviz/allocviz/scripts"
)

// runCLI runs allocviz with args and returns the exit status and output.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := cli(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func writeScript(t *testing.T, name, src string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// stepLine is a line of allocviz run: step, file:line, operation, result,
// explanation, separated by at least two spaces.
var stepLine = regexp.MustCompile(`^(\d+) +(\S+:\d+) +(\S.*?)(?:  +(\S.*?))?(?:  +(\S.*))?$`)

// TestRunNeedsAScript checks that allocviz run with no script runs
// nothing: it prints its usage on stderr and exits 2.
func TestRunNeedsAScript(t *testing.T) {
	for _, args := range [][]string{{"run"}, {"run", "--json"}, {"run", "--ram", "32M"}} {
		code, out, errOut := runCLI(t, args...)
		if code != exitError || out != "" {
			t.Errorf("allocviz %s: exit %d, stdout %q; want exit %d and nothing on stdout", strings.Join(args, " "), code, out, exitError)
		}
		if !strings.Contains(errOut, "name a script") || !strings.Contains(errOut, "allocviz run SCRIPT|NAME") {
			t.Errorf("allocviz %s: stderr should say a script is needed and show the usage: %q", strings.Join(args, " "), errOut)
		}
	}
}

func TestRunBuddyScenario(t *testing.T) {
	code, out, errOut := runCLI(t, "run", "buddy")
	if code != exitOK || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) < 10 {
		t.Fatalf("%d lines of output", len(lines))
	}
	for i, line := range lines {
		m := stepLine.FindStringSubmatch(line)
		if m == nil || m[1] != strconv.Itoa(i+1) || !strings.HasPrefix(m[2], "buddy.star:") {
			t.Errorf("line %d is not a step line: %q", i+1, line)
		}
	}
	var alloc string
	for _, l := range lines {
		if strings.Contains(l, "alloc_pages(4, GFP_HIGHUSER_MOVABLE) ") {
			alloc = l
			break
		}
	}
	m := stepLine.FindStringSubmatch(alloc)
	if m == nil || m[4] != "0xffff888001000000" || m[5] != "no free block of order 4; split the order-10 block at pfn 0x1000: upper halves to orders 9, 8, 7, 6, 5 and 4" {
		t.Errorf("the first allocation's line: %q", alloc)
	}
}

func TestRunExitCodes(t *testing.T) {
	ok := writeScript(t, "ok.star", "p = alloc_pages(1)\ncheck(p != None, \"allocated\")\nfree_pages(p, 1)\n")
	failing := writeScript(t, "failing.star", "check(1 == 2, \"one is two\")\nsay(\"still running\")\n")
	broken := writeScript(t, "broken.star", "alloc_pages(0)\nmempool_alloc(8)\n")
	crashing := writeScript(t, "crashing.star", "p = alloc_pages(0)\nfree_pages(p, 0)\ncpu(9)\n")

	code, out, errOut := runCLI(t, "run", ok)
	if code != exitOK || errOut != "" || strings.Count(out, "\n") != 3 {
		t.Errorf("ok: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	code, out, errOut = runCLI(t, "run", failing)
	if code != exitCheckFailed {
		t.Errorf("failing check: exit %d, want 1", code)
	}
	if want := failing + ":1:1: check failed: one is two\nallocviz: 1 of 1 checks failed\n"; errOut != want {
		t.Errorf("failing check: stderr %q, want %q", errOut, want)
	}
	if !strings.Contains(out, "still running") || !strings.Contains(out, "FAILED") {
		t.Errorf("failing check: stdout %q, want the run to go on", out)
	}

	code, out, errOut = runCLI(t, "run", broken)
	if code != exitError || out != "" || errOut != broken+":2:1: undefined: mempool_alloc\n" {
		t.Errorf("unknown builtin: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	code, out, errOut = runCLI(t, "run", crashing)
	if code != exitError || errOut != crashing+":3:1: cpu: cpu 9 does not exist (this machine has cpus 0 to 3)\n" {
		t.Errorf("runtime error: exit %d, stderr %q", code, errOut)
	}
	if strings.Count(out, "\n") != 2 {
		t.Errorf("runtime error: the steps before it are printed (cpu(9) fails before its step begins), got %q", out)
	}

	code, _, errOut = runCLI(t, "run", "no-such-thing")
	if code != exitError || !strings.Contains(errOut, "no-such-thing: no such file, and no bundled scenario of that name") {
		t.Errorf("missing script: exit %d, stderr %q", code, errOut)
	}
}

func TestRunFlags(t *testing.T) {
	code, out, errOut := runCLI(t, "run", "buddy", "--page-size", "16K", "--ram", "256MiB", "--cpus", "2", "--profile", "6.12")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "16384 pages of 16384 bytes; the first 64 were reserved") {
		t.Errorf("the flags did not reach the machine:\n%s", out)
	}
	code, _, errOut = runCLI(t, "run", "--max-steps", "5", "buddy")
	if code != exitError || !strings.Contains(errOut, "buddy.star:") || !strings.Contains(errOut, "step limit reached: 5 allocator steps") {
		t.Errorf("--max-steps: exit %d, stderr %q", code, errOut)
	}
	for _, bad := range [][]string{
		{"run", "buddy", "--ram", "64X"},
		{"run", "buddy", "--page-size", "8K"},
		{"run", "buddy", "--profile", "2.6"},
		{"run", "buddy", "--nope"},
		{"run", "a", "b"},
	} {
		if code, _, errOut := runCLI(t, bad...); code != exitError || errOut == "" {
			t.Errorf("%v: exit %d, stderr %q", bad, code, errOut)
		}
	}
	_, _, errOut = runCLI(t, "run", "buddy", "--page-size", "8K")
	if !strings.Contains(errOut, "--page-size 8K is not supported (allowed: 4K, 16K or 64K)") {
		t.Errorf("bad page size: %q", errOut)
	}
}

func TestRunJSON(t *testing.T) {
	code, out, errOut := runCLI(t, "run", "--json", "buddy")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	var kinds []string
	firstAlloc := true
	for i, line := range lines {
		var e map[string]any
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("line %d is not JSON: %v: %q", i+1, err, line)
		}
		if e["seq"] != float64(i+1) {
			t.Fatalf("line %d has seq %v", i+1, e["seq"])
		}
		kinds = append(kinds, e["kind"].(string))
		if e["kind"] == "page_alloc" && firstAlloc {
			firstAlloc = false
			if e["addr"] != "0xffff888001000000" || e["order"] != float64(4) || e["gfp"] != "GFP_HIGHUSER_MOVABLE" || e["owner"] != "pages" {
				t.Errorf("first page_alloc: %v", e)
			}
		}
	}
	if kinds[0] != "boot" || kinds[1] != "reserve" {
		t.Errorf("the log does not begin with boot: %v", kinds[:2])
	}
	for _, k := range []string{"step", "say", "split", "page_alloc", "page_free", "merge", "check", "page_fail"} {
		if !strings.Contains(" "+strings.Join(kinds, " ")+" ", " "+k+" ") {
			t.Errorf("no %s event", k)
		}
	}
}

func TestProcBuddyinfo(t *testing.T) {
	code, out, _ := runCLI(t, "proc", "buddyinfo")
	// 64 MiB: DMA below 16 MiB (the first MiB reserved), DMA32 above.
	want := "Node 0, zone      DMA      0      0      0      0      0      0      0      0      1      1      3 \n" +
		"Node 0, zone    DMA32      0      0      0      0      0      0      0      0      0      0     12 \n"
	if code != exitOK || out != want {
		t.Errorf("fresh machine: exit %d\n%q\nwant\n%q", code, out, want)
	}
	code, out, _ = runCLI(t, "proc", "buddyinfo", "--ram", "1G", "--page-size", "64K")
	if want := "Node 0, zone      DMA      0      0      0      0      1      1      1      1      0      0      0 \n" +
		"Node 0, zone    DMA32      0      0      0      0      0      0      0      0      1      1     15 \n"; code != exitOK || out != want {
		t.Errorf("1G of 64K pages: %q", out)
	}
	// 2 GiB has DMA and DMA32; 8 GiB adds Normal above the PCI hole.
	for _, c := range []struct{ ram, zones string }{{"2G", "DMA DMA32"}, {"8G", "DMA DMA32 Normal"}} {
		code, out, _ = runCLI(t, "proc", "buddyinfo", "--ram", c.ram)
		var zones []string
		for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
			zones = append(zones, strings.Fields(l)[3])
		}
		if code != exitOK || strings.Join(zones, " ") != c.zones {
			t.Errorf("--ram %s: zones %q, want %s", c.ram, zones, c.zones)
		}
	}
	// After the buddy scenario everything is merged back.
	code, out, _ = runCLI(t, "proc", "buddyinfo", "--after", "buddy")
	if code != exitOK || out != want {
		t.Errorf("after buddy: exit %d, %q", code, out)
	}
	held := writeScript(t, "held.star", "p = alloc_pages(0)\n")
	code, out, _ = runCLI(t, "proc", "--after", held, "buddyinfo")
	// The page came from cpu 0's per-CPU list, refilled with a batch of 3
	// split off an order-10 block the allocation claimed in DMA32.
	if want := "Node 0, zone      DMA      0      0      0      0      0      0      0      0      1      1      3 \n" +
		"Node 0, zone    DMA32      1      0      1      1      1      1      1      1      1      1     11 \n"; code != exitOK || out != want {
		t.Errorf("after an allocation: exit %d, %q", code, out)
	}
	broken := writeScript(t, "broken.star", "x = (\n")
	code, out, errOut := runCLI(t, "proc", "buddyinfo", "--after", broken)
	if code != exitError || out != "" || !strings.HasPrefix(errOut, broken+":2:1: ") {
		t.Errorf("after a broken script: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, _, errOut = runCLI(t, "proc", "slabinfo2")
	if code != exitError || !strings.Contains(errOut, `no file "slabinfo2" (known: buddyinfo, pagetypeinfo, zoneinfo, slabinfo, vmallocinfo, extfrag)`) {
		t.Errorf("unknown proc file: exit %d, %q", code, errOut)
	}
	if code, _, _ := runCLI(t, "proc"); code != exitError {
		t.Errorf("proc without a file: exit %d", code)
	}
}

// slabinfoRow is a line of /proc/slabinfo as cache_show() prints it:
// "%-17s %6lu %6lu %6u %4u %4d", the tunables (0 on SLUB), the slabdata.
var slabinfoRow = regexp.MustCompile(`^(\S+) +(\d+) +(\d+) +(\d+) +(\d+) +(\d+) : tunables +0 +0 +0 : slabdata +(\d+) +(\d+) +0$`)

// slabinfoRows parses allocviz proc slabinfo output: the header, then the
// rows by name, each checked to be exactly what cache_show()'s format
// makes of its numbers.
func slabinfoRows(t *testing.T, out string) map[string]string {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	const header = "slabinfo - version: 2.1\n" +
		"# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>"
	if len(lines) < 3 || lines[0]+"\n"+lines[1] != header {
		t.Fatalf("no slabinfo header:\n%s", out)
	}
	rows := map[string]string{}
	for _, l := range lines[2:] {
		m := slabinfoRow.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("not a slabinfo row: %q", l)
			continue
		}
		n := make([]any, 0, 8)
		for _, v := range m[2:] {
			i, _ := strconv.Atoi(v)
			n = append(n, i)
		}
		want := fmt.Sprintf("%-17s %6d %6d %6d %4d %4d : tunables %4d %4d %4d : slabdata %6d %6d %6d",
			m[1], n[0], n[1], n[2], n[3], n[4], 0, 0, 0, n[5], n[6], 0)
		if l != want {
			t.Errorf("row %q\nwant %q", l, want)
		}
		rows[m[1]] = l
	}
	return rows
}

func TestProcSlabinfo(t *testing.T) {
	code, out, errOut := runCLI(t, "proc", "slabinfo")
	if code != exitOK || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	rows := slabinfoRows(t, out)
	if len(rows) != 4*13 {
		t.Errorf("%d caches, want the 13 kmalloc caches of each of the 4 types", len(rows))
	}
	// A fresh 4-CPU machine: every cache listed though empty, geometry from
	// calculate_order (mm/slub.c, 2-7 CPUs).
	for name, want := range map[string]string{
		"kmalloc-64":     "kmalloc-64             0      0     64   64    1 : tunables    0    0    0 : slabdata      0      0      0",
		"kmalloc-96":     "kmalloc-96             0      0     96   42    1 : tunables    0    0    0 : slabdata      0      0      0",
		"kmalloc-512":    "kmalloc-512            0      0    512   16    2 : tunables    0    0    0 : slabdata      0      0      0",
		"dma-kmalloc-8k": "dma-kmalloc-8k         0      0   8192    4    8 : tunables    0    0    0 : slabdata      0      0      0",
	} {
		if rows[name] != want {
			t.Errorf("%s row\n%q\nwant\n%q", name, rows[name], want)
		}
	}
	if first := strings.Split(out, "\n")[2]; !strings.HasPrefix(first, "kmalloc-cg-8k ") {
		t.Errorf("the newest cache comes first, as the kernel's list is walked: %q", first)
	}
	// The machine flags reach SLUB: the CPU count sets min_objects.
	for cpus, want := range map[string]string{"1": "  512    8    1", "16": "  512   32    4", "128": "  512   64    8"} {
		_, out, _ := runCLI(t, "proc", "slabinfo", "--cpus", cpus)
		if row := slabinfoRows(t, out)["kmalloc-512"]; !strings.Contains(row, want) {
			t.Errorf("--cpus %s: %q, want objsize/objperslab/pagesperslab %q", cpus, row, want)
		}
	}
	// After a script: a cpu slab's free objects count as active; a cache
	// the script made comes first.
	held := writeScript(t, "held.star", "ps = [kmalloc(64) for i in range(3)]\nc = kmem_cache_create(\"mine\", 200)\nkmem_cache_alloc(c)\n")
	code, out, _ = runCLI(t, "proc", "slabinfo", "--after", held)
	rows = slabinfoRows(t, out)
	if want := "kmalloc-64            64     64     64   64    1 : tunables    0    0    0 : slabdata      1      1      0"; code != exitOK || rows["kmalloc-64"] != want {
		t.Errorf("after 3 kmallocs: exit %d, %q, want %q", code, rows["kmalloc-64"], want)
	}
	if !strings.HasPrefix(strings.Split(out, "\n")[2], "mine ") {
		t.Errorf("the script's cache is not first:\n%s", out)
	}
}

func TestSlabFlags(t *testing.T) {
	// slab_debug=FZPU: kmalloc-64 grows red zones, a free pointer of its
	// own, two tracks and orig_size (allocator.calculateSizes: 256 bytes).
	code, out, _ := runCLI(t, "proc", "slabinfo", "--slab-debug", "fzpu")
	if row := slabinfoRows(t, out)["kmalloc-64"]; code != exitOK || !strings.Contains(row, "    256   16    1 :") {
		t.Errorf("--slab-debug fzpu: exit %d, %q", code, row)
	}
	code, _, errOut := runCLI(t, "proc", "slabinfo", "--slab-debug", "X")
	if code != exitError || !strings.Contains(errOut, `--slab-debug "X": slab_debug option 'X' unknown`) {
		t.Errorf("--slab-debug X: exit %d, %q", code, errOut)
	}
	// The debug scenario's double free is caught with the kernel's words.
	script := writeScript(t, "df.star", "p = kmalloc(64)\nq = kmalloc(64)\nkfree(p)\nkfree(p)\n")
	code, out, _ = runCLI(t, "run", script, "--slab-debug", "FZPU")
	if code != exitOK || !strings.Contains(out, "Object already free") {
		t.Errorf("double free under --slab-debug: exit %d\n%s", code, out)
	}
	// --freelist-random shuffles new slabs, the same way for the same seed.
	addrs := writeScript(t, "addrs.star", "print([kmalloc(64) for i in range(4)])\n")
	run := func(args ...string) string {
		code, out, errOut := runCLI(t, append([]string{"run", addrs}, args...)...)
		if code != exitOK {
			t.Fatalf("%v: exit %d, %s", args, code, errOut)
		}
		return out[strings.LastIndex(out, "print"):]
	}
	plain, a, b, c := run(), run("--freelist-random", "--seed", "1"), run("--freelist-random", "--seed", "1"), run("--freelist-random", "--seed", "2")
	if a == plain || a != b || a == c {
		t.Errorf("plain %s\nseed 1 %s\nagain %s\nseed 2 %s", plain, a, b, c)
	}
	if h := run("--freelist-hardened", "--seed", "3"); h != plain {
		t.Errorf("hardening moved objects: %s, want %s", h, plain)
	}
}

func TestProcVmallocinfo(t *testing.T) {
	// No builtin makes vmap areas yet, so the file is empty, as the
	// machine's own rendering says.
	code, out, errOut := runCLI(t, "proc", "vmallocinfo", "--after", "buddy")
	if code != exitOK || out != "" || errOut != "" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestScenariosCommand(t *testing.T) {
	code, out, _ := runCLI(t, "scenarios")
	if code != exitOK || !regexp.MustCompile(`(?m)^pages:\n  buddy +Buddy split and merge: .+$`).MatchString(out) {
		t.Errorf("exit %d, output %q", code, out)
	}
}

// TestProcExtfrag prints both debugfs extfrag files after a script that
// holds one page, a line per populated zone. DMA is as boot left it: free
// blocks of orders 8, 9 and 10 (256 + 512 + 3072 pages), so the unusable
// share is 256/3840 (0.066, truncated) at order 9 and 768/3840 (0.200) at
// order 10. In DMA32 the page came with its pcp refill out of an order-10
// block, leaving one free block of order 0 and of each order 2 to 9, so
// the share grows with the order; a block of every order is still free
// in both zones (-1.000 throughout).
func TestProcExtfrag(t *testing.T) {
	held := writeScript(t, "held.star", "p = alloc_pages(0)\n")
	code, out, errOut := runCLI(t, "proc", "extfrag", "--after", held)
	want := "==> /sys/kernel/debug/extfrag/unusable_index <==\n" +
		"Node 0, zone      DMA 0.000 0.000 0.000 0.000 0.000 0.000 0.000 0.000 0.000 0.066 0.200 \n" +
		"Node 0, zone    DMA32 0.000 0.000 0.000 0.000 0.001 0.002 0.004 0.010 0.020 0.041 0.083 \n" +
		"\n==> /sys/kernel/debug/extfrag/extfrag_index <==\n" +
		"Node 0, zone      DMA -1.000 -1.000 -1.000 -1.000 -1.000 -1.000 -1.000 -1.000 -1.000 -1.000 -1.000 \n" +
		"Node 0, zone    DMA32 -1.000 -1.000 -1.000 -1.000 -1.000 -1.000 -1.000 -1.000 -1.000 -1.000 -1.000 \n"
	if code != exitOK || out != want {
		t.Errorf("exit %d, stderr %q\n%s\nwant\n%s", code, errOut, out, want)
	}
}

func TestHelp(t *testing.T) {
	code, out, _ := runCLI(t, "help")
	if code != exitOK || !strings.Contains(out, "allocviz run SCRIPT|NAME") || !strings.Contains(out, "(default: "+scripts.DefaultScenario+")") || !strings.Contains(out, "default 1048576") ||
		!strings.Contains(out, "--slab-debug FZPU") || !strings.Contains(out, "--freelist-random") || !strings.Contains(out, "buddyinfo, pagetypeinfo, zoneinfo") {
		t.Errorf("exit %d, %q", code, out)
	}
}

func TestPrintOutputInterleavesWithSteps(t *testing.T) {
	path := writeScript(t, "p.star", "print('printed-before')\nalloc_pages(0)\nprint('printed-after')\n")
	code, out, _ := runCLI(t, "run", path)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	printLine := func(line, text string) bool {
		return regexp.MustCompile(`^ +` + regexp.QuoteMeta(path) + `:\d+ +print +` + text + `$`).MatchString(line)
	}
	if code != exitOK || len(lines) != 3 || !printLine(lines[0], "printed-before") ||
		!strings.HasPrefix(lines[1], "1 ") || !printLine(lines[2], "printed-after") {
		t.Errorf("exit %d, output:\n%s", code, out)
	}
	// With --json stdout stays JSON; print goes to stderr.
	code, out, errOut := runCLI(t, "run", "--json", path)
	if code != exitOK || strings.Contains(out, "printed-") || errOut != path+":1:1: printed-before\n"+path+":3:1: printed-after\n" {
		t.Errorf("--json: exit %d, stderr %q", code, errOut)
	}
}

// TestRunEveryScenario runs each bundled scenario as a learner would, on
// 4 KiB and 16 KiB pages: it must finish with every check passed.
func TestRunEveryScenario(t *testing.T) {
	all, err := scripts.Scenarios()
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range all {
		for _, ps := range []string{"4K", "16K"} {
			code, out, errOut := runCLI(t, "run", sc.Name, "--page-size", ps)
			if code != exitOK || errOut != "" || !strings.Contains(out, sc.File+":") {
				t.Errorf("allocviz run %s --page-size %s: exit %d, stderr %q", sc.Name, ps, code, errOut)
			}
		}
	}
}

// TestExplanationIsTheCallsOwnDecision checks that a step that causes
// lower-level events is explained by its own decision: vmalloc by the
// area it made, not by the first page it took; a write that faults by
// the guard-page hit, not by the kernel's page-fault line; vrealloc by
// its realloc decision.
func TestExplanationIsTheCallsOwnDecision(t *testing.T) {
	path := writeScript(t, "v.star", "p = vmalloc(8192)\nwrite(p, 8191, \"ab\")\nq = vrealloc(p, 9000)\nvfree(q)\n")
	code, out, errOut := runCLI(t, "run", path)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	for i, want := range []string{
		"vmalloc(8192): 2 pages",
		"guard page hit at 0xffffc90000002000: 1 byte past the end of a 8192-byte area",
		"vrealloc: 9000 bytes exceed the 8192 bytes mapped",
		"vfree: 0xffffc90000003000-",
	} {
		m := stepLine.FindStringSubmatch(lines[i])
		if m == nil || !strings.HasPrefix(m[5], want) {
			t.Errorf("line %d: %q, want the explanation to begin %q", i+1, lines[i], want)
		}
	}
}

// TestKvreallocIsExplainedByItsOwnDecision: a kvrealloc step holds the
// krealloc decision inside it (marked Within "kvrealloc") and its own; the
// line shows its own.
func TestKvreallocIsExplainedByItsOwnDecision(t *testing.T) {
	path := writeScript(t, "kv.star", "p = kvmalloc(100)\nq = kvrealloc(p, 120)\nkvfree(q)\n")
	code, out, errOut := runCLI(t, "run", path)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	for i, want := range []string{
		"kvmalloc(100, GFP_KERNEL): kmalloc attempt from kmalloc-128 with the caller's flags",
		"kvrealloc of kmalloc memory tries krealloc with the caller's flags, unchanged for one page or less: 120 <= ksize 128",
	} {
		m := stepLine.FindStringSubmatch(lines[i])
		if m == nil || !strings.HasPrefix(m[5], want) {
			t.Errorf("line %d: %q, want the explanation to begin %q", i+1, lines[i], want)
		}
	}
}

// TestFailedKmallocIsExplainedByItsFailure: a kmalloc that returns NULL
// names its size class and then why it failed, not the size class alone.
func TestFailedKmallocIsExplainedByItsFailure(t *testing.T) {
	path := writeScript(t, "f.star", "config(ram=\"2M\")\nps = machine().page_size\np = kmalloc(ps << 11, GFP_KERNEL | __GFP_NOWARN)\ncheck(p == None)\n")
	code, out, errOut := runCLI(t, "run", path)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	m := stepLine.FindStringSubmatch(strings.Split(out, "\n")[0])
	if m == nil || !strings.Contains(m[5], "; failed: ") {
		t.Errorf("the failed kmalloc's line does not say why it failed: %q", out)
	}
}

// TestCLIHygiene: --version; numbers out of range refused with the range,
// quoting what was typed; an unknown flag gets one line that points to
// --help; a directory named as the script says so; a config() that sets
// what a flag gave says so.
func TestCLIHygiene(t *testing.T) {
	code, out, _ := runCLI(t, "--version")
	if code != exitOK || !strings.HasPrefix(out, "allocviz ") || !strings.Contains(out, "go1.") {
		t.Errorf("--version: exit %d, %q", code, out)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "buddy", "--cpus", "0"}, "allocviz: --cpus 0 is out of range (allowed: 1 to 256)\n"},
		{[]string{"run", "buddy", "--ram", "1K"}, "allocviz: --ram 1K is out of range (allowed: 2 MiB to 16 GiB)\n"},
		{[]string{"run", "buddy", "--ram", "0"}, "allocviz: --ram 0 is out of range (allowed: 2 MiB to 16 GiB)\n"},
		{[]string{"run", "buddy", "--max-steps", "0"}, "allocviz: --max-steps 0 is out of range (allowed: 1 to 1099511627776)\n"},
		{[]string{"proc", "buddyinfo", "--cpus", "257"}, "allocviz: --cpus 257 is out of range (allowed: 1 to 256)\n"},
		{[]string{"buddy", "--ram", "32G"}, "allocviz: --ram 32G is out of range (allowed: 2 MiB to 16 GiB)\n"},
		{[]string{"buddy", "--step", "-3"}, "allocviz: --step -3 is out of range (allowed: 0 and up)\n"},
		{[]string{"run", "buddy", "--frobnicate"}, "allocviz: unknown flag --frobnicate (allocviz --help lists the flags)\n"},
		{[]string{"--bogus=1"}, "allocviz: unknown flag --bogus (allocviz --help lists the flags)\n"},
		{[]string{"run", t.TempDir()}, "is a directory"},
	} {
		code, out, errOut := runCLI(t, tc.args...)
		if code != exitError || out != "" || !strings.Contains(errOut, tc.want) || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want one line %q", tc.args, code, out, errOut, tc.want)
		}
	}
	if code, out, _ := runCLI(t, "run", "--help"); code != exitOK || !strings.Contains(out, "usage:") {
		t.Errorf("run --help: exit %d, %q", code, out)
	}
	path := writeScript(t, "cfg.star", "config(ram=\"32M\", cpus=2)\nalloc_pages(0)\n")
	code, _, errOut := runCLI(t, "run", path, "--ram", "64M", "--seed", "3")
	if code != exitOK || !strings.Contains(errOut, "the script's config() overrides --ram given on the command line") {
		t.Errorf("config over --ram: exit %d, stderr %q", code, errOut)
	}
	if _, _, errOut := runCLI(t, "run", path, "--seed", "3"); strings.Contains(errOut, "overrides") {
		t.Errorf("no flag was overridden, yet: %q", errOut)
	}
}

// TestJSONRebuildsTheModel: what allocviz run --json writes, read back,
// rebuilds the same heapview model as the session's own log, step by
// step: the same totals and the same views.
func TestJSONRebuildsTheModel(t *testing.T) {
	for _, name := range []string{"tour", "slub-debug", "kvec-growth", "vrealloc"} {
		t.Run(name, func(t *testing.T) {
			code, out, errOut := runCLI(t, "run", name, "--json", "--freelist-random", "--seed", "3")
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			back, err := allocator.ReadJSON(strings.NewReader(out))
			if err != nil {
				t.Fatal(err)
			}
			s, err := scripts.Run(name, scripts.Options{Config: allocator.Config{FreelistRandom: true, Seed: 3}})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			want, err := heapview.New(s.Log())
			if err != nil {
				t.Fatal(err)
			}
			got, err := heapview.New(back)
			if err != nil {
				t.Fatal(err)
			}
			if got.Steps() != want.Steps() || got.Len() != want.Len() {
				t.Fatalf("%d steps and %d events read back, want %d and %d", got.Steps(), got.Len(), want.Steps(), want.Len())
			}
			views := func(hv *heapview.Model) string {
				var b strings.Builder
				fmt.Fprintf(&b, "%+v\n", hv.Totals())
				for _, rows := range [][]heapview.Row{
					hv.PageMap(heapview.PageMapOptions{Width: 120, Height: 30}).Rows,
					hv.SlabTable(heapview.SlabTableOptions{Width: 120, Height: 30, All: true}),
					hv.VmallocView(heapview.VmallocOptions{Width: 120, Height: 30}),
					hv.ReallocPanel(heapview.ReallocOptions{Width: 120, Height: 30}),
					hv.EventLog(heapview.EventLogOptions{Width: 160, Height: 40}),
				} {
					for _, r := range rows {
						fmt.Fprintln(&b, r.String())
					}
				}
				return b.String()
			}
			for st := 0; st <= want.Steps(); st++ {
				want.Seek(st)
				got.Seek(st)
				if g, w := views(got), views(want); g != w {
					t.Fatalf("step %d differs:\n--- read back\n%s\n--- the session's\n%s", st, g, w)
				}
			}
		})
	}
}

// TestProcPagetypeinfoAndZoneinfo: the two files exist, in the kernel's
// layout (the allocator tests compare the bytes with a real 6.18 kernel's),
// and follow a script.
func TestProcPagetypeinfoAndZoneinfo(t *testing.T) {
	code, out, _ := runCLI(t, "proc", "pagetypeinfo", "--ram", "2G")
	if code != exitOK || !strings.HasPrefix(out, "Page block order: 9\nPages per block:  512\n") ||
		!strings.Contains(out, "Node 0, zone      DMA            0            8            0            0            0 \n") {
		t.Errorf("pagetypeinfo: exit %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, "proc", "pagetypeinfo", "--after", "migratetypes")
	if code != exitOK || !regexp.MustCompile(`Node 0, zone    DMA32 +[1-9]`).MatchString(out) {
		t.Errorf("after migratetypes, DMA32 has no Unmovable pageblock:\n%s", out)
	}
	code, out, _ = runCLI(t, "proc", "zoneinfo", "--ram", "8G")
	for _, want := range []string{"Node 0, zone      DMA\n  per-node stats\n", "Node 0, zone   Normal\n  pages free", "  pagesets\n    cpu: 0\n", "\n    cpu: 3\n",
		"Node 0, zone  Movable\n  pages free     0\n", "Node 0, zone   Device\n"} {
		if code != exitOK || !strings.Contains(out, want) {
			t.Errorf("zoneinfo: exit %d, no %q in\n%s", code, want, out)
		}
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/allocviz/allocviz/allocator"
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

func TestNoArgumentsRunsTheDefaultScenario(t *testing.T) {
	code, out, errOut := runCLI(t)
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
		if strings.Contains(l, "alloc_pages(0, GFP_KERNEL) ") {
			alloc = l
			break
		}
	}
	m := stepLine.FindStringSubmatch(alloc)
	if m == nil || m[4] != "0xffff888000100000" || m[5] != "no free block of order 0; split the order-8 block at pfn 0x100: upper halves to orders 7, 6, 5, 4, 3, 2, 1 and 0" {
		t.Errorf("the first allocation's line: %q", alloc)
	}
}

func TestRunExitCodes(t *testing.T) {
	ok := writeScript(t, "ok.star", "p = alloc_pages(1)\ncheck(p != None, \"allocated\")\nfree_pages(p, 1)\n")
	failing := writeScript(t, "failing.star", "check(1 == 2, \"one is two\")\nsay(\"still running\")\n")
	broken := writeScript(t, "broken.star", "alloc_pages(0)\nkmalloc(8)\n")
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
	if code != exitError || out != "" || errOut != broken+":2:1: undefined: kmalloc\n" {
		t.Errorf("unknown builtin: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	code, out, errOut = runCLI(t, "run", crashing)
	if code != exitError || errOut != crashing+":3:1: cpu: cpu 9 does not exist (this machine has cpus 0 to 3)\n" {
		t.Errorf("runtime error: exit %d, stderr %q", code, errOut)
	}
	if strings.Count(out, "\n") != 3 {
		t.Errorf("runtime error: the steps before it are printed, got %q", out)
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
	if !strings.Contains(errOut, "page_size 8192 is not supported (allowed: 4096, 16384, 65536)") {
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
			if e["addr"] != "0xffff888000100000" || e["order"] != float64(0) || e["gfp"] != "GFP_KERNEL" || e["owner"] != "pages" {
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
	want := "Node 0, zone   Normal      0      0      0      0      0      0      0      0      1      1     15 \n"
	if code != exitOK || out != want {
		t.Errorf("fresh machine: exit %d\n%q\nwant\n%q", code, out, want)
	}
	code, out, _ = runCLI(t, "proc", "buddyinfo", "--ram", "1G", "--page-size", "64K")
	if want := "Node 0, zone   Normal      0      0      0      0      1      1      1      1      1      1     15 \n"; code != exitOK || out != want {
		t.Errorf("1G of 64K pages: %q", out)
	}
	// After the buddy scenario everything is merged back.
	code, out, _ = runCLI(t, "proc", "buddyinfo", "--after", "buddy")
	if code != exitOK || out != want {
		t.Errorf("after buddy: exit %d, %q", code, out)
	}
	held := writeScript(t, "held.star", "p = alloc_pages(0)\n")
	code, out, _ = runCLI(t, "proc", "--after", held, "buddyinfo")
	if want := "Node 0, zone   Normal      1      1      1      1      1      1      1      1      0      1     15 \n"; code != exitOK || out != want {
		t.Errorf("after an allocation: exit %d, %q", code, out)
	}
	broken := writeScript(t, "broken.star", "x = (\n")
	code, out, errOut := runCLI(t, "proc", "buddyinfo", "--after", broken)
	if code != exitError || out != "" || !strings.HasPrefix(errOut, broken+":2:1: ") {
		t.Errorf("after a broken script: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, _, errOut = runCLI(t, "proc", "slabinfo2")
	if code != exitError || !strings.Contains(errOut, `no file "slabinfo2" (known: buddyinfo, vmallocinfo)`) {
		t.Errorf("unknown proc file: exit %d, %q", code, errOut)
	}
	if code, _, _ := runCLI(t, "proc"); code != exitError {
		t.Errorf("proc without a file: exit %d", code)
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

// TestJSONCoversEveryEventField keeps --json complete: a field added to
// allocator.Event must be added to eventJSON, or the JSON log could no
// longer rebuild the state.
func TestJSONCoversEveryEventField(t *testing.T) {
	ev, js := reflect.TypeFor[allocator.Event](), reflect.TypeFor[eventJSON]()
	for i := range ev.NumField() {
		if _, ok := js.FieldByName(ev.Field(i).Name); !ok {
			t.Errorf("allocator.Event.%s has no --json field", ev.Field(i).Name)
		}
	}
	rt, rj := reflect.TypeFor[allocator.ReallocInfo](), reflect.TypeFor[reallocJSON]()
	for i := range rt.NumField() {
		if _, ok := rj.FieldByName(rt.Field(i).Name); !ok {
			t.Errorf("allocator.ReallocInfo.%s has no --json field", rt.Field(i).Name)
		}
	}
}

func TestScenariosCommand(t *testing.T) {
	code, out, _ := runCLI(t, "scenarios")
	if code != exitOK || !regexp.MustCompile(`(?m)^buddy +Buddy split and merge: .+$`).MatchString(out) {
		t.Errorf("exit %d, output %q", code, out)
	}
}

func TestHelp(t *testing.T) {
	code, out, _ := runCLI(t, "help")
	if code != exitOK || !strings.Contains(out, "allocviz run SCRIPT|NAME") || !strings.Contains(out, "default 1048576") {
		t.Errorf("exit %d, %q", code, out)
	}
}

func TestPrintOutputInterleavesWithSteps(t *testing.T) {
	path := writeScript(t, "p.star", "print('before')\nalloc_pages(0)\nprint('after')\n")
	code, out, _ := runCLI(t, "run", path)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	printLine := func(line, text string) bool {
		return regexp.MustCompile(`^ +` + regexp.QuoteMeta(path) + `:\d+ +print +` + text + `$`).MatchString(line)
	}
	if code != exitOK || len(lines) != 3 || !printLine(lines[0], "before") ||
		!strings.HasPrefix(lines[1], "1 ") || !printLine(lines[2], "after") {
		t.Errorf("exit %d, output:\n%s", code, out)
	}
	// With --json stdout stays JSON; print goes to stderr.
	code, out, errOut := runCLI(t, "run", "--json", path)
	if code != exitOK || strings.Contains(out, "before") || errOut != path+":1:1: before\n"+path+":3:1: after\n" {
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

package main

import (
	"bufio"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

const (
	capture65kFixture = "testdata/ftrace-kmem-6.18-ls-lR-python3.txt.gz"
	virtiofsSample    = "testdata/ftrace-kmem-tracecmd-blog-virtiofs-short.txt"
)

// statRow finds "label   N ..." in trace stats output and returns N.
func statRow(t *testing.T, out, label string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(label) + ` +([\d,]+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no %q row in:\n%s", label, out)
	}
	return m[1]
}

// TestTraceStatsOnARealTrace is the measure: a real 6.18 trace of
// ~65k lines has no unparsed line and no ksize disagreement, and its
// per-CPU list refills are placed or skipped with their slab pages.
func TestTraceStatsOnARealTrace(t *testing.T) {
	code, out, errOut := runCLI(t, "trace", "stats", capture65kFixture)
	if code != exitOK || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	for label, want := range map[string]string{"lines read": "64,849", "memory events": "64,836", "unparsed": "0",
		"ksize disagree": "0", "ksize agree": "8,361", "refused": "0",
		// 224 per-CPU list refills: 7 placed on allocviz's lists, 217 for the
		// traced kernel's slab pages, skipped with them (449 slab page lines + 217).
		"  mm_page_alloc_zone_locked": "7", "pcp refills placed": "7", "pcp refills elsewhere": "0", "  slab page": "666"} {
		if got := statRow(t, out, label); got != want {
			t.Errorf("%s: %s, want %s", label, got, want)
		}
	}
	for _, want := range []string{"ftrace text (tracing/trace), 2 CPUs", "kmem_cache_alloc names its cache (6.x)",
		"top caches by bytes allocated:", "top call sites by bytes allocated:", "  before the trace", "  slab page "} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
}

// TestTraceStatsListsWhatFailed: damaged lines are listed by file:line and
// the exit status is 1; a script is not a trace.
func TestTraceStatsListsWhatFailed(t *testing.T) {
	code, out, _ := runCLI(t, "trace", "stats", virtiofsSample)
	if code != exitCheckFailed || statRow(t, out, "unparsed") != "3" {
		t.Errorf("exit %d:\n%s", code, out)
	}
	for _, line := range []string{"10", "12", "13"} {
		if !strings.Contains(out, "\n  "+virtiofsSample+":"+line+": kmalloc: ") {
			t.Errorf("line %s is not listed:\n%s", line, out)
		}
	}
	for _, args := range [][]string{{"trace", "stats", "buddy"}, {"trace"}, {"trace", "stats"}, {"trace", "stats", "a", "b"}} {
		if code, _, errOut := runCLI(t, args...); code != exitError || errOut == "" {
			t.Errorf("allocviz %s: exit %d, stderr %q", strings.Join(args, " "), code, errOut)
		}
	}
	if code, out, _ := runCLI(t, "trace", "stats", "trace-ls", "--cpus", "4"); code != exitOK || !strings.Contains(out, "with 4 CPUs") {
		t.Errorf("the bundled trace on 4 CPUs: exit %d\n%s", code, out)
	}
}

// TestRunATrace: run, run --json and proc --after take a trace wherever
// they take a script.
func TestRunATrace(t *testing.T) {
	const fixture = "testdata/tracecmd-kmem-6.18-bash-ls-etc.txt.gz"
	code, out, errOut := runCLI(t, "run", fixture)
	if code != exitOK || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	n := 0
	for sc.Scan() {
		n++
		m := stepLine.FindStringSubmatch(sc.Text())
		if m == nil || !strings.HasPrefix(m[2], fixture+":") {
			t.Fatalf("line %d: %q", n, sc.Text())
		}
	}
	first := strings.SplitN(out, "\n", 2)[0]
	if n < 4000 || !strings.Contains(first, "2436.033593 bash-5845 [000]") {
		t.Errorf("%d lines; the first %q", n, first)
	}
	code, out, errOut = runCLI(t, "run", "--json", fixture)
	if code != exitOK || errOut != "" {
		t.Fatalf("--json: exit %d, stderr %q", code, errOut)
	}
	steps := 0
	for line := range strings.Lines(out) {
		var e struct{ Kind, Src, Label string }
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatal(err)
		}
		if e.Kind == "step" {
			steps++
			if !strings.HasPrefix(e.Src, fixture+":") || !strings.Contains(e.Label, " [00") {
				t.Fatalf("step event without its trace label: %+v", e)
			}
		}
	}
	if steps != n {
		t.Errorf("%d step events, %d steps", steps, n)
	}
	code, out, _ = runCLI(t, "proc", "slabinfo", "--after", fixture)
	if code != exitOK || !strings.Contains(out, "\nnames_cache ") || !strings.Contains(out, "\nmaple_node ") {
		t.Errorf("proc slabinfo --after the trace: exit %d\n%s", code, out)
	}
	if code, _, errOut := runCLI(t, "run", virtiofsSample); code != exitError || !strings.HasPrefix(errOut, virtiofsSample+":10: kmalloc: ") {
		t.Errorf("a trace with damaged lines: exit %d, stderr %q", code, errOut)
	}
}

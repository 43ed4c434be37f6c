package scripts

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/allocviz/allocviz/allocator"
	"github.com/allocviz/allocviz/scripts/ktrace"
)

const (
	traceCmdFixture   = "../testdata/tracecmd-kmem-6.18-bash-ls-etc.txt.gz"
	publishedVirtiofs = "../testdata/ftrace-kmem-tracecmd-blog-virtiofs-short.txt"
)

// runTraceFile runs a trace the way allocviz run does and fails on an
// error.
func runTraceFile(t *testing.T, ref string, opts Options) *Session {
	t.Helper()
	s, err := Run(ref, opts)
	if s != nil {
		t.Cleanup(func() { s.Close() })
	}
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestTraceSteps: each memory event line is a step at its file:line,
// labelled with its time, task, CPU and call site, on a machine with the
// trace's CPUs; a skipped line narrates why.
func TestTraceSteps(t *testing.T) {
	sc, err := Open(traceCmdFixture)
	if err != nil || !sc.Trace {
		t.Fatalf("Open: %v, trace %v", err, sc.Trace)
	}
	text, err := sc.Text()
	if err != nil {
		t.Fatal(err)
	}
	defer text.Close()
	plan, err := ParseTrace(sc.Name, text, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := runTraceFile(t, traceCmdFixture, Options{})
	tr := plan.Trace
	if s.NumSteps() != len(plan.Ops) || s.Settings().Config.CPUs != 2 || s.Settings().Config.RAM != plan.Config.RAM {
		t.Fatalf("%d steps for %d ops, config %+v", s.NumSteps(), len(plan.Ops), s.Settings().Config)
	}
	log := s.Log()
	skips := 0
	for i, st := range allSteps(s) {
		r := &tr.Records[i]
		if st.N != i+1 || st.Pos != fmt.Sprintf("%s:%d", traceCmdFixture, r.Line) || st.Label != tr.Label(r) || st.Op == "" || st.Call != st.Op {
			t.Fatalf("step %d: %+v", i+1, st)
		}
		first := log.At(st.First)
		if first.Kind() != allocator.EvStep || first.Src() != st.Pos || first.Label() != st.Label || first.Op() != st.Op || first.Step() != st.N {
			t.Fatalf("step %d begins with %+v", st.N, first.Fields())
		}
		if plan.Ops[i].Kind == ktrace.OpSkip {
			skips++
			said := false
			for e := range log.Events(st.First, st.Last+1) {
				said = said || e.Kind() == allocator.EvSay && strings.Contains(e.Text(), tr.What(r))
			}
			if !said {
				t.Errorf("step %d (%s) skips without saying why", st.N, st.Op)
			}
		}
	}
	if skips == 0 {
		t.Error("no skipped lines in the fixture")
	}
	if err := s.Machine().CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

// TestTraceRebuildAndPrompt: the session rebuilds to any step of the
// trace, exactly, and the prompt continues after it.
func TestTraceRebuildAndPrompt(t *testing.T) {
	s := runTraceFile(t, traceCmdFixture, Options{})
	for _, k := range []int{0, 1, 1234, s.NumSteps()} {
		ns, err := s.Rebuild(k)
		if err != nil {
			t.Fatal(err)
		}
		want := s.Machine().BootEvents()
		if k > 0 {
			want = allSteps(s)[k-1].Last + 1
		}
		if ns.NumSteps() != k || ns.Log().Len() != want {
			t.Errorf("rebuild to step %d: %d steps, %d events; want %d events", k, ns.NumSteps(), ns.Log().Len(), want)
		}
		for i := range want {
			a, b := ns.Log().At(i), s.Log().At(i)
			if a.Kind() != b.Kind() || a.Addr() != b.Addr() || a.PFN() != b.PFN() || a.Text() != b.Text() || a.Label() != b.Label() {
				t.Fatalf("rebuild to step %d: event %d differs: %+v, %+v", k, i, a.Fields(), b.Fields())
			}
		}
		if k == 1234 {
			// Typed after step 1234: new steps, and a rebuild of that.
			if _, err := ns.Exec("p = kmalloc(100)"); err != nil {
				t.Fatal(err)
			}
			if st := allSteps(ns)[ns.NumSteps()-1]; st.N != 1235 || st.Pos != "<prompt>:1:5" {
				t.Errorf("the statement's step %+v", st)
			}
			again, err := ns.Rebuild(1235)
			if err != nil {
				t.Fatal(err)
			}
			if again.Log().Len() != ns.Log().Len() {
				t.Errorf("rebuild of trace and prompt: %d events, want %d", again.Log().Len(), ns.Log().Len())
			}
			again.Close()
		}
		ns.Close()
	}
}

// TestTraceLimitsAndErrors: the step limit stops a trace at the line it
// reached; a trace with unparsed lines replays the rest and then reports
// the first at its file:line.
func TestTraceLimitsAndErrors(t *testing.T) {
	s, err := Run(traceCmdFixture, Options{MaxSteps: 100})
	if s == nil {
		t.Fatal(err)
	}
	defer s.Close()
	var se *Error
	if !errors.As(err, &se) || !strings.Contains(se.Msg, "step limit reached: the trace has") || s.NumSteps() != 100 ||
		!strings.HasPrefix(se.Pos, traceCmdFixture+":") {
		t.Errorf("step limit: %v, %d steps", err, s.NumSteps())
	}
	v, err := Run(publishedVirtiofs, Options{})
	if v == nil {
		t.Fatal(err)
	}
	defer v.Close()
	if !errors.As(err, &se) || se.Pos != publishedVirtiofs+":10" || !strings.Contains(se.Msg, `kmalloc: bytes_req="56bytes_alloc=64": not a number (and 2 more lines`) {
		t.Errorf("unparsed lines: %v", err)
	}
	var le *ktrace.LineError
	if !errors.As(err, &le) || le.Line != 10 {
		t.Errorf("the error does not unwrap to the line's: %v", err)
	}
	if v.NumSteps() != 9 {
		t.Errorf("%d steps replayed of the 9 good lines", v.NumSteps())
	}
}

// TestRunFileReplaysATrace: RunFile tells a trace by its content and
// replays it on the session's own machine, whatever its size.
func TestRunFileReplaysATrace(t *testing.T) {
	sc, err := Open(traceCmdFixture)
	if err != nil {
		t.Fatal(err)
	}
	s := newSession(t, Options{Config: allocator.Config{RAM: 8 * allocator.MiB, CPUs: 1}})
	if err := s.RunFile("ls.txt.gz", sc.Src); err != nil {
		t.Fatal(err)
	}
	if s.NumSteps() < 4000 || !strings.HasPrefix(allSteps(s)[0].Pos, "ls.txt.gz:") {
		t.Errorf("%d steps, first %+v", s.NumSteps(), allSteps(s)[0])
	}
	if err := s.Machine().CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

// TestBundledTrace: the bundled trace is a scenario, told from scripts by
// its content, described by its capture line.
func TestBundledTrace(t *testing.T) {
	sc, ok := LookupScenario("trace-ls")
	if !ok || !sc.Trace || sc.File != "trace-ls.txt.gz" || !strings.Contains(sc.Description, "`ls -l /etc` on Linux 6.18") {
		t.Fatalf("trace-ls: %+v", sc.Description)
	}
	if sc2, ok := LookupScenario("trace-ls.txt.gz"); !ok || sc2.Name != "trace-ls" {
		t.Error("LookupScenario does not accept the trace's file name")
	}
	s := runTraceFile(t, "trace-ls", Options{})
	if n := s.NumSteps(); n < 3000 {
		t.Errorf("%d steps", n)
	}
}

// TestTraceLsLesson checks what docs/trace-ls.md says of the bundled
// trace, step by step.
func TestTraceLsLesson(t *testing.T) {
	s := runTraceFile(t, "trace-ls", Options{})
	steps, log := allSteps(s), s.Log()
	if len(steps) != 3072 || s.Settings().Config.CPUs != 2 {
		t.Fatalf("%d steps, %d cpus", len(steps), s.Settings().Config.CPUs)
	}
	step := func(n int) Step { return steps[n-1] }
	has := func(n int, label, op string) {
		t.Helper()
		if st := step(n); !strings.Contains(st.Label, label) || !strings.Contains(st.Op, op) {
			t.Errorf("step %d: %s %s; want %q and %q", n, st.Label, st.Op, label, op)
		}
	}
	has(1, "allocviz-", "(skipped: before the trace)")
	has(2, "allocviz-", "(skipped: before the trace)")
	has(33, "copy_process", "kmem_cache_alloc(task_struct")
	has(298, "ls-5302 [000] getname_flags", "kmem_cache_alloc(names_cache")
	has(301, "ls-5302 [000] alloc_bprm", "kmalloc(")
	has(1013, "ext4_htree_store_dirent", "kmalloc(")
	has(1153, "ext4_htree_store_dirent", "kmalloc(")
	has(2606, "free_rb_tree_fname", "kfree(")
	has(2744, "free_rb_tree_fname", "kfree(")
	has(2912, "exit_mmap", "kmem_cache_free(vm_area_struct")
	compile, dirents, freed := 0, map[string]int{}, 0
	names, getxattr := map[allocator.Addr]int{}, map[allocator.Addr]int{}
	kfreeNull := 0
	for _, st := range steps {
		if st.N < 298 && strings.Contains(st.Label, " ls-") {
			t.Errorf("step %d: ls before its exec", st.N)
		}
		if strings.Contains(st.Label, " compile-") {
			compile++
		}
		for ev := range log.Events(st.First, st.Last+1) {
			e := ev.Fields()
			switch {
			case e.Kind == allocator.EvKmalloc && strings.Contains(st.Label, "ext4_htree_store_dirent"):
				if st.N < 1013 || st.N > 1153 {
					t.Errorf("a directory entry at step %d", st.N)
				}
				dirents[e.Cache]++
			case e.Kind == allocator.EvKfree && strings.Contains(st.Label, "free_rb_tree_fname"):
				freed++
			case e.Kind == allocator.EvObjAlloc && e.Cache == "names_cache" && strings.Contains(st.Label, " ls-"):
				names[e.Addr]++
			case e.Kind == allocator.EvKmalloc && strings.Contains(st.Label, "do_getxattr"):
				if e.Cache != "kmalloc-256" || e.Size != 255 {
					t.Errorf("step %d: do_getxattr's kmalloc(%d) in %s", st.N, e.Size, e.Cache)
				}
				getxattr[e.Addr]++
			case e.Kind == allocator.EvKfree && e.Addr == 0 && strings.Contains(st.Label, "do_getxattr"):
				kfreeNull++
			}
		}
	}
	if compile != 300 || dirents["kmalloc-64"] != 134 || dirents["kmalloc-96"] != 5 || freed != 139 {
		t.Errorf("%d compile steps, directory entries %v, %d freed", compile, dirents, freed)
	}
	has(317, "getname_kernel", "kmem_cache_alloc(names_cache")
	if len(names) != 2 || names[0xffff888001090000] != 539 || names[0xffff888001091000] != 1 || len(getxattr) != 1 || getxattr[0xffff8880010b4000] != 136 || kfreeNull == 0 {
		t.Errorf("names_cache objects %v, do_getxattr objects %v, %d kfree(NULL)", names, getxattr, kfreeNull)
	}
	at, err := s.Rebuild(1153)
	if err != nil {
		t.Fatal(err)
	}
	defer at.Close()
	for _, c := range at.Machine().Caches() {
		if c.Name == "kmalloc-64" && len(c.Slabs) != 3 {
			t.Errorf("kmalloc-64 has %d slabs at step 1153, the lesson says 3", len(c.Slabs))
		}
	}
	sc, _ := LookupScenario("trace-ls")
	rep, err := ktrace.Analyze(sc.File, bytes.NewReader(sc.Src), allocator.Config{})
	if err != nil {
		t.Fatal(err)
	}
	nc := rep.Replay.ByCache["names_cache"]
	if !rep.Clean() || rep.Replay.KsizeAgree != 295 || rep.Plan.Stats.Synthetic != 0 || nc.N != 553 || nc.Bytes != 553*4096 {
		t.Errorf("stats: clean %v, %d kmallocs agree, %d synthetic, names_cache %+v", rep.Clean(), rep.Replay.KsizeAgree, rep.Plan.Stats.Synthetic, nc)
	}
	for name, b := range rep.Replay.ByCache {
		if name != "names_cache" && b.Bytes >= nc.Bytes {
			t.Errorf("%s has %d bytes, names_cache %d: the lesson says names_cache comes first", name, b.Bytes, nc.Bytes)
		}
	}
}

// lengthenedTrace writes the bundled trace lengthened to n lines into a
// file of its own, plain, and returns its path and text.
func lengthenedTrace(t *testing.T, n int) (string, []byte) {
	t.Helper()
	sc, ok := LookupScenario("trace-ls")
	if !ok {
		t.Fatal("no trace-ls")
	}
	text, err := ktrace.Decode(sc.Src)
	if err != nil {
		t.Fatal(err)
	}
	text = ktrace.Lengthen(text, n)
	path := filepath.Join(t.TempDir(), "long.txt")
	if err := os.WriteFile(path, text, 0o644); err != nil {
		t.Fatal(err)
	}
	return path, text
}

// TestOpenLeavesATraceInItsFile: Open reads a trace file only as far as
// its head, and the replay read from the file as a stream is the replay
// of the same bytes in memory, step for step.
func TestOpenLeavesATraceInItsFile(t *testing.T) {
	path, text := lengthenedTrace(t, 20_000)
	sc, err := Open(path)
	if err != nil || !sc.Trace || sc.Src != nil || sc.Name != path {
		t.Fatalf("Open: trace %v, %d bytes read, %v", sc.Trace, len(sc.Src), err)
	}
	streamed := runTraceFile(t, path, Options{})
	whole := newSession(t, Options{})
	if err := whole.RunFile(path, text); err != nil {
		t.Fatal(err)
	}
	a, b := allSteps(streamed), allSteps(whole)
	if len(a) < 15_000 || !reflect.DeepEqual(a, b) || streamed.Log().Len() != whole.Log().Len() {
		t.Fatalf("%d steps and %d events streamed, %d and %d in memory", len(a), streamed.Log().Len(), len(b), whole.Log().Len())
	}
	again, err := streamed.Rebuild(12_345)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if again.NumSteps() != 12_345 || again.Log().Len() != a[12_344].Last+1 {
		t.Errorf("rebuilt to %d steps, %d events", again.NumSteps(), again.Log().Len())
	}
}

// TestOpenTellsByTheWholeFirstLines: a file is a trace or a script by
// its first lines, however long: a trace whose first line is longer than
// Open's head is still a trace, a script longer than the head is read
// whole.
func TestOpenTellsByTheWholeFirstLines(t *testing.T) {
	dir := t.TempDir()
	event := "  ls-1 [000] 1.0: kmalloc: call_site=a ptr=0xffff888000000000 bytes_req=8 bytes_alloc=8 gfp_flags=GFP_KERNEL\n"
	pasted := filepath.Join(dir, "pasted.txt")
	if err := writeFile(pasted, "$ "+strings.Repeat("x", 2*sniffBytes)+"\n"+event); err != nil {
		t.Fatal(err)
	}
	if sc, err := Open(pasted); err != nil || !sc.Trace {
		t.Errorf("a trace after a long line: trace %v, %v", sc.Trace, err)
	}
	s := runTraceFile(t, pasted, Options{})
	if st := allSteps(s); len(st) != 1 || st[0].Pos != pasted+":2" {
		t.Errorf("steps %+v", st)
	}
	script := "# " + strings.Repeat("a long comment ", sniffBytes/8) + "\nsay('[001] 12.5: kmalloc: ok')\n"
	long := filepath.Join(dir, "long.star")
	if err := writeFile(long, script); err != nil {
		t.Fatal(err)
	}
	if sc, err := Open(long); err != nil || sc.Trace || string(sc.Src) != script {
		t.Errorf("a long script: trace %v, %d of %d bytes, %v", sc.Trace, len(sc.Src), len(script), err)
	}
}

// TestTraceStreamErrors: a trace file that cannot be read to its end
// (a gzip stream cut short), and a replay cancelled while the trace is
// read, end with an error at the file and take no step.
func TestTraceStreamErrors(t *testing.T) {
	path, text := lengthenedTrace(t, 40_000)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(text)
	zw.Close()
	cut := path + ".gz"
	if err := os.WriteFile(cut, gz.Bytes()[:gz.Len()/2], 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Run(cut, Options{})
	if s == nil {
		t.Fatal(err)
	}
	defer s.Close()
	// The error is at the line the text broke off in, said once.
	var se *Error
	if !errors.As(err, &se) {
		t.Fatalf("a gzip stream cut short: %v (%T)", err, err)
	}
	if line, _ := strconv.Atoi(strings.TrimPrefix(se.Pos, cut+":")); line < 2 || se.Msg != "gunzip: unexpected EOF" || s.NumSteps() != 0 {
		t.Errorf("a gzip stream cut short: %v, %d steps", err, s.NumSteps())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c, err := RunContext(ctx, path, Options{})
	if c == nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !errors.As(err, &se) || !errors.Is(err, ErrInterrupted) || se.Msg != "cancelled while reading the trace" || c.NumSteps() != 0 {
		t.Errorf("cancelled: %v, %d steps", err, c.NumSteps())
	}
}

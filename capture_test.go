package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/allocviz/allocviz/scripts/ktrace"
)

// fakeTracefs is a directory that behaves as tracefs does for a capture:
// making a directory under instances/ fills it with what the kernel puts
// in a new instance (tracing_on, buffer_size_kb, an enable file per kmem
// and vmalloc event this kernel has, trace), and removing it removes it
// whole. trace holds what the instance "recorded".
type fakeTracefs struct {
	root    string
	trace   []byte
	missing map[string]bool // events this kernel lacks
}

func newFakeTracefs(t *testing.T, trace []byte) *fakeTracefs {
	t.Helper()
	f := &fakeTracefs{root: t.TempDir(), trace: trace, missing: map[string]bool{"vm_unmap_aliases": true}}
	if err := os.Mkdir(filepath.Join(f.root, "instances"), 0o755); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fakeTracefs) mkdir(path string) error {
	if err := os.Mkdir(path, 0o755); err != nil {
		return err
	}
	files := map[string]string{"tracing_on": "1", "buffer_size_kb": "1408", "trace": string(f.trace)}
	for _, tp := range ktrace.Tracepoints() {
		if !f.missing[tp.Name] {
			files[filepath.Join("events", tp.System, tp.Name, "enable")] = "0"
		}
	}
	for name, v := range files {
		p := filepath.Join(path, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(v), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func (f *fakeTracefs) capturer() *capturer {
	return &capturer{root: f.root, mkdir: f.mkdir, rmdir: os.RemoveAll, bufKB: 2048}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestCaptureFakeTracefs: a capture makes its own instance, sets its
// buffer, switches on exactly the memory events the kernel has, records
// only while the command runs, returns the instance's trace and removes
// the instance.
func TestCaptureFakeTracefs(t *testing.T) {
	recorded, err := os.ReadFile("testdata/ftrace-kmem-blog-slub-memleak-unfiltered.txt")
	if err != nil {
		t.Fatal(err)
	}
	f := newFakeTracefs(t, recorded)
	inst := filepath.Join(f.root, "instances", captureInstance)
	ran := false
	data, err := f.capturer().capture(func() error {
		ran = true
		if got := readFile(t, filepath.Join(inst, "tracing_on")); got != "1" {
			t.Errorf("tracing_on while the command runs: %q", got)
		}
		if got := readFile(t, filepath.Join(inst, "buffer_size_kb")); got != "2048" {
			t.Errorf("buffer_size_kb: %q", got)
		}
		for _, tp := range ktrace.Tracepoints() {
			p := filepath.Join(inst, "events", tp.System, tp.Name, "enable")
			got, err := os.ReadFile(p)
			switch {
			case f.missing[tp.Name] && !errors.Is(err, os.ErrNotExist):
				t.Errorf("%s was created", p)
			case !f.missing[tp.Name] && string(got) != "1":
				t.Errorf("%s: %q", p, got)
			}
		}
		return nil
	})
	if err != nil || !ran || string(data) != string(recorded) {
		t.Fatalf("capture: ran %v, %d bytes, %v", ran, len(data), err)
	}
	if _, err := os.Stat(inst); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the instance is still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(f.root, "instances")); err != nil {
		t.Errorf("the host's instances directory went: %v", err)
	}
}

// TestCaptureFakeTracefsFailures: an instance left by another capture, a
// kernel without the events, a command that fails (the trace is kept).
func TestCaptureFakeTracefsFailures(t *testing.T) {
	f := newFakeTracefs(t, []byte("# tracer: nop\n"))
	inst := filepath.Join(f.root, "instances", captureInstance)
	if err := os.Mkdir(inst, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := f.capturer().capture(func() error { return nil }); err == nil || !strings.Contains(err.Error(), "rmdir "+inst+" removes it") {
		t.Errorf("an existing instance: %v", err)
	}
	if err := os.Remove(inst); err != nil {
		t.Fatal(err)
	}
	for _, tp := range ktrace.Tracepoints() {
		f.missing[tp.Name] = true
	}
	if _, err := f.capturer().capture(func() error { return nil }); err == nil || !strings.Contains(err.Error(), "no kmem tracepoints") {
		t.Errorf("no events: %v", err)
	}
	if _, err := os.Stat(inst); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the instance is left after a failure")
	}
	f.missing = map[string]bool{}
	data, err := f.capturer().capture(func() error { return errors.New("exit status 3") })
	if err == nil || string(data) != "# tracer: nop\n" {
		t.Errorf("a failed command: %q, %v", data, err)
	}
}

// TestCaptureUsage refuses bad arguments before touching tracefs.
func TestCaptureUsage(t *testing.T) {
	for _, args := range [][]string{{"capture"}, {"capture", "--seconds", "1", "--", "true"}, {"capture", "--buffer-kb", "1", "--", "true"}} {
		code, out, errOut := runCLI(t, args...)
		if code != exitError || out != "" || errOut == "" {
			t.Errorf("allocviz %s: exit %d, stdout %q, stderr %q", strings.Join(args, " "), code, out, errOut)
		}
	}
	if got := shellJoin([]string{"sh", "-c", "ls -l / > /dev/null", "it's"}); got != `sh -c 'ls -l / > /dev/null' 'it'\''s'` {
		t.Errorf("shellJoin: %s", got)
	}
}

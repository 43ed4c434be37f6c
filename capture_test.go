package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

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

// captureText runs a capture and returns the text it handed on to be
// saved.
func captureText(c *capturer, wait func() error) ([]byte, error) {
	var data []byte
	err := c.capture(wait, func(trace io.Reader) error {
		var rerr error
		data, rerr = io.ReadAll(trace)
		return rerr
	})
	return data, err
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
	data, err := captureText(f.capturer(), func() error {
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
	if _, err := captureText(f.capturer(), func() error { return nil }); err == nil || !strings.Contains(err.Error(), "rmdir "+inst+" removes it") {
		t.Errorf("an existing instance: %v", err)
	}
	if err := os.Remove(inst); err != nil {
		t.Fatal(err)
	}
	for _, tp := range ktrace.Tracepoints() {
		f.missing[tp.Name] = true
	}
	if _, err := captureText(f.capturer(), func() error { return nil }); err == nil || !strings.Contains(err.Error(), "no kmem tracepoints") {
		t.Errorf("no events: %v", err)
	}
	if _, err := os.Stat(inst); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the instance is left after a failure")
	}
	f.missing = map[string]bool{}
	data, err := captureText(f.capturer(), func() error { return errors.New("exit status 3") })
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

// TestWriteCaptureStreams: a capture is written as it is read from
// tracefs (plain, gzipped, to standard output), after its comment line,
// byte for byte, and parsed on the way for the summary; a ring buffer
// that overflowed is said from the text's header.
func TestWriteCaptureStreams(t *testing.T) {
	gz, err := os.ReadFile("testdata/ftrace-kmem-6.18-ls-lR-python3.txt.gz")
	if err != nil {
		t.Fatal(err)
	}
	text, err := ktrace.Decode(gz)
	if err != nil {
		t.Fatal(err)
	}
	_, text, _ = bytes.Cut(text, []byte("\n")) // as tracefs has it: without the capture's own comment
	text = bytes.Replace(text, []byte("64836/64836"), []byte("64836/70000"), 1)
	const comment = "# allocviz: kmem trace of `ls`, recorded by allocviz capture\n"
	dir := t.TempDir()
	for _, path := range []string{filepath.Join(dir, "c.txt"), filepath.Join(dir, "c.txt.gz"), "-"} {
		var stdout, summary bytes.Buffer
		got, err := writeCapture(path, &stdout, comment, bytes.NewReader(text))
		if err != nil {
			t.Fatal(err)
		}
		written := stdout.Bytes()
		if path != "-" {
			written, err = ktrace.Decode([]byte(readFile(t, path)))
			if err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(written, append([]byte(comment), text...)) {
			t.Errorf("%s: %d bytes written, want %d", path, len(written), len(comment)+len(text))
		}
		summarizeCapture(&summary, path, got)
		where := path
		if path == "-" {
			where = "standard output"
		}
		want := "allocviz capture: 5164 of 70000 events were lost when the ring buffer filled; raise --buffer-kb or trace less\n" +
			fmt.Sprintf("allocviz capture: 64836 memory events from 64848 lines on 2 CPUs written to %s\n", where)
		if !strings.HasPrefix(summary.String(), want) {
			t.Errorf("%s: summary\n%s\nwant\n%s", path, summary.String(), want)
		}
	}
}

// failingWriter fails every write.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("no space left on device") }

// TestWriteCaptureFailures: a trace that cannot be read from tracefs to
// its end, or written, is an error, and no summary; a text longer than
// allocviz replays says so.
func TestWriteCaptureFailures(t *testing.T) {
	text := []byte("# tracer: nop\n  ls-1 [000] 1.0: kmalloc: call_site=a ptr=0xffff888000000000 bytes_req=8 bytes_alloc=8 gfp_flags=GFP_KERNEL\n")
	broken := io.MultiReader(bytes.NewReader(text), iotest.ErrReader(errors.New("input/output error")))
	if got, err := writeCapture("-", io.Discard, "# c\n", broken); got != nil || err == nil || err.Error() != "tracefs: input/output error" {
		t.Errorf("a read error: %v", err)
	}
	if got, err := writeCapture("-", failingWriter{}, "# c\n", bytes.NewReader(text)); got != nil || err == nil || !strings.Contains(err.Error(), "no space left") {
		t.Errorf("a write error: %v", err)
	}
	var summary bytes.Buffer
	summarizeCapture(&summary, "big.txt", &captured{parseErr: fmt.Errorf("big.txt:6000000: %w", ktrace.ErrTooLarge)})
	if got := summary.String(); got != "allocviz capture: big.txt holds more than allocviz replays (1 GiB of text); trace less, or with a smaller --buffer-kb\n" {
		t.Errorf("too large: %q", got)
	}
}

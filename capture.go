package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/allocviz/allocviz/allocator"
	"github.com/allocviz/allocviz/scripts/ktrace"
)

// captureInstance is the tracefs instance a capture records in: its own
// ring buffer and event switches, so the host's tracing (the top-level
// buffer, other instances) is left alone.
const captureInstance = "allocviz"

// defaultBufferKB is the instance's ring buffer per CPU: about 170,000
// kmem events per CPU before the oldest are overwritten.
const defaultBufferKB = 8192

// captureCmd is allocviz capture [-o FILE] [--seconds N] [--buffer-kb N]
// [-- COMMAND ARGS...]: record the kmem and vmalloc events of the running
// kernel while a command runs (or for N seconds) into a trace allocviz
// replays.
func captureCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("capture")
	out := fs.String("o", "allocviz-capture.txt", "write the trace to this file (.gz compresses it; - is standard output)")
	seconds := fs.Float64("seconds", 0, "record the whole system for this many seconds instead of a command")
	bufKB := fs.Int("buffer-kb", defaultBufferKB, "ring buffer per CPU, in KiB")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return flagError(err, args, stdout, stderr)
	}
	const use = "usage: allocviz capture [-o FILE] [--seconds N] [--buffer-kb N] [-- COMMAND ARGS...]"
	switch {
	case len(pos) == 0 && *seconds <= 0:
		fmt.Fprintln(stderr, "allocviz capture: give a command to trace after --, or --seconds N")
		fmt.Fprintln(stderr, use)
		return exitError
	case len(pos) > 0 && *seconds > 0:
		fmt.Fprintln(stderr, "allocviz capture: a command or --seconds, not both")
		return exitError
	case *bufKB < 4 || *bufKB > 1<<20:
		fmt.Fprintf(stderr, "allocviz capture: --buffer-kb %d is out of range (4 to 1048576)\n", *bufKB)
		return exitError
	}
	root, unmount, err := openTracefs()
	if err != nil {
		fmt.Fprintln(stderr, "allocviz capture:", err)
		return exitError
	}
	c := &capturer{root: root, mkdir: func(p string) error { return os.Mkdir(p, 0o755) }, rmdir: os.Remove, bufKB: *bufKB}
	what := fmt.Sprintf("%g s of the whole system", *seconds)
	wait := func() error { return waitSeconds(*seconds) }
	if len(pos) > 0 {
		what = "`" + shellJoin(pos) + "`"
		wait = func() error { return runTraced(pos, stdout, stderr, *out == "-") }
	}
	comment := fmt.Sprintf("# allocviz: kmem trace of %s on Linux %s, recorded by allocviz capture\n", what, kernelRelease())
	var got *captured
	err = c.capture(wait, func(trace io.Reader) error {
		var werr error
		got, werr = writeCapture(*out, stdout, comment, trace)
		return werr
	})
	if unmount != nil {
		if uerr := unmount(); uerr != nil && err == nil {
			err = fmt.Errorf("unmount tracefs: %w", uerr)
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "allocviz capture:", err) // when the command failed, its trace is still written
	}
	if got == nil {
		return exitError
	}
	summarizeCapture(stderr, *out, got)
	return exitOK
}

// capturer records one trace in a tracefs instance. mkdir and rmdir make
// and remove the instance (os.Mkdir and os.Remove on a real tracefs,
// where the kernel fills the new directory with its files).
type capturer struct {
	root         string // where tracefs is mounted
	mkdir, rmdir func(string) error
	bufKB        int
}

// capture makes the instance, switches on exactly the memory events,
// records while wait runs, and hands the instance's trace text to save
// as a stream, read from tracefs as save reads it. The instance is
// removed whatever happens. The trace is saved also when wait fails (a
// command that exited non-zero), and wait's error returned.
func (c *capturer) capture(wait func() error, save func(trace io.Reader) error) (err error) {
	inst := filepath.Join(c.root, "instances", captureInstance)
	if err := c.mkdir(inst); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s exists: another allocviz capture is running, or one was killed before it could clean up (rmdir %s removes it)", inst, inst)
		}
		return fmt.Errorf("make the tracing instance: %w", err)
	}
	defer func() {
		if rerr := c.rmdir(inst); rerr != nil && err == nil {
			err = fmt.Errorf("remove the tracing instance %s: %w", inst, rerr)
		}
	}()
	write := func(name, v string) error {
		if err := os.WriteFile(filepath.Join(inst, name), []byte(v), 0); err != nil {
			return fmt.Errorf("tracefs: %w", err)
		}
		return nil
	}
	if err := write("tracing_on", "0"); err != nil {
		return err
	}
	if err := write("buffer_size_kb", strconv.Itoa(c.bufKB)); err != nil {
		return err
	}
	enabled := 0
	for _, tp := range ktrace.Tracepoints() {
		name := filepath.Join("events", tp.System, tp.Name, "enable")
		if _, err := os.Stat(filepath.Join(inst, name)); err != nil {
			continue // this kernel has no such event (vm_unmap_aliases, or older kernels' vmalloc events)
		}
		if err := write(name, "1"); err != nil {
			return err
		}
		enabled++
	}
	if enabled == 0 {
		return fmt.Errorf("no kmem tracepoints under %s: a kernel built without them?", filepath.Join(inst, "events"))
	}
	if err := write("tracing_on", "1"); err != nil {
		return err
	}
	werr := wait()
	if err := write("tracing_on", "0"); err != nil {
		return err
	}
	f, err := os.Open(filepath.Join(inst, "trace"))
	if err != nil {
		return fmt.Errorf("tracefs: %w", err)
	}
	defer f.Close()
	// The instance stays until the trace is saved, so nothing may end the
	// process before: a reader of standard output that goes away (| head)
	// makes the write fail instead, and an interrupt waits for the end.
	signal.Ignore(os.Interrupt, syscall.SIGTERM, syscall.SIGPIPE)
	defer signal.Reset(os.Interrupt, syscall.SIGTERM, syscall.SIGPIPE)
	if err := save(f); err != nil {
		return err
	}
	return werr
}

// waitSeconds waits n seconds, or until an interrupt.
func waitSeconds(n float64) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	t := time.NewTimer(time.Duration(n * float64(time.Second)))
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
	return nil
}

// runTraced runs the traced command with the terminal's input; its
// output goes to stdout, or to stderr when the trace itself does. An
// interrupt goes to the command (it shares the terminal) and capture
// carries on to clean up.
func runTraced(argv []string, stdout, stderr io.Writer, traceOnStdout bool) error {
	signal.Ignore(os.Interrupt)
	defer signal.Reset(os.Interrupt)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, stdout, stderr
	if traceOnStdout {
		cmd.Stdout = stderr
	}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w (the trace is written all the same)", argv[0], err)
	}
	return nil
}

// captured is what writeCapture read, for the summary.
type captured struct {
	head     []byte        // the first bytes of the text, where its header is
	trace    *ktrace.Trace // the text scanned as it was written (ktrace.Scan: counts, no records); nil when it could not be (parseErr)
	parseErr error
}

// captureHead is how much of a capture's text is kept for its header.
const captureHead = 4096

// writeCapture writes comment and then the trace text r reads to path,
// gzipped for .gz, standard output for -, as a stream: the text is
// scanned on its way through, for the summary, and never held whole.
// Nothing is returned when the trace cannot be read or written.
func writeCapture(path string, stdout io.Writer, comment string, r io.Reader) (*captured, error) {
	var w io.Writer = stdout
	var closers []func() error
	if path != "-" {
		f, err := os.Create(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		w, closers = f, append(closers, f.Close)
		if strings.HasSuffix(path, ".gz") {
			zw := gzip.NewWriter(f)
			w, closers = zw, append([]func() error{zw.Close}, closers...)
		}
	}
	out := &stickyWriter{w: w}
	in := &stickyReader{r: r}
	out.Write([]byte(comment))
	got := &captured{head: make([]byte, captureHead)}
	n, _ := io.ReadFull(in, got.head)
	got.head = got.head[:n]
	out.Write(got.head)
	text := io.MultiReader(bytes.NewReader(got.head), io.TeeReader(in, out))
	got.trace, got.parseErr = ktrace.Scan(context.Background(), path, text, ktrace.MaxBytes)
	io.Copy(out, in) // what the parse left: it stops early on a text longer than allocviz replays
	switch {
	case in.err != nil:
		return nil, fmt.Errorf("tracefs: %w", in.err)
	case out.err != nil:
		return nil, out.err
	}
	for _, c := range closers {
		if err := c(); err != nil {
			return nil, err
		}
	}
	return got, nil
}

// stickyReader reads r and keeps its first error other than io.EOF.
type stickyReader struct {
	r   io.Reader
	err error
}

func (s *stickyReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) && s.err == nil {
		s.err = err
	}
	return n, err
}

// stickyWriter writes to w until a write fails, then keeps that error
// and takes the rest without writing it, so that a reader teed into it
// reads on.
type stickyWriter struct {
	w   io.Writer
	err error
}

func (s *stickyWriter) Write(p []byte) (int, error) {
	if s.err == nil {
		_, s.err = s.w.Write(p)
	}
	return len(p), nil
}

// summarizeCapture says what was recorded, and warns when the ring buffer
// overflowed ("# entries-in-buffer/entries-written: 100/150").
func summarizeCapture(w io.Writer, path string, got *captured) {
	if i := bytes.Index(got.head, []byte("entries-in-buffer/entries-written: ")); i >= 0 {
		var kept, written int
		if _, err := fmt.Sscanf(string(got.head[i:]), "entries-in-buffer/entries-written: %d/%d", &kept, &written); err == nil && written > kept {
			fmt.Fprintf(w, "allocviz capture: %d of %d events were lost when the ring buffer filled; raise --buffer-kb or trace less\n", written-kept, written)
		}
	}
	t := got.trace
	switch {
	case errors.Is(got.parseErr, ktrace.ErrTooLarge):
		fmt.Fprintf(w, "allocviz capture: %s holds more than allocviz replays (%s of text); trace less, or with a smaller --buffer-kb\n",
			path, allocator.FormatBytes(ktrace.MaxBytes))
		return
	case t == nil:
		fmt.Fprintf(w, "allocviz capture: %s holds no memory events\n", path)
		return
	}
	where := path
	if path == "-" {
		where = "standard output"
	}
	fmt.Fprintf(w, "allocviz capture: %d memory events from %d lines on %d CPUs written to %s\n", t.Stats.Memory(), t.Stats.Lines, t.CPUs, where)
	if path != "-" {
		fmt.Fprintf(w, "  allocviz %s opens it; allocviz trace stats %s sums it up\n", path, path)
	}
}

// shellJoin writes a command as a shell would need it typed: arguments
// with spaces or shell characters in single quotes.
func shellJoin(argv []string) string {
	out := make([]string, len(argv))
	for i, a := range argv {
		if a == "" || strings.ContainsAny(a, " \t\n'\"\\$`;&|<>*?()[]{}~#!") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		out[i] = a
	}
	return strings.Join(out, " ")
}

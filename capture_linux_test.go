//go:build linux

package main

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/allocviz/allocviz/allocator"
	"github.com/allocviz/allocviz/scripts/ktrace"
)

// TestCaptureRealTracefs captures `ls` on this machine's kernel when it
// can (root, and tracefs mounted or mountable), and leaves tracefs as it
// found it: no instance, mounted only if it was.
func TestCaptureRealTracefs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("capturing needs root: run the tests as root to capture for real")
	}
	before, wasMounted := mountedTracefs()
	out := filepath.Join(t.TempDir(), "ls.txt.gz")
	code, stdout, errOut := runCLI(t, "capture", "-o", out, "--", "sh", "-c", "ls -l / > /dev/null")
	if code == exitError && strings.Contains(errOut, "tracefs is not mounted and mounting it") {
		t.Skipf("tracefs cannot be mounted here: %s", errOut)
	}
	if code != exitOK || stdout != "" || !strings.Contains(errOut, "memory events from") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, errOut)
	}
	after, isMounted := mountedTracefs()
	if isMounted != wasMounted || after != before {
		t.Errorf("tracefs mounted at %q (%v) before, %q (%v) after", before, wasMounted, after, isMounted)
	}
	if isMounted {
		if _, err := os.Stat(filepath.Join(after, "instances", captureInstance)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the capture's instance is left: %v", err)
		}
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := ktrace.Parse(out, data)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Stats.Unparsed != 0 || tr.Stats.Memory() == 0 || tr.CPUs < 1 ||
		!strings.HasPrefix(tr.Comment, "kmem trace of `sh -c 'ls -l / > /dev/null'` on Linux ") {
		t.Errorf("the capture: %d unparsed, %d memory events, %d cpus, comment %q", tr.Stats.Unparsed, tr.Stats.Memory(), tr.CPUs, tr.Comment)
	}
	// Whether allocviz agrees with this kernel depends on the kernel (the
	// fixtures pin 6.18's); the capture is what is tested here.
	rep, err := ktrace.Analyze(out, bytes.NewReader(data), allocator.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("this kernel: %d kmallocs agree with allocviz, %d disagree", rep.Replay.KsizeAgree, rep.Replay.KsizeDiffer)
}

// TestCaptureToAClosedPipe: a capture to standard output whose reader
// goes away (allocviz capture -o - | head) ends with the write's error,
// and still removes its tracing instance; it used to be killed by
// SIGPIPE while the instance was there, once the trace was streamed.
func TestCaptureToAClosedPipe(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("capturing needs root: run the tests as root to capture for real")
	}
	root, mounted := mountedTracefs()
	if !mounted {
		t.Skip("tracefs is not mounted here")
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd := exec.Command(allocvizBinary(t), "capture", "-o", "-", "--", "sh", "-c", "ls -lR /usr/lib > /dev/null")
	cmd.Stdout, cmd.Stderr = w, &stderr
	err = cmd.Start()
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	first, err := bufio.NewReader(r).ReadString('\n')
	r.Close() // the reader goes away
	code := waitExit(t, cmd, 20*time.Second)
	if err != nil || !strings.HasPrefix(first, "# allocviz: kmem trace of") {
		t.Fatalf("first line %q, %v; stderr %s", first, err, stderr.String())
	}
	if code != exitError || !strings.Contains(stderr.String(), "broken pipe") {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
	if _, err := os.Stat(filepath.Join(root, "instances", captureInstance)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the capture's instance is left: %v", err)
	}
}

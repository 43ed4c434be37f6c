package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runawayInputs are the inputs that used to take allocviz down: out of
// memory, Go panics, loops nothing could stop. Each must end with a
// positioned error (or, the last ones, run): in allocviz run, and typed
// at the interface's prompt (TestInterfaceSurvivesRunawayInputs).
var runawayInputs = []struct {
	name, src string
	flags     []string
	want      string // the error after file:line:col, or "" for a run that succeeds
}{
	{"list of a huge range", "x = list(range(1 << 40))", nil, "list: 1099511627776 elements would take 16 TiB, over the memory budget of 256 MiB"},
	{"sorted of a huge range", "x = sorted(range(1 << 40))", nil, "sorted: 1099511627776 elements"},
	{"tuple of a huge range", "x = tuple(range(1 << 40))", nil, "tuple: 1099511627776 elements"},
	{"list of 2^33", "x = list(range(1 << 33))", nil, "list: 8589934592 elements would take 128 GiB"},
	{"string doubled", "s = 'x'\nwhile True:\n    s = s + s", nil, "over the"},
	{"list doubled", "l = [0]\nwhile True:\n    l = l + l", nil, "over the"},
	{"dict filled", "d = {}\nfor i in range(1 << 40):\n    d[i] = 'x' * 1000", nil, "memory budget exceeded: the Go heap reached"},
	{"list of a long kvec", "v = kvec(0)\nv.resize(1 << 62, 0)\nx = list(v)", nil, "list: 4611686018427387904 elements"},
	{"tuple of a long kvec", "v = kvec(0)\nv.resize(1 << 62, 0)\nx = tuple(v)", nil, "tuple: 4611686018427387904 elements"},
	{"sorted of a long kvec", "v = kvec(0)\nv.resize(1 << 62, 0)\nx = sorted(v)", nil, "sorted: 4611686018427387904 elements"},
	{"enumerate of a long kvec", "v = kvec(0)\nv.resize(1 << 62, 0)\nx = enumerate(v)", nil, "enumerate: 4611686018427387904 elements"},
	{"reversed of a long kvec", "v = kvec(0)\nv.resize(1 << 62, 0)\nx = reversed(v)", nil, "reversed: 4611686018427387904 elements"},
	{"zip of a long kvec", "v = kvec(0)\nv.resize(1 << 62, 0)\nx = zip(v, v)", nil, "zip: 4611686018427387904 elements"},
	{"max of a huge range", "max(range(1 << 62))", []string{"--max-steps", "1000"}, "execution limit reached: 1000000 Starlark steps"},
	{"set of a long kvec", "v = kvec(0)\nv.resize(1 << 62, 0)\nset(v)", nil, "set: 4611686018427387904 elements"},
	{"max of a long kvec", "v = kvec(0)\nv.resize(1 << 62, 0)\nmax(v)", []string{"--max-steps", "1000"}, "execution limit reached"},
	{"any of a long kvec", "v = kvec(0)\nv.resize(1 << 62, 0)\nany(v)", []string{"--max-steps", "1000"}, "execution limit reached"},
	{"str of a deep list", "x = []\nfor i in range(1000000):\n    x = [x]\nstr(x)", []string{"--max-steps", "1000000"}, "str: the value is nested more than 100 levels deep"},
	{"NUL byte", "p = kmalloc(8)\ncheck(False)\x00\ncheck(False)\n", nil, "a NUL byte in the source: a script must be UTF-8 text"},
	{"max-steps overflow", "p = kmalloc(8)", []string{"--max-steps", "184467440737095517"}, "--max-steps 184467440737095517 is out of range"},
	{"vmalloc until NULL, then more", "n = 0\nwhile vmalloc(4096):\n    n += 1\ncheck(n > 1000, 'areas')\nx = list(range(100000))\np = kmalloc(64)\ncheck(p != None, 'kmalloc after')\n",
		[]string{"--ram", "512M"}, ""},
	{"frees of plain addresses", "check(kvfree(ZERO_SIZE_PTR) == True)\ncheck(vfree(0) == None)\np = alloc_pages(0)\ncheck(free_pages(p.addr, 0) == True)\n", nil, ""},
}

// TestRunawayInputsInRun runs each input with allocviz run: exit 2 and a
// one-line positioned error on stderr, no Go stack trace.
func TestRunawayInputsInRun(t *testing.T) {
	for _, tc := range runawayInputs {
		t.Run(tc.name, func(t *testing.T) {
			path := writeScript(t, "input.star", tc.src)
			args := append([]string{"run", path, "--max-memory", "256M"}, tc.flags...)
			start := time.Now()
			code, out, errOut := runCLI(t, args...)
			if d := time.Since(start); d > 20*time.Second {
				t.Errorf("took %v", d)
			}
			if tc.want == "" {
				if code != exitOK || errOut != "" {
					t.Fatalf("exit %d, stderr %q", code, errOut)
				}
				return
			}
			line := regexp.MustCompile(`^(?:` + regexp.QuoteMeta(path) + `:\d+:\d+: |allocviz: )(.*)\n$`).FindStringSubmatch(errOut)
			if code != exitError || line == nil || !strings.Contains(line[1], tc.want) {
				t.Errorf("exit %d, stderr %q; want exit 2 and ...%s", code, errOut, tc.want)
			}
			if strings.Contains(out+errOut, "goroutine ") || strings.Contains(out+errOut, "panic") {
				t.Errorf("a Go stack trace:\n%s%s", out, errOut)
			}
		})
	}
}

// TestRunAcceptsOnlySaneNumbers: numeric flags reject what does not fit.
func TestRunAcceptsOnlySaneNumbers(t *testing.T) {
	for _, args := range [][]string{
		{"--max-steps", "184467440737095517"},
		{"--max-steps", "99999999999999999999999"},
		{"--max-steps", "-1"},
		{"--cpus", "99999999999999999999"},
		{"--ram", "99999999999T"},
		{"--seed", "-1"},
		{"--max-memory", "1e9"},
		{"--timeout", "-5s"},
		{"--timeout", "9999999999h"},
	} {
		code, out, errOut := runCLI(t, append([]string{"run", "buddy"}, args...)...)
		if code != exitError || out != "" || errOut == "" || strings.Contains(errOut, "goroutine") {
			t.Errorf("%v: exit %d, stdout %d bytes, stderr %q", args, code, len(out), errOut)
		}
	}
	code, _, errOut := runCLI(t, "run", "buddy", "--max-steps", "1099511627776")
	if code != exitOK {
		t.Errorf("--max-steps 2^40: exit %d, %s", code, errOut)
	}
}

// TestRunTimeout stops a script that runs too long.
func TestRunTimeout(t *testing.T) {
	path := writeScript(t, "loop.star", "p = kmalloc(8)\nwhile True:\n    pass\n")
	start := time.Now()
	code, out, errOut := runCLI(t, "run", path, "--timeout", "300ms", "--max-steps", "1099511627776")
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %v", d)
	}
	if code != exitError || !strings.HasSuffix(errOut, ": timed out after 300ms (--timeout)\n") || !strings.HasPrefix(out, "1 ") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// startRun starts the built binary with args and returns it with a
// reader of its standard output.
func startRun(t *testing.T, args ...string) (*exec.Cmd, *bufio.Reader, *strings.Builder) {
	t.Helper()
	cmd := exec.Command(allocvizBinary(t), args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd, bufio.NewReader(stdout), &stderr
}

// waitExit waits for cmd to end, at most within, and returns its status.
func waitExit(t *testing.T, cmd *exec.Cmd, within time.Duration) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(within):
		t.Fatalf("allocviz did not exit within %v", within)
		return -1
	}
}

// TestRunEndsOnSignals sends SIGINT, SIGTERM and SIGHUP to allocviz run
// in the middle of a long script (in allocator steps, and in a builtin's
// loop): it exits within a second with 128+n, and what it printed, one
// line per step, has reached standard output, printed as the steps ran.
func TestRunEndsOnSignals(t *testing.T) {
	scripts := map[string]string{
		"steps": "for i in range(1 << 40):\n    kfree(kmalloc(64))\n",
		"loop":  "kfree(kmalloc(64))\nkfree(kmalloc(64))\nprint('looping')\nmax(range(1 << 62))\n",
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP} {
		for name, src := range scripts {
			t.Run(fmt.Sprintf("%s/%s", signalName(sig), name), func(t *testing.T) {
				path := writeScript(t, name+".star", src)
				cmd, stdout, stderr := startRun(t, "run", path, "--max-steps", "1099511627776")
				// The first lines arrive while the script runs.
				var lines []string
				for len(lines) < 3 {
					l, err := stdout.ReadString('\n')
					if err != nil {
						t.Fatalf("stdout ended after %q: %v; stderr %s", lines, err, stderr)
					}
					lines = append(lines, l)
				}
				if err := cmd.Process.Signal(sig); err != nil {
					t.Fatal(err)
				}
				sent := time.Now()
				rest, _ := io.ReadAll(stdout)
				code := waitExit(t, cmd, 2*time.Second)
				// allocviz gives itself a second; the rest is the test's
				// reading, on a machine that may be busy.
				if d := time.Since(sent); d > 1500*time.Millisecond {
					t.Errorf("exited %v after %v", d, signalName(sig))
				}
				if code != 128+int(sig) {
					t.Errorf("exit %d, want %d; stderr %s", code, 128+int(sig), stderr)
				}
				if !strings.Contains(stderr.String(), ": interrupted by "+signalName(sig)+"\n") {
					t.Errorf("stderr %q", stderr)
				}
				all := append(lines, strings.SplitAfter(string(rest), "\n")...)
				for i, l := range all {
					if l == "" {
						continue
					}
					if !strings.HasSuffix(l, "\n") || !stepLine.MatchString(strings.TrimSuffix(l, "\n")) && !strings.Contains(l, "print") {
						t.Errorf("line %d is not a whole step line: %q", i+1, l)
					}
				}
			})
		}
	}
}

// TestRunOutputSurvivesAKill: with SIGKILL nothing can flush, but what
// was printed at least 100 ms before has reached standard output.
func TestRunOutputSurvivesAKill(t *testing.T) {
	path := writeScript(t, "steps.star", "for i in range(1 << 40):\n    kfree(kmalloc(64))\n")
	cmd, stdout, _ := startRun(t, "run", path, "--max-steps", "1099511627776")
	first, err := stdout.ReadString('\n')
	if err != nil || !strings.HasPrefix(first, "1 ") {
		t.Fatalf("first line %q, %v", first, err)
	}
	cmd.Process.Kill()
	waitExit(t, cmd, 2*time.Second)
}

// TestStreamFlushesWhileRunning checks the stream on its own: a line
// written reaches the writer within flushEvery, without Close.
func TestStreamFlushesWhileRunning(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	s := newStream(w)
	s.Printf("1\ta\tb\n")
	got := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(r).ReadString('\n')
		got <- l
	}()
	select {
	case l := <-got:
		if l != "1\ta\tb\n" {
			t.Errorf("line %q", l)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the line was not flushed")
	}
	if err := s.Close(); err != nil {
		t.Error(err)
	}
	w.Close()
	s.Printf("after close\n") // dropped, not a panic
}

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// tmuxSession is the real binary running in a detached tmux session.
type tmuxSession struct {
	t    *testing.T
	name string // tmux session name
}

// startTmux builds allocviz into a temporary directory and starts it with
// args in a new tmux session of w x h cells. The test is skipped when tmux
// is not installed.
func startTmux(t *testing.T, w, h int, env []string, args ...string) *tmuxSession {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed: the end-to-end terminal test needs it (apt-get install tmux)")
	}
	cmdline := append([]string{"env", "TERM=xterm-256color"}, env...)
	cmdline = append(cmdline, allocvizBinary(t))
	return startTmuxCommand(t, w, h, append(cmdline, args...))
}

// startTmuxCommand runs cmdline in a new tmux session of w x h cells.
func startTmuxCommand(t *testing.T, w, h int, cmdline []string) *tmuxSession {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed: the end-to-end terminal test needs it (apt-get install tmux)")
	}
	s := &tmuxSession{t: t, name: fmt.Sprintf("allocviz-test-%d-%d", os.Getpid(), tmuxSessions.Add(1))}
	// Every session gets its own tmux server (-L), so the test never
	// touches the user's sessions.
	tmuxArgs := append([]string{"new-session", "-d", "-s", s.name, "-x", fmt.Sprint(w), "-y", fmt.Sprint(h)}, cmdline...)
	if out, err := s.tmux(tmuxArgs...); err != nil {
		t.Fatalf("tmux new-session: %v\n%s", err, out)
	}
	t.Cleanup(func() { s.tmux("kill-server") })
	return s
}

// tmuxSessions numbers the tests' tmux servers, so that one never
// starts on the socket of another that is still shutting down.
var tmuxSessions atomic.Int64

// built is the allocviz binary the tests run, built once.
var built struct {
	once sync.Once
	dir  string
	err  error
}

// allocvizBinary builds allocviz once per test run and returns its path.
func allocvizBinary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		built.dir, built.err = os.MkdirTemp("", "allocviz-test-")
		if built.err != nil {
			return
		}
		out, err := exec.Command("go", "build", "-o", filepath.Join(built.dir, "allocviz"), ".").CombinedOutput()
		if err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return filepath.Join(built.dir, "allocviz")
}

// TestMain removes the binary the tests built.
func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// tmux runs a tmux command against this test's server.
func (s *tmuxSession) tmux(args ...string) (string, error) {
	out, err := exec.Command("tmux", append([]string{"-L", s.name}, args...)...).CombinedOutput()
	return string(out), err
}

// keys sends tmux key names (n, Enter, Escape, Left) one at a time.
func (s *tmuxSession) keys(keys ...string) {
	s.t.Helper()
	for _, k := range keys {
		if out, err := s.tmux("send-keys", "-t", s.name, k); err != nil {
			s.t.Fatalf("send-keys %q: %v\n%s", k, err, out)
		}
	}
}

// typeText sends literal text.
func (s *tmuxSession) typeText(text string) {
	s.t.Helper()
	if out, err := s.tmux("send-keys", "-t", s.name, "-l", text); err != nil {
		s.t.Fatalf("send-keys -l %q: %v\n%s", text, err, out)
	}
}

// screen returns what the terminal shows.
func (s *tmuxSession) screen() string {
	out, err := s.tmux("capture-pane", "-p", "-t", s.name)
	if err != nil {
		return ""
	}
	return out
}

// waitFor polls the screen until it contains want, failing after a
// deadline with the last screen.
func (s *tmuxSession) waitFor(want string) string {
	s.t.Helper()
	return s.waitUntil(fmt.Sprintf("%q", want), func(scr string) bool { return strings.Contains(scr, want) })
}

// waitUntil polls the screen until ok accepts it.
func (s *tmuxSession) waitUntil(what string, ok func(screen string) bool) string {
	s.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		scr := s.screen()
		if ok(scr) {
			return scr
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("the screen never showed %s; it shows:\n%s", what, scr)
		}
		// Poll: tmux needs a moment to draw, and the test has
		// nothing else to wait on.
		<-time.After(20 * time.Millisecond)
	}
}

// waitGone waits until the program has exited and tmux closed its session.
func (s *tmuxSession) waitGone() {
	s.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if _, err := s.tmux("has-session", "-t", s.name); err != nil {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("allocviz did not exit; the screen shows:\n%s", s.screen())
		}
		<-time.After(20 * time.Millisecond)
	}
}

// TestTerminal runs the real binary in tmux and uses it as a person
// would: step, step back, type a statement, resize, quit.
func TestTerminal(t *testing.T) {
	script := filepath.Join(t.TempDir(), "three.star")
	src := "\"\"\"Three pages.\"\"\"\na = alloc_pages(0)\nb = alloc_pages(1)\nfree_pages(a, 0)\n"
	if err := os.WriteFile(script, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startTmux(t, 80, 24, nil, script)
	s.waitFor("step 0 of 3")
	s.keys("n", "n")
	s.waitFor("step 2 of 3")
	s.keys("Left")
	scr := s.waitFor("step 1 of 3")
	if !strings.Contains(scr, "alloc_pages(0") {
		t.Errorf("step 1's narration should show its call:\n%s", scr)
	}

	s.keys("G", ":")
	s.waitFor(">>>")
	s.typeText("c = alloc_pages(2)")
	s.keys("Enter")
	s.waitFor("step 4 of 4")
	s.keys("Escape")

	if out, err := s.tmux("resize-window", "-t", s.name, "-x", "200", "-y", "60"); err != nil {
		t.Fatalf("resize: %v\n%s", err, out)
	}
	// Only the wide layout shows every pane at once, the inspector's
	// too; the footer is the last line drawn.
	scr = s.waitUntil("the wide layout", func(scr string) bool {
		lines := strings.Split(strings.TrimRight(scr, "\n"), "\n")
		return strings.Contains(scr, "Inspector") && len(lines) == 60 && strings.Contains(lines[59], "quit")
	})
	for _, pane := range []string{"Physical pages", "Slab caches", "vmalloc space", "Realloc decisions", "Event log"} {
		if !strings.Contains(scr, pane) {
			t.Errorf("at 200x60 the %s pane is missing:\n%s", pane, scr)
		}
	}
	if out, err := s.tmux("resize-window", "-t", s.name, "-x", "70", "-y", "20"); err != nil {
		t.Fatalf("resize: %v\n%s", err, out)
	}
	s.waitFor("terminal too small (need 80x24)")

	s.keys("q")
	s.waitGone()
}

// TestNoTerminalRunsHeadless checks that allocviz without a terminal (a
// pipe, CI) does not wait for keys that never come: it runs the tour
// headless and says so on stderr.
func TestNoTerminalRunsHeadless(t *testing.T) {
	var stdout, stderr strings.Builder
	code := cli(nil, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "not a terminal") || !strings.Contains(stderr.String(), "allocviz run tour") {
		t.Errorf("stderr should say why it runs headless: %q", stderr.String())
	}
	lines := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
	if len(lines) < 20 || !strings.HasPrefix(strings.Fields(lines[0])[1], "tour.star:") {
		t.Fatalf("stdout should be the tour's steps, got %d lines starting %q", len(lines), lines[0])
	}

	stderr.Reset()
	stdout.Reset()
	if code := cli([]string{"buddy", "--palette", "cb", "--ram", "32M"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("allocviz buddy --palette cb --ram 32M without a terminal: exit %d; stderr:\n%s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "buddy.star:") || !strings.Contains(stdout.String(), "8192 pages") {
		t.Errorf("the headless run should honour the machine flags:\n%s", stdout.String())
	}
	if code := cli([]string{"buddy", "--palette", "plaid"}, &stdout, &stderr); code != exitError {
		t.Errorf("an unknown palette: exit %d, want %d", code, exitError)
	}
	stderr.Reset()
	if code := cli([]string{"no-such-scenario"}, &stdout, &stderr); code != exitError || !strings.Contains(stderr.String(), "no-such-scenario") {
		t.Errorf("an unknown scenario: exit %d, stderr %q", code, stderr.String())
	}
}

// TestTerminalNoColor checks NO_COLOR: no colour escape sequences at all,
// while reverse video still marks the status bar and the step's changes.
func TestTerminalNoColor(t *testing.T) {
	s := startTmux(t, 100, 30, []string{"NO_COLOR=1"}, "tour")
	s.waitFor("step 0 of")
	s.keys("n", "n", "n")
	s.waitFor("step 3 of")
	out, err := s.tmux("capture-pane", "-e", "-p", "-t", s.name)
	if err != nil {
		t.Fatalf("capture-pane -e: %v", err)
	}
	sgr := regexp.MustCompile("\x1b\\[([0-9;]*)m")
	var reverse bool
	for _, m := range sgr.FindAllStringSubmatch(out, -1) {
		params := strings.Split(m[1], ";")
		for i, p := range params {
			switch p {
			case "38", "48":
				t.Fatalf("NO_COLOR is set but the screen has a colour sequence %q", m[0])
			case "7":
				reverse = true
			}
			if n, err := strconv.Atoi(p); err == nil && (30 <= n && n <= 37 || 40 <= n && n <= 47 || 90 <= n && n <= 107) && (i == 0 || params[i-1] != "38" && params[i-1] != "48") {
				t.Fatalf("NO_COLOR is set but the screen has a colour sequence %q", m[0])
			}
		}
	}
	if !reverse {
		t.Errorf("without colour, reverse video should still mark the status bar and the changes:\n%q", out)
	}
}

package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// watchedTUI is allocviz in tmux, started by a shell that records its
// pid and, when it exits, its status: tmux's own record of a dead pane's
// status is not reliable.
type watchedTUI struct {
	*tmuxSession
	pidFile, statusFile string
}

// startWatched starts allocviz with args in a new tmux session of w x h
// cells, under a shell that outlives it.
func startWatched(t *testing.T, w, h int, args ...string) *watchedTUI {
	t.Helper()
	dir := t.TempDir()
	v := &watchedTUI{pidFile: filepath.Join(dir, "pid"), statusFile: filepath.Join(dir, "status")}
	script := `env TERM=xterm-256color "$0" "$@" & echo $! > ` + v.pidFile + `; wait $!; echo $? > ` + v.statusFile + `; exec sleep 600`
	v.tmuxSession = startTmuxCommand(t, w, h, append([]string{"sh", "-c", script, allocvizBinary(t)}, args...))
	return v
}

// pid returns allocviz's process id.
func (v *watchedTUI) pid() int {
	v.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(v.pidFile)
		if n, perr := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && perr == nil {
			return n
		}
		if time.Now().After(deadline) {
			v.t.Fatal("no pid file")
		}
		<-time.After(10 * time.Millisecond)
	}
}

// waitExit waits, at most within, for allocviz to exit and returns its
// status and whether the terminal was left in the alternate screen.
func (v *watchedTUI) waitExit(within time.Duration) (status int, altScreen bool) {
	v.t.Helper()
	deadline := time.Now().Add(within)
	for {
		b, err := os.ReadFile(v.statusFile)
		if n, perr := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && perr == nil {
			return n, v.pane("#{alternate_on}") == "1"
		}
		if time.Now().After(deadline) {
			v.t.Fatalf("allocviz did not exit within %v; the screen shows:\n%s", within, v.screen())
		}
		<-time.After(10 * time.Millisecond)
	}
}

// running reports whether allocviz is still running.
func (v *watchedTUI) running() bool {
	_, err := os.Stat(v.statusFile)
	return err != nil
}

// pane returns a tmux format of the session's pane, such as
// #{alternate_on}.
func (s *tmuxSession) pane(format string) string {
	out, err := s.tmux("display-message", "-p", "-t", s.name, format)
	if err != nil {
		s.t.Fatalf("display-message %s: %v\n%s", format, err, out)
	}
	return strings.TrimSpace(out)
}

// TestInterfaceSurvivesRunawayInputs types each input of the issue's
// table at the prompt: each ends with its error under the prompt, and
// the interface stays up; then it quits normally.
func TestInterfaceSurvivesRunawayInputs(t *testing.T) {
	s := startWatched(t, 160, 40, "buddy", "--max-memory", "256M", "--ram", "512M")
	s.waitFor("step 0 of")
	s.keys("G", ":")
	s.waitFor(">>>")
	prev := ""
	for _, tc := range []struct{ stmt, want string }{
		{"x = list(range(1 << 40))", "list: 1099511627776 elements would take 16 TiB"},
		{"x = sorted(range(1 << 40))", "sorted: 1099511627776 elements"},
		{"x = tuple(range(1 << 40))", "tuple: 1099511627776 elements"},
		{"x = list(range(1 << 33))", "list: 8589934592 elements"},
		{"s = 'x'", "no new step"},
		{"for i in range(64): s = s + s", "over the|execution limit reached"},
		{"l = [0]", "no new step"},
		{"for i in range(64): l = l + l", "over the|execution limit reached"},
		{"d = {}", "no new step"},
		{"for i in range(1 << 40): d[i] = 'x' * 1000", "memory budget exceeded|execution limit reached"},
		{"v = kvec(0)", "step 32: v = kvec(0)"},
		{"v.resize(1 << 62, 0)", "step 33: v.resize"},
		{"list(v)", "list: 4611686018427387904 elements"},
		{"tuple(v)", "tuple: 4611686018427387904 elements"},
		{"sorted(v)", "sorted: 4611686018427387904 elements"},
		{"enumerate(v)", "enumerate: 4611686018427387904 elements"},
		{"reversed(v)", "reversed: 4611686018427387904 elements"},
		{"zip(v, v)", "zip: 4611686018427387904 elements"},
		{"set(v)", "set: 4611686018427387904 elements"},
		{"max(v)", "execution limit reached"},
		{"any(v)", "execution limit reached"},
		{"max(range(1 << 62))", "execution limit reached"},
		{"x = []", "no new step"},
		{"for i in range(20000): x = [x]", "no new step"},
		{"str(x)", "str: the value is nested more than 100 levels deep"},
		{"x", "<list nested more than 100 levels deep>"},
		{"for i in range(20000): vmalloc(4096)", "step limit reached: 10000 allocator steps in one statement"},
		{"for i in range(20000): vmalloc(4096)", "step limit reached: 10000 allocator steps in one statement"},
		{"for i in range(20000): vmalloc(4096)", "step limit reached: 10000 allocator steps in one statement"},
		{"for i in range(20000): vmalloc(4096)", "step limit reached: 10000 allocator steps in one statement"},
		{"w = vmalloc(4096)", "step 40034: w = vmalloc(4096)"},
		{"w == None", "w == None = True"},
		{"y = list(range(100000))", "no new step"},
		{"kvfree(ZERO_SIZE_PTR)", "= True"},
		{"vfree(0)", "kvfree"},
		{"p = kmalloc(64)", "p = kmalloc(64)"},
	} {
		// A statement that failed comes back on the line: the screen
		// shows the next one typed only once C-u has cleared it, or a
		// repeated statement would be taken for typed too early and its
		// Enter sent while the one before still ran.
		if prev != "" {
			s.keys("C-u")
			s.waitUntil("the line cleared", func(scr string) bool { return !strings.Contains(scr, ">>> "+prev) })
		}
		prev = tc.stmt
		s.typeText(tc.stmt)
		typed := s.waitFor(">>> " + tc.stmt)
		s.keys("Enter")
		scr := s.waitUntil(tc.want, func(scr string) bool {
			if scr == typed {
				return false
			}
			for _, w := range strings.Split(tc.want, "|") {
				if strings.Contains(scr, w) {
					return true
				}
			}
			return false
		})
		if !s.running() {
			t.Fatalf("after %s the interface exited:\n%s", tc.stmt, scr)
		}
	}
	// Escape and q sent together read as alt+q: close the prompt first.
	s.keys("Escape")
	s.waitFor("next step")
	s.keys("q")
	if status, alt := s.waitExit(5 * time.Second); status != 0 || alt {
		t.Errorf("quit: exit %d, alternate screen still on: %v", status, alt)
	}
}

// TestInterfaceOpensAScriptWithANulByte: the script's error is shown,
// and the interface stays up.
func TestInterfaceOpensAScriptWithANulByte(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nul.star")
	if err := os.WriteFile(path, []byte("p = kmalloc(8)\ncheck(False)\x00\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startWatched(t, 200, 30, path)
	s.waitFor("a NUL byte in the source")
	s.keys("q")
	if status, alt := s.waitExit(5 * time.Second); status != 0 || alt {
		t.Errorf("quit: exit %d, alternate screen %v", status, alt)
	}
}

// TestInterfaceEndsOnSignals sends SIGINT, SIGTERM and SIGHUP to the
// interface while it loads a script that never ends, and while it waits
// for keys: it exits within a second with 128+n and the terminal out of
// the alternate screen.
func TestInterfaceEndsOnSignals(t *testing.T) {
	loop := filepath.Join(t.TempDir(), "loop.star")
	if err := os.WriteFile(loop, []byte("p = kmalloc(8)\nwhile True:\n    pass\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP} {
		for _, busy := range []bool{true, false} {
			name := signalName(sig) + "/idle"
			args := []string{"buddy"}
			if busy {
				name = signalName(sig) + "/loading"
				args = []string{loop, "--max-steps", "1099511627776"}
			}
			t.Run(name, func(t *testing.T) {
				s := startWatched(t, 100, 30, args...)
				if busy {
					s.waitFor("opening")
				} else {
					s.waitFor("step 0 of")
				}
				if err := syscall.Kill(s.pid(), sig); err != nil {
					t.Fatal(err)
				}
				sent := time.Now()
				status, alt := s.waitExit(5 * time.Second)
				// allocviz gives itself a second; the rest is the shell's
				// wait and this test's polling, on a machine that may be busy.
				if d := time.Since(sent); d > 1500*time.Millisecond {
					t.Errorf("exited %v after the signal", d)
				}
				if status != 128+int(sig) || alt {
					t.Errorf("exit %d (want %d), alternate screen still on: %v", status, 128+int(sig), alt)
				}
			})
		}
	}
}

// TestInterfaceQuitsOnCtrlCWhileLoading: the quit key works while a
// script that never ends is loading.
func TestInterfaceQuitsOnCtrlCWhileLoading(t *testing.T) {
	loop := filepath.Join(t.TempDir(), "loop.star")
	if err := os.WriteFile(loop, []byte("p = kmalloc(8)\nwhile True:\n    pass\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startWatched(t, 100, 30, loop, "--max-steps", "1099511627776")
	s.waitFor("opening")
	s.keys("C-c")
	sent := time.Now()
	status, alt := s.waitExit(5 * time.Second)
	if d := time.Since(sent); d > 1500*time.Millisecond {
		t.Errorf("exited %v after ctrl+c", d)
	}
	if status != 0 || alt {
		t.Errorf("exit %d, alternate screen still on: %v", status, alt)
	}
}

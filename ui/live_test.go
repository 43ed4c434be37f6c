package ui

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/allocviz/allocviz/scripts"
	"github.com/allocviz/allocviz/scripts/ktrace"
	tea "github.com/charmbracelet/bubbletea"
)

// showEarly makes every script that takes more than 64 steps open while
// it runs, for the test.
func showEarly(t *testing.T) {
	old := firstSlice
	firstSlice = 0
	t.Cleanup(func() { firstSlice = old })
}

// waitSteps returns once src's running script has taken more than n
// steps.
func waitSteps(src *source, n int) {
	for {
		release := src.hold()
		k := src.sess.NumSteps()
		release()
		if k > n {
			return
		}
		runtime.Gosched()
	}
}

// A long script opens before it ends, steps can be taken while it runs,
// its later steps arrive with the live tick, and closing stops it.
func TestLongScriptOpensWhileItRuns(t *testing.T) {
	showEarly(t)
	path := writeScript(t, "config(max_steps=50000000)\nfor i in range(10000000):\n    kfree(kmalloc(64))\n")
	m := New(Options{Scenario: path})
	m, _ = update(t, m, tea.WindowSizeMsg{Width: 100, Height: 30})
	m, tick := update(t, m, m.Init()())
	if !m.live || tick == nil {
		t.Fatalf("a script of 20M steps should open while it runs (live %v)", m.live)
	}
	first := m.lastStep()
	if first == 0 || !strings.Contains(m.View(), "running…") {
		t.Fatalf("opened at %d steps; status: %s", first, strings.SplitN(m.View(), "\n", 2)[0])
	}
	m, _ = press(t, m, "n", "n")
	if m.step != 2 {
		t.Fatalf("stepping while the script runs: at step %d, want 2", m.step)
	}
	waitSteps(m.src, m.lastStep())
	m, tick = update(t, m, liveTickMsg{src: m.src})
	if m.lastStep() <= first || tick == nil {
		t.Fatalf("the tick should take in new steps: %d, then %d", first, m.lastStep())
	}
	m, _ = press(t, m, "G")
	at := m.step
	waitSteps(m.src, at)
	m, _ = update(t, m, liveTickMsg{src: m.src})
	if m.step != at || m.src.hv.Step() != at || m.lastStep() <= at {
		t.Fatalf("after G at step %d and a tick: showing %d, model at %d, %d steps", at, m.step, m.src.hv.Step(), m.lastStep())
	}
	m, _ = update(t, m, liveTickMsg{src: &source{}})
	before := m.lastStep()
	m, _ = press(t, m, ":")
	m = typeText(t, m, "kmalloc(8)")
	m, _ = update(t, m, tea.KeyMsg{Type: tea.KeyEnter})
	if m.lastStep() != before || !strings.Contains(m.View(), "still running") {
		t.Fatalf("a statement should wait for the script to end: %d steps, was %d", m.lastStep(), before)
	}
	stopped := make(chan struct{})
	go func() { m.Close(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("closing did not stop the running script")
	}
}

// A script that ends after it opened hands over its last steps and its
// failed checks.
func TestLiveScriptEnds(t *testing.T) {
	showEarly(t)
	path := writeScript(t, "for i in range(3000):\n    kfree(kmalloc(64))\ncheck(False, \"boom\")\n")
	m := New(Options{Scenario: path})
	m, _ = update(t, m, tea.WindowSizeMsg{Width: 100, Height: 30})
	m = load(t, m, m.Init())
	t.Cleanup(func() { m.src.close() })
	if m.live || m.lastStep() != 6001 {
		t.Fatalf("after the end: live %v, %d steps, want 6001 (the check is a step)", m.live, m.lastStep())
	}
	if !m.noticeErr || !strings.Contains(m.notice, "boom") {
		t.Fatalf("the failed check should be reported: %q", m.notice)
	}
	m, _ = press(t, m, "G")
	if m.step != 6001 {
		t.Fatalf("G went to step %d", m.step)
	}
}

// A statement typed after a script that opened whole never lets go of
// the runner's lock: the runner has ended, and a statement of many steps
// runs on the event loop to its end (it once unlocked an unlocked mutex,
// a fatal error, after 64 steps).
func TestStatementAfterAShortScriptDoesNotYield(t *testing.T) {
	showEarly(t)
	src, err := openSource(context.Background(), writeScript(t, "p = kmalloc(8)\n"), scripts.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.close()
	if _, err := src.exec(context.Background(), "for i in range(500):\n    kfree(kmalloc(64))\n", 0); err != nil {
		t.Fatal(err)
	}
	if n := src.sess.NumSteps(); n != 1001 {
		t.Fatalf("%d steps, want 1001", n)
	}
}

// A trace that opens while it is replayed says "trace" where a script's
// notices say "script". (The bundled trace lengthened to 300,000 lines,
// so that its replay runs long after it opens.)
func TestLiveTraceSaysTrace(t *testing.T) {
	showEarly(t)
	sc, ok := scripts.LookupScenario("trace-ls")
	if !ok {
		t.Fatal("no trace-ls")
	}
	text, err := ktrace.Decode(sc.Src)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "long.txt")
	if err := os.WriteFile(path, ktrace.Lengthen(text, 300_000), 0o644); err != nil {
		t.Fatal(err)
	}
	m := New(Options{Scenario: path})
	m, _ = update(t, m, tea.WindowSizeMsg{Width: 100, Height: 30})
	m, tick := update(t, m, m.Init()())
	t.Cleanup(func() { m.src.close() })
	if !m.live || tick == nil || !strings.Contains(m.notice, "the trace is still running") {
		t.Fatalf("live %v, notice %q", m.live, m.notice)
	}
	<-m.src.live.done // the replay's end, then the tick that takes it in
	m, _ = update(t, m, liveTickMsg{src: m.src})
	if n := m.lastStep(); m.live || n < 200_000 || m.notice != fmt.Sprintf("the trace ended after %d steps", n) {
		t.Fatalf("%d steps, notice %q", n, m.notice)
	}
}

package ui

import (
	"bytes"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"
)

// waitFor waits until the program has drawn want.
func waitFor(t *testing.T, tm *teatest.TestModel, want string) {
	t.Helper()
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
		return bytes.Contains(b, []byte(want))
	}, teatest.WithDuration(10*time.Second), teatest.WithCheckInterval(10*time.Millisecond))
}

// TestProgram drives the whole program as a user would: start, step,
// step back, run a statement at the prompt, resize, pick a scenario and
// quit.
func TestProgram(t *testing.T) {
	tm := teatest.NewTestModel(t, New(Options{Scenario: writeScript(t, threeStepScript)}),
		teatest.WithInitialTermSize(100, 30))
	waitFor(t, tm, "step 0 of 3")

	tm.Type("n")
	waitFor(t, tm, "step 1 of 3")
	tm.Type("n")
	waitFor(t, tm, "step 2 of 3")
	tm.Send(tea.KeyMsg{Type: tea.KeyLeft})
	waitFor(t, tm, "step 1 of 3")

	tm.Type("G:")
	waitFor(t, tm, ">>> ")
	tm.Type("c = alloc_pages(2)")
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	waitFor(t, tm, "step 4 of 4")
	tm.Type("frobnicate(c)")
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	waitFor(t, tm, "undefined: frobnicate")
	tm.Send(tea.KeyMsg{Type: tea.KeyEsc})

	tm.Send(tea.WindowSizeMsg{Width: 60, Height: 20})
	waitFor(t, tm, "terminal too small (need 80x24)")
	tm.Send(tea.WindowSizeMsg{Width: 200, Height: 60})
	waitFor(t, tm, "step 4 of 4")

	tm.Type("o")
	waitFor(t, tm, "Open a scenario")
	tm.Type("/vrealloc-6")
	waitFor(t, tm, "1 scenario")
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	// The statement typed at the prompt would be dropped: it asks first.
	waitFor(t, tm, "drops the 1 statement typed at the prompt")
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	waitFor(t, tm, "vrealloc-6.12  step 0 of")

	tm.Type("q")
	fm, ok := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(Model)
	if !ok {
		t.Fatal("the final model is not a Model")
	}
	defer fm.src.close()
	if fm.name != "vrealloc-6.12" || fm.step != 0 {
		t.Fatalf("after picking: %q at step %d", fm.name, fm.step)
	}
	if fm.width != 200 || fm.height != 60 {
		t.Fatalf("final size %dx%d, want 200x60", fm.width, fm.height)
	}
}

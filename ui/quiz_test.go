package ui

import (
	"bytes"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"
)

const quizScript = `
ask("Which cache will kmalloc(300) use?", choices=["kmalloc-256", "kmalloc-512", "kmalloc-1k"], answer=lambda p: p.cache)
p = kmalloc(300)
say("between the questions")
ask("Will krealloc(p, 400) stay in place?", yes_no=True, answer=lambda q: q == p)
q = krealloc(p, 400)
kfree(q)
`

// TestQuizScreen drives the quiz as a student would: stepping stops at
// the question, a step forward is refused until it is answered, a number
// key answers and shows the step asked about with the verdict and the
// rule, a wrong answer is marked wrong, and the last step shows the score.
func TestQuizScreen(t *testing.T) {
	tm := teatest.NewTestModel(t, New(Options{Scenario: writeScript(t, quizScript), Quiz: true}),
		teatest.WithInitialTermSize(120, 40))
	waitFor(t, tm, "step 0 of 6")
	tm.Type("G")
	waitForAll(t, tm, "step 1 of 6", "Question 1 of 2: Which cache will kmalloc(300) use?", "2) kmalloc-512", "press 1-3")
	tm.Type("n")
	waitFor(t, tm, "question 1: answer first")
	tm.Type("2")
	waitForAll(t, tm, "step 2 of 6", "Question 1: right. The answer is kmalloc-512 (you said kmalloc-512).",
		"257..512 bytes use kmalloc-512")
	tm.Type("G")
	waitForAll(t, tm, "step 4 of 6", "Question 2 of 2: Will krealloc(p, 400) stay in place?", "2) no")
	tm.Type("2")
	waitForAll(t, tm, "Question 2: wrong. The answer is yes (you said no).", "400 <= ksize 512")
	tm.Type("G")
	waitFor(t, tm, "Score: 1 of 2 right")
	tm.Type("q")
	fm, ok := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(Model)
	if !ok || fm.step != 6 || len(fm.quiz.given) != 2 {
		t.Errorf("final model: step %d, %d answers", fm.step, len(fm.quiz.given))
	}
}

// waitForAll waits until the program has drawn every one of want (in one
// or several frames).
func waitForAll(t *testing.T, tm *teatest.TestModel, want ...string) {
	t.Helper()
	seen := make([]bool, len(want))
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
		all := true
		for i, w := range want {
			seen[i] = seen[i] || bytes.Contains(b, []byte(w))
			all = all && seen[i]
		}
		return all
	}, teatest.WithDuration(10*time.Second), teatest.WithCheckInterval(10*time.Millisecond))
}

// TestQuizOffIsNarration: without Options.Quiz a question is a step like
// say(): stepping does not stop and no box is drawn.
func TestQuizOffIsNarration(t *testing.T) {
	m := open(t, writeScript(t, quizScript), 120, 40)
	m, _ = press(t, m, "G")
	if m.step != 6 || strings.Contains(m.View(), "Score:") {
		t.Errorf("step %d; view:\n%s", m.step, m.View())
	}
	m, _ = press(t, m, "g", "n")
	if m.step != 1 || strings.Contains(m.View(), "1) kmalloc-256") {
		t.Errorf("step %d; the question must be narration without --quiz:\n%s", m.step, m.View())
	}
}

// TestQuizFitsEverySize: the quiz box never breaks the screen's size.
func TestQuizFitsEverySize(t *testing.T) {
	for _, sz := range [][2]int{{80, 24}, {120, 40}, {200, 60}} {
		m := New(Options{Scenario: writeScript(t, quizScript), Quiz: true})
		m, _ = update(t, m, tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
		m = load(t, m, m.Init())
		t.Cleanup(func() { m.src.close() })
		m, _ = press(t, m, "G")
		v := m.View()
		if !strings.Contains(v, "Question 1 of 2") {
			t.Fatalf("%dx%d: no question:\n%s", sz[0], sz[1], v)
		}
		lines := strings.Split(v, "\n")
		if len(lines) > sz[1] {
			t.Errorf("%dx%d: %d lines", sz[0], sz[1], len(lines))
		}
	}
}

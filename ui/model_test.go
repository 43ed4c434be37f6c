package ui

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/allocviz/allocviz/scripts"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

func TestMain(m *testing.M) {
	// Pin the colour profile and background so output is the same
	// locally and in CI, and nothing queries the terminal.
	lipgloss.SetColorProfile(termenv.Ascii)
	lipgloss.SetHasDarkBackground(true)
	os.Exit(m.Run())
}

// threeStepScript is a small scenario with a known number of steps.
const threeStepScript = `"""Three pages: allocate two, free one."""
a = alloc_pages(0)
b = alloc_pages(1)
free_pages(a, 0)
`

// writeScript writes src to a .star file in a temporary directory.
func writeScript(t *testing.T, src string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.star")
	if err := writeFile(path, src); err != nil {
		t.Fatal(err)
	}
	return path
}

func writeFile(path, src string) error { return os.WriteFile(path, []byte(src), 0o644) }

// update sends msg to m and returns the new model and its command.
func update(t *testing.T, m Model, msg tea.Msg) (Model, tea.Cmd) {
	t.Helper()
	nm, cmd := m.Update(msg)
	return nm.(Model), cmd
}

// keyMsg builds the message for a key as tea.KeyMsg.String names it.
func keyMsg(k string) tea.KeyMsg {
	switch k {
	case "enter":
		return tea.KeyMsg{Type: tea.KeyEnter}
	case "esc":
		return tea.KeyMsg{Type: tea.KeyEsc}
	case "tab":
		return tea.KeyMsg{Type: tea.KeyTab}
	case "shift+tab":
		return tea.KeyMsg{Type: tea.KeyShiftTab}
	case "up":
		return tea.KeyMsg{Type: tea.KeyUp}
	case "down":
		return tea.KeyMsg{Type: tea.KeyDown}
	case "left":
		return tea.KeyMsg{Type: tea.KeyLeft}
	case "right":
		return tea.KeyMsg{Type: tea.KeyRight}
	case "ctrl+c":
		return tea.KeyMsg{Type: tea.KeyCtrlC}
	case "backspace":
		return tea.KeyMsg{Type: tea.KeyBackspace}
	case "home":
		return tea.KeyMsg{Type: tea.KeyHome}
	case "end":
		return tea.KeyMsg{Type: tea.KeyEnd}
	case "pgup":
		return tea.KeyMsg{Type: tea.KeyPgUp}
	case "pgdown":
		return tea.KeyMsg{Type: tea.KeyPgDown}
	case "ctrl+u":
		return tea.KeyMsg{Type: tea.KeyCtrlU}
	case "ctrl+d":
		return tea.KeyMsg{Type: tea.KeyCtrlD}
	case " ":
		return tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{' '}}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}
}

// press sends keys one after another, dropping the commands (cursor
// blinks and the like); it returns the last key's command.
func press(t *testing.T, m Model, keys ...string) (Model, tea.Cmd) {
	t.Helper()
	var cmd tea.Cmd
	for _, k := range keys {
		m, cmd = update(t, m, keyMsg(k))
	}
	return m, cmd
}

// typeText types s into whatever has the keyboard.
func typeText(t *testing.T, m Model, s string) Model {
	t.Helper()
	for _, r := range s {
		m, _ = update(t, m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
	}
	return m
}

// load runs the command of a load request synchronously (gh-dash's
// execCmd) and hands its message back to the model.
func load(t *testing.T, m Model, cmd tea.Cmd) Model {
	t.Helper()
	if cmd == nil {
		t.Fatal("expected a load command, got none")
	}
	msg := cmd()
	switch msg.(type) {
	case loadedMsg, errMsg:
	default:
		t.Fatalf("expected a load result, got %T", msg)
	}
	m, closeOld := update(t, m, msg)
	if closeOld != nil {
		closeOld()
	}
	return finishLive(t, m)
}

// finishLive waits for a script still running to end and hands the model
// its last steps, as the live tick would.
func finishLive(t testing.TB, m Model) Model {
	t.Helper()
	if m.live {
		<-m.src.live.done
		nm, _ := m.Update(liveTickMsg{src: m.src})
		m = nm.(Model)
		if m.live {
			t.Fatal("the script ended but the model still says it runs")
		}
	}
	return m
}

// awaitMsg runs cmd and the commands it batches, each on its own
// goroutine (a cursor blink sleeps, a tick waits), and returns the first
// message match accepts, or nil after ten seconds.
func awaitMsg(cmd tea.Cmd, match func(tea.Msg) bool) tea.Msg {
	found := make(chan tea.Msg, 16)
	var run func(tea.Cmd)
	run = func(c tea.Cmd) {
		if c == nil {
			return
		}
		go func() {
			switch msg := c().(type) {
			case tea.BatchMsg:
				for _, sub := range msg {
					run(sub)
				}
			default:
				if match(msg) {
					found <- msg
				}
			}
		}()
	}
	run(cmd)
	select {
	case msg := <-found:
		return msg
	case <-time.After(10 * time.Second):
		return nil
	}
}

// statementMsg runs the commands of a statement's enter (the run and its
// progress tick, batched) and returns the message that ends it.
func statementMsg(cmd tea.Cmd) tea.Msg {
	return awaitMsg(cmd, func(msg tea.Msg) bool {
		switch msg.(type) {
		case stmtDoneMsg, loadedMsg, stmtFailedMsg, errMsg:
			return true
		}
		return false
	})
}

// finishStatement runs a statement's commands and hands the model the
// message that ends it.
func finishStatement(t *testing.T, m Model, cmd tea.Cmd) Model {
	t.Helper()
	if cmd == nil {
		t.Fatal("enter gave no command")
	}
	m, _ = update(t, m, statementMsg(cmd))
	return m
}

// open returns a model of size w x h showing scenario ref.
func open(t *testing.T, ref string, w, h int) Model {
	t.Helper()
	return openWith(t, Options{Scenario: ref}, w, h)
}

// openWith is open with options.
func openWith(t *testing.T, opts Options, w, h int) Model {
	t.Helper()
	m := New(opts)
	m, _ = update(t, m, tea.WindowSizeMsg{Width: w, Height: h})
	m = load(t, m, m.Init())
	if m.src == nil {
		t.Fatalf("scenario %s did not open: %v", opts.Scenario, m.loadErr)
	}
	t.Cleanup(func() { m.src.close() })
	return m
}

func TestStepping(t *testing.T) {
	m := open(t, writeScript(t, threeStepScript), 100, 30)
	if m.step != 0 || m.lastStep() != 3 {
		t.Fatalf("opened at step %d of %d, want 0 of 3", m.step, m.lastStep())
	}
	for _, tc := range []struct {
		key  string
		want int
	}{
		{"n", 1}, {"right", 2}, {"n", 3}, {"n", 3}, // stops at the last step
		{"p", 2}, {"left", 1}, {"p", 0}, {"p", 0}, // and at the first
		{"G", 3}, {"g", 0}, {"end", 3}, {"home", 0},
	} {
		m, _ = press(t, m, tc.key)
		if m.step != tc.want {
			t.Fatalf("after %q: step %d, want %d", tc.key, m.step, tc.want)
		}
		if got := m.src.hv.Step(); got != tc.want {
			t.Fatalf("after %q: heapview is at step %d, the interface at %d", tc.key, got, tc.want)
		}
	}
	if !strings.Contains(m.View(), "step 0 of 3") {
		t.Errorf("status bar does not say step 0 of 3:\n%s", m.View())
	}
}

func TestHeldKeysArriveTogether(t *testing.T) {
	m := open(t, writeScript(t, threeStepScript), 100, 30)
	m, _ = update(t, m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("nn")})
	if m.step != 2 {
		t.Fatalf("two n keys in one message moved to step %d, want 2", m.step)
	}
}

// esc and a key read together arrive as alt and the key: outside a text
// input that is esc, then the key; inside the prompt alt keeps its
// meaning for the text input.
func TestEscAndAKeyArriveTogether(t *testing.T) {
	m := open(t, writeScript(t, threeStepScript), 100, 30)
	m, _ = press(t, m, "i")
	if m.mode != modeInspect {
		t.Fatalf("i: mode %v", m.mode)
	}
	m, _ = update(t, m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("n"), Alt: true})
	if m.mode != modeStep || m.step != 1 {
		t.Fatalf("esc n from the inspector: mode %v, step %d; want step mode at step 1", m.mode, m.step)
	}
	m, _ = press(t, m, "i")
	_, cmd := update(t, m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("q"), Alt: true})
	if msg := awaitMsg(cmd, func(msg tea.Msg) bool { _, ok := msg.(tea.QuitMsg); return ok }); msg == nil {
		t.Fatal("esc q from the inspector should quit")
	}
	m, _ = press(t, m, ":")
	m, _ = update(t, m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("b"), Alt: true})
	if m.mode != modePrompt {
		t.Fatalf("alt+b at the prompt left it: mode %v", m.mode)
	}
}

func TestPlayTicksAndGenerations(t *testing.T) {
	m := open(t, writeScript(t, threeStepScript), 100, 30)
	m, cmd := press(t, m, " ")
	if !m.playing || cmd == nil {
		t.Fatal("space did not start playing")
	}
	gen := m.playGen
	m, cmd = update(t, m, playTickMsg{gen: gen})
	if m.step != 1 || cmd == nil {
		t.Fatalf("a tick moved to step %d (re-armed: %v), want step 1 and a new tick", m.step, cmd != nil)
	}
	// Changing speed re-arms with a new generation: the old tick is stale.
	m, cmd = press(t, m, "+")
	if cmd == nil || m.playGen == gen {
		t.Fatal("changing speed while playing did not re-arm the tick")
	}
	m, _ = update(t, m, playTickMsg{gen: gen})
	if m.step != 1 {
		t.Fatalf("a stale tick moved the replay to step %d", m.step)
	}
	m, _ = update(t, m, playTickMsg{gen: m.playGen})
	m, cmd = update(t, m, playTickMsg{gen: m.playGen})
	if m.step != 3 || m.playing || cmd != nil {
		t.Fatalf("at the end: step %d playing %v re-armed %v; want 3, stopped, no tick", m.step, m.playing, cmd != nil)
	}
	// Play at the last step starts over; pause makes pending ticks stale.
	m, _ = press(t, m, " ")
	if m.step != 0 || !m.playing {
		t.Fatalf("play at the end: step %d playing %v, want a replay from step 0", m.step, m.playing)
	}
	gen = m.playGen
	m, _ = press(t, m, " ")
	m, _ = update(t, m, playTickMsg{gen: gen})
	if m.playing || m.step != 0 {
		t.Fatalf("after pause a tick moved to step %d", m.step)
	}
}

func TestSpeedLimits(t *testing.T) {
	m := open(t, writeScript(t, threeStepScript), 100, 30)
	for range speeds {
		m, _ = press(t, m, "+")
	}
	if m.speed != len(speeds)-1 {
		t.Fatalf("speed %d after pressing + %d times, want the fastest", m.speed, len(speeds))
	}
	m, _ = press(t, m, " ")
	if !strings.Contains(m.statusView(), "▶ max") {
		t.Errorf("the status bar should show the speed: %s", m.statusView())
	}
	m, _ = press(t, m, " ")
	for range speeds {
		m, _ = press(t, m, "-")
	}
	if m.speed != 0 {
		t.Fatalf("speed %d after pressing - enough times, want the slowest", m.speed)
	}
}

func TestBookmarks(t *testing.T) {
	m := open(t, writeScript(t, threeStepScript), 100, 30)
	m, _ = press(t, m, "n", "m", "n", "n", "m")
	if len(m.marks) != 2 || m.marks[0].step != 1 || m.marks[1].step != 3 {
		t.Fatalf("marks %v, want [1 3]", m.marks)
	}
	m, _ = press(t, m, "g", "'")
	if m.step != 1 {
		t.Fatalf("next bookmark from step 0 went to %d, want 1", m.step)
	}
	m, _ = press(t, m, "b")
	if m.step != 3 {
		t.Fatalf("next bookmark from step 1 went to %d, want 3", m.step)
	}
	m, _ = press(t, m, "b")
	if m.step != 1 {
		t.Fatalf("next bookmark wraps around: went to %d, want 1", m.step)
	}
	m, _ = press(t, m, "m")
	if len(m.marks) != 1 || m.marks[0].step != 3 {
		t.Fatalf("m on a bookmarked step should remove it: marks %v", m.marks)
	}
}

func TestJumpToStep(t *testing.T) {
	m := open(t, writeScript(t, threeStepScript), 100, 30)
	m, _ = press(t, m, "#")
	if m.mode != modeJump {
		t.Fatalf("# opened mode %v, want jump", m.mode)
	}
	m = typeText(t, m, "9")
	m, _ = press(t, m, "enter")
	if m.mode != modeJump || !strings.Contains(m.View(), "from 0 to 3") {
		t.Fatalf("jumping to a step that does not exist should stay in the input and say the range:\n%s", m.View())
	}
	m, _ = press(t, m, "backspace")
	m = typeText(t, m, "2")
	m, _ = press(t, m, "enter")
	if m.mode != modeStep || m.step != 2 {
		t.Fatalf("jump to 2: mode %v step %d", m.mode, m.step)
	}
	m, _ = press(t, m, "#", "esc")
	if m.mode != modeStep || m.step != 2 {
		t.Fatalf("esc should cancel the jump: mode %v step %d", m.mode, m.step)
	}
}

func TestPromptRunsAStep(t *testing.T) {
	m := open(t, writeScript(t, threeStepScript), 100, 30)
	m, _ = press(t, m, "G", ":")
	if m.mode != modePrompt {
		t.Fatalf("':' opened mode %v, want prompt", m.mode)
	}
	// While typing, step keys are text.
	m = typeText(t, m, "c = alloc_pages(2)")
	if m.step != 3 {
		t.Fatalf("typing moved the step to %d", m.step)
	}
	m, cmd := press(t, m, "enter")
	if cmd == nil || m.running == nil || m.lastStep() != 3 {
		t.Fatal("a statement runs off the event loop, in a command")
	}
	if !strings.Contains(m.View(), "esc cancels") {
		t.Errorf("while it runs the prompt should say esc cancels it:\n%s", m.View())
	}
	m = finishStatement(t, m, cmd)
	if m.lastStep() != 4 || m.step != 4 {
		t.Fatalf("after the statement: step %d of %d, want 4 of 4", m.step, m.lastStep())
	}
	if m.mode != modePrompt || m.prompt.value() != "" {
		t.Fatalf("the prompt should stay open and empty: mode %v value %q", m.mode, m.prompt.value())
	}
	if !strings.Contains(m.View(), "step 4: c = alloc_pages(2)") {
		t.Errorf("the notice should name the new step:\n%s", m.View())
	}
	// History: up brings the statement back, down returns to the draft.
	m = typeText(t, m, "draft")
	m, _ = press(t, m, "up")
	if got := m.prompt.value(); got != "c = alloc_pages(2)" {
		t.Fatalf("up showed %q", got)
	}
	m, _ = press(t, m, "down")
	if got := m.prompt.value(); got != "draft" {
		t.Fatalf("down showed %q, want the draft back", got)
	}
	m, _ = press(t, m, "esc")
	if m.mode != modeStep {
		t.Fatalf("esc left mode %v", m.mode)
	}
}

func TestPromptErrorStaysInline(t *testing.T) {
	m := open(t, writeScript(t, threeStepScript), 100, 30)
	m, _ = press(t, m, "G", ":")
	m = typeText(t, m, "free_pages(nope, 0)")
	m, cmd := press(t, m, "enter")
	m = finishStatement(t, m, cmd)
	if m.mode != modePrompt {
		t.Fatalf("an error left the prompt (mode %v)", m.mode)
	}
	if m.prompt.err == "" || !strings.Contains(m.prompt.err, "nope") {
		t.Fatalf("error %q does not name the undefined name", m.prompt.err)
	}
	if m.prompt.value() != "free_pages(nope, 0)" {
		t.Fatalf("the failed statement should stay for editing, got %q", m.prompt.value())
	}
	if !strings.Contains(m.View(), "<prompt>:1:") {
		t.Errorf("the inline error should be positioned:\n%s", m.View())
	}
	if m.lastStep() != 3 {
		t.Fatalf("a statement that did not resolve took steps: %d", m.lastStep())
	}
}

// At 80x24 an error longer than the line is read whole: while the prompt
// is open, the legend's lines go to it; closed, the notice wraps over the
// command area's two lines.
func TestPromptErrorIsReadWhole(t *testing.T) {
	m := open(t, writeScript(t, threeStepScript), 80, 24)
	m, _ = press(t, m, "G", ":")
	msg := "a message long enough that at eighty columns it needs more than one line to be read whole"
	m = typeText(t, m, `fail("`+msg+`")`)
	m, cmd := press(t, m, "enter")
	m = finishStatement(t, m, cmd)
	if !strings.Contains(m.prompt.err, msg) {
		t.Fatalf("error %q", m.prompt.err)
	}
	v := m.View()
	if got := strings.Join(strings.Fields(v), " "); !strings.Contains(got, msg) || strings.Contains(v, "…\n") {
		t.Errorf("the error is not shown whole:\n%s", v)
	}
	if lines := strings.Split(v, "\n"); len(lines) != 24 {
		t.Errorf("the view has %d lines at 80x24", len(lines))
	}
	m, _ = press(t, m, "esc")
	if strings.Contains(m.View(), msg[:30]) || !strings.Contains(m.View(), "free block of that order") {
		t.Errorf("closed, the prompt's error should be gone and the legend back:\n%s", m.View())
	}
}

// A message longer than its lines keeps every line full and ends the last
// with "…".
func TestMessageLinesCutsTheLast(t *testing.T) {
	got := messageLines("one two three four five six seven eight nine ten", lipgloss.NewStyle(), 10, 2)
	lines := strings.Split(got, "\n")
	if len(lines) != 2 || lines[0] != "one two" || !strings.HasSuffix(lines[1], "…") || lipgloss.Width(lines[1]) != 10 {
		t.Errorf("messageLines = %q", lines)
	}
	if got := messageLines("", lipgloss.NewStyle(), 10, 2); got != "" {
		t.Errorf("no message: %q", got)
	}
}

func TestPromptContinuesFromEarlierStep(t *testing.T) {
	m := open(t, writeScript(t, threeStepScript), 100, 30)
	m, _ = press(t, m, "n", "m", "d", "G", "m", "g", "n", ":")
	if !strings.Contains(m.View(), "discards steps 2 to 3") {
		t.Errorf("the prompt should warn that later steps will be discarded:\n%s", m.View())
	}
	m = typeText(t, m, "c = alloc_pages(3)")
	m, cmd := press(t, m, "enter")
	if cmd == nil || m.loading == "" {
		t.Fatal("a statement at an earlier step should rebuild the session off the event loop")
	}
	m = finishStatement(t, m, cmd)
	if m.lastStep() != 2 || m.step != 2 {
		t.Fatalf("after continuing from step 1: step %d of %d, want 2 of 2", m.step, m.lastStep())
	}
	if !strings.Contains(m.notice, "continued from step 1") || !strings.Contains(m.notice, "steps 2 to 3 were discarded") {
		t.Fatalf("notice %q does not say what was discarded", m.notice)
	}
	steps := allSteps(m.src.sess)
	if got := steps[1].Call; got != "alloc_pages(3)" {
		t.Fatalf("step 2 is %q, want the statement typed", got)
	}
	if m.mode != modePrompt {
		t.Fatalf("the prompt should stay open, mode %v", m.mode)
	}
	if len(m.marks) != 1 || m.marks[0].step != 1 || m.diff != 1 {
		t.Fatalf("the bookmark and diff base at step 1 should survive and the one at the discarded step 3 go: marks %v, diff %d", m.marks, m.diff)
	}
}

func TestFocusCycles(t *testing.T) {
	m := open(t, writeScript(t, threeStepScript), 100, 30)
	seen := []paneID{m.focus}
	for range numPanes {
		m, _ = press(t, m, "tab")
		seen = append(seen, m.focus)
	}
	if seen[0] != seen[len(seen)-1] {
		t.Fatalf("tab %d times did not come back: %v", numPanes, seen)
	}
	m, _ = press(t, m, "shift+tab")
	if m.focus != numPanes-1 {
		t.Fatalf("shift+tab from the first pane went to %v", m.focus)
	}
}

// The footer shows the keys that work now, the focused pane's own among
// them; ? lists every binding, each under the context it works in.
func TestHelpAndFooterFromTheKeyMap(t *testing.T) {
	m := open(t, writeScript(t, threeStepScript), 120, 40)
	short := m.footerView()
	for _, want := range []string{"next step", "zoom", "inspect", "help", "quit"} {
		if !strings.Contains(short, want) {
			t.Errorf("the footer with the page map focused lacks %q: %s", want, short)
		}
	}
	m, _ = press(t, m, "tab")
	short = m.footerView()
	for _, want := range []string{"cache", "sort", "freelists"} {
		if !strings.Contains(short, want) {
			t.Errorf("the footer with the slabs focused lacks %q: %s", want, short)
		}
	}
	if strings.Contains(short, "zoom") {
		t.Errorf("the slabs footer shows the page map's keys: %s", short)
	}
	m, _ = press(t, m, "?")
	full := m.View()
	for _, g := range m.keys.helpGroups() {
		if !strings.Contains(full, g.title) {
			t.Errorf("the full help lacks the group %q", g.title)
		}
		for _, b := range g.keys {
			if h := b.Help(); !strings.Contains(full, h.Key+" ") {
				t.Errorf("the full help lacks %q (%s)", h.Key, h.Desc)
			}
		}
	}
	for _, want := range []string{"g/home", "G/end", "i/enter", "q/ctrl+c", "close help"} {
		if !strings.Contains(full, want) {
			t.Errorf("? should list %q:\n%s", want, full)
		}
	}
	if lines := strings.Count(full, "\n") + 1; lines != 40 {
		t.Fatalf("with full help the screen is %d lines, want 40", lines)
	}
	m, _ = press(t, m, "esc")
	if m.help.ShowAll {
		t.Fatal("esc should close the help")
	}
	m, _ = press(t, m, ":")
	typing := m.footerView()
	if strings.Contains(typing, "next step") || !strings.Contains(typing, "run") {
		t.Fatalf("while typing, the footer should show prompt keys only: %s", typing)
	}
	m, _ = press(t, m, "q")
	if m.mode != modePrompt || m.prompt.value() != "q" {
		t.Fatal("q while typing is text, not quit")
	}
	_, cmd := press(t, m, "ctrl+c")
	if cmd == nil || cmd() != tea.Quit() {
		t.Fatal("ctrl+c should quit from the prompt")
	}
}

// At 80x24 the full help does not fit: it scrolls, and says so.
func TestFullHelpScrolls(t *testing.T) {
	m := open(t, writeScript(t, threeStepScript), 80, 24)
	m, _ = press(t, m, "?")
	if v := m.View(); !strings.Contains(v, "more lines") || strings.Contains(v, "ctrl+c") && strings.Contains(v, "Typing") {
		t.Fatalf("at 80x24 the help should say what is below:\n%s", v)
	}
	seen := m.View()
	for range 40 {
		m, _ = press(t, m, "pgdown")
		seen += m.View()
	}
	for _, g := range m.keys.helpGroups() {
		for _, b := range g.keys {
			if !strings.Contains(seen, b.Help().Key+" ") {
				t.Errorf("scrolling the help never shows %q", b.Help().Key)
			}
		}
	}
}

func TestTooSmall(t *testing.T) {
	m := open(t, writeScript(t, threeStepScript), 79, 24)
	if !strings.Contains(m.View(), "terminal too small (need 80x24)") {
		t.Fatalf("79x24 should say the terminal is too small:\n%s", m.View())
	}
	m, _ = update(t, m, tea.WindowSizeMsg{Width: 80, Height: 23})
	if !strings.Contains(m.View(), "terminal too small (need 80x24)") {
		t.Fatal("80x23 should say the terminal is too small")
	}
	m, _ = update(t, m, tea.WindowSizeMsg{Width: 80, Height: 24})
	if strings.Contains(m.View(), "too small") {
		t.Fatal("80x24 is big enough")
	}
	if st := m.statusView(); !strings.Contains(st, "step 0 of 3") || !strings.Contains(st, "64 MiB") || !strings.Contains(st, "MiB free") {
		t.Errorf("at 80x24 the status bar should still show the step, the machine and free memory: %q", st)
	}
}

func TestViewFitsEverySize(t *testing.T) {
	m := open(t, writeScript(t, threeStepScript), 80, 24)
	for _, sz := range [][2]int{{80, 24}, {100, 30}, {120, 40}, {160, 45}, {200, 60}, {81, 70}, {250, 25}} {
		w, h := sz[0], sz[1]
		m, _ = update(t, m, tea.WindowSizeMsg{Width: w, Height: h})
		for _, keys := range [][]string{{"n"}, {"?"}, {"?", "tab", "i"}, {"esc", ":"}, {"esc", "o"}, {"esc"}} {
			m, _ = press(t, m, keys...)
			v := m.View()
			lines := strings.Split(v, "\n")
			if len(lines) != h {
				t.Errorf("%dx%d after %v: %d lines", w, h, keys, len(lines))
			}
			for i, l := range lines {
				if lw := lipgloss.Width(l); lw > w {
					t.Errorf("%dx%d after %v: line %d is %d wide: %q", w, h, keys, i, lw, l)
				}
			}
		}
	}
}

func TestPickerOpensScenario(t *testing.T) {
	m := open(t, writeScript(t, threeStepScript), 100, 30)
	m, _ = press(t, m, "o")
	if m.mode != modePicker {
		t.Fatalf("o opened mode %v", m.mode)
	}
	v := m.View()
	if !strings.Contains(v, "buddy") || !strings.Contains(v, "Buddy split and merge") {
		t.Fatalf("the picker should list scenarios with descriptions:\n%s", v)
	}
	m, cmd := press(t, m, "enter")
	if m.mode != modeStep || cmd == nil {
		t.Fatalf("enter should close the picker and load: mode %v", m.mode)
	}
	m = load(t, m, cmd)
	if m.name != m.picker.Items()[0].(scenarioItem).name || m.step != 0 {
		t.Fatalf("opened %q at step %d", m.name, m.step)
	}
	// Opened again, the picker starts on the scenario shown.
	m, _ = press(t, m, "o", "down")
	m, _ = press(t, m, "esc", "o")
	if got := m.picker.SelectedItem().(scenarioItem).name; got != m.name {
		t.Fatalf("the picker should start on %q, it is on %q", m.name, got)
	}
	m, _ = press(t, m, "esc")
	m, _ = press(t, m, "o", "esc")
	if m.mode != modeStep {
		t.Fatalf("esc should close the picker, mode %v", m.mode)
	}
}

func TestLoadFailureIsShown(t *testing.T) {
	m := New(Options{Scenario: "no-such-scenario"})
	m, _ = update(t, m, tea.WindowSizeMsg{Width: 100, Height: 30})
	m = load(t, m, m.Init())
	if m.loadErr == nil || !strings.Contains(m.View(), "no-such-scenario") {
		t.Fatalf("a missing scenario should be reported:\n%s", m.View())
	}
}

func TestStaleLoadIsDropped(t *testing.T) {
	m := open(t, writeScript(t, threeStepScript), 100, 30)
	first := loadCmd(m.opts.context(), m.loadID, "buddy", m.opts.Script)
	m, second := press(t, m, "o", "enter")
	m = load(t, m, second)
	name := m.name
	msg := first()
	m, closeCmd := update(t, m, msg)
	if m.name != name {
		t.Fatalf("an answer to an older load replaced the session")
	}
	if closeCmd == nil {
		t.Fatal("the dropped session should be closed")
	}
	closeCmd()
}

func TestDiffFromAStep(t *testing.T) {
	m := open(t, writeScript(t, threeStepScript), 100, 30)
	m, _ = press(t, m, "d")
	if m.diff != 0 || m.diffSum != "Δ from step 0: no change" {
		t.Fatalf("d at step 0: base %d, summary %q", m.diff, m.diffSum)
	}
	m, _ = press(t, m, "n", "n")
	// Steps 1 and 2 took an order-0 and an order-1 block.
	if !strings.HasPrefix(m.diffSum, "Δ from step 0: ") || !strings.Contains(m.diffSum, "2 allocations") {
		t.Fatalf("at step 2 the summary should count what differs from step 0: %q", m.diffSum)
	}
	m, _ = press(t, m, "g", "d")
	if m.diff != -1 || m.diffSum != "" {
		t.Fatalf("d on the base should turn the diff off: base %d, summary %q", m.diff, m.diffSum)
	}
}

// esc while a statement typed at an earlier step runs (the rebuild, then
// the statement) cancels it: nothing is discarded, and the session the
// rebuild read stays shown and usable.
func TestEscCancelsAContinuation(t *testing.T) {
	m := open(t, writeScript(t, threeStepScript), 100, 30)
	old := m.src
	m, _ = press(t, m, "n", ":")
	m = typeText(t, m, "c = alloc_pages(1)")
	m, rebuild := press(t, m, "enter")
	if rebuild == nil || m.running == nil {
		t.Fatal("no rebuild command")
	}
	m, _ = press(t, m, "esc")
	if m.mode != modePrompt {
		t.Fatalf("esc while it runs cancels it, and leaves the prompt open: mode %v", m.mode)
	}
	m, _ = update(t, m, statementMsg(rebuild))
	if m.running != nil || m.loading != "" {
		t.Fatalf("the cancelled continuation still runs: %v %q", m.running, m.loading)
	}
	if m.src != old || m.lastStep() != 3 || m.step != 1 {
		t.Fatalf("after cancelling: step %d of %d, source replaced %v", m.step, m.lastStep(), m.src != old)
	}
	if !strings.Contains(m.prompt.err, "cancelled (esc)") {
		t.Fatalf("the prompt should say it was cancelled: %q", m.prompt.err)
	}
	if _, err := old.sess.Exec("1"); err != nil {
		t.Fatalf("the session shown is not usable: %v", err)
	}
}

// A statement at the last step runs off the event loop: the panes can be
// drawn meanwhile, the counter moves, and esc cancels it; the session is
// then back where it was, and its steps are gone.
func TestEscCancelsARunningStatement(t *testing.T) {
	m := open(t, writeScript(t, threeStepScript), 100, 30)
	m, _ = press(t, m, "G", ":")
	m = typeText(t, m, "%steps 100000000")
	m, _ = press(t, m, "enter")
	if m.promptCap() != 100000000 {
		t.Fatalf("%%steps did not change the cap: %d", m.promptCap())
	}
	m = typeText(t, m, "while True: kmalloc(8)")
	m, cmd := press(t, m, "enter")
	done := make(chan tea.Msg, 1)
	r := m.running
	go func() { done <- statementMsg(cmd) }()
	// Wait for it to take steps, drawing and resizing meanwhile.
	for i := 0; m.running.steps < 1000; i++ {
		m, _ = update(t, m, progressMsg{id: r.id})
		m, _ = update(t, m, tea.WindowSizeMsg{Width: 100 + i%2*60, Height: 30 + i%2*15})
		_ = m.View()
	}
	// The next statement can be typed meanwhile; enter waits.
	m = typeText(t, m, "x = 1")
	m, _ = press(t, m, "enter")
	if m.running == nil || !strings.Contains(m.notice, "a statement is running") {
		t.Fatalf("enter while a statement runs: %q", m.notice)
	}
	m, _ = press(t, m, "esc")
	m, _ = update(t, m, <-done)
	if m.prompt.value() != "x = 1" {
		t.Fatalf("what was typed meanwhile is lost: %q", m.prompt.value())
	}
	if m.running != nil || m.lastStep() != 3 || m.src.sess.Progress().Steps != 3 {
		t.Fatalf("after esc: %d steps shown, %d in the session; want 3", m.lastStep(), m.src.sess.Progress().Steps)
	}
	if !strings.Contains(m.prompt.err, "cancelled (esc)") || !strings.Contains(m.notice, "back at step 3") {
		t.Fatalf("prompt %q, notice %q", m.prompt.err, m.notice)
	}
}

// runawayFromStep1 types a loop that never ends at step 1 of the
// three-step script, with a step cap of stepCap, and returns the command
// that rebuilds the session to step 1 and runs it.
func runawayFromStep1(t *testing.T, stepCap int) (Model, tea.Cmd) {
	t.Helper()
	m := open(t, writeScript(t, threeStepScript), 100, 30)
	m, _ = press(t, m, "n", ":")
	m = typeText(t, m, fmt.Sprintf("%%steps %d", stepCap))
	m, _ = press(t, m, "enter")
	m = typeText(t, m, "while True: kmalloc(8)")
	return press(t, m, "enter")
}

// A statement typed at an earlier step runs on the rebuilt session: the
// counter follows it there, and esc cancels it, discarding nothing.
func TestContinuationCountsItsSteps(t *testing.T) {
	m, cmd := runawayFromStep1(t, 100000000)
	done := make(chan tea.Msg, 1)
	r := m.running
	go func() { done <- statementMsg(cmd) }()
	for m.running.steps < 1000 {
		m, _ = update(t, m, progressMsg{id: r.id})
	}
	if v := m.View(); !strings.Contains(v, "running: ") || !strings.Contains(v, "running a statement from step 1") {
		t.Fatalf("no step counter while a continued statement runs:\n%s", v)
	}
	m, _ = press(t, m, "esc")
	m, _ = update(t, m, <-done)
	if m.running != nil || m.loading != "" || m.lastStep() != 3 || m.step != 1 {
		t.Fatalf("after esc: step %d of %d, running %v, loading %q", m.step, m.lastStep(), m.running != nil, m.loading)
	}
	if !strings.Contains(m.prompt.err, "cancelled (esc)") {
		t.Fatalf("the prompt should say it was cancelled: %q", m.prompt.err)
	}
}

// A continued statement that reaches the step cap says so, as one at the
// last step does, after saying what was discarded.
func TestContinuationAtTheStepCap(t *testing.T) {
	m, cmd := runawayFromStep1(t, 50)
	m = finishStatement(t, m, cmd)
	if m.lastStep() != 51 {
		t.Fatalf("the capped statement's steps should stand: %d steps", m.lastStep())
	}
	for _, want := range []string{"steps 2 to 3 were discarded", "the most steps a statement may, 50", "%steps 500"} {
		if !strings.Contains(m.notice, want) {
			t.Errorf("notice %q does not say %q", m.notice, want)
		}
	}
	if !strings.Contains(m.prompt.err, "step limit reached") {
		t.Errorf("prompt error %q", m.prompt.err)
	}
}

func TestVmallocSelectionMarksItsPages(t *testing.T) {
	m := open(t, "tour", 200, 60)
	// Find the tour's vmalloc step.
	step := 0
	for _, s := range allSteps(m.src.sess) {
		if strings.HasPrefix(s.Op, "vmalloc(") {
			step = s.N
			break
		}
	}
	if step == 0 {
		t.Fatal("the tour has no vmalloc step")
	}
	m, _ = press(t, m, "#")
	m = typeText(t, m, fmt.Sprint(step))
	m, _ = press(t, m, "enter", "tab", "tab")
	if m.focus != paneVmalloc || m.vm.sel == 0 {
		t.Fatalf("focus %v, selected area %v", m.focus, m.vm.sel)
	}
	area, ok := m.src.hv.AreaContaining(m.vm.sel)
	if !ok || len(area.PFNs) != 3 {
		t.Fatalf("the selected area should be the tour's 3-page area: %+v", area)
	}
	hl := m.highlight(m.inspection())
	if len(hl) != 3 {
		t.Fatalf("the page map should mark the area's 3 pages, marks %v", hl)
	}
	for i, r := range hl {
		if r.PFN != area.PFNs[i] || r.N != 1 {
			t.Errorf("mark %d is %+v, want pfn %#x", i, r, area.PFNs[i])
		}
	}
	if !strings.Contains(m.View(), fmt.Sprintf("0->%#x", area.PFNs[0])) {
		t.Errorf("the vmalloc pane should list the area's pages:\n%s", m.View())
	}
}

func TestZoomShowsAPagePerCell(t *testing.T) {
	m := open(t, writeScript(t, threeStepScript), 80, 24)
	m, _ = press(t, m, "n")
	if m.pages.pm.Scale == 1 {
		t.Fatal("64 MiB does not fit 80x24 at a page per cell")
	}
	m, _ = press(t, m, "z")
	if m.pages.pm.Scale != 1 || !strings.Contains(m.View(), "zoomed to a page per cell") {
		t.Fatalf("z should zoom to a page per cell:\n%s", m.View())
	}
	// Step 1 took pfn 0x1000 (DMA32): the zoomed window shows it.
	first, span := m.pages.pm.First, uint64(m.pages.pm.Cols*m.pages.pm.Lines)
	if 0x1000 < first || 0x1000 >= first+span {
		t.Fatalf("the zoomed map shows pfns %#x..%#x, not the page the step took", first, first+span)
	}
	m, _ = press(t, m, "z")
	if m.pages.pm.Scale == 1 {
		t.Fatal("z again should show all of RAM")
	}
}

func TestFailedStatementAtEarlierStepDiscardsNothing(t *testing.T) {
	m := open(t, writeScript(t, threeStepScript), 100, 30)
	m, _ = press(t, m, "n", ":")
	m = typeText(t, m, "x = alloc_pages(99")
	m, cmd := press(t, m, "enter")
	if cmd == nil {
		t.Fatal("a statement at an earlier step should go to a rebuild")
	}
	m = finishStatement(t, m, cmd)
	if m.lastStep() != 3 || m.step != 1 {
		t.Fatalf("a statement that does not parse discarded steps: step %d of %d", m.step, m.lastStep())
	}
	if m.mode != modePrompt || !strings.Contains(m.prompt.err, "<prompt>:1:") || m.prompt.value() != "x = alloc_pages(99" {
		t.Fatalf("the error should show under the prompt with the statement kept: mode %v err %q value %q", m.mode, m.prompt.err, m.prompt.value())
	}
	if m.loading != "" {
		t.Fatalf("still loading %q", m.loading)
	}
}

// windowSize is the message of a terminal of sz.
func windowSize(sz [2]int) tea.WindowSizeMsg { return tea.WindowSizeMsg{Width: sz[0], Height: sz[1]} }

// allSteps returns every step of s.
func allSteps(s *scripts.Session) []scripts.Step {
	out := make([]scripts.Step, s.NumSteps())
	for i := range out {
		out[i] = s.Step(i + 1)
	}
	return out
}

// Keys typed while the first lesson opens are pressed, in order, once it
// is open: steps, and a statement begun at the prompt. q still quits at
// once.
func TestKeysTypedWhileTheLessonOpens(t *testing.T) {
	m := New(Options{Scenario: writeScript(t, threeStepScript)})
	m, _ = update(t, m, tea.WindowSizeMsg{Width: 100, Height: 30})
	loading := m.Init()
	for _, k := range []string{"n", "n", "tab", ":", "x"} {
		var cmd tea.Cmd
		if m, cmd = update(t, m, keyMsg(k)); cmd != nil || m.step != 0 || m.mode != modeStep {
			t.Fatalf("%q while the lesson opens acted at once: step %d, mode %v", k, m.step, m.mode)
		}
	}
	m = load(t, m, loading)
	t.Cleanup(func() { m.src.close() })
	if m.step != 2 || m.focus == panePages || m.mode != modePrompt || m.prompt.value() != "x" {
		t.Errorf("after opening: step %d, pane %v, mode %v, prompt %q; want step 2, the next pane, the prompt holding x",
			m.step, m.focus, m.mode, m.prompt.value())
	}
	if _, cmd := update(t, New(Options{Scenario: writeScript(t, threeStepScript)}), keyMsg("q")); cmd == nil {
		t.Error("q while the lesson opens did not quit")
	}
}

package ui

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/allocviz/allocviz/allocator"
	"github.com/allocviz/allocviz/scripts"
)

// running is a statement typed at the prompt, running off the event loop
// (or a rebuild to an earlier step with the statement after it). While it
// runs the prompt shows a step counter and esc cancels it; the session is
// the command's until done is closed.
type running struct {
	id     int
	stmt   string
	cancel context.CancelCauseFunc
	done   chan struct{} // closed when the command let go of the session
	from   int           // the last step before it
	steps  int           // its steps so far, read by the progress tick

	// in, when set, is a statement another session recorded (a room's
	// instructor's, room.go), run as it ran there (Session.ExecInput);
	// stmt is then its text, and the prompt is left alone.
	in *scripts.Input

	// on is the session the statement runs on: the one shown, or, for a
	// statement typed at an earlier step, the rebuilt one once the
	// rebuild is done (nil until then). Only its Progress is read.
	on atomic.Pointer[source]
}

// errCancelled is why esc stops a statement.
var errCancelled = errors.New("cancelled (esc)")

// stepsCommand is what the prompt takes to change its step cap:
// %steps 100000.
const stepsCommand = "%steps"

// promptCap is the most allocator steps a statement may take.
func (m Model) promptCap() int {
	if m.stepCap > 0 {
		return m.stepCap
	}
	if m.opts.PromptSteps > 0 {
		return m.opts.PromptSteps
	}
	return scripts.DefaultPromptSteps
}

// updatePromptKey handles keys while the statement prompt is open. While
// a statement runs, esc cancels it and enter waits for it; the next
// statement can be typed meanwhile.
func (m Model) updatePromptKey(msg tea.KeyMsg) (tea.Model, tea.Cmd) {
	if m.running != nil {
		switch {
		case key.Matches(msg, m.keys.Cancel):
			m.running.cancel(errCancelled)
			m.setNotice("cancelling: undoing what the statement did…", false)
			return m, nil
		case key.Matches(msg, m.keys.Run):
			m.setNotice("a statement is running: enter again once it is done, or esc cancels it", false)
			return m, nil
		}
	}
	switch {
	case key.Matches(msg, m.keys.Cancel):
		m.prompt.blur()
		m.setMode(modeStep)
		return m, nil
	case key.Matches(msg, m.keys.HistoryPrev):
		m.prompt.older()
		return m, nil
	case key.Matches(msg, m.keys.HistoryNext):
		m.prompt.newer()
		return m, nil
	case key.Matches(msg, m.keys.Run):
		return m, m.runStatement()
	}
	var cmd tea.Cmd
	m.prompt.input, cmd = m.prompt.input.Update(msg)
	return m, cmd
}

// runStatement runs the prompt's statement as new steps, off the event
// loop. At the last step it runs on the session shown; at an earlier
// step the session is rebuilt up to the step shown on a fresh machine and
// continues from there, discarding the later steps. "%steps N" changes
// the step cap instead.
func (m *Model) runStatement() tea.Cmd {
	stmt := m.prompt.value()
	if stmt == "" || m.src == nil || m.loading != "" || m.running != nil || m.live {
		return nil // the prompt's hint says why
	}
	if arg, ok := strings.CutPrefix(stmt, stepsCommand); ok {
		m.setStepCap(stmt, strings.TrimSpace(arg))
		return nil
	}
	m.prompt.err = "" // the last statement's error is old news
	m.prompt.input.SetValue("")
	return m.startRun(stmt, nil, m.step)
}

// startRun runs stmt (or in, a statement another session recorded) as
// new steps after step from, off the event loop: at the last step on the
// session shown; at an earlier one on the session rebuilt up to it, which
// discards the later steps.
func (m *Model) startRun(stmt string, in *scripts.Input, from int) tea.Cmd {
	m.stopPlay()
	ctx, cancel := context.WithCancelCause(m.opts.context())
	m.runID++
	r := &running{id: m.runID, stmt: stmt, in: in, cancel: cancel, done: make(chan struct{}), from: m.lastStep()}
	m.running = r
	if from < m.lastStep() {
		last := m.lastStep()
		notice := fmt.Sprintf("continued from step %d: steps %d to %d were discarded", from, from+1, last)
		if from+1 == last {
			notice = fmt.Sprintf("continued from step %d: step %d was discarded", from, last)
		}
		m.loadID++
		m.loading = fmt.Sprintf("rebuilding up to step %d", from)
		m.rebuildFrom, m.rebuildID, m.orphan = m.src, m.loadID, false
		close(r.done) // the rebuild reads the session shown, and closes nothing
		return tea.Batch(continueCmd(ctx, m.loadID, r, m.src.rebuilder(from), m.name, notice, m.promptCap()), progressCmd(r.id))
	}
	r.on.Store(m.src)
	return tea.Batch(runCmd(ctx, r, m.src, m.promptCap()), progressCmd(r.id))
}

// run runs r's statement on src (source.run), or the input it carries as
// it was recorded.
func (r *running) run(ctx context.Context, src *source, maxSteps int) (string, error) {
	if r.in != nil {
		return src.runInput(ctx, *r.in)
	}
	return src.run(ctx, r.stmt, maxSteps)
}

// echo reports whether the prompt shows r's statement when it ends: one
// typed here, not one a room mirrors.
func (r *running) echo() bool { return r != nil && r.in == nil }

// setStepCap takes "%steps N": the step cap of the statements typed next.
func (m *Model) setStepCap(stmt, arg string) {
	n, err := strconv.Atoi(strings.ReplaceAll(arg, "_", ""))
	if err != nil || n < 1 || n > scripts.MaxStepsLimit {
		m.prompt.entered(stmt, fmt.Errorf("%s takes a number of steps from 1 to %d, as in %s 100000; the cap is %d",
			stepsCommand, int64(scripts.MaxStepsLimit), stepsCommand, m.promptCap()))
		return
	}
	m.stepCap = n
	m.prompt.input.SetValue("")
	m.prompt.entered(stmt, nil)
	m.setNotice(fmt.Sprintf("a statement may now take %s", allocator.Count(uint64(n), "allocator step")), false)
}

// endRun forgets the statement that was running.
func (m *Model) endRun() {
	if m.running != nil {
		m.running.cancel(nil)
		m.running = nil
	}
}

// updateProgress reads the running statement's step counter (none yet
// while the session it continues is being rebuilt).
func (m Model) updateProgress(msg progressMsg) (tea.Model, tea.Cmd) {
	if m.running == nil || msg.id != m.running.id {
		return m, nil
	}
	if on := m.running.on.Load(); on != nil {
		m.running.steps = on.sess.Progress().InputSteps // Progress may be read while it runs
	}
	return m, progressCmd(msg.id)
}

// updateStmtDone takes in the end of a statement: the model learns its
// events, and the prompt and the notice say what it did.
func (m Model) updateStmtDone(msg stmtDoneMsg) (tea.Model, tea.Cmd) {
	if m.running == nil || msg.id != m.running.id {
		return m, nil
	}
	before, echo := m.running.from, m.running.echo()
	m.endRun()
	m.src.sync()
	if echo {
		m.prompt.entered(msg.stmt, msg.err)
	}
	m.seekTo(m.lastStep())
	m.noticeStatement(before, msg.stmt, msg.result, msg.err, "")
	return m, nil
}

// noticeStatement says what a statement that ended did: the steps it
// took after step before, or why it stopped. prefix, when a statement
// continued from an earlier step, says what was discarded.
func (m *Model) noticeStatement(before int, stmt, result string, err error, prefix string) {
	n := m.lastStep() - before
	switch {
	case errors.Is(err, scripts.ErrInterrupted):
		m.setNotice(fmt.Sprintf("%s%s: the session is back at step %d", prefix, err, m.lastStep()), false)
	case err != nil && n >= m.promptCap():
		m.setNotice(fmt.Sprintf("%sthe statement took the most steps a statement may, %d; they stand (%s %d raises the cap)",
			prefix, m.promptCap(), stepsCommand, 10*m.promptCap()), true)
	case err != nil && n > 0:
		m.setNotice(fmt.Sprintf("%sthe statement failed after %s; they stand (p steps back, and a statement typed there discards them)",
			prefix, allocator.Count(uint64(n), "step")), true)
	case err != nil:
		// The prompt shows the error; the notice is left as it was.
	default:
		what := stmt
		if result != "" {
			what += " = " + result
		}
		switch n {
		case 0:
			m.setNotice(prefix+what+" (no allocator call, so no new step)", false)
		case 1:
			m.setNotice(fmt.Sprintf("%sstep %d: %s", prefix, m.step, what), false)
		default:
			m.setNotice(fmt.Sprintf("%ssteps %d to %d: %s", prefix, before+1, m.step, what), false)
		}
	}
}

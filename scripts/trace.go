package scripts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/allocviz/allocviz/allocator"
	"github.com/allocviz/allocviz/scripts/ktrace"
)

// A trace of a real kernel (package ktrace) is a session's input like a
// script: each memory event line is one step, replayed on the machine by
// the rules in ktrace's Plan. The step's position is the line
// (file:line), and its EvStep carries the line's label (time, task-pid,
// CPU and call site: allocator.Event.Label) beside it. Statements typed
// at the prompt afterwards continue from the trace's last step, and
// Rebuild replays the trace up to any step. A replay is bounded as a
// script is: in steps, by the memory budget (the trace's text too), by
// its context and Options.Timeout, and Interrupt stops it.

// ParseTrace parses the trace r holds, read as a stream, and plans its
// replay for opts: the machine is chosen from the trace (its CPUs, RAM
// for its page frames) where opts.Config leaves a field zero. The trace's
// text may be at most the memory budget (opts.MaxMemory,
// DefaultMaxMemory) long, and ktrace.MaxBytes.
func ParseTrace(name string, r io.Reader, opts Options) (*ktrace.Plan, error) {
	return parseTrace(context.Background(), name, r, opts.Config, opts.MaxMemory)
}

// parseTrace is ParseTrace bounded by ctx, with a machine configuration
// and a memory budget (0: the default).
func parseTrace(ctx context.Context, name string, r io.Reader, cfg allocator.Config, budget int64) (*ktrace.Plan, error) {
	if budget <= 0 {
		budget = DefaultMaxMemory
	}
	tr, err := ktrace.ParseContext(ctx, name, r, int(min(budget, ktrace.MaxBytes)))
	if err != nil {
		if errors.Is(err, ktrace.ErrTooLarge) && budget < ktrace.MaxBytes {
			err = fmt.Errorf("%w (the memory budget; raise it with --max-memory)", err)
		}
		return nil, err
	}
	return ktrace.Build(tr, ktrace.PlanOptions{Config: cfg}), nil
}

// runTraceFile replays the trace r holds as the session's next input. On
// a session that has taken no step yet the machine is chosen from the
// trace where the session's options leave a field zero, as a script's
// config() would; later, the trace is replayed on the machine as it is.
func (s *Session) runTraceFile(ctx context.Context, name string, r io.Reader) error {
	if err := s.usable(); err != nil {
		return err
	}
	cfg := s.m.Config()
	if s.NumSteps() == 0 {
		cfg = s.opts.Config
	}
	plan, err := parseTrace(ctx, name, r, cfg, s.memBudget)
	if err != nil {
		// The line the reading stopped at, else the file's first; the
		// message without the position the parser put in it.
		pos, msg := name+":1", err.Error()
		var fe *ktrace.FileError
		if errors.As(err, &fe) {
			pos = fmt.Sprintf("%s:%d", name, max(fe.Line, 1))
			msg = strings.Replace(msg, fe.Error(), fe.Err.Error(), 1)
		}
		if c := context.Cause(ctx); c != nil && ctx.Err() != nil {
			return &Error{Pos: pos, Msg: stopMessage(c) + " while reading the trace", err: fmt.Errorf("%w: %w", ErrInterrupted, c)}
		}
		return &Error{Pos: pos, Msg: msg, err: err}
	}
	return s.RunTraceContext(ctx, plan)
}

// RunTrace replays a planned trace as the session's next input: see
// RunTraceContext.
func (s *Session) RunTrace(plan *ktrace.Plan) error {
	return s.RunTraceContext(context.Background(), plan)
}

// RunTraceContext replays a planned trace as the session's next input,
// one step per memory event line, bounded as RunFileContext bounds a
// script: at most the step limit, within the memory budget, until ctx
// ends (or Options.Timeout passes, or Interrupt is called). Lines that
// could not be parsed were left out of the plan; the first is returned as
// an *Error at its file:line, after the rest has been replayed. An
// interrupted replay keeps the steps it completed, and a rebuild of the
// session stops at the same step.
func (s *Session) RunTraceContext(ctx context.Context, plan *ktrace.Plan) error {
	_, err := s.exec(ctx, Input{Name: plan.Trace.Name, Trace: plan, stop: -1})
	return err
}

// execTrace runs a trace input: the steps of in.Trace, up to the stop a
// rebuild (or the point where it was interrupted) asks for.
func (s *Session) execTrace(ctx context.Context, in Input) error {
	plan := in.Trace
	if s.NumSteps() == 0 {
		// The machine the plan chose, as config() would make it.
		c, want := s.settings.Config, plan.Config
		if want.RAM != 0 && want.RAM != c.RAM || want.CPUs != 0 && want.CPUs != c.CPUs || want.PageSize != 0 && want.PageSize != c.PageSize {
			if err := s.reconfigure(Settings{Config: want, MaxSteps: s.settings.MaxSteps}); err != nil {
				return &Error{Pos: in.Name + ":1", Msg: err.Error(), err: err}
			}
		}
	}
	s.inputStart, s.inputCap = s.NumSteps(), in.maxSteps
	s.reachedStop, s.crash = false, nil
	s.stop.Store(nil)
	eventsBefore := s.log.Len()
	s.setProgress(!s.replaying, s.NumSteps(), 0)
	first := s.inputStart
	defer func() { s.setProgress(false, s.NumSteps(), s.NumSteps()-first) }()
	endGuard := s.guardInput(ctx)
	rp := ktrace.NewReplayer(s.m, plan)
	rp.Narrate = true
	err := s.traceSteps(in, rp)
	endGuard()
	if s.reachedStop {
		in.stop = s.stopAfter
		err = nil
	}
	if stop := s.stop.Load(); err != nil && (stop != nil || s.crash != nil) && !s.replaying {
		return s.abandonTrace(in, err, stop, eventsBefore)
	}
	if err != nil {
		// The input ended early (the step limit, the interface closing):
		// a replay stops at the same step.
		in.stop = s.NumSteps()
	}
	s.inputs = append(s.inputs, in)
	t := plan.Trace
	if err == nil && !s.reachedStop && len(t.Errors) > 0 {
		e := t.Errors[0]
		msg := fmt.Sprintf("%s: %s", e.Event, e.Msg)
		if n := t.Stats.Unparsed; n > 1 {
			msg += fmt.Sprintf(" (and %d more lines that could not be parsed: allocviz trace stats lists them)", n-1)
		}
		err = &Error{Pos: fmt.Sprintf("%s:%d", e.File, e.Line), Msg: msg, err: e}
	}
	return err
}

// traceSteps replays the plan's steps from the first, each begun and
// ended as a builtin's step is (the limits checked, Yield, StepDone), and
// returns the *Error that ended it early, if any.
func (s *Session) traceSteps(in Input, rp *ktrace.Replayer) error {
	plan := rp.P
	t := plan.Trace
	for i := range plan.Ops {
		r := &t.Records[i]
		n := s.NumSteps() + 1
		fail := func(err error) error { return &Error{Pos: t.Pos(r), Msg: err.Error(), err: err} }
		if s.stopAfter >= 0 && n > s.stopAfter {
			s.reachedStop = true
			return errStopped
		}
		if err := s.stopErr(); err != nil {
			return fail(err)
		}
		if limit := s.stepCap(); s.NumSteps()-s.inputStart >= limit {
			return fail(fmt.Errorf("step limit reached: the trace has %d steps and %d are allowed in one run; raise it with --max-steps",
				len(plan.Ops), limit))
		}
		if s.opts.Yield != nil && !s.replaying {
			if err := s.opts.Yield(n); err != nil {
				return fail(err)
			}
		}
		op := rp.OpText(i)
		origin := t.Origin(r)
		s.m.BeginTraceStep(n, &origin, op)
		s.steps.Push(stepRec{op: s.log.Intern(op)})
		s.setProgress(!s.replaying, n, n-s.inputStart)
		res, err := s.traceStep(rp, i, n, r)
		if err != nil {
			return err
		}
		s.steps.At(n - 1).result = s.log.Intern(res.Result)
		s.events.Store(int64(s.log.Len()))
		if s.opts.StepDone != nil && !s.replaying {
			s.opts.StepDone(s, s.Step(n))
		}
	}
	return nil
}

// traceStep replays op i as step n. A panic (a bug in allocviz, never in
// the trace) ends the input with an internal error at the line; only the
// steps before n stand.
func (s *Session) traceStep(rp *ktrace.Replayer, i, n int, rec *ktrace.Record) (res ktrace.StepResult, err error) {
	defer func() {
		if r := recover(); r != nil {
			pos := rp.P.Trace.Pos(rec)
			perr := s.panicked("the replay of "+pos, r, n-1, 1)
			err = &Error{Pos: pos, Msg: perr.Error(), err: perr}
		}
	}()
	return rp.Step(i), nil
}

// abandonTrace ends a trace input that was interrupted (stop) or in which
// the replay panicked (s.crash) and returns its error. The steps it
// completed stand, and a replay of it stops at the same step; after a
// panic the machine is replayed to the end of the last step completed.
func (s *Session) abandonTrace(in Input, err error, stop *stopCause, eventsBefore int) error {
	var pe *Error
	if !errors.As(err, &pe) {
		pe = &Error{Pos: in.Name + ":1", Msg: err.Error()}
	}
	if stop != nil {
		pe.Msg, pe.err = stop.msg, stop.err
		in.stop = s.NumSteps()
		s.inputs = append(s.inputs, in)
		return pe
	}
	c := s.crash
	pe.Msg, pe.err = c.err.Error(), c.err
	in.stop = c.keep
	s.inputs = append(s.inputs, in)
	events := eventsBefore
	if c.keep > 0 {
		events = s.Step(c.keep).Last + 1
	}
	if rerr := s.restore(c.keep, events); rerr != nil {
		return rerr
	}
	return pe
}

// describeTrace is a bundled trace's description: its "# allocviz ..."
// comment (allocviz capture writes one), else what the trace is.
func describeTrace(src []byte) string {
	head, err := ktrace.Head(src, 4096)
	if err != nil {
		return "a kernel trace"
	}
	if c := ktrace.Comment(head); c != "" {
		return c
	}
	return "a kernel trace"
}

package scripts

import (
	"fmt"
	"strconv"

	"github.com/allocviz/allocviz/scripts/ktrace"
)

// A trace of a real kernel (package ktrace) is a session's input like a
// script: each memory event line is one step, replayed on the machine by
// the rules in ktrace's Plan. The step's position is the line
// (file:line), its label the timestamp, task-pid, CPU and call site, and
// its events carry the label where a script step's carry file:line:col.
// Statements typed at the prompt afterwards continue from the trace's
// last step, and Rebuild replays the trace up to any step.

// ParseTrace parses a trace and plans its replay for opts: the machine is
// chosen from the trace (its CPUs, RAM for its page frames) where
// opts.Config leaves a field zero.
func ParseTrace(name string, data []byte, opts Options) (*ktrace.Plan, error) {
	tr, err := ktrace.Parse(name, data)
	if err != nil {
		return nil, err
	}
	return ktrace.Build(tr, ktrace.PlanOptions{Config: opts.Config}), nil
}

// runTrace replays a trace on a new session whose machine the plan
// chose.
func runTrace(sc Script, opts Options) (*Session, error) {
	plan, err := ParseTrace(sc.Name, sc.Src, opts)
	if err != nil {
		return nil, err
	}
	opts.Config = plan.Config
	s, err := New(opts)
	if err != nil {
		return nil, err
	}
	return s, s.RunTrace(plan)
}

// RunTrace replays a planned trace as the session's next input, one step
// per memory event line. Lines that could not be parsed were left out of
// the plan; the first is returned as an *Error at its file:line, after
// the rest has been replayed. The step limit applies as to a script.
func (s *Session) RunTrace(plan *ktrace.Plan) error {
	_, err := s.exec(Input{Name: plan.Trace.Name, Trace: plan, stop: -1})
	return err
}

// execTrace runs a trace input: the steps of in.Trace, up to the stop a
// rebuild asks for.
func (s *Session) execTrace(in Input) error {
	plan := in.Trace
	t := plan.Trace
	rp := ktrace.NewReplayer(s.m, plan)
	rp.Narrate = true
	s.inputStart = len(s.steps)
	s.stopped = false
	var err error
	for i := range plan.Ops {
		n := len(s.steps) + 1
		if s.stopAfter >= 0 && n > s.stopAfter {
			s.stopped = true
			break
		}
		r := &t.Records[plan.Ops[i].Rec]
		if len(s.steps)-s.inputStart >= s.settings.MaxSteps {
			err = &Error{Pos: fmt.Sprintf("%s:%d", t.Name, r.Line),
				Msg: fmt.Sprintf("step limit reached: the trace has %d steps and %d are allowed in one run; raise it with --max-steps", len(plan.Ops), s.settings.MaxSteps)}
			break
		}
		first := s.log.Len()
		label := t.Label(r)
		op := rp.OpText(i)
		s.m.BeginStep(n, label, op)
		res := rp.Step(i)
		st := Step{N: n, Pos: t.Name + ":" + strconv.Itoa(int(r.Line)), Label: label, Call: op, Op: op, Result: res.Result,
			First: first, Last: s.log.Len() - 1}
		s.steps = append(s.steps, st)
	}
	if s.stopped {
		in.stop = s.stopAfter
	}
	s.inputs = append(s.inputs, in)
	if err == nil && !s.stopped && len(t.Errors) > 0 {
		e := t.Errors[0]
		msg := fmt.Sprintf("%s: %s", e.Event, e.Msg)
		if n := t.Stats.Unparsed; n > 1 {
			msg += fmt.Sprintf(" (and %d more lines that could not be parsed: allocviz trace stats lists them)", n-1)
		}
		err = &Error{Pos: fmt.Sprintf("%s:%d", e.File, e.Line), Msg: msg, err: e}
	}
	return err
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

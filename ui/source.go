package ui

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/allocviz/allocviz/allocator"
	"github.com/allocviz/allocviz/heapview"
	"github.com/allocviz/allocviz/scripts"
	"go.starlark.net/starlark"
)

// source is what the interface shows: a scripting session (the machine
// and the steps it took) and the heapview model rebuilt from its events,
// with the cursor on the step shown. It belongs to the event loop, with
// two exceptions: the rebuilder, see there, and a statement typed at the
// prompt, which runs on the session off the event loop (run). Meanwhile
// the event loop reads only hv and rec, the session's records as they
// were before the statement: the session only appends to them, and
// undoing a statement replaces them, so what rec holds is never written.
type source struct {
	sess    *scripts.Session
	hv      *heapview.Model
	applied int             // events of the session's log handed to hv
	runErr  error           // the script's error when it was opened, nil if it ran to its end
	ctx     context.Context // statements run under it; it ends when the program stops
	rec     records         // the session's records as of the last sync
}

// records are what the interface reads of a session besides its events.
type records struct {
	steps   []scripts.Step
	printed []scripts.Printed
	marks   []scripts.Bookmark
	inputs  []scripts.Input
	failed  []scripts.Failure
	config  []string // the settings config() set
	cfg     allocator.Config
}

// openSource runs scenario or script ref on a fresh machine and builds the
// model of what it did. A script that fails part-way still opens, showing
// the steps before the error (runErr).
func openSource(ctx context.Context, ref string, opts scripts.Options) (*source, error) {
	sess, err := scripts.RunContext(ctx, ref, opts)
	if sess == nil {
		return nil, err
	}
	s, herr := newSource(ctx, sess)
	if herr != nil {
		sess.Close()
		return nil, herr
	}
	s.runErr = err
	return s, nil
}

// newSource builds the model of sess's events so far.
func newSource(ctx context.Context, sess *scripts.Session) (*source, error) {
	events := sess.Log().Events
	hv, err := heapview.New(events)
	if hv == nil {
		return nil, err
	}
	// Anomalies (events heapview could not apply) are shown, not fatal.
	s := &source{sess: sess, hv: hv, applied: len(events), ctx: ctx}
	s.snapshot()
	return s, nil
}

// snapshot takes the session's records; only the event loop calls it,
// while no statement runs.
func (s *source) snapshot() {
	s.rec = records{steps: s.sess.Steps(), printed: s.sess.Printed(), marks: s.sess.Bookmarks(),
		inputs: s.sess.Inputs(), failed: s.sess.Failures(), config: s.sess.Configured(), cfg: s.sess.Settings().Config}
}

// step returns step n (1 and up) as the session recorded it.
func (s *source) step(n int) (scripts.Step, bool) {
	if n < 1 || n > len(s.rec.steps) {
		return scripts.Step{}, false
	}
	return s.rec.steps[n-1], true
}

// steps is the number of the last step.
func (s *source) steps() int { return s.hv.Steps() }

// seek puts the model's cursor on step n.
func (s *source) seek(n int) {
	// Seek fails only for steps that do not exist; callers clamp.
	_ = s.hv.Seek(n)
}

// exec runs stmt as new steps at the end of the session, with at most
// maxSteps allocator steps (0: the default), and brings the model up to
// date (sync).
//
// A statement that is interrupted (ctx ended) or meets a bug is undone by
// the session, which then holds exactly the events it had before.
func (s *source) exec(ctx context.Context, stmt string, maxSteps int) (string, error) {
	result, err := s.run(ctx, stmt, maxSteps)
	s.sync()
	return result, err
}

// run runs stmt on the session and returns its value as the prompt shows
// it. It touches neither hv nor rec, so it may run off the event loop
// while the event loop reads them; sync then brings them up to date.
func (s *source) run(ctx context.Context, stmt string, maxSteps int) (string, error) {
	v, err := s.sess.ExecContext(ctx, stmt, scripts.ExecOptions{MaxSteps: maxSteps})
	result := ""
	if v != nil && v != starlark.None {
		result = scripts.Display(v, maxResult)
	}
	return result, err
}

// sync hands the model the events the session recorded since the last
// sync and takes its records anew.
func (s *source) sync() {
	events := s.sess.Log().Events
	if len(events) > s.applied {
		_ = s.hv.Apply(events[s.applied:]...) // anomalies are shown, not fatal
		s.applied = len(events)
	}
	s.snapshot()
}

// maxResult bounds a statement's value as the prompt shows it.
const maxResult = 200

// rebuilder is what a command needs to rebuild the session up to a step
// off the event loop. Session.Rebuild only reads the old session (its
// recorded inputs and options), and while a rebuild is under way Update
// runs nothing on the old session, so the command's reads race with
// nothing.
type rebuilder struct {
	sess *scripts.Session
	step int
	ctx  context.Context
}

func (s *source) rebuilder(step int) rebuilder {
	return rebuilder{sess: s.sess, step: step, ctx: s.ctx}
}

// rebuild makes a new source in the state of step rb.step.
func (rb rebuilder) rebuild() (*source, error) {
	ns, err := rb.sess.Rebuild(rb.step)
	if err != nil {
		return nil, err
	}
	src, err := newSource(rb.ctx, ns)
	if err != nil {
		ns.Close()
		return nil, err
	}
	return src, nil
}

// typed returns how many statements typed at the prompt the session
// holds.
func (s *source) typed() int {
	if s == nil {
		return 0
	}
	n := 0
	for _, in := range s.rec.inputs {
		if in.Prompt {
			n++
		}
	}
	return n
}

// close releases the machine.
func (s *source) close() {
	if s != nil {
		s.sess.Close()
	}
}

// machineSummary describes the machine and its free memory at the step
// shown, for the status bar: "64 MiB · 4 KiB pages · 4 cpus · 6.18 ·
// free 61.2 MiB", or in short "64 MiB · 4 KiB · 4 cpus · 61.2 MiB free".
func (s *source) machineSummary(short bool) string {
	cfg := s.rec.cfg
	t := s.hv.Totals()
	free := t.PagesByOwner[allocator.OwnerFree] * s.hv.PageSize()
	if short {
		return fmt.Sprintf("%s · %s · %d cpus · %s free", allocator.FormatBytes(uint64(cfg.RAM)),
			allocator.FormatBytes(uint64(cfg.PageSize)), cfg.CPUs, humanBytes(free))
	}
	return fmt.Sprintf("%s · %s pages · %d cpus · %s · free %s",
		allocator.FormatBytes(uint64(cfg.RAM)), allocator.FormatBytes(uint64(cfg.PageSize)),
		cfg.CPUs, cfg.Profile, humanBytes(free))
}

// humanBytes prints a byte count with one decimal: "61.2 MiB".
func humanBytes(n uint64) string {
	switch {
	case n >= allocator.GiB:
		return fmt.Sprintf("%.1f GiB", float64(n)/allocator.GiB)
	case n >= allocator.MiB:
		return fmt.Sprintf("%.1f MiB", float64(n)/allocator.MiB)
	case n >= allocator.KiB:
		return fmt.Sprintf("%.1f KiB", float64(n)/allocator.KiB)
	}
	return fmt.Sprintf("%d B", n)
}

// bundledScenarios lists the scenarios the picker offers.
func bundledScenarios() []scenarioItem {
	all, err := scripts.Scenarios()
	if err != nil {
		return nil
	}
	out := make([]scenarioItem, 0, len(all))
	for _, sc := range all {
		out = append(out, scenarioItem{name: sc.Name, desc: sc.Description})
	}
	return out
}

// overridden says which settings the command line gave that the script's
// config() set anew, "" when none.
func overridden(configured, flags []string) string {
	var both []string
	for _, c := range configured {
		if slices.Contains(flags, c) {
			both = append(both, c)
		}
	}
	if len(both) == 0 {
		return ""
	}
	return fmt.Sprintf("the script's config() sets %s, overriding the command line", strings.Join(both, ", "))
}

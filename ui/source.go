package ui

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/allocviz/allocviz/allocator"
	"github.com/allocviz/allocviz/heapview"
	"github.com/allocviz/allocviz/scripts"
	"go.starlark.net/starlark"
)

// source is what the interface shows: a scripting session (the machine
// and the steps it took) and the heapview model rebuilt from its events,
// with the cursor on the step shown. It belongs to the event loop; the
// exceptions are the rebuilder, see there, a script still running (see
// live), and a statement typed at the prompt, which runs on the session
// off the event loop (run): meanwhile the event loop touches neither the
// session nor hv, and sync brings hv up to date when it is done.
type source struct {
	sess   *scripts.Session
	hv     *heapview.Model
	cfg    allocator.Config // the machine's configuration, fixed by the first step
	runErr error            // the script's error when it was opened, nil if it ran to its end
	ctx    context.Context  // statements run under it; it ends when the program stops
	trace  bool             // it was opened on a kernel's trace, not a script

	// A script that runs longer than firstSlice is shown while it runs:
	// its runner goroutine holds mu while it takes steps and lets go of it
	// every slice, and the event loop takes mu (Update, see hold) to read
	// the session and bring the model up to date (syncLive). View reads
	// only the model and fields of the Model, never the session, so it
	// needs no lock.
	live *liveRun // nil once opened whole
}

// liveRun is a script running on its own goroutine while it is shown.
type liveRun struct {
	mu      sync.Mutex
	running bool          // under mu: the script has not ended
	err     error         // under mu, once !running: the script's error
	stop    atomic.Bool   // set by close: the next step fails, ending the script
	ended   atomic.Bool   // set by the runner when the script has returned: later inputs (statements) run on the event loop and never yield
	paused  chan struct{} // closed at the runner's first pause
	done    chan struct{} // closed when the runner has let go of the session for good
	last    time.Time     // when the runner last let go of mu; the runner's own
	n       int           // steps since it last looked at the clock; the runner's own
	first   time.Duration // how long it runs before it first lets go
	paused1 bool          // it has let go once; the runner's own
}

// firstSlice is how long a script runs before the interface shows it
// (a variable for tests); slice is how long the runner then holds the
// session between chances for the event loop to read it.
var firstSlice = 150 * time.Millisecond

const slice = 20 * time.Millisecond

// errClosed ends a script whose source was closed while it ran.
var errClosed = errors.New("closed while running")

// yield is the session's Yield hook: it lets the event loop in every
// slice, and ends the script once the source is closed.
func (l *liveRun) yield(int) error {
	if l.ended.Load() {
		return nil
	}
	if l.stop.Load() {
		return errClosed
	}
	if l.n++; l.n&63 != 0 {
		return nil
	}
	d := slice
	if !l.paused1 {
		d = l.first
	}
	if time.Since(l.last) < d {
		return nil
	}
	l.mu.Unlock()
	if !l.paused1 {
		l.paused1 = true
		close(l.paused)
	}
	runtime.Gosched()
	l.mu.Lock()
	l.last = time.Now()
	if l.stop.Load() {
		return errClosed
	}
	return nil
}

// openSource runs scenario or script ref on a fresh machine and builds the
// model of what it did. A script that fails part-way still opens, showing
// the steps before the error (runErr). A script still running after
// firstSlice opens with the steps so far and goes on running (live).
func openSource(ctx context.Context, ref string, opts scripts.Options) (*source, error) {
	sc, err := scripts.Open(ref)
	if err != nil {
		return nil, err
	}
	l := &liveRun{running: true, paused: make(chan struct{}), done: make(chan struct{}), first: firstSlice, last: time.Now()}
	opts.Yield = l.yield
	sess, err := scripts.New(opts)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	go func() {
		err := sess.RunScriptContext(ctx, sc)
		l.ended.Store(true)
		l.running, l.err = false, err
		l.mu.Unlock()
		close(l.done)
	}()
	select {
	case <-l.done:
		s, herr := newSource(ctx, sess)
		if herr != nil {
			sess.Close()
			return nil, herr
		}
		s.runErr, s.trace = l.err, sc.Trace
		return s, nil
	case <-l.paused:
	}
	l.mu.Lock()
	s, herr := newSource(ctx, sess)
	if herr != nil {
		l.stop.Store(true)
		l.mu.Unlock()
		<-l.done
		sess.Close()
		return nil, herr
	}
	s.live, s.trace = l, sc.Trace
	l.mu.Unlock()
	return s, nil
}

// inputNoun names what the session ran first: "trace" for a kernel's
// trace replayed, else "script". A source that openSource made knows;
// another (a rebuild's, made while nothing runs) asks the session.
func (s *source) inputNoun() string {
	if s.trace {
		return "trace"
	}
	if s.live != nil {
		return "script"
	}
	if in := s.sess.Inputs(); len(in) > 0 && in[0].Trace != nil {
		return "trace"
	}
	return "script"
}

// newSource builds the model of sess's events so far.
func newSource(ctx context.Context, sess *scripts.Session) (*source, error) {
	hv, err := heapview.New(sess.Log())
	if hv == nil {
		return nil, err
	}
	// Anomalies (events heapview could not apply) are shown, not fatal.
	s := &source{sess: sess, hv: hv, cfg: sess.Settings().Config, ctx: ctx}
	if err := trackSource(s); err != nil { // room.go
		return nil, err
	}
	return s, nil
}

// hold takes the session from a running script's goroutine until the
// returned function is called; for a source opened whole it does nothing.
// Update holds the source it shows for as long as it runs.
func (s *source) hold() func() {
	if s == nil || s.live == nil {
		return func() {}
	}
	s.live.mu.Lock()
	return s.live.mu.Unlock
}

// running reports whether the script is still running. The caller holds s.
func (s *source) running() bool { return s.live != nil && s.live.running }

// syncLive hands the model the steps a running script took since the last
// call, and reports whether it has ended, taking its error if it has. The
// caller holds s.
func (s *source) syncLive() (ended bool) {
	_ = s.hv.Sync() // anomalies are shown, not fatal
	if s.live == nil || s.live.running {
		return false
	}
	s.runErr = s.live.err
	return true
}

// steps is the number of the last step.
func (s *source) steps() int { return s.hv.Steps() }

// seek puts the model's cursor on step n.
func (s *source) seek(n int) {
	// Seek fails only for steps that do not exist; callers clamp.
	_ = s.hv.Seek(n)
}

// step returns step n (1 and up) as the session recorded it.
func (s *source) step(n int) (scripts.Step, bool) {
	if n < 1 || n > s.sess.NumSteps() {
		return scripts.Step{}, false
	}
	return s.sess.Step(n), true
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
// it. It does not touch hv, so it may run off the event loop while the
// event loop leaves the session alone; sync then brings hv up to date.
func (s *source) run(ctx context.Context, stmt string, maxSteps int) (string, error) {
	return shown(s.sess.ExecContext(ctx, stmt, scripts.ExecOptions{MaxSteps: maxSteps}))
}

// runInput is run for in, a statement another session recorded, run as
// it ran there (Session.ExecInput).
func (s *source) runInput(ctx context.Context, in scripts.Input) (string, error) {
	return shown(s.sess.ExecInput(ctx, in))
}

// shown is a statement's value as the prompt shows it, and its error.
func shown(v starlark.Value, err error) (string, error) {
	result := ""
	if v != nil && v != starlark.None {
		result = scripts.Display(v, maxResult)
	}
	return result, err
}

// sync hands the model the events the session recorded since the last
// sync. A statement undone leaves the log as it was (replayed anew),
// which hv already holds.
func (s *source) sync() {
	_ = s.hv.Sync() // anomalies are shown, not fatal
}

// typed returns how many statements typed at the prompt the session
// holds.
func (s *source) typed() int {
	if s == nil {
		return 0
	}
	n := 0
	for _, in := range s.sess.Inputs() {
		if in.Prompt {
			n++
		}
	}
	return n
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

// close releases the machine.
func (s *source) close() {
	if s == nil || !untrackSource(s) { // room.go
		return
	}
	s.release()
}

// release stops the script running, if any, and releases the machine.
func (s *source) release() {
	if s.live != nil {
		// Not called with s held. The running script fails at its next
		// step, and the session is ours once the runner is done.
		s.live.stop.Store(true)
		<-s.live.done
	}
	s.sess.Close()
}

// machineSummary describes the machine and its free memory at the step
// shown, for the status bar: "64 MiB · 4 KiB pages · 4 cpus · 6.18 ·
// free 61.2 MiB", or in short "64 MiB · 4 KiB · 4 cpus · 61.2 MiB free".
func (s *source) machineSummary(short bool) string {
	cfg := s.cfg
	t := s.hv.Totals()
	free := t.PagesByOwner[allocator.OwnerFree] * s.hv.PageSize()
	if short {
		return fmt.Sprintf("%s · %s · %d cpus · %s free", allocator.FormatBytes(uint64(cfg.RAM)),
			allocator.FormatBytes(uint64(cfg.PageSize)), cfg.CPUs, allocator.HumanBytes(free))
	}
	return fmt.Sprintf("%s · %s pages · %d cpus · %s · free %s",
		allocator.FormatBytes(uint64(cfg.RAM)), allocator.FormatBytes(uint64(cfg.PageSize)),
		cfg.CPUs, cfg.Profile, allocator.HumanBytes(free))
}

// bundledScenarios lists the scenarios the picker offers, grouped by topic
// in the order allocviz scenarios lists them.
func bundledScenarios() []scenarioItem {
	all, err := scripts.Scenarios()
	if err != nil {
		return nil
	}
	out := make([]scenarioItem, 0, len(all))
	for _, group := range scripts.ByTopic(all) {
		for _, sc := range group {
			out = append(out, scenarioItem{topic: sc.Topic, name: sc.Name, desc: sc.Description})
		}
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

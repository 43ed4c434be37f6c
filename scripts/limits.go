package scripts

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"

	"github.com/allocviz/allocviz/allocator"
)

// What keeps a script from taking allocviz down. Every input (a script
// run, a statement typed at the prompt) is bounded four ways:
//
//   - Allocator steps: at most Settings.MaxSteps for a script,
//     ExecOptions.MaxSteps (DefaultPromptSteps) for a prompt statement.
//   - Starlark computation steps: execStepsPerStep per allowed allocator
//     step, at least minExecSteps. The interpreter counts its own
//     instructions; the builtins a script can loop inside (list, sorted,
//     max, str, ", ".join, ...) charge one step per element they visit
//     (Session.charge), and so do the lazy sequences (range, string.elems,
//     a kvec) to whatever iterates them, so no builtin loop escapes the
//     count.
//   - Memory: Options.MaxMemory of Go heap (DefaultMaxMemory). A builtin
//     that would make a sequence, a string or a number too big for it
//     refuses before it allocates (checkAlloc), and a watchdog on the Go
//     heap (runtime/metrics) interrupts the input when the heap passes
//     the budget anyway, as a loop that doubles a string does.
//   - Time and outside events: the input's context (ExecContext,
//     RunFileContext), and Options.Timeout.
//
// An input that is interrupted (its context ends, the memory watchdog
// fires) or in which a builtin panics ends with an *Error that matches
// ErrInterrupted or ErrInternal. A prompt statement is then undone: the
// session is rebuilt to where it was before it (see ExecContext). A
// script run keeps the steps it completed; when it is replayed, it stops
// at the same point (Input.budget).

// DefaultMaxMemory is the default budget of Go heap for a session: the
// script's own values, on top of the machine's RAM, which is mapped
// memory outside the Go heap.
const DefaultMaxMemory = 1 << 30

// DefaultPromptSteps is the default limit on the allocator steps one
// statement typed at the prompt may take (ExecOptions.MaxSteps).
const DefaultPromptSteps = 10_000

// MaxStepsLimit is the largest step limit a session accepts (config,
// Options.MaxSteps, --max-steps): more would never finish anyway, and
// the Starlark budget derived from it must not overflow.
const MaxStepsLimit = 1 << 40

// maxNesting is how deeply nested a value str, repr, print and the %
// operator will print. Starlark's printer is quadratic in the depth.
const maxNesting = 100

// maxIntBits bounds the ints * may make (about 2.5 million decimal
// digits): beyond it a single multiplication, and printing the result,
// would take seconds during which nothing can interrupt them.
const maxIntBits = 1 << 22

// watchEvery is how often the memory watchdog looks at the Go heap.
const watchEvery = 5 * time.Millisecond

var (
	// ErrInterrupted matches the error of an input that was stopped from
	// outside before it ended: its context was cancelled or timed out, or
	// the Go heap passed the memory budget (ErrMemoryBudget). The cause
	// (context.Canceled, context.DeadlineExceeded, the context's cause)
	// matches too.
	ErrInterrupted = errors.New("interrupted")
	// ErrMemoryBudget matches the error of an input stopped by the memory
	// watchdog.
	ErrMemoryBudget = errors.New("memory budget exceeded")
	// ErrInternal matches the error of an input in which a builtin
	// panicked: a bug in allocviz, never in the script. The session
	// survives it.
	ErrInternal = errors.New("internal error")
)

// errExecLimit is what a builtin returns when charging for its loop took
// the input past its Starlark step budget; exec replaces the message.
var errExecLimit = errors.New("execution limit")

// stopCause is why an input was interrupted.
type stopCause struct {
	msg string // shown as the error's message
	err error  // matches ErrInterrupted and the cause
}

// Progress is what a running input has done so far, safe to read from
// any goroutine while it runs (Session.Progress).
type Progress struct {
	Running    bool // an input is running
	Steps      int  // allocator steps of the session, the running input's included
	InputSteps int  // allocator steps the running (or else the last) input took
}

// Progress returns the steps taken so far. Unlike the other methods it
// may be called from another goroutine while an input runs, for an
// on-screen counter.
func (s *Session) Progress() Progress {
	s.progressMu.Lock()
	defer s.progressMu.Unlock()
	return s.progress
}

// setProgress publishes the steps taken.
func (s *Session) setProgress(running bool, steps, input int) {
	s.progressMu.Lock()
	s.progress = Progress{Running: running, Steps: steps, InputSteps: input}
	s.progressMu.Unlock()
}

// Interrupt stops the input running, as cancelling its context does,
// with cause as the reason. It is safe to call from any goroutine; it
// does nothing when no input runs.
func (s *Session) Interrupt(cause error) {
	if cause == nil {
		cause = context.Canceled
	}
	s.interrupt(stopCause{msg: stopMessage(cause), err: fmt.Errorf("%w: %w", ErrInterrupted, cause)})
}

// interrupt records why the running input stops and cancels its thread.
// The first cause wins.
func (s *Session) interrupt(c stopCause) {
	th := s.threadRef.Load()
	if th == nil {
		return
	}
	if s.stop.CompareAndSwap(nil, &c) {
		th.Cancel(c.msg)
	}
}

// stopMessage words a context's cause for the error of the input it
// stopped.
func stopMessage(cause error) string {
	switch cause {
	case context.DeadlineExceeded:
		return "timed out"
	case context.Canceled:
		return "cancelled"
	}
	return cause.Error()
}

// timeoutError is the cause of an input stopped by Options.Timeout.
type timeoutError struct{ d time.Duration }

func (e timeoutError) Error() string { return fmt.Sprintf("timed out after %v (--timeout)", e.d) }

// Unwrap makes it match context.DeadlineExceeded.
func (e timeoutError) Unwrap() error { return context.DeadlineExceeded }

// stopErr returns the error of an interruption, nil while the input may
// go on. It cancels the thread itself: interrupt records the stop before
// it cancels the thread from its own goroutine, and a builtin that sees
// the stop in between and ends quietly (a lazy sequence stops yielding)
// must not let the input finish as if it had not been stopped.
func (s *Session) stopErr() error {
	if c := s.stop.Load(); c != nil {
		s.thread.Cancel(c.msg)
		return errors.New(c.msg)
	}
	return nil
}

// charge counts n Starlark computation steps of a builtin's loop against
// the input's budget. It fails once the budget is spent or the input was
// interrupted; the builtin must then stop and return the error (a lazy
// sequence's iterator stops yielding instead: the thread is cancelled, so
// the input ends at its next instruction).
func (s *Session) charge(n uint64) error {
	if err := s.stopErr(); err != nil {
		return err
	}
	th := s.thread
	th.Steps = satAdd(th.Steps, n)
	if th.Steps >= s.execMax {
		s.execLimit = true
		th.Cancel("execution limit")
		return errExecLimit
	}
	return nil
}

// checkAlloc fails when n things of per bytes each would not fit the
// memory budget. what names the builtin or operator; unit names the
// things ("elements", "bytes").
func (s *Session) checkAlloc(what string, n, per uint64, unit string) error {
	hi, total := bits.Mul64(n, per)
	if hi == 0 && total <= uint64(s.memBudget) {
		return nil
	}
	need := "more than 16 EiB"
	if hi == 0 {
		need = approxBytes(total)
	}
	return fmt.Errorf("%s%d %s would take %s, over the memory budget of %s (raise it with --max-memory)",
		prefix(what), n, unit, need, approxBytes(uint64(s.memBudget)))
}

// prefix is what, followed by ": ", or nothing when what is empty.
func prefix(what string) string {
	if what == "" {
		return ""
	}
	return what + ": "
}

// checkSize fails when a result of size bytes would not fit the memory
// budget: the bound of a string a builtin or operator would build.
func (s *Session) checkSize(what string, size uint64) error {
	if size <= uint64(s.memBudget) {
		return nil
	}
	return fmt.Errorf("%sthe result would take %s, over the memory budget of %s (raise it with --max-memory)",
		prefix(what), approxBytes(size), approxBytes(uint64(s.memBudget)))
}

// execBudget is the Starlark computation allowed per input, for a step
// limit of maxSteps allocator steps.
func execBudget(maxSteps int) uint64 {
	hi, b := bits.Mul64(uint64(maxSteps), execStepsPerStep)
	if hi != 0 {
		return math.MaxUint64
	}
	return max(b, minExecSteps)
}

// satAdd is a + b, or the largest uint64 when that overflows.
func satAdd(a, b uint64) uint64 {
	s, carry := bits.Add64(a, b, 0)
	if carry != 0 {
		return math.MaxUint64
	}
	return s
}

// checkMaxSteps checks a step limit given by a user.
func checkMaxSteps(n int) error {
	if n < 1 || n > MaxStepsLimit {
		return fmt.Errorf("%d is out of range (allowed: 1 to %d)", n, int64(MaxStepsLimit))
	}
	return nil
}

// recordAllowance is the Go heap allowed per event of the session's log
// on top of the memory budget: the budget is for the script's values,
// and what the session records of its steps (an event and its share of
// the step, about 300 to 400 bytes) and a viewer's model of them (the
// interface's) come on top. A run of a million steps records a few
// million events.
const recordAllowance = 1 << 10

// heapAllowed is the Go heap allowed now: the budget, and the allowance
// for the events recorded. Safe from any goroutine.
func (s *Session) heapAllowed() uint64 {
	return satAdd(s.heapBudget(), uint64(s.events.Load())*recordAllowance)
}

// heapBudget is the Go heap the watchdog allows before the allowance for
// events: Options.ProcessHeap when set, else the memory budget.
func (s *Session) heapBudget() uint64 {
	if s.opts.ProcessHeap > 0 {
		return uint64(s.opts.ProcessHeap)
	}
	return uint64(s.memBudget)
}

// guardInput bounds an input being run (not a rebuild's replay of it)
// by Options.Timeout and watches ctx, Interrupt and the memory budget
// while it runs (watch); the func it returns ends both.
func (s *Session) guardInput(ctx context.Context) (end func()) {
	if s.replaying {
		return func() {}
	}
	cancel := context.CancelFunc(func() {})
	if s.opts.Timeout > 0 {
		ctx, cancel = context.WithTimeoutCause(ctx, s.opts.Timeout, timeoutError{s.opts.Timeout})
	}
	stop := s.watch(ctx)
	return func() { stop(); cancel() }
}

// watch starts the input's watchdog: it interrupts the input when ctx
// ends and when the Go heap passes what is allowed (heapAllowed). With
// Options.LimitHeap it also keeps the runtime's soft memory limit a
// little above that, so the collector works harder as the heap nears it.
// stop ends it and waits for it.
func (s *Session) watch(ctx context.Context) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(watchEvery)
		defer tick.Stop()
		var h heapWatch
		var limit uint64
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				s.Interrupt(context.Cause(ctx))
				return
			case <-tick.C:
				allowed := s.heapAllowed()
				if s.opts.LimitHeap && (allowed > limit+limit/8 || allowed < limit-limit/8) {
					limit = allowed
					debug.SetMemoryLimit(int64(min(softLimit(limit), math.MaxInt64)))
				}
				if heap, over := h.over(allowed); over {
					msg := fmt.Sprintf("memory budget exceeded: the Go heap reached %s, over the budget of %s", approxBytes(heap), approxBytes(s.heapBudget()))
					if extra := allowed - s.heapBudget(); extra > s.heapBudget()/16 {
						msg += fmt.Sprintf(" and the %s allowed for the %d events recorded", approxBytes(extra), s.events.Load())
					}
					s.interrupt(stopCause{
						msg: msg + " (raise it with --max-memory)",
						err: fmt.Errorf("%w: %w", ErrInterrupted, ErrMemoryBudget),
					})
					return
				}
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
	}
}

// softLimit is the runtime's soft memory limit for a heap allowed to
// reach allowed bytes: a quarter and 64 MiB above, room for the
// collector's own work.
func softLimit(allowed uint64) uint64 { return satAdd(allowed+allowed/4, 64<<20) }

// heapWatch decides when the Go heap is over what is allowed. The heap's
// object bytes include garbage not yet collected; when they pass the
// allowance it collects (at most every forceEvery) and judges by the
// live bytes that remain.
type heapWatch struct {
	lastGC   time.Time
	samples  [2]metrics.Sample
	prepared bool
}

const forceEvery = 100 * time.Millisecond

func (h *heapWatch) over(allowed uint64) (uint64, bool) {
	if !h.prepared {
		h.samples[0].Name = "/memory/classes/heap/objects:bytes"
		h.samples[1].Name = "/gc/heap/live:bytes"
		h.prepared = true
	}
	metrics.Read(h.samples[:1])
	objects := h.samples[0].Value.Uint64()
	if objects <= allowed || time.Since(h.lastGC) < forceEvery {
		return objects, false
	}
	runtime.GC()
	h.lastGC = time.Now()
	metrics.Read(h.samples[1:])
	live := h.samples[1].Value.Uint64()
	return live, live > allowed
}

// approxBytes prints a byte count with one decimal: "1.5 GiB".
func approxBytes(n uint64) string {
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	if n < 1024 {
		return fmt.Sprintf("%d bytes", n)
	}
	v := float64(n) / 1024
	u := 0
	for v >= 1024 && u < len(units)-1 {
		v /= 1024
		u++
	}
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f %s", v, units[u])
	}
	return fmt.Sprintf("%.1f %s", v, units[u])
}

// internalError is the error of a builtin that panicked.
func internalError(what string, r any) error {
	return fmt.Errorf("%w in %s: %v (a bug in allocviz, not in the script; the session goes on without it)", ErrInternal, what, r)
}

// StepBudget is a count of allocator steps that several inputs, and
// several sessions, draw from (Options.Steps). It is safe for concurrent
// use.
type StepBudget struct {
	limit int64
	used  atomic.Int64
}

// NewStepBudget returns a budget of n allocator steps.
func NewStepBudget(n int64) *StepBudget { return &StepBudget{limit: n} }

// Used returns the steps taken from the budget.
func (b *StepBudget) Used() int64 { return min(b.used.Load(), b.limit) }

// Limit returns the budget's size.
func (b *StepBudget) Limit() int64 { return b.limit }

// take charges one step, failing once the budget is spent.
func (b *StepBudget) take() error {
	if b.used.Add(1) > b.limit {
		return fmt.Errorf("step limit reached: this session has taken all of its %d allocator steps", b.limit)
	}
	return nil
}

// checkRAM fails when cfg asks for more RAM than maxRAM (0: no cap); a
// RAM of 0 is the machine's default.
func checkRAM(cfg allocator.Config, maxRAM int64) error {
	ram := cfg.RAM
	if ram == 0 {
		ram = allocator.DefaultRAM
	}
	if maxRAM > 0 && ram > maxRAM {
		return fmt.Errorf("ram %s is more than this session may have (%s)",
			allocator.FormatBytes(uint64(ram)), allocator.FormatBytes(uint64(maxRAM)))
	}
	return nil
}

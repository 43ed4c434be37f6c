package scripts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/allocviz/allocviz/allocator"
	"github.com/allocviz/allocviz/scripts/ktrace"
	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// DefaultMaxSteps is the default limit on allocator steps per input (a
// script run, or one statement at the prompt): enough to fill the largest
// machine (4 GiB of 4 KiB pages, 1,048,320 free pages) one page at a time.
const DefaultMaxSteps = 1 << 20

// execStepsPerStep is how many Starlark computation steps the interpreter
// may run per allowed allocator step, and minExecSteps the floor, so a
// loop that allocates nothing (for i in range(10**10): pass) still stops.
// With DefaultMaxSteps the budget is about 10^8 Starlark steps, a few
// seconds of work.
const (
	execStepsPerStep = 100
	minExecSteps     = 1_000_000
)

// PromptFile is the file name positions use for statements typed at the
// prompt. Line numbers continue from one statement to the next, so every
// line ever typed has its own position.
const PromptFile = "<prompt>"

// dialect returns the Starlark dialect of scenarios: the spec's language
// plus while loops, recursion, if/for/while at top level, reassigning a
// global, and the set type. load() is refused by the thread (New).
func dialect() *syntax.FileOptions {
	return &syntax.FileOptions{
		Set:             true,
		While:           true,
		TopLevelControl: true,
		GlobalReassign:  true,
		Recursion:       true,
	}
}

// Options configure a Session.
type Options struct {
	Config   allocator.Config // the machine; config() in a script overrides the fields it names
	MaxSteps int              // allocator steps allowed per input; 0 means DefaultMaxSteps
	// MaxMemory is the budget of Go heap, in bytes, for the script's
	// values (on top of the machine's RAM, which is not Go heap); 0 means
	// DefaultMaxMemory. See limits.go.
	MaxMemory int64
	// LimitHeap makes the Go runtime's soft memory limit
	// (debug.SetMemoryLimit) follow what the session allows while inputs
	// run, as a backstop to its watchdog. The limit is the process's: set
	// it only in a program that runs one session at a time.
	LimitHeap bool
	// Timeout caps the wall time of each input; 0 means no cap.
	Timeout time.Duration
	// Print receives the output of Starlark's print(), with the file:line:col
	// of the call. nil discards it (the session still records it: Printed).
	// It is not called while Rebuild replays.
	Print func(pos, msg string)
	// StepDone, when set, is called as each step ends, with the session
	// (whose log holds the step's events) and the step, so a caller can
	// show steps as they happen. It is not called while Rebuild replays.
	StepDone func(s *Session, st Step)
	// Yield, when set, is called before each step an input takes, on the
	// goroutine running it, when the steps before are complete: it may
	// block, so that another goroutine reads the session meanwhile (the
	// interface shows a long script as it runs). An error stops the input
	// there, as a script error. It is not called while Rebuild replays,
	// and a rebuilt session has none.
	Yield func(step int) error
	// MaxRAM, when above 0, caps the machine's RAM in bytes: a
	// Config.RAM or a config(ram=) above it is refused (a server's
	// --session-ram).
	MaxRAM int64
	// Steps, when set, is a budget of allocator steps shared by every
	// input of the session and of the sessions rebuilt from it (a
	// server's per-connection cap). Steps replayed by a rebuild are not
	// charged again.
	Steps *StepBudget
	// ProcessHeap, when above 0, is the Go heap the memory watchdog
	// allows the whole process instead of MaxMemory. The watchdog reads
	// the process's heap, which cannot be told apart by session, so a
	// server running many sessions gives each a MaxMemory (the bound of
	// any one value a script makes) and this, its bound for all of them.
	ProcessHeap int64
}

// ExecOptions configure one statement run by ExecContext.
type ExecOptions struct {
	// MaxSteps is the allocator steps the statement may take. 0 means
	// DefaultPromptSteps, or the session's own limit (Settings.MaxSteps)
	// when that is lower.
	MaxSteps int
}

// Settings are what config() may change: the machine's configuration and
// the session's step limit.
type Settings struct {
	Config   allocator.Config // defaults are filled in by allocator.NewMachine
	MaxSteps int              // allocator steps allowed per input, >= 1
}

// Step is one allocator call made by a script: the unit the UI steps
// through. Events First..Last (inclusive) of the log are the step's; the
// first is its EvStep, which holds Pos and Call.
type Step struct {
	N      int    // step number, 1-based
	Pos    string // file:line:col of the call (the column of the function's name); file:line for a trace's line
	Label  string // a trace's line: "239.161175 bash-8366 [000] alloc_fdtable+0x55/0x140" (time, task-pid, CPU, call site); "" for a script
	Call   string // the call as written in the source, at most maxCallText bytes; a trace's line: Op
	Op     string // the call with its argument values: alloc_pages(3, GFP_KERNEL)
	Result string // what it returned as Starlark prints it ("NULL" for a failed allocation); "" for None
	Err    string // the error that ended the script in this step, if any
	// Stmt is file:line:col of the top-level statement of its input that
	// made the step: consecutive steps with the same Stmt come from one
	// statement (a loop, a call of a function), which an interface can
	// run to its end.
	Stmt  string
	First int // index in the event log of the step's EvStep event
	Last  int // index of its last event, >= First
}

// Input is one piece of source the session executed: a script file or a
// statement typed at the prompt. Rebuild replays them.
type Input struct {
	Name   string       // the file name in positions; PromptFile for the prompt
	Src    string       // the source as given
	Prompt bool         // typed at the prompt
	Trace  *ktrace.Plan // a trace replayed (trace.go); Src is then empty

	line     int    // prompt inputs: the number of prompt lines typed before this one
	stop     int    // replay ends when step stop+1 would begin; -1: it ran to its end
	maxSteps int    // the input's own step limit (a prompt statement's); 0: Settings.MaxSteps
	budget   uint64 // an input that was interrupted: the Starlark steps it ran, where its replay stops; 0: it was not
}

// Same reports whether in and o are one input as their sessions recorded
// it: the same source, at the same prompt line, under the same step cap,
// stopped at the same step. Sessions on one configuration that recorded
// the same inputs in order are in the same state: the same steps, events
// and machine (allocviz is deterministic), so a session can follow
// another's inputs with ExecInput.
func (in Input) Same(o Input) bool {
	return in.Name == o.Name && in.Src == o.Src && in.Prompt == o.Prompt && (in.Trace == nil) == (o.Trace == nil) &&
		in.line == o.line && in.stop == o.stop && in.maxSteps == o.maxSteps && in.budget == o.budget
}

// CutFrom reports whether in is o cut short: the same input, whose replay
// stops when step k+1 would begin because its session was rebuilt to
// step k (Rebuild) and went on from there. A session that recorded o
// comes to in by Rebuild(k).
func (in Input) CutFrom(o Input) (k int, ok bool) {
	whole := in
	whole.stop = o.stop
	if in.stop < 0 || !whole.Same(o) || (o.stop >= 0 && o.stop <= in.stop) {
		return 0, false
	}
	return in.stop, true
}

// Failure is a check() whose condition was false.
type Failure struct {
	Step int    // the check's step
	Pos  string // file:line:col of the check
	Msg  string // its message
}

// Bookmark is a place a script marks for an interface (bookmark(name)):
// the step that comes after the call.
type Bookmark struct {
	Name string
	Step int    // the step after the call: len(steps)+1 when it was made
	Pos  string // file:line:col of the call
}

// Printed is one line of print() output.
type Printed struct {
	Step int    // the last step begun before the print (0 before any)
	Pos  string // file:line:col of the print call
	Text string
}

// Session is a running script: a machine, its event log, the Starlark
// globals, and the steps taken so far. Run a script with RunFile, type more
// statements with Exec (against the same globals), and go back to any step
// with Rebuild. A Session is used by one goroutine at a time. Errors in
// scripts are returned as *Error; they never panic and leave the session
// usable.
type Session struct {
	opts     Options
	settings Settings

	m      *allocator.Machine
	log    *allocator.EventLog // owned; the machine appends to it
	thread *starlark.Thread

	predeclared starlark.StringDict  // builtins and constants; immutable after New
	builtins    []Builtin            // every builtin, in registry order; immutable
	configKeys  map[string]ConfigKey // what config() accepts; immutable
	globals     starlark.StringDict  // the script's own globals

	steps    allocator.Blocks[stepRec] // step n is steps.At(n-1)
	stepErrs map[int]string            // step number -> the error that ended the script in it
	inputs   []Input
	failures []Failure
	printed  []Printed
	marks    []Bookmark
	config   []string             // the settings config() set, in order
	sites    map[siteKey]callSite // call sites by the position of '('
	stmts    []stmtSpan           // the current input's top-level statements
	ext      map[string]any       // state of builtin groups (Ext)

	promptLines int         // lines typed at the prompt so far
	source      sourceLines // the input running: the size of its callers in /proc/vmallocinfo (Machine.SetSourceLines)
	inputStart  int         // steps taken before the current input began
	inputCap    int         // the current input's step limit; 0: Settings.MaxSteps
	execMax     uint64      // the thread's step count at which the current input's Starlark budget is spent
	fixedBudget bool        // execMax is a replayed input's recorded budget, which config() leaves alone
	memBudget   int64       // bytes of Go heap allowed; immutable after New
	stopAfter   int         // while replaying: the last step to run; -1 otherwise
	replaying   bool        // Rebuild is replaying: Print is not called
	execLimit   bool        // the current input ran out of Starlark steps
	reachedStop bool        // the current input reached stopAfter
	crash       *crash      // a builtin of the current input panicked
	answering   bool        // an ask()'s answer function is running: it may take no step
	broken      error
	closed      bool

	// Shared with other goroutines (Interrupt, Progress, the watchdog).
	threadRef  atomic.Pointer[starlark.Thread] // thread
	stop       atomic.Pointer[stopCause]       // why the current input was interrupted; nil while it may run
	events     atomic.Int64                    // events in the log, as of the last step\'s end
	progressMu sync.Mutex                      // guards progress
	progress   Progress                        // len(steps), and the current input's
}

// crash is a panic in a builtin, caught: the input ends with err, and
// only the first keep steps stand.
type crash struct {
	err   error
	keep  int    // steps completed before the builtin's own
	steps uint64 // the thread's step count when the builtin was called
}

// siteKey is where Starlark places a call: the position of its '('.
type siteKey struct {
	file      string
	line, col int32
}

// callSite is a call as written and where it starts.
type callSite struct {
	pos  string // file:line:col of the call's first character
	call string // its source text, whitespace collapsed, at most maxCallText bytes
}

// sourceLines is a script input's name and last line.
type sourceLines struct {
	name  string
	lines int
}

// maxCallText bounds Step.Call, so write(p, 0, "...4096 bytes...") stays
// readable.
const maxCallText = 160

// New boots a machine with opts.Config and returns a session with no
// steps, ready for RunFile or Exec.
func New(opts Options) (*Session, error) {
	if opts.MaxSteps != 0 {
		if err := checkMaxSteps(opts.MaxSteps); err != nil {
			return nil, fmt.Errorf("max_steps %w", err)
		}
	}
	if opts.MaxMemory < 0 {
		return nil, fmt.Errorf("memory budget %d is negative", opts.MaxMemory)
	}
	if err := checkRAM(opts.Config, opts.MaxRAM); err != nil {
		return nil, err
	}
	s := &Session{
		opts:      opts,
		sites:     map[siteKey]callSite{},
		stopAfter: -1,
		memBudget: opts.MaxMemory,
		log:       &allocator.EventLog{},
	}
	if s.memBudget == 0 {
		s.memBudget = DefaultMaxMemory
	}
	if err := s.buildPredeclared(); err != nil {
		return nil, err
	}
	if err := s.boot(); err != nil {
		return nil, err
	}
	return s, nil
}

// boot gives the session a fresh machine configured by its options (its
// boot events alone in the log), a new thread, and no globals, steps or
// inputs: the state New makes, which a replay starts from.
func (s *Session) boot() error {
	m, err := allocator.NewMachine(s.opts.Config)
	if err != nil {
		return err
	}
	if s.m != nil {
		s.m.Close()
	}
	s.m = m
	s.settings = Settings{Config: m.Config(), MaxSteps: s.opts.MaxSteps}
	if s.settings.MaxSteps == 0 {
		s.settings.MaxSteps = DefaultMaxSteps
	}
	*s.log = allocator.EventLog{}
	m.SetLog(s.log)
	s.thread = &starlark.Thread{
		Name:  "allocviz",
		Print: s.print,
		Load: func(*starlark.Thread, string) (starlark.StringDict, error) {
			return nil, errors.New("load is not available: a scenario is one self-contained file")
		},
		OnMaxSteps: func(th *starlark.Thread) {
			s.execLimit = true
			th.Cancel("execution limit")
		},
	}
	s.threadRef.Store(s.thread)
	s.globals = starlark.StringDict{}
	s.steps, s.stepErrs = allocator.Blocks[stepRec]{}, nil
	s.inputs, s.failures, s.printed, s.marks, s.config = nil, nil, nil, nil, nil
	s.ext = map[string]any{}
	s.broken = nil
	s.setProgress(false, 0, 0)
	s.events.Store(int64(s.log.Len()))
	return nil
}

// Close releases the machine. It is idempotent.
func (s *Session) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	s.threadRef.Store(nil)
	return s.m.Close()
}

// Machine returns the session's machine. config() replaces it, which it
// may do only before the first step.
func (s *Session) Machine() *allocator.Machine { return s.m }

// Log returns the event log: boot first, then every step's events. The
// same *EventLog stays valid for the session's life.
func (s *Session) Log() *allocator.EventLog { return s.log }

// NumSteps returns the number of steps taken so far.
func (s *Session) NumSteps() int { return s.steps.Len() }

// Step returns step n, 1 to NumSteps().
func (s *Session) Step(n int) Step {
	r := s.steps.At(n - 1)
	first := s.log.StepStart(n - 1)
	last := s.log.Len() - 1
	if n < s.log.Steps() {
		last = s.log.StepStart(n) - 1
	}
	ev := s.log.At(first)
	return Step{N: n, Pos: ev.Src(), Label: ev.Label(), Call: ev.Op(), Op: s.log.String(r.op), Result: s.log.String(r.result),
		Err: s.stepErrs[n], Stmt: s.log.String(r.stmt), First: first, Last: last}
}

// StepStmt returns Step(n).Stmt without the rest of the step, for an
// interface that looks along a run of steps.
func (s *Session) StepStmt(n int) string { return s.log.String(s.steps.At(n - 1).stmt) }

// stepRec is a step as the session keeps it; the rest of a Step is its
// EvStep in the log. Its strings are in the log's string table.
type stepRec struct {
	op, result allocator.StrID
	stmt       allocator.StrID // Step.Stmt
}

// Inputs returns what the session executed, in order. The slice must not
// be modified.
func (s *Session) Inputs() []Input { return s.inputs }

// Failures returns the failed checks.
func (s *Session) Failures() []Failure { return s.failures }

// Printed returns the output of print().
func (s *Session) Printed() []Printed { return s.printed }

// Bookmarks returns the bookmarks the script made (bookmark(name)), in
// order.
func (s *Session) Bookmarks() []Bookmark { return s.marks }

// Configured returns the settings config() set, by keyword ("ram",
// "page_size"), in the order set.
func (s *Session) Configured() []string { return s.config }

// Settings returns the machine configuration and step limit in force.
func (s *Session) Settings() Settings { return s.settings }

// Builtins returns the builtins every script can call, in registry order.
func (s *Session) Builtins() []Builtin { return s.builtins }

// Globals returns the names the script defined (not the builtins), as a
// new dictionary.
func (s *Session) Globals() starlark.StringDict {
	out := make(starlark.StringDict, len(s.globals))
	for k, v := range s.globals {
		out[k] = v
	}
	return out
}

// Ext returns the state a builtin group keeps in this session under key,
// creating it with init on first use. Builtins that need per-session
// tables (kmem_cache handles, say) keep them here rather than in package
// variables; Rebuild starts a new session, so the state is rebuilt by the
// replay.
func (s *Session) Ext(key string, init func() any) any {
	v, ok := s.ext[key]
	if !ok {
		v = init()
		s.ext[key] = v
	}
	return v
}

// RunFile runs a whole script, or replays a kernel trace (told by its
// content; see RunTrace) on the session's machine. name is the file name
// used in positions ("buddy.star"). An error is an *Error; the steps
// before it stand, and the session stays usable.
func (s *Session) RunFile(name string, src []byte) error {
	return s.RunFileContext(context.Background(), name, src)
}

// RunFileContext is RunFile bounded by ctx: when ctx ends (or
// Options.Timeout passes, or the Go heap passes the memory budget) the
// script stops within moments, wherever it is, with an *Error that
// matches ErrInterrupted and the context's cause. The steps it completed
// stand; when the session is rebuilt, its replay stops at the same point.
// A kernel trace (told by its content) is replayed the same way
// (RunTraceContext).
func (s *Session) RunFileContext(ctx context.Context, name string, src []byte) error {
	if ktrace.Sniff(src) {
		return s.runTraceFile(ctx, name, bytes.NewReader(src))
	}
	_, err := s.exec(ctx, Input{Name: name, Src: string(src), stop: -1})
	return err
}

// RunScriptContext runs what Open found, as RunFileContext does; a
// trace Open left in its file is read from it as a stream, never whole.
func (s *Session) RunScriptContext(ctx context.Context, sc Script) error {
	if sc.path == "" {
		return s.RunFileContext(ctx, sc.Name, sc.Src)
	}
	f, err := sc.Text()
	if err != nil {
		return &Error{Pos: sc.Name + ":1", Msg: err.Error(), err: err}
	}
	defer f.Close()
	return s.runTraceFile(ctx, sc.Name, f)
}

// Exec runs one statement typed at the prompt: ExecContext without a
// context and with the default options.
func (s *Session) Exec(src string) (starlark.Value, error) {
	return s.ExecContext(context.Background(), src, ExecOptions{})
}

// ExecContext runs one statement (or a block: a def, a for loop) typed
// at the prompt, against the globals of everything run before, as new
// steps. If the input is a single expression its value is returned (None
// otherwise), for the prompt to show with Display. At most o.MaxSteps
// allocator steps (DefaultPromptSteps) and a Starlark budget in
// proportion may be taken.
//
// An error is an *Error. A statement that fails in the script's own
// terms (a syntax error, a wrong argument, the step limit) leaves the
// session usable, with any steps it took recorded, as a script run does.
// A statement that is interrupted (ctx is cancelled or times out,
// Interrupt is called, the memory budget is passed; the error matches
// ErrInterrupted) or in which a builtin panics (ErrInternal) is undone:
// the session is rebuilt to exactly where it was before the statement
// (its steps, events, machine and globals, by replaying the inputs
// before it, as Rebuild does), and the statement is not recorded. The
// interpreter notices ctx within a Starlark step; builtins that loop
// notice it every element, so the statement stops within moments
// wherever it is. The replay takes as long as running the session's
// inputs again.
func (s *Session) ExecContext(ctx context.Context, src string, o ExecOptions) (starlark.Value, error) {
	limit := o.MaxSteps
	if limit == 0 {
		limit = min(DefaultPromptSteps, s.settings.MaxSteps)
	}
	if err := checkMaxSteps(limit); err != nil {
		return nil, fmt.Errorf("statement step limit %w", err)
	}
	return s.exec(ctx, Input{Name: PromptFile, Src: src, Prompt: true, line: s.promptLines, stop: -1, maxSteps: limit})
}

// ExecInput runs in, a statement typed at another session's prompt as
// that session recorded it (Inputs), as that session ran it: at the same
// prompt lines, under the same step cap, and, if it was cut short by a
// Rebuild, stopping at the same step. After the same inputs before it,
// on the same configuration, it takes the same steps, with the same
// events, or fails the same way. Otherwise it is ExecContext: the
// session's limits (Options.Timeout, Steps, the memory budget) apply, and
// a statement interrupted is undone.
func (s *Session) ExecInput(ctx context.Context, in Input) (starlark.Value, error) {
	if !in.Prompt || in.Trace != nil {
		return nil, fmt.Errorf("%s: only a statement typed at the prompt can be run again", in.Name)
	}
	if in.maxSteps != 0 {
		if err := checkMaxSteps(in.maxSteps); err != nil {
			return nil, fmt.Errorf("statement step limit %w", err)
		}
	}
	in.budget = 0
	s.stopAfter = in.stop
	defer func() { s.stopAfter = -1 }()
	return s.exec(ctx, in)
}

// Rebuild returns a new session in the state this one had right after
// step k (0: before any step), by replaying the recorded inputs on a fresh
// machine and stopping where step k+1 would begin. Scripts are
// deterministic, so the new session's events equal this one's up to the
// end of step k. Its later inputs and steps are gone: the caller continues
// from step k with Exec, and closes whichever session it no longer wants.
func (s *Session) Rebuild(k int) (*Session, error) {
	if k < 0 || k > s.NumSteps() {
		return nil, fmt.Errorf("rebuild: step %d does not exist (this session has steps 0 to %d)", k, s.NumSteps())
	}
	opts := s.opts
	opts.Yield = nil
	ns, err := New(opts)
	if err != nil {
		return nil, err
	}
	ns.replay(s.inputs, k)
	if ns.broken != nil {
		err := ns.broken
		ns.Close()
		return nil, fmt.Errorf("rebuild: %w", err)
	}
	ns.promptLines = s.promptLines
	want := s.m.BootEvents()
	if k > 0 {
		want = s.Step(k).Last + 1
	}
	if ns.NumSteps() != k || ns.log.Len() != want {
		ns.Close()
		return nil, fmt.Errorf("rebuild: replay diverged: %d steps and %d events, want %d and %d", ns.NumSteps(), ns.log.Len(), k, want)
	}
	return ns, nil
}

// replay runs inputs again, recording them anew, and stops where step
// k+1 would begin (k < 0: after the last input). Errors recur exactly as
// they happened the first time; an input that was interrupted stops
// where it stopped then.
func (s *Session) replay(inputs []Input, k int) {
	s.replaying = true
	defer func() {
		s.replaying = false
		s.stopAfter = -1
	}()
	for _, in := range inputs {
		s.stopAfter = k
		if in.stop >= 0 && (k < 0 || in.stop < k) {
			s.stopAfter = in.stop
		}
		s.promptLines = in.line
		s.exec(context.Background(), in)
		if s.broken != nil {
			return
		}
		if n := len(s.inputs); k >= 0 && s.stopAfter == k && n > 0 && s.inputs[n-1].stop == k {
			return // step k+1 would have begun here; the rest is discarded
		}
	}
}

// restore rebuilds the session in place from its recorded inputs, after
// an input that is not to stand: keep steps and events events must come
// back. The *Session, its event log and its builtins stay the same; the
// machine, the thread and every value are new.
func (s *Session) restore(keep, events int) error {
	inputs, lines := s.inputs, s.promptLines
	if err := s.boot(); err != nil {
		s.broken = fmt.Errorf("undo: %w", err)
		return s.broken
	}
	s.replay(inputs, -1)
	s.promptLines = lines
	if s.broken == nil && (s.NumSteps() != keep || s.log.Len() != events) {
		s.broken = fmt.Errorf("undo: replay diverged: %d steps and %d events, want %d and %d", s.NumSteps(), s.log.Len(), keep, events)
	}
	s.setProgress(false, s.NumSteps(), 0)
	return s.broken
}

// usable reports why the session cannot run more input, if it cannot.
func (s *Session) usable() error {
	switch {
	case s.closed:
		return errors.New("session is closed")
	case s.broken != nil:
		return fmt.Errorf("session stopped by an internal error (rebuild it from an earlier step): %w", s.broken)
	}
	return nil
}

// exec parses, records and runs one input. Inputs that do not parse or
// resolve run nothing and are not recorded.
func (s *Session) exec(ctx context.Context, in Input) (starlark.Value, error) {
	if err := s.usable(); err != nil {
		return nil, err
	}
	if in.Trace != nil {
		return starlark.None, s.execTrace(ctx, in)
	}
	if err := checkSource(in); err != nil {
		return nil, err
	}
	src := in.Src
	if in.Prompt {
		// Pad with the lines typed before, so positions continue.
		src = strings.Repeat("\n", in.line) + in.Src
		s.promptLines = in.line + lineCount(in.Src)
	}
	opts := dialect()
	f, err := opts.Parse(in.Name, src, 0)
	if err != nil {
		return nil, s.positioned(err)
	}
	s.indexCalls(f, in.Src, in.line)
	s.stmts = stmtSpans(f)
	guard(f)
	s.source = sourceLines{in.Name, in.line + lineCount(in.Src)}
	s.m.SetSourceLines(s.source.name, s.source.lines)

	env := make(starlark.StringDict, len(s.predeclared)+len(s.globals))
	for k, v := range s.predeclared {
		env[k] = v
	}
	for k, v := range s.globals {
		env[k] = v
	}

	s.inputStart, s.inputCap = s.NumSteps(), in.maxSteps
	s.execLimit, s.reachedStop, s.crash = false, false, nil
	s.stop.Store(nil)
	s.thread.Uncancel()
	eventsBefore := s.log.Len()
	start := s.thread.ExecutionSteps()
	budget := execBudget(s.stepCap())
	s.fixedBudget = s.replaying && in.budget > 0
	if s.fixedBudget {
		budget = in.budget
	}
	s.execMax = satAdd(start, budget)
	s.thread.SetMaxExecutionSteps(s.execMax)
	s.setProgress(!s.replaying, s.NumSteps(), 0)
	first := s.inputStart
	defer func() { s.setProgress(false, s.NumSteps(), s.NumSteps()-first) }()
	endGuard := s.guardInput(ctx)
	result, err := s.run(opts, f, in, env)
	endGuard()
	var rl resolve.ErrorList
	if errors.As(err, &rl) {
		return nil, s.positioned(err)
	}
	used := s.thread.ExecutionSteps() - start
	if s.reachedStop {
		in.stop = s.stopAfter
	}
	if s.reachedStop || s.fixedBudget && s.execLimit {
		// A replay reached the step it was asked to stop before, or the
		// point where the input was interrupted the first time.
		err = nil
	}
	s.fixedBudget = false
	if stop := s.stop.Load(); err != nil && (stop != nil || s.crash != nil) && !s.replaying {
		return nil, s.abandon(in, err, stop, used, start, eventsBefore)
	}
	s.inputs = append(s.inputs, in)
	if err != nil {
		pe := s.positioned(err)
		if s.execLimit {
			pe.Msg = fmt.Sprintf("execution limit reached: %d Starlark steps without finishing (a runaway loop?); raise it with config(max_steps=) or --max-steps",
				execBudget(s.stepCap()))
			if in.Prompt {
				pe.Msg = fmt.Sprintf("execution limit reached: %d Starlark steps in one statement without finishing (a runaway loop?)",
					execBudget(s.stepCap()))
			}
		}
		return nil, pe
	}
	if s.reachedStop || result == nil {
		result = starlark.None
	}
	return result, nil
}

// run runs the parsed input f. A panic the builtins did not catch (in
// the interpreter itself) becomes an internal error at the input's start.
func (s *Session) run(opts *syntax.FileOptions, f *syntax.File, in Input, env starlark.StringDict) (result starlark.Value, err error) {
	defer func() {
		if r := recover(); r != nil {
			perr := s.panicked("the interpreter", r, s.NumSteps(), 0)
			result, err = nil, &Error{Pos: fmt.Sprintf("%s:%d:1", in.Name, in.line+1), Msg: perr.Error(), err: perr}
		}
	}()
	if expr := soleExpr(f); in.Prompt && expr != nil {
		return starlark.EvalExprOptions(opts, s.thread, expr, env)
	}
	err = starlark.ExecREPLChunk(f, s.thread, env)
	for k, v := range env {
		if pv, ok := s.predeclared[k]; !ok || !sameValue(pv, v) {
			s.globals[k] = v
		}
	}
	return starlark.None, err
}

// panicked records a panic caught in a builtin (what), with r its value,
// keep the steps that stand and steps the thread's count when it was
// called (0: now), and returns the internal error it becomes.
func (s *Session) panicked(what string, r any, keep int, steps uint64) error {
	err := internalError(what, r)
	if s.crash == nil {
		if steps == 0 {
			steps = s.thread.ExecutionSteps()
		}
		s.crash = &crash{err: err, keep: keep, steps: steps}
	}
	return err
}

// abandon ends an input that was interrupted (stop) or in which a
// builtin panicked (s.crash) and returns its error. A prompt statement is
// undone: the session is replayed to where it was before it. A script
// run keeps the steps it completed and is recorded with the budget that
// stops its replay at the same point (start is the thread's step count
// when it began); after a panic, the machine is replayed to the end of
// the last step completed, as the builtin may have left it half changed.
func (s *Session) abandon(in Input, err error, stop *stopCause, used, start uint64, eventsBefore int) error {
	pe := s.positioned(err)
	if stop != nil {
		pe.Msg, pe.err = stop.msg, stop.err
	} else {
		pe.Msg, pe.err = s.crash.err.Error(), s.crash.err
	}
	if in.Prompt {
		// As if it had never been typed: the next statement takes its lines.
		s.promptLines = in.line
		if n := s.NumSteps() - s.inputStart; n == 1 {
			pe.Msg += "; the statement's step was undone"
		} else if n > 1 {
			pe.Msg += fmt.Sprintf("; the statement's %d steps were undone", n)
		}
		if rerr := s.restore(s.inputStart, eventsBefore); rerr != nil {
			return rerr
		}
		return pe
	}
	in.budget = max(used, 1)
	c := s.crash
	if stop != nil || c == nil {
		s.inputs = append(s.inputs, in)
		return pe
	}
	in.stop = c.keep
	in.budget = max(c.steps-start, 1)
	s.inputs = append(s.inputs, in)
	events := s.m.BootEvents()
	if c.keep > 0 {
		events = s.Step(c.keep).Last + 1
	}
	if rerr := s.restore(c.keep, events); rerr != nil {
		return rerr
	}
	return pe
}

// stepCap is the current input's limit on allocator steps.
func (s *Session) stepCap() int {
	if s.inputCap > 0 {
		return s.inputCap
	}
	return s.settings.MaxSteps
}

// checkSource refuses a NUL byte or invalid UTF-8 in an input: Starlark
// would stop reading at a NUL without a word, and a script is text.
func checkSource(in Input) error {
	bad, what := strings.IndexByte(in.Src, 0), "a NUL byte"
	for i, r := range in.Src {
		if bad >= 0 && i > bad {
			break
		}
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(in.Src[i:]); size == 1 {
				bad, what = i, fmt.Sprintf("invalid UTF-8 (byte %#02x)", in.Src[i])
				break
			}
		}
	}
	if bad < 0 {
		return nil
	}
	before := in.Src[:bad]
	line := in.line + 1 + strings.Count(before, "\n")
	col := 1 + utf8.RuneCountInString(before[strings.LastIndexByte(before, '\n')+1:])
	return &Error{Pos: fmt.Sprintf("%s:%d:%d", in.Name, line, col), Msg: what + " in the source: a script must be UTF-8 text"}
}

// soleExpr returns the expression if f is a single expression statement.
func soleExpr(f *syntax.File) syntax.Expr {
	if len(f.Stmts) == 1 {
		if stmt, ok := f.Stmts[0].(*syntax.ExprStmt); ok {
			return stmt.X
		}
	}
	return nil
}

// sameValue reports whether v is still the predeclared value pv, so
// Globals leaves builtins out. Only the types predeclared values have are
// compared; anything else is a user's value.
func sameValue(pv, v starlark.Value) bool {
	switch pv := pv.(type) {
	case *starlark.Builtin:
		b, ok := v.(*starlark.Builtin)
		return ok && b == pv
	case GFPValue:
		g, ok := v.(GFPValue)
		return ok && g == pv
	case starlark.Int:
		i, ok := v.(starlark.Int)
		if !ok {
			return false
		}
		eq, err := starlark.Equal(i, pv)
		return err == nil && eq
	}
	return false
}

func lineCount(src string) int {
	n := strings.Count(src, "\n")
	if !strings.HasSuffix(src, "\n") {
		n++
	}
	return n
}

// indexCalls records every call in f: its start and its text as written.
// src is the input without prompt padding; offset is the padding in lines.
func (s *Session) indexCalls(f *syntax.File, src string, offset int) {
	lines := strings.Split(src, "\n")
	syntax.Walk(f, func(n syntax.Node) bool {
		call, ok := n.(*syntax.CallExpr)
		if !ok {
			return true
		}
		start, end := call.Span()
		key := siteKey{file: f.Path, line: call.Lparen.Line, col: call.Lparen.Col}
		s.sites[key] = callSite{pos: posString(start), call: sourceText(lines, offset, start, end)}
		return true
	})
}

// sourceText cuts [start, end) out of lines, whose first is line offset+1.
// Columns count runes, as Starlark's scanner does.
func sourceText(lines []string, offset int, start, end syntax.Position) string {
	var parts []string
	for ln := int(start.Line); ln <= int(end.Line); ln++ {
		i := ln - 1 - offset
		if i < 0 || i >= len(lines) {
			return ""
		}
		line := []rune(lines[i])
		from, to := 0, len(line)
		if ln == int(start.Line) {
			from = min(int(start.Col)-1, len(line))
		}
		if ln == int(end.Line) {
			to = min(int(end.Col)-1, len(line))
		}
		if from > to {
			return ""
		}
		parts = append(parts, strings.TrimSpace(string(line[from:to])))
	}
	return truncate(strings.Join(parts, " "), maxCallText)
}

// truncate shortens s to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("...")
	for cut > 0 && !utf8RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

func utf8RuneStart(b byte) bool { return b&0xc0 != 0x80 }

// site returns the call site of the builtin running on th: the innermost
// Starlark frame below it.
func (s *Session) site(th *starlark.Thread, fallback string) callSite {
	cs, ok := s.indexedSite(th)
	if !ok {
		cs.call = fallback
	}
	return cs
}

// indexedSite is site without a fallback: ok is false when the call was
// not indexed, and then only the position is known.
func (s *Session) indexedSite(th *starlark.Thread) (callSite, bool) {
	for depth := 1; depth < th.CallStackDepth(); depth++ {
		fr := th.CallFrame(depth)
		if fr.Pos.Filename() == "<builtin>" || !fr.Pos.IsValid() {
			continue
		}
		if cs, ok := s.sites[siteKey{file: fr.Pos.Filename(), line: fr.Pos.Line, col: fr.Pos.Col}]; ok {
			return cs, true
		}
		return callSite{pos: posString(fr.Pos)}, false
	}
	return callSite{pos: "<unknown>:0:0"}, false
}

// stmtSpan is where a top-level statement of an input begins and ends.
type stmtSpan struct {
	start, end syntax.Position
}

// stmtSpans returns the spans of f's top-level statements.
func stmtSpans(f *syntax.File) []stmtSpan {
	out := make([]stmtSpan, 0, len(f.Stmts))
	for _, st := range f.Stmts {
		start, end := st.Span()
		out = append(out, stmtSpan{start: start, end: end})
	}
	return out
}

// before reports whether a comes before b.
func before(a, b syntax.Position) bool {
	return a.Line < b.Line || a.Line == b.Line && a.Col < b.Col
}

// stmtOf returns the position of the top-level statement th is running:
// the one around the outermost frame's position.
func (s *Session) stmtOf(th *starlark.Thread) string {
	if th == nil || th.CallStackDepth() == 0 {
		return ""
	}
	p := th.CallFrame(th.CallStackDepth() - 1).Pos
	for _, st := range s.stmts {
		if !before(p, st.start) && before(p, st.end) {
			return posString(st.start)
		}
	}
	return posString(p)
}

// callPos maps the position Starlark gives a call to the call's start.
func (s *Session) callPos(p syntax.Position) string {
	if cs, ok := s.sites[siteKey{file: p.Filename(), line: p.Line, col: p.Col}]; ok {
		return cs.pos
	}
	return posString(p)
}

// beginStep starts c's step: it checks the limits, tells the machine, and
// records the step.
func (s *Session) beginStep(c *Call) error {
	if err := s.stopErr(); err != nil {
		return err
	}
	n := s.NumSteps() + 1
	if s.stopAfter >= 0 && n > s.stopAfter {
		// Recorded here, not only in the error, so a builtin that rewraps
		// its error cannot hide the stop. Cancel makes sure the input ends.
		s.reachedStop = true
		s.thread.Cancel("replay reached its last step")
		return errStopped
	}
	if limit := s.stepCap(); s.NumSteps()-s.inputStart >= limit {
		if s.inputCap > 0 {
			return fmt.Errorf("step limit reached: %d allocator steps in one statement (a runaway loop?)", limit)
		}
		return fmt.Errorf("step limit reached: %d allocator steps in one run (a runaway loop?); raise it with config(max_steps=) or --max-steps",
			limit)
	}
	if s.opts.Steps != nil && !s.replaying {
		if err := s.opts.Steps.take(); err != nil {
			return err
		}
	}
	if s.opts.Yield != nil && !s.replaying {
		if err := s.opts.Yield(n); err != nil {
			return err
		}
	}
	cs, ok := s.indexedSite(c.Thread)
	if !ok {
		cs.call = c.defaultOp()
	}
	s.m.BeginStep(n, cs.pos, cs.call)
	s.steps.Push(stepRec{stmt: s.log.Intern(s.stmtOf(c.Thread))})
	c.step = n
	s.setProgress(!s.replaying, n, n-s.inputStart)
	return nil
}

// endStep completes c's step with what the builtin returned.
func (s *Session) endStep(c *Call, v starlark.Value, err error) {
	st := s.steps.At(c.step - 1)
	op := c.op
	if op == "" {
		op = c.defaultOp()
	}
	st.op = s.log.Intern(op)
	switch {
	case c.resultSet:
		st.result = s.log.Intern(c.result)
	case v != nil && v != starlark.None:
		st.result = s.log.Intern(Display(v, maxCallText))
	}
	if err != nil {
		if s.stepErrs == nil {
			s.stepErrs = map[int]string{}
		}
		s.stepErrs[c.step] = err.Error()
	}
	s.events.Store(int64(s.log.Len()))
	if s.opts.StepDone != nil && !s.replaying {
		s.opts.StepDone(s, s.Step(c.step))
	}
}

// print is the thread's print(): recorded, and passed to Options.Print.
func (s *Session) print(th *starlark.Thread, msg string) {
	pos := s.site(th, "print").pos
	s.printed = append(s.printed, Printed{Step: s.NumSteps(), Pos: pos, Text: msg})
	if s.opts.Print != nil && !s.replaying {
		s.opts.Print(pos, msg)
	}
}

// reconfigure replaces the machine with one built from set. Only allowed
// before the first step; the event log is emptied and refilled with the
// new machine's boot.
func (s *Session) reconfigure(set Settings) error {
	if err := checkRAM(set.Config, s.opts.MaxRAM); err != nil {
		return err
	}
	m, err := allocator.NewMachine(set.Config)
	if err != nil {
		return err
	}
	if err := s.m.Close(); err != nil {
		m.Close()
		return err
	}
	s.m = m
	m.SetSourceLines(s.source.name, s.source.lines)
	set.Config = m.Config()
	s.settings = set
	*s.log = allocator.EventLog{}
	m.SetLog(s.log)
	if !s.fixedBudget {
		s.execMax = satAdd(s.thread.ExecutionSteps(), execBudget(s.stepCap()))
		s.thread.SetMaxExecutionSteps(s.execMax)
	}
	return nil
}

package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/allocviz/allocviz/allocator"
	"github.com/allocviz/allocviz/heapview"
	"github.com/allocviz/allocviz/scripts"
)

// Exit codes.
const (
	exitOK          = 0 // the script ran and every check passed
	exitCheckFailed = 1 // the script ran but a check() failed
	exitError       = 2 // a script error, a bad argument, or a failure to start
)

const usageText = `usage:
  allocviz [SCRIPT|NAME] [flags]        open the interface on a scenario (default: %s);
                                        headless, as allocviz run, when output is not a terminal
  allocviz run SCRIPT|NAME [flags]      run a script or a bundled scenario, one line per step
  allocviz proc FILE [--after SCRIPT|NAME] [machine flags]
                                        print a file of a fresh machine, or of the machine after a
                                        script: %s
  allocviz scenarios                    list the bundled scenarios, by topic
  allocviz quiz [--topic T] [--seed N] [--n N] [machine flags]
                                        random practice: N questions (default 10) about seeded
                                        random operations; T is kmalloc, krealloc, buddy, slub,
                                        vmalloc, kvec or all; answers are read one per line
  allocviz export SCRIPT|TRACE|NAME [--svg FILE [--step N]] [--cast FILE [--pace D]] [--html FILE]
                [--size COLSxROWS] [--palette P] [machine flags]
                                        pictures to keep: the interface's screen at a step as SVG,
                                        an asciicast v2 recording of it stepping through the session,
                                        a self-contained HTML page that steps through it in a browser
  allocviz trace stats FILE|NAME [machine flags]
                                        what a kernel trace holds and what replaying it does
  allocviz capture [-o FILE] [--seconds N] [--buffer-kb N] [-- COMMAND ARGS...]
                                        record the running kernel's memory events (root, Linux)
  allocviz host [--slabinfo FILE] [--buddyinfo FILE] [--cpus N] [--page-size N] [--all]
                                        compare the host's slab caches with allocviz's
  allocviz serve [--listen ADDR] [--lesson NAME] [--room CODE] [--instructor-key FILE] [limits]
                                        serve the interface over SSH to a room, one machine per
                                        connection (ssh -p 2222 localhost); students follow the
                                        instructor (ssh instructor@...), the first instructor
                                        connection leading (I takes the lead); see serve flags
  allocviz --version                    print the version

A SCRIPT may also be a kernel trace (tracing/trace, trace_pipe or trace-cmd report
text, maybe gzipped): it is replayed one line per step, on a machine with the
trace's CPUs and enough RAM for its pages unless the machine flags say otherwise.

interface flags:
  --palette P       colours: default, cb (colour-blind safe) or mono; NO_COLOR selects mono
  --step N          open at step N (past the last, the last)
  --presenter       open in the presenter layout (P switches it)
  --prompt-steps N  allocator steps one statement typed at the prompt may take, 1 to %d
                    (default %d)
  --quiz            stop at each question of the lesson; a number key answers, the next step
                    reveals the answer and the rule, the last step shows the score
run flags:
  --json          one JSON object per event instead of one line per step
  --quiz          stop at each question (ask()) and read the answer from the terminal:
                  a choice's number, yes or no; exit 1 if one was wrong
  --answers LIST  answer the questions from a list, in order: --answers 2,1,yes
machine flags (a script's config() overrides them):
  --ram SIZE        RAM, e.g. 64M, 256MiB, 8G (default 64M; 2M to 16G; above 3G
                    the rest lies above the PCI hole, from 4G)
  --page-size SIZE  4K, 16K or 64K (default 4K)
  --cpus N          CPUs, 1 to 256 (default 4)
  --possible-cpus N nr_cpu_ids, up to 8192 (at least --cpus); with --cpus 1
                    SLUB sizes its slabs by it, as calculate_order() does
  --profile P       kernel profile: 6.18 (latest) or 6.12
  --max-steps N     allocator steps allowed per run (default %d)
  --max-memory SIZE Go heap a script may use beside the machine's RAM (default 1G)
  --timeout D       stop a script that runs longer than D, e.g. 30s (default: no limit)
  --slab-debug FZPU slab_debug= for every cache: any of F (consistency checks),
                    Z (red zones), P (poison), U (user tracking); default off
  --freelist-random
                    CONFIG_SLAB_FREELIST_RANDOM: shuffle each new slab's freelist
  --freelist-hardened
                    CONFIG_SLAB_FREELIST_HARDENED: obfuscate the stored free pointers
  --seed N          seed of the freelist shuffles, hardening keys and fault injection (default 0)
  --failslab I,P,S,T
                    boot option failslab=<interval>,<probability>,<space>,<times>: fail slab
                    allocations on purpose (lib/fault-inject.c); as the kernel boots it,
                    ignore-gfp-wait is Y, so only allocations that cannot sleep fail
  --fail-page-alloc I,P,S,T
                    boot option fail_page_alloc=: the same for the page allocator (min-order 1,
                    ignore-gfp-wait and ignore-gfp-highmem Y)

serve flags:
  --listen ADDR          address to listen on (default 127.0.0.1:2222, loopback only)
  --host-key FILE        host key, created on first start and kept (default in the user's config folder)
  --lesson NAME          bundled lesson every connection opens on (default %[1]s)
  --room CODE            students connect as ssh CODE@host; others are refused
  --instructor-key FILE  authorized_keys of the instructor (default: a code printed at start)
  --quiz                 stop at each question; the instructor sees the room's answers
  --session-ram SIZE     RAM of each machine at most (default 64M)
  --session-steps N      allocator steps per connection (default 100000)
  --statement-time D     wall time of one statement or lesson run (default 10s)
  --idle D               close a connection with no traffic for D (default 30m)
  --max-sessions N       connections at once (default 100)

exit status: 0 ok, 1 a check failed or a quiz answer was wrong, 2 a script error (printed as file:line:col: message),
128+n ended by signal n (SIGINT, SIGTERM or SIGHUP; the steps so far are printed)
`

// usage prints the usage text to w.
func usage(w io.Writer) {
	fmt.Fprintf(w, usageText, scripts.DefaultScenario, procNames(), int64(scripts.MaxStepsLimit), scripts.DefaultPromptSteps, scripts.DefaultMaxSteps)
}

// cli runs allocviz with args (without the program name) and returns the
// exit status.
func cli(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		return tuiCmd(args, stdout, stderr)
	}
	switch args[0] {
	case "run":
		return runCmd(args[1:], stdout, stderr)
	case "proc":
		return procCmd(args[1:], stdout, stderr)
	case "scenarios":
		return scenariosCmd(args[1:], stdout, stderr)
	case "quiz":
		return quizCmd(args[1:], stdout, stderr)
	case "trace":
		return traceCmd(args[1:], stdout, stderr)
	case "capture":
		return captureCmd(args[1:], stdout, stderr)
	case "host":
		return hostCmd(args[1:], stdout, stderr)
	case "serve":
		return serveCmd(args[1:], stdout, stderr)
	case "export":
		return exportCmd(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		usage(stdout)
		return exitOK
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, "allocviz", version())
		return exitOK
	}
	// allocviz [SCRIPT|NAME] [flags]: the interface (tui.go).
	return tuiCmd(args, stdout, stderr)
}

// version says which allocviz this is: its module version, or the commit
// it was built from, and the Go that built it.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown version)"
	}
	v := bi.Main.Version
	var rev, when string
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value[:min(12, len(s.Value))]
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev != "" {
		v += " " + rev
		if dirty {
			v += "+changes"
		}
		if when != "" {
			v += " " + when
		}
	}
	return v + ", " + bi.GoVersion
}

// machineFlags are the flags that configure the machine.
type machineFlags struct {
	ram, pageSize    sizeFlag
	cpus             countFlag
	possibleCPUs     countFlag
	profile          string
	maxSteps         countFlag
	maxMemory        sizeFlag
	timeout          time.Duration
	slabDebug        string
	freelistRandom   bool
	freelistHardened bool
	seed             uint64
	failslab         string
	failPageAlloc    string
}

func (f *machineFlags) register(fs *flag.FlagSet) {
	fs.Var(&f.ram, "ram", "RAM size, e.g. 64M")
	fs.Var(&f.pageSize, "page-size", "page size: 4K, 16K or 64K")
	fs.Var(&f.cpus, "cpus", "number of CPUs")
	fs.Var(&f.possibleCPUs, "possible-cpus", "nr_cpu_ids: CPUs that could come online (default --cpus)")
	fs.StringVar(&f.profile, "profile", "", "kernel profile: 6.18 or 6.12")
	fs.Var(&f.maxSteps, "max-steps", "allocator steps allowed per run")
	fs.Var(&f.maxMemory, "max-memory", "Go heap a script may use, e.g. 1G")
	fs.DurationVar(&f.timeout, "timeout", 0, "stop a script that runs longer, e.g. 30s")
	fs.StringVar(&f.slabDebug, "slab-debug", "", "slab_debug= letters: F, Z, P, U")
	fs.BoolVar(&f.freelistRandom, "freelist-random", false, "shuffle each new slab's freelist")
	fs.BoolVar(&f.freelistHardened, "freelist-hardened", false, "obfuscate stored free pointers")
	fs.Uint64Var(&f.seed, "seed", 0, "seed of freelist shuffles and hardening keys")
	fs.StringVar(&f.failslab, "failslab", "", "boot option failslab=<interval>,<probability>,<space>,<times>")
	fs.StringVar(&f.failPageAlloc, "fail-page-alloc", "", "boot option fail_page_alloc=<interval>,<probability>,<space>,<times>")
}

// options converts the flags; flags not given mean the defaults. A flag
// given a value out of its range is refused with the range, quoting the
// value as it was typed.
func (f *machineFlags) options() (scripts.Options, error) {
	p, err := allocator.ParseProfile(f.profile)
	if err != nil {
		return scripts.Options{}, err
	}
	for _, c := range []struct {
		name    string
		set     bool
		text    string
		ok      bool
		allowed string
	}{
		{"ram", f.ram.set, f.ram.text, f.ram.n >= allocator.MinRAM && f.ram.n <= allocator.MaxRAM,
			allocator.FormatBytes(allocator.MinRAM) + " to " + allocator.FormatBytes(allocator.MaxRAM)},
		{"page-size", f.pageSize.set, f.pageSize.text, f.pageSize.n == 4<<10 || f.pageSize.n == 16<<10 || f.pageSize.n == 64<<10, "4K, 16K or 64K"},
		{"cpus", f.cpus.set, f.cpus.text, f.cpus.n >= 1 && f.cpus.n <= allocator.MaxCPUs, fmt.Sprintf("1 to %d", allocator.MaxCPUs)},
		{"max-steps", f.maxSteps.set, f.maxSteps.text, f.maxSteps.n >= 1 && f.maxSteps.n <= scripts.MaxStepsLimit,
			fmt.Sprintf("1 to %d", int64(scripts.MaxStepsLimit))},
		{"max-memory", f.maxMemory.set, f.maxMemory.text, f.maxMemory.n >= minMaxMemory, "at least " + allocator.FormatBytes(minMaxMemory)},
	} {
		if c.set && !c.ok {
			what := "is out of range"
			if c.name == "page-size" {
				what = "is not supported" // a list, not a range
			}
			return scripts.Options{}, fmt.Errorf("--%s %s %s (allowed: %s)", c.name, c.text, what, c.allowed)
		}
	}
	if f.timeout < 0 {
		return scripts.Options{}, fmt.Errorf("--timeout %v is negative", f.timeout)
	}
	debug := strings.ToUpper(f.slabDebug)
	for _, o := range []struct{ flag, v string }{{"--failslab", f.failslab}, {"--fail-page-alloc", f.failPageAlloc}} {
		if o.v != "" {
			if err := allocator.ParseFaultAttr(o.v, &allocator.FaultAttr{}); err != nil {
				return scripts.Options{}, fmt.Errorf("%s: %w", o.flag, err)
			}
		}
	}
	if _, err := allocator.ParseSlabDebug(debug); err != nil {
		return scripts.Options{}, fmt.Errorf("--slab-debug %q: %w", f.slabDebug, err)
	}
	return scripts.Options{
		Config: allocator.Config{RAM: f.ram.n, PageSize: int(f.pageSize.n), CPUs: f.cpus.n, PossibleCPUs: f.possibleCPUs.n, Profile: p,
			SlabDebug: debug, FreelistRandom: f.freelistRandom, FreelistHardened: f.freelistHardened, Seed: f.seed,
			FailSlab: f.failslab, FailPageAlloc: f.failPageAlloc},
		MaxSteps:  f.maxSteps.n,
		MaxMemory: f.maxMemory.n,
		Timeout:   f.timeout,
	}, nil
}

// limitHeap lets the session of opts set the Go runtime's soft memory
// limit as it runs (Options.LimitHeap), the backstop of its heap
// watchdog, and returns a function that puts the previous limit back.
func limitHeap(opts *scripts.Options) (restore func()) {
	opts.LimitHeap = true
	prev := debug.SetMemoryLimit(-1)
	return func() { debug.SetMemoryLimit(prev) }
}

// minMaxMemory is the smallest --max-memory taken: less would not run
// the smallest script.
const minMaxMemory = 16 * allocator.MiB

// sizeFlag is a byte count written as 64M, 256MiB or 1G, with the text
// typed, for messages.
type sizeFlag struct {
	n    int64
	text string
	set  bool
}

func (s *sizeFlag) String() string { return s.text }

func (s *sizeFlag) Set(v string) error {
	n, err := scripts.ParseSize(v)
	if err != nil {
		return err
	}
	s.n, s.text, s.set = n, v, true
	return nil
}

// countFlag is a whole number, with the text typed, for messages.
type countFlag struct {
	n    int
	text string
	set  bool
}

func (c *countFlag) String() string { return c.text }

func (c *countFlag) Set(v string) error {
	n, err := strconv.Atoi(v)
	if err != nil {
		return fmt.Errorf("%q is not a whole number", v)
	}
	c.n, c.text, c.set = n, v, true
	return nil
}

// configKeys returns the config() settings of the flags given on the
// command line: config(ram=) for --ram, config(debug=) for --slab-debug.
func configKeys(fs *flag.FlagSet) []string {
	var keys []string
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "slab-debug":
			keys = append(keys, "debug")
		case "ram", "page-size", "cpus", "profile", "max-steps", "freelist-random", "freelist-hardened", "seed":
			keys = append(keys, strings.ReplaceAll(f.Name, "-", "_"))
		}
	})
	return keys
}

// noteOverrides says which flags the script's config() set anew.
func noteOverrides(stderr io.Writer, configured, flags []string) {
	var both []string
	for _, c := range configured {
		if slices.Contains(flags, c) {
			both = append(both, "--"+strings.ReplaceAll(strings.Replace(c, "debug", "slab-debug", 1), "_", "-"))
		}
	}
	if len(both) > 0 {
		fmt.Fprintf(stderr, "allocviz: note: the script's config() overrides %s given on the command line\n", strings.Join(both, ", "))
	}
}

// parseInterspersed parses flags that may come before or after the
// positional arguments (allocviz run buddy --json) and returns the
// positional ones.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// newFlagSet returns a flag set that prints nothing itself: a command
// reports a bad flag with flagError.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// flagError reports what parsing the flags failed on, in one line that
// points to --help, and returns the exit status; --help itself prints
// the usage and succeeds.
func flagError(err error, args []string, stdout, stderr io.Writer) int {
	if errors.Is(err, flag.ErrHelp) {
		usage(stdout)
		return exitOK
	}
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
		// Quote it as typed: the flag package drops a dash of --name.
		for _, a := range args {
			if a == name || a == "-"+name || strings.HasPrefix(a, name+"=") || strings.HasPrefix(a, "-"+name+"=") {
				name, _, _ = strings.Cut(a, "=")
				break
			}
		}
		msg = "unknown flag " + name
	}
	fmt.Fprintf(stderr, "allocviz: %s (allocviz --help lists the flags)\n", msg)
	return exitError
}

func runCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("run")
	var mf machineFlags
	mf.register(fs)
	asJSON := fs.Bool("json", false, "one JSON object per event")
	quiz := fs.Bool("quiz", false, "stop at each ask() and take an answer")
	answers := fs.String("answers", "", "answers to the questions, in order: 2,1,yes (implies --quiz)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return flagError(err, args, stdout, stderr)
	}
	switch len(pos) {
	case 0:
		fmt.Fprintln(stderr, "allocviz run: name a script or a bundled scenario (allocviz scenarios lists them)")
		usage(stderr)
		return exitError
	case 1:
	default:
		fmt.Fprintf(stderr, "allocviz run: one script at a time, got %s\n", strings.Join(pos, " "))
		return exitError
	}
	opts, err := mf.options()
	if err != nil {
		fmt.Fprintln(stderr, "allocviz:", err)
		return exitError
	}
	defer limitHeap(&opts)()
	if *quiz || *answers != "" {
		if *asJSON {
			fmt.Fprintln(stderr, "allocviz run: --quiz and --json do not go together")
			return exitError
		}
		return quizRunCmd(pos[0], opts, *answers, stdout, stderr)
	}
	// Each step's line is written as the step ends, each print() as it
	// happens; the stream reaches stdout at least every flushEvery.
	out := newStream(stdout)
	defer out.Close()
	written := 0 // events written, with --json
	var lines stepLines
	if *asJSON {
		opts.Print = func(pos, msg string) { fmt.Fprintf(stderr, "%s: %s\n", pos, msg) }
		opts.StepDone = func(s *scripts.Session, st scripts.Step) {
			written = writeEvents(out, s.Log(), written, st.Last+1)
		}
	} else {
		opts.Print = func(pos, msg string) { lines.print(out, pos, msg) }
		opts.StepDone = func(s *scripts.Session, st scripts.Step) { lines.step(out, s, st) }
	}
	ctx, stopped := runContext(func(e signalError) {
		out.Close()
		fmt.Fprintf(stderr, "allocviz: %v; the script did not stop within a second\n", e)
	})
	s, runErr := scripts.RunContext(ctx, pos[0], opts)
	sig := stopped()
	if s == nil {
		fmt.Fprintln(stderr, "allocviz:", runErr)
		return exitError
	}
	defer s.Close()
	noteOverrides(stderr, s.Configured(), configKeys(fs))
	if *asJSON {
		writeEvents(out, s.Log(), written, s.Log().Len())
	}
	if err := out.Close(); err != nil {
		fmt.Fprintln(stderr, "allocviz:", err)
		return exitError
	}
	code := finish(s, runErr, stderr)
	if sig != nil {
		return sig.exitCode()
	}
	return code
}

// writeEvents writes the events [from, to) of log as JSON lines and
// returns to, the number written in all.
func writeEvents(out *stream, log *allocator.EventLog, from, to int) int {
	out.Write(func(w io.Writer) error { return log.WriteJSON(w, from, to) })
	return to
}

// finish reports the script error or the failed checks and returns the
// exit status.
func finish(s *scripts.Session, runErr error, stderr io.Writer) int {
	if runErr != nil {
		var se *scripts.Error
		if errors.As(runErr, &se) {
			fmt.Fprintln(stderr, se.Error())
		} else {
			fmt.Fprintln(stderr, "allocviz:", runErr)
		}
		return exitError
	}
	if f := s.Failures(); len(f) > 0 {
		for _, fail := range f {
			fmt.Fprintf(stderr, "%s: check failed: %s\n", fail.Pos, fail.Msg)
		}
		fmt.Fprintf(stderr, "allocviz: %d of %d checks failed\n", len(f), countChecks(s))
		return exitCheckFailed
	}
	return exitOK
}

func countChecks(s *scripts.Session) int {
	n := 0
	for e := range s.Log().Events(0, s.Log().Len()) {
		if e.Kind() == allocator.EvCheck {
			n++
		}
	}
	return n
}

// buffered returns a command's standard output buffered, and its standard
// error made to flush that buffer before each write, so that what the two
// say still comes out in order. The caller flushes the output at the end.
func buffered(stdout, stderr io.Writer) (*bufio.Writer, io.Writer) {
	out := bufio.NewWriterSize(stdout, 64<<10)
	return out, flushFirst{out, stderr}
}

// flushFirst is a writer that flushes out before each write to w.
type flushFirst struct {
	out *bufio.Writer
	w   io.Writer
}

func (f flushFirst) Write(p []byte) (int, error) {
	f.out.Flush()
	return f.w.Write(p)
}

// stepLines writes run's lines as the steps end: number, file:line, the
// operation with its arguments, the result, and the rule that explains it
// (heapview.Headline, shortened to one line by heapview.ShortReport), and
// a print() line where the script printed. The lines stream out, so the
// columns cannot be measured first: each column is as wide as its widest
// cell so far plus two spaces, so a column widens when a wider cell comes
// and never narrows. The widths depend only on the lines before, so the
// same script prints the same bytes every run, however the output is
// flushed.
type stepLines struct {
	cols [4]int
	line []byte
}

// cells starts the next line with its four padded cells.
func (l *stepLines) cells(cells [4]string) {
	l.line = l.line[:0]
	for i, c := range cells {
		n := utf8.RuneCountInString(c)
		l.cols[i] = max(l.cols[i], n+2)
		l.line = append(l.line, c...)
		for ; n < l.cols[i]; n++ {
			l.line = append(l.line, ' ')
		}
	}
}

// step writes the line of step st.
func (l *stepLines) step(out *stream, s *scripts.Session, st scripts.Step) {
	out.WriteBytes(l.format(s, st))
}

// format returns the line of step st, newline included; it is valid
// until the next call.
func (l *stepLines) format(s *scripts.Session, st scripts.Step) []byte {
	where := fileLine(st.Pos)
	if st.Label != "" {
		where += " " + st.Label // a trace's line: its time, task-pid, CPU and call site
	}
	l.cells([4]string{strconv.Itoa(st.N), where, st.Op, st.Result})
	at := len(l.line)
	l.line, _ = heapview.AppendHeadline(l.line, s.Log(), st.First, st.Last+1)
	if bytes.IndexByte(l.line[at:], '\n') >= 0 {
		l.line = append(l.line[:at], heapview.ShortReport(string(l.line[at:]))...)
	}
	l.line = append(l.line, '\n')
	return l.line
}

// print writes the line of a print() at pos.
func (l *stepLines) print(out *stream, pos, msg string) {
	l.cells([4]string{"", fileLine(pos), "print", ""})
	l.line = append(append(l.line, msg...), '\n')
	out.WriteBytes(l.line)
}

// fileLine drops the column from file:line:col; a trace's file:line has
// none.
func fileLine(pos string) string {
	i := strings.LastIndexByte(pos, ':')
	if i <= 0 || strings.Count(pos[strings.LastIndexByte(pos, '/')+1:], ":") < 2 {
		return pos
	}
	return pos[:i]
}

// procFile is a file of /proc the machine can render.
type procFile struct {
	name   string
	doc    string
	render func(m *allocator.Machine) string
}

// procFiles lists the /proc files allocviz renders.
func procFiles() []procFile {
	return []procFile{
		{name: "buddyinfo", doc: "free blocks per zone and order (mm/vmstat.c)", render: (*allocator.Machine).Buddyinfo},
		{name: "pagetypeinfo", doc: "free blocks per zone, migrate type and order; pageblocks per type (mm/vmstat.c)", render: (*allocator.Machine).Pagetypeinfo},
		{name: "zoneinfo", doc: "each zone's free pages, watermarks, sizes, protection and per-CPU lists (mm/vmstat.c)", render: (*allocator.Machine).Zoneinfo},
		{name: "slabinfo", doc: "slab caches, format 2.1 (mm/slab_common.c)", render: (*allocator.Machine).Slabinfo},
		{name: "vmallocinfo", doc: "vmap areas (mm/vmalloc.c)", render: (*allocator.Machine).Vmallocinfo},
		{name: "extfrag", doc: "debugfs extfrag/unusable_index and extfrag_index (mm/vmstat.c)", render: (*allocator.Machine).Extfrag},
	}
}

func procNames() string {
	var names []string
	for _, p := range procFiles() {
		names = append(names, p.name)
	}
	return strings.Join(names, ", ")
}

func procCmd(args []string, stdout, stderr io.Writer) int {
	out, stderr := buffered(stdout, stderr)
	defer out.Flush()
	stdout = out
	fs := newFlagSet("proc")
	var mf machineFlags
	mf.register(fs)
	after := fs.String("after", "", "run this script or scenario first")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return flagError(err, args, stdout, stderr)
	}
	if len(pos) != 1 {
		fmt.Fprintf(stderr, "usage: allocviz proc FILE [--after SCRIPT|NAME] [machine flags]; FILE is one of: %s\n", procNames())
		return exitError
	}
	var file *procFile
	for _, p := range procFiles() {
		if p.name == pos[0] {
			file = &p
		}
	}
	if file == nil {
		fmt.Fprintf(stderr, "allocviz proc: no file %q (known: %s)\n", pos[0], procNames())
		return exitError
	}
	opts, err := mf.options()
	if err != nil {
		fmt.Fprintln(stderr, "allocviz:", err)
		return exitError
	}
	defer limitHeap(&opts)()
	var s *scripts.Session
	var runErr error
	if *after != "" {
		ctx, stopped := runContext(func(e signalError) { fmt.Fprintf(stderr, "allocviz: %v\n", e) })
		s, runErr = scripts.RunContext(ctx, *after, opts)
		if sig := stopped(); sig != nil && s != nil {
			defer s.Close()
			finish(s, runErr, stderr)
			return sig.exitCode()
		}
	} else {
		s, runErr = scripts.New(opts)
	}
	if s == nil {
		fmt.Fprintln(stderr, "allocviz:", runErr)
		return exitError
	}
	defer s.Close()
	if runErr == nil {
		fmt.Fprint(stdout, file.render(s.Machine()))
	}
	return finish(s, runErr, stderr)
}

func scenariosCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintln(stderr, "usage: allocviz scenarios")
		return exitError
	}
	all, err := scripts.Scenarios()
	if err != nil {
		fmt.Fprintln(stderr, "allocviz:", err)
		return exitError
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	for i, g := range scripts.ByTopic(all) {
		if i > 0 {
			fmt.Fprintln(tw)
		}
		fmt.Fprintf(tw, "%s:\n", g[0].Topic)
		for _, sc := range g {
			fmt.Fprintf(tw, "  %s\t%s\n", sc.Name, sc.Description)
		}
	}
	tw.Flush()
	return exitOK
}

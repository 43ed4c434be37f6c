package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

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
                                        print a /proc file (buddyinfo, slabinfo, vmallocinfo) of a
                                        fresh machine, or of the machine after a script
  allocviz scenarios                    list the bundled scenarios

interface flags:
  --palette P     colours: default, cb (colour-blind safe) or mono; NO_COLOR selects mono
run flags:
  --json          one JSON object per event instead of one line per step
machine flags (a script's config() overrides them):
  --ram SIZE        RAM, e.g. 64M, 256MiB, 1G (default 64M)
  --page-size SIZE  4K, 16K or 64K (default 4K)
  --cpus N          CPUs, 1 to 256 (default 4)
  --possible-cpus N nr_cpu_ids, up to 8192 (at least --cpus); with --cpus 1
                    SLUB sizes its slabs by it, as calculate_order() does
  --profile P       kernel profile: 6.18 (latest) or 6.12
  --max-steps N     allocator steps allowed per run (default %d)
  --slab-debug FZPU slab_debug= for every cache: any of F (consistency checks),
                    Z (red zones), P (poison), U (user tracking); default off
  --freelist-random
                    CONFIG_SLAB_FREELIST_RANDOM: shuffle each new slab's freelist
  --freelist-hardened
                    CONFIG_SLAB_FREELIST_HARDENED: obfuscate the stored free pointers
  --seed N          seed of the freelist shuffles and hardening keys (default 0)

exit status: 0 ok, 1 a check failed, 2 a script error (printed as file:line:col: message)
`

// usage prints the usage text to w.
func usage(w io.Writer) {
	fmt.Fprintf(w, usageText, scripts.DefaultScenario, scripts.DefaultMaxSteps)
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
	case "help", "-h", "-help", "--help":
		usage(stdout)
		return exitOK
	}
	// allocviz [SCRIPT|NAME] [flags]: the interface (tui.go).
	return tuiCmd(args, stdout, stderr)
}

// machineFlags are the flags that configure the machine.
type machineFlags struct {
	ram, pageSize    sizeFlag
	cpus             int
	possibleCPUs     int
	profile          string
	maxSteps         int
	slabDebug        string
	freelistRandom   bool
	freelistHardened bool
	seed             uint64
}

func (f *machineFlags) register(fs *flag.FlagSet) {
	fs.Var(&f.ram, "ram", "RAM size, e.g. 64M")
	fs.Var(&f.pageSize, "page-size", "page size: 4K, 16K or 64K")
	fs.IntVar(&f.cpus, "cpus", 0, "number of CPUs")
	fs.IntVar(&f.possibleCPUs, "possible-cpus", 0, "nr_cpu_ids: CPUs that could come online (default --cpus)")
	fs.StringVar(&f.profile, "profile", "", "kernel profile: 6.18 or 6.12")
	fs.IntVar(&f.maxSteps, "max-steps", 0, "allocator steps allowed per run")
	fs.StringVar(&f.slabDebug, "slab-debug", "", "slab_debug= letters: F, Z, P, U")
	fs.BoolVar(&f.freelistRandom, "freelist-random", false, "shuffle each new slab's freelist")
	fs.BoolVar(&f.freelistHardened, "freelist-hardened", false, "obfuscate stored free pointers")
	fs.Uint64Var(&f.seed, "seed", 0, "seed of freelist shuffles and hardening keys")
}

// options converts the flags; zero values mean the defaults.
func (f *machineFlags) options() (scripts.Options, error) {
	p, err := allocator.ParseProfile(f.profile)
	if err != nil {
		return scripts.Options{}, err
	}
	if f.maxSteps < 0 {
		return scripts.Options{}, fmt.Errorf("--max-steps %d must be at least 1", f.maxSteps)
	}
	debug := strings.ToUpper(f.slabDebug)
	if _, err := allocator.ParseSlabDebug(debug); err != nil {
		return scripts.Options{}, fmt.Errorf("--slab-debug %q: %w", f.slabDebug, err)
	}
	return scripts.Options{
		Config: allocator.Config{RAM: int64(f.ram), PageSize: int(f.pageSize), CPUs: f.cpus, PossibleCPUs: f.possibleCPUs, Profile: p,
			SlabDebug: debug, FreelistRandom: f.freelistRandom, FreelistHardened: f.freelistHardened, Seed: f.seed},
		MaxSteps: f.maxSteps,
	}, nil
}

// sizeFlag is a byte count written as 64M, 256MiB or 1G.
type sizeFlag int64

func (s *sizeFlag) String() string { return fmt.Sprint(int64(*s)) }

func (s *sizeFlag) Set(v string) error {
	n, err := scripts.ParseSize(v)
	if err != nil {
		return err
	}
	*s = sizeFlag(n)
	return nil
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

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { usage(stderr) }
	return fs
}

func runCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("run", stderr)
	var mf machineFlags
	mf.register(fs)
	asJSON := fs.Bool("json", false, "one JSON object per event")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return exitError
	}
	switch len(pos) {
	case 0:
		fmt.Fprintln(stderr, "allocviz run: name a script or a bundled scenario (allocviz scenarios lists them)")
		fs.Usage()
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
	s, runErr := scripts.Run(pos[0], opts)
	if s == nil {
		fmt.Fprintln(stderr, "allocviz:", runErr)
		return exitError
	}
	defer s.Close()
	if *asJSON {
		if err := writeEventsJSON(stdout, s.Log().Events); err != nil {
			fmt.Fprintln(stderr, "allocviz:", err)
			return exitError
		}
		for _, p := range s.Printed() {
			fmt.Fprintf(stderr, "%s: %s\n", p.Pos, p.Text)
		}
	} else {
		writeSteps(stdout, s)
	}
	return finish(s, runErr, stderr)
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
	for _, e := range s.Log().Events {
		if e.Kind == allocator.EvCheck {
			n++
		}
	}
	return n
}

// writeSteps prints one line per step: number, file:line, the operation
// with its arguments, the result, and the rule that explains it. print()
// output appears after the step it followed.
func writeSteps(w io.Writer, s *scripts.Session) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	events := s.Log().Events
	printed := s.Printed()
	flushPrints := func(upTo int) {
		for len(printed) > 0 && printed[0].Step <= upTo {
			fmt.Fprintf(tw, "\t%s\tprint\t\t%s\n", fileLine(printed[0].Pos), printed[0].Text)
			printed = printed[1:]
		}
	}
	flushPrints(0)
	for _, st := range s.Steps() {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", st.N, fileLine(st.Pos), st.Op, st.Result, explanation(events[st.First:st.Last+1]))
		flushPrints(st.N)
	}
	flushPrints(len(s.Steps()))
	tw.Flush()
}

// explanation is the sentence that explains a step: the decision of the
// call itself when the step has one (a realloc decision, a vmap area, a
// guard-page hit), which its lower-level events (the pages a vmalloc took,
// the kernel's page-fault line, the krealloc inside a kvrealloc) come
// before; otherwise the first sentence its events carry: the rule the
// allocator applied, the narration, the check's message, the report.
func explanation(events []allocator.Event) string {
	return oneLine(headline(events))
}

// headline picks the sentence that explains a step (see explanation).
func headline(events []allocator.Event) string {
	if e := heapview.Headline(events); e != nil {
		switch {
		case e.Kind == allocator.EvKmalloc && e.Addr == 0:
			// A kmalloc that returned NULL: the size class, then why.
			if f, ok := firstText(events, allocator.EvPageFail); ok {
				return e.Text + "; failed: " + f
			}
		case e.Kind == allocator.EvKmalloc && e.Cache != "":
			// The size class, then where in the cache the object came from.
			if o, ok := firstText(events, allocator.EvObjAlloc); ok {
				return e.Text + "; " + o
			}
		case e.Kind == allocator.EvObjFree:
			// A free that set off more than its own slab's move (a
			// per-CPU partial list drained to the node, slabs
			// discarded) ends with the last of those moves.
			if more, n := lastSlabMove(events); n > 1 {
				return e.Text + "; " + more
			}
		}
		return e.Text
	}
	for _, e := range events {
		if e.Kind != allocator.EvStep && e.Text != "" {
			return e.Text
		}
	}
	return ""
}

// oneLine shortens a text of several lines to one. A SLUB report (a
// "BUG <cache>" line between rules, the corruption found, an object dump,
// "FIX" lines) becomes its BUG line, the corruption line and the last FIX
// line; anything else keeps its first line. --json has the whole text.
func oneLine(text string) string {
	first, _, multi := strings.Cut(text, "\n")
	if !multi {
		return text
	}
	var bug, detail, fix string
	for _, l := range strings.Split(text, "\n") {
		switch {
		case strings.HasPrefix(l, "BUG ") && bug == "":
			bug = l
		case strings.HasPrefix(l, "[") && detail == "":
			detail = l
		case strings.HasPrefix(l, "FIX "):
			fix = l
		}
	}
	if bug == "" {
		return first
	}
	if detail != "" {
		bug += ": " + detail
	}
	if fix != "" {
		bug += "; " + fix
	}
	return bug
}

// lastSlabMove returns the text of the last slab list move or discard in
// events, and how many there are.
func lastSlabMove(events []allocator.Event) (string, int) {
	text, n := "", 0
	for _, e := range events {
		if e.Kind == allocator.EvSlabList || e.Kind == allocator.EvSlabDiscard {
			text, n = e.Text, n+1
		}
	}
	return text, n
}

// firstText returns the text of the first event of kind that has one.
func firstText(events []allocator.Event, kind allocator.EventKind) (string, bool) {
	for _, e := range events {
		if e.Kind == kind && e.Text != "" {
			return e.Text, true
		}
	}
	return "", false
}

// fileLine drops the column from file:line:col.
func fileLine(pos string) string {
	if i := strings.LastIndexByte(pos, ':'); i > 0 {
		return pos[:i]
	}
	return pos
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
		{name: "buddyinfo", doc: "free blocks per order (mm/vmstat.c)", render: (*allocator.Machine).Buddyinfo},
		{name: "slabinfo", doc: "slab caches, format 2.1 (mm/slab_common.c)", render: (*allocator.Machine).Slabinfo},
		{name: "vmallocinfo", doc: "vmap areas (mm/vmalloc.c)", render: (*allocator.Machine).Vmallocinfo},
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
	fs := newFlagSet("proc", stderr)
	var mf machineFlags
	mf.register(fs)
	after := fs.String("after", "", "run this script or scenario first")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return exitError
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
	var s *scripts.Session
	var runErr error
	if *after != "" {
		s, runErr = scripts.Run(*after, opts)
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
	for _, sc := range all {
		fmt.Fprintf(tw, "%s\t%s\n", sc.Name, sc.Description)
	}
	tw.Flush()
	return exitOK
}

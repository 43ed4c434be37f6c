package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
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
  allocviz [SCRIPT|NAME] [flags]        open the interface on a scenario (default: the tour);
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
		fmt.Fprintf(stdout, usageText, scripts.DefaultMaxSteps)
		return exitOK
	}
	// allocviz [SCRIPT|NAME] [flags]: the interface (tui.go).
	return tuiCmd(args, stdout, stderr)
}

// machineFlags are the flags that configure the machine.
type machineFlags struct {
	ram, pageSize    sizeFlag
	cpus             int
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
		Config: allocator.Config{RAM: int64(f.ram), PageSize: int(f.pageSize), CPUs: f.cpus, Profile: p,
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
	fs.Usage = func() { fmt.Fprintf(stderr, usageText, scripts.DefaultMaxSteps) }
	return fs
}

func runCmd(args []string, stdout, stderr io.Writer) int {
	out, stderr := buffered(stdout, stderr)
	defer out.Flush()
	stdout = out
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
		pos = []string{scripts.DefaultScenario}
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
		if err := s.Log().WriteJSON(stdout, 0, s.Log().Len()); err != nil {
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

// writeSteps prints one line per step: number, file:line, the operation
// with its arguments, the result, and the rule that explains it
// (heapview.Headline, shortened to one line). print() output appears after
// the step it followed. The columns are aligned as text/tabwriter aligns
// them, but in two passes over the steps, the first measuring, so that a
// run of a million steps is not held in memory; a text holding a tab or a
// line break, which would make its own cells, goes through tabwriter.
func writeSteps(w io.Writer, s *scripts.Session) {
	cols, ok := stepColumns(s)
	if !ok {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		eachStepLine(s, func(cells [4]string, text string) {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", cells[0], cells[1], cells[2], cells[3], text)
		})
		tw.Flush()
		return
	}
	var line []byte
	cells := func(cells [4]string) {
		line = line[:0]
		for i, c := range cells {
			line = append(line, c...)
			for n := utf8.RuneCountInString(c); n < cols[i]; n++ {
				line = append(line, ' ')
			}
		}
	}
	printed := s.Printed()
	flushPrints := func(upTo int) {
		for len(printed) > 0 && printed[0].Step <= upTo {
			cells(printCells(printed[0]))
			w.Write(append(append(line, printed[0].Text...), '\n'))
			printed = printed[1:]
		}
	}
	flushPrints(0)
	log := s.Log()
	for n := 1; n <= s.NumSteps(); n++ {
		st := s.Step(n)
		cells(stepCells(st))
		at := len(line)
		line, _ = heapview.AppendHeadline(line, log, st.First, st.Last+1)
		if bytes.IndexByte(line[at:], '\n') >= 0 {
			line = append(line[:at], heapview.ShortReport(string(line[at:]))...)
		}
		w.Write(append(line, '\n'))
		flushPrints(n)
	}
	flushPrints(s.NumSteps())
}

// stepColumns measures the columns of writeSteps' lines as tabwriter
// would: the widest cell of each, plus two spaces. ok is false when a
// text holds a tab or a line break.
func stepColumns(s *scripts.Session) (cols [4]int, ok bool) {
	ok = true
	plain := func(t string) bool { return !strings.ContainsAny(t, "\t\n") }
	measure := func(cells [4]string) {
		for i, c := range cells {
			cols[i] = max(cols[i], utf8.RuneCountInString(c)+2)
			ok = ok && plain(c)
		}
	}
	for _, p := range s.Printed() {
		measure(printCells(p))
		ok = ok && plain(p.Text)
	}
	for n := 1; n <= s.NumSteps(); n++ {
		measure(stepCells(s.Step(n)))
	}
	// The explanations are texts of the log: where none holds a tab,
	// none is more than one cell (ShortReport leaves no line break).
	return cols, ok && !s.Log().AnyString(func(t string) bool { return strings.Contains(t, "\t") })
}

// eachStepLine calls line for every line writeSteps prints, in order.
func eachStepLine(s *scripts.Session, line func(cells [4]string, text string)) {
	log := s.Log()
	printed := s.Printed()
	flushPrints := func(upTo int) {
		for len(printed) > 0 && printed[0].Step <= upTo {
			line(printCells(printed[0]), printed[0].Text)
			printed = printed[1:]
		}
	}
	flushPrints(0)
	for n := 1; n <= s.NumSteps(); n++ {
		st := s.Step(n)
		text, _ := heapview.Headline(log, st.First, st.Last+1)
		line(stepCells(st), heapview.ShortReport(text))
		flushPrints(n)
	}
	flushPrints(s.NumSteps())
}

func stepCells(st scripts.Step) [4]string {
	return [4]string{strconv.Itoa(st.N), fileLine(st.Pos), st.Op, st.Result}
}

func printCells(p scripts.Printed) [4]string { return [4]string{"", fileLine(p.Pos), "print", ""} }

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
	out, stderr := buffered(stdout, stderr)
	defer out.Flush()
	stdout = out
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

package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/allocviz/allocviz/scripts"
	"github.com/allocviz/allocviz/ui"
)

// tuiCmd is allocviz [SCRIPT|NAME] [machine flags] [--palette P]: the
// interface on a scenario, scripts.DefaultScenario (the tour) when none
// is named. When standard
// output is not a terminal (a pipe, CI) it runs the scenario headless
// instead, as allocviz run does, and says so on stderr.
func tuiCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("allocviz", stderr)
	var mf machineFlags
	mf.register(fs)
	palette := fs.String("palette", "default", "colours: default, cb (colour-blind safe) or mono")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return exitError
	}
	if len(pos) > 1 {
		fmt.Fprintf(stderr, "allocviz: one script at a time, got %s\n", strings.Join(pos, " "))
		return exitError
	}
	ref := scripts.DefaultScenario
	if len(pos) == 1 {
		ref = pos[0]
	}
	pal, err := ui.ParsePalette(*palette)
	if err != nil {
		fmt.Fprintln(stderr, "allocviz:", err)
		return exitError
	}
	opts, err := mf.options()
	if err != nil {
		fmt.Fprintln(stderr, "allocviz:", err)
		return exitError
	}
	// A name that is neither a file nor a bundled scenario fails here,
	// before the screen is taken over.
	if _, err := scripts.Open(ref); err != nil {
		fmt.Fprintln(stderr, "allocviz:", err)
		return exitError
	}
	out, ok := stdout.(*os.File)
	if !ok || !isTerminal(out) {
		fmt.Fprintf(stderr, "allocviz: standard output is not a terminal, so %s runs headless (allocviz run %s)\n", ref, ref)
		runArgs := dropFlag(args, "palette")
		if len(pos) == 0 {
			runArgs = append([]string{ref}, runArgs...)
		}
		return runCmd(runArgs, stdout, stderr)
	}
	return runTUI(ui.Options{Scenario: ref, Script: opts, Palette: pal}, out, stderr)
}

// runTUI runs the interface until the user quits. Nothing else writes to
// the terminal meanwhile; debug logging goes to a file named by
// ALLOCVIZ_DEBUG.
func runTUI(opts ui.Options, out *os.File, stderr io.Writer) int {
	if path := os.Getenv("ALLOCVIZ_DEBUG"); path != "" {
		f, err := tea.LogToFile(path, "allocviz")
		if err != nil {
			fmt.Fprintln(stderr, "allocviz: debug log:", err)
			return exitError
		}
		defer f.Close()
		opts.Debug = true
	}
	if _, set := os.LookupEnv("NO_COLOR"); set && os.Getenv("NO_COLOR") != "" {
		// No colour, but bold, underline and reverse video still mark
		// the cursor and the changes (https://no-color.org).
		opts.Palette = ui.PaletteMono
		lipgloss.SetColorProfile(termenv.ANSI)
	}
	// Ask the terminal for its background now: asked later, from inside
	// the program, its answer would arrive as keystrokes.
	lipgloss.SetHasDarkBackground(termenv.NewOutput(out).HasDarkBackground())

	popts := []tea.ProgramOption{tea.WithAltScreen(), tea.WithOutput(out)}
	if !isTerminal(os.Stdin) {
		popts = append(popts, tea.WithInputTTY())
	}
	final, err := tea.NewProgram(ui.New(opts), popts...).Run()
	if m, ok := final.(ui.Model); ok {
		m.Close()
	}
	if err != nil {
		fmt.Fprintln(stderr, "allocviz:", err)
		return exitError
	}
	return exitOK
}

// dropFlag removes flag name and its value (--name v, --name=v, -name v)
// from args.
func dropFlag(args []string, name string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return append(out, args[i:]...)
		case a == "-"+name || a == "--"+name:
			i++
		case strings.HasPrefix(a, "-"+name+"=") || strings.HasPrefix(a, "--"+name+"="):
		default:
			out = append(out, a)
		}
	}
	return out
}

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

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
	fs := newFlagSet("allocviz")
	var mf machineFlags
	mf.register(fs)
	palette := fs.String("palette", "default", "colours: default, cb (colour-blind safe) or mono")
	quiz := fs.Bool("quiz", false, "stop at each question and take an answer")
	var step, promptSteps countFlag
	fs.Var(&step, "step", "open at this step")
	fs.Var(&promptSteps, "prompt-steps", "allocator steps one statement typed at the prompt may take")
	presenter := fs.Bool("presenter", false, "open in the presenter layout")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return flagError(err, args, stdout, stderr)
	}
	if step.set && step.n < 0 {
		fmt.Fprintf(stderr, "allocviz: --step %s is out of range (allowed: 0 and up)\n", step.text)
		return exitError
	}
	if promptSteps.set && (promptSteps.n < 1 || promptSteps.n > scripts.MaxStepsLimit) {
		fmt.Fprintf(stderr, "allocviz: --prompt-steps %s is out of range (allowed: 1 to %d)\n", promptSteps.text, int64(scripts.MaxStepsLimit))
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
		runArgs := args
		for _, f := range []string{"palette", "step", "prompt-steps", "presenter"} {
			runArgs = dropFlag(runArgs, f)
		}
		if len(pos) == 0 {
			runArgs = append([]string{ref}, runArgs...)
		}
		return runCmd(runArgs, stdout, stderr)
	}
	defer limitHeap(&opts)()
	return runTUI(ui.Options{Scenario: ref, Script: opts, Palette: pal, Quiz: *quiz, Step: step.n, Presenter: *presenter,
		PromptSteps: promptSteps.n, Flags: configKeys(fs)}, out, stderr)
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

	// Ending the program: ctrl+c (the quit key) and SIGINT, SIGTERM or
	// SIGHUP. Each cancels ctx at once, so a script loading or a
	// statement running stops within moments, and the program quits
	// (ctrl+c as a key; a signal kills it). Should the program still be
	// running a second later, the terminal is put back by hand and the
	// process exits.
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	opts.Context = ctx
	in, closeIn, err := terminalInput()
	if err != nil {
		fmt.Fprintln(stderr, "allocviz:", err)
		return exitError
	}
	defer closeIn()
	restore := saveTerminal(in, out)
	var p *tea.Program
	var ending sync.Once
	returned := make(chan struct{})
	end := func(cause error, kill bool, code int) {
		ending.Do(func() {
			cancel(cause)
			if kill {
				p.Kill()
			}
			go func() {
				select {
				case <-returned:
				case <-time.After(time.Second):
					restore()
					fmt.Fprintf(stderr, "allocviz: %v; the interface did not stop within a second\n", cause)
					os.Exit(code)
				}
			}()
		})
	}
	input := ctrlCWatcher{File: in, onCtrlC: func() { end(errors.New("quit (ctrl+c)"), false, exitOK) }}
	popts := []tea.ProgramOption{tea.WithAltScreen(), tea.WithOutput(out), tea.WithInput(input), tea.WithoutSignalHandler()}
	p = tea.NewProgram(ui.New(opts), popts...)
	stopSignals := onSignal(func(e signalError) { end(e, true, e.exitCode()) })
	final, err := p.Run()
	close(returned)
	endedBy := stopSignals()
	if m, ok := final.(ui.Model); ok {
		m.Close()
	}
	if endedBy != nil {
		return endedBy.exitCode()
	}
	if err != nil {
		fmt.Fprintln(stderr, "allocviz:", err)
		return exitError
	}
	return exitOK
}

// terminalInput returns the terminal to read keys from: standard input,
// or /dev/tty when standard input is not a terminal.
func terminalInput() (*os.File, func(), error) {
	if isTerminal(os.Stdin) {
		return os.Stdin, func() {}, nil
	}
	f, err := os.Open("/dev/tty")
	if err != nil {
		return nil, nil, fmt.Errorf("no terminal to read keys from: %w", err)
	}
	return f, func() { f.Close() }, nil
}

// ctrlCWatcher is the terminal as the interface reads it. In raw mode
// ctrl+c is the byte 0x03, a key like any other, which reaches the
// program only when its event loop is free; the watcher sees it as it is
// read and calls onCtrlC from the reading goroutine, so the quit key
// works even while a statement keeps the event loop busy. The key itself
// goes on to the program, which quits.
type ctrlCWatcher struct {
	*os.File
	onCtrlC func()
}

// Read reads keys and watches for ctrl+c.
func (w ctrlCWatcher) Read(p []byte) (int, error) {
	n, err := w.File.Read(p)
	if bytes.IndexByte(p[:n], 0x03) >= 0 {
		w.onCtrlC()
	}
	return n, err
}

// dropFlag removes flag name and its value (--name v, --name=v, -name v)
// from args; --presenter takes no value.
func dropFlag(args []string, name string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return append(out, args[i:]...)
		case a == "-"+name || a == "--"+name:
			if name != "presenter" {
				i++
			}
		case strings.HasPrefix(a, "-"+name+"=") || strings.HasPrefix(a, "--"+name+"="):
		default:
			out = append(out, a)
		}
	}
	return out
}

// resetScreen leaves bracketed paste, shows the cursor and leaves the
// alternate screen, as the interface does when it ends.
const resetScreen = "\x1b[?2004l\x1b[?25h\x1b[?1049l"

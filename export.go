package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/allocviz/allocviz/heapview"
	"github.com/allocviz/allocviz/scripts"
	"github.com/allocviz/allocviz/ui"
)

// exportCmd is allocviz export SCRIPT|TRACE: pictures of a session to
// keep. --svg writes the interface's screen at a step, --cast a recording
// of the interface stepping through the session, --html a page that
// steps through it in a browser.
func exportCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("export")
	var mf machineFlags
	mf.register(fs)
	svg := fs.String("svg", "", "write the screen at --step as SVG to this file")
	cast := fs.String("cast", "", "write an asciicast v2 recording of the session to this file")
	htmlOut := fs.String("html", "", "write a self-contained HTML page of the session to this file")
	step := fs.Int("step", -1, "the step --svg shows (default: the last)")
	size := fs.String("size", "120x40", "the terminal size of --svg and --cast, COLSxROWS")
	pace := fs.Duration("pace", time.Second, "the time each step stays on screen in --cast")
	palette := fs.String("palette", "default", "colours: default, cb (colour-blind safe) or mono")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return flagError(err, args, stdout, stderr)
	}
	if len(pos) != 1 || *svg == "" && *cast == "" && *htmlOut == "" {
		fmt.Fprintln(stderr, "usage: allocviz export SCRIPT|TRACE|NAME [--svg FILE [--step N]] [--cast FILE [--pace D]] [--html FILE] [--size COLSxROWS] [--palette P] [machine flags]")
		return exitError
	}
	w, h, err := parseSize(*size)
	if err != nil {
		fmt.Fprintln(stderr, "allocviz export:", err)
		return exitError
	}
	if *pace <= 0 {
		fmt.Fprintf(stderr, "allocviz export: --pace %v: a step must stay on screen for some time\n", *pace)
		return exitError
	}
	pal, err := ui.ParsePalette(*palette)
	if err != nil {
		fmt.Fprintln(stderr, "allocviz export:", err)
		return exitError
	}
	opts, err := mf.options()
	if err != nil {
		fmt.Fprintln(stderr, "allocviz export:", err)
		return exitError
	}
	if _, err := scripts.Open(pos[0]); err != nil {
		fmt.Fprintln(stderr, "allocviz:", err)
		return exitError
	}
	defer limitHeap(&opts)()
	ex := exporter{ref: pos[0], opts: opts, palette: pal, w: w, h: h}
	for _, out := range []struct {
		file  string
		write func(io.Writer) error
	}{
		{*svg, func(f io.Writer) error { return ex.svg(f, *step) }},
		{*cast, func(f io.Writer) error { return ex.cast(f, *pace) }},
		{*htmlOut, ex.html},
	} {
		if out.file == "" {
			continue
		}
		if err := writeFile(out.file, out.write); err != nil {
			fmt.Fprintln(stderr, "allocviz export:", err)
			return exitError
		}
		fmt.Fprintf(stderr, "allocviz export: wrote %s\n", out.file)
	}
	return exitOK
}

// parseSize reads COLSxROWS; the interface needs ui.MinWidth x ui.MinHeight.
func parseSize(s string) (w, h int, err error) {
	a, b, ok := strings.Cut(s, "x")
	w, errW := strconv.Atoi(a)
	h, errH := strconv.Atoi(b)
	if !ok || errW != nil || errH != nil {
		return 0, 0, fmt.Errorf("--size %q: want COLSxROWS, e.g. 120x40", s)
	}
	if w < ui.MinWidth || h < ui.MinHeight || w > 1000 || h > 500 {
		return 0, 0, fmt.Errorf("--size %s: from %dx%d to 1000x500", s, ui.MinWidth, ui.MinHeight)
	}
	return w, h, nil
}

// writeFile writes a file whole or not at all: into a temporary file
// beside it, renamed over it at the end.
func writeFile(name string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), name)
}

// exporter makes the pictures of one session.
type exporter struct {
	ref     string
	opts    scripts.Options
	palette ui.Palette
	w, h    int
}

// withColours runs f with lipgloss drawing true colour on a dark
// background, as the pictures show the interface, whatever the terminal
// the command runs in.
func withColours(f func() error) error {
	profile, dark := lipgloss.ColorProfile(), lipgloss.HasDarkBackground()
	lipgloss.SetColorProfile(termenv.TrueColor)
	lipgloss.SetHasDarkBackground(true)
	defer func() {
		lipgloss.SetColorProfile(profile)
		lipgloss.SetHasDarkBackground(dark)
	}()
	return f()
}

// screens opens the session in the interface.
func (ex exporter) screens(f func(s *ui.Screens) error) error {
	return withColours(func() error {
		s, err := ui.OpenScreens(ui.Options{Scenario: ex.ref, Script: ex.opts, Palette: ex.palette}, ex.w, ex.h)
		if err != nil {
			return err
		}
		defer s.Close()
		return f(s)
	})
}

func (ex exporter) svg(out io.Writer, step int) error {
	return ex.screens(func(s *ui.Screens) error {
		if step < 0 {
			step = s.Steps()
		}
		if step > s.Steps() {
			return fmt.Errorf("--step %d: %s has steps 0 to %d", step, ex.ref, s.Steps())
		}
		title := fmt.Sprintf("allocviz: %s, step %d of %d", filepath.Base(ex.ref), step, s.Steps())
		return writeSVG(out, parseScreen(s.View(step), ex.w, ex.h), title, darkScreen)
	})
}

// maxCastSteps bounds a recording: a frame per step of a long trace
// would make a file no player loads.
const maxCastSteps = 5000

func (ex exporter) cast(out io.Writer, pace time.Duration) error {
	return ex.screens(func(s *ui.Screens) error {
		if s.Steps() > maxCastSteps {
			return fmt.Errorf("%s has %d steps; a recording takes at most %d", ex.ref, s.Steps(), maxCastSteps)
		}
		c := newCastWriter(out, ex.w, ex.h, "allocviz: "+filepath.Base(ex.ref))
		for st := 0; st <= s.Steps(); st++ {
			c.frame(time.Duration(st)*pace, s.View(st))
		}
		return c.close()
	})
}

// maxHTMLSteps bounds a page: beyond it a browser struggles.
const maxHTMLSteps = 20000

func (ex exporter) html(out io.Writer) error {
	s, err := scripts.Run(ex.ref, ex.opts)
	if s != nil {
		defer s.Close()
	}
	if err != nil {
		return err
	}
	hv, err := heapview.New(s.Log())
	if err != nil {
		return err
	}
	if hv.Steps() > maxHTMLSteps {
		return fmt.Errorf("%s has %d steps; a page takes at most %d", ex.ref, hv.Steps(), maxHTMLSteps)
	}
	return exportHTML(out, hv, filepath.Base(ex.ref))
}

// exportHTML writes the page of a model, coloured as the interface's
// palettes colour its cells.
func exportHTML(out io.Writer, hv *heapview.Model, title string) error {
	var names []string
	for _, p := range ui.Palettes() {
		names = append(names, p.String())
	}
	css := func(pal string, sp heapview.Span) string {
		p, err := ui.ParsePalette(pal)
		if err != nil {
			return ""
		}
		return styleCSS(ui.SpanStyle(p, sp), true)
	}
	return buildHTML(out, hv, "allocviz: "+title, names, css)
}

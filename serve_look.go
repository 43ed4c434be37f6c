package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/ssh"
	"github.com/muesli/termenv"

	"github.com/allocviz/allocviz/ui"
)

// look is how one connection's interface is drawn: every client of
// allocviz serve gets the colours its own terminal can show, on its own
// background, in the palette it asked for.
type look struct {
	palette ui.Palette
	light   bool // the terminal's background is light
}

// lookWords are the words a client may give as its ssh command
// (ssh -t -p 2222 HOST cb light): a palette, or the background.
const lookWords = "default, cb, mono (palettes), light or dark (the terminal's background)"

// lookOf reads a connection's look: the server's palette; mono when the
// client sends NO_COLOR (https://no-color.org); a light background when
// its COLORFGBG says so (rxvt's "fg;bg", bg 7 or 15 being light); then the
// words of its ssh command, which win.
func lookOf(def ui.Palette, env, words []string) (look, error) {
	lk := look{palette: def}
	for _, e := range env {
		k, v, _ := strings.Cut(e, "=")
		switch {
		case k == "NO_COLOR" && v != "":
			lk.palette = ui.PaletteMono
		case k == "COLORFGBG":
			if i := strings.LastIndexByte(v, ';'); i >= 0 {
				bg, err := strconv.Atoi(v[i+1:])
				lk.light = err == nil && (bg == 7 || bg == 15)
			}
		}
	}
	for _, w := range words {
		switch w {
		case "light", "dark":
			lk.light = w == "light"
		default:
			p, err := ui.ParsePalette(w)
			if err != nil {
				return look{}, fmt.Errorf("%q is not a word allocviz serve knows; give %s", w, lookWords)
			}
			lk.palette = p
		}
	}
	return lk, nil
}

// renderer draws for the client of sess: the colour profile its TERM and
// COLORTERM call for (TERM=xterm gets 16 colours, xterm-256color 256,
// COLORTERM=truecolor 24-bit, dumb none) and lk's background. The
// background is not asked of the terminal (an OSC 11 query): a client that
// does not answer would hold up its connection, and its answer could
// arrive as keystrokes.
func (lk look) renderer(sess ssh.Session) *lipgloss.Renderer {
	pty, _, _ := sess.Pty()
	env := sshEnv(append(sess.Environ(), "TERM="+pty.Term))
	r := lipgloss.NewRenderer(sess, termenv.WithEnvironment(env), termenv.WithUnsafe(), termenv.WithColorCache(true))
	r.SetHasDarkBackground(!lk.light)
	return r
}

// sshEnv is a client's environment as termenv reads one.
type sshEnv []string

// Environ returns the variables.
func (e sshEnv) Environ() []string { return e }

// Getenv returns the last value of key.
func (e sshEnv) Getenv(key string) string {
	v := ""
	for _, kv := range e {
		if k, val, ok := strings.Cut(kv, "="); ok && k == key {
			v = val
		}
	}
	return v
}

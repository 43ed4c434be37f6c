package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/allocviz/allocviz/ui"
)

func TestLookOf(t *testing.T) {
	for _, c := range []struct {
		env, words []string
		want       look
		err        string
	}{
		{nil, nil, look{palette: ui.PaletteDefault}, ""},
		{[]string{"NO_COLOR=1"}, nil, look{palette: ui.PaletteMono}, ""},
		{[]string{"NO_COLOR="}, nil, look{palette: ui.PaletteDefault}, ""},
		{[]string{"COLORFGBG=0;15"}, nil, look{palette: ui.PaletteDefault, light: true}, ""},
		{[]string{"COLORFGBG=15;default;0"}, nil, look{palette: ui.PaletteDefault}, ""},
		{[]string{"COLORFGBG=0;15"}, []string{"dark", "cb"}, look{palette: ui.PaletteCB}, ""},
		{[]string{"NO_COLOR=1"}, []string{"default", "light"}, look{palette: ui.PaletteDefault, light: true}, ""},
		{nil, []string{"solarized"}, look{}, `"solarized" is not a word allocviz serve knows; give default, cb, mono`},
	} {
		got, err := lookOf(ui.PaletteDefault, c.env, c.words)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("lookOf(%q, %q): %v, want an error with %q", c.env, c.words, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("lookOf(%q, %q) = %+v, %v; want %+v", c.env, c.words, got, err, c.want)
		}
	}
}

// colourCodes finds the colour codes a screen's SGR sequences (sgr) use:
// 38/48;5;N (256 colours) and 38/48;2;R;G;B (24-bit) in c256, 30-37,
// 90-97, 40-47 and 100-107 (16 colours) in c16.
func colourCodes(raw string) (c256, c16 []string) {
	for _, m := range sgr.FindAllStringSubmatch(raw, -1) {
		p := strings.Split(m[1], ";")
		for i := 0; i < len(p); i++ {
			switch {
			case (p[i] == "38" || p[i] == "48") && i+2 < len(p) && p[i+1] == "5":
				c256 = append(c256, strings.Join(p[i:i+3], ";"))
				i += 2
			case (p[i] == "38" || p[i] == "48") && i+1 < len(p) && p[i+1] == "2":
				c256 = append(c256, strings.Join(p[i:min(i+5, len(p))], ";"))
				i += 4
			case len(p[i]) == 2 && (p[i][0] == '3' || p[i][0] == '4' || p[i][0] == '9') && p[i][1] >= '0' && p[i][1] <= '7',
				len(p[i]) == 3 && p[i][:2] == "10" && p[i][2] >= '0' && p[i][2] <= '7':
				c16 = append(c16, p[i])
			}
		}
	}
	slices.Sort(c256)
	slices.Sort(c16)
	return slices.Compact(c256), slices.Compact(c16)
}

// TestServeColoursPerClient: each connection is drawn for its own
// terminal: 256 colours for xterm-256color, the 16 ANSI colours for
// xterm, none for dumb; the light words change the adaptive colours; an
// unknown word is refused with the words there are.
func TestServeColoursPerClient(t *testing.T) {
	s, addr, _ := testServer(t, serveConfig{})
	screen := func(term, command string) string {
		c := dialTerm(t, addr, "student", "", term, command, 100, 30)
		c.wait("step 0 of 92")
		c.send("n")
		c.wait("step 1 of 92")
		c.mu.Lock()
		out := c.out.String()
		c.mu.Unlock()
		c.send("q")
		_ = c.sess.Wait()
		return out
	}
	dark256, dark16 := colourCodes(screen("xterm-256color", ""))
	if len(dark256) == 0 {
		t.Errorf("xterm-256color: no 256-colour codes (16-colour ones: %q)", dark16)
	}
	ansi256, ansi16 := colourCodes(screen("xterm", ""))
	if len(ansi256) != 0 || len(ansi16) == 0 {
		t.Errorf("xterm: 256/24-bit codes %q, 16-colour codes %q; want only 16-colour ones", ansi256, ansi16)
	}
	if d256, d16 := colourCodes(screen("dumb", "")); len(d256)+len(d16) != 0 {
		t.Errorf("dumb: colour codes %q %q", d256, d16)
	}
	light256, _ := colourCodes(screen("xterm-256color", "light"))
	if slices.Equal(light256, dark256) || len(light256) == 0 {
		t.Errorf("light drew the colours of dark: %q", light256)
	}
	c := dialTerm(t, addr, "student", "", "xterm-256color", "pastel", 100, 30)
	c.refused(`"pastel" is not a word allocviz serve knows`)
	sessionsEnd(t, s)
}

package ui

import (
	"math"
	"reflect"
	"strconv"
	"testing"

	"github.com/charmbracelet/lipgloss"
)

// luminance is a colour's relative luminance (WCAG 2.x).
func luminance(t *testing.T, hex string) float64 {
	t.Helper()
	if len(hex) != 7 || hex[0] != '#' {
		t.Fatalf("colour %q is not #RRGGBB", hex)
	}
	var rgb [3]float64
	for i := range rgb {
		v, err := strconv.ParseUint(hex[1+2*i:3+2*i], 16, 8)
		if err != nil {
			t.Fatalf("colour %q: %v", hex, err)
		}
		c := float64(v) / 255
		if c <= 0.03928 {
			rgb[i] = c / 12.92
		} else {
			rgb[i] = math.Pow((c+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*rgb[0] + 0.7152*rgb[1] + 0.0722*rgb[2]
}

// contrast is the WCAG contrast ratio of two colours.
func contrast(t *testing.T, a, b string) float64 {
	la, lb := luminance(t, a), luminance(t, b)
	return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)
}

// The terminal backgrounds the palettes are made for: white under the
// light variants; black and GitHub's dark #0D1117 under the dark ones.
var (
	lightBackgrounds = []string{"#FFFFFF"}
	darkBackgrounds  = []string{"#000000", "#0D1117"}
)

// minContrast is WCAG AA for text.
const minContrast = 4.5

// Every text colour of the palettes with colour meets 4.5:1 against the
// background it sits on: every colour of the palette table on the
// terminal's background (a reversed cell swaps the two, which keeps the
// ratio), and the status bar's and the cursor's text on their own
// backgrounds. The colours are read from the table itself, so one added
// later is held to it too.
func TestPaletteContrast(t *testing.T) {
	backgrounds := map[string]string{"BarBg": "BarFg", "CursorBg": "CursorFg"} // background -> its text
	decoration := map[string]bool{"Border": true}                              // not text: frames
	for _, p := range []Palette{PaletteDefault, PaletteCB} {
		c := paletteColours(p)
		v := reflect.ValueOf(c)
		checked := 0
		check := func(name string, col lipgloss.TerminalColor) {
			a, ok := col.(lipgloss.AdaptiveColor)
			if !ok {
				t.Errorf("%s: %s is %T, want an adaptive colour", p, name, col)
				return
			}
			for _, bg := range lightBackgrounds {
				if r := contrast(t, a.Light, bg); r < minContrast {
					t.Errorf("%s: %s %s on %s is %.2f:1", p, name, a.Light, bg, r)
				}
			}
			for _, bg := range darkBackgrounds {
				if r := contrast(t, a.Dark, bg); r < minContrast {
					t.Errorf("%s: %s %s on %s is %.2f:1", p, name, a.Dark, bg, r)
				}
			}
			checked++
		}
		for i := range v.NumField() {
			name := v.Type().Field(i).Name
			f := v.Field(i)
			ownBackground := false // a text colour checked with its background
			for _, fg := range backgrounds {
				ownBackground = ownBackground || fg == name
			}
			switch {
			case decoration[name], ownBackground:
			case backgrounds[name] != "":
				fg := v.FieldByName(backgrounds[name]).Interface().(lipgloss.AdaptiveColor)
				bg := f.Interface().(lipgloss.AdaptiveColor)
				if r := contrast(t, fg.Light, bg.Light); r < minContrast {
					t.Errorf("%s: %s %s on %s %s is %.2f:1", p, backgrounds[name], fg.Light, name, bg.Light, r)
				}
				if r := contrast(t, fg.Dark, bg.Dark); r < minContrast {
					t.Errorf("%s: %s %s on %s %s is %.2f:1", p, backgrounds[name], fg.Dark, name, bg.Dark, r)
				}
			case f.Kind() == reflect.Slice:
				for j := range f.Len() {
					check(name+"["+strconv.Itoa(j)+"]", f.Index(j).Interface().(lipgloss.TerminalColor))
				}
			default:
				check(name, f.Interface().(lipgloss.TerminalColor))
			}
		}
		if checked < 20 {
			t.Fatalf("%s: only %d colours checked", p, checked)
		}
	}
}

// The check fails where it should: the grey the default palette drew free
// pages with before is 2.53:1 on black.
func TestContrastOfKnownPair(t *testing.T) {
	if r := contrast(t, "#484F58", "#000000"); r > 2.6 || r < 2.4 {
		t.Fatalf("contrast of #484F58 on black: %.2f, want 2.53", r)
	}
	if r := contrast(t, "#FFFFFF", "#000000"); math.Abs(r-21) > 0.01 {
		t.Fatalf("white on black: %.2f, want 21", r)
	}
}

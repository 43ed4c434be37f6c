package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"image/color"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/x/cellbuf"
)

// Pictures of the interface: a screen as the interface draws it (its View,
// ANSI escapes and all) parsed into cells by charmbracelet's cell buffer,
// the terminal emulation Bubble Tea's own renderer uses, and written out as
// SVG (text as text) or as an asciicast v2 recording.

// screenColors are the colours of cells that set none: the terminal's own
// foreground and background, which a picture has to choose.
type screenColors struct {
	fg, bg string
}

// darkScreen is a dark terminal, as the interface's palettes assume.
var darkScreen = screenColors{fg: "#d8d8d8", bg: "#16181d"}

// parseScreen lays a view out on a w x h grid of cells.
func parseScreen(view string, w, h int) *cellbuf.Buffer {
	buf := cellbuf.NewBuffer(w, h)
	cellbuf.SetContent(buf, view)
	return buf
}

// cellStyle is what the SVG needs of a cell's style.
type cellStyle struct {
	fg, bg                                string
	bold, faint, italic, underline, cross bool
}

func styleOf(c *cellbuf.Cell, def screenColors) cellStyle {
	if c == nil {
		return cellStyle{fg: def.fg, bg: def.bg}
	}
	st := c.Style
	s := cellStyle{fg: hexColor(st.Fg, def.fg), bg: hexColor(st.Bg, def.bg),
		bold: st.Attrs&cellbuf.BoldAttr != 0, faint: st.Attrs&cellbuf.FaintAttr != 0,
		italic: st.Attrs&cellbuf.ItalicAttr != 0, underline: st.UlStyle != cellbuf.NoUnderline,
		cross: st.Attrs&cellbuf.StrikethroughAttr != 0}
	if st.Attrs&cellbuf.ReverseAttr != 0 {
		s.fg, s.bg = s.bg, s.fg
	}
	return s
}

func hexColor(c color.Color, def string) string {
	if c == nil {
		return def
	}
	r, g, b, _ := c.RGBA()
	return fmt.Sprintf("#%02x%02x%02x", r>>8, g>>8, b>>8)
}

// SVG geometry: a cell is cellW x cellH user units, the font 14 units.
const (
	svgFont  = 14
	svgCellW = 8.4
	svgCellH = 18
	svgPad   = 10
)

// writeSVG writes a screen as an SVG: a rectangle per run of a background
// colour, a text element per run of one style, each run stretched to its
// cells (textLength) so that columns line up whatever monospace font the
// viewer has. title becomes the SVG's <title>.
func writeSVG(out io.Writer, buf *cellbuf.Buffer, title string, def screenColors) error {
	w, h := buf.Width(), buf.Height()
	bw := bufio.NewWriter(out)
	pw := float64(w)*svgCellW + 2*svgPad
	ph := float64(h)*svgCellH + 2*svgPad
	fmt.Fprintf(bw, `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="%s" height="%s" viewBox="0 0 %s %s" font-family="'DejaVu Sans Mono', 'Cascadia Mono', Menlo, Consolas, monospace" font-size="%d">
<title>%s</title>
<rect width="100%%" height="100%%" fill="%s" rx="6"/>
`, num(pw), num(ph), num(pw), num(ph), svgFont, xmlText(title), def.bg)
	for y := 0; y < h; y++ {
		// Backgrounds.
		for x := 0; x < w; {
			s := styleOf(buf.Cell(x, y), def)
			end := x + 1
			for end < w && styleOf(buf.Cell(end, y), def).bg == s.bg {
				end++
			}
			if s.bg != def.bg {
				fmt.Fprintf(bw, `<rect x="%s" y="%s" width="%s" height="%d" fill="%s"/>`+"\n",
					num(svgPad+float64(x)*svgCellW), num(svgPad+float64(y)*svgCellH), num(float64(end-x)*svgCellW), svgCellH, s.bg)
			}
			x = end
		}
		// Text, a run per style; runs of blanks are left out.
		for x := 0; x < w; {
			s := styleOf(buf.Cell(x, y), def)
			var text strings.Builder
			end, cells := x, 0
			for end < w {
				c := buf.Cell(end, y)
				if styleOf(c, def) != s {
					break
				}
				if c != nil {
					text.WriteString(c.String())
				}
				if c != nil {
					cells += c.Width
				}
				end++
			}
			// Blanks at the end of a run show nothing: leave them out.
			t := text.String()
			trimmed := strings.TrimRight(t, " ")
			if strings.TrimSpace(trimmed) != "" {
				writeSVGText(bw, x, y, cells-(len(t)-len(trimmed)), trimmed, s)
			}
			x = end
		}
	}
	bw.WriteString("</svg>\n")
	return bw.Flush()
}

func writeSVGText(bw *bufio.Writer, x, y, cells int, t string, s cellStyle) {
	fmt.Fprintf(bw, `<text x="%s" y="%s" textLength="%s" lengthAdjust="spacingAndGlyphs" xml:space="preserve" fill="%s"`,
		num(svgPad+float64(x)*svgCellW), num(svgPad+float64(y)*svgCellH+svgCellH*0.75), num(float64(cells)*svgCellW), s.fg)
	if s.bold {
		bw.WriteString(` font-weight="bold"`)
	}
	if s.italic {
		bw.WriteString(` font-style="italic"`)
	}
	if s.faint {
		bw.WriteString(` opacity="0.6"`)
	}
	switch {
	case s.underline && s.cross:
		bw.WriteString(` text-decoration="underline line-through"`)
	case s.underline:
		bw.WriteString(` text-decoration="underline"`)
	case s.cross:
		bw.WriteString(` text-decoration="line-through"`)
	}
	fmt.Fprintf(bw, ">%s</text>\n", xmlText(t))
}

// num writes a coordinate without needless decimals.
func num(f float64) string {
	s := strconv.FormatFloat(f, 'f', 2, 64)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// xmlText escapes text for XML, dropping what XML 1.0 cannot hold.
func xmlText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '&':
			b.WriteString("&amp;")
		case r == '"':
			b.WriteString("&quot;")
		case r < 0x20 && r != '\t' && r != '\n' && r != '\r', r == 0xfffe, r == 0xffff, r >= 0xd800 && r < 0xe000:
			b.WriteRune('\ufffd')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// castWriter writes an asciicast v2 recording
// (https://docs.asciinema.org/manual/asciicast/v2/): a JSON header line,
// then an output event per frame, [seconds, "o", text].
type castWriter struct {
	bw   *bufio.Writer
	err  error
	last float64
}

func newCastWriter(out io.Writer, w, h int, title string) *castWriter {
	c := &castWriter{bw: bufio.NewWriter(out), last: -1}
	header := struct {
		Version int               `json:"version"`
		Width   int               `json:"width"`
		Height  int               `json:"height"`
		Title   string            `json:"title,omitempty"`
		Env     map[string]string `json:"env"`
	}{2, w, h, title, map[string]string{"TERM": "xterm-256color"}}
	c.line(header)
	return c
}

func (c *castWriter) line(v any) {
	if c.err != nil {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		c.err = err
		return
	}
	c.bw.Write(b)
	c.err = c.bw.WriteByte('\n')
}

// frame writes a whole screen at time at: home, clear, the view with its
// lines ended as a terminal needs (CR LF). Times must not go backwards.
func (c *castWriter) frame(at time.Duration, view string) {
	t := at.Seconds()
	if t < c.last && c.err == nil {
		c.err = fmt.Errorf("asciicast: frame at %v after one at %vs", at, c.last)
	}
	c.last = t
	c.line([]any{json.Number(strconv.FormatFloat(t, 'f', -1, 64)), "o",
		"\x1b[H\x1b[2J" + strings.ReplaceAll(view, "\n", "\r\n")})
}

func (c *castWriter) close() error {
	if c.err != nil {
		return c.err
	}
	return c.bw.Flush()
}

package ui

import (
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/allocviz/allocviz/heapview"
)

// Every cut the interface makes goes through truncate or cutStyled, so
// text that does not fit ends with "…" wherever it is drawn.

// truncate cuts plain (unstyled) text to width cells, ending with "…"
// when it had to cut; only the first line is kept.
func truncate(s string, width int) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if width <= 0 {
		return ""
	}
	if lipgloss.Width(s) <= width {
		return s
	}
	return ansi.Truncate(s, width, "…")
}

// cutStyled cuts a styled line to width cells, ANSI-aware, ending with
// "…" when it had to cut.
func cutStyled(l string, width int) string {
	if width <= 0 {
		return ""
	}
	if lipgloss.Width(l) <= width {
		return l
	}
	return ansi.Truncate(l, width, "…")
}

// padRight pads a rendered (possibly styled) line with spaces to width
// cells; it does not cut.
func padRight(s string, width int) string {
	if w := lipgloss.Width(s); w < width {
		return s + strings.Repeat(" ", width-w)
	}
	return s
}

// fitLine cuts (with "…") or pads a styled line to exactly width cells.
func fitLine(l string, width int) string {
	return padRight(cutStyled(l, width), width)
}

// messageLines is msg wrapped to width in at most lines lines, each drawn
// in style; when it does not all fit, the last line takes the rest and is
// cut with "…". "" for no message.
func messageLines(msg string, style lipgloss.Style, width, lines int) string {
	if msg == "" || lines <= 0 {
		return ""
	}
	ls := heapview.Wrap(msg, width)
	if len(ls) > lines {
		ls = append(ls[:lines-1], truncate(strings.Join(ls[lines-1:], " "), width))
	}
	for i, l := range ls {
		ls[i] = style.Render(l)
	}
	return strings.Join(ls, "\n")
}

// fitLines makes a block exactly height lines of exactly width cells:
// longer lines are cut with "…", missing lines are blank.
func fitLines(lines []string, width, height int) string {
	if height <= 0 {
		return ""
	}
	var b strings.Builder
	for i := 0; i < height; i++ {
		if i > 0 {
			b.WriteByte('\n')
		}
		if i < len(lines) {
			b.WriteString(fitLine(lines[i], width))
		} else {
			b.WriteString(strings.Repeat(" ", width))
		}
	}
	return b.String()
}

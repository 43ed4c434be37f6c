package ui

import (
	"strings"

	"github.com/charmbracelet/lipgloss"
)

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
	var b strings.Builder
	w := 0
	for _, r := range s {
		rw := lipgloss.Width(string(r))
		if w+rw > width-1 {
			break
		}
		b.WriteRune(r)
		w += rw
	}
	b.WriteString("…")
	return b.String()
}

// padRight pads a rendered (possibly styled) line with spaces to width
// cells; it does not cut.
func padRight(s string, width int) string {
	if w := lipgloss.Width(s); w < width {
		return s + strings.Repeat(" ", width-w)
	}
	return s
}

// fitLine cuts (ANSI-aware) or pads a styled line to exactly width cells.
func fitLine(l string, width int) string {
	w := lipgloss.Width(l)
	if w > width {
		l = lipgloss.NewStyle().MaxWidth(width).Render(l)
		w = lipgloss.Width(l)
	}
	return l + strings.Repeat(" ", max(0, width-w))
}

// fitLines makes a block exactly height lines of at most width cells:
// longer lines are cut (ANSI-aware), missing lines are blank.
func fitLines(lines []string, width, height int) string {
	if height <= 0 {
		return ""
	}
	cut := lipgloss.NewStyle().MaxWidth(width)
	var b strings.Builder
	for i := 0; i < height; i++ {
		if i > 0 {
			b.WriteByte('\n')
		}
		if i < len(lines) {
			l := lines[i]
			if lipgloss.Width(l) > width {
				l = cut.Render(l)
			}
			b.WriteString(padRight(l, width))
		} else {
			b.WriteString(strings.Repeat(" ", width))
		}
	}
	return b.String()
}

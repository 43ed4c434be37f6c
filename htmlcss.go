package main

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
)

// styleCSS writes a lipgloss style (the interface's style of a span) as
// CSS declarations: its colours for a dark page or, for print, a light one
// (an adaptive colour has both), reverse video as swapped colours, bold,
// faint and underline.
func styleCSS(st lipgloss.Style, dark bool) string {
	fg, bg := cssColor(st.GetForeground(), dark), cssColor(st.GetBackground(), dark)
	if st.GetReverse() {
		if fg == "" {
			fg = "var(--fg)"
		}
		if bg == "" {
			bg = "var(--bg)"
		}
		fg, bg = bg, fg
	}
	var d []string
	if fg != "" {
		d = append(d, "color: "+fg)
	}
	if bg != "" {
		d = append(d, "background: "+bg)
	}
	if st.GetBold() {
		d = append(d, "font-weight: bold")
	}
	if st.GetFaint() {
		d = append(d, "opacity: 0.6")
	}
	if st.GetItalic() {
		d = append(d, "font-style: italic")
	}
	switch {
	case st.GetUnderline() && st.GetStrikethrough():
		d = append(d, "text-decoration: underline line-through")
	case st.GetUnderline():
		d = append(d, "text-decoration: underline")
	case st.GetStrikethrough():
		d = append(d, "text-decoration: line-through")
	}
	return strings.Join(d, "; ")
}

// cssColor writes a terminal colour as CSS, "" for the page's default.
func cssColor(c lipgloss.TerminalColor, dark bool) string {
	switch c := c.(type) {
	case lipgloss.AdaptiveColor:
		if dark {
			return cssColor(lipgloss.Color(c.Dark), dark)
		}
		return cssColor(lipgloss.Color(c.Light), dark)
	case lipgloss.CompleteAdaptiveColor:
		if dark {
			return cssColor(lipgloss.Color(c.Dark.TrueColor), dark)
		}
		return cssColor(lipgloss.Color(c.Light.TrueColor), dark)
	case lipgloss.CompleteColor:
		return cssColor(lipgloss.Color(c.TrueColor), dark)
	case lipgloss.Color:
		s := string(c)
		if s == "" {
			return ""
		}
		if strings.HasPrefix(s, "#") {
			return s
		}
		var n int
		if _, err := fmt.Sscan(s, &n); err == nil && n >= 0 && n < 256 {
			r, g, b, _ := ansi.IndexedColor(n).RGBA()
			return fmt.Sprintf("#%02x%02x%02x", r>>8, g>>8, b>>8)
		}
	}
	return ""
}

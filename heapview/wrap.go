package heapview

import (
	"strings"
	"unicode/utf8"
)

// Wrap breaks s into lines of at most n cells, one rune a cell. It breaks
// only at spaces, and never between a number and its unit ("300 B",
// "4 KiB"), so an address, a number or a call is never split across
// lines; a word wider than a whole line is cut, ending with "…". Spaces
// inside a line are kept as they are (two spaces stay two); a break
// swallows the spaces it replaces. Indentation at the start of s is kept
// on the first line. Each line of a text of several lines (a SLUB report)
// wraps on its own.
func Wrap(s string, n int) []string {
	if n <= 0 {
		return nil
	}
	if strings.Contains(s, "\n") {
		var out []string
		for _, line := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
			out = append(out, Wrap(line, n)...)
		}
		return out
	}
	indent := len(s) - len(strings.TrimLeft(s, " "))
	words := wrapWords(s[indent:])
	var out []string
	var line strings.Builder
	width := 0
	if indent > 0 && indent < n {
		line.WriteString(s[:indent])
		width = indent
	}
	empty := true // the line holds no word yet
	for _, w := range words {
		ww := utf8.RuneCountInString(w.text)
		switch {
		case empty:
		case width+w.gap+ww <= n:
			line.WriteString(strings.Repeat(" ", w.gap))
			line.WriteString(w.text)
			width += w.gap + ww
			continue
		default:
			out = append(out, line.String())
			line.Reset()
			width = 0
		}
		if ww > n-width {
			w.text, ww = cut(w.text, n-width), n-width
		}
		line.WriteString(w.text)
		width += ww
		empty = false
	}
	return append(out, line.String())
}

// wrapWord is a word and the spaces before it.
type wrapWord struct {
	gap  int
	text string
}

// wrapWords splits s at runs of spaces, keeping a number and the unit
// after it together as one word.
func wrapWords(s string) []wrapWord {
	var out []wrapWord
	gap := 0
	for len(s) > 0 {
		if s[0] == ' ' {
			gap++
			s = s[1:]
			continue
		}
		end := strings.IndexByte(s, ' ')
		if end < 0 {
			end = len(s)
		}
		w := s[:end]
		if k := len(out) - 1; k >= 0 && isUnit(w) && isNumber(out[k].text) {
			out[k].text += strings.Repeat(" ", gap) + w
		} else {
			out = append(out, wrapWord{gap: gap, text: w})
		}
		gap = 0
		s = s[end:]
	}
	return out
}

// isNumber reports whether w is a number as the explanations write them:
// "300", "4.5", "(128", "~2".
func isNumber(w string) bool {
	w = strings.TrimLeft(w, "([~≈<>=+-")
	return w != "" && w[0] >= '0' && w[0] <= '9'
}

// isUnit reports whether w is a unit of bytes, maybe with punctuation
// after it ("B,", "KiB)").
func isUnit(w string) bool {
	switch strings.TrimRight(w, ",.;:)]") {
	case "B", "KiB", "MiB", "GiB", "TiB", "bytes":
		return true
	}
	return false
}

package ui

import (
	"strings"

	"github.com/charmbracelet/lipgloss"
)

// codeOf returns the escape sequences a style puts around text, found by
// rendering a sentinel once; text styled this way costs concatenations
// only. The style must not pad, align or size its text.
func codeOf(st lipgloss.Style) spanCode {
	out := st.Render(spanSentinel)
	i := strings.Index(out, spanSentinel)
	if i < 0 {
		return spanCode{}
	}
	return spanCode{pre: out[:i], post: out[i+len(spanSentinel):]}
}

// wrap returns s inside the escape sequences.
func (c spanCode) wrap(s string) string { return c.pre + s + c.post }

// framer draws pane frames: a rounded border with the title in its top
// edge and the padding of Styles.Pane. It builds each line by
// concatenation, since every pane already renders lines of exactly its
// inner width; lipgloss would measure every line again.
type framer struct {
	border      lipgloss.Border
	padL, padR  int
	padT, padB  int
	edge, title [2]spanCode // [0] normal, [1] focused
}

func newFramer(st Styles) framer {
	f := framer{
		border: st.Pane.GetBorderStyle(),
		padL:   st.Pane.GetPaddingLeft(), padR: st.Pane.GetPaddingRight(),
		padT: st.Pane.GetPaddingTop(), padB: st.Pane.GetPaddingBottom(),
	}
	f.edge[0] = codeOf(lipgloss.NewStyle().Foreground(st.Pane.GetBorderTopForeground()))
	f.edge[1] = codeOf(lipgloss.NewStyle().Foreground(st.PaneFocused.GetBorderTopForeground()))
	f.title[0] = codeOf(st.Title)
	f.title[1] = codeOf(st.TitleActive)
	return f
}

// inner returns the content size of a frame of outer size b.
func (f framer) inner(b box) (int, int) {
	return max(0, b.w-2-f.padL-f.padR), max(0, b.h-2-f.padT-f.padB)
}

// lines draws content in a frame of outer size b: exactly b.h lines of
// exactly b.w cells. Content lines must be exactly the inner width wide
// (textPane keeps them so); missing lines are blank.
func (f framer) lines(title string, content []string, b box, focused bool) []string {
	if b.w < 4 || b.h < 2 {
		return nil
	}
	i := 0
	if focused {
		i = 1
	}
	edge, tc := f.edge[i], f.title[i]
	iw, ih := f.inner(b)
	out := make([]string, 0, b.h)

	t := ""
	if title != "" && b.w > 6 {
		t = " " + truncate(title, b.w-6) + " "
	}
	rest := b.w - 3 - lipgloss.Width(t)
	out = append(out, edge.wrap(f.border.TopLeft+f.border.Top)+tc.wrap(t)+
		edge.wrap(strings.Repeat(f.border.Top, max(0, rest))+f.border.TopRight))

	left := edge.wrap(f.border.Left) + strings.Repeat(" ", f.padL)
	right := strings.Repeat(" ", f.padR) + edge.wrap(f.border.Right)
	blank := left + strings.Repeat(" ", iw) + right
	for range f.padT {
		out = append(out, blank)
	}
	for k := 0; k < ih; k++ {
		if k >= len(content) {
			out = append(out, blank)
			continue
		}
		out = append(out, left+content[k]+right)
	}
	for range f.padB {
		out = append(out, blank)
	}
	out = append(out, edge.wrap(f.border.BottomLeft+strings.Repeat(f.border.Bottom, b.w-2)+f.border.BottomRight))
	return out
}

package ui

import (
	"fmt"
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

// framer draws pane frames: the border of Styles.Pane with the title in
// its top edge (Styles.PaneFocused's border for the focused pane, which
// shows without colour too), the padding of Styles.Pane, and in the
// bottom edge what is out of view. It builds each line by concatenation,
// since every pane already renders lines of exactly its inner width;
// lipgloss would measure every line again.
type framer struct {
	border      [2]lipgloss.Border // [0] normal, [1] focused
	padL, padR  int
	padT, padB  int
	edge, title [2]spanCode // [0] normal, [1] focused
	note        spanCode    // what is out of view, in the bottom edge
}

func newFramer(st Styles) framer {
	f := framer{
		border: [2]lipgloss.Border{st.Pane.GetBorderStyle(), st.PaneFocused.GetBorderStyle()},
		padL:   st.Pane.GetPaddingLeft(), padR: st.Pane.GetPaddingRight(),
		padT: st.Pane.GetPaddingTop(), padB: st.Pane.GetPaddingBottom(),
	}
	f.edge[0] = codeOf(st.plain().Foreground(st.Pane.GetBorderTopForeground()))
	f.edge[1] = codeOf(st.plain().Foreground(st.PaneFocused.GetBorderTopForeground()))
	f.title[0] = codeOf(st.Title)
	f.title[1] = codeOf(st.TitleActive)
	f.note = codeOf(st.Muted)
	return f
}

// inner returns the content size of a frame of outer size b.
func (f framer) inner(b box) (int, int) {
	return max(0, b.w-2-f.padL-f.padR), max(0, b.h-2-f.padT-f.padB)
}

// lines draws content in a frame of outer size b: exactly b.h lines of
// exactly b.w cells. Content lines must be exactly the inner width wide
// (textPane keeps them so); missing lines are blank. above and below are
// the lines of content out of view, which the bottom edge counts ("… ↑ 2
// above · ↓ 14 more").
func (f framer) lines(title string, content []string, b box, focused bool, above, below int) []string {
	if b.w < 4 || b.h < 2 {
		return nil
	}
	i := 0
	if focused {
		i = 1
	}
	bd, edge, tc := f.border[i], f.edge[i], f.title[i]
	iw, ih := f.inner(b)
	out := make([]string, 0, b.h)

	t := ""
	if title != "" && b.w > 6 {
		t = " " + truncate(title, b.w-6) + " "
	}
	rest := b.w - 3 - lipgloss.Width(t)
	out = append(out, edge.wrap(bd.TopLeft+bd.Top)+tc.wrap(t)+
		edge.wrap(strings.Repeat(bd.Top, max(0, rest))+bd.TopRight))

	left := edge.wrap(bd.Left) + strings.Repeat(" ", f.padL)
	right := strings.Repeat(" ", f.padR) + edge.wrap(bd.Right)
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
	note := overflowNote(above, below)
	if note != "" {
		note = " " + truncate(note, max(0, b.w-6)) + " "
	}
	fill := max(0, b.w-3-lipgloss.Width(note))
	out = append(out, edge.wrap(bd.BottomLeft+strings.Repeat(bd.Bottom, fill))+f.note.wrap(note)+
		edge.wrap(strings.Repeat(bd.Bottom, b.w-2-fill-lipgloss.Width(note))+bd.BottomRight))
	return out
}

// overflowNote says what a pane leaves out: "… ↓ 14 more", "… ↑ 2 above",
// or both; "" when everything is in view. A negative count means some
// lines, not counted.
func overflowNote(above, below int) string {
	var parts []string
	switch {
	case above > 0:
		parts = append(parts, fmt.Sprintf("↑ %d above", above))
	case above < 0:
		parts = append(parts, "↑ more above")
	}
	switch {
	case below > 0:
		parts = append(parts, fmt.Sprintf("↓ %d more", below))
	case below < 0:
		parts = append(parts, "↓ more")
	}
	if len(parts) == 0 {
		return ""
	}
	return "… " + strings.Join(parts, " · ")
}

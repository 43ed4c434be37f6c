package ui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/lipgloss"

	"github.com/allocviz/allocviz/heapview"
)

// helpNotes follow the full help's columns: what the keys take that a
// key's name cannot say.
var helpNotes = []string{
	"# takes a step (12), an address (0xffff888000102000) or a pfn (pfn 0x102); ] and [ go by the script's say() and check() steps.",
	"The mouse wheel scrolls the pane under it; a click focuses a pane. Shift and drag selects text in most terminals.",
}

// fullHelpView is the full help, shown in place of the panes: every
// binding of the key map in the columns of keyMap.helpGroups, flowed into
// as many columns as the width takes, and notes. Bindings that work only
// in another context are listed under it. It is built from the key map, so
// it never disagrees with the keys.
func (m Model) fullHelpView(width, height int) string {
	out := m.fullHelpLines(width, height)
	top := max(0, min(m.helpTop, len(out)-height))
	view := out[top:min(len(out), top+height)]
	if below := len(out) - top - height; below > 0 {
		view[len(view)-1] = m.styles.Muted.Render(fmt.Sprintf("… ↓ %d more lines (pgdn, ↓)", below))
	}
	if top > 0 {
		view[0] = m.styles.Muted.Render(fmt.Sprintf("… ↑ %d lines above (pgup, ↑)", top))
	}
	return fitLines(view, width, height)
}

// scrollHelp scrolls the full help d lines, within its length.
func (m *Model) scrollHelp(d int) {
	n := len(m.fullHelpLines(m.width, m.lay.bodyH))
	m.helpTop = max(0, min(m.helpTop+d, n-m.lay.bodyH))
}

// fullHelpLines lays out the full help for a body of width x height.
func (m Model) fullHelpLines(width, height int) []string {
	type entry struct{ key, desc string }
	kw, dw := 0, 0
	groups := append(m.keys.helpGroups(), m.moreHelp...)
	all := make([][]entry, len(groups))
	for i, g := range groups {
		for _, b := range g.keys {
			h := b.Help()
			all[i] = append(all[i], entry{h.Key, h.Desc})
			kw = max(kw, lipgloss.Width(h.Key))
			dw = max(dw, lipgloss.Width(h.Desc))
		}
	}
	colW := kw + 2 + dw
	for _, g := range groups {
		colW = max(colW, lipgloss.Width(g.title))
	}
	var blocks [][]string
	for i, es := range all {
		lines := []string{m.styles.Emph.Render(fitLine(groups[i].title, colW))}
		for _, e := range es {
			lines = append(lines, m.styles.Accent.Render(fmt.Sprintf("%-*s", kw, e.key))+"  "+
				m.styles.Muted.Render(fmt.Sprintf("%-*s", colW-kw-2, e.desc)))
		}
		blocks = append(blocks, lines)
	}
	var notes []string
	for _, n := range helpNotes {
		for _, l := range heapview.Wrap(n, width) {
			notes = append(notes, m.styles.Muted.Render(l))
		}
	}
	// Flow the blocks into columns, top to bottom, then left to right,
	// each column as tall as the body (less the notes) allows; what does
	// not fit scrolls.
	colH := max(height-len(notes)-1, 8)
	gap := 3
	ncols := max(1, (width+gap)/(colW+gap))
	var cols [][]string
	var cur []string
	for _, bl := range blocks {
		if len(cur) > 0 && len(cur)+1+len(bl) > colH && len(cols) < ncols-1 {
			cols = append(cols, cur)
			cur = nil
		}
		if len(cur) > 0 {
			cur = append(cur, "")
		}
		cur = append(cur, bl...)
	}
	cols = append(cols, cur)
	var out []string
	for r := 0; r < maxLen(cols); r++ {
		var b strings.Builder
		for c, col := range cols {
			if c > 0 {
				b.WriteString(strings.Repeat(" ", gap))
			}
			if r < len(col) {
				b.WriteString(fitLine(col[r], colW))
			} else {
				b.WriteString(strings.Repeat(" ", colW))
			}
		}
		out = append(out, b.String())
	}
	out = append(out, "")
	return append(out, notes...)
}

func maxLen(cols [][]string) int {
	n := 0
	for _, c := range cols {
		n = max(n, len(c))
	}
	return n
}

// footerView is the footer: the keys that work now, the focused pane's
// own among them, as many as fit; the full help takes the panes' place.
func (m Model) footerView() string {
	if m.mode == modePicker {
		return ""
	}
	keys := m.footerKeys()
	// Leave out the least needed keys (the last) until the line fits;
	// help.ShortHelpView cuts what still does not, with "…".
	wide := m.help
	wide.Width = 0
	for len(keys) > 3 && lipgloss.Width(wide.ShortHelpView(keys)) > m.width {
		keys = keys[:len(keys)-1]
	}
	return m.help.ShortHelpView(keys)
}

// footerKeys returns the footer's keys, most needed first: stepping and
// help (the way to every other key, so never left out), the focused
// pane's keys, quit, then the rest.
func (m Model) footerKeys() []key.Binding {
	k := m.keys
	if m.mode != modeStep {
		return k.ShortHelp()
	}
	keys := []key.Binding{k.Next, k.Prev, k.Help}
	keys = append(keys, k.paneKeys(m.focus)...)
	return append(keys, k.Quit, k.NextChapter, k.Play, k.FocusNext, k.Prompt)
}

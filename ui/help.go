package ui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/lipgloss"
)

// helpTitles name the columns of keyMap.FullHelp, in order.
func helpTitles() []string {
	return []string{"Stepping", "Replay and bookmarks", "Panes", "Inspector cursor", "Commands"}
}

// fullHelpView is the full help, shown in place of the panes: every live
// binding of the key map by group, flowed into as many columns as the
// width takes. It is built from keyMap.FullHelp, so it never disagrees
// with the keys.
func (m Model) fullHelpView(width, height int) string {
	type entry struct{ key, desc string }
	var blocks [][]string
	groups := m.keys.FullHelp()
	titles := helpTitles()
	kw, dw := 0, 0
	var all [][]entry
	for _, g := range groups {
		var es []entry
		for _, b := range g {
			if !b.Enabled() {
				continue
			}
			h := b.Help()
			es = append(es, entry{h.Key, h.Desc})
			kw = max(kw, lipgloss.Width(h.Key))
			dw = max(dw, lipgloss.Width(h.Desc))
		}
		all = append(all, es)
	}
	colW := kw + 2 + dw
	for i, es := range all {
		if len(es) == 0 {
			continue
		}
		title := ""
		if i < len(titles) {
			title = titles[i]
		}
		lines := []string{m.styles.Emph.Render(fitLine(title, colW))}
		for _, e := range es {
			lines = append(lines, m.styles.Accent.Render(fmt.Sprintf("%-*s", kw, e.key))+"  "+
				m.styles.Muted.Render(fmt.Sprintf("%-*s", dw, e.desc)))
		}
		blocks = append(blocks, lines)
	}
	// Flow the blocks into columns, top to bottom, then left to right.
	gap := 4
	ncols := max(1, (width+gap)/(colW+gap))
	var cols [][]string
	var cur []string
	for _, bl := range blocks {
		if len(cur) > 0 && len(cur)+1+len(bl) > height && len(cols) < ncols-1 {
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
	for r := 0; r < height; r++ {
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
	return fitLines(out, width, height)
}

package ui

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/charmbracelet/lipgloss"
)

// View draws the screen from the model; it changes nothing.
func (m Model) View() string {
	if !m.ready {
		return "allocviz: starting…"
	}
	if m.tooSmall() {
		return m.tooSmallView()
	}
	var b strings.Builder
	b.WriteString(m.statusView())
	b.WriteByte('\n')
	if m.mode == modePicker {
		b.WriteString(m.picker.View())
		return b.String()
	}
	if m.lay.tabbed() {
		b.WriteString(m.tabsView())
		b.WriteByte('\n')
	}
	if m.help.ShowAll {
		b.WriteString(m.fullHelpView(m.width, m.lay.bodyH))
	} else {
		b.WriteString(m.quizOverlay(m.bodyView()))
	}
	b.WriteByte('\n')
	b.WriteString(m.legend)
	b.WriteByte('\n')
	b.WriteString(m.commandView())
	b.WriteByte('\n')
	b.WriteString(m.footerView())
	return b.String()
}

// tooSmallView says what size is needed, centred.
func (m Model) tooSmallView() string {
	msg := fmt.Sprintf("terminal too small (need %dx%d)\nthis one is %dx%d", MinWidth, MinHeight, m.width, m.height)
	return lipgloss.Place(m.width, m.height, lipgloss.Center, lipgloss.Center, m.styles.StatusErr.Render(msg))
}

// statusView is the top bar: the scenario, step i of N, playback, the
// machine and its free memory.
func (m Model) statusView() string {
	st := m.styles
	left := " allocviz"
	if m.name != "" {
		left += " · " + filepath.Base(m.name)
	}
	var mid string
	switch {
	case m.loading != "":
		mid = m.loading + "…"
	case m.src == nil:
		mid = "nothing loaded"
	default:
		mid = fmt.Sprintf("step %d of %d", m.step, m.lastStep())
		if m.playing {
			mid += fmt.Sprintf(" ▶ %s", speedName(m.speed))
		} else {
			mid += " ⏸"
		}
		if m.isMarked(m.step) {
			mid += " ★"
		}
		if m.live {
			mid += " · running…"
		}
		if m.diffSum != "" {
			mid += "  " + m.diffSum
		}
	}
	// Drop what matters least until it fits: the long machine summary,
	// the program's name, the machine.
	name := " " + filepath.Base(m.name)
	lefts := []string{left, left, name, name}
	var rights []string
	if m.src != nil {
		rights = []string{m.src.machineSummary(false) + " ", m.src.machineSummary(true) + " ", m.src.machineSummary(true) + " ", ""}
	} else {
		rights = []string{"", "", "", ""}
	}
	i := 0
	for i < len(lefts)-1 && lipgloss.Width(lefts[i])+lipgloss.Width(mid)+lipgloss.Width(rights[i])+4 > m.width {
		i++
	}
	left, right := lefts[i], rights[i]
	gap := m.width - lipgloss.Width(left) - lipgloss.Width(mid) - lipgloss.Width(right) - 4
	line := st.BarKey.Render(left) + st.Bar.Render("  "+mid+"  ")
	line += st.Bar.Render(strings.Repeat(" ", max(0, gap)) + right)
	return lipgloss.NewStyle().MaxWidth(m.width).Render(line)
}

// speedName says how fast replay goes.
func speedName(i int) string {
	d := speeds[i]
	if i == len(speeds)-1 {
		return "max"
	}
	return fmt.Sprintf("%.4g/s", 1/d.Seconds())
}

func (m Model) isMarked(step int) bool {
	for _, s := range m.marks {
		if s == step {
			return true
		}
	}
	return false
}

// tabsView lists the panes, the focused one marked (the layouts that do
// not show every pane).
func (m Model) tabsView() string {
	var parts []string
	for p := paneID(0); p < numPanes; p++ {
		if p == m.focus {
			parts = append(parts, m.styles.TabActive.Render(p.String()))
		} else {
			parts = append(parts, m.styles.Tab.Render(p.String()))
		}
	}
	hint := m.styles.Subtle.Render("  tab ⇥")
	return lipgloss.NewStyle().MaxWidth(m.width).Render(strings.Join(parts, "") + hint)
}

// commandView is the two-line command area: the prompt or jump input
// with its error or hint, else the latest notice.
func (m Model) commandView() string {
	var s string
	switch m.mode {
	case modePrompt:
		s = m.prompt.Render(m.width, m.promptHint())
	case modeJump:
		s = m.jump.View()
		if m.jumpErr != "" {
			s += "\n" + m.styles.StatusErr.Render(truncate(m.jumpErr, m.width))
		}
	default:
		switch {
		case m.notice != "" && m.noticeErr:
			s = m.styles.StatusErr.Render(truncate(m.notice, m.width))
		case m.notice != "":
			s = m.styles.Notice.Render(truncate(m.notice, m.width))
		}
	}
	return fitLines(strings.Split(s, "\n"), m.width, commandLines)
}

// promptHint tells the user what running a statement here will do.
func (m Model) promptHint() string {
	switch {
	case m.loading != "":
		return m.loading + "…"
	case m.live:
		return "the script is still running: a statement can run once it has ended"
	case m.src != nil && m.step < m.lastStep():
		return fmt.Sprintf("viewing step %d of %d: a statement continues from here and discards steps %d to %d",
			m.step, m.lastStep(), m.step+1, m.lastStep())
	case m.notice != "":
		return m.notice
	}
	return "a Starlark statement runs as the next step, e.g. p = kmalloc(100) or kfree(p)"
}

// footerView is the short help; the full help takes the panes' place.
func (m Model) footerView() string {
	if m.mode == modePicker {
		return ""
	}
	return m.help.ShortHelpView(m.keys.ShortHelp())
}

// bodyView lays out the panes. Every pane draws exactly its box, so the
// rows are joined line by line without measuring anything.
func (m Model) bodyView() string {
	l := m.lay
	var b strings.Builder
	writeRow := func(blocks [][]string, h int) {
		for i := 0; i < h; i++ {
			if b.Len() > 0 {
				b.WriteByte('\n')
			}
			for _, bl := range blocks {
				if i < len(bl) {
					b.WriteString(bl[i])
				}
			}
		}
	}
	for i, row := range l.rows {
		blocks := make([][]string, 0, len(row))
		for _, p := range row {
			switch p {
			case paneInspector:
				blocks = append(blocks, m.inspectorLines())
			case paneWhy:
				blocks = append(blocks, m.whyLines())
			default:
				blocks = append(blocks, m.paneLines(p))
			}
		}
		writeRow(blocks, l.rowH[i])
	}
	return b.String()
}

// paneLines draws pane p in its box.
func (m Model) paneLines(p paneID) []string {
	b := m.lay.panes[p]
	if !b.visible() {
		return nil
	}
	var pane *textPane
	switch p {
	case panePages:
		pane = &m.pages.textPane
	case paneSlabs:
		pane = &m.slabs.textPane
	case paneVmalloc:
		pane = &m.vm.textPane
	case paneRealloc:
		pane = &m.realloc.textPane
	case paneEvents:
		pane = &m.events.textPane
	}
	return m.frames.lines(pane.Title(), pane.Lines(), b, p == m.focus)
}

// inspectorLines draws the inspector in its box.
func (m Model) inspectorLines() []string {
	if !m.lay.inspector.visible() {
		return nil
	}
	return m.frames.lines(m.inspector.Title(), m.inspector.Lines(), m.lay.inspector, m.mode == modeInspect)
}

// whyLines draws the narration strip: the current step
// and why it did what it did.
func (m Model) whyLines() []string {
	return m.frames.lines(m.events.WhyTitle(), m.events.why, m.lay.why, false)
}

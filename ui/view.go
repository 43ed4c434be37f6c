package ui

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/charmbracelet/lipgloss"

	"github.com/allocviz/allocviz/allocator"
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
	if m.mode != modePicker && m.timelineHeight() > 0 {
		b.WriteString(fitLines(strings.Split(m.tl.view, "\n"), m.width, m.timelineHeight()))
		b.WriteByte('\n')
	}
	if m.mode == modePicker {
		b.WriteString(m.pickerView(m.height - lipgloss.Height(m.statusView())))
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
	if m.typing() {
		// While something is typed, the legend's lines go to what it
		// says back: a statement's error or what it will do, whole.
		b.WriteString(m.commandView(lipgloss.Height(m.legend)))
	} else {
		b.WriteString(m.legend)
		b.WriteByte('\n')
		b.WriteString(m.commandView(0))
	}
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
	case m.loading != "" && m.running != nil && m.running.on.Load() != nil:
		mid = fmt.Sprintf("running a statement from step %d…", m.step)
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
		if b, ok := m.markAt(m.step); ok {
			mid += " ★"
			if b.name != "" {
				mid += " " + b.name
			}
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
		rights = []string{m.machine[0] + " ", m.machine[1] + " ", m.machine[1] + " ", ""}
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
	return m.styles.plain().MaxWidth(m.width).Render(line)
}

// speedName says how fast replay goes.
func speedName(i int) string {
	d := speeds[i]
	if i == len(speeds)-1 {
		return "max"
	}
	return fmt.Sprintf("%.4g/s", 1/d.Seconds())
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
	return m.styles.plain().MaxWidth(m.width).Render(strings.Join(parts, "") + hint)
}

// commandView is the command area, commandLines and extra lines: the
// prompt, jump, search or crossing input with its error or hint below it
// in the lines left, else the latest notice in all of them.
func (m Model) commandView(extra int) string {
	h := commandLines + extra
	var s string
	switch m.mode {
	case modePrompt:
		s = m.prompt.Render(m.width, h-1, m.promptHint())
	case modeJump:
		s = m.jump.View() + "\n" + messageLines(m.jumpErr, m.styles.StatusErr, m.width, h-1)
	case modeSearch:
		s = m.search.View() + "\n" + messageLines(m.found, m.styles.Notice, m.width, h-1)
	case modeCross:
		s = m.cross.View() + "\n" + messageLines(m.crossed, m.styles.Notice, m.width, h-1)
	default:
		style := m.styles.Notice
		if m.noticeErr {
			style = m.styles.StatusErr
		}
		s = messageLines(m.notice, style, m.width, h)
	}
	return fitLines(strings.Split(s, "\n"), m.width, h)
}

// promptHint tells the user what running a statement here will do.
func (m Model) promptHint() string {
	switch {
	case m.running != nil && (m.loading == "" || m.running.on.Load() != nil):
		return fmt.Sprintf("running: %s so far (at most %d) · esc cancels and undoes it",
			allocator.Count(uint64(m.running.steps), "step"), m.promptCap())
	case m.loading != "" && m.running != nil:
		return m.loading + "… · esc cancels"
	case m.loading != "":
		return m.loading + "…"
	case m.live:
		return fmt.Sprintf("the %s is still running: a statement can run once it has ended", m.src.inputNoun()) // a live source's noun reads no session
	case m.src != nil && m.step < m.lastStep():
		return fmt.Sprintf("viewing step %d of %d: a statement continues from here and discards steps %d to %d",
			m.step, m.lastStep(), m.step+1, m.lastStep())
	case m.notice != "":
		return m.notice
	}
	return fmt.Sprintf("a Starlark statement runs as the next steps, e.g. p = kmalloc(100) or kfree(p); at most %d steps each (%s N changes it)",
		m.promptCap(), stepsCommand)
}

// bodyView lays out the panes. Every pane draws exactly its box, so the
// rows are joined line by line without measuring anything.
func (m Model) bodyView() string {
	l := m.lay
	var b strings.Builder
	for i, row := range l.rows {
		blocks := make([][]string, 0, len(row))
		for _, p := range row {
			blocks = append(blocks, m.paneLines(p))
		}
		for k := 0; k < l.rowH[i]; k++ {
			if b.Len() > 0 {
				b.WriteByte('\n')
			}
			for _, bl := range blocks {
				if k < len(bl) {
					b.WriteString(bl[k])
				}
			}
		}
	}
	return b.String()
}

// paneLines draws box p's pane in its frame, saying what is out of view.
func (m Model) paneLines(p paneID) []string {
	b := m.lay.boxes[p]
	if !b.visible() {
		return nil
	}
	pane := m.pane(p)
	above, below := pane.overflow()
	lines := pane.Lines()
	if m.stale {
		// Rendered for other boxes before a resize: fit them.
		iw, _ := m.frames.inner(b)
		fitted := make([]string, len(lines))
		for i, l := range lines {
			fitted[i] = fitLine(l, iw)
		}
		lines = fitted
	}
	title := pane.Title()
	if p == paneWhy && below > 0 && !m.whyOpen {
		title += " · w: more"
	}
	return m.frames.lines(title, lines, b, m.lay.focus[p], above, below)
}

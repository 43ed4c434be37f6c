package ui

import "github.com/charmbracelet/lipgloss"

// box is a pane's outer size in cells, frame included; zero when hidden.
type box struct {
	w, h int
}

func (b box) visible() bool { return b.w > 0 && b.h > 0 }

// layout is where everything goes at the current terminal size. It is
// computed by relayout in Update, whenever the size or the chrome changes,
// and only read by View.
type layout struct {
	compact   bool          // one pane at a time, chosen by tabs
	top       int           // lines above the body
	bodyH     int           // lines of the body
	panes     [numPanes]box // each pane's box
	inspector box           // the inspector's box
	why       box           // compact: the narration strip under the pane
	rows      [][]paneID    // wide: panes per row, left to right (paneInspector too)
	rowH      []int         // wide: height of each row
}

// Thresholds of the wide layout, which shows every pane at once.
const (
	wideMinWidth  = 150
	wideMinHeight = 42
)

// whyHeight is the compact narration strip's height, frame included.
const whyHeight = 6

// inspectorHeight is the inspector's height in the compact layout, frame
// included.
const inspectorHeight = 10

// relayout computes the layout for the current size and chrome and gives
// each pane its inner size. It measures the chrome instead of assuming
// its height.
func (m *Model) relayout() {
	if !m.ready {
		return
	}
	m.help.Width = m.width
	m.prompt.setWidth(m.width)
	m.jump.Width = max(1, m.width-lipgloss.Width(m.jump.Prompt)-1)
	m.picker.SetSize(m.width, max(1, m.height-lipgloss.Height(m.statusView())))
	if m.tooSmall() {
		return
	}
	var l layout
	l.compact = m.width < wideMinWidth || m.height < wideMinHeight
	l.top = lipgloss.Height(m.statusView())
	if l.compact {
		l.top += lipgloss.Height(m.tabsView())
	}
	bottom := lipgloss.Height(m.legendView()) + commandLines + lipgloss.Height(m.footerView())
	l.bodyH = max(0, m.height-l.top-bottom)
	frameH := m.styles.Pane.GetVerticalFrameSize()

	if l.compact {
		// Under the pane: the narration strip, or while inspecting the
		// inspector, which needs a few more lines. The strip repeats
		// what the event log says, so it gives way when the log is the
		// pane shown.
		under := whyHeight
		if m.mode == modeInspect {
			under = max(whyHeight, min(inspectorHeight, l.bodyH/2))
		}
		mainH := max(frameH+1, l.bodyH-under)
		if m.focus == paneEvents && m.mode != modeInspect {
			mainH = l.bodyH
		}
		if m.mode == modeInspect {
			l.inspector = box{w: m.width, h: l.bodyH - mainH}
		} else {
			l.why = box{w: m.width, h: l.bodyH - mainH}
		}
		l.panes[m.focus] = box{w: m.width, h: mainH}
	} else {
		// Three rows: the page map and the slabs; vmalloc, the realloc
		// panel and the inspector; the event log across the whole
		// width, where its explanations need the fewest line breaks.
		topH := l.bodyH * 50 / 100
		midH := l.bodyH * 26 / 100
		botH := l.bodyH - topH - midH
		half := m.width / 2
		l.panes[panePages] = box{w: half, h: topH}
		l.panes[paneSlabs] = box{w: m.width - half, h: topH}
		reW := (m.width - half) / 2
		l.panes[paneVmalloc] = box{w: half, h: midH}
		l.panes[paneRealloc] = box{w: reW, h: midH}
		l.inspector = box{w: m.width - half - reW, h: midH}
		l.panes[paneEvents] = box{w: m.width, h: botH}
		l.rows = [][]paneID{{panePages, paneSlabs}, {paneVmalloc, paneRealloc, paneInspector}, {paneEvents}}
		l.rowH = []int{topH, midH, botH}
	}
	m.lay = l
	inner := m.frames.inner
	m.pages.SetSize(inner(l.panes[panePages]))
	m.slabs.SetSize(inner(l.panes[paneSlabs]))
	m.vm.SetSize(inner(l.panes[paneVmalloc]))
	m.realloc.SetSize(inner(l.panes[paneRealloc]))
	m.events.SetSize(inner(l.panes[paneEvents]))
	m.inspector.SetSize(inner(l.inspector))
	m.refresh()
}

// commandLines is the height of the command area: the prompt, the jump
// input or the latest notice, and a line for its error or hint.
const commandLines = 2

// tooSmall reports whether the terminal is below MinWidth x MinHeight.
func (m Model) tooSmall() bool { return m.width < MinWidth || m.height < MinHeight }

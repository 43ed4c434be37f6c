package ui

import (
	"slices"

	"github.com/charmbracelet/lipgloss"
)

// box is a pane's outer size in cells, frame included; zero when hidden.
type box struct {
	w, h int
}

func (b box) visible() bool { return b.w > 0 && b.h > 0 }

// layout is where everything goes at the current terminal size. It is
// computed by relayout in Update, whenever the size or the chrome changes,
// and only read by View.
type layout struct {
	kind      layoutKind
	top       int           // lines above the body
	bodyH     int           // lines of the body
	panes     [numPanes]box // each pane's box; zero when hidden
	inspector box           // the inspector's box
	why       box           // the narration strip's box
	rows      [][]paneID    // the body: rows of boxes, left to right (paneInspector and paneWhy too)
	rowH      []int         // height of each row
}

// layoutKind says how many panes fit.
type layoutKind uint8

// Layouts, smallest first.
const (
	layoutCompact layoutKind = iota // one pane at a time, chosen by tab, the narration under it
	layoutMedium                    // the page map beside the focused pane, the narration under both
	layoutWide                      // every pane at once
)

// tabbed reports whether panes are chosen by tabs (not all on screen).
func (l layout) tabbed() bool { return l.kind != layoutWide }

// Thresholds of the larger layouts.
const (
	wideMinWidth    = 150
	wideMinHeight   = 42
	mediumMinWidth  = 110
	mediumMinHeight = 30
)

// whyHeight is the narration strip's height, frame included.
const whyHeight = 6

// inspectorHeight is the inspector's height under the panes, frame
// included.
const inspectorHeight = 10

// paneWhy places the narration strip in a layout row.
const paneWhy = numPanes + 1

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
	switch {
	case m.width >= wideMinWidth && m.height >= wideMinHeight:
		l.kind = layoutWide
	case m.width >= mediumMinWidth && m.height >= mediumMinHeight:
		l.kind = layoutMedium
	}
	l.top = lipgloss.Height(m.statusView())
	if l.tabbed() {
		l.top += lipgloss.Height(m.tabsView())
	}
	m.legend = m.buildLegend()
	bottom := lipgloss.Height(m.legend) + commandLines + lipgloss.Height(m.footerView())
	l.bodyH = max(0, m.height-l.top-bottom)
	frameH := m.styles.Pane.GetVerticalFrameSize()
	inspecting := m.mode == modeInspect

	switch l.kind {
	case layoutWide:
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
	default:
		// The top row: the focused pane, beside the page map in the
		// medium layout (where the page map's partner is the inspector
		// or the event log when the page map itself has the focus).
		top := []paneID{m.focus}
		if l.kind == layoutMedium {
			right := m.focus
			if m.focus == panePages {
				right = paneEvents
				if inspecting {
					right = paneInspector
				}
			}
			top = []paneID{panePages, right}
		}
		// Under it: the inspector while inspecting (unless it is in the
		// top row), else the narration strip, which gives way when the
		// event log is already on screen.
		var under paneID = paneWhy
		underH := whyHeight
		switch {
		case inspecting && !slices.Contains(top, paneInspector):
			under, underH = paneInspector, max(whyHeight, min(inspectorHeight, l.bodyH/2))
		case slices.Contains(top, paneEvents):
			under, underH = 0, 0
		}
		topH := max(frameH+1, l.bodyH-underH)
		underH = l.bodyH - topH
		w := m.width / len(top)
		for i, p := range top {
			b := box{w: w, h: topH}
			if i == len(top)-1 {
				b.w = m.width - w*(len(top)-1)
			}
			if p == paneInspector {
				l.inspector = b
			} else {
				l.panes[p] = b
			}
		}
		l.rows, l.rowH = [][]paneID{top}, []int{topH}
		if underH > 0 {
			b := box{w: m.width, h: underH}
			if under == paneInspector {
				l.inspector = b
			} else {
				l.why = b
			}
			l.rows = append(l.rows, []paneID{under})
			l.rowH = append(l.rowH, underH)
		}
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

package ui

import (
	"slices"

	"github.com/charmbracelet/lipgloss"
)

// box is where a pane goes: its top-left corner in the body (x, y) and
// its outer size in cells, frame included; zero when hidden.
type box struct {
	x, y, w, h int
}

func (b box) visible() bool { return b.w > 0 && b.h > 0 }

// contains reports whether body cell (x, y) is inside b.
func (b box) contains(x, y int) bool {
	return b.visible() && x >= b.x && x < b.x+b.w && y >= b.y && y < b.y+b.h
}

// layout is where everything goes at the current terminal size. It is
// computed by relayout in Update, whenever the size or the chrome changes,
// and only read by View.
type layout struct {
	kind  layoutKind
	top   int            // lines above the body
	bodyH int            // lines of the body
	boxes [numSlots]box  // each slot's box; zero when hidden
	rows  [][]paneID     // the body: rows of boxes, left to right
	rowH  []int          // height of each row
	focus [numSlots]bool // the boxes drawn as focused
	why   int            // the Why strip's lines of text
}

// layoutKind says how the panes are arranged.
type layoutKind uint8

// Layouts, smallest first; presenter is chosen with a key or --presenter.
const (
	layoutCompact   layoutKind = iota // one pane at a time, chosen by tab, the Why strip under it
	layoutMedium                      // the page map beside the focused pane, the Why strip under both
	layoutWide                        // every pane at once
	layoutPresenter                   // the page map, the pane the step is about, and a tall Why strip
)

var layoutNames = [...]string{"compact", "medium", "wide", "presenter"}

func (k layoutKind) String() string {
	if int(k) < len(layoutNames) {
		return layoutNames[k]
	}
	return "unknown"
}

// tabbed reports whether panes are chosen by tabs (not all on screen).
func (l layout) tabbed() bool { return l.kind != layoutWide }

// Thresholds of the larger layouts.
const (
	wideMinWidth    = 150
	wideMinHeight   = 42
	mediumMinWidth  = 110
	mediumMinHeight = 30
)

// whyLinesFor is the Why strip's height in lines of text in each layout,
// before it is expanded (w).
var whyLinesFor = [...]int{layoutCompact: 2, layoutMedium: 3, layoutWide: 4, layoutPresenter: 7}

// inspectorHeight is the inspector's height under the panes, frame
// included.
const inspectorHeight = 10

// slotAt returns the box under body cell (x, y).
func (l layout) slotAt(x, y int) (paneID, bool) {
	for p := paneID(0); p < numSlots; p++ {
		if l.boxes[p].contains(x, y) {
			return p, true
		}
	}
	return 0, false
}

// chooseLayout picks the layout for the size and the presenter setting.
func (m *Model) chooseLayout() layoutKind {
	switch {
	case m.presenter:
		return layoutPresenter
	case m.width >= wideMinWidth && m.height >= wideMinHeight:
		return layoutWide
	case m.width >= mediumMinWidth && m.height >= mediumMinHeight:
		return layoutMedium
	}
	return layoutCompact
}

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
	m.search.Width = max(1, m.width-lipgloss.Width(m.search.Prompt)-1)
	m.picker.SetSize(m.width, max(1, m.height-lipgloss.Height(m.statusView())-pickerFoot))
	if m.tooSmall() {
		return
	}
	var l layout
	l.kind = m.chooseLayout()
	l.top = lipgloss.Height(m.statusView()) + m.timelineHeight()
	if l.tabbed() {
		l.top += lipgloss.Height(m.tabsView())
	}
	m.legend = m.buildLegend()
	bottom := lipgloss.Height(m.legend) + commandLines + lipgloss.Height(m.footerView())
	l.bodyH = max(0, m.height-l.top-bottom)
	frameH := m.styles.Pane.GetVerticalFrameSize()

	// The Why strip: a fixed number of lines in each layout, more when
	// expanded, never more than a third of the body (half expanded).
	l.why = whyLinesFor[l.kind]
	if m.whyOpen {
		l.why = max(l.why, l.bodyH/2-frameH)
	} else {
		l.why = min(l.why, max(1, l.bodyH/3-frameH))
	}
	whyH := l.why + frameH
	inspecting := m.mode == modeInspect

	var rows [][]paneID
	var heights []int
	switch l.kind {
	case layoutWide:
		// The page map and the slabs; vmalloc, the realloc panel and
		// the inspector; the Why strip; the event log across the whole
		// width, where its explanations need the fewest line breaks.
		rest := l.bodyH - whyH
		topH := rest * 50 / 100
		midH := rest * 30 / 100
		rows = [][]paneID{{panePages, paneSlabs}, {paneVmalloc, paneRealloc, paneInspector}, {paneWhy}, {paneEvents}}
		heights = []int{topH, midH, whyH, rest - topH - midH}
	default:
		// The top row: the focused pane, beside the page map in the
		// medium and presenter layouts (where the page map's partner is
		// the inspector while inspecting, else the event log, when the
		// page map itself has the focus).
		top := []paneID{m.focus}
		if l.kind == layoutMedium || l.kind == layoutPresenter && m.width >= mediumMinWidth {
			right := m.focus
			if m.focus == panePages {
				right = paneEvents
				if inspecting || l.kind == layoutPresenter {
					right = paneInspector
				}
			}
			top = []paneID{panePages, right}
		}
		rest := l.bodyH - whyH
		rows, heights = [][]paneID{top}, []int{rest}
		if inspecting && !slices.Contains(top, paneInspector) {
			insH := min(inspectorHeight, rest/2)
			rows = append(rows, []paneID{paneInspector})
			heights = []int{rest - insH, insH}
		}
		rows = append(rows, []paneID{paneWhy})
		heights = append(heights, whyH)
	}
	y := 0
	for i, row := range rows {
		h := max(heights[i], 0)
		x := 0
		for j, p := range row {
			w := m.width / len(row)
			if j == len(row)-1 {
				w = m.width - x
			}
			l.boxes[p] = box{x: x, y: y, w: w, h: h}
			x += w
		}
		y += h
	}
	l.rows, l.rowH = rows, heights
	for p := paneID(0); p < numSlots; p++ {
		l.focus[p] = p == m.focus || p == paneInspector && inspecting
	}
	m.lay = l
	inner := m.frames.inner
	for p := paneID(0); p < numSlots; p++ {
		m.pane(p).SetSize(inner(l.boxes[p]))
	}
	m.refresh()
}

// pickerFoot is the lines under the picker's list: the selected
// scenario's description, and its keys or a question.
const pickerFoot = 3

// commandLines is the height of the command area: the prompt, the jump
// input or the latest notice, and a line for its error or hint.
const commandLines = 2

// tooSmall reports whether the terminal is below MinWidth x MinHeight.
func (m Model) tooSmall() bool { return m.width < MinWidth || m.height < MinHeight }

package ui

import (
	"github.com/allocviz/allocviz/heapview"
)

// pagesPane is the physical page map, with the inspector cursor on a page
// frame.
type pagesPane struct {
	textPane
	cursor uint64           // the page frame under the inspector cursor
	pm     heapview.PageMap // the last map rendered: its scale and geometry
	nr     uint64           // page frames of RAM
}

func (p *pagesPane) reset() { p.cursor, p.top = 0, 0 }

// moveCursor moves the cursor dx cells across and dy map rows down,
// staying inside RAM.
func (p *pagesPane) moveCursor(dx, dy int) {
	if p.nr == 0 {
		return
	}
	scale := max(p.pm.Scale, 1)
	cols := uint64(max(p.pm.Cols, 1))
	cell := int64(p.cursor/scale) + int64(dx) + int64(dy)*int64(cols)
	last := int64((p.nr - 1) / scale)
	cell = max(0, min(cell, last))
	p.cursor = uint64(cell) * scale
}

// refreshPages renders the page map. The map's own key row is left out:
// the legend under the panes is always visible and says the same.
func (m *Model) refreshPages(inspecting bool, highlight []heapview.PageRange) {
	w, h := m.pages.Size()
	if w <= 0 || h <= 0 {
		return
	}
	hv := m.src.hv
	m.pages.nr = hv.NrPages()
	m.pages.cursor = min(m.pages.cursor, m.pages.nr-1)
	// Ask for one row more than fits: with eight rows or more the map
	// ends with its key and the free counts per order; the key is
	// dropped.
	ask := h + 1
	pm := hv.PageMap(heapview.PageMapOptions{Width: w, Height: ask, Cursor: m.pages.cursor, ShowCursor: inspecting,
		Highlight: highlight})
	rows := pm.Rows
	if ask >= 8 && len(rows) == ask {
		rows = append(rows[:ask-2:ask-2], rows[ask-1])
	} else if len(rows) > h {
		rows = rows[:h]
	}
	m.pages.pm = pm
	m.pages.setExact("Physical pages", m.cells.rows(rows, w))
}

package ui

import (
	"strings"

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
	// Ask for one row more than fits and leave out the map's own key
	// (the row that starts "0-A free"), which repeats the legend under
	// the panes; the map keeps its free counts and cache colours.
	ask := h + 1
	pm := hv.PageMap(heapview.PageMapOptions{Width: w, Height: ask, Cursor: m.pages.cursor, ShowCursor: inspecting,
		Highlight: highlight})
	rows := pm.Rows
	key := -1
	for i := pm.Top + pm.Lines; i < len(rows); i++ {
		if r := rows[i]; len(r) > 0 && r[0].Kind == heapview.CellFree && strings.HasPrefix(r[0].Text, "0-A") {
			key = i
			break
		}
	}
	if key >= 0 {
		rows = append(rows[:key:key], rows[key+1:]...)
	}
	if len(rows) > h {
		rows = rows[:h]
	}
	m.pages.pm = pm
	m.pages.setExact("Physical pages", m.cells.rows(rows, w))
}

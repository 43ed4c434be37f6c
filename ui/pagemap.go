package ui

import (
	"fmt"
	"strings"

	"github.com/allocviz/allocviz/heapview"
)

// pagesPane is the physical page map, with the inspector cursor on a page
// frame.
type pagesPane struct {
	textPane
	cursor uint64             // the page frame under the inspector cursor
	pm     heapview.PageMap   // the last map rendered: its scale and geometry
	nr     uint64             // page frames of RAM
	zoom   bool               // a cell per page frame, scrolled to what matters, instead of all of RAM
	layer  heapview.PageLayer // what the colours say: owners, zones or migrate types (c cycles)
	first  uint64             // zoomed: the first page frame shown
}

func (p *pagesPane) reset() { p.cursor, p.top, p.first = 0, 0, 0 }

// nextLayer cycles what the page map's colours say.
func (p *pagesPane) nextLayer() { p.layer = (p.layer + 1) % heapview.NumLayers }

// zoomWindow returns the first page frame the zoomed map shows so that
// focus is in view, keeping the window where it was when it already is.
func (p *pagesPane) zoomWindow(focus uint64, h int) uint64 {
	cols := uint64(max(p.pm.Cols, 1))
	rows := uint64(max(h-3, 1))
	if p.pm.Scale == 1 && p.pm.Lines > 0 {
		rows = uint64(p.pm.Lines)
	}
	if focus >= p.first && focus < p.first+rows*cols {
		return p.first
	}
	row := focus / cols
	return (row - min(row, rows/3)) * cols
}

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
	opts := heapview.PageMapOptions{Width: w, Height: ask, Cursor: m.pages.cursor, ShowCursor: inspecting,
		Highlight: highlight, Layer: m.pages.layer}
	title := "Physical pages"
	if m.pages.layer != heapview.LayerOwner {
		title += " · by " + m.pages.layer.String() + " (c)"
	}
	if m.pages.zoom {
		if m.pages.pm.Cols == 0 {
			// Learn the map's geometry at this width first.
			m.pages.pm = hv.PageMap(opts)
		}
		focus := m.pages.first
		if inspecting {
			focus = m.pages.cursor
		} else if si, err := hv.StepInfo(m.step); err == nil && len(si.Pages) > 0 {
			focus = si.Pages[0].PFN
		}
		m.pages.first = m.pages.zoomWindow(focus, h)
		opts.Scale, opts.First = 1, m.pages.first
		title += " · zoomed to a page per cell (z)"
	}
	pm := hv.PageMap(opts)
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
	if !m.pages.zoom && pm.Scale > 1 {
		title += fmt.Sprintf(" · %d per cell, z zooms in", pm.Scale)
	}
	m.pages.setExact(title, m.cells.rows(rows, w))
}

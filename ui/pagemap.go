package ui

import (
	"fmt"
	"math"

	"github.com/allocviz/allocviz/allocator"
	"github.com/allocviz/allocviz/heapview"
)

// pagesPane is the physical page map, with the inspector cursor on a page
// frame. The whole of RAM is drawn at a scale (page frames per cell) that
// depends on the machine and the pane's size alone, so it never changes
// while stepping. When a cell stands for several frames, a magnified
// strip under the map shows the frames the step changed a page a cell;
// zoomed (z), the map is a page a cell, around what the step changed.
type pagesPane struct {
	textPane
	cursor  uint64             // the page frame under the inspector cursor
	pm      heapview.PageMap   // the last map rendered: its scale and geometry
	nr      uint64             // page frames of RAM
	zoom    bool               // a cell per page frame, scrolled to what matters, instead of all of RAM
	layer   heapview.PageLayer // what the colours say: owners, zones or migrate types (L cycles)
	first   uint64             // zoomed: the first page frame shown; noWindow before the first zoomed map
	noStrip bool               // the magnified strip is off (Z)
}

// noWindow is pagesPane.first before a zoomed map has placed its window.
const noWindow = math.MaxUint64

func (p *pagesPane) reset() { p.cursor, p.top, p.first = 0, 0, noWindow }

// stripRows is how many map rows the magnified strip has under its
// heading in a pane h lines high: none in a pane too low for it.
func stripRows(h int) int {
	switch {
	case h >= 14:
		return 2
	case h >= 8:
		return 1
	}
	return 0
}

// nextLayer cycles what the page map's colours say.
func (p *pagesPane) nextLayer() { p.layer = (p.layer + 1) % heapview.NumLayers }

// zoomWindow returns the first page frame the zoomed map shows so that
// focus is in view, keeping the window where it was when it already is,
// else putting focus a third of the way down.
func (p *pagesPane) zoomWindow(focus uint64, rows int) uint64 {
	cols := uint64(max(p.pm.Cols, 1))
	span := uint64(max(rows, 1)) * cols
	if p.first != noWindow && focus >= p.first && focus < p.first+span {
		return p.first
	}
	row := focus / cols
	return (row - min(row, uint64(max(rows, 1))/3)) * cols
}

// scrollRows moves the zoomed window d map rows.
func (p *pagesPane) scrollRows(d int) {
	cols := uint64(max(p.pm.Cols, 1))
	rows := int64(max(p.pm.Lines, 1))
	last := int64((p.nr + cols - 1) / cols)
	row := int64(p.pm.First/cols) + int64(d)
	row = max(0, min(row, last-rows))
	p.first = uint64(row) * cols
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

// mapRows renders a page map of w x h with the map's own key row (the
// row that starts "0-A free") left out: the legend under the panes is
// always visible and says the same. In a low pane (under titleMinHeight)
// the map's title row goes too: the pane's title gives the scale, the
// status bar the step. It asks for as many more rows as it leaves out,
// which keeps the scale.
func mapRows(hv *heapview.Model, o heapview.PageMapOptions, h int) heapview.PageMap {
	noTitle := h < titleMinHeight
	o.Height = h + 1
	if noTitle {
		o.Height++
	}
	pm := hv.PageMap(o)
	for i := pm.Top + pm.Lines; i < len(pm.Rows); i++ {
		if r := pm.Rows[i]; len(r) > 0 && r[0].Kind == heapview.CellFree && len(r[0].Text) >= 3 && r[0].Text[:3] == "0-A" {
			pm.Rows = append(pm.Rows[:i:i], pm.Rows[i+1:]...)
			break
		}
	}
	if noTitle && pm.Top > 0 {
		pm.Rows = pm.Rows[pm.Top:]
		pm.Top = 0
	}
	pm.Rows = pm.Rows[:min(len(pm.Rows), h)]
	return pm
}

// titleMinHeight is the height of the page map below which its title row
// is left out.
const titleMinHeight = 16

// focusPage returns the page frame the step shown is about: the first it
// changed that is not reserved at boot, and whether there is one.
func (m *Model) focusPage() (uint64, bool) {
	si, err := m.src.hv.StepInfo(m.step)
	if err != nil {
		return 0, false
	}
	for _, r := range si.Pages {
		for p := r.PFN; p < r.PFN+r.N; p++ {
			if m.src.hv.Page(p).Owner != allocator.OwnerReserved {
				return p, true
			}
		}
	}
	return 0, false
}

// refreshPages renders the page map, marking the cursor, the selection
// (highlight) and what differs from the diff base (diff).
func (m *Model) refreshPages(inspecting bool, highlight, diff []heapview.PageRange) {
	w, h := m.pages.Size()
	if w <= 0 || h <= 0 {
		return
	}
	hv := m.src.hv
	m.pages.nr = hv.NrPages()
	m.pages.cursor = min(m.pages.cursor, m.pages.nr-1)
	opts := heapview.PageMapOptions{Width: w, Cursor: m.pages.cursor, ShowCursor: inspecting,
		Highlight: highlight, Diff: diff, Layer: m.pages.layer}
	title := "Physical pages"
	if m.pages.layer != heapview.LayerOwner {
		title += " · by " + m.pages.layer.String() + " (L)"
	}
	if m.pages.zoom {
		m.refreshZoomed(opts, h, inspecting)
		return
	}
	// The map's height, and so its scale, depends on whether the strip
	// could ever be needed at this size: it is, when a cell stands for
	// more than one page frame.
	mapH := h
	pm := mapRows(hv, opts, mapH)
	strip := stripRows(h)
	if m.pages.noStrip || pm.Scale == 1 {
		strip = 0
	}
	if strip > 0 {
		mapH = h - strip - 1
		pm = mapRows(hv, opts, mapH)
	}
	m.pages.pm = pm
	rows := pm.Rows
	for len(rows) < mapH {
		rows = append(rows, nil)
	}
	if strip > 0 {
		rows = append(rows, m.stripRows(opts, pm.Scale, strip)...)
	}
	if pm.Scale > 1 {
		title += fmt.Sprintf(" · %d per cell, z zooms in", pm.Scale)
	}
	m.pages.setExact(title, m.cells.rows(rows, w))
}

// stripRows renders the magnified strip: a heading and n map rows at a
// page a cell, from the row of the first page frame the step changed.
func (m *Model) stripRows(opts heapview.PageMapOptions, scale uint64, n int) []heapview.Row {
	hv := m.src.hv
	w := opts.Width
	focus, ok := m.focusPage()
	if !ok {
		return []heapview.Row{textRow(heapview.CellMuted, fmt.Sprintf("magnified ×%d: the step changed no page (Z hides this strip)", scale), w)}
	}
	opts.Scale, opts.First = 1, focus
	pm := hv.PageMap(withHeight(opts, n+1))
	if pm.Lines == 0 {
		return nil
	}
	last := pm.First + uint64(pm.Lines*pm.Cols) - 1
	head := fmt.Sprintf("magnified ×%d: pfn %#x to %#x, a page a cell (Z hides)", scale, pm.First, last)
	rows := []heapview.Row{textRow(heapview.CellLabel, head, w)}
	return append(rows, pm.Rows[pm.Top:pm.Top+pm.Lines]...)
}

// withHeight returns o with its height set.
func withHeight(o heapview.PageMapOptions, h int) heapview.PageMapOptions {
	o.Height = h
	return o
}

// textRow is a row of one span of text, cut with "…" to width.
func textRow(k heapview.CellKind, s string, w int) heapview.Row {
	return heapview.Row{{Kind: k, Text: truncate(s, w)}}
}

// refreshZoomed renders the map at a page a cell, its window around the
// cursor while inspecting, else around what the step changed, else where
// it was (at first, the first page after the reserved ones).
func (m *Model) refreshZoomed(opts heapview.PageMapOptions, h int, inspecting bool) {
	hv := m.src.hv
	p := &m.pages
	if p.pm.Scale != 1 || p.pm.Cols == 0 {
		// Learn the map's geometry at a page a cell first.
		opts.Scale, opts.First = 1, 0
		p.pm = mapRows(hv, opts, h)
	}
	rows := max(p.pm.Lines, 1)
	switch focus, ok := m.focusPage(); {
	case inspecting:
		p.first = p.zoomWindow(p.cursor, rows)
	case ok:
		p.first = p.zoomWindow(focus, rows)
	case p.first == noWindow:
		first := uint64(0)
		for first < p.nr && hv.Page(first).Owner == allocator.OwnerReserved {
			first++
		}
		p.first = p.zoomWindow(first, rows)
	}
	opts.Scale, opts.First = 1, p.first
	pm := mapRows(hv, opts, h)
	p.pm = pm
	span := uint64(pm.Lines * pm.Cols)
	below := 0
	if end := pm.First + span; end < p.nr {
		below = int((p.nr - end + uint64(pm.Cols) - 1) / uint64(pm.Cols))
	}
	above := int(pm.First / uint64(max(pm.Cols, 1)))
	p.setWindow("Physical pages · zoomed to a page per cell (z)", m.cells.rows(pm.Rows, opts.Width), above, below)
}

package ui

import "github.com/allocviz/allocviz/heapview"

// reallocPane is the realloc decision panel: the latest decision (or the
// inspected allocation's) with its rule, and that allocation's history.
type reallocPane struct {
	textPane
}

// refreshRealloc renders the panel for lineage (0: the latest decision).
func (m *Model) refreshRealloc(lineage uint64) {
	w, h := m.realloc.Size()
	if w <= 0 || h <= 0 {
		return
	}
	rows := allRows(func(h int) []heapview.Row {
		return m.src.hv.ReallocPanel(heapview.ReallocOptions{Width: w, Height: h, Lineage: lineage})
	}, h)
	m.realloc.setExact("Realloc decisions", m.cells.rows(rows, w))
}

package ui

import (
	"fmt"
	"strings"

	"github.com/allocviz/allocviz/heapview"
)

// legendItem is one entry of the legend: a sample cell and its meaning.
type legendItem struct {
	kind  heapview.CellKind
	mark  heapview.Mark
	glyph string
	text  string
}

// legendItems are the glyphs heapview draws, in the order a reader meets
// them (upper case marks the first page of a block), then the marks that
// are on screen now: what the step changed, and the diff, the selection
// and the cursor while they are shown.
func (m *Model) legendItems() []legendItem {
	items := []legendItem{
		{heapview.CellFree, 0, "0-A", "free block of that order"},
		{heapview.CellFree, 0, ".", "free"},
		{heapview.CellReserved, 0, "#", "reserved"},
		{heapview.CellPages, 0, "P", "pages"},
		{heapview.CellSlab, 0, "S", "slab"},
		{heapview.CellLargeKmalloc, 0, "L", "large kmalloc"},
		{heapview.CellVmalloc, 0, "V", "vmalloc"},
		{heapview.CellPCP, 0, "C", "pcp list"},
		{heapview.CellGuard, 0, "g", "guard page"},
		{heapview.CellText, heapview.MarkTouched, "x", "changed by this step"},
	}
	if m.diff >= 0 {
		items = append(items, legendItem{heapview.CellText, heapview.MarkDiff, "x", fmt.Sprintf("differs from step %d", m.diff)})
	}
	if m.focus == paneSlabs || m.focus == paneVmalloc {
		items = append(items, legendItem{heapview.CellText, heapview.MarkSelected, "x", "selection"})
	}
	if m.mode == modeInspect {
		items = append(items, legendItem{heapview.CellText, heapview.MarkCursor, "x", "cursor"})
	}
	return items
}

// legendLines is the most lines the legend takes.
const legendLines = 2

// buildLegend renders the always-visible legend for the current width:
// what each glyph and colour means, on as many lines as the width needs,
// at most legendLines. relayout keeps it in Model.legend.
func (m *Model) buildLegend() string {
	var lines []string
	var b strings.Builder
	w := 0
	for _, it := range m.legendItems() {
		n := 2 + len([]rune(it.glyph)) + 1 + len([]rune(it.text))
		if w > 0 && w+n > m.width {
			lines = append(lines, b.String())
			b.Reset()
			w = 0
			if len(lines) == legendLines {
				break
			}
		}
		b.WriteString("  ")
		m.cells.row(&b, heapview.Row{{Kind: it.kind, Mark: it.mark, Text: it.glyph}})
		b.WriteString(m.styles.Legend.Render(" " + it.text))
		w += n
	}
	if w > 0 && len(lines) < legendLines {
		lines = append(lines, b.String())
	}
	for i, l := range lines {
		lines[i] = fitLine(l, m.width)
	}
	return strings.Join(lines, "\n")
}

package heapview

import (
	"fmt"
	"math/bits"
	"unicode/utf8"

	"github.com/allocviz/allocviz/allocator"
)

// PageMapOptions choose what the physical page map shows.
type PageMapOptions struct {
	Width, Height int         // cells
	Scale         uint64      // page frames per cell; 0: the smallest power of two that fits all of RAM
	First         uint64      // with Scale set: the first page frame shown (rounded down to a map row)
	Cursor        uint64      // the page frame to mark MarkCursor, when ShowCursor
	ShowCursor    bool        //
	Highlight     []PageRange // page frames to mark selected, such as the pages behind a vmap area
	Layer         PageLayer   // what the cells' colour says: who holds the pages (the default), their zone, or their pageblock's migrate type
	Diff          []PageRange // page frames to mark MarkDiff: those that differ from a diff base
}

// PageLayer is what the page map colours by. The glyphs stay the owners'
// (block starts and orders stay visible); only the cells' kind and class
// change, to CellLayer with the zone or migrate type as the class.
type PageLayer uint8

// Page map layers.
const (
	LayerOwner   PageLayer = iota // who holds each page: free, pcp, pages, slab, ...
	LayerZone                     // its zone: DMA, DMA32, Normal
	LayerMigrate                  // its pageblock's migrate type
	NumLayers
)

var layerNames = [NumLayers]string{"owners", "zones", "migrate types"}

func (l PageLayer) String() string {
	if l < NumLayers {
		return layerNames[l]
	}
	return "unknown"
}

// PageMap is the rendered physical page map: a title row, the map rows
// (a pfn label, then a cell per Scale page frames) and a legend.
//
// A map row holds a power of two of cells (the largest that fits, from
// 16), so every row starts on a boundary of the largest buddy blocks it
// can hold and blocks line up from row to row; the legend takes a number
// of rows that depends on the height alone, so the scale a height and
// width give never changes while stepping.
//
// Each cell shows the kind of its page frames by style and by glyph: a
// free page is '.', and the first page of a free block shows its order
// ('0'-'9', 'A' for 10); allocated pages are 'p' (alloc_pages), 's' (slab),
// 'l' (large kmalloc) and 'v' (vmalloc), upper case on the first page of
// each block, so buddy block boundaries are visible; '#' is reserved. When
// a cell stands for several frames its kind is that of most of its
// allocated frames, or of most of its frames when none is allocated (so an
// allocation never disappears at a coarse scale); it is marked MarkMixed
// if they differ, and it shows a block start if one of
// its frames of that kind begins a block. Cells holding a frame the step
// under the cursor changed are marked MarkTouched. The legend gives the
// glyphs, the free blocks by order and, when slabs exist and there is
// room, the colour slot (Class) of each cache with slabs.
type PageMap struct {
	Rows  []Row
	Scale uint64 // page frames per cell
	Cols  int    // cells per map row
	Label int    // cells of the pfn label before each map row's cells
	Top   int    // index in Rows of the first map row
	Lines int    // map rows
	First uint64 // page frame of the first cell
}

// PFNAt returns the first page frame of the cell at column x of row y.
func (p PageMap) PFNAt(x, y int) (uint64, bool) {
	if y < p.Top || y >= p.Top+p.Lines || x < p.Label || x >= p.Label+p.Cols {
		return 0, false
	}
	pfn := p.First + (uint64(y-p.Top)*uint64(p.Cols)+uint64(x-p.Label))*p.Scale
	return pfn, true
}

// freeGlyph is the glyph of the first page of a free block of each order.
const freeGlyph = "0123456789A"

// pageGlyphs are the glyphs of allocated cells: first page, other pages.
func pageGlyphs(k CellKind) (byte, byte) {
	switch k {
	case CellReserved:
		return '#', '#'
	case CellPages:
		return 'P', 'p'
	case CellSlab:
		return 'S', 's'
	case CellLargeKmalloc:
		return 'L', 'l'
	case CellVmalloc:
		return 'V', 'v'
	case CellPCP:
		return 'C', 'c'
	case CellNoRAM:
		return '~', '~'
	}
	return ' ', ' '
}

func ownerKind(o allocator.Owner) CellKind {
	switch o {
	case allocator.OwnerReserved:
		return CellReserved
	case allocator.OwnerPages:
		return CellPages
	case allocator.OwnerSlab:
		return CellSlab
	case allocator.OwnerLargeKmalloc:
		return CellLargeKmalloc
	case allocator.OwnerVmalloc:
		return CellVmalloc
	case allocator.OwnerPCP:
		return CellPCP
	case allocator.OwnerHole:
		return CellNoRAM
	}
	return CellFree
}

// pageScan classifies page frames in ascending order, carrying what it
// learned from the first page of a free block to the pages after it.
type pageScan struct {
	s         *state
	freeEnd   uint64
	freeOrder uint8
	pcpEnd    uint64
}

func newPageScan(m *Model, s *state, first uint64) *pageScan {
	ps := &pageScan{s: s}
	if first < m.geo.nrPages {
		if h, o, ok := m.freeBlockOf(s, first); ok && h < first {
			if s.page(h).flags&pfPCP != 0 {
				ps.pcpEnd = h + 1<<o
			} else {
				ps.freeEnd, ps.freeOrder = h+1<<o, uint8(o)
			}
		}
	}
	return ps
}

// at returns the kind of page frame p, its class and whether it begins a
// block.
func (ps *pageScan) at(p uint64) (CellKind, uint8, bool) {
	r := ps.s.page(p)
	switch {
	case r.flags&pfFree != 0:
		ps.freeEnd, ps.freeOrder = p+1<<r.order, uint8(r.order)
		return CellFree, uint8(r.order), true
	case r.flags&pfPCP != 0:
		ps.pcpEnd = p + 1<<r.order
		return CellPCP, uint8(r.order), true
	case r.flags&pfHead != 0:
		k := ownerKind(r.owner)
		if k == CellSlab && r.cache != 0 {
			return k, CacheClass(int(r.cache - 1)), true
		}
		return k, 0, true
	case r.flags&pfTail != 0:
		k := ownerKind(r.owner)
		if k == CellSlab {
			if h := ps.s.page(uint64(r.head)); h.cache != 0 {
				return k, CacheClass(int(h.cache - 1)), false
			}
		}
		return k, 0, false
	case r.flags&pfReserved != 0:
		return ownerKind(r.owner), 0, true
	case p < ps.pcpEnd:
		return CellPCP, 0, false
	case p < ps.freeEnd:
		return CellFree, ps.freeOrder, false
	}
	return CellBlank, 0, false
}

// layerClass is the class of pfn's cell in a layer: its zone, or its
// pageblock's migrate type.
func (m *Model) layerClass(l PageLayer, pfn uint64) uint8 {
	if l == LayerZone {
		return uint8(m.geo.zoneOf(pfn))
	}
	return uint8(m.cur.page(pfn).migrate())
}

// PageMap renders the physical page map of the state under the cursor.
func (m *Model) PageMap(o PageMapOptions) PageMap {
	v := newView(o.Width, o.Height)
	pm := PageMap{Scale: max(o.Scale, 1)}
	if m.head == nil || o.Width <= 0 || o.Height <= 0 {
		pm.Rows = v.done()
		return pm
	}
	n := m.geo.nrPages
	digits := max(1, (bits.Len64(n-1)+3)/4)
	pm.Label = digits + 3
	avail := o.Width - pm.Label
	pm.Cols = avail
	if avail >= 16 {
		pm.Cols = 1 << (bits.Len(uint(avail)) - 1)
	}
	legend := 0
	switch {
	case o.Height >= 16:
		legend = 3
	case o.Height >= 8:
		legend = 2
	case o.Height >= 4:
		legend = 1
	}
	grid := o.Height - 1 - legend
	if pm.Cols <= 0 || grid <= 0 {
		pm.Label, pm.Cols = 0, 0
		v.line(CellTitle, m.pageMapTitle(pm))
		pm.Rows = v.done()
		return pm
	}
	if o.Scale == 0 {
		pm.Scale = 1
		for (n+pm.Scale-1)/pm.Scale > uint64(pm.Cols)*uint64(grid) && pm.Scale < n {
			pm.Scale *= 2
		}
	}
	span := pm.Scale * uint64(pm.Cols)
	if o.Scale != 0 {
		pm.First = min(o.First, n-1) / span * span
	}
	v.line(CellTitle, m.pageMapTitle(pm))
	pm.Top = 1
	pm.Lines = int(min(uint64(grid), (n-pm.First+span-1)/span))

	touched := m.touched()
	hl, diff := pageBits(o.Highlight, n), pageBits(o.Diff, n)
	ps := newPageScan(m, m.cur, pm.First)
	for line := range pm.Lines {
		b := newRow(o.Width)
		start := pm.First + uint64(line)*span
		b.put(CellLabel, 0, 0, fmt.Sprintf("0x%0*x ", digits, start))
		for c := 0; c < pm.Cols; c++ {
			p := start + uint64(c)*pm.Scale
			if p >= n {
				break
			}
			end := min(p+pm.Scale, n)
			kind, class, head, mixed := m.pageCell(ps, p, end)
			var mk Mark
			if mixed {
				mk |= MarkMixed
			}
			if touched.anyPage(p, end-p) {
				mk |= MarkTouched
			}
			if hl != nil && anyBit(hl, p, end) {
				mk |= MarkSelected
			}
			if diff != nil && anyBit(diff, p, end) {
				mk |= MarkDiff
			}
			if o.ShowCursor && o.Cursor >= p && o.Cursor < end {
				mk |= MarkCursor
			}
			var ch byte
			switch {
			case kind == CellFree && head:
				ch = freeGlyph[class]
			case kind == CellFree:
				ch = '.'
			case head:
				ch, _ = pageGlyphs(kind)
			default:
				_, ch = pageGlyphs(kind)
			}
			if o.Layer != LayerOwner && kind != CellNoRAM && kind != CellBlank {
				kind, class = CellLayer, m.layerClass(o.Layer, p)
			}
			b.cell(kind, class, mk, ch)
		}
		v.add(b.row())
	}
	for !v.full() && len(v.rows) < o.Height-legend {
		v.add(newRow(o.Width).row())
	}
	m.pageMapLegend(v, legend, o.Layer)
	pm.Rows = v.done()
	return pm
}

// pageCell classifies the frames [p, end): the kind most of its allocated
// frames have (or, with none allocated, most of its frames), its
// class (the largest free order, or the first cache), whether one of them
// of that kind begins a block, and whether they are of several kinds.
func (m *Model) pageCell(ps *pageScan, p, end uint64) (CellKind, uint8, bool, bool) {
	if end-p == 1 {
		k, c, h := ps.at(p)
		return k, c, h, false
	}
	var count [NumCellKinds]uint32
	var class [NumCellKinds]uint8
	var head [NumCellKinds]bool
	var seen [NumCellKinds]bool
	kinds := 0
	for q := p; q < end; q++ {
		k, c, h := ps.at(q)
		if !seen[k] {
			seen[k] = true
			kinds++
			class[k] = c
		}
		count[k]++
		if k == CellFree && c > class[k] {
			class[k] = c
		}
		head[k] = head[k] || h
	}
	// Allocated frames win over pcp frames, and those over free and
	// reserved ones, so that one slab page among fifteen free ones still
	// shows as slab: the most common kind of the first group present.
	best := CellBlank
	for _, group := range cellPriority {
		for _, k := range group {
			if count[k] > count[best] || count[k] == count[best] && count[k] > 0 && k > best {
				best = k
			}
		}
		if best != CellBlank {
			break
		}
	}
	return best, class[best], head[best], kinds > 1
}

// cellPriority groups the kinds of page frames, the group that wins a
// cell first.
var cellPriority = [...][]CellKind{
	{CellPages, CellSlab, CellLargeKmalloc, CellVmalloc},
	{CellPCP},
	{CellFree, CellReserved, CellNoRAM},
}

// pageBits returns the page frames of rs as a bit set over n frames; nil
// for none.
func pageBits(rs []PageRange, n uint64) []uint64 {
	if len(rs) == 0 {
		return nil
	}
	b := make([]uint64, (n+63)/64)
	for _, r := range rs {
		for p := r.PFN; p < min(r.PFN+r.N, n); p++ {
			b[p/64] |= 1 << (p % 64)
		}
	}
	return b
}

func anyBit(b []uint64, p, end uint64) bool {
	for q := p; q < end; q++ {
		if b[q/64]&(1<<(q%64)) != 0 {
			return true
		}
	}
	return false
}

func (m *Model) pageMapTitle(pm PageMap) string {
	scale := "1 cell = 1 page"
	if pm.Scale > 1 {
		scale = fmt.Sprintf("1 cell = %d pages (%s)", pm.Scale, allocator.FormatBytes(pm.Scale*m.geo.pageSize))
	}
	return fmt.Sprintf("%s; RAM %s, %d pages of %s; step %d/%d", scale, allocator.FormatBytes(m.geo.ram), m.geo.nrPages,
		allocator.FormatBytes(m.geo.pageSize), m.step, m.Steps())
}

// pageMapLegend adds the key and, with a second row, the buddyinfo counts.
func (m *Model) pageMapLegend(v *view, rows int, layer PageLayer) {
	if rows == 0 {
		return
	}
	b := newRow(v.width)
	switch layer {
	case LayerZone:
		b.put(CellLabel, 0, 0, "zones")
		for t, z := range m.geo.zones {
			if z.spanned > 0 {
				b.put(CellBlank, 0, 0, "  ")
				b.put(CellLayer, uint8(t), 0, allocator.ZoneType(t).String())
				b.put(CellMuted, 0, 0, fmt.Sprintf(" %#x-%#x", z.start, z.start+z.spanned-1))
			}
		}
		v.add(b.row())
		return
	case LayerMigrate:
		b.put(CellLabel, 0, 0, "pageblocks")
		for mt := allocator.MigrateType(0); mt < allocator.MigrateTypes; mt++ {
			b.put(CellBlank, 0, 0, "  ")
			b.put(CellLayer, uint8(mt), 0, mt.String())
		}
		v.add(b.row())
		return
	}
	items := []struct {
		k           CellKind
		mk          Mark
		glyph, text string
	}{
		{CellFree, 0, "0-A", "free"},
		{CellReserved, 0, "#", "reserved"},
		{CellPages, 0, "P", "pages"},
		{CellSlab, 0, "S", "slab"},
		{CellLargeKmalloc, 0, "L", "large kmalloc"},
		{CellVmalloc, 0, "V", "vmalloc"},
		{CellPCP, 0, "C", "pcp list"},
		{CellText, MarkTouched, "x", "this step"},
	}
	for i, it := range items {
		sep := ""
		if i > 0 {
			sep = "  "
		}
		if !b.group(len(sep)+utf8.RuneCountInString(it.glyph)+1+len(it.text), i < len(items)-1) {
			break
		}
		b.put(CellBlank, 0, 0, sep)
		b.put(it.k, 0, it.mk, it.glyph)
		b.put(CellMuted, 0, 0, " "+it.text)
	}
	v.add(b.row())
	if rows < 2 {
		return
	}
	b = newRow(v.width)
	b.put(CellLabel, 0, 0, "free blocks by order")
	counts := m.FreeCounts()
	for o, c := range counts {
		label, n := fmt.Sprintf("  %d:", o), fmt.Sprint(c)
		if !b.fits(len(label)+len(n), o < len(counts)-1) {
			// The order without its count ("10:…") says what is left out.
			withOrder := len(label)+1 <= b.room()
			if withOrder {
				b.put(CellMuted, 0, 0, label)
			}
			b.end(withOrder)
			break
		}
		b.put(CellMuted, 0, 0, label)
		b.put(CellFree, uint8(o), 0, n)
	}
	v.add(b.row())
	if rows < 3 {
		return
	}
	b = newRow(v.width)
	if m.cur.num[cSlabs] == 0 {
		v.add(b.row()) // the row the caches will take
		return
	}
	b.put(CellLabel, 0, 0, "slab caches")
	var ids []int
	for id, c := range m.cur.caches {
		if c.slabs > 0 {
			ids = append(ids, id)
		}
	}
	for i, id := range ids {
		name := m.caches[id].name
		if !b.group(2+1+1+utf8.RuneCountInString(name), i < len(ids)-1) {
			break
		}
		b.put(CellBlank, 0, 0, "  ")
		b.put(CellSlab, CacheClass(id), 0, "S")
		b.put(CellMuted, 0, 0, " "+name)
	}
	v.add(b.row())
}

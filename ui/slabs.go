package ui

import (
	"fmt"
	"slices"

	"github.com/allocviz/allocviz/allocator"
	"github.com/allocviz/allocviz/heapview"
)

// slabsPane is the slab caches table (slabtop) over the selected cache's
// slabs, a cell per object, with the inspector cursor on an object.
type slabsPane struct {
	textPane
	sel      string              // the selected cache, by name, so it survives re-sorting
	pinned   bool                // the user chose sel; else it follows the cache each step uses
	vscroll  int                 // rows of the selected cache's slabs scrolled past
	sortCol  heapview.SlabColumn // the column sorted by
	asc      bool                // smallest first; slabtop sorts largest first
	obj      allocator.Addr      // the object under the inspector cursor; 0: none yet
	freelist bool                // under each slab, its free objects in the order SLUB hands them out
	all      bool                // list caches without slabs and destroyed ones too
	caches   []string            // the table's caches in order, for moving the selection
}

func (p *slabsPane) reset() {
	p.sel, p.pinned, p.obj, p.top, p.vscroll, p.caches = "", false, 0, 0, 0, nil
}

// cycleSort sorts by the next column, as slabtop's single-key sorts do.
func (p *slabsPane) cycleSort() {
	p.sortCol = (p.sortCol + 1) % heapview.NumSlabColumns
}

// selectDelta selects the cache d rows below the selected one.
func (p *slabsPane) selectDelta(d int) {
	if len(p.caches) == 0 {
		return
	}
	i := max(0, slices.Index(p.caches, p.sel))
	p.sel = p.caches[max(0, min(i+d, len(p.caches)-1))]
	p.obj, p.pinned, p.vscroll = 0, true, 0
}

// locate returns the slab (index into slabs) and object index of addr.
func locate(slabs []heapview.Slab, addr allocator.Addr) (int, int, bool) {
	for i, sl := range slabs {
		end := sl.First + allocator.Addr(uint64(sl.Objects)*sl.ObjSize)
		if addr >= sl.First && addr < end {
			return i, int(uint64(addr-sl.First) / sl.ObjSize), true
		}
	}
	return 0, 0, false
}

// moveObject moves the cursor dx objects along (crossing into the next or
// previous slab) and dy slabs up or down (keeping the object index).
func (m *Model) moveObject(dx, dy int) {
	slabs := m.src.hv.ListedSlabs(m.slabs.sel)
	if len(slabs) == 0 {
		return
	}
	si, oi, ok := locate(slabs, m.slabs.obj)
	if !ok {
		si, oi = 0, 0
	}
	si = max(0, min(si+dy, len(slabs)-1))
	oi = min(oi, slabs[si].Objects-1) + dx
	for oi < 0 && si > 0 {
		si--
		oi += slabs[si].Objects
	}
	for oi >= slabs[si].Objects && si < len(slabs)-1 {
		oi -= slabs[si].Objects
		si++
	}
	oi = max(0, min(oi, slabs[si].Objects-1))
	m.slabs.obj = slabs[si].First + allocator.Addr(uint64(oi)*slabs[si].ObjSize)
}

// slabTableHeight splits the pane: the table gets the rows its caches
// need (with slabtop's totals when there is room), at most half, or all
// that the selected cache's slabs leave over when they need fewer rows
// (view) than the other half.
func slabTableHeight(caches, h, view int) int {
	need := 2 + caches // title, headings, a row per cache
	limit := max(h/2, h-view)
	if need+4 >= 10 && need+4 <= limit {
		return need + 4 // and the totals block
	}
	return max(min(need, limit), min(3, h))
}

// slabViewNeed is how many rows heapview's slab view of cache takes at
// width w: its title, a row per objectsPerRow objects of each slab (and
// its freelist line), or the line saying it has none, and the key.
func slabViewNeed(hv *heapview.Model, cache string, w int, freelist bool) int {
	slabs := hv.ListedSlabs(cache)
	if len(slabs) == 0 {
		return 3
	}
	per := max(w-slabViewLabel(hv.NrPages()), 1)
	n := 2
	for _, sl := range slabs {
		n += (sl.Objects + per - 1) / per
		if freelist {
			n++
		}
	}
	return n
}

// slabViewKeyRows is the height from which heapview's slab view ends
// with a key line.
const slabViewKeyRows = 6

// slabViewLabel is the width of the label heapview's slab view puts before
// each slab's objects (pfn, list, in use): objects per row = width - it.
func slabViewLabel(nrPages uint64) int {
	return len(fmt.Sprintf("%x", max(nrPages, 1)-1)) + 2 + 1 + 13 + 1 + 11
}

// refreshSlabs renders the table and the selected cache's slabs. Unless
// the user chose a cache, the selection follows the cache the step shown
// used.
func (m *Model) refreshSlabs(inspecting bool) {
	w, h := m.slabs.Size()
	if w <= 0 || h <= 0 {
		return
	}
	hv := m.src.hv
	p := &m.slabs
	// Like slabtop, list every cache when none has a slab yet.
	all := p.all
	cs := hv.SortedCaches(p.sortCol, !p.asc, all)
	if len(cs) == 0 && !all {
		all = true
		cs = hv.SortedCaches(p.sortCol, !p.asc, all)
	}
	p.caches = p.caches[:0]
	for _, c := range cs {
		p.caches = append(p.caches, c.Name)
	}
	if !p.pinned {
		if _, cache := hv.StepTopic(m.step); cache != "" && slices.Contains(p.caches, cache) && cache != p.sel {
			p.sel, p.obj, p.vscroll = cache, 0, 0
		}
	}
	if !slices.Contains(p.caches, p.sel) && (!p.pinned || !hv.HasCache(p.sel)) {
		// A chosen cache stays chosen at steps where it has no slabs.
		p.sel, p.pinned = "", false
		if len(p.caches) > 0 {
			p.sel = p.caches[0]
		}
	}
	th := slabTableHeight(len(cs), h, slabViewNeed(hv, p.sel, w, p.freelist))
	visible := th - 2
	if th >= 10 {
		visible -= 4
	}
	scroll := 0
	if i := slices.Index(p.caches, p.sel); i >= visible && visible > 0 {
		scroll = i - visible + 1
	}
	rows := hv.SlabTable(heapview.SlabTableOptions{Width: w, Height: th, Sort: p.sortCol, Desc: !p.asc,
		Selected: p.sel, Scroll: scroll, All: all})
	above, below := 0, 0
	vh := h - th
	if p.sel != "" && vh > 0 {
		var sel allocator.Addr
		if inspecting {
			slabs := hv.ListedSlabs(p.sel)
			if _, _, ok := locate(slabs, p.obj); !ok && len(slabs) > 0 {
				p.obj = slabs[0].First
			}
			sel = p.obj
			// Scroll so the cursor's row is in view: a row per
			// (objects per row) objects of each slab above it.
			per := max(w-slabViewLabel(hv.NrPages()), 1)
			row := 1
			si, oi, _ := locate(slabs, p.obj)
			for _, sl := range slabs[:si] {
				row += (sl.Objects + per - 1) / per
				if p.freelist {
					row++ // its freelist line, one line in all but huge slabs
				}
			}
			row += oi / per
			if avail := vh - 2; row > avail {
				p.vscroll = row - avail
			} else if row <= p.vscroll {
				p.vscroll = max(0, row-1)
			}
		}
		// One row more than fits tells whether the slabs go on below;
		// with a key on the last line (slabViewKeyRows), the row before it.
		view := hv.SlabView(heapview.SlabViewOptions{Width: w, Height: vh + 1, Cache: p.sel,
			Selected: sel, Scroll: p.vscroll, Freelist: p.freelist})
		switch {
		case len(view) <= vh:
		case vh+1 >= slabViewKeyRows:
			if !blankRow(view[vh-1]) {
				below = -1
			}
			view = append(view[:vh-1:vh-1], view[vh])
		default:
			if !blankRow(view[vh]) {
				below = -1
			}
			view = view[:vh]
		}
		if p.vscroll > 0 {
			above = p.vscroll
		}
		rows = append(rows, view...)
	}
	if scroll > 0 && above == 0 {
		above = scroll
	}
	title := fmt.Sprintf("Slab caches · sorted by %s %s", p.sortCol, map[bool]string{true: "↑", false: "↓"}[p.asc])
	if p.pinned {
		title += " · chosen (c follows the step)"
	}
	p.setWindow(title, m.cells.rows(rows, w), above, below)
}

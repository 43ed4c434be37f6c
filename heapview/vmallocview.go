package heapview

import (
	"fmt"

	"github.com/allocviz/allocviz/allocator"
)

// VmallocOptions choose what the vmalloc view shows.
type VmallocOptions struct {
	Width, Height int
	Selected      allocator.Addr // the area whose page frames to show (any address in it); 0 for none
	Scroll        int            // area rows scrolled past
}

// VmallocView renders vmalloc space: a /proc/vmallocinfo line per area in
// address order (start-end, size with the guard page, caller, pages=N,
// flag words, and the API when another made it), each followed by a cell
// per page ('v' mapped, 'g' the guard page), the freed ranges that wait
// for the lazy purge ("unpurged vm_area", '~'), and the unused space
// between them. For the selected area it then says in how many runs of
// consecutive frames its pages lie, draws all of RAM on one row with the
// area's frames marked, and lists the page frame behind each page, so
// their scattering is plain to see.
func (m *Model) VmallocView(o VmallocOptions) []Row {
	v := newView(o.Width, o.Height)
	if m.head == nil || o.Width <= 0 || o.Height <= 0 {
		return v.done()
	}
	areas := m.Areas()
	t := m.Totals()
	title := fmt.Sprintf("vmalloc space: %s, %s of address space with guard pages, %s mapped",
		allocator.Count(uint64(t.Areas), "area"), allocator.FormatBytes(t.VmallocBytes), allocator.Count(uint64((t.PagesByOwner[allocator.OwnerVmalloc])), "page"))
	if t.Unpurged > 0 {
		title += fmt.Sprintf("; %d unpurged (%s)", t.Unpurged, allocator.FormatBytes(t.UnpurgedB))
	}
	v.line(CellTitle, title)
	sel, hasSel := m.AreaContaining(o.Selected)
	hasSel = hasSel && !sel.Unpurged
	detail := 0
	if hasSel {
		detail = min(o.Height/2, 4+(len(sel.PFNs)+3)/4)
	}
	touched := m.touched()
	var rows []Row
	prevEnd := uint64(allocator.VmallocStart)
	for _, a := range areas {
		if len(rows) >= max(o.Scroll, 0)+o.Height {
			break // the rest is out of view
		}
		if gap := uint64(a.Addr) - prevEnd; gap > 0 && len(rows) > 0 {
			b := newRow(o.Width)
			b.put(CellHole, 0, 0, fmt.Sprintf("  %s unused", allocator.FormatBytes(gap)))
			rows = append(rows, b.row())
		}
		prevEnd = uint64(a.Addr) + a.Bytes
		var mk Mark
		if hasSel && a.Addr == sel.Addr {
			mk = MarkSelected
		}
		if _, ok := slicesContains(touched.areas, a.Addr); ok {
			mk |= MarkTouched
		}
		b := newRow(o.Width)
		if a.Unpurged {
			b.put(CellHole, 0, mk, fmt.Sprintf("%v-%v %7d unpurged vm_area ", a.Addr, a.Addr+allocator.Addr(a.Bytes), a.Bytes))
			b.fill(CellHole, 0, mk, '~', int(a.Bytes/m.geo.pageSize))
			rows = append(rows, b.row())
			continue
		}
		line := fmt.Sprintf("%v-%v %7d", a.Addr, a.Addr+allocator.Addr(a.Bytes), a.Bytes)
		if a.Caller != "" {
			line += " " + a.Caller
		}
		line += fmt.Sprintf(" pages=%d", len(a.PFNs))
		if a.Flags != "" {
			line += " " + a.Flags
		}
		if a.Func != "" && a.Func != "vmalloc" { // the entry point, when the flag word does not say it
			line += " (" + a.Func + ")"
		}
		b.put(CellText, 0, mk, line+" ")
		b.fill(CellVmalloc, 0, mk, 'v', len(a.PFNs))
		if _, ok := a.Guard(m.geo.pageSize); ok {
			b.cell(CellGuard, 0, mk, 'g')
		}
		rows = append(rows, b.row())
	}
	if len(areas) == 0 {
		b := newRow(o.Width)
		b.put(CellMuted, 0, 0, "no vmap areas")
		rows = append(rows, b.row())
	}
	for i := max(o.Scroll, 0); i < len(rows) && len(v.rows) < o.Height-detail; i++ {
		v.add(rows[i])
	}
	if hasSel && detail > 0 {
		for len(v.rows) < o.Height-detail {
			v.add(newRow(o.Width).row())
		}
		m.areaDetail(v, sel)
	}
	return v.done()
}

func slicesContains(s []allocator.Addr, a allocator.Addr) (int, bool) {
	for i, x := range s {
		if x == a {
			return i, true
		}
	}
	return -1, false
}

// areaDetail lists the frames behind an area and draws where they lie in
// RAM.
func (m *Model) areaDetail(v *view, a Area) {
	cells := v.width - 4
	per := uint64(1)
	if cells > 0 {
		per = (m.geo.nrPages + uint64(cells) - 1) / uint64(cells)
	}
	runs := 0
	for i, p := range a.PFNs {
		if i == 0 || p != a.PFNs[i-1]+1 {
			runs++
		}
	}
	v.line(CellTitle, fmt.Sprintf("%v: %s for %s requested, %s of consecutive frames",
		a.Addr, allocator.Count(uint64(len(a.PFNs)), "page"), allocator.FormatBytes(a.Size), allocator.Count(uint64(runs), "run")))
	b := newRow(v.width)
	b.put(CellLabel, 0, 0, "RAM ")
	if cells > 0 {
		mark := make([]bool, cells)
		for _, p := range a.PFNs {
			mark[p/per] = true
		}
		for c := 0; c < cells && uint64(c)*per < m.geo.nrPages; c++ {
			if mark[c] {
				b.cell(CellVmalloc, 0, MarkSelected, 'v')
			} else {
				b.cell(CellMuted, 0, 0, '.')
			}
		}
	}
	v.add(b.row())
	b = newRow(v.width)
	for i, p := range a.PFNs {
		item := fmt.Sprintf("%d->%#x", i, p)
		if i > 0 {
			item = "  " + item
		}
		if b.room() < len(item) {
			v.add(b.row())
			if v.full() {
				return
			}
			b = newRow(v.width)
			item = item[2*min(i, 1):]
		}
		b.put(CellText, 0, 0, item)
	}
	if g, ok := a.Guard(m.geo.pageSize); ok {
		item := fmt.Sprintf("  guard %v", g)
		if b.room() < len(item) {
			v.add(b.row())
			b = newRow(v.width)
			item = item[2:]
		}
		b.put(CellGuard, 0, 0, item)
	}
	if item := fmt.Sprintf("  (RAM row: %s a cell)", allocator.Count(uint64((per)), "frame")); b.room() >= len(item) {
		b.put(CellMuted, 0, 0, item)
	}
	v.add(b.row())
}

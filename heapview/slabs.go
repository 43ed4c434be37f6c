package heapview

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/allocviz/allocviz/allocator"
)

// SlabColumn is a column of the slab cache table.
type SlabColumn uint8

// Slab table columns; the table shows them in slabDisplay's order.
const (
	ColObjects      SlabColumn = iota // OBJS: objects in all slabs
	ColActive                         // ACTIVE: slabinfo's active objects
	ColInUse                          // INUSE: objects handed out
	ColUse                            // USE: active as a percentage of objects
	ColObjSize                        // OBJ SIZE: s->size in bytes
	ColSlabs                          // SLABS
	ColObjPerSlab                     // OBJ/SLAB
	ColPagesPerSlab                   // PG/SLAB
	ColLost                           // LOST: bytes lost to rounding (requests and slab tails)
	ColName                           // NAME
	NumSlabColumns
)

var slabColumns = [NumSlabColumns]struct {
	head  string
	width int // cells, the space before it included; the name's fits the longest name
}{
	{"OBJS", 7}, {"ACTIVE", 7}, {"INUSE", 6}, {"USE", 5}, {"OBJ SIZE", 9}, {"SLABS", 7}, {"OBJ/SLAB", 9}, {"PG/SLAB", 8}, {"LOST", 10}, {"NAME", 0},
}

// slabDisplay is the order the table shows its columns in: the name
// first, so that it is never the column cut.
var slabDisplay = [NumSlabColumns]SlabColumn{ColName, ColObjects, ColActive, ColInUse, ColUse, ColObjSize, ColSlabs, ColObjPerSlab, ColPagesPerSlab, ColLost}

// slabDrop is the order columns are left out in when the table is too
// narrow for all of them, least telling first. NAME and the sort column
// are never left out.
var slabDrop = [...]SlabColumn{ColLost, ColPagesPerSlab, ColObjPerSlab, ColActive, ColUse, ColSlabs, ColObjects, ColInUse, ColObjSize}

func (c SlabColumn) String() string {
	if c < NumSlabColumns {
		return slabColumns[c].head
	}
	return "unknown"
}

// SlabTableOptions choose what the slab cache table shows.
type SlabTableOptions struct {
	Width, Height int
	Sort          SlabColumn // the column to sort by
	Desc          bool       // largest first
	Selected      string     // the cache to mark selected
	Scroll        int        // table rows scrolled past
	All           bool       // also caches without slabs, and destroyed caches
}

// SortedCaches returns the caches in the order the table shows them:
// sorted by a column (ties by name), without empty or destroyed caches
// unless all is set.
func (m *Model) SortedCaches(by SlabColumn, desc, all bool) []Cache {
	var cs []Cache
	for _, c := range m.Caches() {
		if all || c.Alive && c.Slabs > 0 {
			cs = append(cs, c)
		}
	}
	key := func(c Cache) uint64 {
		switch by {
		case ColObjects:
			return uint64(c.Objects)
		case ColActive:
			return uint64(c.Active)
		case ColInUse:
			return uint64(c.InUse)
		case ColUse:
			return uint64(c.Use())
		case ColObjSize:
			return c.Size
		case ColSlabs:
			return uint64(c.Slabs)
		case ColObjPerSlab:
			return uint64(c.ObjPerSlab)
		case ColPagesPerSlab:
			return uint64(c.PagesPerSlab)
		case ColLost:
			return c.Lost()
		}
		return 0
	}
	slices.SortStableFunc(cs, func(a, b Cache) int {
		r := 0
		if by == ColName {
			r = cmp.Compare(a.Name, b.Name)
		} else {
			r = cmp.Compare(key(a), key(b))
		}
		if desc {
			r = -r
		}
		if r == 0 {
			r = cmp.Compare(a.Name, b.Name)
		}
		return r
	})
	return cs
}

// SlabTable renders the caches as slabtop does: totals, then a row per
// cache with NAME, OBJS, ACTIVE, INUSE, USE, OBJ SIZE, SLABS, OBJ/SLAB,
// PG/SLAB and LOST. ACTIVE and USE follow /proc/slabinfo, where the free
// objects of CPU slabs and per-CPU partial slabs count as active; INUSE is
// the objects actually handed out. LOST is the bytes lost to rounding
// requests up to the object size plus the tails of slabs no object fits.
// NAME comes first and is as wide as the longest name listed, so it is
// never cut while the width holds it; when the width does not hold every
// column, columns are left out in slabDrop's order (LOST, PG/SLAB,
// OBJ/SLAB, ACTIVE, USE, SLABS, OBJS, INUSE, OBJ SIZE), never the sort
// column, and the heading row says how many. The sort column's heading is
// marked selected. When not every cache listed fits, the title says which
// rows are shown ("rows 1-14 of 52").
func (m *Model) SlabTable(o SlabTableOptions) []Row {
	v := newView(o.Width, o.Height)
	if m.head == nil || o.Width <= 0 || o.Height <= 0 {
		return v.done()
	}
	cs := m.SortedCaches(o.Sort, o.Desc, o.All)
	var objs, active, slabs, caches, live int
	var pages, used uint64
	for _, c := range m.Caches() {
		if !c.Alive {
			continue
		}
		live++
		if c.Slabs > 0 {
			caches++
		}
		objs += c.Objects
		active += c.Active
		slabs += c.Slabs
		pages += uint64(c.Slabs * c.PagesPerSlab)
		used += uint64(c.Active) * c.Size
	}
	title := fmt.Sprintf("Slab caches: %d of %d in use; step %d/%d", caches, live, m.step, m.Steps())
	// When the rows do not all fit, the title says which are shown.
	fit := o.Height - 2 // the title and the headings
	if o.Height >= 10 {
		fit -= 4 // the totals
	}
	if first, last := max(o.Scroll, 0), min(len(cs), max(o.Scroll, 0)+max(fit, 0)); last > first && (first > 0 || last < len(cs)) {
		title += fmt.Sprintf(" · rows %d-%d of %d", first+1, last, len(cs))
	}
	v.line(CellTitle, title)
	if o.Height >= 10 {
		total := pages * m.geo.pageSize
		v.line(CellText, fmt.Sprintf(" Active / Total Objects (%% used)    : %d / %d (%s)", active, objs, percent(uint64(active), uint64(objs))))
		v.line(CellText, fmt.Sprintf(" Active / Total Slabs (%% used)      : %d / %d (%s)", slabs, slabs, percent(uint64(slabs), uint64(slabs))))
		v.line(CellText, fmt.Sprintf(" Active / Total Size (%% used)       : %s (%s)", sizePair(used, total), percent(used, total)))
		v.add(newRow(o.Width).row())
	}
	nameW := len("NAME")
	for _, c := range cs {
		n := utf8.RuneCountInString(c.Name)
		if !c.Alive {
			n += len(" (destroyed)")
		}
		nameW = max(nameW, n)
	}
	show, dropped := slabTableColumns(o.Width-nameW, o.Sort)
	b := newRow(o.Width)
	for _, c := range slabDisplay {
		if !show[c] {
			continue
		}
		var mk Mark
		if c == o.Sort {
			mk = MarkSelected
		}
		if c == ColName {
			b.put(CellLabel, 0, mk, c.String())
			b.pad(nameW)
		} else {
			b.put(CellLabel, 0, mk, fmt.Sprintf("%*s", slabColumns[c].width, c.String()))
		}
	}
	if dropped > 0 {
		b.put(CellMuted, 0, 0, fmt.Sprintf("  +%d", dropped))
	}
	v.add(b.row())
	if len(cs) == 0 {
		v.line(CellMuted, "no cache has a slab yet: slabs are made on the first allocation from a cache")
	}
	for i := max(o.Scroll, 0); i < len(cs) && !v.full(); i++ {
		c := cs[i]
		var mk Mark
		if c.Name == o.Selected {
			mk = MarkSelected
		}
		kind := CellText
		if !c.Alive {
			kind = CellMuted
		}
		cells := [NumSlabColumns]string{fmt.Sprint(c.Objects), fmt.Sprint(c.Active), fmt.Sprint(c.InUse), fmt.Sprintf("%d%%", c.Use()),
			fmt.Sprint(c.Size), fmt.Sprint(c.Slabs), fmt.Sprint(c.ObjPerSlab), fmt.Sprint(c.PagesPerSlab), allocator.FormatBytes(c.Lost()), c.Name}
		b := newRow(o.Width)
		for _, col := range slabDisplay {
			if !show[col] {
				continue
			}
			if col == ColName {
				id := m.cacheAt(c.Name, m.cur.pos+1)
				b.put(CellSlab, CacheClass(int(id)), mk, c.Name)
				if !c.Alive {
					b.put(CellMuted, 0, mk, " (destroyed)")
				}
				b.fill(CellBlank, 0, mk, ' ', nameW-b.width)
				continue
			}
			b.put(kind, 0, mk, fmt.Sprintf("%*s", slabColumns[col].width, cells[col]))
		}
		v.add(b.row())
	}
	return v.done()
}

// slabTableColumns chooses the columns that fit in room cells beside the
// name, leaving them out in slabDrop's order but never sort's; it returns
// which are shown and how many were left out.
func slabTableColumns(room int, sort SlabColumn) (show [NumSlabColumns]bool, dropped int) {
	need := 0
	for c := range NumSlabColumns {
		show[c] = true
		need += slabColumns[c].width
	}
	if need > room {
		room -= len("  +9") // the heading says how many were left out
	}
	for _, c := range slabDrop {
		if need <= room {
			break
		}
		if c == sort {
			continue
		}
		show[c] = false
		need -= slabColumns[c].width
		dropped++
	}
	return show, dropped
}

// sizePair prints two byte counts in the unit that suits the larger, as
// slabtop does: "55.9 KiB / 56.0 KiB".
func sizePair(a, b uint64) string {
	unit, name := uint64(1), "B"
	switch {
	case b >= allocator.GiB:
		unit, name = allocator.GiB, "GiB"
	case b >= allocator.MiB:
		unit, name = allocator.MiB, "MiB"
	case b >= allocator.KiB:
		unit, name = allocator.KiB, "KiB"
	}
	if unit == 1 {
		return fmt.Sprintf("%d B / %d B", a, b)
	}
	return fmt.Sprintf("%.1f %s / %.1f %s", float64(a)/float64(unit), name, float64(b)/float64(unit), name)
}

func percent(a, b uint64) string {
	if b == 0 {
		return "0.0%"
	}
	return fmt.Sprintf("%.1f%%", float64(a)*100/float64(b))
}

// SlabViewOptions choose what the slab view of one cache shows.
type SlabViewOptions struct {
	Width, Height int
	Cache         string
	Freelist      bool           // under each slab, its free objects in the order they will be handed out
	Selected      allocator.Addr // the object under the inspector's cursor, marked MarkCursor
	Scroll        int            // rows scrolled past
}

// SlabView renders one cache's slabs: for each slab, in SLUB's list order
// (ListedSlabs: each CPU's cpu slab and partial list, the node partial
// list, full slabs), its pfn,
// its list and a cell per object: '#' in use, '.' free, 'x' lost to a
// slab_debug repair, marked touched when the step under the cursor
// allocated or freed it. CPU slabs carry MarkCPU and partial slabs
// MarkPartial on their label. With Freelist, a line under each slab lists
// its free objects in the order SLUB hands them out (see Freelists).
func (m *Model) SlabView(o SlabViewOptions) []Row {
	v := newView(o.Width, o.Height)
	if m.head == nil || o.Width <= 0 || o.Height <= 0 {
		return v.done()
	}
	c, ok := m.CacheByName(o.Cache)
	if !ok {
		v.line(CellMuted, fmt.Sprintf("no cache is called %q", o.Cache))
		return v.done()
	}
	class := CacheClass(int(m.cacheAt(c.Name, m.cur.pos+1)))
	v.line(CellTitle, fmt.Sprintf("%s: %s of %d B per order-%d slab; %s: %d cpu, %d cpu partial, %d node partial, %d full",
		c.Name, allocator.Count(uint64(c.ObjPerSlab), "object"), c.Size, c.Order, allocator.Count(uint64(c.Slabs), "slab"), c.CPUSlabs, c.CPUPartial, c.NodePartial, c.Full))
	slabs := m.ListedSlabs(c.Name)
	touched := m.touched()
	digits := max(1, (len(fmt.Sprintf("%x", m.geo.nrPages-1))))
	labelW := digits + 2 + 1 + 13 + 1 + 11
	per := max(o.Width-labelW, 1)
	var rows []Row
	anyLost := false
	for _, sl := range slabs {
		if len(rows) >= max(o.Scroll, 0)+o.Height {
			break // the rest is out of view
		}
		var mk Mark
		where := sl.List.String()
		switch sl.List {
		case allocator.ListCPU:
			mk, where = MarkCPU, fmt.Sprintf("cpu %d", sl.CPU)
		case allocator.ListCPUPartial:
			mk, where = MarkPartial, fmt.Sprintf("cpu %d partial", sl.CPU)
		case allocator.ListNodePartial:
			mk, where = MarkPartial, "node partial"
		}
		for start := 0; start < sl.Objects; start += per {
			b := newRow(o.Width)
			if start == 0 {
				b.put(CellLabel, 0, mk, fmt.Sprintf("0x%0*x %-13s", digits, sl.PFN, where))
				b.put(CellMuted, 0, 0, fmt.Sprintf(" %4d/%-4d ", sl.InUse, sl.Objects))
			}
			b.pad(labelW)
			for i := start; i < min(start+per, sl.Objects); i++ {
				a := sl.First + allocator.Addr(uint64(i)*sl.ObjSize)
				var omk Mark
				if _, found := slices.BinarySearch(touched.objects, a); found {
					omk |= MarkTouched
				}
				if o.Selected != 0 && o.Selected >= a && o.Selected < a+allocator.Addr(sl.ObjSize) {
					omk |= MarkCursor
				}
				if r, used := m.cur.allocs.get(uint64(a)); used && r.lost {
					anyLost = true
					b.cell(CellWarn, 0, omk, 'x')
				} else if used {
					b.cell(CellObjUsed, class, omk, '#')
				} else {
					b.cell(CellObjFree, 0, omk, '.')
				}
			}
			rows = append(rows, b.row())
		}
		if o.Freelist {
			text := freelistText(m.freelists([]Slab{sl})[0])
			for _, part := range wrap(text, max(o.Width-labelW, 8)) {
				b := newRow(o.Width)
				b.pad(labelW)
				b.put(CellMuted, 0, 0, part)
				rows = append(rows, b.row())
			}
		}
	}
	if len(slabs) == 0 {
		b := newRow(o.Width)
		b.put(CellMuted, 0, 0, "no slabs: the cache makes one on its first allocation")
		if !c.Alive {
			b = newRow(o.Width)
			b.put(CellMuted, 0, 0, "no slabs: the cache was destroyed")
		}
		rows = append(rows, b.row())
	}
	legend := o.Height >= 6
	for i := max(o.Scroll, 0); i < len(rows) && len(v.rows) < o.Height-btoi(legend); i++ {
		v.add(rows[i])
	}
	if legend {
		for len(v.rows) < o.Height-1 {
			v.add(newRow(o.Width).row())
		}
		b := newRow(o.Width)
		b.put(CellObjUsed, class, 0, "#")
		b.put(CellMuted, 0, 0, " in use  ")
		b.put(CellObjFree, 0, 0, ".")
		b.put(CellMuted, 0, 0, " free  ")
		if anyLost {
			b.put(CellWarn, 0, 0, "x")
			b.put(CellMuted, 0, 0, " lost  ")
		}
		b.put(CellObjUsed, class, MarkTouched, "#")
		b.put(CellMuted, 0, 0, " this step  ")
		b.put(CellLabel, 0, MarkCPU, "cpu")
		b.put(CellMuted, 0, 0, " cpu slab  ")
		b.put(CellLabel, 0, MarkPartial, "partial")
		b.put(CellMuted, 0, 0, " partial list")
		v.add(b.row())
	}
	return v.done()
}

// freelistText says in which order a slab's free objects will be handed
// out: "freelist: 3 1 0" or, for a CPU slab whose CPU holds some,
// "freelist: cpu 5 6 7, then slab 3 1".
func freelistText(f slabFreelists) string {
	var b strings.Builder
	b.WriteString("freelist:")
	if len(f.cpu) > 0 {
		b.WriteString(" cpu")
	}
	for _, i := range f.cpu {
		fmt.Fprintf(&b, " %d", i)
	}
	if len(f.cpu) > 0 && len(f.slab) > 0 {
		b.WriteString(", then slab")
	}
	for _, i := range f.slab {
		fmt.Fprintf(&b, " %d", i)
	}
	if len(f.cpu)+len(f.slab) == 0 {
		b.WriteString(" empty")
	}
	return b.String()
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Freelist returns the free objects of a slab (by index) in the order
// SLUB will hand them out: for a CPU slab, the CPU's lockless freelist and
// then the slab's own freelist (which the CPU takes when its list runs
// out); for any other slab, the slab's freelist. See Freelists.
func (m *Model) Freelist(sl Slab) []int {
	cpu, own := m.Freelists(sl)
	return append(cpu, own...)
}

// Freelists returns a slab's two freelists as SLUB keeps them, object
// indexes in order: the lockless freelist of the CPU whose CPU slab it is
// (nil for other slabs) and the slab's own freelist (slab->freelist).
// freelists.go says how the model follows them.
func (m *Model) Freelists(sl Slab) (cpu, slab []int) {
	fl := m.freelists([]Slab{sl})[0]
	return fl.cpu, fl.slab
}

// posOfSeq returns the position of the event with Seq seq.
func (m *Model) posOfSeq(seq uint64) int {
	if seq == 0 || seq > uint64(m.n) {
		return -1
	}
	return int(seq - 1)
}

package heapview

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/allocviz/allocviz/allocator"
)

// SlabColumn is a column of the slab cache table.
type SlabColumn uint8

// Slab table columns, in display order.
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
	width int // cells; the name takes what is left
}{
	{"OBJS", 7}, {"ACTIVE", 7}, {"INUSE", 6}, {"USE", 5}, {"OBJ SIZE", 9}, {"SLABS", 7}, {"OBJ/SLAB", 9}, {"PG/SLAB", 8}, {"LOST", 10}, {"NAME", 0},
}

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
// cache with OBJS, ACTIVE, INUSE, USE, OBJ SIZE, SLABS, OBJ/SLAB, PG/SLAB,
// LOST and NAME. ACTIVE and USE follow /proc/slabinfo, where the free
// objects of CPU slabs and per-CPU partial slabs count as active; INUSE is
// the objects actually handed out. LOST is the bytes lost to rounding requests up to the
// object size plus the tails of slabs no object fits. The sort column's
// heading is marked selected.
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
	v.line(CellTitle, fmt.Sprintf("Slab caches: %d of %d in use; step %d/%d", caches, live, m.step, m.Steps()))
	if o.Height >= 10 {
		total := pages * m.geo.pageSize
		v.line(CellText, fmt.Sprintf(" Active / Total Objects (%% used)    : %d / %d (%s)", active, objs, percent(uint64(active), uint64(objs))))
		v.line(CellText, fmt.Sprintf(" Active / Total Slabs (%% used)      : %d / %d (%s)", slabs, slabs, percent(uint64(slabs), uint64(slabs))))
		v.line(CellText, fmt.Sprintf(" Active / Total Size (%% used)       : %s / %s (%s)", byteCount(used), byteCount(total), percent(used, total)))
		v.add(newRow(o.Width).row())
	}
	b := newRow(o.Width)
	for c := range NumSlabColumns {
		var mk Mark
		if c == o.Sort {
			mk = MarkSelected
		}
		w := slabColumns[c].width
		if c == ColName {
			b.put(CellLabel, 0, mk, c.String())
		} else {
			b.put(CellLabel, 0, mk, fmt.Sprintf("%*s", w-1, c.String()))
			b.put(CellBlank, 0, 0, " ")
		}
	}
	v.add(b.row())
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
			fmt.Sprint(c.Size), fmt.Sprint(c.Slabs), fmt.Sprint(c.ObjPerSlab), fmt.Sprint(c.PagesPerSlab), byteCount(c.Lost()), c.Name}
		b := newRow(o.Width)
		for col, s := range cells {
			w := slabColumns[col].width
			if SlabColumn(col) == ColName {
				id := m.cacheAt(c.Name, m.cur.pos+1)
				b.put(CellSlab, CacheClass(int(id)), mk, s)
				if !c.Alive {
					b.put(CellMuted, 0, mk, " (destroyed)")
				}
				continue
			}
			b.put(kind, 0, mk, fmt.Sprintf("%*s ", w-1, s))
		}
		v.add(b.row())
	}
	return v.done()
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
	Selected      allocator.Addr // an object to mark selected
	Scroll        int            // rows scrolled past
}

// listRank orders slabs: CPU slabs, CPU partial, node partial, full.
func listRank(l allocator.SlabList) int {
	switch l {
	case allocator.ListCPU:
		return 0
	case allocator.ListCPUPartial:
		return 1
	case allocator.ListNodePartial:
		return 2
	case allocator.ListFull:
		return 3
	}
	return 4
}

// SlabView renders one cache's slabs: for each slab (CPU slabs first, then
// the per-CPU partial lists, the node partial list, full slabs) its pfn,
// its list and a cell per object: '#' in use, '.' free, marked touched
// when the step under the cursor allocated or freed it. CPU slabs carry
// MarkCPU and partial slabs MarkPartial on their label. With Freelist, a
// line under each slab lists its free objects in the order SLUB hands
// them out (see Freelist).
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
	v.line(CellTitle, fmt.Sprintf("%s: %d objects of %d B per order-%d slab; %d slabs: %d cpu, %d cpu partial, %d node partial, %d full",
		c.Name, c.ObjPerSlab, c.Size, c.Order, c.Slabs, c.CPUSlabs, c.CPUPartial, c.NodePartial, c.Full))
	slabs := m.Slabs(c.Name)
	slices.SortStableFunc(slabs, func(a, b Slab) int {
		if r := cmp.Compare(listRank(a.List), listRank(b.List)); r != 0 {
			return r
		}
		if r := cmp.Compare(a.CPU, b.CPU); r != 0 {
			return r
		}
		return cmp.Compare(a.PFN, b.PFN)
	})
	touched := m.touched()
	digits := max(1, (len(fmt.Sprintf("%x", m.geo.nrPages-1))))
	labelW := digits + 2 + 1 + 13 + 1 + 11
	per := max(o.Width-labelW, 1)
	var fls [][]int
	if o.Freelist {
		fls = m.freelists(slabs)
	}
	var rows []Row
	for si, sl := range slabs {
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
					omk |= MarkSelected
				}
				if m.ObjectUsed(sl, i) {
					b.cell(CellObjUsed, class, omk, '#')
				} else {
					b.cell(CellObjFree, 0, omk, '.')
				}
			}
			rows = append(rows, b.row())
		}
		if o.Freelist {
			fl := fls[si]
			text := "freelist:"
			for _, i := range fl {
				text += fmt.Sprintf(" %d", i)
			}
			if len(fl) == 0 {
				text += " empty"
			}
			for _, part := range wrap(text, max(o.Width-labelW, 8)) {
				b := newRow(o.Width)
				b.pad(labelW)
				b.put(CellMuted, 0, 0, part)
				rows = append(rows, b.row())
			}
		}
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
		b.put(CellText, 0, MarkTouched, "x")
		b.put(CellMuted, 0, 0, " this step  ")
		b.put(CellLabel, 0, MarkCPU, "cpu")
		b.put(CellMuted, 0, 0, " cpu slab  ")
		b.put(CellLabel, 0, MarkPartial, "partial")
		b.put(CellMuted, 0, 0, " partial list")
		v.add(b.row())
	}
	return v.done()
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Freelist returns the free objects of a slab (by index) in the order
// SLUB hands them out as far as the events show it: freelists are LIFO, so
// the most recently freed object comes first, then the objects never
// handed out in their initial order (index order, or the order listed in
// the EvSlabNew event's PFNs when CONFIG_SLAB_FREELIST_RANDOM shuffled
// it). SLUB keeps a CPU slab's freed objects on the CPU freelist apart
// from the slab's own; this order merges them.
func (m *Model) Freelist(sl Slab) []int { return m.freelists([]Slab{sl})[0] }

// freelists computes Freelist for several slabs in one pass over the
// events since the oldest was made.
func (m *Model) freelists(slabs []Slab) [][]int {
	type track struct {
		sl   Slab
		from int   // position of its EvSlabNew
		last []int // position+1 of each object's last free; -1 allocated since; 0 never
	}
	byPFN := make(map[uint64]*track, len(slabs))
	ts := make([]*track, len(slabs))
	from := m.cur.pos
	for i, sl := range slabs {
		t := &track{sl: sl, from: max(m.posOfSeq(sl.Seq), 0), last: make([]int, sl.Objects)}
		ts[i], byPFN[sl.PFN] = t, t
		from = min(from, t.from)
	}
	for i := from; i < m.cur.pos; i++ {
		e := &m.events[i]
		if e.Kind != allocator.EvObjAlloc && e.Kind != allocator.EvObjFree {
			continue
		}
		t := byPFN[e.PFN]
		if t == nil || i < t.from || m.isBad(i) || e.Index < 0 || e.Index >= t.sl.Objects {
			continue
		}
		if e.Kind == allocator.EvObjFree {
			t.last[e.Index] = i + 1
		} else {
			t.last[e.Index] = -1
		}
	}
	out := make([][]int, len(ts))
	for k, t := range ts {
		var initial []int
		if e := &m.events[t.from]; e.Kind == allocator.EvSlabNew && len(e.PFNs) == t.sl.Objects {
			seen := make([]bool, t.sl.Objects)
			for _, i := range e.PFNs {
				if i < uint64(t.sl.Objects) && !seen[i] {
					seen[i] = true
					initial = append(initial, int(i))
				}
			}
		}
		if len(initial) != t.sl.Objects {
			initial = initial[:0]
			for i := range t.sl.Objects {
				initial = append(initial, i)
			}
		}
		var freed, fresh []int
		for _, i := range initial {
			switch {
			case m.ObjectUsed(t.sl, i):
			case t.last[i] > 0:
				freed = append(freed, i)
			case t.last[i] == 0:
				fresh = append(fresh, i)
			}
		}
		last := t.last
		slices.SortFunc(freed, func(a, b int) int { return cmp.Compare(last[b], last[a]) })
		out[k] = append(freed, fresh...)
	}
	return out
}

// posOfSeq returns the position of the event with Seq seq.
func (m *Model) posOfSeq(seq uint64) int {
	i, ok := slices.BinarySearchFunc(m.events, seq, func(e allocator.Event, s uint64) int { return cmp.Compare(e.Seq, s) })
	if !ok {
		return -1
	}
	return i
}

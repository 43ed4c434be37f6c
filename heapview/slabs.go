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
// marked selected.
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
//
// They are rebuilt from the events since the slab was made: a new slab's
// objects are on its freelist in index order, or in the order its
// EvSlabNew lists (CONFIG_SLAB_FREELIST_RANDOM). An allocation from a CPU
// slab pops the CPU's list; when that is empty it first takes the whole
// slab freelist (the slow path's get_freelist). A free by the CPU whose CPU slab it is
// pushes onto the CPU's list (the fast path), any other onto the slab's
// freelist; both are LIFO. A debug cache's slabs are never CPU slabs:
// they hand out the head of the slab freelist. When the slab stops being a CPU slab
// (deactivate_slab) the CPU's list is spliced in front of the slab's.
// Objects a consistency repair puts back (EvObjFree Path "repair") go to
// the front of the slab's freelist; those it loses (EvObjAlloc Path
// "lost") leave the lists.
func (m *Model) Freelists(sl Slab) (cpu, slab []int) {
	fl := m.freelists([]Slab{sl})[0]
	return fl.cpu, fl.slab
}

// slabFreelists is one slab's two freelists.
type slabFreelists struct {
	cpu, slab []int
}

// objList is a singly linked list of object indexes threaded through a
// shared next array, as SLUB threads its freelists through the objects.
type objList struct {
	head, tail int32 // -1 when empty
}

var emptyList = objList{-1, -1}

// flSim replays one slab's freelists.
type flSim struct {
	sl    Slab
	from  int     // position of its EvSlabNew
	next  []int32 // per object: the next on its list, -1 at the end
	on    []uint8 // per object: 0 on no list, 1 the CPU's, 2 the slab's
	lists [3]objList
	list  allocator.SlabList // the slab's list as the events go
	cpu   int                // for ListCPU
}

func (f *flSim) push(l uint8, i int32) {
	f.drop(i)
	lst := &f.lists[l]
	f.next[i] = lst.head
	lst.head = i
	if lst.tail < 0 {
		lst.tail = i
	}
	f.on[i] = l
}

// drop takes object i off the list it is on.
func (f *flSim) drop(i int32) {
	l := f.on[i]
	if l == 0 {
		return
	}
	lst := &f.lists[l]
	prev := int32(-1)
	for p := lst.head; p >= 0; prev, p = p, f.next[p] {
		if p != i {
			continue
		}
		if prev < 0 {
			lst.head = f.next[p]
		} else {
			f.next[prev] = f.next[p]
		}
		if lst.tail == p {
			lst.tail = prev
		}
		break
	}
	f.next[i], f.on[i] = -1, 0
}

// splice moves the whole of list from in front of list to.
func (f *flSim) splice(from, to uint8) {
	a, b := f.lists[from], f.lists[to]
	if a.head < 0 {
		return
	}
	for p := a.head; p >= 0; p = f.next[p] {
		f.on[p] = to
	}
	f.next[a.tail] = b.head
	if b.head < 0 {
		b.tail = a.tail
	}
	b.head = a.head
	f.lists[to], f.lists[from] = b, emptyList
}

func (f *flSim) items(l uint8) []int {
	var out []int
	for p := f.lists[l].head; p >= 0 && len(out) < len(f.next); p = f.next[p] {
		out = append(out, int(p))
	}
	return out
}

// freelists computes Freelists for slabs from the events that name each
// since it was made (Model.slabEvents).
func (m *Model) freelists(slabs []Slab) []slabFreelists {
	out := make([]slabFreelists, len(slabs))
	for k, sl := range slabs {
		f := &flSim{sl: sl, from: max(m.posOfSeq(sl.Seq), 0), next: make([]int32, sl.Objects), on: make([]uint8, sl.Objects),
			lists: [3]objList{emptyList, emptyList, emptyList}, list: allocator.ListCPU, cpu: -1}
		initial := m.initialOrder(f.from, sl.Objects)
		for j := len(initial) - 1; j >= 0; j-- {
			f.push(2, int32(initial[j]))
		}
		if e := &m.events[f.from]; e.Kind == allocator.EvSlabNew {
			f.cpu = e.CPU
		}
		evs := m.slabEvents[sl.PFN]
		i, _ := slices.BinarySearch(evs, int32(f.from)+1)
		for ; i < len(evs) && int(evs[i]) < m.cur.pos; i++ {
			f.replay(&m.events[evs[i]])
		}
		out[k] = slabFreelists{cpu: f.items(1), slab: f.items(2)}
		if sl.List != allocator.ListCPU {
			out[k] = slabFreelists{slab: append(out[k].cpu, out[k].slab...)}
		}
	}
	return out
}

// replay applies one event naming the slab to its freelists.
func (f *flSim) replay(e *allocator.Event) {
	if e.Kind == allocator.EvSlabList {
		if f.list == allocator.ListCPU && e.List != allocator.ListCPU {
			f.splice(1, 2) // deactivate_slab
		}
		f.list, f.cpu = e.List, e.Index
		return
	}
	if e.Kind != allocator.EvObjAlloc && e.Kind != allocator.EvObjFree || e.Index < 0 || e.Index >= f.sl.Objects {
		return
	}
	obj := int32(e.Index)
	switch {
	case e.Kind == allocator.EvObjAlloc && e.Path == "lost":
		f.drop(obj)
	case e.Kind == allocator.EvObjAlloc:
		if f.list == allocator.ListCPU && f.lists[1].head < 0 {
			f.splice(2, 1) // the slow path takes the slab's freelist
		}
		f.drop(obj)
	case e.Path != "repair" && f.list == allocator.ListCPU && f.cpu == e.CPU:
		f.push(1, obj) // the fast path: this CPU's cpu slab
	default:
		f.push(2, obj)
	}
}

// initialOrder returns the order of a new slab's freelist: the indexes its
// EvSlabNew lists when they are a permutation of its objects, else index
// order.
func (m *Model) initialOrder(pos, objects int) []int {
	out := make([]int, 0, objects)
	if e := &m.events[pos]; e.Kind == allocator.EvSlabNew && len(e.PFNs) == objects {
		seen := make([]bool, objects)
		for _, i := range e.PFNs {
			if i < uint64(objects) && !seen[i] {
				seen[i] = true
				out = append(out, int(i))
			}
		}
	}
	if len(out) != objects {
		out = out[:0]
		for i := range objects {
			out = append(out, i)
		}
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

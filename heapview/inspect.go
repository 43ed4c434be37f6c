package heapview

import (
	"errors"
	"fmt"
	"strings"

	"github.com/allocviz/allocviz/allocator"
)

// Field is one line of an inspection: a label and its value, styled by
// Kind and Class.
type Field struct {
	Label string
	Value string
	Kind  CellKind
	Class uint8
	Mark  Mark
}

// Inspection says what a page frame or an address is, who owns it, since
// which step and why.
type Inspection struct {
	Title  string
	Fields []Field
	PFN    uint64             // the page frame, when HasPFN
	HasPFN bool               //
	Page   allocator.PageInfo // when HasPFN
	Addr   allocator.Addr     // the address inspected (InspectAddr) or the page's direct-map address
	Alloc  *Alloc             // the live allocation holding it, if any
	Slab   *Slab              // the slab holding it, if any
	Object int                // its object index in Slab; -1 when not an object
	Area   *Area              // the vmap area holding it, if any
	Seq    uint64             // the event that gave it its state (0 if none)
}

func (in *Inspection) add(label string, k CellKind, class uint8, format string, a ...any) {
	in.Fields = append(in.Fields, Field{Label: label, Value: fmt.Sprintf(format, a...), Kind: k, Class: class})
}

// stepLine says where a step came from: "step 3: kmalloc(40) at t.star:3:1".
func (m *Model) stepLine(step int) string {
	if step <= 0 || step >= len(m.steps) {
		return "boot"
	}
	e := &m.events[m.steps[step].start]
	if e.Src == "" {
		return fmt.Sprintf("step %d: %s", step, e.Op)
	}
	return fmt.Sprintf("step %d: %s at %s", step, e.Op, e.Src)
}

// since adds the since, step and why fields for the event at position+1
// idx.
func (in *Inspection) since(m *Model, idx uint32) {
	if idx == 0 {
		return
	}
	e := &m.events[idx-1]
	in.Seq = e.Seq
	in.add("since", CellText, 0, "%s (event #%d, %v)", m.stepLine(m.stepOf(int(idx-1))), e.Seq, e.Kind)
	in.add("why", CellMuted, 0, "%s", Explain(e))
}

// InspectPage describes page frame pfn in the state under the cursor.
func (m *Model) InspectPage(pfn uint64) (Inspection, error) {
	if m.head == nil {
		return Inspection{}, errors.New("heapview: the model has no events")
	}
	if pfn >= m.geo.nrPages {
		return Inspection{}, fmt.Errorf("heapview: pfn %#x is beyond RAM (pfns 0 to %#x)", pfn, m.geo.nrPages-1)
	}
	s := m.cur
	r := s.page(pfn)
	p := m.Page(pfn)
	in := Inspection{Title: fmt.Sprintf("pfn %#x at %v", pfn, m.geo.pfnAddr(pfn)), PFN: pfn, HasPFN: true, Page: p,
		Addr: m.geo.pfnAddr(pfn), Object: -1}
	blockEnd := p.Head + 1<<p.Order - 1
	block := fmt.Sprintf("order %d at pfn %#x-%#x (%s)", p.Order, p.Head, blockEnd, allocator.FormatBytes(m.geo.pageSize<<p.Order))
	switch p.State {
	case allocator.PageReserved:
		in.add("state", CellReserved, 0, "reserved at boot: the page allocator never hands it out")
	case allocator.PageFree:
		if r.since == 0 {
			in.add("state", CellMuted, 0, "not yet described by the boot")
			break
		}
		in.add("state", CellFree, uint8(p.Order), "free, page %d of a free block on the order-%d free list", pfn-p.Head, p.Order)
		in.add("block", CellText, 0, "%s", block)
	default:
		k, class := ownerKind(p.Owner), uint8(0)
		what := p.Owner.String()
		if sl, ok := m.SlabAt(pfn); ok {
			class = CacheClass(int(m.cacheAt(sl.Cache, s.pos)))
			what = "slab of " + sl.Cache
			in.Slab = &sl
		}
		comp := ""
		if p.Compound {
			comp = ", a compound page"
		}
		in.add("state", k, class, "allocated: %s, page %d of the block%s", what, pfn-p.Head, comp)
		in.add("block", CellText, 0, "%s", block)
		if a, ok := m.Alloc(m.geo.pfnAddr(p.Head)); ok && a.Kind != AllocSlab {
			in.Alloc = &a
			in.add("allocation", CellText, 0, "%s of %s by %s in %s", byteCount(a.Size), byteCount(a.Bytes), a.Func, m.stepLine(a.Step))
		}
		if in.Slab != nil {
			in.slabFields(m, *in.Slab)
		}
		if p.Owner == allocator.OwnerVmalloc {
			if a, i, ok := m.AreaOfPage(pfn); ok {
				in.Area = &a
				in.add("mapped", CellVmalloc, 0, "page %d of the vmap area at %v (%d pages%s)", i, a.Addr, len(a.PFNs), guardNote(a, m.geo.pageSize))
				if a.Func != "" {
					in.add("area by", CellText, 0, "%s of %s in %s", a.Func, byteCount(a.Size), m.stepLine(a.Step))
				}
			}
		}
	}
	in.since(m, r.since)
	if m.touched().hasPage(pfn) {
		in.Fields = append(in.Fields, Field{Label: "this step", Value: "changed by the step under the cursor", Kind: CellText, Mark: MarkTouched})
	}
	return in, nil
}

func guardNote(a Area, pageSize uint64) string {
	if _, ok := a.Guard(pageSize); ok {
		return " and a guard page"
	}
	return ""
}

func (in *Inspection) slabFields(m *Model, sl Slab) {
	where := sl.List.String() + " list"
	switch sl.List {
	case allocator.ListCPU:
		where = fmt.Sprintf("the cpu slab of cpu %d", sl.CPU)
	case allocator.ListCPUPartial:
		where = fmt.Sprintf("the partial list of cpu %d", sl.CPU)
	case allocator.ListNodePartial:
		where = "the node partial list"
	case allocator.ListFull:
		where = "full, on no list"
	}
	in.add("slab", CellText, 0, "order-%d slab at pfn %#x, %d of %d objects in use, %s", sl.Order, sl.PFN, sl.InUse, sl.Objects, where)
}

// InspectAddr describes a kernel address: the object, allocation, page or
// vmap area it falls in.
func (m *Model) InspectAddr(a allocator.Addr) (Inspection, error) {
	if m.head == nil {
		return Inspection{}, errors.New("heapview: the model has no events")
	}
	switch {
	case a == 0:
		return Inspection{}, errors.New("heapview: NULL is no memory")
	case a == allocator.ZeroSizePtr:
		return Inspection{}, errors.New("heapview: ZERO_SIZE_PTR (what kmalloc(0) returns) is no memory")
	case a >= allocator.VmallocStart && a < allocator.VmallocEnd:
		return m.inspectVmalloc(a), nil
	}
	pfn, ok := m.geo.addrPFN(a)
	if !ok {
		return Inspection{}, fmt.Errorf("heapview: %v is neither in the direct map of RAM nor in vmalloc space", a)
	}
	in, err := m.InspectPage(pfn)
	if err != nil {
		return in, err
	}
	in.Title = fmt.Sprintf("%v in pfn %#x", a, pfn)
	in.Addr = a
	if in.Slab != nil {
		sl := *in.Slab
		off := uint64(a - sl.First)
		if a < sl.First || off >= uint64(sl.Objects)*sl.ObjSize {
			in.Fields = append([]Field{{Label: "object", Value: "none: the slab's unused tail", Kind: CellMuted}}, in.Fields...)
			return in, nil
		}
		i := int(off / sl.ObjSize)
		in.Object = i
		objAddr := sl.First + allocator.Addr(uint64(i)*sl.ObjSize)
		var fs []Field
		add := func(label string, k CellKind, format string, args ...any) {
			fs = append(fs, Field{Label: label, Value: fmt.Sprintf(format, args...), Kind: k, Class: CacheClass(int(m.cacheAt(sl.Cache, m.cur.pos)))})
		}
		at := ""
		if objAddr != a {
			at = fmt.Sprintf(", offset %d", a-objAddr)
		}
		if al, ok := m.Alloc(objAddr); ok {
			in.Alloc = &al
			add("object", CellObjUsed, "object %d of %s at %v%s, in use", i, sl.Cache, objAddr, at)
			add("allocation", CellText, "%s of %s by %s in %s", byteCount(al.Size), byteCount(al.Bytes), al.Func, m.stepLine(al.Step))
			if al.Bytes > al.Size {
				add("rounding", CellMuted, "%s of the object past the request are lost to rounding", byteCount(al.Bytes-al.Size))
			}
			if uint64(a-objAddr) >= al.Size {
				add("beyond", CellWarn, "the address is past the %s requested", byteCount(al.Size))
			}
		} else {
			add("object", CellObjFree, "object %d of %s at %v%s, free", i, sl.Cache, objAddr, at)
			if pos := m.lastFree(objAddr); pos >= 0 {
				add("freed", CellText, "in %s (event #%d)", m.stepLine(m.stepOf(pos)), m.events[pos].Seq)
			}
		}
		in.Fields = append(fs, in.Fields...)
	} else if in.Alloc != nil && uint64(a-in.Alloc.Addr) >= in.Alloc.Size {
		in.add("beyond", CellWarn, 0, "the address is past the %s requested", byteCount(in.Alloc.Size))
	}
	return in, nil
}

// lastFree returns the position of the last EvObjFree of addr before the
// cursor, or -1.
func (m *Model) lastFree(addr allocator.Addr) int {
	for i := m.cur.pos - 1; i >= 0; i-- {
		e := &m.events[i]
		if e.Addr == addr && (e.Kind == allocator.EvObjFree || e.Kind == allocator.EvObjAlloc) {
			if e.Kind == allocator.EvObjFree {
				return i
			}
			return -1
		}
	}
	return -1
}

func (m *Model) inspectVmalloc(a allocator.Addr) Inspection {
	in := Inspection{Title: fmt.Sprintf("%v in vmalloc space", a), Addr: a, Object: -1}
	area, ok := m.AreaContaining(a)
	if !ok {
		in.add("state", CellHole, 0, "no vmap area: an access here faults")
		return in
	}
	in.Area = &area
	if area.Unpurged {
		in.add("state", CellHole, 0, "the range of a freed area (%v-%v): unmapped, an access faults; it is free again after the lazy purge",
			area.Addr, area.Addr+allocator.Addr(area.Bytes))
		r, _ := m.cur.areas.get(uint64(area.Addr))
		in.since(m, r.since)
		return in
	}
	page := uint64(a-area.Addr) >> m.geo.shift
	in.add("area", CellVmalloc, 0, "%v-%v (%s with the guard page), %d pages", area.Addr,
		area.Addr+allocator.Addr(area.Bytes), allocator.FormatBytes(area.Bytes), len(area.PFNs))
	if page >= uint64(len(area.PFNs)) {
		in.add("page", CellGuard, 0, "the guard page: unmapped, any access faults")
	} else {
		in.add("page", CellVmalloc, 0, "page %d, backed by pfn %#x (offset %d)", page, area.PFNs[page], uint64(a-area.Addr)%m.geo.pageSize)
	}
	if al, ok := m.Alloc(area.Addr); ok {
		in.Alloc = &al
		path := ""
		if al.Path != "" {
			path = " (" + al.Path + ")"
		}
		in.add("allocation", CellText, 0, "%s of %s by %s%s", byteCount(al.Size), byteCount(al.Bytes), al.Func, path)
		if off := uint64(a - area.Addr); off >= al.Size && page < uint64(len(area.PFNs)) {
			in.add("beyond", CellWarn, 0, "the address is past the %s requested", byteCount(al.Size))
		}
	}
	r, _ := m.cur.areas.get(uint64(area.Addr))
	in.since(m, r.since)
	return in
}

// Rows renders the inspection: the title, then each field's label and its
// value, wrapped.
func (in Inspection) Rows(width, height int) []Row {
	v := newView(width, height)
	if width <= 0 || height <= 0 {
		return v.done()
	}
	v.line(CellTitle, in.Title)
	lw := 0
	for _, f := range in.Fields {
		lw = max(lw, len(f.Label))
	}
	lw += 2
	for _, f := range in.Fields {
		parts := wrap(f.Value, max(width-lw, 8))
		for k, p := range parts {
			b := newRow(width)
			if k == 0 {
				b.put(CellLabel, 0, 0, f.Label)
			}
			b.pad(lw)
			b.put(f.Kind, f.Class, f.Mark, p)
			v.add(b.row())
		}
	}
	return v.done()
}

// String returns the inspection as plain text.
func (in Inspection) String() string {
	var b strings.Builder
	b.WriteString(in.Title)
	for _, f := range in.Fields {
		fmt.Fprintf(&b, "\n%s: %s", f.Label, f.Value)
	}
	return b.String()
}

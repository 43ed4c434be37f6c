package heapview

import (
	"errors"
	"fmt"
	"slices"
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
	Seq    uint64             // the event that made it what it is: the allocation, free or slab of an object; the slab, allocation or area of a page; else the page's last change (0 if none)
}

func (in *Inspection) add(label string, k CellKind, class uint8, format string, a ...any) {
	in.Fields = append(in.Fields, Field{Label: label, Value: fmt.Sprintf(format, a...), Kind: k, Class: class})
}

// stepLine says where a step came from: "step 3: kmalloc(40) at
// t.star:3:1"; a replayed trace's line by its label (time, task-pid, CPU,
// call site), as the event log shows it.
func (m *Model) stepLine(step int) string {
	if step <= 0 || step > m.nsteps {
		return "boot"
	}
	e := m.log.At(m.stepStart(step))
	src := e.Label()
	if src == "" {
		src = e.Src()
	}
	if src == "" {
		return fmt.Sprintf("step %d: %s", step, e.Op())
	}
	return fmt.Sprintf("step %d: %s at %s", step, e.Op(), src)
}

// eventAt says where the event at position+1 idx happened: "step 3:
// kmalloc(40) at t.star:3:1 (event #57, obj_alloc)".
func (m *Model) eventAt(idx uint32) string {
	e := m.log.At(int(idx - 1))
	return fmt.Sprintf("%s (event #%d, %v)", m.stepLine(m.stepOf(int(idx-1))), e.Seq(), e.Kind())
}

// since adds the since and why fields for the event at position+1 idx:
// the event that made what is inspected, and its explanation.
func (in *Inspection) since(m *Model, idx uint32) {
	if idx == 0 {
		return
	}
	in.Seq = m.log.At(int(idx - 1)).Seq()
	in.add("since", CellText, 0, "%s", m.eventAt(idx))
	in.add("why", CellMuted, 0, "%s", m.log.At(int(idx-1)).Explain())
}

// buddy adds the page allocator's own rule for the block, when the event
// that last changed the page is not the one since names.
func (in *Inspection) buddy(m *Model, pageIdx, ownerIdx uint32) {
	if pageIdx == 0 || pageIdx == ownerIdx {
		return
	}
	e := m.log.At(int(pageIdx - 1))
	in.add("pages", CellMuted, 0, "%s: %s", m.stepLine(m.stepOf(int(pageIdx-1))), e.Explain())
}

// InspectPage describes page frame pfn in the state under the cursor:
// its state, its block, what it belongs to (a slab, an allocation, a vmap
// area) and since when and why: the event that made that slab, allocation
// or area, and the page allocator's rule for the block.
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
	owner := r.since
	if p.Zone < allocator.MaxNrZones {
		z := m.geo.zones[p.Zone]
		in.add("zone", CellLayer, uint8(p.Zone), "%v (pfn %#x-%#x)", p.Zone, z.start, z.start+z.spanned-1)
		in.add("pageblock", CellLayer, uint8(p.Migrate), "%v, pfn %#x-%#x", p.Migrate, p.Pageblock, p.Pageblock+1<<m.geo.pbOrder-1)
	}
	switch {
	case p.Owner == allocator.OwnerHole:
		in.add("state", CellNoRAM, 0, "no RAM: the PCI hole below 4 GiB, where devices are mapped")
	case p.State == allocator.PageReserved:
		in.add("state", CellReserved, 0, "reserved at boot: the page allocator never hands it out")
	case p.Owner == allocator.OwnerPCP:
		in.add("state", CellPCP, uint8(p.Order), "on cpu %d's per-CPU list, page %d of an order-%d block: freed, but neither free nor merged; the next order-%d %v allocation on cpu %d takes the list's head",
			p.PCPCPU, pfn-p.Head, p.Order, p.Order, p.Migrate, p.PCPCPU)
		in.add("block", CellText, 0, "%s", block)
	case p.State == allocator.PageFree:
		if r.since == 0 {
			in.add("state", CellMuted, 0, "not yet described by the boot")
			break
		}
		in.add("state", CellFree, uint8(p.Order), "free, page %d of a free block on the order-%d %v free list", pfn-p.Head, p.Order, p.Migrate)
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
		if ar, ok := s.allocs.get(uint64(m.geo.pfnAddr(p.Head))); ok && ar.kind != AllocSlab {
			a := m.alloc(s.pos, uint64(m.geo.pfnAddr(p.Head)), ar)
			in.Alloc = &a
			in.allocFields(m, a)
			owner = ar.since
		}
		if in.Slab != nil {
			rec, _ := s.slabs.get(in.Slab.PFN)
			in.slabFields(m, *in.Slab, rec)
			owner = rec.since
		}
		if p.Owner == allocator.OwnerVmalloc {
			if a, i, ok := m.AreaOfPage(pfn); ok {
				in.Area = &a
				in.add("mapped", CellVmalloc, 0, "page %d of the vmap area at %v (%d pages%s)", i, a.Addr, len(a.PFNs), guardNote(a, m.geo.pageSize))
				if a.Func != "" {
					in.add("area by", CellText, 0, "%s of %s in %s", a.Func, allocator.FormatBytes(a.Size), m.stepLine(a.Step))
				}
				ar, _ := s.areas.get(uint64(a.Addr))
				owner = ar.since
			}
		}
	}
	in.since(m, owner)
	in.buddy(m, r.since, owner)
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

// allocFields describes a live allocation: its size, who made it and
// when, a later resize and its realloc history.
func (in *Inspection) allocFields(m *Model, a Alloc) {
	path := ""
	if a.Path != "" {
		path = " (" + a.Path + ")"
	}
	in.add("allocation", CellText, 0, "%s of %s by %s%s in %s", allocator.FormatBytes(a.Size), allocator.FormatBytes(a.Bytes), a.Func, path, m.stepLine(a.Step))
	if a.Changed != a.Seq {
		if pos := m.posOfSeq(a.Changed); pos >= 0 && m.stepOf(pos) != a.Step {
			in.add("resized", CellText, 0, "in %s", m.stepLine(m.stepOf(pos)))
		}
	}
	if h := m.ReallocHistory(a.Lineage); len(h) > 0 {
		first := m.posOfSeq(a.Lineage)
		from := ""
		if first >= 0 {
			from = " since " + m.stepLine(m.stepOf(first))
		}
		in.add("reallocs", CellText, 0, "%s%s; the last: %v", allocator.Count(uint64(len(h)), "decision"), from, h[len(h)-1].Decision)
	}
}

// slabFields describes a slab: its size, use and list, and why it is on
// that list.
func (in *Inspection) slabFields(m *Model, sl Slab, rec *slabRec) {
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
	if rec.listed != 0 && m.stepOf(int(rec.listed-1)) != m.stepOf(int(rec.since-1)) {
		in.add("listed", CellText, 0, "%s: %s", m.stepLine(m.stepOf(int(rec.listed-1))), m.log.At(int(rec.listed-1)).Explain())
	}
}

// InspectAddr describes a kernel address: the object, allocation, page or
// vmap area it falls in, since when and why. For a slab object that is
// the event that handed it out, freed it or lost it, then the slab's.
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
		return m.inspectObject(in, a), nil
	}
	if in.Alloc != nil && uint64(a-in.Alloc.Addr) >= in.Alloc.Size {
		in.add("beyond", CellWarn, 0, "the address is past the %s requested", allocator.FormatBytes(in.Alloc.Size))
	}
	return in, nil
}

// inspectObject describes the slab object holding a: in use, free or lost,
// since when and why; then its slab and page.
func (m *Model) inspectObject(page Inspection, a allocator.Addr) Inspection {
	sl := *page.Slab
	rec, _ := m.cur.slabs.get(sl.PFN)
	in := Inspection{Title: page.Title, PFN: page.PFN, HasPFN: true, Page: page.Page, Addr: a, Slab: page.Slab, Object: -1}
	class := CacheClass(int(m.cacheAt(sl.Cache, m.cur.pos)))
	off := uint64(a - sl.First)
	if a < sl.First || off >= uint64(sl.Objects)*sl.ObjSize {
		what := "the slab's unused tail: no object fits there"
		if a < sl.First {
			what = "the left red zone of object 0 (slab_debug)"
		}
		in.add("object", CellMuted, 0, "none: %s", what)
		in.slabFields(m, sl, rec)
		in.since(m, rec.since)
		return in
	}
	i := int(off / sl.ObjSize)
	in.Object = i
	objAddr := sl.First + allocator.Addr(uint64(i)*sl.ObjSize)
	at := ""
	if objAddr != a {
		at = fmt.Sprintf(", offset %d", a-objAddr)
	}
	r, used := m.cur.allocs.get(uint64(objAddr))
	switch {
	case used && r.lost:
		in.add("object", CellWarn, 0, "object %d of %s at %v%s, lost: a slab_debug repair took it off the freelists, so nobody can allocate or free it",
			i, sl.Cache, objAddr, at)
		in.since(m, r.since)
	case used:
		al := m.alloc(m.cur.pos, uint64(objAddr), r)
		in.Alloc = &al
		in.add("object", CellObjUsed, class, "object %d of %s at %v%s, in use", i, sl.Cache, objAddr, at)
		in.allocFields(m, al)
		if al.Bytes > al.Size {
			in.add("rounding", CellMuted, 0, "%s of the object past the request are lost to rounding", allocator.FormatBytes(al.Bytes-al.Size))
		}
		if uint64(a-objAddr) >= al.Size {
			in.add("beyond", CellWarn, 0, "the address is past the %s requested", allocator.FormatBytes(al.Size))
		}
		in.since(m, r.since)
		if k := m.kmallocEventOf(int(r.since-1), objAddr); k >= 0 {
			in.add("size class", CellMuted, 0, "%s", m.log.At(k).Explain())
		}
	default:
		in.add("object", CellObjFree, 0, "object %d of %s at %v%s, free", i, sl.Cache, objAddr, at)
		fl := m.freelists([]Slab{sl})[0]
		if n, which := freelistPlace(fl, i); n > 0 {
			in.add("next", CellText, 0, "handed out %s on %s", ordinal(n), which)
		}
		if pos := m.lastFree(sl, i); pos >= 0 {
			in.since(m, uint32(pos+1))
		} else {
			in.add("since", CellText, 0, "never handed out since the slab was made in %s", m.stepLine(m.stepOf(int(rec.since-1))))
		}
	}
	in.slabFields(m, sl, rec)
	in.add("slab made", CellText, 0, "%s: %s", m.stepLine(m.stepOf(int(rec.since-1))), m.log.At(int(rec.since-1)).Explain())
	if m.touched().hasPage(page.PFN) {
		if _, found := slices.BinarySearch(m.touched().objects, objAddr); found {
			in.Fields = append(in.Fields, Field{Label: "this step", Value: "changed by the step under the cursor", Kind: CellText, Mark: MarkTouched})
		}
	}
	return in
}

// freelistPlace returns where object i comes on the slab's freelists:
// 1 for the next object handed out, and which list holds it.
func freelistPlace(f slabFreelists, i int) (int, string) {
	if k := slices.Index(f.cpu, i); k >= 0 {
		return k + 1, "the cpu's lockless freelist"
	}
	if k := slices.Index(f.slab, i); k >= 0 {
		return len(f.cpu) + k + 1, "the slab's freelist"
	}
	return 0, ""
}

// ordinal says "next", "2nd", "3rd", "11th".
func ordinal(n int) string {
	if n == 1 {
		return "next"
	}
	suffix := "th"
	if n%100 < 11 || n%100 > 13 {
		switch n % 10 {
		case 1:
			suffix = "st"
		case 2:
			suffix = "nd"
		case 3:
			suffix = "rd"
		}
	}
	return fmt.Sprintf("%d%s", n, suffix)
}

// kmallocEventOf returns the position of the kmem:kmalloc event that
// reported the object handed out at pos, or -1 (kmem_cache_alloc has
// none). It follows its EvObjAlloc within the same step.
func (m *Model) kmallocEventOf(pos int, a allocator.Addr) int {
	step := m.stepOf(pos)
	_, end := m.stepSpan(step)
	for i := pos + 1; i < min(end, m.cur.pos); i++ {
		e := m.log.At(i)
		switch {
		case e.Kind() == allocator.EvKmalloc && e.Addr() == a:
			return i
		case e.Kind() == allocator.EvObjAlloc || e.Kind() == allocator.EvObjFree && e.Addr() == a:
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
	r, _ := m.cur.areas.get(uint64(area.Addr))
	if area.Unpurged {
		in.add("state", CellHole, 0, "the range of a freed area (%v-%v): unmapped, an access faults; it is free again after the lazy purge",
			area.Addr, area.Addr+allocator.Addr(area.Bytes))
		in.since(m, r.since)
		return in
	}
	page := uint64(a-area.Addr) >> m.geo.shift
	in.add("area", CellVmalloc, 0, "%v-%v (%s with the guard page), %d pages", area.Addr,
		area.Addr+allocator.Addr(area.Bytes), allocator.FormatBytes(area.Bytes), len(area.PFNs))
	if page >= uint64(len(area.PFNs)) {
		in.add("page", CellGuard, 0, "the guard page: unmapped, any access faults")
	} else {
		pfn := area.PFNs[page]
		in.add("page", CellVmalloc, 0, "page %d, backed by pfn %#x (offset %d)", page, pfn, uint64(a-area.Addr)%m.geo.pageSize)
		in.PFN, in.HasPFN, in.Page = pfn, true, m.Page(pfn)
	}
	if al, ok := m.Alloc(area.Addr); ok {
		in.Alloc = &al
		in.allocFields(m, al)
		if off := uint64(a - area.Addr); off >= al.Size && page < uint64(len(area.PFNs)) {
			in.add("beyond", CellWarn, 0, "the address is past the %s requested", allocator.FormatBytes(al.Size))
		}
	}
	in.since(m, r.since)
	if in.HasPFN {
		in.buddy(m, m.cur.page(in.PFN).since, 0)
	}
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

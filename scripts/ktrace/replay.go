package ktrace

import (
	"errors"
	"fmt"
	"strings"

	"github.com/allocviz/allocviz/allocator"
)

// Replayer carries out a Plan's steps on a machine, one at a time, and
// checks what the machine did against what the trace says. It keeps the
// table from the trace's pointers (by slot) to the machine's addresses.
type Replayer struct {
	M       *allocator.Machine
	P       *Plan
	Narrate bool // build each step's call text and narrate skips and checks as events (the session does; stats do not)

	slots     []slot
	caches    []*allocator.KmemCache // by Plan.Caches index, made on first use
	Stats     ReplayStats
	slabStart uint64
}

// slotKind is how a slot's allocation is freed.
type slotKind uint8

const (
	slotNone   slotKind = iota // freed, or never made
	slotObject                 // kfree (a slab object or a large kmalloc)
	slotPages                  // free_pages
	slotArea                   // vfree
)

type slot struct {
	addr  allocator.Addr
	kind  slotKind
	order int8
	line  int32 // where it was allocated
}

// ReplayStats is what the machine did with a trace.
type ReplayStats struct {
	Steps         int            // ops carried out
	KsizeAgree    int            // kmallocs whose ksize is the trace's bytes_alloc (and whose cache type matches accounted=)
	KsizeDiffer   int            // ... whose ksize or cache differs
	CacheDiffer   int            // caches whose stride is not the trace's bytes_alloc
	Disagreements []Disagreement // the first MaxErrors ksize and cache disagreements
	Failed        int            // calls the machine refused (no memory, a bad cache)
	Misplaced     int            // pages not put at their renumbered pfn (taken by the machine's own allocations)
	PCPElsewhere  int            // pcp refills whose block was not free at its renumbered pfn, or had none
	PCPUnmatched  int            // pcp drains of a block that was on none of the machine's pcp lists
	ByCache       map[string]Bytes
	SlabPages     uint64 // pages allocviz's SLUB allocated for slabs during the replay
}

// Disagreement is a line where allocviz and the traced kernel differ.
type Disagreement struct {
	Line int
	Msg  string
}

// StepResult is what one replayed line did, for the session's step.
type StepResult struct {
	Result string // the address returned, "NULL"; "" for frees and skips; set when narrating
	Err    error  // the machine refused the call (narrated, and the replay goes on)
}

// NewReplayer prepares to replay p on m, a machine built with p.Config.
func NewReplayer(m *allocator.Machine, p *Plan) *Replayer {
	return &Replayer{M: m, P: p, slots: make([]slot, p.Slots), caches: make([]*allocator.KmemCache, len(p.Caches)),
		Stats: ReplayStats{ByCache: map[string]Bytes{}}, slabStart: m.SlabPagesAllocated()}
}

// Run replays every step.
func (rp *Replayer) Run() {
	for i := range rp.P.Ops {
		rp.Step(i)
	}
}

// OpText is the call op i will make, with its values, as a step shows
// it: "kmalloc(56, GFP_KERNEL_ACCOUNT)", "kfree(0xffff888000123040)",
// "mm_page_free (skipped)". Call it before Step.
func (rp *Replayer) OpText(i int) string {
	op := &rp.P.Ops[i]
	r := &rp.P.Trace.Records[i]
	addr := func() allocator.Addr {
		if op.Slot < 0 {
			return 0
		}
		return rp.slots[op.Slot].addr
	}
	switch op.Kind {
	case OpSkip:
		return r.Event.String() + " (skipped: " + op.Skip.String() + ")"
	case OpKmalloc:
		return fmt.Sprintf("kmalloc(%d, %v)", r.BytesReq, r.GFP)
	case OpCacheAlloc:
		return fmt.Sprintf("kmem_cache_alloc(%s, %v)", rp.P.Caches[op.Cache].Name, r.GFP)
	case OpKfree:
		if op.Slot < 0 {
			return "kfree(NULL)"
		}
		return fmt.Sprintf("kfree(%v)", addr())
	case OpCacheFree:
		if info, ok := rp.M.ObjectAt(addr()); ok && !info.Large {
			return fmt.Sprintf("kmem_cache_free(%s, %v)", info.Cache, addr())
		}
		return fmt.Sprintf("kmem_cache_free(%v)", addr())
	case OpPageAlloc:
		return fmt.Sprintf("alloc_pages(%d, %v)", r.Order, r.GFP)
	case OpPageFree:
		return fmt.Sprintf("free_pages(%v, %d)", addr(), op.Order)
	case OpVmalloc:
		size, align := rp.vmallocSize(r)
		return fmt.Sprintf("vmalloc(%d), aligned to %d", size, align)
	case OpVfree:
		return fmt.Sprintf("vfree(%v)", addr())
	case OpPurge:
		return "purge_vmap_area_lazy()"
	case OpPCPRefill:
		return fmt.Sprintf("rmqueue_bulk: pfn %#x (order %d, %v) to CPU %d's pcp list", op.PFN, op.Order, allocator.MigrateType(r.Migrate), rp.cpu(r))
	case OpPCPDrain:
		return fmt.Sprintf("free_pcppages_bulk: pfn %#x (order %d) from a pcp list to the buddy allocator", op.PFN, op.Order)
	}
	return op.Kind.String()
}

// vmallocSize is the size and alignment a replayed alloc_vmap_area asks
// vmalloc for: the area's size less its guard page.
func (rp *Replayer) vmallocSize(r *Record) (size, align uint64) {
	vm := &rp.P.Trace.Vmap[r.Vmap]
	size = vm.Size
	if size > rp.M.PageSize() {
		size -= rp.M.PageSize() // alloc_vmap_area's size counts the guard page
	}
	return size, max(vm.Align, 1)
}

// Step replays op i.
func (rp *Replayer) Step(i int) StepResult {
	op := &rp.P.Ops[i]
	t := rp.P.Trace
	r := &t.Records[i]
	m := rp.M
	rp.Stats.Steps++
	defer func() { rp.Stats.SlabPages = m.SlabPagesAllocated() - rp.slabStart }()
	_ = m.SetCPU(rp.cpu(r))
	if op.Synth >= 0 {
		rp.synthFree(op.Synth, r)
	}
	var res StepResult
	defer func() {
		if res.Err != nil && rp.Narrate {
			m.Say("allocviz refused the call: " + res.Err.Error())
		}
	}()
	switch op.Kind {
	case OpSkip:
		if rp.Narrate {
			m.Say(rp.skipText(op, r))
		}
	case OpKmalloc:
		a, err := m.Kmalloc(r.BytesReq, r.GFP)
		res = rp.allocated(res, op, r, a, err, slotObject)
		if err == nil {
			rp.checkKmalloc(r, a)
		}
	case OpCacheAlloc:
		c, err := rp.cache(op.Cache)
		var a allocator.Addr
		if err == nil {
			a, err = m.KmemCacheAlloc(c, r.GFP)
		}
		res = rp.allocated(res, op, r, a, err, slotObject)
		if err == nil {
			rp.count(c.Name(), c.Size())
		}
	case OpKfree, OpCacheFree:
		var a allocator.Addr
		if op.Slot >= 0 {
			a = rp.slots[op.Slot].addr
			rp.slots[op.Slot] = slot{}
		}
		res.Err = rp.failed(rp.freeObject(a, op.Kind == OpCacheFree))
	case OpPageAlloc:
		a, err := rp.pageAlloc(op, r)
		res = rp.allocated(res, op, r, a, err, slotPages)
		if err == nil {
			rp.count("alloc_pages", m.PageSize()<<uint(r.Order))
		}
	case OpPageFree:
		s := rp.slots[op.Slot]
		rp.slots[op.Slot] = slot{}
		res.Err = rp.failed(m.FreePages(s.addr, int(s.order)))
	case OpVmalloc:
		size, align := rp.vmallocSize(r)
		a, err := m.VmallocCaller(size, align, allocator.GFPKernel, allocator.SourceCaller(t.Name, int(r.Line), t.Stats.Lines))
		res = rp.allocated(res, op, r, a, err, slotArea)
		if err == nil {
			rp.count("vmalloc", size)
		}
	case OpVfree:
		a := rp.slots[op.Slot].addr
		rp.slots[op.Slot] = slot{}
		res.Err = rp.failed(m.Vfree(a))
	case OpPurge:
		m.PurgeVmapAreaLazy(fmt.Sprintf("%s in the trace", r.Event))
	case OpPCPRefill:
		res.Err = rp.pcpMove(op, r, &rp.Stats.PCPElsewhere, func(pfn uint64) error {
			return m.PCPRefillAt(pfn, int(op.Order), allocator.MigrateType(r.Migrate), rp.cpu(r))
		}, "is not free here (allocviz's own allocations took it, or it has no place in this machine): no refill")
	case OpPCPDrain:
		res.Err = rp.pcpMove(op, r, &rp.Stats.PCPUnmatched, func(pfn uint64) error {
			return m.PCPDrainAt(pfn, int(op.Order))
		}, "is on none of allocviz's pcp lists: allocviz's own high and batch sent it back already, or it never went there")
	}
	return res
}

// pcpMove carries out a pcp refill or drain, move, at op's pfn. A block
// that is not where the trace has it (allocator.ErrNotFree, or no place
// in this machine) is counted in missed and narrated, saying it is, not
// refused.
func (rp *Replayer) pcpMove(op *Op, r *Record, missed *int, move func(pfn uint64) error, it string) error {
	err := allocator.ErrNotFree
	if op.PFN != NoPFN {
		err = move(op.PFN)
	}
	if !errors.Is(err, allocator.ErrNotFree) {
		return rp.failed(err)
	}
	*missed++
	if rp.Narrate {
		rp.M.Say(fmt.Sprintf("the trace's pfn %#x %s", r.PFN, it))
	}
	return nil
}

// cpu is the machine's CPU for r's: the traced CPU, modulo the machine's
// CPUs when it has fewer.
func (rp *Replayer) cpu(r *Record) int { return int(r.CPU) % rp.M.Config().CPUs }

// allocated records an allocation's address in its slot.
func (rp *Replayer) allocated(res StepResult, op *Op, r *Record, a allocator.Addr, err error, kind slotKind) StepResult {
	if err != nil {
		res.Result, res.Err = "NULL", rp.failed(err)
		return res
	}
	rp.slots[op.Slot] = slot{addr: a, kind: kind, order: r.Order, line: r.Line}
	if rp.Narrate {
		res.Result = a.String()
	}
	return res
}

// failed counts a call the machine refused.
func (rp *Replayer) failed(err error) error {
	if err != nil {
		rp.Stats.Failed++
	}
	return err
}

func (rp *Replayer) count(name string, bytes uint64) {
	b := rp.Stats.ByCache[name]
	b.N++
	b.Bytes += bytes
	rp.Stats.ByCache[name] = b
}

// pageAlloc puts a page allocation where the renumbering says, or where
// the buddy allocator finds room when that block is taken.
func (rp *Replayer) pageAlloc(op *Op, r *Record) (allocator.Addr, error) {
	m := rp.M
	if op.PFN != NoPFN {
		why := ""
		if rp.Narrate {
			why = fmt.Sprintf("where the trace had it, pfn %#x, renumbered", r.PFN)
		}
		a, err := m.AllocPagesAt(op.PFN, int(r.Order), r.GFP, why)
		if !errors.Is(err, allocator.ErrNotFree) {
			return a, err
		}
	}
	rp.Stats.Misplaced++
	if rp.Narrate {
		m.Say(fmt.Sprintf("the trace's pfn %#x has no free place here (allocviz's own allocations took it, or the trace touches more memory than this machine has): the buddy allocator chooses", r.PFN))
	}
	return m.AllocPages(int(r.Order), r.GFP)
}

// cache returns the machine's cache for Plan.Caches[i], creating it the
// first time: an existing cache of that name (kmalloc-64 named by an old
// kernel's kmem_cache_alloc) or kmem_cache_create with the inferred
// geometry.
func (rp *Replayer) cache(i int32) (*allocator.KmemCache, error) {
	if c := rp.caches[i]; c != nil {
		return c, nil
	}
	cp := &rp.P.Caches[i]
	m := rp.M
	c := m.Cache(cp.Name)
	if c == nil {
		var flags allocator.SlabFlags
		if cp.Accounted {
			flags |= allocator.SlabAccount
		}
		var err error
		c, err = m.KmemCacheCreate(cp.Name, cp.ObjectSize, cp.Align, flags)
		if err != nil {
			return nil, err
		}
		if rp.Narrate {
			m.Say(rp.cacheText(cp, c))
		}
	}
	rp.caches[i] = c
	if c.Size() != cp.Stride {
		rp.Stats.CacheDiffer++
		rp.disagree(int(cp.Line), fmt.Sprintf("cache %s: allocviz's stride is %d bytes, the trace's bytes_alloc is %d", cp.Name, c.Size(), cp.Stride))
	}
	return c, nil
}

// checkKmalloc compares a replayed kmalloc with the trace: ksize must be
// bytes_alloc, and the cache's type must agree with accounted= (a plain
// kmalloc-N cache for accounted=false is right, kmalloc-cg-N for true,
// unless __GFP_RECLAIMABLE or __GFP_DMA chose their caches first).
func (rp *Replayer) checkKmalloc(r *Record, a allocator.Addr) {
	info, ok := rp.M.ObjectAt(a)
	if !ok {
		return
	}
	name := info.Cache
	if info.Large {
		name = "large kmalloc"
	}
	rp.count(name, info.Ksize)
	var msg string
	switch {
	case info.Ksize != r.BytesAlloc:
		msg = fmt.Sprintf("kmalloc(%d): allocviz's ksize is %d (%s), the trace's bytes_alloc is %d", r.BytesReq, info.Ksize, name, r.BytesAlloc)
	case r.Accounted == 1 && !info.Large && strings.HasPrefix(name, "kmalloc-") && !strings.HasPrefix(name, "kmalloc-cg-") && !strings.HasPrefix(name, "kmalloc-rcl-"):
		msg = fmt.Sprintf("kmalloc(%d, %v): allocviz used %s, but accounted=true means a kmalloc-cg- cache", r.BytesReq, r.GFP, name)
	case r.Accounted == 0 && strings.HasPrefix(name, "kmalloc-cg-"):
		msg = fmt.Sprintf("kmalloc(%d, %v): allocviz used %s, but the trace says accounted=false", r.BytesReq, r.GFP, name)
	}
	if msg == "" {
		rp.Stats.KsizeAgree++
		return
	}
	rp.Stats.KsizeDiffer++
	rp.disagree(int(r.Line), msg)
}

func (rp *Replayer) disagree(line int, msg string) {
	if len(rp.Stats.Disagreements) < MaxErrors {
		rp.Stats.Disagreements = append(rp.Stats.Disagreements, Disagreement{Line: line, Msg: msg})
	}
	if rp.Narrate {
		rp.M.Say("allocviz and the trace disagree: " + msg)
	}
}

// synthFree frees an allocation the trace allocates again without having
// traced its free (allocator.Machine.FreeSynthetic): the free's event is
// marked synthetic and says why, r being the line that allocates it
// again.
func (rp *Replayer) synthFree(i int32, r *Record) {
	s := rp.slots[i]
	rp.slots[i] = slot{}
	why := "allocated again by the trace with no free traced in between"
	if rp.Narrate {
		what := "object"
		switch s.kind {
		case slotPages:
			what = "block of pages"
		case slotArea:
			what = "vmap area"
		}
		why = fmt.Sprintf("the %s of line %d is allocated again at line %d with no free traced in between", what, s.line, r.Line)
	}
	rp.failed(rp.M.FreeSynthetic(s.addr, why))
}

// freeObject frees a slab object or a large kmalloc: kmem_cache_free
// from the object's own cache when cacheFree is set and it is a slab
// object, else kfree.
func (rp *Replayer) freeObject(a allocator.Addr, cacheFree bool) error {
	m := rp.M
	if info, ok := m.ObjectAt(a); cacheFree && ok && !info.Large {
		return m.KmemCacheFree(m.Cache(info.Cache), a)
	}
	return m.Kfree(a)
}

// skipText says why a line changes nothing.
func (rp *Replayer) skipText(op *Op, r *Record) string {
	what := rp.P.Trace.What(r)
	switch op.Skip {
	case SkipBeforeTrace:
		if r.Event == MmPagePcpuDrain {
			return what + ": freed to a pcp list before the trace began, so it is on none here; nothing to drain"
		}
		return what + ": allocated before the trace began, so it was never allocated here; nothing to free"
	case SkipDuplicate:
		return what + ": the same free as the mm_page_free or mm_page_free_batched just traced for this pfn (free_unref_folios traces both)"
	case SkipSlabPage:
		return what + ": a slab page of the traced kernel's SLUB (the slab GFP signature: __GFP_NORETRY|__GFP_NOWARN, not movable); allocviz's SLUB makes its own slabs"
	case SkipLargePages:
		return what + ": the pages of a large kmalloc, which allocviz's kmalloc takes and frees itself"
	case SkipVmallocPage:
		return what + ": a page behind a vmalloc area; allocviz's vmalloc takes and frees its own"
	case SkipFailed:
		return what + ": this allocation failed in the traced kernel"
	case SkipPartial:
		return what + ": part of a block the trace allocated as one (split_page); allocviz frees blocks whole"
	case SkipVmallocArray:
		return what + ": the pages[] array of the vmalloc area just made; allocviz's vmalloc allocates its own"
	case SkipBuddyTake:
		return what + ": percpu_refill=0, the block the allocation traced next takes straight from the buddy allocator; replaying that allocation takes it"
	}
	return what
}

// cacheText describes a cache made for the trace.
func (rp *Replayer) cacheText(cp *CachePlan, c *allocator.KmemCache) string {
	if cp.Exact {
		return fmt.Sprintf("kmem_cache_create(%q, %d, align %d) for the trace: first used at line %d with bytes_req=%d bytes_alloc=%d; %d objects per order-%d slab",
			cp.Name, cp.ObjectSize, cp.Align, cp.Line, cp.Req, cp.Stride, c.ObjectsPerSlab(), c.Order())
	}
	return fmt.Sprintf("kmem_cache_create(%q, %d) for the trace: first used at line %d with bytes_req=%d bytes_alloc=%d; no alignment turns %d into %d (the kernel keeps the free pointer or debug data after each object), so the object is the whole %d bytes; %d objects per order-%d slab",
		cp.Name, cp.ObjectSize, cp.Line, cp.Req, cp.Stride, cp.Req, cp.Stride, cp.Stride, c.ObjectsPerSlab(), c.Order())
}

// What names a line's event and its object the way the trace does:
// "kfree of ptr 0000000052a18b64", "mm_page_alloc of order 2 at pfn 0x15d514".
func (t *Trace) What(r *Record) string {
	switch r.Event {
	case Kmalloc, Kfree, KmemCacheAlloc, KmemCacheFree:
		return fmt.Sprintf("%s of ptr %s", r.Event, t.ptrText(r.Ptr))
	case MmPageAlloc, MmPageFree, MmPageFreeBatched, MmPageAllocZoneLocked, MmPagePcpuDrain:
		return fmt.Sprintf("%s of order %d at pfn %#x", r.Event, r.Order, r.PFN)
	case AllocVmapArea, FreeVmapAreaNoflush:
		return fmt.Sprintf("%s at %#x", r.Event, t.Vmap[r.Vmap].VAStart)
	}
	return r.Event.String()
}

// ptrText prints a pointer as the trace did.
func (t *Trace) ptrText(p uint64) string {
	if t.Stats.Hashed {
		return fmt.Sprintf("%016x", p)
	}
	return fmt.Sprintf("%#x", p)
}

// Label is how a step names its line where a script step names its
// file:line: "239.161175 bash-8366 [000] alloc_fdtable+0x55/0x140".
func (t *Trace) Label(r *Record) string {
	return string(allocator.AppendTraceLabel(make([]byte, 0, 64), r.TS, t.Str(r.Task), r.PID, int(r.CPU), t.Str(r.CallSite)))
}

// Pos returns r's file:line, the position of the step that replays it.
func (t *Trace) Pos(r *Record) string { return fmt.Sprintf("%s:%d", t.Name, r.Line) }

// Origin returns where r came from, for the step that replays it
// (allocator.Machine.BeginTraceStep): its Src is the trace's name and
// r's line, its Label is Label(r).
func (t *Trace) Origin(r *Record) allocator.TraceLine {
	return allocator.TraceLine{File: t.Name, Line: int(r.Line), TS: r.TS, Task: t.Str(r.Task), PID: r.PID, CPU: int(r.CPU),
		CallSite: t.Str(r.CallSite)}
}

package ktrace

import (
	"fmt"
	"strings"

	"github.com/allocviz/allocviz/allocator"
)

// OpKind is what a replay step does to the machine.
type OpKind uint8

// Op kinds.
const (
	OpSkip       OpKind = iota // nothing: the line is shown, and why it changes nothing (Op.Skip)
	OpKmalloc                  // kmalloc(BytesReq, GFP)
	OpKfree                    // kfree(the slot's object); Slot -1 is kfree(NULL)
	OpCacheAlloc               // kmem_cache_alloc(Plan.Caches[Cache], GFP)
	OpCacheFree                // kmem_cache_free(the object's cache, the slot's object)
	OpPageAlloc                // alloc_pages(Order, GFP) at Op.PFN
	OpPageFree                 // free_pages(the slot's block)
	OpVmalloc                  // __vmalloc_node_range(size - guard page, align)
	OpVfree                    // vfree(the slot's area)
	OpPurge                    // purge_vmap_area_lazy
	OpPCPRefill                // rmqueue_bulk: the block at Op.PFN to the tail of the CPU's pcp list (mm_page_alloc_zone_locked, percpu_refill=1)
	OpPCPDrain                 // free_pcppages_bulk: the block at Op.PFN from its pcp list to the buddy allocator (mm_page_pcpu_drain)
)

var opNames = [...]string{"skip", "kmalloc", "kfree", "kmem_cache_alloc", "kmem_cache_free", "alloc_pages",
	"free_pages", "vmalloc", "vfree", "purge_vmap_area_lazy", "pcp_refill", "pcp_drain"}

func (k OpKind) String() string {
	if int(k) < len(opNames) {
		return opNames[k]
	}
	return fmt.Sprintf("OpKind(%d)", k)
}

// Skip says why a memory event line is replayed as a step that changes
// nothing.
type Skip uint8

// Reasons to skip a line, in the order stats list them.
const (
	SkipNone         Skip = iota
	SkipBeforeTrace       // a free of something allocated before the trace began
	SkipDuplicate         // mm_page_free_batched of a page mm_page_free already freed (6.x traces both)
	SkipSlabPage          // a page SLUB took or gave back for a slab: allocviz's SLUB makes its own
	SkipLargePages        // the pages of a large kmalloc: allocviz's kmalloc takes and frees them itself
	SkipVmallocPage       // a page behind a vmalloc area: allocviz's vmalloc takes and frees its own
	SkipFailed            // an allocation that failed in the traced kernel
	SkipPartial           // a page free that does not match the block the trace allocated there
	SkipVmallocArray      // the pages[] array of a vmalloc area: allocviz's vmalloc allocates its own
	SkipBuddyTake         // mm_page_alloc_zone_locked with percpu_refill=0: the block the allocation traced next takes, replayed with it
	NumSkips
)

var skipNames = [NumSkips]string{
	SkipNone:         "",
	SkipBeforeTrace:  "before the trace",
	SkipDuplicate:    "duplicate page free",
	SkipSlabPage:     "slab page",
	SkipLargePages:   "large kmalloc pages",
	SkipVmallocPage:  "vmalloc page",
	SkipFailed:       "failed in the trace",
	SkipPartial:      "part of a block",
	SkipVmallocArray: "vmalloc pages[] array",
	SkipBuddyTake:    "buddy take",
}

var skipDocs = [NumSkips]string{
	SkipNone:         "",
	SkipBeforeTrace:  "frees (and pcp drains) of something allocated before the trace began",
	SkipDuplicate:    "mm_page_free_batched of a page mm_page_free already freed: the kernel traces both",
	SkipSlabPage:     "pages SLUB took or gave back for slabs (the slab GFP signature): allocviz's SLUB makes its own",
	SkipLargePages:   "the pages of a large kmalloc: allocviz's kmalloc takes and frees them itself",
	SkipVmallocPage:  "pages behind vmalloc areas: allocviz's vmalloc takes and frees its own",
	SkipFailed:       "allocations that failed in the traced kernel",
	SkipPartial:      "page frees that do not match the block the trace allocated there (a split block)",
	SkipVmallocArray: "the pages[] array of a vmalloc area (kmalloc'ed by __vmalloc_area_node): allocviz's vmalloc allocates its own",
	SkipBuddyTake:    "mm_page_alloc_zone_locked with percpu_refill=0: the block the allocation traced next takes straight from the buddy allocator, which replaying that allocation does",
}

// String names the reason, as stats list it.
func (s Skip) String() string {
	if s < NumSkips {
		return skipNames[s]
	}
	return fmt.Sprintf("Skip(%d)", s)
}

// Doc explains the reason in a sentence.
func (s Skip) Doc() string {
	if s < NumSkips {
		return skipDocs[s]
	}
	return ""
}

// Op is one replay step: a memory event line turned into an allocator
// call (or a skip). Plan.Ops[i] is the op of the line Trace.Records[i].
type Op struct {
	Kind  OpKind
	Skip  Skip   // OpSkip: why
	Order int8   // OpPageAlloc, OpPageFree, OpPCPRefill, OpPCPDrain: the block's order
	Slot  int32  // the allocation this op makes or frees (an index in the replay's table); -1 none
	Synth int32  // an allocation to free first, with no traced free (kfree_rcu, sheaves); -1 none
	Cache int32  // OpCacheAlloc: an index in Plan.Caches
	PFN   uint64 // OpPageAlloc, OpPCPRefill, OpPCPDrain: the machine's pfn for the trace's (NoPFN: it has no place; a page allocation goes wherever the buddy allocator finds room)
}

// NoPFN is Op.PFN when a page has no place in the renumbering.
const NoPFN = ^uint64(0)

// CachePlan is a slab cache the trace uses that the machine has not got:
// created on first sight, with an object size and alignment that make its
// stride the trace's bytes_alloc.
type CachePlan struct {
	Name       string
	ObjectSize uint64 // bytes
	Align      uint64 // bytes
	Stride     uint64 // the trace's bytes_alloc: s->size
	Req        uint64 // the trace's bytes_req: s->object_size
	Exact      bool   // ObjectSize is bytes_req; false: bytes_req and the stride fit no alignment (the kernel keeps metadata after the object), ObjectSize is the stride
	Accounted  bool   // accounted=true: SLAB_ACCOUNT
	Line       int32  // where it first appears
}

// Plan is a trace turned into replay steps, by the rules in doc.go.
type Plan struct {
	Trace    *Trace
	Ops      []Op // one for each of Trace.Records, in order
	Caches   []CachePlan
	Slots    int         // allocations made; the replay keeps a table this long
	Renumber Renumbering // the trace's page frames in the machine
	Config   allocator.Config
	Stats    PlanStats
}

// PlanStats counts what the rules decided.
type PlanStats struct {
	Replayed      [NumEvents]int // lines replayed as an allocator call, by event
	Skipped       [NumSkips]int  // lines replayed as a step that changes nothing, by reason
	Synthetic     int            // synthetic frees
	SynthByCache  map[string]int // ... by cache ("kmalloc" for kmalloc objects, "pages", "vmalloc")
	SlabPages     int            // pages the traced kernel's SLUB allocated for slabs
	SlabPageAlloc int            // ... in this many allocations
	CallSites     map[Str]Bytes  // bytes allocated by call site
}

// Bytes sums allocations: how many, and their bytes_alloc.
type Bytes struct {
	N     int
	Bytes uint64
}

// PlanOptions configure Build.
type PlanOptions struct {
	// Config is the machine the user asked for; zero RAM and CPUs are
	// chosen from the trace. PageSize 0 is 4 KiB.
	Config allocator.Config
}

// live allocation kinds, by what frees them.
type liveKind uint8

const (
	liveObject  liveKind = iota // kmalloc or kmem_cache_alloc
	livePages                   // mm_page_alloc replayed as alloc_pages
	liveSlab                    // a slab page (not replayed)
	liveLarge                   // a large kmalloc's pages (not replayed)
	liveVmalloc                 // a vmalloc page (not replayed)
)

type liveObj struct {
	slot  int32
	cache int32  // Plan.Caches index, -1 for kmalloc
	pfn   uint64 // a large kmalloc's pages (linked mm_page_alloc), NoPFN if none
	skip  Skip   // not replayed, and neither is its free, for this reason
}

type livePage struct {
	slot   int32 // livePages only
	refill int32 // the OpPCPRefill that put it on a pcp list before it was allocated; -1 none
	order  int8
	kind   liveKind
}

// pcpBlock is a block on one of the traced kernel's pcp lists: put there
// by a refill (op, the OpPCPRefill) or a free (op -1), and whether that
// was replayed (skip SkipNone) or skipped, and why.
type pcpBlock struct {
	op   int32
	skip Skip
}

// planner holds the trace-level state of the rules.
type planner struct {
	p        *Plan
	t        *Trace
	objs     map[uint64]liveObj  // by the trace's pointer
	pages    map[uint64]livePage // by head pfn
	cover    map[uint64]uint64   // pfn -> head pfn, for every page of a live multi-page block
	freedBy  map[uint64]Event    // pfn -> the event that last freed it, until it is allocated again
	areas    map[uint64]int32    // vmap areas by the trace's va_start -> slot
	caches   map[Str]int32       // caches by name (or by bytes_req/bytes_alloc when unnamed)
	anon     map[[2]uint64]int32 //
	lastOp   map[int16]int32     // the last op on each CPU
	vfreeing map[int16]bool      // a free_vmap_area_noflush was the last event on the CPU: order-0 frees that follow are its pages
	pcp      map[uint64]pcpBlock // blocks on the traced kernel's pcp lists, by pfn
	pageSize uint64
	maxCache uint64 // KMALLOC_MAX_CACHE_SIZE: two pages
	live     uint64 // bytes live now, and at most
	peak     uint64
}

// Build applies the replay rules to a parsed trace.
func Build(t *Trace, o PlanOptions) *Plan {
	ps := uint64(o.Config.PageSize)
	if ps == 0 {
		ps = allocator.DefaultPageSize
	}
	p := &Plan{Trace: t, Ops: make([]Op, 0, len(t.Records))}
	p.Stats.SynthByCache = map[string]int{}
	p.Stats.CallSites = map[Str]Bytes{}
	pl := &planner{p: p, t: t, objs: map[uint64]liveObj{}, pages: map[uint64]livePage{}, cover: map[uint64]uint64{},
		freedBy: map[uint64]Event{}, areas: map[uint64]int32{}, caches: map[Str]int32{}, anon: map[[2]uint64]int32{},
		lastOp: map[int16]int32{}, vfreeing: map[int16]bool{}, pcp: map[uint64]pcpBlock{}, pageSize: ps, maxCache: 2 * ps}
	for i := range t.Records {
		r := &t.Records[i]
		op := pl.op(r)
		if op.Kind == OpSkip {
			p.Stats.Skipped[op.Skip]++
		} else {
			p.Stats.Replayed[r.Event]++
		}
		if r.Event != FreeVmapAreaNoflush && !(pl.vfreeing[r.CPU] && op.Skip == SkipVmallocPage) {
			delete(pl.vfreeing, r.CPU)
		}
		pl.lastOp[r.CPU] = int32(len(p.Ops))
		p.Ops = append(p.Ops, op)
	}
	pl.configure(o.Config)
	return p
}

// newSlot numbers a new allocation.
func (pl *planner) newSlot() int32 {
	pl.p.Slots++
	return int32(pl.p.Slots - 1)
}

func (pl *planner) op(r *Record) Op {
	op := Op{Slot: -1, Synth: -1, Cache: -1}
	switch r.Event {
	case Kmalloc, KmemCacheAlloc:
		return pl.objAlloc(op, r)
	case Kfree, KmemCacheFree:
		return pl.objFree(op, r)
	case MmPageAlloc:
		return pl.pageAlloc(op, r)
	case MmPageFree, MmPageFreeBatched:
		op = pl.pageFree(op, r)
		if op.Skip != SkipDuplicate { // the one free traced twice adds nothing
			pl.freedToPCP(r, op.Skip)
		}
		return op
	case AllocVmapArea:
		vm := &pl.t.Vmap[r.Vmap]
		if vm.Failed {
			op.Skip = SkipFailed
			return op
		}
		if old, ok := pl.areas[vm.VAStart]; ok {
			op.Synth = old
			pl.synthetic("vmalloc")
		}
		op.Kind, op.Slot = OpVmalloc, pl.newSlot()
		pl.areas[vm.VAStart] = op.Slot
		pl.grow(vm.Size)
		return op
	case FreeVmapAreaNoflush:
		vm := &pl.t.Vmap[r.Vmap]
		pl.vfreeing[r.CPU] = true
		slot, ok := pl.areas[vm.VAStart]
		if !ok {
			op.Skip = SkipBeforeTrace
			return op
		}
		delete(pl.areas, vm.VAStart)
		op.Kind, op.Slot = OpVfree, slot
		return op
	case PurgeVmapAreaLazy, VmUnmapAliases:
		op.Kind = OpPurge
		return op
	case MmPageAllocZoneLocked:
		if !r.Refill {
			op.Skip = SkipBuddyTake
			return op
		}
		op.Kind, op.Order = OpPCPRefill, r.Order
		pl.pcp[r.PFN] = pcpBlock{op: int32(len(pl.p.Ops))}
		return op
	case MmPagePcpuDrain:
		b, ok := pl.pcp[r.PFN]
		delete(pl.pcp, r.PFN)
		switch {
		case !ok:
			op.Skip = SkipBeforeTrace
		case b.skip != SkipNone:
			op.Skip = b.skip
		default:
			op.Kind, op.Order = OpPCPDrain, r.Order
		}
		return op
	}
	panic(fmt.Sprintf("ktrace: no rule for %v", r.Event))
}

// objAlloc: kmalloc and kmem_cache_alloc.
func (pl *planner) objAlloc(op Op, r *Record) Op {
	if r.Ptr == 0 {
		op.Skip = SkipFailed
		return op
	}
	if old, ok := pl.objs[r.Ptr]; ok {
		// Allocated again with no free traced: kfree_rcu and a sheaf's
		// bulk free emit no per-object event.
		op.Synth = old.slot
		name := "kmalloc"
		if old.cache >= 0 {
			name = pl.p.Caches[old.cache].Name
		}
		pl.synthetic(name)
		pl.shrink(pl.objBytes(old))
	}
	if r.Event == Kmalloc && pl.vmallocArray(r) {
		op.Skip = SkipVmallocArray
		pl.objs[r.Ptr] = liveObj{slot: -1, cache: -1, pfn: NoPFN, skip: op.Skip}
		return op
	}
	op.Slot = pl.newSlot()
	lo := liveObj{slot: op.Slot, cache: -1, pfn: NoPFN}
	if r.Event == Kmalloc {
		op.Kind = OpKmalloc
		if r.BytesAlloc > pl.maxCache {
			lo.pfn = pl.claimLargePages(r)
		}
	} else {
		op.Kind = OpCacheAlloc
		op.Cache = pl.cache(r)
		lo.cache = op.Cache
	}
	pl.objs[r.Ptr] = lo
	pl.grow(r.BytesAlloc)
	cs := pl.p.Stats.CallSites[r.CallSite]
	cs.N++
	cs.Bytes += r.BytesAlloc
	pl.p.Stats.CallSites[r.CallSite] = cs
	return op
}

// objBytes is the size a live object was allocated with.
func (pl *planner) objBytes(o liveObj) uint64 {
	if o.cache >= 0 {
		return pl.p.Caches[o.cache].Stride
	}
	return 0 // kmalloc sizes are not kept; the estimate only needs the order of magnitude
}

// claimLargePages links a large kmalloc to the mm_page_alloc just before
// it on the same CPU (__kmalloc_large_node traces the pages first): those
// pages are the kmalloc's, which allocviz's kmalloc takes itself.
func (pl *planner) claimLargePages(r *Record) uint64 {
	i, ok := pl.lastOp[r.CPU]
	if !ok {
		return NoPFN
	}
	prev := &pl.p.Ops[i]
	pr := &pl.t.Records[i]
	if prev.Kind != OpPageAlloc || pr.Event != MmPageAlloc || pl.pageSize<<uint(pr.Order) != r.BytesAlloc {
		return NoPFN
	}
	pl.p.Stats.Replayed[MmPageAlloc]--
	pl.p.Stats.Skipped[SkipLargePages]++
	*prev = Op{Kind: OpSkip, Skip: SkipLargePages, Slot: -1, Synth: prev.Synth, Cache: -1}
	lp := pl.pages[pr.PFN]
	lp.kind, lp.slot = liveLarge, -1
	pl.pages[pr.PFN] = lp
	pl.skipRefill(lp.refill, SkipLargePages)
	pl.shrink(pl.pageSize << uint(pr.Order))
	return pr.PFN
}

// vmallocArray reports whether a kmalloc is the pages[] array of the
// vmalloc area the same CPU just made: __vmalloc_area_node (inlined into
// __vmalloc_node_range_noprof) allocates it right after alloc_vmap_area.
func (pl *planner) vmallocArray(r *Record) bool {
	i, ok := pl.lastOp[r.CPU]
	if !ok || pl.p.Ops[i].Kind != OpVmalloc {
		return false
	}
	cs := pl.t.Str(r.CallSite)
	return strings.HasPrefix(cs, "__vmalloc_area_node") || strings.HasPrefix(cs, "__vmalloc_node_range")
}

// cache finds or plans the cache of a kmem_cache_alloc.
func (pl *planner) cache(r *Record) int32 {
	if r.Cache != 0 {
		if c, ok := pl.caches[r.Cache]; ok {
			return c
		}
	} else if c, ok := pl.anon[[2]uint64{r.BytesReq, r.BytesAlloc}]; ok {
		return c
	}
	name := pl.t.Str(r.Cache)
	if name == "" {
		// Before 6.x kmem_cache_alloc did not name its cache: caches of
		// one geometry become one, as SLUB's merging would make them.
		name = fmt.Sprintf("cache-%d", r.BytesAlloc)
		if r.BytesReq != r.BytesAlloc {
			name = fmt.Sprintf("cache-%d-%d", r.BytesReq, r.BytesAlloc)
		}
	}
	obj, align, exact := inferGeometry(r.BytesReq, r.BytesAlloc, pl.pageSize)
	c := int32(len(pl.p.Caches))
	pl.p.Caches = append(pl.p.Caches, CachePlan{Name: name, ObjectSize: obj, Align: align, Stride: r.BytesAlloc,
		Req: r.BytesReq, Exact: exact, Accounted: r.Accounted == 1, Line: r.Line})
	if r.Cache != 0 {
		pl.caches[r.Cache] = c
	} else {
		pl.anon[[2]uint64{r.BytesReq, r.BytesAlloc}] = c
	}
	return c
}

// inferGeometry finds an object size and alignment whose stride is
// alloc: SLUB's s->size is ALIGN(ALIGN(object_size, sizeof(void *)),
// align) when the free pointer is inside the free object
// (mm/slub.c: calculate_sizes, 6.18). The smallest alignment that gives
// alloc wins. When none does, the kernel keeps the free pointer after
// the object (a constructor, SLAB_TYPESAFE_BY_RCU) or debug metadata:
// then the object is the whole stride.
func inferGeometry(req, alloc, pageSize uint64) (obj, align uint64, exact bool) {
	if req == 0 || alloc == 0 {
		return max(alloc, 8), 8, false
	}
	inuse := (req + 7) &^ 7
	for a := uint64(8); a <= pageSize && a <= alloc; a <<= 1 {
		if (inuse+a-1)&^(a-1) == alloc {
			return req, a, true
		}
	}
	return alloc, 8, false
}

// objFree: kfree and kmem_cache_free.
func (pl *planner) objFree(op Op, r *Record) Op {
	if r.Ptr == 0 {
		if r.Event == Kfree {
			op.Kind = OpKfree // kfree(NULL) is traced and does nothing, as allocviz's does
			return op
		}
		op.Skip = SkipBeforeTrace
		return op
	}
	o, ok := pl.objs[r.Ptr]
	if !ok {
		op.Skip = SkipBeforeTrace
		return op
	}
	delete(pl.objs, r.Ptr)
	if o.skip != SkipNone {
		op.Skip = o.skip
		return op
	}
	pl.shrink(pl.objBytes(o))
	op.Slot = o.slot
	if r.Event == Kfree {
		op.Kind = OpKfree
	} else {
		op.Kind = OpCacheFree
	}
	if o.pfn != NoPFN {
		// The large kmalloc's pages are freed next (free_large_kmalloc).
		if lp, ok := pl.pages[o.pfn]; ok && lp.kind == liveLarge {
			pl.freedBy[o.pfn] = Kfree
			pl.dropPages(o.pfn, lp)
		}
	}
	return op
}

// isSlabGFP reports the GFP signature of SLUB allocating a slab:
// allocate_slab() (mm/slub.c, 6.18) adds __GFP_NOWARN and __GFP_NORETRY
// to the cache's flags for the first, higher-order try, and slabs are
// never movable. Page cache readahead has the same two bits but is
// movable.
func isSlabGFP(g allocator.GFP) bool {
	return g&allocator.GFPNoRetry != 0 && g&allocator.GFPNoWarn != 0 && g&allocator.GFPMovable == 0
}

// isVmallocGFP reports the flags __vmalloc_area_node (mm/vmalloc.c)
// gives an area's pages: __GFP_HIGHMEM and __GFP_NOWARN on kernel
// flags, with no __GFP_HARDWALL (user pages have it) and not movable.
func isVmallocGFP(g allocator.GFP) bool {
	return g&allocator.GFPHighmem != 0 && g&allocator.GFPNoWarn != 0 && g&(allocator.GFPHardwall|allocator.GFPMovable) == 0
}

func (pl *planner) pageAlloc(op Op, r *Record) Op {
	if r.Failed {
		op.Skip = SkipFailed
		return op
	}
	op.Order = r.Order
	n := uint64(1) << uint(r.Order)
	// A page allocated again with no traced free, or overlapping a live
	// block: the old block is freed first.
	for pfn := r.PFN; pfn < r.PFN+n; pfn++ {
		head, ok := pl.cover[pfn]
		if !ok {
			if _, ok := pl.pages[pfn]; ok {
				head = pfn
			} else {
				continue
			}
		}
		lp := pl.pages[head]
		if lp.kind == livePages && op.Synth < 0 {
			op.Synth = lp.slot
			pl.synthetic("pages")
		}
		pl.dropPages(head, lp)
	}
	delete(pl.freedBy, r.PFN)
	lp := livePage{order: r.Order, slot: -1, refill: -1}
	if b, ok := pl.pcp[r.PFN]; ok {
		// The block leaves the pcp list it was on.
		delete(pl.pcp, r.PFN)
		lp.refill = b.op
	}
	switch {
	case isSlabGFP(r.GFP):
		lp.kind = liveSlab
		op.Skip = SkipSlabPage
		pl.p.Stats.SlabPages += int(n)
		pl.p.Stats.SlabPageAlloc++
	case isVmallocGFP(r.GFP):
		lp.kind = liveVmalloc
		op.Skip = SkipVmallocPage
	default:
		lp.kind = livePages
		op.Kind = OpPageAlloc
		lp.slot = pl.newSlot()
		op.Slot = lp.slot
		pl.grow(n * pl.pageSize)
	}
	pl.pages[r.PFN] = lp
	for pfn := r.PFN + 1; pfn < r.PFN+n; pfn++ {
		pl.cover[pfn] = r.PFN
	}
	if op.Skip != SkipNone {
		pl.skipRefill(lp.refill, op.Skip)
	}
	return op
}

// skipRefill turns the refill op i (-1: none) into a skip: the block it
// put on a pcp list went to an allocation that is not replayed (a slab
// page, a vmalloc page, a large kmalloc), which allocviz makes itself.
func (pl *planner) skipRefill(i int32, why Skip) {
	if i < 0 || pl.p.Ops[i].Kind != OpPCPRefill {
		return
	}
	pl.p.Stats.Replayed[MmPageAllocZoneLocked]--
	pl.p.Stats.Skipped[why]++
	pl.p.Ops[i].Kind, pl.p.Ops[i].Skip = OpSkip, why
}

// dropPages forgets a live block.
func (pl *planner) dropPages(head uint64, lp livePage) {
	delete(pl.pages, head)
	for pfn := head + 1; pfn < head+1<<uint(lp.order); pfn++ {
		delete(pl.cover, pfn)
	}
	if lp.kind == livePages {
		pl.shrink(pl.pageSize << uint(lp.order))
	}
}

func (pl *planner) pageFree(op Op, r *Record) Op {
	other := MmPageFreeBatched
	if r.Event == MmPageFreeBatched {
		other = MmPageFree
	}
	lp, ok := pl.pages[r.PFN]
	switch {
	case !ok && pl.freedBy[r.PFN] == other:
		// free_unref_folios traces both events for one free.
		op.Skip = SkipDuplicate
		delete(pl.freedBy, r.PFN)
		return op
	case !ok && pl.freedBy[r.PFN] == Kfree:
		op.Skip = SkipLargePages
		delete(pl.freedBy, r.PFN)
		return op
	case !ok:
		if _, inside := pl.cover[r.PFN]; inside {
			op.Skip = SkipPartial
			return op
		}
		op.Skip = SkipBeforeTrace
		if pl.vfreeing[r.CPU] && r.Order == 0 {
			op.Skip = SkipVmallocPage
		}
		pl.freedBy[r.PFN] = r.Event
		return op
	case r.Event == MmPageFree && lp.order != r.Order:
		op.Skip = SkipPartial
		return op
	}
	pl.dropPages(r.PFN, lp)
	pl.freedBy[r.PFN] = r.Event
	switch lp.kind {
	case liveSlab:
		op.Skip = SkipSlabPage
	case liveLarge:
		op.Skip = SkipLargePages
	case liveVmalloc:
		op.Skip = SkipVmallocPage
	default:
		op.Kind, op.Slot, op.Order = OpPageFree, lp.slot, lp.order
	}
	return op
}

// freedToPCP notes a freed block of an order the pcp lists take: it is on
// the freeing CPU's list until an allocation or a drain takes it, and a
// drain of it is replayed only if its free was (why is SkipNone).
func (pl *planner) freedToPCP(r *Record, why Skip) {
	if allocator.PCPAllowedOrder(int(r.Order), pl.pageSize) {
		pl.pcp[r.PFN] = pcpBlock{op: -1, skip: why}
	}
}

func (pl *planner) synthetic(what string) {
	pl.p.Stats.Synthetic++
	pl.p.Stats.SynthByCache[what]++
}

func (pl *planner) grow(n uint64) {
	pl.live += n
	pl.peak = max(pl.peak, pl.live)
}

func (pl *planner) shrink(n uint64) { pl.live -= min(n, pl.live) }

// configure chooses the machine (the user's Config wins where set) and
// renumbers the page frames into it.
func (pl *planner) configure(c allocator.Config) {
	p := pl.p
	if c.PageSize == 0 {
		c.PageSize = int(pl.pageSize)
	}
	if c.CPUs == 0 {
		c.CPUs = min(max(pl.t.CPUs, 1), allocator.MaxCPUs)
	}
	var heads []Block
	for i := range p.Ops {
		if op := &p.Ops[i]; op.Kind == OpPageAlloc || op.Kind == OpPCPRefill {
			heads = append(heads, Block{PFN: pl.t.Records[i].PFN, Order: op.Order})
		}
	}
	// allocviz's own allocations (slabs, large kmallocs, vmalloc pages)
	// come from the bottom of RAM: twice the most the trace had live, a
	// slab per CPU for every cache, and 8 MiB for the rest.
	nCaches := uint64(len(p.Caches) + 60)
	own := 2*pl.peak + nCaches*uint64(c.CPUs)*8*pl.pageSize + 8*allocator.MiB
	p.Renumber = Renumber(heads, uint64(c.RAM)/pl.pageSize, own/pl.pageSize, pl.pageSize)
	if c.RAM == 0 {
		c.RAM = int64(p.Renumber.Pages * pl.pageSize)
	}
	for i := range p.Ops {
		if op := &p.Ops[i]; op.Kind == OpPageAlloc || op.Kind == OpPCPRefill || op.Kind == OpPCPDrain {
			op.PFN = p.Renumber.PFN(pl.t.Records[i].PFN)
		}
	}
	p.Config = c
}

package allocator

// EventKind says what an Event records. Kinds are declared here and
// described in one table (kinds, eventkinds.go): name, class, the fields
// each uses and the sentence that explains it, so every allocator and every
// consumer (heapview, the interface, --json) shares one vocabulary. Each
// kind's comment names the Event accessors it sets.
type EventKind uint8

// Event kinds.
const (
	EvNone EventKind = iota

	// Script and machine.
	EvStep  // a script step begins: Step (its number), Src (file:line:col; a trace's line: file:line), Label (a trace's line: its time, task-pid, CPU and call site), Op (the call as written)
	EvSay   // narration: Text
	EvCheck // check(): Text (message), Decision DecisionOK or DecisionFailed
	EvCPU   // the current CPU changed: CPU (new), PrevCPU
	EvWarn  // a kernel WARN or pr_warn: Text (the kernel's wording)
	EvBoot  // machine created: Size (RAM bytes), PageSize, Text (config)

	// Buddy page allocator.
	EvReserve   // pages reserved at boot: PFN, Pages, Owner, Text (why)
	EvSplit     // a free block of Order at PFN is halved; the upper half (order Order-1) goes to the free list (Path "upper": the lower half does, and the upper half is kept: AllocPagesAt)
	EvMerge     // the blocks at PFN and PFN^(1<<Order) (both order Order) merge into one of Order+1 at min(PFN, buddy)
	EvPageAlloc // block allocated: PFN, Order, Owner, GFP, Addr (direct map), Bytes, FromOrder (the free block split for it; -1: the head of this CPU's pcp list), Text (rule)
	EvPageFree  // block freed: PFN, Order, Owner (previous; OwnerFree for the blocks boot frees), Addr, FinalOrder (the order it merges to; -1: it went to the head of this CPU's pcp list, for its pageblock's type), Text, Synthetic
	EvPageFail  // no block could be had: Order, GFP, LargestOrder (-1 if nothing is free), Text (why: watermarks, no block, no reclaim)
	EvBadFree   // a free that was not obeyed: Addr, PFN, Order, Text (the report)

	// Zones, pageblocks and per-CPU lists (pagealloc.go). The buddy's own
	// events above carry the migrate type of the list in Migrate: EvSplit
	// (the list the upper half joins), EvMerge (the merged block's list).
	EvZone      // boot: a populated zone: Zone, PFN (zone_start_pfn), Size (spanned pages), Bytes (present pages), Pages (managed), Text (watermarks, pcp sizes)
	EvPageblock // Pageblocks pageblocks from PFN change migrate type to Migrate (a claim, a HighAtomic reserve, or a merge matching its buddy)
	EvPCPRefill // mm_page_alloc_zone_locked with percpu_refill=1: the free order-Order block at PFN leaves the Migrate free list for the tail of CPU ListCPU's pcp list
	EvPCPDrain  // mm_page_pcpu_drain: the order-Order block at PFN leaves CPU ListCPU's pcp list for the Migrate free lists (merges follow as EvMerge)
	EvClaim     // fallback (mm_page_alloc_extfrag): an allocation of type Want found none of its own and took over the pageblock(s) of the free order-Order block at PFN from Migrate (EvPageblock follows)
	EvSteal     // fallback: an allocation of type Want took the free order-Order block at PFN from a Migrate pageblock, which keeps its type
	EvDrainAll  // drain_all_pages(): every CPU's pcp lists go back to the buddy allocator (EvPCPDrain for each block)

	// SLUB. The sequences per operation, enough to rebuild every slab and
	// every object from the events alone (see TestSlubEventsRebuildState):
	//
	//   boot:               EvCacheCreate for each kmalloc cache, creation order.
	//   kmem_cache_create:  EvCacheCreate.
	//   kmalloc(n), n <= KMALLOC_MAX_CACHE_SIZE, and kmem_cache_alloc:
	//     [slow path] EvSlabList for each slab that changes list (the cpu slab
	//       going full, per-CPU or node partial slabs becoming the cpu slab or
	//       per-CPU partial, drains to the node), EvSlabDiscard (+ the buddy's
	//       EvPageFree) for empty slabs dropped on the way;
	//     [new slab] the buddy's EvSplit/EvPageAlloc, EvSlabNew, then EvSlabList
	//       (ListCPU; a debug cache: ListNodePartial or a full list);
	//     [debug cache, failed check] EvSlubReport, EvObjAlloc Path "lost" for
	//       each free object the repair took away, EvSlabList ListFull;
	//     EvObjAlloc (Path: which path), then EvKmalloc (kmalloc only).
	//     kmalloc(0) emits nothing; a failure emits EvKmalloc with Addr 0.
	//   kmalloc(n) above it: the buddy's events (Owner large kmalloc), EvKmalloc
	//     with Cache "".
	//   kfree(p): EvKfree (also for NULL); then EvObjFree and its consequences
	//     (EvSlabList, EvSlabDiscard + EvPageFree), or for a large kmalloc the
	//     buddy's EvPageFree; misuse: EvSlubReport or EvBadFree and no change.
	//     A debug cache may first emit EvSlubReport (with EvObjFree Path
	//     "repair" / EvObjAlloc Path "lost" when its repairs moved objects).
	//   kmem_cache_free: as kfree without EvKfree.
	//   krealloc: the EvKmalloc/EvObjAlloc of the new object and the EvKfree/
	//     EvObjFree of the old one when it moves, then EvRealloc last.
	//   kmem_cache_destroy: EvSlabList/EvSlabDiscard of the flush, EvSlubReport
	//     for leaked objects, EvSlabDiscard of empty slabs, EvWarn if busy,
	//     EvCacheDestroy. A busy cache's slabs stay (leaked), still live.
	//   validate_slab_cache: the flush, then EvSlubReport if anything was found.
	//
	// kvmalloc (kvmalloc.go), after the events of the path it took:
	//
	//   kvmalloc: the kmalloc attempt's events (EvKmalloc with Addr 0 when it
	//     failed), then, on the fallback, vmalloc's (EvVmapAlloc), then one
	//     EvKvmalloc naming the path; Addr 0 when nothing could be had.
	//   kvfree: kfree's or vfree's events; kvfree itself emits none.
	//   kvrealloc: the EvRealloc of the krealloc or vrealloc it calls, marked
	//     Realloc.Within "kvrealloc"; on the fallback the kvmalloc events, the
	//     copy, kfree's events; then its own EvRealloc (Func "kvrealloc"),
	//     last. Only that one is the call's decision: a consumer counting
	//     realloc decisions skips those with Within set.
	// Object i of a slab is at EvSlabNew.Addr + i * EvCacheCreate.Bytes.
	EvCacheCreate  // kmem_cache_create: Cache, Size (object_size), Bytes (s->size), Order, Objects (per slab), Text (geometry rule)
	EvCacheDestroy // kmem_cache_destroy: Cache, Text
	EvSlabNew      // new slab from the buddy allocator: Cache, PFN, Order, Objects, Addr (first object), Bytes (s->size), PFNs (a shuffled freelist only: its object indexes in order), Text
	EvSlabDiscard  // empty slab returned to the buddy allocator: Cache, PFN, Order, Text (min_partial rule)
	EvSlabList     // a slab moved between lists: Cache, PFN, List (new), ListCPU (CPU for per-CPU lists, else -1), Path (ListNodePartial: "head" or "tail", the end it joined; a per-CPU partial list is always joined at the head), Text
	EvObjAlloc     // object handed out (Path "lost": taken off the freelists by a repair): Cache, Addr, PFN (slab), Object (index in the slab), Size (requested), Bytes (s->size), Path, GFP, Text
	EvObjFree      // object freed (Path "repair": put back on the freelist by a repair): Cache, Addr, PFN (slab), Object (index in the slab), Path, Text, Synthetic
	EvKmalloc      // kmem:kmalloc tracepoint: Addr, Size (bytes_req), Bytes (bytes_alloc), GFP, Cache ("" for large kmalloc), Text (size class rule)
	EvKfree        // kmem:kfree tracepoint: Addr
	EvSlubReport   // SLUB report: Cache, Addr, Text (what the kernel prints; "allocviz:" lines are allocviz's own), Errors (as slub_kunit counts them)

	// Reallocation.
	EvRealloc // a realloc decision: Realloc, Addr (new), Size (new size), Text (the rule)

	// vmalloc.
	EvVmapAlloc // a vmap area: Addr (start), Bytes (size with guard page), Size (requested), Pages, PFNs, Src (vm->caller in %pS shape), Op (the entry point called), Path (its /proc/vmallocinfo flag words), GFP, Text
	EvVmapFree  // a vmap area is unmapped and its pages freed; its range [Addr, Addr+Bytes) stays taken ("unpurged") until EvVmapPurge: Addr, Bytes, Size (requested), Pages, PFNs, Text, Synthetic
	EvVmapPurge // every unpurged range is free again (lazy purge): Areas, Bytes (address space), Text
	EvGuardHit  // an access faulted on a guard page or unmapped vmalloc address: Addr, Text
	EvKvmalloc  // kvmalloc's path decision: Addr, Size, GFP, Path, Text

	// Rust allocator API, KBox and KVec.
	EvVecOp // a Vec or Box operation: Op, Addr (buffer), Size (len), Bytes (capacity in bytes), Capacity (-1 for zero-sized elements, whose capacity is usize::MAX; 1 for a Box), Cause and Realloc (the realloc it caused, if any), Text

	// Misuse of an API that is reported, not obeyed (out of bounds, use after
	// free, wrong allocator): Addr, Text.
	EvMisuse

	// Fault injection (faultinject.go).
	EvFaultConfig // failslab's or fail_page_alloc's knobs were set (a script, a boot option): Text (the knobs)
	EvFaultInject // failslab or fail_page_alloc failed an allocation on purpose: Cache (failslab), Order (fail_page_alloc), GFP, Size (what should_fail_ex was given: object_size, or pages), Text (the rule)

	// Quizzes: a script's question and, after the step it asks about, the
	// answer the machine gave.
	EvAsk    // ask(): Question (its number in the run), Text (the question), Choices (none: a free answer)
	EvAnswer // the answer to question Question, from what the step just taken did: Text (the answer, as a choice reads)

	numEventKinds
)

// Decision is the outcome of a realloc or a check.
type Decision uint8

// Decisions.
const (
	DecisionNone          Decision = iota
	DecisionGrownInPlace           // the new size fits the existing allocation and is larger
	DecisionShrunkInPlace          // the new size fits and is not larger
	DecisionMoved                  // a new allocation, a copy, and a free of the old one
	DecisionNew                    // no old allocation (NULL or zero-size old layout): a fresh allocation
	DecisionFreed                  // new size 0: the old allocation was freed
	DecisionFailed                 // the new allocation failed; the old one is untouched
	DecisionOK                     // a check passed
)

var decisionNames = [...]string{"", "grown in place", "shrunk in place", "moved", "new", "freed", "failed", "ok"}

func (d Decision) String() string {
	if int(d) < len(decisionNames) {
		return decisionNames[d]
	}
	return "unknown"
}

// SlabList says which list a slab is on (mm/slub.c). Transitions: a new
// slab becomes ListCPU (a debug cache's: ListNodePartial, or ListFull);
// ListCPU -> ListFull when its freelist is taken and exhausted, or ->
// ListNodePartial when deactivated; ListFull -> ListCPUPartial or
// ListNodePartial when an object comes back; ListCPUPartial -> ListCPU or
// ListNodePartial; ListNodePartial -> ListCPU, ListCPUPartial or ListFull;
// any empty slab not kept -> discarded (EvSlabDiscard).
type SlabList uint8

// Slab lists.
const (
	ListNone        SlabList = iota // on no list (discarded, or not yet placed)
	ListCPU                         // the CPU slab of Event.ListCPU's CPU
	ListCPUPartial                  // the per-CPU partial list of Event.ListCPU's CPU
	ListNodePartial                 // the node's partial list
	ListFull                        // full: on no list, or on the node full list of a SLAB_STORE_USER debug cache; also a slab disabled by a failed check
)

var slabListNames = [...]string{"none", "cpu", "cpu-partial", "node-partial", "full"}

func (l SlabList) String() string {
	if int(l) < len(slabListNames) {
		return slabListNames[l]
	}
	return "unknown"
}

// ReallocInfo is the whole of one realloc decision (krealloc, vrealloc,
// kvrealloc, or an Allocator.Realloc on top of them).
type ReallocInfo struct {
	Func     string   // "krealloc", "vrealloc", "kvrealloc"
	Within   string   // the call this decision is part of ("kvrealloc"), "" for a call's own decision
	Old      Addr     // old address (0 or ZeroSizePtr: none)
	OldSize  uint64   // bytes: the old requested size where known, else OldCap
	OldCap   uint64   // bytes: ksize(old) or the old area's usable size
	New      Addr     // the address returned (0 on failure)
	NewSize  uint64   // bytes requested
	NewCap   uint64   // bytes: ksize(new) or the new area's usable size
	Decision Decision // what happened
	Copied   uint64   // bytes copied to a new allocation
	Zeroed   uint64   // bytes zeroed
	Bucket   string   // kmalloc cache of the result, or "vmalloc", or "pages"
}

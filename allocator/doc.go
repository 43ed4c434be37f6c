// Package allocator is a simulated machine running the Linux kernel's
// memory allocators over real memory: the buddy page allocator, SLUB with
// the kmalloc family, vmalloc, and the Rust Allocator trait on top of
// them. Every state change is an Event, so a viewer can replay it.
//
// This overview follows the Go runtime's malloc.go: a dictionary of the
// data structures, then the allocation and free paths step by step. The
// numbers and rules are the kernel's: docs/fidelity.md lists them with the
// kernel source each comes from, and each doc comment names the kernel
// function it follows. Where allocviz does something the kernel does not,
// the doc comment says so and docs/fidelity.md lists it.
//
// # Data structures
//
//	Machine       one simulated computer, owned by one goroutine: RAM, the
//	              page array, the zone, SLUB, vmalloc, the event log.
//	physMem       RAM: a memory file mapped once (the direct map); pfn N is
//	              ram[N*PAGE_SIZE:], kernel address DirectMapBase+N*PAGE_SIZE.
//	page          struct page, one per page frame: flags (buddy, head, tail,
//	              reserved, compound), order, Owner, head pfn, free-list
//	              links, the slab or vmap area it belongs to, since (Seq).
//	pageNode      the page allocator (pagealloc.go): the zones (DMA, DMA32,
//	              Normal as x86-64 lays them out), each with a free list per
//	              order and migrate type threaded through pfnState.next/prev,
//	              watermarks, lowmem_reserve and per-CPU page lists; the
//	              pageblock types; the zonelists. It emits nothing itself:
//	              it records its steps and the Machine turns them into events.
//	KmemCache     struct kmem_cache: object_size, size (the stride), align,
//	              inuse, the free pointer offset, the red zone, oo (order
//	              and objects per slab), min (the one-object order),
//	              min_partial, cpu_partial_slabs, flags, the hardening key,
//	              the shuffle sequence; per-CPU state; the node lists.
//	kmemCacheCPU  struct kmem_cache_cpu: the lockless freelist, the cpu slab
//	              (frozen), the per-CPU partial list (linked by slab.next).
//	slab          struct slab: 1 << order pages of one cache, objects,
//	              inuse, the slab freelist, frozen, which list it is on.
//	              The freelists live in the free objects' own memory, at
//	              s->offset, obfuscated with CONFIG_SLAB_FREELIST_HARDENED.
//	slabList      kmem_cache_node's partial list (and full list for
//	              SLAB_STORE_USER caches), doubly linked through the slabs.
//	objMeta       allocviz's own record of each object (state, requested
//	              size, since): not in the kernel; it lets allocviz refuse
//	              double and invalid frees and catch corrupted freelists
//	              the kernel would follow.
//	largeKmalloc  a kmalloc above KMALLOC_MAX_CACHE_SIZE: its pages and the
//	              requested size.
//	vmArea        a vm_struct with its vmap_area: the range (guard page
//	              included), the requested size, the pfns mapped, and the
//	              pages[] array (kmalloc'ed up to a page, else vmalloc'ed).
//	kvState       kvmalloc's once-only INT_MAX warning, and which kvrealloc
//	              a krealloc or vrealloc decision is part of.
//	EventLog      the caller's append-only list of events (eventlog.go).
//	              Each is a record: 48 bytes, no pointers, its sequence
//	              number its position, its step that of the EvStep before
//	              it. Strings are ids in the log's string table (strtab.go);
//	              what varies in length (a vmap area's pages, a realloc
//	              decision, a Vec operation) is in a side table the record
//	              indexes. Records are encoded as they arrive, in runs of
//	              256 held in 64 KiB chunks (recblocks.go): each record as
//	              the words that differ from the last of its kind in the
//	              run, so a log takes a few bytes an event and never moves.
//	Event         one event read back (EventLog.At): its kind, the typed
//	              accessors of the fields that kind has, and its sentence
//	              (Text), written from the fields when it is asked for.
//	kinds         the kind table (eventkinds.go): for each EventKind its
//	              name, Class, fields, where its record keeps its strings,
//	              count and lists, and the function that writes its
//	              sentence (eventtext.go). --json (eventjson.go) writes and
//	              reads events field by field from it.
//
// # Allocating pages (alloc_pages; buddy.go, pagealloc.go)
//
//  1. The zone from the GFP flags (gfp_zone), its zonelist (that zone and
//     the populated ones below it), the migrate type (gfp_migratetype).
//  2. Walk the zonelist (get_page_from_freelist): a zone must be above the
//     watermark the pass allows plus its lowmem_reserve. Orders up to
//     PAGE_ALLOC_COSTLY_ORDER (and the THP order) come off the head of the CPU's pcp list,
//     refilled by rmqueue_bulk (EvPCPRefill) when empty; larger ones from
//     the free lists (__rmqueue_smallest: split down by expand(), the
//     upper halves to the lists below, EvSplit), else a fallback type's
//     block, claiming its pageblock or stealing the block (EvClaim,
//     EvSteal, EvPageblock).
//  3. Passes: the low watermark, then the flags' own (min, lowered for
//     __GFP_HIGH and GFP_ATOMIC), then for a caller that may block once
//     more after drain_all_pages (EvDrainAll). Nothing left is a failure
//     (EvPageFail, whose rule names each zone's watermark, and warn_alloc
//     unless __GFP_NOWARN).
//  4. Mark the head and tail pages with the owner (pages, slab, large
//     kmalloc, vmalloc), zero them for __GFP_ZERO, and emit EvPageAlloc.
//
// # Freeing pages (free_pages; buddy.go, pagealloc.go)
//
//  1. Check the address is the head of an allocated block of that order
//     and owner; anything else is reported (EvBadFree) and refused.
//  2. An order the pcp lists hold goes to the head of the CPU's list for
//     its pageblock's type, neither free nor merged; past the list's high
//     mark a batch leaves from the tails (EvPCPDrain) for step 3.
//  3. Otherwise merge with the buddy, pfn ^ (1 << order), while it is a
//     free block of the same order (EvMerge), up to MAX_PAGE_ORDER, and put
//     the result on its list: at the tail if the buddy of the block one
//     order up is free (they will likely merge soon), else at the head.
//
// # Allocating an object (kmalloc, kmem_cache_alloc; kmalloc.go, slub_alloc.go)
//
//  1. kmalloc(0) is ZERO_SIZE_PTR. Above KMALLOC_MAX_CACHE_SIZE (two pages)
//     kmalloc takes get_order(size) pages from the buddy allocator with
//     __GFP_COMP (a large kmalloc); above KMALLOC_MAX_SIZE that order
//     exceeds MAX_PAGE_ORDER and fails.
//  2. The cache: up to 192 bytes kmalloc_size_index[(size-1)/8], above it
//     fls(size-1); __GFP_DMA, __GFP_RECLAIMABLE and __GFP_ACCOUNT (in that
//     priority) pick the dma-kmalloc-, kmalloc-rcl- and kmalloc-cg- copies.
//  3. Fast path: pop the current CPU's lockless freelist.
//  4. Slow path, in order: take the cpu slab's own freelist (objects freed
//     to it from elsewhere); else the cpu slab is full (on no list) and the
//     first per-CPU partial slab becomes the cpu slab; else the first node
//     partial slab does, and up to cpu_partial_slabs/2 + 1 more move to the
//     per-CPU partial list; else a new slab from the buddy allocator, of
//     order oo without retrying, then of the one-object order min.
//  5. A debug cache (slab_debug= F, Z, P or U) has no per-CPU state: it
//     takes one object at a time from the first node partial slab or a new
//     slab, checks it (alloc_debug_processing: red zones, poison, the free
//     pointer; a failure marks the whole slab used), and writes the active
//     red zones, the track and orig_size.
//  6. __GFP_ZERO zeroes the object (only orig_size bytes of a red-zoned
//     kmalloc object); EvObjAlloc and the kmem:kmalloc EvKmalloc follow.
//
// # Freeing an object (kfree, kmem_cache_free; kmalloc.go, slub_cache.go)
//
//  1. kmem:kfree first; NULL and ZERO_SIZE_PTR end there. The page says
//     what p is: a slab object, a large kmalloc (its pages go back to the
//     buddy allocator), or misuse, reported and refused.
//  2. A debug cache runs free_debug_processing(): the slab has objects in
//     use, and with F the pointer is an object, not already free (walking
//     the freelist in memory), with intact red zones; any failure is the
//     kernel's report ending in "Object at ... not freed".
//  3. allocviz's own check: p is the start of an allocated object, so a
//     double or invalid free is refused even without slab_debug.
//  4. Fast path: an object of the current CPU's cpu slab goes on the
//     lockless freelist (LIFO: it is the next one handed out).
//  5. Slow path: onto the slab's freelist. A slab that was full goes to the
//     head of the current CPU's partial list; if that list already holds
//     cpu_partial_slabs slabs, they drain to the node partial list first.
//     A node partial slab that becomes empty is discarded when the node
//     has min_partial partial slabs, else it is kept.
//  6. A debug cache frees to the node lists directly (free_to_partial_list).
//
// # Resizing (krealloc, krealloc.go)
//
// krealloc(p, 0) frees; krealloc(NULL, n) is kmalloc(n). The newest
// kernels keep p when the new size fits s->object_size (or the large
// kmalloc's folio) and p is aligned as asked, zeroing the spare bytes for
// __GFP_ZERO and moving the kmalloc red zone; otherwise they kmalloc, copy
// min(new size, old size) and kfree. 6.12 decided by ksize() and copied
// the whole old ksize. A failure leaves p untouched. Each call emits one
// EvRealloc with the decision and the rule.
//
// # kvmalloc, kvfree, kvrealloc (kvmalloc.go)
//
//  1. kvmalloc tries kmalloc first with kmalloc_gfp_adjust()'s flags (above
//     a page: __GFP_NOWARN, no __GFP_NOFAIL, and __GFP_NORETRY in 6.12 or
//     no __GFP_DIRECT_RECLAIM since 6.16), whatever the alignment.
//  2. Success, or failure at one page or less, is final. Flags that cannot
//     block (GFP_ATOMIC, GFP_NOWAIT) and sizes above INT_MAX get no
//     fallback; anything else is vmalloc'ed with VM_ALLOW_HUGE_VMAP.
//     EvKvmalloc says which path and why.
//  3. kvfree picks vfree or kfree by address (is_vmalloc_addr).
//  4. kvrealloc: vmalloc memory goes to vrealloc; anything else to
//     krealloc with the adjusted flags and, if that fails, kvmalloc, a
//     copy of ksize(p) (newest: min(size, ksize(p))) and kfree. The inner
//     krealloc/vrealloc decision is marked Within "kvrealloc"; kvrealloc's
//     own EvRealloc comes last.
//
// # The Rust Allocator trait, Box and Vec (contract.go, rawvec.go, rawbox.go)
//
//  1. Kmalloc, Vmalloc and KVmalloc implement Allocator through
//     ReallocFunc::call on krealloc, vrealloc and kvrealloc.
//  2. RawVec is the kernel's Vec for an element layout known at run time,
//     and the one implementation: Vec[T] is a typed view of it. A grow
//     reallocs to max(2 * capacity, len + additional) elements; nothing
//     shrinks but IntoIter().Collect; a failed grow changes nothing.
//     Each operation emits an EvVecOp linked (Cause, Realloc) to the
//     EvRealloc of the realloc it caused.
//  3. RawBox is Box the same way: Alloc of the value's layout, Free with
//     it; using a Box that is gone is an EvMisuse. KBox, VBox, KVBox,
//     KVec, VVec and KVVec construct them over the three allocators.
//
// # Flushing and destroying (flush_all, kmem_cache_destroy)
//
// flush_all deactivates every CPU's cpu slab (its lockless freelist is
// spliced back into the slab, which goes to the node partial list, is
// discarded, or is full) and moves every per-CPU partial slab to the node.
// validate_slab_cache and kmem_cache_destroy flush first. Destroying a
// cache with live objects reports them, unlists the cache and leaks its
// slabs, as the kernel does.
//
// # Recording an event (eventlog.go, eventkinds.go)
//
//  1. With recording off (no log) nothing is built: code that would
//     format or intern anything for an event checks m.tracing() first.
//  2. The hot paths (buddy, the SLUB fast paths, kmalloc and kfree) call
//     putWords with the fields in registers; the others build a record and
//     call emit. Either stamps the CPU and encodes it at the end of the
//     log; a string becomes an id (m.str), a list or decision a side-table
//     index.
//  3. Nothing is written as text. Event.Text asks the kind's text
//     function, which writes the sentence from the fields (the buddy
//     allocator's, SLUB's and kmalloc's); only words that are data (a
//     script's narration, the kernel's report, a realloc's rule) are
//     stored, interned. heapview, the interface, allocviz run and --json
//     ask the same table, so a sentence is worded once.
//
// # Adding an event kind
//
// A new kind is three edits, plus the line of busyLog (eventlog_test.go)
// that makes one:
//
//  1. The kind: a constant before numEventKinds in event.go, and its entry
//     in kindTable (eventkinds.go): name (what --json and the event log
//     print), class, the fields it has (fields; the count slot, count; the
//     slots of its strings and lists: path, src, op, pfns, realloc,
//     cause), and its sentence: text, a function of the fields, or stored
//     (the slot of words that are data). Optional: headline (its rank as
//     the event that sums up a step), trace, chain, failed, classOf,
//     describe and explain. --json, Fields, Append and the accessors follow
//     from the entry. TestKindTable checks the entry; busyLog fails
//     until it makes an event of the kind, and the round trips built on
//     it check that every field survives the log and --json.
//  2. The code that emits it, behind m.tracing(): emit(record{kind: ...})
//     with the fields in the slots the entry names.
//  3. heapview's case in apply (heapview/apply.go), if the kind changes
//     what the model shows. A narration, report or trace kind needs none
//     (reports are counted); any other kind without a case is an anomaly
//     the model reports, so a forgotten case shows on the first event.
//
// Nothing else lists kinds: the event log's styles and folds, the
// interface's "why" strip and allocviz run's headline read Class,
// HeadlineRank, Chain and Trace from the table.
//
// # Debugging (slub_debug.go)
//
// slab_debug=FZPU lays each object out as
//
//	[left red zone][object][right red zone][free pointer][alloc track][free track][orig_size][padding]
//
// with 0xbb (free) or 0xcc (allocated) red zones, 0x6b...0xa5 poison and
// 0x5a padding. Reports use the kernel's words, lines and hex dumps, and
// are counted as lib/slub_kunit.c counts them (SlabErrors).
package allocator

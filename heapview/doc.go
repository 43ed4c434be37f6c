// Package heapview turns a machine's event log into what people look at:
// a model of the machine rebuilt from the events alone, a cursor that can
// be put on any script step, and pure renderers that lay the model out as
// rows of semantic cells. It imports only allocator; ui styles the cells.
//
// # The model
//
//	m, err := heapview.New(log) // the whole log, from boot
//	err = m.Sync()              // a live session: take in the events appended since
//
// The model holds, for the state under the cursor: every page frame's state
// and owner (Page, the same allocator.PageInfo the machine reports), the
// free blocks per order (FreeCounts, Buddyinfo), the slab caches with their
// slabs, lists and objects (Caches, CacheByName, SortedCaches, Slabs,
// ListedSlabs in SLUB's list order, SlabAt, ObjectUsed, ObjectLost, and
// the freelists as SLUB keeps them, the CPU's lockless list and the
// slab's own: Freelists, Freelist), the vmap areas with the page frames
// behind them (Areas, AreaContaining, AreaOfPage), the live allocations
// (Allocs, Alloc, AllocContaining: address, requested size, bucket,
// allocator, the step that made it), the realloc decisions (Reallocs,
// LatestRealloc, ReallocHistory by lineage, across moves) and counters
// (Totals).
//
// The model equals the machine it came from: after seeded runs of every
// allocator (misuse, slab_debug, freelist randomisation and hardening,
// several CPUs, 4K and 16K pages, both profiles; consistency_test.go),
// page for page (Page against Machine.Page), slab for slab (list, CPU,
// objects in use, list order, freelist order against Machine.Caches),
// object for object (against Machine.ObjectAt), area for area (against
// Machine.Areas), at the end and after seeking to any step. A slab object
// a slab_debug repair took off the freelists is lost: not free
// (ObjectUsed), but no allocation either (ObjectLost; Alloc does not
// list it).
//
// An event that contradicts the state the earlier ones describe (a free of
// a block that is not allocated, an object outside its slab) is kept in
// the log, changes nothing, and is reported by New or Sync and listed by
// Anomalies. The model never panics on events.
//
// # Time travel
//
// Steps are the script's steps: the events from one EvStep to the next.
// Step 0 is boot, the events before the first EvStep. Seek(step) puts the
// cursor at the end of a step, SeekEvent(pos) after any event; Step, Pos
// and Steps say where the cursor is. Version changes whenever the cursor
// moves or events arrive, so callers can cache what they rendered.
//
// The state lives in copy-on-write chunks and trees, so a snapshot costs a
// copy of a chunk table. The model keeps, for every event, a journal of
// what it changed (undo records encoded as varints in one byte stream,
// with a mark an event saying where its records begin and what replaying
// up to it costs), and a snapshot (checkpoint) every so much replay work
// (page writes, and tree operations, which cost far more), taken only
// once the chunks and nodes the head copied since the last one come to at
// most ckptBytes an event: checkpoints cost a bounded share of an event's
// memory. A seek starts from whichever costs least: the cursor (replaying
// forward or undoing backward), the checkpoint before the target
// (replaying), or the checkpoint after it or the head (undoing; a long
// undo touches each key once), so it costs about the same however long
// the history. The model holds no pointer per event and no copy of an
// event: it reads the log. On a million events of every allocator on a
// 256 MiB machine (BenchmarkSeek) a seek anywhere takes about 12 ms (99%
// under 50 ms), a step either way about 40 µs (99% under 0.3 ms), and the
// model holds about 37 MiB beside the log's 23 MiB: the journal 11 MiB and
// its marks 2.4 MiB, 8 checkpoints 12.5 MiB, the head 2.8 MiB.
//
// Series(key) is a quantity at the end of every step: free memory, the
// kernel's unusable free space and fragmentation indexes for an order in
// a zone (allocator.UnusableFreeIndex, FragmentationIndex; the kernel
// computes them zone by zone), slab memory in all and
// by cache (TopCaches), vmalloc pages, free pages by migrate type. The
// model samples what they need at the end of every step as it takes the
// events in, keeping a sample only where it changes (a million-step loop
// that leaves the page allocator as it was keeps a few),
// and makes a series once, until events arrive, with its range, biggest
// change and the timeline's columns; BiggestChange and Crossing find the
// steps to jump to, Parse reads a value typed as Format writes it.
//
// StepInfo(step) gives a step's source position, operation, events,
// narration (EvSay), failures and reports, and what it touched: the page
// frames whose state it changed (for a split or merge, only the heads of
// the blocks involved), the allocations it made, freed or reallocated, and
// the vmap areas it made or freed. Explain(event) gives each event's one
// sentence. Headline(log, start, end) sums up a step's events in one
// sentence, its most telling event's, with ShortReport cutting a kernel
// report to its first line: allocviz run prints it, and Why, the
// interface's "why" strip, begins with it. Diff(a, b) lists the pages,
// allocations, slabs and areas that differ between the ends of two steps.
//
// # Renderers
//
// Every renderer takes a width and a height in cells and returns exactly
// that many rows of exactly that width. A Row is a few Spans; a Span is a
// run of cells of one style: a CellKind (free, reserved, pages, slab, large
// kmalloc, vmalloc, guard, object used or free, text, label, warning, ...),
// a kind-specific Class (the order of a free block, the colour slot of a
// cache) and Mark flags (touched by the step under the cursor, selected,
// a mixed scaled cell, a CPU slab, a partial slab). Renderers never emit a
// span per cell where neighbours share a style.
//
//	PageMap(PageMapOptions)       physical memory, a cell per frame or per N frames (PageMap.Scale)
//	SlabTable(SlabTableOptions)   slabtop: totals and a row per cache, sortable by SlabColumn
//	SlabView(SlabViewOptions)     one cache's slabs, a cell per object, freelist order on demand
//	VmallocView(VmallocOptions)   vmap areas in address order with guard pages; an area's frames
//	ReallocPanel(ReallocOptions)  the latest realloc decision and an allocation's history
//	EventLog(EventLogOptions)     the steps up to the cursor with explanations and script lines
//	Timeline(TimelineOptions)     a series over the whole session, the cursor's step marked
//	Sparkline(key, width)         the same in one row
//	InspectPage(pfn), InspectAddr(addr) -> Inspection; Inspection.Rows(w, h)
//
// An inspection says what a page frame or an address is, who owns it,
// since which step and why, "why" being the explanation of the event that
// made it what it is: for an object, the allocation (with its size class),
// the free (with its place on the freelists) or the loss; for a page, the
// slab, allocation or vmap area it belongs to, with the page allocator's
// own rule for the block after it.
//
// # What the model expects of the events
//
// The model follows the kind table (allocator/eventkinds.go) and the
// accessors of allocator.Event. Where those leave an order or a default
// open, it accepts:
//
//   - Buddy: EvSplit events precede the EvPageAlloc of the block they cut
//     down; a split makes both halves free blocks, so the next split or the
//     allocation may take either half (a replayed trace's page keeps the
//     upper half: Path "upper"). EvMerge events follow the EvPageFree they
//     merge. A page free with Owner OwnerFree describes a block freed at
//     boot.
//   - SLUB: EvSlabNew follows the EvPageAlloc (OwnerSlab) of its pages
//     and puts the slab on the CPU list of the event's CPU unless an
//     EvSlabList says otherwise. EvObjAlloc's Addr is the slab's first
//     object plus Object times the cache's size (EvCacheCreate's Bytes).
//     EvKmalloc with a Cache follows the EvObjAlloc of its object; with
//     Cache "" it follows the EvPageAlloc (OwnerLargeKmalloc) of its block.
//     EvSlabDiscard may come before or after the EvPageFree of the slab's
//     pages. If EvSlabNew's PFNs lists as many object indices as the slab
//     has objects, they are taken as its initial freelist order
//     (CONFIG_SLAB_FREELIST_RANDOM); otherwise the order is by index. An
//     EvSlabList to the node partial list names the end it joined in Path
//     ("head"; else the tail); a per-CPU partial list is joined at the
//     head. The freelists follow from the events: an EvObjFree by the CPU
//     whose CPU slab it is goes on the CPU's list, any other on the
//     slab's; an EvObjAlloc from a CPU slab pops the CPU's list, taking the
//     slab's whole freelist first when it is empty; an EvSlabList moving a
//     CPU slab off the CPU splices the CPU's list in front of the slab's.
//     EvObjAlloc with Path "lost" loses an object, EvObjFree with Path
//     "repair" puts one back at the head of the slab's freelist. (When
//     allocviz relinks a freelist a write after free corrupted, its
//     EvSlubReport does not say in what order, so Freelists after that is
//     the model's best guess.)
//   - vmalloc: EvVmapAlloc carries the page frames; their EvPageAlloc
//     (OwnerVmalloc) and EvPageFree events may come before or after the
//     area's EvVmapAlloc and EvVmapFree.
//   - Realloc: an in-place decision needs the old allocation live; a moved
//     or new one needs the new allocation made (by its own events) before
//     the EvRealloc; the old one may be freed before or after it. An
//     EvRealloc with Realloc.Within set (the krealloc or vrealloc inside a
//     kvrealloc) changes nothing and is not a decision of its own: the
//     outer call's EvRealloc, which comes after it, is the one counted,
//     listed and applied.
//     EvKvmalloc and EvVecOp name an allocation already made.
package heapview

// Package ktrace reads traces of a real kernel's memory events and turns
// them into allocator calls on an allocviz machine.
//
// # Reading (read.go, parse.go, events.go, gfp.go)
//
// Parse takes the text of tracing/trace (with its "# tracer:" header and
// irqs-off columns), of trace_pipe (no header, maybe no flags column, maybe
// a tgid column), or of trace-cmd report (a "cpus=N" header, lines
// prefixed by the instance name, "(call_site)" before the fields), plain
// or gzipped, up to MaxBytes; ParseContext reads it from a file as a
// stream, a line at a time (read.go), so that only the records stay, and
// Scan keeps only the counts, for a summary. Field sets of kernels 3.x to 6.18 are read:
// kmem_cache_alloc's name= (6.x), node= and accounted= (6.0+), pfn in
// decimal (old) or hex, page=(null) for a failed mm_page_alloc, hashed
// (%p, 4.15+) or real pointers, gfp_flags as names (old and new
// spellings; names allocviz does not model are dropped and counted) or as
// numbers. The memory events are the kmem and vmalloc tracepoints of the
// table in events.go. A line of any other event is counted as not a
// memory event; text that is no trace line (a shell prompt pasted above
// it) is counted too; a line that claims to be a memory event and cannot
// be read is a *LineError naming file:line. Records are compact: strings
// (tasks, call sites, cache names) are interned.
//
// # The replay rules (plan.go, renumber.go)
//
// Build turns a Trace into a Plan: one Op per memory event line, an
// allocator call or a skip with its reason, decided from the trace alone:
//
//   - Pointers are the trace's (hashed or real) and stand for allocations
//     in a table of slots; the replay keeps the machine's address for each
//     slot. The CPU of each call is the line's.
//   - A free of something allocated before the trace began is skipped
//     ("before the trace"); kfree(NULL) is replayed (it is traced and does
//     nothing).
//   - mm_page_free_batched of a page mm_page_free just freed is the same
//     free traced twice (free_unref_folios in mm/page_alloc.c calls
//     free_pages_prepare, which traces mm_page_free, then traces
//     mm_page_free_batched), in either order.
//   - Page allocations with the slab signature (__GFP_NORETRY and
//     __GFP_NOWARN, not movable: allocate_slab in mm/slub.c adds both for
//     its first try) are the traced kernel's SLUB growing a cache; they
//     and their frees are skipped, because allocviz's SLUB makes its own
//     slabs. Both counts are reported.
//   - The mm_page_alloc just before a large kmalloc on the same CPU, of
//     the kmalloc's size, is the kmalloc's own (__kmalloc_large_node), as
//     is the mm_page_free after its kfree: allocviz's kmalloc takes and
//     frees them itself.
//   - Page allocations with vmalloc's flags (__GFP_HIGHMEM and
//     __GFP_NOWARN without __GFP_HARDWALL, from __vmalloc_area_node), the
//     order-0 page frees right after a free_vmap_area_noflush, and the
//     pages[] array kmalloc'ed right after an alloc_vmap_area are
//     vmalloc's own; alloc_vmap_area is replayed as a vmalloc of its size
//     less the guard page, with its alignment.
//   - An object (or page block, or vmap area) the trace allocates again
//     with no free traced in between gets a synthetic free first: kfree_rcu
//     and a sheaf's bulk free emit no per-object event.
//   - A cache other than kmalloc's is created on first sight from its
//     name= (or, before 6.x, from its sizes), bytes_req and bytes_alloc:
//     the smallest alignment that makes the stride bytes_alloc, or the
//     stride as the object when none does (a constructor or
//     SLAB_TYPESAFE_BY_RCU keeps the free pointer after the object).
//   - mm_page_alloc_zone_locked with percpu_refill=1 (rmqueue_bulk) puts
//     the block on the traced CPU's pcp list (Machine.PCPRefillAt), where
//     the mm_page_alloc that follows takes it; with percpu_refill=0 the
//     allocation traced next takes the block itself (a "buddy take" skip).
//     A refill whose block becomes a slab, vmalloc or large kmalloc page
//     is skipped with that page. mm_page_pcpu_drain sends the block back
//     to the buddy allocator (Machine.PCPDrainAt) when its free or refill
//     was replayed; the replay counts the drains allocviz could match
//     (its own pcp lists drain by their own high and batch too).
//   - The trace's page frames are renumbered into the machine's RAM
//     (Renumbering): aligned 2^Order-page chunks, side by side at the top
//     of RAM, each page keeping its offset in its chunk, so blocks keep
//     their order, alignment and neighbours. RAM and CPUs come from the
//     trace (#P:, cpus=) unless the caller's Config sets them.
//
// # Replaying and checking (replay.go, report.go)
//
// A Replayer carries out the plan's ops on a Machine one at a time: a
// kmalloc is checked against the trace (ksize equal to bytes_alloc, the
// cache type matching accounted=), a cache's stride against its
// bytes_alloc, and every disagreement is kept with its line. A synthetic
// free is the free's own event marked as such (allocator.Event.Synthetic,
// Machine.FreeSynthetic), its sentence ending with why. With Narrate set
// it says why a line was skipped and where allocviz disagrees, as
// narration events in the step, and a synthetic free names the lines
// that allocated the memory and allocate it again. Analyze replays a
// trace with recording off and returns the Report allocviz trace stats
// prints. Package scripts makes a trace a session's input like a script:
// one step per line.
package ktrace

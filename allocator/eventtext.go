package allocator

import (
	"fmt"
	"strings"
)

// The sentences of the kind table, written from an event's fields when
// something shows them (the event log, the "why" strip, allocviz run,
// --json) and never while the machine runs. Each appends to b and returns
// it. The frequent kinds (the buddy allocator's and SLUB's) append their
// numbers directly; the rest use fmt.

// Aux slots of the derived kinds: what a record keeps, beyond its fields,
// for its sentence.
//
//	EvPageAlloc   n: the order of the block it was split from; s2: why AllocPagesAt placed it (0: alloc_pages)
//	EvPageFree    n: the order the block ended at after merging
//	EvSlabNew     b&1: order s->oo failed, size: that order
//	EvSlabDiscard b&1: the min_partial rule decided, n: the node's partial slabs, size: min_partial; s2: why
//	EvSlabList    s2: why; order: the end of the node partial list, size: its slabs then
//	EvObjAlloc,
//	EvObjFree     b: the slab's list | 0x80 on the node full list, order: its CPU (per-CPU lists); s2: why
//	EvKmalloc     b: which sentence (kmalloc...); s2: the cache's size class; order, n: a large kmalloc's order and limit
const objOnFull = 0x80

// EvKmalloc sentences (record.b).
const (
	kmallocSizeClass uint8 = iota // "kmalloc(100): 97..128 bytes use kmalloc-128": s2 the cache's size class
	kmallocFromCache              // "kmalloc(100) from name": kmalloc of a given cache
	kmallocLargeRule              // a large kmalloc: n KMALLOC_MAX_CACHE_SIZE, order get_order(size)
	kmallocTooLarge               // above KMALLOC_MAX_SIZE: n KMALLOC_MAX_SIZE, order get_order(size)
)

var (
	phLost   = phrase("lost")
	phRepair = phrase("repair")
)

func stepSentence(e Event, b []byte) []byte {
	b = appendDec(append(b, "step "...), e.Step())
	b = append(append(b, ": "...), e.Op()...)
	if src := e.Src(); src != "" {
		b = append(append(b, " at "...), src...)
	}
	if l := e.Label(); l != "" {
		b = append(append(append(b, " ("...), l...), ')')
	}
	return b
}

func checkSentence(e Event, b []byte) []byte {
	if e.Decision() == DecisionFailed {
		b = append(b, "check failed: "...)
	} else {
		b = append(b, "check passed: "...)
	}
	return append(b, e.Text()...)
}

func cpuSentence(e Event, b []byte) []byte {
	b = appendDec(append(b, "now running on cpu "...), e.CPU())
	return append(appendDec(append(b, " (was cpu "...), e.PrevCPU()), ')')
}

func splitSentence(e Event, b []byte) []byte {
	o, pfn := e.Order(), e.PFN()
	if o < 1 || o > MaxPageOrder {
		return fmt.Appendf(b, "split an order-%d block at pfn %#x (no such split)", o, pfn)
	}
	if e.r.n == halfUpper {
		return fmt.Appendf(b, "split the order-%d block at pfn %#x: the lower half goes to the order-%d %v free list, the upper half at pfn %#x is kept",
			o, pfn, o-1, e.Migrate(), pfn+1<<(o-1))
	}
	return fmt.Appendf(b, "split the order-%d block at pfn %#x: the upper half at pfn %#x goes to the order-%d %v free list",
		o, pfn, pfn+1<<(o-1), o-1, e.Migrate())
}

func mergeSentence(e Event, b []byte) []byte {
	o, pfn := e.Order(), e.PFN()
	if o < 0 || o >= MaxPageOrder {
		return fmt.Appendf(b, "merge order-%d blocks at pfn %#x (no such merge)", o, pfn)
	}
	bd := pfn ^ 1<<o
	return fmt.Appendf(b, "merged the order-%d block at pfn %#x with its free buddy at pfn %#x into an order-%d block at pfn %#x",
		o, pfn, bd, o+1, min(pfn, bd))
}

// pageAllocSentence explains where an allocated block came from.
func pageAllocSentence(e Event, b []byte) []byte {
	order, from, pfn := e.Order(), e.FromOrder(), e.PFN()
	if why := e.r.s2; why != 0 && order >= 0 && order <= 63 && (from == -1 || from >= order && from <= 63) {
		// AllocPagesAt: the block asked for, off a pcp list or out of the
		// free block around it.
		b = appendDec(append(b, "order-"...), order)
		b = hexTo(append(b, " block at pfn "...), pfn)
		switch {
		case from == -1:
			b = append(b, ", taken off the pcp list it waited on"...)
		case from > order:
			b = appendDec(append(b, ", split out of the free order-"...), from)
			b = hexTo(append(b, " block at pfn "...), pfn&^(1<<from-1))
		default:
			b = append(b, ", a free block of its own"...)
		}
		return append(append(b, ": "...), e.l.String(why)...)
	}
	if from == -1 {
		b = appendDec(append(b, "order-"...), order)
		b = hexTo(append(b, " block at pfn "...), pfn)
		b = appendDec(append(b, " taken from the head of cpu "...), e.CPU())
		b = append(append(append(b, "'s "...), gfpMigratetype(e.GFP(), false).String()...), " order-"...)
		return append(appendDec(b, order), " pcp list: last in, first out, so a block freed there is reused before older ones"...)
	}
	if order < 0 || order > 63 || from < order || from > 63 {
		return pageAllocDescription(e, b)
	}
	if from == order {
		b = appendDec(append(b, "order-"...), order)
		b = hexTo(append(b, " block at pfn "...), pfn)
		return append(appendDec(append(b, " taken from the order-"...), order), " free list"...)
	}
	b = appendDec(append(b, "no free block of order "...), order)
	b = appendDec(append(b, "; split the order-"...), from)
	b = hexTo(append(b, " block at pfn "...), pfn)
	if from-1 == order {
		return appendDec(append(b, ": upper half to order "...), order)
	}
	// The upper halves go to orders from-1 down to order: "3, 2 and 1".
	b = append(b, ": upper halves to orders "...)
	for o := from - 1; o > order; o-- {
		b = appendDec(b, o)
		if o > order+1 {
			b = append(b, ", "...)
		}
	}
	return appendDec(append(b, " and "...), order)
}

// pageFreeSentence explains what freeing a block did.
func pageFreeSentence(e Event, b []byte) []byte {
	order, final, pfn := e.Order(), e.FinalOrder(), e.PFN()
	if e.Owner() == OwnerFree {
		b = appendDec(append(b, "boot: order-"...), order)
		return append(hexTo(append(b, " block at pfn "...), pfn), " to the free list"...)
	}
	if final == -1 {
		b = appendDec(append(b, "order-"...), order)
		b = hexTo(append(b, " block at pfn "...), pfn)
		b = appendDec(append(b, " freed to the head of cpu "...), e.CPU())
		return append(b, "'s pcp list: not merged and not counted as free; the next allocation of its order and type on that cpu takes it first"...)
	}
	if order < 0 || order > 63 || final < order || final > 63 {
		return pageFreeDescription(e, b)
	}
	if final == order {
		b = appendDec(append(b, "order-"...), order)
		b = hexTo(append(b, " block at pfn "...), pfn)
		b = hexTo(append(b, " freed; its buddy "...), pfn^1<<order)
		b = appendDec(append(b, " is not a free order-"...), order)
		return appendDec(append(b, " block, so it stays order "...), order)
	}
	b = append(appendDec(append(b, "order-"...), order), " block freed; merged "...)
	for o := order; o < final; o++ {
		if o > order {
			b = append(b, ", "...)
		}
		b = hexTo(append(b, "with buddy "...), pfn^1<<o)
		b = appendDec(append(b, " into order "...), o+1)
		pfn &^= 1 << o
	}
	return hexTo(append(b, " at pfn "...), pfn)
}

// syntheticSentence ends the sentence b of a synthetic free (FreeSynthetic)
// with why it was made.
func syntheticSentence(b []byte, why string) []byte {
	if len(b) > 0 {
		b = append(b, "; "...)
	}
	return append(append(b, "synthetic free: "...), why...)
}

func pageFailSentence(e Event, b []byte) []byte {
	return append(b, (&PageAllocError{Order: e.Order(), Largest: e.LargestOrder()}).Error()...)
}

func pageblockSentence(e Event, b []byte) []byte {
	n := e.Pageblocks()
	if n == 1 {
		b = hexTo(append(b, "the pageblock at pfn "...), e.PFN())
		return append(append(b, " is now "...), e.Migrate().String()...)
	}
	b = appendDec(append(b, "the "...), n)
	b = hexTo(append(b, " pageblocks from pfn "...), e.PFN())
	return append(append(b, " are now "...), e.Migrate().String()...)
}

func pcpRefillSentence(e Event, b []byte) []byte {
	b = appendDec(append(b, "order-"...), e.Order())
	b = hexTo(append(b, " block at pfn "...), e.PFN())
	b = append(append(append(b, " from the "...), e.Migrate().String()...), " free list to the tail of cpu "...)
	return append(appendDec(b, e.ListCPU()), "'s pcp list (rmqueue_bulk)"...)
}

func pcpDrainSentence(e Event, b []byte) []byte {
	b = appendDec(append(b, "order-"...), e.Order())
	b = hexTo(append(b, " block at pfn "...), e.PFN())
	b = appendDec(append(b, " drained from the tail of cpu "...), e.ListCPU())
	return append(append(append(b, "'s pcp list back to the "...), e.Migrate().String()...), " free list (free_pcppages_bulk)"...)
}

func claimSentence(e Event, b []byte) []byte {
	b = append(append(append(b, "no free "...), e.Want().String()...), " block: claimed the "...)
	b = append(append(b, e.Migrate().String()...), " pageblock of the free order-"...)
	b = appendDec(b, e.Order())
	return append(hexTo(append(b, " block at pfn "...), e.PFN()), " (try_to_claim_block)"...)
}

func stealSentence(e Event, b []byte) []byte {
	b = append(append(append(b, "no free "...), e.Want().String()...), " block, and too small to claim a pageblock: stole the free order-"...)
	b = appendDec(b, e.Order())
	b = hexTo(append(b, " block at pfn "...), e.PFN())
	return append(append(append(b, " from a "...), e.Migrate().String()...), " pageblock, which keeps its type (__rmqueue_steal)"...)
}

func drainAllSentence(_ Event, b []byte) []byte {
	return append(b, "drain_all_pages(): every cpu's pcp lists go back to the buddy allocator, where their blocks merge"...)
}

// slabNewSentence explains why a new slab was made.
func slabNewSentence(e Event, b []byte) []byte {
	b = appendDec(append(b, "no free object on cpu "...), e.CPU())
	b = appendDec(append(b, "'s slabs or the node partial list: new order-"...), e.Order())
	b = appendDec(append(b, " slab of "...), e.Objects())
	b = hexTo(append(b, " objects at pfn "...), e.PFN())
	if e.r.b&1 != 0 {
		b = append(appendUdec(append(b, " (order "...), e.r.size), " failed, so the one-object order s->min)"...)
	}
	if e.NumPFNs() > 0 {
		return append(b, "; freelist shuffled (CONFIG_SLAB_FREELIST_RANDOM)"...)
	}
	return append(b, "; freelist in address order"...)
}

func slabDiscardSentence(e Event, b []byte) []byte {
	b = append(b, e.l.String(e.r.s2)...)
	if e.r.b&1 != 0 {
		b = appendDec(append(b, "; the node already has "...), int(e.r.n))
		b = appendUdec(append(b, " partial slabs (min_partial "...), e.r.size)
		b = append(b, "), so it goes back to the buddy allocator"...)
	}
	return b
}

func slabListSentence(e Event, b []byte) []byte {
	b = append(b, e.l.String(e.r.s2)...)
	if end := e.r.order; end != endNone {
		b = append(b, "; to the "...)
		if end == endHead {
			b = append(b, "head"...)
		} else {
			b = append(b, "tail"...)
		}
		b = appendUdec(append(b, " of the node partial list ("...), e.r.size)
		b = append(append(append(b, ' '), plural(e.r.size, "slab")...), ')')
	}
	return b
}

// objectSentence explains an object allocation or free: "object 3 of the
// slab at pfn 0x1234 (cpu 0's cpu slab): fastpath: ...", with why the
// path taken.
func objectSentence(e Event, b []byte) []byte {
	idx := e.Object()
	switch e.r.s2 {
	case phLost:
		return append(appendDec(append(b, "object "...), idx), " is no longer on any freelist: lost until the slab is freed"...)
	case phRepair:
		return append(appendDec(append(b, "object "...), idx), " is on the repaired freelist again"...)
	}
	b = appendDec(append(b, "object "...), idx)
	b = append(hexTo(append(b, " of the slab at pfn "...), e.PFN()), " ("...)
	cpu := int(uint8(e.r.order))
	switch SlabList(e.r.b &^ objOnFull) {
	case ListCPU:
		b = append(appendDec(append(b, "cpu "...), cpu), "'s cpu slab"...)
	case ListCPUPartial:
		b = append(appendDec(append(b, "on cpu "...), cpu), "'s partial list"...)
	case ListNodePartial:
		b = append(b, "on the node partial list"...)
	case ListFull:
		if e.r.b&objOnFull != 0 {
			b = append(b, "full, on the node full list"...)
		} else {
			b = append(b, "full"...)
		}
	default:
		b = append(b, "on no list"...)
	}
	return append(append(b, "): "...), e.l.String(e.r.s2)...)
}

func kmallocSentence(e Event, b []byte) []byte {
	size := e.Size()
	switch e.r.b {
	case kmallocFromCache:
		return append(append(appendUdec(append(b, "kmalloc("...), size), ") from "...), e.Cache()...)
	case kmallocLargeRule:
		b = appendUdec(append(b, "kmalloc("...), size)
		b = appendDec(append(b, "): above KMALLOC_MAX_CACHE_SIZE ("...), int(e.r.n))
		b = appendUdec(append(b, "), so a large kmalloc of get_order("...), size)
		b = appendDec(append(b, ") = "...), int(e.r.order))
		return append(appendBytes(append(b, ", "...), e.Bytes()), " from the buddy allocator"...)
	case kmallocTooLarge:
		return fmt.Appendf(b, "kmalloc(%d): above KMALLOC_MAX_SIZE (%d): order %d exceeds MAX_PAGE_ORDER (%d) and the page allocator refuses",
			size, e.r.n, e.r.order, MaxPageOrder)
	}
	return append(append(appendUdec(append(b, "kmalloc("...), size), "): "...), e.l.String(e.r.s2)...)
}

func reallocExplanation(e Event, b []byte) []byte {
	t := e.Text()
	r, ok := e.Realloc()
	if t != "" || !ok {
		return append(b, t...)
	}
	return append(b, r.summary()...)
}

// summary says what a realloc decision did in one line:
// "krealloc 0x… (100 B, kmalloc-128) -> 0x… (300 B, kmalloc-512): moved, 128 B copied".
func (r ReallocInfo) summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", r.Func, r.Old.Name())
	if !r.Old.ZeroOrNull() {
		fmt.Fprintf(&b, " (%s)", sizeIn(r.OldSize, r.OldCap))
	}
	fmt.Fprintf(&b, " -> %s", r.New.Name())
	if !r.New.ZeroOrNull() {
		fmt.Fprintf(&b, " (%s", sizeIn(r.NewSize, r.NewCap))
		if r.Bucket != "" {
			fmt.Fprintf(&b, ", %s", r.Bucket)
		}
		b.WriteByte(')')
	}
	fmt.Fprintf(&b, ": %v", r.Decision)
	if r.Copied > 0 {
		fmt.Fprintf(&b, ", %s copied", FormatBytes(r.Copied))
	}
	if r.Zeroed > 0 {
		fmt.Fprintf(&b, ", %s zeroed", FormatBytes(r.Zeroed))
	}
	return b.String()
}

func sizeIn(size, cap uint64) string {
	if cap != 0 && cap != size {
		return fmt.Sprintf("%s of %s", FormatBytes(size), FormatBytes(cap))
	}
	return FormatBytes(size)
}

func paren(s string) string {
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}

// Descriptions: a sentence from the fields, for events without a text.

func pageAllocDescription(e Event, b []byte) []byte {
	return fmt.Appendf(b, "order-%d block at pfn %#x allocated to %v", e.Order(), e.PFN(), e.Owner())
}

func pageFreeDescription(e Event, b []byte) []byte {
	return fmt.Appendf(b, "order-%d block at pfn %#x freed by %v", e.Order(), e.PFN(), e.Owner())
}

func slabNewDescription(e Event, b []byte) []byte {
	return fmt.Appendf(b, "%s: new order-%d slab at pfn %#x with %d objects from %v", e.Cache(), e.Order(), e.PFN(), e.Objects(), e.Addr())
}

func slabDiscardDescription(e Event, b []byte) []byte {
	return fmt.Appendf(b, "%s: empty slab at pfn %#x returned to the page allocator", e.Cache(), e.PFN())
}

func slabListDescription(e Event, b []byte) []byte {
	if l := e.List(); l == ListCPU || l == ListCPUPartial {
		return fmt.Appendf(b, "%s: slab at pfn %#x moved to the %v list of cpu %d", e.Cache(), e.PFN(), l, e.ListCPU())
	}
	return fmt.Appendf(b, "%s: slab at pfn %#x moved to the %v list", e.Cache(), e.PFN(), e.List())
}

func objAllocDescription(e Event, b []byte) []byte {
	return fmt.Appendf(b, "%s: object %d at %v handed out for %d bytes%s", e.Cache(), e.Object(), e.Addr(), e.Size(), paren(e.Path()))
}

func objFreeDescription(e Event, b []byte) []byte {
	return fmt.Appendf(b, "%s: object %d at %v freed%s", e.Cache(), e.Object(), e.Addr(), paren(e.Path()))
}

func kmallocDescription(e Event, b []byte) []byte {
	if e.Cache() == "" {
		return fmt.Appendf(b, "kmalloc: ptr=%v bytes_req=%d bytes_alloc=%d (large kmalloc)", e.Addr(), e.Size(), e.Bytes())
	}
	return fmt.Appendf(b, "kmalloc: ptr=%v bytes_req=%d bytes_alloc=%d from %s", e.Addr(), e.Size(), e.Bytes(), e.Cache())
}

func kfreeDescription(e Event, b []byte) []byte { return fmt.Appendf(b, "kfree: ptr=%v", e.Addr()) }

func vmapAllocDescription(e Event, b []byte) []byte {
	return fmt.Appendf(b, "vmap area %v of %s (%d pages and a guard page) for %d bytes", e.Addr(), FormatBytes(e.Bytes()), e.Pages(), e.Size())
}

func vmapFreeDescription(e Event, b []byte) []byte {
	return fmt.Appendf(b, "vmap area %v of %s freed", e.Addr(), FormatBytes(e.Bytes()))
}

func cacheCreateDescription(e Event, b []byte) []byte {
	return fmt.Appendf(b, "cache %s created: object size %d, %d bytes per object, %d objects per order-%d slab",
		e.Cache(), e.Size(), e.Bytes(), e.Objects(), e.Order())
}

func cacheDestroyDescription(e Event, b []byte) []byte {
	return fmt.Appendf(b, "cache %s destroyed", e.Cache())
}

func vecOpDescription(e Event, b []byte) []byte {
	return fmt.Appendf(b, "%s: len %d, capacity %d (%s) at %v", e.Op(), e.Size(), e.Capacity(), FormatBytes(e.Bytes()), e.Addr())
}

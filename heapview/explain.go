package heapview

import (
	"fmt"
	"strings"

	"github.com/allocviz/allocviz/allocator"
)

// Explain returns one sentence saying what an event did and, for
// decisions, which rule applied: the event's own Text where it has one,
// otherwise a sentence built from its fields.
func Explain(e *allocator.Event) string {
	switch e.Kind {
	case allocator.EvStep:
		if e.Src != "" {
			return fmt.Sprintf("step %d: %s at %s", e.Step, e.Op, e.Src)
		}
		return fmt.Sprintf("step %d: %s", e.Step, e.Op)
	case allocator.EvSplit:
		if e.Order < 1 || e.Order > allocator.MaxPageOrder {
			return fmt.Sprintf("split an order-%d block at pfn %#x (no such split)", e.Order, e.PFN)
		}
		if e.Path == "upper" {
			return fmt.Sprintf("split the order-%d block at pfn %#x: the lower half goes to the order-%d free list, the upper half at pfn %#x is kept",
				e.Order, e.PFN, e.Order-1, e.PFN+1<<(e.Order-1))
		}
		return fmt.Sprintf("split the order-%d block at pfn %#x: the upper half at pfn %#x goes to the order-%d free list",
			e.Order, e.PFN, e.PFN+1<<(e.Order-1), e.Order-1)
	case allocator.EvMerge:
		if e.Order < 0 || e.Order >= allocator.MaxPageOrder {
			return fmt.Sprintf("merge order-%d blocks at pfn %#x (no such merge)", e.Order, e.PFN)
		}
		b := e.PFN ^ 1<<e.Order
		return fmt.Sprintf("merged the order-%d block at pfn %#x with its free buddy at pfn %#x into an order-%d block at pfn %#x",
			e.Order, e.PFN, b, e.Order+1, min(e.PFN, b))
	case allocator.EvRealloc:
		if e.Text != "" || e.Realloc == nil {
			return e.Text
		}
		return DescribeRealloc(e.Realloc)
	case allocator.EvCheck:
		if e.Decision == allocator.DecisionFailed {
			return "check failed: " + e.Text
		}
		return "check passed: " + e.Text
	}
	if e.Text != "" {
		return e.Text
	}
	switch e.Kind {
	case allocator.EvPageAlloc:
		return fmt.Sprintf("order-%d block at pfn %#x allocated to %v", e.Order, e.PFN, e.Owner)
	case allocator.EvPageFree:
		return fmt.Sprintf("order-%d block at pfn %#x freed by %v", e.Order, e.PFN, e.Owner)
	case allocator.EvSlabNew:
		return fmt.Sprintf("%s: new order-%d slab at pfn %#x with %d objects from %v", e.Cache, e.Order, e.PFN, e.Index, e.Addr)
	case allocator.EvSlabDiscard:
		return fmt.Sprintf("%s: empty slab at pfn %#x returned to the page allocator", e.Cache, e.PFN)
	case allocator.EvSlabList:
		if e.List == allocator.ListCPU || e.List == allocator.ListCPUPartial {
			return fmt.Sprintf("%s: slab at pfn %#x moved to the %v list of cpu %d", e.Cache, e.PFN, e.List, e.Index)
		}
		return fmt.Sprintf("%s: slab at pfn %#x moved to the %v list", e.Cache, e.PFN, e.List)
	case allocator.EvObjAlloc:
		return fmt.Sprintf("%s: object %d at %v handed out for %d bytes%s", e.Cache, e.Index, e.Addr, e.Size, paren(e.Path))
	case allocator.EvObjFree:
		return fmt.Sprintf("%s: object %d at %v freed%s", e.Cache, e.Index, e.Addr, paren(e.Path))
	case allocator.EvKmalloc:
		if e.Cache == "" {
			return fmt.Sprintf("kmalloc: ptr=%v bytes_req=%d bytes_alloc=%d (large kmalloc)", e.Addr, e.Size, e.Bytes)
		}
		return fmt.Sprintf("kmalloc: ptr=%v bytes_req=%d bytes_alloc=%d from %s", e.Addr, e.Size, e.Bytes, e.Cache)
	case allocator.EvKfree:
		return fmt.Sprintf("kfree: ptr=%v", e.Addr)
	case allocator.EvVmapAlloc:
		return fmt.Sprintf("vmap area %v of %s (%d pages and a guard page) for %d bytes", e.Addr, allocator.FormatBytes(e.Bytes), e.Index, e.Size)
	case allocator.EvVmapFree:
		return fmt.Sprintf("vmap area %v of %s freed", e.Addr, allocator.FormatBytes(e.Bytes))
	case allocator.EvCPU:
		return fmt.Sprintf("now running on cpu %d (was cpu %d)", e.CPU, e.Index)
	case allocator.EvCacheCreate:
		return fmt.Sprintf("cache %s created: object size %d, %d bytes per object, %d objects per order-%d slab", e.Cache, e.Size, e.Bytes, e.Index, e.Order)
	case allocator.EvCacheDestroy:
		return fmt.Sprintf("cache %s destroyed", e.Cache)
	case allocator.EvVecOp:
		return fmt.Sprintf("%s: len %d, capacity %d (%s) at %v", e.Op, e.Size, e.Index, allocator.FormatBytes(e.Bytes), e.Addr)
	}
	return e.Kind.String()
}

// DescribeRealloc says what a realloc decision did in one line:
// "krealloc 0x… (100 B, kmalloc-128) -> 0x… (300 B, kmalloc-512): moved, 128 B copied".
func DescribeRealloc(r *allocator.ReallocInfo) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", r.Func, ptrName(r.Old))
	if !r.Old.ZeroOrNull() {
		fmt.Fprintf(&b, " (%s)", sizeIn(r.OldSize, r.OldCap))
	}
	fmt.Fprintf(&b, " -> %s", ptrName(r.New))
	if !r.New.ZeroOrNull() {
		fmt.Fprintf(&b, " (%s", sizeIn(r.NewSize, r.NewCap))
		if r.Bucket != "" {
			fmt.Fprintf(&b, ", %s", r.Bucket)
		}
		b.WriteByte(')')
	}
	fmt.Fprintf(&b, ": %v", r.Decision)
	if r.Copied > 0 {
		fmt.Fprintf(&b, ", %s copied", allocator.FormatBytes(r.Copied))
	}
	if r.Zeroed > 0 {
		fmt.Fprintf(&b, ", %s zeroed", allocator.FormatBytes(r.Zeroed))
	}
	return b.String()
}

func sizeIn(size, cap uint64) string {
	if cap != 0 && cap != size {
		return fmt.Sprintf("%s of %s", allocator.FormatBytes(size), allocator.FormatBytes(cap))
	}
	return allocator.FormatBytes(size)
}

func paren(s string) string {
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}

// headlineKinds are the events that sum up a whole call, most telling
// first: a call that makes many events is explained by its own decision
// (a realloc, kvmalloc's path, the vmap area a vmalloc made, a guard-page
// hit) before its lower-level events; a SLUB debug report before the free
// it refused; a kmalloc's size class before the pages a new slab took.
func headlineKinds() [13]allocator.EventKind {
	return [...]allocator.EventKind{
		allocator.EvRealloc, allocator.EvKvmalloc, allocator.EvGuardHit, allocator.EvVmapAlloc, allocator.EvVmapFree,
		allocator.EvVecOp, allocator.EvCacheDestroy, allocator.EvSlubReport, allocator.EvKmalloc, allocator.EvObjAlloc,
		allocator.EvObjFree, allocator.EvCacheCreate, allocator.EvMisuse,
	}
}

// Headline returns the event that sums up one step's events, or nil when
// none does: the first event, in headlineKinds order, that has a text and
// is not a decision nested inside another (ReallocInfo.Within: the
// krealloc inside a kvrealloc is not the kvrealloc's headline). The CLI's
// run lines and the interface's Why panel both use it.
func Headline(events []allocator.Event) *allocator.Event {
	for _, kind := range headlineKinds() {
		for i := range events {
			e := &events[i]
			if e.Kind == kind && e.Text != "" && (e.Realloc == nil || e.Realloc.Within == "") {
				return e
			}
		}
	}
	return nil
}

package scripts

import (
	"fmt"

	"github.com/allocviz/allocviz/allocator"
	"go.starlark.net/starlark"
)

// pageGroup is the buddy page allocator: alloc_pages, free_pages,
// buddyinfo.
func pageGroup() Group {
	return Group{
		Name: "pages",
		Builtins: []Builtin{
			{Name: "alloc_pages", Step: true, Fn: builtinAllocPages,
				Doc: "alloc_pages(order, flags=GFP_KERNEL): a block of 2**order pages, or None (NULL) when none is free"},
			{Name: "free_pages", Step: true, Fn: builtinFreePages,
				Doc: "free_pages(p, order): free a block from alloc_pages; True if freed, False if the free was reported and refused"},
			{Name: "buddyinfo", Fn: builtinBuddyinfo,
				Doc: "buddyinfo(): free blocks per order 0..MAX_PAGE_ORDER, as /proc/buddyinfo counts them"},
		},
		Constants: starlark.StringDict{
			"MAX_PAGE_ORDER":          starlark.MakeInt(allocator.MaxPageOrder),
			"PAGE_ALLOC_COSTLY_ORDER": starlark.MakeInt(allocator.PageAllocCostlyOrder),
		},
	}
}

func builtinAllocPages(c *Call) (starlark.Value, error) {
	var order int
	flags := gfpArg{allocator.GFPKernel}
	if err := c.Unpack("order", &order, "flags?", &flags); err != nil {
		return nil, err
	}
	c.SetOp(fmt.Sprintf("alloc_pages(%d, %v)", order, flags.v))
	m := c.Machine()
	addr, err := m.AllocPages(order, flags.v)
	if err != nil {
		// The allocator recorded the failure (and its warning).
		return allocFailed(c, err)
	}
	pfn, _ := m.AddrPFN(addr)
	return &Pointer{Addr: addr, Size: m.PageSize() << order, Owner: allocator.OwnerPages.String(),
		Order: order, PFN: int64(pfn), GFP: flags.v, Step: c.Step()}, nil
}

// builtinFreePages frees a block. free_pages(None, order) and
// free_pages(0, order) do nothing, as free_pages(0, order) does in the
// kernel. p may be a plain address (p.addr + 4096), which the allocator
// checks as the kernel would. A free the allocator refuses (wrong order,
// double free, not from alloc_pages, not a page frame) is reported by it
// as an event and returns False; the script goes on, as the kernel does
// after "Bad page state".
func builtinFreePages(c *Call) (starlark.Value, error) {
	var o objectArg
	var order int
	if err := c.Unpack("p", &o, "order", &order); err != nil {
		return nil, err
	}
	c.SetOp(fmt.Sprintf("free_pages(%v, %d)", o.v, order))
	if o.null() {
		return starlark.None, nil
	}
	m := c.Machine()
	if p := o.ptr; p != nil && !p.Live() {
		// Freed before. If the pages are free still, the allocator reports
		// the double free in the kernel's words; if they were handed out
		// again, freeing them would free someone else's block.
		if pfn, ok := m.AddrPFN(p.Addr); ok && m.Page(pfn).State == allocator.PageAllocated {
			m.Misuse(p.Addr, fmt.Sprintf("free_pages: %v was freed in step %d and its pages now belong to a newer allocation (%s); not freed",
				p.Addr, p.FreedStep(), m.Page(pfn).Owner))
			return starlark.False, nil
		}
	}
	return freeResult(c, o.ptr, m.FreePages(o.addr, order))
}

func builtinBuddyinfo(c *Call) (starlark.Value, error) {
	if err := c.Unpack(); err != nil {
		return nil, err
	}
	counts := c.Machine().FreeCounts()
	out := make([]starlark.Value, len(counts))
	for i, n := range counts {
		out[i] = starlark.MakeUint64(n)
	}
	return starlark.NewList(out), nil
}

package scripts

import (
	"fmt"
	"strings"

	"github.com/allocviz/allocviz/allocator"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
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
				Doc: "buddyinfo(zone=None): free blocks per order 0..MAX_PAGE_ORDER, as /proc/buddyinfo counts them: of one zone (\"DMA\", \"DMA32\", \"Normal\"), or of all"},
			{Name: "drain_all_pages", Step: true, Fn: builtinDrainAllPages,
				Doc: "drain_all_pages(): every CPU's per-CPU page lists go back to the buddy allocator, where their blocks merge"},
			{Name: "page", Fn: builtinPage,
				Doc: "page(p): the page frame behind a pointer or pfn: pfn, owner (\"pcp\" on a per-CPU list), order and head of its block, zone, pageblock (its first pfn), migratetype, pcp_cpu"},
			{Name: "idle_pages", Fn: builtinIdlePages,
				Doc: "idle_pages(): pages nobody holds: the free pages and those on per-CPU lists (which /proc/buddyinfo does not count)"},
			{Name: "zones", Fn: builtinZones,
				Doc: "zones(): the names of the populated zones, lowest first (\"DMA\", \"DMA32\", \"Normal\")"},
			{Name: "zone", Fn: builtinZone,
				Doc: "zone(name): a zone's numbers as /proc/zoneinfo shows them: free, min, low, high, managed, present, start_pfn, pcp (pages on its per-CPU lists), batch, high_min, high_max, protection (its lowmem_reserve list)"},
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
	var name string
	if err := c.Unpack("zone?", &name); err != nil {
		return nil, err
	}
	counts := c.Machine().FreeCounts()
	if name != "" {
		z, err := zoneNamed(c, name)
		if err != nil {
			return nil, err
		}
		for o := range counts {
			counts[o] = 0
			for _, n := range z.NrFree[o] {
				counts[o] += n
			}
		}
	}
	out := make([]starlark.Value, len(counts))
	for i, n := range counts {
		out[i] = starlark.MakeUint64(n)
	}
	return starlark.NewList(out), nil
}

func builtinDrainAllPages(c *Call) (starlark.Value, error) {
	if err := c.Unpack(); err != nil {
		return nil, err
	}
	c.Machine().DrainAllPages()
	return starlark.None, nil
}

// zoneNamed finds a populated zone by name.
func zoneNamed(c *Call, name string) (allocator.ZoneStats, error) {
	var names []string
	for _, z := range c.Machine().Zones() {
		if !z.Populated() {
			continue
		}
		if z.Type.String() == name {
			return z, nil
		}
		names = append(names, fmt.Sprintf("%q", z.Type.String()))
	}
	return allocator.ZoneStats{}, c.Errorf("no zone %q on this machine (it has %s)", name, strings.Join(names, ", "))
}

func builtinIdlePages(c *Call) (starlark.Value, error) {
	if err := c.Unpack(); err != nil {
		return nil, err
	}
	return starlark.MakeUint64(c.Machine().IdlePages()), nil
}

func builtinZones(c *Call) (starlark.Value, error) {
	if err := c.Unpack(); err != nil {
		return nil, err
	}
	var out []starlark.Value
	for _, z := range c.Machine().Zones() {
		if z.Populated() {
			out = append(out, starlark.String(z.Type.String()))
		}
	}
	return starlark.NewList(out), nil
}

func builtinZone(c *Call) (starlark.Value, error) {
	var name string
	if err := c.Unpack("name", &name); err != nil {
		return nil, err
	}
	z, err := zoneNamed(c, name)
	if err != nil {
		return nil, err
	}
	pcp := 0
	for _, p := range z.PCP {
		pcp += p.Count
	}
	prot := make([]starlark.Value, len(z.LowmemReserve))
	for i, r := range z.LowmemReserve {
		prot[i] = starlark.MakeUint64(r)
	}
	return starlarkstruct.FromStringDict(starlark.String("zone"), starlark.StringDict{
		"name": starlark.String(name), "free": starlark.MakeUint64(z.Free), "managed": starlark.MakeUint64(z.Managed),
		"present": starlark.MakeUint64(z.Present), "start_pfn": starlark.MakeUint64(z.StartPFN),
		"min": starlark.MakeUint64(z.Wmark[allocator.WmarkMin]), "low": starlark.MakeUint64(z.Wmark[allocator.WmarkLow]),
		"high": starlark.MakeUint64(z.Wmark[allocator.WmarkHigh]), "pcp": starlark.MakeInt(pcp),
		"batch": starlark.MakeInt(z.PCP[0].Batch), "high_min": starlark.MakeInt(z.PCP[0].HighMin),
		"high_max": starlark.MakeInt(z.PCP[0].HighMax), "protection": starlark.NewList(prot),
	}), nil
}

func builtinPage(c *Call) (starlark.Value, error) {
	var pv starlark.Value
	if err := c.Unpack("p", &pv); err != nil {
		return nil, err
	}
	m := c.Machine()
	var pfn uint64
	switch v := pv.(type) {
	case *Pointer:
		n, ok := m.AddrPFN(v.Addr)
		if !ok {
			return nil, c.Errorf("%v is not a direct-map address (vmalloc memory: use p.area.pfns)", v.Addr)
		}
		pfn = n
	case starlark.Int:
		n, ok := v.Uint64()
		if !ok || n >= m.NrPages() {
			return nil, c.Errorf("pfn %v is outside RAM (0 to %#x)", v, m.NrPages()-1)
		}
		pfn = n
	default:
		return nil, c.Errorf("for parameter p: got %s, want pointer or pfn", pv.Type())
	}
	info := m.Page(pfn)
	zone := starlark.Value(starlark.None)
	if info.Zone < allocator.MaxNrZones {
		zone = starlark.String(info.Zone.String())
	}
	cpu := starlark.Value(starlark.None)
	if info.Owner == allocator.OwnerPCP {
		cpu = starlark.MakeInt(info.PCPCPU)
	}
	return starlarkstruct.FromStringDict(starlark.String("page"), starlark.StringDict{
		"pfn": starlark.MakeUint64(pfn), "owner": starlark.String(info.Owner.String()), "order": starlark.MakeInt(info.Order),
		"head": starlark.MakeUint64(info.Head), "zone": zone, "pageblock": starlark.MakeUint64(info.Pageblock),
		"migratetype": starlark.String(info.Migrate.String()), "pcp_cpu": cpu,
	}), nil
}

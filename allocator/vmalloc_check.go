package allocator

import (
	"cmp"
	"fmt"
	"slices"
)

// checkVmalloc verifies the vmalloc state: the free ranges, busy areas and
// lazy areas are each sorted and together cover the window exactly once;
// every busy area's pages are vmalloc pages pointing back at it and no
// other page is; lazy areas hold no pages and their count matches
// lazyPages. It returns the first violation found.
func (m *Machine) checkVmalloc() error {
	v := &m.vm
	type span struct {
		start, end uint64
		what       string
	}
	var spans []span
	for _, r := range v.free {
		if r.start >= r.end {
			return fmt.Errorf("empty free range %#x-%#x", r.start, r.end)
		}
		spans = append(spans, span{r.start, r.end, "free"})
	}
	for i := 1; i < len(v.free); i++ {
		if v.free[i-1].end >= v.free[i].start {
			return fmt.Errorf("free ranges %#x-%#x and %#x-%#x are unsorted, overlapping or unmerged",
				v.free[i-1].start, v.free[i-1].end, v.free[i].start, v.free[i].end)
		}
	}
	var lazyPages uint64
	owned := make(map[uint64]*vmArea)
	for _, list := range [][]*vmArea{v.busy, v.lazy} {
		for i, a := range list {
			if i > 0 && list[i-1].start >= a.start {
				return fmt.Errorf("areas %v and %v are out of order", list[i-1].start, a.start)
			}
			off := m.winOff(a.start)
			if off%m.pageSize != 0 || a.size%m.pageSize != 0 || a.usable%m.pageSize != 0 {
				return fmt.Errorf("area %v is not page aligned (size %d, usable %d)", a.start, a.size, a.usable)
			}
			guard := m.pageSize
			if a.flags&VMNoGuard != 0 {
				guard = 0
			}
			if a.size != a.usable+guard || a.requested > a.usable || a.requested == 0 {
				return fmt.Errorf("area %v: size %d, usable %d, requested %d do not agree", a.start, a.size, a.usable, a.requested)
			}
			spans = append(spans, span{off, off + a.size, "area"})
			if a.freed {
				lazyPages += a.size >> m.pageShift
				if a.pfns != nil {
					return fmt.Errorf("freed area %v still holds %d pages", a.start, len(a.pfns))
				}
				continue
			}
			if uint64(len(a.pfns)) != a.usable>>m.pageShift {
				return fmt.Errorf("area %v has %d pages for %d bytes", a.start, len(a.pfns), a.usable)
			}
			for _, pfn := range a.pfns {
				p := &m.pages[pfn]
				if p.owner != OwnerVmalloc || p.area != a || p.flags&pgHead == 0 || p.order != 0 {
					return fmt.Errorf("pfn %#x of area %v is not an order-0 vmalloc page of that area (owner %v)", pfn, a.start, p.owner)
				}
				if owned[pfn] != nil {
					return fmt.Errorf("pfn %#x is in areas %v and %v", pfn, owned[pfn].start, a.start)
				}
				owned[pfn] = a
			}
		}
	}
	if lazyPages != v.lazyPages {
		return fmt.Errorf("lazy areas hold %d pages of address space, counted %d", lazyPages, v.lazyPages)
	}
	for pfn := range m.pages {
		if m.pages[pfn].owner == OwnerVmalloc && owned[uint64(pfn)] == nil {
			return fmt.Errorf("pfn %#x is a vmalloc page of no live area", pfn)
		}
	}
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.start, b.start) })
	at := uint64(0)
	for _, s := range spans {
		if s.start != at {
			return fmt.Errorf("window offset %#x: expected a range to start there, found %s at %#x", at, s.what, s.start)
		}
		at = s.end
	}
	if at != v.win.size {
		return fmt.Errorf("ranges end at %#x, the window at %#x", at, v.win.size)
	}
	return nil
}

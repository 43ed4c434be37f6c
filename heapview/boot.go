package heapview

import (
	"fmt"

	"github.com/allocviz/allocviz/allocator"
)

// BootSummary says what boot made of the machine, for step 0: the RAM in
// pages, the pages reserved, what went on the buddy allocator's free
// lists, and the slab caches created. Boot's events are many of each
// kind, so no one of them tells it.
func (m *Model) BootSummary() string {
	if m.head == nil {
		return ""
	}
	start, end := m.stepSpan(0)
	var reserved, freePages uint64
	blocks, caches := 0, 0
	for i := start; i < end; i++ {
		e := m.log.At(i)
		switch e.Kind() {
		case allocator.EvReserve:
			reserved += uint64(max(e.Pages(), 0))
		case allocator.EvPageFree:
			if o := e.Order(); o >= 0 && o <= allocator.MaxPageOrder {
				blocks++
				freePages += 1 << o
			}
		case allocator.EvCacheCreate:
			caches++
		}
	}
	s := fmt.Sprintf("boot: %s of RAM in %s of %s", allocator.FormatBytes(m.geo.ram),
		allocator.Count(m.geo.nrPages, "page"), allocator.FormatBytes(m.geo.pageSize))
	if reserved > 0 {
		s += fmt.Sprintf("; the first %s reserved", allocator.Count(reserved, "page"))
	}
	s += fmt.Sprintf("; %s free in %s on the buddy allocator's free lists", allocator.Count(freePages, "page"), allocator.Count(uint64(blocks), "block"))
	if caches > 0 {
		s += fmt.Sprintf("; %s created, no slab yet", allocator.Count(uint64(caches), "kmalloc slab cache"))
	}
	return s
}

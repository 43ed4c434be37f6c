package allocator

import "fmt"

// ZoneType is enum zone_type (include/linux/mmzone.h, 6.18) as an x86_64
// kernel configures it: CONFIG_ZONE_DMA, CONFIG_ZONE_DMA32 and
// CONFIG_ZONE_DEVICE, no CONFIG_HIGHMEM. /proc/zoneinfo lists all five;
// allocviz's memory only ever populates DMA, DMA32 and Normal.
type ZoneType uint8

// Zones, lowest first.
const (
	ZoneDMA     ZoneType = iota // below 16 MiB (MAX_DMA_PFN)
	ZoneDMA32                   // below 4 GiB (MAX_DMA32_PFN)
	ZoneNormal                  // everything above
	ZoneMovable                 // empty without kernelcore=/movablecore=
	ZoneDevice                  // never holds RAM
	MaxNrZones                  // MAX_NR_ZONES
)

// zoneNames is zone_names[] (mm/page_alloc.c).
var zoneNames = [MaxNrZones]string{"DMA", "DMA32", "Normal", "Movable", "Device"}

func (z ZoneType) String() string {
	if z < MaxNrZones {
		return zoneNames[z]
	}
	return fmt.Sprintf("ZoneType(%d)", z)
}

// The x86_64 physical memory map allocviz lays out: RAM starts at 0 and
// runs up to 3 GiB; a machine with more than 3 GiB has the rest above
// 4 GiB, leaving [3 GiB, 4 GiB) for the PCI hole, as the firmware of
// common virtual machines does: the 6.18 guest whose /proc/zoneinfo is
// testdata/zoneinfo-firecracker-6.18.44.txt has DMA32 RAM up to 3 GiB
// (start_pfn 4096, present 782336 pages) and Normal from 4 GiB (start_pfn
// 1048576).
const (
	dmaLimit     = 16 * MiB // MAX_DMA_PFN << PAGE_SHIFT (arch/x86/include/asm/dma.h)
	dma32Limit   = 4 * GiB  // MAX_DMA32_PFN << PAGE_SHIFT
	pciHoleStart = 3 * GiB  // RAM below 4 GiB ends here on machines with more than 3 GiB
)

// EndPFN returns one past the last page frame of a machine with ram bytes
// of RAM: above 3 GiB the PCI hole lies below it.
func EndPFN(ram, pageSize uint64) uint64 {
	r := ramRanges(ram, pageSize)
	return r[len(r)-1].end
}

// ZoneLayout returns where each zone lies on a machine with ram bytes of
// RAM: start pfn, spanned and present pages (zero for an empty zone).
func ZoneLayout(ram, pageSize uint64) [MaxNrZones]struct{ Start, Spanned, Present uint64 } {
	var out [MaxNrZones]struct{ Start, Spanned, Present uint64 }
	for t, z := range zoneSpans(ramRanges(ram, pageSize), pageSize) {
		out[t].Start, out[t].Spanned, out[t].Present = z.StartPFN, z.Spanned, z.Present
	}
	return out
}

// PageblockOrder returns pageblock_order for the page size.
func PageblockOrder(pageSize uint64) int { return pageblockOrder(pageSize) }

// pfnRange is a half-open range of page frames [start, end).
type pfnRange struct{ start, end uint64 }

// overlap returns how many pfns r and s share.
func (r pfnRange) overlap(s pfnRange) uint64 {
	lo, hi := max(r.start, s.start), min(r.end, s.end)
	if hi <= lo {
		return 0
	}
	return hi - lo
}

// ramRanges is the machine's e820 map of usable RAM, in page frames: one
// range for up to 3 GiB, two above (the second from 4 GiB).
func ramRanges(ram uint64, pageSize uint64) []pfnRange {
	if ram <= pciHoleStart {
		return []pfnRange{{0, ram / pageSize}}
	}
	return []pfnRange{
		{0, pciHoleStart / pageSize},
		{dma32Limit / pageSize, (dma32Limit + ram - pciHoleStart) / pageSize},
	}
}

// zoneSpan is where one zone lies: the fields of struct zone that
// free_area_init() fills in (zone_start_pfn, spanned_pages,
// present_pages).
type zoneSpan struct {
	Type     ZoneType
	StartPFN uint64 // zone_start_pfn
	Spanned  uint64 // spanned_pages: end - start, holes included
	Present  uint64 // present_pages: the RAM in the span
}

// EndPFN is zone_end_pfn().
func (z zoneSpan) EndPFN() uint64 { return z.StartPFN + z.Spanned }

// Populated is populated_zone() before any page is handed out: the zone
// has RAM.
func (z zoneSpan) Populated() bool { return z.Present > 0 }

// zoneSpans lays the zones over the RAM ranges as free_area_init() does:
// each zone's range of possible pfns (arch_zone_lowest/highest_possible_pfn:
// DMA up to MAX_DMA_PFN, DMA32 up to MAX_DMA32_PFN, Normal up to max_pfn)
// clamped to the node's span (zone_spanned_pages_in_node()), and the RAM
// inside that span counted as present (zone_absent_pages_in_node()
// subtracted). A zone whose range misses the node is empty, with start 0.
func zoneSpans(ranges []pfnRange, pageSize uint64) [MaxNrZones]zoneSpan {
	var zs [MaxNrZones]zoneSpan
	node := pfnRange{ranges[0].start, ranges[len(ranges)-1].end}
	limits := [...]pfnRange{
		ZoneDMA:    {0, dmaLimit / pageSize},
		ZoneDMA32:  {dmaLimit / pageSize, dma32Limit / pageSize},
		ZoneNormal: {dma32Limit / pageSize, max(node.end, dma32Limit/pageSize)},
	}
	for t := range zs {
		zs[t].Type = ZoneType(t)
		if t >= len(limits) {
			continue
		}
		lo := min(max(node.start, limits[t].start), limits[t].end)
		hi := min(max(node.end, limits[t].start), limits[t].end)
		if hi <= lo {
			continue
		}
		zs[t].StartPFN, zs[t].Spanned = lo, hi-lo
		for _, r := range ranges {
			zs[t].Present += r.overlap(pfnRange{lo, hi})
		}
		if zs[t].Present == 0 {
			zs[t].StartPFN, zs[t].Spanned = 0, 0
		}
	}
	return zs
}

// gfpZone is gfp_zone() (include/linux/gfp.h, GFP_ZONE_TABLE) on x86_64:
// __GFP_DMA picks ZONE_DMA, __GFP_DMA32 ZONE_DMA32 (either also with
// __GFP_MOVABLE), __GFP_MOVABLE with __GFP_HIGHMEM ZONE_MOVABLE (empty
// here, so the zonelist starts at Normal), anything else ZONE_NORMAL
// (__GFP_HIGHMEM alone is ZONE_NORMAL without CONFIG_HIGHMEM). The
// combinations in GFP_ZONE_BAD (two zone modifiers at once) return false:
// the kernel's VM_BUG_ON.
func gfpZone(g GFP) (ZoneType, bool) {
	switch g & GFPZoneMask {
	case 0, GFPHighmem, GFPMovable:
		return ZoneNormal, true
	case GFPDMA, GFPDMA | GFPMovable:
		return ZoneDMA, true
	case GFPDMA32, GFPDMA32 | GFPMovable:
		return ZoneDMA32, true
	case GFPMovable | GFPHighmem:
		return ZoneMovable, true
	}
	return ZoneNormal, false
}

// zonelist returns the zones an allocation may use, in the order
// get_page_from_freelist() tries them: the node's zonelist from the
// highest zone the flags allow (ac->highest_zoneidx) down to DMA, skipping
// unpopulated zones (build_zonerefs_node() links populated zones only).
func zonelist(zs *[MaxNrZones]zoneSpan, highest ZoneType) []ZoneType {
	out := make([]ZoneType, 0, MaxNrZones)
	for t := int(highest); t >= 0; t-- {
		if zs[t].Populated() {
			out = append(out, ZoneType(t))
		}
	}
	return out
}

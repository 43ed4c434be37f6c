package allocator

import (
	"math/bits"
	"strings"
)

// AllocFlags are the page allocator's internal ALLOC_* flags
// (mm/internal.h, 6.18), derived from the GFP flags by the allocation path.
// ALLOC_HARDER and ALLOC_HIGH, the older names, were split and renamed in
// 6.3 into ALLOC_NON_BLOCK and ALLOC_MIN_RESERVE.
type AllocFlags uint32

// Alloc flags. The low two bits are the watermark index.
const (
	AllocWmarkMin     AllocFlags = 0     // ALLOC_WMARK_MIN
	AllocWmarkLow     AllocFlags = 1     // ALLOC_WMARK_LOW
	AllocWmarkHigh    AllocFlags = 2     // ALLOC_WMARK_HIGH
	AllocNoWatermarks AllocFlags = 0x04  // ALLOC_NO_WATERMARKS: don't check watermarks at all
	AllocWmarkMask    AllocFlags = 0x03  // ALLOC_WMARK_MASK
	AllocOOM          AllocFlags = 0x08  // ALLOC_OOM: an OOM victim
	AllocNonBlock     AllocFlags = 0x10  // ALLOC_NON_BLOCK: cannot block; 25% more of min (62.5% with __GFP_HIGH)
	AllocMinReserve   AllocFlags = 0x20  // ALLOC_MIN_RESERVE: __GFP_HIGH; half of min
	AllocCPUSet       AllocFlags = 0x40  // ALLOC_CPUSET: check the cpuset
	AllocCMA          AllocFlags = 0x80  // ALLOC_CMA
	AllocNoFragment   AllocFlags = 0x100 // ALLOC_NOFRAGMENT: avoid mixing pageblock types (CONFIG_ZONE_DMA32)
	AllocHighAtomic   AllocFlags = 0x200 // ALLOC_HIGHATOMIC: may use MIGRATE_HIGHATOMIC
	AllocTrylock      AllocFlags = 0x400 // ALLOC_TRYLOCK
	AllocKswapd       AllocFlags = 0x800 // ALLOC_KSWAPD: may wake kswapd (__GFP_KSWAPD_RECLAIM)
	AllocReserves                = AllocNonBlock | AllocMinReserve | AllocHighAtomic | AllocOOM
)

var allocFlagNames = [...]struct {
	f    AllocFlags
	name string
}{
	{AllocNoWatermarks, "ALLOC_NO_WATERMARKS"}, {AllocOOM, "ALLOC_OOM"}, {AllocNonBlock, "ALLOC_NON_BLOCK"},
	{AllocMinReserve, "ALLOC_MIN_RESERVE"}, {AllocCPUSet, "ALLOC_CPUSET"}, {AllocCMA, "ALLOC_CMA"},
	{AllocNoFragment, "ALLOC_NOFRAGMENT"}, {AllocHighAtomic, "ALLOC_HIGHATOMIC"}, {AllocTrylock, "ALLOC_TRYLOCK"},
	{AllocKswapd, "ALLOC_KSWAPD"},
}

var wmarkNames = [...]string{"min", "low", "high"}

// String names the flags: the watermark first ("ALLOC_WMARK_MIN"), then
// each set bit, joined by '|'.
func (f AllocFlags) String() string {
	var b strings.Builder
	if f&AllocNoWatermarks == 0 {
		b.WriteString("ALLOC_WMARK_" + strings.ToUpper(wmarkNames[min(int(f&AllocWmarkMask), 2)]))
	}
	for _, n := range allocFlagNames {
		if f&n.f != 0 {
			if b.Len() > 0 {
				b.WriteByte('|')
			}
			b.WriteString(n.name)
		}
	}
	return b.String()
}

// Wmark returns which watermark the flags check: 0 min, 1 low, 2 high.
func (f AllocFlags) Wmark() int { return int(f & AllocWmarkMask) }

// gfpToAllocFlags is gfp_to_alloc_flags() (mm/page_alloc.c, 6.18): the
// flags of the slow path, which checks the min watermark. __GFP_HIGH gives
// ALLOC_MIN_RESERVE and __GFP_KSWAPD_RECLAIM ALLOC_KSWAPD (the kernel copies
// the bits, which have the same values). A caller that cannot reclaim
// directly (no __GFP_DIRECT_RECLAIM) and did not say __GFP_NOMEMALLOC is
// ALLOC_NON_BLOCK, and for order > 0 ALLOC_HIGHATOMIC; a non-blocking
// __GFP_HIGH caller ignores cpusets. GFP_ATOMIC (__GFP_HIGH |
// __GFP_KSWAPD_RECLAIM) so gets ALLOC_MIN_RESERVE and ALLOC_NON_BLOCK;
// GFP_KERNEL neither. (Real-time tasks also get ALLOC_MIN_RESERVE; a script
// is never one.)
func gfpToAllocFlags(g GFP, order int) AllocFlags {
	f := AllocWmarkMin | AllocCPUSet
	if g&GFPHigh != 0 {
		f |= AllocMinReserve
	}
	if g&GFPKswapdReclaim != 0 {
		f |= AllocKswapd
	}
	if g&GFPDirectReclaim == 0 {
		if g&GFPNoMemalloc == 0 {
			f |= AllocNonBlock
			if order > 0 {
				f |= AllocHighAtomic
			}
		}
		if f&AllocMinReserve != 0 {
			f &^= AllocCPUSet
		}
	}
	return f
}

// allocFlagsNofragment is alloc_flags_nofragment() (mm/page_alloc.c, 6.18)
// on a one-node machine: the fast path's first pass avoids mixing
// pageblock types (ALLOC_NOFRAGMENT) when the preferred zone is Normal,
// since DMA32 can then take an allocation before Normal's pageblocks are
// polluted; __GFP_KSWAPD_RECLAIM gives ALLOC_KSWAPD.
func allocFlagsNofragment(preferred ZoneType, g GFP) AllocFlags {
	var f AllocFlags
	if g&GFPKswapdReclaim != 0 {
		f |= AllocKswapd
	}
	if preferred == ZoneNormal {
		f |= AllocNoFragment
	}
	return f
}

// gfpPfmemallocAllowed is gfp_pfmemalloc_allowed() for a caller that is not
// an OOM victim and not in a PF_MEMALLOC context: __GFP_MEMALLOC without
// __GFP_NOMEMALLOC may ignore the watermarks.
func gfpPfmemallocAllowed(g GFP) bool {
	return g&GFPNoMemalloc == 0 && g&GFPMemalloc != 0
}

// watermarkMin is the part of __zone_watermark_ok() that lowers the mark
// for callers with rights to the reserves: ALLOC_MIN_RESERVE (__GFP_HIGH)
// may use half of it, ALLOC_NON_BLOCK with it a further quarter of what is
// left (GFP_ATOMIC: down to 37.5% of min), and ALLOC_OOM half again.
// Non-blocking callers without __GFP_HIGH (GFP_NOWAIT) get nothing.
func watermarkMin(mark int64, f AllocFlags) int64 {
	min := mark
	if f&AllocReserves != 0 {
		if f&AllocMinReserve != 0 {
			min -= min / 2
			if f&AllocNonBlock != 0 {
				min -= min / 4
			}
		}
		if f&AllocOOM != 0 {
			min -= min / 2
		}
	}
	return min
}

// watermarkInput is what __zone_watermark_ok() reads of a zone.
type watermarkInput struct {
	Free           int64  // NR_FREE_PAGES: pages on the buddy free lists (pcp pages are not free)
	LowmemReserve  uint64 // lowmem_reserve[highest_zoneidx]
	FreeHighAtomic uint64 // nr_free_highatomic
	// HasFree reports whether the free list of order o and type mt has a
	// block.
	HasFree func(o int, mt MigrateType) bool
}

// zoneWatermarkOK is __zone_watermark_ok() (mm/page_alloc.c, 6.18): free
// pages, less those the caller may not use ((1 << order) - 1, and the
// HighAtomic reserve for a caller without rights to reserves), must be
// above the mark as lowered for the caller (watermarkMin) plus the
// lowmem reserve kept for allocations that could have used a higher zone;
// and for order > 0 some free list of order or above must have a block
// the caller may take.
func zoneWatermarkOK(z watermarkInput, order int, mark uint64, f AllocFlags) bool {
	free := z.Free - int64(1<<order-1)
	if f&AllocReserves == 0 {
		free -= int64(z.FreeHighAtomic)
	}
	if free <= watermarkMin(int64(mark), f)+int64(z.LowmemReserve) {
		return false
	}
	if order == 0 {
		return true
	}
	for o := order; o <= MaxPageOrder; o++ {
		for mt := MigrateType(0); mt < MigratePCPTypes; mt++ {
			if z.HasFree(o, mt) {
				return true
			}
		}
		if f&(AllocHighAtomic|AllocOOM) != 0 && z.HasFree(o, MigrateHighAtomic) {
			return true
		}
	}
	return false
}

// Watermark indexes into zoneWmarks.Mark.
const (
	WmarkMin = iota
	WmarkLow
	WmarkHigh
	WmarkPromo
	NrWmark
)

// zoneWmarks is a zone's _watermark[], watermark_boost and
// lowmem_reserve[].
type zoneWmarks struct {
	Mark          [NrWmark]uint64
	Boost         uint64
	LowmemReserve [MaxNrZones]uint64
}

// Kernel tunables at their defaults.
const (
	watermarkScaleFactor = 10 // vm.watermark_scale_factor: 0.1% of the zone between watermarks
	swapClusterMax       = 32 // SWAP_CLUSTER_MAX
)

// lowmemReserveRatio is sysctl_lowmem_reserve_ratio[] (mm/page_alloc.c):
// 256 256 32 0 0 on x86_64, as vm.lowmem_reserve_ratio shows.
var lowmemReserveRatio = [MaxNrZones]uint64{ZoneDMA: 256, ZoneDMA32: 256, ZoneNormal: 32}

// nrFreeBufferPages is nr_free_buffer_pages(): the pages of the zones up to
// Normal that are above their high watermarks.
func nrFreeBufferPages(managed *[MaxNrZones]uint64, w *[MaxNrZones]zoneWmarks) uint64 {
	var sum uint64
	for t := ZoneDMA; t <= ZoneNormal; t++ {
		if high := w[t].Mark[WmarkHigh]; managed[t] > high {
			sum += managed[t] - high
		}
	}
	return sum
}

// calculateMinFreeKbytes is calculate_min_free_kbytes() (mm/page_alloc.c,
// 6.18): sqrt(16 * low memory in KiB), clamped to [128, 262144]. At boot
// no watermark is set yet, so low memory is every managed page up to
// Normal.
func calculateMinFreeKbytes(lowmemPages uint64, pageSize uint64) uint64 {
	kb := lowmemPages * (pageSize >> 10)
	v := isqrt(kb * 16)
	return min(max(v, 128), 262144)
}

// isqrt is int_sqrt(): the largest r with r*r <= x.
func isqrt(x uint64) uint64 {
	if x < 2 {
		return x
	}
	r := uint64(1) << ((bits.Len64(x) + 1) / 2)
	for {
		n := (r + x/r) / 2
		if n >= r {
			return r
		}
		r = n
	}
}

// thpMinRAM is the smallest machine on which hugepage_init()
// (mm/huge_memory.c) leaves transparent huge pages on: 512 MiB of
// totalram_pages.
const thpMinRAM = 512 * MiB

// recommendedMinFreeKbytes is set_recommended_min_free_kbytes()
// (mm/khugepaged.c, 6.18), run when khugepaged starts (THP "always" or
// "madvise", the usual default): two free pageblocks per zone up to Normal
// for fragmentation avoidance, plus MIGRATE_PCPTYPES² more so each type has
// a block to fall back to, capped at 5% of nr_free_buffer_pages(). It
// raises min_free_kbytes, never lowers it.
func recommendedMinFreeKbytes(nrZones int, pbOrder int, freeBuffer uint64, pageShift uint) uint64 {
	pb := uint64(1) << pbOrder
	rec := pb*uint64(nrZones)*2 + pb*uint64(nrZones)*uint64(MigratePCPTypes)*uint64(MigratePCPTypes)
	rec = min(rec, freeBuffer/20)
	return rec << (pageShift - 10)
}

// setupZoneWatermarks is __setup_per_zone_wmarks() (mm/page_alloc.c, 6.18):
// min_free_kbytes is shared out between the low zones in proportion to
// their managed pages (ZONE_MOVABLE gets managed/1024 clamped to
// [SWAP_CLUSTER_MAX, 128]); low, high and promo each add
// max(min/4, managed * watermark_scale_factor / 10000) to the one below.
// The boost starts at 0.
func setupZoneWatermarks(managed *[MaxNrZones]uint64, minFreeKbytes uint64, pageShift uint, w *[MaxNrZones]zoneWmarks) {
	pagesMin := minFreeKbytes >> (pageShift - 10)
	var lowmem uint64
	for t := range managed {
		if ZoneType(t) != ZoneMovable {
			lowmem += managed[t]
		}
	}
	for t := range managed {
		var tmp uint64
		if lowmem > 0 {
			tmp = pagesMin * managed[t] / lowmem
		}
		if ZoneType(t) == ZoneMovable {
			w[t].Mark[WmarkMin] = min(max(managed[t]/1024, swapClusterMax), 128)
		} else {
			w[t].Mark[WmarkMin] = tmp
		}
		tmp = max(tmp>>2, managed[t]*watermarkScaleFactor/10000)
		w[t].Boost = 0
		w[t].Mark[WmarkLow] = w[t].Mark[WmarkMin] + tmp
		w[t].Mark[WmarkHigh] = w[t].Mark[WmarkLow] + tmp
		w[t].Mark[WmarkPromo] = w[t].Mark[WmarkHigh] + tmp
	}
}

// setupLowmemReserve is setup_per_zone_lowmem_reserve() (mm/page_alloc.c,
// 6.18): zone i keeps lowmem_reserve[j] pages back from allocations that
// could have used zone j > i, the managed pages of zones i+1..j divided by
// zone i's ratio (0 when the ratio or the zone is empty).
func setupLowmemReserve(managed *[MaxNrZones]uint64, w *[MaxNrZones]zoneWmarks) {
	for i := 0; i < int(MaxNrZones)-1; i++ {
		ratio := lowmemReserveRatio[i]
		clear := ratio == 0 || managed[i] == 0
		var upper uint64
		for j := i + 1; j < int(MaxNrZones); j++ {
			upper += managed[j]
			if clear {
				w[i].LowmemReserve[j] = 0
			} else {
				w[i].LowmemReserve[j] = upper / ratio
			}
		}
	}
}

// bootWatermarks is init_per_zone_wmark_min() followed, on a machine big
// enough for transparent huge pages, by khugepaged's
// set_recommended_min_free_kbytes(): min_free_kbytes, then every zone's
// watermarks and lowmem reserves.
func bootWatermarks(managed *[MaxNrZones]uint64, populated *[MaxNrZones]bool, pageSize uint64, pbOrder int) (minFreeKbytes uint64, w [MaxNrZones]zoneWmarks) {
	pageShift := uint(bits.TrailingZeros64(pageSize))
	minFreeKbytes = calculateMinFreeKbytes(nrFreeBufferPages(managed, &w), pageSize)
	setupZoneWatermarks(managed, minFreeKbytes, pageShift, &w)
	setupLowmemReserve(managed, &w)
	var total uint64
	nrZones := 0
	for t := range managed {
		total += managed[t]
		if ZoneType(t) <= ZoneNormal && populated[t] {
			nrZones++
		}
	}
	if total*pageSize >= thpMinRAM {
		if rec := recommendedMinFreeKbytes(nrZones, pbOrder, nrFreeBufferPages(managed, &w), pageShift); rec > minFreeKbytes {
			minFreeKbytes = rec
			setupZoneWatermarks(managed, minFreeKbytes, pageShift, &w)
		}
	}
	return minFreeKbytes, w
}

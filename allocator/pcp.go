package allocator

import "math/bits"

// Per-CPU page lists (struct per_cpu_pages, include/linux/mmzone.h;
// mm/page_alloc.c, 6.18). Each zone has one per CPU. Freed blocks of an
// order the lists take (pcpAllowedOrder) go to the head of the list for
// their order and pageblock migrate type instead of the buddy free lists,
// so they are neither merged nor counted as free; an allocation takes the
// head of its list, refilling an empty list with a batch from the buddy
// allocator (rmqueue_bulk), and a free that brings the count to high sends
// a batch back (free_pcppages_bulk). The functions here are the
// arithmetic; the lists live in the zone.

// pcpBatchScaleMax is CONFIG_PCP_BATCH_SCALE_MAX (default 5): how far the
// batch may be scaled up by runs of allocations or frees.
const pcpBatchScaleMax = 5

// minPercpuPagelistHighFraction is MIN_PERCPU_PAGELIST_HIGH_FRACTION: high_max
// is at most an eighth of the zone, split between the CPUs.
const minPercpuPagelistHighFraction = 8

// pcp flags (PCPF_*).
const (
	pcpfPrevFreeHighOrder uint8 = 1 << iota // the previous free was of order > 0
	pcpfFreeHighBatch                       // the CPU's cache slice fits 3 batches (setup_pcp_cacheinfo); never set here
)

// zoneBatchsize is zone_batchsize() (mm/page_alloc.c, 6.18): about a
// quarter of 0.1% of the zone, at most 1 MiB worth of pages / 4, rounded
// to 2^n - 1 (batch + batch/2 rounded down to a power of two, minus one) so
// that batches do not keep hitting the same cache colours.
// zone_set_pageset_high_and_batch() then uses at least 1.
func zoneBatchsize(managed, pageSize uint64) int {
	batch := min(managed>>10, MiB/pageSize)
	batch /= 4
	if batch < 1 {
		batch = 1
	}
	b := batch + batch/2
	return max(1, int(uint64(1)<<(63-bits.LeadingZeros64(b)))-1)
}

// zoneHighsize is zone_highsize() (mm/page_alloc.c, 6.18) with no CPU
// coming online: without a high fraction, the zone's low watermark split
// between the node's CPUs (high_min: full pcp lists should not wake
// kswapd early); with one, managed/fraction split likewise (high_max uses
// MIN_PERCPU_PAGELIST_HIGH_FRACTION). Never below 4 batches.
func zoneHighsize(managed, lowWmark uint64, batch, cpus, highFraction int) int {
	total := lowWmark
	if highFraction != 0 {
		total = managed / uint64(highFraction)
	}
	high := int(total / uint64(cpus))
	return max(high, batch<<2)
}

// statThreshold is calculate_normal_threshold() (mm/vmstat.c, 6.18): how
// far a CPU's vmstat counter may drift before it is folded, shown in
// /proc/zoneinfo as "vm stats threshold".
func statThreshold(managed uint64, pageShift uint, cpus int) int {
	mem := managed >> (27 - pageShift)
	t := 2 * fls(uint64(cpus)) * (1 + fls(mem))
	return min(125, t)
}

// fls is the kernel's fls(): the 1-based index of the highest set bit, 0
// for 0.
func fls(x uint64) int { return bits.Len64(x) }

// hpagePMDOrder is HPAGE_PMD_ORDER: the order of the huge page a PMD maps
// (9 with 4 KiB pages).
func hpagePMDOrder(pageSize uint64) int {
	order := 0
	for n := pageSize / 8; n > 1; n >>= 1 {
		order++
	}
	return order
}

// pcpAllowedOrder is pcp_allowed_order(): orders up to
// PAGE_ALLOC_COSTLY_ORDER, and the THP order with
// CONFIG_TRANSPARENT_HUGEPAGE (when it is a buddy order at all).
func pcpAllowedOrder(order int, pageSize uint64) bool {
	if order <= PageAllocCostlyOrder {
		return true
	}
	t := hpagePMDOrder(pageSize)
	return order == t && t <= MaxPageOrder
}

// PCPAllowedOrder reports whether blocks of order go through the per-CPU
// page lists on a machine of pageSize pages (pcp_allowed_order()).
func PCPAllowedOrder(order int, pageSize uint64) bool {
	return order >= 0 && pcpAllowedOrder(order, pageSize)
}

// NR_LOWORDER_PCP_LISTS and NR_PCP_LISTS: one list per pcp migrate type
// per order up to PAGE_ALLOC_COSTLY_ORDER, then two for the THP order
// (movable and not).
const (
	nrLowOrderPCPLists = int(MigratePCPTypes) * (PageAllocCostlyOrder + 1)
	nrPCPLists         = nrLowOrderPCPLists + 2
)

// orderToPindex is order_to_pindex(): which list a block of order and
// migrate type goes on.
func orderToPindex(mt MigrateType, order int) int {
	if order > PageAllocCostlyOrder {
		if mt == MigrateMovable {
			return nrLowOrderPCPLists + 1
		}
		return nrLowOrderPCPLists
	}
	return int(MigratePCPTypes)*order + int(mt)
}

// pindexToOrder is pindex_to_order().
func pindexToOrder(pindex int, pageSize uint64) int {
	if pindex >= nrLowOrderPCPLists {
		return hpagePMDOrder(pageSize)
	}
	return pindex / int(MigratePCPTypes)
}

// pcpCounters are the fields of struct per_cpu_pages that size the
// batches: count (pages on the lists), high and its bounds, batch, and the
// auto-tuning state.
type pcpCounters struct {
	Count       int   // pages on this CPU's lists for the zone
	High        int   // pcp->high: free beyond it (auto-tuned between HighMin and HighMax)
	HighMin     int   // pcp->high_min
	HighMax     int   // pcp->high_max
	Batch       int   // pcp->batch
	FreeCount   int   // pcp->free_count: pages freed since the last allocation (halved by each)
	AllocFactor uint8 // pcp->alloc_factor: order-0 refills double while allocations run without frees
	Flags       uint8 // PCPF_*
}

// nrPcpAlloc is nr_pcp_alloc() (mm/page_alloc.c, 6.18): how many blocks a
// refill takes from the buddy allocator. high is first clamped into its
// bounds; a boot pageset (high < batch) takes one. Unless the zone is below
// its high watermark, high grows by a batch (the lists are being used). An
// order-0 refill takes batch << alloc_factor, at most what fits under high
// and at least a batch, and doubles the next one; higher orders take
// batch >> order blocks, at least 2.
func (p *pcpCounters) nrPcpAlloc(order int, zoneBelowHigh bool) int {
	base := p.Batch
	p.High = min(max(p.High, p.HighMin), p.HighMax)
	high := p.High
	if high < base {
		return 1
	}
	batch := base
	if order == 0 {
		batch = base << p.AllocFactor
	}
	if p.HighMin != p.HighMax && !zoneBelowHigh {
		p.High = min(high+batch, p.HighMax)
		high = p.High
	}
	if order == 0 {
		maxNr := max(high-p.Count-base, base)
		if batch <= maxNr && p.AllocFactor < pcpBatchScaleMax {
			p.AllocFactor++
		}
		batch = min(batch, maxNr)
	}
	if batch > 1 {
		batch = max(batch>>order, 2)
	}
	return batch
}

// nrPcpHigh is nr_pcp_high() (mm/page_alloc.c, 6.18): the count at which a
// free drains, tuning high on the way. 0 (a boot pageset, or a run of
// high-order frees: freeHigh) drains at once. With high_min == high_max
// (a fixed percpu_pagelist_high_fraction) high is fixed. When the zone is
// below its high watermark, high shrinks by the pages freed since the last
// allocation (at least a batch), but the drain point stays at the count;
// when the lists are full, high grows to hold another batch. (allocviz has
// no reclaim, so ZONE_RECLAIM_ACTIVE is never set.)
func (p *pcpCounters) nrPcpHigh(batch int, freeHigh, zoneBelowHigh bool) int {
	p.High = min(max(p.High, p.HighMin), p.HighMax)
	high := p.High
	if high == 0 {
		return 0
	}
	if freeHigh {
		p.High = max(high-(batch<<pcpBatchScaleMax), p.HighMin)
		return 0
	}
	if p.HighMin == p.HighMax {
		return high
	}
	if zoneBelowHigh {
		fc := max(p.FreeCount, batch)
		p.High = max(high-fc, p.HighMin)
		high = max(p.Count, p.HighMin)
	} else if p.Count >= high {
		need := p.FreeCount + batch
		if p.High < need {
			p.High = min(max(need, p.HighMin), p.HighMax)
		}
	}
	return high
}

// nrPcpFree is nr_pcp_free() (mm/page_alloc.c, 6.18): how many pages a
// drain sends back: as many as possible (up to batch << scale) after a run
// of high-order frees; one for a boot pageset; otherwise the pages freed
// in a row, kept between a batch and high - batch so a batch stays.
func (p *pcpCounters) nrPcpFree(batch, high int, freeHigh bool) int {
	if freeHigh {
		return min(p.Count, batch<<pcpBatchScaleMax)
	}
	if high < batch {
		return 1
	}
	minNr, maxNr := batch, high-batch
	return min(max(p.FreeCount, minNr), maxNr)
}

// allocBegin is what rmqueue_pcplist() does to the counters before taking
// a block: an allocation halves free_count, so the next drain is smaller.
func (p *pcpCounters) allocBegin() { p.FreeCount >>= 1 }

// freeCommit is the counting half of free_frozen_page_commit()
// (mm/page_alloc.c, 6.18, free_unref_page_commit() before 6.15), after the
// block of order went on its list: it returns how many pages to drain now
// (0 for none). A free halves alloc_factor; free_count grows by the pages
// freed, up to batch << scale; a second high-order (1..3) free in a row
// after at least a batch of frees is a "free_high" run, drained hard.
func (p *pcpCounters) freeCommit(order int, zoneBelowHigh bool) int {
	p.AllocFactor >>= 1
	p.Count += 1 << order
	batch := p.Batch
	freeHigh := false
	if order > 0 && order <= PageAllocCostlyOrder {
		freeHigh = p.FreeCount >= batch && p.Flags&pcpfPrevFreeHighOrder != 0 &&
			(p.Flags&pcpfFreeHighBatch == 0 || p.Count >= batch)
		p.Flags |= pcpfPrevFreeHighOrder
	} else if p.Flags&pcpfPrevFreeHighOrder != 0 {
		p.Flags &^= pcpfPrevFreeHighOrder
	}
	if p.FreeCount < batch<<pcpBatchScaleMax {
		p.FreeCount += 1 << order
	}
	high := p.nrPcpHigh(batch, freeHigh, zoneBelowHigh)
	if p.Count >= high {
		return p.nrPcpFree(batch, high, freeHigh)
	}
	return 0
}

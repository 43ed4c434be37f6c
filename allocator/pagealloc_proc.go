package allocator

import (
	"fmt"
	"strings"
)

// ZoneStats is what /proc/buddyinfo, /proc/pagetypeinfo and /proc/zoneinfo
// read of one zone. The formatters below are pure functions of it, so they
// can be checked against real kernels' files with the real numbers.
type ZoneStats struct {
	Type     ZoneType
	StartPFN uint64 // zone_start_pfn
	Spanned  uint64 // spanned_pages
	Present  uint64 // present_pages
	Managed  uint64 // managed_pages: present less what boot reserved

	// NrFree is free_area[order].free_list[type] counted: free blocks per
	// order and migrate type.
	NrFree [NrPageOrders][MigrateTypes]uint64
	// Pageblocks counts the zone's pageblocks by migrate type, stepping
	// from zone_start_pfn by pageblock_nr_pages and skipping holes, as
	// pagetypeinfo_showblockcount_print() does.
	Pageblocks [MigrateTypes]uint64

	Free       uint64 // NR_FREE_PAGES: pages on the free lists (pcp pages are not free)
	FreeBlocks uint64 // NR_FREE_PAGES_BLOCKS: free pages in free blocks of pageblock_order and up

	Wmark         [NrWmark]uint64    // min, low, high, promo
	Boost         uint64             // watermark_boost
	LowmemReserve [MaxNrZones]uint64 // "protection"

	PCP           []PCPStats        // per online CPU
	StatThreshold int               // per-CPU vmstat threshold (the same on every CPU)
	Counters      map[string]uint64 // zone vmstat items allocviz counts ("numa_hit", ...); absent ones print 0
}

// PCPStats is one CPU's struct per_cpu_pages for a zone.
type PCPStats struct {
	Count, High, Batch, HighMin, HighMax int
}

// EndPFN is zone_end_pfn().
func (z *ZoneStats) EndPFN() uint64 { return z.StartPFN + z.Spanned }

// Populated is populated_zone(): the zone has present pages.
func (z *ZoneStats) Populated() bool { return z.Present > 0 }

// nrFree is free_area[order].nr_free: the blocks of every migrate type.
func (z *ZoneStats) nrFree(order int) uint64 {
	var n uint64
	for _, c := range z.NrFree[order] {
		n += c
	}
	return n
}

// FormatBuddyinfo renders /proc/buddyinfo (mm/vmstat.c: frag_show_print(),
// 6.18): a line per populated zone, "Node %d, zone %8s " then "%6lu " for
// each order's nr_free.
func FormatBuddyinfo(zones []ZoneStats) string {
	var b strings.Builder
	for i := range zones {
		z := &zones[i]
		if !z.Populated() {
			continue
		}
		fmt.Fprintf(&b, "Node %d, zone %8s ", 0, z.Type)
		for o := 0; o < NrPageOrders; o++ {
			fmt.Fprintf(&b, "%6d ", z.nrFree(o))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// pagetypeinfoOverflow is where pagetypeinfo_showfree_print() stops
// counting a free list (it prints ">100000").
const pagetypeinfoOverflow = 100000

// FormatPagetypeinfo renders /proc/pagetypeinfo (mm/vmstat.c:
// pagetypeinfo_show(), 6.18): the pageblock order, the free blocks per
// zone, migrate type and order, and the pageblocks per migrate type. (The
// mixed-block table needs CONFIG_PAGE_OWNER and is not printed.)
func FormatPagetypeinfo(zones []ZoneStats, pageblockOrder int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Page block order: %d\n", pageblockOrder)
	fmt.Fprintf(&b, "Pages per block:  %d\n", 1<<pageblockOrder)
	b.WriteByte('\n')
	fmt.Fprintf(&b, "%-43s ", "Free pages count per migrate type at order")
	for o := 0; o < NrPageOrders; o++ {
		fmt.Fprintf(&b, "%6d ", o)
	}
	b.WriteByte('\n')
	for i := range zones {
		z := &zones[i]
		if !z.Populated() {
			continue
		}
		for mt := MigrateType(0); mt < MigrateTypes; mt++ {
			fmt.Fprintf(&b, "Node %4d, zone %8s, type %12s ", 0, z.Type, mt)
			for o := 0; o < NrPageOrders; o++ {
				n, over := z.NrFree[o][mt], ""
				if n >= pagetypeinfoOverflow {
					n, over = pagetypeinfoOverflow, ">"
				}
				fmt.Fprintf(&b, "%s%6d ", over, n)
			}
			b.WriteByte('\n')
		}
	}
	fmt.Fprintf(&b, "\n%-23s", "Number of blocks type ")
	for mt := MigrateType(0); mt < MigrateTypes; mt++ {
		fmt.Fprintf(&b, "%12s ", mt)
	}
	b.WriteByte('\n')
	for i := range zones {
		z := &zones[i]
		if !z.Populated() {
			continue
		}
		fmt.Fprintf(&b, "Node %d, zone %8s ", 0, z.Type)
		for mt := MigrateType(0); mt < MigrateTypes; mt++ {
			fmt.Fprintf(&b, "%12d ", z.Pageblocks[mt])
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// nodeStatNames are the node vmstat items /proc/zoneinfo prints under
// "per-node stats" (mm/vmstat.c: vmstat_text[], the NR_VM_NODE_STAT_ITEMS
// part), as the 6.18 x86_64 kernel in testdata prints them.
var nodeStatNames = [...]string{
	"nr_inactive_anon", "nr_active_anon", "nr_inactive_file", "nr_active_file", "nr_unevictable",
	"nr_slab_reclaimable", "nr_slab_unreclaimable", "nr_isolated_anon", "nr_isolated_file",
	"workingset_nodes", "workingset_refault_anon", "workingset_refault_file", "workingset_activate_anon",
	"workingset_activate_file", "workingset_restore_anon", "workingset_restore_file", "workingset_nodereclaim",
	"nr_anon_pages", "nr_mapped", "nr_file_pages", "nr_dirty", "nr_writeback", "nr_shmem",
	"nr_shmem_hugepages", "nr_shmem_pmdmapped", "nr_file_hugepages", "nr_file_pmdmapped",
	"nr_anon_transparent_hugepages", "nr_vmscan_write", "nr_vmscan_immediate_reclaim", "nr_dirtied",
	"nr_written", "nr_throttled_written", "nr_kernel_misc_reclaimable", "nr_foll_pin_acquired",
	"nr_foll_pin_released", "nr_kernel_stack", "nr_page_table_pages", "nr_sec_page_table_pages",
	"nr_iommu_pages", "nr_swapcached", "pgpromote_success", "pgpromote_candidate", "pgpromote_candidate_nrl",
	"pgdemote_kswapd", "pgdemote_direct", "pgdemote_khugepaged", "pgdemote_proactive", "nr_hugetlb",
	"nr_balloon_pages", "nr_kernel_file_pages",
}

// zoneStatNames are the zone vmstat items (NR_VM_ZONE_STAT_ITEMS, then the
// NUMA event items of CONFIG_NUMA), as the same kernel prints them. The
// first two are computed from the free lists; the others come from
// ZoneStats.Counters.
var zoneStatNames = [...]string{
	"nr_free_pages", "nr_free_pages_blocks", "nr_zone_inactive_anon", "nr_zone_active_anon",
	"nr_zone_inactive_file", "nr_zone_active_file", "nr_zone_unevictable", "nr_zone_write_pending",
	"nr_mlock", "nr_zspages", "nr_free_cma",
	"numa_hit", "numa_miss", "numa_foreign", "numa_interleave", "numa_local", "numa_other",
}

// FormatZoneinfo renders /proc/zoneinfo (mm/vmstat.c: zoneinfo_show_print(),
// 6.18): every zone, populated or not; the node's counters after the first
// populated zone's header; for each zone the free pages, watermarks, sizes
// and protection, and for a populated one its counters, each CPU's pcp
// lists and vmstat threshold, and its start pfn. nodeStats supplies the
// per-node items allocviz counts; absent ones print 0.
func FormatZoneinfo(zones []ZoneStats, nodeStats map[string]uint64) string {
	var b strings.Builder
	first := true
	for i := range zones {
		z := &zones[i]
		fmt.Fprintf(&b, "Node %d, zone %8s", 0, z.Type)
		if first && z.Populated() {
			first = false
			b.WriteString("\n  per-node stats")
			for _, n := range nodeStatNames {
				fmt.Fprintf(&b, "\n      %-12s %d", n, nodeStats[n])
			}
		}
		fmt.Fprintf(&b, "\n  pages free     %d"+
			"\n        boost    %d"+
			"\n        min      %d"+
			"\n        low      %d"+
			"\n        high     %d"+
			"\n        promo    %d"+
			"\n        spanned  %d"+
			"\n        present  %d"+
			"\n        managed  %d"+
			"\n        cma      %d",
			z.Free, z.Boost, z.Wmark[WmarkMin], z.Wmark[WmarkLow], z.Wmark[WmarkHigh], z.Wmark[WmarkPromo],
			z.Spanned, z.Present, z.Managed, 0)
		fmt.Fprintf(&b, "\n        protection: (%d", z.LowmemReserve[0])
		for _, r := range z.LowmemReserve[1:] {
			fmt.Fprintf(&b, ", %d", r)
		}
		b.WriteByte(')')
		if !z.Populated() {
			b.WriteByte('\n')
			continue
		}
		for _, n := range zoneStatNames {
			v := z.Counters[n]
			switch n {
			case "nr_free_pages":
				v = z.Free
			case "nr_free_pages_blocks":
				v = z.FreeBlocks
			}
			fmt.Fprintf(&b, "\n      %-12s %d", n, v)
		}
		b.WriteString("\n  pagesets")
		for cpu, p := range z.PCP {
			fmt.Fprintf(&b, "\n    cpu: %d"+
				"\n              count:    %d"+
				"\n              high:     %d"+
				"\n              batch:    %d"+
				"\n              high_min: %d"+
				"\n              high_max: %d",
				cpu, p.Count, p.High, p.Batch, p.HighMin, p.HighMax)
			fmt.Fprintf(&b, "\n  vm stats threshold: %d", z.StatThreshold)
		}
		fmt.Fprintf(&b, "\n  node_unreclaimable:  %d"+
			"\n  start_pfn:           %d", 0, z.StartPFN)
		b.WriteByte('\n')
	}
	return b.String()
}

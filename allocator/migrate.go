package allocator

import "fmt"

// MigrateType is enum migratetype (include/linux/mmzone.h, 6.18) for a
// kernel with CONFIG_MEMORY_ISOLATION and without CONFIG_CMA, the
// configuration of the 6.18 kernel whose /proc/pagetypeinfo is in
// testdata: its columns are Unmovable, Movable, Reclaimable, HighAtomic
// and Isolate.
type MigrateType uint8

// Migrate types. The first MigratePCPTypes are the ones with per-CPU lists
// and fallbacks.
const (
	MigrateUnmovable   MigrateType = iota // kernel memory that cannot move
	MigrateMovable                        // user and page cache memory; every pageblock at boot
	MigrateReclaimable                    // slab caches with SLAB_RECLAIM_ACCOUNT (__GFP_RECLAIMABLE)
	MigrateHighAtomic                     // reserved for high-order atomic allocations
	MigrateIsolate                        // being offlined; never allocated from
	MigrateTypes                          // MIGRATE_TYPES

	MigratePCPTypes = MigrateHighAtomic // MIGRATE_PCPTYPES: the types on pcp lists
)

// migratetypeNames is migratetype_names[] (mm/page_alloc.c).
var migratetypeNames = [MigrateTypes]string{"Unmovable", "Movable", "Reclaimable", "HighAtomic", "Isolate"}

func (t MigrateType) String() string {
	if t < MigrateTypes {
		return migratetypeNames[t]
	}
	return fmt.Sprintf("MigrateType(%d)", t)
}

// fallbacks is fallbacks[] (mm/page_alloc.c, 6.18): the migrate types an
// allocation of a type may take pages from when its own free lists are
// empty, in the order __rmqueue_claim() and __rmqueue_steal() try them
// (find_suitable_fallback()).
var fallbacks = [MigratePCPTypes][MigratePCPTypes - 1]MigrateType{
	MigrateUnmovable:   {MigrateReclaimable, MigrateMovable},
	MigrateMovable:     {MigrateReclaimable, MigrateUnmovable},
	MigrateReclaimable: {MigrateUnmovable, MigrateMovable},
}

// gfpMovableShift is GFP_MOVABLE_SHIFT: __GFP_MOVABLE >> 3 is
// MIGRATE_MOVABLE and __GFP_RECLAIMABLE >> 3 MIGRATE_RECLAIMABLE.
const gfpMovableShift = 3

// gfpMigratetype is gfp_migratetype() (include/linux/gfp.h): the migrate
// type an allocation asks for, from __GFP_MOVABLE and __GFP_RECLAIMABLE
// (both at once is a bug the kernel warns about; it reads as HighAtomic,
// which is what the bits give). With mobility grouping off every
// allocation is Unmovable.
func gfpMigratetype(g GFP, mobilityDisabled bool) MigrateType {
	if mobilityDisabled {
		return MigrateUnmovable
	}
	return MigrateType((g & (GFPMovable | GFPReclaimable)) >> gfpMovableShift)
}

// Migratetype is gfp_migratetype() on a machine with mobility grouping on:
// the migrate type whose free lists an allocation with these flags uses.
func (g GFP) Migratetype() MigrateType { return gfpMigratetype(g, false) }

// pageblockOrder is pageblock_order (include/linux/pageblock-flags.h,
// 6.18) for a kernel with CONFIG_HUGETLB_PAGE:
// min(HUGETLB_PAGE_ORDER, PAGE_BLOCK_MAX_ORDER). The huge page is the one
// a PMD maps: 2 MiB with 4 KiB pages (order 9), 32 MiB with 16 KiB pages
// (order 11) and 512 MiB with 64 KiB pages (order 13); PAGE_BLOCK_MAX_ORDER
// defaults to MAX_PAGE_ORDER, so the last two are 10.
func pageblockOrder(pageSize uint64) int {
	// A page table page holds pageSize/8 entries, so a PMD entry maps
	// pageSize * pageSize/8 bytes: order log2(pageSize/8).
	order := 0
	for n := pageSize / 8; n > 1; n >>= 1 {
		order++
	}
	return min(order, MaxPageOrder)
}

// mobilityDisabled is page_group_by_mobility_disabled as
// build_all_zonelists() sets it: grouping by mobility is off when fewer
// pages than pageblock_nr_pages * MIGRATE_TYPES are usable
// (nr_free_zone_pages(gfp_zone(GFP_HIGHUSER_MOVABLE))), too few to give
// each migrate type its own pageblocks.
func mobilityDisabled(usablePages uint64, pageblockOrder int) bool {
	return usablePages < uint64(1)<<pageblockOrder*uint64(MigrateTypes)
}

// shouldTryClaimBlock is should_try_claim_block() (mm/page_alloc.c, 6.15+):
// whether a fallback allocation that found a free block of order in
// another type's list should try to take that whole pageblock over, or
// just steal the block. Large blocks are always claimed; so are any an
// Unmovable or Reclaimable allocation falls back to, since polluting a
// Movable pageblock with them fragments memory for good. Movable
// allocations of small orders only steal.
func shouldTryClaimBlock(order, pbOrder int, start MigrateType, mobilityOff bool) bool {
	switch {
	case order >= pbOrder:
		return true
	case order >= pbOrder/2:
		return true
	case start == MigrateReclaimable || start == MigrateUnmovable:
		return true
	case mobilityOff:
		return true
	}
	return false
}

// claimsBlock is the test at the end of try_to_claim_block()
// (mm/page_alloc.c, 6.15+) for a block smaller than a pageblock: the
// allocation takes the whole pageblock over when its free pages plus the
// pages "alike" to the allocation are at least half the pageblock. For a
// Movable allocation the alike pages are the pageblock's movable pages;
// for an Unmovable or Reclaimable one falling back to a Movable pageblock
// every page that is neither free nor movable counts; between Unmovable
// and Reclaimable nothing does.
func claimsBlock(pbOrder int, free, movable uint64, start, block MigrateType, mobilityOff bool) bool {
	var alike uint64
	switch {
	case start == MigrateMovable:
		alike = movable
	case block == MigrateMovable:
		alike = 1<<pbOrder - (free + movable)
	}
	return free+alike >= 1<<(pbOrder-1) || mobilityOff
}

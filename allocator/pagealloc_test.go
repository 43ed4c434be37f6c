package allocator

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// The 6.18 guest in testdata (Firecracker, kernel 6.18.44, 2 CPUs, 24 GiB
// of which 3 GiB below the PCI hole) printed these files; the tests below
// read them back and check allocviz's arithmetic and formats against them.
const (
	fcZoneinfo     = "zoneinfo-firecracker-6.18.44.txt"
	fcPagetypeinfo = "pagetypeinfo-firecracker-6.18.44.txt"
	fcBuddyinfo    = "buddyinfo-firecracker-6.18.44.txt"
	fcCPUs         = 2
)

// parseZoneinfo reads a /proc/zoneinfo into ZoneStats (every field
// FormatZoneinfo prints) and the per-node counters.
func parseZoneinfo(t *testing.T, text string) ([]ZoneStats, map[string]uint64) {
	t.Helper()
	var zones []ZoneStats
	node := map[string]uint64{}
	var z *ZoneStats
	var pcp *PCPStats
	inNode := false
	num := func(s string) uint64 {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("zoneinfo: %q: %v", s, err)
		}
		return n
	}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		switch {
		case strings.HasPrefix(line, "Node "):
			name := f[len(f)-1]
			zt := MaxNrZones
			for i, n := range zoneNames {
				if n == name {
					zt = ZoneType(i)
				}
			}
			if zt == MaxNrZones {
				t.Fatalf("zoneinfo: unknown zone %q", name)
			}
			zones = append(zones, ZoneStats{Type: zt, Counters: map[string]uint64{}})
			z, pcp, inNode = &zones[len(zones)-1], nil, false
		case line == "  per-node stats":
			inNode = true
		case strings.HasPrefix(line, "  pages free"):
			inNode = false
			z.Free = num(f[2])
		case strings.HasPrefix(line, "        protection:"):
			inner := strings.Trim(strings.TrimPrefix(strings.TrimSpace(line), "protection:"), " ()")
			for i, p := range strings.Split(inner, ", ") {
				z.LowmemReserve[i] = num(p)
			}
		case strings.HasPrefix(line, "    cpu:"):
			z.PCP = append(z.PCP, PCPStats{})
			pcp = &z.PCP[len(z.PCP)-1]
		case pcp != nil && strings.HasPrefix(line, "              "):
			v := int(num(f[1]))
			switch f[0] {
			case "count:":
				pcp.Count = v
			case "high:":
				pcp.High = v
			case "batch:":
				pcp.Batch = v
			case "high_min:":
				pcp.HighMin = v
			case "high_max:":
				pcp.HighMax = v
			}
		case strings.HasPrefix(line, "  vm stats threshold:"):
			z.StatThreshold = int(num(f[3]))
		case strings.HasPrefix(line, "  node_unreclaimable:"), line == "  pagesets":
		case strings.HasPrefix(line, "  start_pfn:"):
			z.StartPFN = num(f[1])
		case len(f) == 2:
			v := num(f[1])
			switch {
			case inNode:
				node[f[0]] = v
			case f[0] == "boost":
				z.Boost = v
			case f[0] == "min":
				z.Wmark[WmarkMin] = v
			case f[0] == "low":
				z.Wmark[WmarkLow] = v
			case f[0] == "high":
				z.Wmark[WmarkHigh] = v
			case f[0] == "promo":
				z.Wmark[WmarkPromo] = v
			case f[0] == "spanned":
				z.Spanned = v
			case f[0] == "present":
				z.Present = v
			case f[0] == "managed":
				z.Managed = v
			case f[0] == "cma":
			case f[0] == "nr_free_pages_blocks":
				z.FreeBlocks = v
			case f[0] == "nr_free_pages":
			default:
				z.Counters[f[0]] = v
			}
		default:
			t.Fatalf("zoneinfo: unexpected line %q", line)
		}
	}
	return zones, node
}

// TestZoneinfoFormatIsTheKernels reads the 6.18 guest's /proc/zoneinfo into
// ZoneStats and prints it again: the bytes must be the kernel's.
func TestZoneinfoFormatIsTheKernels(t *testing.T) {
	want := string(readTestdata(t, fcZoneinfo))
	zones, node := parseZoneinfo(t, want)
	if len(zones) != int(MaxNrZones) {
		t.Fatalf("parsed %d zones, want %d", len(zones), MaxNrZones)
	}
	if got := FormatZoneinfo(zones, node); got != want {
		t.Errorf("zoneinfo differs from the kernel's:\n%s", firstDiff(got, want))
	}
}

// TestWatermarksAreTheKernels gives allocviz's boot arithmetic the managed
// pages of the 6.18 guest's zones and compares what it computes with what
// that kernel printed: min_free_kbytes (raised by khugepaged), every
// watermark, the lowmem reserves, the pcp batch, high_min and high_max,
// and the vmstat thresholds.
func TestWatermarksAreTheKernels(t *testing.T) {
	zones, _ := parseZoneinfo(t, string(readTestdata(t, fcZoneinfo)))
	var managed [MaxNrZones]uint64
	var populated [MaxNrZones]bool
	for _, z := range zones {
		managed[z.Type] = z.Managed
		populated[z.Type] = z.Populated()
	}
	minFree, w := bootWatermarks(&managed, &populated, 4096, pageblockOrder(4096))
	wantMinFree, err := strconv.ParseUint(strings.TrimSpace(string(readTestdata(t, "vm-min_free_kbytes-firecracker-6.18.44.txt"))), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	if minFree != wantMinFree {
		t.Errorf("min_free_kbytes %d, the kernel's %d", minFree, wantMinFree)
	}
	for _, z := range zones {
		got := w[z.Type]
		if got.Mark != z.Wmark {
			t.Errorf("%v: watermarks min/low/high/promo %v, the kernel's %v", z.Type, got.Mark, z.Wmark)
		}
		if got.LowmemReserve != z.LowmemReserve {
			t.Errorf("%v: protection %v, the kernel's %v", z.Type, got.LowmemReserve, z.LowmemReserve)
		}
		if !z.Populated() {
			continue
		}
		batch := zoneBatchsize(z.Managed, 4096)
		highMin := zoneHighsize(z.Managed, got.Mark[WmarkLow], batch, fcCPUs, 0)
		highMax := zoneHighsize(z.Managed, got.Mark[WmarkLow], batch, fcCPUs, minPercpuPagelistHighFraction)
		for cpu, p := range z.PCP {
			if p.Batch != batch || p.HighMin != highMin || p.HighMax != highMax {
				t.Errorf("%v cpu %d: batch %d high_min %d high_max %d, the kernel's %d %d %d",
					z.Type, cpu, batch, highMin, highMax, p.Batch, p.HighMin, p.HighMax)
			}
		}
		if th := statThreshold(z.Managed, 12, fcCPUs); th != z.StatThreshold {
			t.Errorf("%v: vm stats threshold %d, the kernel's %d", z.Type, th, z.StatThreshold)
		}
	}
}

// parsePagetypeinfo reads the free-list and pageblock tables of a
// /proc/pagetypeinfo into ZoneStats, and the pageblock order.
func parsePagetypeinfo(t *testing.T, text string) ([]ZoneStats, int) {
	t.Helper()
	var zones []ZoneStats
	zone := func(name string) *ZoneStats {
		for i := range zones {
			if zones[i].Type.String() == name {
				return &zones[i]
			}
		}
		for i, n := range zoneNames {
			if n == name {
				zones = append(zones, ZoneStats{Type: ZoneType(i), Present: 1})
				return &zones[len(zones)-1]
			}
		}
		t.Fatalf("pagetypeinfo: unknown zone %q", name)
		return nil
	}
	mtype := func(name string) MigrateType {
		for i, n := range migratetypeNames {
			if n == name {
				return MigrateType(i)
			}
		}
		t.Fatalf("pagetypeinfo: unknown migrate type %q", name)
		return 0
	}
	pbOrder := -1
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(strings.ReplaceAll(line, ",", " "))
		switch {
		case strings.HasPrefix(line, "Page block order:"):
			pbOrder, _ = strconv.Atoi(f[3])
		case strings.HasPrefix(line, "Node") && len(f) == 6+NrPageOrders:
			z, mt := zone(f[3]), mtype(f[5])
			for o := 0; o < NrPageOrders; o++ {
				n, err := strconv.ParseUint(strings.TrimPrefix(f[6+o], ">"), 10, 64)
				if err != nil {
					t.Fatal(err)
				}
				z.NrFree[o][mt] = n
			}
		case strings.HasPrefix(line, "Node") && len(f) == 4+int(MigrateTypes):
			z := zone(f[3])
			for mt := 0; mt < int(MigrateTypes); mt++ {
				n, err := strconv.ParseUint(f[4+mt], 10, 64)
				if err != nil {
					t.Fatal(err)
				}
				z.Pageblocks[mt] = n
			}
		}
	}
	return zones, pbOrder
}

// TestPagetypeinfoFormatIsTheKernels prints the 6.18 guest's
// /proc/pagetypeinfo again from its numbers: the bytes must be the
// kernel's, and its pageblock order allocviz's for 4 KiB pages.
func TestPagetypeinfoFormatIsTheKernels(t *testing.T) {
	want := string(readTestdata(t, fcPagetypeinfo))
	zones, pbOrder := parsePagetypeinfo(t, want)
	if pbOrder != pageblockOrder(4096) {
		t.Errorf("pageblock order %d on the 6.18 guest, allocviz's %d", pbOrder, pageblockOrder(4096))
	}
	if got := FormatPagetypeinfo(zones, pbOrder); got != want {
		t.Errorf("pagetypeinfo differs from the kernel's:\n%s", firstDiff(got, want))
	}
	// Its pageblock counts below 4 GiB are what the zone spans give: every
	// pageblock from zone_start_pfn on that is not in the PCI hole. (Most of
	// the guest's Normal zone is offline memory, which the count skips.)
	zi, _ := parseZoneinfo(t, string(readTestdata(t, fcZoneinfo)))
	for _, z := range zones {
		var total uint64
		for _, n := range z.Pageblocks {
			total += n
		}
		for _, s := range zi {
			if s.Type != z.Type || s.Type == ZoneNormal {
				continue
			}
			// The DMA zone starts at pfn 1 on this guest; pfn 0 is not RAM.
			ranges := []pfnRange{{1, 0xc0000}, {0x100000, s.StartPFN + s.Spanned}}
			if want := pageblocksInSpan(ranges, s.StartPFN, s.EndPFN(), 9); want != total {
				t.Errorf("%v: %d pageblocks, the span gives %d", z.Type, total, want)
			}
		}
	}
}

// pageblocksInSpan counts the pageblocks pagetypeinfo_showblockcount_print()
// visits: from start in steps of a pageblock, those whose pfn is RAM. (On
// the guest the gaps below 1 MiB are inside present memory sections.)
func pageblocksInSpan(ranges []pfnRange, start, end uint64, pbOrder int) uint64 {
	var n uint64
	for pfn := start; pfn < end; pfn += 1 << pbOrder {
		for _, r := range ranges {
			if pfn >= r.start && pfn < r.end {
				n++
				break
			}
		}
	}
	return n
}

// TestBuddyinfoMultiZoneIsTheKernels prints the 6.18 guest's
// /proc/buddyinfo again from its numbers.
func TestBuddyinfoMultiZoneIsTheKernels(t *testing.T) {
	want := string(readTestdata(t, fcBuddyinfo))
	var zones []ZoneStats
	for _, line := range strings.Split(strings.TrimSuffix(want, "\n"), "\n") {
		f := strings.Fields(strings.ReplaceAll(line, ",", " "))
		z := ZoneStats{Present: 1}
		for i, n := range zoneNames {
			if n == f[3] {
				z.Type = ZoneType(i)
			}
		}
		for o := 0; o < NrPageOrders; o++ {
			n, err := strconv.ParseUint(f[4+o], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			z.NrFree[o][MigrateMovable] = n
		}
		zones = append(zones, z)
	}
	if len(zones) != 3 {
		t.Fatalf("%d zones in the guest's buddyinfo, want DMA, DMA32 and Normal", len(zones))
	}
	// An unpopulated zone prints no line.
	zones = append(zones, ZoneStats{Type: ZoneMovable})
	if got := FormatBuddyinfo(zones); got != want {
		t.Errorf("buddyinfo differs from the kernel's:\n%s", firstDiff(got, want))
	}
}

// firstDiff shows the first line where got and want differ.
func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < max(len(g), len(w)); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d:\n got  %q\n want %q", i+1, gl, wl)
		}
	}
	return "(no line differs)"
}

func TestZoneSpans(t *testing.T) {
	type span struct {
		start, spanned, present uint64
	}
	cases := []struct {
		ram      uint64
		pageSize uint64
		want     [3]span // DMA, DMA32, Normal
	}{
		{64 * MiB, 4096, [3]span{{0, 4096, 4096}, {4096, 12288, 12288}, {}}},
		{2 * GiB, 4096, [3]span{{0, 4096, 4096}, {4096, 0x80000 - 4096, 0x80000 - 4096}, {}}},
		{3 * GiB, 4096, [3]span{{0, 4096, 4096}, {4096, 0xc0000 - 4096, 0xc0000 - 4096}, {}}},
		// Above 3 GiB the rest moves above the hole, and DMA32 spans up to
		// 4 GiB as on the 6.18 guest (spanned 1044480, present 782336 there
		// with its reservations; here all of it below 3 GiB is present).
		{8 * GiB, 4096, [3]span{{0, 4096, 4096}, {4096, 1044480, 0xc0000 - 4096}, {0x100000, 0x140000, 0x140000}}},
		{16 * GiB, 4096, [3]span{{0, 4096, 4096}, {4096, 1044480, 0xc0000 - 4096}, {0x100000, 0x340000, 0x340000}}},
		{2 * MiB, 4096, [3]span{{0, 512, 512}, {}, {}}},
		{1 * GiB, 65536, [3]span{{0, 256, 256}, {256, 16384 - 256, 16384 - 256}, {}}},
	}
	for _, c := range cases {
		zs := zoneSpans(ramRanges(c.ram, c.pageSize), c.pageSize)
		for i, w := range c.want {
			got := span{zs[i].StartPFN, zs[i].Spanned, zs[i].Present}
			if got != w {
				t.Errorf("%s, %d-byte pages, %v: start/spanned/present %v, want %v",
					FormatBytes(c.ram), c.pageSize, ZoneType(i), got, w)
			}
		}
		if zs[ZoneMovable].Populated() || zs[ZoneDevice].Populated() {
			t.Errorf("%s: Movable or Device populated", FormatBytes(c.ram))
		}
	}
}

func TestGFPZoneAndZonelist(t *testing.T) {
	zs := zoneSpans(ramRanges(8*GiB, 4096), 4096)
	small := zoneSpans(ramRanges(2*GiB, 4096), 4096)
	cases := []struct {
		gfp     GFP
		zs      *[MaxNrZones]zoneSpan
		highest ZoneType
		list    string
	}{
		{GFPKernel, &zs, ZoneNormal, "Normal DMA32 DMA"},
		{GFPKernel, &small, ZoneNormal, "DMA32 DMA"},
		{GFPKernel | GFPDMA32, &zs, ZoneDMA32, "DMA32 DMA"},
		{GFPKernel | GFPDMA, &zs, ZoneDMA, "DMA"},
		{GFPHighUserMovable, &zs, ZoneMovable, "Normal DMA32 DMA"},
		{GFPKernel | GFPMovable, &zs, ZoneNormal, "Normal DMA32 DMA"},
		{GFPAtomic, &zs, ZoneNormal, "Normal DMA32 DMA"},
	}
	for _, c := range cases {
		z, ok := gfpZone(c.gfp)
		if !ok || z != c.highest {
			t.Errorf("gfp_zone(%v) = %v %v, want %v", c.gfp, z, ok, c.highest)
		}
		var names []string
		for _, t := range zonelist(c.zs, z) {
			names = append(names, t.String())
		}
		if got := strings.Join(names, " "); got != c.list {
			t.Errorf("zonelist for %v: %q, want %q", c.gfp, got, c.list)
		}
	}
	for _, bad := range []GFP{GFPDMA | GFPDMA32, GFPDMA | GFPHighmem, GFPDMA32 | GFPHighmem} {
		if _, ok := gfpZone(bad); ok {
			t.Errorf("gfp_zone(%v) accepted; the kernel's GFP_ZONE_BAD rejects it", bad)
		}
	}
}

func TestPageblockOrderAndMobility(t *testing.T) {
	for _, c := range []struct {
		pageSize uint64
		order    int
	}{{4096, 9}, {16384, 10}, {65536, 10}} {
		if got := pageblockOrder(c.pageSize); got != c.order {
			t.Errorf("pageblock_order with %d-byte pages: %d, want %d", c.pageSize, got, c.order)
		}
	}
	// 512-page pageblocks, five migrate types: grouping needs 2560 pages.
	if !mobilityDisabled(2559, 9) || mobilityDisabled(2560, 9) {
		t.Error("mobility grouping threshold is not pageblock_nr_pages * MIGRATE_TYPES")
	}
}

func TestGFPMigratetype(t *testing.T) {
	cases := []struct {
		gfp  GFP
		want MigrateType
	}{
		{GFPKernel, MigrateUnmovable},
		{GFPAtomic, MigrateUnmovable},
		{GFPHighUserMovable, MigrateMovable},
		{GFPKernel | GFPReclaimable, MigrateReclaimable},
		{GFPTransHuge, MigrateMovable},
	}
	for _, c := range cases {
		if got := c.gfp.Migratetype(); got != c.want {
			t.Errorf("gfp_migratetype(%v) = %v, want %v", c.gfp, got, c.want)
		}
		if got := gfpMigratetype(c.gfp, true); got != MigrateUnmovable {
			t.Errorf("with mobility grouping off, %v is %v, want Unmovable", c.gfp, got)
		}
	}
}

func TestFallbackTable(t *testing.T) {
	// Each pcp type falls back to the other two, Reclaimable first for the
	// others and Unmovable first for Reclaimable.
	want := map[MigrateType]string{
		MigrateUnmovable:   "Reclaimable Movable",
		MigrateMovable:     "Reclaimable Unmovable",
		MigrateReclaimable: "Unmovable Movable",
	}
	for mt, w := range want {
		got := fallbacks[mt][0].String() + " " + fallbacks[mt][1].String()
		if got != w {
			t.Errorf("fallbacks[%v] = %s, want %s", mt, got, w)
		}
	}
}

func TestClaimRules(t *testing.T) {
	pb := 9
	// should_try_claim_block: big orders always; Unmovable and Reclaimable
	// always; Movable below pageblock_order/2 only steals.
	for _, c := range []struct {
		order int
		mt    MigrateType
		want  bool
	}{
		{9, MigrateMovable, true}, {4, MigrateMovable, true}, {3, MigrateMovable, false},
		{0, MigrateMovable, false}, {0, MigrateUnmovable, true}, {0, MigrateReclaimable, true},
	} {
		if got := shouldTryClaimBlock(c.order, pb, c.mt, false); got != c.want {
			t.Errorf("should_try_claim_block(order %d, %v) = %v, want %v", c.order, c.mt, got, c.want)
		}
	}
	// try_to_claim_block: half a pageblock (256 pages) of free plus alike.
	if !claimsBlock(pb, 256, 0, MigrateUnmovable, MigrateMovable, false) {
		t.Error("256 free pages of 512 should claim the block")
	}
	// Unmovable into a Movable block: the non-movable allocated pages are alike.
	if !claimsBlock(pb, 100, 200, MigrateUnmovable, MigrateMovable, false) {
		t.Error("100 free + 212 non-movable pages should claim a Movable block for Unmovable")
	}
	if claimsBlock(pb, 100, 300, MigrateUnmovable, MigrateMovable, false) {
		t.Error("100 free + 112 alike pages should not claim")
	}
	// Between Unmovable and Reclaimable nothing is alike.
	if claimsBlock(pb, 255, 0, MigrateUnmovable, MigrateReclaimable, false) {
		t.Error("255 free pages in a Reclaimable block should not claim for Unmovable")
	}
}

func TestGFPToAllocFlags(t *testing.T) {
	cases := []struct {
		gfp   GFP
		order int
		want  string
	}{
		{GFPKernel, 0, "ALLOC_WMARK_MIN|ALLOC_CPUSET|ALLOC_KSWAPD"},
		{GFPAtomic, 0, "ALLOC_WMARK_MIN|ALLOC_NON_BLOCK|ALLOC_MIN_RESERVE|ALLOC_KSWAPD"},
		{GFPAtomic, 2, "ALLOC_WMARK_MIN|ALLOC_NON_BLOCK|ALLOC_MIN_RESERVE|ALLOC_HIGHATOMIC|ALLOC_KSWAPD"},
		{GFPNowait, 0, "ALLOC_WMARK_MIN|ALLOC_NON_BLOCK|ALLOC_CPUSET|ALLOC_KSWAPD"},
		{GFPKernel | GFPHigh, 0, "ALLOC_WMARK_MIN|ALLOC_MIN_RESERVE|ALLOC_CPUSET|ALLOC_KSWAPD"},
		{GFPAtomic | GFPNoMemalloc, 0, "ALLOC_WMARK_MIN|ALLOC_MIN_RESERVE|ALLOC_KSWAPD"},
	}
	for _, c := range cases {
		if got := gfpToAllocFlags(c.gfp, c.order).String(); got != c.want {
			t.Errorf("gfp_to_alloc_flags(%v, %d) = %s, want %s", c.gfp, c.order, got, c.want)
		}
	}
}

func TestWatermarkRights(t *testing.T) {
	// A zone with min 1000: GFP_KERNEL may not go to 1000 free pages,
	// __GFP_HIGH may go to 500, GFP_ATOMIC to 375, GFP_NOWAIT no lower
	// than GFP_KERNEL.
	for _, c := range []struct {
		gfp  GFP
		want int64
	}{{GFPKernel, 1000}, {GFPKernel | GFPHigh, 500}, {GFPAtomic, 375}, {GFPNowait, 1000}} {
		if got := watermarkMin(1000, gfpToAllocFlags(c.gfp, 0)); got != c.want {
			t.Errorf("%v: usable down to %d, want %d", c.gfp, got, c.want)
		}
	}
	none := func(int, MigrateType) bool { return false }
	z := watermarkInput{Free: 800, HasFree: none}
	if zoneWatermarkOK(z, 0, 1000, gfpToAllocFlags(GFPKernel, 0)) {
		t.Error("GFP_KERNEL allowed with 800 free pages below min 1000")
	}
	if !zoneWatermarkOK(z, 0, 1000, gfpToAllocFlags(GFPAtomic, 0)) {
		t.Error("GFP_ATOMIC refused with 800 free pages above its 375")
	}
	// The lowmem reserve is added to the mark.
	z.LowmemReserve = 500
	if zoneWatermarkOK(z, 0, 1000, gfpToAllocFlags(GFPAtomic, 0)) {
		t.Error("GFP_ATOMIC allowed with 800 free, 375 + reserve 500 needed")
	}
	// An order-2 request needs a free block of order 2 or above too.
	z = watermarkInput{Free: 5000, HasFree: func(o int, mt MigrateType) bool { return o == 1 }}
	if zoneWatermarkOK(z, 2, 1000, AllocWmarkMin) {
		t.Error("order-2 allowed with only order-1 blocks free")
	}
	z.HasFree = func(o int, mt MigrateType) bool { return o == 5 && mt == MigrateHighAtomic }
	if zoneWatermarkOK(z, 2, 1000, AllocWmarkMin) || !zoneWatermarkOK(z, 2, 1000, AllocWmarkMin|AllocHighAtomic) {
		t.Error("a HighAtomic block counts only for ALLOC_HIGHATOMIC")
	}
}

func TestMinFreeKbytesSmallMachines(t *testing.T) {
	// 64 MiB, 4 KiB pages, the first MiB reserved: no THP (below 512 MiB),
	// so min_free_kbytes is int_sqrt(16 * 64512) = 1015.
	zs := zoneSpans(ramRanges(64*MiB, 4096), 4096)
	managed := [MaxNrZones]uint64{ZoneDMA: zs[ZoneDMA].Present - 256, ZoneDMA32: zs[ZoneDMA32].Present}
	populated := [MaxNrZones]bool{ZoneDMA: true, ZoneDMA32: true}
	got, w := bootWatermarks(&managed, &populated, 4096, 9)
	if got != 1015 {
		t.Errorf("min_free_kbytes on 64 MiB: %d, want 1015", got)
	}
	// 253 pages of min shared 3840:12288.
	if w[ZoneDMA].Mark[WmarkMin]+w[ZoneDMA32].Mark[WmarkMin] > 253 || w[ZoneDMA32].Mark[WmarkMin] != 253*12288/16128 {
		t.Errorf("min watermarks %d and %d", w[ZoneDMA].Mark[WmarkMin], w[ZoneDMA32].Mark[WmarkMin])
	}
	if isqrt(1<<40) != 1<<20 || isqrt(99) != 9 || isqrt(100) != 10 {
		t.Error("isqrt")
	}
}

func TestPCPCounters(t *testing.T) {
	// DMA32 on the 6.18 guest: batch 63, high_min 6605, high_max 48302.
	p := pcpCounters{HighMin: 6605, HighMax: 48302, Batch: 63}
	// The first refill: high clamps up to high_min and then grows by a
	// batch; the order-0 batch is 63 and the next will be 126.
	if n := p.nrPcpAlloc(0, false); n != 63 || p.High != 6605+63 || p.AllocFactor != 1 {
		t.Errorf("first refill %d blocks, high %d, alloc_factor %d; want 63, 6668, 1", n, p.High, p.AllocFactor)
	}
	if n := p.nrPcpAlloc(0, false); n != 126 || p.AllocFactor != 2 {
		t.Errorf("second refill %d, alloc_factor %d; want 126, 2", n, p.AllocFactor)
	}
	// An order-3 refill takes batch >> 3 = 7 blocks.
	if n := p.nrPcpAlloc(3, false); n != 7 {
		t.Errorf("order-3 refill %d blocks, want 7", n)
	}
	// A boot pageset (the DMA zone before use: high 0) refills one block.
	boot := pcpCounters{HighMin: 0, HighMax: 0, Batch: 1}
	if n := boot.nrPcpAlloc(0, false); n != 1 {
		t.Errorf("boot pageset refill %d, want 1", n)
	}
	// Frees: count reaching high drains free_count pages, kept within
	// [batch, high - batch].
	q := pcpCounters{High: 32, HighMin: 32, HighMax: 32, Batch: 1}
	drained := 0
	for i := 0; i < 32; i++ {
		if n := q.freeCommit(0, false); n > 0 {
			drained = n
			q.Count -= n
			break
		}
	}
	if drained != 31 || q.Count != 1 {
		t.Errorf("the 32nd free drained %d leaving %d; want 31 and 1", drained, q.Count)
	}
	// Two order-1 frees in a row after a batch of frees: a free_high run
	// drains everything up to batch << 5.
	r := pcpCounters{High: 100, HighMin: 100, HighMax: 400, Batch: 4, Count: 10, FreeCount: 8}
	r.freeCommit(1, false)
	if n := r.freeCommit(1, false); n != min(r.Count, 4<<pcpBatchScaleMax) {
		t.Errorf("free_high drain %d, want %d", n, min(r.Count, 4<<pcpBatchScaleMax))
	}
	// An allocation halves free_count.
	r.allocBegin()
	if r.FreeCount != 6 {
		t.Errorf("free_count after an allocation %d, want 6", r.FreeCount)
	}
}

func TestPCPListIndexes(t *testing.T) {
	if nrPCPLists != 14 {
		t.Errorf("NR_PCP_LISTS %d, want 14 (12 low-order + 2 THP)", nrPCPLists)
	}
	for o := 0; o <= PageAllocCostlyOrder; o++ {
		for mt := MigrateType(0); mt < MigratePCPTypes; mt++ {
			i := orderToPindex(mt, o)
			if pindexToOrder(i, 4096) != o {
				t.Errorf("pindex %d of order %d %v maps back to order %d", i, o, mt, pindexToOrder(i, 4096))
			}
		}
	}
	if orderToPindex(MigrateMovable, 9) != 13 || orderToPindex(MigrateUnmovable, 9) != 12 || pindexToOrder(13, 4096) != 9 {
		t.Error("THP pcp lists")
	}
	for o, want := range map[int]bool{0: true, 3: true, 4: false, 8: false, 9: true, 10: false} {
		if pcpAllowedOrder(o, 4096) != want {
			t.Errorf("pcp_allowed_order(%d) with 4 KiB pages: %v", o, !want)
		}
	}
	if pcpAllowedOrder(9, 16384) || pcpAllowedOrder(10, 65536) {
		t.Error("no THP pcp order with 16 KiB or 64 KiB pages (HPAGE_PMD_ORDER above MAX_PAGE_ORDER)")
	}
	// zone_batchsize for small zones is at least 1; 1 MiB / 4 caps it.
	for _, c := range []struct{ managed, pageSize uint64 }{{3840, 4096}, {100, 4096}} {
		if b := zoneBatchsize(c.managed, c.pageSize); b != 1 {
			t.Errorf("batch of a %d-page zone %d, want 1", c.managed, b)
		}
	}
	if b := zoneBatchsize(1<<30, 4096); b != 63 {
		t.Errorf("batch of a huge zone %d, want 63", b)
	}
	// With 64 KiB pages 1 MiB is 16 pages: 16/4 = 4, 4 + 2 = 6 rounds down
	// to 4, less 1.
	if b := zoneBatchsize(1<<30, 65536); b != 3 {
		t.Errorf("batch with 64 KiB pages %d, want 3", b)
	}
}

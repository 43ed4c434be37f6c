package allocator

import (
	"fmt"
	"strings"
)

// The kernel's two measures of external fragmentation, as mm/vmstat.c
// (Linux 6.18) computes them from a zone's free block counts and prints
// them in debugfs (extfrag/unusable_index, extfrag/extfrag_index, with
// CONFIG_DEBUG_FS and CONFIG_COMPACTION). Both are integers in
// thousandths, computed in unsigned 64-bit arithmetic as the kernel does.

// contigInfo is the kernel's struct contig_page_info for one order.
type contigInfo struct {
	freePages          uint64 // free base pages
	freeBlocksTotal    uint64 // free blocks of any order
	freeBlocksSuitable uint64 // free blocks of the order, counting a larger block as the blocks it holds
}

// contig is fill_contig_page_info: the free pages, the free blocks and the
// blocks of suitableOrder those could hand out without compaction.
func contig(free *[NrPageOrders]uint64, suitableOrder int) contigInfo {
	var in contigInfo
	for o, blocks := range free {
		in.freeBlocksTotal += blocks
		in.freePages += blocks << o
		if o >= suitableOrder {
			in.freeBlocksSuitable += blocks << (o - suitableOrder)
		}
	}
	return in
}

// UnusableFreeIndex is the kernel's unusable free space index for an
// order (mm/vmstat.c unusable_free_index), in thousandths: the share of
// free memory that cannot satisfy an allocation of that order because it
// lies in smaller blocks. 0 means every free page is usable; with no free
// memory at all the kernel reports 1000.
func UnusableFreeIndex(free *[NrPageOrders]uint64, order int) int {
	if order < 0 || order > MaxPageOrder {
		return 0 // no such order: the kernel never asks
	}
	in := contig(free, order)
	if in.freePages == 0 {
		return 1000
	}
	return int((in.freePages - in.freeBlocksSuitable<<order) * 1000 / in.freePages)
}

// FragmentationIndex is the kernel's fragmentation index for an order
// (mm/vmstat.c __fragmentation_index), in thousandths. It only means
// something when an allocation of that order would fail: when a block
// that large is free it is -1000. Otherwise it tends to 0 when the
// allocation fails for lack of memory and to 1000 when it fails because
// the free memory is in pieces too small; it is 0 with nothing free. For
// a few small free blocks the formula gives a negative value (one free
// page against an order-1 request: -500), which the kernel prints as it
// is, and so does this.
func FragmentationIndex(free *[NrPageOrders]uint64, order int) int {
	if order < 0 || order > MaxPageOrder {
		return 0 // the kernel's WARN_ON_ONCE(order > MAX_PAGE_ORDER)
	}
	in := contig(free, order)
	if in.freeBlocksTotal == 0 {
		return 0
	}
	if in.freeBlocksSuitable != 0 {
		return -1000
	}
	requested := uint64(1) << order
	return 1000 - int((1000+in.freePages*1000/requested)/in.freeBlocksTotal)
}

// appendExtfragLine appends one zone's line of a debugfs extfrag file:
// "Node %d, zone %8s " and then an index per order, printed as the
// kernel prints thousandths (index/1000 "." index%1000 with C's
// truncating division, so -500 reads "0.-500").
func appendExtfragLine(b *strings.Builder, zone string, free *[NrPageOrders]uint64, index func(*[NrPageOrders]uint64, int) int, intFormat string) {
	fmt.Fprintf(b, "Node %d, zone %8s ", 0, zone)
	for o := 0; o < NrPageOrders; o++ {
		i := index(free, o)
		fmt.Fprintf(b, intFormat+".%03d ", i/1000, i%1000)
	}
	b.WriteByte('\n')
}

// UnusableIndexText renders debugfs extfrag/unusable_index
// (unusable_show_print: "%d.%03d " per order) for free block counts.
func UnusableIndexText(free [NrPageOrders]uint64) string {
	var b strings.Builder
	appendExtfragLine(&b, "Normal", &free, UnusableFreeIndex, "%d")
	return b.String()
}

// ExtfragIndexText renders debugfs extfrag/extfrag_index
// (extfrag_show_print: "%2d.%03d " per order) for free block counts.
func ExtfragIndexText(free [NrPageOrders]uint64) string {
	var b strings.Builder
	appendExtfragLine(&b, "Normal", &free, FragmentationIndex, "%2d")
	return b.String()
}

// Extfrag renders both debugfs extfrag files of the machine, each under a
// header naming it as head(1) names the files it prints: a line per
// populated zone (walk_zones_in_node() skips the empty ones), from that
// zone's free blocks of every migrate type.
func (m *Machine) Extfrag() string {
	var u, f strings.Builder
	for _, z := range m.Zones() {
		if !z.Populated() {
			continue
		}
		var free [NrPageOrders]uint64
		for o := range free {
			free[o] = z.nrFree(o)
		}
		appendExtfragLine(&u, z.Type.String(), &free, UnusableFreeIndex, "%d")
		appendExtfragLine(&f, z.Type.String(), &free, FragmentationIndex, "%2d")
	}
	return "==> /sys/kernel/debug/extfrag/unusable_index <==\n" + u.String() +
		"\n==> /sys/kernel/debug/extfrag/extfrag_index <==\n" + f.String()
}

package ktrace

import (
	"slices"

	"github.com/allocviz/allocviz/allocator"
)

// Block is a block of page frames: 2^Order pages from PFN.
type Block struct {
	PFN   uint64
	Order int8
}

// Renumbering places a trace's page frames, which may lie anywhere in
// tens of GiB, in the machine's smaller RAM. The trace's frames are cut
// into aligned chunks of 2^Order pages; the chunks the trace touches are
// laid side by side, in their order, at the top of the machine's RAM, and
// each page keeps its offset inside its chunk. So two pages of one chunk
// keep their distance, every block keeps its alignment up to order Order
// (buddies stay buddies), and the chunks nobody touched are left out.
// The bottom of RAM is left to the machine's own allocations: the slabs
// allocviz's SLUB makes, large kmallocs, vmalloc pages.
type Renumbering struct {
	Order    int    // chunk order; MaxPageOrder unless RAM is too small for that
	Base     uint64 // the machine's pfn of the first chunk
	Pages    uint64 // the machine's RAM in pages
	Chunks   int    // chunks the trace's pages fall in
	Unplaced int    // chunks that did not fit (their pages go wherever the buddy allocator finds room)
	chunks   map[uint64]uint64
}

// PFN returns where the trace's page frame pfn goes in the machine, or
// NoPFN when its chunk did not fit.
func (r *Renumbering) PFN(pfn uint64) uint64 {
	c, ok := r.chunks[pfn>>uint(r.Order)]
	if !ok {
		return NoPFN
	}
	return r.Base + c<<uint(r.Order) + pfn&(1<<uint(r.Order)-1)
}

// minPages is the smallest machine a trace gets: allocviz's default RAM.
const minPages = allocator.DefaultRAM / allocator.DefaultPageSize

// reservedPages is what boot keeps (the first MiB) in 4 KiB pages; a
// bound, not exact for other page sizes.
const reservedPages = allocator.MiB / allocator.DefaultPageSize

// Renumber lays out blocks (the trace's page allocations, by their real
// pfns). pages is the machine's RAM in pages, 0 to choose it: room for
// own pages at the bottom and the chunks at the top, rounded up to 4 MiB,
// at least 64 MiB and at most allocviz.MaxRAM. It keeps the largest chunk
// order that fits (and at least the largest block's order, so no block is
// cut).
func Renumber(blocks []Block, pages, own, pageSize uint64) Renumbering {
	maxPages := uint64(allocator.MaxRAM) / pageSize
	unit := uint64(4*allocator.MiB) / pageSize // RAM is chosen in 4 MiB steps
	roundUp := func(n, to uint64) uint64 { return (n + to - 1) / to * to }
	choose := func(need uint64) uint64 {
		return min(max(roundUp(own+reservedPages+need, unit), minPages), maxPages)
	}
	minOrder := 0
	for _, b := range blocks {
		minOrder = max(minOrder, int(b.Order))
	}
	minOrder = min(minOrder, allocator.MaxPageOrder)
	var keys []uint64
	for order := allocator.MaxPageOrder; order >= minOrder; order-- {
		keys = chunkKeys(keys[:0], blocks, order)
		need := uint64(len(keys)) << uint(order)
		total := pages
		if total == 0 {
			total = choose(need)
		}
		room := total - min(total, reservedPages+min(own, total/2))
		if need <= room || order == minOrder {
			r := Renumbering{Order: order, Pages: total, Chunks: len(keys), chunks: make(map[uint64]uint64, len(keys))}
			fit := min(uint64(len(keys)), room>>uint(order))
			r.Unplaced = len(keys) - int(fit)
			r.Base = (total - fit<<uint(order)) &^ (1<<uint(order) - 1)
			for i, k := range keys[:fit] {
				r.chunks[k] = uint64(i)
			}
			return r
		}
	}
	// No blocks at all.
	total := pages
	if total == 0 {
		total = choose(0)
	}
	return Renumbering{Order: allocator.MaxPageOrder, Pages: total, Base: total}
}

// chunkKeys lists the chunks (pfn >> order) the blocks cover, sorted.
func chunkKeys(keys []uint64, blocks []Block, order int) []uint64 {
	seen := map[uint64]bool{}
	for _, b := range blocks {
		first := b.PFN >> uint(order)
		last := (b.PFN + 1<<uint(b.Order) - 1) >> uint(order)
		for k := first; k <= last; k++ {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	slices.Sort(keys)
	return keys
}

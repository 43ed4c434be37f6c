package ktrace

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/allocviz/allocviz/allocator"
)

// randomBlocks makes n blocks scattered over 64 GiB of 4 KiB pages,
// aligned to their order, not overlapping, clustered as a real machine's
// are (a few regions hold most of them).
func randomBlocks(rng *rand.Rand, n, maxOrder int) []Block {
	seen := map[uint64]bool{}
	var out []Block
	regions := []uint64{0x100000, 0x150000, 0x400000, 0xfff000}
	for len(out) < n {
		order := int8(0)
		if rng.IntN(8) == 0 {
			order = int8(rng.IntN(maxOrder + 1))
		}
		base := regions[rng.IntN(len(regions))] + uint64(rng.IntN(1<<16))
		pfn := base &^ (1<<uint(order) - 1)
		free := true
		for p := pfn; p < pfn+1<<uint(order); p++ {
			free = free && !seen[p]
		}
		if !free {
			continue
		}
		for p := pfn; p < pfn+1<<uint(order); p++ {
			seen[p] = true
		}
		out = append(out, Block{PFN: pfn, Order: order})
	}
	return out
}

// checkRenumbering checks what the renumbering promises: every placed
// block keeps its order relative to the others, its alignment, and its
// distance to blocks in the same chunk; no two overlap; all lie above the
// machine's own region and inside its RAM.
func checkRenumbering(t *testing.T, r Renumbering, blocks []Block, own uint64) {
	t.Helper()
	sorted := slices.Clone(blocks)
	slices.SortFunc(sorted, func(a, b Block) int { return int(int64(a.PFN) - int64(b.PFN)) })
	var prevEnd uint64
	placed := 0
	for i, b := range sorted {
		at := r.PFN(b.PFN)
		if at == NoPFN {
			continue
		}
		placed++
		n := uint64(1) << uint(b.Order)
		if at&(n-1) != 0 {
			t.Fatalf("block %#x order %d renumbered to %#x: not aligned", b.PFN, b.Order, at)
		}
		if at < prevEnd {
			t.Fatalf("block %#x renumbered to %#x overlaps or precedes the block before it (ends %#x)", b.PFN, at, prevEnd)
		}
		if at+n > r.Pages || at < min(own, r.Pages/2) {
			t.Fatalf("block %#x renumbered to %#x: outside %#x..%#x", b.PFN, at, min(own, r.Pages/2), r.Pages)
		}
		if i > 0 {
			if a := sorted[i-1]; a.PFN>>uint(r.Order) == b.PFN>>uint(r.Order) && r.PFN(a.PFN) != NoPFN && at-r.PFN(a.PFN) != b.PFN-a.PFN {
				t.Fatalf("blocks %#x and %#x of one chunk are %d pages apart, renumbered %d", a.PFN, b.PFN, b.PFN-a.PFN, at-r.PFN(a.PFN))
			}
		}
		prevEnd = at + n
	}
	if len(blocks) > 0 && placed+r.Unplaced == 0 {
		t.Fatal("no chunk is placed or counted unplaced")
	}
}

func TestRenumberChoosesRAM(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	blocks := randomBlocks(rng, 3000, allocator.MaxPageOrder)
	own := uint64(8192)
	r := Renumber(blocks, 0, own, 4096)
	checkRenumbering(t, r, blocks, own)
	if r.Order != allocator.MaxPageOrder || r.Unplaced != 0 || r.Pages%1024 != 0 || r.Pages > allocator.MaxRAM/4096 {
		t.Errorf("order %d, %d unplaced, %d pages", r.Order, r.Unplaced, r.Pages)
	}
	// The RAM is what own pages and the chunks need, in 4 MiB steps.
	if need := own + reservedPages + uint64(r.Chunks)<<10; r.Pages < need || r.Pages >= need+1024 {
		t.Errorf("%d pages for %d chunks and %d own pages", r.Pages, r.Chunks, own)
	}
}

func TestRenumberIntoSmallRAM(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	blocks := randomBlocks(rng, 3000, 3)
	for _, pages := range []uint64{65536, 16384, 4096, 1024} {
		r := Renumber(blocks, pages, 2048, 4096)
		checkRenumbering(t, r, blocks, 2048)
		if r.Pages != pages {
			t.Errorf("%d pages: renumbered for %d", pages, r.Pages)
		}
		maxOrder := int8(0)
		for _, b := range blocks {
			maxOrder = max(maxOrder, b.Order)
		}
		if r.Order < int(maxOrder) {
			t.Errorf("%d pages: chunk order %d cuts an order-%d block", pages, r.Order, maxOrder)
		}
		if pages == 1024 && r.Unplaced == 0 {
			t.Errorf("3000 blocks fit in 1024 pages?")
		}
		if pages == 65536 && (r.Order < 3 || r.Unplaced != 0) {
			t.Errorf("256 MiB: chunk order %d, %d chunks unplaced", r.Order, r.Unplaced)
		}
	}
	if r := Renumber(nil, 0, 100, 4096); r.Pages != minPages || r.Chunks != 0 || r.PFN(5) != NoPFN {
		t.Errorf("no blocks: %+v", r)
	}
}

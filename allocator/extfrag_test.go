package allocator

import (
	"strings"
	"testing"
)

// TestExtfragIndexes checks both indexes against values worked out by hand
// from mm/vmstat.c's formulas (integer arithmetic, truncating).
func TestExtfragIndexes(t *testing.T) {
	fresh := [NrPageOrders]uint64{8: 1, 9: 1, 10: 15} // a fresh 64 MiB machine: 16128 free pages
	for _, tc := range []struct {
		name           string
		free           [NrPageOrders]uint64
		order          int
		unusable, frag int
	}{
		{"fresh, order 0", fresh, 0, 0, -1000},
		{"fresh, order 9", fresh, 9, 15, -1000},   // (16128 - 31<<9) * 1000 / 16128 = 15.87
		{"fresh, order 10", fresh, 10, 47, -1000}, // (16128 - 15<<10) * 1000 / 16128 = 47.6
		{"nothing free", [NrPageOrders]uint64{}, 3, 1000, 0},
		{"eight single pages, order 3", [NrPageOrders]uint64{0: 8}, 3, 1000, 750}, // 1000 - (1000 + 8000/8) / 8
		{"one page, order 1", [NrPageOrders]uint64{0: 1}, 1, 1000, -500},          // 1000 - (1000 + 500) / 1
		{"mixed, order 2", [NrPageOrders]uint64{0: 3, 1: 2, 2: 1}, 2, 636, -1000}, // 11 pages, 4 usable: 7000/11
		{"mixed, order 3", [NrPageOrders]uint64{0: 3, 1: 2, 2: 1}, 3, 1000, 605},  // 1000 - (1000 + 11000/8) / 6 = 1000 - 2375/6
	} {
		if got := UnusableFreeIndex(&tc.free, tc.order); got != tc.unusable {
			t.Errorf("%s: unusable index %d, want %d", tc.name, got, tc.unusable)
		}
		if got := FragmentationIndex(&tc.free, tc.order); got != tc.frag {
			t.Errorf("%s: fragmentation index %d, want %d", tc.name, got, tc.frag)
		}
	}
}

// TestExtfragText checks the debugfs formats: "%d.%03d " per order for
// unusable_index, "%2d.%03d " for extfrag_index, C's truncating division
// for negative values and C's zero padding, whose width counts the sign
// ("%03d" of -62 is "-62", of -7 "-07").
func TestExtfragText(t *testing.T) {
	free := [NrPageOrders]uint64{0: 1}
	if got, want := UnusableIndexText(free), "Node 0, zone   Normal 0.000 1.000 1.000 1.000 1.000 1.000 1.000 1.000 1.000 1.000 1.000 \n"; got != want {
		t.Errorf("unusable_index:\n%q\nwant\n%q", got, want)
	}
	if got, want := ExtfragIndexText(free), "Node 0, zone   Normal -1.000  0.-500  0.-250  0.-125  0.-62  0.-31  0.-15  0.-07  0.-03  0.-01  0.000 \n"; got != want {
		t.Errorf("extfrag_index:\n%q\nwant\n%q", got, want)
	}
	m := newTestMachine(t, Config{})
	got := m.Extfrag()
	// A line per populated zone: DMA holds blocks of orders 8, 9 and 10
	// (256 + 512 + 3072 pages: 256/3840 unusable at order 9, 768/3840 at
	// 10), DMA32 only order-10 blocks.
	if !strings.Contains(got, "extfrag/unusable_index <==\nNode 0, zone      DMA 0.000 0.000 0.000 0.000 0.000 0.000 0.000 0.000 0.000 0.066 0.200 \n"+
		"Node 0, zone    DMA32 0.000 0.000 0.000 0.000 0.000 0.000 0.000 0.000 0.000 0.000 0.000 \n") ||
		!strings.Contains(got, "extfrag/extfrag_index <==\nNode 0, zone      DMA -1.000 -1.000 -1.000 -1.000 -1.000 -1.000 -1.000 -1.000 -1.000 -1.000 -1.000 \n") {
		t.Errorf("a fresh machine's extfrag:\n%s", got)
	}
}

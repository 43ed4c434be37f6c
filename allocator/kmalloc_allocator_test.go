package allocator_test

import (
	"testing"

	"github.com/allocviz/allocviz/allocator"
	"github.com/allocviz/allocviz/allocator/allocatortest"
)

func kmallocFactory(cfg allocator.Config) allocatortest.Factory {
	return func(t *testing.T) (*allocator.Machine, allocator.Allocator) {
		m, err := allocator.NewMachine(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return m, allocator.Kmalloc{M: m}
	}
}

// TestKmallocContract runs the Allocator contract suite on Kmalloc at each
// page size, with SLUB debugging and with hardened, shuffled freelists.
func TestKmallocContract(t *testing.T) {
	for name, cfg := range map[string]allocator.Config{
		"4K":       {},
		"16K":      {PageSize: 16384},
		"64K":      {PageSize: 65536},
		"FZPU":     {SlabDebug: "FZPU"},
		"hardened": {FreelistHardened: true, FreelistRandom: true, Seed: 3},
		"6.12":     {Profile: allocator.Profile612},
		"1cpu":     {CPUs: 1},
	} {
		t.Run(name, func(t *testing.T) { allocatortest.Run(t, kmallocFactory(cfg)) })
	}
}

func TestKmallocAllocatorLayout(t *testing.T) {
	m, err := allocator.NewMachine(allocator.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	k := allocator.Kmalloc{M: m}
	if k.Name() != "Kmalloc" || k.MinAlign() != 8 {
		t.Errorf("Name %q MinAlign %d", k.Name(), k.MinAlign())
	}
	for _, tc := range []struct {
		size, align uint64
		cache       string
	}{
		// aligned_layout pads the size to the alignment; kmalloc's
		// power-of-two-divisor rule then gives the alignment.
		{24, 64, "kmalloc-64"},
		{100, 128, "kmalloc-128"},
		{96, 32, "kmalloc-96"},
		{1, 4096, "kmalloc-4k"},
		{40, 8, "kmalloc-64"},
	} {
		l, _ := allocator.NewLayout(tc.size, tc.align)
		b, err := k.Alloc(l, allocator.GFPKernel)
		if err != nil {
			t.Fatal(err)
		}
		o, _ := m.ObjectAt(b.Addr)
		if o.Cache != tc.cache || uint64(b.Addr)%tc.align != 0 || uint64(len(b.Mem)) != tc.size {
			t.Errorf("Alloc(%d, align %d) = %v in %s with %d bytes, want %s", tc.size, tc.align, b.Addr, o.Cache, len(b.Mem), tc.cache)
		}
		if want := allocator.KmallocAlignedLayout(l).Size; o.Size != want {
			t.Errorf("Alloc(%d, align %d) asked kmalloc for %d bytes, want the padded %d", tc.size, tc.align, o.Size, want)
		}
		k.Free(b.Addr, l)
	}
	if err := m.CheckSlub(); err != nil {
		t.Fatal(err)
	}
}

package allocator_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/allocviz/allocviz/allocator"
	"github.com/allocviz/allocviz/allocator/allocatortest"
)

func kvmallocFactory(cfg allocator.Config) allocatortest.Factory {
	return func(t *testing.T) (*allocator.Machine, allocator.Allocator) {
		m, err := allocator.NewMachine(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return m, allocator.KVmalloc{M: m}
	}
}

func TestKVmallocContract(t *testing.T) {
	for _, cfg := range []allocator.Config{
		{Profile: allocator.ProfileLatest},
		{Profile: allocator.Profile612},
		{Profile: allocator.ProfileLatest, PageSize: 16384, SlabDebug: "FZPU"},
		{Profile: allocator.Profile612, PageSize: 65536, RAM: 256 * allocator.MiB},
	} {
		t.Run(fmt.Sprintf("%v/%s/%s", cfg.Profile, allocator.FormatBytes(uint64(max(cfg.PageSize, 4096))), cfg.SlabDebug), func(t *testing.T) {
			allocatortest.Run(t, kvmallocFactory(cfg))
		})
	}
}

// TestKVmallocAllocator: KVmalloc pads the layout as Kmalloc does, so the
// kmalloc path gives the alignment; 6.12 refuses alignments above
// PAGE_SIZE with the kernel's pr_warn, the newest kernel honours them on
// both paths.
func TestKVmallocAllocator(t *testing.T) {
	for _, prof := range []allocator.Profile{allocator.ProfileLatest, allocator.Profile612} {
		t.Run(prof.String(), func(t *testing.T) {
			m, err := allocator.NewMachine(allocator.Config{RAM: 8 * allocator.MiB, Profile: prof})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			log := &allocator.EventLog{}
			m.SetLog(log)
			a := allocator.KVmalloc{M: m}
			if a.Name() != "KVmalloc" || a.MinAlign() != 8 {
				t.Errorf("Name %q MinAlign %d", a.Name(), a.MinAlign())
			}
			for _, tc := range []struct {
				size, align uint64
				cache       string
			}{
				{24, 64, "kmalloc-64"},
				{96, 32, "kmalloc-96"},
				{1, 4096, "kmalloc-4k"},
				{10000, 8, ""},
			} {
				l, _ := allocator.NewLayout(tc.size, tc.align)
				b, err := a.Alloc(l, allocator.GFPKernel)
				if err != nil {
					t.Fatal(err)
				}
				o, _ := m.ObjectAt(b.Addr)
				if o.Cache != tc.cache || uint64(b.Addr)%tc.align != 0 || uint64(len(b.Mem)) != tc.size || o.Size != allocator.KmallocAlignedLayout(l).Size {
					t.Errorf("Alloc(%d, align %d) = %v: %+v, want the padded size from %q", tc.size, tc.align, b.Addr, o, tc.cache)
				}
				a.Free(b.Addr, l)
			}
			big, _ := allocator.NewLayout(100, 16*m.PageSize())
			b, err := a.Alloc(big, allocator.GFPKernel)
			if prof == allocator.Profile612 {
				var ae *allocator.AllocError
				if !errors.As(err, &ae) || !errors.Is(err, allocator.ErrBadSize) {
					t.Fatalf("6.12: Alloc with 64 KiB alignment = %v, %v; want an AllocError", b.Addr, err)
				}
				warned := false
				for _, e := range allocatortest.Events(log) {
					warned = warned || e.Kind() == allocator.EvWarn && e.Text() == "KVmalloc does not support alignments larger than PAGE_SIZE yet."
				}
				if !warned {
					t.Error("6.12: no pr_warn")
				}
				return
			}
			// Padded to 64 KiB: an order-4 large kmalloc, naturally aligned.
			if err != nil || m.IsVmallocAddr(b.Addr) || uint64(b.Addr)%(16*m.PageSize()) != 0 || len(b.Mem) != 100 {
				t.Fatalf("Alloc(100, align 64 KiB) = %v (%d bytes), %v", b.Addr, len(b.Mem), err)
			}
			a.Free(b.Addr, big)
			// With every other page free no block above order 0 is, and the
			// vmalloc fallback is aligned too.
			var all, held []allocator.Addr
			m.DrainAllPages()
			for {
				p, err := m.AllocPages(0, allocator.GFPKernel|allocator.GFPMemalloc|allocator.GFPNoWarn)
				if err != nil {
					break
				}
				all = append(all, p)
			}
			for _, p := range all {
				if pfn, _ := m.AddrPFN(p); pfn%2 == 1 {
					held = append(held, p)
				} else {
					m.FreePages(p, 0)
				}
			}
			m.DrainAllPages()
			m.Vmalloc(1, allocator.GFPKernel) // the next free range is not 64 KiB aligned by chance
			b, err = a.Alloc(big, allocator.GFPKernel)
			if err != nil || !m.IsVmallocAddr(b.Addr) || uint64(b.Addr)%(16*m.PageSize()) != 0 || len(b.Mem) != 100 {
				t.Fatalf("fragmented: Alloc(100, align 64 KiB) = %v (%d bytes), %v; want aligned vmalloc memory", b.Addr, len(b.Mem), err)
			}
			a.Free(b.Addr, big)
			for _, p := range held {
				m.FreePages(p, 0)
			}
			if err := m.CheckInvariants(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

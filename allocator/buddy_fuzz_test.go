package allocator

import "testing"

// FuzzAllocFree drives alloc_pages/free_pages from fuzzer bytes, misuse
// included (wrong orders, double frees, addresses inside blocks), and
// checks the invariants after every operation. Run it with
// go test ./allocator -fuzz FuzzAllocFree.
func FuzzAllocFree(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 0x80, 0x81, 0x40, 0xc0})
	f.Add([]byte{10, 10, 10, 0x80, 0x80, 0x80, 0x80})
	m, err := NewMachine(Config{RAM: 4 * MiB})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { m.Close() })
	f.Fuzz(func(t *testing.T, ops []byte) {
		type blk struct {
			a     Addr
			order int
		}
		var live []blk
		for _, op := range ops {
			switch {
			case op < 0x40: // alloc of order op%12 (11 is refused)
				order := int(op % 12)
				if a, err := m.AllocPages(order, GFPKernel|GFPNoWarn); err == nil {
					live = append(live, blk{a, order})
				}
			case op < 0xc0 && len(live) > 0: // free, sometimes with the wrong order
				k := int(op) % len(live)
				b := live[k]
				order := b.order
				if op&1 == 1 {
					order = (order + 1) % (MaxPageOrder + 1)
				}
				if m.FreePages(b.a, order) == nil {
					live = append(live[:k], live[k+1:]...)
				}
			case len(live) > 0: // misuse: an address inside a block, or a double free
				b := live[int(op)%len(live)]
				m.FreePages(b.a+Addr(op)*8, b.order)
			}
			if err := m.CheckInvariants(); err != nil {
				t.Fatalf("after op %#x: %v", op, err)
			}
		}
		for _, b := range live {
			if err := m.FreePages(b.a, b.order); err != nil {
				t.Fatalf("freeing live block %v: %v", b.a, err)
			}
		}
		if m.IdlePages() != m.RAMPages()-m.ReservedPages() {
			t.Fatalf("%d pages free after freeing everything", m.IdlePages())
		}
	})
}

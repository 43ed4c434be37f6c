package allocator

import (
	"errors"
	"testing"
)

// FuzzKvmalloc drives kvmalloc, kvrealloc and kvfree from fuzzer bytes,
// with fragmentation, flags that cannot block, and misuse the allocators
// must refuse (pointers into the middle of an allocation, double frees),
// and checks the invariants after every operation. Run it with
// go test ./allocator -fuzz FuzzKvmalloc.
func FuzzKvmalloc(f *testing.F) {
	f.Add([]byte{0x10, 0x90, 0xe0, 0x15, 0x55, 0xa0, 0xc1, 0xf0, 0x31})
	f.Add([]byte{0xe0, 0x3f, 0x7f, 0x9a, 0xd3, 0xb2, 0xe0, 0x3e})
	f.Fuzz(func(t *testing.T, ops []byte) {
		m, err := NewMachine(Config{RAM: 4 * MiB, Profile: Profile(len(ops) % 2)})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		page := m.PageSize()
		var live []Addr
		var held []Addr
		for i, op := range ops {
			size := uint64(op&0x3f)*page/8 + uint64(i%7) // 0 .. ~8 pages
			switch {
			case op < 0x40: // kvmalloc, atomic for odd sizes
				gfp := GFPKernel
				if op&1 == 1 {
					gfp = GFPAtomic
				}
				if p, err := m.KVmalloc(size, gfp); err == nil && !p.ZeroOrNull() {
					live = append(live, p)
				}
			case op < 0x80 && len(live) > 0: // kvrealloc, size 0 included
				k := int(op) % len(live)
				q, err := m.KVrealloc(live[k], size, GFPKernel)
				switch {
				case err != nil && !errors.Is(err, ErrNoMemory) && !errors.Is(err, ErrBadSize):
					t.Fatalf("kvrealloc(%v, %d): %v", live[k], size, err)
				case err != nil:
				case size == 0:
					live = append(live[:k], live[k+1:]...)
				default:
					live[k] = q
				}
			case op < 0xc0 && len(live) > 0: // kvfree, then again: the second is refused
				k := int(op) % len(live)
				p := live[k]
				if err := m.KVfree(p); err != nil {
					t.Fatalf("kvfree(%v): %v", p, err)
				}
				live = append(live[:k], live[k+1:]...)
				if err := m.KVfree(p); err == nil {
					t.Fatalf("a second kvfree(%v) was obeyed", p)
				}
			case op < 0xe0 && len(live) > 0: // misuse: a pointer 1 byte in
				p := live[int(op)%len(live)] + 1
				if err := m.KVfree(p); err == nil {
					t.Fatalf("kvfree(%v), inside an allocation, was obeyed", p)
				}
				if q, err := m.KVrealloc(p, size+1, GFPKernel); err == nil {
					t.Fatalf("kvrealloc(%v), inside an allocation, returned %v", p, q)
				}
			case len(held) == 0: // fragment: no free block above order 0
				held = fragment(t, m)
			default:
				for _, h := range held {
					m.FreePages(h, 0)
				}
				held = nil
			}
			if err := m.CheckInvariants(); err != nil {
				t.Fatalf("after op %d (%#x): %v", i, op, err)
			}
		}
		for _, p := range live {
			if err := m.KVfree(p); err != nil {
				t.Fatalf("freeing live %v: %v", p, err)
			}
		}
		if err := m.CheckInvariants(); err != nil {
			t.Fatal(err)
		}
	})
}

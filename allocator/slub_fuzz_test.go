package allocator

import (
	"sort"
	"testing"
)

// FuzzSlub drives kmalloc, kfree, krealloc and kmem_cache_* from fuzzer
// bytes, with misuse (interior pointers, double frees) and writes into
// freed objects, which corrupt freelists, poison and red zones. After
// every operation SLUB's structure must hold, no two live allocations may
// overlap, and live contents must be intact. Run it with
// go test ./allocator -fuzz FuzzSlub.
func FuzzSlub(f *testing.F) {
	f.Add([]byte{0, 0, 10, 0, 1, 200, 1, 0, 0, 4, 0, 32, 0, 1, 50, 3, 0, 1, 7, 0, 0})
	f.Add([]byte{1, 0, 20, 0, 0, 64, 1, 0, 0, 4, 0, 0, 4, 0, 33, 0, 0, 64, 0, 0, 64, 2, 0, 90})
	f.Add([]byte{2, 6, 1, 0, 6, 2, 0, 6, 3, 0, 1, 0, 0, 7, 0, 0, 5, 1, 0, 6, 4, 0})
	f.Add([]byte{3, 0, 255, 255, 0, 128, 0, 2, 0, 1, 4, 0, 72, 0, 0, 200})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		cfgs := []Config{
			{RAM: 4 * MiB, CPUs: 2},
			{RAM: 4 * MiB, SlabDebug: "FZPU"},
			{RAM: 4 * MiB, CPUs: 3, FreelistHardened: true, FreelistRandom: true, Seed: 1},
			{RAM: 4 * MiB, SlabDebug: "ZU", Profile: Profile612},
		}
		m, err := NewMachine(cfgs[int(data[0])%len(cfgs)])
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		type obj struct {
			p    Addr
			size uint64
			c    *KmemCache
			fill byte
		}
		var live []obj
		var freed []Addr
		var caches []*KmemCache
		corrupted := false // a write into freed memory may leave a freelist corrupt until SLUB reaches it
		put := func(o obj) {
			b, _ := m.Span(o.p, o.size)
			fill(b, o.fill)
			live = append(live, o)
		}
		for i := 1; i+2 < len(data); i += 3 {
			op, a, b := data[i], data[i+1], data[i+2]
			size := uint64(a)<<4 | uint64(b)%16 + 1
			if a == 255 {
				size = m.KmallocMaxCacheSize() + uint64(b)*100
			}
			switch op % 8 {
			case 0:
				if p, err := m.Kmalloc(size, GFPKernel|GFPNoWarn); err == nil {
					put(obj{p: p, size: size, fill: b})
				}
			case 1, 2:
				if len(live) == 0 {
					continue
				}
				k := int(a) % len(live)
				o := live[k]
				if op%8 == 1 {
					if err := m.Kfree(o.p); err != nil {
						// A debug slab disabled by a failed check refuses
						// frees, as the kernel does; the object stays.
						if !corrupted {
							t.Fatalf("kfree(%v): %v", o.p, err)
						}
						continue
					}
					freed = append(freed, o.p)
					live = append(live[:k], live[k+1:]...)
					continue
				}
				if o.c != nil {
					continue
				}
				q, err := m.Krealloc(o.p, size, GFPKernel|GFPNoWarn)
				if err != nil {
					continue
				}
				live = append(live[:k], live[k+1:]...)
				got, _ := m.Span(q, min(size, o.size))
				for j, c := range got {
					if c != o.fill {
						t.Fatalf("krealloc(%v, %d) = %v: byte %d is %#x, want %#x", o.p, size, q, j, c, o.fill)
					}
				}
				if info, _ := m.ObjectAt(o.p); q != o.p && info.Allocated() && info.Start == o.p {
					// The old object's free was refused by a debug check.
					if !corrupted {
						t.Fatalf("krealloc(%v) left the old object allocated", o.p)
					}
					live = append(live, o)
				} else if q != o.p {
					freed = append(freed, o.p)
				}
				put(obj{p: q, size: size, fill: b})
			case 3:
				if len(live) > 0 {
					o := live[int(a)%len(live)]
					m.Kfree(o.p + Addr(b%64) + 1)
				}
			case 4, 5:
				// Write into a freed object that is still free.
				if len(freed) == 0 {
					continue
				}
				p := freed[int(a)%len(freed)]
				if info, ok := m.ObjectAt(p); ok && info.State == ObjFree {
					m.WriteAt(p+Addr(uint64(b)%info.Ksize), []byte{a, b})
					corrupted = true
				}
			case 6:
				if len(caches) == 0 || a%4 == 0 {
					c, err := m.KmemCacheCreate("fz"+itoa(len(caches)), size%1000+1, 0, SlabFlags(b)&SlabDebugFlags)
					if err != nil {
						t.Fatal(err)
					}
					caches = append(caches, c)
					continue
				}
				c := caches[int(a)%len(caches)]
				if c.destroyed {
					continue
				}
				if b%5 == 0 {
					if m.KmemCacheDestroy(c) == nil {
						continue
					}
					continue
				}
				if p, err := m.KmemCacheAlloc(c, GFPKernel|GFPNoWarn); err == nil {
					put(obj{p: p, size: c.objectSize, c: c, fill: b})
				}
			case 7:
				// A double free, if the freed address was not reused.
				if len(freed) > 0 {
					p := freed[int(a)%len(freed)]
					if info, ok := m.ObjectAt(p); ok && info.State == ObjFree {
						if err := m.Kfree(p); err == nil {
							t.Fatalf("double free of %v succeeded", p)
						}
					}
				}
				if err := m.SetCPU(int(b) % m.Config().CPUs); err != nil {
					t.Fatal(err)
				}
			}
			if err := m.CheckInvariants(); err != nil {
				t.Fatalf("op %d (%d %d %d): %v", i/3, op, a, b, err)
			}
			if !corrupted {
				if err := m.CheckSlub(); err != nil {
					t.Fatalf("op %d (%d %d %d): %v", i/3, op, a, b, err)
				}
			}
			spans := make([][2]Addr, 0, len(live))
			for _, o := range live {
				info, ok := m.ObjectAt(o.p)
				if !ok || !info.Allocated() || info.Start != o.p {
					t.Fatalf("op %d: live object %v is %+v", i/3, o.p, info)
				}
				got, _ := m.Span(o.p, o.size)
				for j, c := range got {
					if c != o.fill {
						t.Fatalf("op %d: live object %v byte %d is %#x, want %#x", i/3, o.p, j, c, o.fill)
					}
				}
				spans = append(spans, [2]Addr{o.p, o.p + Addr(info.Ksize)})
			}
			sort.Slice(spans, func(x, y int) bool { return spans[x][0] < spans[y][0] })
			for j := 1; j < len(spans); j++ {
				if spans[j][0] < spans[j-1][1] {
					t.Fatalf("op %d: %v overlaps %v", i/3, spans[j], spans[j-1])
				}
			}
		}
	})
}

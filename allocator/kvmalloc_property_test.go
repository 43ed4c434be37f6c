package allocator

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// mixBlock is one live allocation of the mixed workload.
type mixBlock struct {
	api    string    // "kmalloc", "vmalloc", "kvmalloc" (C calls) or an Allocator's Name
	a      Allocator // the Allocator that made it; nil for the C calls
	addr   Addr
	layout Layout // Allocator blocks: the layout it was made with
	size   uint64 // bytes requested
	seed   int    // which pattern it holds
}

// mixCycle is a byte cycle; the pattern of seed s and n bytes is
// mixCycle[s : s+n], so no two neighbouring seeds hold the same bytes.
var mixCycle = func() []byte {
	b := make([]byte, 64*KiB+251)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}()

func mixPattern(seed int, n uint64) []byte { return mixCycle[seed%251 : uint64(seed%251)+n] }

// TestKvmallocMixedProperties runs seeded random mixes of the three Rust
// allocators (Kmalloc, Vmalloc, KVmalloc through the Allocator interface)
// and the C calls (kmalloc/krealloc/kfree, vmalloc/vrealloc/vfree,
// kvmalloc/kvrealloc/kvfree), with memory fragmented and defragmented by
// alloc_pages in between so that kvmalloc takes both paths and kvrealloc
// moves between them, and after every step checks that every live block
// still holds its pattern (a realloc keeps min(old, new) bytes) and that
// the machine's invariants hold.
func TestKvmallocMixedProperties(t *testing.T) {
	steps := 2000
	if testing.Short() {
		steps = 500
	}
	for _, tc := range []struct {
		cfg  Config
		seed uint64
	}{
		{Config{RAM: 8 * MiB}, 1},
		{Config{RAM: 8 * MiB, Profile: Profile612}, 2},
		{Config{RAM: 16 * MiB, CPUs: 2, FreelistRandom: true, Seed: 5}, 3},
	} {
		t.Run(fmt.Sprintf("%v/%d", tc.cfg.Profile, tc.seed), func(t *testing.T) {
			m := newTestMachine(t, tc.cfg)
			rng := rand.New(rand.NewPCG(tc.seed, 17))
			page := m.PageSize()
			allocs := []Allocator{Kmalloc{M: m}, Vmalloc{M: m}, KVmalloc{M: m}}
			var live []mixBlock
			var held []Addr
			seed := 0
			ops := map[string]int{}
			buf := make([]byte, 64*KiB)
			size := func() uint64 {
				switch rng.IntN(4) {
				case 0:
					return 1 + rng.Uint64N(256)
				case 1:
					return 1 + rng.Uint64N(page)
				}
				return 1 + rng.Uint64N(6*page)
			}
			fill := func(b *mixBlock) {
				seed++
				b.seed = seed
				if err := m.WriteAt(b.addr, mixPattern(b.seed, b.size)); err != nil {
					t.Fatalf("%s block at %v: %v", b.api, b.addr, err)
				}
			}
			for step := 0; step < steps; step++ {
				switch op := rng.IntN(20); {
				case op < 7 || len(live) == 0:
					b := mixBlock{size: size()}
					var err error
					if k := rng.IntN(6); k < 3 {
						b.a = allocs[k]
						b.api = b.a.Name()
						align := uint64(1) << rng.IntN(8)
						if rng.IntN(8) == 0 && m.Profile() == ProfileLatest {
							align = page << rng.IntN(3)
						}
						b.layout = Layout{Size: b.size, Align: align}
						var blk Block
						blk, err = b.a.Alloc(b.layout, GFPKernel)
						b.addr = blk.Addr
						if err == nil && (uint64(len(blk.Mem)) != b.size || uint64(b.addr)%align != 0) {
							t.Fatalf("step %d: %s.Alloc(%+v) = %v with %d bytes", step, b.api, b.layout, b.addr, len(blk.Mem))
						}
					} else {
						b.api = [...]string{"kmalloc", "vmalloc", "kvmalloc"}[k-3]
						gfp := GFPKernel
						if rng.IntN(6) == 0 {
							gfp = GFPAtomic
						}
						switch b.api {
						case "kmalloc":
							b.addr, err = m.Kmalloc(b.size, gfp)
						case "vmalloc":
							b.addr, err = m.Vmalloc(b.size, GFPKernel)
						default:
							b.addr, err = m.KVmalloc(b.size, gfp)
						}
					}
					if err != nil {
						if !errors.Is(err, ErrNoMemory) {
							t.Fatalf("step %d: %s of %d: %v", step, b.api, b.size, err)
						}
						ops[b.api+" failed"]++
						break
					}
					ops[b.api]++
					if b.api == "kvmalloc" || b.api == "KVmalloc" {
						if m.IsVmallocAddr(b.addr) {
							ops["kv: vmalloc"]++
						} else {
							ops["kv: kmalloc"]++
						}
					}
					fill(&b)
					live = append(live, b)
				case op < 11:
					i := rng.IntN(len(live))
					b := &live[i]
					n := size()
					var q Addr
					var err error
					if b.a != nil {
						nl := Layout{Size: n, Align: b.layout.Align}
						var blk Block
						blk, err = b.a.Realloc(b.addr, nl, b.layout, GFPKernel)
						if err == nil {
							if uint64(len(blk.Mem)) != n {
								t.Fatalf("step %d: %s.Realloc to %d gave %d bytes", step, b.api, n, len(blk.Mem))
							}
							q, b.layout = blk.Addr, nl
						}
					} else {
						switch b.api {
						case "kmalloc":
							q, err = m.Krealloc(b.addr, n, GFPKernel)
						case "vmalloc":
							q, err = m.Vrealloc(b.addr, n, GFPKernel)
						default:
							q, err = m.KVrealloc(b.addr, n, GFPKernel)
						}
					}
					if err != nil {
						if !errors.Is(err, ErrNoMemory) {
							t.Fatalf("step %d: realloc of a %s block to %d: %v", step, b.api, n, err)
						}
						ops["realloc failed"]++
						break
					}
					if m.IsVmallocAddr(b.addr) != m.IsVmallocAddr(q) {
						ops["realloc: "+b.api+" changed backing"]++
					}
					keep := min(b.size, n)
					if err := m.ReadAt(q, buf[:keep]); err != nil || !bytes.Equal(buf[:keep], mixPattern(b.seed, keep)) {
						t.Fatalf("step %d: realloc of a %s block %v (%d) to %v (%d) did not keep the first %d bytes (%v)",
							step, b.api, b.addr, b.size, q, n, keep, err)
					}
					ops["realloc"]++
					b.addr, b.size = q, n
					fill(b)
				case op < 16:
					i := rng.IntN(len(live))
					b := live[i]
					var err error
					switch {
					case b.a != nil:
						b.a.Free(b.addr, b.layout)
					case b.api == "kmalloc" && rng.IntN(2) == 0, b.api == "kvmalloc":
						err = m.KVfree(b.addr) // kvfree takes kmalloc memory too
					case b.api == "kmalloc":
						err = m.Kfree(b.addr)
					default:
						err = m.Vfree(b.addr)
					}
					if err != nil {
						t.Fatalf("step %d: freeing a %s block: %v", step, b.api, err)
					}
					ops["free"]++
					live = slices.Delete(live, i, i+1)
				case op < 18 && len(held) == 0:
					held = fragment(t, m)
					ops["fragment"]++
				case rng.IntN(3) == 0:
					for _, p := range held {
						if err := m.FreePages(p, 0); err != nil {
							t.Fatal(err)
						}
					}
					held = nil
				}
				for _, b := range live {
					if err := m.ReadAt(b.addr, buf[:b.size]); err != nil || !bytes.Equal(buf[:b.size], mixPattern(b.seed, b.size)) {
						t.Fatalf("step %d: the %s block at %v (%d bytes) lost its pattern (%v)", step, b.api, b.addr, b.size, err)
					}
				}
				if err := m.CheckInvariants(); err != nil {
					t.Fatalf("step %d: %v", step, err)
				}
			}
			for _, want := range []string{"Kmalloc", "Vmalloc", "KVmalloc", "kmalloc", "vmalloc", "kvmalloc", "kv: kmalloc", "kv: vmalloc",
				"realloc", "free", "fragment", "realloc: kvmalloc changed backing", "realloc: KVmalloc changed backing"} {
				if ops[want] == 0 {
					t.Errorf("the workload never did %q: %v", want, ops)
				}
			}
			t.Logf("%v", ops)
		})
	}
}

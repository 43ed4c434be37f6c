package heapview

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/allocviz/allocviz/allocator"
	"github.com/allocviz/allocviz/allocator/allocatortest"
)

// TestKvmallocModelEqualsMachine drives the real kvmalloc, kvrealloc and
// kvfree on a machine whose memory is fragmented and defragmented by
// alloc_pages/free_pages in between, so that both the kmalloc path and the
// vmalloc fallback are taken and kvrealloc moves between them. The model
// rebuilt from the events must match the machine page for page, know
// every live allocation with its size, and count each kvrealloc as one
// realloc decision, not two: the krealloc or vrealloc inside it is marked
// Within "kvrealloc" and left out.
func TestKvmallocModelEqualsMachine(t *testing.T) {
	for _, prof := range []allocator.Profile{allocator.ProfileLatest, allocator.Profile612} {
		t.Run(prof.String(), func(t *testing.T) {
			s := newSession(t, allocator.Config{RAM: 8 * allocator.MiB, CPUs: 1, Profile: prof})
			rng := rand.New(rand.NewPCG(7, uint64(prof)))
			page := s.m.PageSize()
			type alloc struct {
				addr allocator.Addr
				size uint64
			}
			var live []alloc
			var pages []allocator.Addr
			want := map[int]machinePages{}
			kvreallocs, paths := 0, map[string]int{}
			for range 600 {
				size := 1 + rng.Uint64N(5*page)
				switch op := rng.IntN(10); {
				case op < 3 || len(live) == 0:
					s.begin(fmt.Sprintf("kvmalloc(%d)", size))
					if p, err := s.m.KVmalloc(size, allocator.GFPKernel); err == nil {
						live = append(live, alloc{p, size})
					} else if !errors.Is(err, allocator.ErrNoMemory) {
						t.Fatal(err)
					}
				case op < 5:
					i := rng.IntN(len(live))
					s.begin("kvfree(p)")
					if err := s.m.KVfree(live[i].addr); err != nil {
						t.Fatal(err)
					}
					live = slices.Delete(live, i, i+1)
				case op < 7:
					i := rng.IntN(len(live))
					if rng.IntN(5) == 0 {
						size = 0
					}
					s.begin(fmt.Sprintf("kvrealloc(p, %d)", size))
					kvreallocs++
					q, err := s.m.KVrealloc(live[i].addr, size, allocator.GFPKernel)
					switch {
					case err != nil && !errors.Is(err, allocator.ErrNoMemory):
						t.Fatal(err)
					case err != nil:
					case size == 0:
						live = slices.Delete(live, i, i+1)
					default:
						live[i] = alloc{q, size}
					}
				case op < 9 && len(pages) == 0:
					// Fragment: every free page taken (__GFP_MEMALLOC passes
					// the watermarks; the pcp lists go back first), then
					// every other one (the even pfns) given back and
					// drained from the pcp lists, so no block above order 0
					// is free.
					s.begin("fragment")
					s.m.DrainAllPages()
					var all []allocator.Addr
					for {
						p, err := s.m.AllocPages(0, allocator.GFPKernel|allocator.GFPMemalloc|allocator.GFPNoWarn)
						if err != nil {
							break
						}
						all = append(all, p)
					}
					for _, p := range all {
						if pfn, _ := s.m.AddrPFN(p); pfn%2 == 0 {
							s.m.FreePages(p, 0)
						} else {
							pages = append(pages, p)
						}
					}
					s.m.DrainAllPages()
				case op == 9:
					s.begin("free_pages(p, 0) for each")
					for _, p := range pages {
						if err := s.m.FreePages(p, 0); err != nil {
							t.Fatal(err)
						}
					}
					pages = nil
				}
				if s.step%37 == 0 {
					want[s.step] = snapshotMachine(s.m)
				}
			}
			hv, err := New(s.log)
			if err != nil {
				t.Fatal(err)
			}
			requireSame(t, "end", hv, snapshotMachine(s.m))
			for _, a := range live {
				got, ok := hv.Alloc(a.addr)
				if !ok || got.Size != a.size || got.Func != "kvmalloc" && got.Func != "kvrealloc" {
					t.Fatalf("live %v of %d bytes: model %+v, %v", a.addr, a.size, got, ok)
				}
				if got.Func == "kvmalloc" {
					paths[got.Path]++
				}
			}
			if paths["kmalloc"] == 0 || paths["vmalloc fallback"] == 0 {
				t.Errorf("kvmalloc paths of the live allocations %v: want both", paths)
			}
			if got := hv.Totals().Reallocs; got != kvreallocs {
				t.Errorf("the model counts %d realloc decisions for %d kvrealloc calls", got, kvreallocs)
			}
			inner := 0
			for _, e := range allocatortest.Events(s.log) {
				if r, _ := e.Realloc(); e.Kind() == allocator.EvRealloc && r.Within == "kvrealloc" {
					inner++
				}
			}
			if inner != kvreallocs {
				t.Errorf("%d inner decisions for %d kvreallocs", inner, kvreallocs)
			}
			moves := 0
			for _, r := range hv.Reallocs() {
				if r.Func != "kvrealloc" {
					t.Fatalf("a listed decision is %s's: %+v", r.Func, r)
				}
				if r.Decision == allocator.DecisionMoved && r.Bucket == "vmalloc" && r.Old < allocator.VmallocStart {
					moves++
				}
			}
			if moves == 0 {
				t.Error("no kvrealloc moved kmalloc memory to vmalloc")
			}
			for st, w := range want {
				if err := hv.Seek(st); err != nil {
					t.Fatal(err)
				}
				requireSame(t, fmt.Sprintf("step %d", st), hv, w)
			}
		})
	}
}

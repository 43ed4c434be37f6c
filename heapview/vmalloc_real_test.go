package heapview

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/allocviz/allocviz/allocator"
	"github.com/allocviz/allocviz/allocator/allocatortest"
)

// machineVmalloc is the machine's own account of vmalloc space.
type machineVmalloc struct {
	machinePages
	areas    []allocator.AreaInfo
	unpurged int
}

func snapshotVmalloc(m *allocator.Machine) machineVmalloc {
	return machineVmalloc{machinePages: snapshotMachine(m), areas: m.Areas(),
		unpurged: strings.Count(m.Vmallocinfo(), "unpurged vm_area")}
}

func requireSameVmalloc(t *testing.T, what string, hv *Model, want machineVmalloc) {
	t.Helper()
	requireSame(t, what, hv, want.machinePages)
	var live []Area
	for _, a := range hv.Areas() {
		if !a.Unpurged {
			live = append(live, a)
		}
	}
	if len(live) != len(want.areas) || hv.Totals().Unpurged != want.unpurged {
		t.Fatalf("%s: model has %d areas and %d unpurged ranges, machine %d and %d", what, len(live), hv.Totals().Unpurged, len(want.areas), want.unpurged)
	}
	for i, w := range want.areas {
		g := live[i]
		words := "vmalloc"
		if w.PagesArea != 0 {
			words = "vmalloc vpages"
		}
		if g.Addr != w.Start || g.Bytes != w.Size || g.Size != w.Requested || !slices.Equal(g.PFNs, w.PFNs) ||
			g.Caller != w.Caller || g.Flags != words {
			t.Fatalf("%s: area %d: model %+v, machine %+v", what, i, g, w)
		}
		a, ok := hv.Alloc(w.Start)
		if !ok || a.Kind != AllocVmalloc || a.Size != w.Requested || a.Bytes != uint64(w.NrPages)*hv.PageSize() {
			t.Fatalf("%s: the allocation of area %v: %+v, %v", what, w.Start, a, ok)
		}
	}
}

// TestVmallocModelEqualsMachine drives the real vmalloc (vmalloc, vfree,
// vrealloc, misuse) with alloc_pages in between, then rebuilds the model
// from the events and compares it with the machine page for page and area
// for area, at the end and, seeking back, at earlier steps.
func TestVmallocModelEqualsMachine(t *testing.T) {
	for _, prof := range []allocator.Profile{allocator.ProfileLatest, allocator.Profile612} {
		for seed := uint64(1); seed <= 2; seed++ {
			t.Run(fmt.Sprintf("%v/%d", prof, seed), func(t *testing.T) {
				s := newSession(t, allocator.Config{RAM: 8 * allocator.MiB, CPUs: 1, Profile: prof})
				rng := rand.New(rand.NewPCG(seed, 5))
				page := s.m.PageSize()
				var live, pages []allocator.Addr
				want := map[int]machineVmalloc{}
				seen := map[allocator.EventKind]int{}
				for range 500 {
					size := 1 + rng.Uint64N(6*page)
					if rng.IntN(8) == 0 {
						size = 1 + rng.Uint64N(900*page)
					}
					switch op := rng.IntN(12); {
					case op < 4 || len(live) == 0:
						s.begin(fmt.Sprintf("vmalloc(%d)", size))
						if p, err := s.m.Vmalloc(size, allocator.GFPKernel); err == nil {
							live = append(live, p)
						} else if !errors.Is(err, allocator.ErrNoMemory) {
							t.Fatal(err)
						}
					case op < 7:
						i := rng.IntN(len(live))
						s.begin("vfree(p)")
						if err := s.m.Vfree(live[i]); err != nil {
							t.Fatal(err)
						}
						live = slices.Delete(live, i, i+1)
					case op < 9:
						i := rng.IntN(len(live))
						s.begin(fmt.Sprintf("vrealloc(p, %d)", size))
						if q, err := s.m.Vrealloc(live[i], size, allocator.GFPKernel|allocator.GFPZero); err == nil {
							live[i] = q
						} else if !errors.Is(err, allocator.ErrNoMemory) {
							t.Fatal(err)
						}
					case op < 10:
						s.begin("alloc_pages(1)")
						if p, err := s.m.AllocPages(1, allocator.GFPKernel|allocator.GFPNoWarn); err == nil {
							pages = append(pages, p)
						}
					case op < 11 && len(pages) > 0:
						i := rng.IntN(len(pages))
						s.begin("free_pages(p, 1)")
						if err := s.m.FreePages(pages[i], 1); err != nil {
							t.Fatal(err)
						}
						pages = slices.Delete(pages, i, i+1)
					default:
						s.begin("vfree(p + 8)")
						if err := s.m.Vfree(live[rng.IntN(len(live))] + 8); err == nil {
							t.Fatal("vfree inside an area was refused by the kernel's rule, not accepted")
						}
					}
					if s.step%23 == 0 {
						want[s.step] = snapshotVmalloc(s.m)
					}
				}
				for _, e := range allocatortest.Events(s.log) {
					seen[e.Kind()]++
				}
				if seen[allocator.EvVmapPurge] == 0 || seen[allocator.EvRealloc] == 0 || seen[allocator.EvPageFail] == 0 {
					t.Fatalf("the run reached %d purges, %d reallocs, %d failed page allocations; it should reach all three",
						seen[allocator.EvVmapPurge], seen[allocator.EvRealloc], seen[allocator.EvPageFail])
				}
				hv, err := New(s.log)
				if err != nil {
					t.Fatal(err)
				}
				requireSameVmalloc(t, "end", hv, snapshotVmalloc(s.m))
				for st, w := range want {
					if err := hv.Seek(st); err != nil {
						t.Fatal(err)
					}
					requireSameVmalloc(t, fmt.Sprintf("step %d", st), hv, w)
				}
				renderAll(t, hv)
			})
		}
	}
}

// vmallocScene: a real 8 MiB machine vmallocs three areas, frees the
// middle one (its range waits for the purge), grows the first past its
// pages with vrealloc (it moves) and shrinks the third in place.
func vmallocScene(t *testing.T) (*Model, allocator.Addr) {
	s := newSession(t, allocator.Config{RAM: 8 * allocator.MiB, CPUs: 1})
	var p [3]allocator.Addr
	for i, size := range []uint64{10000, 100, 30000} {
		s.begin(fmt.Sprintf("p%d = vmalloc(%d)", i, size))
		a, err := s.m.Vmalloc(size, allocator.GFPKernel)
		if err != nil {
			t.Fatal(err)
		}
		p[i] = a
	}
	s.begin("vfree(p1)")
	if err := s.m.Vfree(p[1]); err != nil {
		t.Fatal(err)
	}
	s.begin("p0 = vrealloc(p0, 20000)")
	if _, err := s.m.Vrealloc(p[0], 20000, allocator.GFPKernel); err != nil {
		t.Fatal(err)
	}
	s.begin("p2 = vrealloc(p2, 9000, __GFP_ZERO)")
	if _, err := s.m.Vrealloc(p[2], 9000, allocator.GFPKernel|allocator.GFPZero); err != nil {
		t.Fatal(err)
	}
	hv, err := New(s.log)
	if err != nil {
		t.Fatal(err)
	}
	return hv, p[2]
}

func TestRealVmallocViews(t *testing.T) {
	hv, p2 := vmallocScene(t)
	t.Run("vmalloc", func(t *testing.T) {
		eachSize(t, func(t *testing.T, w, h int) []Row {
			return hv.VmallocView(VmallocOptions{Width: w, Height: h, Selected: p2})
		})
	})
	t.Run("realloc", func(t *testing.T) {
		eachSize(t, func(t *testing.T, w, h int) []Row {
			return hv.ReallocPanel(ReallocOptions{Width: w, Height: h})
		})
	})
	t.Run("events", func(t *testing.T) {
		eachSize(t, func(t *testing.T, w, h int) []Row {
			return hv.EventLog(EventLogOptions{Width: w, Height: h})
		})
	})
	a, _ := hv.Alloc(p2)
	if a.Size != 9000 || a.Func != "vmalloc" {
		t.Fatalf("p2 after shrinking in place: %+v", a)
	}
	if h := hv.ReallocHistory(a.Lineage); len(h) != 1 || h[0].Decision != allocator.DecisionShrunkInPlace {
		t.Fatalf("p2's history: %+v", h)
	}
}

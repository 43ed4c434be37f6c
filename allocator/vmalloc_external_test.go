package allocator_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/allocviz/allocviz/allocator"
	"github.com/allocviz/allocviz/allocator/allocatortest"
)

func vmallocFactory(cfg allocator.Config) allocatortest.Factory {
	return func(t *testing.T) (*allocator.Machine, allocator.Allocator) {
		m, err := allocator.NewMachine(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return m, allocator.Vmalloc{M: m}
	}
}

func TestVmallocContract(t *testing.T) {
	for _, cfg := range []allocator.Config{
		{Profile: allocator.ProfileLatest},
		{Profile: allocator.Profile612},
		{Profile: allocator.ProfileLatest, PageSize: 16384},
		{Profile: allocator.Profile612, PageSize: 65536, RAM: 256 * allocator.MiB},
	} {
		t.Run(fmt.Sprintf("%v/%s", cfg.Profile, allocator.FormatBytes(uint64(max(cfg.PageSize, 4096)))), func(t *testing.T) {
			allocatortest.Run(t, vmallocFactory(cfg))
		})
	}
}

func TestVmallocAllocatorAlignment(t *testing.T) {
	for _, prof := range []allocator.Profile{allocator.ProfileLatest, allocator.Profile612} {
		t.Run(prof.String(), func(t *testing.T) {
			m, err := allocator.NewMachine(allocator.Config{Profile: prof})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			log := &allocator.EventLog{}
			m.SetLog(log)
			a := allocator.Vmalloc{M: m}
			if a.Name() != "Vmalloc" || a.MinAlign() != m.PageSize() {
				t.Errorf("Name %q MinAlign %d", a.Name(), a.MinAlign())
			}
			m.Vmalloc(1, allocator.GFPKernel) // the next area is not 64 KiB aligned by chance
			l, _ := allocator.NewLayout(100, 16*m.PageSize())
			b, err := a.Alloc(l, allocator.GFPKernel)
			if prof == allocator.Profile612 {
				var ae *allocator.AllocError
				if !errors.As(err, &ae) {
					t.Fatalf("6.12: Alloc with 64 KiB alignment = %v, %v; want an AllocError", b.Addr, err)
				}
				warned := false
				for _, e := range allocatortest.Events(log) {
					warned = warned || e.Kind() == allocator.EvWarn && e.Text() == "Vmalloc does not support alignments larger than PAGE_SIZE yet."
				}
				if !warned || len(m.Areas()) != 1 {
					t.Errorf("6.12: warned %v, %d areas", warned, len(m.Areas()))
				}
				return
			}
			if err != nil || uint64(b.Addr)%(16*m.PageSize()) != 0 || len(b.Mem) != 100 {
				t.Fatalf("6.18: Alloc with 64 KiB alignment = %v (%d bytes), %v", b.Addr, len(b.Mem), err)
			}
			a.Free(b.Addr, l)
			if len(m.Areas()) != 1 {
				t.Errorf("Free left %d areas", len(m.Areas()))
			}
		})
	}
}

// rebuiltArea is what a consumer of events knows about an area.
type rebuiltArea struct {
	start          allocator.Addr
	size, req      uint64
	pfns           []uint64
	caller, fwords string
}

// rebuild is a vmalloc model driven by events alone, as heapview builds it.
type rebuild struct {
	pageSize uint64
	live     map[allocator.Addr]*rebuiltArea
	unpurged map[allocator.Addr]uint64 // start -> bytes
	owner    map[uint64]allocator.Owner
}

func (r *rebuild) apply(t *testing.T, e allocator.Event) {
	switch e.Kind() {
	case allocator.EvPageAlloc:
		for i := uint64(0); i < 1<<e.Order(); i++ {
			r.owner[e.PFN()+i] = e.Owner()
		}
	case allocator.EvPageFree:
		for i := uint64(0); i < 1<<e.Order(); i++ {
			delete(r.owner, e.PFN()+i)
		}
	case allocator.EvVmapAlloc:
		if _, dup := r.live[e.Addr()]; dup {
			t.Fatalf("event %d: area %v allocated twice", e.Seq(), e.Addr())
		}
		for _, pfn := range e.PFNs() {
			if r.owner[pfn] != allocator.OwnerVmalloc {
				t.Fatalf("event %d: pfn %#x of area %v was not allocated for vmalloc (owner %v)", e.Seq(), pfn, e.Addr(), r.owner[pfn])
			}
		}
		if uint64(e.Pages()) != uint64(len(e.PFNs())) {
			t.Fatalf("event %d: Pages %d, %d pfns", e.Seq(), e.Pages(), len(e.PFNs()))
		}
		r.live[e.Addr()] = &rebuiltArea{start: e.Addr(), size: e.Bytes(), req: e.Size(), pfns: e.PFNs(), caller: e.Src(), fwords: e.Path()}
	case allocator.EvVmapFree:
		delete(r.live, e.Addr())
		r.unpurged[e.Addr()] = e.Bytes()
	case allocator.EvVmapPurge:
		if len(r.unpurged) != e.Areas() {
			t.Fatalf("event %d: purge of %d areas, %d known", e.Seq(), e.Areas(), len(r.unpurged))
		}
		clear(r.unpurged)
	case allocator.EvRealloc:
		if in, _ := e.Realloc(); in.Old == in.New && in.New != 0 {
			r.live[in.New].req = in.NewSize // grown or shrunk in place
		}
	}
}

// TestAreasRebuiltFromEvents drives vmalloc, vfree and vrealloc with a seed,
// checks contents with patterns, and after every step rebuilds the areas
// from the events alone and compares them with the machine's.
func TestAreasRebuiltFromEvents(t *testing.T) {
	for _, prof := range []allocator.Profile{allocator.ProfileLatest, allocator.Profile612} {
		for _, seed := range []uint64{1, 2, 3} {
			t.Run(fmt.Sprintf("%v/seed=%d", prof, seed), func(t *testing.T) {
				m, err := allocator.NewMachine(allocator.Config{Profile: prof, RAM: 16 * allocator.MiB, CPUs: 1})
				if err != nil {
					t.Fatal(err)
				}
				defer m.Close()
				log := &allocator.EventLog{}
				m.SetLog(log)
				page := m.PageSize()
				r := &rebuild{pageSize: page, live: map[allocator.Addr]*rebuiltArea{}, unpurged: map[allocator.Addr]uint64{}, owner: map[uint64]allocator.Owner{}}
				applied := 0
				rnd := rand.New(rand.NewPCG(seed, 99))
				type held struct {
					p    allocator.Addr
					data []byte
				}
				var live []held
				for step := 0; step < 600; step++ {
					m.BeginStep(step+1, "test", "op")
					size := uint64(1 + rnd.IntN(int(6*page)))
					if rnd.IntN(8) == 0 {
						size = uint64(rnd.IntN(1000*int(page))) + 1
					}
					switch op := rnd.IntN(10); {
					case op < 4 || len(live) == 0:
						p, err := m.Vmalloc(size, allocator.GFPKernel)
						if err != nil {
							if !errors.Is(err, allocator.ErrNoMemory) {
								t.Fatal(err)
							}
							break
						}
						data := make([]byte, size)
						for i := range data {
							data[i] = byte(rnd.Uint32())
						}
						if err := m.WriteAt(p, data); err != nil {
							t.Fatal(err)
						}
						live = append(live, held{p, data})
					case op < 7:
						i := rnd.IntN(len(live))
						h := live[i]
						got := make([]byte, len(h.data))
						if err := m.ReadAt(h.p, got); err != nil || !bytes.Equal(got, h.data) {
							t.Fatalf("step %d: area %v lost its contents (%v)", step, h.p, err)
						}
						if err := m.Vfree(h.p); err != nil {
							t.Fatal(err)
						}
						live = slices.Delete(live, i, i+1)
					case op < 9:
						i := rnd.IntN(len(live))
						h := live[i]
						q, err := m.Vrealloc(h.p, size, allocator.GFPKernel)
						if err != nil {
							if !errors.Is(err, allocator.ErrNoMemory) {
								t.Fatal(err)
							}
							break
						}
						keep := min(uint64(len(h.data)), size)
						got := make([]byte, keep)
						if err := m.ReadAt(q, got); err != nil || !bytes.Equal(got, h.data[:keep]) {
							t.Fatalf("step %d: vrealloc(%v, %d) -> %v lost the first %d bytes (%v)", step, h.p, size, q, keep, err)
						}
						data := make([]byte, size)
						copy(data, h.data)
						for i := keep; i < size; i++ {
							data[i] = byte(rnd.Uint32())
						}
						if err := m.WriteAt(q, data); err != nil {
							t.Fatal(err)
						}
						live[i] = held{q, data}
					default:
						// Misuse: nothing must change and events must say so.
						bad := live[rnd.IntN(len(live))].p + allocator.Addr(1+rnd.IntN(int(page)-1))
						if err := m.Vfree(bad); !errors.Is(err, allocator.ErrInvalidFree) {
							t.Fatalf("vfree(%v) = %v", bad, err)
						}
					}
					for ; applied < log.Len(); applied++ {
						r.apply(t, log.At(applied))
					}
					compareRebuild(t, step, m, r)
					if err := m.CheckInvariants(); err != nil {
						t.Fatal(err)
					}
				}
				// The run must have reached the interesting states.
				seen := map[allocator.EventKind]int{}
				vpages := 0
				for _, e := range allocatortest.Events(log) {
					seen[e.Kind()]++
					if e.Kind() == allocator.EvVmapAlloc && strings.HasSuffix(e.Path(), "vpages") {
						vpages++
					}
				}
				t.Logf("%d purges, %d failed page allocations, %d vpages areas, %d realloc decisions",
					seen[allocator.EvVmapPurge], seen[allocator.EvPageFail], vpages, seen[allocator.EvRealloc])
				if seen[allocator.EvVmapPurge] == 0 || seen[allocator.EvPageFail] == 0 || vpages == 0 {
					t.Error("the run did not reach a purge, a failed allocation and a vpages area")
				}
			})
		}
	}
}

func compareRebuild(t *testing.T, step int, m *allocator.Machine, r *rebuild) {
	t.Helper()
	areas := m.Areas()
	if len(areas) != len(r.live) {
		t.Fatalf("step %d: %d areas, events describe %d", step, len(areas), len(r.live))
	}
	for _, a := range areas {
		b := r.live[a.Start]
		if b == nil || b.size != a.Size || b.req != a.Requested || fmt.Sprint(b.pfns) != fmt.Sprint(a.PFNs) || b.caller != a.Caller {
			t.Fatalf("step %d: area %+v, rebuilt from events %+v", step, a, b)
		}
		words := "vmalloc"
		if a.PagesArea != 0 {
			words = "vmalloc vpages"
		}
		if b.fwords != words {
			t.Fatalf("step %d: area %v flag words %q, want %q", step, a.Start, b.fwords, words)
		}
	}
	info := m.Vmallocinfo()
	if got := strings.Count(info, "unpurged vm_area"); got != len(r.unpurged) {
		t.Fatalf("step %d: vmallocinfo lists %d unpurged areas, events %d", step, got, len(r.unpurged))
	}
	for start, size := range r.unpurged {
		line := fmt.Sprintf("0x%016x-0x%016x %7d unpurged vm_area\n", uint64(start), uint64(start)+size, size)
		if !strings.Contains(info, line) {
			t.Fatalf("step %d: vmallocinfo lacks %q", step, line)
		}
	}
}

package heapview

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/allocviz/allocviz/allocator"
)

// session is a real machine recording into a log, driven step by step as
// the scripts runtime would.
type session struct {
	t    testing.TB
	m    *allocator.Machine
	log  *allocator.EventLog
	step int
}

func newSession(t testing.TB, cfg allocator.Config) *session {
	t.Helper()
	m, err := allocator.NewMachine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	s := &session{t: t, m: m, log: &allocator.EventLog{}}
	m.SetLog(s.log)
	return s
}

func (s *session) begin(op string) {
	s.step++
	s.m.BeginStep(s.step, fmt.Sprintf("test.star:%d:5", s.step), op)
}

// machinePages is the machine's own account of every page and of the free
// lists.
type machinePages struct {
	pages []allocator.PageInfo
	free  [allocator.NrPageOrders]uint64
}

func snapshotMachine(m *allocator.Machine) machinePages {
	mp := machinePages{pages: make([]allocator.PageInfo, m.NrPages()), free: m.FreeCounts()}
	for pfn := range mp.pages {
		mp.pages[pfn] = m.Page(uint64(pfn))
	}
	return mp
}

// requireSame fails unless the model under its cursor equals want page
// for page.
func requireSame(t testing.TB, what string, hv *Model, want machinePages) {
	t.Helper()
	if got := hv.FreeCounts(); got != want.free {
		t.Fatalf("%s: free counts %v, machine %v", what, got, want.free)
	}
	bad := 0
	for pfn, w := range want.pages {
		if got := hv.Page(uint64(pfn)); got != w {
			t.Errorf("%s: pfn %#x: model %+v, machine %+v", what, pfn, got, w)
			if bad++; bad > 5 {
				t.FailNow()
			}
		}
	}
	if bad > 0 {
		t.FailNow()
	}
}

// randomBuddy runs n seeded random alloc_pages/free_pages steps, with the
// odd misuse the machine refuses, and returns the machine's state after
// each step in want[step].
func randomBuddy(s *session, rng *rand.Rand, n int, record func(step int) bool) map[int]machinePages {
	type block struct {
		addr  allocator.Addr
		order int
	}
	var live []block
	want := map[int]machinePages{}
	if record(0) {
		want[0] = snapshotMachine(s.m)
	}
	for range n {
		switch r := rng.IntN(100); {
		case r < 50 || len(live) == 0:
			order := []int{0, 0, 0, 0, 1, 1, 2, 3, 4, 5, 7, 10}[rng.IntN(12)]
			gfp := allocator.GFPKernel
			if rng.IntN(4) == 0 {
				gfp |= allocator.GFPComp
			}
			s.begin(fmt.Sprintf("alloc_pages(%d)", order))
			if a, err := s.m.AllocPages(order, gfp|allocator.GFPNoWarn); err == nil {
				live = append(live, block{a, order})
			}
		case r < 96:
			i := rng.IntN(len(live))
			b := live[i]
			s.begin(fmt.Sprintf("free_pages(%v, %d)", b.addr, b.order))
			if err := s.m.FreePages(b.addr, b.order); err != nil {
				s.t.Fatal(err)
			}
			live[i] = live[len(live)-1]
			live = live[:len(live)-1]
		case r < 98:
			b := live[rng.IntN(len(live))]
			s.begin("free_pages with the wrong order")
			if err := s.m.FreePages(b.addr, b.order+1); err == nil {
				s.t.Fatal("a free with the wrong order was obeyed")
			}
		default:
			s.begin("alloc_pages(11)")
			if _, err := s.m.AllocPages(11, allocator.GFPKernel); err == nil {
				s.t.Fatal("alloc_pages(11) succeeded")
			}
		}
		if record(s.step) {
			want[s.step] = snapshotMachine(s.m)
		}
	}
	return want
}

// TestBuddyModelEqualsMachine rebuilds the model from the events of seeded
// random alloc_pages/free_pages sequences and compares it with the
// machine's own state page for page, at the end and, by seeking in random
// order, at earlier steps.
func TestBuddyModelEqualsMachine(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			s := newSession(t, allocator.Config{RAM: 8 * allocator.MiB})
			rng := rand.New(rand.NewPCG(seed, 42))
			want := randomBuddy(s, rng, 600, func(step int) bool { return step%37 == 0 || step > 590 })
			hv, err := New(s.log)
			if err != nil {
				t.Fatal(err)
			}
			if hv.Steps() != s.step || hv.Step() != s.step {
				t.Fatalf("model has steps 0..%d, cursor %d; want 0..%d on the last", hv.Steps(), hv.Step(), s.step)
			}
			requireSame(t, "end", hv, snapshotMachine(s.m))
			if got, want := hv.Buddyinfo(), s.m.Buddyinfo(); got != want {
				t.Fatalf("Buddyinfo %q, machine %q", got, want)
			}
			steps := make([]int, 0, len(want))
			for st := range want {
				steps = append(steps, st)
			}
			rng.Shuffle(len(steps), func(i, j int) { steps[i], steps[j] = steps[j], steps[i] })
			for _, st := range steps {
				if err := hv.Seek(st); err != nil {
					t.Fatal(err)
				}
				requireSame(t, fmt.Sprintf("seek %d", st), hv, want[st])
			}
			if len(hv.Anomalies()) != 0 {
				t.Fatalf("anomalies in a real machine's log: %v", hv.Anomalies())
			}
		})
	}
}

// TestApplyIncrementally feeds the events step by step, as a live session
// does, and compares after every step.
func TestApplyIncrementally(t *testing.T) {
	s := newSession(t, allocator.Config{RAM: 4 * allocator.MiB})
	hv, err := New(s.log)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 7))
	randomBuddy(s, rng, 300, func(step int) bool {
		if step == 0 {
			return false
		}
		if err := hv.Sync(); err != nil {
			t.Fatal(err)
		}
		if hv.Step() != step {
			t.Fatalf("after applying step %d the cursor is on step %d", step, hv.Step())
		}
		requireSame(t, fmt.Sprintf("step %d", step), hv, snapshotMachine(s.m))
		return false
	})
}

package heapview

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/allocviz/allocviz/allocator"
)

// fingerprint is everything the state under the cursor holds, for
// comparing two models.
func fingerprint(hv *Model) string {
	var b []byte
	for pfn := range hv.NrPages() {
		b = fmt.Appendf(b, "%v\n", hv.Page(pfn))
	}
	b = fmt.Appendf(b, "%+v\n", hv.Totals())
	for _, a := range hv.Allocs() {
		b = fmt.Appendf(b, "%+v\n", a)
	}
	for _, c := range hv.Caches() {
		b = fmt.Appendf(b, "%+v\n", c)
	}
	for _, sl := range hv.ListedSlabs("") {
		cpu, own := hv.Freelists(sl)
		b = fmt.Appendf(b, "%+v %v %v\n", sl, cpu, own)
	}
	for _, a := range hv.Areas() {
		b = fmt.Appendf(b, "%+v\n", a)
	}
	return string(b)
}

// TestSeekEqualsRebuild moves the cursor to random positions, forward and
// back, across checkpoints laid every few events, and checks that the
// state equals a model built from scratch from the events up to there:
// for the buddy allocator alone, and for the mix of every allocator.
func TestSeekEqualsRebuild(t *testing.T) {
	t.Run("buddy", func(t *testing.T) {
		s := newSession(t, allocator.Config{RAM: 4 * allocator.MiB})
		rng := rand.New(rand.NewPCG(3, 9))
		randomBuddy(s, rng, 400, func(int) bool { return false })
		seekEqualsRebuild(t, s.log, rng)
	})
	t.Run("mix", func(t *testing.T) {
		s := newSession(t, allocator.Config{RAM: 8 * allocator.MiB, CPUs: 3})
		w := newWorkload(s, 9, true)
		for range 300 {
			w.step()
		}
		seekEqualsRebuild(t, s.log, rand.New(rand.NewPCG(3, 10)))
	})
}

func seekEqualsRebuild(t *testing.T, events *allocator.EventLog, rng *rand.Rand) {
	for _, every := range []uint64{1, 50, 2000, ckptWork} {
		hv, err := newModel(events, every)
		if err != nil {
			t.Fatal(err)
		}
		for range 60 {
			var pos int
			if rng.IntN(3) == 0 {
				st := rng.IntN(hv.Steps() + 1)
				if err := hv.Seek(st); err != nil {
					t.Fatal(err)
				}
				_, pos = hv.stepSpan(st)
			} else {
				pos = rng.IntN(events.Len() + 1)
				if err := hv.SeekEvent(pos); err != nil {
					t.Fatal(err)
				}
			}
			fresh, err := New(prefix(t, events, pos))
			if pos == 0 {
				fresh, err = New(prefix(t, events, 1))
				fresh.SeekEvent(0)
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, want := fingerprint(hv), fingerprint(fresh); got != want {
				t.Fatalf("checkpoints every %d: after seeking to event %d the state differs from a rebuild", every, pos)
			}
		}
	}
}

func TestSeekRejectsStepsOutsideTheSession(t *testing.T) {
	s := newSession(t, allocator.Config{RAM: 4 * allocator.MiB})
	s.begin("alloc_pages(0)")
	s.m.AllocPages(0, allocator.GFPKernel)
	hv, err := New(s.log)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range []int{-1, 2} {
		if err := hv.Seek(st); err == nil {
			t.Errorf("Seek(%d) in a session of steps 0..1 succeeded", st)
		}
	}
	if err := hv.SeekEvent(s.log.Len() + 1); err == nil {
		t.Error("SeekEvent past the end succeeded")
	}
	if hv.Step() != 1 || hv.Pos() != s.log.Len() {
		t.Errorf("a refused seek moved the cursor to step %d, event %d", hv.Step(), hv.Pos())
	}
}

func TestNewNeedsTheLogFromBoot(t *testing.T) {
	s := newSession(t, allocator.Config{RAM: 4 * allocator.MiB})
	if _, err := New(sub(t, s.log, 1, s.log.Len())); err == nil {
		t.Fatal("a log without its boot event was accepted")
	}
}

// TestDiffListsWhatChanged checks Diff against the machine: the pages it
// lists are exactly those whose state differs between the two steps.
func TestDiffListsWhatChanged(t *testing.T) {
	s := newSession(t, allocator.Config{RAM: 4 * allocator.MiB})
	rng := rand.New(rand.NewPCG(11, 1))
	want := randomBuddy(s, rng, 200, func(step int) bool { return step%25 == 0 })
	hv, err := New(s.log)
	if err != nil {
		t.Fatal(err)
	}
	pos := hv.Pos()
	for _, pair := range [][2]int{{0, 25}, {25, 50}, {100, 50}, {75, 75}, {150, 200}} {
		d, err := hv.Diff(pair[0], pair[1])
		if err != nil {
			t.Fatal(err)
		}
		listed := map[uint64]PageChange{}
		for _, c := range d.Pages {
			for p := c.PFN; p < c.PFN+c.N; p++ {
				listed[p] = c
			}
		}
		a, b := want[pair[0]], want[pair[1]]
		for pfn := range a.pages {
			x, y := a.pages[pfn], b.pages[pfn]
			x.Since, y.Since = 0, 0
			c, ok := listed[uint64(pfn)]
			if (x != y) != ok {
				t.Fatalf("Diff(%d, %d): pfn %#x changed %v but listed %v", pair[0], pair[1], pfn, x != y, ok)
			}
			if ok && (!sameKind(c.Before, x) || !sameKind(c.After, y)) {
				t.Fatalf("Diff(%d, %d): pfn %#x listed as %+v -> %+v, machine %+v -> %+v", pair[0], pair[1], pfn, c.Before, c.After, x, y)
			}
		}
		allocsA, allocsB := countPagesAllocs(a), countPagesAllocs(b)
		made, freed := 0, 0
		for _, c := range d.Allocs {
			if c.Before == nil {
				made++
			}
			if c.After == nil {
				freed++
			}
		}
		if allocsA+made-freed != allocsB {
			t.Fatalf("Diff(%d, %d): %d allocations, %d made, %d freed, but %d after", pair[0], pair[1], allocsA, made, freed, allocsB)
		}
	}
	if hv.Pos() != pos {
		t.Fatal("Diff moved the cursor")
	}
}

func countPagesAllocs(mp machinePages) int {
	n := 0
	for _, p := range mp.pages {
		if p.State == allocator.PageAllocated && p.Head == p.PFN {
			n++
		}
	}
	return n
}

// TestApplyMixIncrementally feeds the mix of every allocator to a model
// step by step, as a live session does, and compares it with a model
// built at once from the same events, every so many steps.
func TestApplyMixIncrementally(t *testing.T) {
	s := newSession(t, allocator.Config{RAM: 8 * allocator.MiB, CPUs: 2})
	hv, err := New(s.log)
	if err != nil {
		t.Fatal(err)
	}
	w := newWorkload(s, 17, true)
	for i := range 400 {
		w.step()
		if err := hv.Sync(); err != nil {
			t.Fatal(err)
		}
		if i%50 == 49 {
			whole, err := New(s.log)
			if err != nil {
				t.Fatal(err)
			}
			if fingerprint(hv) != fingerprint(whole) {
				t.Fatalf("after step %d the model fed step by step differs from one built at once", s.step)
			}
		}
	}
}

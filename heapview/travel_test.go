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
	for _, sl := range hv.Slabs("") {
		b = fmt.Appendf(b, "%+v\n", sl)
	}
	for _, a := range hv.Areas() {
		b = fmt.Appendf(b, "%+v\n", a)
	}
	return string(b)
}

// TestSeekEqualsRebuild moves the cursor to random positions, forward and
// back, across checkpoints laid every few events, and checks that the
// state equals a model built from scratch from the events up to there.
func TestSeekEqualsRebuild(t *testing.T) {
	s := newSession(t, allocator.Config{RAM: 4 * allocator.MiB})
	rng := rand.New(rand.NewPCG(3, 9))
	randomBuddy(s, rng, 400, func(int) bool { return false })
	events := s.log.Events
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
				pos = rng.IntN(len(events) + 1)
				if err := hv.SeekEvent(pos); err != nil {
					t.Fatal(err)
				}
			}
			fresh, err := New(events[:pos])
			if pos == 0 {
				fresh, err = New(events[:1])
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
	hv, err := New(s.log.Events)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range []int{-1, 2} {
		if err := hv.Seek(st); err == nil {
			t.Errorf("Seek(%d) in a session of steps 0..1 succeeded", st)
		}
	}
	if err := hv.SeekEvent(len(s.log.Events) + 1); err == nil {
		t.Error("SeekEvent past the end succeeded")
	}
	if hv.Step() != 1 || hv.Pos() != len(s.log.Events) {
		t.Errorf("a refused seek moved the cursor to step %d, event %d", hv.Step(), hv.Pos())
	}
}

func TestNewNeedsTheLogFromBoot(t *testing.T) {
	s := newSession(t, allocator.Config{RAM: 4 * allocator.MiB})
	if _, err := New(s.log.Events[1:]); err == nil {
		t.Fatal("a log without its boot event was accepted")
	}
}

package heapview

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/allocviz/allocviz/allocator"
)

// bigSession runs seeded random alloc_pages/free_pages steps on a machine
// of ram bytes until the log holds at least n events.
func bigSession(b *testing.B, ram int64, n int) []allocator.Event {
	b.Helper()
	s := newSession(b, allocator.Config{RAM: ram})
	rng := rand.New(rand.NewPCG(1, 2))
	type block struct {
		addr  allocator.Addr
		order int
	}
	var live []block
	for len(s.log.Events) < n {
		if rng.IntN(2) == 0 || len(live) == 0 {
			order := []int{0, 0, 0, 0, 1, 1, 2, 3, 4, 6, 9}[rng.IntN(11)]
			s.begin("alloc_pages")
			if a, err := s.m.AllocPages(order, allocator.GFPKernel|allocator.GFPNoWarn); err == nil {
				live = append(live, block{a, order})
			}
			continue
		}
		i := rng.IntN(len(live))
		s.begin("free_pages")
		if err := s.m.FreePages(live[i].addr, live[i].order); err != nil {
			b.Fatal(err)
		}
		live[i] = live[len(live)-1]
		live = live[:len(live)-1]
	}
	return s.log.Events
}

// BenchmarkSeek measures moving the cursor in a session of a million
// events on a 256 MiB machine: to a random step anywhere, and one step
// forward or back from a random place. The baseline "walk" model has no
// checkpoints, so it can only replay or undo from where it is.
func BenchmarkSeek(b *testing.B) {
	events := bigSession(b, 256*allocator.MiB, 1_000_000)
	build := time.Now()
	hv, err := New(events)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("%d events, %d steps, %d checkpoints; model built in %v", len(events), hv.Steps(), len(hv.ckpts), time.Since(build))
	walk, err := newModel(events, math.MaxUint64)
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		hv   *Model
	}{{"checkpoints", hv}, {"walk", walk}} {
		b.Run("anywhere/"+tc.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(5, 5))
			var worst time.Duration
			for b.Loop() {
				st := rng.IntN(tc.hv.Steps() + 1)
				t0 := time.Now()
				if err := tc.hv.Seek(st); err != nil {
					b.Fatal(err)
				}
				worst = max(worst, time.Since(t0))
			}
			b.ReportMetric(float64(worst.Microseconds())/1000, "max-ms")
		})
	}
	b.Run("one-step", func(b *testing.B) {
		rng := rand.New(rand.NewPCG(6, 6))
		var worst time.Duration
		i := 0
		for b.Loop() {
			if i%64 == 0 {
				b.StopTimer()
				hv.Seek(1 + rng.IntN(hv.Steps()-1))
				b.StartTimer()
			}
			st := hv.Step() + 1
			if i%2 == 1 {
				st = hv.Step() - 1
			}
			if i%4 >= 2 { // two back, then two forward
				st = hv.Step() + 1 - 2*(i%2)
			}
			t0 := time.Now()
			if err := hv.Seek(max(0, min(st, hv.Steps()))); err != nil {
				b.Fatal(err)
			}
			worst = max(worst, time.Since(t0))
			i++
		}
		b.ReportMetric(float64(worst.Microseconds())/1000, "max-ms")
	})
}

func ExampleModel_Seek() {
	m, _ := allocator.NewMachine(allocator.Config{RAM: 4 * allocator.MiB})
	defer m.Close()
	log := &allocator.EventLog{}
	m.SetLog(log)
	m.BeginStep(1, "demo.star:1:1", "alloc_pages(2)")
	a, _ := m.AllocPages(2, allocator.GFPKernel)
	m.BeginStep(2, "demo.star:2:1", "free_pages(a, 2)")
	m.FreePages(a, 2)

	hv, _ := New(log.Events)
	hv.Seek(1)
	fmt.Println(hv.Page(256).State == allocator.PageAllocated, hv.FreeCounts()[2])
	hv.Seek(2)
	fmt.Println(hv.Page(256).State == allocator.PageAllocated, hv.FreeCounts()[2])
	// Output:
	// true 1
	// false 0
}

package heapview

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"
	"unsafe"

	"github.com/allocviz/allocviz/allocator"
)

// bigSession runs the seeded mix of every allocator (workload: buddy,
// SLUB with kmalloc, krealloc and caches, vmalloc and vrealloc, KVec and
// KBox, on two CPUs) on a machine of ram bytes until the log holds at
// least n events. The live set is bounded, so the machine reaches a steady
// state rather than filling up.
func bigSession(b *testing.B, ram int64, n int) *allocator.EventLog {
	b.Helper()
	s := newSession(b, allocator.Config{RAM: ram, CPUs: 2})
	w := newWorkload(s, 1, true)
	w.maxLive = 20000
	for s.log.Len() < n {
		w.step()
	}
	return s.log
}

// BenchmarkSeek measures moving the cursor in a session of a million
// events of every allocator on a 256 MiB machine: to a random step
// anywhere, and one step forward or back from a random place. The baseline "walk" model has no
// checkpoints, so it can only replay or undo from where it is.
func BenchmarkSeek(b *testing.B) {
	events := bigSession(b, 256*allocator.MiB, 1_000_000)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	build := time.Now()
	hv, err := New(events)
	if err != nil {
		b.Fatal(err)
	}
	took := time.Since(build)
	runtime.GC()
	runtime.ReadMemStats(&after)
	f := hv.footprint()
	mem := events.Memory()
	b.Logf("%d events, %d steps, %d checkpoints; model built in %v", events.Len(), hv.Steps(), len(hv.ckpts), took)
	b.Logf("memory: events %s (records %s, strings %s, side tables %s); model %s on the heap: journal %s and its marks %s, checkpoints %s, head %s",
		mib(mem.Total()), mib(mem.Records), mib(mem.Strings), mib(mem.Side), mib(int64(after.HeapAlloc)-int64(before.HeapAlloc)),
		mib(f.journal), mib(f.marks), mib(f.ckpts), mib(f.head))
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
			var times []time.Duration
			for b.Loop() {
				st := rng.IntN(tc.hv.Steps() + 1)
				t0 := time.Now()
				if err := tc.hv.Seek(st); err != nil {
					b.Fatal(err)
				}
				times = append(times, time.Since(t0))
			}
			reportTimes(b, times)
		})
	}
	b.Run("one-step", func(b *testing.B) {
		rng := rand.New(rand.NewPCG(6, 6))
		var times []time.Duration
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
			times = append(times, time.Since(t0))
			i++
		}
		reportTimes(b, times)
	})
}

// reportTimes reports the 99th percentile and the slowest of a run's
// timings, in milliseconds.
func reportTimes(b *testing.B, times []time.Duration) {
	slices.Sort(times)
	ms := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }
	b.ReportMetric(ms(times[len(times)*99/100]), "p99-ms")
	b.ReportMetric(ms(times[len(times)-1]), "max-ms")
}

func ExampleModel_Seek() {
	m, _ := allocator.NewMachine(allocator.Config{RAM: 4 * allocator.MiB})
	defer m.Close()
	log := &allocator.EventLog{}
	m.SetLog(log)
	// Order 4 is above what the per-CPU lists hold, so the block comes
	// from the buddy lists and goes back to them.
	m.BeginStep(1, "demo.star:1:1", "alloc_pages(4, GFP_HIGHUSER_MOVABLE)")
	a, _ := m.AllocPages(4, allocator.GFPHighUserMovable)
	m.BeginStep(2, "demo.star:2:1", "free_pages(a, 4)")
	m.FreePages(a, 4)

	pfn, _ := m.AddrPFN(a)
	hv, _ := New(log)
	hv.Seek(1)
	fmt.Println(hv.Page(pfn).State == allocator.PageAllocated, hv.FreeCounts()[4])
	hv.Seek(2)
	fmt.Println(hv.Page(pfn).State == allocator.PageAllocated, hv.FreeCounts()[4])
	// Output:
	// true 1
	// false 0
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// footprint is what a model holds besides the events, in bytes.
type footprint struct {
	journal int64 // undo records
	marks   int64 // per event: where its records begin, and the replay cost so far
	ckpts   int64 // chunks and tree nodes only checkpoints hold
	head    int64 // the head state's chunks and nodes
}

// footprint measures the model: each chunk and tree node is counted once,
// for the head if the head holds it, else for the checkpoints.
func (m *Model) footprint() footprint {
	var f footprint
	j := &m.jr
	f.journal = j.bytes()
	f.marks = j.marks.bytes()
	seen := map[any]bool{}
	measure := func(s *state) int64 {
		var n int64
		for _, c := range s.pages.chunks {
			if !seen[c] {
				seen[c] = true
				n += int64(unsafe.Sizeof(*c))
			}
		}
		n += int64(len(s.pages.chunks)) * 8
		n += treapBytes(s.slabs.root, seen) + treapBytes(s.allocs.root, seen) + treapBytes(s.areas.root, seen)
		return n + int64(cap(s.caches))*int64(unsafe.Sizeof(cacheState{}))
	}
	f.head = measure(m.head)
	for _, c := range m.ckpts {
		f.ckpts += measure(c)
	}
	return f
}

func treapBytes[V any](n *tnode[V], seen map[any]bool) int64 {
	if n == nil || seen[n] {
		return 0
	}
	seen[n] = true
	return int64(unsafe.Sizeof(*n)) + treapBytes(n.left, seen) + treapBytes(n.right, seen)
}

// BenchmarkViews renders every view at 200x60 on a busy model: 300,000
// events of the mix of every allocator on a 256 MiB machine, the cursor at
// the end. Each view's baseline is the model query it rests on, without
// the rendering.
func BenchmarkViews(b *testing.B) {
	events := bigSession(b, 256*allocator.MiB, 300_000)
	hv, err := New(events)
	if err != nil {
		b.Fatal(err)
	}
	cs := hv.SortedCaches(ColSlabs, true, false)
	busiest := cs[0].Name
	var area allocator.Addr
	var most int
	for _, a := range hv.Areas() {
		if len(a.PFNs) > most {
			area, most = a.Addr, len(a.PFNs)
		}
	}
	// An object in use and a free one of the busiest cache.
	var obj, free allocator.Addr
	for _, sl := range hv.ListedSlabs(busiest) {
		for i := range sl.Objects {
			a := sl.First + allocator.Addr(uint64(i)*sl.ObjSize)
			if hv.ObjectUsed(sl, i) {
				obj = a
			} else {
				free = a
			}
		}
	}
	b.Logf("%d events, %d caches with slabs (%s has %d slabs, %d objects), %d areas (the largest %d pages), %d allocations",
		events.Len(), len(cs), busiest, cs[0].Slabs, cs[0].Objects, len(hv.Areas()), most, hv.Totals().Allocs)
	const w, h = 200, 60
	views := []struct {
		name string
		f    func()
	}{
		{"pagemap", func() { hv.PageMap(PageMapOptions{Width: w, Height: h}) }},
		{"pagemap/baseline", func() {
			n := 0
			for p := range hv.NrPages() {
				n += int(hv.cur.page(p).owner)
			}
		}},
		{"slabtable", func() { hv.SlabTable(SlabTableOptions{Width: w, Height: h, Sort: ColObjects, Desc: true}) }},
		{"slabtable/baseline", func() { hv.SortedCaches(ColObjects, true, false) }},
		{"slabview", func() { hv.SlabView(SlabViewOptions{Width: w, Height: h, Cache: busiest}) }},
		{"slabview/freelists", func() { hv.SlabView(SlabViewOptions{Width: w, Height: h, Cache: busiest, Freelist: true}) }},
		{"slabview/baseline", func() { hv.ListedSlabs(busiest) }},
		{"vmalloc", func() { hv.VmallocView(VmallocOptions{Width: w, Height: h, Selected: area}) }},
		{"vmalloc/baseline", func() { hv.Areas() }},
		{"eventlog", func() { hv.EventLog(EventLogOptions{Width: w, Height: h}) }},
		{"eventlog/baseline", func() { hv.StepInfo(hv.Steps()) }},
		{"realloc", func() { hv.ReallocPanel(ReallocOptions{Width: w, Height: h}) }},
		{"inspect", func() {
			in, _ := hv.InspectAddr(obj)
			in.Rows(w, h)
		}},
		{"inspect/free", func() {
			in, _ := hv.InspectAddr(free)
			in.Rows(w, h)
		}},
	}
	for _, v := range views {
		b.Run(v.name, func(b *testing.B) {
			for b.Loop() {
				v.f()
			}
		})
	}
}

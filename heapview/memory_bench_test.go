package heapview

import (
	"runtime"
	"testing"

	"github.com/allocviz/allocviz/allocator"
	"github.com/allocviz/allocviz/scripts"
)

// heapBytes returns the bytes the Go heap holds after a collection.
func heapBytes() int64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// BenchmarkEventLog reports what a recorded event costs in memory, in
// bytes per event: the session's (the event log and the scripts' step
// index: what the Go heap holds for them) and the heapview model's built
// from it, for a million-step kmalloc loop run as a script (three events
// a step) and for the mix of every allocator BenchmarkSeek uses (a million
// events on a 256 MiB machine). The machine's own state (its page array,
// slab and area records) is not the events': the loop's session is
// measured from after the machine booted, and the mix's against the same
// seeded workload run on a second machine with recording off.
func BenchmarkEventLog(b *testing.B) {
	b.Run("kmalloc-loop", func(b *testing.B) {
		for b.Loop() {
			s, err := scripts.New(scripts.Options{})
			if err != nil {
				b.Fatal(err)
			}
			before := heapBytes()
			src := "for i in range(500000):\n    p = kmalloc(64)\n    kfree(p)\n"
			if err := s.RunFile("loop.star", []byte(src)); err != nil {
				b.Fatal(err)
			}
			session := heapBytes() - before
			reportMemory(b, s.Log(), session)
			runtime.KeepAlive(s)
			s.Close()
		}
	})
	b.Run("mix", func(b *testing.B) {
		for b.Loop() {
			before := heapBytes()
			s := newSession(b, allocator.Config{RAM: 256 * allocator.MiB, CPUs: 2})
			w := newWorkload(s, 1, true)
			w.maxLive = 20000
			steps := 0
			for s.log.Len() < 1_000_000 {
				w.step()
				steps++
			}
			recorded := heapBytes() - before
			before = heapBytes()
			off := newSession(b, allocator.Config{RAM: 256 * allocator.MiB, CPUs: 2})
			off.m.SetLog(nil)
			wo := newWorkload(off, 1, true)
			wo.maxLive = 20000
			for range steps {
				wo.step()
			}
			unrecorded := heapBytes() - before
			if off.m.FreeCounts() != s.m.FreeCounts() {
				b.Fatal("the workload without recording left other free blocks than with it")
			}
			reportMemory(b, s.log, recorded-unrecorded)
			runtime.KeepAlive(off)
		}
	})
}

// reportMemory builds the model of log and reports the session's and the
// model's bytes per event; session is what the session holds for its
// events.
func reportMemory(b *testing.B, log *allocator.EventLog, session int64) {
	b.Helper()
	before := heapBytes()
	hv, err := New(log)
	if err != nil {
		b.Fatal(err)
	}
	model := heapBytes() - before
	n := float64(log.Len())
	mem := log.Memory()
	b.Logf("%d events: session %.1f MiB (log: records %.1f MiB, strings %.1f MiB, side tables %.1f MiB), model %.1f MiB",
		log.Len(), mibf(session), mibf(mem.Records), mibf(mem.Strings), mibf(mem.Side), mibf(model))
	f := hv.footprint()
	var snaps, sims int64
	for _, l := range hv.fl.snaps {
		for _, s := range l {
			snaps += 48 + int64(cap(s.objs)+cap(s.freed))*4
		}
	}
	for _, f := range hv.fl.head {
		sims += 100 + int64(len(f.next))*9
	}
	b.Logf("model: journal %.1f MiB, marks %.1f MiB, %d checkpoints %.1f MiB, head %.1f MiB, freelists kept %.1f MiB and followed %.1f MiB, lineage map %d entries",
		mibf(f.journal), mibf(f.marks), len(hv.ckpts), mibf(f.ckpts), mibf(f.head), mibf(snaps), mibf(sims), len(hv.lastLineage))
	b.ReportMetric(float64(session)/n, "session-B/event")
	b.ReportMetric(float64(model)/n, "model-B/event")
	b.ReportMetric(float64(session+model)/n, "B/event")
	runtime.KeepAlive(hv)
}

func mibf(n int64) float64 { return float64(n) / (1 << 20) }

package allocator

import (
	"runtime"
	"testing"
	"time"
)

var benchSizes = []uint64{8, 64, 96, 192, 512, 2048, 8192, 16384}

// BenchmarkKmallocKfree measures a kmalloc+kfree pair per size class, with
// events off and on, beside Go's own make([]byte, n) of the same size in
// the same run. 16384 bytes is a large kmalloc (buddy pages).
//
//	go test ./allocator -run '^$' -bench KmallocKfree -benchmem
func BenchmarkKmallocKfree(b *testing.B) {
	for _, size := range benchSizes {
		name := kmallocShortSize(size)
		for _, events := range []bool{false, true} {
			sub := name + "/kmalloc"
			if events {
				sub += "+events"
			}
			b.Run(sub, func(b *testing.B) {
				m := newTestMachine(b, Config{})
				var log *EventLog
				if events {
					log = &EventLog{}
					m.SetLog(log)
				}
				p, _ := m.Kmalloc(size, GFPKernel)
				m.Kfree(p)
				b.ReportAllocs()
				for b.Loop() {
					p, err := m.Kmalloc(size, GFPKernel)
					if err != nil {
						b.Fatal(err)
					}
					if err := m.Kfree(p); err != nil {
						b.Fatal(err)
					}
					if log != nil && log.Len() > 1<<14 {
						*log = EventLog{}
					}
				}
			})
		}
		b.Run(name+"/go-make", func(b *testing.B) {
			// Stored through a heap pointer so that it is a heap allocation,
			// as a kmalloc'd buffer handed around would be.
			box := new(struct{ b []byte })
			b.ReportAllocs()
			for b.Loop() {
				box.b = make([]byte, size)
			}
			runtime.KeepAlive(box)
		})
	}
}

// BenchmarkKmallocKfreeRecording measures a kmalloc and kfree pair with
// every event kept (the log is never reset, as a session keeps it), paired
// with Go's make([]byte, n) of the same size in the same run: the two
// loops alternate in chunks, so that both see the same machine. ns/op is
// the pair's, make-ns/op Go's, x-make their ratio; B/event is what the
// log holds per event at the end.
//
//	go test ./allocator -run '^$' -bench KmallocKfreeRecording -benchtime 2000000x -count 5
func BenchmarkKmallocKfreeRecording(b *testing.B) {
	for _, size := range []uint64{8, 64, 512, 4096, 8192} {
		b.Run(kmallocShortSize(size), func(b *testing.B) {
			m := newTestMachine(b, Config{})
			log := &EventLog{}
			m.SetLog(log)
			box := new(struct{ b []byte })
			var tk, tm time.Duration
			const chunk = 1024
			for done := 0; done < b.N; {
				n := min(chunk, b.N-done)
				t0 := time.Now()
				for range n {
					p, err := m.Kmalloc(size, GFPKernel)
					if err != nil {
						b.Fatal(err)
					}
					m.Kfree(p)
				}
				t1 := time.Now()
				for range n {
					box.b = make([]byte, size)
				}
				t2 := time.Now()
				tk, tm = tk+t1.Sub(t0), tm+t2.Sub(t1)
				done += n
			}
			runtime.KeepAlive(box)
			b.ReportMetric(float64(tk.Nanoseconds())/float64(b.N), "ns/op")
			b.ReportMetric(float64(tm.Nanoseconds())/float64(b.N), "make-ns/op")
			b.ReportMetric(float64(tk)/float64(tm), "x-make")
			b.ReportMetric(float64(log.Memory().Total())/float64(log.Len()), "B/event")
		})
	}
}

package allocator

import (
	"runtime"
	"testing"
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

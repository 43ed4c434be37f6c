package allocator

import (
	"fmt"
	"runtime"
	"testing"
)

// BenchmarkVmallocVfree measures vmalloc+vfree of 1, 4 and 64 pages with
// events off: the pages from the buddy allocator, one mmap per run of
// consecutive pfns, one mmap to put the reservation back, the lazy purge
// amortised. go-make is the baseline: a Go heap allocation of the same
// size in the same run.
func BenchmarkVmallocVfree(b *testing.B) {
	for _, pages := range []uint64{1, 4, 64} {
		b.Run(fmt.Sprintf("pages=%d/vmalloc", pages), func(b *testing.B) {
			m := newTestMachine(b, Config{})
			size := pages * m.PageSize()
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				p, err := m.Vmalloc(size, GFPKernel)
				if err != nil {
					b.Fatal(err)
				}
				if err := m.Vfree(p); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("pages=%d/go-make", pages), func(b *testing.B) {
			size := pages * DefaultPageSize
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				buf := make([]byte, size)
				runtime.KeepAlive(buf)
			}
		})
	}
}

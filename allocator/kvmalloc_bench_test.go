package allocator

import (
	"runtime"
	"testing"
)

// BenchmarkKvmallocKvfree measures kvmalloc+kvfree of 16 KiB with events
// off on both paths: on a fresh machine the kmalloc attempt succeeds (a
// large kmalloc, order 2 from the buddy allocator); on a machine with
// every other page free it fails and vmalloc maps 4 scattered pages (and
// kmallocs their pages[] array), the lazy purge amortised. go-make is the
// baseline: a Go heap allocation of the same size in the same run.
//
//	go test ./allocator -run '^$' -bench KvmallocKvfree -benchmem
func BenchmarkKvmallocKvfree(b *testing.B) {
	const size = 16 * KiB
	for _, fallback := range []bool{false, true} {
		name := "kmalloc-path"
		if fallback {
			name = "vmalloc-fallback"
		}
		b.Run(name, func(b *testing.B) {
			m := newTestMachine(b, Config{RAM: 16 * MiB})
			if fallback {
				fragment(b, m)
			}
			p, err := m.KVmalloc(size, GFPKernel)
			if err != nil || m.IsVmallocAddr(p) != fallback {
				b.Fatalf("kvmalloc(16 KiB) = %v, %v: not the path measured", p, err)
			}
			m.KVfree(p)
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				p, err := m.KVmalloc(size, GFPKernel)
				if err != nil {
					b.Fatal(err)
				}
				if err := m.KVfree(p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("go-make", func(b *testing.B) {
		box := new(struct{ b []byte })
		b.SetBytes(size)
		b.ReportAllocs()
		for b.Loop() {
			box.b = make([]byte, size)
		}
		runtime.KeepAlive(box)
	})
}

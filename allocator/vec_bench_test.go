package allocator

import (
	"fmt"
	"testing"
)

// BenchmarkVecPush pushes n uint64s onto a new Vec, one Push at a time, and
// drops it, on each allocator (events off), against append on a Go slice
// in the same run.
func BenchmarkVecPush(b *testing.B) {
	for _, n := range []int{1, 16, 1024, 65536} {
		for _, ac := range vecAllocators() {
			b.Run(fmt.Sprintf("n=%d/%s", n, ac.name), func(b *testing.B) {
				m := newTestMachine(b, Config{RAM: 16 * MiB})
				a := ac.new(m)
				b.ReportAllocs()
				for b.Loop() {
					v, err := NewVec[uint64](m, a)
					if err != nil {
						b.Fatal(err)
					}
					for i := range n {
						if err := v.Push(uint64(i), GFPKernel); err != nil {
							b.Fatal(err)
						}
					}
					v.Drop()
				}
			})
		}
		b.Run(fmt.Sprintf("n=%d/GoSlice", n), func(b *testing.B) {
			b.ReportAllocs()
			var sink []uint64
			for b.Loop() {
				var s []uint64
				for i := range n {
					s = append(s, uint64(i))
				}
				sink = s
			}
			_ = sink
		})
	}
}

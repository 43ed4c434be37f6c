package scripts

import (
	"fmt"
	"testing"

	"github.com/allocviz/allocviz/allocator"
	"go.starlark.net/starlark"
)

// BenchmarkStep measures a script's alloc_pages/free_pages pair against
// the same pair called directly on a machine with events on: the cost of
// the Starlark runtime and step bookkeeping per allocator call. Both keep
// every event, as a session does.
func BenchmarkStep(b *testing.B) {
	for _, order := range []int{0, 3} {
		b.Run(fmt.Sprintf("direct/order%d", order), func(b *testing.B) {
			m := benchMachine(b)
			defer m.Close()
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				m.BeginStep(2*i+1, "bench.star:3:9", "alloc_pages(o)")
				a, err := m.AllocPages(order, allocator.GFPKernel)
				if err != nil {
					b.Fatal(err)
				}
				m.BeginStep(2*i+2, "bench.star:4:5", "free_pages(p, o)")
				if err := m.FreePages(a, order); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("script/order%d", order), func(b *testing.B) {
			benchScript(b, Options{}, fmt.Sprintf("o = %d\nfor i in range(%d):\n    p = alloc_pages(o)\n    free_pages(p, o)\n", order, b.N))
		})
	}
}

// BenchmarkVmallocStep measures a script's vmalloc/write/vfree steps
// against the same calls made directly, events on in both: the cost of
// the runtime and of the access check per call. "guard" is a write that
// runs onto the guard page, so each iteration takes and recovers a real
// fault.
func BenchmarkVmallocStep(b *testing.B) {
	for _, tc := range []struct {
		name string
		off  uint64 // where the 8-byte write starts, in bytes from p
	}{{"inside", 0}, {"guard", 4*4096 - 4}} {
		b.Run("direct/"+tc.name, func(b *testing.B) {
			m := benchMachine(b)
			defer m.Close()
			data := []byte("ABCDEFGH")
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				m.BeginStep(3*i+1, "bench.star:2:9", "vmalloc(4 * 4096)")
				p, err := m.Vmalloc(4*4096, allocator.GFPKernel)
				if err != nil {
					b.Fatal(err)
				}
				m.BeginStep(3*i+2, "bench.star:3:5", "write(p, off, data)")
				if err := m.WriteAt(p+allocator.Addr(tc.off), data); (err != nil) != (tc.off > 0) {
					b.Fatal(err)
				}
				m.BeginStep(3*i+3, "bench.star:4:5", "vfree(p)")
				if err := m.Vfree(p); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("script/"+tc.name, func(b *testing.B) {
			benchScript(b, Options{}, fmt.Sprintf("for i in range(%d):\n    p = vmalloc(4 * 4096)\n    write(p, %d, \"ABCDEFGH\")\n    vfree(p)\n", b.N, tc.off))
		})
	}
}

// BenchmarkKmallocStep measures a script's kmalloc/kfree pair against the
// same pair called directly, events on in both: the cost of the runtime,
// of the Pointer (its cache and ksize looked up) and of the stale-pointer
// check per call.
func BenchmarkKmallocStep(b *testing.B) {
	for _, size := range []uint64{64, 3000} {
		b.Run(fmt.Sprintf("direct/%d", size), func(b *testing.B) {
			m := benchMachine(b)
			defer m.Close()
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				m.BeginStep(2*i+1, "bench.star:2:9", "kmalloc(n)")
				p, err := m.Kmalloc(size, allocator.GFPKernel)
				if err != nil {
					b.Fatal(err)
				}
				m.BeginStep(2*i+2, "bench.star:3:5", "kfree(p)")
				if err := m.Kfree(p); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("script/%d", size), func(b *testing.B) {
			benchScript(b, Options{}, fmt.Sprintf("for i in range(%d):\n    p = kmalloc(%d)\n    kfree(p)\n", b.N, size))
		})
	}
}

// BenchmarkKvecStep measures a script's v.push(i)/v.pop() steps on a
// kvec(8) against the same calls made directly on a RawVec, events on in
// both: the cost of the runtime, the method lookup and the pointer
// bookkeeping per Vec operation. The vector grows once, then works within
// its capacity.
func BenchmarkKvecStep(b *testing.B) {
	b.Run("direct", func(b *testing.B) {
		m := benchMachine(b)
		defer m.Close()
		v, err := allocator.NewRawVec(m, allocator.Kmalloc{M: m}, allocator.Layout{Size: 8, Align: 8}, "u64")
		if err != nil {
			b.Fatal(err)
		}
		x := make([]byte, 8)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			m.BeginStep(2*i+1, "bench.star:3:5", "v.push(i)")
			if err := v.Push(x, allocator.GFPKernel); err != nil {
				b.Fatal(err)
			}
			m.BeginStep(2*i+2, "bench.star:4:5", "v.pop()")
			if _, ok := v.Pop(); !ok {
				b.Fatal("pop of a pushed element failed")
			}
		}
	})
	b.Run("script", func(b *testing.B) {
		benchScript(b, Options{MaxSteps: 2*b.N + 2}, fmt.Sprintf("v = kvec(8)\nfor i in range(%d):\n    v.push(i)\n    v.pop()\n", b.N))
	})
}

// benchMachine is a machine that keeps every event, as a session's does,
// for a benchmark's direct calls. The caller closes it.
func benchMachine(b *testing.B) *allocator.Machine {
	b.Helper()
	m, err := allocator.NewMachine(allocator.Config{})
	if err != nil {
		b.Fatal(err)
	}
	m.SetLog(&allocator.EventLog{})
	return m
}

// benchScript times one run of src as bench.star in a new session of
// opts.
func benchScript(b *testing.B, opts Options, src string) {
	b.Helper()
	s, err := New(opts)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.ReportAllocs()
	b.ResetTimer()
	if err := s.RunFile("bench.star", []byte(src)); err != nil {
		b.Fatal(err)
	}
}

// guardWork is pure Starlark of the kind scenarios do between steps:
// arithmetic, string formatting and joining, list building, max, join.
const guardWork = `
def work(n):
    total = 0
    xs = []
    for i in range(n):
        total = total + i * 3 %% 7
        xs.append("%%d:%%s" %% (i, "x" * (i %% 5)) + "!")
    return len(",".join(xs)) + max([len(x) for x in xs]) + total
work(%d)
`

// BenchmarkGuards measures what the limits cost pure computation: the
// same Starlark run by a session (guarded builtins and operators, the
// heap watchdog) and by plain Starlark with its own builtins, per loop
// iteration.
func BenchmarkGuards(b *testing.B) {
	b.Run("starlark", func(b *testing.B) {
		th := &starlark.Thread{Name: "bench"}
		b.ReportAllocs()
		b.ResetTimer()
		if _, err := starlark.ExecFileOptions(dialect(), th, "bench.star", fmt.Sprintf(guardWork, b.N), nil); err != nil {
			b.Fatal(err)
		}
	})
	b.Run("session", func(b *testing.B) {
		benchScript(b, Options{MaxSteps: MaxStepsLimit}, fmt.Sprintf(guardWork, b.N))
	})
}

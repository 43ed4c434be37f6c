package ktrace

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/allocviz/allocviz/allocator"
)

// benchTrace is the 6.18 capture lengthened (or cut) to n lines.
func benchTrace(b *testing.B, n int) []byte {
	b.Helper()
	text, err := Decode(readTestdata(b, capture65k))
	if err != nil {
		b.Fatal(err)
	}
	return Lengthen(text, n)
}

// BenchmarkParse reads a 6.18 trace of 70,000 and of 1,000,000 lines;
// the baseline is splitting the same text into lines (bytes.Lines), the
// least any reader does.
func BenchmarkParse(b *testing.B) {
	for _, n := range []int{70_000, 1_000_000} {
		text := benchTrace(b, n)
		b.Run(fmt.Sprintf("lines=%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				if _, err := Parse("bench", text); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("baseline-split-lines=%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				k := 0
				for range bytes.Lines(text) {
					k++
				}
				if k != n {
					b.Fatalf("%d lines", k)
				}
			}
		})
	}
}

// BenchmarkAnalyze is allocviz trace stats: parse, plan, and replay on
// the machine with recording off.
func BenchmarkAnalyze(b *testing.B) {
	for _, n := range []int{70_000, 1_000_000} {
		text := benchTrace(b, n)
		b.Run(fmt.Sprintf("lines=%d", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := Analyze("bench", bytes.NewReader(text), allocator.Config{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

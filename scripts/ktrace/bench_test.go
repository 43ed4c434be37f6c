package ktrace

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
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

// benchFile writes data to a file of its own and returns its path.
func benchFile(b *testing.B, name string, data []byte) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.Fatal(err)
	}
	return path
}

// parseFile parses the trace in the file at path as allocviz run and
// trace stats do: read from the file as a stream.
func parseFile(b *testing.B, path string) *Trace {
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	t, err := ParseContext(context.Background(), path, f, MaxBytes)
	if err != nil {
		b.Fatal(err)
	}
	return t
}

// BenchmarkParse reads a 6.18 trace of 70,000 and of 1,000,000 lines:
// its text in memory (Parse), and its file, plain and gzipped, read as a
// stream as allocviz run and trace stats read it. The baselines are the
// gzipped file read whole, decompressed whole and then parsed, as allocviz
// read traces before (-benchmem tells the memory apart), and splitting
// the text in memory into lines (bytes.Lines) and reading the plain file
// line by line (bufio), the least any reader does.
func BenchmarkParse(b *testing.B) {
	for _, n := range []int{70_000, 1_000_000} {
		text := benchTrace(b, n)
		plain := benchFile(b, "trace.txt", text)
		var gz bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&gz, gzip.DefaultCompression)
		zw.Write(text)
		zw.Close()
		gzipped := benchFile(b, "trace.txt.gz", gz.Bytes())
		b.Run(fmt.Sprintf("lines=%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				if _, err := Parse("bench", text); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("file-lines=%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				parseFile(b, plain)
			}
		})
		b.Run(fmt.Sprintf("gzip-file-lines=%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				parseFile(b, gzipped)
			}
		})
		b.Run(fmt.Sprintf("baseline-whole-file-lines=%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				data, err := os.ReadFile(gzipped)
				if err != nil {
					b.Fatal(err)
				}
				whole, err := Decode(data)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := Parse(gzipped, whole); err != nil {
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
		b.Run(fmt.Sprintf("baseline-read-file-lines=%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				f, err := os.Open(plain)
				if err != nil {
					b.Fatal(err)
				}
				br := bufio.NewReaderSize(f, readBuffer)
				k := 0
				for {
					_, err := br.ReadSlice('\n')
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					k++
				}
				f.Close()
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

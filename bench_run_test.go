package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/allocviz/allocviz/scripts/ktrace"
)

// BenchmarkRunMillion runs a script of a million steps (kmalloc(64) and
// kfree, three events each) through allocviz run, its output discarded:
// the scripts runtime, the allocators with every event recorded, and the
// one line per step that run prints (run), or the JSON object per event
// that run --json prints (json).
func BenchmarkRunMillion(b *testing.B) {
	path := filepath.Join(b.TempDir(), "million.star")
	src := "for i in range(500000):\n    p = kmalloc(64)\n    kfree(p)\n"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		args []string
	}{{"run", []string{"run", path}}, {"json", []string{"run", "--json", path}}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if code := cli(c.args, io.Discard, io.Discard); code != exitOK {
					b.Fatalf("exit %d", code)
				}
			}
		})
	}
}

// BenchmarkRunTrace runs allocviz run on the 6.18 capture in testdata
// lengthened to 70,000 and 1,000,000 lines (its event lines repeated),
// output discarded: parse, plan, the replay with every event recorded,
// and the line per step run prints.
func BenchmarkRunTrace(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("testdata", "ftrace-kmem-6.18-ls-lR-python3.txt.gz"))
	if err != nil {
		b.Fatal(err)
	}
	text, err := ktrace.Decode(data)
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{70_000, 1_000_000} {
		path := filepath.Join(b.TempDir(), fmt.Sprintf("trace-%d.txt", n))
		if err := os.WriteFile(path, ktrace.Lengthen(text, n), 0o644); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("lines=%d", n), func(b *testing.B) {
			for b.Loop() {
				if code := cli([]string{"run", path}, io.Discard, io.Discard); code != exitOK {
					b.Fatalf("exit %d", code)
				}
			}
		})
	}
}

package main

import (
	"io"
	"os"
	"path/filepath"
	"testing"
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

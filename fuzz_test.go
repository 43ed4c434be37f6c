package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/allocviz/allocviz/scripts"
)

// FuzzRun runs whole scripts with allocviz run, on a small machine with
// tight limits: whatever the script, the run ends with status 0, 1 or 2
// within its time limit, with no panic (a panic in a builtin would be
// reported as an internal error, which fails the target too). The seed
// corpus is the bundled scenarios and the inputs that used to take
// allocviz down. .ci/run fuzzes it for a while; go test runs the seeds.
func FuzzRun(f *testing.F) {
	all, err := scripts.Scenarios()
	if err != nil {
		f.Fatal(err)
	}
	for _, sc := range all {
		f.Add(sc.Src)
	}
	for _, in := range runawayInputs {
		f.Add([]byte(in.src))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, src []byte) {
		path := filepath.Join(dir, "fuzz.star")
		if err := os.WriteFile(path, src, 0o644); err != nil {
			t.Fatal(err)
		}
		var stdout, stderr strings.Builder
		start := time.Now()
		// A run that hangs would hang the fuzzer, which has no time
		// limit of its own: crash instead, with the input.
		hang := time.AfterFunc(10*time.Second, func() {
			panic(fmt.Sprintf("allocviz run did not end 10s into a run limited to 2s; the script:\n%q", src))
		})
		defer hang.Stop()
		code := cli([]string{"run", path, "--ram", "16M", "--max-steps", "2000", "--max-memory", "128M", "--timeout", "2s"}, &stdout, &stderr)
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("the run took %v, past its 2s limit", d)
		}
		if code != exitOK && code != exitCheckFailed && code != exitError {
			t.Errorf("exit status %d", code)
		}
		if strings.Contains(stderr.String(), "internal error") || strings.Contains(stderr.String(), "goroutine ") {
			t.Errorf("a panic: %s", stderr.String())
		}
	})
}

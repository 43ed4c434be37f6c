package allocator

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// testdataDir holds the real kernel output the tests compare against
// (testdata/README.md names where each file came from).
const testdataDir = "../testdata"

// readTestdata returns the bytes of testdata/name; a missing file fails
// the test.
func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testdataDir, name))
	if err != nil {
		t.Fatalf("real kernel output: %v", err)
	}
	return data
}

// testdataFiles returns the names of the testdata files matching pattern
// (e.g. "buddyinfo-*.txt"); finding none fails the test.
func testdataFiles(t *testing.T, pattern string) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(testdataDir, pattern))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatalf("no %s in %s", pattern, testdataDir)
	}
	names := make([]string, len(paths))
	for i, p := range paths {
		names[i] = filepath.Base(p)
	}
	return names
}

// TestTestdataOriginsRecorded checks that testdata/README.md and the
// folder agree: every file of real kernel output has its origin written
// down, and every file the README names is there (the tests that glob
// testdata would otherwise pass with one of their files gone).
func TestTestdataOriginsRecorded(t *testing.T) {
	readme := string(readTestdata(t, "README.md"))
	present := make(map[string]bool)
	for _, name := range testdataFiles(t, "*.txt") {
		present[name] = true
		if !strings.Contains(readme, "`"+name+"`") {
			t.Errorf("testdata/README.md does not say where %s came from", name)
		}
	}
	named := regexp.MustCompile("`([^`/]+\\.txt)`").FindAllStringSubmatch(readme, -1)
	if len(named) == 0 {
		t.Fatal("testdata/README.md names no files")
	}
	for _, m := range named {
		if !present[m[1]] {
			t.Errorf("testdata/README.md names %s, which is missing", m[1])
		}
	}
}

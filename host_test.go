package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHostOnRealFiles compares the slabinfo of real machines (2 and 4
// CPUs, kernels 4.18 to 6.x) with allocviz's caches: every cache agrees.
func TestHostOnRealFiles(t *testing.T) {
	for _, tc := range []struct {
		name, cpus    string
		kmalloc, rest string
	}{
		{"rhcos-4.18-el8", "2", "26 agree, 0 differ; 26 allocviz has that the host does not", "116 agree, 0 differ"},
		{"chromeos-n100-6.6", "4", "39 agree, 0 differ; 13 allocviz has that the host does not", "132 agree, 0 differ"},
		{"laptop-i915-frodoweb", "4", "52 agree, 0 differ; 0 allocviz has that the host does not", "283 agree, 0 differ"},
	} {
		code, out, errOut := runCLI(t, "host", "--slabinfo", "testdata/slabinfo-"+tc.name+".txt",
			"--buddyinfo", "testdata/buddyinfo-"+tc.name+".txt", "--cpus", tc.cpus, "--page-size", "4096")
		if code != exitOK || errOut != "" || !strings.Contains(out, tc.kmalloc) || !strings.Contains(out, tc.rest) ||
			!strings.Contains(out, "  host      Node 0, zone   Normal") || !strings.Contains(out, "  allocviz  Node 0, zone      DMA ") || !strings.Contains(out, "  allocviz  Node 0, zone    DMA32 ") {
			t.Errorf("%s: exit %d, stderr %q\n%s", tc.name, code, errOut, out)
		}
	}
	code, out, _ := runCLI(t, "host", "--slabinfo", "testdata/slabinfo-chromeos-n100-6.6.txt", "--cpus", "4", "--page-size", "4096", "--all")
	if code != exitOK || !strings.Contains(out, "kmalloc-64") || !strings.Contains(out, "64 B x 64 in 1") || !strings.Contains(out, " agree\n") {
		t.Errorf("--all: exit %d\n%s", code, out)
	}
}

// TestHostDiffers names the caches whose geometry differs, exits 1, and
// reports files it cannot read.
func TestHostDiffers(t *testing.T) {
	real, err := os.ReadFile("testdata/slabinfo-chromeos-n100-6.6.txt")
	if err != nil {
		t.Fatal(err)
	}
	// The same file as read on a machine of 64 CPUs: calculate_order
	// wants more objects per slab there.
	path := filepath.Join(t.TempDir(), "slabinfo")
	if err := os.WriteFile(path, real, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ := runCLI(t, "host", "--slabinfo", path, "--cpus", "64", "--page-size", "4096")
	if code != exitCheckFailed || !strings.Contains(out, "kmalloc-256") || !strings.Contains(out, "DIFFER") {
		t.Errorf("64 cpus: exit %d\n%s", code, out)
	}
	if code, _, errOut := runCLI(t, "host", "--slabinfo", "testdata/no-such-file", "--cpus", "2"); code != exitError || !strings.Contains(errOut, "no-such-file") {
		t.Errorf("a missing file: exit %d, %q", code, errOut)
	}
	if code, _, errOut := runCLI(t, "host", "--slabinfo", "testdata/buddyinfo-rhcos-4.18-el8.txt", "--cpus", "2"); code != exitError || !strings.Contains(errOut, "not a slabinfo 2.1 row") {
		t.Errorf("not a slabinfo: exit %d, %q", code, errOut)
	}
}

// TestHostOnThisMachine prints the comparison for the running kernel
// when /proc/slabinfo can be read (it is root's).
func TestHostOnThisMachine(t *testing.T) {
	if _, err := os.ReadFile("/proc/slabinfo"); err != nil {
		t.Skipf("this machine's /proc/slabinfo: %v", err)
	}
	code, out, errOut := runCLI(t, "host")
	if code == exitError || !strings.Contains(out, "kmalloc caches") || !strings.Contains(out, "other caches") {
		t.Fatalf("exit %d, stderr %q\n%s", code, errOut, out)
	}
	t.Log(strings.SplitN(out, "\n\n", 2)[0])
}

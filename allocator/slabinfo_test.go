package allocator

import (
	"bufio"
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// realSlabinfo is one of testdata/slabinfo-*.txt with the CPU count of
// the machine it came from.
type realSlabinfo struct {
	file string
	cpus int
}

var realSlabinfos = []realSlabinfo{
	{"slabinfo-rhcos-4.18-el8.txt", 2},
	{"slabinfo-chromeos-n100-6.6.txt", 4},
	{"slabinfo-laptop-i915-frodoweb.txt", 4},
}

func readRealSlabinfo(t *testing.T, name string) []string {
	t.Helper()
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(readTestdata(t, name)))
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

func parseSlabinfoLine(t *testing.T, line string) SlabinfoRow {
	t.Helper()
	r, err := ParseSlabinfoLine(line)
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(line)
	if f[8] != "0" || f[9] != "0" || f[10] != "0" || f[13] != f[14] || f[15] != "0" {
		t.Fatalf("%q: SLUB prints zero tunables and equal active and total slabs", line)
	}
	return r
}

// TestSlabinfoFormatMatchesKernel formats every line of the real files
// from its own numbers and expects the kernel's bytes back.
func TestSlabinfoFormatMatchesKernel(t *testing.T) {
	m := newTestMachine(t, Config{})
	header := strings.SplitAfter(m.Slabinfo(), "\n")
	for _, rs := range realSlabinfos {
		lines := readRealSlabinfo(t, rs.file)
		if lines[0]+"\n" != header[0] || lines[1]+"\n" != header[1] {
			t.Errorf("%s: header differs:\n got %q%q\nwant %q\n%q", rs.file, header[0], header[1], lines[0], lines[1])
		}
		for _, line := range lines[2:] {
			if got := parseSlabinfoLine(t, line).String(); got != line+"\n" {
				t.Errorf("%s:\n got %q\nwant %q", rs.file, got, line)
			}
		}
	}
}

// kernelName maps a 4.18 name (kmalloc-8192) to the 6.x spelling.
func kernelName(name string) string {
	re := regexp.MustCompile(`^(.*kmalloc-(?:rcl-|cg-)?)(\d+)$`)
	mm := re.FindStringSubmatch(name)
	if mm == nil {
		return name
	}
	n, _ := strconv.ParseUint(mm[2], 10, 64)
	return mm[1] + kmallocShortSize(n)
}

// TestSlabinfoKmallocRowsMatchRealMachines boots a machine with each real
// file's CPU count and compares objsize, objperslab and pagesperslab of
// every kmalloc row the file has (calculate_order()'s 2-7 CPU row).
func TestSlabinfoKmallocRowsMatchRealMachines(t *testing.T) {
	for _, rs := range realSlabinfos {
		m := newTestMachine(t, Config{CPUs: rs.cpus})
		ours := make(map[string]SlabinfoRow)
		for _, r := range m.SlabinfoRows() {
			ours[r.Name] = r
		}
		seen := 0
		for _, line := range readRealSlabinfo(t, rs.file)[2:] {
			real := parseSlabinfoLine(t, line)
			if !strings.Contains(real.Name, "kmalloc-") {
				continue
			}
			name := kernelName(real.Name)
			our, ok := ours[name]
			if !ok {
				t.Errorf("%s: allocviz has no %s", rs.file, name)
				continue
			}
			seen++
			if our.ObjSize != real.ObjSize || our.ObjPerSlab != real.ObjPerSlab || our.PagesPerSlab != real.PagesPerSlab {
				t.Errorf("%s %d cpus: %s is %d %d/%d, the real machine %d %d/%d", rs.file, rs.cpus, name,
					our.ObjSize, our.ObjPerSlab, our.PagesPerSlab, real.ObjSize, real.ObjPerSlab, real.PagesPerSlab)
			}
		}
		if seen < 26 {
			t.Errorf("%s: compared only %d kmalloc rows", rs.file, seen)
		}
	}
}

// TestSlabinfoEveryCacheNewestFirst checks the list: every cache, empty
// ones too, newest first, the kmalloc caches of the laptop file's 6.x
// kernel in the same order.
func TestSlabinfoEveryCacheNewestFirst(t *testing.T) {
	m := newTestMachine(t, Config{})
	if _, err := m.KmemCacheCreate("my_cache", 100, 0, 0); err != nil {
		t.Fatal(err)
	}
	rows := m.SlabinfoRows()
	if len(rows) != 4*13+1 || rows[0].Name != "my_cache" {
		t.Fatalf("%d rows, first %q; want 53 with my_cache first", len(rows), rows[0].Name)
	}
	var ours []string
	for _, r := range rows[1:] {
		ours = append(ours, r.Name)
	}
	var real []string
	for _, line := range readRealSlabinfo(t, "slabinfo-laptop-i915-frodoweb.txt")[2:] {
		if name := strings.Fields(line)[0]; strings.Contains(name, "kmalloc-") {
			real = append(real, name)
		}
	}
	// The laptop's kernel merged kmalloc-96/192 and dma-kmalloc-192/96
	// positions as the 6.10+ create_kmalloc_caches() creates them; it
	// lacks rows that slab merging aliased away, so compare the order of
	// the names both lists have.
	pos := make(map[string]int)
	for i, n := range ours {
		pos[n] = i
	}
	last := -1
	for _, n := range real {
		i, ok := pos[n]
		if !ok {
			t.Errorf("allocviz lacks %s", n)
			continue
		}
		if i < last {
			t.Errorf("%s comes before the cache listed ahead of it in the real file", n)
		}
		last = i
	}
}

// TestSlabinfoActiveObjs checks SLUB's counting: free objects on a CPU's
// slab are active; only free objects on node partial slabs are not.
func TestSlabinfoActiveObjs(t *testing.T) {
	m := newTestMachine(t, Config{})
	row := func() SlabinfoRow {
		for _, r := range m.SlabinfoRows() {
			if r.Name == "kmalloc-64" {
				return r
			}
		}
		t.Fatal("no kmalloc-64")
		return SlabinfoRow{}
	}
	var ps []Addr
	for i := 0; i < 70; i++ {
		p, _ := m.Kmalloc(64, GFPKernel)
		ps = append(ps, p)
	}
	// Slab 1 is full (no list), slab 2 is the cpu slab with 58 free.
	if r := row(); r.ActiveObjs != 128 || r.NumObjs != 128 || r.Slabs != 2 {
		t.Errorf("70 objects: %+v, want active 128 of 128 in 2 slabs (the cpu slab's free objects count as active)", r)
	}
	// flush_all (via validate) puts the cpu slab on the node partial list.
	if _, err := m.ValidateSlabCache(m.Cache("kmalloc-64")); err != nil {
		t.Fatal(err)
	}
	if r := row(); r.ActiveObjs != 70 || r.NumObjs != 128 {
		t.Errorf("after the flush: %+v, want active 70 of 128", r)
	}
	for _, p := range ps {
		m.Kfree(p)
	}
	// The full slab got an object back and went to cpu 0's partial list,
	// where its free objects still count as active; the node partial slab
	// emptied and is kept (fewer than min_partial partial slabs).
	if r := row(); r.ActiveObjs != 64 || r.NumObjs != 128 {
		t.Errorf("all freed: %+v, want active 64 of 128", r)
	}
	if err := m.CheckSlub(); err != nil {
		t.Fatal(err)
	}
}

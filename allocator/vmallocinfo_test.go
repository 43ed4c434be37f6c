package allocator

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The shape of a vmalloc line and of an unpurged line of /proc/vmallocinfo:
// "0x%pK-0x%pK %7ld", then " %pS pages=%d vmalloc[ vpages] N0=%u" (%pS
// adds " [module]" for a caller in a module), or " unpurged vm_area".
// VM_ALLOC areas with no pages (per-CPU chunks) print no pages= and no N0=.
var (
	vmallocLine  = regexp.MustCompile(`^0x([0-9a-f]{16})-0x([0-9a-f]{16}) ([ \d]{6}\d|\d{8,}) (\S+(?: \[\w+\])?) pages=(\d+) vmalloc( vpages)? N0=(\d+)$`)
	noPagesLine  = regexp.MustCompile(`^0x[0-9a-f]{16}-0x[0-9a-f]{16} ([ \d]{6}\d|\d{8,}) \S+ vmalloc$`)
	unpurgedLine = regexp.MustCompile(`^0x([0-9a-f]{16})-0x([0-9a-f]{16}) ([ \d]{6}\d|\d{8,}) unpurged vm_area$`)
)

// checkVmallocLine checks one vmalloc line's numbers: the size includes
// one guard page, and the node counts add up to the pages. With real
// addresses (not hashed), end - start is the size.
func checkVmallocLine(t *testing.T, where, line string, pageSize uint64, realAddrs bool) {
	t.Helper()
	f := vmallocLine.FindStringSubmatch(line)
	if f == nil {
		t.Errorf("%s: %q does not have the kernel's shape", where, line)
		return
	}
	start, _ := strconv.ParseUint(f[1], 16, 64)
	end, _ := strconv.ParseUint(f[2], 16, 64)
	size, _ := strconv.ParseUint(strings.TrimSpace(f[3]), 10, 64)
	pages, _ := strconv.ParseUint(f[5], 10, 64)
	n0, _ := strconv.ParseUint(f[7], 10, 64)
	if size != (pages+1)*pageSize {
		t.Errorf("%s: %q: size %d is not pages=%d plus a guard page", where, line, size, pages)
	}
	if n0 != pages {
		t.Errorf("%s: %q: N0=%d but pages=%d", where, line, n0, pages)
	}
	if (f[6] != "") != (pages*8 > pageSize) {
		t.Errorf("%s: %q: vpages must appear exactly when the pages[] array (%d bytes) exceeds a page", where, line, pages*8)
	}
	if realAddrs && end-start != size {
		t.Errorf("%s: %q: end - start = %d, size %d", where, line, end-start, size)
	}
}

func TestVmallocinfoFormatMatchesKernel(t *testing.T) {
	files := testdataFiles(t, "vmallocinfo-*.txt")
	// The real captures: every vmalloc and unpurged line has the shape
	// and the numbers the model relies on.
	for _, f := range files {
		data := readTestdata(t, f)
		hashed := strings.Contains(f, "rhcos") // %pK hashed for a non-root reader
		nv, nu := 0, 0
		for _, line := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
			switch {
			case strings.HasSuffix(line, "unpurged vm_area"):
				nu++
				if !unpurgedLine.MatchString(line) {
					t.Errorf("%s: %q", f, line)
				}
			case strings.Contains(line, " vmalloc") && !strings.Contains(line, "pages="):
				if !noPagesLine.MatchString(line) {
					t.Errorf("%s: %q", f, line)
				}
			case strings.Contains(line, " vmalloc"):
				nv++
				checkVmallocLine(t, f, line, 4096, !hashed)
			}
		}
		if nv == 0 {
			t.Errorf("%s: no vmalloc lines", f)
		}
		t.Logf("%s: %d vmalloc lines, %d unpurged", f, nv, nu)
	}

	// Ours, after a mix of sizes, a vpages area and some frees.
	m, _ := newVmTestMachine(t, Config{})
	var ps []Addr
	for _, size := range []uint64{1, 4096, 5000, 16384, 100000, 513 * 4096, 3, 70000, 12288} {
		p, err := m.Vmalloc(size, GFPKernel)
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	m.Vfree(ps[1])
	m.Vfree(ps[4])
	out := m.Vmallocinfo()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != len(m.Areas())+2 {
		t.Fatalf("%d lines for %d areas and 2 freed:\n%s", len(lines), len(m.Areas()), out)
	}
	for _, line := range lines {
		if strings.HasSuffix(line, "unpurged vm_area") {
			f := unpurgedLine.FindStringSubmatch(line)
			if f == nil {
				t.Errorf("ours: %q", line)
				continue
			}
			start, _ := strconv.ParseUint(f[1], 16, 64)
			end, _ := strconv.ParseUint(f[2], 16, 64)
			if size, _ := strconv.ParseUint(strings.TrimSpace(f[3]), 10, 64); end-start != size {
				t.Errorf("ours: %q: end - start != size", line)
			}
			continue
		}
		checkVmallocLine(t, "ours", line, m.PageSize(), true)
	}
}

func TestVmallocinfoExact(t *testing.T) {
	m, _ := newVmTestMachine(t, Config{CPUs: 1})
	p, _ := m.Vmalloc(4096, GFPKernel)
	m.Vmalloc(10000, GFPKernel)
	m.Vfree(p)
	want := "" +
		"0xffffc90000002000-0xffffc90000006000   16384 vmalloc pages=3 vmalloc N0=3\n" +
		"0xffffc90000000000-0xffffc90000002000    8192 unpurged vm_area\n"
	if got := m.Vmallocinfo(); got != want {
		t.Errorf("Vmallocinfo:\n%s\nwant:\n%s", got, want)
	}
}

// TestVmallocinfoGroupsByVmapNode checks the 6.9+ order: vmap node by
// node, each node's areas in address order, with an area's node being
// (start / 16 pages) % nr_vmap_nodes. The real laptop capture (4 CPUs)
// shows it: its first block is all node-0 areas, jumping from one 64 KiB
// zone to the one 4 zones on.
func TestVmallocinfoGroupsByVmapNode(t *testing.T) {
	data := readTestdata(t, "vmallocinfo-laptop-i915-frodoweb-excerpt.txt")
	lines := strings.Split(string(data), "\n")[1:] // the first line is the author's header
	for _, line := range lines {
		if line == "..." {
			break
		}
		start, err := strconv.ParseUint(line[2:18], 16, 64)
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if node := start / (16 * 4096) % 4; node != 0 {
			t.Errorf("real capture: %q is in vmap node %d, yet listed among node 0's", line, node)
		}
	}
	m, _ := newVmTestMachine(t, Config{CPUs: 4})
	for i := 0; i < 40; i++ {
		if _, err := m.Vmalloc(uint64(1+i%5)*m.PageSize(), GFPKernel); err != nil {
			t.Fatal(err)
		}
	}
	areas := m.Areas()
	zone := 16 * m.PageSize()
	node := func(a AreaInfo) uint64 { return uint64(a.Start-VmallocStart) / zone % 4 }
	slices.SortStableFunc(areas, func(a, b AreaInfo) int { return cmp.Compare(node(a), node(b)) })
	var want strings.Builder
	for _, a := range areas {
		fmt.Fprintf(&want, "0x%016x-", uint64(a.Start))
	}
	var got strings.Builder
	for _, line := range strings.Split(strings.TrimSuffix(m.Vmallocinfo(), "\n"), "\n") {
		got.WriteString(line[:19])
	}
	if got.String() != want.String() {
		t.Errorf("order of areas:\n got %s\nwant %s", got.String(), want.String())
	}
	if node(areas[0]) == node(areas[len(areas)-1]) {
		t.Error("40 areas did not reach more than one vmap node; the test shows nothing")
	}
}

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

// psCaller is the shape %pS gives a caller in kernel text:
// "function+0xoffset/0xsize", one token (" [module]" follows it for a
// module's text).
// An address in no symbol prints as the address.
var (
	psCaller  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.]*\+0x[0-9a-f]+/0x[0-9a-f]+$`)
	rawCaller = regexp.MustCompile(`^0x[0-9a-f]{16}$`)
)

// TestVmallocinfoCallerShape: the caller field of every vmalloc line of
// the real captures has %pS's shape, and so does allocviz's for an area a
// script's line or a trace's line made: the file as the function, the
// line as the offset, the file's last line as the size. Callers inside
// allocviz's own kernel code are the kernel function that makes the call.
func TestVmallocinfoCallerShape(t *testing.T) {
	for _, f := range testdataFiles(t, "vmallocinfo-*.txt") {
		n := 0
		for _, line := range strings.Split(string(readTestdata(t, f)), "\n") {
			if m := vmallocLine.FindStringSubmatch(line); m != nil {
				n++
				caller, _, _ := strings.Cut(m[4], " [") // " [module]"
				if !psCaller.MatchString(caller) && !rawCaller.MatchString(caller) {
					t.Errorf("%s: caller %q of %q does not have the shape the test expects", f, m[4], line)
				}
			}
		}
		if n == 0 {
			t.Errorf("%s: no vmalloc lines", f)
		}
	}

	m, log := newVmTestMachine(t, Config{RAM: 64 << 20})
	m.SetSourceLines("scenarios/kvec-growth.star", 92)
	must := func(a Addr, err error) Addr {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	m.BeginStep(1, "scenarios/kvec-growth.star:26:5", "vmalloc(10000)")
	script := must(m.Vmalloc(10000, GFPKernel))
	m.SetSourceLines("<prompt>", 3)
	m.BeginStep(2, "<prompt>:3:1", "kvmalloc(8 << 20)")
	prompt := must(m.KVmalloc(8<<20, GFPKernel)) // above KMALLOC_MAX_SIZE: vmalloc
	m.SetSourceLines("ls.trace.gz", 1_000_000)
	m.BeginTraceStep(3, &TraceLine{File: "ls.trace.gz", Line: 654_321}, "vmalloc")
	trace := must(m.Vrealloc(0, 5000, GFPKernel))
	m.BeginStep(4, "scenarios/kvec-growth.star:30:1", "kvrealloc(p, 1 << 20)")
	kv := must(m.KVrealloc(script, 1<<20, GFPKernel)) // outgrows its pages: moves
	m.BeginStep(5, "scenarios/kvec-growth.star:31:1", "v.push(x)")
	rust, err := Vmalloc{M: m}.Alloc(Layout{Size: 100, Align: 8}, GFPKernel)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		a          Addr
		caller, fn string
	}{
		{prompt, "prompt+0x3/0x3", "kvmalloc"},
		{trace, "ls_trace_gz+0x9fbf1/0xf4240", "vrealloc"},
		{kv, "kvrealloc_node_align_noprof", "kvrealloc"},
		{rust.Addr, "rust_helper_vrealloc_node_align", "<Vmalloc as Allocator>::realloc"},
	} {
		a, ok := m.AreaOf(c.a)
		if !ok || a.Caller != c.caller || a.Func != c.fn {
			t.Errorf("area %v: caller %q func %q, want %q %q", c.a, a.Caller, a.Func, c.caller, c.fn)
		}
		var ev Event
		for i := log.Len() - 1; i >= 0; i-- {
			if e := log.At(i); e.Kind() == EvVmapAlloc && e.Addr() == c.a {
				ev = e
				break
			}
		}
		if ev.Src() != c.caller || ev.Op() != c.fn {
			t.Errorf("area %v: event src %q op %q, want %q %q", c.a, ev.Src(), ev.Op(), c.caller, c.fn)
		}
	}
	// The area the script's line made, before kvrealloc moved it.
	var first Event
	for i := 0; i < log.Len(); i++ {
		if e := log.At(i); e.Kind() == EvVmapAlloc && e.Addr() == script {
			first = e
			break
		}
	}
	if first.Src() != "kvec_growth_star+0x1a/0x5c" || first.Op() != "vmalloc" {
		t.Errorf("the script's area: src %q op %q, want kvec_growth_star+0x1a/0x5c (line 26 of 92) and vmalloc", first.Src(), first.Op())
	}
	for _, line := range strings.Split(strings.TrimSuffix(m.Vmallocinfo(), "\n"), "\n") {
		if strings.HasSuffix(line, "unpurged vm_area") {
			continue
		}
		f := vmallocLine.FindStringSubmatch(line)
		if f == nil || !psCaller.MatchString(f[4]) && !regexp.MustCompile(`^[a-z_]+$`).MatchString(f[4]) {
			t.Errorf("ours: %q: the caller is not one %%pS-shaped token", line)
		}
	}
}

func TestSourceCaller(t *testing.T) {
	for _, c := range []struct {
		file        string
		line, lines int
		want        string
	}{
		{"tour.star", 26, 92, "tour_star+0x1a/0x5c"},
		{"/home/me/labs/kvec-growth.star", 1, 0, "kvec_growth_star+0x1/0x1"},
		{"<prompt>", 7, 7, "prompt+0x7/0x7"},
		{"trace.txt.gz", 10, 5, "trace_txt_gz+0xa/0xa"},
		{"1st try.star", 2, 3, "script_1st_try_star+0x2/0x3"},
		{".hidden.star", 4, 4, "_hidden_star+0x4/0x4"},
		{"vrealloc-6.12.star", 64, 74, "vrealloc_6_12_star+0x40/0x4a"},
	} {
		if got := SourceCaller(c.file, c.line, c.lines); got != c.want || !psCaller.MatchString(got) {
			t.Errorf("SourceCaller(%q, %d, %d) = %q, want %q", c.file, c.line, c.lines, got, c.want)
		}
	}
}

package ktrace

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/allocviz/allocviz/allocator"
)

// testdataDir holds real kernel output (testdata/README.md says where
// each file comes from).
const testdataDir = "../../testdata"

// readTestdata returns testdata/name; a missing file fails the test.
func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testdataDir, name))
	if err != nil {
		t.Fatalf("real kernel output: %v", err)
	}
	return data
}

// The fixtures recorded on a 6.18 kernel for these tests.
const (
	capture65k  = "ftrace-kmem-6.18-ls-lR-python3.txt.gz" // allocviz capture of ls -lR, 64,849 lines
	traceCmd618 = "tracecmd-kmem-6.18-bash-ls-etc.txt.gz" // trace-cmd report of bash -c 'ls -l /etc'
)

func parseTestdata(t testing.TB, name string) *Trace {
	t.Helper()
	tr, err := Parse(name, readTestdata(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// errorLines lists the line numbers of a trace's parse errors.
func errorLines(tr *Trace) []int {
	var out []int
	for _, e := range tr.Errors {
		out = append(out, e.Line)
	}
	return out
}

// TestParsePublishedSamples reads the four published traces (3.x to
// 6.10+, cat trace and trace-cmd report layouts, with what their authors
// pasted around them) and checks every count, and that exactly the lines
// their authors damaged are errors, named by file:line.
func TestParsePublishedSamples(t *testing.T) {
	for _, tc := range []struct {
		file      string
		format    Format
		cpus      int
		events    map[Event]int
		notTrace  int
		unparsed  []int
		hashed    bool
		cacheName bool
		nodeAcct  bool
		hexGFP    bool
	}{
		{file: "ftrace-kmem-blog-slub-memleak-filtered.txt", format: FormatFtrace, cpus: 4,
			events: map[Event]int{KmemCacheAlloc: 9}, notTrace: 2, hashed: true},
		{file: "ftrace-kmem-blog-slub-memleak-unfiltered.txt", format: FormatFtrace, cpus: 4,
			events: map[Event]int{KmemCacheAlloc: 6}, notTrace: 2, hashed: true},
		// No header survives the pasting: the CPU count is the highest CPU seen.
		{file: "ftrace-kmem-tracecmd-blog-virtiofs-short.txt", format: FormatPipe, cpus: 5,
			events: map[Event]int{MmPageAlloc: 4, Kmalloc: 3, KmemCacheAlloc: 2}, notTrace: 1, unparsed: []int{10, 12, 13},
			nodeAcct: true, hexGFP: true},
		{file: "ftrace-kmem-yocto-sugarbay-kmalloc.txt", format: FormatFtrace, cpus: 8,
			events: map[Event]int{Kmalloc: 30}, notTrace: 1, unparsed: []int{41}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			tr := parseTestdata(t, tc.file)
			st := tr.Stats
			if tr.Format != tc.format || tr.CPUs != tc.cpus || st.NotTrace != tc.notTrace || st.Hashed != tc.hashed ||
				st.Fields.CacheName != tc.cacheName || st.Fields.NodeAcct != tc.nodeAcct || st.Fields.HexGFP != tc.hexGFP {
				t.Errorf("format %v, %d cpus, %d not trace lines, hashed %v, fields %+v", tr.Format, tr.CPUs, st.NotTrace, st.Hashed, st.Fields)
			}
			for e := Kmalloc; e < NumEvents; e++ {
				if st.Events[e] != tc.events[e] {
					t.Errorf("%v: %d lines, want %d", e, st.Events[e], tc.events[e])
				}
			}
			if got := errorLines(tr); !slices.Equal(got, tc.unparsed) || st.Unparsed != len(tc.unparsed) {
				t.Errorf("unparsed lines %v (%d), want %v", got, st.Unparsed, tc.unparsed)
			}
			for _, e := range tr.Errors {
				if !strings.HasPrefix(e.Error(), tc.file+":") {
					t.Errorf("error %q does not start with the file", e)
				}
			}
			if got := st.Lines - st.Header - st.Blank - st.NotTrace - st.Memory() - st.Unparsed - st.Other; got != 0 {
				t.Errorf("%d lines counted nowhere", got)
			}
		})
	}
}

// TestParsePublishedFields checks fields that older kernels print
// differently: a module's call site with its [module], a 3.x call site
// as an address with 3.x flag names, flags as trace-cmd's numbers.
func TestParsePublishedFields(t *testing.T) {
	tr := parseTestdata(t, "ftrace-kmem-blog-slub-memleak-filtered.txt")
	r := tr.Records[0]
	if tr.Str(r.CallSite) != "memleak_task_test+0x70/0xb0 [memleak]" || r.Ptr != 0x844671fe || r.BytesReq != 5678 ||
		r.BytesAlloc != 10320 || r.GFP != allocator.GFPKernel || tr.Str(r.Task) != "<...>" || r.PID != 41112 || r.CPU != 2 ||
		r.TS != 313039_418842000 || r.Line != 14 || r.Accounted != -1 || r.Node != -1 {
		t.Errorf("first record %+v (call site %q)", r, tr.Str(r.CallSite))
	}
	yocto := parseTestdata(t, "ftrace-kmem-yocto-sugarbay-kmalloc.txt")
	if r := yocto.Records[3]; tr != nil && (yocto.Str(r.CallSite) != "ffffffff81614050" || r.GFP != allocator.GFPKernel|allocator.GFPRetryMayfail ||
		yocto.Str(r.Task) != "matchbox-termin") {
		t.Errorf("yocto record %+v: %q %v", r, yocto.Str(r.CallSite), r.GFP)
	}
	if r := yocto.Records[4]; r.GFP != allocator.GFPKernel|allocator.GFPNoWarn|allocator.GFPNoRetry {
		t.Errorf("GFP_KERNEL|GFP_NOWARN|GFP_NORETRY read as %v", r.GFP)
	}
	v := parseTestdata(t, "ftrace-kmem-tracecmd-blog-virtiofs-short.txt")
	want := allocator.GFPNoFS | allocator.GFPHighmem | allocator.GFPMovable | allocator.GFPNoWarn | allocator.GFPNoRetry |
		allocator.GFPComp | allocator.GFPHardwall
	if r := v.Records[0]; r.Event != MmPageAlloc || r.PFN != 0x1347a7 || r.GFP != want || r.Migrate != 1 {
		t.Errorf("gfp_flags=0x152c4a: %+v, flags %v", r, r.GFP)
	}
	if r := v.Records[2]; r.Event != KmemCacheAlloc || r.Ptr != 0xffff88811390f6c0 || r.Accounted != 1 || r.Node != -1 {
		t.Errorf("kmem_cache_alloc with node= and accounted=: %+v", r)
	}
}

// TestParseCapture618 reads a capture of a 6.18 kernel, gzipped: every
// line parses, and the counts are those of the file.
func TestParseCapture618(t *testing.T) {
	tr := parseTestdata(t, capture65k)
	st := tr.Stats
	want := map[Event]int{Kmalloc: 8364, Kfree: 18884, KmemCacheAlloc: 23448, KmemCacheFree: 12533, MmPageAlloc: 1175,
		MmPageFree: 111, MmPageFreeBatched: 93, MmPageAllocZoneLocked: 224, AllocVmapArea: 3, FreeVmapAreaNoflush: 1}
	for e := Kmalloc; e < NumEvents; e++ {
		if st.Events[e] != want[e] {
			t.Errorf("%v: %d lines, want %d", e, st.Events[e], want[e])
		}
	}
	if st.Lines != 64849 || st.Unparsed != 0 || st.Other != 0 || st.NotTrace != 0 || tr.CPUs != 2 || tr.Format != FormatFtrace ||
		!st.Hashed || !st.Fields.CacheName || !st.Fields.FreeName || !st.Fields.NodeAcct || st.Fields.HexGFP || len(st.Unknown) != 0 {
		t.Errorf("%d lines, %d unparsed, %d other, %d cpus, format %v, stats %+v", st.Lines, st.Unparsed, st.Other, tr.CPUs, tr.Format, st)
	}
	if !strings.HasPrefix(tr.Comment, "kmem trace of `sh -c ls -lR /usr/lib/python3 > /dev/null` on Linux 6.18") {
		t.Errorf("comment %q", tr.Comment)
	}
}

// TestParseTraceCmdReport reads trace-cmd report's output of a 6.18
// kernel, recorded in an instance: the instance name before each line,
// "(call_site)" before the fields, real pointers, (nil) for NULL, and
// alloc_vmap_area's "va_start: <decimal>".
func TestParseTraceCmdReport(t *testing.T) {
	tr := parseTestdata(t, traceCmd618)
	st := tr.Stats
	if tr.Format != FormatTraceCmd || tr.CPUs != 2 || st.Unparsed != 0 || st.Hashed || st.Memory() != 4195 || st.Header != 1 {
		t.Fatalf("format %v, %d cpus, stats %+v", tr.Format, tr.CPUs, st)
	}
	nulls, vmaps := 0, 0
	for _, r := range tr.Records {
		switch {
		case r.Event == Kfree && r.Ptr == 0:
			nulls++
		case r.Event == AllocVmapArea:
			vm := tr.Vmap[r.Vmap]
			if vm.VAStart != 18446683600648110080 || vm.Size != 20480 || vm.Align != 16384 || vm.VStart != 0xffffc90000000000 ||
				vm.VEnd != 0xffffe8ffffffffff || vm.Failed || tr.Str(r.Task) != "bash" {
				t.Errorf("alloc_vmap_area %+v", vm)
			}
			vmaps++
		case r.Event == Kmalloc && !strings.Contains(tr.Str(r.CallSite), "+0x"):
			t.Errorf("line %d: call site %q", r.Line, tr.Str(r.CallSite))
		}
	}
	if nulls == 0 || vmaps != 1 {
		t.Errorf("%d kfree(NULL), %d alloc_vmap_area", nulls, vmaps)
	}
}

// TestGzipIsTheSame parses a fixture gzipped and plain.
func TestGzipIsTheSame(t *testing.T) {
	gz := readTestdata(t, traceCmd618)
	plain, err := Decode(gz)
	if err != nil {
		t.Fatal(err)
	}
	a, err := Parse("t", gz)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Parse("t", plain)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.Records, b.Records) || a.Stats.Lines != b.Stats.Lines {
		t.Error("the gzipped file parses differently")
	}
}

// TestDecodeLimits refuses a trace, or a gzip stream, larger than the
// limit, and a stream that is not gzip after the magic.
func TestDecodeLimits(t *testing.T) {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(bytes.Repeat([]byte("x"), 5000))
	zw.Close()
	if _, err := decode(b.Bytes(), 4096); err == nil || !strings.Contains(err.Error(), "more than the 4096 bytes allowed") {
		t.Errorf("a gzip stream of 5000 bytes with a limit of 4096: %v", err)
	}
	if out, err := decode(b.Bytes(), 5000); err != nil || len(out) != 5000 {
		t.Errorf("at the limit: %d bytes, %v", len(out), err)
	}
	if _, err := decode(make([]byte, 5000), 4096); err == nil {
		t.Error("a plain file over the limit was accepted")
	}
	if _, err := Parse("bad.gz", []byte{0x1f, 0x8b, 1, 2, 3}); err == nil || !strings.Contains(err.Error(), "bad.gz: gunzip") {
		t.Errorf("a broken gzip stream: %v", err)
	}
	if _, err := Parse("script.star", []byte("p = kmalloc(100)\nkfree(p)\n")); err == nil || !strings.Contains(err.Error(), "no trace lines") {
		t.Errorf("a script: %v", err)
	}
}

// TestSniff tells traces from scripts by their content.
func TestSniff(t *testing.T) {
	for _, f := range []string{capture65k, traceCmd618, "ftrace-kmem-blog-slub-memleak-filtered.txt",
		"ftrace-kmem-yocto-sugarbay-kmalloc.txt", "ftrace-kmem-tracecmd-blog-virtiofs-short.txt"} {
		if !Sniff(readTestdata(t, f)) {
			t.Errorf("%s is not taken for a trace", f)
		}
	}
	stars, err := filepath.Glob("../scenarios/*.star")
	if err != nil || len(stars) == 0 {
		t.Fatalf("no scenarios: %v", err)
	}
	for _, f := range stars {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if Sniff(src) {
			t.Errorf("%s is taken for a trace", f)
		}
	}
	for _, s := range []string{"", "# a comment\nx = 1\n", "say('[001] 12.5: kmalloc:')\n"} {
		if Sniff([]byte(s)) {
			t.Errorf("%q is taken for a trace", s)
		}
	}
	if !Sniff([]byte("cpus=4\n")) || !Sniff([]byte("# tracer: nop\n")) || !Sniff([]byte("  ls-1 [000] 1.0: sched_switch: x\n")) {
		t.Error("a header or an event line alone is not a trace")
	}
}

// TestParseLineLayouts reads one event in the layouts kernels and tools
// print, and the fields of each kernel generation.
func TestParseLineLayouts(t *testing.T) {
	const fields = "call_site=getname_flags.part.0+0x24/0x1f0 ptr=000000001b3be959 name=names_cache bytes_req=4096 bytes_alloc=4096 gfp_flags=GFP_KERNEL node=-1 accounted=false"
	for _, line := range []string{
		"            bash-8366    [000] .....   239.161106: kmem_cache_alloc: " + fields,                            // 6.18 trace
		"bash-8366 [000] 239.161106: kmem_cache_alloc: " + fields,                                                   // trace_pipe without irq-info
		"            bash-8366    (   8366) [000] .....   239.161106: kmem_cache_alloc: " + fields,                  // record-tgid
		"t14:             bash-8366 [000]  239.161106: kmem_cache_alloc:     (getname_flags.part.0+0x24) " + fields, // trace-cmd in an instance
	} {
		tr, err := Parse("l", []byte(line+"\n"))
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if len(tr.Records) != 1 {
			t.Fatalf("%q: %v", line, tr.Errors)
		}
		r := tr.Records[0]
		if r.Event != KmemCacheAlloc || tr.Str(r.Task) != "bash" || r.PID != 8366 || r.CPU != 0 || r.TS != 239161106000 ||
			tr.Str(r.Cache) != "names_cache" || r.Ptr != 0x1b3be959 || r.BytesAlloc != 4096 || r.Accounted != 0 ||
			tr.Str(r.CallSite) != "getname_flags.part.0+0x24/0x1f0" {
			t.Errorf("%q: %+v", line, r)
		}
	}
	for _, tc := range []struct {
		line string
		ok   func(*Trace, Record) bool
	}{
		{"kworker/u8:2-events_unbound-77 [001] d..1. 5.000001: kfree: call_site=x+0x1/0x2 ptr=(null)",
			func(tr *Trace, r Record) bool {
				return tr.Str(r.Task) == "kworker/u8:2-events_unbound" && r.PID == 77 && r.Ptr == 0
			}},
		{"a-1 [000] 1.5: mm_page_alloc: page=(null) pfn=0x0 order=3 migratetype=0 gfp_flags=GFP_KERNEL",
			func(_ *Trace, r Record) bool { return r.Failed && r.Order == 3 }},
		{"a-1 [000] 1.5: mm_page_alloc: page=ffffea0001a2b3c0 pfn=1715948 order=0 migratetype=0 gfp_flags=GFP_KERNEL|GFP_NOTRACK",
			func(tr *Trace, r Record) bool {
				return r.PFN == 1715948 && tr.Stats.Fields.DecPFN && r.GFP == allocator.GFPKernel
			}},
		{"a-1 [000] 1.5: mm_page_free_batched: page=ffffea0001a2b3c0 pfn=1715948 order=0 cold=0",
			func(_ *Trace, r Record) bool { return r.Event == MmPageFreeBatched && r.PFN == 1715948 }},
		{"a-1 [000] 1.5: kmalloc: call_site=a+0x1/0x2 ptr=00000000deadbeef bytes_req=1 bytes_alloc=8 gfp_flags=GFP_KERNEL|__GFP_NO_OBJ_EXT|__GFP_FUTURE node=0 accounted=true",
			func(tr *Trace, r Record) bool {
				return r.GFP == allocator.GFPKernel && tr.Stats.Unknown["__GFP_FUTURE"] == 1 && len(tr.Stats.Unknown) == 1 && r.Accounted == 1
			}},
		{"a-1 [000] 1.5: free_vmap_area_noflush: va_start=0xffffc90000040000 nr_lazy=5 nr_lazy_max=32768",
			func(tr *Trace, r Record) bool {
				return tr.Vmap[r.Vmap].VAStart == 0xffffc90000040000 && tr.Vmap[r.Vmap].NrLazyMax == 32768
			}},
		{"a-1 [000] 1.5: purge_vmap_area_lazy: start=0xffffc90000000000 end=0xffffc90000100000 num_purged=3",
			func(tr *Trace, r Record) bool {
				return tr.Vmap[r.Vmap].NumPurged == 3 && tr.Vmap[r.Vmap].End == 0xffffc90000100000
			}},
		{"a-1 [000] 1.5: mm_page_pcpu_drain: page=0000000012345678 pfn=0x1000 order=0 migratetype=1",
			func(_ *Trace, r Record) bool { return r.Event == MmPagePcpuDrain && r.Migrate == 1 && r.PFN == 0x1000 }},
		{"a-1 [000] 1.5: mm_page_alloc_zone_locked: page=0000000012345678 pfn=0x1004 order=2 migratetype=2 percpu_refill=1",
			func(_ *Trace, r Record) bool {
				return r.Event == MmPageAllocZoneLocked && r.Refill && r.Order == 2 && r.Migrate == 2
			}},
		{"a-1 [000] 1.5: mm_page_alloc_zone_locked: page=0000000012345678 pfn=0x1200 order=9 migratetype=1 percpu_refill=0",
			func(_ *Trace, r Record) bool { return r.Event == MmPageAllocZoneLocked && !r.Refill && r.Order == 9 }},
	} {
		tr, err := Parse("l", []byte(tc.line))
		if err != nil || len(tr.Records) != 1 {
			t.Errorf("%q: %v %v", tc.line, err, tr.Errors)
			continue
		}
		if !tc.ok(tr, tr.Records[0]) {
			t.Errorf("%q: %+v", tc.line, tr.Records[0])
		}
	}
}

// TestParseErrors names the line and what is wrong with it; other events
// and other text are counted, not errors.
func TestParseErrors(t *testing.T) {
	const head = "a-1 [000] 1.5: "
	for _, tc := range []struct{ line, want string }{
		{head + "kmalloc: call_site=a ptr=1 bytes_req=abc bytes_alloc=8 gfp_flags=GFP_KERNEL", `bytes_req="abc": not a number`},
		{head + "kmalloc: call_site=a ptr=1 bytes_req=8 bytes_alloc=8", "no gfp_flags= field"},
		{head + "kmalloc: call_site=a ptr=zz bytes_req=8 bytes_alloc=8 gfp_flags=GFP_KERNEL", `ptr="zz": not a pointer`},
		{head + "kmalloc: call_site=a ptr=1 bytes_req=8 bytes_alloc=8 gfp_flags=GFP_KERNEL accounted=maybe", "neither true nor false"},
		{head + "mm_page_free: page=1 pfn=0x10 order=11", `order="11": above MAX_PAGE_ORDER`},
		{head + "kfree: call_site=a ptr=1 junk", `"junk" is not a key=value field`},
		{head + "kmalloc: call_site=a ptr=1 bytes_req=99999999999999999999 bytes_alloc=8 gfp_flags=GFP_KERNEL", "out of range"},
	} {
		src := "# tracer: nop\n" + "sched-1 [000] 1.0: sched_switch: prev=a next=b\n" + "$ cat trace\n" + tc.line + "\n"
		tr, err := Parse("t.txt", []byte(src))
		if err != nil {
			t.Fatalf("%q: %v", tc.line, err)
		}
		if len(tr.Errors) != 1 || !strings.Contains(tr.Errors[0].Error(), tc.want) || !strings.HasPrefix(tr.Errors[0].Error(), "t.txt:4: ") {
			t.Errorf("%q: errors %v, want %q at t.txt:4", tc.line, tr.Errors, tc.want)
		}
		if tr.Stats.Other != 1 || tr.Stats.OtherByEv["sched_switch"] != 1 || tr.Stats.NotTrace != 1 || tr.Stats.Header != 1 {
			t.Errorf("%q: stats %+v", tc.line, tr.Stats)
		}
	}
	var many strings.Builder
	for range MaxErrors + 5 {
		many.WriteString("a-1 [000] 1.5: kfree: call_site=a\n")
	}
	tr, err := Parse("t", []byte(many.String()))
	if err != nil || tr.Stats.Unparsed != MaxErrors+5 || len(tr.Errors) != MaxErrors {
		t.Errorf("%d unparsed lines kept %d errors (%v)", MaxErrors+5, len(tr.Errors), err)
	}
}

// TestLabelAndWhat name a record as a step and a narration do.
func TestLabelAndWhat(t *testing.T) {
	tr := parseTestdata(t, "ftrace-kmem-tracecmd-blog-virtiofs-short.txt")
	r := &tr.Records[2]
	if got := tr.Label(r); got != "2319.000863 make-16810 [004] xas_alloc+0x9f" {
		t.Errorf("Label = %q", got)
	}
	if got := tr.What(&tr.Records[0]); got != "mm_page_alloc of order 0 at pfn 0x1347a7" {
		t.Errorf("What = %q", got)
	}
}

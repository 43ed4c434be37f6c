package ktrace

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/allocviz/allocviz/allocator"
)

// Report is a trace, its plan and what replaying it did: what allocviz
// trace stats prints.
type Report struct {
	Trace  *Trace
	Plan   *Plan
	Replay ReplayStats
}

// Analyze parses the trace r holds (read as a stream, at most MaxBytes
// of text) and replays it, with recording off, on the machine its plan
// chooses (cfg's non-zero fields win).
func Analyze(name string, r io.Reader, cfg allocator.Config) (*Report, error) {
	t, err := ParseContext(context.Background(), name, r, MaxBytes)
	if err != nil {
		return nil, err
	}
	p := Build(t, PlanOptions{Config: cfg})
	m, err := allocator.NewMachine(p.Config)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	rp := NewReplayer(m, p)
	rp.Run()
	return &Report{Trace: t, Plan: p, Replay: rp.Stats}, nil
}

// Clean reports whether every line parsed and allocviz agreed with every
// kmalloc's ksize and every cache's stride.
func (r *Report) Clean() bool {
	return r.Trace.Stats.Unparsed == 0 && r.Replay.KsizeDiffer == 0 && r.Replay.CacheDiffer == 0
}

// topN is how many caches and call sites the report lists.
const topN = 10

// Write prints the report.
func (r *Report) Write(w io.Writer) error {
	t, p, rs := r.Trace, r.Plan, &r.Replay
	st := &t.Stats
	var tw strings.Builder
	row := func(label string, n int, note string) {
		tw.WriteString(strings.TrimRight(fmt.Sprintf("%-28s %9s  %s", label, group(n), note), " ") + "\n")
	}
	fmt.Fprintf(w, "%s: %s, %s, %d tasks\n", t.Name, t.Format, allocator.Count(uint64(t.CPUs), "CPU"), st.Tasks)
	if t.Comment != "" {
		fmt.Fprintf(w, "  %s\n", t.Comment)
	}
	if st.Memory() > 0 {
		fmt.Fprintf(w, "  %s from %s to %s\n", duration(st.LastTS-st.FirstTS), seconds(st.FirstTS), seconds(st.LastTS))
	}
	fmt.Fprintf(w, "  fields: %s\n\n", fieldsText(st))

	row("lines read", st.Lines, "")
	row("memory events", st.Memory(), "")
	row("header and comments", st.Header+st.Blank, "")
	row("other events", st.Other, "not memory events: "+topOther(st.OtherByEv))
	row("not trace lines", st.NotTrace, "text around the trace (a shell prompt)")
	row("unparsed", st.Unparsed, "memory event lines that could not be parsed; listed below")
	tw.WriteString("\n")

	replayed, skipped := sum(p.Stats.Replayed[:]), sum(p.Stats.Skipped[:])
	row("replayed", replayed, fmt.Sprintf("lines replayed as allocator calls, on %s of RAM with %s",
		allocator.FormatBytes(uint64(p.Config.RAM)), allocator.Count(uint64(p.Config.CPUs), "CPU")))
	for e := Kmalloc; e < NumEvents; e++ {
		if n := p.Stats.Replayed[e]; n > 0 {
			row("  "+e.String(), n, "")
		}
	}
	skipNote := "lines replayed as steps that change nothing"
	if skipped > 0 {
		skipNote += ", by reason:"
	}
	row("skipped", skipped, skipNote)
	for s := SkipBeforeTrace; s < NumSkips; s++ {
		if n := p.Stats.Skipped[s]; n > 0 {
			row("  "+s.String(), n, s.Doc())
		}
	}
	tw.WriteString("\n")
	row("synthetic frees", p.Stats.Synthetic, "allocated again with no free traced (kfree_rcu, sheaves, or frees not recorded): "+topMap(p.Stats.SynthByCache))
	row("ksize agree", rs.KsizeAgree, "kmallocs whose ksize and cache type allocviz reproduces")
	row("ksize disagree", rs.KsizeDiffer, "listed below")
	row("caches created", len(p.Caches), fmt.Sprintf("from the trace's name=, bytes_req and bytes_alloc; %d with another stride", rs.CacheDiffer))
	row("slab pages, traced", p.Stats.SlabPages, fmt.Sprintf("pages the traced kernel's SLUB took, in %s", allocator.Count(uint64(p.Stats.SlabPageAlloc), "allocation")))
	row("slab pages, allocviz", int(rs.SlabPages), "pages allocviz's SLUB took for the same objects, from empty caches")
	rn := &p.Renumber
	row("pages placed", p.Stats.Replayed[MmPageAlloc]-rs.Misplaced, fmt.Sprintf("where the trace had them: %s touched, renumbered in chunks of %s",
		allocator.Count(uint64(rn.Chunks), "chunk"), allocator.FormatBytes(uint64(p.Config.PageSize)<<uint(rn.Order))))
	row("pages elsewhere", rs.Misplaced, "their place was taken by allocviz's own allocations, or did not fit")
	row("pcp refills placed", p.Stats.Replayed[MmPageAllocZoneLocked]-rs.PCPElsewhere, "blocks put on the traced CPU's per-CPU list, where the trace had them")
	row("pcp refills elsewhere", rs.PCPElsewhere, "their block was not free here (allocviz's own allocations took it), or did not fit")
	row("pcp drains matched", p.Stats.Replayed[MmPagePcpuDrain]-rs.PCPUnmatched, "blocks allocviz also had on a per-CPU list, sent back to the buddy allocator")
	row("pcp drains unmatched", rs.PCPUnmatched, "allocviz had sent the block back already (its own high and batch), or never had it there")
	row("refused", rs.Failed, "calls allocviz's allocators refused")
	if _, err := io.WriteString(w, tw.String()); err != nil {
		return err
	}

	r.writeTop(w, "top caches by bytes allocated", rs.ByCache)
	sites := map[string]Bytes{}
	for s, b := range p.Stats.CallSites {
		sites[t.Str(s)] = b
	}
	r.writeTop(w, "top call sites by bytes allocated", sites)

	if len(t.Errors) > 0 {
		fmt.Fprintf(w, "\nlines that could not be parsed (%d):\n", st.Unparsed)
		for _, e := range t.Errors {
			fmt.Fprintf(w, "  %v\n", e)
		}
		if st.Unparsed > len(t.Errors) {
			fmt.Fprintf(w, "  ... and %d more\n", st.Unparsed-len(t.Errors))
		}
	}
	if n := rs.KsizeDiffer + rs.CacheDiffer; n > 0 {
		fmt.Fprintf(w, "\ndisagreements (%d):\n", n)
		for _, d := range rs.Disagreements {
			fmt.Fprintf(w, "  %s:%d: %s\n", t.Name, d.Line, d.Msg)
		}
		if n > len(rs.Disagreements) {
			fmt.Fprintf(w, "  ... and %d more\n", n-len(rs.Disagreements))
		}
	}
	if len(st.Unknown) > 0 {
		fmt.Fprintf(w, "\ngfp flag names allocviz does not model (dropped): %s\n", topMap(st.Unknown))
	}
	return nil
}

// writeTop lists the largest entries of m by bytes.
func (r *Report) writeTop(w io.Writer, title string, m map[string]Bytes) {
	if len(m) == 0 {
		return
	}
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int {
		return cmp.Or(cmp.Compare(m[b].Bytes, m[a].Bytes), cmp.Compare(a, b))
	})
	names = names[:min(topN, len(names))]
	width := len("allocations")
	for _, n := range names {
		width = max(width, len(n))
	}
	fmt.Fprintf(w, "\n%s:\n  %-*s  %11s  %10s\n", title, width, "", "allocations", "bytes")
	for _, n := range names {
		fmt.Fprintf(w, "  %-*s  %11s  %10s\n", width, n, group(m[n].N), allocator.HumanBytes(m[n].Bytes))
	}
}

func fieldsText(st *Stats) string {
	var parts []string
	f := st.Fields
	if f.CacheName {
		parts = append(parts, "kmem_cache_alloc names its cache (6.x)")
	} else if st.Events[KmemCacheAlloc] > 0 {
		parts = append(parts, "kmem_cache_alloc without name= (before 6.x: caches are told apart by size)")
	}
	if f.NodeAcct {
		parts = append(parts, "node= and accounted= (6.0+)")
	}
	if f.HexGFP {
		parts = append(parts, "gfp_flags as numbers (read with 6.18's bit values)")
	}
	if f.DecPFN {
		parts = append(parts, "decimal pfns (older kernels)")
	}
	if st.Hashed {
		parts = append(parts, "pointers hashed by %p (4.15+)")
	} else {
		parts = append(parts, "real pointers")
	}
	return strings.Join(parts, "; ")
}

func topOther(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	return topMap(m)
}

// topMap prints the largest counts of m: "maple_node 12, kmalloc 3".
func topMap(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return cmp.Or(cmp.Compare(m[b], m[a]), cmp.Compare(a, b)) })
	var parts []string
	for _, k := range keys[:min(5, len(keys))] {
		parts = append(parts, fmt.Sprintf("%s %s", k, group(m[k])))
	}
	if len(keys) > 5 {
		parts = append(parts, fmt.Sprintf("and %d more", len(keys)-5))
	}
	return strings.Join(parts, ", ")
}

func sum(xs []int) int {
	n := 0
	for _, x := range xs {
		n += x
	}
	return n
}

// group prints n with thousands separators: 54,794.
func group(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return "-" + group(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// seconds prints a trace timestamp as the trace does: 239.161040.
func seconds(ns int64) string { return fmt.Sprintf("%d.%06d", ns/1e9, ns%1e9/1e3) }

// duration prints a span of nanoseconds in ms or s.
func duration(ns int64) string {
	if ns < 1e9 {
		return fmt.Sprintf("%.1f ms", float64(ns)/1e6)
	}
	return fmt.Sprintf("%.2f s", float64(ns)/1e9)
}

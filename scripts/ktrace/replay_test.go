package ktrace

import (
	"fmt"
	"strings"
	"testing"

	"github.com/allocviz/allocviz/allocator"
)

// replayTrace replays tr on the machine its plan chooses and checks the
// machine's invariants at the end.
func replayTrace(t *testing.T, tr *Trace, narrate bool) (*Replayer, *allocator.EventLog) {
	t.Helper()
	return replayTraceWith(t, tr, narrate, nil)
}

// replayTraceWith is replayTrace calling before(rp, i), when not nil,
// before op i is replayed.
func replayTraceWith(t *testing.T, tr *Trace, narrate bool, before func(rp *Replayer, i int)) (*Replayer, *allocator.EventLog) {
	t.Helper()
	p := Build(tr, PlanOptions{})
	m, err := allocator.NewMachine(p.Config)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	var log *allocator.EventLog
	if narrate {
		log = &allocator.EventLog{}
		m.SetLog(log)
	}
	rp := NewReplayer(m, p)
	rp.Narrate = narrate
	for i := range p.Ops {
		if before != nil {
			before(rp, i)
		}
		if narrate {
			m.BeginStep(i+1, tr.Label(&tr.Records[i]), rp.OpText(i))
		}
		rp.Step(i)
	}
	if err := m.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
	if err := m.CheckSlub(); err != nil {
		t.Fatal(err)
	}
	return rp, log
}

// TestReplayCapture618 is the measure: a real 6.18 trace of ~65k
// lines replays with every line parsed, every kmalloc's ksize and cache
// type agreeing with the trace, every cache's stride equal to its
// bytes_alloc, and nothing refused.
func TestReplayCapture618(t *testing.T) {
	tr := parseTestdata(t, capture65k)
	rp, _ := replayTrace(t, tr, false)
	s, p := rp.Stats, rp.P
	if s.KsizeDiffer != 0 || s.CacheDiffer != 0 || s.Failed != 0 {
		t.Fatalf("%d ksize and %d cache disagreements, %d refused: %v", s.KsizeDiffer, s.CacheDiffer, s.Failed, s.Disagreements)
	}
	if s.KsizeAgree != p.Stats.Replayed[Kmalloc] || s.KsizeAgree < 8000 {
		t.Errorf("%d kmallocs agree of %d replayed", s.KsizeAgree, p.Stats.Replayed[Kmalloc])
	}
	if s.Steps != len(p.Ops) || len(p.Ops) != tr.Stats.Memory() {
		t.Errorf("%d steps of %d ops for %d memory lines", s.Steps, len(p.Ops), tr.Stats.Memory())
	}
	if p.Stats.SlabPages == 0 || s.SlabPages == 0 || len(p.Caches) < 25 {
		t.Errorf("slab pages: %d traced, %d allocviz; %d caches", p.Stats.SlabPages, s.SlabPages, len(p.Caches))
	}
	if placed := p.Stats.Replayed[MmPageAlloc] - s.Misplaced; placed < p.Stats.Replayed[MmPageAlloc]*8/10 {
		t.Errorf("only %d of %d page allocations placed where the trace had them", placed, p.Stats.Replayed[MmPageAlloc])
	}
}

// TestReplayPCPLists: a refill puts the trace's blocks on the traced
// CPU's pcp list, the allocation that follows takes its block from there,
// and drains send a freed block and a refilled one back to the buddy
// allocator, each where the trace had it (renumbered).
func TestReplayPCPLists(t *testing.T) {
	tr := traceOf(t,
		refillLine(1, 0x5000, 0, 1, 1),
		refillLine(1, 0x5001, 0, 1, 1),
		pageAllocLine(1, 0x5000, 0, "GFP_HIGHUSER_MOVABLE"),
		pageFreeLine(1, 0x5000, 0),
		drainLine(1, 0x5000, 0),
		drainLine(1, 0x5001, 0),
	)
	rp, log := replayTrace(t, tr, true)
	s, p := rp.Stats, rp.P
	if s.PCPElsewhere != 0 || s.PCPUnmatched != 0 || s.Misplaced != 0 || s.Failed != 0 {
		t.Fatalf("stats %+v", s)
	}
	at := func(pfn uint64) uint64 { return p.Renumber.PFN(pfn) }
	var got []string
	for e := range log.Events(0, log.Len()) {
		switch e.Kind() {
		case allocator.EvPCPRefill, allocator.EvPCPDrain:
			got = append(got, fmt.Sprintf("%v %#x cpu%d", e.Kind(), e.PFN(), e.ListCPU()))
		case allocator.EvPageAlloc:
			got = append(got, fmt.Sprintf("%v %#x from %d", e.Kind(), e.PFN(), e.FromOrder()))
		}
	}
	want := []string{
		fmt.Sprintf("pcp_refill %#x cpu1", at(0x5000)), fmt.Sprintf("pcp_refill %#x cpu1", at(0x5001)),
		fmt.Sprintf("page_alloc %#x from -1", at(0x5000)), // off the pcp list
		fmt.Sprintf("pcp_drain %#x cpu1", at(0x5000)), fmt.Sprintf("pcp_drain %#x cpu1", at(0x5001)),
	}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("events\n got %s\nwant %s", strings.Join(got, "; "), strings.Join(want, "; "))
	}
	if n := rp.M.PCPPageCount(); n != 0 {
		t.Errorf("%d pages left on pcp lists", n)
	}
}

// TestReplayPCPMisses: a refill of a block that is on a pcp list already
// is counted elsewhere, and a drain of a block that is on none unmatched,
// each said in its step, neither refused.
func TestReplayPCPMisses(t *testing.T) {
	tr := traceOf(t,
		refillLine(0, 0x5000, 0, 1, 1),
		refillLine(0, 0x5000, 0, 1, 1), // traced twice: the second finds it on a list
		pageAllocLine(0, 0x6000, 0, "GFP_HIGHUSER_MOVABLE"),
		pageFreeLine(0, 0x6000, 0),
		drainLine(0, 0x6000, 0),
	)
	rp, log := replayTraceWith(t, tr, true, func(rp *Replayer, i int) {
		if op := &rp.P.Ops[i]; op.Kind == OpPCPDrain {
			// allocviz's own drain got there first.
			if err := rp.M.PCPDrainAt(op.PFN, 0); err != nil {
				t.Fatal(err)
			}
		}
	})
	if s := rp.Stats; s.PCPElsewhere != 1 || s.PCPUnmatched != 1 || s.Failed != 0 {
		t.Fatalf("stats %+v", s)
	}
	said := strings.Join(texts(log), "\n")
	for _, want := range []string{"the trace's pfn 0x5000 is not free here", "the trace's pfn 0x6000 is on none of allocviz's pcp lists"} {
		if !strings.Contains(said, want) {
			t.Errorf("no %q in the narration:\n%s", want, said)
		}
	}
}

// TestReplayEveryFixture replays every trace in testdata: nothing the
// machine refuses, its invariants hold, and the published ones agree on
// every ksize too.
func TestReplayEveryFixture(t *testing.T) {
	for _, f := range []string{traceCmd618, "ftrace-kmem-blog-slub-memleak-filtered.txt", "ftrace-kmem-blog-slub-memleak-unfiltered.txt",
		"ftrace-kmem-tracecmd-blog-virtiofs-short.txt", "ftrace-kmem-yocto-sugarbay-kmalloc.txt"} {
		t.Run(f, func(t *testing.T) {
			rp, _ := replayTrace(t, parseTestdata(t, f), true)
			if s := rp.Stats; s.Failed != 0 || s.KsizeDiffer != 0 || s.CacheDiffer != 0 {
				t.Errorf("%d refused, disagreements %v", s.Failed, s.Disagreements)
			}
		})
	}
}

// texts returns the narration of a log.
func texts(log *allocator.EventLog) []string {
	var out []string
	for e := range log.Events(0, log.Len()) {
		if e.Kind() == allocator.EvSay {
			out = append(out, e.Text())
		}
	}
	return out
}

// TestReplayNarratesAndChecks: a skipped line says why, a synthetic free
// says so before the free it makes, and a kmalloc whose ksize or cache
// type differs from the trace is reported with its line.
func TestReplayNarratesAndChecks(t *testing.T) {
	tr := traceOf(t,
		"0 kfree: call_site=f ptr=00000000aaaaaaaa",
		cacheAllocLine(0, "00000000cccccccc", "maple_node", 256, 256),
		cacheAllocLine(1, "00000000cccccccc", "maple_node", 256, 256),
		kmallocLine(0, "0000000000000011", 90, 100, "GFP_KERNEL"),        // allocviz: kmalloc-96
		kmallocLine(0, "0000000000000012", 90, 96, "GFP_KERNEL_ACCOUNT"), // kmalloc-cg-96: agrees
		"0 kmalloc: call_site=f ptr=0000000000000013 bytes_req=90 bytes_alloc=96 gfp_flags=GFP_KERNEL node=-1 accounted=true",
	)
	rp, log := replayTrace(t, tr, true)
	s := rp.Stats
	if s.KsizeAgree != 1 || s.KsizeDiffer != 2 || len(s.Disagreements) != 2 {
		t.Fatalf("stats %+v", s)
	}
	if d := s.Disagreements[0]; d.Line != 6 || !strings.Contains(d.Msg, "ksize is 96 (kmalloc-96), the trace's bytes_alloc is 100") {
		t.Errorf("first disagreement %+v", d)
	}
	if d := s.Disagreements[1]; d.Line != 8 || !strings.Contains(d.Msg, "accounted=true means a kmalloc-cg- cache") {
		t.Errorf("second disagreement %+v", d)
	}
	say := texts(log)
	want := []string{"kfree of ptr 00000000aaaaaaaa: allocated before the trace began", `kmem_cache_create("maple_node", 256, align 8)`,
		"allocviz and the trace disagree: kmalloc(90)", "allocviz and the trace disagree: kmalloc(90, GFP_KERNEL)"}
	if len(say) != len(want) {
		t.Fatalf("narration %q", say)
	}
	for i, w := range want {
		if !strings.Contains(say[i], w) {
			t.Errorf("narration %d: %q, want %q", i, say[i], w)
		}
	}
	// The synthetic free is the object's own free, marked, in the step
	// of the line that revealed it, and says why.
	synth := 0
	for e := range log.Events(0, log.Len()) {
		if e.Synthetic() == "" {
			continue
		}
		synth++
		if e.Kind() != allocator.EvObjFree || e.Step() != 3 || e.Cache() != "maple_node" ||
			!strings.HasSuffix(e.Text(), "synthetic free: the object of line 4 is allocated again at line 5 with no free traced in between") {
			t.Errorf("synthetic free %v in step %d: %q", e.Kind(), e.Step(), e.Text())
		}
	}
	if synth != 1 || rp.P.Stats.Synthetic != 1 {
		t.Errorf("%d events marked synthetic, %d counted", synth, rp.P.Stats.Synthetic)
	}
}

// TestReplayPagesWhereTheTraceHadThem: pages land at their renumbered
// pfns, keeping their distances; a page whose place the machine's own
// allocation took goes elsewhere, counted.
func TestReplayPagesWhereTheTraceHadThem(t *testing.T) {
	tr := traceOf(t,
		pageAllocLine(0, 0x150605, 0, "GFP_HIGHUSER_MOVABLE|__GFP_COMP"),
		pageAllocLine(0, 0x150608, 3, "GFP_KERNEL"),
		pageAllocLine(1, 0x2e0001, 0, "GFP_KERNEL"),
		pageFreeLine(0, 0x150605, 0),
	)
	rp, _ := replayTrace(t, tr, false)
	m, p := rp.M, rp.P
	a, b, c := p.Ops[0].PFN, p.Ops[1].PFN, p.Ops[2].PFN
	if b-a != 3 || c>>10 != a>>10+1 || c&1023 != 1 || a&1023 != 0x205 {
		t.Errorf("renumbered to %#x, %#x, %#x", a, b, c)
	}
	if pg := m.Page(b); pg.Owner != allocator.OwnerPages || pg.Head != b || pg.Order != 3 {
		t.Errorf("pfn %#x: %+v", b, pg)
	}
	if pg := m.Page(a); pg.Owner != allocator.OwnerPCP { // an order-0 page freed waits on the CPU's pcp list
		t.Errorf("freed pfn %#x: %+v", a, pg)
	}
	if rp.Stats.Misplaced != 0 {
		t.Errorf("%d misplaced", rp.Stats.Misplaced)
	}
}

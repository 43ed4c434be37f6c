package heapview

import (
	"fmt"
	"slices"

	"github.com/allocviz/allocviz/allocator"
)

// PageRange is a run of page frames.
type PageRange struct {
	PFN uint64 // first page frame
	N   uint64 // page frames
}

// StepInfo describes one script step: where it came from, what it did and
// what it touched.
type StepInfo struct {
	Step      int              // 0 is boot
	Number    int              // the Step field of its EvStep (the scripts runtime numbers steps 1, 2, 3…, so Number == Step)
	Src       string           // file:line:col of the call (a trace's line: file:line); "" for boot
	Label     string           // a replayed trace's line: its time, task-pid, CPU and call site; "" for a script
	Op        string           // the call as written; "boot" for step 0
	Start     int              // position of its first event in the log
	End       int              // position after its last event
	Narration []string         // the EvSay texts, in order
	Pages     []PageRange      // page frames whose state the step changed, ascending and merged
	Objects   []allocator.Addr // allocations made, freed or reallocated, ascending
	Areas     []allocator.Addr // vmap areas made or freed, ascending
	Failed    bool             // an allocation failed
	Reports   int              // warnings, bad frees, SLUB reports, faults, misuse, failed checks
}

// StepInfo describes step (0 is boot).
func (m *Model) StepInfo(step int) (StepInfo, error) {
	if step < 0 || step > m.nsteps {
		return StepInfo{}, fmt.Errorf("heapview: step %d does not exist (steps run from 0 to %d)", step, m.nsteps)
	}
	start, end := m.stepSpan(step)
	si := StepInfo{Step: step, Start: start, End: end, Op: "boot"}
	if step > 0 {
		e := m.log.At(start)
		si.Number, si.Src, si.Label, si.Op = e.Step(), e.Src(), e.Label(), e.Op()
	}
	t := m.touchOf(start, end)
	si.Pages, si.Objects, si.Areas = t.pages, t.objects, t.areas
	for i := start; i < end; i++ {
		e := m.log.At(i)
		switch {
		case e.Kind() == allocator.EvSay:
			si.Narration = append(si.Narration, e.Text())
		case e.Failed():
			si.Failed = true
		case e.Report():
			si.Reports++
		}
	}
	return si, nil
}

// touchSet is what a run of events touched.
type touchSet struct {
	pages   []PageRange
	bits    []uint64 // the same pages as a bit set over page frames
	objects []allocator.Addr
	areas   []allocator.Addr
}

func (t *touchSet) hasPage(pfn uint64) bool {
	return pfn/64 < uint64(len(t.bits)) && t.bits[pfn/64]&(1<<(pfn%64)) != 0
}

// anyPage reports whether a page in [pfn, pfn+n) was touched.
func (t *touchSet) anyPage(pfn, n uint64) bool {
	for p := pfn; p < pfn+n; {
		w := p / 64
		if w >= uint64(len(t.bits)) {
			return false
		}
		if p%64 == 0 && pfn+n-p >= 64 {
			if t.bits[w] != 0 {
				return true
			}
			p += 64
			continue
		}
		if t.bits[w]&(1<<(p%64)) != 0 {
			return true
		}
		p++
	}
	return false
}

// touchCache keeps the last touch set computed.
type touchCache struct {
	start, end int
	set        *touchSet
}

// touchOf returns what events [start, end) touched: the page frames whose
// records they changed (a split or merge changes only the heads of the
// blocks involved), the allocations and the areas.
func (m *Model) touchOf(start, end int) *touchSet {
	if c := &m.touch; c.set != nil && c.start == start && c.end == end {
		return c.set
	}
	t := &touchSet{}
	var pr []PageRange
	addPages := func(pfn, n uint64) {
		if n > 0 && pfn < m.geo.nrPages {
			pr = append(pr, PageRange{pfn, min(n, m.geo.nrPages-pfn)})
		}
	}
	addAddr := func(a allocator.Addr) {
		if a.ZeroOrNull() {
			return
		}
		t.objects = append(t.objects, a)
		if pfn, ok := m.geo.addrPFN(a); ok {
			addPages(pfn, 1)
		}
	}
	for i := start; i < end; i++ {
		if m.isBad(i) {
			continue
		}
		e := m.log.At(i)
		switch e.Kind() {
		case allocator.EvReserve:
			addPages(e.PFN(), uint64(max(e.Pages(), 0)))
		case allocator.EvPageAlloc, allocator.EvPageFree, allocator.EvSlabNew, allocator.EvSlabDiscard, allocator.EvSlabList:
			if o := e.Order(); o >= 0 && o <= allocator.MaxPageOrder {
				addPages(e.PFN(), 1<<o)
			} else {
				addPages(e.PFN(), 1)
			}
		case allocator.EvSplit:
			if o := e.Order(); o >= 1 && o <= allocator.MaxPageOrder {
				addPages(e.PFN(), 1)
				addPages(e.PFN()+1<<(o-1), 1)
			}
		case allocator.EvMerge:
			if o := e.Order(); o >= 0 && o < allocator.MaxPageOrder {
				addPages(e.PFN(), 1)
				addPages(e.PFN()^1<<o, 1)
			}
		case allocator.EvObjAlloc, allocator.EvObjFree, allocator.EvKmalloc, allocator.EvKvmalloc, allocator.EvVecOp:
			addAddr(e.Addr())
		case allocator.EvRealloc:
			if r, ok := e.Realloc(); ok {
				addAddr(r.Old)
				addAddr(r.New)
			}
		case allocator.EvVmapAlloc, allocator.EvVmapFree:
			t.areas = append(t.areas, e.Addr())
			t.objects = append(t.objects, e.Addr())
			for _, p := range e.PFNs() {
				addPages(p, 1)
			}
		}
	}
	slices.SortFunc(pr, func(a, b PageRange) int {
		switch {
		case a.PFN < b.PFN:
			return -1
		case a.PFN > b.PFN:
			return 1
		}
		return 0
	})
	for _, r := range pr {
		if k := len(t.pages) - 1; k >= 0 && t.pages[k].PFN+t.pages[k].N >= r.PFN {
			t.pages[k].N = max(t.pages[k].N, r.PFN+r.N-t.pages[k].PFN)
			continue
		}
		t.pages = append(t.pages, r)
	}
	if len(t.pages) > 0 {
		t.bits = make([]uint64, (m.geo.nrPages+63)/64)
		for _, r := range t.pages {
			for p := r.PFN; p < r.PFN+r.N; p++ {
				t.bits[p/64] |= 1 << (p % 64)
			}
		}
	}
	slices.Sort(t.objects)
	t.objects = slices.Compact(t.objects)
	slices.Sort(t.areas)
	t.areas = slices.Compact(t.areas)
	m.touch = touchCache{start: start, end: end, set: t}
	return t
}

// touched returns what the step under the cursor has done so far.
func (m *Model) touched() *touchSet {
	start, _ := m.stepSpan(m.step)
	return m.touchOf(start, max(start, m.cur.pos))
}

// Explain returns the explanation of the event at position pos.
func (m *Model) Explain(pos int) string {
	if pos < 0 || pos >= m.n {
		return ""
	}
	return m.log.At(pos).Explain()
}

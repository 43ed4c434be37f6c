package ui

import (
	"fmt"
	"strings"

	"github.com/allocviz/allocviz/allocator"
	"github.com/allocviz/allocviz/heapview"
)

// refresh re-renders every visible pane from the model at the current
// step, selection and size. It runs in Update, after anything that
// changes what the panes show; View only assembles the result. While a
// statement runs on the session off the event loop nothing is read from
// it: the panes keep what they showed (fitted to their boxes by View,
// should the terminal be resized meanwhile) until it is done.
func (m *Model) refresh() {
	if m.src == nil || !m.ready || m.tooSmall() {
		return
	}
	if m.running != nil && m.loading == "" {
		m.stale = true
		return
	}
	m.stale = false
	m.machine = [2]string{m.src.machineSummary(false), m.src.machineSummary(true)}
	inspecting := m.mode == modeInspect
	in, ok := m.inspection()
	var lineage uint64
	if ok && in.Alloc != nil {
		lineage = in.Alloc.Lineage
		if len(m.src.hv.ReallocHistory(lineage)) == 0 {
			lineage = 0
		}
	}
	m.refreshSlabs(inspecting && m.focus == paneSlabs)
	m.refreshVmalloc()
	var diff []heapview.PageRange
	m.diffSum = ""
	if m.diff >= 0 && m.diff <= m.lastStep() {
		diff, m.diffSum = m.diffPages()
	}
	m.refreshPages(inspecting && m.focus == panePages, m.highlight(in, ok), diff)
	m.refreshRealloc(lineage)
	m.refreshEvents()
	m.refreshInspector(in, ok)
	m.refreshTimeline()
}

// highlight returns the page frames to mark in the page map: those of
// the thing selected in the focused pane, so the same memory is marked in
// both places. The page map's own cursor is marked by the map itself.
func (m *Model) highlight(in heapview.Inspection, ok bool) []heapview.PageRange {
	hv := m.src.hv
	switch m.focus {
	case paneSlabs:
		if m.mode == modeInspect && ok && in.Slab != nil {
			return []heapview.PageRange{{PFN: in.Slab.PFN, N: 1 << in.Slab.Order}}
		}
		var out []heapview.PageRange
		for _, sl := range hv.Slabs(m.slabs.sel) {
			out = append(out, heapview.PageRange{PFN: sl.PFN, N: 1 << sl.Order})
		}
		return out
	case paneVmalloc:
		return m.selectedAreaPages()
	}
	return nil
}

// diffPages returns the page frames that differ between the diff base and
// the step shown, and a summary of everything that differs.
func (m *Model) diffPages() ([]heapview.PageRange, string) {
	d, err := m.src.hv.Diff(m.diff, m.step)
	if err != nil {
		return nil, ""
	}
	out := make([]heapview.PageRange, 0, len(d.Pages))
	var pages uint64
	for _, c := range d.Pages {
		out = append(out, heapview.PageRange{PFN: c.PFN, N: c.N})
		pages += c.N
	}
	var parts []string
	for _, c := range []struct {
		n    int
		what string
	}{{int(pages), "page"}, {len(d.Allocs), "allocation"}, {len(d.Slabs), "slab"}, {len(d.Areas), "area"}} {
		if c.n > 0 {
			parts = append(parts, allocator.Count(uint64(c.n), c.what))
		}
	}
	if len(parts) == 0 {
		parts = []string{"no change"}
	}
	return out, fmt.Sprintf("Δ from step %d: %s", m.diff, strings.Join(parts, ", "))
}

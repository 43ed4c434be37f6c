package ui

import (
	"slices"

	"github.com/allocviz/allocviz/allocator"
	"github.com/allocviz/allocviz/heapview"
)

// vmallocPane is vmalloc space: the areas in address order with their
// guard pages, and the page frames behind the selected one.
type vmallocPane struct {
	textPane
	sel   allocator.Addr   // the selected area's start; 0: none
	areas []allocator.Addr // the areas' starts in order, for moving the selection
}

func (p *vmallocPane) reset() { p.sel, p.top, p.areas = 0, 0, nil }

// selectDelta selects the area d rows below the selected one.
func (p *vmallocPane) selectDelta(d int) {
	if len(p.areas) == 0 {
		return
	}
	i := slices.Index(p.areas, p.sel)
	if i < 0 {
		i = 0
		d = max(d, 0)
	}
	p.sel = p.areas[max(0, min(i+d, len(p.areas)-1))]
}

// refreshVmalloc renders vmalloc space with the selected area's frames.
func (m *Model) refreshVmalloc() {
	w, h := m.vm.Size()
	hv := m.src.hv
	p := &m.vm
	p.areas = p.areas[:0]
	for _, a := range hv.Areas() {
		p.areas = append(p.areas, a.Addr)
	}
	if !slices.Contains(p.areas, p.sel) {
		p.sel = 0
		if si, err := hv.StepInfo(m.step); err == nil && len(si.Areas) > 0 && slices.Contains(p.areas, si.Areas[0]) {
			p.sel = si.Areas[0]
		} else if len(p.areas) > 0 {
			p.sel = p.areas[len(p.areas)-1]
		}
	}
	if w <= 0 || h <= 0 {
		return
	}
	rows := hv.VmallocView(heapview.VmallocOptions{Width: w, Height: h, Selected: p.sel})
	p.setExact("vmalloc space", m.cells.rows(rows, w))
}

// selectedAreaPages returns the page frames behind the selected area.
func (m *Model) selectedAreaPages() []heapview.PageRange {
	a, ok := m.src.hv.AreaContaining(m.vm.sel)
	if !ok || m.vm.sel == 0 {
		return nil
	}
	out := make([]heapview.PageRange, 0, len(a.PFNs))
	for _, pfn := range a.PFNs {
		out = append(out, heapview.PageRange{PFN: pfn, N: 1})
	}
	return out
}

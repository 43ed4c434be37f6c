package ui

import (
	"github.com/allocviz/allocviz/heapview"
)

// inspectorPane explains one cell: what it is, who owns it, since which
// step and why.
type inspectorPane struct {
	textPane
}

// inspection returns what the inspector explains: the cell under the
// cursor while inspecting, else the first thing the step shown changed
// (an object, else a page), so the wide layout always explains the step.
func (m *Model) inspection() (heapview.Inspection, bool) {
	hv := m.src.hv
	if m.mode == modeInspect {
		switch m.focus {
		case panePages:
			in, err := hv.InspectPage(m.pages.cursor)
			return in, err == nil
		case paneSlabs:
			if m.slabs.obj != 0 {
				in, err := hv.InspectAddr(m.slabs.obj)
				return in, err == nil
			}
		}
		return heapview.Inspection{}, false
	}
	si, err := hv.StepInfo(m.step)
	if err != nil {
		return heapview.Inspection{}, false
	}
	// What the step made outranks what it freed: a krealloc that moved
	// is explained by its new object.
	for _, live := range []bool{true, false} {
		for _, a := range si.Objects {
			if _, ok := hv.Alloc(a); ok != live {
				continue
			}
			if in, err := hv.InspectAddr(a); err == nil {
				return in, true
			}
		}
	}
	if len(si.Pages) > 0 && m.step > 0 {
		in, err := hv.InspectPage(si.Pages[0].PFN)
		return in, err == nil
	}
	return heapview.Inspection{}, false
}

// refreshInspector renders the inspection in.
func (m *Model) refreshInspector(in heapview.Inspection, ok bool) {
	w, h := m.inspector.Size()
	if w <= 0 || h <= 0 {
		return
	}
	title := "Inspector"
	switch {
	case m.mode == modeInspect:
		title = "Inspector · cursor"
	case ok:
		title = "Inspector · changed by this step"
	}
	if !ok {
		hint := "press tab to the page map or the slabs, then i, and move the cursor with the arrow keys"
		m.inspector.set(title, heapview.Wrap(hint, w))
		return
	}
	m.inspector.setExact(title, m.cells.rows(allRows(func(h int) []heapview.Row { return in.Rows(w, h) }, h), w))
}

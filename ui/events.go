package ui

import (
	"fmt"
	"strings"

	"github.com/allocviz/allocviz/heapview"
)

// eventsPane is the event log: the steps up to the one shown, each with
// its script line, its events and the rule each applied.
type eventsPane struct {
	textPane
	back int // lines scrolled back from the step shown
}

func (p *eventsPane) reset() { p.top, p.back = 0, 0 }

// scrollBack scrolls the log d lines further into the past.
func (p *eventsPane) scrollBack(d int) { p.back = max(0, p.back+d) }

// fileLine drops the column from file:line:col (a trace's file:line has
// none), and the directories.
func fileLine(pos string) string {
	if i := strings.LastIndexByte(pos, '/'); i >= 0 {
		pos = pos[i+1:]
	}
	if i := strings.LastIndexByte(pos, ':'); i > 0 && strings.Count(pos, ":") >= 2 {
		pos = pos[:i]
	}
	return pos
}

// whyOptions gathers what the Why strip says of step n besides its
// events: what the session recorded of the call.
func (m *Model) whyOptions(n, w int) heapview.WhyOptions {
	o := heapview.WhyOptions{Width: w, Step: n}
	if st, ok := m.src.step(n); ok {
		o.Label = st.Label
		o.Call = st.Op
		if st.Result != "" {
			o.Call += " = " + st.Result
		}
		o.Err = st.Err
	}
	for _, p := range m.src.sess.Printed() {
		if p.Step == n {
			o.Printed = append(o.Printed, p.Text)
		}
	}
	return o
}

// refreshEvents fills the Why strip (heapview's WhyStrip, the pane
// scrolling through all of it) and the event log (heapview's, ending at
// the step shown unless scrolled back).
func (m *Model) refreshEvents() {
	hv := m.src.hv
	where := "boot"
	if st, ok := m.src.step(m.step); ok {
		where = fileLine(st.Pos)
	}
	if w, h := m.why.Size(); w > 0 && h > 0 {
		o := m.whyOptions(m.step, w)
		rows := allRows(func(h int) []heapview.Row {
			o.Height = h
			return hv.WhyStrip(o)
		}, h)
		top := m.why.top
		m.why.setExact(fmt.Sprintf("Why · step %d of %d · %s", m.step, m.lastStep(), where), m.cells.rows(rows, w))
		m.why.top = top
		m.why.clampTop()
	}
	w, h := m.events.Size()
	if w <= 0 || h <= 0 {
		return
	}
	rows := hv.EventLog(heapview.EventLogOptions{Width: w, Height: h + 1, Scroll: m.events.back})
	// Asked for a line more than fits: when it is used, the log goes on
	// above what the pane shows.
	above := 0
	if len(rows) > h && !blankRow(rows[h]) {
		rows, above = append(rows[:1:1], rows[2:]...), -1
	} else {
		rows = rows[:min(h, len(rows))]
	}
	m.events.setWindow("Event log", m.cells.rows(rows, w), above, m.events.back)
}

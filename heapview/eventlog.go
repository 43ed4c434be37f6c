package heapview

import (
	"fmt"
	"strings"

	"github.com/allocviz/allocviz/allocator"
)

// EventLogOptions choose what the event log shows.
type EventLogOptions struct {
	Width, Height int
	Scroll        int    // lines scrolled back from the cursor; 0 ends the log at the cursor
	Selected      uint64 // Seq of the event to mark selected; 0 for none
	Detail        bool   // list every split and merge instead of folding each run into one line
}

// logLine is one line of the event log before it is cut to the view.
type logLine struct {
	spans []Span
	cont  bool // the continuation of a wrapped explanation
}

// EventLog renders the steps up to the cursor, newest at the bottom: for
// each step a header with the call and its script line, its narration, and
// its events, each with its explanation (the rule that applied). Events
// the model could not apply say so. The cursor's step is titled; events
// after the cursor (when it is in the middle of a step) are muted.
func (m *Model) EventLog(o EventLogOptions) []Row {
	v := newView(o.Width, o.Height)
	if m.head == nil || o.Width <= 0 || o.Height <= 0 {
		return v.done()
	}
	title := fmt.Sprintf("Events: step %d/%d, event %d/%d", m.step, m.Steps(), m.cur.pos, len(m.events))
	if n := len(m.anomalies); n > 0 {
		title += fmt.Sprintf(", %d not applied", n)
	}
	v.line(CellTitle, title)
	want := o.Height - 1 + max(o.Scroll, 0)
	var blocks [][]logLine
	total := 0
	for st := m.step; st >= 0 && total < want; st-- {
		b := m.stepLines(st, o)
		blocks = append(blocks, b)
		total += len(b)
	}
	var lines []logLine
	for i := len(blocks) - 1; i >= 0; i-- {
		lines = append(lines, blocks[i]...)
	}
	end := max(len(lines)-max(o.Scroll, 0), 0)
	start := max(end-(o.Height-1), 0)
	for i, l := range lines[start:end] {
		b := newRow(o.Width)
		if i == 0 && l.cont && len(l.spans) > 1 {
			// The view begins inside a wrapped explanation: say so.
			n := len([]rune(l.spans[0].Text))
			b.put(CellMuted, 0, l.spans[0].Mark, "  …"+strings.Repeat(" ", max(n-3, 0)))
			l.spans = l.spans[1:]
		}
		for _, s := range l.spans {
			b.put(s.Kind, s.Class, s.Mark, s.Text)
		}
		v.add(b.row())
	}
	return v.done()
}

// stepLines lays out one step of the log at width o.Width.
func (m *Model) stepLines(st int, o EventLogOptions) []logLine {
	start, end := m.stepSpan(st)
	var out []logLine
	head := CellLabel
	if st == m.step {
		head = CellTitle
	}
	op, src := "boot", ""
	if st > 0 {
		op, src = m.events[start].Op, m.events[start].Src
	}
	h := fmt.Sprintf("step %d  ", st)
	if src != "" {
		op = cut(op, max(o.Width-len(h)-len([]rune(src))-2, 8))
	}
	h += op
	l := logLine{spans: []Span{{Kind: head, Text: h}}}
	if src != "" {
		gap := max(o.Width-len([]rune(h))-len([]rune(src)), 2)
		l.spans = append(l.spans, Span{Kind: CellBlank, Text: strings.Repeat(" ", gap)}, Span{Kind: CellMuted, Text: src})
	}
	out = append(out, l)
	seqW := len(fmt.Sprint(m.events[len(m.events)-1].Seq)) + 1
	prefix := 2 + seqW + 1 + 12 + 1
	for i := start; i < end; i++ {
		e := &m.events[i]
		if e.Kind == allocator.EvStep {
			continue
		}
		var mk Mark
		if o.Selected != 0 && e.Seq == o.Selected {
			mk = MarkSelected
		}
		after := i >= m.cur.pos
		if !o.Detail && (e.Kind == allocator.EvSplit || e.Kind == allocator.EvMerge) && !m.isBad(i) {
			j := i
			for j < end && m.events[j].Kind == e.Kind && !m.isBad(j) {
				if o.Selected != 0 && m.events[j].Seq == o.Selected {
					mk = MarkSelected
				}
				j++
			}
			if j-i > 1 {
				what := "splits"
				if e.Kind == allocator.EvMerge {
					what = "merges"
				}
				text := fmt.Sprintf("%d %s: orders %d..%d at pfn %#x", j-i, what, min(e.Order, m.events[j-1].Order),
					max(e.Order, m.events[j-1].Order), min(e.PFN, m.events[j-1].PFN))
				out = append(out, m.eventLine(e, text, seqW, prefix, o.Width, mk, after)...)
				i = j - 1
				continue
			}
		}
		text := Explain(e)
		if e.Kind == allocator.EvSay {
			text = fmt.Sprintf("%q", e.Text)
		}
		if m.isBad(i) {
			for _, a := range m.anomalies {
				if a.Pos == i {
					text += " (not applied: " + a.Err.Error() + ")"
					break
				}
			}
		}
		out = append(out, m.eventLine(e, text, seqW, prefix, o.Width, mk, after)...)
	}
	return out
}

// eventLine lays out one event: "  #seq kind        explanation", the
// explanation wrapped under itself.
func (m *Model) eventLine(e *allocator.Event, text string, seqW, prefix, width int, mk Mark, after bool) []logLine {
	kind, body := CellLabel, CellText
	switch e.Kind {
	case allocator.EvWarn, allocator.EvBadFree, allocator.EvSlubReport, allocator.EvGuardHit, allocator.EvMisuse, allocator.EvPageFail:
		kind, body = CellWarn, CellWarn
	case allocator.EvCheck:
		kind = CellGood
		if e.Decision == allocator.DecisionFailed {
			kind, body = CellWarn, CellWarn
		}
	case allocator.EvSplit, allocator.EvMerge:
		body = CellMuted
	}
	if after {
		kind, body = CellMuted, CellMuted
	}
	parts := wrap(text, max(width-prefix, 8))
	var out []logLine
	for k, p := range parts {
		var l logLine
		if k == 0 {
			l.spans = []Span{{Kind: CellBlank, Mark: mk, Text: "  "}, {Kind: CellMuted, Mark: mk, Text: fmt.Sprintf("#%-*d", seqW-1, e.Seq)},
				{Kind: CellBlank, Mark: mk, Text: " "}, {Kind: kind, Mark: mk, Text: fmt.Sprintf("%-12s ", e.Kind)}}
		} else {
			l.spans = []Span{{Kind: CellBlank, Mark: mk, Text: strings.Repeat(" ", prefix)}}
			l.cont = true
		}
		l.spans = append(l.spans, Span{Kind: body, Mark: mk, Text: p})
		out = append(out, l)
	}
	return out
}

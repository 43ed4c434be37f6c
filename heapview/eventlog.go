package heapview

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/allocviz/allocviz/allocator"
)

// EventLogOptions choose what the event log shows.
type EventLogOptions struct {
	Width, Height int
	Scroll        int    // lines scrolled back from the cursor; 0 ends the log at the cursor
	Selected      uint64 // Seq of the event to mark selected; 0 for none
	Detail        bool   // list every split, merge and lost object instead of folding each run into one line
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
	title := fmt.Sprintf("Events: step %d/%d, event %d/%d", m.step, m.Steps(), m.cur.pos, m.n)
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
		// A replayed trace's line shows its label (time, task, CPU, call
		// site) where a script's step shows file:line:col.
		e := m.log.At(start)
		op, src = e.Op(), cmp.Or(e.Label(), e.Src())
	}
	h := fmt.Sprintf("step %d  ", st)
	indent := len(h)
	below := "" // a source too long for the call's line goes on a line of its own under it
	if src != "" {
		avail := o.Width - len(h) - 2
		opw, srcw := len([]rune(op)), len([]rune(src))
		switch {
		case opw+srcw <= avail:
		case srcw > avail/2:
			// A trace's label is longer than a script's file:line:col.
			op, below, src = cut(op, o.Width-len(h)), cut(src, o.Width-indent), ""
		default:
			op = cut(op, max(avail-srcw, 8))
		}
	}
	h += op
	l := logLine{spans: []Span{{Kind: head, Text: h}}}
	if src != "" {
		gap := max(o.Width-len([]rune(h))-len([]rune(src)), 2)
		l.spans = append(l.spans, Span{Kind: CellBlank, Text: strings.Repeat(" ", gap)}, Span{Kind: CellMuted, Text: src})
	}
	out = append(out, l)
	if below != "" {
		out = append(out, logLine{spans: []Span{{Kind: CellBlank, Text: strings.Repeat(" ", indent)}, {Kind: CellMuted, Text: below}}})
	}
	seqW := len(fmt.Sprint(m.n)) + 1
	prefix := 2 + seqW + 1 + 12 + 1
	for i := start; i < end; i++ {
		e := m.log.At(i)
		if e.Kind() == allocator.EvStep {
			continue
		}
		var mk Mark
		if o.Selected != 0 && e.Seq() == o.Selected {
			mk = MarkSelected
		}
		after := i >= m.cur.pos
		// A run of a chain kind (splits, merges) or of objects a repair
		// lost is one line unless every event is asked for.
		lost := e.Kind() == allocator.EvObjAlloc && e.Path() == "lost"
		if !o.Detail && (e.Kind().Chain() || lost) && !m.isBad(i) {
			j := i
			for j < end && !m.isBad(j) {
				f := m.log.At(j)
				if f.Kind() != e.Kind() || lost && (f.Path() != "lost" || f.PFN() != e.PFN()) {
					break
				}
				if o.Selected != 0 && f.Seq() == o.Selected {
					mk = MarkSelected
				}
				j++
			}
			if j-i > 1 {
				run := make([]int, 0, j-i)
				for k := i; k < j; k++ {
					run = append(run, k)
				}
				out = append(out, m.eventLine(e, m.runText(run), seqW, prefix, o.Width, mk, after)...)
				i = j - 1
				continue
			}
		}
		text := e.Explain()
		if e.Kind() == allocator.EvSay {
			text = fmt.Sprintf("%q", e.Text())
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
func (m *Model) eventLine(e allocator.Event, text string, seqW, prefix, width int, mk Mark, after bool) []logLine {
	kind, body := CellLabel, CellText
	switch {
	case e.Report():
		kind, body = CellWarn, CellWarn
	case e.Decision() == allocator.DecisionOK:
		kind = CellGood
	case e.Kind().Chain():
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
			l.spans = []Span{{Kind: CellBlank, Mark: mk, Text: "  "}, {Kind: CellMuted, Mark: mk, Text: fmt.Sprintf("#%-*d", seqW-1, e.Seq())},
				{Kind: CellBlank, Mark: mk, Text: " "}, {Kind: kind, Mark: mk, Text: fmt.Sprintf("%-12s ", e.Kind())}}
		} else {
			l.spans = []Span{{Kind: CellBlank, Mark: mk, Text: strings.Repeat(" ", prefix)}}
			l.cont = true
		}
		l.spans = append(l.spans, Span{Kind: body, Mark: mk, Text: p})
		out = append(out, l)
	}
	return out
}

// indexRanges prints ascending indexes as ranges: "0, 2-24".
func indexRanges(idx []int) string {
	var b strings.Builder
	for k := 0; k < len(idx); {
		j := k
		for j+1 < len(idx) && idx[j+1] == idx[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		if j > k {
			fmt.Fprintf(&b, "%d-%d", idx[k], idx[j])
		} else {
			fmt.Fprintf(&b, "%d", idx[k])
		}
		k = j + 1
	}
	return b.String()
}

// chainText describes a run of splits or merges that form one chain, as
// expand() and __free_one_page() make them: "8 splits: the order-8 block
// at pfn 0x100 halved down to order 0", "8 merges: from order 0 at pfn
// 0x1ff up to an order-8 block at pfn 0x100". A replayed trace's page is
// split out of the free block around it (allocator.Machine.AllocPagesAt):
// each split keeps the half with the page, the upper one where the split
// says so. run holds their positions.
func (m *Model) chainText(run []int) (string, bool) {
	first, last := m.log.At(run[0]), m.log.At(run[len(run)-1])
	upper := false
	for k := 1; k < len(run); k++ {
		p, e := m.log.At(run[k-1]), m.log.At(run[k])
		po, eo, pp, ep := p.Order(), e.Order(), p.PFN(), e.PFN()
		if eo < 0 || eo > allocator.MaxPageOrder || po < 0 || po > allocator.MaxPageOrder {
			return "", false
		}
		switch e.Kind() {
		case allocator.EvSplit:
			if p.Path() == "upper" {
				pp, upper = pp+1<<(po-1), true
			}
			if ep != pp || eo != po-1 {
				return "", false
			}
		case allocator.EvMerge:
			merged := min(pp, pp^1<<po)
			if eo != po+1 || merged != ep && merged != ep^1<<eo {
				return "", false
			}
		}
	}
	fo, lo := first.Order(), last.Order()
	if lo < 0 || lo >= allocator.MaxPageOrder || fo < 1 && first.Kind() == allocator.EvSplit {
		return "", false
	}
	if first.Kind() == allocator.EvSplit {
		if upper || last.Path() == "upper" {
			return fmt.Sprintf("%d splits: the order-%d block at pfn %#x halved down to order %d around the block kept; each other half to the free list one order below",
				len(run), fo, first.PFN(), lo-1), true
		}
		return fmt.Sprintf("%d splits: the order-%d block at pfn %#x halved down to order %d; each upper half to the free list one order below",
			len(run), fo, first.PFN(), lo-1), true
	}
	return fmt.Sprintf("%d merges: from order %d at pfn %#x up to an order-%d block at pfn %#x",
		len(run), fo, first.PFN(), lo+1, min(last.PFN(), last.PFN()^1<<lo)), true
}

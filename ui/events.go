package ui

import (
	"fmt"
	"strings"

	"github.com/allocviz/allocviz/allocator"
	"github.com/allocviz/allocviz/heapview"
	"github.com/allocviz/allocviz/scripts"
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

// maxWhyEvents bounds the explanation lines for one step: a loop typed at
// the prompt is one input but may cause thousands of events.
const maxWhyEvents = 40

// whyLines explains step si: its narration first, then (with withCall)
// the call and its result, then the decisions with the rule each applied,
// and last the mechanics (splits, merges, list moves), runs of which are
// summed up in one line. Lines are wrapped to width.
func whyLines(st Styles, si heapview.StepInfo, boot string, step *scripts.Step, printed []scripts.Printed, width int, withCall bool) []string {
	var out []string
	add := func(style func(...string) string, prefix, text string) {
		for i, l := range heapview.Wrap(text, max(1, width-len([]rune(prefix)))) {
			if i > 0 {
				prefix = strings.Repeat(" ", len([]rune(prefix)))
			}
			out = append(out, style(prefix+l))
		}
	}
	for _, n := range si.Narration {
		add(st.Emph.Render, "", n)
	}
	if step != nil {
		// A say() step is its narration: the call would only repeat it.
		if withCall && (len(si.Narration) == 0 || len(si.Events) > len(si.Narration)+1) {
			call := step.Op
			if step.Result != "" {
				call += " = " + step.Result
			}
			add(st.Accent.Render, "", call)
		}
		if step.Err != "" {
			add(st.StatusErr.Render, "✗ ", step.Err)
		}
	}
	for _, p := range printed {
		add(st.Text.Render, "print: ", p.Text)
	}
	shown := 0
	head := heapview.Headline(si.Events)
	if si.Step == 0 {
		// Boot is many events of a few kinds: none of them sums it up.
		add(st.Emph.Render, "▸ ", boot)
		head = nil
		shown++
	}
	if head != nil {
		add(st.Emph.Render, "▸ ", heapview.Explain(head))
		shown++
	}
	var mech []*allocator.Event
	for i := range si.Events {
		e := &si.Events[i]
		switch {
		case e.Kind == allocator.EvStep || e.Kind == allocator.EvSay || e == head:
			continue
		case mechanical(e, si.Step):
			mech = append(mech, e)
			continue
		}
		if shown == maxWhyEvents {
			continue
		}
		shown++
		switch {
		case e.Kind == allocator.EvCheck && e.Decision == allocator.DecisionOK:
			add(st.StatusOK.Render, "✓ ", e.Text)
		case e.Kind == allocator.EvCheck:
			add(st.StatusErr.Render, "✗ ", "check failed: "+e.Text)
		case isReport(e.Kind):
			add(st.StatusErr.Render, "! ", heapview.Explain(e))
		case e.Kind == allocator.EvRealloc:
			add(st.Emph.Render, "• ", heapview.Explain(e))
		default:
			add(st.Text.Render, "• ", heapview.Explain(e))
		}
	}
	for i := 0; i < len(mech) && shown < maxWhyEvents; shown++ {
		j := i + 1
		for j < len(mech) && mech[j].Kind == mech[i].Kind {
			j++
		}
		if j-i >= 3 {
			add(st.Muted.Render, "· ", summarize(mech[i:j]))
			i = j
			continue
		}
		add(st.Muted.Render, "· ", heapview.Explain(mech[i]))
		i++
	}
	if n := len(si.Events) - len(si.Narration) - 1; shown >= maxWhyEvents && n > shown {
		out = append(out, st.Muted.Render(fmt.Sprintf("  … %d events in all", n)))
	}
	return out
}

// mechanical reports whether e is a consequence of a decision rather
// than a decision: a split, a merge, a slab moving between lists, a
// tracepoint that repeats an allocation, and boot's initial free blocks.
func mechanical(e *allocator.Event, step int) bool {
	switch e.Kind {
	case allocator.EvSplit, allocator.EvMerge, allocator.EvSlabList, allocator.EvKfree, allocator.EvKmalloc:
		return true
	case allocator.EvPageFree:
		return step == 0
	}
	return false
}

// summarize says in one line what a run of events of one kind did.
func summarize(run []*allocator.Event) string {
	first, last := run[0], run[len(run)-1]
	switch first.Kind {
	case allocator.EvSplit:
		return fmt.Sprintf("%d splits: the order-%d block at pfn %#x halved down to order %d, each upper half to a free list",
			len(run), first.Order, first.PFN, last.Order-1)
	case allocator.EvMerge:
		return fmt.Sprintf("%d merges: the block at pfn %#x joined its free buddies up to order %d",
			len(run), min(last.PFN, last.PFN^1<<last.Order), last.Order+1)
	case allocator.EvPageFree:
		return fmt.Sprintf("%d free blocks put on the free lists, from pfn %#x to pfn %#x", len(run), first.PFN, last.PFN)
	}
	return fmt.Sprintf("%d × %s", len(run), first.Kind)
}

// isReport reports whether events of kind k report misuse or trouble.
func isReport(k allocator.EventKind) bool {
	switch k {
	case allocator.EvWarn, allocator.EvBadFree, allocator.EvSlubReport, allocator.EvGuardHit,
		allocator.EvMisuse, allocator.EvPageFail:
		return true
	}
	return false
}

// fileLine drops the column from file:line:col, and the directories.
func fileLine(pos string) string {
	if i := strings.LastIndexByte(pos, ':'); i > 0 {
		pos = pos[:i]
	}
	if i := strings.LastIndexByte(pos, '/'); i >= 0 {
		pos = pos[i+1:]
	}
	return pos
}

// refreshEvents fills the event log (heapview's, ending at the step
// shown unless scrolled back) and the Why strip.
func (m *Model) refreshEvents() {
	hv := m.src.hv
	si, err := hv.StepInfo(m.step)
	if err != nil {
		return
	}
	var cur *scripts.Step
	if st, ok := m.src.step(m.step); ok {
		cur = &st
	}
	where := "boot"
	if cur != nil {
		where = fileLine(cur.Pos)
	}
	if w, _ := m.why.Size(); w > 0 {
		why := whyLines(m.styles, si, hv.BootSummary(), cur, printedAt(m.src.rec.printed, m.step), w, true)
		top := m.why.top
		m.why.set(fmt.Sprintf("Why · step %d of %d · %s", m.step, m.lastStep(), where), why)
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

// printedAt returns the print() output of step n.
func printedAt(all []scripts.Printed, n int) []scripts.Printed {
	var out []scripts.Printed
	for _, p := range all {
		if p.Step == n {
			out = append(out, p)
		}
	}
	return out
}

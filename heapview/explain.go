package heapview

import (
	"fmt"
	"strings"

	"github.com/allocviz/allocviz/allocator"
)

// Headline returns the sentence that sums up the events [start, end) of
// log (one step) and the positions of the events it tells: the event that
// ranks first as a headline (allocator.EventKind.HeadlineRank) and has a
// text, leaving out decisions nested inside another call (the krealloc
// inside a kvrealloc is not the kvrealloc's headline), completed where one
// sentence is not the whole story:
//
//   - a call that failed (a kmalloc that returned NULL, a krealloc that
//     could not move), by why: the page allocator's failure, or fault
//     injection's;
//   - a kmalloc, by where in the cache the object came from;
//   - a free that set off more than its own slab's move (a per-CPU partial
//     list drained to the node, slabs discarded), by the last of those.
//
// With no such event it is the first text the step's events carry (the
// narration, the check's message). allocviz run prints it on each step's
// line (shortened by ShortReport), and the interface's "why" strip leads
// with it.
func Headline(log *allocator.EventLog, start, end int) (string, []int) {
	b, used := AppendHeadline(nil, log, start, end)
	return string(b), used
}

// AppendHeadline appends Headline's sentence to b.
func AppendHeadline(b []byte, log *allocator.EventLog, start, end int) ([]byte, []int) {
	best, rank := -1, 0
	for i := start; i < end; i++ {
		e := log.At(i)
		r := e.Kind().HeadlineRank()
		if r == 0 || best >= 0 && r >= rank || e.Nested() || !e.HasText() {
			continue
		}
		best, rank = i, r
	}
	if best < 0 {
		// A CPU switch sums a step up only when nothing else does: a
		// replayed trace's line switches to its CPU before its call.
		cpu := -1
		for i := start; i < end; i++ {
			switch e := log.At(i); {
			case e.Kind() == allocator.EvCPU:
				if cpu < 0 {
					cpu = i
				}
			case e.Kind() != allocator.EvStep && e.HasText():
				return e.AppendText(b), []int{i}
			}
		}
		if cpu >= 0 {
			return log.At(cpu).AppendText(b), []int{cpu}
		}
		return b, nil
	}
	e := log.At(best)
	b = e.AppendText(b)
	switch {
	case e.Failed():
		// Why it failed: the page allocator found no block, or fault
		// injection failed it on purpose.
		if f := firstFailure(log, start, end); f >= 0 && f != best {
			sep := "; cause: " // a decision that already says it failed
			if e.Kind() == allocator.EvKmalloc {
				sep = "; failed: "
			}
			return log.At(f).AppendText(append(b, sep...)), []int{best, f}
		}
	case e.Kind() == allocator.EvKmalloc && e.CacheID() != 0:
		if o := firstText(log, start, end, allocator.EvObjAlloc); o >= 0 {
			return log.At(o).AppendText(append(b, "; "...)), []int{best, o}
		}
	case e.Kind() == allocator.EvObjFree:
		last, n := -1, 0
		for i := start; i < end; i++ {
			if k := log.At(i).Kind(); k == allocator.EvSlabList || k == allocator.EvSlabDiscard {
				last, n = i, n+1
			}
		}
		if n > 1 {
			return log.At(last).AppendText(append(b, "; "...)), []int{best, last}
		}
	}
	return b, []int{best}
}

// firstFailure returns the position of the first event in [start, end)
// that tells why an allocation failed (the page allocator found no block,
// fault injection failed it), or -1.
func firstFailure(log *allocator.EventLog, start, end int) int {
	for i := start; i < end; i++ {
		if e := log.At(i); e.Failed() && e.Kind() != allocator.EvKmalloc && e.HasText() {
			return i
		}
	}
	return -1
}

// firstText returns the position of the first event of kind in [start,
// end) that has a text, or -1.
func firstText(log *allocator.EventLog, start, end int, kind allocator.EventKind) int {
	for i := start; i < end; i++ {
		if e := log.At(i); e.Kind() == kind && e.HasText() {
			return i
		}
	}
	return -1
}

// ShortReport shortens a text of several lines to one. A SLUB report (a
// "BUG <cache>" line between rules, the corruption found, an object dump,
// "FIX" lines) becomes its BUG line, the corruption line and the last FIX
// line; anything else keeps its first line.
func ShortReport(text string) string {
	first, _, multi := strings.Cut(text, "\n")
	if !multi {
		return text
	}
	var bug, detail, fix string
	for _, l := range strings.Split(text, "\n") {
		switch {
		case strings.HasPrefix(l, "BUG ") && bug == "":
			bug = l
		case strings.HasPrefix(l, "[") && detail == "":
			detail = l
		case strings.HasPrefix(l, "FIX "):
			fix = l
		}
	}
	if bug == "" {
		return first
	}
	if detail != "" {
		bug += ": " + detail
	}
	if fix != "" {
		bug += "; " + fix
	}
	return bug
}

// runText tells a run of events of one kind in one line, for the event
// log and the "why" strip: the splits of one allocation or the merges of
// one free as the chain expand() and __free_one_page() make, the blocks
// boot freed, the objects a repair lost. run holds their positions.
func (m *Model) runText(run []int) string {
	first, last := m.log.At(run[0]), m.log.At(run[len(run)-1])
	n := len(run)
	switch first.Kind() {
	case allocator.EvSplit, allocator.EvMerge:
		if c, ok := m.chainText(run); ok {
			return c
		}
		what := "splits"
		if first.Kind() == allocator.EvMerge {
			what = "merges"
		}
		return fmt.Sprintf("%d %s: orders %d..%d at pfn %#x", n, what, min(first.Order(), last.Order()),
			max(first.Order(), last.Order()), min(first.PFN(), last.PFN()))
	case allocator.EvPageFree:
		return fmt.Sprintf("%d free blocks put on the free lists, from pfn %#x to pfn %#x", n, first.PFN(), last.PFN())
	case allocator.EvObjAlloc:
		if first.Path() == "lost" {
			idx := make([]int, 0, n)
			for _, k := range run {
				idx = append(idx, m.log.At(k).Object())
			}
			return fmt.Sprintf("%d objects of the %s slab at pfn %#x lost: on no freelist until the slab is freed (objects %s)",
				n, first.Cache(), first.PFN(), indexRanges(idx))
		}
	}
	return fmt.Sprintf("%d × %s", n, first.Kind())
}

// WhyStyle says what a line of the "why" strip is.
type WhyStyle uint8

// Styles of the "why" strip.
const (
	WhyHeadline  WhyStyle = iota // the sentence that sums the step up (Headline)
	WhyPass                      // a check that passed
	WhyFail                      // a check that failed
	WhyReport                    // a report: a warning, misuse, a fault, a failed allocation
	WhyDecision                  // a decision with its rule
	WhyEvent                     // anything else the step did
	WhyMechanics                 // a consequence: splits, merges, list moves, tracepoints
	WhyMore                      // how many events there are when not all are shown
)

// WhyLine is one line of the "why" strip, before wrapping.
type WhyLine struct {
	Style WhyStyle
	Text  string
}

// Why explains step (0 is boot) for the "why" strip: the headline, then
// each decision and event with the rule it applied, and last the mechanics
// (splits, merges, list moves, tracepoints), runs of one kind told in one
// line. Narration (say) is left out: StepInfo.Narration has it. At most
// max lines tell events, since a loop typed at the prompt is one step but
// may cause thousands of events.
func (m *Model) Why(step, max int) []WhyLine {
	if step < 0 || step > m.nsteps {
		return nil
	}
	start, end := m.stepSpan(step)
	var out []WhyLine
	shown := 0
	text, used := Headline(m.log, start, end)
	if len(used) == 1 {
		// A step that narrates or checks has its own lines: the
		// narration (StepInfo.Narration), the check passed or failed.
		if k := m.log.At(used[0]).Kind(); k == allocator.EvSay || k == allocator.EvCheck {
			text, used = "", nil
		}
	}
	if text != "" {
		out = append(out, WhyLine{WhyHeadline, text})
		shown++
	}
	var mech []int
	narration := 0
events:
	for i := start; i < end; i++ {
		for _, u := range used {
			if u == i {
				continue events
			}
		}
		e := m.log.At(i)
		switch {
		case e.Kind() == allocator.EvStep:
			continue
		case e.Kind() == allocator.EvSay:
			narration++
			continue
		case e.Class() == allocator.ClassMechanism || e.Kind().Trace():
			mech = append(mech, i)
			continue
		}
		if shown == max {
			continue
		}
		shown++
		switch {
		case e.Decision() == allocator.DecisionOK:
			out = append(out, WhyLine{WhyPass, e.Text()})
		case e.Decision() == allocator.DecisionFailed:
			out = append(out, WhyLine{WhyFail, e.Explain()})
		case e.Report():
			out = append(out, WhyLine{WhyReport, e.Explain()})
		case e.Class() == allocator.ClassDecision:
			out = append(out, WhyLine{WhyDecision, e.Explain()})
		default:
			out = append(out, WhyLine{WhyEvent, e.Explain()})
		}
	}
	for i := 0; i < len(mech) && shown < max; shown++ {
		j := i + 1
		for j < len(mech) && m.log.At(mech[j]).Kind() == m.log.At(mech[i]).Kind() {
			j++
		}
		if j-i >= 3 {
			out = append(out, WhyLine{WhyMechanics, m.runText(mech[i:j])})
			i = j
			continue
		}
		out = append(out, WhyLine{WhyMechanics, m.log.At(mech[i]).Explain()})
		i++
	}
	if n := end - start - narration - 1; shown >= max && n > shown {
		out = append(out, WhyLine{WhyMore, fmt.Sprintf("… %d events in all", n)})
	}
	return out
}

package heapview

import (
	"fmt"

	"github.com/allocviz/allocviz/allocator"
)

// WhyOptions choose what the "why" strip shows. Besides its events, a
// step is what the scripting session recorded of it: the call as run, its
// result, its error and its print() output.
type WhyOptions struct {
	Width, Height int
	Step          int      // 0 is boot
	Label         string   // a replayed trace's line: time, task, CPU, call site ("" for a script's step)
	Call          string   // the call with its argument values and its result ("kmalloc(100, GFP_KERNEL) = 0x…"); "" for none
	Err           string   // the error that ended the script in this step
	Printed       []string // the step's print() output
}

// maxWhyEvents bounds the events the strip tells for one step: a loop
// typed at the prompt is one step but may cause thousands of events.
const maxWhyEvents = 40

// whyLine is a line of the strip before it is wrapped.
type whyLine struct {
	kind   CellKind
	prefix string
	text   string
}

// whyKinds are the cell kind and the glyph of each WhyStyle.
var whyKinds = [...]struct {
	kind   CellKind
	prefix string
}{
	WhyHeadline:  {CellTitle, "▸ "},
	WhyPass:      {CellGood, "✓ "},
	WhyFail:      {CellWarn, "✗ "},
	WhyReport:    {CellWarn, "! "},
	WhyDecision:  {CellTitle, "• "},
	WhyEvent:     {CellText, "• "},
	WhyMechanics: {CellMuted, "· "},
	WhyMore:      {CellMuted, "  "},
}

// WhyStrip renders the "why" of a step: its narration first (a step that
// only narrates is its narration: no call line repeats it), then a
// replayed trace's line (its label), the call and its result, the error that ended the script, its print() output,
// and then what its events did (Why): the headline, the decisions with
// the rule each applied, reports and checks (a SLUB report shortened to
// its BUG line, ShortReport), and last the mechanics. Boot
// is summed up by BootSummary rather than by the last of its many events.
// Each line wraps at spaces under its glyph. The strip has exactly Height
// rows of Width cells; when the lines do not all fit, the last row says
// how many more there are.
func (m *Model) WhyStrip(o WhyOptions) []Row {
	v := newView(o.Width, o.Height)
	if m.head == nil || o.Width <= 0 || o.Height <= 0 || o.Step < 0 || o.Step > m.nsteps {
		return v.done()
	}
	si, err := m.StepInfo(o.Step)
	if err != nil {
		return v.done()
	}
	var lines []whyLine
	for _, n := range si.Narration {
		lines = append(lines, whyLine{CellTitle, "", n})
	}
	if o.Label != "" {
		lines = append(lines, whyLine{CellMuted, "", o.Label})
	}
	if o.Call != "" && !m.onlyNarrates(o.Step) {
		lines = append(lines, whyLine{CellBar, "", o.Call})
	}
	if o.Err != "" {
		lines = append(lines, whyLine{CellWarn, "✗ ", o.Err})
	}
	for _, p := range o.Printed {
		lines = append(lines, whyLine{CellText, "print: ", p})
	}
	if o.Step == 0 {
		lines = append(lines, whyLine{CellTitle, "▸ ", m.BootSummary()})
	}
	for _, l := range m.Why(o.Step, maxWhyEvents) {
		if o.Step == 0 && l.Style == WhyHeadline {
			continue
		}
		k := whyKinds[WhyMore]
		if int(l.Style) < len(whyKinds) {
			k = whyKinds[l.Style]
		}
		// A report of many lines (SLUB's) is told by its BUG line, what
		// it found and its FIX; the event log has the whole of it.
		lines = append(lines, whyLine{k.kind, k.prefix, ShortReport(l.Text)})
	}
	var rows []Row
	for _, l := range lines {
		indent := len([]rune(l.prefix))
		for i, part := range Wrap(l.text, max(o.Width-indent, 8)) {
			b := newRow(o.Width)
			if i == 0 {
				b.put(l.kind, 0, 0, l.prefix)
			}
			b.pad(indent)
			b.put(l.kind, 0, 0, part)
			rows = append(rows, b.row())
		}
	}
	if len(rows) > o.Height {
		rest := len(rows) - o.Height + 1
		rows = rows[:o.Height-1]
		b := newRow(o.Width)
		more := "lines"
		if rest == 1 {
			more = "line"
		}
		b.put(CellMuted, 0, 0, fmt.Sprintf("… %d more %s", rest, more))
		rows = append(rows, b.row())
	}
	for _, r := range rows {
		v.add(r)
	}
	return v.done()
}

// onlyNarrates reports whether step st does nothing but narrate: a say().
func (m *Model) onlyNarrates(st int) bool {
	start, end := m.stepSpan(st)
	said := false
	for i := start; i < end; i++ {
		switch m.log.At(i).Kind() {
		case allocator.EvStep:
		case allocator.EvSay:
			said = true
		default:
			return false
		}
	}
	return said
}

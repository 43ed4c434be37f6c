package ui

import (
	"fmt"
	"strings"

	"github.com/allocviz/allocviz/heapview"
	"github.com/allocviz/allocviz/scripts"
)

// eventsPane is the event log: the steps up to the one shown, each with
// its script line, its events and the rule each applied. The smaller
// layouts also show the current step's "why" in a strip under the
// focused pane.
type eventsPane struct {
	textPane
	back     int      // lines scrolled back from the step shown
	why      []string // the current step's explanation, styled, exactly the strip's width
	whyTitle string
}

func (p *eventsPane) reset() { p.top, p.back = 0, 0 }

// scrollBack scrolls the log d lines further into the past.
func (p *eventsPane) scrollBack(d int) { p.back = max(0, p.back+d) }

// WhyTitle is the narration strip's title.
func (p *eventsPane) WhyTitle() string { return p.whyTitle }

// maxWhyEvents bounds the explanation lines for one step: a loop typed at
// the prompt is one input but may cause thousands of events.
const maxWhyEvents = 40

// whyLines explains step si: its narration first, then (with withCall)
// the call and its result, then heapview's account of its events (Why):
// the headline, the decisions with the rule each applied, and last the
// mechanics. Lines are wrapped to width.
func whyLines(st Styles, hv *heapview.Model, si heapview.StepInfo, step *scripts.Step, printed []scripts.Printed, width int, withCall bool) []string {
	var out []string
	add := func(style func(...string) string, prefix, text string) {
		for i, l := range wrap(text, max(1, width-len([]rune(prefix)))) {
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
		if withCall && step.Label != "" {
			add(st.Muted.Render, "", step.Label) // a trace's line: time, task, CPU, call site
		}
		if withCall {
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
	for _, l := range hv.Why(si.Step, maxWhyEvents) {
		switch l.Style {
		case heapview.WhyHeadline:
			add(st.Emph.Render, "▸ ", l.Text)
		case heapview.WhyPass:
			add(st.StatusOK.Render, "✓ ", l.Text)
		case heapview.WhyFail:
			add(st.StatusErr.Render, "✗ ", l.Text)
		case heapview.WhyReport:
			add(st.StatusErr.Render, "! ", l.Text)
		case heapview.WhyDecision:
			add(st.Emph.Render, "• ", l.Text)
		case heapview.WhyEvent:
			add(st.Text.Render, "• ", l.Text)
		case heapview.WhyMechanics:
			add(st.Muted.Render, "· ", l.Text)
		case heapview.WhyMore:
			out = append(out, st.Muted.Render("  "+l.Text))
		}
	}
	return out
}

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

// refreshEvents fills the event log (heapview's, ending at the step
// shown unless scrolled back) and the narration strip.
func (m *Model) refreshEvents() {
	hv := m.src.hv
	si, err := hv.StepInfo(m.step)
	if err != nil {
		return
	}
	var cur *scripts.Step
	if m.step > 0 && m.step <= m.src.sess.NumSteps() {
		st := m.src.sess.Step(m.step)
		cur = &st
	}
	where := "boot"
	if cur != nil {
		where = fileLine(cur.Pos)
	}
	m.events.whyTitle = fmt.Sprintf("Why · step %d of %d · %s", m.step, m.lastStep(), where)
	if m.lay.why.visible() {
		ww, wh := m.frames.inner(m.lay.why)
		why := whyLines(m.styles, hv, si, cur, printedAt(m.src.sess.Printed(), m.step), ww, true)
		if len(why) > wh {
			why = why[:wh]
		}
		for i, l := range why {
			why[i] = fitLine(l, ww)
		}
		m.events.why = why
	}
	w, h := m.events.Size()
	if w <= 0 || h <= 0 {
		return
	}
	rows := hv.EventLog(heapview.EventLogOptions{Width: w, Height: h, Scroll: m.events.back})
	m.events.setExact("Event log", m.cells.rows(rows, w))
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

package main

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"strings"

	"github.com/allocviz/allocviz/heapview"
)

// The HTML export: one self-contained page (no network, no external
// assets) that steps through a session. heapview's renderers draw each
// pane at every step as rows of semantic spans; the page gets each span's
// text and a style, a CSS class per cell kind, class and mark, so the page
// and the interface colour the same cells the same way. A pane's rows are
// stored as deltas (the rows that differ from the step before), so a long
// lesson stays small; the page rebuilds each step's rows when it loads.

//go:embed export.html
var htmlPage string

//go:embed export.js
var htmlScript string

// htmlPane is a pane of the page and how heapview draws it.
type htmlPane struct {
	Name, Title string
	Width       int
	render      func(hv *heapview.Model) []heapview.Row
}

// htmlPageMap is the page's map of physical memory.
var htmlPageMap = heapview.PageMapOptions{Width: 100, Height: 24}

// htmlPanes are the panes of the page, in the order it shows them.
func htmlPanes() []htmlPane {
	return []htmlPane{
		{Name: "pages", Title: "Physical memory", Width: 100, render: func(hv *heapview.Model) []heapview.Row {
			return hv.PageMap(htmlPageMap).Rows
		}},
		{Name: "slabs", Title: "Slab caches", Width: 100, render: func(hv *heapview.Model) []heapview.Row {
			return hv.SlabTable(heapview.SlabTableOptions{Width: 100, Height: 24, Sort: heapview.ColObjects, Desc: true})
		}},
		{Name: "vmalloc", Title: "vmalloc space", Width: 100, render: func(hv *heapview.Model) []heapview.Row {
			return hv.VmallocView(heapview.VmallocOptions{Width: 100, Height: 16})
		}},
	}
}

// htmlData is what the page's script reads (a JSON island).
type htmlData struct {
	Title     string       `json:"title"`
	Styles    []string     `json:"styles"`    // the cells' CSS classes by style number
	WhyStyles []string     `json:"whyStyles"` // the why lines' CSS classes by style number
	Panes     []htmlPane   `json:"panes"`
	Steps     []htmlStep   `json:"steps"`
	Series    []htmlSeries `json:"series"`
	Map       htmlMap      `json:"map"` // where each page frame is in the pages pane
}

// htmlStep is one step: where it came from, what it says and did, and the
// rows of each pane that differ from the step before (all of them at step
// 0), as [row, [style, text, style, text, ...]].
type htmlStep struct {
	Src   string           `json:"src,omitempty"`
	Label string           `json:"label,omitempty"`
	Op    string           `json:"op"`
	Say   []string         `json:"say,omitempty"`
	Why   []any            `json:"why"`             // style, text, style, text, ...
	Rows  map[string][]any `json:"rows,omitempty"`  // pane -> [row, spans, row, spans, ...]
	N     map[string]int   `json:"n,omitempty"`     // pane -> its row count, where it changed
	Pages [][2]uint64      `json:"pages,omitempty"` // page frame ranges the step changed
}

// htmlMap places page frames in the pages pane: frame pfn is in row
// top + (pfn-first)/scale/cols, column label + (pfn-first)/scale%cols.
type htmlMap struct {
	Scale uint64 `json:"scale"`
	Cols  int    `json:"cols"`
	Label int    `json:"label"`
	Top   int    `json:"top"`
	Lines int    `json:"lines"`
	First uint64 `json:"first"`
}

type htmlSeries struct {
	Name   string  `json:"name"`
	Unit   string  `json:"unit"`
	Values []int64 `json:"values"`
	Jump   int     `json:"jump"` // the step it changed most at
}

var unitNames = map[heapview.Unit]string{heapview.UnitBytes: "bytes", heapview.UnitPages: "pages", heapview.UnitThousandths: "thousandths"}

// whyClasses are the CSS classes of the why strip's line styles.
var whyClasses = map[heapview.WhyStyle]string{heapview.WhyHeadline: "why-headline", heapview.WhyPass: "why-pass",
	heapview.WhyFail: "why-fail", heapview.WhyReport: "why-report", heapview.WhyDecision: "why-decision",
	heapview.WhyEvent: "why-event", heapview.WhyMechanics: "why-mechanics", heapview.WhyMore: "why-more"}

// styleTable numbers the span styles the page uses.
type styleTable struct {
	ids     map[string]int
	classes []string
}

func (t *styleTable) id(class string) int {
	if id, ok := t.ids[class]; ok {
		return id
	}
	if t.ids == nil {
		t.ids = map[string]int{}
	}
	t.ids[class] = len(t.classes)
	t.classes = append(t.classes, class)
	return t.ids[class]
}

// spanClass is the CSS class list of a span: k-KIND, the class for the
// kinds that have one (o-N the order of a free block, c-N a cache's colour
// slot), and mN for each mark 1<<N.
func spanClass(s heapview.Span) string {
	c := "k-" + s.Kind.String()
	switch s.Kind {
	case heapview.CellFree:
		c += fmt.Sprintf(" o-%d", s.Class)
	case heapview.CellSlab, heapview.CellObjUsed:
		c += fmt.Sprintf(" c-%d", s.Class)
	}
	for i := 0; i < 8; i++ {
		if s.Mark&(1<<i) != 0 {
			c += fmt.Sprintf(" m%d", i) // heapview's mark 1<<i
		}
	}
	return c
}

// spanCSS returns the CSS declarations of a span's style in a palette
// (its colour, background, weight...); the interface's styles decide
// them.
type spanCSS func(palette string, s heapview.Span) string

// buildHTML makes the page for a model with its cursor anywhere; it
// leaves the cursor on the last step. css styles the cells in each of the
// palettes, the first being the page's default.
func buildHTML(out io.Writer, hv *heapview.Model, title string, palettes []string, css spanCSS) error {
	var d htmlData
	var styles, whyClass styleTable
	d.Title = title
	d.Panes = htmlPanes()
	pm := hv.PageMap(htmlPageMap)
	d.Map = htmlMap{Scale: pm.Scale, Cols: pm.Cols, Label: pm.Label, Top: pm.Top, Lines: pm.Lines, First: pm.First}
	prev := make([][]string, len(d.Panes)) // each pane's rows at the step before, as JSON
	var styled []heapview.Span             // a span of each style the panes use
	spans := func(r heapview.Row) []any {
		out := make([]any, 0, 2*len(r))
		for _, s := range r {
			n := len(styles.classes)
			out = append(out, styles.id(spanClass(s)), s.Text)
			if len(styles.classes) > n {
				styled = append(styled, s)
			}
		}
		return out
	}
	for st := 0; st <= hv.Steps(); st++ {
		if err := hv.Seek(st); err != nil {
			return err
		}
		info, err := hv.StepInfo(st)
		if err != nil {
			return err
		}
		step := htmlStep{Src: info.Src, Label: info.Label, Op: info.Op, Say: info.Narration, Why: []any{}}
		for _, p := range info.Pages {
			step.Pages = append(step.Pages, [2]uint64{p.PFN, p.N})
		}
		for _, l := range hv.Why(st, 12) {
			step.Why = append(step.Why, whyClass.id(whyClasses[l.Style]), l.Text)
		}
		for i, p := range d.Panes {
			rows := p.render(hv)
			cur := make([]string, len(rows))
			for j, r := range rows {
				b, _ := json.Marshal(spans(r))
				cur[j] = string(b)
				if j < len(prev[i]) && prev[i][j] == cur[j] {
					continue
				}
				if step.Rows == nil {
					step.Rows = map[string][]any{}
				}
				step.Rows[p.Name] = append(step.Rows[p.Name], j, json.RawMessage(b))
			}
			if len(rows) != len(prev[i]) {
				if step.N == nil {
					step.N = map[string]int{}
				}
				step.N[p.Name] = len(rows)
			}
			prev[i] = cur
		}
		d.Steps = append(d.Steps, step)
	}
	for _, k := range hv.SeriesKeys(3, 4) {
		s, err := hv.Series(k)
		if err != nil {
			return err
		}
		jump, _ := s.BiggestChange()
		d.Series = append(d.Series, htmlSeries{Name: s.Name, Unit: unitNames[s.Unit], Values: s.Values, Jump: jump})
	}
	d.Styles, d.WhyStyles = styles.classes, whyClass.classes
	data, err := json.Marshal(d)
	if err != nil {
		return err
	}
	// The JSON sits in a <script> element: "</" must not close it.
	data = bytes.ReplaceAll(data, []byte("</"), []byte(`<\/`))
	var rules strings.Builder
	for _, pal := range palettes {
		for _, sp := range styled {
			fmt.Fprintf(&rules, ".pal-%s .%s { %s }\n", pal, strings.ReplaceAll(spanClass(sp), " ", "."), css(pal, sp))
		}
	}
	var options strings.Builder
	for _, pal := range palettes {
		fmt.Fprintf(&options, "<option value=%q>%s</option>", pal, html.EscapeString(pal))
	}
	page := strings.NewReplacer("{{TITLE}}", html.EscapeString(title), "{{CSS}}", rules.String(),
		"{{PALETTES}}", options.String(), "{{PALETTE}}", palettes[0],
		"{{SCRIPT}}", htmlScript).Replace(htmlPage)
	// The data goes in last: nothing in it is taken for a placeholder.
	i := strings.Index(page, "{{DATA}}")
	if _, err := io.WriteString(out, page[:i]); err != nil {
		return err
	}
	if _, err := out.Write(data); err != nil {
		return err
	}
	_, err = io.WriteString(out, page[i+len("{{DATA}}"):])
	return err
}

// MarshalJSON gives the page a pane's name, title and width.
func (p htmlPane) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Name  string `json:"name"`
		Title string `json:"title"`
		Width int    `json:"width"`
	}{p.Name, p.Title, p.Width})
}

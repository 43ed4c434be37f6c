package ui

import (
	"fmt"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/charmbracelet/lipgloss"

	"github.com/allocviz/allocviz/heapview"
)

// Palette chooses the colours of the interface.
type Palette uint8

// Palettes.
const (
	// PaletteDefault adapts to light and dark terminals.
	PaletteDefault Palette = iota
	// PaletteCB is colour-blind safe: the Okabe-Ito colours, which stay
	// distinct under protanopia, deuteranopia and tritanopia.
	PaletteCB
	// PaletteMono uses no colour at all, for NO_COLOR: kinds are told
	// apart by their glyphs, and the cursor and changes by reverse video
	// and underline.
	PaletteMono
)

var paletteNames = [...]string{PaletteDefault: "default", PaletteCB: "cb", PaletteMono: "mono"}

func (p Palette) String() string {
	if int(p) < len(paletteNames) {
		return paletteNames[p]
	}
	return fmt.Sprintf("Palette(%d)", p)
}

// ParsePalette accepts the names --palette takes: default, cb, mono.
func ParsePalette(s string) (Palette, error) {
	for i, n := range paletteNames {
		if s == n {
			return Palette(i), nil
		}
	}
	if s == "" {
		return PaletteDefault, nil
	}
	return 0, fmt.Errorf("palette: %q is not a palette (allowed: default, cb, mono)", s)
}

// colours is one palette's semantic colours. A nil colour (NoColor)
// means the terminal's default. Every colour is drawn as text on the
// terminal's background (or, reversed, as the background of text in the
// terminal's background colour), except Border, which draws frames, and
// BarBg and CursorBg, the backgrounds of BarFg and CursorFg; contrast_test
// holds every pair to 4.5:1.
type colours struct {
	Text, Muted, Subtle, Accent, Border  lipgloss.TerminalColor
	Free, Reserved, Pages, Slab, Large   lipgloss.TerminalColor
	Vmalloc, Guard, Notice, OK, Bad      lipgloss.TerminalColor
	Selection, Diff                      lipgloss.TerminalColor
	BarFg, BarBg, CursorFg, CursorBg     lipgloss.TerminalColor
	Identity                             []lipgloss.TerminalColor
	InPlace, Moved, Fresh, Freed, Failed lipgloss.TerminalColor
}

func adaptive(light, dark string) lipgloss.AdaptiveColor {
	return lipgloss.AdaptiveColor{Light: light, Dark: dark}
}

func paletteColours(p Palette) colours {
	none := lipgloss.NoColor{}
	switch p {
	case PaletteMono:
		c := colours{Identity: []lipgloss.TerminalColor{none}}
		v := reflect.ValueOf(&c).Elem()
		for i := range v.NumField() {
			if f := v.Field(i); f.Type() == reflect.TypeFor[lipgloss.TerminalColor]() {
				f.Set(reflect.ValueOf(lipgloss.TerminalColor(none)))
			}
		}
		return c
	case PaletteCB:
		// Okabe-Ito: orange, sky blue, bluish green, yellow, blue,
		// vermillion, reddish purple; darker variants on light
		// backgrounds and lighter ones on dark where the originals lack
		// contrast.
		orange := adaptive("#9A5C00", "#E69F00")
		sky := adaptive("#0072B2", "#56B4E9")
		green := adaptive("#00795A", "#009E73")
		yellow := adaptive("#746600", "#F0E442")
		blue := adaptive("#0072B2", "#4A9FE0")
		vermillion := adaptive("#B34700", "#E0701E")
		purple := adaptive("#A2557F", "#CC79A7")
		grey := adaptive("#707070", "#8C8C8C")
		return colours{
			Text: adaptive("#1A1A1A", "#E6E6E6"), Muted: adaptive("#5E5E5E", "#A6A6A6"),
			Subtle: grey, Accent: sky, Border: adaptive("#B0B0B0", "#4A4A4A"),
			Free: grey, Reserved: adaptive("#505050", "#B0B0B0"),
			Pages: orange, Slab: green, Large: purple, Vmalloc: sky, Guard: vermillion,
			Notice: yellow, OK: green, Bad: vermillion, Selection: sky, Diff: yellow,
			BarFg: adaptive("#FFFFFF", "#000000"), BarBg: adaptive("#0072B2", "#56B4E9"),
			CursorFg: adaptive("#FFFFFF", "#000000"), CursorBg: adaptive("#000000", "#F0E442"),
			Identity: []lipgloss.TerminalColor{green, sky, orange, purple, blue, yellow},
			InPlace:  green, Moved: orange, Fresh: sky, Freed: purple, Failed: vermillion,
		}
	}
	green := adaptive("#1A7F37", "#7EE787")
	blue := adaptive("#0969DA", "#79C0FF")
	yellow := adaptive("#9A6700", "#E3B341")
	magenta := adaptive("#8250DF", "#D2A8FF")
	red := adaptive("#CF222E", "#FF7B72")
	cyan := adaptive("#1B7C83", "#56D4DD")
	pink := adaptive("#BF3989", "#FF80C8")
	grey := adaptive("#6E7781", "#7D8590")
	return colours{
		Text: adaptive("#1F2328", "#E6EDF3"), Muted: adaptive("#59636E", "#9198A1"),
		Subtle: grey, Accent: blue, Border: adaptive("#D0D7DE", "#30363D"),
		Free: grey, Reserved: adaptive("#57606A", "#8D96A0"),
		Pages: yellow, Slab: green, Large: magenta, Vmalloc: blue, Guard: red,
		Notice: pink, OK: green, Bad: red, Selection: cyan, Diff: pink,
		BarFg: adaptive("#FFFFFF", "#0D1117"), BarBg: adaptive("#0969DA", "#58A6FF"),
		CursorFg: adaptive("#FFFFFF", "#0D1117"), CursorBg: adaptive("#1F2328", "#F0F6FC"),
		Identity: []lipgloss.TerminalColor{green, cyan, yellow, magenta, blue, adaptive("#953800", "#FFA657")},
		InPlace:  green, Moved: yellow, Fresh: blue, Freed: magenta, Failed: red,
	}
}

// Styles holds every style of the interface, by meaning. It is built once
// by DefaultStyles, StylesFor or StylesOn; no other code creates colours.
type Styles struct {
	Palette Palette
	r       *lipgloss.Renderer // the output's: its colour profile and background

	Text          lipgloss.Style
	Muted         lipgloss.Style
	Subtle        lipgloss.Style
	Emph          lipgloss.Style
	Accent        lipgloss.Style
	Selected      lipgloss.Style // the selected row of a table or list
	Cursor        lipgloss.Style // the inspector cursor's cell
	Changed       lipgloss.Style // a cell the current step changed: reverse video over its kind's colour
	DiffMark      lipgloss.Style // a cell that differs from the diff base: underlined
	SelectionMark lipgloss.Style // a cell of the selection (a cache's slabs, an area's frames): bold
	StatusOK      lipgloss.Style
	StatusErr     lipgloss.Style

	// Pane frames.
	Pane        lipgloss.Style
	PaneFocused lipgloss.Style
	Title       lipgloss.Style
	TitleActive lipgloss.Style

	// Chrome.
	Bar       lipgloss.Style // the status bar
	BarKey    lipgloss.Style
	Tab       lipgloss.Style
	TabActive lipgloss.Style
	Legend    lipgloss.Style
	Prompt    lipgloss.Style
	Notice    lipgloss.Style // one-line messages: "continued from step 12"

	// Page and object cells.
	PageFree     lipgloss.Style
	PageReserved lipgloss.Style
	PagePages    lipgloss.Style // alloc_pages
	PageSlab     lipgloss.Style
	PageLarge    lipgloss.Style // large kmalloc
	PageVmalloc  lipgloss.Style
	PagePCP      lipgloss.Style // on a per-CPU list: freed, not free
	Guard        lipgloss.Style
	ObjUsed      lipgloss.Style
	ObjFree      lipgloss.Style
	Identity     []lipgloss.Style // stable per-cache and per-area colours

	// Realloc decisions.
	InPlace lipgloss.Style
	Moved   lipgloss.Style
	Fresh   lipgloss.Style
	Freed   lipgloss.Style
	Failed  lipgloss.Style
}

// DefaultStyles returns the styles of the default, adaptive palette.
func DefaultStyles() Styles { return StylesFor(PaletteDefault) }

// StylesFor returns the styles of palette p for the process's terminal.
func StylesFor(p Palette) Styles { return StylesOn(lipgloss.DefaultRenderer(), p) }

// StylesOn returns the styles of palette p drawn by r: r's colour profile
// and background decide the escape codes and the adaptive colours (each
// connection of allocviz serve has its own). Base styles come first and
// every variant is derived from one already built.
func StylesOn(r *lipgloss.Renderer, p Palette) Styles {
	c := paletteColours(p)
	base := r.NewStyle()
	bold := base.Bold(true)
	var s Styles
	s.Palette, s.r = p, r

	s.Text = base.Foreground(c.Text)
	s.Muted = base.Foreground(c.Muted)
	s.Subtle = base.Foreground(c.Subtle)
	s.Emph = s.Text.Bold(true)
	s.Accent = bold.Foreground(c.Accent)
	s.Selected = s.Emph.Reverse(true)
	s.Cursor = base.Foreground(c.CursorFg).Background(c.CursorBg).Bold(true).Underline(true).Reverse(p == PaletteMono)
	s.Changed = base.Reverse(true).Bold(true)
	s.DiffMark = base.Foreground(c.Diff).Underline(true)
	s.SelectionMark = base.Foreground(c.Selection).Bold(true)
	s.StatusOK = base.Foreground(c.OK)
	s.StatusErr = bold.Foreground(c.Bad)

	s.Pane = base.Border(lipgloss.RoundedBorder()).BorderForeground(c.Border).Padding(0, 1)
	s.PaneFocused = s.Pane.Border(lipgloss.ThickBorder()).BorderForeground(c.Accent)
	s.Title = s.Muted.Bold(true)
	s.TitleActive = s.Accent

	s.Bar = base.Foreground(c.BarFg).Background(c.BarBg).Reverse(p == PaletteMono)
	s.BarKey = s.Bar.Bold(true)
	s.Tab = s.Muted.Padding(0, 1)
	s.TabActive = s.Accent.Padding(0, 1).Underline(true)
	s.Legend = s.Muted
	s.Prompt = s.Accent
	s.Notice = base.Foreground(c.Notice)

	s.PageFree = base.Foreground(c.Free)
	s.PageReserved = base.Foreground(c.Reserved)
	s.PagePages = base.Foreground(c.Pages)
	s.PageSlab = base.Foreground(c.Slab)
	s.PageLarge = base.Foreground(c.Large)
	s.PageVmalloc = base.Foreground(c.Vmalloc)
	s.PagePCP = s.PageFree.Bold(true).Underline(p == PaletteMono)
	s.Guard = bold.Foreground(c.Guard)
	s.ObjUsed = s.PageSlab
	s.ObjFree = s.PageFree
	for _, col := range c.Identity {
		s.Identity = append(s.Identity, base.Foreground(col))
	}

	s.InPlace = bold.Foreground(c.InPlace)
	s.Moved = bold.Foreground(c.Moved)
	s.Fresh = bold.Foreground(c.Fresh)
	s.Freed = bold.Foreground(c.Freed)
	s.Failed = bold.Foreground(c.Failed)
	return s
}

// spanKey is what decides a span's style.
type spanKey struct {
	kind  heapview.CellKind
	class uint8
	mark  heapview.Mark
}

// spanCode is a span style as the escape sequences around its text.
type spanCode struct {
	pre, post string
}

// spanStyler styles heapview's spans. Each distinct (kind, class, mark)
// is rendered through lipgloss once; after that a span costs two string
// concatenations, which keeps a 200x60 page map far inside a frame.
type spanStyler struct {
	st    Styles
	cache map[spanKey]spanCode
}

func newSpanStyler(st Styles) *spanStyler {
	return &spanStyler{st: st, cache: make(map[spanKey]spanCode)}
}

// spanSentinel stands for the text when a style is rendered once to learn
// its escape sequences.
const spanSentinel = "\x00"

// code returns the escape sequences of k.
func (s *spanStyler) code(k spanKey) spanCode {
	if c, ok := s.cache[k]; ok {
		return c
	}
	out := s.st.span(k).Render(spanSentinel)
	var c spanCode
	if i := strings.Index(out, spanSentinel); i >= 0 {
		c = spanCode{pre: out[:i], post: out[i+len(spanSentinel):]}
	}
	s.cache[k] = c
	return c
}

// row renders a row of spans into b.
func (s *spanStyler) row(b *strings.Builder, r heapview.Row) {
	for _, sp := range r {
		c := s.code(spanKey{sp.Kind, sp.Class, sp.Mark})
		b.WriteString(c.pre)
		if sp.Mark&heapview.MarkCursor != 0 && s.st.Palette == PaletteMono {
			b.WriteString(strings.Repeat(cursorGlyph, utf8.RuneCountInString(sp.Text)))
		} else {
			b.WriteString(sp.Text)
		}
		b.WriteString(c.post)
	}
}

// rows renders rows, one string per row, each exactly width cells: heapview
// returns rows of the width asked, and any that are not are cut or
// padded here.
func (s *spanStyler) rows(rs []heapview.Row, width int) []string {
	out := make([]string, len(rs))
	var b strings.Builder
	for i, r := range rs {
		b.Reset()
		w := r.Width()
		if w > width {
			r = cutRow(r, width)
			w = width
		}
		s.row(&b, r)
		b.WriteString(strings.Repeat(" ", width-w))
		out[i] = b.String()
	}
	return out
}

// cutRow returns the first width cells of r, the last of them "…".
func cutRow(r heapview.Row, width int) heapview.Row {
	var out heapview.Row
	for _, sp := range r {
		rs := []rune(sp.Text)
		if len(rs) >= width {
			sp.Text = string(rs[:max(width-1, 0)]) + "…"
			return append(out, sp)
		}
		out = append(out, sp)
		width -= len(rs)
	}
	return out
}

// kind returns the style of cells of kind k and class c, before marks.
func (s Styles) kind(k heapview.CellKind, c uint8) lipgloss.Style {
	switch k {
	case heapview.CellText:
		return s.Text
	case heapview.CellTitle:
		return s.Emph
	case heapview.CellLabel:
		return s.Muted
	case heapview.CellMuted:
		return s.Subtle
	case heapview.CellFree, heapview.CellHole:
		return s.PageFree
	case heapview.CellPCP:
		return s.PagePCP
	case heapview.CellNoRAM:
		return s.Subtle
	case heapview.CellLayer:
		return s.Identity[int(c)%len(s.Identity)]
	case heapview.CellReserved:
		return s.PageReserved
	case heapview.CellPages:
		return s.PagePages
	case heapview.CellSlab, heapview.CellObjUsed:
		return s.Identity[int(c)%len(s.Identity)]
	case heapview.CellLargeKmalloc:
		return s.PageLarge
	case heapview.CellVmalloc:
		return s.PageVmalloc
	case heapview.CellGuard:
		return s.Guard
	case heapview.CellObjFree:
		return s.ObjFree
	case heapview.CellWarn:
		return s.StatusErr
	case heapview.CellGood:
		return s.InPlace
	case heapview.CellMoved:
		return s.Moved
	case heapview.CellBar:
		return s.Accent
	}
	return s.plain()
}

// plain is a style with nothing set, on the styles' renderer.
func (s Styles) plain() lipgloss.Style {
	if s.r == nil {
		return lipgloss.NewStyle()
	}
	return s.r.NewStyle()
}

// span returns the style of a span: its kind's, then its marks, each
// with an attribute of its own so that they stay apart without colour:
// the selection is bold (and the selection colour), what differs from the
// diff base underlined (and the diff colour), what the step shown changed
// reverse video over the kind's colour, and the cursor its own colours
// (in mono, reverse video and underline, and spanStyler draws it as
// cursorGlyph).
func (s Styles) span(k spanKey) lipgloss.Style {
	st := s.kind(k.kind, k.class)
	if k.mark&heapview.MarkMixed != 0 {
		st = st.Faint(true)
	}
	if k.mark&heapview.MarkSelected != 0 {
		st = withForeground(st.Bold(true), s.SelectionMark)
	}
	if k.mark&heapview.MarkDiff != 0 {
		st = withForeground(st.Underline(true), s.DiffMark)
	}
	if k.mark&heapview.MarkTouched != 0 {
		// Bold, with colour; in mono bold is the selection's alone.
		st = st.Reverse(true).Bold(s.Palette != PaletteMono || k.mark&heapview.MarkSelected != 0)
	}
	if k.mark&heapview.MarkCursor != 0 {
		st = s.Cursor
	}
	return st
}

// withForeground gives st the foreground of mark, if mark has one.
func withForeground(st, mark lipgloss.Style) lipgloss.Style {
	if fg := mark.GetForeground(); fg != (lipgloss.NoColor{}) {
		return st.Foreground(fg)
	}
	return st
}

// cursorGlyph is the inspector cursor's cell in the mono palette, where
// attributes alone could be taken for a change on a diff.
const cursorGlyph = "◆"

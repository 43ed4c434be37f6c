package ui

import (
	"fmt"
	"strings"

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

// colours is one palette's semantic colours. A nil colour (noColour)
// means the terminal's default.
type colours struct {
	text, muted, subtle, accent, border  lipgloss.TerminalColor
	free, reserved, pages, slab, large   lipgloss.TerminalColor
	vmalloc, guard, changed, ok, bad     lipgloss.TerminalColor
	barFg, barBg, cursorFg, cursorBg     lipgloss.TerminalColor
	identity                             []lipgloss.TerminalColor
	inPlace, moved, fresh, freed, failed lipgloss.TerminalColor
}

func adaptive(light, dark string) lipgloss.AdaptiveColor {
	return lipgloss.AdaptiveColor{Light: light, Dark: dark}
}

func paletteColours(p Palette) colours {
	none := lipgloss.NoColor{}
	switch p {
	case PaletteMono:
		c := colours{identity: []lipgloss.TerminalColor{none}}
		for _, f := range []*lipgloss.TerminalColor{
			&c.text, &c.muted, &c.subtle, &c.accent, &c.border,
			&c.free, &c.reserved, &c.pages, &c.slab, &c.large,
			&c.vmalloc, &c.guard, &c.changed, &c.ok, &c.bad,
			&c.barFg, &c.barBg, &c.cursorFg, &c.cursorBg,
			&c.inPlace, &c.moved, &c.fresh, &c.freed, &c.failed,
		} {
			*f = none
		}
		return c
	case PaletteCB:
		// Okabe-Ito: orange, sky blue, bluish green, yellow, blue,
		// vermillion, reddish purple; darker variants on light
		// backgrounds where the originals lack contrast.
		orange := adaptive("#B36B00", "#E69F00")
		sky := adaptive("#0072B2", "#56B4E9")
		green := adaptive("#00795A", "#009E73")
		yellow := adaptive("#8A7A00", "#F0E442")
		blue := adaptive("#0072B2", "#0072B2")
		vermillion := adaptive("#B34700", "#D55E00")
		purple := adaptive("#A2557F", "#CC79A7")
		return colours{
			text: adaptive("#1A1A1A", "#E6E6E6"), muted: adaptive("#6E6E6E", "#9A9A9A"),
			subtle: adaptive("#A0A0A0", "#5A5A5A"), accent: sky, border: adaptive("#B0B0B0", "#4A4A4A"),
			free: adaptive("#A8A8A8", "#5C5C5C"), reserved: adaptive("#505050", "#B0B0B0"),
			pages: orange, slab: green, large: purple, vmalloc: sky, guard: vermillion,
			changed: yellow, ok: green, bad: vermillion,
			barFg: adaptive("#FFFFFF", "#000000"), barBg: blue,
			cursorFg: adaptive("#FFFFFF", "#000000"), cursorBg: adaptive("#000000", "#F0E442"),
			identity: []lipgloss.TerminalColor{green, sky, orange, purple, blue, yellow},
			inPlace:  green, moved: orange, fresh: sky, freed: purple, failed: vermillion,
		}
	}
	green := adaptive("#1A7F37", "#7EE787")
	blue := adaptive("#0969DA", "#79C0FF")
	yellow := adaptive("#9A6700", "#E3B341")
	magenta := adaptive("#8250DF", "#D2A8FF")
	red := adaptive("#CF222E", "#FF7B72")
	cyan := adaptive("#1B7C83", "#56D4DD")
	return colours{
		text: adaptive("#1F2328", "#E6EDF3"), muted: adaptive("#656D76", "#8D96A0"),
		subtle: adaptive("#AFB8C1", "#484F58"), accent: blue, border: adaptive("#D0D7DE", "#30363D"),
		free: adaptive("#AFB8C1", "#484F58"), reserved: adaptive("#57606A", "#8D96A0"),
		pages: yellow, slab: green, large: magenta, vmalloc: blue, guard: red,
		changed: adaptive("#BF3989", "#FF80C8"), ok: green, bad: red,
		barFg: adaptive("#FFFFFF", "#0D1117"), barBg: adaptive("#0969DA", "#58A6FF"),
		cursorFg: adaptive("#FFFFFF", "#0D1117"), cursorBg: adaptive("#1F2328", "#F0F6FC"),
		identity: []lipgloss.TerminalColor{green, cyan, yellow, magenta, blue, adaptive("#953800", "#FFA657")},
		inPlace:  green, moved: yellow, fresh: blue, freed: magenta, failed: red,
	}
}

// Styles holds every style of the interface, by meaning. It is built once
// by DefaultStyles or StylesFor; no other code creates colours.
type Styles struct {
	Palette Palette

	Text      lipgloss.Style
	Muted     lipgloss.Style
	Subtle    lipgloss.Style
	Emph      lipgloss.Style
	Accent    lipgloss.Style
	Selected  lipgloss.Style // the selected row of a table or list
	Cursor    lipgloss.Style // the inspector cursor's cell
	Changed   lipgloss.Style // what the current step changed
	StatusOK  lipgloss.Style
	StatusErr lipgloss.Style

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

// StylesFor returns the styles of palette p. Base styles come first and
// every variant is derived from one already built.
func StylesFor(p Palette) Styles {
	c := paletteColours(p)
	base := lipgloss.NewStyle()
	bold := base.Bold(true)
	var s Styles
	s.Palette = p

	s.Text = base.Foreground(c.text)
	s.Muted = base.Foreground(c.muted)
	s.Subtle = base.Foreground(c.subtle)
	s.Emph = s.Text.Bold(true)
	s.Accent = bold.Foreground(c.accent)
	s.Selected = s.Emph.Reverse(true)
	s.Cursor = base.Foreground(c.cursorFg).Background(c.cursorBg).Bold(true).Underline(p == PaletteMono)
	s.Changed = base.Foreground(c.changed).Bold(true).Underline(p == PaletteMono)
	s.StatusOK = base.Foreground(c.ok)
	s.StatusErr = bold.Foreground(c.bad)

	s.Pane = base.Border(lipgloss.RoundedBorder()).BorderForeground(c.border).Padding(0, 1)
	s.PaneFocused = s.Pane.BorderForeground(c.accent)
	s.Title = s.Muted.Bold(true)
	s.TitleActive = s.Accent

	s.Bar = base.Foreground(c.barFg).Background(c.barBg).Reverse(p == PaletteMono)
	s.BarKey = s.Bar.Bold(true)
	s.Tab = s.Muted.Padding(0, 1)
	s.TabActive = s.Accent.Padding(0, 1).Underline(true)
	s.Legend = s.Muted
	s.Prompt = s.Accent
	s.Notice = base.Foreground(c.changed)

	s.PageFree = base.Foreground(c.free)
	s.PageReserved = base.Foreground(c.reserved)
	s.PagePages = base.Foreground(c.pages)
	s.PageSlab = base.Foreground(c.slab)
	s.PageLarge = base.Foreground(c.large)
	s.PageVmalloc = base.Foreground(c.vmalloc)
	s.PagePCP = s.PageFree.Bold(true).Underline(p == PaletteMono)
	s.Guard = bold.Foreground(c.guard)
	s.ObjUsed = s.PageSlab
	s.ObjFree = s.PageFree
	for _, col := range c.identity {
		s.Identity = append(s.Identity, base.Foreground(col))
	}

	s.InPlace = bold.Foreground(c.inPlace)
	s.Moved = bold.Foreground(c.moved)
	s.Fresh = bold.Foreground(c.fresh)
	s.Freed = bold.Foreground(c.freed)
	s.Failed = bold.Foreground(c.failed)
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
		b.WriteString(sp.Text)
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

// cutRow returns the first width cells of r.
func cutRow(r heapview.Row, width int) heapview.Row {
	var out heapview.Row
	for _, sp := range r {
		rs := []rune(sp.Text)
		if len(rs) >= width {
			sp.Text = string(rs[:width])
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
	return lipgloss.NewStyle()
}

// span returns the style of a span: its kind's, then its marks. A change
// made by the step shown is reverse video, which keeps the kind's colour;
// the cursor is its own colour, and both show without colour too.
func (s Styles) span(k spanKey) lipgloss.Style {
	st := s.kind(k.kind, k.class)
	if k.mark&heapview.MarkMixed != 0 {
		st = st.Faint(true)
	}
	if k.mark&heapview.MarkTouched != 0 {
		st = st.Reverse(true).Bold(true)
	}
	if k.mark&heapview.MarkSelected != 0 {
		st = s.Cursor.Underline(true)
	}
	return st
}

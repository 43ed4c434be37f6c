package heapview

import (
	"strings"
	"unicode/utf8"
)

// CellKind says what a span of cells shows. heapview decides the kinds;
// ui maps each kind (with its Class and Mark) to a style. One const block,
// in the order of the views that use them.
type CellKind uint8

// Cell kinds.
const (
	CellBlank        CellKind = iota // padding
	CellText                         // plain text
	CellTitle                        // a view's title line
	CellLabel                        // row labels, column headings, field names
	CellMuted                        // secondary text: units, explanations, events after the cursor
	CellFree                         // a free page frame; Class: the order of its free block (0..10)
	CellReserved                     // a page frame reserved at boot
	CellPages                        // a page frame allocated by alloc_pages
	CellSlab                         // a page frame of a slab; Class: the cache's colour slot
	CellLargeKmalloc                 // a page frame of a large kmalloc
	CellVmalloc                      // a page frame behind a vmap area, or a mapped page of an area
	CellGuard                        // the guard page of a vmap area
	CellHole                         // vmalloc address space no area uses
	CellObjUsed                      // a slab object in use; Class: the cache's colour slot
	CellObjFree                      // a free slab object
	CellWarn                         // a failure, a report, a failed check, an anomaly
	CellGood                         // a passed check, a realloc done in place
	CellMoved                        // a realloc that moved the allocation
	CellBar                          // the bar of a chart
	CellPCP                          // a page frame on a CPU's pcp list: freed but not free; Class: the order of its block
	CellNoRAM                        // a page frame number with no RAM behind it: the PCI hole
	CellLayer                        // a page frame coloured by a page map layer; Class: its zone or its pageblock's migrate type
	NumCellKinds
)

var cellKindNames = [NumCellKinds]string{"blank", "text", "title", "label", "muted", "free", "reserved", "pages", "slab",
	"large-kmalloc", "vmalloc", "guard", "hole", "obj-used", "obj-free", "warn", "good", "moved", "bar", "pcp", "no-ram", "layer"}

func (k CellKind) String() string {
	if k < NumCellKinds {
		return cellKindNames[k]
	}
	return "unknown"
}

// Mark is a set of flags a cell carries on top of its kind.
type Mark uint8

// Marks.
const (
	MarkTouched  Mark = 1 << iota // changed by the step under the cursor
	MarkSelected                  // part of the selection: a cache's slab pages, an area's frames, a table row
	MarkMixed                     // a scaled cell that stands for frames of more than one kind
	MarkCPU                       // a CPU slab
	MarkPartial                   // a slab on a partial list
	MarkCursor                    // under the inspector's cursor
	MarkDiff                      // differs from the diff base step
)

// Span is a run of cells that share one style: Text holds one rune per
// cell. Renderers merge neighbouring cells of equal kind, class and mark
// into one span, so a row has a handful of spans, not one per cell.
type Span struct {
	Kind  CellKind
	Class uint8 // kind-specific: the free order for CellFree, the colour slot for CellSlab and CellObjUsed
	Mark  Mark
	Text  string
}

// Row is one line of a view. Every row a renderer returns is exactly as
// wide as asked.
type Row []Span

// String returns the row's text.
func (r Row) String() string {
	var b strings.Builder
	for _, s := range r {
		b.WriteString(s.Text)
	}
	return b.String()
}

// Width returns the row's width in cells.
func (r Row) Width() int {
	n := 0
	for _, s := range r {
		n += utf8.RuneCountInString(s.Text)
	}
	return n
}

// CacheClass returns the colour slot of a cache: caches are numbered in
// creation order and ui picks a colour by slot modulo its palette.
func CacheClass(id int) uint8 { return uint8(id) }

// rowBuilder assembles a row of at most max cells into one string and
// slices it into spans.
type rowBuilder struct {
	buf   []byte
	marks []spanStart
	width int  // cells so far
	max   int  // cells allowed
	ended bool // a group did not fit: the row ends with "…" and takes nothing more
}

type spanStart struct {
	at    int // byte offset in buf
	kind  CellKind
	class uint8
	mark  Mark
}

func newRow(max int) *rowBuilder { return &rowBuilder{max: max} }

// room returns the cells still free.
func (b *rowBuilder) room() int {
	if b.ended {
		return 0
	}
	return b.max - b.width
}

// fits reports whether a group of n cells that belong together (a label
// and its value, written by several puts) fits, keeping two cells for
// " …" when more groups follow.
func (b *rowBuilder) fits(n int, more bool) bool {
	if more {
		n += 2
	}
	return n <= b.room()
}

// end ends the row with " …" after a whole group (apart from it, so the
// group does not read as cut), or "…" right after a label that stands
// for its group: the row takes nothing more.
func (b *rowBuilder) end(afterLabel bool) {
	if afterLabel || b.room() < 2 {
		b.put(CellMuted, 0, 0, "…")
	} else {
		b.put(CellMuted, 0, 0, " …")
	}
	b.ended = true
}

// group is fits, ending the row when the group does not fit, so a group
// shows whole or not at all.
func (b *rowBuilder) group(n int, more bool) bool {
	if b.fits(n, more) {
		return true
	}
	b.end(false)
	return false
}

func (b *rowBuilder) style(k CellKind, c uint8, mk Mark) {
	if n := len(b.marks); n > 0 && b.marks[n-1].at == len(b.buf) {
		b.marks = b.marks[:n-1] // an empty span
	}
	if n := len(b.marks); n > 0 {
		if l := b.marks[n-1]; l.kind == k && l.class == c && l.mark == mk {
			return
		}
	}
	b.marks = append(b.marks, spanStart{len(b.buf), k, c, mk})
}

// put writes s, cut to the room left (the cut marked with "…").
func (b *rowBuilder) put(k CellKind, c uint8, mk Mark, s string) {
	if b.room() <= 0 || s == "" {
		return
	}
	if strings.ContainsFunc(s, isControl) {
		// A cell holds one printable rune: newlines and tabs become spaces.
		s = strings.Map(func(r rune) rune {
			if isControl(r) {
				return ' '
			}
			return r
		}, s)
	}
	n := utf8.RuneCountInString(s)
	if n > b.room() {
		s = cut(s, b.room())
		n = b.room()
	}
	b.style(k, c, mk)
	b.buf = append(b.buf, s...)
	b.width += n
}

// cell writes one ASCII cell.
func (b *rowBuilder) cell(k CellKind, c uint8, mk Mark, ch byte) {
	if b.room() <= 0 {
		return
	}
	b.style(k, c, mk)
	b.buf = append(b.buf, ch)
	b.width++
}

// fill writes n copies of an ASCII cell.
func (b *rowBuilder) fill(k CellKind, c uint8, mk Mark, ch byte, n int) {
	n = min(n, b.room())
	if n <= 0 {
		return
	}
	b.style(k, c, mk)
	for range n {
		b.buf = append(b.buf, ch)
	}
	b.width += n
}

// pad fills the row with blank cells to column col.
func (b *rowBuilder) pad(col int) { b.fill(CellBlank, 0, 0, ' ', col-b.width) }

// row returns the row, padded with blank cells to its full width.
func (b *rowBuilder) row() Row {
	b.ended = false
	b.pad(b.max)
	s := string(b.buf)
	r := make(Row, len(b.marks))
	for i, m := range b.marks {
		end := len(s)
		if i+1 < len(b.marks) {
			end = b.marks[i+1].at
		}
		r[i] = Span{Kind: m.kind, Class: m.class, Mark: m.mark, Text: s[m.at:end]}
	}
	return r
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// cut shortens s to n cells, ending with "…" when anything was cut.
func cut(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i, k := 0, 0
	for k < n-1 {
		_, w := utf8.DecodeRuneInString(s[i:])
		i += w
		k++
	}
	return s[:i] + "…"
}

// wrap is Wrap, for the renderers.
func wrap(s string, n int) []string { return Wrap(s, n) }

// view collects rows up to a height and pads it with blank rows.
type view struct {
	rows   []Row
	width  int
	height int
}

func newView(w, h int) *view { return &view{width: max(w, 0), height: max(h, 0)} }

func (v *view) full() bool { return len(v.rows) >= v.height }

func (v *view) add(r Row) {
	if !v.full() {
		v.rows = append(v.rows, r)
	}
}

// line adds a row of one span.
func (v *view) line(k CellKind, s string) {
	b := newRow(v.width)
	b.put(k, 0, 0, s)
	v.add(b.row())
}

func (v *view) done() []Row {
	for !v.full() {
		v.add(newRow(v.width).row())
	}
	return v.rows
}

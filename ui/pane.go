package ui

import (
	"strings"

	"github.com/allocviz/allocviz/heapview"
)

// textPane is what every pane shares: an inner size, a title and rendered
// lines with a scroll offset. Panes are dumb: Model.refresh fills them
// from heapview's renderers and the pane only shows the lines in view.
//
// A pane holds either all of its content (set, setExact), scrolled by
// top, or, for panes whose renderer scrolls (the event log, vmalloc
// space, a cache's slabs, the zoomed page map), exactly the lines in view
// and the count of those out of view (setWindow).
type textPane struct {
	w, h   int      // inner size in cells
	title  string   // shown in the frame
	lines  []string // rendered content, styled, each exactly w cells wide
	top    int      // first line shown
	window bool     // lines is the view of a renderer that scrolls itself
	above  int      // with window: lines out of view above; < 0: some, not counted
	below  int      // with window: lines out of view below; < 0: some, not counted
}

// SetSize sets the inner size in cells.
func (p *textPane) SetSize(w, h int) { p.w, p.h = w, h }

// Size returns the inner size.
func (p *textPane) Size() (int, int) { return p.w, p.h }

// Title returns the frame's title.
func (p *textPane) Title() string { return p.title }

// set replaces the content with styled lines of any width; each is cut
// (ending with "…") or padded to the pane's width.
func (p *textPane) set(title string, lines []string) {
	for i, l := range lines {
		lines[i] = fitLine(l, p.w)
	}
	p.setExact(title, lines)
}

// setExact replaces the content with lines already exactly the pane's
// width, such as heapview's rows.
func (p *textPane) setExact(title string, lines []string) {
	p.title = title
	p.lines = lines
	p.window, p.above, p.below = false, 0, 0
	p.clampTop()
}

// setWindow replaces the content with the lines in view of a renderer
// that scrolls itself, and how many lines it left out above and below.
func (p *textPane) setWindow(title string, lines []string, above, below int) {
	p.title = title
	p.lines = lines
	p.top = 0
	p.window, p.above, p.below = true, above, below
}

// scroll moves the view d lines (down when d > 0).
func (p *textPane) scroll(d int) {
	p.top += d
	p.clampTop()
}

func (p *textPane) clampTop() {
	p.top = max(0, min(p.top, len(p.lines)-p.h))
}

// overflow returns how many lines of content are out of view above and
// below; the frame says so.
func (p *textPane) overflow() (above, below int) {
	if p.window {
		return p.above, p.below
	}
	if p.h <= 0 {
		return 0, 0
	}
	return p.top, max(0, len(p.lines)-p.top-p.h)
}

// Lines returns the lines in view, each exactly w cells wide; there may
// be fewer than h.
func (p *textPane) Lines() []string {
	if p.w <= 0 || p.h <= 0 {
		return nil
	}
	end := min(len(p.lines), p.top+p.h)
	return p.lines[min(p.top, end):end]
}

// blankRow reports whether a rendered row shows nothing.
func blankRow(r heapview.Row) bool {
	for _, sp := range r {
		if strings.TrimSpace(sp.Text) != "" {
			return false
		}
	}
	return true
}

// maxContentRows bounds what a pane holds to scroll through.
const maxContentRows = 400

// allRows renders a view that fits its content to a height: at the
// pane's height h, and, when the content fills it, again with room for
// all of it (up to maxContentRows), without the blank rows at the end;
// the pane scrolls through them.
func allRows(render func(h int) []heapview.Row, h int) []heapview.Row {
	rows := render(h)
	if len(rows) == 0 || blankRow(rows[len(rows)-1]) {
		return rows
	}
	rows = render(maxContentRows)
	end := len(rows)
	for end > h && blankRow(rows[end-1]) {
		end--
	}
	return rows[:end]
}

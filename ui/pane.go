package ui

// textPane is what every pane shares: an inner size, a title and rendered
// lines with a scroll offset. Panes are dumb: Model.refresh fills them
// from heapview's renderers and the pane only cuts its lines to size.
type textPane struct {
	w, h  int      // inner size in cells
	title string   // shown in the frame
	lines []string // rendered content, styled
	top   int      // first line shown
}

// SetSize sets the inner size in cells.
func (p *textPane) SetSize(w, h int) { p.w, p.h = w, h }

// Size returns the inner size.
func (p *textPane) Size() (int, int) { return p.w, p.h }

// Title returns the frame's title.
func (p *textPane) Title() string { return p.title }

// set replaces the content with styled lines of any width; each is cut
// or padded to the pane's width.
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
	p.clampTop()
}

// scroll moves the view d lines.
func (p *textPane) scroll(d int) {
	p.top += d
	p.clampTop()
}

func (p *textPane) clampTop() {
	p.top = max(0, min(p.top, len(p.lines)-p.h))
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

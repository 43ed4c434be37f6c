package heapview

import (
	"fmt"
	"strings"
)

// TimelineOptions configure the timeline renderer.
type TimelineOptions struct {
	Width, Height int
	Key           SeriesKey // the series shown
}

// sparkGlyphs are the eighths of a cell a bar fills, from empty to full.
var sparkGlyphs = []rune(" ▁▂▃▄▅▆▇█")

// Timeline renders a series over the whole session as a bar chart: a title
// row (the series, its value at the cursor's step, the step it changed
// most at), chart rows in which each column stands for a run of steps (its
// bar the largest value among them; the column of the cursor's step is
// marked selected, the steps after it muted), and an axis row with the
// first and last step. Steps (its column's first step) is TimelineStep.
func (m *Model) Timeline(o TimelineOptions) []Row {
	v := newView(o.Width, o.Height)
	s, err := m.Series(o.Key)
	if err != nil {
		v.line(CellWarn, cut(err.Error(), o.Width))
		return v.done()
	}
	step := min(m.step, len(s.Values)-1)
	at, d := s.BiggestChange()
	title := fmt.Sprintf("%s · step %d: %s", s.Name, step, s.Format(s.Values[step]))
	if d != 0 {
		title += fmt.Sprintf(" · biggest change at step %d (%s)", at, signed(s, d))
	}
	v.line(CellTitle, cut(title, o.Width))
	chartH := o.Height - 2
	if chartH < 1 {
		return v.done()
	}
	lo, hi := s.Range()
	cols := timelineCols(o.Width, len(s.Values))
	// Each column's bar, in eighths of a cell.
	bars := make([]int, cols)
	for c := range bars {
		from, to := colSteps(c, cols, len(s.Values))
		top := s.Values[from]
		for _, v := range s.Values[from:to] {
			top = max(top, v)
		}
		switch {
		case hi == lo:
			bars[c] = 4 * chartH
		default:
			bars[c] = 1 + int((top-lo)*int64(8*chartH-1)/(hi-lo))
		}
	}
	cur := stepCol(step, cols, len(s.Values))
	for r := 0; r < chartH; r++ {
		b := newRow(o.Width)
		base := 8 * (chartH - 1 - r) // eighths below this row
		for c, bar := range bars {
			fill := min(max(bar-base, 0), 8)
			kind, mark := CellBar, Mark(0)
			if c == cur {
				mark = MarkSelected
			} else if c > cur {
				kind = CellMuted
			}
			ch := sparkGlyphs[fill]
			if fill == 0 && c == cur {
				ch = '│'
			}
			b.put(kind, 0, mark, string(ch))
		}
		v.add(b.row())
	}
	b := newRow(o.Width)
	left, right := "0", fmt.Sprint(len(s.Values)-1)
	b.put(CellMuted, 0, 0, left)
	b.pad(max(cols-len(right), len(left)+1))
	b.put(CellMuted, 0, 0, right)
	rng := fmt.Sprintf("  %s…%s", s.Format(lo), s.Format(hi))
	if b.room() > len(rng) {
		b.put(CellMuted, 0, 0, rng)
	}
	v.add(b.row())
	return v.done()
}

// Sparkline renders a series as one row: its name cut short, then a cell
// per run of steps in eighths of a cell, the cursor's step marked.
func (m *Model) Sparkline(k SeriesKey, width int) Row {
	b := newRow(width)
	s, err := m.Series(k)
	if err != nil || width < 4 {
		return b.row()
	}
	lo, hi := s.Range()
	cols := timelineCols(width, len(s.Values))
	cur := stepCol(min(m.step, len(s.Values)-1), cols, len(s.Values))
	for c := 0; c < cols; c++ {
		from, to := colSteps(c, cols, len(s.Values))
		top := s.Values[from]
		for _, v := range s.Values[from:to] {
			top = max(top, v)
		}
		fill := 4
		if hi != lo {
			fill = 1 + int((top-lo)*7/(hi-lo))
		}
		kind, mark := CellBar, Mark(0)
		if c == cur {
			mark = MarkSelected
		} else if c > cur {
			kind = CellMuted
		}
		b.put(kind, 0, mark, string(sparkGlyphs[fill]))
	}
	return b.row()
}

// TimelineStep returns the step a column of the timeline (or of the
// sparkline) at width stands for, for a click: the first of its steps.
func (m *Model) TimelineStep(width, col int) int {
	n := m.nsteps + 1
	cols := timelineCols(width, n)
	col = min(max(col, 0), cols-1)
	from, _ := colSteps(col, cols, n)
	return from
}

// timelineCols is how many columns a chart of n steps takes at width: a
// column per step when they fit, else the whole width.
func timelineCols(width, n int) int { return max(min(width, n), 1) }

// colSteps returns the steps [from, to) column c of cols stands for.
func colSteps(c, cols, n int) (from, to int) {
	from = c * n / cols
	to = max((c+1)*n/cols, from+1)
	return from, min(to, n)
}

// stepCol returns the column a step is in.
func stepCol(step, cols, n int) int {
	c := step * cols / max(n, 1)
	for c > 0 {
		if from, _ := colSteps(c, cols, n); from <= step {
			break
		}
		c--
	}
	for c+1 < cols {
		if from, _ := colSteps(c+1, cols, n); from > step {
			break
		}
		c++
	}
	return c
}

// signed formats a change with its sign.
func signed(s Series, d int64) string {
	f := s.Format(d)
	if d > 0 && !strings.HasPrefix(f, "+") {
		return "+" + f
	}
	return f
}

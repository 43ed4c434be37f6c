package heapview

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/allocviz/allocviz/allocator"
)

// ReallocOptions choose what the realloc panel shows.
type ReallocOptions struct {
	Width, Height int
	Lineage       uint64 // the allocation whose history to show (Alloc.Lineage); 0: the latest decision's
}

func decisionKind(d allocator.Decision) CellKind {
	switch d {
	case allocator.DecisionGrownInPlace, allocator.DecisionShrunkInPlace:
		return CellGood
	case allocator.DecisionMoved, allocator.DecisionNew:
		return CellMoved
	case allocator.DecisionFailed:
		return CellWarn
	}
	return CellText
}

// ReallocPanel renders the latest realloc decision (of the chosen
// allocation, or of all): old and new address, size and capacity, in
// place or moved, the bytes copied and zeroed and the rule; then the
// allocation's history, one row per decision: the size asked for before
// and now, the decision, where the result lives (with room for it) and a
// bar of its capacity with, inside it, the size requested ('#' requested,
// '-' spare; after a failure, the old allocation that stays); sizes
// spanning more than six doublings are drawn on a log scale, and the
// heading says so.
func (m *Model) ReallocPanel(o ReallocOptions) []Row {
	v := newView(o.Width, o.Height)
	if m.head == nil || o.Width <= 0 || o.Height <= 0 {
		return v.done()
	}
	n := sort.Search(len(m.reallocs), func(i int) bool { return m.reallocs[i].pos >= m.cur.pos })
	v.line(CellTitle, fmt.Sprintf("Realloc decisions: %d so far; step %d/%d", n, m.step, m.Steps()))
	var hist []Realloc
	var last Realloc
	switch {
	case o.Lineage != 0:
		hist = m.ReallocHistory(o.Lineage)
		if len(hist) == 0 {
			v.line(CellMuted, "this allocation has not been reallocated")
			return v.done()
		}
		last = hist[len(hist)-1]
	case n > 0:
		last = m.realloc(m.reallocs[n-1])
		if last.Lineage != 0 {
			hist = m.ReallocHistory(last.Lineage)
		}
	default:
		v.line(CellMuted, "no realloc yet")
		return v.done()
	}
	field := func(label string, k CellKind, text string) {
		for i, p := range wrap(text, max(o.Width-6, 8)) {
			b := newRow(o.Width)
			if i == 0 {
				b.put(CellLabel, 0, 0, label)
			}
			b.pad(6)
			b.put(k, 0, 0, p)
			v.add(b.row())
		}
	}
	r := last.ReallocInfo
	field("call", CellText, fmt.Sprintf("%s in %s", r.Func, m.stepLine(last.Step)))
	if r.Old.ZeroOrNull() {
		field("old", CellMuted, fmt.Sprintf("%s: none", ptrName(r.Old)))
	} else {
		field("old", CellText, fmt.Sprintf("%v  %s", r.Old, sizeIn(r.OldSize, r.OldCap)))
	}
	if r.New.ZeroOrNull() {
		field("new", CellMuted, ptrName(r.New))
	} else {
		bucket := ""
		if r.Bucket != "" {
			bucket = " in " + bucketName(r.Bucket)
		}
		field("new", CellText, fmt.Sprintf("%v  %s%s", r.New, sizeIn(r.NewSize, r.NewCap), bucket))
	}
	what := r.Decision.String()
	if r.Copied > 0 || r.Zeroed > 0 || r.Decision == allocator.DecisionMoved {
		what = fmt.Sprintf("%v: %s copied, %s zeroed", r.Decision, allocator.FormatBytes(r.Copied), allocator.FormatBytes(r.Zeroed))
	}
	field("what", decisionKind(r.Decision), what)
	field("rule", CellMuted, last.Text)
	if len(hist) == 0 || v.full() {
		return v.done()
	}
	v.add(newRow(o.Width).row())
	first := m.posOfSeq(last.Lineage)
	made := ""
	if first >= 0 {
		what := "allocation"
		if a, ok := m.Alloc(last.New); ok && a.Vec {
			what = "Vec or Box buffer"
		}
		made = fmt.Sprintf(" on the %s made in %s", what, m.stepLine(m.stepOf(first)))
	}
	var top uint64
	low := uint64(math.MaxUint64)
	for _, h := range hist {
		// A failed decision's size was never had: it sets no scale.
		size, capacity := barOf(h.ReallocInfo)
		top = max(top, capacity, size)
		if size > 0 {
			low = min(low, size)
		}
	}
	// Sizes over more than six doublings (a KVec's growth) are drawn on a
	// log scale, so every step shows.
	logScale := top > 0 && low < math.MaxUint64 && top/max(low, 1) > 64
	scale := func(x uint64, w int) int {
		if x == 0 || top == 0 {
			return 0
		}
		if logScale {
			return int(float64(w) * math.Log2(float64(x)+1) / math.Log2(float64(top)+1))
		}
		return int(uint64(w) * x / top)
	}
	head := "history"
	if logScale {
		head = "history (log scale)"
	}
	v.line(CellLabel, fmt.Sprintf("%s: %s%s", head, allocator.Count(uint64(len(hist)), "decision"), made))
	// The size each decision started from: what the caller had asked for
	// before, which a kernel that tracks no requested size (6.12's
	// vrealloc) reports as the whole old capacity.
	olds := make([]uint64, len(hist))
	for i, h := range hist {
		olds[i] = h.OldSize
		switch {
		case h.Old.ZeroOrNull():
		case i > 0 && hist[i-1].New == h.Old:
			olds[i] = hist[i-1].NewSize
		case i == 0 && first >= 0 && m.log.At(first).Addr() == h.Old && m.log.At(first).Size() > 0:
			olds[i] = m.log.At(first).Size() // what the allocation that began the chain asked for
		}
	}
	room := o.Height - len(v.rows)
	if len(hist) > room {
		olds = olds[len(hist)-room:]
		hist = hist[len(hist)-room:]
	}
	bucketW := 0
	if o.Width >= 100 {
		for _, h := range hist {
			bucketW = max(bucketW, len(bucketName(h.Bucket))+1)
		}
	}
	// Below 64 cells the function's name (the heading's) gives way, so
	// the decision is not cut.
	withFunc := o.Width >= 64
	for i, h := range hist {
		b := newRow(o.Width)
		b.put(CellMuted, 0, 0, fmt.Sprintf("step %-4d ", h.Step))
		if withFunc {
			b.put(CellText, 0, 0, fmt.Sprintf("%-9s ", h.Func))
		}
		b.put(CellText, 0, 0, fmt.Sprintf("%9s -> %-9s ", allocator.FormatBytes(olds[i]), allocator.FormatBytes(h.NewSize)))
		b.put(decisionKind(h.Decision), 0, 0, fmt.Sprintf("%-16s ", h.Decision))
		if bucketW > 0 {
			bucket := ""
			if !h.New.ZeroOrNull() {
				bucket = bucketName(h.Bucket)
			}
			b.put(CellMuted, 0, 0, fmt.Sprintf("%-*s", bucketW, bucket))
		}
		if w := b.room() - 3; w > 0 && top > 0 {
			size, capacity := barOf(h.ReallocInfo)
			capCells := scale(max(capacity, size), w)
			sizeCells := scale(size, w)
			if size > 0 {
				// Whatever the scale, a live allocation shows.
				sizeCells = max(sizeCells, 1)
				capCells = max(capCells, sizeCells)
			}
			b.put(CellBlank, 0, 0, " [")
			b.fill(CellBar, 0, 0, '#', sizeCells)
			b.fill(CellBar, 1, 0, '-', capCells-sizeCells)
			b.put(CellBlank, 0, 0, strings.Repeat(" ", w-capCells)+"]")
		}
		v.add(b.row())
	}
	return v.done()
}

// barOf returns what a history row's bar shows: the size asked for and
// the capacity of the allocation after the decision. A failed decision
// leaves the old allocation as it was; a freed one leaves nothing.
func barOf(r allocator.ReallocInfo) (size, capacity uint64) {
	switch {
	case r.Decision == allocator.DecisionFailed:
		if r.Old.ZeroOrNull() {
			return 0, 0
		}
		return r.OldSize, r.OldCap
	case r.New.ZeroOrNull():
		return 0, 0
	}
	return r.NewSize, r.NewCap
}

// ptrName prints a pointer, NULL and ZERO_SIZE_PTR by name.
func ptrName(a allocator.Addr) string { return a.Name() }

func sizeIn(size, cap uint64) string {
	if cap != 0 && cap != size {
		return fmt.Sprintf("%s of %s", allocator.FormatBytes(size), allocator.FormatBytes(cap))
	}
	return allocator.FormatBytes(size)
}

// bucketName says where a realloc's result lives: its kmalloc cache,
// "vmalloc", or "pages" said as the large kmalloc it is.
func bucketName(b string) string {
	if b == "pages" {
		return "large kmalloc pages"
	}
	return b
}

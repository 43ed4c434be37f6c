package heapview

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode"

	"github.com/allocviz/allocviz/allocator"
	"github.com/charmbracelet/x/exp/golden"
)

// sizes are the terminal sizes every renderer is checked at.
var sizes = [...][2]int{{80, 24}, {120, 40}, {200, 60}}

const kindCodes = ".thlmfrpskvgoue!yxbcnz"

const markCodes = ".123456789abcdefghijklmnopqrstuv"

// markCode is the letter of a set of marks: markCodes for the first five
// marks, then Cyrillic and Latin Extended letters for sets with
// MarkCursor or MarkDiff.
func markCode(m Mark) string {
	switch {
	case int(m) < len(markCodes):
		return markCodes[m : m+1]
	case m < 96:
		return string(rune(0x410 + int(m) - 32))
	}
	return string(rune(0x100 + int(m)))
}

// show renders rows for a golden file: the text, then the kind of every
// cell as a letter (kindCodes), then its marks as a digit (markCodes, '.'
// for none). It fails the test unless the rows fill w x h exactly and
// every span is non-empty and differs in style from its neighbours.
func show(t *testing.T, rows []Row, w, h int) string {
	t.Helper()
	if len(rows) != h {
		t.Fatalf("%d rows, want %d", len(rows), h)
	}
	var text, kinds, marks strings.Builder
	for i, r := range rows {
		if r.Width() != w {
			t.Fatalf("row %d is %d cells wide, want %d: %q", i, r.Width(), w, r.String())
		}
		for j, s := range r {
			if s.Text == "" {
				t.Fatalf("row %d span %d is empty", i, j)
			}
			if strings.ContainsFunc(s.Text, unicode.IsControl) {
				t.Fatalf("row %d span %d holds a control character: %q", i, j, s.Text)
			}
			if j > 0 && r[j-1].Kind == s.Kind && r[j-1].Class == s.Class && r[j-1].Mark == s.Mark {
				t.Fatalf("row %d spans %d and %d have the same style", i, j-1, j)
			}
			n := len([]rune(s.Text))
			text.WriteString(s.Text)
			kinds.WriteString(strings.Repeat(string(kindCodes[s.Kind]), n))
			marks.WriteString(strings.Repeat(markCode(s.Mark), n))
		}
		text.WriteByte('\n')
		kinds.WriteByte('\n')
		marks.WriteByte('\n')
	}
	return text.String() + "--- kinds\n" + kinds.String() + "--- marks\n" + marks.String()
}

// eachSize runs f as a subtest per size and compares its output with the
// golden file.
func eachSize(t *testing.T, f func(t *testing.T, w, h int) []Row) {
	for _, sz := range sizes {
		t.Run(fmt.Sprintf("%dx%d", sz[0], sz[1]), func(t *testing.T) {
			golden.RequireEqual(t, show(t, f(t, sz[0], sz[1]), sz[0], sz[1]))
		})
	}
}

// buddyScene is a default 64 MiB machine after forty seeded random
// alloc_pages and free_pages steps.
func buddyScene(t testing.TB) *Model {
	s := newSession(t, allocator.Config{})
	rng := rand.New(rand.NewPCG(2024, 6))
	type block struct {
		addr  allocator.Addr
		order int
	}
	var live []block
	for range 40 {
		if rng.IntN(3) > 0 || len(live) == 0 {
			order := []int{0, 0, 1, 2, 3, 5, 8}[rng.IntN(7)]
			s.begin(fmt.Sprintf("alloc_pages(GFP_KERNEL, %d)", order))
			a, err := s.m.AllocPages(order, allocator.GFPKernel)
			if err != nil {
				t.Fatal(err)
			}
			live = append(live, block{a, order})
			continue
		}
		i := rng.IntN(len(live))
		s.begin(fmt.Sprintf("free_pages(p%d, %d)", i, live[i].order))
		if err := s.m.FreePages(live[i].addr, live[i].order); err != nil {
			t.Fatal(err)
		}
		live = append(live[:i], live[i+1:]...)
	}
	hv, err := New(s.log)
	if err != nil {
		t.Fatal(err)
	}
	return hv
}

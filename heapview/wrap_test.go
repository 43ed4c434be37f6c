package heapview

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestWrap(t *testing.T) {
	for _, tc := range []struct {
		s    string
		n    int
		want []string
	}{
		{"short", 10, []string{"short"}},
		{"", 10, []string{""}},
		// Breaks at spaces only: the call stays whole.
		{"kvmalloc(size) falls back", 12, []string{"kvmalloc(si…", "falls back"}},
		{"the size 300 B of 512 B in kmalloc-512", 12, []string{"the size", "300 B of", "512 B in", "kmalloc-512"}},
		// An address is never split; a word wider than a line is cut with "…".
		{"at 0xffff888000102000 now", 10, []string{"at", "0xffff888…", "now"}},
		{"two  spaces kept", 20, []string{"two  spaces kept"}},
		{"  indented text here", 10, []string{"  indented", "text here"}},
		{"line one\nline two", 20, []string{"line one", "line two"}},
		{"a 4 KiB) page", 6, []string{"a", "4 KiB)", "page"}},
	} {
		if got := Wrap(tc.s, tc.n); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Wrap(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
		}
	}
}

// Every line fits and holds whole words of the input in order: a word
// is cut, with "…", only when it alone is wider than a line.
func TestWrapKeepsWords(t *testing.T) {
	text := "krealloc(grown, 300) at tour.star:82:9: 300 > ksize 128: moved from kmalloc-128 to kmalloc-512 at 0xffff888000102000, copied 128 bytes"
	orig := wrapWords(text)
	for n := 4; n <= 60; n++ {
		lines := Wrap(text, n)
		k := 0
		for _, l := range lines {
			if w := utf8.RuneCountInString(l); w > n {
				t.Fatalf("width %d: line %q is %d wide", n, l, w)
			}
			rest := l
			for rest != "" {
				if k == len(orig) {
					t.Fatalf("width %d: %q has more than the input", n, lines)
				}
				w := orig[k].text
				k++
				switch {
				case strings.HasPrefix(rest, w):
					rest = strings.TrimLeft(rest[len(w):], " ")
				case strings.HasSuffix(rest, "…") && strings.HasPrefix(w, strings.TrimSuffix(rest, "…")) && utf8.RuneCountInString(w) > n:
					rest = ""
				default:
					t.Fatalf("width %d: line %q does not go on with the word %q", n, l, w)
				}
			}
		}
		if k != len(orig) {
			t.Fatalf("width %d: %d of %d words: %q", n, k, len(orig), lines)
		}
	}
}

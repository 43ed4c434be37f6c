package allocator

import (
	"fmt"
	"math"
	"testing"
)

// TestAppendMatchesFmt pins the number appenders the sentences use to the
// fmt verbs they replace, so that a sentence reads exactly as its Sprintf
// did.
func TestAppendMatchesFmt(t *testing.T) {
	for _, n := range []uint64{0, 1, 9, 0xa, 0xff, 0x1234, 1 << 32, math.MaxUint64} {
		if got, want := string(hexTo(nil, n)), fmt.Sprintf("%#x", n); got != want {
			t.Errorf("hexTo(%d) = %q, want %q", n, got, want)
		}
		if got, want := string(appendUdec(nil, n)), fmt.Sprintf("%d", n); got != want {
			t.Errorf("appendUdec(%d) = %q, want %q", n, got, want)
		}
	}
	for _, n := range []int{math.MinInt, -1, 0, 7, 10, math.MaxInt} {
		if got, want := string(appendDec(nil, n)), fmt.Sprintf("%d", n); got != want {
			t.Errorf("appendDec(%d) = %q, want %q", n, got, want)
		}
	}
	for n, want := range map[uint64]string{0: "0 B", 100: "100 B", 1023: "1023 B", 1024: "1 KiB", 1025: "1025 B",
		12288: "12 KiB", 3 * MiB: "3 MiB", MiB + KiB: "1025 KiB", 4 * GiB: "4 GiB", GiB + MiB: "1025 MiB"} {
		if got := string(appendBytes([]byte("x "), n)); got != "x "+want {
			t.Errorf("appendBytes(%d) = %q, want %q", n, got, "x "+want)
		}
		if got := FormatBytes(n); got != want {
			t.Errorf("FormatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestCount(t *testing.T) {
	for _, tc := range []struct {
		n    uint64
		word string
		want string
	}{{0, "page", "0 pages"}, {1, "page", "1 page"}, {2, "byte", "2 bytes"}, {12288, "byte", "12288 bytes"}} {
		if got := Count(tc.n, tc.word); got != tc.want {
			t.Errorf("Count(%d, %q) = %q, want %q", tc.n, tc.word, got, tc.want)
		}
	}
}

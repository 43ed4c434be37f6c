package allocator

import "testing"

func TestHumanBytes(t *testing.T) {
	for n, want := range map[uint64]string{0: "0 B", 904: "904 B", 1024: "1.0 KiB", 64172851: "61.2 MiB", 3 * GiB / 2: "1.5 GiB"} {
		if got := HumanBytes(n); got != want {
			t.Errorf("HumanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

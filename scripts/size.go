package scripts

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ParseSize reads a byte count written as people and the kernel's
// memparse() write it: "4096", "64M", "256MiB", "1G", "16k". Suffixes are
// binary whatever their spelling: K, KB and KiB all mean 1024 (as mem=
// on the kernel command line does). A number without a suffix is bytes.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("size %q: want a number of bytes such as 4096, 64M, 256MiB or 1G", s)
	}
	n, err := strconv.ParseInt(t[:i], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	var shift uint
	switch strings.ToLower(strings.TrimSpace(t[i:])) {
	case "", "b":
	case "k", "kb", "kib":
		shift = 10
	case "m", "mb", "mib":
		shift = 20
	case "g", "gb", "gib":
		shift = 30
	case "t", "tb", "tib":
		shift = 40
	default:
		return 0, fmt.Errorf("size %q: unknown unit %q (use K, M, G or T, optionally followed by B or iB)", s, strings.TrimSpace(t[i:]))
	}
	if n > math.MaxInt64>>shift {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return n << shift, nil
}

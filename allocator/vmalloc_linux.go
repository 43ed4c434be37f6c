//go:build linux

package allocator

import (
	"os"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// mapNoReserve keeps the reserved vmalloc window from being counted
// against the host's commit limit.
const mapNoReserve = unix.MAP_NORESERVE

// hostMapLimit returns vm.max_map_count, the host's limit on the
// mappings of one process, or 0 when it cannot be read.
var hostMapLimit = sync.OnceValue(func() int64 {
	b, err := os.ReadFile("/proc/sys/vm/max_map_count")
	if err != nil {
		return 0
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || n <= 0 {
		return 0
	}
	return n
})

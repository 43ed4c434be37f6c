//go:build linux

package allocator

import "golang.org/x/sys/unix"

// mapNoReserve keeps the reserved vmalloc window from being counted
// against the host's commit limit.
const mapNoReserve = unix.MAP_NORESERVE

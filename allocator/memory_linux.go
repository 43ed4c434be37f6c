//go:build linux

package allocator

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// openRAMFile creates the memory file that stands for physical RAM: an
// anonymous memfd of size bytes. The caller owns the descriptor.
func openRAMFile(size int64) (int, error) {
	fd, err := unix.MemfdCreate("allocviz-ram", unix.MFD_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("create ram file: %w", err)
	}
	if err := unix.Ftruncate(fd, size); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("size ram file: %w", err)
	}
	return fd, nil
}

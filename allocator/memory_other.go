//go:build unix && !linux

package allocator

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// openRAMFile creates the memory file that stands for physical RAM: an
// unlinked temporary file of size bytes (macOS and the BSDs have no memfd).
// The caller owns the descriptor.
func openRAMFile(size int64) (int, error) {
	f, err := os.CreateTemp("", "allocviz-ram-*")
	if err != nil {
		return -1, fmt.Errorf("create ram file: %w", err)
	}
	defer f.Close()
	if err := os.Remove(f.Name()); err != nil {
		return -1, fmt.Errorf("unlink ram file: %w", err)
	}
	if err := f.Truncate(size); err != nil {
		return -1, fmt.Errorf("size ram file: %w", err)
	}
	fd, err := unix.Dup(int(f.Fd()))
	if err != nil {
		return -1, fmt.Errorf("dup ram file: %w", err)
	}
	return fd, nil
}

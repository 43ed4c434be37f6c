//go:build linux

package main

import (
	"os"

	"golang.org/x/sys/unix"
)

// saveTerminal records the terminal's state and returns a function that
// puts it back, with the cursor shown and the main screen restored: the
// last resort when the interface cannot shut down by itself.
func saveTerminal(in, out *os.File) (restore func()) {
	saved, err := unix.IoctlGetTermios(int(in.Fd()), unix.TCGETS)
	return func() {
		out.WriteString(resetScreen)
		if err == nil {
			unix.IoctlSetTermios(int(in.Fd()), unix.TCSETS, saved)
		}
	}
}

// isTerminal reports whether f is a terminal.
func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

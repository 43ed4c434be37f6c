//go:build !linux

package main

import "os"

// isTerminal reports whether f is a character device, which on these
// platforms is as close as the standard library gets to a terminal.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// saveTerminal returns a function that restores the screen and shows the
// cursor; the terminal's mode is left to the shell.
func saveTerminal(in, out *os.File) (restore func()) {
	return func() { out.WriteString(resetScreen) }
}

// Command allocviz makes the Linux kernel's memory allocators visible.
//
// allocviz with no arguments opens the terminal interface on the tour
// (tui.go); cli.go has the other commands.
package main

import "os"

func main() {
	os.Exit(cli(os.Args[1:], os.Stdout, os.Stderr))
}

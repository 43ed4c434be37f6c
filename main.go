// Command allocviz makes the Linux kernel's memory allocators visible.
//
// Until the terminal UI exists, allocviz with no arguments runs the
// default scenario headless; see cli.go for the commands.
package main

import "os"

func main() {
	os.Exit(cli(os.Args[1:], os.Stdout, os.Stderr))
}

// Command allocviz makes the Linux kernel's memory allocators visible.
package main

import (
	"fmt"
	"os"

	"github.com/allocviz/allocviz/allocator"
)

func main() {
	m, err := allocator.NewMachine(allocator.Config{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "allocviz:", err)
		os.Exit(1)
	}
	defer m.Close()
	fmt.Print(m.Buddyinfo())
}

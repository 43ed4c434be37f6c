//go:build linux

package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// tracefsMount is where tracefs goes when capture has to mount it.
const tracefsMount = "/sys/kernel/tracing"

// openTracefs finds tracefs, mounting it at /sys/kernel/tracing when it
// is not mounted; unmount is then non-nil and undoes that. Tracing needs
// root.
func openTracefs() (root string, unmount func() error, err error) {
	if os.Geteuid() != 0 {
		return "", nil, errors.New("tracing the kernel needs root: run it with sudo")
	}
	if root, ok := mountedTracefs(); ok {
		return root, nil, nil
	}
	if err := unix.Mount("nodev", tracefsMount, "tracefs", 0, ""); err != nil {
		return "", nil, fmt.Errorf("tracefs is not mounted and mounting it at %s failed: %w", tracefsMount, err)
	}
	return tracefsMount, func() error { return unix.Unmount(tracefsMount, 0) }, nil
}

// mountedTracefs returns where tracefs is mounted, from /proc/self/mounts.
func mountedTracefs() (string, bool) {
	f, err := os.Open("/proc/self/mounts")
	if err != nil {
		return "", false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 3 && fields[2] == "tracefs" {
			return fields[1], true
		}
	}
	return "", false
}

// kernelRelease is uname -r and the machine: "6.18.44 x86_64".
func kernelRelease() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "(unknown release)"
	}
	return unix.ByteSliceToString(u.Release[:]) + " " + unix.ByteSliceToString(u.Machine[:])
}

//go:build !linux

package main

import "errors"

// openTracefs fails: tracefs is Linux's.
func openTracefs() (string, func() error, error) {
	return "", nil, errors.New("capturing a trace needs Linux's tracefs; record one on Linux and open the file here")
}

// kernelRelease is unknown off Linux.
func kernelRelease() string { return "(unknown release)" }

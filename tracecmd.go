package main

import (
	"bufio"
	"fmt"
	"io"

	"github.com/allocviz/allocviz/scripts"
	"github.com/allocviz/allocviz/scripts/ktrace"
)

// traceCmd is allocviz trace stats FILE [machine flags]: what a trace
// holds and what replaying it does, without the interface.
func traceCmd(args []string, stdout, stderr io.Writer) int {
	const use = "usage: allocviz trace stats FILE|NAME [machine flags]"
	if len(args) == 0 || args[0] != "stats" {
		fmt.Fprintln(stderr, use)
		return exitError
	}
	fs := newFlagSet("trace stats")
	var mf machineFlags
	mf.register(fs)
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return flagError(err, args[1:], stdout, stderr)
	}
	if len(pos) != 1 {
		fmt.Fprintln(stderr, use)
		return exitError
	}
	opts, err := mf.options()
	if err != nil {
		fmt.Fprintln(stderr, "allocviz:", err)
		return exitError
	}
	sc, err := scripts.Open(pos[0])
	if err != nil {
		fmt.Fprintln(stderr, "allocviz:", err)
		return exitError
	}
	if !sc.Trace {
		fmt.Fprintf(stderr, "allocviz trace stats: %s is not a trace (the text of tracing/trace, trace_pipe or trace-cmd report, maybe gzipped)\n", sc.Name)
		return exitError
	}
	text, err := sc.Text()
	if err != nil {
		fmt.Fprintln(stderr, "allocviz:", err)
		return exitError
	}
	defer text.Close()
	rep, err := ktrace.Analyze(sc.Name, text, opts.Config)
	if err != nil {
		fmt.Fprintln(stderr, "allocviz:", err)
		return exitError
	}
	bw := bufio.NewWriter(stdout)
	err = rep.Write(bw)
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		fmt.Fprintln(stderr, "allocviz:", err)
		return exitError
	}
	if !rep.Clean() {
		return exitCheckFailed
	}
	return exitOK
}

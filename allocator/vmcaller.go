package allocator

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// vmCaller is who asked for a vmap area. The kernel records one thing,
// vm->caller: the return address of the vmalloc-family function that
// made the area (__builtin_return_address(0) in __vmalloc_noprof,
// __kvmalloc_node_noprof, vrealloc_node_align_noprof; mm/vmalloc.c and
// mm/slub.c, 6.18), which /proc/vmallocinfo prints with %pS as
// "function+0xoffset/0xsize". allocviz keeps that, ret, and the entry
// point that was called, fn, which the interface names the area by.
type vmCaller struct {
	fn  string // the entry point: "vmalloc", "vrealloc", "kvmalloc", "kvrealloc", a Rust allocator's realloc
	ret string // vm->caller as %pS prints it; "" for the code that called fn: the script step's source
}

// The callers of the areas allocviz's entry points make. A script's call
// of vmalloc, vrealloc or kvmalloc records the script's line (see
// stepCaller). kvrealloc records itself, as the kernel's does: its
// kvmalloc fallback is a call inside kvrealloc_node_align_noprof (and so
// is its vrealloc of a vmalloc pointer, read as the C source is written,
// without a compiler's tail call). The Rust Vmalloc allocator reaches
// vrealloc_node_align through the C helper rust/helpers/vmalloc.c
// rust_helper_vrealloc_node_align, whose call is the return address.
var (
	callerVmalloc     = vmCaller{fn: "vmalloc"}
	callerVrealloc    = vmCaller{fn: "vrealloc"}
	callerKvmalloc    = vmCaller{fn: "kvmalloc"}
	callerKvrealloc   = vmCaller{fn: "kvrealloc", ret: "kvrealloc_node_align_noprof"}
	callerRustVmalloc = vmCaller{fn: "<Vmalloc as Allocator>::realloc", ret: "rust_helper_vrealloc_node_align"}
)

// resolve returns c with ret filled in: the step's source when the
// script called fn directly.
func (m *Machine) resolve(c vmCaller) vmCaller {
	if c.ret == "" {
		c.ret = m.stepCaller(c.fn)
	}
	return c
}

// SetSourceLines tells the machine that file, a script or trace whose
// steps follow, ends at line lines: the size of the "function" in a
// caller that stepCaller makes of a line of it.
func (m *Machine) SetSourceLines(file string, lines int) {
	if m.srcLines == nil {
		m.srcLines = make(map[string]int)
	}
	m.srcLines[file] = lines
}

// stepCaller is the caller of the current step's code as %pS prints a
// kernel caller (SourceCaller), or fn when the step has no source (a Go
// caller of the API, outside any script).
func (m *Machine) stepCaller(fn string) string {
	file, line := m.stepFile, m.stepLine
	if m.stepSrc != "" {
		file, line = splitSrc(m.stepSrc)
	}
	if file == "" || line <= 0 {
		return fn
	}
	return SourceCaller(file, line, m.srcLines[file])
}

// splitSrc splits "file:line:col" (or "file:line") into file and line;
// line is 0 when src has no line.
func splitSrc(src string) (string, int) {
	if i := strings.LastIndexByte(src, ':'); i > 0 {
		if j := strings.LastIndexByte(src[:i], ':'); j > 0 {
			if n, err := strconv.Atoi(src[j+1 : i]); err == nil {
				return src[:j], n
			}
		}
		if n, err := strconv.Atoi(src[i+1:]); err == nil {
			return src[:i], n
		}
	}
	return src, 0
}

// SourceCaller is how allocviz prints, in the shape of the kernel's %pS
// ("alloc_large_system_hash+0x19b/0x25e": one token, no spaces), a
// caller that is a line of a script or trace rather than kernel text: the
// file's base name as a C identifier for the function (every character
// but letters, digits and '_' made '_', so that a script is never taken
// for the kernel function it is named after: "vmalloc.star" is
// vmalloc_star, "kvec-growth.star" kvec_growth_star; "<prompt>" is
// prompt), the line for the offset and the file's last
// line (lines; line itself when unknown or smaller) for the size, both in
// hex as %pS prints them. Offsets count lines, not bytes of machine code:
// a script has none.
func SourceCaller(file string, line, lines int) string {
	base := filepath.Base(file)
	sym := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_':
			return r
		case r == '<' || r == '>':
			return -1
		}
		return '_'
	}, base)
	if sym == "" || sym[0] >= '0' && sym[0] <= '9' {
		sym = "script_" + sym
	}
	return fmt.Sprintf("%s+%#x/%#x", sym, line, max(lines, line))
}

// Package scripts runs allocviz scenarios: Starlark programs that drive the
// simulated machine of package allocator one step at a time.
//
// # The language
//
// Scenarios are Starlark (go.starlark.net), with these options on top of
// the core language: while loops, recursion, if/for/while at the top level,
// reassigning a global, and the set type (syntax.FileOptions While,
// Recursion, TopLevelControl, GlobalReassign, Set). Starlark has no **
// operator; write 1 << 20 or 1024 * 1024. There is no I/O: no files, no
// clock, no randomness, and load() is refused, so a scenario is one
// self-contained file and runs the same way every time. print() output is
// recorded (Session.Printed) and handed to Options.Print.
//
// # Sessions and steps
//
// A Session holds a machine, its event log, the Starlark globals and the
// steps so far. Every call of a Step builtin (alloc_pages, free_pages,
// write, say, check, ...) is one step: the session calls
// Machine.BeginStep(n, "file:line:col", call) first, so every event the
// call causes carries the step number, and records a Step with the call as
// written, its argument values, its result and the range of its events in
// the log. Builtins that only look (buddyinfo, machine) are not steps and
// may not change the machine.
//
// RunFile runs a whole script; Exec runs one more statement typed at a
// prompt against the same globals (positions use the file name <prompt>,
// with line numbers continuing from statement to statement); Rebuild(k)
// replays the recorded inputs on a fresh machine and stops where step k+1
// would begin, which is exact because scripts are deterministic. Errors are
// *Error values printed as "file:line:col: message"; a failed input
// leaves the session usable.
//
// A trace of a real kernel (the text of tracing/trace, trace_pipe or
// trace-cmd report, maybe gzipped; package ktrace) is an input like a
// script: Open tells it by its content, Run and RunFile replay it with
// RunTrace, one step per memory event line, positioned file:line and
// labelled with the line's time, task, CPU and call site (Step.Label, the
// EvStep's Src). Run chooses the machine from the trace where the Options
// leave a field zero; Rebuild replays a trace like a script; statements
// typed at the prompt continue after it. The bundled scenarios include
// traces (scenarios/*.txt.gz).
//
// Each input may take at most Settings.MaxSteps allocator steps
// (DefaultMaxSteps, 2^20, enough to fill the largest machine page by page;
// config(max_steps=) or the CLI's --max-steps change it) and 100 Starlark
// computation steps per allowed allocator step (at least 10^6), so both
// while True: alloc_pages(0) and for i in range(10000000000): pass stop
// with a positioned error.
//
// # Misuse is reported, not fatal
//
// A kernel does not stop when code misuses it; it reports. So free_pages
// of a block already freed, or with the wrong order, vfree of something
// that is no vmalloc area, and kfree or kmem_cache_free of an object freed
// already, of another cache or of no cache, return False after the
// allocator records the report (in SLUB's words with slab_debug=F); a freed
// pointer whose address was handed out again is refused before it reaches
// the allocator, since freeing it would free the new owner's object; read, write and fill out of bounds, after free, or
// through None record a KASAN-style EvMisuse and return False (None for
// read); a failed allocation returns None (NULL) and the allocator
// records why. check(cond, message) records a failure and carries on; the
// CLI exits 1 at the end. Only mistakes in the script itself (syntax,
// unknown names, wrong argument types, cpu numbers that do not exist,
// config() after the first step, the step limits) stop it.
//
// # Memory access: KASAN and the MMU
//
// read, write and fill check an access the way KASAN does, with one
// deliberate difference so that a real fault can be seen. An access that
// stays inside a live allocation goes ahead. For a kmalloc or slab pointer
// the allocation is the size asked for: the bytes from there to ksize are
// poisoned, as KASAN poisons them (slab-out-of-bounds), until ksize(p)
// hands them over. Otherwise the first byte it
// touches that the allocation does not own decides: if memory is mapped
// there (RAM's direct map, the pages of a vmap area, including the slack
// after a vmalloc's requested size in its last page) KASAN reports the
// access and it is not done; if nothing is mapped there (a vmalloc guard
// page, a vfree'd area) the access goes ahead, front to back as memcpy
// does, and the MMU stops it with a real fault at that byte: the bytes
// before it are written, the machine reports a guard-page hit (EvGuardHit,
// with the kernel's "BUG: unable to handle page fault" line), and the
// builtin returns False (None for read). A real KASAN kernel would report
// the guard page too; most production kernels have no KASAN and fault.
//
// unchecked=True (write(p, off, data, unchecked=True), fill, read) skips
// KASAN altogether, as a kernel built without it: an overrun lands in
// whatever is mapped next to the allocation, a use after free reads the
// page's new contents, and only unmapped memory faults. Only None is
// refused. Pointers from pfn_to_kaddr(pfn) look at any page of RAM through
// the direct map, whoever owns it.
//
// # Adding builtins
//
// Builtins come in groups, one file per group. To add SLUB, say, write
// builtins_slub.go with a function returning its Group:
//
//	func slubGroup() Group {
//		return Group{Name: "slub", Builtins: []Builtin{
//			{Name: "kmalloc", Step: true, Fn: builtinKmalloc,
//				Doc: "kmalloc(size, flags=GFP_KERNEL): ..."},
//		}}
//	}
//
// and add slubGroup() to the list in groups() (registry.go): the only line
// outside your file. A name defined twice is an error when a session
// starts, which the tests catch. Then:
//
//   - In each Fn, unpack the arguments with c.Unpack, which begins the step
//     of a Step builtin, before touching c.Machine(). Set the operation
//     shown for the step with c.SetOp("kmalloc(100, GFP_KERNEL)") and, for
//     a failure that returns None, c.SetResult("NULL"). results.go turns
//     the allocator's error into the result: allocFailed (NULL for a
//     failure the allocator reported, a script error otherwise) and
//     freeResult (False for a refused free, else True and MarkFreed).
//   - Return allocations as *Pointer values: Size is the bytes read, write
//     and fill may touch, Owner names the allocator ("kmalloc-128",
//     "vmalloc"), Order and PFN are -1 unless they apply, Step is c.Step().
//     A free calls p.MarkFreed(c.Step()), after which the memory builtins
//     report use after free.
//   - Misuse the kernel reports (a double kfree) is an allocator event and
//     a False or None result, not an error.
//   - Keyword arguments of config() for your allocator (slab_debug=) go in
//     Group.ConfigKeys, constants (SLAB_HWCACHE_ALIGN) in Group.Constants,
//     and state kept per session in Session.Ext, never in package
//     variables.
//
// Bundled scenarios are scenarios/*.star, embedded in the binary; the
// first line of each one's docstring (or its first comment) is the
// description allocviz scenarios prints.
package scripts

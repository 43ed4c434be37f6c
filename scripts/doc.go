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
// # Running a statement at a prompt
//
// An interface runs what a user types with ExecContext(ctx, src,
// ExecOptions{MaxSteps: n}), typically from a goroutine other than its
// event loop, and shows the result with Display:
//
//   - Steps: the statement may take ExecOptions.MaxSteps allocator steps
//     (DefaultPromptSteps, 10,000, unless the session's own limit is
//     lower), and 100 Starlark steps for each (at least 10^6). Past them it
//     ends with "step limit reached: 10000 allocator steps in one
//     statement (a runaway loop?)" or "execution limit reached: ...",
//     positioned where it stopped; like any error in the script's own
//     terms, the steps it took stand.
//   - Cancelling: when ctx is cancelled (esc; context.WithCancelCause
//     names why) the statement stops within moments wherever it is,
//     inside a builtin's loop too (max(range(1 << 62)), a huge list()),
//     and is undone: the session is rebuilt to exactly where it was before
//     the statement (steps, events, machine, globals, prompt line numbers)
//     by replaying the inputs before it, as Rebuild does, and the
//     statement is not recorded. The error matches ErrInterrupted and the
//     cause, says so ("cancelled (esc); the statement's 3 steps were
//     undone"), and what the statement allocated becomes garbage. The
//     replay takes as long as the session's inputs took to run. Interrupt
//     does the same without a context. The memory watchdog and
//     Options.Timeout interrupt a statement the same way.
//   - Progress: Progress reports the steps taken so far and whether an
//     input runs; unlike everything else it may be called from any
//     goroutine while a statement runs, for an on-screen counter. The
//     session's log and steps may be read only once ExecContext returned.
//   - Panics: a panic in any builtin, the allocator's or Starlark's,
//     becomes an *Error matching ErrInternal at the call's position, and
//     the statement is undone: the session goes on. In a script run the
//     steps before the panicking one stand and the machine is rebuilt to
//     the end of the last of them.
//   - Results: Display shows a value in bounded time and space (a list
//     nested a million deep, a huge int or string included).
//
// A script run has the same limits (RunFileContext, Options.Timeout);
// when it is interrupted its completed steps stand, and replays of it
// (Rebuild) stop at the same Starlark step.
//
// # Limits
//
// No input can take the process down (limits.go). Each is bounded in
// allocator steps (Settings.MaxSteps for a script: DefaultMaxSteps, 2^20,
// enough to fill the largest machine page by page; config(max_steps=) or
// the CLI's --max-steps change it, up to MaxStepsLimit), in Starlark
// computation steps (100 per allowed allocator step, at least 10^6), in
// memory (Options.MaxMemory of Go heap for the script's values,
// DefaultMaxMemory, plus recordAllowance per event recorded), and in time
// (the context, Options.Timeout). So while True: alloc_pages(0), for i in
// range(10000000000): pass and max(range(1 << 62)) all stop with a
// positioned error.
//
// Starlark's universal builtins run their loops in Go, out of reach of
// the step count and of cancellation, and size their results as the
// script asks. The session predeclares guarded versions of them under
// the same names (guard.go): list, tuple, sorted, reversed, set, dict,
// enumerate, zip and bytes check the size of what they would make against
// the memory budget before they allocate and charge a step per element;
// max, min, any and all charge per element; str, repr, print and fail
// refuse a value nested more than 100 levels deep or too large to print;
// int refuses strings of more than 100,000 digits; range, a string's
// elems() and codepoints() and a kvec charge whatever iterates them a
// step per element, and stop yielding when the input is interrupted. The
// operators and methods that size a result in one call (+, *, % on
// strings and sequences, and ", ".join, replace, split, format, extend)
// cannot be shadowed, so a guard pass rewrites the syntax tree to call
// checked versions of them at the same positions (rewrite.go). A
// watchdog on the Go heap catches what grows in small pieces. Every
// guarded builtin turns a panic into an error.
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
// config() after the first step, the limits) stop it. A call with a wrong
// argument is refused before its step begins, so it leaves no step
// behind. kfree, kvfree, vfree, free_pages, ksize and kmem_cache_free
// take plain addresses as well as pointers, as C does: NULL (None or 0)
// frees nothing, and kfree and kvfree of ZERO_SIZE_PTR do nothing, as in
// the kernel.
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
//     of a Step builtin, before touching c.Machine(). Give every parameter
//     a type Unpack can check (int, string, or an Unpacker of args.go:
//     ptrArg, objectArg, cacheArg, dataArg, ...) so that a wrong argument
//     is refused before the step begins; a check that needs the machine
//     goes in the Unpacker's check method (argChecker), or between
//     c.UnpackArgs and c.Begin. A builtin that loops over what a script
//     gives it charges the session a step per element. Set the operation
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
// # Quizzes
//
// ask() (builtins_quiz.go) records a question as its own step and leaves
// it pending in the session's Ext state. The wrapper every builtin runs
// in (registry.go, wrap) then answers it at the end of the next step
// that is not say, check or ask, before the step is completed: it calls
// the question's answer function with what the step returned, records
// an EvAnswer in that step, and turns a bad answer (not one of the
// choices) into the step's error. While the function runs no builtin may
// take a step, so the answer only looks at the machine. A question asked
// with until_reveal=True waits for reveal() instead. heapview.Questions
// reads the questions and answers back from the event log, which is all
// the terminal quiz and the interface use.
//
// Bundled scenarios are scenarios/*.star, embedded in the binary; the
// first line of each one's docstring (or its first comment) is the
// description allocviz scenarios prints, and a comment line
// "# topic: slub" its group in that list.
package scripts

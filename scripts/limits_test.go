package scripts

import (
	"context"
	"errors"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/allocviz/allocviz/allocator"
	"go.starlark.net/starlark"
)

// limitOptions bound a test session tightly, so runaway inputs end fast.
var limitOptions = Options{MaxSteps: 1000, MaxMemory: 128 << 20}

// TestRunawayInputsEndInPositionedErrors runs the inputs that used to
// take allocviz down (out of memory, Go panics, loops nothing could
// stop) as a script and as a prompt statement: each ends with an error
// at the right place, and the session goes on.
func TestRunawayInputsEndInPositionedErrors(t *testing.T) {
	kvec62 := "v = kvec(0)\nv.resize(1 << 62, 0)\n"
	deep := "x = []\nfor i in range(20000):\n    x = [x]\n"
	for _, tc := range []struct {
		src, pos, msg string
	}{
		{"x = list(range(1 << 40))", "1:5", "list: 1099511627776 elements would take 16 TiB, over the memory budget of 128 MiB (raise it with --max-memory)"},
		{"x = sorted(range(1 << 40))", "1:5", "sorted: 1099511627776 elements would take 16 TiB"},
		{"x = tuple(range(1 << 40))", "1:5", "tuple: 1099511627776 elements"},
		{"x = list(range(1 << 33))", "1:5", "list: 8589934592 elements would take 128 GiB"},
		{"x = dict([(1, 2)] * (1 << 28))", "1:19", "repeat: 268435456 elements would take 4 GiB"},
		{"s = 'x'\nwhile True:\n    s = s + s", "3:11", "over the budget of 128 MiB|over the memory budget of 128 MiB"},
		{"s = 'x'\nwhile True:\n    s = s * 2", "3:11", "over the budget of 128 MiB|repeat: the result would take 256 MiB"},
		{"l = [0]\nwhile True:\n    l += l", "3:7", "over the budget of 128 MiB|execution limit reached"},
		{"d = {}\nfor i in range(1 << 40):\n    d[i] = i", "", "execution limit reached"},
		{"', '.join(['x' * 4096] * 100000)", "1:1", "join: the result would take"},
		{"('x' * (1 << 20)).replace('x', 'y' * 1000)", "1:1", "replace: the result would take 1000 MiB"},
		{"('x ' * (1 << 24)).split()", "1:1", "split: 16777216 pieces would take 512 MiB"},
		{"('{}' * (1 << 20)).format('x' * 1000)", "1:1", "format: the result would take 3.9 GiB"},
		{"('%(a)s' * (1 << 20)) % {'a': 'x' * 1000}", "1:23", "%: the result would take"},
		{"[0] * (1 << 29)", "1:5", "repeat: 536870912 elements would take 8 GiB"},
		{"x = 3\nfor i in range(40):\n    x = x * x", "3:11", "int too large"},
		{"int('9' * 1000000)", "1:1", "int: a string of 1000000 characters is too long"},
		{kvec62 + "list(v)", "3:1", "list: 4611686018427387904 elements would take more than 16 EiB"},
		{kvec62 + "tuple(v)", "3:1", "tuple: 4611686018427387904 elements"},
		{kvec62 + "sorted(v)", "3:1", "sorted: 4611686018427387904 elements"},
		{kvec62 + "enumerate(v)", "3:1", "enumerate: 4611686018427387904 elements"},
		{kvec62 + "reversed(v)", "3:1", "reversed: 4611686018427387904 elements"},
		{kvec62 + "zip(v, v)", "3:1", "zip: 4611686018427387904 elements"},
		{kvec62 + "set(v)", "3:1", "set: 4611686018427387904 elements"},
		{kvec62 + "max(v)", "3:1", "execution limit reached"},
		{kvec62 + "any(v)", "3:1", "execution limit reached"},
		{kvec62 + "l = []\nl.extend(v)", "4:1", "extend: 4611686018427387904 elements"},
		{"max(range(1 << 62))", "1:1", "execution limit reached"},
		{"min(range(1 << 62))", "1:1", "execution limit reached"},
		{"all(range(1, 1 << 62))", "1:1", "execution limit reached"},
		{"5 in [i for i in range(1 << 62)]", "", "execution limit reached"},
		{"l = []\nl.extend(range(1 << 62))", "2:1", "extend: 4611686018427387904 elements"},
		{"s = set()\ns.union(range(1 << 62))", "2:1", "union: 4611686018427387904 elements would take"},
		{"s = set()\ns.update(range(1 << 40))", "2:1", "update: 1099511627776 elements would take"},
		{"''.join([str(i) for i in range(1 << 62)])", "", "execution limit reached"},
		{"len(list(('x' * 1000000).codepoints()))", "1:5", "execution limit reached"},
		{deep + "str(x)", "4:1", "str: the value is nested more than 100 levels deep, too deep to print"},
		{deep + "repr(x)", "4:1", "repr: the value is nested more than 100 levels deep"},
		{deep + "print(x)", "4:1", "print: the value is nested more than 100 levels deep"},
		{deep + "'%s' % x", "4:6", "%: the value is nested more than 100 levels deep"},
		{deep + "'{}'.format(x)", "4:1", "format: the value is nested more than 100 levels deep"},
		{deep + "say(x)", "", ""}, // say shows a summary
		{"p = kmalloc(8)\nx = 1\x00\ncheck(False)", "2:6", "a NUL byte in the source: a script must be UTF-8 text"},
		{"p = kmalloc(8)\ns = 'caf\xe9'\n", "2:9", "invalid UTF-8 (byte 0xe9) in the source"},
	} {
		for _, prompt := range []bool{false, true} {
			name := strings.ReplaceAll(tc.src, "\n", "; ")
			if prompt {
				name += " (prompt)"
			}
			t.Run(name, func(t *testing.T) {
				s := newSession(t, limitOptions)
				file := "t.star"
				var err error
				start := time.Now()
				if prompt {
					file = PromptFile
					_, err = s.ExecContext(context.Background(), tc.src, ExecOptions{MaxSteps: 1000})
				} else {
					err = s.RunFile(file, []byte(tc.src))
				}
				if tc.msg == "" {
					if err != nil {
						t.Fatalf("error %v", err)
					}
					return
				}
				var se *Error
				if !errors.As(err, &se) {
					t.Fatalf("error %v (%T), want an *Error", err, err)
				}
				matches := false
				for _, m := range strings.Split(tc.msg, "|") {
					matches = matches || strings.Contains(se.Msg, m)
				}
				if tc.pos != "" && se.Pos != file+":"+tc.pos || !matches {
					t.Errorf("error %v\nwant %s:%s: ...%s...", err, file, tc.pos, tc.msg)
				}
				if d := time.Since(start); d > 5*time.Second {
					t.Errorf("took %v", d)
				}
				// The session goes on.
				if v, err := s.Exec("1 + 1"); err != nil || v.String() != "2" {
					t.Errorf("afterwards: %v, %v", v, err)
				}
				if err := s.Machine().CheckInvariants(); err != nil {
					t.Error(err)
				}
			})
		}
	}
}

// TestGuardedOperationsKeepTheirMeaning checks that the operators and
// methods the guard pass routes through the session still do what
// Starlark does, errors and aliasing included.
func TestGuardedOperationsKeepTheirMeaning(t *testing.T) {
	s := runScript(t, `
a = [1, 2]
b = a
a += (3,)
check(b == [1, 2, 3], "+= extends a list in place")
c = a
a *= 2
check(c == [1, 2, 3] and a == [1, 2, 3, 1, 2, 3], "*= makes a new list")
d = {"k": [1]}
e = d["k"]
d["k"] += [2]
check(e == [1, 2], "a[k] += extends the element in place")
m = [3]
m[0] *= 4
m[0] += 1
check(m == [13], "a[k] *= on an int")
f = ["%d"]
f[0] %= 7
check(f == ["7"], "a[k] %= formats")
s = "ab"
s += "c"
s *= 2
check(s == "abcabc", "string += and *=")
check("%s-%d" % ("x", 3) == "x-3", "% formats")
check("{}+{x}".format(1, x=2) == "1+2", "format")
check(", ".join(["a", "b"]) == "a, b", "join")
check("a b  c".split() == ["a", "b", "c"] and "a,b".split(",") == ["a", "b"] and "a,b,c".rsplit(",", 1) == ["a,b", "c"], "split")
check("x\ny".splitlines() == ["x", "y"], "splitlines")
check("aXbX".replace("X", "--") == "a--b--", "replace")
j = "-".join
check(j(["p", "q"]) == "p-q", "a method held as a value")
check(getattr("a,b", "split")(",") == ["a", "b"], "getattr")
check(list("ab".elems()) == ["a", "b"] and len("ab".elems()) == 2 and "ab".elems()[1] == "b", "elems")
check(list("héllo".codepoints())[1] == "é", "codepoints")
r = range(10)
check(r[2:5] == range(2, 5) and 3 in r and len(r) == 10 and list(r[::3]) == [0, 3, 6, 9], "range")
check(str(range(3)) == "range(3)" and type(range(3)) == "range", "range prints")
check(3 * 4 == 12 and 7 % 4 == 3 and 1 + 2 == 3, "ints")
check([1] * 3 == [1, 1, 1] and (1,) * 2 == (1, 1) and 3 * "ab" == "ababab", "repeat")
check(sorted([3, 1, 2], reverse=True) == [3, 2, 1] and max([1, 5, 2]) == 5 and min(4, 2, 9) == 2, "sorted, max, min")
check(dict(a=1) == {"a": 1} and set([1, 1]) == set([1]) and list(enumerate("ab".elems(), 1)) == [(1, "a"), (2, "b")], "dict, set, enumerate")
check(list(zip([1, 2], "ab".elems())) == [(1, "a"), (2, "b")] and list(reversed([1, 2])) == [2, 1], "zip, reversed")
check(bytes([104, 105]) == b"hi" and str(b"x") == "x" and repr("x") == '"x"', "bytes, str, repr")
check(int("42") == 42 and any([0, 1]) and not all([0, 1]), "int, any, all")
`)
	noFailures(t, s)
	for _, tc := range []struct{ src, want string }{
		{`1 + "a"`, `<prompt>:1:3: unknown binary op: int + string`},
		{`[] * "a"`, `<prompt>:2:4: unknown binary op: list * string`},
		{`"%d" % "x"`, `<prompt>:3:6: %d format requires integer: cannot convert string to int`},
		{`"x".nosuch()`, `<prompt>:4:4: string has no .nosuch field or method`},
		{`[].join(",")`, `<prompt>:5:3: list has no .join field or method`},
		{`",".join([1])`, `<prompt>:6:1: join: in list, want string, got int`},
		{`x = 1\nx += "a"`, `<prompt>:8:3: unknown binary op: int + string`},
	} {
		_, err := s.Exec(strings.ReplaceAll(tc.src, `\n`, "\n"))
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: error %v, want %s", tc.src, err, tc.want)
		}
	}
}

// snapshot is everything a statement could change in a session.
type snapshot struct {
	steps    []Step
	inputs   int
	events   []string // the log as --json writes it, a line an event
	proc     string
	globals  string
	failures int
}

func takeSnapshot(s *Session) snapshot {
	m := s.Machine()
	var g []string
	for _, k := range s.Globals().Keys() {
		g = append(g, k+"="+Display(s.Globals()[k], 200))
	}
	return snapshot{
		steps:    allSteps(s),
		inputs:   len(s.Inputs()),
		events:   jsonLines(s.Log()),
		proc:     m.Buddyinfo() + m.Slabinfo() + m.Vmallocinfo(),
		globals:  strings.Join(g, "\n"),
		failures: len(s.Failures()),
	}
}

// startExec runs stmt with ExecContext on another goroutine and returns
// a channel that receives its error. If the test ends first, it stops the
// statement and waits for it.
func startExec(t *testing.T, s *Session, ctx context.Context, stmt string, o ExecOptions) <-chan error {
	done, out := make(chan error, 1), make(chan error, 1)
	go func() {
		_, err := s.ExecContext(ctx, stmt, o)
		done <- err
	}()
	go func() {
		err := <-done
		out <- err
		done <- err
	}()
	t.Cleanup(func() {
		s.Interrupt(errors.New("the test ended"))
		<-done
	})
	return out
}

// waitSteps polls Progress until the running input has taken n steps.
func waitSteps(t *testing.T, s *Session, n int, done <-chan error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for p := s.Progress(); !p.Running || p.InputSteps < n; p = s.Progress() {
		select {
		case err := <-done:
			t.Fatalf("the statement ended before its step %d: %v", n, err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the statement never took %d steps (Progress %+v)", n, s.Progress())
		}
		runtime.Gosched()
	}
}

// TestCancelledStatementIsUndoneExactly cancels statements in the middle
// of builtin loops and checks that each stops promptly and leaves the
// session exactly as it was: steps, events, machine, globals; and that
// the session then goes on exactly as one that never ran the statement.
func TestCancelledStatementIsUndoneExactly(t *testing.T) {
	setup := []string{"l = [1]\np = kmalloc(100)\nv = kvec(8)\nv.push(7)", "c = kmem_cache_create('thing', 40)\nq = kmem_cache_alloc(c)"}
	for _, stmt := range []string{
		"l.append(2)\nkfree(p)\nr = vmalloc(8192)\nmax(range(1 << 62))",
		"l.append(2)\nkfree(p)\nr = vmalloc(8192)\nx = list(range(1 << 23))\nmax(x)\nmax(range(1 << 62))",
		"l.append(2)\nkfree(p)\nr = vmalloc(8192)\nall(range(1, 1 << 62))",
		"l.append(2)\nkfree(p)\nr = vmalloc(8192)\nwhile True:\n    v.push(1)\n    v.pop()",
		"l.append(2)\nkfree(p)\nr = vmalloc(8192)\nx = [[]]\nfor i in range(1 << 30):\n    x = [x]",
	} {
		t.Run(strings.ReplaceAll(stmt, "\n", "; "), func(t *testing.T) {
			s := newSession(t, Options{})
			control := newSession(t, Options{})
			if err := s.RunFile("setup.star", []byte("config(ram='32M')\nkmalloc(8)\n")); err != nil {
				t.Fatal(err)
			}
			if err := control.RunFile("setup.star", []byte("config(ram='32M')\nkmalloc(8)\n")); err != nil {
				t.Fatal(err)
			}
			for _, in := range setup {
				for _, x := range []*Session{s, control} {
					if _, err := x.Exec(in); err != nil {
						t.Fatal(err)
					}
				}
			}
			before := takeSnapshot(s)
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			done := startExec(t, s, ctx, stmt, ExecOptions{MaxSteps: 1 << 30})
			waitSteps(t, s, 2, done)
			cancel(errors.New("cancelled at the prompt (esc)"))
			cancelled := time.Now()
			var err error
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("the statement did not stop")
			}
			// The interface promises esc within a second; alone, this
			// takes a few milliseconds (more with the 64 MiB list to drop).
			if d := time.Since(cancelled); d > time.Second {
				t.Errorf("the statement took %v to stop and be undone", d)
			}
			var se *Error
			if !errors.As(err, &se) || !errors.Is(err, ErrInterrupted) || !strings.HasPrefix(se.Pos, PromptFile+":") ||
				!strings.HasPrefix(se.Msg, "cancelled at the prompt (esc); the statement's ") || !strings.HasSuffix(se.Msg, " steps were undone") {
				t.Fatalf("error %v (%T)", err, err)
			}
			after := takeSnapshot(s)
			if !reflect.DeepEqual(after, before) {
				t.Fatalf("the session changed:\nbefore %+v\nafter  %+v", before, after)
			}
			if p := s.Progress(); p.Running || p.Steps != len(before.steps) || p.InputSteps != 0 {
				t.Errorf("Progress %+v after the undo, want %d steps", p, len(before.steps))
			}
			// The session goes on as one that never ran the statement.
			next := "kfree(p)\nkmem_cache_free(c, q)\nv.push(9)\nl.append(3)\nr = vmalloc(4096)"
			for _, x := range []*Session{s, control} {
				if _, err := x.Exec(next); err != nil {
					t.Fatal(err)
				}
			}
			if v, err := s.Exec("l"); err != nil || v.String() != "[1, 3]" {
				t.Fatalf("l = %v, %v", v, err)
			}
			if a, b := jsonLines(s.Log()), jsonLines(control.Log()); !reflect.DeepEqual(a, b) {
				for i := range min(len(a), len(b)) {
					if !reflect.DeepEqual(a[i], b[i]) {
						t.Fatalf("after the undo the session's events differ from a session that never ran the statement: event %d of %d/%d:\n%+v\n%+v", i, len(a), len(b), a[i], b[i])
					}
				}
				t.Fatalf("after the undo the session has %d events, one that never ran the statement %d", len(a), len(b))
			}
			if err := s.Machine().CheckInvariants(); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestMemoryIsBoundedAfterACancelledStatement: what a cancelled
// statement allocated is garbage once it is undone.
func TestMemoryIsBoundedAfterACancelledStatement(t *testing.T) {
	s := newSession(t, Options{})
	if _, err := s.Exec("p = kmalloc(8)"); err != nil {
		t.Fatal(err)
	}
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	base := heap()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := startExec(t, s, ctx, "big = 'a' * (1 << 27)\nbig2 = big + 'b'\nl = list(range(1 << 22))\nkmalloc(8)\nmax(range(1 << 62))", ExecOptions{MaxSteps: 1 << 30})
	waitSteps(t, s, 1, done)
	cancel()
	if err := <-done; !errors.Is(err, ErrInterrupted) || !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v", err)
	}
	if _, ok := s.Globals()["big"]; ok {
		t.Error("the cancelled statement's global big stands")
	}
	if after := heap(); after > base+16<<20 {
		t.Errorf("the heap holds %s after the undo, %s before", approxBytes(after), approxBytes(base))
	}
}

// TestMemoryWatchdogInterrupts: a statement that builds more than the
// budget in small pieces is stopped and undone.
func TestMemoryWatchdogInterrupts(t *testing.T) {
	s := newSession(t, Options{MaxMemory: 64 << 20})
	_, err := s.ExecContext(context.Background(), "d = {}\nkmalloc(8)\nfor i in range(1 << 40):\n    d[i] = [i]", ExecOptions{MaxSteps: 1 << 30})
	var se *Error
	// The watchdog interrupts wherever the loop is when the heap passes
	// the budget: the for statement (line 3) or its body (line 4).
	if !errors.As(err, &se) || !errors.Is(err, ErrMemoryBudget) || !(strings.HasPrefix(se.Pos, "<prompt>:3:") || strings.HasPrefix(se.Pos, "<prompt>:4:")) ||
		!strings.HasPrefix(se.Msg, "memory budget exceeded: the Go heap reached") || !strings.HasSuffix(se.Msg, "the statement's step was undone") {
		t.Fatalf("error %v", err)
	}
	if s.NumSteps() != 0 {
		t.Errorf("%d steps stand", s.NumSteps())
	}
}

func TestStepLimitOfAStatement(t *testing.T) {
	s := newSession(t, Options{})
	_, err := s.Exec("for i in range(20000):\n    kfree(kmalloc(8))")
	if err == nil || err.Error() != "<prompt>:2:11: step limit reached: 10000 allocator steps in one statement (a runaway loop?)" {
		t.Errorf("default: %v", err)
	}
	_, err = s.ExecContext(context.Background(), "while True:\n    kfree(kmalloc(8))", ExecOptions{MaxSteps: 5})
	if err == nil || err.Error() != "<prompt>:4:5: step limit reached: 5 allocator steps in one statement (a runaway loop?)" {
		t.Errorf("5: %v", err)
	}
	// The steps of a statement that hit its limit stand, as a script's do.
	if n := s.NumSteps(); n != 10005 {
		t.Errorf("%d steps", n)
	}
	_, err = s.Exec("while True:\n    pass")
	if err == nil || !strings.HasSuffix(err.Error(), "execution limit reached: 1000000 Starlark steps in one statement without finishing (a runaway loop?)") {
		t.Errorf("computation: %v", err)
	}
	if _, err := s.ExecContext(context.Background(), "1", ExecOptions{MaxSteps: -1}); err == nil {
		t.Error("a negative limit was accepted")
	}
}

// TestTimeoutStopsAScriptAndItsReplay: a script stopped by its time limit
// keeps its steps, and rebuilding the session stops the replay at the
// same place instead of looping again.
func TestTimeoutStopsAScriptAndItsReplay(t *testing.T) {
	s := newSession(t, Options{Timeout: 300 * time.Millisecond, MaxSteps: MaxStepsLimit})
	start := time.Now()
	err := s.RunFile("t.star", []byte("p = alloc_pages(0)\nq = alloc_pages(1)\nn = 0\nwhile True:\n    n += 1\n"))
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v", d)
	}
	// On a loaded machine the time may run out before the loop.
	if !errors.Is(err, ErrInterrupted) || !errors.Is(err, context.DeadlineExceeded) || !strings.HasPrefix(err.Error(), "t.star:") ||
		!strings.HasSuffix(err.Error(), ": timed out after 300ms (--timeout)") {
		t.Fatalf("error %v", err)
	}
	if s.NumSteps() != 2 {
		t.Skipf("the time ran out after %d steps, before the loop", s.NumSteps())
	}
	start = time.Now()
	ns, err := s.Rebuild(2)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	// The replay runs the loop as long as the script did (its budget is
	// 2^40 steps): finishing at all shows it stopped where the time ran out.
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the rebuild took %v: it did not stop where the script was interrupted", d)
	}
	if v, err := ns.Exec("n > 0 and q != None"); err != nil || v != starlark.True {
		t.Errorf("the rebuilt session: %v, %v", v, err)
	}
}

// TestInterruptedScriptKeepsItsSteps: RunFileContext cancelled in the
// middle keeps what it did, and a rebuild at any of its steps is exact.
func TestInterruptedScriptKeepsItsSteps(t *testing.T) {
	s := newSession(t, Options{MaxSteps: MaxStepsLimit})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- s.RunFileContext(ctx, "t.star", []byte("ps = []\nfor i in range(1 << 40):\n    ps.append(kmalloc(64))\n    kfree(ps.pop())\n"))
	}()
	waitSteps(t, s, 50, done)
	cancel()
	var err error
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the script did not stop")
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v", err)
	}
	n := s.NumSteps()
	if n < 50 || s.Progress().Steps != n {
		t.Fatalf("%d steps, Progress %+v", n, s.Progress())
	}
	for _, k := range []int{n, n - 1, 7} {
		ns, err := s.Rebuild(k)
		if err != nil {
			t.Fatalf("Rebuild(%d): %v", k, err)
		}
		ns.Close()
	}
}

// TestProgressWhileRunning reads the counter from another goroutine
// while a statement runs (run with -race).
func TestProgressWhileRunning(t *testing.T) {
	s := newSession(t, Options{})
	done := startExec(t, s, context.Background(), "for i in range(3000):\n    kfree(kmalloc(8))", ExecOptions{})
	last := 0
	for running := true; running; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			running = false
		default:
			p := s.Progress()
			if p.Steps < last || p.InputSteps > p.Steps {
				t.Fatalf("Progress went from %d to %+v", last, p)
			}
			last = p.Steps
			runtime.Gosched()
		}
	}
	if p := s.Progress(); p.Running || p.Steps != 6000 || p.InputSteps != 6000 {
		t.Errorf("final Progress %+v", p)
	}
}

// TestInterruptFromAnotherGoroutine stops a running statement without a
// context.
func TestInterruptFromAnotherGoroutine(t *testing.T) {
	s := newSession(t, Options{})
	done := startExec(t, s, context.Background(), "kmalloc(8)\nmax(range(1 << 62))", ExecOptions{MaxSteps: 1 << 30})
	defer s.Interrupt(nil)
	waitSteps(t, s, 1, done)
	s.Interrupt(errors.New("quit"))
	if err := <-done; !errors.Is(err, ErrInterrupted) || !strings.Contains(err.Error(), ": quit; the statement's step was undone") {
		t.Fatalf("error %v", err)
	}
}

func TestStepLimitsRejectOverflow(t *testing.T) {
	if _, err := New(Options{MaxSteps: MaxStepsLimit + 1}); err == nil {
		t.Error("New accepted a step limit past MaxStepsLimit")
	}
	_, err := runScriptErr(t, Options{}, "config(max_steps=1 << 50)\n")
	if !strings.Contains(err.Error(), "config: max_steps: 1125899906842624 is out of range (allowed: 1 to 1099511627776)") {
		t.Errorf("config: %v", err)
	}
	for _, n := range []int{1, 10_000, DefaultMaxSteps, MaxStepsLimit} {
		if b := execBudget(n); b < minExecSteps || b < uint64(n) {
			t.Errorf("execBudget(%d) = %d", n, b)
		}
	}
	if satAdd(^uint64(0)-1, 5) != ^uint64(0) {
		t.Error("satAdd wraps")
	}
}

// TestFreesTakeAddressesAsKfreeDoes: kvfree, vfree and free_pages take
// NULL, ZERO_SIZE_PTR and plain addresses, as the kernel's C does.
func TestFreesTakeAddressesAsKfreeDoes(t *testing.T) {
	s := runScript(t, `
p = vmalloc(8192)
q = alloc_pages(1)
r = kvmalloc(100)
check(kvfree(ZERO_SIZE_PTR) == True, "kvfree(ZERO_SIZE_PTR) does nothing, as kfree(ZERO_SIZE_PTR)")
check(kvfree(0) == None and kvfree(None) == None, "kvfree(NULL)")
check(vfree(0) == None and vfree(None) == None, "vfree(NULL)")
check(free_pages(0, 3) == None, "free_pages(0, order)")
check(vfree(ZERO_SIZE_PTR) == False, "vfree(ZERO_SIZE_PTR) is the kernel's warning")
check(free_pages(ZERO_SIZE_PTR, 0) == False, "free_pages(ZERO_SIZE_PTR, 0) is reported")
check(vfree(p.addr) == True, "vfree of an address")
check(free_pages(q.addr, 1) == True, "free_pages of an address")
check(kvfree(r.addr) == True, "kvfree of an address")
check(vfree(p.addr) == False, "vfree of the same address again is a double free")
`)
	noFailures(t, s)
	wantLogEvent(t, s, allocator.EvWarn, "Trying to vfree() bad address (0000000000000010)")
	if err := s.Machine().CheckInvariants(); err != nil {
		t.Error(err)
	}
}

func TestDisplayIsBounded(t *testing.T) {
	s := runScript(t, "deep = []\nfor i in range(10000):\n    deep = [deep]\nlong = list(range(1000000))\nbig = 1\nfor i in range(9):\n    big = big * big * 3 + 1\n")
	g := s.Globals()
	for _, tc := range []struct {
		name, want string
	}{
		{"deep", "<list nested more than 100 levels deep>"},
		{"long", "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16..."},
	} {
		start := time.Now()
		if got := Display(g[tc.name], 60); got != tc.want {
			t.Errorf("Display(%s) = %q, want %q", tc.name, got, tc.want)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("Display(%s) took %v", tc.name, d)
		}
	}
	if got := Display(starlark.String(strings.Repeat("x", 1<<20)), 10); got != `"xxxxxx...` {
		t.Errorf("a long string: %q", got)
	}
	if got := Display(g["big"], 20); len(got) > 20 {
		t.Errorf("a big int: %q", got)
	}
}

// jsonLines is log as --json writes it, a line an event: every field of
// every event, comparable across sessions.
func jsonLines(log *allocator.EventLog) []string {
	var b strings.Builder
	if err := log.WriteJSON(&b, 0, log.Len()); err != nil {
		panic(err)
	}
	return strings.Split(b.String(), "\n")
}

// A session's step budget is shared by its inputs and the sessions
// rebuilt from it, is not charged for replayed steps, and ends an input
// with a clear error when spent; MaxRAM refuses a bigger machine.
func TestStepBudgetAndMaxRAM(t *testing.T) {
	b := NewStepBudget(5)
	s, err := New(Options{Steps: b})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Exec("p = kmalloc(8)\nq = kmalloc(8)\nr = kmalloc(8)"); err != nil {
		t.Fatal(err)
	}
	if b.Used() != 3 {
		t.Fatalf("used %d, want 3", b.Used())
	}
	ns, err := s.Rebuild(3)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	if b.Used() != 3 {
		t.Fatalf("a rebuild charged replayed steps: used %d", b.Used())
	}
	_, err = ns.Exec("for i in range(10): kmalloc(8)")
	if err == nil || !strings.Contains(err.Error(), "all of its 5 allocator steps") {
		t.Fatalf("want the session's step limit, got %v", err)
	}
	if _, err := New(Options{MaxRAM: 32 << 20}); err == nil || !strings.Contains(err.Error(), "more than this session may have") {
		t.Fatalf("default 64 MiB under a 32 MiB cap: %v", err)
	}
	s2, err := New(Options{MaxRAM: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if err := s2.RunFile("big.star", []byte("config(ram=\"128M\")\n")); err == nil || !strings.Contains(err.Error(), "more than this session may have (64 MiB)") {
		t.Fatalf("config(ram=128M) under a 64 MiB cap: %v", err)
	}
}

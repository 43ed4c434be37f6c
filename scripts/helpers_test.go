package scripts

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/allocviz/allocviz/allocator"
	"github.com/allocviz/allocviz/allocator/allocatortest"
)

func newSession(t testing.TB, opts Options) *Session {
	t.Helper()
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// runScript runs src as test.star in a new session and fails the test on
// a script error.
func runScript(t testing.TB, src string) *Session {
	t.Helper()
	s := newSession(t, Options{})
	if err := s.RunFile("test.star", []byte(src)); err != nil {
		t.Fatalf("script failed: %v", err)
	}
	return s
}

// runScriptErr runs src as test.star and returns its error as an *Error.
func runScriptErr(t testing.TB, opts Options, src string) (*Session, *Error) {
	t.Helper()
	s := newSession(t, opts)
	err := s.RunFile("test.star", []byte(src))
	if err == nil {
		t.Fatalf("script succeeded, want an error")
	}
	var se *Error
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T) is not an *Error", err, err)
	}
	return s, se
}

// noFailures fails the test if a check() in the script failed.
func noFailures(t testing.TB, s *Session) {
	t.Helper()
	for _, f := range s.Failures() {
		t.Errorf("%s: check failed: %s", f.Pos, f.Msg)
	}
}

// stepEvents returns the events of step n (1-based).
func stepEvents(s *Session, n int) []allocator.Event {
	st := s.Step(n)
	return allocatortest.Events(s.Log())[st.First : st.Last+1]
}

// kinds lists the kinds of events.
func kinds(events []allocator.Event) string {
	var out []string
	for _, e := range events {
		out = append(out, e.Kind().String())
	}
	return strings.Join(out, " ")
}

// findEvent returns the first event of kind in events.
func findEvent(events []allocator.Event, kind allocator.EventKind) (allocator.Event, bool) {
	for _, e := range events {
		if e.Kind() == kind {
			return e, true
		}
	}
	return allocator.Event{}, false
}

func writeFile(path, content string) error {
	return os.WriteFile(path, []byte(content), 0o644)
}

// eventsOf returns the events of kind anywhere in the session's log.
func eventsOf(s *Session, kind allocator.EventKind) []allocator.Event {
	var out []allocator.Event
	for _, e := range allocatortest.Events(s.Log()) {
		if e.Kind() == kind {
			out = append(out, e)
		}
	}
	return out
}

// wantEvent fails unless step n has an event of kind whose text contains want.
func wantEvent(t *testing.T, s *Session, n int, kind allocator.EventKind, want string) {
	t.Helper()
	for _, e := range stepEvents(s, n) {
		if e.Kind() == kind && strings.Contains(e.Text(), want) {
			return
		}
	}
	var texts []string
	for _, e := range stepEvents(s, n) {
		texts = append(texts, e.Kind().String()+": "+e.Text())
	}
	t.Errorf("step %d (%s): no %v event containing %q; events:\n%s", n, s.Step(n).Call, kind, want, strings.Join(texts, "\n"))
}

// wantLogEvent fails unless the log has an event of kind whose text
// contains want.
func wantLogEvent(t *testing.T, s *Session, kind allocator.EventKind, want string) {
	t.Helper()
	for _, e := range eventsOf(s, kind) {
		if strings.Contains(e.Text(), want) {
			return
		}
	}
	t.Errorf("no %v event says %q", kind, want)
}

// stepOf returns the number of the first step whose call is call.
func stepOf(t *testing.T, s *Session, call string) int {
	t.Helper()
	for _, st := range allSteps(s) {
		if st.Call == call {
			return st.N
		}
	}
	t.Fatalf("no step %q", call)
	return 0
}

// countChecks counts the check() calls the script made.
func countChecks(s *Session) int {
	n := 0
	for _, e := range allocatortest.Events(s.Log()) {
		if e.Kind() == allocator.EvCheck {
			n++
		}
	}
	return n
}

// runScenario runs the bundled scenario name on a machine of cfg and
// fails the test if it does not run or a check() in it fails.
func runScenario(t testing.TB, name string, cfg allocator.Config) *Session {
	t.Helper()
	sc, ok := LookupScenario(name)
	if !ok {
		t.Fatalf("no scenario %s", name)
	}
	s := newSession(t, Options{Config: cfg})
	if err := s.RunFile(sc.File, sc.Src); err != nil {
		t.Fatal(err)
	}
	noFailures(t, s)
	return s
}

// allSteps returns every step of s.
func allSteps(s *Session) []Step {
	out := make([]Step, s.NumSteps())
	for i := range out {
		out[i] = s.Step(i + 1)
	}
	return out
}

// ri returns the realloc decision of e, nil when it has none.
func ri(e allocator.Event) *allocator.ReallocInfo {
	r, ok := e.Realloc()
	if !ok {
		return nil
	}
	return &r
}

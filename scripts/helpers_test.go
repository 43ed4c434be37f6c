package scripts

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/allocviz/allocviz/allocator"
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
	st := s.Steps()[n-1]
	return s.Log().Events[st.First : st.Last+1]
}

// kinds lists the kinds of events.
func kinds(events []allocator.Event) string {
	var out []string
	for _, e := range events {
		out = append(out, e.Kind.String())
	}
	return strings.Join(out, " ")
}

// findEvent returns the first event of kind in events.
func findEvent(events []allocator.Event, kind allocator.EventKind) (allocator.Event, bool) {
	for _, e := range events {
		if e.Kind == kind {
			return e, true
		}
	}
	return allocator.Event{}, false
}

func writeFile(path, content string) error {
	return os.WriteFile(path, []byte(content), 0o644)
}

package scripts

import (
	"errors"
	"strings"
	"testing"
)

// Yield is called before each step with its number, after the steps
// before it are complete; its error ends the input there; Rebuild neither
// calls it nor hands it on.
func TestYield(t *testing.T) {
	var seen []int
	var s *Session
	stop := errors.New("stop here")
	opts := Options{Yield: func(step int) error {
		if got := s.NumSteps(); got != step-1 {
			t.Errorf("Yield(%d) with %d steps complete", step, got)
		}
		seen = append(seen, step)
		if step == 4 {
			return stop
		}
		return nil
	}}
	s = newSession(t, opts)
	err := s.RunFile("test.star", []byte("for i in range(5):\n    kfree(kmalloc(8))\n"))
	if !errors.Is(err, stop) || !strings.Contains(err.Error(), "stop here") {
		t.Fatalf("the script should end with Yield's error: %v", err)
	}
	if len(seen) != 4 || seen[0] != 1 || seen[3] != 4 || s.NumSteps() != 3 {
		t.Fatalf("Yield saw steps %v; %d steps taken, want 1..4 and 3", seen, s.NumSteps())
	}
	seen = nil
	ns, err := s.Rebuild(2)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	if _, err := ns.Exec("kmalloc(8)"); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 0 {
		t.Fatalf("the rebuilt session called Yield: %v", seen)
	}
}

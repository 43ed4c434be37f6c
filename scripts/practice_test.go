package scripts

import (
	"bytes"
	"testing"

	"github.com/allocviz/allocviz/allocator"
)

// TestPracticeScriptsRun: the practice generator's scripts run without
// error for many seeds, on every page size, and each question gets an
// answer; the same seed gives the same script.
func TestPracticeScriptsRun(t *testing.T) {
	for _, ps := range []int{4096, 16384, 65536} {
		for seed := uint64(0); seed < 12; seed++ {
			sc, err := Practice("all", seed, 30)
			if err != nil {
				t.Fatal(err)
			}
			again, _ := Practice("all", seed, 30)
			if !bytes.Equal(sc.Src, again.Src) {
				t.Fatalf("seed %d: two different scripts", seed)
			}
			s := newSession(t, Options{Config: allocator.Config{PageSize: ps}})
			if err := s.RunFile(sc.Name, sc.Src); err != nil {
				t.Fatalf("page size %d, seed %d: %v\n%s", ps, seed, err, sc.Src)
			}
			asks, answers := len(eventsOf(s, allocator.EvAsk)), len(eventsOf(s, allocator.EvAnswer))
			if asks != 30 || answers != 30 {
				t.Errorf("page size %d, seed %d: %d questions, %d answers, want 30 and 30", ps, seed, asks, answers)
			}
		}
	}
	for _, bad := range []struct {
		topic string
		n     int
	}{{"nope", 5}, {"all", 0}, {"all", MaxPractice + 1}} {
		if _, err := Practice(bad.topic, 1, bad.n); err == nil {
			t.Errorf("Practice(%q, 1, %d) accepted", bad.topic, bad.n)
		}
	}
}

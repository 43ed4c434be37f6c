package heapview

import (
	"testing"

	"github.com/allocviz/allocviz/allocator"
)

// TestHeadlineIsTheCallsOwnDecision: a kvrealloc step holds the krealloc
// decision it made inside it (Within "kvrealloc") before its own; the
// step's headline is its own, and a kmalloc step's is its size class.
func TestHeadlineIsTheCallsOwnDecision(t *testing.T) {
	s := newSession(t, allocator.Config{})
	s.begin("kvmalloc(100)")
	p, err := s.m.KVmalloc(100, allocator.GFPKernel)
	if err != nil {
		t.Fatal(err)
	}
	n := len(s.log.Events)
	s.begin("kvrealloc(p, 5000)")
	if _, err := s.m.KVrealloc(p, 5000, allocator.GFPKernel); err != nil {
		t.Fatal(err)
	}
	step := s.log.Events[n:]
	nested := 0
	for _, e := range step {
		if e.Kind == allocator.EvRealloc && e.Realloc.Within != "" {
			nested++
		}
	}
	if nested == 0 {
		t.Fatal("the kvrealloc made no nested krealloc decision; the test needs one")
	}
	h := Headline(step)
	if h == nil || h.Kind != allocator.EvRealloc || h.Realloc.Func != "kvrealloc" {
		t.Fatalf("headline of a kvrealloc step = %+v, want kvrealloc's own decision", h)
	}

	n = len(s.log.Events)
	s.begin("kmalloc(100)")
	if _, err := s.m.Kmalloc(100, allocator.GFPKernel); err != nil {
		t.Fatal(err)
	}
	if h := Headline(s.log.Events[n:]); h == nil || h.Kind != allocator.EvKmalloc {
		t.Fatalf("headline of a kmalloc step = %+v, want its size class (kmem:kmalloc)", h)
	}
	if h := Headline(s.log.Events[n : n+1]); h != nil {
		t.Fatalf("a step event alone has no headline, got %+v", h)
	}
}

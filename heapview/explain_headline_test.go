package heapview

import (
	"strings"
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
	n := s.log.Len()
	s.begin("kvrealloc(p, 5000)")
	if _, err := s.m.KVrealloc(p, 5000, allocator.GFPKernel); err != nil {
		t.Fatal(err)
	}
	nested := 0
	for e := range s.log.Events(n, s.log.Len()) {
		if e.Kind() == allocator.EvRealloc && e.Nested() {
			nested++
		}
	}
	if nested == 0 {
		t.Fatal("the kvrealloc made no nested krealloc decision; the test needs one")
	}
	text, used := Headline(s.log, n, s.log.Len())
	if len(used) != 1 || s.log.At(used[0]).Kind() != allocator.EvRealloc || !strings.HasPrefix(text, "kvrealloc") {
		t.Fatalf("headline of a kvrealloc step = %q (events %v), want kvrealloc's own decision", text, used)
	}
	if r, _ := s.log.At(used[0]).Realloc(); r.Func != "kvrealloc" {
		t.Fatalf("headline of a kvrealloc step is %s's decision, want kvrealloc's own", r.Func)
	}

	n = s.log.Len()
	s.begin("kmalloc(100)")
	if _, err := s.m.Kmalloc(100, allocator.GFPKernel); err != nil {
		t.Fatal(err)
	}
	text, used = Headline(s.log, n, s.log.Len())
	if len(used) != 2 || s.log.At(used[0]).Kind() != allocator.EvKmalloc || s.log.At(used[1]).Kind() != allocator.EvObjAlloc ||
		!strings.HasPrefix(text, "kmalloc(100): 97..128 bytes use kmalloc-128; object ") {
		t.Fatalf("headline of a kmalloc step = %q (events %v), want its size class (kmem:kmalloc), then where the object came from", text, used)
	}
	if text, used := Headline(s.log, n, n+1); text != "" || used != nil {
		t.Fatalf("a step event alone has no headline, got %q", text)
	}
}

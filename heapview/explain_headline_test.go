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

// TestWhyDoesNotRepeatNarrationOrChecks: a step that only narrates has
// no headline in the "why" strip (the strip shows the narration itself),
// and a check keeps its passed or failed line; a call's headline is the
// one run prints.
func TestWhyDoesNotRepeatNarrationOrChecks(t *testing.T) {
	s := newSession(t, allocator.Config{})
	s.begin("say")
	s.m.Say("hello")
	s.begin("check")
	s.m.Check(true, "fine")
	s.begin("check")
	s.m.Check(false, "not fine")
	s.begin("alloc_pages(0)")
	if _, err := s.m.AllocPages(0, allocator.GFPKernel); err != nil {
		t.Fatal(err)
	}
	hv, err := New(s.log)
	if err != nil {
		t.Fatal(err)
	}
	styles := func(step int) []WhyStyle {
		var out []WhyStyle
		for _, l := range hv.Why(step, 40) {
			out = append(out, l.Style)
		}
		return out
	}
	if got := styles(1); len(got) != 0 {
		t.Errorf("a say step's why = %v, want nothing (its narration is StepInfo.Narration)", got)
	}
	if got := styles(2); len(got) != 1 || got[0] != WhyPass {
		t.Errorf("a passed check's why = %v, want one passed line", got)
	}
	if got := styles(3); len(got) != 1 || got[0] != WhyFail {
		t.Errorf("a failed check's why = %v, want one failed line", got)
	}
	start, end := hv.stepSpan(4)
	text, _ := Headline(s.log, start, end)
	if lines := hv.Why(4, 40); len(lines) == 0 || lines[0].Style != WhyHeadline || lines[0].Text != text {
		t.Errorf("an alloc_pages step's why begins %v, want the headline %q", lines, text)
	}
}

// TestHeadlineOfAFailureSaysWhy: a kmalloc and a krealloc that failed
// because fault injection failed them carry the injection's sentence.
func TestHeadlineOfAFailureSaysWhy(t *testing.T) {
	s := newSession(t, allocator.Config{})
	s.begin("kmalloc(64)")
	p, err := s.m.Kmalloc(64, allocator.GFPKernel)
	if err != nil {
		t.Fatal(err)
	}
	fs := allocator.DefaultFailSlab
	fs.Probability, fs.Times, fs.IgnoreGFPWait = 100, -1, false
	s.m.SetFailSlab(fs)
	n := s.log.Len()
	s.begin("kmalloc(32)")
	s.m.Kmalloc(32, allocator.GFPKernel)
	if text, _ := Headline(s.log, n, s.log.Len()); !strings.HasPrefix(text, "kmalloc(32): 17..32 bytes use kmalloc-32; failed: failslab: injected: kmalloc-32") {
		t.Errorf("failed kmalloc: headline %q", text)
	}
	n = s.log.Len()
	s.begin("krealloc(p, 500)")
	if _, err := s.m.Krealloc(p, 500, allocator.GFPKernel); err == nil {
		t.Fatal("krealloc succeeded under failslab")
	}
	if text, _ := Headline(s.log, n, s.log.Len()); !strings.Contains(text, "kmalloc(500) failed; the old object is untouched; cause: failslab: injected: kmalloc-512") {
		t.Errorf("failed krealloc: headline %q", text)
	}
}

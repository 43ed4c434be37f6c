package heapview_test

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/allocviz/allocviz/allocator"
	"github.com/allocviz/allocviz/heapview"
	"github.com/allocviz/allocviz/scripts"
)

// scenarioModel runs a bundled scenario and returns the model of its log.
func scenarioModel(t *testing.T, name string) (*heapview.Model, *scripts.Session) {
	t.Helper()
	s, err := scripts.Run(name, scripts.Options{})
	if s != nil {
		t.Cleanup(func() { s.Close() }) // a failed scenario still holds its machine
	}
	if err != nil {
		t.Fatal(err)
	}
	hv, err := heapview.New(s.Log())
	if err != nil {
		t.Fatal(err)
	}
	return hv, s
}

// tourModel is the model of the bundled tour.
func tourModel(t *testing.T) (*heapview.Model, *scripts.Session) {
	t.Helper()
	return scenarioModel(t, "tour")
}

// NextChapter and PrevChapter visit exactly the steps that narrate or
// check, in order, both ways.
func TestChapters(t *testing.T) {
	hv, s := tourModel(t)
	var want []int
	log := s.Log()
	for st := 1; st <= hv.Steps(); st++ {
		si, _ := hv.StepInfo(st)
		for i := si.Start; i < si.End; i++ {
			if k := log.At(i).Kind(); k == allocator.EvSay || k == allocator.EvCheck {
				want = append(want, st)
				break
			}
		}
	}
	if len(want) < 10 {
		t.Fatalf("the tour has only %d narrations and checks", len(want))
	}
	var got []int
	for st, ok := hv.NextChapter(0); ok; st, ok = hv.NextChapter(st) {
		got = append(got, st)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("forward: %v, want %v", got, want)
	}
	got = got[:0]
	for st, ok := hv.PrevChapter(hv.Steps() + 0); ok; st, ok = hv.PrevChapter(st) {
		got = append([]int{st}, got...)
	}
	last := want[len(want)-1]
	if last == hv.Steps() {
		want = want[:len(want)-1] // the last step is not before itself
	}
	if !slices.Equal(got, want) {
		t.Fatalf("backward: %v, want %v", got, want)
	}
}

// StepOfSeq finds every event's step.
func TestStepOfSeq(t *testing.T) {
	hv, _ := tourModel(t)
	for st := 0; st <= hv.Steps(); st += 7 {
		si, _ := hv.StepInfo(st)
		for i := si.Start; i < si.End; i++ {
			seq := uint64(i) + 1 // Event.Seq
			if got, ok := hv.StepOfSeq(seq); !ok || got != st {
				t.Fatalf("event #%d of step %d: StepOfSeq says %d, %v", seq, st, got, ok)
			}
		}
	}
	if _, ok := hv.StepOfSeq(1 << 40); ok {
		t.Fatal("an event that does not exist has a step")
	}
}

// Search goes from match to match both ways and round the ends.
func TestSearch(t *testing.T) {
	hv, _ := tourModel(t)
	first, match, ok := hv.Search("KMALLOC-512", 0, false)
	if !ok || !strings.Contains(strings.ToLower(match), "kmalloc-512") {
		t.Fatalf("kmalloc-512: step %d, %q, %v", first, match, ok)
	}
	next, _, ok := hv.Search("kmalloc-512", first, false)
	if !ok || next <= first {
		t.Fatalf("the next match after step %d is %d", first, next)
	}
	if back, _, _ := hv.Search("kmalloc-512", next, true); back != first {
		t.Fatalf("back from %d: %d, want %d", next, back, first)
	}
	// Round the end: from the last match, forward is boot (which made
	// the cache), then the first step after it.
	last, _, _ := hv.Search("kmalloc-512", 0, true)
	if again, _, _ := hv.Search("kmalloc-512", last, false); again != 0 {
		t.Fatalf("forward from the last match %d: %d, want boot", last, again)
	}
	if st, _, ok := hv.Search("vmalloc(3 * ps)", 0, false); !ok || st == 0 {
		t.Fatal("a call as written is not found")
	}
	if _, _, ok := hv.Search("no such words anywhere", 0, false); ok {
		t.Fatal("found what is not there")
	}
}

// StepTopic names the pane each kind of step is about.
func TestStepTopic(t *testing.T) {
	hv, s := tourModel(t)
	seen := map[heapview.Topic]bool{}
	for n := 1; n <= s.NumSteps(); n++ {
		st := s.Step(n)
		topic, cache := hv.StepTopic(st.N)
		seen[topic] = true
		switch {
		case strings.HasPrefix(st.Call, "say("), strings.HasPrefix(st.Call, "check("):
			if topic != heapview.TopicNone {
				t.Errorf("step %d %s is about %v", st.N, st.Call, topic)
			}
		case strings.HasPrefix(st.Op, "vmalloc("):
			if topic != heapview.TopicVmalloc || cache == "" {
				t.Errorf("step %d %s is about %v, cache %q; want vmalloc and the cache of its pages[]", st.N, st.Op, topic, cache)
			}
		case strings.HasPrefix(st.Op, "krealloc("):
			if topic != heapview.TopicRealloc || !strings.HasPrefix(cache, "kmalloc-") {
				t.Errorf("step %d %s is about %v, cache %q", st.N, st.Op, topic, cache)
			}
		case strings.HasPrefix(st.Op, "kmalloc("):
			// A small kmalloc is a slab object, a large one pages.
			if (topic != heapview.TopicSlab || !strings.HasPrefix(cache, "kmalloc-")) && (topic != heapview.TopicPages || cache != "") {
				t.Errorf("step %d %s is about %v, cache %q", st.N, st.Op, topic, cache)
			}
		case strings.HasPrefix(st.Op, "alloc_pages("), strings.HasPrefix(st.Op, "free_pages("):
			if topic != heapview.TopicPages {
				t.Errorf("step %d %s is about %v", st.N, st.Op, topic)
			}
		}
	}
	for _, tp := range []heapview.Topic{heapview.TopicNone, heapview.TopicPages, heapview.TopicSlab, heapview.TopicVmalloc, heapview.TopicRealloc} {
		if !seen[tp] {
			t.Errorf("no step of the tour is about %v", tp)
		}
	}
}

// Boot is summed up by its numbers, not by the last cache it created.
func TestBootSummary(t *testing.T) {
	hv, s := tourModel(t)
	got := hv.BootSummary()
	m := s.Machine()
	for _, want := range []string{
		fmt.Sprintf("%d pages of 4 KiB", m.NrPages()),
		fmt.Sprintf("the first %d pages reserved", m.ReservedPages()),
		fmt.Sprintf("%d pages free", m.NrPages()-m.ReservedPages()),
		"kmalloc slab caches created",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("boot summary %q lacks %q", got, want)
		}
	}
}

// The page map's legend rows hold whole groups: a free count with its
// order, a cache's S with its whole name; when the rest does not fit the
// row ends with " …" after a whole group (or "…" after an order whose
// count is left out), at every width (a replayed
// trace has counts in the hundreds and dozens of caches).
func TestPageMapLegendKeepsGroupsWhole(t *testing.T) {
	hv, _ := scenarioModel(t, "trace-ls")
	if err := hv.Seek(2537); err != nil {
		t.Fatal(err)
	}
	free := regexp.MustCompile(`^free blocks by order(  \d+:\d+)*(  \d+:…| …)?$`)
	caches := regexp.MustCompile(`^slab caches(  S [a-z0-9_-]+)*( …)?$`)
	names := map[string]bool{}
	for _, c := range hv.Caches() {
		names[c.Name] = true
	}
	for w := 40; w <= 220; w++ {
		pm := hv.PageMap(heapview.PageMapOptions{Width: w, Height: 30})
		var sawFree, sawCaches bool
		for _, r := range pm.Rows {
			l := strings.TrimRight(r.String(), " ")
			switch {
			case strings.HasPrefix(l, "free blocks by order  "):
				sawFree = true
				if !free.MatchString(l) {
					t.Errorf("width %d: %q", w, l)
				}
			case strings.HasPrefix(l, "slab caches  "):
				sawCaches = true
				if !caches.MatchString(l) {
					t.Errorf("width %d: %q", w, l)
				}
				for _, f := range strings.Split(strings.TrimSuffix(l, " …"), "  S ")[1:] {
					if !names[f] {
						t.Errorf("width %d: %q is no cache's whole name: %q", w, f, l)
					}
				}
			}
		}
		if w >= 60 && (!sawFree || !sawCaches) {
			t.Errorf("width %d: no free blocks (%v) or caches (%v) row", w, sawFree, sawCaches)
		}
	}
}

package heapview

import (
	"strings"

	"github.com/allocviz/allocviz/allocator"
)

// This file answers what a presenter asks of a session: where the next
// narration or check is, which step last touched something, where a word
// occurs, and what a step is about.

// chapterKind reports whether events of kind k begin a chapter of a
// lesson: a narration (say) or a check.
func chapterKind(k allocator.EventKind) bool {
	return k == allocator.EvSay || k == allocator.EvCheck
}

// NextChapter returns the first step after step from that narrates
// (say) or checks something, and false when none does. The search costs
// the events between the two.
func (m *Model) NextChapter(from int) (int, bool) {
	if from+1 > m.nsteps {
		return 0, false
	}
	start, _ := m.stepSpan(max(from+1, 0))
	for i := start; i < m.n; i++ {
		if chapterKind(m.log.At(i).Kind()) {
			return m.stepOf(i), true
		}
	}
	return 0, false
}

// PrevChapter returns the last step before step from that narrates or
// checks something, and false when none does.
func (m *Model) PrevChapter(from int) (int, bool) {
	if from <= 0 || from > m.nsteps {
		return 0, false
	}
	start, _ := m.stepSpan(from)
	for i := start - 1; i >= 0; i-- {
		if chapterKind(m.log.At(i).Kind()) {
			return m.stepOf(i), true
		}
	}
	return 0, false
}

// StepOfSeq returns the step of the event numbered seq (Event.Seq, as an
// Inspection's Seq names it).
func (m *Model) StepOfSeq(seq uint64) (int, bool) {
	pos := m.posOfSeq(seq)
	if pos < 0 {
		return 0, false
	}
	return m.stepOf(pos), true
}

// Search returns the next step after step from (the previous one before
// it, with back) whose call, script position or event explanations
// contain text, ignoring case, going round past the last step (the first,
// with back); the match is the line that contains it. It costs the events
// it reads, all of them when nothing matches.
func (m *Model) Search(text string, from int, back bool) (step int, match string, ok bool) {
	text = strings.ToLower(strings.TrimSpace(text))
	n := m.nsteps + 1
	if text == "" || m.head == nil {
		return 0, "", false
	}
	for k := 1; k <= n; k++ {
		st := ((from+k)%n + n) % n
		if back {
			st = ((from-k)%n + n) % n
		}
		if s, ok := m.stepMatch(st, text); ok {
			return st, s, true
		}
	}
	return 0, "", false
}

// stepMatch looks for lower-case text in step st.
func (m *Model) stepMatch(st int, text string) (string, bool) {
	start, end := m.stepSpan(st)
	for i := start; i < end; i++ {
		e := m.log.At(i)
		var s string
		if e.Kind() == allocator.EvStep {
			s = e.Op() + " " + e.Src()
		} else {
			s = e.Explain()
		}
		if strings.Contains(strings.ToLower(s), text) {
			return s, true
		}
	}
	return "", false
}

// Topic is what a step is about: the pane that shows it best.
type Topic uint8

// Topics, from the least telling to the most.
const (
	TopicNone    Topic = iota // boot, a narration or a check alone
	TopicPages                // the page allocator
	TopicSlab                 // a slab cache (StepTopic names it)
	TopicVmalloc              // vmalloc space
	TopicRealloc              // a realloc decision
)

var topicNames = [...]string{"none", "pages", "slab", "vmalloc", "realloc"}

func (t Topic) String() string {
	if int(t) < len(topicNames) {
		return topicNames[t]
	}
	return "unknown"
}

// StepTopic returns what step st is about, the most telling of what its
// events did (a realloc decision over the vmap area it made, a vmap area
// over the slab objects of its pages[] array, a slab object over the
// pages of its slab), and the slab cache it used first, if any.
func (m *Model) StepTopic(st int) (Topic, string) {
	if st <= 0 || st > m.nsteps {
		return TopicNone, ""
	}
	start, end := m.stepSpan(st)
	topic, cache := TopicNone, ""
	for i := start; i < end; i++ {
		e := m.log.At(i)
		t := TopicNone
		switch e.Kind() {
		case allocator.EvRealloc:
			if !e.Nested() {
				t = TopicRealloc
			}
			if r, ok := e.Realloc(); ok && cache == "" && m.HasCache(r.Bucket) {
				cache = r.Bucket // an in place krealloc makes no object event
			}
		case allocator.EvVmapAlloc, allocator.EvVmapFree, allocator.EvGuardHit:
			t = TopicVmalloc
		case allocator.EvObjAlloc, allocator.EvObjFree, allocator.EvSlabNew, allocator.EvSlabDiscard,
			allocator.EvSlubReport, allocator.EvCacheCreate, allocator.EvCacheDestroy:
			t = TopicSlab
		case allocator.EvKmalloc, allocator.EvKfree:
			t = TopicSlab
			if e.CacheID() == 0 {
				t = TopicPages // a large kmalloc is pages
			}
		case allocator.EvPageAlloc, allocator.EvPageFree, allocator.EvPageFail:
			t = TopicPages
		}
		if t == TopicSlab && cache == "" && e.CacheID() != 0 {
			cache = e.Cache()
		}
		topic = max(topic, t)
	}
	return topic, cache
}

// HasCache reports whether a slab cache of that name was ever created.
func (m *Model) HasCache(name string) bool { return m.cacheNames[name] != nil }

package ui

import (
	"slices"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
)

// refusedNotice is what a follower is told when a key is refused.
const refusedNotice = "you are following the instructor"

// roomUpdate sends msg to rm and returns the new room model.
func roomUpdate(t *testing.T, rm RoomModel, msg tea.Msg) RoomModel {
	t.Helper()
	next, _ := rm.Update(msg)
	return next.(RoomModel)
}

// follower returns a student following an instructor who opened opts
// and pressed keys, the student's interface (opened with opts too)
// brought to the instructor's step and pane.
func follower(t *testing.T, opts Options, keys ...string) RoomModel {
	t.Helper()
	room := NewRoom()
	in := *room.Join(openWith(t, opts, 100, 30), true)
	for _, k := range keys {
		in = roomUpdate(t, in, keyMsg(k))
	}
	st := room.Join(openWith(t, opts, 100, 30), false)
	if cmd := st.sync(); cmd != nil {
		t.Fatal("following the instructor into the lesson the student has open should not load it again")
	}
	if st.step != in.step || st.focus != in.focus || !st.following {
		t.Fatalf("the student is at step %d with pane %v focused (following %v), want the instructor's step %d and pane %v",
			st.step, st.focus, st.following, in.step, in.focus)
	}
	return *st
}

// A student following the instructor may press no key that moves the
// session (the key map's sessionKeys): each is refused with a word on
// E, and the step, pane, lesson and mode stay the instructor's. The keys
// that only change how the step is shown (help, zoom, a bookmark...) are
// the student's own.
func TestRoomFollowerRefusesSessionKeys(t *testing.T) {
	base := follower(t, Options{Scenario: writeScript(t, threeStepScript)}, "n", "n", "tab")
	if base.step != 2 || base.focus != paneSlabs {
		t.Fatalf("the follower is at step %d with pane %v focused, want step 2 and the slabs", base.step, base.focus)
	}
	session := map[string]bool{}
	for _, b := range base.keys.sessionKeys() {
		for _, k := range b.Keys() {
			session[k] = true
		}
	}
	for k := range session {
		msg := keyMsg(k)
		if msg.String() != k {
			t.Fatalf("the test builds %q for the key %q", msg.String(), k)
		}
		rm := roomUpdate(t, base, msg)
		if !strings.Contains(rm.notice, refusedNotice) {
			t.Errorf("a follower pressing %q was not told it is refused; the notice is %q", k, rm.notice)
		}
		if rm.step != base.step || rm.focus != base.focus || rm.name != base.name || rm.mode != base.mode || rm.playing || rm.loading != "" {
			t.Errorf("a follower pressing %q moved: step %d, pane %v, lesson %q, mode %v, playing %v, loading %q",
				k, rm.step, rm.focus, rm.name, rm.mode, rm.playing, rm.loading)
		}
	}

	// Every other binding working here is the student's own, whatever
	// it does to how the step is shown.
	var own []string
	for _, g := range base.keys.helpGroups() {
		for _, b := range g.keys {
			if !b.Enabled() || slices.Contains(base.keys.sessionKeys(), b) || b == &base.keys.Quit {
				continue
			}
			for _, k := range b.Keys() {
				if !session[k] {
					own = append(own, k)
				}
			}
		}
	}
	for _, want := range []string{"?", "m", "d", "z", "+", "t", "s"} {
		if !slices.Contains(own, want) {
			t.Fatalf("%q is not among the follower's own keys %q", want, own)
		}
	}
	for _, k := range own {
		rm := roomUpdate(t, base, keyMsg(k))
		if strings.Contains(rm.notice, refusedNotice) {
			t.Errorf("a follower pressing %q, which moves nothing, was refused", k)
		}
	}
	if rm := roomUpdate(t, base, keyMsg("?")); !rm.help.ShowAll {
		t.Error("? did not open the help for a follower")
	}

	// Exploring alone, the same keys move the student's own machine.
	alone := roomUpdate(t, base, keyMsg("E"))
	if rm := roomUpdate(t, alone, keyMsg("n")); rm.step != base.step+1 {
		t.Errorf("n while exploring alone went to step %d, want %d", rm.step, base.step+1)
	}
}

// movesScript has chapters and a bookmark on either side of the step
// that says "the middle".
const movesScript = `"""Steps to move between."""
say("the first chapter")
bookmark("a allocated")
a = alloc_pages(0)
b = alloc_pages(1)
say("the middle")
c = kmalloc(64)
say("the last chapter")
free_pages(a, 0)
kfree(c)
`

// The key map's sessionKeys are exactly the bindings that move the
// session: pressed on the middle step of a lesson, with every pane
// focused in turn and a timeline shown, each marked binding changes the
// step, the pane, the lesson or plays, or opens the input that does; no
// other binding does any of it. A new binding that moves the session
// but is not marked, so a follower could press it, fails here.
func TestSessionKeysAreTheOnesThatMove(t *testing.T) {
	m := open(t, writeScript(t, movesScript), 120, 40)
	middle := -1
	for st := range m.lastStep() + 1 {
		if si, _ := m.src.hv.StepInfo(st); slices.Contains(si.Narration, "the middle") {
			middle = st
		}
	}
	if middle < 0 {
		t.Fatal("no step says the middle")
	}
	m, _ = press(t, m, "t") // a timeline, for T and >
	if _, ok := m.timelineKey(); !ok {
		t.Fatal("t showed no timeline")
	}
	m.seekTo(middle)
	if m.step != middle || len(m.marks) == 0 || m.marks[0].step == middle {
		t.Fatalf("at step %d with bookmarks %v: want the middle, %d, and a bookmark elsewhere", m.step, m.marks, middle)
	}
	moved := func(a, b Model) bool {
		return a.step != b.step || a.focus != b.focus || a.name != b.name || a.src != b.src || a.playing ||
			a.typing() || a.mode == modePicker
	}
	seen := make([]bool, len(m.keys.sessionKeys()))
	for p := range paneID(numPanes) {
		base := m
		base.setFocus(p)
		marked := base.keys.sessionKeys()
		for _, g := range base.keys.helpGroups() {
			for _, b := range g.keys {
				if !b.Enabled() {
					continue
				}
				k := b.Keys()[0]
				got, _ := press(t, base, k)
				base.src.seek(base.step) // the models share the machine
				i := slices.Index(marked, b)
				if want := i >= 0; moved(got, base) != want {
					t.Errorf("with pane %v focused, %q (%s) moved the session: %v; marked as moving it: %v",
						p, k, b.Help().Desc, moved(got, base), want)
				}
				if i >= 0 {
					seen[i] = true
				}
			}
		}
	}
	for i, b := range m.keys.sessionKeys() {
		if !seen[i] {
			t.Errorf("%q (%s) is marked as moving the session but never worked here", b.Keys()[0], b.Help().Desc)
		}
	}
}

// A follower types the answer to the question the instructor shows,
// though its hex digits b and e are also keys that move the session:
// the question takes them first.
func TestRoomFollowerTypesAnAnswer(t *testing.T) {
	const script = `
ask("How many bytes does kmalloc(300) give?", answer=lambda p: 0xbe0)
p = kmalloc(300)
`
	rm := follower(t, Options{Scenario: writeScript(t, script), Quiz: true}, "G")
	if rm.quizPending() == nil {
		t.Fatalf("the follower at step %d has no question to answer", rm.step)
	}
	for _, k := range []string{"0", "x", "b", "e", "0"} {
		if rm = roomUpdate(t, rm, keyMsg(k)); strings.Contains(rm.notice, refusedNotice) {
			t.Fatalf("typing %q of the answer was refused", k)
		}
	}
	rm = roomUpdate(t, rm, keyMsg("enter"))
	if got := rm.quiz.given[1]; got != "0xbe0" {
		t.Fatalf("the follower's answer is %q, want 0xbe0", got)
	}
	if got := rm.room.Stats().answers[1]["0xbe0"]; got != 1 {
		t.Errorf("the room counts %d answers 0xbe0, want 1", got)
	}
	if !rm.quiz.qs[0].Right("0xbe0") {
		t.Error("0xbe0 is not the right answer")
	}
}

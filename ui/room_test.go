package ui

import (
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/allocviz/allocviz/allocator"
	"github.com/allocviz/allocviz/allocator/allocatortest"
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

// A click that would move a following student's step or pane (a pane
// clicked, the timeline's chart clicked) is put back as a refused key
// is, and the student is told; a click that moves nothing says nothing.
func TestRoomFollowerClickIsRefused(t *testing.T) {
	opts := Options{Scenario: writeScript(t, threeStepScript)}
	room := NewRoom()
	in := *room.Join(openWith(t, opts, 200, 60), true)
	in = roomUpdate(t, roomUpdate(t, in, keyMsg("n")), keyMsg("n"))
	base := *room.Join(openWith(t, opts, 200, 60), false)
	base.sync()
	if base.step != in.step || !base.following {
		t.Fatalf("the student is at step %d (following %v), want the instructor's %d", base.step, base.following, in.step)
	}
	click := func(x, y int) tea.MouseMsg {
		return tea.MouseMsg{X: x, Y: y, Button: tea.MouseButtonLeft, Action: tea.MouseActionPress}
	}
	// A cell of another pane (or of its tab).
	x, y, target := -1, -1, paneID(0)
	for cy := 0; cy < base.height && x < 0; cy++ {
		for cx := 0; cx < base.width; cx++ {
			if p, ok := base.lay.slotAt(cx, cy); ok && p < numPanes && p != base.focus {
				x, y, target = cx, cy+base.lay.top, p
				if base.barTop { // the room's bar is above the interface
					y++
				}
				break
			}
		}
	}
	if x < 0 {
		t.Fatal("no other pane on screen to click")
	}
	rm := roomUpdate(t, base, click(x, y))
	if !strings.Contains(rm.notice, refusedNotice) {
		t.Errorf("a follower clicking pane %v was not told it is refused; the notice is %q", target, rm.notice)
	}
	if rm.step != base.step || rm.focus != base.focus {
		t.Errorf("a follower's click moved it: step %d, pane %v; the instructor's are %d and %v", rm.step, rm.focus, base.step, base.focus)
	}
	wheel := tea.MouseMsg{X: x, Y: y, Button: tea.MouseButtonWheelDown, Action: tea.MouseActionPress}
	if rm := roomUpdate(t, base, wheel); strings.Contains(rm.notice, refusedNotice) || rm.focus != base.focus {
		t.Errorf("a follower's wheel, which moves nothing, was refused (%q) or moved the pane to %v", rm.notice, rm.focus)
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

// roomDo sends msg to rm and returns the new room model and its command.
func roomDo(t *testing.T, rm RoomModel, msg tea.Msg) (RoomModel, tea.Cmd) {
	t.Helper()
	next, cmd := rm.Update(msg)
	return next.(RoomModel), cmd
}

// roomType opens the prompt, runs stmt at it and hands rm the message
// that ends it; esc closes the prompt again. It returns the error the
// prompt showed.
func roomType(t *testing.T, rm RoomModel, stmt string) (RoomModel, string) {
	t.Helper()
	rm = roomUpdate(t, rm, keyMsg(":"))
	rm.prompt.input.SetValue("") // a statement that failed comes back on the line
	rm, cmd := roomDo(t, typeRoom(t, rm, stmt), keyMsg("enter"))
	if cmd == nil || rm.running == nil {
		t.Fatalf("%q did not start running: %q", stmt, rm.prompt.err)
	}
	rm, _ = roomDo(t, rm, statementMsg(cmd))
	err := rm.prompt.err
	return roomUpdate(t, rm, keyMsg("esc")), err
}

// latest hands st the room's latest state, as the room's message does,
// and returns what st does about it.
func latest(t *testing.T, st RoomModel) (RoomModel, tea.Cmd) {
	t.Helper()
	st.room.mu.Lock()
	s := st.room.state
	st.room.mu.Unlock()
	return roomDo(t, st, roomStateMsg{s})
}

// catchUpAll hands a follower the message that ends each step of
// catching up, starting with cmd's, until it has caught up, and returns
// the bars it showed meanwhile.
func catchUpAll(t *testing.T, st RoomModel, cmd tea.Cmd) (RoomModel, []string) {
	t.Helper()
	var bars []string
	for i := 0; st.catching != nil; i++ {
		if i > 50 {
			t.Fatal("catching up did not end after 50 steps")
		}
		bars = append(bars, st.barView())
		msg := statementMsg(cmd)
		if msg == nil {
			t.Fatalf("the step of catching up %q never ended", st.catching.bar)
		}
		st, cmd = roomDo(t, st, msg)
	}
	return st, bars
}

// sameMachine fails unless the follower is on the instructor's step,
// with the same inputs and the same events.
func sameMachine(t *testing.T, st, in RoomModel) {
	t.Helper()
	if st.step != in.step || st.lastStep() != in.lastStep() {
		t.Fatalf("the follower is at step %d of %d, the instructor at %d of %d (notice %q)",
			st.step, st.lastStep(), in.step, in.lastStep(), st.notice)
	}
	if !sameInputs(st.src.sess.Inputs(), in.src.sess.Inputs()) {
		t.Errorf("the follower ran %d inputs, not the instructor's %d", len(st.src.sess.Inputs()), len(in.src.sess.Inputs()))
	}
	if a, b := st.src.sess.Step(st.step), in.src.sess.Step(in.step); a.Op != b.Op || a.Result != b.Result {
		t.Errorf("step %d: the follower's %s = %s, the instructor's %s = %s", st.step, a.Op, a.Result, b.Op, b.Result)
	}
	if !reflect.DeepEqual(allocatortest.Fields(st.src.sess.Log()), allocatortest.Fields(in.src.sess.Log())) {
		t.Error("the follower's events differ from the instructor's")
	}
}

// caughtUpWith catches st up, starting with cmd's step, and checks what
// its bar said at each step, in order; that it ends on the instructor's
// machine; and that global gone, undone, is not on it.
func caughtUpWith(t *testing.T, st, in RoomModel, cmd tea.Cmd, gone string, bars ...string) RoomModel {
	t.Helper()
	st, got := catchUpAll(t, st, cmd)
	if len(got) != len(bars) {
		t.Fatalf("the bar said %q while catching up, want %q", got, bars)
	}
	for i, w := range bars {
		if !strings.Contains(got[i], "catching up with the instructor: "+w) {
			t.Errorf("bar %d is %q, want it to say %q", i, got[i], w)
		}
	}
	sameMachine(t, st, in)
	if _, ok := st.src.sess.Globals()[gone]; ok {
		t.Errorf("%s, undone, is still on the follower's machine", gone)
	}
	return st
}

// roomPair is an instructor and a student following, both on script.
func roomPair(t *testing.T, script string) (in, st RoomModel) {
	t.Helper()
	opts := Options{Scenario: writeScript(t, script)}
	room := NewRoom()
	in = *room.Join(openWith(t, opts, 120, 40), true)
	in = roomUpdate(t, in, keyMsg("G"))
	st = *room.Join(openWith(t, opts, 120, 40), false)
	t.Cleanup(func() {
		in.Close()
		st.Close()
	})
	return in, st
}

// The instructor types statements; a follower runs them on its own
// machine, one at a time with the bar saying so, and ends on the
// instructor's step with the same addresses and events. One that fails
// fails the same way there, and is told.
func TestRoomFollowerRunsTheInstructorsStatements(t *testing.T) {
	in, st := roomPair(t, threeStepScript)
	in, _ = roomType(t, in, "p = kmalloc(100)")
	in, _ = roomType(t, in, "v = vmalloc(3 * 4096)")
	in, err := roomType(t, in, "r = kmalloc(32); cpu(77)")
	if in.lastStep() != 6 || !strings.Contains(err, "cpu 77") {
		t.Fatalf("the instructor is at step %d of %d, error %q: want 6 steps and cpu 77's error", in.step, in.lastStep(), err)
	}
	st, cmd := latest(t, st)
	st = caughtUpWith(t, st, in, cmd, "", "statement 1 of 3", "statement 2 of 3", "statement 3 of 3")
	if !st.noticeErr || !strings.Contains(st.notice, "statement 3 of 3 failed here") || !strings.Contains(st.notice, "cpu 77 does not exist") {
		t.Errorf("the failed statement is not told: %q", st.notice)
	}
	if st.prompt.err != "" || len(st.prompt.history) != 0 {
		t.Errorf("the instructor's statements went to the follower's prompt: %q, %q", st.prompt.err, st.prompt.history)
	}

	// The follower keeps following: the instructor's next step.
	in = roomUpdate(t, in, keyMsg("p"))
	st, cmd = latest(t, st)
	if cmd != nil || st.catching != nil {
		t.Fatal("stepping back made the follower run something")
	}
	sameMachine(t, st, in)
	if !strings.Contains(st.barView(), "following the instructor · step 5") {
		t.Errorf("the bar: %q", st.barView())
	}
}

// A statement the instructor cancels is never mirrored; one the
// instructor undoes, by going back a step and typing another there, is
// undone on the follower's machine too.
func TestRoomFollowerRollsBackWithTheInstructor(t *testing.T) {
	in, st := roomPair(t, threeStepScript)
	in, _ = roomType(t, in, "p = kmalloc(100)")
	st, cmd := latest(t, st)
	st, _ = catchUpAll(t, st, cmd)
	sameMachine(t, st, in)
	gen := st.want.gen

	// Cancelled with esc: undone on the instructor's machine, and the
	// room's statements stay as they were.
	in = roomUpdate(t, in, keyMsg(":"))
	for _, s := range []string{"%steps 100000000", "while True: kmalloc(8)"} {
		in, cmd = roomDo(t, typeRoom(t, in, s), keyMsg("enter"))
	}
	r := in.running
	done := make(chan tea.Msg, 1)
	go func() { done <- statementMsg(cmd) }()
	for in.running.steps < 100 {
		in = roomUpdate(t, in, progressMsg{id: r.id})
	}
	in = roomUpdate(t, in, keyMsg("esc"))
	in = roomUpdate(t, in, <-done)
	in = roomUpdate(t, in, keyMsg("esc"))
	if in.lastStep() != 4 || !strings.Contains(in.notice, "cancelled") {
		t.Fatalf("after esc the instructor has %d steps (notice %q), want 4", in.lastStep(), in.notice)
	}
	st, cmd = latest(t, st)
	if cmd != nil || st.catching != nil || st.want.gen != gen {
		t.Fatal("a cancelled statement reached the follower")
	}
	sameMachine(t, st, in)

	// Undone: back to step 3, and another statement there.
	in = roomUpdate(t, in, keyMsg("p"))
	if in.step != 3 {
		t.Fatalf("the instructor went back to step %d", in.step)
	}
	in, _ = roomType(t, in, "q = kmalloc(2000)")
	if in.lastStep() != 4 || in.src.sess.Step(4).Call != "kmalloc(2000)" {
		t.Fatalf("the instructor's step 4 is %q (%d steps; notice %q, prompt %q)", in.src.sess.Step(4).Call, in.lastStep(), in.notice, in.prompt.err)
	}
	st, cmd = latest(t, st)
	caughtUpWith(t, st, in, cmd, "p", "back to step 3, then statement 2 of 2")
}

// A student who explored and typed a statement of its own rejoins with
// R: the lesson opens afresh and the instructor's statements run there,
// not the student's.
func TestRoomRejoinRunsTheInstructorsStatements(t *testing.T) {
	in, st := roomPair(t, threeStepScript)
	in, _ = roomType(t, in, "p = kmalloc(100)")
	st = roomUpdate(t, st, keyMsg("E"))
	st, cmd := latest(t, st)
	if cmd != nil || st.catching != nil || st.lastStep() != 3 {
		t.Fatal("an exploring student was made to follow")
	}
	st = roomUpdate(t, st, keyMsg("G"))
	st, _ = roomType(t, st, "mine = kmalloc(4000)")
	if st.lastStep() != 4 || st.src.sess.Step(4).Call != "kmalloc(4000)" {
		t.Fatalf("the student's own statement did not run: %q", st.prompt.err)
	}
	st, cmd = roomDo(t, st, keyMsg("R"))
	caughtUpWith(t, st, in, cmd, "mine", "opening the lesson afresh", "statement 1 of 1")
}

// Past the room's limits the instructor's statement is refused, on the
// bar and at the prompt, and nothing runs.
func TestRoomRefusesStatementsPastItsLimits(t *testing.T) {
	in, _ := roomPair(t, threeStepScript)
	for i := range maxMirrored {
		if _, err := in.src.sess.Exec(fmt.Sprintf("x%d = %d", i, i)); err != nil {
			t.Fatal(err)
		}
	}
	in = roomUpdate(t, in, keyMsg("n")) // publishes
	if n := len(in.published.inputs); n != maxMirrored+1 {
		t.Fatalf("the room holds %d inputs, want the lesson and %d statements", n, maxMirrored)
	}
	in = roomUpdate(t, in, keyMsg(":"))
	in = typeRoom(t, in, "y = kmalloc(8)")
	in, cmd := roomDo(t, in, keyMsg("enter"))
	if cmd != nil || in.running != nil || in.lastStep() != 3 {
		t.Fatal("a statement past the room's limit ran")
	}
	want := fmt.Sprintf("not run: the room mirrors at most %d statements", maxMirrored)
	if !strings.Contains(in.prompt.err, want) || !strings.Contains(in.barView(), want) {
		t.Errorf("the refusal is not told: prompt %q, bar %q", in.prompt.err, in.barView())
	}
	size := allocator.FormatBytes(maxMirroredBytes)
	if err := mirrorable(nil, strings.Repeat("x", maxMirroredBytes+1)); err == nil || !strings.Contains(err.Error(), size) {
		t.Errorf("a statement of more than %d bytes: %v", maxMirroredBytes, err)
	}
	// The README states the limits.
	readmeSays(t, fmt.Sprintf("at most %d statements", maxMirrored), size+" of their text")
}

// typeRoom types s into whatever has rm's keyboard.
func typeRoom(t *testing.T, rm RoomModel, s string) RoomModel {
	t.Helper()
	for _, r := range s {
		rm = roomUpdate(t, rm, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
	}
	return rm
}

// A statement a follower is running to catch up, which the instructor
// then undoes, is stopped at once (the session undoes it there too), and
// catching up goes on from the instructor's new inputs.
func TestRoomFollowerDropsAStatementTheInstructorUndid(t *testing.T) {
	in, st := roomPair(t, threeStepScript)
	in = typeRoom(t, roomUpdate(t, in, keyMsg(":")), "%steps 1000000")
	in = roomUpdate(t, in, keyMsg("enter"))
	in, _ = roomType(t, in, "for i in range(100000): kfree(kmalloc(8))")
	if in.lastStep() != 200003 {
		t.Fatalf("the instructor has %d steps, want 200003", in.lastStep())
	}
	room := in.room
	room.mu.Lock()
	typed := room.state
	room.mu.Unlock()
	// The instructor goes back to step 3 and types there.
	in = roomUpdate(t, in, keyMsg("g"))
	in = roomUpdate(t, roomUpdate(t, roomUpdate(t, in, keyMsg("n")), keyMsg("n")), keyMsg("n"))
	in, _ = roomType(t, in, "q = kmalloc(16)")
	if in.lastStep() != 4 {
		t.Fatalf("after going back the instructor has %d steps, want 4", in.lastStep())
	}

	// The follower had begun on the loop when the instructor went back.
	st, cmd := roomDo(t, st, roomStateMsg{typed})
	r := st.running
	if r == nil || st.catching == nil {
		t.Fatal("the follower is not catching up")
	}
	done := make(chan tea.Msg, 1)
	go func() { done <- statementMsg(cmd) }()
	for st.running.steps == 0 {
		st = roomUpdate(t, st, progressMsg{id: r.id})
	}
	st, _ = latest(t, st)
	st, cmd = roomDo(t, st, <-done)
	if !strings.Contains(st.notice, "the instructor moved on") || st.lastStep() != 3 {
		t.Fatalf("the dropped statement: notice %q, %d steps", st.notice, st.lastStep())
	}
	st, _ = catchUpAll(t, st, cmd)
	sameMachine(t, st, in)
}

// roomNow returns what the room follows.
func roomNow(r *Room) roomState {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state
}

// joinRoom joins an interface on opts to room, closed when the test ends,
// and for an instructor hands it its first message, so it publishes
// when it leads.
func joinRoom(t *testing.T, room *Room, opts Options, instructor bool) RoomModel {
	t.Helper()
	rm := *room.Join(openWith(t, opts, 120, 40), instructor)
	if instructor {
		rm = roomUpdate(t, rm, roomChangedMsg{})
	}
	t.Cleanup(func() { rm.Close() })
	return rm
}

// mirrors fails unless the room follows in: its lesson, step, pane and
// inputs.
func mirrors(t *testing.T, room *Room, in RoomModel, who string) {
	t.Helper()
	st := roomNow(room)
	if st.name != in.name || st.step != in.step || st.focus != in.focus || !sameInputs(st.inputs, in.src.sess.Inputs()) {
		t.Fatalf("the room is at step %d with pane %v and %d inputs, not %s's step %d, pane %v and %d inputs",
			st.step, st.focus, len(st.inputs), who, in.step, in.focus, len(in.src.sess.Inputs()))
	}
}

// The room's keys are no keys of the interface's: pressing one never
// does something else as well.
func TestRoomKeysAreTheirOwn(t *testing.T) {
	k := DefaultKeyMap()
	taken := map[string]string{}
	for _, g := range k.helpGroups() {
		for _, b := range g.keys {
			for _, key := range b.Keys() {
				taken[key] = b.Help().Desc
			}
		}
	}
	for _, b := range roomKeys() {
		for _, key := range b.Keys() {
			if d, ok := taken[key]; ok {
				t.Errorf("the room's %q (%s) is also the interface's %q (%s)", key, b.Help().Desc, key, d)
			}
		}
	}
	// The README names the key that takes the lead.
	readmeSays(t, "`"+roomLead.Help().Key+"` takes the lead")
}

// Keys typed faster than the terminal is read arrive as one message of
// several runes; the room takes each as a key of its own: a follower's
// "nn" is refused as n is, and an instructor connection's "GI" goes to
// the last step and takes the lead.
func TestRoomKeysTypedTogether(t *testing.T) {
	base := follower(t, Options{Scenario: writeScript(t, threeStepScript)}, "n")
	rm := roomUpdate(t, base, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("nn")})
	if rm.step != base.step || !strings.Contains(rm.notice, refusedNotice) {
		t.Errorf("a follower typing nn at once: step %d (want %d), notice %q", rm.step, base.step, rm.notice)
	}
	_, _, b, _ := twoInstructors(t)
	b = roomUpdate(t, b, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("GI")})
	if !b.leading || b.step != b.lastStep() {
		t.Errorf("the second instructor connection typing GI at once: leading %v, step %d of %d", b.leading, b.step, b.lastStep())
	}
}

// TestRoomHelpNamesTheRoomsKeys: ? lists the room's keys a connection
// can press (a student's E and R, an instructor's I) under "Room", and
// an interface outside a room lists none.
func TestRoomHelpNamesTheRoomsKeys(t *testing.T) {
	room := NewRoom()
	in := joinRoom(t, room, Options{}, true)
	st := joinRoom(t, room, Options{}, false)
	alone := openWith(t, Options{}, 120, 40)
	help := func(m Model) string { return strings.Join(strings.Fields(ansi.Strip(m.fullHelpView(120, 38))), " ") }
	for _, tc := range []struct {
		who      string
		m        Model
		has, not []key.Binding
	}{
		{"the instructor", in.Model, []key.Binding{roomLead}, []key.Binding{roomExplore, roomRejoin}},
		{"a student", st.Model, []key.Binding{roomExplore, roomRejoin}, []key.Binding{roomLead}},
		{"an interface outside a room", alone, nil, roomKeys()},
	} {
		h := help(tc.m)
		if strings.Contains(h, "Room") != (len(tc.has) > 0) {
			t.Errorf("%s: the help's Room group is %v:\n%s", tc.who, strings.Contains(h, "Room"), h)
		}
		for _, b := range tc.has {
			if w := b.Help().Key + " " + b.Help().Desc; !strings.Contains(h, w) {
				t.Errorf("%s: the help lacks %q:\n%s", tc.who, w, h)
			}
		}
		for _, b := range tc.not {
			if strings.Contains(h, b.Help().Desc) {
				t.Errorf("%s: the help lists %q, not its key", tc.who, b.Help().Desc)
			}
		}
	}
}

// readmeSays fails unless the README says each of want, its lines
// joined.
func readmeSays(t *testing.T, want ...string) {
	t.Helper()
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(strings.Fields(string(readme)), " ")
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("the README does not say %q", w)
		}
	}
}

// twoInstructors is a room with two instructor connections and a
// student, all on threeStepScript: the first instructor joined first,
// went to the last step and typed a statement there.
func twoInstructors(t *testing.T) (room *Room, a, b, st RoomModel) {
	t.Helper()
	opts := Options{Scenario: writeScript(t, threeStepScript)}
	room = NewRoom()
	a = joinRoom(t, room, opts, true)
	a = roomUpdate(t, a, keyMsg("G"))
	a, _ = roomType(t, a, "p = kmalloc(100)")
	b = joinRoom(t, room, opts, true)
	st = joinRoom(t, room, opts, false)
	return room, a, b, st
}

// leaderMoves has the leading instructor in press k, and checks the
// student st follows it to step want.
func leaderMoves(t *testing.T, in, st RoomModel, k string, want int) (RoomModel, RoomModel) {
	t.Helper()
	in = roomUpdate(t, in, keyMsg(k))
	st, _ = latest(t, st)
	sameMachine(t, st, in)
	if st.step != want {
		t.Fatalf("the student is at step %d, want the leader's %d", st.step, want)
	}
	return in, st
}

// Two instructor connections: the first leads, and only its moves and
// statements reach the room; the second works on its own machine, its
// bar saying who leads and the key that takes the lead. Neither counts
// as a student.
func TestRoomOneInstructorLeads(t *testing.T) {
	room, a, b, st := twoInstructors(t)
	mirrors(t, room, a, "the first instructor")
	before := roomNow(room)

	// The second moves, types and changes pane: the room does not see it.
	b = roomUpdate(t, b, keyMsg("G"))
	b = roomUpdate(t, b, keyMsg("tab"))
	b, _ = roomType(t, b, "q = vmalloc(8192)")
	if b.lastStep() != 4 || b.src.sess.Step(4).Call != "vmalloc(8192)" {
		t.Fatalf("the second instructor's statement did not run on its machine: %q", b.prompt.err)
	}
	if now := roomNow(room); now.seq != before.seq || now.gen != before.gen {
		t.Fatalf("the second instructor connection published: the room is at step %d with %d inputs", now.step, len(now.inputs))
	}
	mirrors(t, room, a, "the first instructor")
	if bar := b.barView(); !strings.Contains(bar, "instructor (not leading) · I take the lead · another instructor connection leads") {
		t.Errorf("the second instructor's bar: %q", bar)
	}

	// The student follows the first: its step and its statement.
	st, cmd := latest(t, st)
	st, _ = catchUpAll(t, st, cmd)
	sameMachine(t, st, a)
	a, _ = leaderMoves(t, a, st, "p", 3)

	// The counts: one student, following; two instructor connections.
	a = roomUpdate(t, a, roomChangedMsg{})
	b, _ = latest(t, roomUpdate(t, b, roomChangedMsg{}))
	if s := room.Stats(); s.Students != 1 || s.Following != 1 || s.Instructors != 2 {
		t.Errorf("the room counts %d students, %d following, %d instructor connections; want 1, 1, 2", s.Students, s.Following, s.Instructors)
	}
	if bar := a.barView(); !strings.Contains(bar, "instructor · 1 connected, 1 following") || !strings.Contains(bar, "leading (2 instructor connections)") {
		t.Errorf("the leading instructor's bar: %q", bar)
	}
	if bar := b.barView(); !strings.Contains(bar, "1 connected, 1 following") || !strings.Contains(bar, "at step 3") {
		t.Errorf("the second instructor's bar: %q", bar)
	}
}

// The second instructor connection takes the lead with I: the room
// follows it from its lesson, step, pane and statements, the student
// catching up on its own machine; the first is told it no longer leads,
// and what it does from then on is its own.
func TestRoomSecondInstructorTakesTheLead(t *testing.T) {
	room, a, b, st := twoInstructors(t)
	st, cmd := latest(t, st)
	st, _ = catchUpAll(t, st, cmd)
	sameMachine(t, st, a)

	// b goes back to step 2 and types there, discarding step 3, and
	// shows another pane.
	b = roomUpdate(t, roomUpdate(t, b, keyMsg("n")), keyMsg("n"))
	b, _ = roomType(t, b, "q = kmalloc(2000)")
	b = roomUpdate(t, b, keyMsg("tab"))
	if b.lastStep() != 3 || b.src.sess.Step(3).Call != "kmalloc(2000)" {
		t.Fatalf("the second instructor's step 3 is %q", b.src.sess.Step(3).Call)
	}
	b = roomUpdate(t, b, keyMsg("I"))
	if !strings.Contains(b.notice, "you lead the room") {
		t.Errorf("taking the lead, the notice says %q", b.notice)
	}
	mirrors(t, room, b, "the second instructor")
	st, cmd = latest(t, st)
	st = caughtUpWith(t, st, b, cmd, "p", "back to step 2, then statement 1 of 1")
	if st.focus != b.focus {
		t.Errorf("the student shows pane %v, the new leader %v", st.focus, b.focus)
	}

	// The first is told, and no longer publishes.
	a = roomUpdate(t, a, roomChangedMsg{})
	if !strings.Contains(a.notice, "another instructor connection took the lead; I take the lead back") {
		t.Errorf("the first instructor's notice: %q", a.notice)
	}
	if bar := a.barView(); !strings.Contains(bar, "instructor (not leading)") {
		t.Errorf("the first instructor's bar: %q", bar)
	}

	// The lead goes back and forth, neither having moved since it last
	// led: the room follows each in turn.
	a = roomUpdate(t, a, keyMsg("I"))
	mirrors(t, room, a, "the first instructor, taking the lead back")
	b = roomUpdate(t, b, roomChangedMsg{})
	if !strings.Contains(b.barView(), "instructor (not leading)") {
		t.Errorf("the second instructor's bar after the first took the lead back: %q", b.barView())
	}
	b = roomUpdate(t, b, keyMsg("I"))
	mirrors(t, room, b, "the second instructor, taking the lead again")
	a = roomUpdate(t, a, roomChangedMsg{})

	seq := roomNow(room).seq
	a = roomUpdate(t, a, keyMsg("g"))
	a, _ = roomType(t, a, "r = kmalloc(64)")
	if roomNow(room).seq != seq {
		t.Fatal("the instructor connection that lost the lead still publishes")
	}
	st, cmd = latest(t, st)
	if cmd != nil || st.catching != nil {
		t.Fatal("the student ran something the connection that lost the lead did")
	}
	sameMachine(t, st, b)

	// The new leader's moves reach the student.
	b, st = leaderMoves(t, b, st, "p", 2)

	// A connection whose statements the room could not mirror does not
	// take the lead: the room stays with the leader.
	for i := range maxMirrored {
		if _, err := a.src.sess.Exec(fmt.Sprintf("x%d = %d", i, i)); err != nil {
			t.Fatal(err)
		}
	}
	a = roomUpdate(t, a, keyMsg("I"))
	if !strings.Contains(a.notice, "not taking the lead: the room mirrors at most") || a.leading {
		t.Errorf("taking the lead past the room's limits: notice %q", a.notice)
	}
	mirrors(t, room, b, "the second instructor")

	// Given the lead when the leader leaves, such a connection publishes
	// nothing, and its bar says why: the room stays where it was.
	b.Leave()
	a = roomUpdate(t, a, roomChangedMsg{})
	if bar := a.barView(); !a.leading || !strings.Contains(bar, "the room does not follow your last statement: the room mirrors at most") {
		t.Errorf("the connection given the lead past the room's limits: bar %q", bar)
	}
	mirrors(t, room, b, "the instructor who left")
}

// When the leading connection ends, the lead passes to the oldest other
// instructor connection, and the room follows it from where it is; when
// the last ends, the room keeps what it showed, and the next instructor
// to connect leads.
func TestRoomLeadPassesOn(t *testing.T) {
	opts := Options{Scenario: writeScript(t, threeStepScript)}
	room := NewRoom()
	a := joinRoom(t, room, opts, true)
	b := joinRoom(t, room, opts, true)
	c := joinRoom(t, room, opts, true)
	st := joinRoom(t, room, opts, false)
	a = roomUpdate(t, a, keyMsg("n"))
	c = roomUpdate(t, c, keyMsg("G"))
	st, cmd := latest(t, st)
	st, _ = catchUpAll(t, st, cmd)
	sameMachine(t, st, a)

	// The leader leaves while the second runs a statement: the second
	// leads, and the room follows it once the statement has run.
	b = roomUpdate(t, b, keyMsg("G"))
	b = typeRoom(t, roomUpdate(t, b, keyMsg(":")), "q = kmalloc(2000)")
	b, run := roomDo(t, b, keyMsg("enter"))
	if b.running == nil {
		t.Fatal("the second instructor's statement is not running")
	}
	before := roomNow(room)
	a.Leave()
	b = roomUpdate(t, b, roomChangedMsg{})
	c = roomUpdate(t, c, roomChangedMsg{})
	if !strings.Contains(b.barView(), "leading (2 instructor connections)") || strings.Contains(c.barView(), "leading (") {
		t.Fatalf("after the leader left: the second's bar %q, the third's %q", b.barView(), c.barView())
	}
	if now := roomNow(room); now.seq != before.seq {
		t.Fatalf("the new leader published its lesson with a statement running: step %d, %d inputs", now.step, len(now.inputs))
	}
	b = roomUpdate(t, roomUpdate(t, b, statementMsg(run)), keyMsg("esc"))
	mirrors(t, room, b, "the second instructor")
	st, cmd = latest(t, st)
	st = caughtUpWith(t, st, b, cmd, "", "statement 1 of 1")

	b.Leave()
	c = roomUpdate(t, c, roomChangedMsg{})
	mirrors(t, room, c, "the third instructor")
	st, cmd = latest(t, st)
	st = caughtUpWith(t, st, c, cmd, "q", "opening the lesson afresh")

	c.Leave()
	last := roomNow(room)
	st, _ = latest(t, st)
	if st.step != last.step || !st.following || !strings.Contains(st.barView(), fmt.Sprintf("following the instructor · step %d", last.step)) {
		t.Errorf("with no instructor left the student is at step %d (bar %q), want the last published %d", st.step, st.barView(), last.step)
	}
	d := joinRoom(t, room, opts, true)
	if !d.leading {
		t.Fatal("an instructor joining an empty room does not lead")
	}
	mirrors(t, room, d, "the new instructor")
}

package ui

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/allocviz/allocviz/allocator"
	"github.com/allocviz/allocviz/scripts"
)

// A room (allocviz serve): many interfaces, one per SSH connection, each
// on its own machine. The instructor's interface publishes what it shows
// (the lesson, the step, the focused pane, and the inputs its session
// ran: the statements typed at the prompt); a student's follows it,
// running those statements on its own machine (catchUp), until the
// student presses E to explore alone, and R rejoins. The instructor
// sees how many are connected and, in quiz mode, how the room answered
// the question at the step shown.
//
// One instructor connection leads at a time: the first to join. Another
// (the instructor again from a second terminal, or a co-instructor) is
// on its own machine and publishes nothing until it takes the lead with
// I; the room then follows it from where it is. When the leading
// connection ends, the oldest other instructor connection leads.
//
// Everything is in this file. RoomModel wraps Model, so the interface
// itself has two hooks only, for the server: newSource and source.close
// keep the set of machines a connection holds (WithSources), so the
// server releases every one of them however the connection ends.

// Sources is the set of sources (machines) made under one context: the
// server closes them all when a connection ends, the ones still being
// loaded included.
type Sources struct {
	mu     sync.Mutex
	open   map[*source]struct{}
	closed bool
}

type sourcesKey struct{}

// WithSources returns ctx carrying a new set: every source opened under
// the returned context joins it until it is closed.
func WithSources(ctx context.Context) (context.Context, *Sources) {
	s := &Sources{open: map[*source]struct{}{}}
	return context.WithValue(ctx, sourcesKey{}, s), s
}

// errGone is why a source cannot open once its connection has ended.
var errGone = errors.New("the connection has ended")

// trackSource adds src to the set of its context. Once the set is
// closed it fails: the caller then releases the session itself.
func trackSource(src *source) error {
	s, _ := src.ctx.Value(sourcesKey{}).(*Sources)
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errGone
	}
	s.open[src] = struct{}{}
	return nil
}

// untrackSource removes src from its set and reports whether the caller
// is the one to close it: false when the set's Close has taken it.
func untrackSource(src *source) bool {
	s, _ := src.ctx.Value(sourcesKey{}).(*Sources)
	if s == nil {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.open[src]; !ok {
		return false
	}
	delete(s.open, src)
	return true
}

// Close closes every source of the set, and any opened from now on.
func (s *Sources) Close() {
	s.mu.Lock()
	s.closed = true
	open := s.open
	s.open = map[*source]struct{}{}
	s.mu.Unlock()
	for src := range open {
		src.release()
	}
}

// Len returns how many sources are open.
func (s *Sources) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.open)
}

// roomState is what the instructor shows.
type roomState struct {
	seq   uint64
	name  string
	step  int
	last  int // the instructor's last step
	focus paneID

	// inputs are what the instructor's session ran, as it recorded them
	// (Session.Inputs): the lesson, cut short if the instructor went on
	// from a step inside it, then the statements typed since, in order.
	// A statement cancelled, or undone by the session, is not among them.
	// Followers run them on their own machines (catchUp); gen changes
	// whenever they do. nil until the instructor's lesson has run.
	inputs []scripts.Input
	gen    uint64
}

// The room mirrors at most maxMirrored statements typed since the lesson
// was opened, and maxMirroredBytes of their text: every follower runs
// them all again when it joins, rejoins, or follows the instructor back
// to an earlier step. Past either, the instructor's statement is refused
// (mirrorable).
const (
	maxMirrored      = 200
	maxMirroredBytes = 32 << 10
)

// mirrorable fails when inputs, and extra typed after them, hold more
// statements or text than the room mirrors.
func mirrorable(inputs []scripts.Input, extra ...string) error {
	n, size := len(extra), 0
	for _, e := range extra {
		size += len(e)
	}
	for _, in := range inputs {
		if in.Prompt {
			n++
			size += len(in.Src)
		}
	}
	switch {
	case n > maxMirrored:
		return fmt.Errorf("the room mirrors at most %d statements typed since the lesson was opened", maxMirrored)
	case size > maxMirroredBytes:
		return fmt.Errorf("the room mirrors at most %s of statements typed since the lesson was opened",
			allocator.FormatBytes(maxMirroredBytes))
	}
	return nil
}

// sameInputs reports whether a and b are the same inputs in order.
func sameInputs(a, b []scripts.Input) bool {
	return slices.EqualFunc(a, b, scripts.Input.Same)
}

// Room is the shared state of a served room. Its methods are safe for
// concurrent use.
type Room struct {
	mu         sync.Mutex
	seq        uint64
	gen        uint64 // of the inputs published
	state      roomState
	instructed bool        // an instructor has shown something
	leader     *roomMember // the instructor connection the room follows; nil with none connected
	joins      uint64
	members    map[*roomMember]struct{}
	answers    map[int]map[*roomMember]string // question number -> student -> answer
}

// roomMember is one connection in the room.
type roomMember struct {
	instructor bool
	joined     uint64 // its place in the order of joining
	following  bool   // under Room.mu
	send       func(tea.Msg)
}

// NewRoom returns an empty room.
func NewRoom() *Room {
	return &Room{members: map[*roomMember]struct{}{}, answers: map[int]map[*roomMember]string{}}
}

// RoomStats is what the instructor's bar shows of the room.
type RoomStats struct {
	Students, Following int
	Instructors         int                    // instructor connections, the leading one included
	answers             map[int]map[string]int // question -> answer -> students
	leader              *roomMember
}

// Stats counts the room.
func (r *Room) Stats() RoomStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := RoomStats{answers: map[int]map[string]int{}, leader: r.leader}
	for mem := range r.members {
		if mem.instructor {
			st.Instructors++
		} else {
			st.Students++
			if mem.following {
				st.Following++
			}
		}
	}
	for q, by := range r.answers {
		st.answers[q] = map[string]int{}
		for _, a := range by {
			st.answers[q][a]++
		}
	}
	return st
}

// tell sends msg to every member but from (under r.mu).
func (r *Room) tell(from *roomMember, msg func(*roomMember) tea.Msg) {
	for mem := range r.members {
		if mem != from && mem.send != nil {
			go mem.send(msg(mem))
		}
	}
}

// changed tells the instructors the room's counts changed (under r.mu).
func (r *Room) changed() {
	for mem := range r.members {
		if mem.instructor && mem.send != nil {
			go mem.send(roomChangedMsg{})
		}
	}
}

// publish makes st what the room follows, when from leads; changed says
// its inputs are new. It reports false, publishing nothing, when from
// does not lead.
func (r *Room) publish(from *roomMember, st roomState, changed bool) (roomState, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if from != r.leader {
		return st, false
	}
	r.seq++
	if changed {
		r.gen++
	}
	st.seq, st.gen = r.seq, r.gen
	r.state, r.instructed = st, true
	r.tell(from, func(*roomMember) tea.Msg { return roomStateMsg{st} })
	return st, true
}

// takeLead makes mem, an instructor connection, the one the room follows.
func (r *Room) takeLead(mem *roomMember) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.leader = mem
	r.changed()
}

// oldestInstructor is the instructor connection that joined first, nil
// with none (under r.mu).
func (r *Room) oldestInstructor() *roomMember {
	var old *roomMember
	for mem := range r.members {
		if mem.instructor && (old == nil || mem.joined < old.joined) {
			old = mem
		}
	}
	return old
}

// answer records a student's answer to question n.
func (r *Room) answer(mem *roomMember, n int, a string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.answers[n] == nil {
		r.answers[n] = map[*roomMember]string{}
	}
	r.answers[n][mem] = a
	r.changed()
}

// setFollowing records whether mem follows the instructor.
func (r *Room) setFollowing(mem *roomMember, on bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	mem.following = on
	r.changed()
}

// RoomModel is the interface of one connection in a room.
type RoomModel struct {
	Model
	room      *Room
	me        *roomMember
	following bool      // a student following the instructor
	want      roomState // the latest state the instructor published
	tried     string    // a lesson being opened to follow, so a failure is not retried in a loop
	catching  *catching // the step of catching up under way
	lastTry   catchTry  // the last step of catching up begun, so one that failed is not retried in a loop
	leading   bool      // an instructor connection the room follows
	published roomState // what this instructor last published since it took the lead
	refused   string    // why the instructor's statements are not mirrored, "" when they are
	reported  map[int]string
	stats     RoomStats
	barTop    bool // the bar has a line of its own above the interface
}

// Join adds an interface to the room: an instructor's, which leads when
// no other instructor connection does, or a student's, who follows from
// the start. Call Attach with the program's Send once it exists, and
// Leave when the connection ends.
func (r *Room) Join(m Model, instructor bool) *RoomModel {
	mem := &roomMember{instructor: instructor, following: !instructor}
	rm := &RoomModel{Model: m, room: r, me: mem, following: !instructor, reported: map[int]string{}}
	r.mu.Lock()
	r.joins++
	mem.joined = r.joins
	r.members[mem] = struct{}{}
	if instructor && r.leader == nil {
		r.leader = mem
	}
	rm.leading = r.leader == mem
	rm.moreHelp = []helpGroup{{title: "Room", keys: []*key.Binding{&roomExplore, &roomRejoin}}}
	if instructor {
		rm.moreHelp[0].keys = []*key.Binding{&roomLead}
	}
	if r.instructed {
		rm.want = r.state
	}
	r.changed()
	rm.stats = RoomStats{}
	r.mu.Unlock()
	rm.stats = r.Stats()
	return rm
}

// Attach gives the room the way to reach this interface's program.
func (rm *RoomModel) Attach(send func(tea.Msg)) {
	rm.room.mu.Lock()
	rm.me.send = send
	rm.room.mu.Unlock()
}

// Leave takes the interface out of the room. The lead, when it had it,
// passes to the oldest other instructor connection; with none, the room
// keeps what it showed last.
func (rm *RoomModel) Leave() {
	r := rm.room
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.members, rm.me)
	if r.leader == rm.me {
		r.leader = r.oldestInstructor()
	}
	for _, by := range r.answers {
		delete(by, rm.me)
	}
	r.changed()
}

// catchTry is one step of catching up with the instructor's inputs
// (gen): run input at, go on from the step where input at was cut
// (continuing with the one after it), or open the lesson afresh.
type catchTry struct {
	gen  uint64
	kind catchKind
	at   int
}

type catchKind uint8

const (
	catchNone catchKind = iota
	catchRun
	catchContinue
	catchReopen
)

// catching is a step of catching up under way: the statement running
// (runID) or, when loadID is not 0, the session being rebuilt or opened.
type catching struct {
	runID, loadID int
	in            *scripts.Input // the instructor's input running
	at            int            // its index among the instructor's inputs
	label         string         // "the instructor's statement 2 of 3"
	bar           string         // what the bar says meanwhile
	before        int            // the last step before it
}

// roomStateMsg carries what the instructor shows.
type roomStateMsg struct{ st roomState }

// roomChangedMsg says the room's counts or answers changed.
type roomChangedMsg struct{}

// Explore and Rejoin are a student's keys; Lead is an instructor
// connection's that does not lead. None is a key of the keyMap.
var (
	roomExplore = key.NewBinding(key.WithKeys("E"), key.WithHelp("E", "explore alone"))
	roomRejoin  = key.NewBinding(key.WithKeys("R"), key.WithHelp("R", "rejoin the instructor"))
	roomLead    = key.NewBinding(key.WithKeys("I"), key.WithHelp("I", "take the lead"))
)

// roomKeys is every key of the room's own.
func roomKeys() []key.Binding { return []key.Binding{roomExplore, roomRejoin, roomLead} }

// hint is how a bar names b: "I take the lead".
func hint(b key.Binding) string { return b.Help().Key + " " + b.Help().Desc }

// Init starts the interface.
func (rm RoomModel) Init() tea.Cmd { return rm.Model.Init() }

// Update routes the room's messages and keys, then lets the interface
// update and brings it in line with the room.
func (rm RoomModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	var cmds []tea.Cmd
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		// The bar takes a line of its own when the interface still fits
		// below it; at 80x24 it takes the place of the key hints.
		rm.barTop = msg.Height > MinHeight
		if rm.barTop {
			msg.Height--
		}
		next, cmd := rm.Model.Update(msg)
		rm.Model = next.(Model)
		return rm, cmd
	case tea.MouseMsg:
		if rm.catching != nil {
			return rm, nil // the machine is the catching up's
		}
		if rm.barTop { // the interface starts a line down
			msg.Y--
		}
		step, focus := rm.step, rm.focus
		next, cmd := rm.Model.Update(msg)
		rm.Model = next.(Model)
		if rm.followed() && (rm.step != step || rm.focus != focus) {
			// A click that moved the step or the pane: sync puts back the
			// instructor's, and the student is told why, as for a key.
			rm.setNotice(followingNotice, false)
		}
		return rm, tea.Batch(cmd, rm.sync())
	case roomStateMsg:
		if msg.st.seq > rm.want.seq {
			rm.want = msg.st
			rm.dropStale()
		}
		return rm, rm.sync()
	case roomChangedMsg:
		rm.stats = rm.room.Stats()
		if lead := rm.stats.leader == rm.me; lead != rm.leading {
			rm.setLeading(lead)
		}
		return rm, rm.sync()
	case stmtDoneMsg, loadedMsg, stmtFailedMsg, errMsg:
		if c := rm.catching; c != nil && rm.endsCatching(msg) {
			rm.catching = nil
			next, cmd := rm.Model.Update(msg)
			rm.Model = next.(Model)
			rm.caughtUp(c, msg)
			return rm, tea.Batch(cmd, rm.sync())
		}
	case tea.KeyMsg:
		if keys := rm.typedTogether(msg); keys != nil {
			// Each of keys typed at once ("GI") is the room's first, as
			// the interface takes them one by one.
			return pressEach(rm, keys, nil, func(next tea.Model, k tea.KeyMsg) (tea.Model, tea.Cmd) { return next.Update(k) })
		}
		if rm.me.instructor && !rm.typing() && rm.mode != modePicker && key.Matches(msg, roomLead) {
			return rm, rm.takeLead()
		}
		if rm.leading && rm.mode == modePrompt && key.Matches(msg, rm.keys.Run) {
			if err := rm.takes(rm.prompt.value()); err != nil {
				rm.refused = "not run: " + err.Error() + "; o opens the lesson afresh"
				rm.prompt.err = rm.refused
				return rm, nil
			}
		}
		if !rm.me.instructor && rm.catching != nil && !key.Matches(msg, rm.keys.Quit) {
			// The machine is the catching up's until it is done.
			if rm.following && key.Matches(msg, roomExplore) {
				rm.following = false
				rm.room.setFollowing(rm.me, false)
				if rm.running != nil {
					rm.running.cancel(errCancelled)
				}
			}
			if rm.following {
				rm.setNotice("catching up with the instructor: a moment", false)
			} else {
				rm.setNotice("stopping the catching up, then exploring on your own machine; R rejoins the instructor", false)
			}
			return rm, nil
		}
		if !rm.me.instructor && !rm.typing() && rm.mode != modePicker {
			switch {
			case rm.following && key.Matches(msg, roomExplore):
				rm.following = false
				rm.room.setFollowing(rm.me, false)
				rm.setNotice("exploring on your own machine; R rejoins the instructor", false)
				return rm, nil
			case !rm.following && key.Matches(msg, roomRejoin):
				rm.following, rm.tried, rm.lastTry = true, "", catchTry{}
				rm.room.setFollowing(rm.me, true)
				rm.setNotice("following the instructor again", false)
				return rm, rm.sync()
			case rm.followed() && rm.leads(msg):
				rm.setNotice(followingNotice, false)
				return rm, nil
			}
		}
	}
	next, cmd := rm.Model.Update(msg)
	rm.Model = next.(Model)
	cmds = append(cmds, cmd, rm.sync())
	return rm, tea.Batch(cmds...)
}

// followingNotice tells a student following the instructor that what it
// pressed or clicked does not move the session.
var followingNotice = "you are following the instructor: " + roomExplore.Help().Key + " explores on your own"

// followed reports whether this is a student following an instructor who
// has shown something: the instructor moves its session.
func (rm *RoomModel) followed() bool {
	return !rm.me.instructor && rm.following && rm.want.seq != 0
}

// takeLead makes this instructor connection the one the room follows, from
// the lesson, step, pane and statements it shows; it refuses when the room
// could not mirror its statements.
func (rm *RoomModel) takeLead() tea.Cmd {
	m := &rm.Model
	switch {
	case rm.leading:
		rm.setNotice("you lead the room already", false)
		return nil
	case m.src != nil && m.loading == "" && m.running == nil && !m.live:
		if err := mirrorable(m.src.sess.Inputs()); err != nil {
			rm.setNotice("not taking the lead: "+err.Error()+"; o opens the lesson afresh", true)
			return nil
		}
	}
	rm.room.takeLead(rm.me)
	rm.setLeading(true)
	return rm.sync()
}

// setLeading records that this instructor connection now leads the room,
// or no longer does, and says so. A connection that takes the lead
// publishes everything it shows afresh.
func (rm *RoomModel) setLeading(on bool) {
	rm.leading, rm.published, rm.refused = on, roomState{}, ""
	if on {
		rm.setNotice("you lead the room: it follows you from here", false)
	} else {
		rm.setNotice("another instructor connection took the lead; "+hint(roomLead)+" back", false)
	}
}

// leads reports whether msg is a key that would take a follower away from
// the instructor's step, lesson or pane: one of the key map's
// sessionKeys, unless it is typing the answer to the question shown.
func (rm *RoomModel) leads(msg tea.KeyMsg) bool {
	if rm.quizAnswerKey(msg) {
		return false
	}
	for _, b := range rm.keys.sessionKeys() {
		if key.Matches(msg, *b) {
			return true
		}
	}
	return false
}

// sync publishes an instructor's state, reports a student's answers, and
// brings a follower to the instructor's lesson, step and pane.
func (rm *RoomModel) sync() tea.Cmd {
	m := &rm.Model
	if rm.me.instructor {
		rm.publish()
		return nil
	}
	for n, a := range m.quiz.given {
		if rm.reported[n] != a {
			rm.reported[n] = a
			rm.room.answer(rm.me, n, a)
		}
	}
	w := rm.want
	if !rm.following || w.seq == 0 || m.loading != "" || m.running != nil || rm.catching != nil {
		return nil
	}
	if m.name != w.name || m.src == nil {
		if rm.tried == w.name {
			return nil // opening it failed; wait for the instructor to move on
		}
		rm.tried = w.name
		m.stopPlay()
		return m.startLoad(w.name)
	}
	rm.tried = ""
	if !m.live { // a lesson still running has recorded no input yet
		if cmd := rm.catchUp(); cmd != nil {
			return cmd
		}
	}
	if m.playing {
		m.stopPlay()
	}
	if step := min(w.step, m.lastStep()); m.step != step {
		m.seekTo(step)
	}
	if m.focus != w.focus {
		m.setFocus(w.focus)
	}
	return nil
}

// publish publishes what the leading instructor shows, when it changed:
// the lesson, step and pane, and the session's inputs once no statement
// runs on it (while one runs, the inputs published before stand). A
// connection that has just taken the lead waits for its statement to end,
// and publishes nothing while the room could not mirror its inputs: the
// room shows what it showed until then.
func (rm *RoomModel) publish() {
	m := &rm.Model
	if !rm.leading || m.src == nil || m.loading != "" {
		return
	}
	cur := rm.published
	fresh := cur.seq == 0
	if fresh && m.running != nil {
		return
	}
	st := roomState{name: m.name, step: m.step, last: m.lastStep(), focus: m.focus, inputs: cur.inputs}
	changed := false
	if m.running == nil && !m.live {
		if in := m.src.sess.Inputs(); !sameInputs(in, cur.inputs) {
			// Past the room's limits only by going on from an earlier
			// step, which takes kept at the prompt cannot foresee.
			if err := mirrorable(in); err != nil {
				rm.refused = "the room does not follow your last statement: " + err.Error() + "; o opens the lesson afresh"
				if fresh {
					return
				}
			} else {
				st.inputs, changed, rm.refused = slices.Clone(in), true, ""
			}
		}
	}
	if changed || fresh || st.name != cur.name || st.step != cur.step || st.focus != cur.focus || st.last != cur.last {
		pub, ok := rm.room.publish(rm.me, st, changed)
		if !ok { // another connection took the lead; its message is on the way
			rm.setLeading(false)
			return
		}
		rm.published = pub
	}
}

// takes fails when the room cannot mirror stmt, about to run at the
// instructor's last step: it would pass the room's limits. A statement
// that goes on from an earlier step discards some, which publish checks.
func (rm *RoomModel) takes(stmt string) error {
	m := &rm.Model
	if stmt == "" || strings.HasPrefix(stmt, stepsCommand) || m.src == nil || m.loading != "" || m.running != nil || m.live ||
		m.step < m.lastStep() {
		return nil
	}
	return mirrorable(m.src.sess.Inputs(), stmt)
}

// catchUp takes a follower's machine one step towards the instructor's
// inputs, and returns the command that does it; nil when the machine has
// them all, or when the step it would take failed last time (until the
// instructor's inputs change, or R). Each step is what the instructor
// did: the next statement run (the prompt's path, under this session's
// limits), or, where the instructor went on from an earlier step, the
// same rebuild and the statement after it. A machine that went its own
// way (a student who explored and typed) opens the lesson afresh.
func (rm *RoomModel) catchUp() tea.Cmd {
	m := &rm.Model
	w := rm.want
	if w.inputs == nil {
		return nil
	}
	own := m.src.sess.Inputs()
	p := 0
	for p < len(own) && p < len(w.inputs) && own[p].Same(w.inputs[p]) {
		p++
	}
	try := catchTry{gen: w.gen, kind: catchReopen}
	k, cut := 0, false
	if p < len(own) && p+1 < len(w.inputs) {
		k, cut = w.inputs[p].CutFrom(own[p])
	}
	switch {
	case p == len(own) && p == len(w.inputs):
		return nil
	case p == len(own):
		try.kind, try.at = catchRun, p
	case cut && k <= m.lastStep():
		try.kind, try.at = catchContinue, p
	}
	if try == rm.lastTry {
		return nil // it failed: the notice says why
	}
	rm.lastTry = try
	c := &catching{before: m.lastStep()}
	switch try.kind {
	case catchReopen:
		c.bar = "opening the lesson afresh"
		m.stopPlay()
		cmd := m.startLoad(w.name)
		c.loadID = m.loadID
		rm.catching = c
		return cmd
	case catchContinue:
		try.at++ // the statement after the cut
	}
	in := w.inputs[try.at]
	c.label = rm.statementLabel(try.at)
	c.bar = strings.TrimPrefix(c.label, "the instructor's ")
	from := m.lastStep()
	if try.kind == catchContinue {
		from = k
		c.bar = fmt.Sprintf("back to step %d, then %s", k, c.bar)
	}
	cmd := m.startRun(in.Src, &in, from)
	c.runID, c.before, c.in, c.at = m.runID, from, &in, try.at
	if try.kind == catchContinue {
		c.loadID = m.loadID // it answers as a load (continueCmd)
	}
	rm.catching = c
	return cmd
}

// errStale stops a statement of catching up that the instructor's inputs
// no longer hold (they went back before it, or opened another lesson).
var errStale = errors.New("the instructor moved on")

// dropStale cancels the statement of catching up running when the
// instructor's inputs no longer hold it: the session undoes it, and
// catching up goes on from there.
func (rm *RoomModel) dropStale() {
	c, w := rm.catching, rm.want
	if c == nil || c.in == nil || rm.running == nil {
		return
	}
	if w.name != rm.name || c.at >= len(w.inputs) || !w.inputs[c.at].Same(*c.in) {
		rm.running.cancel(errStale)
	}
}

// statementLabel names the instructor's input i among the statements
// typed since the lesson was opened: "the instructor's statement 2 of 3".
func (rm *RoomModel) statementLabel(i int) string {
	n, at := 0, 0
	for j, in := range rm.want.inputs {
		if in.Prompt {
			n++
			if j <= i {
				at = n
			}
		}
	}
	return fmt.Sprintf("the instructor's statement %d of %d", at, n)
}

// endsCatching reports whether msg answers the step of catching up under
// way.
func (rm *RoomModel) endsCatching(msg tea.Msg) bool {
	c := rm.catching
	switch msg := msg.(type) {
	case stmtDoneMsg:
		return c.loadID == 0 && msg.id == c.runID
	case loadedMsg:
		return c.loadID != 0 && msg.id == c.loadID
	case stmtFailedMsg:
		return c.loadID != 0 && msg.id == c.loadID
	case errMsg:
		return c.loadID != 0 && msg.id == c.loadID
	}
	return false
}

// caughtUp says how the step of catching up c ended, as msg tells.
func (rm *RoomModel) caughtUp(c *catching, msg tea.Msg) {
	var stmt, result string
	var err error
	switch msg := msg.(type) {
	case stmtDoneMsg:
		stmt, result, err = msg.stmt, msg.result, msg.err
	case loadedMsg:
		if msg.stmt == "" {
			return // the lesson, opened afresh: its own notice stands
		}
		stmt, result, err = msg.stmt, msg.result, msg.stmtErr
	case stmtFailedMsg:
		err = msg.err
	case errMsg:
		err = msg.err
	}
	switch {
	case !rm.following:
		rm.setNotice("exploring on your own machine; R rejoins the instructor", false)
		return
	case errors.Is(err, errStale):
		rm.setNotice("the instructor moved on: catching up from there", false)
		return
	case err != nil:
		what := c.label
		if what == "" {
			what = "opening the lesson afresh"
		}
		rm.setNotice(fmt.Sprintf("%s failed here: %v", what, err), true)
		return
	}
	rm.noticeStatement(c.before, stmt, result, nil, c.label+" · ")
}

// View draws the room's bar above the interface, or over its last line
// (the key hints) when there is no line to spare.
func (rm RoomModel) View() string {
	v := rm.Model.View()
	if rm.barTop {
		return rm.barView() + "\n" + v
	}
	if i := strings.LastIndexByte(v, '\n'); i >= 0 && rm.height >= MinHeight {
		return v[:i+1] + rm.barView()
	}
	return v
}

// barView is one line: the instructor's count of the room and the answers
// to the question shown, or a student's following or exploring.
func (rm RoomModel) barView() string {
	st := rm.styles
	w := max(1, rm.width)
	var s string
	counts := fmt.Sprintf("%d connected, %d following", rm.stats.Students, rm.stats.Following)
	switch {
	case rm.me.instructor && rm.leading:
		s = " instructor · " + counts
		if q := rm.question(); q != "" {
			s += " · " + q
		}
		if rm.refused != "" {
			s += " · " + rm.refused
		}
		if n := rm.stats.Instructors; n > 1 {
			s += fmt.Sprintf(" · leading (%d instructor connections)", n)
		}
	case rm.me.instructor:
		s = " instructor (not leading) · " + hint(roomLead) + " · another instructor connection leads"
		if lead := rm.want; lead.seq != 0 {
			s += fmt.Sprintf(", at step %d", lead.step)
			if lead.name != rm.name {
				s += " of " + lead.name
			}
		}
		s += " · " + counts
	case rm.following && rm.want.seq == 0:
		s = " following the instructor, who has not connected yet · " + hint(roomExplore)
	case rm.catching != nil && rm.following:
		s = " catching up with the instructor: " + rm.catching.bar
		if r := rm.running; r != nil && r.steps > 0 {
			s += fmt.Sprintf(" (%s so far)", allocator.Count(uint64(r.steps), "step"))
		}
		s += " · " + hint(roomExplore)
	case rm.following:
		s = fmt.Sprintf(" following the instructor · step %d", rm.want.step)
		if rm.want.step > rm.lastStep() && rm.src != nil && rm.name == rm.want.name {
			s += fmt.Sprintf(" (this machine stops at step %d)", rm.lastStep())
		}
		s += " · " + hint(roomExplore)
	default:
		s = fmt.Sprintf(" exploring on your own · the instructor is at step %d · %s", rm.want.step, hint(roomRejoin))
	}
	return st.Accent.Render(truncateCells(s, w))
}

// question is the room's answers to the question asked at the
// instructor's step, as a bar per choice: "Q2 1:███ 3 2:█ 1".
func (rm RoomModel) question() string {
	m := rm.Model
	for _, q := range m.quiz.qs {
		if q.AskStep != m.step {
			continue
		}
		counts := rm.stats.answers[q.N]
		choices := q.Choices
		if choices == nil {
			for a := range counts {
				choices = append(choices, a)
			}
			sort.Strings(choices)
		}
		total := 0
		for _, c := range counts {
			total += c
		}
		var b strings.Builder
		fmt.Fprintf(&b, "Q%d (%d answered)", q.N, total)
		for i, c := range choices {
			n := counts[c]
			bar := 0
			if total > 0 {
				bar = (n*10 + total - 1) / total
			}
			label := c
			if q.Choices != nil {
				label = fmt.Sprint(i + 1)
			}
			fmt.Fprintf(&b, " %s:%s %d", label, strings.Repeat("█", bar), n)
		}
		return b.String()
	}
	return ""
}

// truncateCells cuts s to w cells.
func truncateCells(s string, w int) string {
	if lipgloss.Width(s) <= w {
		return s
	}
	r := []rune(s)
	for len(r) > 0 && lipgloss.Width(string(r))+1 > w {
		r = r[:len(r)-1]
	}
	return string(r) + "…"
}

// Close releases the machine shown.
func (rm RoomModel) Close() { rm.Model.Close() }

package ui

import "github.com/charmbracelet/bubbles/key"

// keyMap is every key binding of the interface. Bindings that only make
// sense in one context (the prompt, the inspector cursor, the slab table)
// are switched with SetEnabled by Model.syncKeys, so the footer only ever
// shows keys that do something right now; the full help (?) lists every
// binding under the context it works in (helpGroups).
type keyMap struct {
	// Stepping.
	Next        key.Binding
	Prev        key.Binding
	First       key.Binding
	Last        key.Binding
	Goto        key.Binding
	NextChapter key.Binding
	PrevChapter key.Binding
	EndLoop     key.Binding

	// Replay, bookmarks and diff.
	Play     key.Binding
	Faster   key.Binding
	Slower   key.Binding
	Mark     key.Binding
	NextMark key.Binding
	PrevMark key.Binding
	Diff     key.Binding

	// Panes and layout.
	FocusNext key.Binding
	FocusPrev key.Binding
	Up        key.Binding
	Down      key.Binding
	PageUp    key.Binding
	PageDown  key.Binding
	HalfUp    key.Binding
	HalfDown  key.Binding
	Inspect   key.Binding
	WhyMore   key.Binding
	Presenter key.Binding

	// The timeline.
	Timeline      key.Binding
	TimelineJump  key.Binding
	TimelineCross key.Binding

	// The page map.
	Zoom    key.Binding
	Magnify key.Binding
	Layer   key.Binding

	// The slab caches.
	Sort      key.Binding
	Reverse   key.Binding
	Freelist  key.Binding
	AllCaches key.Binding
	Follow    key.Binding

	// The inspector cursor (enabled while inspecting).
	CursorLeft  key.Binding
	CursorRight key.Binding
	CursorUp    key.Binding
	CursorDown  key.Binding

	// Commands and scenarios.
	Prompt key.Binding
	Search key.Binding
	Open   key.Binding
	Help   key.Binding
	Quit   key.Binding

	// The prompt, the go-to, search and threshold inputs and the picker (enabled
	// while open).
	Run         key.Binding
	HistoryPrev key.Binding
	HistoryNext key.Binding
	Cancel      key.Binding
}

// DefaultKeyMap returns the key bindings with the context bindings
// disabled; Model.syncKeys enables them when their context is active.
func DefaultKeyMap() keyMap {
	k := keyMap{
		Next:        key.NewBinding(key.WithKeys("n", "right"), key.WithHelp("n/→", "next step")),
		Prev:        key.NewBinding(key.WithKeys("p", "left"), key.WithHelp("p/←", "prev step")),
		First:       key.NewBinding(key.WithKeys("g", "home"), key.WithHelp("g/home", "first step")),
		Last:        key.NewBinding(key.WithKeys("G", "end"), key.WithHelp("G/end", "last step")),
		Goto:        key.NewBinding(key.WithKeys("#"), key.WithHelp("#", "go to step, address, pfn")),
		NextChapter: key.NewBinding(key.WithKeys("]"), key.WithHelp("]", "next chapter")),
		PrevChapter: key.NewBinding(key.WithKeys("["), key.WithHelp("[", "prev chapter")),
		EndLoop:     key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "end of loop/line")),

		Play:     key.NewBinding(key.WithKeys(" "), key.WithHelp("space", "play")),
		Faster:   key.NewBinding(key.WithKeys("+", "="), key.WithHelp("+", "faster")),
		Slower:   key.NewBinding(key.WithKeys("-", "_"), key.WithHelp("-", "slower")),
		Mark:     key.NewBinding(key.WithKeys("m"), key.WithHelp("m", "bookmark step")),
		NextMark: key.NewBinding(key.WithKeys("'", "b"), key.WithHelp("'/b", "next bookmark")),
		PrevMark: key.NewBinding(key.WithKeys("B"), key.WithHelp("B", "prev bookmark")),
		Diff:     key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "diff from here")),

		FocusNext: key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next pane")),
		FocusPrev: key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("shift+tab", "prev pane")),
		Up:        key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:      key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:    key.NewBinding(key.WithKeys("pgup"), key.WithHelp("pgup", "page up")),
		PageDown:  key.NewBinding(key.WithKeys("pgdown"), key.WithHelp("pgdn", "page down")),
		HalfUp:    key.NewBinding(key.WithKeys("ctrl+u"), key.WithHelp("ctrl+u", "half page up")),
		HalfDown:  key.NewBinding(key.WithKeys("ctrl+d"), key.WithHelp("ctrl+d", "half page down")),
		Inspect:   key.NewBinding(key.WithKeys("i", "enter"), key.WithHelp("i/enter", "inspect")),
		WhyMore:   key.NewBinding(key.WithKeys("w"), key.WithHelp("w", "more Why")),
		Presenter: key.NewBinding(key.WithKeys("P"), key.WithHelp("P", "presenter")),

		Timeline:      key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "timeline: next series")),
		TimelineJump:  key.NewBinding(key.WithKeys("T"), key.WithHelp("T", "biggest change")),
		TimelineCross: key.NewBinding(key.WithKeys(">"), key.WithHelp(">", "crossing")),

		Zoom:    key.NewBinding(key.WithKeys("z"), key.WithHelp("z", "zoom")),
		Magnify: key.NewBinding(key.WithKeys("Z"), key.WithHelp("Z", "strip")),
		Layer:   key.NewBinding(key.WithKeys("L"), key.WithHelp("L", "layer")),

		Sort:      key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "sort")),
		Reverse:   key.NewBinding(key.WithKeys("S"), key.WithHelp("S", "reverse")),
		Freelist:  key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "freelists")),
		AllCaches: key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "all caches")),
		Follow:    key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "follow step")),

		CursorLeft:  key.NewBinding(key.WithKeys("left", "h"), key.WithHelp("←/h", "left")),
		CursorRight: key.NewBinding(key.WithKeys("right", "l"), key.WithHelp("→/l", "right")),
		CursorUp:    key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		CursorDown:  key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),

		Prompt: key.NewBinding(key.WithKeys(":"), key.WithHelp(":", "statement")),
		Search: key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "search")),
		Open:   key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "open scenario")),
		Help:   key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:   key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q/ctrl+c", "quit")),

		Run:         key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "run")),
		HistoryPrev: key.NewBinding(key.WithKeys("up"), key.WithHelp("↑", "older")),
		HistoryNext: key.NewBinding(key.WithKeys("down"), key.WithHelp("↓", "newer")),
		Cancel:      key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "close")),
	}
	for _, g := range k.helpGroups() {
		if g.context {
			for _, b := range g.keys {
				b.SetEnabled(false)
			}
		}
	}
	return k
}

// helpGroup is a column of the full help: a title and its bindings.
// Bindings of a context group are off until their context is active.
type helpGroup struct {
	title   string
	keys    []*key.Binding
	context bool
}

// helpGroups is every binding by what it acts on; the full help and the
// bindings syncKeys switches come from this one table.
func (k *keyMap) helpGroups() []helpGroup {
	return []helpGroup{
		{title: "Stepping", keys: []*key.Binding{&k.Next, &k.Prev, &k.First, &k.Last, &k.Goto, &k.NextChapter, &k.PrevChapter, &k.EndLoop}},
		{title: "Replay, bookmarks, diff", keys: []*key.Binding{&k.Play, &k.Faster, &k.Slower, &k.Mark, &k.NextMark, &k.PrevMark, &k.Diff}},
		{title: "Panes", keys: []*key.Binding{&k.FocusNext, &k.FocusPrev, &k.Up, &k.Down, &k.PageUp, &k.PageDown, &k.HalfUp, &k.HalfDown, &k.WhyMore, &k.Presenter}},
		{title: "Page map, slabs: cursor", keys: []*key.Binding{&k.Inspect}, context: true},
		{title: "Timeline", keys: []*key.Binding{&k.Timeline, &k.TimelineJump, &k.TimelineCross}},
		{title: "Page map", keys: []*key.Binding{&k.Zoom, &k.Magnify, &k.Layer}},
		{title: "Slabs pane", keys: []*key.Binding{&k.Sort, &k.Reverse, &k.Freelist, &k.AllCaches, &k.Follow}, context: true},
		{title: "Inspector cursor", keys: []*key.Binding{&k.CursorLeft, &k.CursorRight, &k.CursorUp, &k.CursorDown}, context: true},
		{title: "Commands", keys: []*key.Binding{&k.Prompt, &k.Search, &k.Open, &k.Help, &k.Quit}},
		{title: "Typing", keys: []*key.Binding{&k.Run, &k.HistoryPrev, &k.HistoryNext, &k.Cancel}, context: true},
	}
}

// sessionKeys is every binding that moves the session: it changes the
// step shown (or plays), the lesson, or the focused pane, or opens the
// input (go to, search, crossing, statement, picker) whose enter does. In
// a room the instructor moves the session, so a student following may
// not press these (RoomModel.leads). Every other binding changes how the
// step is shown (layout, zoom, sort, scroll, the timeline's series, the
// inspector), marks it (a bookmark, the diff base) or sets the replay's
// speed, and stays the student's own.
func (k *keyMap) sessionKeys() []*key.Binding {
	return []*key.Binding{
		&k.Next, &k.Prev, &k.First, &k.Last, &k.Goto, &k.NextChapter, &k.PrevChapter, &k.EndLoop,
		&k.Play, &k.NextMark, &k.PrevMark,
		&k.FocusNext, &k.FocusPrev,
		&k.TimelineJump, &k.TimelineCross,
		&k.Prompt, &k.Search, &k.Open,
	}
}

// ShortHelp returns the footer's bindings while something is typed or
// inspected; stepping, the footer also shows the focused pane's own keys
// (Model.footerKeys).
func (k keyMap) ShortHelp() []key.Binding {
	switch {
	case k.HistoryPrev.Enabled():
		return []key.Binding{k.Run, k.HistoryPrev, k.HistoryNext, k.Cancel, k.Quit}
	case k.Run.Enabled():
		return []key.Binding{k.Run, k.Cancel, k.Quit}
	case k.CursorLeft.Enabled():
		return []key.Binding{k.CursorLeft, k.CursorRight, k.CursorUp, k.CursorDown, k.Next, k.Prev, k.Cancel}
	}
	return []key.Binding{k.Next, k.Prev, k.NextChapter, k.FocusNext, k.Prompt, k.Help, k.Quit}
}

// paneKeys returns the keys of pane p that the footer shows while
// stepping.
func (k keyMap) paneKeys(p paneID) []key.Binding {
	switch p {
	case panePages:
		return []key.Binding{k.Zoom, k.Magnify, k.Layer, k.Inspect}
	case paneSlabs:
		keys := []key.Binding{k.Up, k.Sort, k.Freelist, k.Inspect}
		if k.Follow.Enabled() {
			keys = append(keys, k.Follow)
		}
		return keys
	case paneVmalloc:
		return []key.Binding{k.Up, k.PageDown}
	case paneRealloc:
		return []key.Binding{k.PageDown, k.PageUp}
	case paneEvents:
		return []key.Binding{k.Up, k.PageUp, k.Search}
	case paneTimeline:
		return []key.Binding{k.Up, k.TimelineJump, k.TimelineCross}
	}
	return nil
}

// FullHelp returns every binding in the columns of helpGroups.
func (k keyMap) FullHelp() [][]key.Binding {
	var out [][]key.Binding
	for _, g := range k.helpGroups() {
		col := make([]key.Binding, len(g.keys))
		for i, b := range g.keys {
			col[i] = *b
		}
		out = append(out, col)
	}
	return out
}

package ui

import "github.com/charmbracelet/bubbles/key"

// keyMap is every key binding of the interface. Bindings that only make
// sense in one context (the prompt, the inspector cursor, the slab table)
// are switched with SetEnabled by Model.syncKeys, so the help view only
// ever shows keys that do something right now.
type keyMap struct {
	// Stepping and replay.
	Next     key.Binding
	Prev     key.Binding
	Play     key.Binding
	Faster   key.Binding
	Slower   key.Binding
	First    key.Binding
	Last     key.Binding
	Jump     key.Binding
	Mark     key.Binding
	NextMark key.Binding
	Diff     key.Binding

	// Panes.
	FocusNext key.Binding
	FocusPrev key.Binding
	Up        key.Binding
	Down      key.Binding
	Inspect   key.Binding
	Zoom      key.Binding
	Layer     key.Binding
	Sort      key.Binding
	Reverse   key.Binding
	Freelist  key.Binding
	AllCaches key.Binding

	// The inspector cursor (enabled while inspecting).
	CursorLeft  key.Binding
	CursorRight key.Binding
	CursorUp    key.Binding
	CursorDown  key.Binding

	// Commands and scenarios.
	Prompt key.Binding
	Open   key.Binding

	// The prompt, the jump input and the picker (enabled while open).
	Run         key.Binding
	HistoryPrev key.Binding
	HistoryNext key.Binding
	Cancel      key.Binding

	Help key.Binding
	Quit key.Binding
}

// DefaultKeyMap returns the key bindings with the context bindings
// disabled; Model.syncKeys enables them when their context is active.
func DefaultKeyMap() keyMap {
	k := keyMap{
		Next:     key.NewBinding(key.WithKeys("n", "right"), key.WithHelp("n/→", "next step")),
		Prev:     key.NewBinding(key.WithKeys("p", "left"), key.WithHelp("p/←", "prev step")),
		Play:     key.NewBinding(key.WithKeys(" "), key.WithHelp("space", "play")),
		Faster:   key.NewBinding(key.WithKeys("+", "="), key.WithHelp("+", "faster")),
		Slower:   key.NewBinding(key.WithKeys("-", "_"), key.WithHelp("-", "slower")),
		First:    key.NewBinding(key.WithKeys("g", "home"), key.WithHelp("g", "first step")),
		Last:     key.NewBinding(key.WithKeys("G", "end"), key.WithHelp("G", "last step")),
		Jump:     key.NewBinding(key.WithKeys("#"), key.WithHelp("#", "jump to step")),
		Mark:     key.NewBinding(key.WithKeys("m"), key.WithHelp("m", "bookmark step")),
		NextMark: key.NewBinding(key.WithKeys("'", "b"), key.WithHelp("'/b", "next bookmark")),
		Diff:     key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "diff from this step")),

		FocusNext: key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next pane")),
		FocusPrev: key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("shift+tab", "previous pane")),
		Up:        key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "select up")),
		Down:      key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "select down")),
		Inspect:   key.NewBinding(key.WithKeys("i", "enter"), key.WithHelp("i", "inspect cell")),
		Zoom:      key.NewBinding(key.WithKeys("z"), key.WithHelp("z", "zoom page map")),
		Layer:     key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "colour by owner/zone/migrate type")),
		Sort:      key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "sort column")),
		Reverse:   key.NewBinding(key.WithKeys("S"), key.WithHelp("S", "reverse sort")),
		Freelist:  key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "freelist order")),
		AllCaches: key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "all caches")),

		CursorLeft:  key.NewBinding(key.WithKeys("left", "h"), key.WithHelp("←/h", "left")),
		CursorRight: key.NewBinding(key.WithKeys("right", "l"), key.WithHelp("→/l", "right")),
		CursorUp:    key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		CursorDown:  key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),

		Prompt: key.NewBinding(key.WithKeys(":"), key.WithHelp(":", "statement")),
		Open:   key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "open scenario")),

		Run:         key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "run")),
		HistoryPrev: key.NewBinding(key.WithKeys("up"), key.WithHelp("↑", "older")),
		HistoryNext: key.NewBinding(key.WithKeys("down"), key.WithHelp("↓", "newer")),
		Cancel:      key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "close")),

		Help: key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit: key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
	}
	for _, b := range k.contextBindings() {
		b.SetEnabled(false)
	}
	return k
}

// contextBindings are the bindings that start disabled.
func (k *keyMap) contextBindings() []*key.Binding {
	return []*key.Binding{
		&k.CursorLeft, &k.CursorRight, &k.CursorUp, &k.CursorDown,
		&k.Run, &k.HistoryPrev, &k.HistoryNext, &k.Cancel,
		&k.Sort, &k.Reverse, &k.Freelist, &k.AllCaches,
	}
}

// stepBindings are the bindings that act on the timeline and the panes;
// they are off while text is being typed or the picker is open.
func (k *keyMap) stepBindings() []*key.Binding {
	return []*key.Binding{
		&k.Next, &k.Prev, &k.Play, &k.Faster, &k.Slower, &k.First, &k.Last,
		&k.Jump, &k.Mark, &k.NextMark, &k.Diff, &k.FocusNext, &k.FocusPrev, &k.Up, &k.Down,
		&k.Inspect, &k.Zoom, &k.Layer, &k.Prompt, &k.Open, &k.Help,
	}
}

// ShortHelp returns the footer's bindings for the context that is active:
// typing, inspecting, or stepping.
func (k keyMap) ShortHelp() []key.Binding {
	switch {
	case k.Run.Enabled():
		return []key.Binding{k.Run, k.HistoryPrev, k.HistoryNext, k.Cancel, k.Quit}
	case k.CursorLeft.Enabled():
		return []key.Binding{k.CursorLeft, k.CursorRight, k.CursorUp, k.CursorDown, k.Cancel}
	}
	return []key.Binding{k.Next, k.Prev, k.Play, k.Prompt, k.Help, k.Quit}
}

// FullHelp returns every binding in columns: stepping, replay, panes,
// commands.
func (k keyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Next, k.Prev, k.First, k.Last, k.Jump},
		{k.Play, k.Faster, k.Slower, k.Mark, k.NextMark, k.Diff},
		{k.FocusNext, k.FocusPrev, k.Up, k.Down, k.Inspect, k.Zoom, k.Layer, k.Sort, k.Reverse, k.Freelist, k.AllCaches},
		{k.CursorLeft, k.CursorRight, k.CursorUp, k.CursorDown},
		{k.Prompt, k.Run, k.HistoryPrev, k.HistoryNext, k.Open, k.Cancel, k.Help, k.Quit},
	}
}

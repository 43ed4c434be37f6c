// Package ui is allocviz's Bubble Tea interface: it lays out and styles
// what heapview renders from a scripting session's events.
//
// # Files
//
//	model.go     Model, Options, New, Init; modes and pane names
//	update.go    Update: keys routed by mode, replay ticks, loaded sessions
//	refresh.go   re-rendering the panes after anything changed (in Update)
//	layout.go    the layouts (compact, medium, wide) and the sizes they give
//	view.go      View: status bar, tabs, body, command area, footer
//	frame.go     pane frames drawn by concatenation
//	keys.go      the key map and its short and full help
//	help.go      the full help, in place of the panes
//	styles.go    every style, by meaning; heapview's cell kinds to styles
//	legend.go    the always-visible legend
//	messages.go  the messages commands return
//	commands.go  loading and rebuilding sessions, replay and live ticks
//	source.go    a scripting session and the heapview model of its events;
//	             a long script shown while it runs
//	prompt.go    the statement prompt with its history
//	picker.go    the scenario picker
//	pane.go      what every pane shares
//	pagemap.go, slabs.go, vmalloc.go, realloc.go, events.go, inspector.go
//	             one file per pane
//
// # Rules
//
// Update is the only place state changes. Panes are dumb: refresh fills
// them from heapview's renderers and relayout gives them their sizes, both
// from Update; View only joins lines that are already exactly as wide as
// their boxes. Allocator calls typed at the prompt run in Update (they are
// in-memory); opening a scenario and rebuilding a session to an earlier
// step run in commands, which build a new session and hand it over in a
// message. A script that runs longer than firstSlice is handed over while
// it runs, on its own goroutine, which lets go of the session every few
// milliseconds: Update holds it (source.hold) and a live tick brings the
// model up to date; View reads only the model. Replay is a tea.Tick re-armed on every tick and tagged with a
// generation, so pausing or changing speed drops the tick in flight.
package ui

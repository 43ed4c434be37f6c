// Package ui is allocviz's Bubble Tea interface: it lays out and styles
// what heapview renders from a scripting session's events.
//
// # Files
//
//	model.go     Model, Options, New, Init; modes and pane names
//	update.go    Update: keys routed by mode, replay and live ticks, loaded sessions
//	nav.go       stepping, chapters, bookmarks, diff, go to (a step, an address, a pfn), search
//	statement.go statements typed at the prompt: run off the event loop, cancelled with esc
//	scroll.go    scrolling a pane by key and by wheel, and clicks
//	refresh.go   re-rendering the panes after anything changed (in Update)
//	layout.go    the layouts (compact, medium, wide, presenter) and the boxes they give
//	view.go      View: status bar, tabs, body, command area
//	frame.go     pane frames drawn by concatenation, with what is out of view
//	text.go      cutting with "…" and padding, every cut of the interface
//	keys.go      the key map: one table of bindings by context (helpGroups)
//	help.go      the full help and the footer, from the key map
//	styles.go    every style, by meaning; palettes; heapview's kinds and marks to styles
//	legend.go    the always-visible legend
//	messages.go  the messages commands return
//	commands.go  loading and rebuilding sessions, running statements, ticks
//	source.go    a scripting session and the heapview model of its events;
//	             a long script shown while it runs
//	prompt.go    the statement prompt with its history
//	picker.go    the scenario picker
//	pane.go      what every pane shares: content, scrolling, overflow
//	pagemap.go, slabs.go, vmalloc.go, realloc.go, events.go, inspector.go
//	             one file per pane (events.go: the event log and the Why strip)
//
// # Rules
//
// Update is the only place state changes. Panes are dumb: refresh fills
// them from heapview's renderers (the Why strip too) and relayout gives
// them their boxes, both from Update; View only joins lines that are
// already exactly as wide as their boxes. A pane holds all it has to
// show and scrolls through it, or the lines in view of a renderer that
// scrolls itself, and its frame says what is out of view. Every cut ends
// with "…" (text.go, heapview's rows).
//
// Opening a scenario, rebuilding a session to an earlier step and running
// a statement typed at the prompt happen in commands, off the event loop:
// a statement runs on the session shown (source.run), or, typed at an
// earlier step, on a session rebuilt to that step, and until it is done
// Update reads neither the session nor its heapview model (refresh keeps
// the panes as they were) but the session's Progress, for the step
// counter; esc cancels it through its context and the session undoes it.
// Keys that arrive together (several runes, or esc read with the next key
// as alt) are taken one at a time outside a text input. A script that runs longer than firstSlice is
// handed over while it runs, on its own goroutine, which lets go of the
// session every few milliseconds: Update holds it (source.hold) and a live
// tick brings the model up to date; View reads only the model. Replay is
// a tea.Tick re-armed on every tick and tagged with a generation, so
// pausing or changing speed drops the tick in flight.
//
// The layout's boxes are one message's worth of state: "go to step N with
// pane F focused" is seekTo and setFocus in one Update, so a view that
// follows another (a room following its instructor) needs one message.
package ui

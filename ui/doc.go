// Package ui is allocviz's Bubble Tea interface: it lays out and styles
// what heapview renders from a scripting session's events.
//
// Files: model.go (Model, New, Init), update.go (Update, routing by mode),
// view.go and layout.go (View and the sizes it uses), keys.go (the key
// map and its help), styles.go (every colour, by meaning), messages.go,
// commands.go, source.go (the session and the heapview model), and one
// file per pane. Panes are dumb: Update fills them through refresh and
// gives them sizes through relayout; View only asks them to Render.
package ui

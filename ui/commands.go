package ui

import (
	"context"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/allocviz/allocviz/scripts"
)

// tickCmd arms one replay tick of generation gen after d.
func tickCmd(gen int, d time.Duration) tea.Cmd {
	return tea.Tick(d, func(time.Time) tea.Msg { return playTickMsg{gen: gen} })
}

// liveTickCmd asks, after liveTick, for the model to take in the steps
// src's running script took meanwhile.
func liveTickCmd(src *source) tea.Cmd {
	return tea.Tick(liveTick, func(time.Time) tea.Msg { return liveTickMsg{src: src} })
}

// liveTick is how often the interface takes in a running script's steps.
const liveTick = 250 * time.Millisecond

// loadCmd opens scenario name (a bundled scenario or a script path) on a
// fresh machine configured by opts, runs it under ctx, and returns the
// session.
func loadCmd(ctx context.Context, id int, name string, opts scripts.Options) tea.Cmd {
	return func() tea.Msg {
		src, err := openSource(ctx, name, opts)
		if err != nil {
			return errMsg{id: id, err: err}
		}
		return loadedMsg{id: id, src: src, name: name}
	}
}

// continueCmd rebuilds a session up to an earlier step on a fresh machine
// and runs stmt there. The rebuild only reads the session shown (see
// rebuilder). A statement that fails before taking a step (a typo) gives
// the rebuilt session up, so nothing is discarded for it.
func continueCmd(id int, rb rebuilder, name, stmt, notice string) tea.Cmd {
	return func() tea.Msg {
		src, err := rb.rebuild()
		if err != nil {
			return errMsg{id: id, err: err}
		}
		result, stmtErr := src.exec(stmt)
		if stmtErr != nil && src.steps() == rb.step {
			src.close()
			return stmtFailedMsg{id: id, stmt: stmt, err: stmtErr}
		}
		notice += "; ran " + stmt
		if result != "" {
			notice += " = " + result
		}
		return loadedMsg{id: id, src: src, name: name, notice: notice, stmt: stmt, stmtErr: stmtErr, from: rb.step}
	}
}

// closeCmd releases a session nobody shows any more.
func closeCmd(src *source) tea.Cmd {
	if src == nil {
		return nil
	}
	return func() tea.Msg {
		src.close()
		return nil
	}
}

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
// and runs r's statement there (running.run), with at most maxSteps allocator steps, under ctx;
// r's step counter follows it once the rebuild is done.
// The rebuild only reads the session shown (see rebuilder). A statement
// that fails before taking a step (a typo), or that is cancelled, gives
// the rebuilt session up, so nothing is discarded for it.
func continueCmd(ctx context.Context, id int, r *running, rb rebuilder, name, notice string, maxSteps int) tea.Cmd {
	stmt := r.stmt
	return func() tea.Msg {
		src, err := rb.rebuild()
		if err != nil {
			return errMsg{id: id, err: err}
		}
		if ctx.Err() != nil {
			// Cancelled during the rebuild: the session shown stays.
			src.close()
			return stmtFailedMsg{id: id, stmt: stmt, err: context.Cause(ctx), quiet: !r.echo()}
		}
		r.on.Store(src) // the step counter reads it from now on
		result, stmtErr := r.run(ctx, src, maxSteps)
		src.sync()
		if stmtErr == nil && ctx.Err() != nil {
			stmtErr = context.Cause(ctx) // cancelled as it ended: it did not happen
		}
		if stmtErr != nil && (src.steps() == rb.step || ctx.Err() != nil) {
			src.close()
			return stmtFailedMsg{id: id, stmt: stmt, err: stmtErr, quiet: !r.echo()}
		}
		return loadedMsg{id: id, src: src, name: name, notice: notice, stmt: stmt, result: result, stmtErr: stmtErr, from: rb.step, quiet: !r.echo()}
	}
}

// runCmd runs r's statement on src off the event loop (running.run), with
// at most maxSteps allocator steps, under ctx, and says when it is done;
// r.done is closed once it has let go of the session.
func runCmd(ctx context.Context, r *running, src *source, maxSteps int) tea.Cmd {
	return func() tea.Msg {
		defer close(r.done)
		result, err := r.run(ctx, src, maxSteps)
		return stmtDoneMsg{id: r.id, stmt: r.stmt, result: result, err: err}
	}
}

// progressCmd asks, after progressEvery, for the step counter of the
// statement r.id to be read again.
func progressCmd(id int) tea.Cmd {
	return tea.Tick(progressEvery, func(time.Time) tea.Msg { return progressMsg{id: id} })
}

// progressEvery is how often the counter of a running statement moves.
const progressEvery = 100 * time.Millisecond

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

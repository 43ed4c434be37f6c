package scripts

import (
	"errors"
	"fmt"
	"strings"

	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// Error is a script error with the position it happened at. Error()
// renders it as "file:line:col: message", the form the CLI prints and an
// editor can jump to. Syntax errors, undefined names, wrong argument types,
// the step limit and errors raised by builtins are all Errors.
type Error struct {
	Pos       string // file:line:col; for a call, the column of its first character
	Msg       string // what went wrong, without the position
	Backtrace string // the Starlark call stack, outermost first; "" for errors found before running

	err error // the cause, for errors.Is and errors.As
}

func (e *Error) Error() string { return e.Pos + ": " + e.Msg }

// Unwrap returns the cause: an allocator sentinel such as
// allocator.ErrDoubleFree, when a builtin failed with one.
func (e *Error) Unwrap() error { return e.err }

// errStopped ends a replay at the step Rebuild asked for. It is never
// returned to callers.
var errStopped = errors.New("replay stopped at the requested step")

// positioned converts an error from parsing, resolving or running Starlark
// into an *Error. sites maps the position of a call's '(' (where Starlark
// places a call) to the call's own start, so positions point at the name
// of the function called.
func (s *Session) positioned(err error) *Error {
	var se syntax.Error
	var rl resolve.ErrorList
	var ee *starlark.EvalError
	switch {
	case errors.As(err, &ee):
		e := &Error{Msg: ee.Msg, Backtrace: s.backtrace(ee), err: errors.Unwrap(ee)}
		if e.err == nil {
			e.err = ee
		}
		for i := len(ee.CallStack) - 1; i >= 0; i-- {
			fr := ee.CallStack[i]
			if fr.Pos.Filename() != "<builtin>" && fr.Pos.IsValid() {
				e.Pos = s.callPos(fr.Pos)
				break
			}
		}
		if e.Pos == "" {
			e.Pos = "<unknown>:0:0"
		}
		return e
	case errors.As(err, &se):
		return &Error{Pos: posString(se.Pos), Msg: se.Msg, err: err}
	case errors.As(err, &rl) && len(rl) > 0:
		msg := rl[0].Msg
		if len(rl) > 1 {
			msg += fmt.Sprintf(" (and %d more)", len(rl)-1)
		}
		return &Error{Pos: posString(rl[0].Pos), Msg: msg, err: err}
	}
	return &Error{Pos: "<unknown>:0:0", Msg: err.Error(), err: err}
}

// backtrace renders the Starlark frames of ee, outermost first, one per
// line, without the builtin that raised the error.
func (s *Session) backtrace(ee *starlark.EvalError) string {
	var b strings.Builder
	for _, fr := range ee.CallStack {
		if fr.Pos.Filename() == "<builtin>" {
			continue
		}
		fmt.Fprintf(&b, "%s: in %s\n", s.callPos(fr.Pos), fr.Name)
	}
	return b.String()
}

func posString(p syntax.Position) string {
	return fmt.Sprintf("%s:%d:%d", p.Filename(), p.Line, p.Col)
}

package ui

// playTickMsg advances the replay by one step. gen is the play generation
// that armed it: a tick whose generation is not the model's current one is
// stale (play was paused, restarted or changed speed) and is dropped.
type playTickMsg struct {
	gen int
}

// liveTickMsg asks for the steps src's running script took since the last
// one; src is compared with the session shown, so a tick for a session no
// longer shown is dropped.
type liveTickMsg struct {
	src *source
}

// loadedMsg carries a session built off the event loop: a scenario that
// was opened, or a session rebuilt to continue from an earlier step. The
// command that built it gave up all references to it, so Update owns it.
type loadedMsg struct {
	id      int     // the load request this answers; older ones are dropped
	src     *source // the new session and its view model
	name    string  // scenario name or script path
	notice  string  // what to tell the user, "" for nothing
	stmt    string  // the statement run after the rebuild, "" for none
	result  string  // with stmt: its value, as the prompt shows it
	from    int     // with stmt: the step the session was rebuilt to
	stmtErr error   // the statement's error, shown in the prompt
	quiet   bool    // with stmt: one a room mirrors (running.echo), which the prompt does not show
}

// stmtFailedMsg says a statement typed at an earlier step failed without
// taking a step: the rebuilt session was dropped, and the one shown, with
// all its steps, stays.
type stmtFailedMsg struct {
	id    int    // the load request this answers
	stmt  string // the statement
	err   error  // why it failed
	quiet bool   // one a room mirrors, which the prompt does not show
}

// errMsg is an error from a command: a scenario that failed to load.
type errMsg struct {
	id  int // the load request this answers
	err error
}

func (e errMsg) Error() string { return e.err.Error() }
func (e errMsg) Unwrap() error { return e.err }

// stmtDoneMsg says the statement run id, typed at the prompt, ended: with
// its value as the prompt shows it, or its error. The session holds its
// steps (or, if it was cancelled, is back where it was).
type stmtDoneMsg struct {
	id     int
	stmt   string
	result string
	err    error
}

// progressMsg asks for the step counter of statement run id to be read.
type progressMsg struct {
	id int
}

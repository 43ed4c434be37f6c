package scripts

import (
	"fmt"

	"go.starlark.net/starlark"
)

// groups lists every group of predeclared names, in the order help shows
// them. A new group of builtins lives in its own file (builtins_slub.go
// with a slubGroup function, say) and adds one line here.
func groups() []Group {
	return []Group{
		coreGroup(),
		gfpGroup(),
		pageGroup(),
		memoryGroup(),
		vmallocGroup(),
		slubGroup(),
		kvmallocGroup(),
		kvecGroup(),
		faultGroup(),
		quizGroup(),
	}
}

// Group is a set of predeclared names that belong together: the page
// allocator's builtins, SLUB's, and so on.
type Group struct {
	Name       string              // "core", "pages", "slub", ...
	Builtins   []Builtin           // functions
	Constants  starlark.StringDict // values: GFP_KERNEL, MAX_PAGE_ORDER, ...
	ConfigKeys []ConfigKey         // keyword arguments config() accepts
}

// Builtin is a function every script can call.
//
// A Step builtin is one allocator step: it must call c.Unpack (or c.Begin
// after unpacking its arguments some other way) before it touches the
// machine. That begins the step (Machine.BeginStep with the call's
// file:line:col and source text) and enforces the step limit. Every event
// the builtin causes then belongs to that step. A builtin that is not a
// Step must not change the machine.
type Builtin struct {
	Name string                                // the name scripts call
	Doc  string                                // signature and one sentence: "alloc_pages(order, flags=GFP_KERNEL): ..."
	Step bool                                  // each call is an allocator step
	Fn   func(c *Call) (starlark.Value, error) // the implementation
}

// ConfigKey is one keyword argument of config().
type ConfigKey struct {
	Name string                                    // "ram", "page_size", ...
	Doc  string                                    // what it sets and what it accepts
	Set  func(s *Settings, v starlark.Value) error // validates v and stores it in s
}

// buildPredeclared assembles the groups into the session's predeclared
// names. A name defined twice is an error, so groups cannot shadow each
// other by accident.
func (s *Session) buildPredeclared() error {
	// Starlark's own builtins, guarded (guard.go), and the operations the
	// guard pass routes operators through (rewrite.go).
	s.predeclared = s.universe()
	for name, op := range s.guardOps() {
		s.predeclared[name] = op
	}
	s.configKeys = map[string]ConfigKey{}
	for _, g := range groups() {
		for _, b := range g.Builtins {
			if _, dup := s.predeclared[b.Name]; dup {
				return fmt.Errorf("scripts: builtin %q of group %s is defined twice", b.Name, g.Name)
			}
			s.predeclared[b.Name] = s.wrap(b)
			s.builtins = append(s.builtins, b)
		}
		for name, v := range g.Constants {
			if _, dup := s.predeclared[name]; dup {
				return fmt.Errorf("scripts: constant %q of group %s is defined twice", name, g.Name)
			}
			s.predeclared[name] = v
		}
		for _, k := range g.ConfigKeys {
			if _, dup := s.configKeys[k.Name]; dup {
				return fmt.Errorf("scripts: config key %q of group %s is defined twice", k.Name, g.Name)
			}
			s.configKeys[k.Name] = k
		}
	}
	return nil
}

// wrap makes b callable from Starlark: it builds the Call, finishes the
// step, and turns a panic (a broken invariant, never user input) into an
// internal error that ends the input without ending the session (see
// Session.abandon).
func (s *Session) wrap(b Builtin) *starlark.Builtin {
	return starlark.NewBuiltin(b.Name, func(th *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (v starlark.Value, err error) {
		c := &Call{Session: s, Thread: th, Name: b.Name, Args: args, Kwargs: kwargs, isStep: b.Step}
		if b.Step && s.answering {
			return nil, fmt.Errorf("%s: an ask()'s answer function may look at the machine, not take a step", b.Name)
		}
		m, before, at := s.m, s.log.Len(), th.ExecutionSteps()
		keep := s.NumSteps()
		defer func() {
			if r := recover(); r != nil {
				v, err = nil, s.panicked(b.Name, r, keep, at)
			}
			if c.step > 0 {
				if err == nil && !s.answering {
					err = s.answerQuestion(c, v)
				}
				s.endStep(c, v, err)
			}
		}()
		v, err = b.Fn(c)
		switch {
		case s.m != m:
			// config() booted a new machine; its log holds only the boot.
		case b.Step && c.step == 0 && err == nil:
			if s.log.Len() != before {
				return nil, s.panicked(b.Name, "it changed the machine before beginning its step", keep, at)
			}
			err = c.Begin()
		case !b.Step && s.log.Len() != before:
			return nil, s.panicked(b.Name, "it is not a step but changed the machine", keep, at)
		}
		return v, err
	})
}

package scripts

import (
	"fmt"
	"strings"

	"github.com/allocviz/allocviz/allocator"
	"go.starlark.net/starlark"
)

// Call is one call of a builtin, handed to its Fn.
type Call struct {
	Session *Session
	Thread  *starlark.Thread
	Name    string           // the builtin's name
	Args    starlark.Tuple   // positional arguments
	Kwargs  []starlark.Tuple // keyword arguments, (name, value) pairs

	isStep    bool   // the builtin is a Step builtin
	step      int    // the step begun, 0 before Begin
	op        string // SetOp
	result    string // SetResult
	resultSet bool
}

// Machine returns the session's machine.
func (c *Call) Machine() *allocator.Machine { return c.Session.m }

// Unpack unpacks the arguments as starlark.UnpackArgs does, checks the
// ones that can only be checked against the session (argChecker: a cache
// of this machine, a cpu it has) and then, for a Step builtin, begins the
// step. A call whose arguments do not unpack or check is an error and no
// step: give pointer, cache and other typed parameters an Unpacker type
// (args.go) rather than checking them after Unpack.
func (c *Call) Unpack(pairs ...any) error {
	if err := c.UnpackArgs(pairs...); err != nil {
		return err
	}
	return c.Begin()
}

// UnpackArgs is Unpack without beginning the step, for a builtin that
// has more to check before it does: it then calls Begin itself.
func (c *Call) UnpackArgs(pairs ...any) error {
	if err := starlark.UnpackArgs(c.Name, c.Args, c.Kwargs, pairs...); err != nil {
		return err
	}
	for i := 1; i < len(pairs); i += 2 {
		if ck, ok := pairs[i].(argChecker); ok {
			if err := ck.check(c); err != nil {
				return err
			}
		}
	}
	return nil
}

// Begin begins the step of a Step builtin (it does nothing for others, or
// when the step has begun). It fails when the step limit is reached.
func (c *Call) Begin() error {
	if !c.isStep || c.step > 0 {
		return nil
	}
	return c.Session.beginStep(c)
}

// Step returns the call's step number, 0 if it has none.
func (c *Call) Step() int { return c.step }

// SetOp sets the operation shown for the step, with argument values:
// "alloc_pages(3, GFP_KERNEL)". By default it is the builtin's name and
// the arguments' values.
func (c *Call) SetOp(op string) { c.op = op }

// SetResult sets the result shown for the step, such as "NULL" for a
// failed allocation. By default it is the returned value as Starlark
// prints it, and nothing for None.
func (c *Call) SetResult(r string) { c.result, c.resultSet = r, true }

// Errorf returns an error whose message begins with the builtin's name, as
// Starlark's own builtins do: "free_pages: ...". %w wraps as fmt.Errorf
// does.
func (c *Call) Errorf(format string, args ...any) error {
	return fmt.Errorf(c.Name+": "+format, args...)
}

// defaultOp renders the call with its argument values.
func (c *Call) defaultOp() string {
	var parts []string
	for _, a := range c.Args {
		parts = append(parts, shortText(a, 40))
	}
	for _, kw := range c.Kwargs {
		parts = append(parts, fmt.Sprintf("%s=%s", kw[0].(starlark.String).GoString(), shortText(kw[1], 40)))
	}
	return c.Name + "(" + strings.Join(parts, ", ") + ")"
}

package scripts

import (
	"errors"

	"github.com/allocviz/allocviz/allocator"
	"go.starlark.net/starlark"
)

// reported reports whether err is one of the allocator's sentinels: a
// failure or a misuse the allocator has recorded as events, which a
// builtin turns into None or False.
func reported(err error) bool {
	for _, e := range []error{allocator.ErrNoMemory, allocator.ErrBadSize, allocator.ErrInvalidFree,
		allocator.ErrDoubleFree, allocator.ErrBadAddress} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// null is the result of an allocating builtin that hands out nothing:
// None, shown as NULL in the step.
func null(c *Call) (starlark.Value, error) {
	c.SetResult("NULL")
	return starlark.None, nil
}

// allocFailed is the result of an allocating builtin whose allocator call
// failed with err: NULL when the allocator reported the failure (it has
// recorded why), a script error for anything else.
func allocFailed(c *Call, err error) (starlark.Value, error) {
	if reported(err) {
		return null(c)
	}
	return nil, c.Errorf("%w", err)
}

// freeResult is the result of a builtin that frees (or destroys) after
// its allocator call returned err: False when the allocator reported the
// call and refused it, a script error for anything else, and otherwise
// True with p (when not nil) marked freed in this step.
func freeResult(c *Call, p *Pointer, err error) (starlark.Value, error) {
	switch {
	case reported(err):
		return starlark.False, nil
	case err != nil:
		return nil, c.Errorf("%w", err)
	}
	if p != nil {
		p.MarkFreed(c.Step())
	}
	return starlark.True, nil
}

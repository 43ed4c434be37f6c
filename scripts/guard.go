package scripts

import (
	"fmt"
	"math/bits"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// Guarded builtins. Starlark's universal builtins (list, sorted, max,
// str, ...) run their loops in Go, where neither the step budget nor a
// cancelled context can reach them, and make their results in one
// allocation whose size a script chooses: list(range(1 << 40)) asks for
// 16 TiB at once. A session predeclares its own version of each under
// the same name, which shadows the universal one: it checks the size of
// what the builtin would make against the memory budget, charges one
// step per element to the input's budget, and then calls the original.
// Every universal builtin also turns a panic into an error. The lazy
// sequences (range, string.elems and .codepoints) are wrapped so that
// whatever iterates them, in Starlark or in Go (list.extend, +=, set
// union), pays a step per element and stops when the input is
// interrupted.

// Bytes of Go memory per element of what the builtins make: a Value in a
// slice, a tuple, a hash table entry.
const (
	costValue = 16 // an interface in a []Value
	costTuple = 24 // a Tuple's slice header
	costEntry = 64 // an entry of a dict's or set's hash table
	costPiece = 32 // a substring in a list: its Value and its header
	costRune  = 4  // bytes of a codepoint in a string, at most
	costBoxed = 16 // an int or string boxed into a Value
	costPair  = costValue + costTuple + 2*costValue + costBoxed
)

// universeGuard checks a call of a universal builtin before the original
// runs and may replace its arguments (a lazy iterable of unknown length
// is materialized under the budget first).
type universeGuard func(s *Session, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Tuple, error)

// universeGuards are the universal builtins with checks of their own.
func universeGuards() map[string]universeGuard {
	seq := func(per uint64, sorts bool) universeGuard {
		return func(s *Session, args starlark.Tuple, _ []starlark.Tuple) (starlark.Tuple, error) {
			return s.guardFirstIterable(args, per, sorts)
		}
	}
	loop := func(s *Session, args starlark.Tuple, _ []starlark.Tuple) (starlark.Tuple, error) {
		// max(x), min(x), any(x), all(x): one step per element.
		if len(args) == 1 && !isLazy(args[0]) {
			if n := starlark.Len(args[0]); n > 0 {
				return args, s.charge(uint64(n))
			}
		}
		return args, nil
	}
	printing := func(quoted bool) universeGuard {
		return func(s *Session, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Tuple, error) {
			vs := append([]starlark.Value{}, args...)
			for _, kw := range kwargs {
				vs = append(vs, kw[1])
			}
			_, err := s.checkPrint("", quoted, vs...)
			return args, err
		}
	}
	return map[string]universeGuard{
		"list":      seq(costValue, false),
		"tuple":     seq(costValue, false),
		"sorted":    seq(costValue, true),
		"reversed":  seq(costValue, false),
		"set":       seq(costEntry, false),
		"dict":      seq(costEntry, false),
		"enumerate": seq(costPair, false),
		"bytes": func(s *Session, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Tuple, error) {
			if len(args) == 1 {
				switch args[0].(type) {
				case starlark.String, starlark.Bytes:
					return args, nil
				}
			}
			return s.guardFirstIterable(args, 1, false)
		},
		"zip":   (*Session).guardZip,
		"max":   loop,
		"min":   loop,
		"any":   loop,
		"all":   loop,
		"str":   printing(false),
		"print": printing(false),
		"fail":  printing(false),
		"repr":  printing(true),
		"int": func(s *Session, args starlark.Tuple, _ []starlark.Tuple) (starlark.Tuple, error) {
			// Go parses decimal ints in quadratic time: 2.5 million
			// digits take seconds.
			if len(args) > 0 {
				if str, ok := args[0].(starlark.String); ok && len(str) > maxIntDigits {
					return nil, fmt.Errorf("a string of %d characters is too long to convert (at most %d)", len(str), maxIntDigits)
				}
			}
			return args, nil
		},
	}
}

// maxIntDigits bounds the strings int() converts.
const maxIntDigits = 100_000

// universe returns the session's versions of Starlark's universal
// builtins: guarded where universeGuards says, all of them with panics
// turned into errors, range and getattr replaced.
func (s *Session) universe() starlark.StringDict {
	guards := universeGuards()
	out := starlark.StringDict{}
	for name, v := range starlark.Universe {
		orig, ok := v.(*starlark.Builtin)
		if !ok {
			continue
		}
		guard := guards[name]
		out[name] = starlark.NewBuiltin(name, func(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (v starlark.Value, err error) {
			at := th.ExecutionSteps()
			defer func() {
				if r := recover(); r != nil {
					v, err = nil, s.panicked(name, r, s.NumSteps(), at)
				}
			}()
			if guard != nil {
				if args, err = guard(s, args, kwargs); err != nil {
					return nil, fmt.Errorf("%s: %w", name, err)
				}
			}
			v, err = starlark.Call(th, orig, args, kwargs)
			if err == nil && name == "range" {
				v = &guardedRange{r: v.(starlark.Indexable), s: s}
			}
			return v, err
		})
	}
	out["getattr"] = starlark.NewBuiltin("getattr", func(th *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var x, dflt starlark.Value
		var name string
		if err := starlark.UnpackPositionalArgs("getattr", args, kwargs, 2, &x, &name, &dflt); err != nil {
			return nil, err
		}
		if m, ok := s.guardedMethod(x, name); ok {
			return m, nil
		}
		return starlark.Call(th, starlark.Universe["getattr"], args, kwargs)
	})
	return out
}

// guardFirstIterable checks the iterable a builtin makes a sequence of
// (args[0]): per bytes per element must fit the memory budget, and each
// element costs a step (n log n for sorted). An iterable of unknown
// length is materialized here, element by element under the same
// limits, and passed on as a tuple.
func (s *Session) guardFirstIterable(args starlark.Tuple, per uint64, sorts bool) (starlark.Tuple, error) {
	if len(args) == 0 {
		return args, nil
	}
	it, ok := args[0].(starlark.Iterable)
	if !ok {
		return args, nil // the original reports the wrong type
	}
	n := starlark.Len(it)
	if n < 0 {
		elems, err := s.materialize(it, per)
		if err != nil {
			return nil, err
		}
		out := append(starlark.Tuple{elems}, args[1:]...)
		n = len(elems)
		args = out
	} else if err := s.checkAlloc("", uint64(n), per, "elements"); err != nil {
		return nil, err
	}
	cost := uint64(n)
	if sorts && n > 1 {
		cost *= uint64(bits.Len(uint(n)))
	}
	if isLazy(args[0]) {
		cost = 0 // its iterator pays per element
	}
	return args, s.charge(cost)
}

// materialize reads an iterable of unknown length into a tuple, within
// the memory budget at per bytes an element, a step each.
func (s *Session) materialize(it starlark.Iterable, per uint64) (starlark.Tuple, error) {
	iter := it.Iterate()
	defer iter.Done()
	var out starlark.Tuple
	var x starlark.Value
	for iter.Next(&x) {
		if err := s.charge(1); err != nil {
			return nil, err
		}
		out = append(out, x)
		if err := s.checkAlloc("", uint64(len(out)), per, "elements"); err != nil {
			return nil, err
		}
	}
	if err := s.stopErr(); err != nil {
		return nil, err // a lazy iterator stopped early
	}
	return out, nil
}

// guardZip checks zip(*iterables): as long as the shortest.
func (s *Session) guardZip(args starlark.Tuple, _ []starlark.Tuple) (starlark.Tuple, error) {
	shortest := -1
	for i, a := range args {
		it, ok := a.(starlark.Iterable)
		if !ok {
			return args, nil
		}
		n := starlark.Len(it)
		if n < 0 {
			elems, err := s.materialize(it, costValue)
			if err != nil {
				return nil, err
			}
			args = append(append(append(starlark.Tuple{}, args[:i]...), elems), args[i+1:]...)
			n = len(elems)
		}
		if shortest < 0 || n < shortest {
			shortest = n
		}
	}
	if shortest <= 0 {
		return args, nil
	}
	per := costValue + costTuple + costValue*uint64(len(args))
	if err := s.checkAlloc("", uint64(shortest), per, "elements"); err != nil {
		return nil, err
	}
	return args, s.charge(uint64(shortest))
}

// isLazy reports whether v makes its elements as it is iterated, and
// charges for them then: a range, a string's elems or codepoints, a kvec.
func isLazy(v starlark.Value) bool {
	switch v.(type) {
	case *guardedRange, *guardedIndexable, *guardedIterable, *VecValue:
		return true
	}
	return false
}

// guardedIterator yields the elements of a lazy sequence, a step each;
// it stops when the input's budget is spent or the input is interrupted
// (the thread is then cancelled, so the input ends at its next
// instruction and what a Go loop made of the elements so far is never
// seen).
type guardedIterator struct {
	it starlark.Iterator
	s  *Session
}

// Next yields the next element while the input may go on.
func (g *guardedIterator) Next(p *starlark.Value) bool {
	if g.s.charge(1) != nil {
		return false
	}
	return g.it.Next(p)
}

// Done releases the iterator.
func (g *guardedIterator) Done() { g.it.Done() }

// guardedRange is range(): Starlark's range, iterated under the budget.
type guardedRange struct {
	r starlark.Indexable // Starlark's range value
	s *Session
}

var (
	_ starlark.Indexable  = (*guardedRange)(nil)
	_ starlark.Sequence   = (*guardedRange)(nil)
	_ starlark.Sliceable  = (*guardedRange)(nil)
	_ starlark.Container  = (*guardedRange)(nil)
	_ starlark.Comparable = (*guardedRange)(nil)
)

func (g *guardedRange) String() string        { return g.r.String() }
func (g *guardedRange) Type() string          { return g.r.Type() }
func (g *guardedRange) Freeze()               {}
func (g *guardedRange) Truth() starlark.Bool  { return g.r.Truth() }
func (g *guardedRange) Hash() (uint32, error) { return g.r.Hash() }
func (g *guardedRange) Len() int              { return g.r.Len() }
func (g *guardedRange) Index(i int) starlark.Value {
	return g.r.Index(i)
}

// Iterate yields the range's ints, a step each.
func (g *guardedRange) Iterate() starlark.Iterator {
	return &guardedIterator{it: g.r.(starlark.Iterable).Iterate(), s: g.s}
}

// Slice slices the range; the result is guarded too.
func (g *guardedRange) Slice(start, end, step int) starlark.Value {
	return &guardedRange{r: g.r.(starlark.Sliceable).Slice(start, end, step).(starlark.Indexable), s: g.s}
}

// Has reports membership as the range does, without iterating.
func (g *guardedRange) Has(y starlark.Value) (bool, error) { return g.r.(starlark.Container).Has(y) }

// CompareSameType compares two ranges as Starlark does.
func (g *guardedRange) CompareSameType(op syntax.Token, y starlark.Value, depth int) (bool, error) {
	return g.r.(starlark.Comparable).CompareSameType(op, y.(*guardedRange).r, depth)
}

// guardedIndexable is a string's or bytes' elems(): indexable, iterated
// under the budget.
type guardedIndexable struct {
	x starlark.Indexable
	s *Session
}

func (g *guardedIndexable) String() string             { return g.x.String() }
func (g *guardedIndexable) Type() string               { return g.x.Type() }
func (g *guardedIndexable) Freeze()                    {}
func (g *guardedIndexable) Truth() starlark.Bool       { return g.x.Truth() }
func (g *guardedIndexable) Hash() (uint32, error)      { return g.x.Hash() }
func (g *guardedIndexable) Len() int                   { return g.x.Len() }
func (g *guardedIndexable) Index(i int) starlark.Value { return g.x.Index(i) }

// Iterate yields the elements, a step each.
func (g *guardedIndexable) Iterate() starlark.Iterator {
	return &guardedIterator{it: g.x.(starlark.Iterable).Iterate(), s: g.s}
}

// guardedIterable is a string's codepoints(): iterated under the budget.
type guardedIterable struct {
	x starlark.Iterable
	s *Session
}

func (g *guardedIterable) String() string        { return g.x.String() }
func (g *guardedIterable) Type() string          { return g.x.Type() }
func (g *guardedIterable) Freeze()               {}
func (g *guardedIterable) Truth() starlark.Bool  { return g.x.Truth() }
func (g *guardedIterable) Hash() (uint32, error) { return g.x.Hash() }

// Iterate yields the elements, a step each.
func (g *guardedIterable) Iterate() starlark.Iterator {
	return &guardedIterator{it: g.x.Iterate(), s: g.s}
}

// guardLazy wraps a lazy iterable a string method returned.
func (s *Session) guardLazy(v starlark.Value) starlark.Value {
	switch v := v.(type) {
	case starlark.Indexable:
		return &guardedIndexable{x: v, s: s}
	case starlark.Iterable:
		return &guardedIterable{x: v, s: s}
	}
	return v
}

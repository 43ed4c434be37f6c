package scripts

import (
	"errors"
	"fmt"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

// Printing values. Starlark prints a value (str, repr, print, %, format,
// a prompt's result) in one Go call that nothing can interrupt, and its
// printer is quadratic in the nesting depth: str() of a list nested a
// million deep never ends. reprWalker measures what printing a value
// would produce before it is printed, within limits.

// errNested and errTooLong are what reprWalker finds.
var (
	errNested  = fmt.Errorf("the value is nested more than %d levels deep, too deep to print", maxNesting)
	errTooLong = errors.New("the text would be too long")
)

// reprWalker walks a value as Starlark's printer would and adds up the
// length of the text, failing at maxNesting levels or past maxBytes.
// tick, when set, is called every tickEvery values visited, so a walk
// over a huge value counts against the input's budget and stops when the
// input is interrupted.
type reprWalker struct {
	maxBytes uint64
	tick     func(n uint64) error
	bytes    uint64           // length of the text so far
	visited  uint64           // values visited
	path     []starlark.Value // the lists and dicts being printed, for Starlark's cycle check
}

const tickEvery = 1024

// measure returns the length of repr(v) (str(v) when quoted is false and
// v is a string), or why it cannot be printed.
func (w *reprWalker) measure(v starlark.Value, quoted bool) (uint64, error) {
	if s, ok := v.(starlark.String); ok && !quoted {
		return uint64(len(s)), nil
	}
	err := w.walk(v, 0)
	if err == nil && w.tick != nil {
		err = w.tick(w.visited % tickEvery)
	}
	return w.bytes, err
}

func (w *reprWalker) add(n uint64) error {
	w.bytes = satAdd(w.bytes, n)
	if w.bytes > w.maxBytes {
		return errTooLong
	}
	return nil
}

func (w *reprWalker) walk(v starlark.Value, depth int) error {
	if depth > maxNesting {
		return errNested
	}
	w.visited++
	if w.tick != nil && w.visited%tickEvery == 0 {
		if err := w.tick(tickEvery); err != nil {
			return err
		}
	}
	switch v := v.(type) {
	case starlark.String:
		// Quoting escapes a byte as \xhh at worst.
		return w.add(4*uint64(len(v)) + 2)
	case starlark.Bytes:
		return w.add(4*uint64(len(v)) + 3)
	case starlark.Int:
		if _, ok := v.Int64(); ok {
			return w.add(20)
		}
		n := v.BigInt().BitLen()
		if n > maxIntBits {
			return fmt.Errorf("an int of %d bits is too large to print (at most %d)", n, maxIntBits)
		}
		// log10(2) < 0.302, plus the sign.
		return w.add(uint64(n)*302/1000 + 2)
	case *starlark.List:
		if w.onPath(v) {
			return w.add(5)
		}
		w.path = append(w.path, v)
		defer func() { w.path = w.path[:len(w.path)-1] }()
		if err := w.add(2 + 2*uint64(v.Len())); err != nil {
			return err
		}
		for i := range v.Len() {
			if err := w.walk(v.Index(i), depth+1); err != nil {
				return err
			}
		}
		return nil
	case starlark.Tuple:
		if err := w.add(3 + 2*uint64(len(v))); err != nil {
			return err
		}
		for _, e := range v {
			if err := w.walk(e, depth+1); err != nil {
				return err
			}
		}
		return nil
	case *starlark.Dict:
		if w.onPath(v) {
			return w.add(5)
		}
		w.path = append(w.path, v)
		defer func() { w.path = w.path[:len(w.path)-1] }()
		if err := w.add(2 + 4*uint64(v.Len())); err != nil {
			return err
		}
		for _, kv := range v.Items() {
			if err := w.walk(kv[0], depth+1); err != nil {
				return err
			}
			if err := w.walk(kv[1], depth+1); err != nil {
				return err
			}
		}
		return nil
	case *starlark.Set:
		if err := w.add(7 + 2*uint64(v.Len())); err != nil {
			return err
		}
		iter := v.Iterate()
		defer iter.Done()
		var e starlark.Value
		for iter.Next(&e) {
			if err := w.walk(e, depth+1); err != nil {
				return err
			}
		}
		return nil
	case *starlarkstruct.Struct:
		for _, name := range v.AttrNames() {
			f, err := v.Attr(name)
			if err != nil || f == nil {
				continue
			}
			if err := w.add(uint64(len(name)) + 5); err != nil {
				return err
			}
			if err := w.walk(f, depth+1); err != nil {
				return err
			}
		}
		return w.add(uint64(len(v.Constructor().String())) + 2)
	}
	// Everything else prints in bounded time and space: None, bools,
	// floats, functions, and allocviz's own values.
	return w.add(uint64(len(v.String())))
}

func (w *reprWalker) onPath(v starlark.Value) bool {
	for _, p := range w.path {
		if p == v {
			return true
		}
	}
	return false
}

// checkPrint fails when a builtin or operator that prints vs (str, repr,
// print, fail, %, format) could not: a value nested too deep, an int too
// large, or text past the memory budget. quoted says whether strings are
// printed quoted (repr) or as they are (str, print). It returns the
// largest length one of them would print, charging the values visited.
func (s *Session) checkPrint(what string, quoted bool, vs ...starlark.Value) (uint64, error) {
	var widest, total uint64
	for _, v := range vs {
		w := reprWalker{maxBytes: uint64(s.memBudget), tick: s.charge}
		n, err := w.measure(v, quoted)
		switch {
		case errors.Is(err, errTooLong):
			return 0, s.checkSize(what, w.bytes)
		case err != nil:
			return 0, fmt.Errorf("%s%w", prefix(what), err)
		}
		widest = max(widest, n)
		total = satAdd(total, n)
	}
	return widest, s.checkSize(what, total)
}

// Display returns v as a prompt shows a result: the text repr would give
// (str for a string), cut to at most limit bytes with "..." marking the
// cut. A value whose text could not be made quickly (nested more than 100
// levels deep, an int of millions of digits, more than a few megabytes of
// text) is described instead: "<list nested more than 100 levels deep>".
// It never runs long, and may be called from any goroutine that owns v.
func Display(v starlark.Value, limit int) string {
	switch v := v.(type) {
	case starlark.String:
		// Only the part shown is quoted.
		if len(v) > limit {
			return truncate(starlark.String(v[:limit]).String(), limit)
		}
	case starlark.Bytes:
		if len(v) > limit {
			return truncate(starlark.Bytes(v[:limit]).String(), limit)
		}
	case *starlark.List, starlark.Tuple, *starlark.Dict, *starlark.Set, *starlarkstruct.Struct, starlark.Int:
	default:
		// Prints in bounded time and space: None, bools, floats,
		// functions, allocviz's own values.
		return truncate(v.String(), limit)
	}
	const most = 4 << 20 // bytes of text worth making to show a part of it
	w := reprWalker{maxBytes: most}
	if _, err := w.measure(v, true); err != nil {
		switch {
		case errors.Is(err, errTooLong):
			if s, ok := displayPrefix(v, limit); ok {
				return s
			}
			return fmt.Sprintf("<%s: %s>", kindOf(v), "too long to show")
		case errors.Is(err, errNested):
			return fmt.Sprintf("<%s nested more than %d levels deep>", v.Type(), maxNesting)
		}
		return fmt.Sprintf("<%s: %v>", v.Type(), err)
	}
	return truncate(v.String(), limit)
}

// displayPrefix shows the first elements of a list or tuple too long to
// print whole, each as Display shows it, cut to limit bytes.
func displayPrefix(v starlark.Value, limit int) (string, bool) {
	var b strings.Builder
	switch v := v.(type) {
	case *starlark.List:
		b.WriteByte('[')
		for i := 0; i < v.Len() && b.Len() <= limit; i++ {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(Display(v.Index(i), limit))
		}
	case starlark.Tuple:
		b.WriteByte('(')
		for i := 0; i < len(v) && b.Len() <= limit; i++ {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(Display(v[i], limit))
		}
	default:
		return "", false
	}
	return truncate(b.String()+strings.Repeat(" ", limit), limit), true
}

// kindOf names a value's type and, for a container, its length.
func kindOf(v starlark.Value) string {
	if n := starlark.Len(v); n >= 0 {
		return fmt.Sprintf("%s of %s", v.Type(), plural(n, "element"))
	}
	return v.Type()
}

// plural says "1 element", "3 elements".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// shortText is v as a step's operation or an error message shows it:
// Display cut to n bytes, with newlines flattened.
func shortText(v starlark.Value, n int) string {
	return strings.ReplaceAll(Display(v, n), "\n", " ")
}

package scripts

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"unicode"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// The guard pass. A few operations build one value whose size the script
// chooses in a single Go call: [0] * (1 << 29) is 8 GiB at once, ", ".join
// of a list a separator of a gigabyte, "%s" * 1000 % a huge tuple, and
// s.replace, s.split and str.format are all products of their inputs.
// Nothing interrupts a Go call, so each must be checked before it
// allocates. Operators and methods of built-in types cannot be shadowed
// the way builtins are, so guard rewrites the syntax tree before it runs:
//
//	x + y, x * y, x % y      ·+(x, y), ·*(x, y), ·%(x, y)
//	x += y, x *= y, x %= y   x = ·+=(x, y), x = ·*(x, y), x = ·%(x, y)
//	a[k] += y (*=, %=)       ·[]=(a, k, "+", y)
//	x.join, x.split, ...     ·.(x, "join")
//
// (+ only matters for strings, bytes, lists and tuples: a string doubled
// in a loop passes the budget one doubling at a time, and each doubling
// is a copy nothing interrupts. Sums with a literal, i + 1 or s + "!",
// are left as they are.)
//
// The names cannot be typed in a script (· is not an identifier
// character), so a script cannot shadow them. Each new call sits at the
// position of the operator or the dot, where Starlark reports errors in
// the original, so errors read and point the same. The session's
// versions (guardOps) check the size of the result against the memory
// budget and then apply the original operation.

// Names of the guard operations.
const (
	opConcat   = "·+"
	opAppend   = "·+="
	opRepeat   = "·*"
	opFormat   = "·%"
	opMethod   = "·."
	opIndexAug = "·[]="
)

// augmented maps the augmented assignments guard rewrites to the
// operation their Ident form becomes and the operator ·[]= applies.
var augmented = map[syntax.Token]struct{ name, op string }{
	syntax.PLUS_EQ:    {opAppend, "+"},
	syntax.STAR_EQ:    {opRepeat, "*"},
	syntax.PERCENT_EQ: {opFormat, "%"},
}

// guardedMethods are the methods of strings, bytes, lists and sets whose
// result a script sizes in one call, or which iterate lazily.
var guardedMethods = map[string]bool{
	"join": true, "replace": true, "format": true, "split": true, "rsplit": true, "splitlines": true,
	"elems": true, "codepoints": true, "elem_ords": true, "codepoint_ords": true, "extend": true,
	"union": true, "update": true,
}

// guard rewrites f in place, before it is resolved.
func guard(f *syntax.File) {
	var r rewriter
	r.stmts(f.Stmts)
}

type rewriter struct{}

func (r rewriter) stmts(ss []syntax.Stmt) {
	for i := range ss {
		ss[i] = r.stmt(ss[i])
	}
}

func (r rewriter) stmt(st syntax.Stmt) syntax.Stmt {
	switch st := st.(type) {
	case *syntax.AssignStmt:
		st.RHS = r.expr(st.RHS)
		if aug, ok := augmented[st.Op]; ok && !intLiteral(st.RHS) {
			switch lhs := st.LHS.(type) {
			case *syntax.Ident:
				// x op= y is x = x op y, except that += extends a list in
				// place, which ·+= does too.
				use := &syntax.Ident{NamePos: lhs.NamePos, Name: lhs.Name}
				return &syntax.AssignStmt{OpPos: st.OpPos, Op: syntax.EQ, LHS: lhs, RHS: call(aug.name, st.OpPos, use, st.RHS)}
			case *syntax.IndexExpr:
				return &syntax.ExprStmt{X: call(opIndexAug, st.OpPos, r.expr(lhs.X), r.expr(lhs.Y), str(aug.op, st.OpPos), st.RHS)}
			}
		}
		st.LHS = r.target(st.LHS)
	case *syntax.DefStmt:
		r.params(st.Params)
		r.stmts(st.Body)
	case *syntax.ExprStmt:
		st.X = r.expr(st.X)
	case *syntax.ForStmt:
		st.Vars = r.target(st.Vars)
		st.X = r.expr(st.X)
		r.stmts(st.Body)
	case *syntax.WhileStmt:
		st.Cond = r.expr(st.Cond)
		r.stmts(st.Body)
	case *syntax.IfStmt:
		st.Cond = r.expr(st.Cond)
		r.stmts(st.True)
		r.stmts(st.False)
	case *syntax.ReturnStmt:
		if st.Result != nil {
			st.Result = r.expr(st.Result)
		}
	}
	return st
}

// params rewrites the default values of a def's or lambda's parameters.
func (r rewriter) params(ps []syntax.Expr) {
	for _, p := range ps {
		if b, ok := p.(*syntax.BinaryExpr); ok && b.Op == syntax.EQ {
			b.Y = r.expr(b.Y)
		}
	}
}

// target rewrites what an assignment target evaluates (a[i], x.f), not
// the target itself.
func (r rewriter) target(e syntax.Expr) syntax.Expr {
	switch e := e.(type) {
	case *syntax.IndexExpr:
		e.X, e.Y = r.expr(e.X), r.expr(e.Y)
	case *syntax.DotExpr:
		e.X = r.expr(e.X)
	case *syntax.TupleExpr:
		for i := range e.List {
			e.List[i] = r.target(e.List[i])
		}
	case *syntax.ListExpr:
		for i := range e.List {
			e.List[i] = r.target(e.List[i])
		}
	case *syntax.ParenExpr:
		e.X = r.target(e.X)
	}
	return e
}

func (r rewriter) exprs(es []syntax.Expr) {
	for i := range es {
		es[i] = r.expr(es[i])
	}
}

func (r rewriter) expr(e syntax.Expr) syntax.Expr {
	switch e := e.(type) {
	case nil:
		return nil
	case *syntax.BinaryExpr:
		e.X, e.Y = r.expr(e.X), r.expr(e.Y)
		switch {
		case e.Op == syntax.PLUS && !literal(e.X) && !literal(e.Y):
			return call(opConcat, e.OpPos, e.X, e.Y)
		case e.Op == syntax.STAR && !(intLiteral(e.X) && intLiteral(e.Y)):
			return call(opRepeat, e.OpPos, e.X, e.Y)
		case e.Op == syntax.PERCENT && !intLiteral(e.X):
			return call(opFormat, e.OpPos, e.X, e.Y)
		}
	case *syntax.CallExpr:
		e.Fn = r.expr(e.Fn)
		for i, a := range e.Args {
			switch a := a.(type) {
			case *syntax.BinaryExpr:
				if a.Op == syntax.EQ { // name=value
					a.Y = r.expr(a.Y)
					continue
				}
			case *syntax.UnaryExpr:
				if a.Op == syntax.STAR || a.Op == syntax.STARSTAR {
					a.X = r.expr(a.X)
					continue
				}
			}
			e.Args[i] = r.expr(a)
		}
	case *syntax.DotExpr:
		e.X = r.expr(e.X)
		if guardedMethods[e.Name.Name] {
			return call(opMethod, e.Dot, e.X, str(e.Name.Name, e.NamePos))
		}
	case *syntax.Comprehension:
		for _, c := range e.Clauses {
			switch c := c.(type) {
			case *syntax.ForClause:
				c.Vars = r.target(c.Vars)
				c.X = r.expr(c.X)
			case *syntax.IfClause:
				c.Cond = r.expr(c.Cond)
			}
		}
		e.Body = r.expr(e.Body)
	case *syntax.CondExpr:
		e.Cond, e.True, e.False = r.expr(e.Cond), r.expr(e.True), r.expr(e.False)
	case *syntax.DictExpr:
		r.exprs(e.List)
	case *syntax.DictEntry:
		e.Key, e.Value = r.expr(e.Key), r.expr(e.Value)
	case *syntax.IndexExpr:
		e.X, e.Y = r.expr(e.X), r.expr(e.Y)
	case *syntax.LambdaExpr:
		r.params(e.Params)
		e.Body = r.expr(e.Body)
	case *syntax.ListExpr:
		r.exprs(e.List)
	case *syntax.TupleExpr:
		r.exprs(e.List)
	case *syntax.ParenExpr:
		e.X = r.expr(e.X)
	case *syntax.SliceExpr:
		e.X, e.Lo, e.Hi, e.Step = r.expr(e.X), r.expr(e.Lo), r.expr(e.Hi), r.expr(e.Step)
	case *syntax.UnaryExpr:
		e.X = r.expr(e.X)
	}
	return e
}

// call makes the call name(args...) at pos.
func call(name string, pos syntax.Position, args ...syntax.Expr) *syntax.CallExpr {
	return &syntax.CallExpr{Fn: &syntax.Ident{NamePos: pos, Name: name}, Lparen: pos, Args: args, Rparen: pos}
}

// str makes the string literal s at pos.
func str(s string, pos syntax.Position) *syntax.Literal {
	return &syntax.Literal{Token: syntax.STRING, TokenPos: pos, Raw: strconv.Quote(s), Value: s}
}

// literal reports whether e is a literal: a sum with one (i + 1,
// s + "!") can only grow by its size, which the watchdog sees to.
func literal(e syntax.Expr) bool {
	_, ok := e.(*syntax.Literal)
	return ok
}

func intLiteral(e syntax.Expr) bool {
	lit, ok := e.(*syntax.Literal)
	return ok && lit.Token == syntax.INT
}

// guardOps returns the session's guard operations, by name.
func (s *Session) guardOps() starlark.StringDict {
	op := func(name string, fn func(th *starlark.Thread, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error)) *starlark.Builtin {
		return starlark.NewBuiltin(name, func(th *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (v starlark.Value, err error) {
			at := th.ExecutionSteps()
			defer func() {
				if r := recover(); r != nil {
					v, err = nil, s.panicked(name, r, s.NumSteps(), at)
				}
			}()
			return fn(th, args, kwargs)
		})
	}
	return starlark.StringDict{
		opConcat: op(opConcat, func(_ *starlark.Thread, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
			if err := s.checkConcat(args[0], args[1]); err != nil {
				return nil, err
			}
			return starlark.Binary(syntax.PLUS, args[0], args[1])
		}),
		opAppend: op(opAppend, func(th *starlark.Thread, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
			return s.appendTo(th, "+=", args[0], args[1])
		}),
		opRepeat: op(opRepeat, func(_ *starlark.Thread, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
			if err := s.checkRepeat(args[0], args[1]); err != nil {
				return nil, err
			}
			return starlark.Binary(syntax.STAR, args[0], args[1])
		}),
		opFormat: op(opFormat, func(_ *starlark.Thread, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
			if err := s.checkInterpolate(args[0], args[1]); err != nil {
				return nil, err
			}
			return starlark.Binary(syntax.PERCENT, args[0], args[1])
		}),
		opMethod: op(opMethod, func(_ *starlark.Thread, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
			x, name := args[0], string(args[1].(starlark.String))
			if m, ok := s.guardedMethod(x, name); ok {
				return m, nil
			}
			return attr(x, name)
		}),
		opIndexAug: op(opIndexAug, func(th *starlark.Thread, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
			return s.indexAug(th, args[0], args[1], string(args[2].(starlark.String)), args[3])
		}),
	}
}

// attr is x.name as Starlark evaluates it.
func attr(x starlark.Value, name string) (starlark.Value, error) {
	if h, ok := x.(starlark.HasAttrs); ok {
		v, err := h.Attr(name)
		if err != nil || v != nil {
			return v, err
		}
	}
	return nil, fmt.Errorf("%s has no .%s field or method", x.Type(), name)
}

// checkConcat checks x + y for strings, bytes, lists and tuples: the
// result's size.
func (s *Session) checkConcat(x, y starlark.Value) error {
	var n, per uint64
	unit := ""
	switch x := x.(type) {
	case starlark.String:
		y, ok := y.(starlark.String)
		if !ok {
			return nil
		}
		n, per = uint64(len(x))+uint64(len(y)), 1
	case starlark.Bytes:
		y, ok := y.(starlark.Bytes)
		if !ok {
			return nil
		}
		n, per = uint64(len(x))+uint64(len(y)), 1
	case *starlark.List, starlark.Tuple:
		ys, ok := y.(starlark.Sequence)
		if !ok {
			return nil
		}
		n, per, unit = uint64(x.(starlark.Sequence).Len())+uint64(ys.Len()), costValue, "elements"
	default:
		return nil
	}
	if per == 1 {
		return s.checkSize("+", n)
	}
	if err := s.checkAlloc("+", n, per, unit); err != nil {
		return err
	}
	return s.charge(n)
}

// appendTo is x += y: a list is extended in place (by an iterable of
// any kind, as Starlark allows), anything else becomes x + y.
func (s *Session) appendTo(th *starlark.Thread, what string, x, y starlark.Value) (starlark.Value, error) {
	l, ok := x.(*starlark.List)
	if !ok {
		if err := s.checkConcat(x, y); err != nil {
			return nil, err
		}
		return starlark.Binary(syntax.PLUS, x, y)
	}
	if _, ok := y.(starlark.Iterable); !ok {
		return starlark.Binary(syntax.PLUS, x, y) // Starlark reports the type
	}
	if n := starlark.Len(y); n >= 0 {
		if err := s.checkAlloc(what, uint64(l.Len())+uint64(n), costValue, "elements"); err != nil {
			return nil, err
		}
		if !isLazy(y) {
			if err := s.charge(uint64(n)); err != nil {
				return nil, err
			}
		}
	}
	extend, err := l.Attr("extend")
	if err != nil {
		return nil, err
	}
	if _, err := starlark.Call(th, extend, starlark.Tuple{y}, nil); err != nil {
		return nil, err
	}
	return l, nil
}

// checkRepeat checks x * y: a sequence repeated, or a product of ints.
func (s *Session) checkRepeat(x, y starlark.Value) error {
	if _, ok := x.(starlark.Int); ok {
		x, y = y, x
	}
	n, ok := y.(starlark.Int)
	if !ok {
		return nil
	}
	if xi, ok := x.(starlark.Int); ok {
		if _, small := xi.Int64(); small {
			if _, small := n.Int64(); small {
				return nil
			}
		}
		if b := xi.BigInt().BitLen() + n.BigInt().BitLen(); b > maxIntBits {
			return fmt.Errorf("int too large: the product would have about %d bits (at most %d)", b, maxIntBits)
		}
		return nil
	}
	count, ok := n.Int64()
	if !ok || count <= 0 {
		return nil // Starlark reports a count too large itself
	}
	var length, per uint64
	switch x := x.(type) {
	case starlark.String:
		length, per = uint64(len(x)), 1
	case starlark.Bytes:
		length, per = uint64(len(x)), 1
	case *starlark.List:
		length, per = uint64(x.Len()), costValue
	case starlark.Tuple:
		length, per = uint64(len(x)), costValue
	default:
		return nil
	}
	hi, total := bits.Mul64(length, uint64(count))
	if hi != 0 {
		return fmt.Errorf("excessive repeat (%d * %d elements)", length, count)
	}
	if per == 1 {
		return s.checkSize("repeat", total)
	}
	if err := s.checkAlloc("repeat", total, per, "elements"); err != nil {
		return err
	}
	return s.charge(total)
}

// checkInterpolate checks format % values: each conversion prints at
// most the widest value.
func (s *Session) checkInterpolate(format, values starlark.Value) error {
	f, ok := format.(starlark.String)
	if !ok {
		return nil
	}
	var vs []starlark.Value
	switch v := values.(type) {
	case starlark.Tuple:
		vs = v
	case *starlark.Dict:
		for _, kv := range v.Items() {
			vs = append(vs, kv[1])
		}
	default:
		vs = []starlark.Value{v}
	}
	widest, err := s.checkPrint("%", true, vs...)
	if err != nil {
		return err
	}
	hi, lo := bits.Mul64(uint64(strings.Count(string(f), "%")), widest)
	if hi != 0 {
		lo = ^uint64(0)
	}
	return s.checkSize("%", satAdd(uint64(len(f)), lo))
}

// indexAug is a[k] op= y with a and k evaluated once.
func (s *Session) indexAug(th *starlark.Thread, a, k starlark.Value, op string, y starlark.Value) (starlark.Value, error) {
	apply := func(x starlark.Value) (starlark.Value, error) {
		switch op {
		case "+":
			return s.appendTo(th, "+=", x, y)
		case "*":
			if err := s.checkRepeat(x, y); err != nil {
				return nil, err
			}
			return starlark.Binary(syntax.STAR, x, y)
		}
		if err := s.checkInterpolate(x, y); err != nil {
			return nil, err
		}
		return starlark.Binary(syntax.PERCENT, x, y)
	}
	switch a := a.(type) {
	case starlark.HasSetKey:
		old, found, err := a.Get(k)
		if err != nil {
			return nil, err
		}
		if !found {
			return nil, fmt.Errorf("key %s not in %s", shortText(k, 40), a.Type())
		}
		v, err := apply(old)
		if err != nil {
			return nil, err
		}
		return starlark.None, a.SetKey(k, v)
	case starlark.HasSetIndex:
		n := a.Len()
		var i int
		if err := starlark.AsInt(k, &i); err != nil {
			return nil, fmt.Errorf("%s index: %v", a.Type(), err)
		}
		if i < 0 {
			i += n
		}
		if i < 0 || i >= n {
			return nil, fmt.Errorf("%s index %s out of range [%d:%d]", a.Type(), k, -n, n-1)
		}
		v, err := apply(a.Index(i))
		if err != nil {
			return nil, err
		}
		return starlark.None, a.SetIndex(i, v)
	}
	return nil, fmt.Errorf("%s value does not support item assignment", a.Type())
}

// guardedMethod returns x.name checked against the session's limits when
// x is a string, bytes, list or set and name is one of guardedMethods.
func (s *Session) guardedMethod(x starlark.Value, name string) (starlark.Value, bool) {
	if !guardedMethods[name] {
		return nil, false
	}
	var recv string
	switch x := x.(type) {
	case starlark.String:
		recv = string(x)
		if name == "extend" {
			return nil, false
		}
	case starlark.Bytes:
		if name != "elems" {
			return nil, false
		}
	case *starlark.List:
		if name != "extend" {
			return nil, false
		}
	case *starlark.Set:
		if name != "union" && name != "update" {
			return nil, false
		}
	default:
		return nil, false
	}
	orig, err := x.(starlark.HasAttrs).Attr(name)
	if err != nil || orig == nil {
		return nil, false
	}
	return starlark.NewBuiltin(name, func(th *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		switch name {
		case "extend":
			if len(args) == 1 && len(kwargs) == 0 {
				return s.appendTo(th, "extend", x, args[0])
			}
		case "union", "update":
			// A set grows by what its argument holds: refuse at once
			// what could never fit, rather than filling the heap up to
			// the budget one element at a time.
			n := uint64(x.(*starlark.Set).Len())
			for _, a := range args {
				if m := starlark.Len(a); m > 0 {
					n = satAdd(n, uint64(m))
				}
			}
			if err := s.checkAlloc(name, n, costEntry, "elements"); err != nil {
				return nil, err
			}
		case "join":
			return s.join(recv, args, kwargs)
		case "replace":
			if err := s.checkReplace(recv, args, kwargs); err != nil {
				return nil, err
			}
		case "format":
			vs := append([]starlark.Value{}, args...)
			for _, kw := range kwargs {
				vs = append(vs, kw[1])
			}
			widest, err := s.checkPrint("format", true, vs...)
			if err != nil {
				return nil, err
			}
			hi, lo := bits.Mul64(uint64(strings.Count(recv, "{")), widest)
			if hi != 0 {
				lo = ^uint64(0)
			}
			if err := s.checkSize("format", satAdd(uint64(len(recv)), lo)); err != nil {
				return nil, err
			}
		case "split", "rsplit", "splitlines":
			n := pieces(recv, name, args)
			if err := s.checkAlloc(name, n, costPiece, "pieces"); err != nil {
				return nil, err
			}
			if err := s.charge(n); err != nil {
				return nil, err
			}
		}
		v, err := starlark.Call(th, orig, args, kwargs)
		if err != nil {
			return nil, err
		}
		switch name {
		case "elems", "codepoints", "elem_ords", "codepoint_ords":
			return s.guardLazy(v), nil
		}
		return v, nil
	}).BindReceiver(x), true
}

// join is sep.join(iterable), a step per element, within the budget.
func (s *Session) join(sep string, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var iterable starlark.Iterable
	if err := starlark.UnpackPositionalArgs("join", args, kwargs, 1, &iterable); err != nil {
		return nil, err
	}
	iter := iterable.Iterate()
	defer iter.Done()
	var parts []string
	var total uint64
	var x starlark.Value
	for iter.Next(&x) {
		if err := s.charge(1); err != nil {
			return nil, err
		}
		str, ok := starlark.AsString(x)
		if !ok {
			return nil, fmt.Errorf("join: in list, want string, got %s", x.Type())
		}
		if len(parts) > 0 {
			total += uint64(len(sep))
		}
		total += uint64(len(str))
		if err := s.checkSize("join", satAdd(total, costValue*uint64(len(parts)))); err != nil {
			return nil, err
		}
		parts = append(parts, str)
	}
	if err := s.stopErr(); err != nil {
		return nil, err
	}
	return starlark.String(strings.Join(parts, sep)), nil
}

// checkReplace checks s.replace(old, new, count): the result's length.
func (s *Session) checkReplace(recv string, args starlark.Tuple, kwargs []starlark.Tuple) error {
	var old, new string
	count := -1
	if err := starlark.UnpackPositionalArgs("replace", args, kwargs, 2, &old, &new, &count); err != nil {
		return nil // the original reports it
	}
	if len(new) <= len(old) {
		return nil
	}
	n := strings.Count(recv, old)
	if count >= 0 && count < n {
		n = count
	}
	hi, grow := bits.Mul64(uint64(n), uint64(len(new)-len(old)))
	if hi != 0 {
		grow = ^uint64(0)
	}
	return s.checkSize("replace", satAdd(uint64(len(recv)), grow))
}

// pieces is how many strings s.split(sep, maxsplit), s.rsplit or
// s.splitlines() makes, at most.
func pieces(s, method string, args starlark.Tuple) uint64 {
	if method == "splitlines" {
		return uint64(strings.Count(s, "\n")+strings.Count(s, "\r")) + 1
	}
	var n uint64
	if len(args) == 0 || args[0] == starlark.None {
		inField := false
		for _, r := range s {
			space := unicode.IsSpace(r)
			if !space && !inField {
				n++
			}
			inField = !space
		}
	} else if sep, ok := starlark.AsString(args[0]); ok && sep != "" {
		n = uint64(strings.Count(s, sep)) + 1
	} else {
		return 1
	}
	if len(args) > 1 {
		var maxsplit int
		if starlark.AsInt(args[1], &maxsplit) == nil && maxsplit >= 0 && uint64(maxsplit)+1 < n {
			n = uint64(maxsplit) + 1
		}
	}
	return n
}

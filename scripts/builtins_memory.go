package scripts

import (
	"errors"
	"fmt"

	"github.com/allocviz/allocviz/allocator"
	"go.starlark.net/starlark"
)

// memoryGroup is access to real memory through pointers: write, fill,
// read. Every access is checked against the pointer's allocation the way
// KASAN checks a kernel access: out of bounds, use after free and NULL are
// reported as events and not performed.
func memoryGroup() Group {
	return Group{
		Name: "memory",
		Builtins: []Builtin{
			{Name: "write", Step: true, Fn: builtinWrite,
				Doc: "write(p, offset, data): copy data (bytes, string or list of ints 0..255) to p+offset; True, or False if reported"},
			{Name: "fill", Step: true, Fn: builtinFill,
				Doc: "fill(p, byte, n=None): set n bytes (default: the whole allocation) at p to byte; True, or False if reported"},
			{Name: "read", Step: true, Fn: builtinRead,
				Doc: "read(p, offset, n): n bytes from p+offset as bytes, or None if reported"},
		},
	}
}

// access checks an access of n bytes at offset off through pv, reporting
// misuse as the kernel's sanitizers would. It returns the address to use,
// or ok false when the access was reported and must not happen. verb is
// "Read" or "Write", the word KASAN uses.
func access(c *Call, pv starlark.Value, off, n int64, verb string) (addr allocator.Addr, ok bool, err error) {
	if n < 0 {
		return 0, false, c.Errorf("size %d is negative", n)
	}
	m := c.Machine()
	if pv == starlark.None {
		m.Misuse(0, fmt.Sprintf("BUG: kernel NULL pointer dereference, address: %016x (%s of %s through None, a failed allocation); not done",
			uint64(off), verb, bytesText(uint64(n))))
		return 0, false, nil
	}
	p, isPtr := pv.(*Pointer)
	if !isPtr {
		return 0, false, c.Errorf("for parameter p: got %s, want pointer", pv.Type())
	}
	at := p.Addr + allocator.Addr(off)
	if !p.Live() {
		m.Misuse(at, fmt.Sprintf("BUG: KASAN: use-after-free in %s: %s of size %d at addr %x: the block at %x was freed in step %d; not done",
			c.Name, verb, n, uint64(at), uint64(p.Addr), p.FreedStep()))
		return 0, false, nil
	}
	switch {
	case off < 0:
		m.Misuse(at, fmt.Sprintf("BUG: KASAN: out-of-bounds in %s: %s of size %d at addr %x starts %s before the %d-byte block at %x; not done",
			c.Name, verb, n, uint64(at), bytesText(uint64(-off)), p.Size, uint64(p.Addr)))
		return 0, false, nil
	case uint64(off) > p.Size || uint64(n) > p.Size-uint64(off):
		m.Misuse(at, fmt.Sprintf("BUG: KASAN: out-of-bounds in %s: %s of size %d at addr %x runs %s past the end of the %d-byte block at %x; not done",
			c.Name, verb, n, uint64(at), bytesText(uint64(off)+uint64(n)-p.Size), p.Size, uint64(p.Addr)))
		return 0, false, nil
	}
	return at, true, nil
}

// memErr turns an error from Machine.ReadAt/WriteAt/Fill into the
// builtin's result: a fault (a guard page) was reported by the machine and
// is a refused access; anything else is a script error.
func memErr(c *Call, err error) error {
	if errors.Is(err, allocator.ErrFault) {
		return nil
	}
	return c.Errorf("%w", err)
}

func builtinWrite(c *Call) (starlark.Value, error) {
	var pv, data starlark.Value
	var off int64
	if err := c.Unpack("p", &pv, "offset", &off, "data", &data); err != nil {
		return nil, err
	}
	buf, err := dataBytes(data)
	if err != nil {
		return nil, c.Errorf("for parameter data: %v", err)
	}
	c.SetOp(fmt.Sprintf("write(%v, %d, %s)", pv, off, bytesText(uint64(len(buf)))))
	at, ok, err := access(c, pv, off, int64(len(buf)), "Write")
	if err != nil || !ok {
		return starlark.False, err
	}
	if err := c.Machine().WriteAt(at, buf); err != nil {
		return starlark.False, memErr(c, err)
	}
	return starlark.True, nil
}

func builtinFill(c *Call) (starlark.Value, error) {
	var pv, nv starlark.Value = nil, starlark.None
	var b int
	if err := c.Unpack("p", &pv, "byte", &b, "n?", &nv); err != nil {
		return nil, err
	}
	if b < 0 || b > 0xff {
		return nil, c.Errorf("byte %d is not in 0..255", b)
	}
	var n int64
	if nv == starlark.None {
		if p, ok := pv.(*Pointer); ok {
			n = int64(p.Size)
		}
	} else if err := starlark.AsInt(nv, &n); err != nil {
		return nil, c.Errorf("for parameter n: %v", err)
	}
	c.SetOp(fmt.Sprintf("fill(%v, %#02x, %d)", pv, b, n))
	at, ok, err := access(c, pv, 0, n, "Write")
	if err != nil || !ok {
		return starlark.False, err
	}
	if err := c.Machine().Fill(at, byte(b), uint64(n)); err != nil {
		return starlark.False, memErr(c, err)
	}
	return starlark.True, nil
}

func builtinRead(c *Call) (starlark.Value, error) {
	var pv starlark.Value
	var off, n int64
	if err := c.Unpack("p", &pv, "offset", &off, "n", &n); err != nil {
		return nil, err
	}
	c.SetOp(fmt.Sprintf("read(%v, %d, %d)", pv, off, n))
	at, ok, err := access(c, pv, off, n, "Read")
	if err != nil || !ok {
		return starlark.None, err
	}
	buf := make([]byte, n)
	if err := c.Machine().ReadAt(at, buf); err != nil {
		return starlark.None, memErr(c, err)
	}
	return starlark.Bytes(buf), nil
}

// dataBytes converts write's data: bytes, a string (its UTF-8 bytes), or
// a list or tuple of ints 0..255.
func dataBytes(v starlark.Value) ([]byte, error) {
	switch v := v.(type) {
	case starlark.Bytes:
		return []byte(v), nil
	case starlark.String:
		return []byte(v), nil
	case starlark.Indexable:
		if _, ok := v.(*starlark.List); !ok {
			if _, ok := v.(starlark.Tuple); !ok {
				break
			}
		}
		out := make([]byte, v.Len())
		for i := range out {
			var b int
			if err := starlark.AsInt(v.Index(i), &b); err != nil || b < 0 || b > 0xff {
				return nil, fmt.Errorf("element %d is %s, want an int in 0..255", i, v.Index(i))
			}
			out[i] = byte(b)
		}
		return out, nil
	}
	return nil, fmt.Errorf("got %s, want bytes, string or list of ints", v.Type())
}

// bytesText is "1 byte" or "n bytes".
func bytesText(n uint64) string {
	if n == 1 {
		return "1 byte"
	}
	return fmt.Sprintf("%d bytes", n)
}

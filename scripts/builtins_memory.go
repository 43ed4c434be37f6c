package scripts

import (
	"errors"
	"fmt"
	"strings"

	"github.com/allocviz/allocviz/allocator"
	"go.starlark.net/starlark"
)

// memoryGroup is access to real memory through pointers: write, fill,
// read. Every access is checked against the pointer's allocation the way
// KASAN checks a kernel access: out of bounds, use after free and NULL are
// reported as events and not performed. An access whose first byte
// outside the allocation has no memory behind it (a vmalloc guard page, a
// vfree'd area) is left to the MMU instead: it is performed and faults for
// real. unchecked=True skips KASAN altogether, as a kernel built without
// it would.
func memoryGroup() Group {
	return Group{
		Name: "memory",
		Builtins: []Builtin{
			{Name: "write", Step: true, Fn: builtinWrite,
				Doc: "write(p, offset, data, unchecked=False): copy data (bytes, string or list of ints 0..255) to p+offset; True, or False if reported"},
			{Name: "fill", Step: true, Fn: builtinFill,
				Doc: "fill(p, byte, n=None, unchecked=False): set n bytes (default: the whole allocation) at p to byte; True, or False if reported"},
			{Name: "read", Step: true, Fn: builtinRead,
				Doc: "read(p, offset, n, unchecked=False): n bytes from p+offset as bytes, or None if reported"},
		},
	}
}

// access checks an access of n bytes at offset off through pv, reporting
// misuse as the kernel's sanitizers would. It returns the address to
// access, or ok false when the access was reported and must not happen.
// verb is "Read" or "Write", the word KASAN uses.
//
// The rule, for a checked access: inside a live allocation it goes ahead.
// Otherwise look at the first byte it touches that the allocation does not
// own (the byte after the end, or the first byte when the offset is
// negative or the allocation was freed). If memory is mapped there (RAM's
// direct map, the pages of a vmap area) KASAN reports the access and it
// is not done; if nothing is mapped there (a guard page, a vfree'd area)
// the access goes ahead and the MMU stops it with a real fault, which the
// machine reports. unchecked skips the check: only NULL is refused.
func access(c *Call, p *Pointer, off, n int64, verb string, unchecked bool) (addr allocator.Addr, ok bool) {
	m := c.Machine()
	if p == nil {
		m.Misuse(0, fmt.Sprintf("BUG: kernel NULL pointer dereference, address: %016x (%s of %s through None, a failed allocation); not done",
			uint64(off), verb, allocator.Count(uint64(n), "byte")))
		return 0, false
	}
	at := p.Addr + allocator.Addr(off)
	inside := off >= 0 && uint64(off) <= p.Size && uint64(n) <= p.Size-uint64(off)
	if unchecked || p.Live() && inside {
		return at, true
	}
	bad := at
	if p.Live() && off >= 0 {
		bad = max(at, p.Addr+allocator.Addr(p.Size))
	}
	if n > 0 && !mapped(m, bad) {
		return at, true
	}
	kind, uaf := "out-of-bounds", "use-after-free"
	switch {
	case m.IsVmallocAddr(p.Addr):
		kind = "vmalloc-out-of-bounds"
	case p.Ksize > 0:
		// KASAN's redzone of a slab object or a large kmalloc.
		kind = "slab-out-of-bounds"
		if p.Cache != "" {
			uaf = "slab-use-after-free"
		}
	}
	switch {
	case !p.Live():
		m.Misuse(at, fmt.Sprintf("BUG: KASAN: %s in %s: %s of size %d at addr %x: the block at %x was freed in step %d; not done",
			uaf, c.Name, verb, n, uint64(at), uint64(p.Addr), p.FreedStep()))
	case off >= 0 && uint64(bad-p.Addr) < p.Ksize:
		// Between the requested size and ksize: what kmalloc rounded up
		// to, which KASAN keeps poisoned (the kmalloc redzone).
		where := fmt.Sprintf("located %d bytes inside of", uint64(at-p.Addr))
		if uint64(at-p.Addr) >= p.Size {
			where = fmt.Sprintf("located %d bytes to the right of", uint64(at-p.Addr)-p.Size)
		}
		m.Misuse(at, fmt.Sprintf("BUG: KASAN: %s in %s: %s of size %d at addr %x: %s allocated %d-byte region [%x, %x); bytes %d..%d of the %s object (ksize %d) are beyond the request, and KASAN keeps them poisoned; not done",
			kind, c.Name, verb, n, uint64(at), where, p.Size, uint64(p.Addr), uint64(p.Addr)+p.Size,
			p.Size, p.Ksize-1, ownerText(p), p.Ksize))
	case off < 0:
		m.Misuse(at, fmt.Sprintf("BUG: KASAN: %s in %s: %s of size %d at addr %x starts %s before the %d-byte block at %x; not done",
			kind, c.Name, verb, n, uint64(at), allocator.Count(uint64(-off), "byte"), p.Size, uint64(p.Addr)))
	default:
		m.Misuse(at, fmt.Sprintf("BUG: KASAN: %s in %s: %s of size %d at addr %x runs %s past the end of the %d-byte block at %x; not done",
			kind, c.Name, verb, n, uint64(at), allocator.Count(uint64(off)+uint64(n)-p.Size, "byte"), p.Size, uint64(p.Addr)))
	}
	return 0, false
}

// ownerText names what handed p out: its cache, or "large kmalloc".
func ownerText(p *Pointer) string {
	if p.Cache != "" {
		return p.Cache
	}
	return p.Owner
}

// mapped reports whether memory is mapped at kernel address a: RAM's
// direct map, or the pages of a live vmap area. Guard pages, vfree'd
// areas, free vmalloc space and anything else are not.
func mapped(m *allocator.Machine, a allocator.Addr) bool {
	if m.IsVmallocAddr(a) {
		info, ok := m.AreaOf(a)
		return ok && a < info.Start+allocator.Addr(info.Usable(m.PageSize()))
	}
	_, ok := m.AddrPFN(a)
	return ok
}

// forEachPiece performs an access of n bytes at at the way the kernel's
// memcpy does, front to back, in pieces that are each either wholly
// mapped or begin at a byte that is not: do(a, done, k) accesses [a, a+k),
// which is bytes [done, done+k) of the access. Touching an unmapped
// vmalloc byte is a real access that faults; the machine reports it and
// the access ends there, its earlier pieces done, as on real hardware. An
// address that is neither RAM's direct map nor modelled vmalloc space has
// nothing behind it on this machine and is reported without an access.
// It returns whether the whole access was done. p is the pointer the
// access goes through: a live vmalloc pointer knows its area is mapped,
// which spares looking the area up.
func forEachPiece(c *Call, p *Pointer, at allocator.Addr, n uint64, verb string, do func(a allocator.Addr, done, k uint64) error) (bool, error) {
	m := c.Machine()
	ps := m.PageSize()
	var known *VmArea
	if p.Live() {
		known = p.Area
	}
	for done := uint64(0); done < n; {
		a := at + allocator.Addr(done)
		k := n - done
		switch pfn, inRAM := m.AddrPFN(a); {
		case known != nil && a >= known.Start && uint64(a-known.Start) < known.Usable:
			k = min(k, known.Usable-uint64(a-known.Start))
		case m.IsVmallocAddr(a):
			if info, ok := m.AreaOf(a); ok && a < info.Start+allocator.Addr(info.Usable(ps)) {
				k = min(k, uint64(info.Start)+info.Usable(ps)-uint64(a))
			} else {
				k = min(k, ps-uint64(a)%ps)
			}
		case inRAM:
			k = min(k, (m.NrPages()-pfn)*ps-uint64(a-m.PFNAddr(pfn)))
		default:
			m.Misuse(a, fmt.Sprintf("BUG: unable to handle page fault for address: %016x: nothing is mapped there on this machine (neither RAM's direct map nor vmalloc space); the %s of %s at %x stopped after %s",
				uint64(a), strings.ToLower(verb), allocator.Count(n, "byte"), uint64(at), allocator.Count(done, "byte")))
			return false, nil
		}
		if err := do(a, done, k); err != nil {
			switch {
			case errors.Is(err, allocator.ErrFault):
				// The machine reported the fault (a guard page hit).
				return false, nil
			case errors.Is(err, allocator.ErrBadAddress):
				m.Misuse(a, fmt.Sprintf("BUG: unable to handle page fault for address: %016x: %v; the %s of %s at %x stopped after %s",
					uint64(a), err, strings.ToLower(verb), allocator.Count(n, "byte"), uint64(at), allocator.Count(done, "byte")))
				return false, nil
			}
			return false, c.Errorf("%w", err)
		}
		done += k
	}
	return true, nil
}

// uncheckedOp closes the operation shown for a step, noting unchecked=True.
func uncheckedOp(op string, unchecked bool) string {
	if unchecked {
		return op + ", unchecked=True)"
	}
	return op + ")"
}

func builtinWrite(c *Call) (starlark.Value, error) {
	var p ptrArg
	var data dataArg
	var off int64
	var unchecked bool
	if err := c.Unpack("p", &p, "offset", &off, "data", &data, "unchecked?", &unchecked); err != nil {
		return nil, err
	}
	buf := data.b
	c.SetOp(uncheckedOp(fmt.Sprintf("write(%v, %d, %s", p.v, off, allocator.Count(uint64(len(buf)), "byte")), unchecked))
	at, ok := access(c, p.p, off, int64(len(buf)), "Write", unchecked)
	if !ok {
		return starlark.False, nil
	}
	m := c.Machine()
	done, err := forEachPiece(c, p.p, at, uint64(len(buf)), "Write", func(a allocator.Addr, from, k uint64) error {
		return m.WriteAt(a, buf[from:from+k])
	})
	return starlark.Bool(done), err
}

func builtinFill(c *Call) (starlark.Value, error) {
	var p ptrArg
	var b byteArg
	n := lengthArg{orNone: true, none: true}
	var unchecked bool
	if err := c.Unpack("p", &p, "byte", &b, "n?", &n, "unchecked?", &unchecked); err != nil {
		return nil, err
	}
	if n.none && p.p != nil {
		n.n = int64(p.p.Size)
	}
	c.SetOp(uncheckedOp(fmt.Sprintf("fill(%v, %#02x, %d", p.v, b.b, n.n), unchecked))
	at, ok := access(c, p.p, 0, n.n, "Write", unchecked)
	if !ok {
		return starlark.False, nil
	}
	m := c.Machine()
	done, err := forEachPiece(c, p.p, at, uint64(n.n), "Write", func(a allocator.Addr, _, k uint64) error {
		return m.Fill(a, b.b, k)
	})
	return starlark.Bool(done), err
}

func builtinRead(c *Call) (starlark.Value, error) {
	var p ptrArg
	var off int64
	var n lengthArg
	var unchecked bool
	if err := c.UnpackArgs("p", &p, "offset", &off, "n", &n, "unchecked?", &unchecked); err != nil {
		return nil, err
	}
	if err := checkReadSize(c, p.p, n.n, unchecked); err != nil {
		return nil, err
	}
	if err := c.Begin(); err != nil {
		return nil, err
	}
	c.SetOp(uncheckedOp(fmt.Sprintf("read(%v, %d, %d", p.v, off, n.n), unchecked))
	at, ok := access(c, p.p, off, n.n, "Read", unchecked)
	if !ok {
		return starlark.None, nil
	}
	m := c.Machine()
	var buf []byte
	done, err := forEachPiece(c, p.p, at, uint64(n.n), "Read", func(a allocator.Addr, _, k uint64) error {
		piece := make([]byte, k)
		if err := m.ReadAt(a, piece); err != nil {
			return err
		}
		if buf == nil {
			buf = piece
		} else {
			buf = append(buf, piece...)
		}
		return nil
	})
	if err != nil || !done {
		return starlark.None, err
	}
	if r, ok := bytesSummary(buf); ok {
		c.SetResult(r)
	}
	return starlark.Bytes(buf), nil
}

// checkReadSize refuses a read whose bytes would not fit the memory
// budget. A checked read makes at most the pointer's size (past it KASAN
// refuses, or a fault ends it); an unchecked one at most RAM's size (past
// the direct map nothing is mapped).
func checkReadSize(c *Call, p *Pointer, n int64, unchecked bool) error {
	if p == nil {
		return nil
	}
	most := uint64(n)
	if unchecked {
		m := c.Machine()
		most = min(most, m.NrPages()*m.PageSize())
	} else {
		most = min(most, p.Size)
	}
	return c.Session.checkAlloc(c.Name, most, 1, "bytes")
}

// bytesSummary shortens how a long read shows as a step's result: "4096
// bytes, all 0xaa", or its first 16 bytes and the length. ok is false for
// reads short enough to show whole.
func bytesSummary(b []byte) (string, bool) {
	const whole, head = 24, 16
	if len(b) <= whole {
		return "", false
	}
	same := true
	for _, x := range b[1:] {
		same = same && x == b[0]
	}
	if same {
		return fmt.Sprintf("%d bytes, all %#02x", len(b), b[0]), true
	}
	return fmt.Sprintf("%s... (%d bytes)", starlark.Bytes(b[:head]), len(b)), true
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
				return nil, fmt.Errorf("element %d is %s, want an int in 0..255", i, shortText(v.Index(i), 40))
			}
			out[i] = byte(b)
		}
		return out, nil
	}
	return nil, fmt.Errorf("got %s, want bytes, string or list of ints", v.Type())
}

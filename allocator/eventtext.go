package allocator

import "strconv"

// textBuf builds the Text of a frequent event (the buddy and slab fast
// paths) by appending to a buffer the machine reuses, so a sentence costs
// one string allocation instead of fmt's boxed arguments and copies. Use
// it as m.text().str("order-").dec(order).str(" block at pfn ").hex(pfn).String(),
// and call nothing that builds another text while one is being built.
// Rarer texts keep fmt.Sprintf.
type textBuf struct {
	b []byte
}

// text returns the machine's text buffer, emptied.
func (m *Machine) text() *textBuf {
	m.txt.b = m.txt.b[:0]
	return &m.txt
}

// str appends s.
func (t *textBuf) str(s string) *textBuf {
	t.b = append(t.b, s...)
	return t
}

// dec appends n in decimal, as %d.
func (t *textBuf) dec(n int) *textBuf {
	t.b = strconv.AppendInt(t.b, int64(n), 10)
	return t
}

// udec appends n in decimal, as %d.
func (t *textBuf) udec(n uint64) *textBuf {
	t.b = strconv.AppendUint(t.b, n, 10)
	return t
}

// hex appends n as %#x does: 0x and lower-case hex digits ("0x0" for 0).
func (t *textBuf) hex(n uint64) *textBuf {
	t.b = strconv.AppendUint(append(t.b, "0x"...), n, 16)
	return t
}

// bytes appends a byte count as FormatBytes prints it: "4 KiB".
func (t *textBuf) bytes(n uint64) *textBuf {
	t.b = appendBytes(t.b, n)
	return t
}

// String returns the text built so far.
func (t *textBuf) String() string { return string(t.b) }

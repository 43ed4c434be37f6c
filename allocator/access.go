package allocator

import (
	"errors"
	"fmt"
)

// Span returns the host memory behind the kernel addresses [addr, addr+n):
// a view of RAM through the direct map, or of the vmalloc window. A view
// of vmalloc space may include guard pages, which fault when touched; use
// ReadAt, WriteAt and Fill to access it safely.
func (m *Machine) Span(addr Addr, n uint64) ([]byte, error) {
	if addr >= VmallocStart && addr < VmallocEnd {
		return m.vmallocSpan(addr, int(n))
	}
	pfn, ok := m.AddrPFN(addr)
	if !ok {
		return nil, fmt.Errorf("%w: %v is neither in the direct map of RAM nor in vmalloc space", ErrBadAddress, addr)
	}
	off := uint64(addr - m.PFNAddr(pfn))
	start := pfn<<m.pageShift + off
	if start+n > uint64(len(m.mem.ram)) {
		return nil, fmt.Errorf("%w: %v + %d runs past the end of RAM", ErrBadAddress, addr, n)
	}
	return m.mem.ram[start : start+n : start+n], nil
}

// ReadAt copies len(p) bytes from kernel address addr into p. A real fault
// (a guard page) is recovered, reported as an event and returned as an
// error matching ErrFault.
func (m *Machine) ReadAt(addr Addr, p []byte) error {
	src, err := m.Span(addr, uint64(len(p)))
	if err != nil {
		return err
	}
	_, err = safeCopy(p, src)
	return m.checkFault(addr, len(p), err)
}

// WriteAt copies p to kernel address addr, with ReadAt's fault handling.
func (m *Machine) WriteAt(addr Addr, p []byte) error {
	dst, err := m.Span(addr, uint64(len(p)))
	if err != nil {
		return err
	}
	_, err = safeCopy(dst, p)
	return m.checkFault(addr, len(p), err)
}

// Fill sets n bytes at addr to b, with ReadAt's fault handling.
func (m *Machine) Fill(addr Addr, b byte, n uint64) error {
	dst, err := m.Span(addr, n)
	if err != nil {
		return err
	}
	return m.checkFault(addr, int(n), safeFill(dst, b))
}

func (m *Machine) checkFault(addr Addr, n int, err error) error {
	var f *faultError
	if errors.As(err, &f) {
		return m.faulted(addr, n, f)
	}
	return err
}

// Package allocatortest holds the contract suite every allocator.Allocator
// must pass: each Guarantees clause of the Rust kernel's Allocator trait
// (rust/kernel/alloc.rs, 6.18), checked against real memory.
package allocatortest

import (
	"bytes"
	"errors"
	"testing"

	"github.com/allocviz/allocviz/allocator"
)

// Factory makes a fresh machine and the allocator under test. The suite
// closes the machine.
type Factory func(t *testing.T) (*allocator.Machine, allocator.Allocator)

// Run checks every clause of the contract against the allocator made by
// newAlloc. After each step the machine's invariants must hold.
func Run(t *testing.T, newAlloc Factory) {
	t.Run("FreshMemoryWritableAndAligned", func(t *testing.T) { freshMemory(t, newAlloc) })
	t.Run("ZeroFlagZeroes", func(t *testing.T) { zeroFlag(t, newAlloc) })
	t.Run("ReallocKeepsMinOfOldAndNew", func(t *testing.T) { reallocKeeps(t, newAlloc) })
	t.Run("SizeZeroFreesAndReturnsDangling", func(t *testing.T) { sizeZero(t, newAlloc) })
	t.Run("ZeroSizeOldLayoutIsNewAllocation", func(t *testing.T) { zeroOldLayout(t, newAlloc) })
	t.Run("FailureLeavesOldIntact", func(t *testing.T) { failureIntact(t, newAlloc) })
	t.Run("FreeReturnsMemory", func(t *testing.T) { freeReturns(t, newAlloc) })
}

func setup(t *testing.T, newAlloc Factory) (*allocator.Machine, allocator.Allocator, *allocator.EventLog) {
	t.Helper()
	m, a := newAlloc(t)
	t.Cleanup(func() { m.Close() })
	log := &allocator.EventLog{}
	m.SetLog(log)
	return m, a, log
}

func check(t *testing.T, m *allocator.Machine) {
	t.Helper()
	if err := m.CheckInvariants(); err != nil {
		t.Fatalf("invariants: %v", err)
	}
}

func pattern(n uint64, seed byte) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i*7) ^ seed
	}
	return p
}

func layout(t *testing.T, size, align uint64) allocator.Layout {
	t.Helper()
	l, err := allocator.NewLayout(size, align)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func freshMemory(t *testing.T, newAlloc Factory) {
	m, a, _ := setup(t, newAlloc)
	page := m.PageSize()
	for _, size := range []uint64{1, 7, 8, 24, 100, 200, 1000, page, page + 1, 3 * page, 16 * page} {
		for _, align := range []uint64{1, 8, 16, 64, 128, page} {
			l := layout(t, size, align)
			b, err := a.Alloc(l, allocator.GFPKernel)
			if err != nil {
				t.Fatalf("%s.Alloc(size %d, align %d): %v", a.Name(), size, align, err)
			}
			if uint64(len(b.Mem)) != size {
				t.Errorf("%s.Alloc(size %d): got %d bytes, want exactly the requested size", a.Name(), size, len(b.Mem))
			}
			if uint64(b.Addr)%align != 0 {
				t.Errorf("%s.Alloc(size %d, align %d) = %v: not aligned", a.Name(), size, align, b.Addr)
			}
			want := pattern(size, byte(size))
			copy(b.Mem, want)
			got := make([]byte, size)
			if err := m.ReadAt(b.Addr, got); err != nil {
				t.Fatalf("read back %v: %v", b.Addr, err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%s.Alloc(size %d): memory read through the kernel address differs from what was written", a.Name(), size)
			}
			a.Free(b.Addr, l)
			check(t, m)
		}
	}
}

func zeroFlag(t *testing.T, newAlloc Factory) {
	m, a, _ := setup(t, newAlloc)
	for _, size := range []uint64{8, 100, m.PageSize() * 2} {
		l := layout(t, size, 8)
		// Dirty memory first, so zeroing is observable.
		b, err := a.Alloc(l, allocator.GFPKernel)
		if err != nil {
			t.Fatal(err)
		}
		for i := range b.Mem {
			b.Mem[i] = 0xa5
		}
		a.Free(b.Addr, l)
		z, err := a.Alloc(l, allocator.GFPKernel|allocator.GFPZero)
		if err != nil {
			t.Fatal(err)
		}
		for i, c := range z.Mem {
			if c != 0 {
				t.Fatalf("%s.Alloc(size %d, __GFP_ZERO): byte %d is %#x", a.Name(), size, i, c)
			}
		}
		a.Free(z.Addr, l)
		check(t, m)
	}
}

func reallocKeeps(t *testing.T, newAlloc Factory) {
	m, a, _ := setup(t, newAlloc)
	page := m.PageSize()
	sizes := []uint64{16, 24, 100, 64, 3000, page + 100, 5 * page, 40, 8, 2 * page, 1}
	l := layout(t, sizes[0], 8)
	b, err := a.Alloc(l, allocator.GFPKernel)
	if err != nil {
		t.Fatal(err)
	}
	copy(b.Mem, pattern(l.Size, 1))
	for i, size := range sizes[1:] {
		nl := layout(t, size, 8)
		nb, err := a.Realloc(b.Addr, nl, l, allocator.GFPKernel)
		if err != nil {
			t.Fatalf("%s.Realloc(%d -> %d): %v", a.Name(), l.Size, size, err)
		}
		if uint64(len(nb.Mem)) != size {
			t.Fatalf("%s.Realloc to %d: got %d bytes", a.Name(), size, len(nb.Mem))
		}
		keep := min(l.Size, size)
		if !bytes.Equal(nb.Mem[:keep], pattern(l.Size, byte(i+1))[:keep]) {
			t.Fatalf("%s.Realloc(%d -> %d): the first %d bytes were not kept", a.Name(), l.Size, size, keep)
		}
		copy(nb.Mem, pattern(size, byte(i+2)))
		b, l = nb, nl
		check(t, m)
	}
	a.Free(b.Addr, l)
	check(t, m)
}

func sizeZero(t *testing.T, newAlloc Factory) {
	m, a, log := setup(t, newAlloc)
	for _, size := range []uint64{32, 3 * m.PageSize()} {
		l := layout(t, size, 16)
		b, err := a.Alloc(l, allocator.GFPKernel)
		if err != nil {
			t.Fatal(err)
		}
		before := log.Len()
		z, err := a.Realloc(b.Addr, layout(t, 0, 16), l, allocator.GFPKernel)
		if err != nil {
			t.Fatalf("%s.Realloc to size 0: %v", a.Name(), err)
		}
		if z.Addr != 16 || len(z.Mem) != 0 {
			t.Errorf("%s.Realloc to size 0 = %v with %d bytes, want the dangling pointer 0x10 and none", a.Name(), z.Addr, len(z.Mem))
		}
		if !freed(log, before) {
			t.Errorf("%s.Realloc to size 0 of %d bytes recorded no free", a.Name(), size)
		}
		check(t, m)
	}
}

// freed reports whether the events of log from from on contain a free of
// some kind.
func freed(log *allocator.EventLog, from int) bool {
	for e := range log.Events(from, log.Len()) {
		if e.Class() == allocator.ClassFree {
			return true
		}
	}
	return false
}

// Events returns every event of log, for tests that index and slice them.
func Events(log *allocator.EventLog) []allocator.Event {
	out := make([]allocator.Event, log.Len())
	for i := range out {
		out[i] = log.At(i)
	}
	return out
}

func zeroOldLayout(t *testing.T, newAlloc Factory) {
	m, a, _ := setup(t, newAlloc)
	zero := layout(t, 0, 8)
	dangling := zero.Dangling()
	l := layout(t, 200, 8)
	b, err := a.Realloc(dangling, l, zero, allocator.GFPKernel)
	if err != nil {
		t.Fatalf("%s.Realloc(dangling, 200, zero-size old layout): %v", a.Name(), err)
	}
	if b.Addr == dangling || uint64(len(b.Mem)) != 200 {
		t.Fatalf("%s.Realloc from a zero-size layout = %v (%d bytes), want a fresh 200-byte allocation", a.Name(), b.Addr, len(b.Mem))
	}
	copy(b.Mem, pattern(200, 3))
	a.Free(b.Addr, l)
	a.Free(dangling, zero) // freeing a zero-size layout is a no-op
	check(t, m)
}

func failureIntact(t *testing.T, newAlloc Factory) {
	m, a, _ := setup(t, newAlloc)
	l := layout(t, 100, 8)
	b, err := a.Alloc(l, allocator.GFPKernel)
	if err != nil {
		t.Fatal(err)
	}
	want := pattern(100, 9)
	copy(b.Mem, want)
	huge := layout(t, uint64(m.Config().RAM)*2, 8)
	nb, err := a.Realloc(b.Addr, huge, l, allocator.GFPKernel|allocator.GFPNoWarn)
	if err == nil {
		t.Fatalf("%s.Realloc to twice RAM succeeded at %v", a.Name(), nb.Addr)
	}
	var ae *allocator.AllocError
	if !errors.As(err, &ae) {
		t.Errorf("%s.Realloc failure is %T, want *allocator.AllocError", a.Name(), err)
	}
	got := make([]byte, 100)
	if err := m.ReadAt(b.Addr, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: the old buffer changed after a failed Realloc", a.Name())
	}
	check(t, m)
	a.Free(b.Addr, l)
	check(t, m)
}

func freeReturns(t *testing.T, newAlloc Factory) {
	m, a, _ := setup(t, newAlloc)
	l := layout(t, 3*m.PageSize(), 8)
	// Warm up so caches and slabs exist, then a steady state must not leak.
	b, err := a.Alloc(l, allocator.GFPKernel)
	if err != nil {
		t.Fatal(err)
	}
	a.Free(b.Addr, l)
	base := m.IdlePages()
	for i := 0; i < 50; i++ {
		b, err := a.Alloc(l, allocator.GFPKernel)
		if err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		a.Free(b.Addr, l)
	}
	if got := m.IdlePages(); got != base {
		t.Errorf("%s: 50 alloc/free rounds changed free pages from %d to %d", a.Name(), base, got)
	}
	check(t, m)
}

// Fields returns every event of log field by field, for tests that
// compare logs.
func Fields(log *allocator.EventLog) []allocator.Fields {
	out := make([]allocator.Fields, log.Len())
	for i := range out {
		out[i] = log.At(i).Fields()
	}
	return out
}

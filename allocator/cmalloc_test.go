package allocator

import (
	"math/bits"
	"testing"
)

// cmalloc is a test-only Allocator modelled on the kernel's Cmalloc
// (rust/kernel/alloc/allocator_test.rs, 6.13): size 0 frees and
// returns the dangling pointer; otherwise every call takes a new block
// (here get_order pages from the buddy allocator, naturally aligned to its
// size), zeroed for __GFP_ZERO, copies min(old, new) bytes and frees the
// old block. It never reallocates in place.
type cmalloc struct{ m *Machine }

func (c cmalloc) Name() string     { return "Cmalloc" }
func (c cmalloc) MinAlign() uint64 { return 8 }

func (c cmalloc) Alloc(l Layout, flags GFP) (Block, error) {
	return c.Realloc(0, l, Layout{Size: 0, Align: 1}, flags)
}

func (c cmalloc) Free(ptr Addr, l Layout) {
	c.Realloc(ptr, Layout{Size: 0, Align: 1}, l, 0)
}

// order is get_order of the layout, its alignment raised to at least a
// pointer's size and its size padded to that alignment.
func (c cmalloc) order(l Layout) int {
	align := max(l.Align, 8)
	n := max((l.Size+align-1)&^(align-1), align)
	pages := (n + c.m.PageSize() - 1) / c.m.PageSize()
	return bits.Len64(pages - 1)
}

func (c cmalloc) Realloc(ptr Addr, l, old Layout, flags GFP) (Block, error) {
	if old.Size == 0 {
		ptr = 0
	}
	info := &ReallocInfo{Func: "cmalloc", Old: ptr, OldSize: old.Size, OldCap: old.Size, NewSize: l.Size, Bucket: "pages"}
	if l.Size == 0 {
		if ptr != 0 {
			c.m.FreePages(ptr, c.order(old))
			info.Decision = DecisionFreed
			c.m.reallocEvent(info, "cmalloc: size 0 frees the block")
		}
		return Block{Addr: l.Dangling()}, nil
	}
	o := c.order(l)
	addr, err := c.m.AllocPages(o, flags)
	if err != nil {
		info.Decision = DecisionFailed
		c.m.reallocEvent(info, "cmalloc: no order-%d block; the old block is untouched", o)
		return Block{}, &AllocError{Err: err}
	}
	mem, err := c.m.Span(addr, l.Size)
	if err != nil {
		panic(err)
	}
	info.New, info.NewCap, info.Decision = addr, c.m.PageSize()<<o, DecisionNew
	if ptr != 0 {
		src, err := c.m.Span(ptr, old.Size)
		if err != nil {
			panic(err)
		}
		info.Copied = uint64(copy(mem, src))
		c.m.FreePages(ptr, c.order(old))
		info.Decision = DecisionMoved
	}
	c.m.reallocEvent(info, "cmalloc always takes a new block, copies and frees the old one")
	return Block{Addr: addr, Mem: mem}, nil
}

// tracked wraps an Allocator and checks, for every call, what the Rust
// Allocator contract asks of its caller: a realloc or free passes the
// layout the allocation was made with. It counts calls, can be told to
// fail, and at cleanup reports allocations never freed.
type tracked struct {
	Allocator
	t      testing.TB
	m      *Machine
	live   map[Addr]Layout // allocations made and not yet freed
	allocs int             // Alloc calls
	reallc int             // Realloc calls (not through Alloc or Free)
	frees  int             // Free calls
	fail   func(l Layout) bool
	failed int // calls refused by fail
}

func newTracked(t testing.TB, m *Machine, a Allocator) *tracked {
	tr := &tracked{Allocator: a, t: t, m: m, live: map[Addr]Layout{}}
	t.Cleanup(func() {
		for addr, l := range tr.live {
			t.Errorf("%s: %v (%d bytes) was never freed", a.Name(), addr, l.Size)
		}
	})
	return tr
}

func (tr *tracked) Alloc(l Layout, flags GFP) (Block, error) {
	tr.allocs++
	return tr.call(0, l, Layout{Size: 0, Align: 1}, flags, func() (Block, error) { return tr.Allocator.Alloc(l, flags) })
}

func (tr *tracked) Realloc(ptr Addr, l, old Layout, flags GFP) (Block, error) {
	tr.reallc++
	return tr.call(ptr, l, old, flags, func() (Block, error) { return tr.Allocator.Realloc(ptr, l, old, flags) })
}

func (tr *tracked) Free(ptr Addr, l Layout) {
	tr.frees++
	tr.call(ptr, Layout{Size: 0, Align: 1}, l, 0, func() (Block, error) {
		tr.Allocator.Free(ptr, l)
		return Block{Addr: 1}, nil
	})
}

func (tr *tracked) call(ptr Addr, l, old Layout, flags GFP, do func() (Block, error)) (Block, error) {
	tr.t.Helper()
	if old.Size > 0 {
		was, ok := tr.live[ptr]
		switch {
		case !ok:
			tr.t.Errorf("%s: realloc/free of %v, which is not a live allocation", tr.Name(), ptr)
		case was != old:
			tr.t.Errorf("%s: realloc/free of %v with layout %+v; it was allocated with %+v", tr.Name(), ptr, old, was)
		}
	}
	if l.Size > 0 && tr.fail != nil && tr.fail(l) {
		tr.failed++
		tr.m.reallocEvent(&ReallocInfo{Func: "injected", Old: ptr, NewSize: l.Size, Decision: DecisionFailed}, "test: failure injected")
		return Block{}, &AllocError{Err: ErrNoMemory}
	}
	b, err := do()
	if err != nil {
		return b, err
	}
	if old.Size > 0 {
		delete(tr.live, ptr)
	}
	if l.Size > 0 {
		if uint64(len(b.Mem)) != l.Size || uint64(b.Addr)%l.Align != 0 {
			tr.t.Errorf("%s: block %v of %d bytes for layout %+v", tr.Name(), b.Addr, len(b.Mem), l)
		}
		tr.live[b.Addr] = l
	}
	return b, nil
}

// allocCase is one allocator the Box and Vec tests run over.
type allocCase struct {
	name string // the kernel alias of a Vec over it: KVec, VVec, KVVec
	new  func(m *Machine) Allocator
}

// vecAllocators are the allocators the Box and Vec tests run over.
func vecAllocators() []allocCase {
	return []allocCase{
		{"Cmalloc", func(m *Machine) Allocator { return cmalloc{m} }},
		{"KVec", func(m *Machine) Allocator { return Kmalloc{M: m} }},
		{"VVec", func(m *Machine) Allocator { return Vmalloc{M: m} }},
		{"KVVec", func(m *Machine) Allocator { return KVmalloc{M: m} }},
	}
}

// eachAllocator runs f on a fresh machine, recording events, for each
// allocator of vecAllocators, wrapped in tracked; afterwards the machine's
// invariants must hold and every allocation must have been freed.
func eachAllocator(t *testing.T, f func(t *testing.T, m *Machine, a *tracked)) {
	for _, ac := range vecAllocators() {
		t.Run(ac.name, func(t *testing.T) {
			m := newTestMachine(t, Config{RAM: 16 * MiB})
			m.SetLog(&EventLog{})
			a := newTracked(t, m, ac.new(m))
			f(t, m, a)
			if err := m.CheckInvariants(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

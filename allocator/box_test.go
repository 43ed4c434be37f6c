package allocator

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

// The tests named after a doctest of rust/kernel/alloc/kbox.rs or the kunit
// rust_allocator::test_alignment (allocator.rs; both 6.18) run on every
// allocator of vecAllocators.

// TestKBoxNew is doctest 1: Box::new(24_u64) derefs to 24, held in the
// machine's memory.
func TestKBoxNew(t *testing.T) {
	eachAllocator(t, func(t *testing.T, m *Machine, a *tracked) {
		b, err := NewBox(m, a, uint64(24), GFPKernel)
		must(t, err)
		if b.Get() != 24 || *b.Ptr() != 24 {
			t.Fatalf("*b = %d", b.Get())
		}
		raw := make([]byte, 8)
		must(t, m.ReadAt(b.Addr(), raw))
		if binary.LittleEndian.Uint64(raw) != 24 {
			t.Errorf("memory at %v holds % x", b.Addr(), raw)
		}
		if a.allocs != 1 || a.live[b.Addr()] != (Layout{Size: 8, Align: 8}) {
			t.Errorf("Box::new made %d Alloc calls; live layout %+v", a.allocs, a.live[b.Addr()])
		}
		b.Drop()
	})
}

// TestKBoxAliases is doctest 4: KBox, VBox and KVBox of 24_u64 deref to 24.
func TestKBoxAliases(t *testing.T) {
	eachAllocator(t, func(t *testing.T, m *Machine, a *tracked) {
		b, err := NewBox(m, a, uint64(24), GFPKernel)
		must(t, err)
		if b.Get() != 24 {
			t.Errorf("*b = %d", b.Get())
		}
		b.Drop()
	})
}

// TestKBoxIntoRawFromRaw is doctest 5: into_raw then from_raw keeps 24.
func TestKBoxIntoRawFromRaw(t *testing.T) {
	eachAllocator(t, func(t *testing.T, m *Machine, a *tracked) {
		b, err := NewBox(m, a, uint64(24), GFPKernel)
		must(t, err)
		ptr := b.IntoRaw()
		if b.Live() || len(a.live) != 1 {
			t.Fatalf("into_raw: box live %v, %d allocations live", b.Live(), len(a.live))
		}
		c, err := BoxFromRaw[uint64](m, a, ptr)
		must(t, err)
		if c.Get() != 24 || c.Addr() != ptr {
			t.Errorf("from_raw: %d at %v", c.Get(), c.Addr())
		}
		c.Drop()
		for _, bad := range []Addr{0, ptr + 4, 0x1000} {
			if _, err := BoxFromRaw[uint64](m, a, bad); err == nil {
				t.Errorf("from_raw(%v) accepted", bad)
			}
		}
	})
}

// TestKBoxWrite is doctest 6: new_uninit, then Box::write(b, 24).
func TestKBoxWrite(t *testing.T) {
	eachAllocator(t, func(t *testing.T, m *Machine, a *tracked) {
		b, err := NewBoxUninit[uint64](m, a, GFPKernel)
		must(t, err)
		b.Write(24)
		if b.Get() != 24 {
			t.Errorf("*b = %d", b.Get())
		}
		b.Drop()
	})
}

// TestKBoxDropContents is doctest 7: drop_contents keeps the allocation,
// which the next write reuses.
func TestKBoxDropContents(t *testing.T) {
	eachAllocator(t, func(t *testing.T, m *Machine, a *tracked) {
		b, err := NewBox(m, a, [32]int32{}, GFPKernel)
		must(t, err)
		ptr, calls := b.Addr(), a.allocs+a.reallc+a.frees
		b.DropContents()
		var ones [32]int32
		for i := range ones {
			ones[i] = 1
		}
		b.Write(ones)
		if b.Get() != ones || b.Addr() != ptr || a.allocs+a.reallc+a.frees != calls {
			t.Errorf("after drop_contents and write: %v at %v (was %v)", b.Get(), b.Addr(), ptr)
		}
		b.Drop()
	})
}

type align8192 struct{ B [4 * 4096]byte }

func (*align8192) ReprAlign() uint64 { return 8192 }

// TestKunitAlignment is kunit rust_allocator::test_alignment: a Box of
// #[repr(align(128))] [u8; 1024] and of #[repr(align(8192))]
// [u8; 4 * PAGE_SIZE] is aligned to 128 and 8192.
func TestKunitAlignment(t *testing.T) {
	eachAllocator(t, func(t *testing.T, m *Machine, a *tracked) {
		b1, err := NewBoxUninit[align128](m, a, GFPKernel)
		must(t, err)
		if b1.Addr()%128 != 0 {
			t.Errorf("Box of repr(align(128)) at %v", b1.Addr())
		}
		b2, err := NewBoxUninit[align8192](m, a, GFPKernel)
		must(t, err)
		if b2.Addr()%8192 != 0 {
			t.Errorf("Box of repr(align(8192)) at %v", b2.Addr())
		}
		if got := a.live[b2.Addr()]; got != (Layout{Size: 16384, Align: 8192}) {
			t.Errorf("layout %+v, want 16384 bytes aligned to 8192", got)
		}
		b1.Drop()
		b2.Drop()
	})
}

// TestBoxZeroSized: Box::new of a zero-sized T goes through Alloc with a
// zero-size layout and gets the dangling pointer (its alignment); drop
// frees a zero-size layout, which does nothing.
func TestBoxZeroSized(t *testing.T) {
	eachAllocator(t, func(t *testing.T, m *Machine, a *tracked) {
		b, err := NewBox(m, a, [0]uint64{}, GFPKernel)
		must(t, err)
		if b.Addr() != 8 || len(a.live) != 0 {
			t.Errorf("ZST box at %v with %d live allocations, want the dangling 0x8 and none", b.Addr(), len(a.live))
		}
		_ = b.Get()
		b.Drop()
		if a.frees != 1 {
			t.Errorf("%d frees", a.frees)
		}
	})
}

// TestBoxGoneIsMisuse: using a Box after drop, into_raw or leak records
// misuse and never frees twice.
func TestBoxGoneIsMisuse(t *testing.T) {
	eachAllocator(t, func(t *testing.T, m *Machine, a *tracked) {
		b, err := NewBox(m, a, uint32(7), GFPKernel)
		must(t, err)
		if x := b.IntoInner(); x != 7 || len(a.live) != 0 {
			t.Fatalf("into_inner = %d with %d live", x, len(a.live))
		}
		before := m.Log().Len()
		b.Drop()
		if b.Get() != 0 || b.IntoRaw() != 0 || b.Leak() != nil {
			t.Error("a gone Box gave a value")
		}
		b.Write(3)
		var misuse int
		for _, e := range logEvents(m.Log())[before:] {
			if e.Kind() == EvMisuse && strings.Contains(e.Text(), "already dropped") {
				misuse++
			}
		}
		if misuse != 5 || a.frees != 1 {
			t.Errorf("%d misuse events (want 5), %d frees (want 1)", misuse, a.frees)
		}

		l, err := NewBox(m, a, uint32(9), GFPKernel)
		must(t, err)
		p := l.Leak()
		if *p != 9 {
			t.Errorf("leak = %d", *p)
		}
		// The leaked allocation is the caller's now; give it back so the
		// test's leak check passes.
		c, err := BoxFromRaw[uint32](m, a, a.onlyLive(t))
		must(t, err)
		c.Drop()
	})
}

// onlyLive returns the one live allocation.
func (tr *tracked) onlyLive(t *testing.T) Addr {
	t.Helper()
	if len(tr.live) != 1 {
		t.Fatalf("%d live allocations, want 1", len(tr.live))
	}
	for a := range tr.live {
		return a
	}
	return 0
}

// TestBoxEvents: Box::new records an EvVecOp linked to the allocator's
// decision, and a failure records AllocError.
func TestBoxEvents(t *testing.T) {
	eachAllocator(t, func(t *testing.T, m *Machine, a *tracked) {
		b, err := NewBox(m, a, uint64(1), GFPKernel)
		must(t, err)
		ev := lastVecOp(m)
		if ev.Op() != "box_new" || ev.Addr() != b.Addr() || ev.Bytes() != 8 ||
			!strings.Contains(ev.Text(), "::new allocated Layout::new::<u64>() (8 bytes, align 8) at ") {
			t.Errorf("box_new event %+v", ev)
		}
		if ev.Cause() != 0 && m.Log().At(int(ev.Cause())-1).Kind() != EvRealloc {
			t.Errorf("cause %d is not a realloc", ev.Cause())
		}
		b.Drop()
		if ev := lastVecOp(m); ev.Op() != "box_drop" || !strings.Contains(ev.Text(), "with Layout::for_value (8 bytes, align 8)") {
			t.Errorf("box_drop event %+v", ev)
		}
		a.fail = func(Layout) bool { return true }
		_, err = NewBox(m, a, uint64(1), GFPKernel)
		a.fail = nil
		var ae *AllocError
		if !errors.As(err, &ae) {
			t.Errorf("failing Box::new: %v", err)
		}
		if ev := lastVecOp(m); ev.Op() != "box_new" || !strings.Contains(ev.Text(), "returned AllocError") {
			t.Errorf("failed box_new event %+v", ev)
		}
	})
}

func TestBoxRefusesPointerTypes(t *testing.T) {
	m := newTestMachine(t, Config{RAM: 4 * MiB})
	var te *ElemTypeError
	if _, err := NewBox(m, cmalloc{m}, "x", GFPKernel); !errors.As(err, &te) {
		t.Errorf("Box of string: %v", err)
	}
	if _, err := NewVec[[]int](m, cmalloc{m}); !errors.As(err, &te) {
		t.Errorf("Vec of slices: %v", err)
	}
	if _, err := NewVec[int](m, nil); err == nil {
		t.Error("Vec without an allocator accepted")
	}
}

// hugeBox is [u8; KMALLOC_MAX_SIZE + 1] on 4 KiB pages.
type hugeBox [4<<20 + 1]byte

// TestKBoxHugeFailsKVBoxSucceeds is doctests 2 and 3: a KBox of a type
// larger than KMALLOC_MAX_SIZE fails (quietly, with __GFP_NOWARN) and
// changes nothing, while a KVBox of the same type succeeds: kvmalloc falls
// back to vmalloc, whose pages need not be contiguous.
func TestKBoxHugeFailsKVBoxSucceeds(t *testing.T) {
	m := newTestMachine(t, Config{RAM: 16 * MiB})
	m.SetLog(&EventLog{})
	if m.KmallocMaxSize()+1 != uint64(len(hugeBox{})) {
		t.Fatalf("KMALLOC_MAX_SIZE is %d", m.KmallocMaxSize())
	}
	free := m.IdlePages()
	_, err := NewBoxUninit[hugeBox](m, Kmalloc{M: m}, GFPKernel|GFPNoWarn)
	var ae *AllocError
	if !errors.As(err, &ae) {
		t.Fatalf("KBox::<Huge>::new_uninit: %v, want AllocError", err)
	}
	if m.IdlePages() != free {
		t.Errorf("a failed KBox took %d pages", free-m.IdlePages())
	}
	if ev := lastVecOp(m); ev.Op() != "box_new_uninit" || !strings.Contains(ev.Text(), "KBox<hugeBox>::new_uninit returned AllocError: 4194305 bytes") {
		t.Errorf("event %q", ev.Text())
	}

	b, err := NewBoxUninit[hugeBox](m, KVmalloc{M: m}, GFPKernel)
	if err != nil {
		t.Fatalf("KVBox::<Huge>::new_uninit: %v", err)
	}
	area, ok := m.AreaOf(b.Addr())
	if !m.IsVmallocAddr(b.Addr()) || !ok || area.NrPages != len(hugeBox{})/4096+1 {
		t.Errorf("KVBox<Huge> at %v: area %+v, want vmalloc memory of 1025 pages", b.Addr(), area)
	}
	b.Ptr()[len(hugeBox{})-1] = 0x5a
	last := []byte{0}
	must(t, m.ReadAt(b.Addr()+Addr(len(hugeBox{})-1), last))
	if last[0] != 0x5a {
		t.Errorf("the last byte of the KVBox reads %#x through its address", last[0])
	}
	if ev := lastVecOp(m); ev.Op() != "box_new_uninit" || ri(ev) == nil || !strings.Contains(ev.Text(), "KVBox<hugeBox>::new_uninit allocated") {
		t.Errorf("event %+v", ev)
	}
	for _, e := range logEvents(m.Log()) {
		if e.Kind() == EvWarn {
			t.Errorf("warning: %s (the KBox passed __GFP_NOWARN, kvmalloc's kmalloc attempt adds it)", e.Text())
		}
	}
	b.Drop()
	if err := m.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

// TestKernelAliases: KBox, VBox and KVBox (doctest 4) and KVec, VVec and
// KVVec (item 2 of the KVec list in docs/fidelity.md) are Box and Vec over
// Kmalloc, Vmalloc and KVmalloc.
func TestKernelAliases(t *testing.T) {
	m := newTestMachine(t, Config{RAM: 16 * MiB})
	boxes := []func(*Machine, uint64, GFP) (*Box[uint64], error){KBox[uint64], VBox[uint64], KVBox[uint64]}
	vecs := []func(*Machine) (*Vec[int32], error){KVec[int32], VVec[int32], KVVec[int32]}
	for i, name := range []string{"Kmalloc", "Vmalloc", "KVmalloc"} {
		b, err := boxes[i](m, 24, GFPKernel)
		must(t, err)
		if b.Get() != 24 || b.r.a.Name() != name || !strings.HasPrefix(b.r.Name(), strings.TrimSuffix(name, "malloc")+"Box<") {
			t.Errorf("box over %s: %d over %s, named %s", name, b.Get(), b.r.a.Name(), b.r.Name())
		}
		b.Drop()
		v, err := vecs[i](m)
		must(t, err)
		must(t, v.Push(1, GFPKernel))
		wantVec(t, v, 1)
		if v.Allocator().Name() != name || !strings.HasPrefix(v.Raw().Name(), strings.TrimSuffix(name, "malloc")+"Vec<") {
			t.Errorf("vec over %s, named %s", v.Allocator().Name(), v.Raw().Name())
		}
		v.Drop()
	}
	if err := m.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

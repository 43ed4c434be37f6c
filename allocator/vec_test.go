package allocator

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unsafe"
)

// The tests named after a doctest or kunit case of rust/kernel/alloc/kvec.rs
// (6.18) run on every allocator of vecAllocators; "checklist item N" is
// item N of the KVec list in docs/fidelity.md.

func newVec[T any](t *testing.T, m *Machine, a Allocator) *Vec[T] {
	t.Helper()
	v, err := NewVec[T](m, a)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// kvec is the kvec![...] macro.
func kvec[T any](t *testing.T, m *Machine, a Allocator, xs ...T) *Vec[T] {
	t.Helper()
	v, err := NewVecFrom(m, a, GFPKernel, xs...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// kvecElem is kvec![x; n] (Vec::from_elem: with_capacity, then extend).
func kvecElem[T any](t *testing.T, m *Machine, a Allocator, x T, n uint64) *Vec[T] {
	t.Helper()
	v, err := NewVecWithCapacity[T](m, a, n, GFPKernel)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Resize(n, x, GFPKernel); err != nil {
		t.Fatal(err)
	}
	return v
}

// wantVec checks the elements, both through Slice and by reading the
// machine's memory at the buffer's kernel address.
func wantVec[T comparable](t *testing.T, v *Vec[T], want ...T) {
	t.Helper()
	if got := v.Slice(); !slices.Equal(got, want) || v.Len() != uint64(len(want)) {
		t.Fatalf("vec = %v (len %d), want %v", got, v.Len(), want)
	}
	size := v.r.e.layout.Size
	if len(want) == 0 || size == 0 {
		return
	}
	raw := make([]byte, uint64(len(want))*size)
	if err := v.r.m.ReadAt(v.Addr(), raw); err != nil {
		t.Fatal(err)
	}
	wantRaw := unsafe.Slice((*byte)(unsafe.Pointer(&want[0])), len(raw))
	if !bytes.Equal(raw, wantRaw) {
		t.Fatalf("memory at %v is % x, want % x", v.Addr(), raw, wantRaw)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestKVecMacro is checklist item 1: kvec![], kvec![1; 3] and kvec![1, 2, 3].
func TestKVecMacro(t *testing.T) {
	eachAllocator(t, func(t *testing.T, m *Machine, a *tracked) {
		v := kvec[int32](t, m, a)
		must(t, v.Push(1, GFPKernel))
		wantVec(t, v, 1)
		v.Drop()

		v = kvecElem[int32](t, m, a, 1, 3)
		if v.Cap() != 3 {
			t.Errorf("kvec![1; 3] capacity %d, want 3", v.Cap())
		}
		must(t, v.Push(4, GFPKernel))
		wantVec(t, v, 1, 1, 1, 4)
		v.Drop()

		v = kvec[int32](t, m, a, 1, 2, 3)
		if v.Cap() != 3 {
			t.Errorf("kvec![1, 2, 3] capacity %d, want 3", v.Cap())
		}
		must(t, v.Push(4, GFPKernel))
		wantVec(t, v, 1, 2, 3, 4)
		if v.Cap() != 6 {
			t.Errorf("push onto a full capacity 3: capacity %d, want max(2*3, 4) = 6", v.Cap())
		}
		v.Drop()
	})
}

// TestKVecNew is checklist item 2: Vec::new then push(1).
func TestKVecNew(t *testing.T) {
	eachAllocator(t, func(t *testing.T, m *Machine, a *tracked) {
		v := newVec[int32](t, m, a)
		if v.Cap() != 0 || v.Addr() != 4 || a.allocs+a.reallc != 0 {
			t.Fatalf("Vec::new: capacity %d at %v after %d allocator calls; want no memory at the dangling 0x4",
				v.Cap(), v.Addr(), a.allocs+a.reallc)
		}
		must(t, v.Push(1, GFPKernel))
		wantVec(t, v, 1)
		v.Drop()
	})
}

// TestKVecIsEmpty is checklist item 3.
func TestKVecIsEmpty(t *testing.T) {
	eachAllocator(t, func(t *testing.T, m *Machine, a *tracked) {
		v := newVec[int32](t, m, a)
		if !v.IsEmpty() {
			t.Error("new vector is not empty")
		}
		must(t, v.Push(1, GFPKernel))
		if v.IsEmpty() {
			t.Error("vector with one element is empty")
		}
		v.Drop()
	})
}

// TestKVecPush is checklist item 4, with the growth policy: capacity
// 0 -> 1 -> 2 -> 4 -> 8, each grow one Realloc.
func TestKVecPush(t *testing.T) {
	eachAllocator(t, func(t *testing.T, m *Machine, a *tracked) {
		v := newVec[int32](t, m, a)
		must(t, v.Push(1, GFPKernel))
		must(t, v.Push(2, GFPKernel))
		wantVec(t, v, 1, 2)
		var caps []uint64
		for i := range int32(6) {
			must(t, v.Push(i, GFPKernel))
			caps = append(caps, v.Cap())
		}
		if want := []uint64{4, 4, 8, 8, 8, 8}; !slices.Equal(caps, want) {
			t.Errorf("capacities after pushes %v, want %v", caps, want)
		}
		if a.reallc != 4 || a.allocs != 0 {
			t.Errorf("%d reallocs and %d allocs for capacities 1, 2, 4, 8; want 4 reallocs", a.reallc, a.allocs)
		}
		wantVec(t, v, 1, 2, 0, 1, 2, 3, 4, 5)
		v.Drop()
	})
}

// TestKVecPushWithinCapacity is checklist item 5.
func TestKVecPushWithinCapacity(t *testing.T) {
	eachAllocator(t, func(t *testing.T, m *Machine, a *tracked) {
		v, err := NewVecWithCapacity[int32](m, a, 10, GFPKernel)
		must(t, err)
		for i := range int32(10) {
			must(t, v.PushWithinCapacity(i))
		}
		calls := a.reallc
		err = v.PushWithinCapacity(10)
		var pe *PushError
		if !errors.As(err, &pe) || pe.Cap != 10 {
			t.Fatalf("push_within_capacity on a full vector: %v, want a PushError", err)
		}
		if a.reallc != calls || v.Cap() != 10 || v.Len() != 10 {
			t.Errorf("push_within_capacity allocated or changed the vector")
		}
		wantVec(t, v, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9)
		v.Drop()
	})
}

// TestKVecInsertWithinCapacity is checklist item 6.
func TestKVecInsertWithinCapacity(t *testing.T) {
	eachAllocator(t, func(t *testing.T, m *Machine, a *tracked) {
		v, err := NewVecWithCapacity[int32](m, a, 5, GFPKernel)
		must(t, err)
		for i := range int32(5) {
			must(t, v.InsertWithinCapacity(0, i))
		}
		wantVec(t, v, 4, 3, 2, 1, 0)
		var ie *InsertError
		if err := v.InsertWithinCapacity(0, 5); !errors.As(err, &ie) || ie.Kind != InsertOutOfCapacity {
			t.Errorf("insert when full: %v, want InsertError::OutOfCapacity", err)
		}
		if err := v.InsertWithinCapacity(1000, 5); !errors.As(err, &ie) || ie.Kind != InsertIndexOutOfBounds {
			t.Errorf("insert at 1000 when full: %v, want InsertError::IndexOutOfBounds (bounds before capacity)", err)
		}
		v.Truncate(3)
		must(t, v.InsertWithinCapacity(3, 9)) // index == len appends
		must(t, v.InsertWithinCapacity(1, 8))
		wantVec(t, v, 4, 8, 3, 2, 9)
		if err := v.InsertWithinCapacity(6, 5); !errors.As(err, &ie) || ie.Kind != InsertIndexOutOfBounds {
			t.Errorf("insert past len: %v, want IndexOutOfBounds", err)
		}
		v.Drop()
	})
}

// TestKVecPop is checklist item 7.
func TestKVecPop(t *testing.T) {
	eachAllocator(t, func(t *testing.T, m *Machine, a *tracked) {
		v := kvec[int32](t, m, a, 1, 2)
		for _, want := range []int32{2, 1} {
			if x, ok := v.Pop(); !ok || x != want {
				t.Fatalf("pop = %d, %v; want %d", x, ok, want)
			}
		}
		if x, ok := v.Pop(); ok {
			t.Fatalf("pop of an empty vector = %d", x)
		}
		if v.Cap() != 2 {
			t.Errorf("capacity after pops %d, want 2 (no shrink)", v.Cap())
		}
		v.Drop()
	})
}

// TestKVecRemove is checklist item 8.
func TestKVecRemove(t *testing.T) {
	eachAllocator(t, func(t *testing.T, m *Machine, a *tracked) {
		v := kvec[int32](t, m, a, 1, 2, 3)
		x, err := v.Remove(1)
		if err != nil || x != 2 {
			t.Fatalf("remove(1) = %d, %v; want 2", x, err)
		}
		wantVec(t, v, 1, 3)
		var re *RemoveError
		if _, err := v.Remove(2); !errors.As(err, &re) || re.Index != 2 || re.Len != 2 {
			t.Errorf("remove(2) of 2 elements: %v, want RemoveError", err)
		}
		wantVec(t, v, 1, 3)
		v.Drop()
	})
}

// TestKVecWithCapacity is checklist item 9: exactly the capacity asked.
func TestKVecWithCapacity(t *testing.T) {
	eachAllocator(t, func(t *testing.T, m *Machine, a *tracked) {
		for _, n := range []uint64{0, 1, 20, 1000} {
			v, err := NewVecWithCapacity[uint32](m, a, n, GFPKernel)
			must(t, err)
			if v.Cap() != n || v.Len() != 0 {
				t.Errorf("with_capacity(%d): capacity %d, len %d", n, v.Cap(), v.Len())
			}
			if got := v.Layout(); got != (Layout{Size: 4 * n, Align: 4}) {
				t.Errorf("with_capacity(%d) allocated %+v", n, got)
			}
			v.Drop()
		}
	})
}

// TestKVecFromRawParts is checklist item 10.
func TestKVecFromRawParts(t *testing.T) {
	eachAllocator(t, func(t *testing.T, m *Machine, a *tracked) {
		v := kvec[int32](t, m, a, 1, 2, 3)
		must(t, v.Reserve(1, GFPKernel))
		ptr, length, capacity := v.IntoRawParts()
		if v.Len() != 0 || v.Cap() != 0 {
			t.Fatalf("vector after into_raw_parts: len %d, capacity %d", v.Len(), v.Cap())
		}
		var four [4]byte
		binary.LittleEndian.PutUint32(four[:], 4)
		must(t, m.WriteAt(ptr+Addr(length*4), four[:]))
		w, err := VecFromRawParts[int32](m, a, ptr, length+1, capacity)
		must(t, err)
		wantVec(t, w, 1, 2, 3, 4)
		w.Drop()

		for _, tc := range []struct {
			ptr    Addr
			l, c   uint64
			reason string
		}{
			{ptr, 5, 4, "more than capacity"},
			{ptr + 1, 1, 4, "not aligned"},
			{0x1000, 1, 4, "neither in the direct map"},
			{ptr, 1, math.MaxInt64/4 + 1, "more than isize::MAX"},
			{ptr, 1, math.MaxInt64, "overflow usize"},
		} {
			if _, err := VecFromRawParts[int32](m, a, tc.ptr, tc.l, tc.c); err == nil || !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("from_raw_parts(%v, %d, %d) error = %v, want %q", tc.ptr, tc.l, tc.c, err, tc.reason)
			}
		}
	})
}

// TestKVecClear is checklist item 11.
func TestKVecClear(t *testing.T) {
	eachAllocator(t, func(t *testing.T, m *Machine, a *tracked) {
		v := kvec[int32](t, m, a, 1, 2, 3)
		ptr := v.Addr()
		v.Clear()
		wantVec(t, v)
		if v.Cap() != 3 || v.Addr() != ptr {
			t.Errorf("clear changed the buffer: capacity %d at %v", v.Cap(), v.Addr())
		}
		v.Drop()
	})
}

// TestKVecReserve is checklist item 12.
func TestKVecReserve(t *testing.T) {
	eachAllocator(t, func(t *testing.T, m *Machine, a *tracked) {
		v := newVec[int32](t, m, a)
		must(t, v.Push(1, GFPKernel))
		must(t, v.Reserve(10, GFPKernel))
		c := v.Cap()
		if c != 11 {
			t.Errorf("reserve(10) at len 1, capacity 1: capacity %d, want max(2*1, 1+10) = 11", c)
		}
		calls := a.reallc
		must(t, v.Reserve(10, GFPKernel))
		if v.Cap() != c || a.reallc != calls {
			t.Errorf("second reserve(10) changed capacity to %d or reallocated", v.Cap())
		}
		// reserve(11) at len 1, capacity 11: 10 spare < 11, so max(22, 12).
		must(t, v.Reserve(11, GFPKernel))
		if v.Cap() != 22 {
			t.Errorf("reserve(11): capacity %d, want 22", v.Cap())
		}
		wantVec(t, v, 1)
		v.Drop()
	})
}

// TestKVecTruncate is checklist item 13.
func TestKVecTruncate(t *testing.T) {
	eachAllocator(t, func(t *testing.T, m *Machine, a *tracked) {
		v := kvec[int32](t, m, a, 1, 2, 3)
		v.Truncate(5)
		wantVec(t, v, 1, 2, 3)
		v.Truncate(1)
		wantVec(t, v, 1)
		if v.Cap() != 3 {
			t.Errorf("truncate shrank capacity to %d", v.Cap())
		}
		v.Drop()
	})
}

// TestKVecDrainAll is checklist item 14.
func TestKVecDrainAll(t *testing.T) {
	eachAllocator(t, func(t *testing.T, m *Machine, a *tracked) {
		v := kvec[int32](t, m, a, 0, 1, 2, 3)
		if got := v.DrainAll(); !slices.Equal(got, []int32{0, 1, 2, 3}) {
			t.Errorf("drain_all yielded %v", got)
		}
		if v.Len() != 0 || v.Cap() < 4 {
			t.Errorf("after drain_all: len %d, capacity %d", v.Len(), v.Cap())
		}
		v.Drop()
	})
}

// TestKVecRetain is checklist item 15.
func TestKVecRetain(t *testing.T) {
	eachAllocator(t, func(t *testing.T, m *Machine, a *tracked) {
		v := kvec[int32](t, m, a, 1, 2, 3, 4)
		v.Retain(func(i *int32) bool { return *i%2 == 0 })
		wantVec(t, v, 2, 4)
		if v.Cap() != 4 {
			t.Errorf("retain shrank capacity to %d", v.Cap())
		}
		v.Drop()
	})
}

// TestKunitKVecRetain is kunit rust_kvec::test_kvec_retain: for every
// boolean mask of every length below ten, retain keeps exactly the
// selected indices, in order.
func TestKunitKVecRetain(t *testing.T) {
	eachAllocator(t, func(t *testing.T, m *Machine, a *tracked) {
		verify := func(c []bool) {
			v1, err := NewVecWithCapacity[uint64](m, a, uint64(len(c)), GFPKernel)
			must(t, err)
			v2, err := NewVecWithCapacity[uint64](m, a, uint64(len(c)), GFPKernel)
			must(t, err)
			for i := range c {
				must(t, v1.PushWithinCapacity(uint64(i)))
				if c[i] {
					must(t, v2.PushWithinCapacity(uint64(i)))
				}
			}
			v1.Retain(func(i *uint64) bool { return c[*i] })
			if !slices.Equal(v1.Slice(), v2.Slice()) {
				t.Fatalf("mask %v: retain kept %v, want %v", c, v1.Slice(), v2.Slice())
			}
			v1.Drop()
			v2.Drop()
		}
		masks := 0
		for n := range 10 {
			c := make([]bool, n)
			for range 1 << n {
				verify(c)
				masks++
				for i, carry := 0, true; i < n && carry; i++ { // add one
					carry = c[i]
					c[i] = !c[i]
				}
			}
		}
		if masks != 1023 {
			t.Errorf("checked %d masks, want 1023", masks)
		}
	})
}

// TestKVecExtendFromSlice is checklist item 16.
func TestKVecExtendFromSlice(t *testing.T) {
	eachAllocator(t, func(t *testing.T, m *Machine, a *tracked) {
		v := kvec[int32](t, m, a, 1)
		must(t, v.ExtendFromSlice([]int32{20, 30, 40}, GFPKernel))
		wantVec(t, v, 1, 20, 30, 40)
		must(t, v.ExtendFromSlice([]int32{50, 60}, GFPKernel))
		wantVec(t, v, 1, 20, 30, 40, 50, 60)
		// Extending a vector with its own elements survives the move.
		must(t, v.ExtendFromSlice(v.Slice(), GFPKernel))
		wantVec(t, v, 1, 20, 30, 40, 50, 60, 1, 20, 30, 40, 50, 60)
		v.Drop()
	})
}

// TestKVecResize is checklist item 17.
func TestKVecResize(t *testing.T) {
	eachAllocator(t, func(t *testing.T, m *Machine, a *tracked) {
		v := kvec[int32](t, m, a, 1, 2, 3)
		must(t, v.Resize(1, 42, GFPKernel))
		wantVec(t, v, 1)
		must(t, v.Resize(3, 42, GFPKernel))
		wantVec(t, v, 1, 42, 42)
		if v.Cap() != 3 {
			t.Errorf("resize within capacity reallocated to %d", v.Cap())
		}
		v.Drop()
	})
}

// TestKVecIntoIter is checklist item 18: into_iter, next, size_hint,
// and the iteration of kvec![1, 2] and kvec![].
func TestKVecIntoIter(t *testing.T) {
	eachAllocator(t, func(t *testing.T, m *Machine, a *tracked) {
		it := kvec[int32](t, m, a, 1, 2, 3).IntoIter()
		for i, want := range []int32{1, 2, 3} {
			if lo, hi := it.SizeHint(); lo != uint64(3-i) || hi != lo {
				t.Errorf("size_hint before next %d = (%d, %d)", i, lo, hi)
			}
			if x, ok := it.Next(); !ok || x != want {
				t.Fatalf("next = %d, %v; want %d", x, ok, want)
			}
		}
		if _, ok := it.Next(); ok {
			t.Error("next after the end yielded")
		}
		it.Drop()

		it = kvec[int32](t, m, a, 1, 2).IntoIter()
		var got []int32
		for x, ok := it.Next(); ok; x, ok = it.Next() {
			got = append(got, x)
		}
		if !slices.Equal(got, []int32{1, 2}) {
			t.Errorf("kvec![1, 2] iterated %v", got)
		}
		it.Drop()

		it = kvec[int32](t, m, a).IntoIter()
		if _, ok := it.Next(); ok {
			t.Error("kvec![] yielded")
		}
		it.Drop()
		it.Drop() // spent: no double free
	})
}

// TestKVecIntoIterCollect is checklist item 18's collect: after one next,
// [1, 2, 3] collects to [2, 3], reallocated to exactly two elements.
func TestKVecIntoIterCollect(t *testing.T) {
	eachAllocator(t, func(t *testing.T, m *Machine, a *tracked) {
		it := kvec[int32](t, m, a, 1, 2, 3).IntoIter()
		it.Next()
		calls := a.reallc
		v := it.Collect(GFPKernel)
		wantVec(t, v, 2, 3)
		if v.Cap() != 2 || a.reallc != calls+1 {
			t.Errorf("collect after next: capacity %d after %d reallocs, want 2 after one", v.Cap(), a.reallc-calls)
		}
		v.Drop()

		// Not advanced: the same buffer and capacity, no realloc.
		w := kvec[int32](t, m, a, 1, 2, 3)
		must(t, w.Reserve(5, GFPKernel))
		ptr := w.Addr()
		calls = a.reallc
		v = w.IntoIter().Collect(GFPKernel)
		if v.Addr() != ptr || v.Cap() != 8 || a.reallc != calls {
			t.Errorf("collect without next moved the buffer or changed capacity to %d", v.Cap())
		}
		wantVec(t, v, 1, 2, 3)
		v.Drop()

		// Everything consumed: realloc to zero elements frees the buffer.
		it = kvec[int32](t, m, a, 1).IntoIter()
		it.Next()
		v = it.Collect(GFPKernel)
		if v.Cap() != 0 || v.Addr() != 4 {
			t.Errorf("collect of nothing: capacity %d at %v, want no buffer", v.Cap(), v.Addr())
		}
		v.Drop()
	})
}

// TestKVecIntoIterCollectKeepsBufferOnFailure: if the realloc to len fails,
// collect keeps the old buffer and its capacity.
func TestKVecIntoIterCollectKeepsBufferOnFailure(t *testing.T) {
	eachAllocator(t, func(t *testing.T, m *Machine, a *tracked) {
		it := kvec[int32](t, m, a, 1, 2, 3, 4).IntoIter()
		buf := it.r.buf
		it.Next()
		a.fail = func(Layout) bool { return true }
		v := it.Collect(GFPKernel)
		a.fail = nil
		if a.failed != 1 || v.Addr() != buf || v.Cap() != 4 {
			t.Errorf("failed collect: %d failures, buffer %v (was %v), capacity %d; want the old buffer, capacity 4", a.failed, v.Addr(), buf, v.Cap())
		}
		wantVec(t, v, 2, 3, 4)
		ev := lastVecOp(m)
		if ev.Op() != "collect" || !strings.Contains(ev.Text(), "old buffer is kept with capacity 4") {
			t.Errorf("collect event: %q", ev.Text())
		}
		v.Drop()
	})
}

func lastVecOp(m *Machine) Event {
	evs := logEvents(m.Log())
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Kind() == EvVecOp {
			return evs[i]
		}
	}
	return Event{}
}

// TestVecNeverShrinks: truncate, clear, pop, remove, retain and drain_all
// never call the allocator and keep the buffer and capacity.
func TestVecNeverShrinks(t *testing.T) {
	eachAllocator(t, func(t *testing.T, m *Machine, a *tracked) {
		v := kvec[int32](t, m, a, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10)
		ptr, calls := v.Addr(), a.allocs+a.reallc+a.frees
		v.Pop()
		must(t, second(v.Remove(0)))
		v.Retain(func(x *int32) bool { return *x > 4 })
		v.Truncate(2)
		v.DrainAll()
		v.Clear()
		must(t, v.Resize(0, 0, GFPKernel))
		if v.Addr() != ptr || v.Cap() != 10 || a.allocs+a.reallc+a.frees != calls {
			t.Errorf("after shrinking operations: buffer %v (was %v), capacity %d, %d allocator calls",
				v.Addr(), ptr, v.Cap(), a.allocs+a.reallc+a.frees-calls)
		}
		v.Drop()
	})
}

// TestVecFailedGrowLeavesVectorUnchanged: every operation that grows
// returns an AllocError and changes nothing when the allocator fails.
func TestVecFailedGrowLeavesVectorUnchanged(t *testing.T) {
	eachAllocator(t, func(t *testing.T, m *Machine, a *tracked) {
		v := kvec[int32](t, m, a, 1, 2, 3, 4)
		ptr := v.Addr()
		a.fail = func(Layout) bool { return true }
		for name, op := range map[string]func() error{
			"push":              func() error { return v.Push(5, GFPKernel) },
			"reserve":           func() error { return v.Reserve(1, GFPKernel) },
			"resize":            func() error { return v.Resize(9, 7, GFPKernel) },
			"extend_from_slice": func() error { return v.ExtendFromSlice([]int32{5}, GFPKernel) },
		} {
			err := op()
			var ae *AllocError
			if !errors.As(err, &ae) || !errors.Is(err, ErrNoMemory) {
				t.Errorf("%s with a failing allocator: %v, want an AllocError", name, err)
			}
			if v.Addr() != ptr || v.Cap() != 4 {
				t.Errorf("%s failed but the buffer changed: %v, capacity %d", name, v.Addr(), v.Cap())
			}
			wantVec(t, v, 1, 2, 3, 4)
			ev := lastVecOp(m)
			if ev.Op() != name || ev.Cause() == 0 || !strings.Contains(ev.Text(), "the vector is unchanged (len 4, capacity 4)") {
				t.Errorf("%s failure event: op %q cause %d %q", name, ev.Op(), ev.Cause(), ev.Text())
			}
		}
		if _, err := NewVecWithCapacity[int32](m, a, 3, GFPKernel); !errors.Is(err, ErrNoMemory) {
			t.Errorf("with_capacity with a failing allocator: %v", err)
		}
		a.fail = nil
		v.Drop()
	})
}

// TestVecGrowOutOfMemory fills a small machine: the push that cannot get
// memory fails and the vector keeps its elements.
func TestVecGrowOutOfMemory(t *testing.T) {
	m := newTestMachine(t, Config{RAM: 2 * MiB})
	m.SetLog(&EventLog{})
	a := newTracked(t, m, cmalloc{m})
	v := newVec[uint64](t, m, a)
	var err error
	for i := uint64(0); err == nil; i++ {
		err = v.Push(i, GFPKernel|GFPNoWarn)
	}
	if !errors.Is(err, ErrNoMemory) {
		t.Fatalf("push until out of memory: %v", err)
	}
	for i, x := range v.Slice() {
		if x != uint64(i) {
			t.Fatalf("element %d is %d after the failed push", i, x)
		}
	}
	if v.Len() != v.Cap() {
		t.Errorf("failed push at len %d, capacity %d: it only grows when full", v.Len(), v.Cap())
	}
	v.Drop()
	if err := m.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

// TestVecOverflowIsAllocError: capacity arithmetic past isize::MAX fails
// without calling the allocator.
func TestVecOverflowIsAllocError(t *testing.T) {
	eachAllocator(t, func(t *testing.T, m *Machine, a *tracked) {
		v := kvec[uint64](t, m, a, 1)
		calls := a.reallc
		for _, add := range []uint64{math.MaxInt64 / 8, math.MaxUint64} {
			err := v.Reserve(add, GFPKernel)
			var ae *AllocError
			if !errors.As(err, &ae) || !errors.Is(err, ErrBadSize) {
				t.Errorf("reserve(%d): %v, want an AllocError for the overflow", add, err)
			}
		}
		if a.reallc != calls || v.Cap() != 1 {
			t.Errorf("an overflowing reserve called the allocator or changed capacity")
		}
		v.Drop()
	})
}

// TestVecZeroSizedNeverAllocates: zero-sized elements report capacity
// usize::MAX and never reach the allocator until drop frees a zero-size
// layout.
func TestVecZeroSizedNeverAllocates(t *testing.T) {
	eachAllocator(t, func(t *testing.T, m *Machine, a *tracked) {
		v, err := NewVecWithCapacity[struct{}](m, a, 1000, GFPKernel)
		must(t, err)
		if v.Cap() != math.MaxUint64 || v.Addr() != 1 {
			t.Errorf("ZST vector: capacity %d at %v, want usize::MAX at the dangling 0x1", v.Cap(), v.Addr())
		}
		for range 100 {
			must(t, v.Push(struct{}{}, GFPKernel))
		}
		must(t, v.Reserve(1<<40, GFPKernel))
		must(t, v.InsertWithinCapacity(3, struct{}{}))
		must(t, v.ExtendFromSlice(make([]struct{}, 5), GFPKernel))
		v.Pop()
		must(t, second(v.Remove(0)))
		if v.Len() != 104 || len(v.Slice()) != 104 {
			t.Errorf("ZST len %d", v.Len())
		}
		it := v.IntoIter()
		it.Next()
		v = it.Collect(GFPKernel)
		if v.Len() != 103 {
			t.Errorf("ZST collect len %d", v.Len())
		}
		must(t, v.Resize(math.MaxUint64, struct{}{}, GFPKernel))
		if err := v.Push(struct{}{}, GFPKernel); !errors.Is(err, ErrNoMemory) {
			t.Errorf("push onto usize::MAX zero-sized elements: %v, want AllocError", err)
		}
		if a.reallc+a.allocs != 0 {
			t.Errorf("ZST vector made %d allocator calls", a.reallc+a.allocs)
		}
		v.Drop()
		if a.frees != 1 {
			t.Errorf("drop made %d Free calls, want one (of a zero-size layout)", a.frees)
		}
		ev := lastVecOp(m)
		if ev.Capacity() != -1 || ev.Op() != "drop" {
			t.Errorf("ZST drop event: %+v", ev)
		}
	})
}

// TestVecDropFreesWithAllocatedLayout: tracked checks that each Realloc and
// Free passes the layout the buffer was made with, and that nothing leaks.
func TestVecDropFreesWithAllocatedLayout(t *testing.T) {
	eachAllocator(t, func(t *testing.T, m *Machine, a *tracked) {
		v := newVec[[3]uint16](t, m, a)
		for i := range uint16(37) {
			must(t, v.Push([3]uint16{i, i, i}, GFPKernel))
		}
		if got := v.Layout(); got != (Layout{Size: 64 * 6, Align: 2}) {
			t.Errorf("layout %+v, want 64 elements of 6 bytes", got)
		}
		v.Drop()
		if len(a.live) != 0 || a.frees != 1 {
			t.Errorf("after drop: %d live allocations, %d frees", len(a.live), a.frees)
		}
		v.Drop() // dropped again: an empty vector, frees nothing
		if len(a.live) != 0 {
			t.Error("second drop allocated")
		}
	})
}

// TestVecElementsLiveInMachineMemory: elements are the machine's memory,
// seen through the kernel address.
func TestVecElementsLiveInMachineMemory(t *testing.T) {
	eachAllocator(t, func(t *testing.T, m *Machine, a *tracked) {
		v := kvec[uint32](t, m, a, 10, 20, 30)
		raw := make([]byte, 12)
		must(t, m.ReadAt(v.Addr(), raw))
		if binary.LittleEndian.Uint32(raw[4:]) != 20 {
			t.Errorf("memory at %v+4 is %x", v.Addr(), raw)
		}
		binary.LittleEndian.PutUint32(raw[8:], 99)
		must(t, m.WriteAt(v.Addr(), raw))
		wantVec(t, v, 10, 20, 99)
		v.Slice()[0] = 7
		must(t, m.ReadAt(v.Addr(), raw))
		if binary.LittleEndian.Uint32(raw) != 7 {
			t.Errorf("a write through Slice did not reach memory")
		}
		v.Drop()
	})
}

// TestVecEventsLinkTheirRealloc: a push that grows emits an EvVecOp whose
// Cause is the Seq of the allocator's EvRealloc, with the decision in the
// text.
func TestVecEventsLinkTheirRealloc(t *testing.T) {
	eachAllocator(t, func(t *testing.T, m *Machine, a *tracked) {
		v := newVec[uint8](t, m, a)
		log := m.Log()
		var grew []Event
		for i := range uint8(20) {
			before := log.Len()
			must(t, v.Push(i, GFPKernel))
			var ops []Event
			for _, e := range logEvents(log)[before:] {
				if e.Kind() == EvVecOp {
					ops = append(ops, e)
				}
			}
			if len(ops) != 1 || ops[0].Op() != "push" || ops[0].Size() != uint64(i)+1 || ops[0].Capacity() != int(v.Cap()) ||
				ops[0].Addr() != v.Addr() || ops[0].Bytes() != v.Cap() {
				t.Fatalf("push %d: vec events %+v", i, ops)
			}
			if ops[0].Cause() != 0 {
				grew = append(grew, ops[0])
			}
		}
		if len(grew) != 6 {
			t.Fatalf("%d of 20 pushes grew, want 6 (capacities 1, 2, 4, 8, 16, 32)", len(grew))
		}
		for _, e := range grew {
			cause := log.At(int(e.Cause()) - 1)
			if cause.Seq() != e.Cause() || cause.Kind() != EvRealloc || *ri(cause) != *ri(e) {
				t.Errorf("push event cause %d is %v, not its realloc", e.Cause(), cause.Kind())
			}
		}
		want := fmt.Sprintf("%s::push grew capacity 8 -> 16 = max(2 * 8, 8 + 1): %s", containerName("Vec", a, "u8"), describeRealloc(ri(grew[4])))
		if !strings.HasPrefix(grew[4].Text(), want) {
			t.Errorf("text %q, want it to begin %q", grew[4].Text(), want)
		}
		v.Drop()
	})
}

// TestVecPropertyAgainstGoSlice runs seeded random operation sequences on
// a Vec and on a plain Go slice with the kernel's capacity rule, with
// random allocation failures, and compares them after every step.
func TestVecPropertyAgainstGoSlice(t *testing.T) {
	seeds := 30
	if testing.Short() {
		seeds = 5
	}
	eachAllocator(t, func(t *testing.T, m *Machine, a *tracked) {
		for seed := range uint64(seeds) {
			propertyRun(t, m, a, seed)
		}
	})
}

func propertyRun(t *testing.T, m *Machine, a *tracked, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x6b766563))
	failPct := rng.IntN(30)
	a.fail = func(Layout) bool { return rng.IntN(100) < failPct }
	defer func() { a.fail = nil }()
	v := newVec[uint32](t, m, a)
	var model []uint32
	var capModel uint64
	// grows is the kernel's reserve on the model.
	grows := func(add uint64) {
		if capModel-uint64(len(model)) < add {
			capModel = max(2*capModel, uint64(len(model))+add)
		}
	}
	for step := range 300 {
		before, beforeCap, beforePtr := slices.Clone(model), capModel, v.Addr()
		failedBefore := a.failed
		var err error
		var op string
		switch k := rng.IntN(13); k {
		case 0, 1, 2:
			op = "push"
			x := rng.Uint32()
			if err = v.Push(x, GFPKernel); err == nil {
				grows(1)
				model = append(model, x)
			}
		case 3:
			op = "push_within_capacity"
			x := rng.Uint32()
			if err = v.PushWithinCapacity(x); err == nil {
				model = append(model, x)
			} else if uint64(len(model)) < capModel {
				t.Fatalf("seed %d step %d: push_within_capacity refused with room: %v", seed, step, err)
			}
		case 4:
			op = "insert_within_capacity"
			i := uint64(rng.IntN(len(model) + 2))
			x := rng.Uint32()
			if err = v.InsertWithinCapacity(i, x); err == nil {
				model = slices.Insert(model, int(i), x)
			}
		case 5:
			op = "pop"
			x, ok := v.Pop()
			if ok != (len(model) > 0) || ok && x != model[len(model)-1] {
				t.Fatalf("seed %d step %d: pop = %d, %v", seed, step, x, ok)
			}
			if ok {
				model = model[:len(model)-1]
			}
		case 6:
			op = "remove"
			i := uint64(rng.IntN(len(model) + 1))
			x, rerr := v.Remove(i)
			if (rerr == nil) != (i < uint64(len(model))) || rerr == nil && x != model[i] {
				t.Fatalf("seed %d step %d: remove(%d) = %d, %v", seed, step, i, x, rerr)
			}
			if rerr == nil {
				model = slices.Delete(model, int(i), int(i)+1)
			}
		case 7:
			op = "truncate"
			n := uint64(rng.IntN(len(model) + 3))
			v.Truncate(n)
			model = model[:min(n, uint64(len(model)))]
		case 8:
			op = "reserve"
			add := uint64(rng.IntN(40))
			if err = v.Reserve(add, GFPKernel); err == nil {
				grows(add)
			}
		case 9:
			op = "resize"
			n := uint64(rng.IntN(2*len(model) + 5))
			x := rng.Uint32()
			if err = v.Resize(n, x, GFPKernel); err == nil {
				if n > uint64(len(model)) {
					grows(n - uint64(len(model)))
				}
				for uint64(len(model)) < n {
					model = append(model, x)
				}
				model = model[:n]
			}
		case 10:
			op = "extend_from_slice"
			xs := make([]uint32, rng.IntN(20))
			for i := range xs {
				xs[i] = rng.Uint32()
			}
			if err = v.ExtendFromSlice(xs, GFPKernel); err == nil {
				grows(uint64(len(xs)))
				model = append(model, xs...)
			}
		case 11:
			op = "retain"
			mod := uint32(rng.IntN(3) + 2)
			v.Retain(func(x *uint32) bool { return *x%mod != 0 })
			model = slices.DeleteFunc(model, func(x uint32) bool { return x%mod == 0 })
		case 12:
			op = "collect"
			it := v.IntoIter()
			skip := rng.IntN(len(model) + 1)
			for range skip {
				it.Next()
			}
			v = it.Collect(GFPKernel)
			model = model[skip:]
			if skip > 0 && a.failed == failedBefore {
				capModel = uint64(len(model))
			}
		}
		if err != nil {
			if !slices.Equal(model, before) || capModel != beforeCap || v.Addr() != beforePtr {
				t.Fatalf("seed %d step %d: %s failed (%v) but the model changed", seed, step, op, err)
			}
		}
		if !slices.Equal(v.Slice(), model) || v.Cap() != capModel {
			t.Fatalf("seed %d step %d after %s (err %v): vec %v cap %d, model %v cap %d",
				seed, step, op, err, v.Slice(), v.Cap(), model, capModel)
		}
		if v.Cap() > 0 {
			raw := make([]byte, 4*len(model))
			must(t, m.ReadAt(v.Addr(), raw))
			for i, x := range model {
				if binary.LittleEndian.Uint32(raw[4*i:]) != x {
					t.Fatalf("seed %d step %d: memory element %d differs", seed, step, i)
				}
			}
		}
	}
	if err := m.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
	v.Drop()
}

// growStep is one grow of a vector: the new capacity, the buffer and the
// allocator's decision.
type growStep struct {
	cap      uint64
	addr     Addr
	decision Decision
	bucket   string
}

// growthSteps pushes bytes onto v until its capacity reaches maxCap and
// returns each grow.
func growthSteps(t *testing.T, m *Machine, v *Vec[uint8], maxCap uint64) []growStep {
	t.Helper()
	var steps []growStep
	for v.Cap() < maxCap {
		c := v.Cap()
		must(t, v.Push(uint8(v.Len()), GFPKernel))
		if v.Cap() == c {
			continue
		}
		ev := lastVecOp(m)
		if ri(ev) == nil || ev.Cause() == 0 {
			t.Fatalf("push growing to %d has no realloc linked: %+v", v.Cap(), ev)
		}
		steps = append(steps, growStep{v.Cap(), v.Addr(), ri(ev).Decision, ri(ev).Bucket})
	}
	return steps
}

// TestVVecGrowthStaysInOnePage: a VVec<u8> grows in place inside its
// one-page vmalloc area up to capacity PAGE_SIZE, and vrealloc moves it
// when it outgrows the page.
func TestVVecGrowthStaysInOnePage(t *testing.T) {
	for _, p := range []Profile{ProfileLatest, Profile612} {
		t.Run(p.String(), func(t *testing.T) {
			m := newTestMachine(t, Config{RAM: 16 * MiB, Profile: p})
			m.SetLog(&EventLog{})
			v := newVec[uint8](t, m, Vmalloc{M: m})
			steps := growthSteps(t, m, v, 2*m.PageSize())
			first := steps[0]
			if first.cap != 1 || first.decision != DecisionNew {
				t.Fatalf("first grow %+v, want a new area for capacity 1", first)
			}
			for _, s := range steps[1 : len(steps)-1] {
				if s.addr != first.addr || s.decision != DecisionGrownInPlace {
					t.Errorf("capacity %d: %v %v, want grown in place at %v", s.cap, s.addr, s.decision, first.addr)
				}
			}
			last := steps[len(steps)-1]
			if last.cap != 2*m.PageSize() || last.addr == first.addr || last.decision != DecisionMoved {
				t.Errorf("outgrowing the page: %+v, want capacity %d moved to a new area", last, 2*m.PageSize())
			}
			for i, x := range v.Slice() {
				if x != uint8(i) {
					t.Fatalf("element %d is %d after the move", i, x)
				}
			}
			v.Drop()
		})
	}
}

// TestKVecGrowthInKmalloc8: a KVec<u8> on Kmalloc grows to capacity 1, 2,
// 4 and 8 in place inside one kmalloc-8 object and moves to kmalloc-16 at
// 16 (kvec.rs doubles the capacity; krealloc stays while it fits).
func TestKVecGrowthInKmalloc8(t *testing.T) {
	for _, p := range []Profile{ProfileLatest, Profile612} {
		t.Run(p.String(), func(t *testing.T) {
			m := newTestMachine(t, Config{RAM: 16 * MiB, Profile: p})
			m.SetLog(&EventLog{})
			v := newVec[uint8](t, m, Kmalloc{M: m})
			steps := growthSteps(t, m, v, 32)
			want := []struct {
				cap      uint64
				decision Decision
				bucket   string
			}{
				{1, DecisionNew, "kmalloc-8"},
				{2, DecisionGrownInPlace, "kmalloc-8"},
				{4, DecisionGrownInPlace, "kmalloc-8"},
				{8, DecisionGrownInPlace, "kmalloc-8"},
				{16, DecisionMoved, "kmalloc-16"},
				{32, DecisionMoved, "kmalloc-32"},
			}
			if len(steps) != len(want) {
				t.Fatalf("grows %+v", steps)
			}
			for i, w := range want {
				s := steps[i]
				if s.cap != w.cap || s.decision != w.decision || s.bucket != w.bucket {
					t.Errorf("grow %d: capacity %d %v in %s, want %d %v in %s", i, s.cap, s.decision, s.bucket, w.cap, w.decision, w.bucket)
				}
				if i > 0 && i < 4 && s.addr != steps[0].addr {
					t.Errorf("capacity %d moved to %v", s.cap, s.addr)
				}
			}
			if steps[4].addr == steps[0].addr {
				t.Error("capacity 16 did not move")
			}
			if ev := lastVecOp(m); !strings.Contains(ev.Text(), "KVec<u8>::push grew capacity 16 -> 32 = max(2 * 16, 16 + 1): krealloc moved it to kmalloc-32") {
				t.Errorf("last grow: %q", ev.Text())
			}
			v.Drop()
		})
	}
}

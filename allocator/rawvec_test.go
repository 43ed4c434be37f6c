package allocator

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// vecEvents returns the events recorded since mark field by field, with
// Step and Cause cleared (Cause is checked for being set or not).
func vecEvents(t *testing.T, m *Machine, mark int) []Fields {
	t.Helper()
	var out []Fields
	for _, e := range logEvents(m.Log())[mark:] {
		if e.Kind() == EvVecOp && ri(e) != nil && e.Cause() == 0 {
			t.Errorf("event %q has a decision but no cause", e.Text())
		}
		f := e.Fields()
		f.Step, f.Cause = 0, 0
		out = append(out, f)
	}
	return out
}

// TestRawVecIsVec runs the same operations on a Vec[T] and on a RawVec of
// T's layout, on two machines alike: the buffers, elements and every event
// must be the same.
func TestRawVecIsVec(t *testing.T) {
	for _, ac := range vecAllocators()[1:] { // the kernel's allocators
		t.Run(ac.name, func(t *testing.T) {
			mt := newTestMachine(t, Config{RAM: 16 * MiB})
			mr := newTestMachine(t, Config{RAM: 16 * MiB})
			mt.SetLog(&EventLog{})
			mr.SetLog(&EventLog{})
			v := newVec[[3]byte](t, mt, ac.new(mt))
			r, err := NewRawVec(mr, ac.new(mr), Layout{Size: 3, Align: 1}, "[u8; 3]")
			must(t, err)
			e := func(i int) [3]byte { return [3]byte{byte(i), byte(i >> 8), 0xee} }
			g := GFPKernel
			for i := range 11 {
				must(t, v.Push(e(i), g))
				x := e(i)
				must(t, r.Push(x[:], g))
			}
			must(t, v.Reserve(40, g))
			must(t, r.Reserve(40, g))
			v.Pop()
			r.Pop()
			x, err1 := v.Remove(3)
			y, err2 := r.Remove(3)
			if err1 != nil || err2 != nil || !bytes.Equal(x[:], y) {
				t.Errorf("remove(3): %v %v vs %v %v", x, err1, y, err2)
			}
			z := e(99)
			must(t, v.InsertWithinCapacity(2, z))
			must(t, r.InsertWithinCapacity(2, z[:]))
			v.Retain(func(p *[3]byte) bool { return p[0]%3 != 0 })
			r.Retain(func(b []byte) bool { return b[0]%3 != 0 })
			must(t, v.Resize(30, z, g))
			must(t, r.Resize(30, z[:], g))
			must(t, v.ExtendFromSlice(v.Slice()[:4], g))
			must(t, r.ExtendFromSlice(r.Bytes()[:12], 4, g))
			v.Truncate(20)
			r.Truncate(20)
			if v.Reserve(1<<62, g) == nil || r.Reserve(1<<62, g) == nil {
				t.Error("reserve of 2^62 three-byte elements succeeded")
			}
			it, rit := v.IntoIter(), r.IntoIter()
			it.Next()
			rit.Next()
			v, r = it.Collect(g), rit.Collect(g)
			got := r.Bytes()
			want := bytesOfSlice(v.Slice())
			if !bytes.Equal(got, want) || r.Len() != v.Len() || r.Cap() != v.Cap() || r.Addr() != v.Addr() {
				t.Errorf("RawVec %x (len %d, cap %d at %v), Vec %x (len %d, cap %d at %v)",
					got, r.Len(), r.Cap(), r.Addr(), want, v.Len(), v.Cap(), v.Addr())
			}
			v.Drop()
			r.Drop()
			ev, er := vecEvents(t, mt, 0), vecEvents(t, mr, 0)
			if len(ev) != len(er) {
				t.Fatalf("%d events from the Vec, %d from the RawVec", len(ev), len(er))
			}
			for i := range ev {
				if !reflect.DeepEqual(ev[i], er[i]) {
					t.Errorf("event %d:\nVec    %+v\nRawVec %+v", i, ev[i], er[i])
				}
			}
		})
	}
}

// TestRawVecRefusesWrongElementBytes: element bytes of the wrong length are
// a caller bug, refused before anything changes.
func TestRawVecRefusesWrongElementBytes(t *testing.T) {
	m := newTestMachine(t, Config{RAM: 16 * MiB})
	m.SetLog(&EventLog{})
	r, err := NewRawVec(m, Kmalloc{M: m}, Layout{Size: 4, Align: 4}, "u32")
	must(t, err)
	must(t, r.Push([]byte{1, 2, 3, 4}, GFPKernel))
	mark := m.Log().Len()
	for name, err := range map[string]error{
		"push":                   r.Push([]byte{1}, GFPKernel),
		"push_within_capacity":   r.PushWithinCapacity(nil),
		"insert_within_capacity": r.InsertWithinCapacity(0, make([]byte, 5)),
		"resize":                 r.Resize(9, []byte{1, 2}, GFPKernel),
		"extend_from_slice":      r.ExtendFromSlice(make([]byte, 7), 2, GFPKernel),
	} {
		if !errors.Is(err, ErrBadSize) || !strings.Contains(err.Error(), "KVec<u32>::"+name+": ") {
			t.Errorf("%s with wrong bytes: %v", name, err)
		}
	}
	if m.Log().Len() != mark || r.Len() != 1 || r.Cap() != 1 {
		t.Errorf("refused calls changed something: %d events, len %d, cap %d", m.Log().Len()-mark, r.Len(), r.Cap())
	}
	if x, ok := r.At(0); !ok || !bytes.Equal(x, []byte{1, 2, 3, 4}) {
		t.Errorf("At(0) = %v, %v", x, ok)
	}
	if _, ok := r.At(1); ok {
		t.Error("At(len) found an element")
	}
	b, n := r.DrainAll()
	if !bytes.Equal(b, []byte{1, 2, 3, 4}) || n != 1 || r.Len() != 0 || r.Cap() != 1 {
		t.Errorf("DrainAll = %v, %d; len %d cap %d", b, n, r.Len(), r.Cap())
	}
	r.Drop()
}

// TestRawElementLayouts: a RawVec or RawBox takes only layouts a Rust type
// can have.
func TestRawElementLayouts(t *testing.T) {
	m := newTestMachine(t, Config{RAM: 4 * MiB})
	a := Kmalloc{M: m}
	for _, l := range []Layout{{Size: 4, Align: 0}, {Size: 6, Align: 3}, {Size: 8, Align: 1 << 30}, {Size: 6, Align: 4}, {Size: 1 << 63, Align: 1}} {
		if _, err := NewRawVec(m, a, l, ""); !errors.Is(err, ErrBadSize) {
			t.Errorf("RawVec of %+v: %v", l, err)
		}
		if _, err := NewRawBoxUninit(m, a, l, "", GFPKernel); !errors.Is(err, ErrBadSize) {
			t.Errorf("RawBox of %+v: %v", l, err)
		}
	}
	r, err := NewRawVec(m, a, Layout{Size: 24, Align: 8}, "")
	if err != nil || r.Name() != "KVec<[u8; 24]>" || r.ElemLayout() != (Layout{Size: 24, Align: 8}) {
		t.Errorf("RawVec of 24 bytes aligned to 8: %v, %q", err, r.Name())
	}
	if _, err := NewRawVec(nil, a, Layout{Size: 1, Align: 1}, ""); !errors.Is(err, ErrBadAddress) {
		t.Errorf("RawVec without a machine: %v", err)
	}
}

// TestRawBox: new_uninit, the bytes in machine memory, into_raw and
// from_raw, into_inner, and misuse of a Box that is gone.
func TestRawBox(t *testing.T) {
	eachAllocator(t, func(t *testing.T, m *Machine, a *tracked) {
		l := Layout{Size: 100, Align: 4}
		b, err := NewRawBoxUninit(m, a, l, "[u32; 25]", GFPKernel|GFPZero)
		must(t, err)
		if !b.Live() || b.Layout() != l || len(b.Bytes()) != 100 || b.Name() != containerName("Box", a, "[u32; 25]") {
			t.Fatalf("box %+v", b)
		}
		copy(b.Bytes(), "hello")
		got := make([]byte, 5)
		must(t, m.ReadAt(b.Addr(), got))
		if string(got) != "hello" {
			t.Errorf("machine memory at %v: %q", b.Addr(), got)
		}
		ptr := b.IntoRaw()
		if b.Live() || b.Addr() != 0 || b.Bytes() != nil {
			t.Error("into_raw left the Box live")
		}
		if b.Drop() {
			t.Error("drop of a Box given up by into_raw freed")
		}
		if ev := m.Log().At(m.Log().Len() - 1); ev.Kind() != EvMisuse || !strings.Contains(ev.Text(), "::drop on a Box that was already dropped") {
			t.Errorf("last event %+v, want the misuse", ev)
		}
		b, err = RawBoxFromRaw(m, a, l, "[u32; 25]", ptr)
		must(t, err)
		if x := b.IntoInner(); string(x[:5]) != "hello" || len(x) != 100 || !bytes.Equal(x[5:], make([]byte, 95)) {
			t.Errorf("into_inner = %q", x)
		}
		if b.Live() || b.IntoInner() != nil || b.IntoRaw() != 0 {
			t.Error("a Box after into_inner still gives its value")
		}
		if _, ok := b.Leak(); ok {
			t.Error("leak of a Box that is gone")
		}
		if _, err := RawBoxFromRaw(m, a, l, "", ptr+1); !errors.Is(err, ErrBadAddress) {
			t.Errorf("from_raw of a misaligned pointer: %v", err)
		}
		z, err := NewRawBoxUninit(m, a, Layout{Size: 0, Align: 8}, "()", GFPKernel)
		must(t, err)
		if z.Addr() != 8 || z.Bytes() != nil || !z.Drop() {
			t.Errorf("zero-sized box at %v", z.Addr())
		}
		k, err := NewRawBoxUninit(m, a, Layout{Size: 8, Align: 8}, "u64", GFPKernel)
		must(t, err)
		if mem, ok := k.Leak(); !ok || len(mem) != 8 {
			t.Error("leak")
		}
		// Take the leaked value back so the test's leak check passes.
		k, err = RawBoxFromRaw(m, a, Layout{Size: 8, Align: 8}, "u64", a.onlyLive(t))
		must(t, err)
		k.Drop()
	})
}

// TestRawVecFuncVariants: the ElemFunc forms store what the byte forms
// store, with the same events, and never call the function when there is
// no room (a failed grow, a full vector), so a huge element need never be
// built.
func TestRawVecFuncVariants(t *testing.T) {
	mb := newTestMachine(t, Config{RAM: 16 * MiB})
	mf := newTestMachine(t, Config{RAM: 16 * MiB})
	mb.SetLog(&EventLog{})
	mf.SetLog(&EventLog{})
	l := Layout{Size: 2, Align: 2}
	rb, err := NewRawVec(mb, Kmalloc{M: mb}, l, "u16")
	must(t, err)
	rf, err := NewRawVec(mf, Kmalloc{M: mf}, l, "u16")
	must(t, err)
	elem := func(k uint64) []byte { return []byte{byte(k), 0xa0} }
	var calls []uint64
	f := func(base uint64) ElemFunc {
		return func(k uint64, dst []byte) {
			calls = append(calls, base+k)
			copy(dst, elem(base+k))
		}
	}
	g := GFPKernel
	must(t, rb.Push(elem(7), g))
	must(t, rf.PushFunc(f(7), g))
	must(t, rb.ExtendFromSlice(append(elem(10), elem(11)...), 2, g))
	must(t, rf.ExtendFunc(2, f(10), g))
	must(t, rb.Resize(5, elem(20), g))
	must(t, rf.ResizeFunc(5, func(k uint64, dst []byte) { calls = append(calls, 20); copy(dst, elem(20)) }, g))
	must(t, rb.InsertWithinCapacity(1, elem(30)))
	must(t, rf.InsertWithinCapacityFunc(1, f(30)))
	if !bytes.Equal(rb.Bytes(), rf.Bytes()) || rb.Cap() != rf.Cap() {
		t.Fatalf("byte forms %x (cap %d), func forms %x (cap %d)", rb.Bytes(), rb.Cap(), rf.Bytes(), rf.Cap())
	}
	if want := []uint64{7, 10, 11, 20, 20, 30}; !reflect.DeepEqual(calls, want) {
		t.Errorf("f called for %v, want %v", calls, want)
	}
	calls = nil
	if rf.PushFunc(f(1), g) != nil { // len 6 == capacity: grows to 12
		t.Fatal("push failed")
	}
	must(t, rf.Resize(12, elem(0), g))
	if rf.InsertWithinCapacityFunc(0, f(2)) == nil || rf.ResizeFunc(1<<40, f(3), g) == nil || rf.ExtendFunc(1<<40, f(4), g) == nil {
		t.Error("an operation without room succeeded")
	}
	if !reflect.DeepEqual(calls, []uint64{1}) {
		t.Errorf("f called for %v without room", calls)
	}
	rb.Drop()
	rf.Drop()
}

// TestVecPushWithoutEvents: with recording off, Push stores within
// capacity without going through the event path; the elements, the
// capacities and the memory must be what they are with events on.
func TestVecPushWithoutEvents(t *testing.T) {
	for _, ac := range vecAllocators() {
		t.Run(ac.name, func(t *testing.T) {
			quiet := newTestMachine(t, Config{RAM: 16 * MiB})
			loud := newTestMachine(t, Config{RAM: 16 * MiB})
			loud.SetLog(&EventLog{})
			q := newVec[uint32](t, quiet, ac.new(quiet))
			l := newVec[uint32](t, loud, ac.new(loud))
			for i := range uint32(1000) {
				must(t, q.Push(i*2654435761, GFPKernel))
				must(t, l.Push(i*2654435761, GFPKernel))
				if q.Cap() != l.Cap() || q.Len() != l.Len() {
					t.Fatalf("push %d: len %d cap %d quiet, len %d cap %d recorded", i, q.Len(), q.Cap(), l.Len(), l.Cap())
				}
			}
			wantVec(t, q, l.Slice()...)
			q.Drop()
			l.Drop()
		})
	}
}

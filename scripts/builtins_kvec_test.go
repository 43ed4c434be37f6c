package scripts

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/allocviz/allocviz/allocator"
	"github.com/allocviz/allocviz/allocator/allocatortest"
)

// vecOps returns the EvVecOp events of step n.
func vecOps(s *Session, n int) []allocator.Event {
	var out []allocator.Event
	for _, e := range stepEvents(s, n) {
		if e.Kind() == allocator.EvVecOp {
			out = append(out, e)
		}
	}
	return out
}

func TestKvecGrowsInOneKmalloc8Object(t *testing.T) {
	s := runScript(t, `
v = kvec(1)
check(v.len == 0 and v.cap == 0 and v.ptr == None and v.addr == 1, "Vec::new allocates nothing: as_ptr is the dangling alignment")
check(v.name == "KVec<u8>" and v.allocator == "Kmalloc" and v.elem_size == 1 and v.live, "attributes")
caps = []
for i in range(8):
    check(v.push(i) == True, "push %d" % i)
    caps.append(v.cap)
    if i == 0:
        p = v.ptr
check(caps == [1, 2, 4, 4, 8, 8, 8, 8], "capacities %s" % caps)
check(v.ptr == p and p.owner == "kmalloc-8" and p.size == 8 and p.live, "capacities 1 to 8 share one kmalloc-8 object")
check(read(p, 0, 8) == bytes([0, 1, 2, 3, 4, 5, 6, 7]), "the elements are in the object's memory")
for i in range(8, 9):
    v.push(i)
check(v.cap == 16 and v.ptr != p and v.ptr.owner == "kmalloc-16", "capacity 16 moves to kmalloc-16")
check(not p.live, "the kmalloc-8 pointer is freed by the move")
check(read(v.ptr, 0, 9) == bytes(range(9)), "krealloc copied the elements")
check(list(v) == list(range(9)) and len(v) == 9 and v[8] == 8, "len, indexing and iteration read the elements")
`)
	noFailures(t, s)
	// Each push is a step with its EvVecOp; those that grew link to the
	// EvRealloc of their own step.
	grew := 0
	for _, st := range allSteps(s) {
		if !strings.HasPrefix(st.Op, "KVec<u8>::push(") {
			continue
		}
		ops := vecOps(s, st.N)
		if len(ops) != 1 || ops[0].Op() != "push" {
			t.Fatalf("step %d %s: vec ops %+v", st.N, st.Op, ops)
		}
		if ops[0].Cause() == 0 {
			continue
		}
		grew++
		cause := s.Log().At(int(ops[0].Cause()) - 1)
		if cause.Kind() != allocator.EvRealloc || cause.Step() != st.N || *ri(ops[0]) != *ri(cause) {
			t.Errorf("step %d: cause %+v", st.N, cause)
		}
	}
	if grew != 5 { // capacities 1, 2, 4, 8, 16
		t.Errorf("%d pushes grew the vector, want 5", grew)
	}
	if st := s.Step(1); st.Op != "KVec<u8>::new()" || st.Result != "KVec<u8>[]" {
		t.Errorf("kvec step %+v", st)
	}
}

func TestKvecOnVmallocStaysInOnePage(t *testing.T) {
	s := runScript(t, `
ps = machine().page_size
v = kvec(1, allocator="Vmalloc")
v.push(1)
p = v.ptr
check(p.owner == "vmalloc" and p.area.nr_pages == 1 and p.size == 1, "one page for one byte")
check(v.resize(ps, 7) == True and v.cap == ps, "resize to a page")
check(v.ptr == p and p.size == ps and p.area.nr_pages == 1, "still the same page: vrealloc grew in place")
check(v.push(9) == True and v.cap == 2 * ps, "one more byte doubles the capacity")
check(v.ptr.area.nr_pages == 2 and v.ptr.size == 2 * ps, "now two pages")
check(read(v.ptr, ps - 1, 2) == b"\x07\x09", "the bytes came along")
q = v.ptr
check(drop(v) == True and not q.live and v.ptr == None and not v.live, "drop frees the area")
check(v.len == 0 and v.cap == 0, "a dropped vector has nothing")
`)
	noFailures(t, s)
	drop := stepOf(t, s, "drop(v)")
	wantEvent(t, s, drop, allocator.EvVecOp, "VVec<u8> dropped 4097 elements and freed the buffer")
	if _, ok := findEvent(stepEvents(s, drop), allocator.EvVmapFree); !ok {
		t.Error("drop did not vfree the area")
	}
}

func TestKvecMethods(t *testing.T) {
	s := runScript(t, `
v = kvec(2)
check(v.name == "KVec<u16>", "2-byte elements are u16")
check(v.extend([1, 2, 3]) == True and list(v) == [1, 2, 3] and v.cap == 3, "extend from empty reserves exactly")
check(v.extend(b"\x04\x00\x05\x00") == True and list(v) == [1, 2, 3, 4, 5], "bytes extend by whole elements")
check(v.cap == 6, "max(2 * 3, 3 + 2)")
check(v.pop() == 5 and v.len == 4 and v.cap == 6, "pop keeps the capacity")
check(v.remove(0) == 1 and list(v) == [2, 3, 4], "remove shifts down")
check(v.insert(1, 0xabcd) == True and list(v) == [2, 0xabcd, 3, 4], "insert within capacity shifts up")
check(v.push(-1) == True and v[4] == 0xffff, "a negative int is stored in two's complement")
check(read(v.ptr, 2, 2) == b"\xcd\xab", "little-endian in memory")
check(v.push(b"\x01\x02") == True and v[5] == 0x0201, "bytes of the element size")
check(v.insert(0, 1) == False and v.len == 6, "full: insert_within_capacity never allocates")
check(v.insert(7, 1) == False, "index past len")
check(v.remove(6) == None, "remove past the end")
check(v.reserve(1) == True and v.cap == 12, "reserve(1) on a full vector doubles")
check(v.reserve(6) == True and v.cap == 12, "enough room: reserve does nothing")
check(v.resize(8, 9) == True and list(v)[6:] == [9, 9] and v.cap == 12, "resize up within capacity")
check(v.truncate(2) == None and v.len == 2 and v.cap == 12, "truncate keeps the capacity")
check(v.truncate(5) == None and v.len == 2, "truncate past len does nothing")
check(v.resize(1, 0) == True and list(v) == [2], "resize down truncates")
check(v.clear() == None and v.len == 0 and v.cap == 12, "clear keeps the capacity")
check(v.pop() == None, "pop on empty")
w = kvec(3)
check(w.name == "KVec<[u8; 3]>" and w.push(0x030201) and w.push(b"abc") and w[0] == 0x030201, "[u8; 3]")
check(read(w.ptr, 0, 6) == b"\x01\x02\x03abc", "packed at a 3-byte stride")
x = kvec(16)
check(x.push((1 << 128) - 1) and x[0] == (1 << 128) - 1 and x.name == "KVec<[u8; 16]>", "wide elements are ints too")
check(str(v) == "KVec<u16>[]" and str(w) == "KVec<[u8; 3]>[197121, 6513249]", "printing")
check(type(v) == "kvec" and "push" in dir(v) and "ptr" in dir(v), "type and dir")
`)
	noFailures(t, s)
	for call, want := range map[string]string{
		"v.pop()":        "KVec<u16>::pop: len 5 -> 4; capacity stays 6 (a Vec never shrinks)",
		"v.remove(0)":    "KVec<u16>::remove took index 0, shifting 3 elements down",
		"v.insert(0, 1)": "KVec<u16>::insert_within_capacity refused: len 6 == capacity",
		"v.insert(7, 1)": "refused: index 7 > len 6 (the index is checked before the capacity)",
		"v.remove(6)":    "KVec<u16>::remove refused: index 6 >= len 6",
		"v.reserve(6)":   "KVec<u16>::reserve(6) did nothing: capacity 12 - len 6 >= 6",
		"v.truncate(2)":  "KVec<u16>::truncate: len 8 -> 2",
	} {
		var n int
		for _, st := range allSteps(s) {
			if st.Call == call {
				n = st.N
				break
			}
		}
		if n == 0 {
			t.Errorf("no step for %q", call)
			continue
		}
		wantEvent(t, s, n, allocator.EvVecOp, want)
	}
	results := map[string]string{}
	for _, st := range allSteps(s) {
		results[st.Op] = st.Result
	}
	for op, want := range map[string]string{
		"KVec<u16>::insert_within_capacity(0, 1)": "Err(InsertError::OutOfCapacity)",
		"KVec<u16>::insert_within_capacity(7, 1)": "Err(InsertError::IndexOutOfBounds)",
		"KVec<u16>::remove(6)":                    "Err(RemoveError)",
		"KVec<u16>::reserve(1, GFP_KERNEL)":       "True",
	} {
		if results[op] != want {
			t.Errorf("step %s: result %q, want %q", op, results[op], want)
		}
	}
}

func TestKvecAllocationFailureReturnsFalse(t *testing.T) {
	s := runScript(t, `
v = kvec(8)
v.push(1)
p = v.ptr
check(v.reserve(1 << 30) == False, "8 GiB: kmalloc cannot")
check(v.len == 1 and v.cap == 1 and v.ptr == p and p.live, "a failed reserve changes nothing")
check(v.push(2, GFP_NOWAIT) == True, "push still works")
check(v.reserve((1 << 64) - 1) == False, "len + additional overflows usize")
check(v.reserve(1 << 61) == False, "2^61 u64 elements overflow usize")
check(v.reserve(1 << 60) == False, "2^60 u64 elements are more than isize::MAX bytes")
check(v.resize(1 << 30, 0) == False and v.len == 2, "resize that cannot allocate")
check(v.extend([0] * 10, GFP_KERNEL) == True, "extend")
w = kvec(1, allocator="Vmalloc")
check(w.push(1) == True and w.reserve(1 << 40) == False and w.cap == 1, "vmalloc too")
`)
	noFailures(t, s)
	n := stepOf(t, s, "v.reserve(1 << 30)")
	if st := s.Step(n); st.Result != "Err(AllocError)" || st.Err != "" {
		t.Errorf("failed reserve step %+v", st)
	}
	wantEvent(t, s, n, allocator.EvVecOp, "KVec<u64>::reserve returned AllocError: growing capacity 1 -> 1073741825 failed (krealloc failed); the vector is unchanged (len 1, capacity 1)")
	wantEvent(t, s, stepOf(t, s, "v.reserve((1 << 64) - 1)"), allocator.EvVecOp, "overflows usize")
	wantEvent(t, s, stepOf(t, s, "v.reserve(1 << 61)"), allocator.EvVecOp, "2305843009213693954 elements of 8 bytes overflow usize")
	wantEvent(t, s, stepOf(t, s, "v.reserve(1 << 60)"), allocator.EvVecOp, "more than isize::MAX")
	wantEvent(t, s, stepOf(t, s, "v.resize(1 << 30, 0)"), allocator.EvVecOp, "KVec<u64>::resize returned AllocError")
	if err := s.Machine().CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

func TestKvecUseAfterDropIsMisuse(t *testing.T) {
	s := runScript(t, `
v = kvec(4)
v.push(1)
check(drop(v) == True, "drop")
check(v.push(2) == False, "push after drop")
check(v.pop() == None and v.remove(0) == None and v.insert(0, 1) == False, "the rest after drop")
check(v.reserve(1) == False and v.resize(2, 0) == False and v.extend([1]) == False, "allocating methods after drop")
check(v.truncate(0) == None and v.clear() == None, "truncate and clear after drop")
check(drop(v) == False, "a second drop")
check(str(v).startswith("KVec<u32>(dropped in step "), "printing a dropped vector")
check(drop(None) == None, "drop(None) does nothing")
b = kbox(24)
check(drop(b) == True and b.ptr == None and not b.live, "drop a box")
check(drop(b) == False, "a second drop of a box")
`)
	noFailures(t, s)
	misuse := eventsOf(s, allocator.EvMisuse)
	if len(misuse) != 11 {
		var texts []string
		for _, e := range misuse {
			texts = append(texts, e.Text())
		}
		t.Fatalf("%d misuse events, want 11 (9 methods, 2 drops):\n%s", len(misuse), strings.Join(texts, "\n"))
	}
	if want := "KVec<u32>::push on a Vec that was already dropped in step 3; ignored"; !strings.HasPrefix(misuse[0].Text(), want) {
		t.Errorf("misuse %q, want %q", misuse[0].Text(), want)
	}
	if want := "drop of a KVec<u32> that was already dropped in step 3; ignored"; !strings.HasPrefix(misuse[9].Text(), want) {
		t.Errorf("misuse %q, want %q", misuse[9].Text(), want)
	}
	if want := "KBox<[u8; 24]>::drop on a Box that was already dropped"; !strings.HasPrefix(misuse[10].Text(), want) {
		t.Errorf("misuse %q, want %q", misuse[10].Text(), want)
	}
	if got := len(eventsOf(s, allocator.EvObjFree)); got != 2 {
		t.Errorf("%d objects freed, want 2 (no double free)", got)
	}
}

func TestKvecScriptErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{`kvec(1, allocator="Slab")`, `kvec: allocator "Slab" is not one of Kmalloc, Vmalloc, KVmalloc`},
		{`kvec(-1)`, `kvec: for parameter elem_size: -1 is not a usize (0 to 2^64-1)`},
		{`kvec("1")`, `kvec: for parameter elem_size: got string, want int`},
		{`kvec(1 << 63)`, `kvec: elem_size 9223372036854775808 exceeds isize::MAX: no Rust type is that large`},
		{`kvec(1).push(256)`, `push: for parameter x: 256 does not fit in an element of 1 bytes`},
		{`kvec(1).push(-129)`, `push: for parameter x: -129 does not fit in an element of 1 bytes`},
		{`kvec(2).push(b"a")`, `push: for parameter x: 1 bytes given for an element of 2`},
		{`kvec(2).push("ab")`, `push: for parameter x: got string, want int or bytes`},
		{`kvec(2).push()`, `push: missing argument for x`},
		{`kvec(2).remove(-1)`, `remove: for parameter i: -1 is not a usize (0 to 2^64-1)`},
		{`kvec(2).extend(b"abc")`, `extend: for parameter xs: 3 bytes are not a whole number of 2-byte elements`},
		{`kvec(2).extend([1, "x"])`, `extend: for parameter xs: element 1: got string, want int or bytes`},
		{`kvec(2).extend(5)`, `extend: for parameter xs: got int, want bytes or a list of ints or bytes`},
		{`kvec(0).push(1)`, `push: for parameter x: 1 does not fit in an element of 0 bytes`},
		{`drop(1)`, `drop: for parameter x: got int, want kvec, kbox or None`},
		{`kbox(-1)`, `kbox: for parameter size: -1 is not a usize (0 to 2^64-1)`},
		{`kbox(1 << 63)`, `kbox: size 9223372036854775808 exceeds isize::MAX: no Rust type is that large`},
		{`kbox(8, allocator="kmalloc")`, `kbox: allocator "kmalloc" is not one of Kmalloc, Vmalloc, KVmalloc`},
		{`{kvec(1): 1}`, `unhashable type: kvec`},
	} {
		s, err := runScriptErr(t, Options{}, "x = 1\n"+tc.src+"\n")
		if !strings.Contains(err.Msg, tc.want) || !strings.HasPrefix(err.Pos, "test.star:2:") {
			t.Errorf("%s: error %v, want %q", tc.src, err, tc.want)
		}
		// A script error in the arguments takes no step of its own.
		for _, st := range allSteps(s) {
			if st.Err != "" {
				t.Errorf("%s: step %+v carries the error", tc.src, st)
			}
		}
	}
}

func TestKvecZeroSizedNeverAllocates(t *testing.T) {
	s := runScript(t, `
v = kvec(0)
for i in range(3):
    check(v.push(0) == True, "push")
check(v.name == "KVec<()>" and v.len == 3 and v.cap == (1 << 64) - 1 and v.ptr == None, "usize::MAX capacity, no buffer")
check(v.push(b"") == True and v.pop() == 0 and v.extend(b"") == True, "zero-sized values")
check(v.reserve(1) == True, "room for more")
check(v.reserve((1 << 64) - 1) == False, "but not past usize::MAX")
check(drop(v) == True, "drop")
`)
	noFailures(t, s)
	for _, kind := range []allocator.EventKind{allocator.EvObjAlloc, allocator.EvObjFree} {
		if evs := eventsOf(s, kind); len(evs) != 0 {
			t.Errorf("a zero-sized vector caused %v events: %+v", kind, evs)
		}
	}
	// Only drop calls the allocator: A::free of a zero-size layout passes
	// NULL, and krealloc(NULL, 0) frees nothing.
	drop := stepOf(t, s, "drop(v)")
	for _, e := range eventsOf(s, allocator.EvRealloc) {
		if e.Step() != drop || ri(e).Decision != allocator.DecisionFreed {
			t.Errorf("realloc outside drop: %+v", e)
		}
	}
	wantEvent(t, s, drop, allocator.EvVecOp, "KVec<()> dropped 3 elements; it had no buffer, so the free of a zero-size layout did nothing")
}

func TestKbox(t *testing.T) {
	s := runScript(t, `
b = kbox(100)
check(type(b) == "kbox" and b.name == "KBox<[u8; 100]>" and b.size == 100 and b.live, "a KBox")
p = b.ptr
check(p.owner == "kmalloc-128" and p.size == 100 and p.addr == b.addr, "in kmalloc-128, 100 bytes usable by KASAN's measure")
check(write(p, 0, "hello") and read(p, 0, 5) == b"hello", "write and read through ptr")
check(write(p, 100, "x") == False, "KASAN: past the 100 bytes")
z = kbox(4096, allocator="Vmalloc", flags=GFP_KERNEL | __GFP_ZERO)
check(z.name == "VBox<[u8; 4096]>" and z.ptr.owner == "vmalloc" and z.ptr.area.nr_pages == 1, "a VBox")
check(read(z.ptr, 0, 4096) == bytes([0] * 4096), "__GFP_ZERO")
e = kbox(0)
check(e.ptr == None and e.addr == 1 and e.size == 0, "a zero-sized Box has the dangling pointer and no memory")
check(drop(e) == True, "dropping it frees nothing")
huge = (machine().page_size << MAX_PAGE_ORDER) + 1
check(kbox(huge, flags=GFP_KERNEL | __GFP_NOWARN) == None, "KMALLOC_MAX_SIZE + 1 fails")
check(drop(b) == True and not p.live, "drop frees")
check(read(p, 0, 1) == None, "use after drop is reported by KASAN")
check(drop(z) == True, "drop the VBox")
`)
	noFailures(t, s)
	n := stepOf(t, s, "kbox(huge, flags=GFP_KERNEL | __GFP_NOWARN)")
	if st := s.Step(n); st.Result != "Err(AllocError)" || st.Op != "KBox<[u8; 4194305]>::new_uninit(GFP_KERNEL|__GFP_NOWARN)" {
		t.Errorf("failed kbox step %+v", st)
	}
	wantEvent(t, s, n, allocator.EvVecOp, "KBox<[u8; 4194305]>::new_uninit returned AllocError: 4194305 bytes aligned to 1 could not be had")
	if _, ok := findEvent(stepEvents(s, n), allocator.EvWarn); ok {
		t.Error("__GFP_NOWARN, yet a warning")
	}
	wantEvent(t, s, stepOf(t, s, "kbox(100)"), allocator.EvVecOp, "KBox<[u8; 100]>::new_uninit allocated Layout::new::<[u8; 100]>() (100 bytes, align 1) at 0xffff888")
	wantEvent(t, s, stepOf(t, s, "drop(e)"), allocator.EvVecOp, "freed a zero-size layout, which does nothing")
	if err := s.Machine().CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

// TestKvecEventsAreTheGoVecs runs the same operations through kvec(4) and
// through a Go Vec[uint32] on a machine of the same configuration: the
// allocator and vector events must be the same, field for field.
func TestKvecEventsAreTheGoVecs(t *testing.T) {
	for _, alloc := range []string{"Kmalloc", "Vmalloc", "KVmalloc"} {
		t.Run(alloc, func(t *testing.T) {
			s := runScript(t, fmt.Sprintf(`
v = kvec(4, allocator=%q)
for i in range(9):
    v.push(i)
v.reserve(20)
v.pop()
v.remove(2)
v.insert(0, 7)
v.truncate(3)
v.resize(40, 5)
v.extend([1, 2, 3])
v.clear()
v.reserve(1 << 62)
drop(v)
`, alloc))
			m, err := allocator.NewMachine(allocator.Config{})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			log := &allocator.EventLog{}
			m.SetLog(log)
			boot := log.Len()
			a, _ := rustAllocator(m, alloc)
			v, err := allocator.NewVec[uint32](m, a)
			if err != nil {
				t.Fatal(err)
			}
			g := allocator.GFPKernel
			for i := range 9 {
				v.Push(uint32(i), g)
			}
			v.Reserve(20, g)
			v.Pop()
			v.Remove(2)
			v.InsertWithinCapacity(0, 7)
			v.Truncate(3)
			v.Resize(40, 5, g)
			v.ExtendFromSlice([]uint32{1, 2, 3}, g)
			v.Clear()
			v.Reserve(1<<62, g)
			v.Drop()

			var got, want []allocator.Fields
			for _, e := range allocatortest.Events(s.Log())[s.Machine().BootEvents():] {
				if e.Kind() != allocator.EvStep && e.Kind() != allocator.EvCheck {
					got = append(got, e.Fields())
				}
			}
			for _, e := range allocatortest.Events(log)[boot:] {
				want = append(want, e.Fields())
			}
			if len(got) != len(want) {
				t.Fatalf("%d events from the script, %d from the Go Vec", len(got), len(want))
			}
			for i := range got {
				g, w := got[i], want[i]
				if (g.Cause == 0) != (w.Cause == 0) {
					t.Errorf("event %d: cause %d vs %d", i, g.Cause, w.Cause)
				}
				g.Step, w.Step, g.Cause, w.Cause = 0, 0, 0, 0
				if !reflect.DeepEqual(g, w) {
					t.Errorf("event %d:\nscript %+v\nGo Vec %+v", i, g, w)
				}
			}
		})
	}
}

func TestKvecRebuild(t *testing.T) {
	s := runScript(t, `
v = kvec(1)
for i in range(20):
    v.push(i)
b = kbox(64)
drop(v)
`)
	for _, k := range []int{0, 5, 17, s.NumSteps()} {
		ns, err := s.Rebuild(k)
		if err != nil {
			t.Fatalf("rebuild %d: %v", k, err)
		}
		if err := ns.Machine().CheckInvariants(); err != nil {
			t.Error(err)
		}
		ns.Close()
	}
}

func TestKvecAttributesAreNotSteps(t *testing.T) {
	s := runScript(t, "v = kvec(1)\nv.push(1)\n")
	n := s.NumSteps()
	if _, err := s.Exec("x = (v.len, v.cap, v.ptr, v.addr, v.name, v.live, v.elem_size, v.allocator, len(v), v[0], list(v), str(v))"); err != nil {
		t.Fatal(err)
	}
	if s.NumSteps() != n {
		t.Errorf("reading attributes took %d steps", s.NumSteps()-n)
	}
	if _, err := s.Exec("v.push(2)"); err != nil || s.NumSteps() != n+1 {
		t.Errorf("a method call is one step: %v, %d steps", err, s.NumSteps()-n)
	}
}

func TestKvecOnKVmalloc(t *testing.T) {
	s := runScript(t, `
ps = machine().page_size
kmax = ps << MAX_PAGE_ORDER
v = kvec(1, allocator="KVmalloc")
check(v.name == "KVVec<u8>" and v.allocator == "KVmalloc", "a KVVec")
for i in range(9):
    v.push(i)
check(v.ptr.owner == "kmalloc-16" and not is_vmalloc_addr(v.ptr), "small: kmalloc, like a KVec")
check(v.resize(2 * ps + 1, 1) == True and v.ptr.owner == "large kmalloc", "past two pages: still kmalloc, as pages")
p = v.ptr
check(v.reserve(kmax) == True and is_vmalloc_addr(v.ptr) and v.ptr.owner == "vmalloc", "past KMALLOC_MAX_SIZE: vmalloc")
check(not p.live and read(v.ptr, 0, 9) == bytes(range(9)), "the large kmalloc was freed after the copy")
q = v.ptr
check(v.push(1) == True and v.ptr == q, "within capacity: no realloc")
check(v.resize(v.cap + 1, 0) == True and is_vmalloc_addr(v.ptr), "vmalloc memory stays vmalloc: kvrealloc is vrealloc now")
b = kbox(kmax + 1, allocator="KVmalloc")
check(b.name == "KVBox<[u8; %d]>" % (kmax + 1) and is_vmalloc_addr(b.ptr) and b.ptr.area.nr_pages == kmax // ps + 1, "a KVBox past KMALLOC_MAX_SIZE is vmalloc")
check(kbox(kmax + 1, flags=GFP_KERNEL | __GFP_NOWARN) == None, "the KBox of it fails")
check(drop(b) and drop(v), "drop both")
`)
	noFailures(t, s)
	n := stepOf(t, s, "v.reserve(kmax)")
	wantEvent(t, s, n, allocator.EvVecOp, "KVVec<u8>::reserve(4194304) grew capacity 8193 -> 4202497 = max(2 * 8193, 8193 + 4194304): kvrealloc moved it to vmalloc")
	if ev := vecOps(s, n); len(ev) != 1 || ri(ev[0]) == nil || ri(ev[0]).Func != "kvrealloc" {
		t.Errorf("the reserve's event does not carry kvrealloc's decision: %+v", ev)
	}
	if err := s.Machine().CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

// growths returns the realloc decision of each EvVecOp of the vector
// called name (KVec<u8>) that caused one, in order, as "decision bucket".
func growths(s *Session, name string) []string {
	var out []string
	for _, e := range eventsOf(s, allocator.EvVecOp) {
		if strings.HasPrefix(e.Text(), name+"::") && ri(e) != nil {
			out = append(out, ri(e).Decision.String()+" "+ri(e).Bucket)
		}
	}
	return out
}

// TestKvecScenariosShowWhatTheyClaim checks that the Box and Vec lessons
// are made of the events they narrate, on 4 KiB and 16 KiB pages and on
// the 6.12 profile.
func TestKvecScenariosShowWhatTheyClaim(t *testing.T) {
	run := func(t *testing.T, name string, cfg allocator.Config) *Session {
		t.Helper()
		s := runScenario(t, name, cfg)
		if countChecks(s) < 8 {
			t.Errorf("%s: only %d checks", name, countChecks(s))
		}
		if err := s.Machine().CheckInvariants(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		return s
	}
	for _, cfg := range []allocator.Config{{PageSize: 4096}, {PageSize: 16384}, {Profile: allocator.Profile612}} {
		t.Run(fmt.Sprint(cfg.PageSize, cfg.Profile), func(t *testing.T) {
			s := run(t, "kvec-growth", cfg)
			small := []string{"new kmalloc-8", "grown in place kmalloc-8", "grown in place kmalloc-8", "grown in place kmalloc-8", "moved kmalloc-16"}
			for _, name := range []string{"KVec<u8>", "KVVec<u8>"} {
				if got := growths(s, name); len(got) < 5 || !reflect.DeepEqual(got[:5], small) {
					t.Errorf("%s grew by %q, want %q first", name, got, small)
				}
			}
			if got := growths(s, "VVec<u8>"); len(got) < 5 || got[0] != "new vmalloc" || got[4] != "grown in place vmalloc" {
				t.Errorf("VVec<u8> grew by %q, want a new area grown in place", got)
			}
			if got := growths(s, "KVVec<u8>"); got[len(got)-1] != "moved vmalloc" {
				t.Errorf("KVVec<u8> did not move to vmalloc: %q", got)
			}
			if got := growths(s, "KVec<u8>"); got[len(got)-1] != "failed " {
				t.Errorf("KVec<u8>'s reserve past KMALLOC_MAX_SIZE did not fail: %q", got)
			}
			if len(eventsOf(s, allocator.EvWarn)) != 1 {
				t.Errorf("%d warnings, want the KVec's alone", len(eventsOf(s, allocator.EvWarn)))
			}

			s = run(t, "kbox-huge", cfg)
			var failed, kv bool
			for _, e := range eventsOf(s, allocator.EvVecOp) {
				failed = failed || strings.HasPrefix(e.Text(), "KBox<[u8; ") && strings.Contains(e.Text(), "::new_uninit returned AllocError")
				kv = kv || strings.HasPrefix(e.Text(), "KVBox<[u8; ") && ri(e) != nil && ri(e).Bucket == "vmalloc"
			}
			if !failed || !kv {
				t.Errorf("kbox-huge: KBox failed %v, KVBox in vmalloc %v", failed, kv)
			}
			if len(eventsOf(s, allocator.EvWarn)) != 0 {
				t.Errorf("kbox-huge: warnings despite __GFP_NOWARN")
			}
		})
	}
}

// TestKvecBufferFreedBehindItsBack: a script may free a vector's or box's
// memory through its ptr (or the address). The vector then reports every
// use as a use after free without touching the memory (a vfree'd buffer
// is not mapped), and drop is the double free the kernel would do, which
// the allocator reports, or refused when the memory has a new owner.
func TestKvecBufferFreedBehindItsBack(t *testing.T) {
	s := runScript(t, `
v = kvec(1, allocator="Vmalloc")
v.extend([1, 2, 3])
check(vfree(v.ptr), "vfree the buffer behind the vector's back")
check(v.push(4) == False and v.pop() == None and v.reserve(9000) == False, "uses are refused")
check(len(v) == 0 and list(v) == [] and "freed behind its back" in str(v), "reading it touches nothing")
check(drop(v) == False, "drop frees it twice: the allocator refuses")

k = kvec(8)
k.push(1)
check(kfree(k.ptr.addr), "kfree by address")
check(k.push(2) == False, "a use after a free by address")
check(drop(k) == False, "double free refused")

r = kvec(8)
r.push(1)
old = r.ptr
kfree(old)
q = kmalloc(8)
check(q.addr == old.addr, "the next kmalloc-8 object is the freed buffer")
check(drop(r) == False and q.live, "drop does not free the new owner's object")

b = kbox(64, allocator="KVmalloc")
kvfree(b.ptr)
check(drop(b) == False and not b.live, "a box freed behind its back: drop is a refused double free")
c = kbox(24)
kfree(c.ptr)
q2 = kmalloc(24)
check(drop(c) == False and q2.live and not c.live, "drop refuses to free the new owner's object")
check(drop(c) == False, "and a second drop is misuse")
`)
	noFailures(t, s)
	var texts []string
	for _, e := range eventsOf(s, allocator.EvMisuse) {
		texts = append(texts, e.Text())
	}
	all := strings.Join(texts, "\n")
	for _, want := range []string{
		"BUG: KASAN: use-after-free in VVec<u8>::push: its buffer at 0xffffc90000000000 was freed in step 3 behind the vector's back; ignored",
		"BUG: KASAN: use-after-free in KVec<u64>::push: its buffer at 0xffff888001000000 was freed behind the vector's back; ignored",
		"has been handed out again (object 0 of kmalloc-8, 8 bytes)",
		"drop of a KBox<[u8; 24]> whose memory was freed behind its back and handed out again; ignored",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("no misuse %q in:\n%s", want, all)
		}
	}
	if err := s.Machine().CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

// TestKvecHugeElements: an element may be any size a Rust type can have;
// one larger than the machine can hold is never built in Go memory, and
// every operation that would store it fails as the kernel's would.
func TestKvecHugeElements(t *testing.T) {
	s := runScript(t, `
v = kvec(1 << 40)
check(v.name == "KVec<[u8; 1099511627776]>", "a terabyte element type")
check(v.push(0) == False and v.push(-1) == False and v.push(1 << 100) == False, "push: AllocError")
check(v.resize(1, 7) == False and v.extend([1, 2]) == False and v.reserve(1) == False, "no room can be had")
check(v.insert(0, 1) == False and v.len == 0 and v.cap == 0, "insert never allocates")
check(str(v) == "KVec<[u8; 1099511627776]>(len 0, cap 0)", "printing")
w = kvec(4096)
check(w.push(-2) and read(w.ptr, 0, 2) == b"\xfe\xff" and read(w.ptr, 4094, 2) == b"\xff\xff", "a negative int fills a page-wide element with 0xff")
check(w.push(b"\x01" + bytes([0] * 4095)) and w[1] == 1, "bytes of the element size")
check(drop(v) and drop(w), "drop")
`)
	noFailures(t, s)
	wantEvent(t, s, stepOf(t, s, "v.push(0)"), allocator.EvVecOp, "KVec<[u8; 1099511627776]>::push returned AllocError: growing capacity 0 -> 1 failed")
}

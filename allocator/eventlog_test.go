package allocator

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"unsafe"
)

// TestRecordIsSmallAndPointerFree: the log's records are what a million
// steps cost, so they stay at 48 bytes with no pointer for the garbage
// collector to follow.
func TestRecordIsSmallAndPointerFree(t *testing.T) {
	if n := unsafe.Sizeof(record{}); n > 48 {
		t.Errorf("a record is %d bytes, want at most 48", n)
	}
	rt := reflect.TypeFor[record]()
	for i := range rt.NumField() {
		switch rt.Field(i).Type.Kind() {
		case reflect.Pointer, reflect.String, reflect.Slice, reflect.Map, reflect.Interface, reflect.Func, reflect.Chan:
			t.Errorf("record.%s is a %v: records hold no pointers", rt.Field(i).Name, rt.Field(i).Type)
		}
	}
}

// TestKindTable: every kind is described, and its name reads back.
func TestKindTable(t *testing.T) {
	seen := map[string]bool{}
	for k := EventKind(1); k < numEventKinds; k++ {
		ki := &kinds[k]
		if ki.name == "" || seen[ki.name] || ki.class == ClassNone {
			t.Errorf("kind %d: name %q, class %v", k, ki.name, ki.class)
		}
		seen[ki.name] = true
		if got, ok := ParseEventKind(ki.name); !ok || got != k {
			t.Errorf("ParseEventKind(%q) = %v, %v", ki.name, got, ok)
		}
		if ki.stored != inNone && ki.text != nil {
			t.Errorf("%v both keeps its text and writes it", k)
		}
		if ki.fields&fOwner != 0 && ki.fields&(fList|fDecision) != 0 || ki.fields&fList != 0 && ki.fields&fDecision != 0 {
			t.Errorf("%v has more than one of owner, list and decision, which share a slot", k)
		}
	}
	if _, ok := ParseEventKind("nonsense"); ok {
		t.Error("ParseEventKind accepted a name no kind has")
	}
}

// busyLog records a session that makes every kind of event.
func busyLog(t *testing.T, cfg Config) *EventLog {
	t.Helper()
	m := newTestMachine(t, cfg)
	log := &EventLog{}
	m.SetLog(log)
	step := 0
	begin := func(op string) {
		step++
		m.BeginStep(step, "t.star:1:1", op)
	}
	begin("say")
	m.Say("hello")
	step++
	m.BeginTraceStep(step, &TraceLine{File: "trace.txt", Line: 12, TS: 2422_856103_417, Task: "ls", PID: 5302, CPU: 0,
		CallSite: "getname_flags.part.0+0x24/0x1f0"}, "replay")
	placed, _ := m.AllocPagesAt(0x1005, 0, GFPKernel, "where the trace had it")
	m.FreeSynthetic(placed, "allocated again at line 40")
	m.Check(true, "fine")
	m.Check(false, "not fine")
	begin("cpu")
	m.SetCPU(1)
	begin("pages")
	p, _ := m.AllocPages(3, GFPKernel)
	m.FreePages(p, 3)
	m.FreePages(p, 3)
	m.AllocPages(MaxPageOrder+1, GFPKernel)
	// Unmovable pages fill most of the pageblocks the first one claimed,
	// leaving less than half of the last free; then a movable allocation
	// with no Movable block left cannot claim it and steals; the failure
	// at the end drains the pcp lists.
	pb := uint64(1) << m.PageblockOrder()
	var unmovable []Addr
	for i := uint64(0); i < pb+pb*25/32; i++ {
		q, err := m.AllocPages(0, GFPKernel|GFPNoWarn)
		if err != nil {
			break
		}
		unmovable = append(unmovable, q)
	}
	var movable []Addr
	for {
		q, err := m.AllocPages(0, GFPHighUserMovable|GFPNoWarn)
		if err != nil {
			break
		}
		movable = append(movable, q)
	}
	for _, q := range append(movable, unmovable...) {
		m.FreePages(q, 0)
	}
	begin("slub")
	c, _ := m.KmemCacheCreate("t", 100, 0, 0)
	var objs []Addr
	for range 80 {
		o, _ := m.KmemCacheAlloc(c, GFPKernel)
		objs = append(objs, o)
	}
	for _, o := range objs {
		m.KmemCacheFree(c, o)
	}
	m.KmemCacheFree(c, objs[0])
	m.KmemCacheDestroy(c)
	begin("kmalloc")
	k, _ := m.Kmalloc(64, GFPKernel)
	k, _ = m.Krealloc(k, 1000, GFPKernel)
	m.Kfree(k)
	m.Kfree(k)
	big, _ := m.Kmalloc(100000, GFPKernel)
	m.Kfree(big)
	m.Kmalloc(1<<40, GFPKernel|GFPNoWarn)
	begin("faults")
	m.Ask(1, "Will kmalloc(64, GFP_ATOMIC) succeed?", []string{"yes", "no"})
	fs := DefaultFailSlab
	fs.Probability = 100
	if err := m.SetFailSlab(fs); err != nil {
		t.Fatal(err)
	}
	m.Kmalloc(64, GFPAtomic)
	m.Answer(1, "no")
	fp := DefaultFailPageAlloc
	fp.Probability, fp.IgnoreGFPWait = 100, false
	m.SetFailPageAlloc(fp)
	m.AllocPages(2, GFPKernel)
	begin("vmalloc")
	v, _ := m.Vmalloc(3*m.PageSize(), GFPKernel)
	v, _ = m.Vrealloc(v, 9*m.PageSize(), GFPKernel)
	m.WriteAt(v+Addr(9*m.PageSize()), []byte{1})
	m.Vfree(v)
	for range 40 {
		w, _ := m.Vmalloc(4<<20, GFPKernel)
		m.Vfree(w)
	}
	begin("kvmalloc")
	kv, _ := m.KVmalloc(64<<10, GFPKernel)
	kv, _ = m.KVrealloc(kv, 200<<10, GFPKernel)
	m.KVfree(kv)
	begin("vec")
	vec, err := NewRawVec(m, KVmalloc{m}, Layout{Size: 8, Align: 8}, "u64")
	if err != nil {
		t.Fatal(err)
	}
	for range 40 {
		vec.Push(make([]byte, 8), GFPKernel)
	}
	vec.Drop()
	m.Misuse(0x1234, "misused")
	seen := map[EventKind]bool{}
	for e := range log.Events(0, log.Len()) {
		seen[e.Kind()] = true
	}
	for k := EventKind(1); k < numEventKinds; k++ {
		if !seen[k] {
			t.Errorf("the busy log has no %v event", k)
		}
	}
	return log
}

// TestAppendRebuildsTheLog: every event written out field by field and
// appended to a new log reads back the same, texts included, in every
// configuration the sentences depend on.
func TestAppendRebuildsTheLog(t *testing.T) {
	for _, cfg := range []Config{{}, {SlabDebug: "FZPU"}, {FreelistRandom: true, FreelistHardened: true, Seed: 7}, {PageSize: 16384, RAM: 256 * MiB, Profile: Profile612}} {
		// (With 16 KiB pages 64 MiB is too small for grouping by mobility,
		// which needs a pageblock per migrate type, so nothing is ever stolen.)
		log := busyLog(t, cfg)
		again := &EventLog{}
		for e := range log.Events(0, log.Len()) {
			f := e.Fields()
			g, err := again.Append(f)
			if err != nil {
				t.Fatalf("%v: %v", e, err)
			}
			if !reflect.DeepEqual(g.Fields(), f) || g.Explain() != e.Explain() {
				t.Fatalf("event %d read back\n %+v\nwant\n %+v", e.Seq(), g.Fields(), f)
			}
		}
	}
}

// TestJSONRoundTrip: WriteJSON's output read back by ReadJSON writes the
// same bytes again.
func TestJSONRoundTrip(t *testing.T) {
	log := busyLog(t, Config{SlabDebug: "FZPU"})
	var a, b bytes.Buffer
	if err := log.WriteJSON(&a, 0, log.Len()); err != nil {
		t.Fatal(err)
	}
	back, err := ReadJSON(bytes.NewReader(a.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if back.Len() != log.Len() {
		t.Fatalf("%d events read back, want %d", back.Len(), log.Len())
	}
	if err := back.WriteJSON(&b, 0, back.Len()); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("the log read back writes different JSON")
	}
	for _, bad := range []string{`{"seq":1,"kind":"nonsense"}`, `{"seq":2,"kind":"boot","addr":"0x0","owner":"free"}`,
		`{"seq":1,"kind":"split","addr":"0x0","owner":"free","cache":"x"}`, `not json`} {
		if _, err := ReadJSON(strings.NewReader(bad)); err == nil {
			t.Errorf("ReadJSON accepted %s", bad)
		}
	}
}

// TestJSONEncoding: WriteJSON's hand-written encoder writes what
// encoding/json writes for the same event, on every event of the busy
// logs and on strings with everything JSON escapes.
func TestJSONEncoding(t *testing.T) {
	var want bytes.Buffer
	enc := json.NewEncoder(&want)
	check := func(j *eventJSON) {
		t.Helper()
		want.Reset()
		if err := enc.Encode(j); err != nil {
			t.Fatal(err)
		}
		if got := j.append(nil); !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("the encoder wrote\n%s\nencoding/json\n%s", got, want.Bytes())
		}
	}
	for _, cfg := range []Config{{}, {SlabDebug: "FZPU"}} {
		log := busyLog(t, cfg)
		var j, k eventJSON
		var sc jsonScratch
		for e := range log.Events(0, log.Len()) {
			e.toJSON(e.Step(), &j, nil)
			check(&j)
			e.toJSON(e.Step(), &k, &sc)
			if !reflect.DeepEqual(j, k) {
				t.Fatalf("event %d written through the scratch differs:\n%+v\n%+v", e.Seq(), k, j)
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "<", ">", "&", "\"", "\\", "\n", "\r", "\t", "\b", "\f", "\x00", "\x1f", "\x7f", "é", "\u2028",
		"\u2029", "\xff", "\xe2\x80", "😀", "/"}
	for range 2000 {
		var sb strings.Builder
		for range rng.IntN(12) {
			sb.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		s := sb.String()
		check(&eventJSON{Kind: s, Text: s, Label: s, Synthetic: s, Addr: "0x0", PFNs: []uint64{1, 2}, Cause: 3,
			Realloc: &reallocJSON{Func: s, Within: s, Bucket: s}})
	}
}

// TestJSONCoversEveryField keeps --json complete: a field of Fields must
// have a JSON field (the kind's count is "index"), or the JSON log could
// no longer rebuild the state.
func TestJSONCoversEveryField(t *testing.T) {
	var f Fields
	counts := map[uintptr]bool{}
	for _, p := range f.counts() {
		counts[uintptr(unsafe.Pointer(p))] = true
	}
	fv, js := reflect.ValueOf(&f).Elem(), reflect.TypeFor[eventJSON]()
	for i := range fv.NumField() {
		name := fv.Type().Field(i).Name
		if _, ok := js.FieldByName(name); !ok && !counts[fv.Field(i).Addr().Pointer()] {
			t.Errorf("Fields.%s has no --json field", name)
		}
	}
	rt, rj := reflect.TypeFor[ReallocInfo](), reflect.TypeFor[reallocJSON]()
	for i := range rt.NumField() {
		if _, ok := rj.FieldByName(rt.Field(i).Name); !ok {
			t.Errorf("ReallocInfo.%s has no --json field", rt.Field(i).Name)
		}
	}
}

// TestRecordingCostsNoGoAllocation: the buddy and slab fast paths record
// their events without allocating (the log grows in blocks), and with
// recording off nothing is formatted at all.
func TestRecordingCostsNoGoAllocation(t *testing.T) {
	for _, on := range []bool{false, true} {
		m := newTestMachine(t, Config{})
		if on {
			m.SetLog(&EventLog{})
		}
		p, _ := m.Kmalloc(64, GFPKernel)
		m.Kfree(p)
		if n := testing.AllocsPerRun(1000, func() {
			p, _ := m.Kmalloc(64, GFPKernel)
			m.Kfree(p)
			a, _ := m.AllocPages(0, GFPKernel)
			m.FreePages(a, 0)
		}); n != 0 {
			t.Errorf("recording %v: kmalloc, kfree, alloc_pages and free_pages made %v allocations", on, n)
		}
		if on {
			continue
		}
		q, _ := m.Kmalloc(40, GFPKernel)
		if n := testing.AllocsPerRun(1000, func() {
			q, _ = m.Krealloc(q, 48, GFPKernel)
			q, _ = m.Krealloc(q, 40, GFPKernel)
		}); n != 0 {
			t.Errorf("krealloc in place with recording off made %v allocations", n)
		}
	}
}

// TestSealedRunsDecodeExactly: a run of records of any values reads
// back from its encoding as it was written, and a log reads the same
// whether its blocks are sealed or not.
func TestSealedRunsDecodeExactly(t *testing.T) {
	r := record{kind: 1, cpu: 2, order: -3, b: 4, gfp: 5, pfn: 6, n: -7, s1: 8, s2: 9, addr: 10, size: 11, bytes: 12}
	if pack(&r) != *words(&r) {
		t.Fatalf("pack gives %x, the record's memory %x", pack(&r), *words(&r))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(vs ...uint64) uint64 { return vs[rng.IntN(len(vs))] }
	recs := make([]record, recLen)
	for k := 0; k < 64; k++ {
		for i := range recs {
			recs[i] = record{kind: EventKind(rng.IntN(int(numEventKinds) + 3)), cpu: uint8(rng.Uint32()), order: int8(rng.Uint32()),
				b: uint8(rng.IntN(3)), gfp: GFP(pick(0, 0xcc0, uint64(rng.Uint32()))), pfn: uint32(pick(0, 256, 1<<32-1, uint64(rng.Uint32()))),
				n: int32(pick(0, 1, 1<<31-1, 1<<31, uint64(rng.Uint32()))), s1: StrID(pick(0, 7, uint64(phraseBit|3))),
				s2: StrID(pick(0, 1<<32-1, uint64(rng.Uint32()))), addr: Addr(pick(0, 16, uint64(DirectMapBase), 1<<64-1, rng.Uint64())),
				size: pick(0, 64, 1<<63, 1<<64-1, rng.Uint64()), bytes: pick(0, 4096, 1<<64-1, rng.Uint64())}
		}
		var got, want [recLen]record
		copy(want[:], recs)
		decodeRun(encodeRun(make([]byte, 0, maxRunBytes), &want), &got)
		for i := range got {
			if got[i] != recs[i] {
				t.Fatalf("record %d decodes as %+v, want %+v", i, got[i], recs[i])
			}
		}
	}
	log := busyLog(t, Config{})
	if log.recs.offs.Len() < 2*recCache {
		t.Fatal("the busy log sealed too few runs")
	}
	var a, b bytes.Buffer
	log.WriteJSON(&a, 0, log.Len())
	// Read backwards, so that every run is decoded again, out of order.
	for i := log.Len() - 1; i >= 0; i -= 997 {
		log.At(i).Explain()
	}
	log.WriteJSON(&b, 0, log.Len())
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("the log reads differently after its runs were decoded again")
	}
}

// TestReciprocalDivides: reciprocal_divide gives a / d exactly, as the
// kernel's obj_to_index relies on.
func TestReciprocalDivides(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	for _, d := range []uint32{1, 2, 3, 7, 8, 24, 96, 100, 192, 4096, 4097, 1 << 20, 1<<31 + 1, 1<<32 - 1} {
		r := reciprocalValue(d)
		for _, a := range []uint32{0, 1, d - 1, d, d + 1, 1<<32 - 1, 1 << 31, rng.Uint32(), rng.Uint32() % (d * 64)} {
			if got := r.divide(a); got != a/d {
				t.Fatalf("%d / %d = %d by reciprocal, want %d", a, d, got, a/d)
			}
		}
	}
}

// TestTraceStepAndSyntheticFree: a replayed trace's step says its
// file:line and its label (time, task-pid, CPU, call site) from the
// numbers and ids it keeps, and adds no string of its own to the log; a
// synthetic free is its free's own event, marked, its sentence ending
// with why.
func TestTraceStepAndSyntheticFree(t *testing.T) {
	m, err := NewMachine(Config{RAM: 16 * MiB})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	log := &EventLog{}
	m.SetLog(log)
	line := TraceLine{File: "trace.txt", TS: 5_000_042_999, Task: "ls", PID: 7, CPU: 1, CallSite: "f+0x1/0x2"}
	for i := range 3 {
		line.Line = 10 + i
		m.BeginTraceStep(i+1, &line, "kmalloc(64)")
	}
	strs := log.Memory().Strings
	line.Line = 13
	m.BeginTraceStep(4, &line, "kmalloc(64)")
	if got := log.Memory().Strings; got != strs {
		t.Errorf("a trace step added %d bytes of strings", got-strs)
	}
	e := log.At(log.Len() - 1)
	if e.Src() != "trace.txt:13" || e.Label() != "5.000042 ls-7 [001] f+0x1/0x2" || e.Op() != "kmalloc(64)" || e.Step() != 4 {
		t.Errorf("trace step: %q %q %q %d", e.Src(), e.Label(), e.Op(), e.Step())
	}
	if got := string(AppendTraceLabel(nil, 12_000_000_000, "t", 1, 12, "")); got != "12.000000 t-1 [012]" {
		t.Errorf("label %q", got)
	}
	p, err := m.Kmalloc(64, GFPKernel)
	if err != nil {
		t.Fatal(err)
	}
	from := log.Len()
	if err := m.FreeSynthetic(p, "allocated again"); err != nil {
		t.Fatal(err)
	}
	marked := 0
	for e := range log.Events(from, log.Len()) {
		if e.Synthetic() != "" {
			marked++
			if e.Kind() != EvObjFree || e.Synthetic() != "allocated again" || !strings.HasSuffix(e.Text(), "; synthetic free: allocated again") {
				t.Errorf("marked %v: %q", e.Kind(), e.Text())
			}
		}
	}
	if marked != 1 {
		t.Errorf("%d events marked synthetic", marked)
	}
	if err := m.FreeSynthetic(p, "again"); err == nil {
		t.Error("a second synthetic free of the same object was obeyed")
	}
}

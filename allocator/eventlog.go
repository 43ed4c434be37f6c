package allocator

import (
	"errors"
	"fmt"
	"iter"
	"strconv"
	"strings"
	"unsafe"
)

// record is one event as the log stores it: 48 bytes and no pointers.
// What each slot holds depends on the kind, as its entry in the kind
// table (kinds) says; strings are StrIDs, and what varies in length (a
// vmap area's pages, a realloc decision, a report) is in a side table
// the record indexes. The sequence number is the position in the log and
// the step is that of the last EvStep before it, so neither is stored.
type record struct {
	kind  EventKind
	cpu   uint8 // the simulated CPU that did it (MaxCPUs is 256)
	order int8  // Order; kind-specific for kinds without one
	b     uint8 // Owner, SlabList or Decision, as the kind's fields say; else kind-specific
	gfp   GFP
	pfn   uint32 // PFN (RAM is at most 4 GiB of 4 KiB pages); EvVecOp: the capacity's high half
	n     int32  // the kind's count (eventCount); else kind-specific
	s1    StrID  // the kind's first string or side-table index
	s2    StrID  // its second
	addr  Addr
	size  uint64
	bytes uint64
}

// pfnSpan is one list of page frames in the log's pfn arena.
type pfnSpan struct {
	start uint64
	n     uint32
}

// reallocRec is a ReallocInfo in the log's side table.
type reallocRec struct {
	fn, within, bucket StrID
	decision           Decision
	old, new           Addr
	oldSize, oldCap    uint64
	newSize, newCap    uint64
	copied, zeroed     uint64
}

// vmapRec is what an EvVmapAlloc holds beyond its record.
type vmapRec struct {
	pfns              uint32 // pfn list id
	caller, fn, flags StrID
	array             Addr // the area's pages[] array: a kmalloc object, or a vmalloc area ("vpages")
}

// vecRec is what an EvVecOp holds beyond its record.
type vecRec struct {
	cause   uint64 // Seq of the EvRealloc the operation caused; 0 if none
	realloc uint32 // its realloc record id; 0 if none
	text    StrID
}

// EventLog is the append-only list of a machine's events, owned by the
// caller that passes it to Machine.SetLog; the machine only appends. The
// events are fixed-size records kept in blocks (growing the log copies
// nothing), with their strings interned and their variable parts in side
// tables. At returns an event to read. The zero value is an empty log.
type EventLog struct {
	recs     recBlocks
	strs     strTable
	steps    Blocks[stepRef] // the EvStep events
	pfns     Blocks[uint32]  // the pages (or object indexes) of every pfn list, one after another
	pfnLists Blocks[pfnSpan]
	reallocs Blocks[reallocRec]
	vmaps    Blocks[vmapRec]
	vecs     Blocks[vecRec]
	synth    Blocks[synthRec] // the synthetic frees (FreeSynthetic), by position
	texts    map[int32]StrID  // the text of events built by Append whose kind's sentence would say something else
}

// synthRec marks the free at pos as synthetic, with why.
type synthRec struct {
	pos uint32
	why StrID
}

// Len returns the number of events recorded.
func (l *EventLog) Len() int { return l.recs.Len() }

// At returns event i (0-based; its Seq is i+1), which must exist.
func (l *EventLog) At(i int) Event { return Event{l: l, r: *l.recs.At(i), pos: i} }

// Events returns the events [from, to) in order.
func (l *EventLog) Events(from, to int) iter.Seq[Event] {
	return func(yield func(Event) bool) {
		for i := from; i < to; i++ {
			if !yield(l.At(i)) {
				return
			}
		}
	}
}

// String returns the string with id id.
func (l *EventLog) String(id StrID) string { return l.strs.get(id) }

// AnyString reports whether f holds for any string the log holds.
func (l *EventLog) AnyString(f func(string) bool) bool {
	for id := 1; id <= l.strs.refs.Len(); id++ {
		if f(l.strs.get(StrID(id))) {
			return true
		}
	}
	return false
}

// Intern returns the id of s in l's string table, adding it on first
// sight. The scripts runtime keeps its steps' strings there.
func (l *EventLog) Intern(s string) StrID { return l.strs.intern(s) }

// Steps returns how many EvStep events the log holds.
func (l *EventLog) Steps() int { return l.steps.Len() }

// stepRef is one EvStep: its position and its number.
type stepRef struct {
	pos, n uint32
}

// StepStart returns the position of the i-th EvStep (0-based).
func (l *EventLog) StepStart(i int) int { return int(l.steps.At(i).pos) }

// StepOf returns the step the event at pos belongs to, as its Step says,
// without reading the event.
func (l *EventLog) StepOf(pos int) int { return l.stepAt(pos) }

// stepAt returns the number of the step event pos belongs to: that of the
// last EvStep at or before it, 0 before the first.
func (l *EventLog) stepAt(pos int) int {
	i := l.steps.Search(func(p *stepRef) bool { return int(p.pos) > pos }) - 1
	if i < 0 {
		return 0
	}
	return int(l.steps.At(i).n)
}

// push appends a record.
func (l *EventLog) push(r *record) {
	l.recs.add(r)
	if r.kind == EvStep {
		l.noteStep(r)
	}
}

// noteStep indexes the last record, the EvStep r.
func (l *EventLog) noteStep(r *record) {
	l.steps.Push(stepRef{uint32(l.recs.Len() - 1), uint32(r.n)})
}

// pfnList stores a list of page frames and returns its id (0 for none).
func (l *EventLog) pfnList(pfns []uint64) StrID {
	if pfns == nil {
		return 0
	}
	sp := pfnSpan{start: uint64(l.pfns.Len()), n: uint32(len(pfns))}
	for _, p := range pfns {
		l.pfns.Push(uint32(p))
	}
	l.pfnLists.Push(sp)
	return StrID(l.pfnLists.Len())
}

// pfnCount returns the length of pfn list id.
func (l *EventLog) pfnCount(id StrID) int {
	if id == 0 {
		return 0
	}
	return int(l.pfnLists.At(int(id) - 1).n)
}

// appendPFNs appends the page frames of list id to dst; a list that
// exists but is empty gives a non-nil empty slice.
func (l *EventLog) appendPFNs(dst []uint64, id StrID) []uint64 {
	if id == 0 {
		return dst
	}
	sp := l.pfnLists.At(int(id) - 1)
	if dst == nil {
		dst = make([]uint64, 0, sp.n)
	}
	for i := range uint64(sp.n) {
		dst = append(dst, uint64(*l.pfns.At(int(sp.start + i))))
	}
	return dst
}

// addRealloc stores a decision and returns its id.
func (l *EventLog) addRealloc(r *ReallocInfo) uint32 {
	l.reallocs.Push(reallocRec{fn: l.Intern(r.Func), within: l.Intern(r.Within), bucket: l.Intern(r.Bucket),
		decision: r.Decision, old: r.Old, new: r.New, oldSize: r.OldSize, oldCap: r.OldCap,
		newSize: r.NewSize, newCap: r.NewCap, copied: r.Copied, zeroed: r.Zeroed})
	return uint32(l.reallocs.Len())
}

// realloc returns decision id.
func (l *EventLog) realloc(id uint32) ReallocInfo {
	r := l.reallocs.At(int(id) - 1)
	return ReallocInfo{Func: l.String(r.fn), Within: l.String(r.within), Old: r.old, OldSize: r.oldSize, OldCap: r.oldCap,
		New: r.new, NewSize: r.newSize, NewCap: r.newCap, Decision: r.decision, Copied: r.copied, Zeroed: r.zeroed,
		Bucket: l.String(r.bucket)}
}

// Memory is what a log holds, in bytes.
type Memory struct {
	Records int64 // the fixed-size records
	Strings int64 // the string table
	Side    int64 // step index, pfn lists, realloc decisions, vmap and vec records, texts
}

// Total returns the sum.
func (m Memory) Total() int64 { return m.Records + m.Strings + m.Side }

// Memory measures the log.
func (l *EventLog) Memory() Memory {
	return Memory{
		Records: l.recs.bytes(),
		Strings: l.strs.memory(),
		Side: l.steps.Bytes(8) + l.pfns.Bytes(4) + l.pfnLists.Bytes(int(unsafe.Sizeof(pfnSpan{}))) +
			l.reallocs.Bytes(int(unsafe.Sizeof(reallocRec{}))) + l.vmaps.Bytes(int(unsafe.Sizeof(vmapRec{}))) +
			l.vecs.Bytes(int(unsafe.Sizeof(vecRec{}))) + l.synth.Bytes(int(unsafe.Sizeof(synthRec{}))) + int64(len(l.texts))*16,
	}
}

// markSynthetic marks the event at pos, a free of a kind that may be
// marked, as synthetic, with why. Marks come in the log's order.
func (l *EventLog) markSynthetic(pos int, why StrID) {
	l.synth.Push(synthRec{pos: uint32(pos), why: why})
}

// clone returns a copy of l that shares nothing with it.
func (l *EventLog) clone() EventLog {
	c := EventLog{recs: l.recs.clone(), strs: l.strs.clone(), steps: l.steps.clone(), pfns: l.pfns.clone(),
		pfnLists: l.pfnLists.clone(), reallocs: l.reallocs.clone(), vmaps: l.vmaps.clone(), vecs: l.vecs.clone(),
		synth: l.synth.clone()}
	if l.texts != nil {
		c.texts = make(map[int32]StrID, len(l.texts))
		for k, v := range l.texts {
			c.texts[k] = v
		}
	}
	return c
}

// Event is one event of a log, read through the accessors its kind's
// entry in the kind table names (see the kind constants): the log, a
// copy of the record and its position. It stays valid as long as the log
// does.
type Event struct {
	l   *EventLog
	r   record
	pos int
}

// String prints the event for a reader: "#12 obj_alloc: object 3 of ...".
func (e Event) String() string {
	if e.l == nil {
		return "no event"
	}
	return fmt.Sprintf("#%d %v: %s", e.Seq(), e.Kind(), e.Explain())
}

// Log returns the log the event belongs to.
func (e Event) Log() *EventLog { return e.l }

// Pos returns the event's position in its log, 0-based.
func (e Event) Pos() int { return e.pos }

// Seq returns the event's 1-based sequence number: Pos()+1.
func (e Event) Seq() uint64 { return uint64(e.pos) + 1 }

// Kind returns what the event records.
func (e Event) Kind() EventKind { return e.r.kind }

// Step returns the script step the event happened in; 0 before the first.
// An EvStep returns its own number.
func (e Event) Step() int {
	if e.r.kind == EvStep {
		return int(e.r.n)
	}
	return e.l.stepAt(e.pos)
}

// CPU returns the simulated CPU that did it.
func (e Event) CPU() int { return int(e.r.cpu) }

func (e Event) has(f fieldSet) bool { return kinds[e.r.kind].fields&f != 0 }

// GFP returns the allocation flags, for kinds that have them.
func (e Event) GFP() GFP {
	if e.has(fGFP) {
		return e.r.gfp
	}
	return 0
}

// PFN returns the first page frame of the block, slab or report concerned.
func (e Event) PFN() uint64 {
	if e.has(fPFN) {
		return uint64(e.r.pfn)
	}
	return 0
}

// Order returns the block order: pages = 1 << Order.
func (e Event) Order() int {
	switch ki := &kinds[e.r.kind]; {
	case ki.wideOrder:
		return int(int64(e.r.size))
	case ki.fields&fOrder != 0:
		return int(e.r.order)
	}
	return 0
}

// Owner returns the page owner of page events.
func (e Event) Owner() Owner {
	if e.has(fOwner) {
		return Owner(e.r.b)
	}
	return OwnerFree
}

// Migrate returns the migrate type of a free list or pageblock event.
func (e Event) Migrate() MigrateType {
	if e.has(fMigrate) {
		return MigrateType(e.r.b)
	}
	return MigrateUnmovable
}

// Zone returns an EvZone's zone.
func (e Event) Zone() ZoneType {
	if e.has(fZone) {
		return ZoneType(e.r.b)
	}
	return ZoneDMA
}

// List returns an EvSlabList's new list.
func (e Event) List() SlabList {
	if e.has(fList) {
		return SlabList(e.r.b)
	}
	return ListNone
}

// Decision returns an EvCheck's outcome.
func (e Event) Decision() Decision {
	if e.has(fDecision) {
		return Decision(e.r.b)
	}
	return DecisionNone
}

// Addr returns the object, block, area or pointer address.
func (e Event) Addr() Addr {
	if e.has(fAddr) {
		return e.r.addr
	}
	return 0
}

// Size returns the bytes requested.
func (e Event) Size() uint64 {
	if e.has(fSize) {
		return e.r.size
	}
	return 0
}

// Bytes returns the bytes taken (object size, block size, area size).
func (e Event) Bytes() uint64 {
	if e.has(fBytes) {
		return e.r.bytes
	}
	return 0
}

// CacheID returns the id of the slab cache's name; 0 for none.
func (e Event) CacheID() StrID {
	if e.has(fCache) {
		return e.r.s1
	}
	return 0
}

// Cache returns the slab cache's name.
func (e Event) Cache() string { return e.l.String(e.CacheID()) }

// str returns the string a kind keeps at loc.
func (e Event) str(at loc) StrID {
	switch at {
	case inS1:
		return e.r.s1
	case inS2:
		return e.r.s2
	case inEnd:
		switch e.r.order {
		case endHead:
			return phHead
		case endTail:
			return phTail
		}
	case inHalf:
		if e.r.n == halfUpper {
			return phUpper
		}
	case inStepSrc:
		return e.r.s1
	case inStepLabel:
		if !e.traceLine() {
			return StrID(e.r.pfn)
		}
	case inVmap:
		if v := e.vmap(); v != nil {
			return v.flags
		}
	}
	return 0
}

func (e Event) vmap() *vmapRec {
	if e.r.s1 == 0 {
		return nil
	}
	return e.l.vmaps.At(int(e.r.s1) - 1)
}

func (e Event) vec() *vecRec {
	if e.r.s2 == 0 {
		return nil
	}
	return e.l.vecs.At(int(e.r.s2) - 1)
}

// PathID returns the id of Path.
func (e Event) PathID() StrID { return e.str(kinds[e.r.kind].path) }

// Path returns which code path it took ("fastpath: ...", "head", "vmalloc
// fallback", a vmap area's flag words).
func (e Event) Path() string { return e.l.String(e.PathID()) }

// SrcID returns the id of Src.
func (e Event) SrcID() StrID {
	switch at := kinds[e.r.kind].src; at {
	case inVmap:
		if v := e.vmap(); v != nil {
			return v.caller
		}
		return 0
	default:
		return e.str(at)
	}
}

// Src returns an EvStep's file:line:col (a trace's line: file:line), or
// a vmap area's caller.
func (e Event) Src() string {
	if kinds[e.r.kind].src == inStepSrc && e.traceLine() {
		return string(strconv.AppendUint(append([]byte(e.l.String(e.r.s1)), ':'), e.r.size, 10))
	}
	return e.l.String(e.SrcID())
}

// traceLine reports whether an EvStep replays a trace's line
// (Machine.BeginTraceStep): its record keeps the line's number in size,
// its time in bytes, its task's id in gfp, its pid and CPU in addr, and
// its call site's id in pfn.
func (e Event) traceLine() bool { return e.r.kind == EvStep && e.r.size != 0 }

// Label returns what an EvStep's source says of it beyond its position:
// a replayed trace line's time, task-pid, CPU and call site
// ("2422.856103 ls-5302 [000] getname_flags.part.0+0x24/0x1f0"); "" for
// a script's step.
func (e Event) Label() string {
	if kinds[e.r.kind].label == inStepLabel && e.traceLine() {
		r := &e.r
		return string(AppendTraceLabel(nil, int64(r.bytes), e.l.String(StrID(r.gfp)), int32(uint32(r.addr)), int(uint16(r.addr>>32)),
			e.l.String(StrID(r.pfn))))
	}
	return e.l.String(e.str(kinds[e.r.kind].label))
}

// SyntheticID returns the id of Synthetic; 0 when the event is not a
// synthetic free.
func (e Event) SyntheticID() StrID {
	l := e.l
	if !kinds[e.r.kind].synthetic || l.synth.Len() == 0 {
		return 0
	}
	i := l.synth.Search(func(r *synthRec) bool { return int(r.pos) >= e.pos })
	if i < l.synth.Len() {
		if r := l.synth.At(i); int(r.pos) == e.pos {
			return r.why
		}
	}
	return 0
}

// Synthetic says why a free was made by FreeSynthetic rather than by a
// call (a replayed trace allocates the memory again and traced no free);
// "" for any other event. The event's Text ends with it.
func (e Event) Synthetic() string { return e.l.String(e.SyntheticID()) }

// OpID returns the id of Op.
func (e Event) OpID() StrID {
	if at := kinds[e.r.kind].op; at == inVmap {
		if v := e.vmap(); v != nil {
			return v.fn
		}
		return 0
	}
	return e.str(kinds[e.r.kind].op)
}

// Op returns an EvStep's call as written, an EvVecOp's method, or the
// entry point that made an EvVmapAlloc's area.
func (e Event) Op() string { return e.l.String(e.OpID()) }

// pfnListID returns the id of the event's pfn list.
func (e Event) pfnListID() StrID {
	switch at := kinds[e.r.kind].pfns; at {
	case inVmap:
		if v := e.vmap(); v != nil {
			return StrID(v.pfns)
		}
		return 0
	default:
		return e.str(at)
	}
}

// NumPFNs returns the length of PFNs without building it.
func (e Event) NumPFNs() int { return e.l.pfnCount(e.pfnListID()) }

// PFNs returns the page frames behind a vmap area, in address order, or a
// shuffled slab's freelist order (object indexes); nil for none. It
// returns a new slice.
func (e Event) PFNs() []uint64 { return e.l.appendPFNs(nil, e.pfnListID()) }

// PFNList returns the id of the event's list of page frames, which the
// log keeps for its life: a model can hold the id instead of the list
// (EventLog.PFNs). 0 for none.
func (e Event) PFNList() uint32 { return uint32(e.pfnListID()) }

// PFNs returns the list of page frames with id id (Event.PFNList),
// appended to dst.
func (l *EventLog) PFNs(dst []uint64, id uint32) []uint64 { return l.appendPFNs(dst, StrID(id)) }

// PFNCount returns the length of list id.
func (l *EventLog) PFNCount(id uint32) int { return l.pfnCount(StrID(id)) }

// reallocID returns the id of the event's realloc decision, 0 for none.
func (e Event) reallocID() uint32 {
	switch kinds[e.r.kind].realloc {
	case inS1:
		return uint32(e.r.s1)
	case inVec:
		if v := e.vec(); v != nil {
			return v.realloc
		}
	}
	return 0
}

// Realloc returns the realloc decision of an EvRealloc, or of the realloc
// an EvVecOp caused; ok is false when there is none.
func (e Event) Realloc() (r ReallocInfo, ok bool) {
	id := e.reallocID()
	if id == 0 {
		return ReallocInfo{}, false
	}
	return e.l.realloc(id), true
}

// ReallocDecision returns the decision of Realloc without building it.
func (e Event) ReallocDecision() Decision {
	if id := e.reallocID(); id != 0 {
		return e.l.reallocs.At(int(id) - 1).decision
	}
	return DecisionNone
}

// Nested reports whether the event is a realloc decision made inside
// another call (ReallocInfo.Within): not that call's own decision.
func (e Event) Nested() bool {
	if id := e.reallocID(); id != 0 {
		return e.l.reallocs.At(int(id)-1).within != 0
	}
	return false
}

// Array returns where an EvVmapAlloc's pages[] array is: a kmalloc
// object, or a vmalloc area when the flag words say vpages; 0 for other
// kinds.
func (e Event) Array() Addr {
	if kinds[e.r.kind].pfns == inVmap {
		if v := e.vmap(); v != nil {
			return v.array
		}
	}
	return 0
}

// Cause returns, for an EvVecOp, the Seq of the EvRealloc the operation
// caused; 0 if none.
func (e Event) Cause() uint64 {
	if kinds[e.r.kind].cause == inVec {
		if v := e.vec(); v != nil {
			return v.cause
		}
	}
	return 0
}

// count returns the kind's count if it is c, else 0.
func (e Event) count(c eventCount) int {
	if kinds[e.r.kind].count != c {
		return 0
	}
	if c == countCapacity {
		return int(int64(uint64(e.r.pfn)<<32 | uint64(uint32(e.r.n))))
	}
	return int(e.r.n)
}

// PrevCPU returns an EvCPU's previous CPU.
func (e Event) PrevCPU() int { return e.count(countPrevCPU) }

// PageSize returns an EvBoot's page size in bytes.
func (e Event) PageSize() uint64 { return uint64(e.count(countPageSize)) }

// Pages returns the pages of an EvReserve, EvVmapAlloc or EvVmapFree.
func (e Event) Pages() int { return e.count(countPages) }

// LargestOrder returns an EvPageFail's largest free order, -1 if nothing
// is free.
func (e Event) LargestOrder() int { return e.count(countLargest) }

// Objects returns the objects per slab of an EvCacheCreate or EvSlabNew.
func (e Event) Objects() int { return e.count(countObjects) }

// ListCPU returns an EvSlabList's CPU for the per-CPU lists, else -1.
func (e Event) ListCPU() int { return e.count(countListCPU) }

// Object returns the index in its slab of an EvObjAlloc's or EvObjFree's
// object.
func (e Event) Object() int { return e.count(countObject) }

// Errors returns an EvSlubReport's errors, as lib/slub_kunit.c counts them.
func (e Event) Errors() int { return e.count(countErrors) }

// Areas returns the areas an EvVmapPurge freed.
func (e Event) Areas() int { return e.count(countAreas) }

// FromOrder returns the order of the free block an EvPageAlloc split, or
// -1 when the block came from the head of the CPU's pcp list.
func (e Event) FromOrder() int { return e.count(countFromOrder) }

// FinalOrder returns the order an EvPageFree's block merged up to, or -1
// when it went to the CPU's pcp list.
func (e Event) FinalOrder() int { return e.count(countFinalOrder) }

// Want returns the migrate type an EvClaim's or EvSteal's allocation
// wanted.
func (e Event) Want() MigrateType { return MigrateType(e.count(countWant)) }

// Pageblocks returns how many pageblocks an EvPageblock changes.
func (e Event) Pageblocks() int { return e.count(countPageblocks) }

// Capacity returns an EvVecOp's capacity in elements: -1 for zero-sized
// elements (usize::MAX), 1 for a Box.
func (e Event) Capacity() int { return e.count(countCapacity) }

// Question returns an EvAsk's or EvAnswer's question number, 1 for the
// run's first.
func (e Event) Question() int { return e.count(countQuestion) }

// Choices returns an EvAsk's choices, in the order they are numbered; nil
// for a question with a free answer.
func (e Event) Choices() []string {
	id := e.str(kinds[e.r.kind].choices)
	if id == 0 {
		return nil
	}
	return strings.Split(e.l.String(id), choiceSep)
}

// choiceSep separates the choices a record keeps in one string: no
// choice may contain it.
const choiceSep = "\x1f"

// ValidChoice reports whether s may be one of an EvAsk's choices.
func ValidChoice(s string) bool { return s != "" && !strings.Contains(s, choiceSep) }

// Text returns the event's own sentence: the rule that decided it, the
// narration, the report. Kinds that decide nothing (a split, a kfree)
// have none. It is built from the fields when asked for. A synthetic
// free's ends with why it was made (Synthetic).
func (e Event) Text() string {
	if e.l.texts != nil {
		if id, ok := e.l.texts[int32(e.pos)]; ok {
			return e.l.String(id)
		}
	}
	ki := &kinds[e.r.kind]
	switch {
	case ki.synthetic && e.SyntheticID() != 0:
		return string(e.AppendText(nil))
	case ki.stored != inNone:
		return e.l.String(e.storedText())
	case ki.text != nil:
		return string(ki.text(e, nil))
	}
	return ""
}

// AppendText appends Text to b.
func (e Event) AppendText(b []byte) []byte {
	if e.l.texts != nil {
		if id, ok := e.l.texts[int32(e.pos)]; ok {
			return append(b, e.l.String(id)...)
		}
	}
	ki := &kinds[e.r.kind]
	switch {
	case ki.stored != inNone:
		b = append(b, e.l.String(e.storedText())...)
	case ki.text != nil:
		b = ki.text(e, b)
	}
	if ki.synthetic {
		if why := e.SyntheticID(); why != 0 {
			b = syntheticSentence(b, e.l.String(why))
		}
	}
	return b
}

// HasText reports whether Text is not empty, without building it.
func (e Event) HasText() bool {
	if e.l.texts != nil {
		if id, ok := e.l.texts[int32(e.pos)]; ok {
			return id != 0
		}
	}
	ki := &kinds[e.r.kind]
	switch {
	case ki.stored != inNone && e.storedText() != 0, ki.text != nil:
		return true
	}
	return ki.synthetic && e.SyntheticID() != 0
}

// storedText returns the id of the text of a kind that keeps it.
func (e Event) storedText() StrID {
	switch at := kinds[e.r.kind].stored; at {
	case inVec:
		if v := e.vec(); v != nil {
			return v.text
		}
		return 0
	default:
		return e.str(at)
	}
}

// Explain returns one sentence saying what the event did and, for
// decisions, which rule applied: its Text where it has one, otherwise a
// sentence built from its fields.
func (e Event) Explain() string {
	ki := &kinds[e.r.kind]
	if ki.explain != nil {
		return string(ki.explain(e, nil))
	}
	if t := e.Text(); t != "" {
		return t
	}
	if ki.describe != nil {
		return string(ki.describe(e, nil))
	}
	return e.r.kind.String()
}

// Class returns the event's class: its kind's, except that a failed check
// is a report and the blocks boot frees are mechanism.
func (e Event) Class() Class {
	ki := &kinds[e.r.kind]
	if ki.classOf != nil {
		return ki.classOf(e)
	}
	return ki.class
}

// Report reports whether the event reports trouble: a kernel report or
// warning, misuse, a fault, a failed allocation's report, a failed check.
func (e Event) Report() bool { return e.Class() == ClassReport }

// Failed reports whether the event says an allocation failed: no block
// for alloc_pages, a kmalloc that returned NULL, a realloc that failed.
func (e Event) Failed() bool {
	ki := &kinds[e.r.kind]
	return ki.failed != nil && ki.failed(e)
}

// Fields are an event written out field by field, each under its own
// name: what --json holds, and how events are built outside a machine
// (tests, a log read back from --json). Only the fields the kind has may
// be set (see the kind constants).
type Fields struct {
	Kind     EventKind
	Step     int // the step: an EvStep's own number; for other kinds that of the last EvStep, checked by Append
	CPU      int
	GFP      GFP
	PFN      uint64
	Order    int
	Owner    Owner
	List     SlabList
	Decision Decision
	Migrate  MigrateType
	Zone     ZoneType
	Addr     Addr
	Size     uint64
	Bytes    uint64
	Cache    string
	Path     string
	Src      string
	Label    string
	Op       string
	Text     string
	PFNs     []uint64
	Realloc  *ReallocInfo
	Cause    uint64
	Array    Addr // EvVmapAlloc: where its pages[] array is
	Choices  []string
	// Synthetic marks a free made by FreeSynthetic, with why; Text then
	// ends with it, as the machine words it.
	Synthetic string

	// The kind's count, under its name; only the kind's own may be set.
	PrevCPU      int
	PageSize     int
	Pages        int
	LargestOrder int
	Objects      int
	ListCPU      int
	Object       int
	Errors       int
	Areas        int
	Capacity     int
	FromOrder    int
	FinalOrder   int
	Want         int
	Pageblocks   int
	Question     int
}

// counts returns the Fields' count fields by eventCount.
func (f *Fields) counts() [numCounts]*int {
	return [numCounts]*int{countPrevCPU: &f.PrevCPU, countPageSize: &f.PageSize, countPages: &f.Pages,
		countLargest: &f.LargestOrder, countObjects: &f.Objects, countListCPU: &f.ListCPU, countObject: &f.Object,
		countErrors: &f.Errors, countAreas: &f.Areas, countCapacity: &f.Capacity, countFromOrder: &f.FromOrder,
		countFinalOrder: &f.FinalOrder, countWant: &f.Want, countPageblocks: &f.Pageblocks, countQuestion: &f.Question}
}

// Fields returns the event field by field.
func (e Event) Fields() Fields {
	f := Fields{Kind: e.Kind(), Step: e.Step(), CPU: e.CPU(), GFP: e.GFP(), PFN: e.PFN(), Order: e.Order(),
		Owner: e.Owner(), List: e.List(), Decision: e.Decision(), Migrate: e.Migrate(), Zone: e.Zone(), Addr: e.Addr(), Size: e.Size(), Bytes: e.Bytes(),
		Cache: e.Cache(), Path: e.Path(), Src: e.Src(), Label: e.Label(), Op: e.Op(), Text: e.Text(), PFNs: e.PFNs(), Cause: e.Cause(),
		Synthetic: e.Synthetic(), Choices: e.Choices()}
	if r, ok := e.Realloc(); ok {
		f.Realloc = &r
	}
	if c := kinds[e.r.kind].count; c != countNone {
		*f.counts()[c] = e.count(c)
	}
	return f
}

// Append adds an event written out field by field, as the machine would
// have recorded it, and returns it. It refuses a kind that does not exist,
// fields the kind does not have, values a record cannot hold, and a step
// that is not the log's (an EvStep's number is free; any other event
// belongs to the last step). Text is kept as given.
func (l *EventLog) Append(f Fields) (Event, error) {
	if f.Kind == EvNone || f.Kind >= numEventKinds {
		return Event{}, fmt.Errorf("event kind %d does not exist", f.Kind)
	}
	ki := &kinds[f.Kind]
	if err := ki.check(&f); err != nil {
		return Event{}, fmt.Errorf("%v event: %w", f.Kind, err)
	}
	if f.Kind != EvStep && f.Step != l.stepAt(l.Len()) {
		return Event{}, fmt.Errorf("%v event: step %d, but the log is at step %d", f.Kind, f.Step, l.stepAt(l.Len()))
	}
	r := record{kind: f.Kind, cpu: uint8(f.CPU), order: int8(f.Order), gfp: f.GFP, pfn: uint32(f.PFN), addr: f.Addr, size: f.Size, bytes: f.Bytes}
	switch {
	case ki.fields&fOwner != 0:
		r.b = uint8(f.Owner)
	case ki.fields&fList != 0:
		r.b = uint8(f.List)
	case ki.fields&fDecision != 0:
		r.b = uint8(f.Decision)
	case ki.fields&fMigrate != 0:
		r.b = uint8(f.Migrate)
	case ki.fields&fZone != 0:
		r.b = uint8(f.Zone)
	}
	if f.Kind == EvStep {
		r.n = int32(f.Step)
	}
	if ki.wideOrder {
		r.order, r.size = 0, uint64(int64(f.Order))
	}
	if c := ki.count; c != countNone {
		v := *f.counts()[c]
		r.n = int32(v)
		if c == countCapacity {
			r.pfn = uint32(uint64(int64(v)) >> 32)
		}
	}
	if ki.fields&fCache != 0 {
		r.s1 = l.Intern(f.Cache)
	}
	put := func(at loc, id StrID) {
		switch at {
		case inS1:
			r.s1 = id
		case inS2:
			r.s2 = id
		case inStepSrc:
			r.s1 = id
		case inStepLabel:
			r.pfn = uint32(id)
		}
	}
	put(ki.src, l.Intern(f.Src))
	put(ki.label, l.Intern(f.Label))
	put(ki.op, l.Intern(f.Op))
	if f.Choices != nil {
		put(ki.choices, l.Intern(strings.Join(f.Choices, choiceSep)))
	}
	switch ki.path {
	case inEnd:
		switch f.Path {
		case "head":
			r.order = endHead
		case "tail":
			r.order = endTail
		}
	case inHalf:
		if f.Path == "upper" {
			r.n = halfUpper
		}
	default:
		put(ki.path, l.Intern(f.Path))
	}
	if ki.pfns != inVmap {
		put(ki.pfns, l.pfnList(f.PFNs))
	} else {
		l.vmaps.Push(vmapRec{pfns: uint32(l.pfnList(f.PFNs)), caller: l.Intern(f.Src), fn: l.Intern(f.Op), flags: l.Intern(f.Path), array: f.Array})
		r.s1 = StrID(l.vmaps.Len())
	}
	var realloc uint32
	if f.Realloc != nil {
		realloc = l.addRealloc(f.Realloc)
	}
	if ki.realloc == inS1 {
		r.s1 = StrID(realloc)
	}
	text := f.Text
	if f.Synthetic != "" {
		// The kind's own words, without the ending the mark adds.
		text = strings.TrimSuffix(text, string(syntheticSentence(nil, f.Synthetic)))
		text = strings.TrimSuffix(text, "; ")
	}
	switch ki.stored {
	case inVmap:
	case inVec:
		l.vecs.Push(vecRec{cause: f.Cause, realloc: realloc, text: l.Intern(text)})
		r.s2 = StrID(l.vecs.Len())
	case inNone:
	default:
		put(ki.stored, l.Intern(text))
	}
	l.push(&r)
	if f.Synthetic != "" {
		l.markSynthetic(l.Len()-1, l.Intern(f.Synthetic))
	}
	e := l.At(l.Len() - 1)
	if e.Text() != f.Text {
		if l.texts == nil {
			l.texts = map[int32]StrID{}
		}
		l.texts[int32(e.pos)] = l.Intern(f.Text)
	}
	return e, nil
}

// check refuses fields the kind does not have and values a record cannot
// hold.
func (ki *kindInfo) check(f *Fields) error {
	bad := func(name string, set bool, f fieldSet) error {
		if set && ki.fields&f == 0 {
			return fmt.Errorf("has no %s", name)
		}
		return nil
	}
	for _, c := range []struct {
		name string
		set  bool
		f    fieldSet
	}{
		{"gfp", f.GFP != 0, fGFP}, {"pfn", f.PFN != 0, fPFN}, {"order", f.Order != 0, fOrder},
		{"owner", f.Owner != OwnerFree, fOwner}, {"list", f.List != ListNone, fList},
		{"decision", f.Decision != DecisionNone, fDecision}, {"migratetype", f.Migrate != MigrateUnmovable, fMigrate},
		{"zone", f.Zone != ZoneDMA, fZone}, {"addr", f.Addr != 0, fAddr},
		{"size", f.Size != 0, fSize}, {"bytes", f.Bytes != 0, fBytes}, {"cache", f.Cache != "", fCache},
	} {
		if err := bad(c.name, c.set, c.f); err != nil {
			return err
		}
	}
	for _, c := range []struct {
		name string
		set  bool
		at   loc
	}{
		{"path", f.Path != "", ki.path}, {"src", f.Src != "", ki.src}, {"label", f.Label != "", ki.label}, {"op", f.Op != "", ki.op},
		{"pfns", f.PFNs != nil, ki.pfns}, {"realloc", f.Realloc != nil, ki.realloc}, {"cause", f.Cause != 0, ki.cause},
		{"choices", f.Choices != nil, ki.choices},
	} {
		if c.set && c.at == inNone {
			return fmt.Errorf("has no %s", c.name)
		}
	}
	for _, c := range f.Choices {
		if !ValidChoice(c) {
			return fmt.Errorf("choice %q is empty or holds \\x1f", c)
		}
	}
	if ki.path == inEnd && f.Path != "" && f.Path != "head" && f.Path != "tail" {
		return fmt.Errorf("path %q is not head or tail", f.Path)
	}
	if ki.path == inHalf && f.Path != "" && f.Path != "upper" {
		return fmt.Errorf("path %q is not upper", f.Path)
	}
	if f.Synthetic != "" && !ki.synthetic {
		return errors.New("cannot be a synthetic free")
	}
	counts := f.counts()
	for c := eventCount(1); c < numCounts; c++ {
		if *counts[c] != 0 && c != ki.count {
			return fmt.Errorf("has no %s", c)
		}
	}
	if c := ki.count; c != countNone && c != countCapacity {
		if v := *counts[c]; v < -1<<31 || v >= 1<<31 {
			return fmt.Errorf("%s %d is out of range", c, v)
		}
	}
	switch {
	case f.CPU < 0 || f.CPU >= MaxCPUs:
		return fmt.Errorf("cpu %d is out of range", f.CPU)
	case f.PFN >= 1<<32:
		return fmt.Errorf("pfn %#x is out of range", f.PFN)
	case !ki.wideOrder && (f.Order < -128 || f.Order > 127):
		return fmt.Errorf("order %d is out of range", f.Order)
	case f.Step < 0 || f.Step >= 1<<31:
		return fmt.Errorf("step %d is out of range", f.Step)
	}
	for _, p := range f.PFNs {
		if p >= 1<<32 {
			return fmt.Errorf("pfn %#x is out of range", p)
		}
	}
	return nil
}

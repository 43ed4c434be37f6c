package heapview

import (
	"encoding/binary"

	"github.com/allocviz/allocviz/allocator"
)

// The undo journal. A million events leave millions of undo records, so
// they are written compactly: the records of the event being applied are
// collected as values (so that a refused event drops them, and runs of
// pages fold into one record), then encoded into a byte stream, a tag and
// varints each, event after event. Undoing decodes a stretch of the
// stream and applies its records newest first. For each event the mark
// log keeps where its records begin and the replay cost so far, as
// varints too, with a full mark every markEvery events.

// Undo records, as collected.
type pageUndo struct {
	pfn uint64
	n   uint64  // pages from pfn that all held rec
	rec pageRec // their value before the event
}

// record is a tree value that knows whether it exists: every record made
// by an event has a non-zero since, so the zero value stands for none.
type record interface {
	slabRec | allocRec | areaRec
}

// kvUndo is a tree entry's old value; an old value with since 0 means the
// key had no entry.
type kvUndo[V record] struct {
	key uint64
	old V
}

// cacheUndo is what an event changed in a cache's slabs, objects and
// life, or that it created the cache.
type cacheUndo struct {
	id      int32
	grew    bool // the event appended cache id
	slabs   int32
	objects int32
	alive   bool // alive flipped
}

// numUndo is what an event added to a counter.
type numUndo struct {
	id    uint8
	delta int64
}

// countUndo is a slab's old count of objects in use.
type countUndo struct {
	pfn uint32
	old int32
}

// undoSet holds undo records of each kind, in the order they were made.
type undoSet struct {
	pages  []pageUndo
	slabs  []kvUndo[slabRec]
	allocs []kvUndo[allocRec]
	areas  []kvUndo[areaRec]
	caches []cacheUndo
	nums   []numUndo
	counts []countUndo
}

func (u *undoSet) reset() {
	u.pages, u.slabs, u.allocs, u.areas = u.pages[:0], u.slabs[:0], u.allocs[:0], u.areas[:0]
	u.caches, u.nums, u.counts = u.caches[:0], u.nums[:0], u.counts[:0]
}

func (u *undoSet) empty() bool {
	return len(u.pages)+len(u.slabs)+len(u.allocs)+len(u.areas)+len(u.caches)+len(u.nums)+len(u.counts) == 0
}

// journal holds, for every event the head state applied, how to undo it.
type journal struct {
	pend  undoSet // the records of the event being applied
	buf   stream  // every committed event's records
	marks markLog
	scr   undoSet             // scratch for undo
	seen  map[uint64]struct{} // scratch for oldestOnly
}

// here returns where the next event's records will begin.
func (j *journal) here() uint64 { return j.buf.end() }

// discard drops the records of the event being applied.
func (j *journal) discard() { j.pend.reset() }

// Record tags.
const (
	tagPage byte = 1 + iota
	tagSlab
	tagAlloc
	tagArea
	tagCache
	tagNum
	tagCount
)

// commit encodes the records of the event being applied.
func (j *journal) commit() {
	u := &j.pend
	if u.empty() {
		return
	}
	var b []byte
	b = j.buf.scratch[:0]
	for _, p := range u.pages {
		b = append(b, tagPage)
		b = binary.AppendUvarint(b, p.pfn)
		b = binary.AppendUvarint(b, p.n)
		b = appendPage(b, &p.rec)
	}
	for _, s := range u.slabs {
		b = append(b, tagSlab)
		b = binary.AppendUvarint(b, s.key)
		b = appendSlab(b, &s.old)
	}
	for _, a := range u.allocs {
		b = append(b, tagAlloc)
		b = appendKey(b, a.key)
		b = appendAlloc(b, &a.old)
	}
	for _, a := range u.areas {
		b = append(b, tagArea)
		b = appendKey(b, a.key)
		b = appendArea(b, &a.old)
	}
	for _, c := range u.caches {
		b = append(b, tagCache)
		b = binary.AppendUvarint(b, uint64(c.id))
		switch {
		case c.grew:
			b = append(b, 1)
		case c.alive:
			b = append(b, 2)
		default:
			b = append(b, 0)
		}
		if !c.grew {
			b = binary.AppendVarint(b, int64(c.slabs))
			b = binary.AppendVarint(b, int64(c.objects))
		}
	}
	for _, n := range u.nums {
		b = append(b, tagNum, n.id)
		b = binary.AppendVarint(b, n.delta)
	}
	for _, c := range u.counts {
		b = append(b, tagCount)
		b = binary.AppendUvarint(b, uint64(c.pfn))
		b = binary.AppendVarint(b, int64(c.old))
	}
	j.buf.write(b)
	j.buf.scratch = b
	u.reset()
}

// decode reads the records in [from, to) of the stream into u, in order.
func (j *journal) decode(from, to uint64, u *undoSet) {
	u.reset()
	j.buf.read(from, to, func(b []byte) bool {
		for len(b) > 0 {
			tag := b[0]
			b = b[1:]
			switch tag {
			case tagPage:
				var p pageUndo
				p.pfn, b = uvarint(b)
				p.n, b = uvarint(b)
				b = readPage(b, &p.rec)
				u.pages = append(u.pages, p)
			case tagSlab:
				var s kvUndo[slabRec]
				s.key, b = uvarint(b)
				b = readSlab(b, &s.old)
				u.slabs = append(u.slabs, s)
			case tagAlloc:
				var a kvUndo[allocRec]
				a.key, b = readKey(b)
				b = readAlloc(b, &a.old)
				u.allocs = append(u.allocs, a)
			case tagArea:
				var a kvUndo[areaRec]
				a.key, b = readKey(b)
				b = readArea(b, &a.old)
				u.areas = append(u.areas, a)
			case tagCache:
				var c cacheUndo
				var id uint64
				id, b = uvarint(b)
				c.id = int32(id)
				c.grew, c.alive, b = b[0] == 1, b[0] == 2, b[1:]
				if !c.grew {
					var v int64
					v, b = varint(b)
					c.slabs = int32(v)
					v, b = varint(b)
					c.objects = int32(v)
				}
				u.caches = append(u.caches, c)
			case tagNum:
				n := numUndo{id: b[0]}
				n.delta, b = varint(b[1:])
				u.nums = append(u.nums, n)
			case tagCount:
				var pfn uint64
				var old int64
				pfn, b = uvarint(b)
				old, b = varint(b)
				u.counts = append(u.counts, countUndo{pfn: uint32(pfn), old: int32(old)})
			default:
				panic("heapview: the undo journal is corrupt")
			}
		}
		return true
	})
}

// bytes returns the memory the journal holds.
func (j *journal) bytes() int64 { return j.buf.bytes() }

// Field encodings.

func uvarint(b []byte) (uint64, []byte) {
	v, n := binary.Uvarint(b)
	return v, b[n:]
}

func varint(b []byte) (int64, []byte) {
	v, n := binary.Varint(b)
	return v, b[n:]
}

// appendKey writes an address: direct-map addresses, the most common,
// as their small offset.
func appendKey(b []byte, k uint64) []byte {
	return binary.AppendVarint(b, int64(k-uint64(allocator.DirectMapBase)))
}

func readKey(b []byte) (uint64, []byte) {
	v, b := varint(b)
	return uint64(v) + uint64(allocator.DirectMapBase), b
}

func appendPage(b []byte, r *pageRec) []byte {
	b = append(b, byte(r.owner), byte(r.flags), byte(r.order), r.pbt)
	b = binary.AppendUvarint(b, uint64(r.head))
	b = binary.AppendUvarint(b, uint64(r.since))
	return binary.AppendUvarint(b, uint64(r.cache))
}

func readPage(b []byte, r *pageRec) []byte {
	r.owner, r.flags, r.order, r.pbt = allocator.Owner(b[0]), pageFlags(b[1]), int8(b[2]), b[3]
	var v uint64
	v, b = uvarint(b[4:])
	r.head = uint32(v)
	v, b = uvarint(b)
	r.since = uint32(v)
	v, b = uvarint(b)
	r.cache = uint32(v)
	return b
}

func appendSlab(b []byte, r *slabRec) []byte {
	if r.since == 0 {
		return append(b, 0)
	}
	head := byte(0)
	if r.head {
		head = 1
	}
	b = append(b, 1, byte(r.order), byte(r.list), head)
	b = binary.AppendVarint(b, int64(r.cache))
	b = binary.AppendVarint(b, int64(r.cpu))
	b = binary.AppendUvarint(b, uint64(r.objects))
	b = binary.AppendUvarint(b, uint64(r.off))
	b = binary.AppendUvarint(b, uint64(r.since))
	return binary.AppendUvarint(b, uint64(r.listed))
}

func readSlab(b []byte, r *slabRec) []byte {
	if b[0] == 0 {
		*r = slabRec{}
		return b[1:]
	}
	r.order, r.list, r.head = int8(b[1]), allocator.SlabList(b[2]), b[3] == 1
	b = b[4:]
	var v int64
	var u uint64
	v, b = varint(b)
	r.cache = int32(v)
	v, b = varint(b)
	r.cpu = int16(v)
	u, b = uvarint(b)
	r.objects = int32(u)
	u, b = uvarint(b)
	r.off = uint32(u)
	u, b = uvarint(b)
	r.since = uint32(u)
	u, b = uvarint(b)
	r.listed = uint32(u)
	return b
}

func appendAlloc(b []byte, r *allocRec) []byte {
	if r.since == 0 {
		return append(b, 0)
	}
	flags := byte(1)
	if r.vec {
		flags |= 2
	}
	if r.lost {
		flags |= 4
	}
	b = append(b, flags, byte(r.kind))
	b = binary.AppendUvarint(b, r.size)
	b = binary.AppendUvarint(b, r.bytes)
	b = binary.AppendUvarint(b, uint64(r.since))
	// lineage and changed are at or after since, and often equal to it.
	b = binary.AppendUvarint(b, uint64(r.lineage-r.since))
	b = binary.AppendUvarint(b, uint64(r.changed-r.since))
	b = binary.AppendVarint(b, int64(r.cache))
	b = binary.AppendUvarint(b, uint64(r.fn))
	return binary.AppendUvarint(b, uint64(r.path))
}

func readAlloc(b []byte, r *allocRec) []byte {
	if b[0] == 0 {
		*r = allocRec{}
		return b[1:]
	}
	r.vec, r.lost, r.kind = b[0]&2 != 0, b[0]&4 != 0, AllocKind(b[1])
	b = b[2:]
	var u uint64
	var v int64
	r.size, b = uvarint(b)
	r.bytes, b = uvarint(b)
	u, b = uvarint(b)
	r.since = uint32(u)
	u, b = uvarint(b)
	r.lineage = r.since + uint32(u)
	u, b = uvarint(b)
	r.changed = r.since + uint32(u)
	v, b = varint(b)
	r.cache = int32(v)
	u, b = uvarint(b)
	r.fn = uint16(u)
	u, b = uvarint(b)
	r.path = uint16(u)
	return b
}

func appendArea(b []byte, r *areaRec) []byte {
	if r.since == 0 {
		return append(b, 0)
	}
	flags := byte(1)
	if r.unpurged {
		flags |= 2
	}
	b = append(b, flags)
	b = binary.AppendUvarint(b, r.bytes)
	b = binary.AppendUvarint(b, r.size)
	b = binary.AppendUvarint(b, uint64(r.since))
	b = binary.AppendUvarint(b, uint64(r.caller))
	b = binary.AppendUvarint(b, uint64(r.flags))
	return binary.AppendUvarint(b, uint64(r.pfns))
}

func readArea(b []byte, r *areaRec) []byte {
	if b[0] == 0 {
		*r = areaRec{}
		return b[1:]
	}
	r.unpurged = b[0]&2 != 0
	b = b[1:]
	var u uint64
	r.bytes, b = uvarint(b)
	r.size, b = uvarint(b)
	u, b = uvarint(b)
	r.since = uint32(u)
	u, b = uvarint(b)
	r.caller = uint16(u)
	u, b = uvarint(b)
	r.flags = uint16(u)
	u, b = uvarint(b)
	r.pfns = uint32(u)
	return b
}

// stream is an append-only byte stream in fixed chunks. A write never
// straddles two chunks, so an offset is a chunk and a place in it.
type stream struct {
	chunks  [][]byte
	scratch []byte
}

const streamShift = 16 // 64 KiB chunks

func (s *stream) end() uint64 {
	if len(s.chunks) == 0 {
		return 0
	}
	last := len(s.chunks) - 1
	return uint64(last)<<streamShift | uint64(len(s.chunks[last]))
}

func (s *stream) write(b []byte) {
	last := len(s.chunks) - 1
	if last < 0 || len(s.chunks[last])+len(b) > 1<<streamShift {
		s.chunks = append(s.chunks, make([]byte, 0, max(1<<streamShift, len(b))))
		last++
	}
	s.chunks[last] = append(s.chunks[last], b...)
}

// read calls f with the bytes of [from, to), a chunk at a time, until f
// returns false.
func (s *stream) read(from, to uint64, f func([]byte) bool) {
	for from < to {
		c := from >> streamShift
		off := from & (1<<streamShift - 1)
		chunk := s.chunks[c]
		end := uint64(len(chunk))
		if to>>streamShift == c {
			end = to & (1<<streamShift - 1)
		}
		if !f(chunk[off:end]) {
			return
		}
		from = (c + 1) << streamShift
	}
}

func (s *stream) bytes() int64 {
	var n int64
	for _, c := range s.chunks {
		n += int64(cap(c))
	}
	return n + int64(cap(s.chunks))*24 + int64(cap(s.scratch))
}

// markEvery is how often markLog keeps a full mark.
const markEvery = 64

// markAt is where the journal stood after some events, and the replay
// cost of those events.
type markAt struct {
	off  uint64
	cost uint64
}

// markLog holds, for every event applied, where its undo records end in
// the journal and the replay cost of the events up to it: at(i) is the
// mark after i events. Each event's step is two varints (its records'
// length and its cost) in a byte stream, with a full mark and the
// position of event k*markEvery's step every markEvery events.
type markLog struct {
	base  []markBase // base[k]: at(k * markEvery)
	steps stream
	n     int
	last  markAt // at(n)
	buf   [2 * binary.MaxVarintLen64]byte
}

type markBase struct {
	markAt
	step uint64 // where the steps of events k*markEvery on begin
}

func newMarkLog() markLog {
	return markLog{base: []markBase{{}}}
}

// add records the end of the next event: where the journal stands after
// it and the total replay cost after it.
func (ml *markLog) add(end, cost uint64) {
	b := binary.AppendUvarint(ml.buf[:0], end-ml.last.off)
	b = binary.AppendUvarint(b, cost-ml.last.cost)
	ml.steps.write(b)
	ml.n++
	ml.last = markAt{end, cost}
	if ml.n%markEvery == 0 {
		ml.base = append(ml.base, markBase{ml.last, ml.steps.end()})
	}
}

// at returns the mark and cost after i events, 0 <= i <= len.
func (ml *markLog) at(i int) markAt {
	k := i / markEvery
	base := ml.base[k]
	a := base.markAt
	left := i - k*markEvery
	if left == 0 {
		return a
	}
	ml.steps.read(base.step, ml.steps.end(), func(b []byte) bool {
		for ; left > 0 && len(b) > 0; left-- {
			var d, c uint64
			d, b = uvarint(b)
			c, b = uvarint(b)
			a.off += d
			a.cost += c
		}
		return left > 0
	})
	return a
}

// cost returns the replay cost of the first i events.
func (ml *markLog) cost(i int) uint64 { return ml.at(i).cost }

// bytes returns the memory the marks hold.
func (ml *markLog) bytes() int64 {
	return int64(cap(ml.base))*24 + ml.steps.bytes()
}

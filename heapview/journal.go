package heapview

import "unsafe"

// The journal's storage. A million events leave millions of undo
// records, so they are kept compact: append-only lists in fixed blocks
// (no slack from doubling, no copying as they grow), and the per-event
// marks as small deltas from a full mark every markEvery events.

// blockShift sets the block size of a chunked list: 4096 entries.
const blockShift = 12

const blockLen = 1 << blockShift

// chunked is an append-only list stored in blocks of blockLen entries.
type chunked[T any] struct {
	blocks [][]T
	n      int
}

func (l *chunked[T]) len() int { return l.n }

func (l *chunked[T]) push(v T) {
	b := l.n >> blockShift
	if b == len(l.blocks) {
		l.blocks = append(l.blocks, make([]T, 0, blockLen))
	}
	l.blocks[b] = append(l.blocks[b], v)
	l.n++
}

// at returns entry i, which must be below len.
func (l *chunked[T]) at(i int) *T { return &l.blocks[i>>blockShift][i&(blockLen-1)] }

// truncate drops the entries from n on.
func (l *chunked[T]) truncate(n int) {
	if n >= l.n {
		return
	}
	b := n >> blockShift
	if n&(blockLen-1) == 0 {
		for i := b; i < len(l.blocks); i++ {
			l.blocks[i] = nil
		}
		l.blocks = l.blocks[:b]
	} else {
		l.blocks[b] = l.blocks[b][:n&(blockLen-1)]
		for i := b + 1; i < len(l.blocks); i++ {
			l.blocks[i] = nil
		}
		l.blocks = l.blocks[:b+1]
	}
	l.n = n
}

// bytes returns the memory the list holds, given the size of an entry.
func (l *chunked[T]) bytes(size int) int64 {
	var n int64
	for _, b := range l.blocks {
		n += int64(cap(b)) * int64(size)
	}
	return n + int64(cap(l.blocks))*24
}

// markEvery is how often markLog keeps a full mark.
const markEvery = 64

// markAt is a full mark and the replay cost of the events before it.
type markAt struct {
	mark
	cost uint64
}

// markDelta is one event's records per journal and its replay cost. A
// first count of bigDelta says the event's records or cost did not fit
// and its full end is in markLog.big instead.
type markDelta struct {
	n    [7]uint8
	cost uint16
}

const bigDelta = 255

// markLog holds, for every event applied, where its undo records begin
// and end in each journal and the replay cost of the events up to it:
// at(i) is the state after i events. It costs 10 bytes an event.
type markLog struct {
	base  []markAt           // base[k] = at(k * markEvery)
	delta chunked[markDelta] // delta of event i: at(i+1) - at(i)
	big   map[int]markAt     // at(i+1) for events i whose delta does not fit
	last  markAt             // at(n)
}

func newMarkLog() markLog {
	return markLog{base: []markAt{{}}, big: map[int]markAt{}}
}

// add records the end of the next event: the journals' lengths and the
// total replay cost after it.
func (ml *markLog) add(end mark, cost uint64) {
	i := ml.delta.len()
	prev := ml.last
	next := markAt{end, cost}
	var d markDelta
	counts := [7]uint32{end.pages - prev.pages, end.slabs - prev.slabs, end.allocs - prev.allocs,
		end.areas - prev.areas, end.caches - prev.caches, end.nums - prev.nums, end.counts - prev.counts}
	fits := cost-prev.cost < 0xffff
	for k, c := range counts {
		if c >= bigDelta {
			fits = false
		}
		d.n[k] = uint8(c)
	}
	d.cost = uint16(cost - prev.cost)
	if !fits {
		d.n[0] = bigDelta
		ml.big[i] = next
	}
	ml.delta.push(d)
	ml.last = next
	if (i+1)%markEvery == 0 {
		ml.base = append(ml.base, next)
	}
}

// step applies event i's delta to at(i), giving at(i+1).
func (ml *markLog) step(i int, at markAt) markAt {
	d := ml.delta.at(i)
	if d.n[0] == bigDelta {
		return ml.big[i]
	}
	return markAt{mark{at.pages + uint32(d.n[0]), at.slabs + uint32(d.n[1]), at.allocs + uint32(d.n[2]),
		at.areas + uint32(d.n[3]), at.caches + uint32(d.n[4]), at.nums + uint32(d.n[5]), at.counts + uint32(d.n[6])},
		at.cost + uint64(d.cost)}
}

// at returns the marks and cost after i events, 0 <= i <= len.
func (ml *markLog) at(i int) markAt {
	k := i / markEvery
	a := ml.base[k]
	for j := k * markEvery; j < i; j++ {
		a = ml.step(j, a)
	}
	return a
}

// cost returns the replay cost of the first i events.
func (ml *markLog) cost(i int) uint64 { return ml.at(i).cost }

// bytes returns the memory the marks hold.
func (ml *markLog) bytes() int64 {
	return int64(cap(ml.base))*int64(unsafe.Sizeof(markAt{})) + ml.delta.bytes(int(unsafe.Sizeof(markDelta{}))) +
		int64(len(ml.big))*64
}

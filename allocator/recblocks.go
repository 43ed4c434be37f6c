package allocator

import (
	"encoding/binary"
	"math/bits"
	"unsafe"
)

// recBlocks stores the log's records encoded, as they arrive: each as its
// kind, a mask of the words that differ from the last record of its kind
// in its run of recLen, and each such word XORed with that record's, as a
// varint. A log of a kmalloc loop takes about four bytes an event this way
// instead of 48, and a record that repeats the last of its kind costs two
// bytes and a comparison. Runs start afresh so that reading one event
// costs little: a run is decoded whole into a small cache, the run being
// written as far as it goes. Readers copy the record they ask for
// (EventLog.At), so the cache is reused, and recording allocates nothing
// but the chunks the encodings fill.
type recBlocks struct {
	data  [][]byte       // the encodings, in chunks a run never straddles
	offs  Blocks[uint64] // run -> where its encoding begins: chunk<<chunkShift | offset
	n     int
	last  [kindSlots][recWords]uint64 // the run being written: the last record of each kind, as words
	used  uint64                      // the kinds last holds, a bit each
	cur   []byte                      // the chunk being written (data's last)
	cache [recCache]*cachedRun        // by run % recCache
}

// cachedRun is a run read back: its first valid records, and for the run
// being written where decoding stopped.
type cachedRun struct {
	run   int // 1 + the run; 0: none
	valid int
	off   int // in the chunk: where the next record's encoding begins
	last  [kindSlots][recWords]uint64
	recs  [recLen]record
}

const (
	runShift   = 10
	recLen     = 1 << runShift // records in a run
	recCache   = 8             // runs kept decoded
	chunkShift = 16            // 64 KiB chunks of encodings
)

// A run, even of records that share nothing, fits in a chunk.
const _ = uint(1<<chunkShift - maxRunBytes)

// Len returns the number of records.
func (rb *recBlocks) Len() int { return rb.n }

// kindSlots is a power of two above every kind, so that a kind indexes
// recBlocks.last without a check.
const kindSlots = 64

// add encodes r at the end.
func (rb *recBlocks) add(r *record) {
	// The words from the fields, in registers: the record was just
	// written field by field, and reading it back as words would wait
	// for those stores.
	w0, w1, w2 := packHead(r.kind, r.cpu, r.order, r.b, r.gfp, r.pfn, r.n, r.s1, r.s2)
	rb.addWords(w0, w1, w2, uint64(r.addr), r.size, r.bytes)
}

// packHead returns a record's first three words from their fields, as
// they lie in memory (little-endian).
func packHead(kind EventKind, cpu uint8, order int8, b uint8, gfp GFP, pfn uint32, n int32, s1, s2 StrID) (uint64, uint64, uint64) {
	return uint64(kind) | uint64(cpu)<<8 | uint64(uint8(order))<<16 | uint64(b)<<24 | uint64(gfp)<<32,
		uint64(pfn) | uint64(uint32(n))<<32, uint64(s1) | uint64(s2)<<32
}

// addWords encodes the record whose words are w0..w5 at the end.
func (rb *recBlocks) addWords(w0, w1, w2, w3, w4, w5 uint64) {
	if rb.n&(recLen-1) == 0 {
		rb.startRun()
	}
	if cap(rb.cur)-len(rb.cur) < maxRecBytes {
		rb.spill()
	}
	k := w0 % kindSlots
	rb.used |= 1 << k
	p := &rb.last[k]
	if w3 == p[3] && w1 == p[1] && w4 == p[4] && w2 == p[2] && w0 == p[0] && w5 == p[5] {
		rb.cur = append(rb.cur, byte(w0), 0)
	} else {
		w := [recWords]uint64{w0, w1, w2, w3, w4, w5}
		rb.cur = encodeRecord(rb.cur, &w, p, byte(w0))
		*p = w
	}
	rb.n++
}

// startRun begins a run, with no record of any kind before it, in the
// chunk being filled if it has room for a record.
func (rb *recBlocks) startRun() {
	rb.sync()
	last := len(rb.data) - 1
	if last < 0 || cap(rb.data[last])-len(rb.data[last]) < maxRecBytes {
		rb.data = append(rb.data, make([]byte, 0, 1<<chunkShift))
		last++
	}
	rb.cur = rb.data[last]
	rb.offs.Push(uint64(last)<<chunkShift | uint64(len(rb.cur)))
	for u := rb.used; u != 0; u &= u - 1 {
		rb.last[bits.TrailingZeros64(u)] = [recWords]uint64{}
	}
	rb.used = 0
}

// spill moves the run being written, whose chunk has no room for another
// record, to the start of a new chunk: a run never straddles chunks, and
// chunks fill up instead of keeping room for a whole run.
func (rb *recBlocks) spill() {
	run := rb.n >> runShift
	off := rb.offs.At(run)
	start := int(*off & (1<<chunkShift - 1))
	chunk := append(make([]byte, 0, 1<<chunkShift), rb.cur[start:]...)
	rb.data[len(rb.data)-1] = rb.cur[:start]
	rb.data = append(rb.data, chunk)
	rb.cur = chunk
	*off = uint64(len(rb.data)-1) << chunkShift
	if c := rb.cache[run%recCache]; c != nil && c.run == run+1 {
		c.off -= start
	}
}

// sync brings the chunk being written up to date in data.
func (rb *recBlocks) sync() {
	if n := len(rb.data); n > 0 {
		rb.data[n-1] = rb.cur
	}
}

// At returns record i, which must be below Len. The record may be
// overwritten by the next call of At: copy it.
func (rb *recBlocks) At(i int) *record {
	run := i >> runShift
	c := rb.cache[run%recCache]
	if c == nil {
		c = new(cachedRun)
		rb.cache[run%recCache] = c
	}
	if c.run != run+1 {
		off := *rb.offs.At(run)
		c.run, c.valid, c.off = run+1, 0, int(off&(1<<chunkShift-1))
		c.last = [kindSlots][recWords]uint64{}
	}
	if j := i & (recLen - 1); j >= c.valid {
		rb.sync()
		chunk := rb.data[*rb.offs.At(run)>>chunkShift]
		upto := min(recLen, rb.n-run<<runShift)
		c.off += decodeRecords(chunk[c.off:], &c.last, c.recs[c.valid:upto])
		c.valid = upto
	}
	return &c.recs[i&(recLen-1)]
}

// bytes returns the memory the records hold.
func (rb *recBlocks) bytes() int64 {
	n := int64(cap(rb.data))*24 + rb.offs.Bytes(8)
	for _, b := range rb.data {
		n += int64(cap(b))
	}
	for _, c := range rb.cache {
		if c != nil {
			n += int64(unsafe.Sizeof(*c))
		}
	}
	return n
}

// clone returns a copy of rb: the chunks before the last, never written
// again, are shared.
func (rb *recBlocks) clone() recBlocks {
	rb.sync()
	c := recBlocks{data: append([][]byte(nil), rb.data...), offs: rb.offs.clone(), n: rb.n}
	if last := len(c.data) - 1; last >= 0 {
		c.data[last] = append(make([]byte, 0, 1<<chunkShift), c.data[last]...)
		c.cur = c.data[last]
	}
	c.last, c.used = rb.last, rb.used
	return c
}

// A record is six words; a run encodes each record as its kind, a mask
// of the words that differ from the last record of the same kind in the
// run, and each such word XORed with that record's, as a varint. Records
// of a kind often repeat all but a word or two, and an address, a pfn or a
// count that moves a little changes only low bits.
const recWords = int(unsafe.Sizeof(record{}) / 8)

// maxRecBytes bounds a record's encoding: a kind, a mask and six full
// words; maxRunBytes a run's.
const (
	maxRecBytes = 2 + recWords*binary.MaxVarintLen64
	maxRunBytes = recLen * maxRecBytes
)

func words(r *record) *[recWords]uint64 { return (*[recWords]uint64)(unsafe.Pointer(r)) }

// pack returns r's words as they lie in memory (little-endian), built
// from its fields: reading the words of a record just written field by
// field would wait for the fields' stores.
func pack(r *record) [recWords]uint64 {
	return [recWords]uint64{
		uint64(r.kind) | uint64(r.cpu)<<8 | uint64(uint8(r.order))<<16 | uint64(r.b)<<24 | uint64(r.gfp)<<32,
		uint64(r.pfn) | uint64(uint32(r.n))<<32,
		uint64(r.s1) | uint64(r.s2)<<32,
		uint64(r.addr), r.size, r.bytes,
	}
}

// encodeRecord appends the encoding of the record of kind whose words
// are w, the last of its kind being p.
func encodeRecord(out []byte, w, p *[recWords]uint64, kind byte) []byte {
	m := len(out) + 1
	out = append(out, kind, 0)
	var mask byte
	for k := range recWords {
		x := w[k] ^ p[k]
		if x == 0 {
			continue
		}
		mask |= 1 << k
		for x >= 0x80 {
			out = append(out, byte(x)|0x80)
			x >>= 7
		}
		out = append(out, byte(x))
	}
	out[m] = mask
	return out
}

// decodeRecords decodes len(recs) records from in, the last of each kind
// being last, and returns the bytes read.
func decodeRecords(in []byte, last *[kindSlots][recWords]uint64, recs []record) int {
	n := 0
	for i := range recs {
		kind, mask := EventKind(in[n]), in[n+1]
		n += 2
		p := &last[kind%kindSlots]
		for b := range recWords {
			if mask&(1<<b) != 0 {
				x, m := binary.Uvarint(in[n:])
				n += m
				p[b] ^= x
			}
		}
		*words(&recs[i]) = *p
		recs[i].kind = kind
	}
	return n
}

// encodeRun appends the encoding of a whole run (tests).
func encodeRun(out []byte, recs *[recLen]record) []byte {
	var last [kindSlots][recWords]uint64
	for i := range recs {
		k := recs[i].kind % kindSlots
		w := words(&recs[i])
		out = encodeRecord(out, w, &last[k], byte(recs[i].kind))
		last[k] = *w
	}
	return out
}

// decodeRun decodes a whole run (tests).
func decodeRun(in []byte, recs *[recLen]record) {
	var last [kindSlots][recWords]uint64
	decodeRecords(in, &last, recs[:])
}

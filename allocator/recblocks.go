package allocator

import (
	"encoding/binary"
	"unsafe"
)

// recBlocks stores the log's records: the run of recLen being filled as
// records, and every full run sealed, encoded as each record's
// differences from the last record of its kind in the run (a kind byte, a
// mask of the slots that changed, and each changed slot as a varint). A
// log of a kmalloc loop takes about five bytes an event this way instead
// of 48. Runs are short so that reading one event costs little: a sealed
// run is decoded whole into a new array kept in a small cache, and the
// views handed out point into those arrays, which stay valid while in use.
type recBlocks struct {
	data  [][]byte       // the sealed runs' encodings, in chunks they never straddle
	offs  Blocks[uint64] // run -> where its encoding begins: chunk<<chunkShift | offset
	open  *[recLen]record
	n     int
	cache [recCache]*decodedRun // by run % recCache
}

// decodedRun is a sealed run read back.
type decodedRun struct {
	run  int
	recs [recLen]record
}

const (
	runShift   = 6
	recLen     = 1 << runShift // records in a run
	recCache   = 64            // decoded runs kept
	chunkShift = 16            // 64 KiB chunks of encodings
)

// Len returns the number of records.
func (rb *recBlocks) Len() int { return rb.n }

// Push appends r.
func (rb *recBlocks) Push(r *record) {
	i := rb.n & (recLen - 1)
	if i == 0 {
		if rb.open != nil {
			rb.seal()
		}
		rb.open = new([recLen]record)
	}
	rb.open[i] = *r
	rb.n++
}

// seal encodes the full open run. Its records stay readable in the
// cache, since they were probably read last.
func (rb *recBlocks) seal() {
	enc := encodeRun(rb.open[:])
	last := len(rb.data) - 1
	if last < 0 || len(rb.data[last])+len(enc) > 1<<chunkShift {
		rb.data = append(rb.data, make([]byte, 0, 1<<chunkShift))
		last++
	}
	rb.offs.Push(uint64(last)<<chunkShift | uint64(len(rb.data[last])))
	rb.data[last] = append(rb.data[last], enc...)
	run := rb.offs.Len() - 1
	rb.cache[run%recCache] = &decodedRun{run: run, recs: *rb.open}
}

// At returns record i, which must be below Len.
func (rb *recBlocks) At(i int) *record {
	run := i >> runShift
	if run == rb.offs.Len() {
		return &rb.open[i&(recLen-1)]
	}
	c := rb.cache[run%recCache]
	if c == nil || c.run != run {
		off := *rb.offs.At(run)
		c = &decodedRun{run: run}
		decodeRun(rb.data[off>>chunkShift][off&(1<<chunkShift-1):], &c.recs)
		rb.cache[run%recCache] = c
	}
	return &c.recs[i&(recLen-1)]
}

// bytes returns the memory the records hold.
func (rb *recBlocks) bytes() int64 {
	n := int64(cap(rb.data))*24 + rb.offs.Bytes(8)
	for _, b := range rb.data {
		n += int64(cap(b))
	}
	size := int64(unsafe.Sizeof(decodedRun{}))
	if rb.open != nil {
		n += size
	}
	for _, c := range rb.cache {
		if c != nil {
			n += size
		}
	}
	return n
}

// clone returns a copy of rb: the sealed runs, never written again, are
// shared.
func (rb *recBlocks) clone() recBlocks {
	c := recBlocks{data: append([][]byte(nil), rb.data...), offs: rb.offs.clone(), n: rb.n}
	if last := len(c.data) - 1; last >= 0 {
		// The last chunk is still written to: copy it.
		c.data[last] = append(make([]byte, 0, 1<<chunkShift), c.data[last]...)
	}
	if rb.open != nil {
		o := *rb.open
		c.open = &o
	}
	return c
}

// The slots a record's mask names, in the order they are written.
const (
	slotCPU = 1 << iota
	slotOrder
	slotB
	slotGFP
	slotPFN
	slotN
	slotS1
	slotS2
	slotAddr
	slotSize
	slotBytes
)

// encodeRun encodes a full run of records.
func encodeRun(recs []record) []byte {
	var last [numEventKinds]record
	out := make([]byte, 0, len(recs)*6)
	for i := range recs {
		r := &recs[i]
		p := &last[r.kind%numEventKinds]
		var mask uint64
		if r.cpu != p.cpu {
			mask |= slotCPU
		}
		if r.order != p.order {
			mask |= slotOrder
		}
		if r.b != p.b {
			mask |= slotB
		}
		if r.gfp != p.gfp {
			mask |= slotGFP
		}
		if r.pfn != p.pfn {
			mask |= slotPFN
		}
		if r.n != p.n {
			mask |= slotN
		}
		if r.s1 != p.s1 {
			mask |= slotS1
		}
		if r.s2 != p.s2 {
			mask |= slotS2
		}
		if r.addr != p.addr {
			mask |= slotAddr
		}
		if r.size != p.size {
			mask |= slotSize
		}
		if r.bytes != p.bytes {
			mask |= slotBytes
		}
		out = append(out, byte(r.kind))
		out = binary.AppendUvarint(out, mask)
		if mask&slotCPU != 0 {
			out = append(out, r.cpu)
		}
		if mask&slotOrder != 0 {
			out = append(out, byte(r.order))
		}
		if mask&slotB != 0 {
			out = append(out, r.b)
		}
		if mask&slotGFP != 0 {
			out = binary.AppendUvarint(out, uint64(r.gfp))
		}
		if mask&slotPFN != 0 {
			out = binary.AppendVarint(out, int64(r.pfn)-int64(p.pfn))
		}
		if mask&slotN != 0 {
			out = binary.AppendVarint(out, int64(r.n)-int64(p.n))
		}
		if mask&slotS1 != 0 {
			out = binary.AppendVarint(out, int64(r.s1)-int64(p.s1))
		}
		if mask&slotS2 != 0 {
			out = binary.AppendVarint(out, int64(r.s2)-int64(p.s2))
		}
		if mask&slotAddr != 0 {
			out = binary.AppendVarint(out, int64(r.addr-p.addr))
		}
		if mask&slotSize != 0 {
			out = binary.AppendVarint(out, int64(r.size-p.size))
		}
		if mask&slotBytes != 0 {
			out = binary.AppendVarint(out, int64(r.bytes-p.bytes))
		}
		*p = *r
	}
	return out
}

// decodeRun decodes a run that encodeRun wrote at the start of in.
func decodeRun(in []byte, recs *[recLen]record) {
	var last [numEventKinds]record
	for i := range recs {
		r := &recs[i]
		kind := EventKind(in[0])
		mask, n := binary.Uvarint(in[1:])
		in = in[1+n:]
		*r = last[kind%numEventKinds]
		r.kind = kind
		if mask&slotCPU != 0 {
			r.cpu, in = in[0], in[1:]
		}
		if mask&slotOrder != 0 {
			r.order, in = int8(in[0]), in[1:]
		}
		if mask&slotB != 0 {
			r.b, in = in[0], in[1:]
		}
		if mask&slotGFP != 0 {
			v, n := binary.Uvarint(in)
			r.gfp, in = GFP(v), in[n:]
		}
		var d int64
		if mask&slotPFN != 0 {
			d, in = varint(in)
			r.pfn = uint32(int64(r.pfn) + d)
		}
		if mask&slotN != 0 {
			d, in = varint(in)
			r.n = int32(int64(r.n) + d)
		}
		if mask&slotS1 != 0 {
			d, in = varint(in)
			r.s1 = StrID(int64(r.s1) + d)
		}
		if mask&slotS2 != 0 {
			d, in = varint(in)
			r.s2 = StrID(int64(r.s2) + d)
		}
		if mask&slotAddr != 0 {
			d, in = varint(in)
			r.addr += Addr(d)
		}
		if mask&slotSize != 0 {
			d, in = varint(in)
			r.size += uint64(d)
		}
		if mask&slotBytes != 0 {
			d, in = varint(in)
			r.bytes += uint64(d)
		}
		last[kind%numEventKinds] = *r
	}
}

// varint reads a varint from the front of in.
func varint(in []byte) (int64, []byte) {
	v, n := binary.Varint(in)
	return v, in[n:]
}

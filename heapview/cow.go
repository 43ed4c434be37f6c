package heapview

import (
	"slices"
	"unsafe"
)

// Copy-on-write containers. A state owns an epoch number; every chunk and
// tree node records the epoch of the state that made it. A state writes in
// place only what carries its own epoch and copies anything older first, so
// a snapshot costs a copy of the chunk table and a new epoch, and states
// share everything neither has written since. Epochs are never reused.

// chunkShift sets the chunk size of a vec: 256 records.
const chunkShift = 8

const chunkLen = 1 << chunkShift

// chunk is one run of chunkLen records of a vec.
type chunk[T any] struct {
	epoch uint64 // the epoch of the state that made the chunk; 0: the shared zero chunk
	a     [chunkLen]T
}

// vec is a fixed-length vector of records stored in shared chunks.
type vec[T any] struct {
	chunks []*chunk[T]
	n      uint64 // records
	copied uint64 // bytes of chunks copied since the count was reset (what a checkpoint keeps)
}

// newVec returns a vector of n zero records, all sharing one zero chunk.
func newVec[T any](n uint64) vec[T] {
	zero := &chunk[T]{}
	cs := make([]*chunk[T], (n+chunkLen-1)>>chunkShift)
	for i := range cs {
		cs[i] = zero
	}
	return vec[T]{chunks: cs, n: n}
}

// at returns record i for reading only.
func (v *vec[T]) at(i uint64) *T {
	return &v.chunks[i>>chunkShift].a[i&(chunkLen-1)]
}

// mut returns record i for writing by the state of the given epoch,
// copying its chunk first when the chunk is older.
func (v *vec[T]) mut(epoch, i uint64) *T {
	c := v.chunks[i>>chunkShift]
	if c.epoch != epoch {
		nc := new(chunk[T])
		*nc = *c
		nc.epoch = epoch
		v.chunks[i>>chunkShift] = nc
		v.copied += uint64(unsafe.Sizeof(*nc))
		c = nc
	}
	return &c.a[i&(chunkLen-1)]
}

// clone returns a vector sharing every chunk with v.
func (v *vec[T]) clone() vec[T] {
	return vec[T]{chunks: slices.Clone(v.chunks), n: v.n}
}

// sameChunk reports whether v and w share the chunk holding record i, in
// which case record i (and its whole chunk) is equal in both.
func (v *vec[T]) sameChunk(w *vec[T], i uint64) bool {
	return v.chunks[i>>chunkShift] == w.chunks[i>>chunkShift]
}

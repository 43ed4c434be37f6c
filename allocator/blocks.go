package allocator

// Blocks is an append-only list stored in fixed-size blocks: growing it
// never copies what it holds and leaves no slack beyond the last block,
// and a pointer to an entry stays valid for the list's life (until
// Truncate drops it). The event log, its side tables, the scripts' step
// index and heapview's undo journal all use it. The zero value is an empty
// list.
type Blocks[T any] struct {
	blocks [][]T // each BlockLen long
	n      int
}

// blockShift sets the size of a block: 4096 entries.
const blockShift = 12

// BlockLen is the number of entries in a block.
const BlockLen = 1 << blockShift

// Len returns the number of entries.
func (l *Blocks[T]) Len() int { return l.n }

// Push appends v.
func (l *Blocks[T]) Push(v T) {
	i := l.n & (BlockLen - 1)
	if i == 0 {
		l.blocks = append(l.blocks, make([]T, BlockLen))
	}
	l.blocks[len(l.blocks)-1][i] = v
	l.n++
}

// At returns entry i, which must be below Len.
func (l *Blocks[T]) At(i int) *T { return &l.blocks[i>>blockShift][i&(BlockLen-1)] }

// Last returns the last entry, which must exist.
func (l *Blocks[T]) Last() *T { return l.At(l.n - 1) }

// Truncate drops the entries from n on.
func (l *Blocks[T]) Truncate(n int) {
	if n >= l.n {
		return
	}
	keep := (n + BlockLen - 1) >> blockShift
	if i := n & (BlockLen - 1); i != 0 {
		clear(l.blocks[keep-1][i:])
	}
	for i := keep; i < len(l.blocks); i++ {
		l.blocks[i] = nil
	}
	l.blocks = l.blocks[:keep]
	l.n = n
}

// Search returns the smallest i in [0, Len) for which f(At(i)) is true,
// or Len if there is none; f must be false and then true along the list.
func (l *Blocks[T]) Search(f func(*T) bool) int {
	lo, hi := 0, l.n
	for lo < hi {
		h := int(uint(lo+hi) >> 1)
		if !f(l.At(h)) {
			lo = h + 1
		} else {
			hi = h
		}
	}
	return lo
}

// Bytes returns the memory the list holds, given the size of an entry.
func (l *Blocks[T]) Bytes(size int) int64 {
	var n int64
	for _, b := range l.blocks {
		n += int64(cap(b)) * int64(size)
	}
	return n + int64(cap(l.blocks))*24
}

// clone returns a copy that shares nothing with l.
func (l *Blocks[T]) clone() Blocks[T] {
	c := Blocks[T]{blocks: make([][]T, len(l.blocks)), n: l.n}
	for i, b := range l.blocks {
		c.blocks[i] = append(make([]T, 0, BlockLen), b...)
	}
	return c
}

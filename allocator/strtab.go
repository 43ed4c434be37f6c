package allocator

import (
	"hash/maphash"
	"sync"
	"unsafe"
)

// StrID names a string an event refers to: a cache name, a call site, a
// code path, a report. Records hold ids instead of strings, so a log of
// millions of events holds no pointers and each distinct string once.
// Ids with the top bit set are phrases, the fixed sentences allocviz
// writes (phrase); the others belong to the log that interned them
// (EventLog.String). 0 is the empty string.
type StrID uint32

const phraseBit StrID = 1 << 31

// phrases is the process-wide table of fixed sentences, registered while
// the package initialises; read-only after that.
var phrases = struct {
	sync.Mutex
	list  []string
	index map[string]StrID
}{list: []string{""}, index: map[string]StrID{}}

// phrase registers a fixed sentence and returns its id. It is for
// package-level variables: allocviz's own words, the same for every log.
func phrase(s string) StrID {
	phrases.Lock()
	defer phrases.Unlock()
	if id, ok := phrases.index[s]; ok {
		return id
	}
	id := phraseBit | StrID(len(phrases.list))
	phrases.list = append(phrases.list, s)
	phrases.index[s] = id
	return id
}

// strTable interns a log's strings: their bytes in fixed chunks, an index
// from id to bytes, and an open-addressed hash table from bytes to id. It
// holds no pointer per string.
type strTable struct {
	chunks [][]byte       // each chunkBytes long, or one long string's own
	refs   Blocks[strRef] // id-1 -> where its bytes are
	fill   int            // 1 + the chunk being filled; 0: none
	slots  []uint32       // hash -> id; 0 is free; len is a power of two
	seed   maphash.Seed
	bytes  int64 // string bytes held
}

type strRef struct {
	chunk, off, n uint32
}

const chunkBytes = 64 << 10

// intern returns the id of s, adding it on first sight.
func (t *strTable) intern(s string) StrID {
	if s == "" {
		return 0
	}
	if id, ok := phrases.index[s]; ok && phrasesSealed {
		return id
	}
	if len(t.slots) == 0 {
		t.slots = make([]uint32, 64)
		t.seed = maphash.MakeSeed()
	}
	h := maphash.String(t.seed, s)
	mask := uint64(len(t.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		id := t.slots[i]
		if id == 0 {
			id = t.add(s)
			t.slots[i] = id
			if t.refs.Len()*2 > len(t.slots) {
				t.grow()
			}
			return StrID(id)
		}
		if t.get(StrID(id)) == s {
			return StrID(id)
		}
	}
}

// add stores the bytes of s and returns its id.
func (t *strTable) add(s string) uint32 {
	n := len(s)
	var r strRef
	if n > chunkBytes/4 {
		// A long string (a SLUB report's hex dump) gets a chunk of its own.
		t.chunks = append(t.chunks, []byte(s))
		r = strRef{chunk: uint32(len(t.chunks) - 1), n: uint32(n)}
	} else {
		if t.fill == 0 || len(t.chunks[t.fill-1])+n > chunkBytes {
			t.chunks = append(t.chunks, make([]byte, 0, chunkBytes))
			t.fill = len(t.chunks)
		}
		c := &t.chunks[t.fill-1]
		r = strRef{chunk: uint32(t.fill - 1), off: uint32(len(*c)), n: uint32(n)}
		*c = append(*c, s...)
	}
	t.refs.Push(r)
	t.bytes += int64(n)
	return uint32(t.refs.Len())
}

// grow doubles the hash table.
func (t *strTable) grow() {
	slots := make([]uint32, 2*len(t.slots))
	mask := uint64(len(slots) - 1)
	for id := 1; id <= t.refs.Len(); id++ {
		h := maphash.String(t.seed, t.get(StrID(id)))
		i := h & mask
		for slots[i] != 0 {
			i = (i + 1) & mask
		}
		slots[i] = uint32(id)
	}
	t.slots = slots
}

// get returns the string with id id, without copying its bytes: they are
// never written again.
func (t *strTable) get(id StrID) string {
	if id&phraseBit != 0 {
		return phrases.list[id&^phraseBit]
	}
	if id == 0 || int(id) > t.refs.Len() {
		return ""
	}
	r := t.refs.At(int(id) - 1)
	if r.n == 0 {
		return ""
	}
	return unsafe.String(&t.chunks[r.chunk][r.off], int(r.n))
}

// memory returns the bytes the table holds.
func (t *strTable) memory() int64 {
	var n int64
	for _, c := range t.chunks {
		n += int64(cap(c))
	}
	return n + t.refs.Bytes(12) + int64(len(t.slots))*4
}

// clone returns a copy sharing nothing with t that may grow apart from it.
func (t *strTable) clone() strTable {
	c := strTable{refs: t.refs.clone(), fill: t.fill, slots: append([]uint32(nil), t.slots...), seed: t.seed, bytes: t.bytes}
	c.chunks = make([][]byte, len(t.chunks))
	for i, b := range t.chunks {
		c.chunks[i] = append(make([]byte, 0, cap(b)), b...)
	}
	return c
}

// phrasesSealed is set once the package's phrases are registered; from
// then on a string equal to a phrase interns as the phrase.
var phrasesSealed bool

func init() { phrasesSealed = true }

package heapview

import (
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/allocviz/allocviz/allocator"
)

// TestMarkLogGivesBackEveryMark stores marks with small and large steps
// and reads every one back.
func TestMarkLogGivesBackEveryMark(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	ml := newMarkLog()
	want := []markAt{{}}
	var cur markAt
	for i := range 5000 {
		step := func() uint64 {
			if rng.IntN(50) == 0 {
				return uint64(rng.IntN(1 << 30))
			}
			return uint64(rng.IntN(5))
		}
		cur.off += step()
		cur.cost += step() * uint64(1+i%3)
		ml.add(cur.off, cur.cost)
		want = append(want, cur)
	}
	for i, w := range want {
		if got := ml.at(i); got != w {
			t.Fatalf("at(%d) = %+v, want %+v", i, got, w)
		}
	}
}

// TestJournalDecodesWhatItEncoded: undo records of every kind, with
// values at the edges of their fields, read back from the byte stream as
// they were committed, event after event.
func TestJournalDecodesWhatItEncoded(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 3))
	var j journal
	var events []undoSet
	var ends []uint64
	u32 := func() uint32 { return []uint32{0, 1, 1 << 31, 1<<32 - 1, rng.Uint32()}[rng.IntN(5)] }
	u64 := func() uint64 { return []uint64{0, 1, 1<<64 - 1, rng.Uint64()}[rng.IntN(4)] }
	key := func() uint64 {
		return []uint64{uint64(allocator.DirectMapBase) + u64()%(1<<34), uint64(allocator.VmallocStart) + u64()%(1<<40), 16, 0, u64()}[rng.IntN(5)]
	}
	for range 3000 {
		var u undoSet
		for range rng.IntN(4) {
			switch rng.IntN(7) {
			case 0:
				u.pages = append(u.pages, pageUndo{pfn: u64(), n: u64(), rec: pageRec{owner: allocator.Owner(rng.IntN(6)),
					flags: pageFlags(rng.Uint32()), order: int8(rng.Uint32()), head: u32(), since: u32(), cache: u32()}})
			case 1:
				r := slabRec{}
				if rng.IntN(2) == 0 {
					r = slabRec{cache: int32(u32()), order: int8(rng.Uint32()), list: allocator.SlabList(rng.IntN(5)), cpu: int16(rng.Uint32()),
						objects: int32(u32()), off: u32(), since: u32() | 1, listed: u32(), head: rng.IntN(2) == 0}
				}
				u.slabs = append(u.slabs, kvUndo[slabRec]{u64(), r})
			case 2:
				r := allocRec{}
				if rng.IntN(2) == 0 {
					since := u32() | 1
					r = allocRec{size: u64(), bytes: u64(), since: since, lineage: since + u32()%7, changed: since + u32()%9,
						cache: int32(u32()), fn: uint16(rng.Uint32()), path: uint16(rng.Uint32()), kind: AllocKind(rng.IntN(4)),
						vec: rng.IntN(2) == 0, lost: rng.IntN(2) == 0}
				}
				u.allocs = append(u.allocs, kvUndo[allocRec]{key(), r})
			case 3:
				r := areaRec{}
				if rng.IntN(2) == 0 {
					r = areaRec{bytes: u64(), size: u64(), since: u32() | 1, caller: uint16(rng.Uint32()), flags: uint16(rng.Uint32()),
						unpurged: rng.IntN(2) == 0, pfns: u32()}
				}
				u.areas = append(u.areas, kvUndo[areaRec]{key(), r})
			case 4:
				c := cacheUndo{id: int32(u32() >> 1), grew: rng.IntN(2) == 0}
				if !c.grew {
					c.slabs, c.objects, c.alive = int32(u32()), int32(u32()), rng.IntN(2) == 0
				}
				u.caches = append(u.caches, c)
			case 5:
				u.nums = append(u.nums, numUndo{uint8(rng.IntN(nCounters)), int64(u64())})
			case 6:
				u.counts = append(u.counts, countUndo{u32(), int32(u32())})
			}
		}
		j.pend = u
		j.pend.pages = append([]pageUndo(nil), u.pages...)
		j.commit()
		events = append(events, u)
		ends = append(ends, j.here())
	}
	from := uint64(0)
	for i, want := range events {
		var got undoSet
		j.decode(from, ends[i], &got)
		if !sameUndo(&got, &want) {
			t.Fatalf("event %d decodes as %+v, want %+v", i, got, want)
		}
		from = ends[i]
	}
}

func sameUndo(a, b *undoSet) bool {
	norm := func(u *undoSet) undoSet {
		c := *u
		for _, p := range []any{&c.pages, &c.slabs, &c.allocs, &c.areas, &c.caches, &c.nums, &c.counts} {
			if v := reflect.ValueOf(p).Elem(); v.Len() == 0 {
				v.Set(reflect.Zero(v.Type()))
			}
		}
		return c
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

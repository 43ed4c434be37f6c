package heapview

import (
	"math/rand/v2"
	"testing"
)

// TestMarkLogGivesBackEveryMark stores marks with small and large steps
// (past what a delta holds) and reads every one back, and truncates a
// chunked list across block boundaries.
func TestMarkLogGivesBackEveryMark(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	ml := newMarkLog()
	want := []markAt{{}}
	var cur markAt
	for i := range 5000 {
		step := func() uint32 {
			if rng.IntN(50) == 0 {
				return uint32(rng.IntN(100000))
			}
			return uint32(rng.IntN(5))
		}
		cur.pages += step()
		cur.slabs += step()
		cur.allocs += step()
		cur.areas += step()
		cur.caches += step()
		cur.nums += step()
		cur.cost += uint64(step()) * uint64(1+i%3)
		ml.add(cur.mark, cur.cost)
		want = append(want, cur)
	}
	for i, w := range want {
		if got := ml.at(i); got != w {
			t.Fatalf("at(%d) = %+v, want %+v", i, got, w)
		}
	}
	var l chunked[int]
	for i := range 3*blockLen + 7 {
		l.push(i)
	}
	for _, n := range []int{3*blockLen + 7, 2 * blockLen, blockLen + 1, 5, 0} {
		l.truncate(n)
		if l.len() != n || n > 0 && *l.at(n - 1) != n-1 {
			t.Fatalf("after truncate(%d): len %d", n, l.len())
		}
		l.push(n)
		if *l.at(n) != n {
			t.Fatalf("push after truncate(%d) reads back %d", n, *l.at(n))
		}
		l.truncate(n)
	}
}

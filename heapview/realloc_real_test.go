package heapview

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/allocviz/allocviz/allocator"
	"github.com/allocviz/allocviz/allocator/allocatortest"
)

// chain follows one pointer through a run of reallocs on a real machine:
// the Seq of each EvRealloc that decided its fate, in order.
type chain struct {
	p     allocator.Addr
	first uint64   // Seq of the event that made its first allocation
	seqs  []uint64 // its EvRealloc events
}

// reallocDriver runs krealloc and vrealloc chains on a real machine while
// other allocations take the addresses the chains leave behind.
type reallocDriver struct {
	*session
	t *testing.T
}

func (d *reallocDriver) lastSeq(kind allocator.EventKind) uint64 {
	for i := d.log.Len() - 1; i >= 0; i-- {
		if d.log.At(i).Kind() == kind {
			return d.log.At(i).Seq()
		}
	}
	d.t.Fatalf("no %v event", kind)
	return 0
}

func (d *reallocDriver) kmalloc(c *chain, size uint64) {
	d.begin(fmt.Sprintf("p = kmalloc(%d)", size))
	p, err := d.m.Kmalloc(size, allocator.GFPKernel)
	if err != nil {
		d.t.Fatal(err)
	}
	kind := allocator.EvObjAlloc
	if size > d.m.KmallocMaxCacheSize() {
		kind = allocator.EvKmalloc
	}
	*c = chain{p: p, first: d.lastSeq(kind)}
}

func (d *reallocDriver) krealloc(c *chain, size uint64, gfp allocator.GFP) {
	d.begin(fmt.Sprintf("p = krealloc(p, %d)", size))
	p, err := d.m.Krealloc(c.p, size, gfp)
	if err != nil {
		d.t.Fatal(err)
	}
	c.p = p
	c.seqs = append(c.seqs, d.lastSeq(allocator.EvRealloc))
}

// kvrealloc records only the outer decision: the krealloc or vrealloc
// inside a kvrealloc is marked Within and is not one of the chain's.
func (d *reallocDriver) kvrealloc(c *chain, size uint64) {
	d.begin(fmt.Sprintf("kv = kvrealloc(kv, %d)", size))
	p, err := d.m.KVrealloc(c.p, size, allocator.GFPKernel)
	if err != nil {
		d.t.Fatal(err)
	}
	last := d.log.At(d.log.Len() - 1)
	if r, _ := last.Realloc(); last.Kind() != allocator.EvRealloc || r.Func != "kvrealloc" || r.Within != "" {
		d.t.Fatalf("kvrealloc's last event is %v, not its own decision", last)
	}
	c.p = p
	c.seqs = append(c.seqs, last.Seq())
}

func (d *reallocDriver) vrealloc(c *chain, size uint64) {
	d.begin(fmt.Sprintf("v = vrealloc(v, %d)", size))
	p, err := d.m.Vrealloc(c.p, size, allocator.GFPKernel|allocator.GFPZero)
	if err != nil {
		d.t.Fatal(err)
	}
	if c.seqs == nil && c.p == 0 {
		c.first = d.lastSeq(allocator.EvVmapAlloc)
	}
	c.p = p
	c.seqs = append(c.seqs, d.lastSeq(allocator.EvRealloc))
}

// requireHistory fails unless the model, at its cursor, gives chain c the
// realloc history the machine's events record, and its allocation the
// chain's lineage.
func requireHistory(t *testing.T, what string, hv *Model, c chain) {
	t.Helper()
	var want []uint64
	for _, s := range c.seqs {
		if s <= uint64(hv.Pos()) {
			want = append(want, s)
		}
	}
	var got []uint64
	for _, r := range hv.ReallocHistory(c.first) {
		got = append(got, r.Seq)
		if r.Lineage != c.first {
			t.Fatalf("%s: decision #%d has lineage %d, want %d", what, r.Seq, r.Lineage, c.first)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%s: history %v, want %v", what, got, want)
	}
}

// TestReallocHistoryFollowsRealChains: a krealloc chain moves through
// kmalloc caches into a large kmalloc and back while other kmallocs take
// the objects it leaves (LIFO, so at once), a vrealloc chain grows, moves
// and shrinks, and krealloc(NULL) and vrealloc(NULL) start chains. Each
// allocation's lineage and history are exactly its own decisions, at the
// end and after seeking back.
func TestReallocHistoryFollowsRealChains(t *testing.T) {
	for _, prof := range []allocator.Profile{allocator.ProfileLatest, allocator.Profile612} {
		t.Run(prof.String(), func(t *testing.T) {
			d := &reallocDriver{session: newSession(t, allocator.Config{RAM: 64 * allocator.MiB, CPUs: 1, Profile: prof}), t: t}
			var p, q, r, v chain
			d.kmalloc(&p, 24)
			d.krealloc(&p, 30, allocator.GFPKernel)   // in place in kmalloc-32
			d.krealloc(&p, 100, allocator.GFPKernel)  // moves to kmalloc-128
			d.kmalloc(&q, 24)                         // takes p's old object
			d.krealloc(&q, 200, allocator.GFPKernel)  // q moves on
			d.krealloc(&p, 90, allocator.GFPZero)     // in place
			d.krealloc(&p, 5000, allocator.GFPKernel) // kmalloc-8k
			d.kmalloc(&r, 100)                        // takes p's kmalloc-128 object
			d.krealloc(&p, 20000, allocator.GFPKernel)
			d.krealloc(&p, 9000, allocator.GFPKernel)
			d.krealloc(&r, 0, allocator.GFPKernel) // frees r
			d.begin("s = krealloc(NULL, 40)")
			sp, err := d.m.Krealloc(0, 40, allocator.GFPKernel)
			if err != nil {
				t.Fatal(err)
			}
			s := chain{p: sp, first: d.lastSeq(allocator.EvObjAlloc), seqs: []uint64{d.lastSeq(allocator.EvRealloc)}}
			d.krealloc(&s, 3000, allocator.GFPKernel)
			d.vrealloc(&v, 5000) // vrealloc(NULL): a new area
			d.vrealloc(&v, 7000)
			d.vrealloc(&v, 30000)
			d.vrealloc(&v, 100)
			d.begin("kv = kvmalloc(100)")
			kp, err := d.m.KVmalloc(100, allocator.GFPKernel)
			if err != nil {
				t.Fatal(err)
			}
			kv := chain{p: kp, first: d.lastSeq(allocator.EvObjAlloc)}
			d.kvrealloc(&kv, 20000)                  // a large kmalloc
			d.kvrealloc(&kv, d.m.KmallocMaxSize()+1) // past kmalloc: vmalloc
			d.kvrealloc(&kv, 5000)                   // vrealloc keeps it in vmalloc
			d.kvrealloc(&kv, 2*d.m.KmallocMaxSize()) // grows: vrealloc moves it
			mid := d.step
			d.krealloc(&p, 64, allocator.GFPKernel)
			d.vrealloc(&v, 50000)
			d.krealloc(&q, 10, allocator.GFPKernel)

			hv, err := New(d.log)
			if err != nil {
				t.Fatal(err)
			}
			chains := map[string]chain{"p": p, "q": q, "r": r, "s": s, "v": v, "kv": kv}
			for name, c := range chains {
				requireHistory(t, "end, "+name, hv, c)
				if name == "r" {
					if _, ok := hv.Alloc(c.p); ok && c.p != allocator.ZeroSizePtr {
						t.Fatal("r was freed by krealloc(r, 0)")
					}
					continue
				}
				a, ok := hv.Alloc(c.p)
				if !ok || a.Lineage != c.first {
					t.Fatalf("%s at %v: %+v, %v; want lineage %d", name, c.p, a, ok, c.first)
				}
			}
			if err := hv.Seek(mid); err != nil {
				t.Fatal(err)
			}
			for name, c := range chains {
				requireHistory(t, fmt.Sprintf("step %d, %s", mid, name), hv, c)
			}
			// The panel shows p's whole history when asked for it.
			if err := hv.Seek(hv.Steps()); err != nil {
				t.Fatal(err)
			}
			rows := hv.ReallocPanel(ReallocOptions{Width: 120, Height: 40, Lineage: p.first})
			var text strings.Builder
			got := 0
			for _, row := range rows {
				text.WriteString(row.String() + "\n")
				if strings.HasPrefix(row.String(), "step ") {
					got++
				}
			}
			if got != len(p.seqs) || !strings.Contains(text.String(), fmt.Sprintf("%d decisions", len(p.seqs))) {
				t.Fatalf("p's panel lists %d decisions, want %d:\n%s", got, len(p.seqs), text.String())
			}
			t.Run("p", func(t *testing.T) {
				eachSize(t, func(t *testing.T, w, h int) []Row {
					return hv.ReallocPanel(ReallocOptions{Width: w, Height: h, Lineage: p.first})
				})
			})
			t.Run("kv", func(t *testing.T) {
				eachSize(t, func(t *testing.T, w, h int) []Row {
					return hv.ReallocPanel(ReallocOptions{Width: w, Height: h, Lineage: kv.first})
				})
			})
			t.Run("v", func(t *testing.T) {
				eachSize(t, func(t *testing.T, w, h int) []Row {
					return hv.ReallocPanel(ReallocOptions{Width: w, Height: h, Lineage: v.first})
				})
			})
		})
	}
}

// TestVecCapacityHistory: a KVec and a VVec grow by pushes, one step each.
// The buffer's realloc history is exactly the reallocs the Vec events say
// they caused (EvVecOp.Cause), across every move, and the buffer is
// marked as a Vec's.
func TestVecCapacityHistory(t *testing.T) {
	s := newSession(t, allocator.Config{RAM: 16 * allocator.MiB, CPUs: 1})
	kv, err := allocator.KVec[uint64](s.m)
	if err != nil {
		t.Fatal(err)
	}
	vv, err := allocator.VVec[uint64](s.m)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3000 {
		s.begin(fmt.Sprintf("kv.push(%d); vv.push(%d)", i, i))
		if err := kv.Push(uint64(i), allocator.GFPKernel); err != nil {
			t.Fatal(err)
		}
		if err := vv.Push(uint64(i), allocator.GFPKernel); err != nil {
			t.Fatal(err)
		}
	}
	causes := map[allocator.Addr][]uint64{}
	var first map[allocator.Addr]uint64 = map[allocator.Addr]uint64{}
	for _, e := range allocatortest.Events(s.log) {
		if e.Kind() != allocator.EvVecOp || e.Cause() == 0 {
			continue
		}
		key := kv.Addr()
		if e.Addr() >= allocator.VmallocStart && e.Addr() < allocator.VmallocEnd {
			key = vv.Addr()
		}
		causes[key] = append(causes[key], e.Cause())
	}
	hv, err := New(s.log)
	if err != nil {
		t.Fatal(err)
	}
	for _, buf := range []allocator.Addr{kv.Addr(), vv.Addr()} {
		a, ok := hv.Alloc(buf)
		if !ok || !a.Vec {
			t.Fatalf("the buffer at %v: %+v, %v", buf, a, ok)
		}
		var got []uint64
		for _, r := range hv.ReallocHistory(a.Lineage) {
			got = append(got, r.Seq)
		}
		if !slices.Equal(got, causes[buf]) || len(got) < 8 {
			t.Fatalf("the history of the Vec buffer at %v: %v, the Vec's events name %v", buf, got, causes[buf])
		}
		first[buf] = a.Lineage
	}
	t.Run("kvec", func(t *testing.T) {
		eachSize(t, func(t *testing.T, w, h int) []Row {
			return hv.ReallocPanel(ReallocOptions{Width: w, Height: h, Lineage: first[kv.Addr()]})
		})
	})
}

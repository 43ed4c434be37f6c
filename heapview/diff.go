package heapview

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/allocviz/allocviz/allocator"
)

// PageChange is a run of page frames that changed the same way between two
// steps: the same kind of page before and the same kind after.
type PageChange struct {
	PFN    uint64             // first page frame of the run
	N      uint64             // page frames in the run
	Before allocator.PageInfo // the first page before
	After  allocator.PageInfo // and after
}

// AllocChange is an allocation made, freed or changed between two steps.
type AllocChange struct {
	Addr   allocator.Addr
	Before *Alloc // nil: it did not exist
	After  *Alloc // nil: it no longer exists
}

// SlabChange is a slab made, discarded or changed (objects in use, list).
type SlabChange struct {
	PFN    uint64
	Before *Slab
	After  *Slab
}

// AreaChange is a vmap area made or freed.
type AreaChange struct {
	Addr   allocator.Addr
	Before *Area
	After  *Area
}

// Diff lists what differs between the states at the ends of two steps.
// A page counts as changed when its state, owner, block or cache differs;
// a page freed and allocated again the same way in between does not.
type Diff struct {
	From, To int
	Pages    []PageChange
	Allocs   []AllocChange
	Slabs    []SlabChange
	Areas    []AreaChange
}

// Diff compares the ends of steps a and b (in either order) without moving
// the cursor.
func (m *Model) Diff(a, b int) (Diff, error) {
	if m.head == nil {
		return Diff{}, fmt.Errorf("heapview: the model has no events")
	}
	for _, st := range []int{a, b} {
		if st < 0 || st > m.nsteps {
			return Diff{}, fmt.Errorf("heapview: step %d does not exist (steps run from 0 to %d)", st, m.nsteps)
		}
	}
	_, ea := m.stepSpan(a)
	_, eb := m.stepSpan(b)
	sa, sb := m.stateAt(ea), m.stateAt(eb)
	d := Diff{From: a, To: b}
	d.Pages = m.diffPages(sa, sb)

	diffTreap(&sa.allocs, &sb.allocs, func(x, y *allocRec) bool { return *x == *y }, func(k uint64, x, y *allocRec) {
		if x != nil && x.lost {
			x = nil // a lost object is no allocation
		}
		if y != nil && y.lost {
			y = nil
		}
		if x == nil && y == nil {
			return
		}
		c := AllocChange{Addr: allocator.Addr(k)}
		if x != nil {
			v := m.alloc(sa.pos, k, x)
			c.Before = &v
		}
		if y != nil {
			v := m.alloc(sb.pos, k, y)
			c.After = &v
		}
		d.Allocs = append(d.Allocs, c)
	})
	slabChange := func(k uint64, x, y *slabRec) {
		c := SlabChange{PFN: k}
		if x != nil {
			v := m.slab(sa, k, x)
			c.Before = &v
		}
		if y != nil {
			v := m.slab(sb, k, y)
			c.After = &v
		}
		d.Slabs = append(d.Slabs, c)
	}
	diffTreap(&sa.slabs, &sb.slabs, func(x, y *slabRec) bool { return *x == *y }, slabChange)
	// Slabs whose records are equal may differ in the objects in use,
	// which live apart: compare the counts where their chunks differ.
	reported := len(d.Slabs)
	for p := uint64(0); p < m.geo.nrPages; p++ {
		if p%chunkLen == 0 && sa.inuse.sameChunk(&sb.inuse, p) {
			p += chunkLen - 1
			continue
		}
		if sa.used(p) == sb.used(p) {
			continue
		}
		x, okx := sa.slabs.get(p)
		y, oky := sb.slabs.get(p)
		if okx && oky && *x == *y {
			slabChange(p, x, y)
		}
	}
	if len(d.Slabs) > reported {
		slices.SortFunc(d.Slabs, func(a, b SlabChange) int { return cmp.Compare(a.PFN, b.PFN) })
	}
	diffTreap(&sa.areas, &sb.areas, func(x, y *areaRec) bool {
		return x.since == y.since && x.bytes == y.bytes && x.size == y.size && x.unpurged == y.unpurged
	}, func(k uint64, x, y *areaRec) {
		c := AreaChange{Addr: allocator.Addr(k)}
		if x != nil {
			v := m.areaOf(k, x)
			c.Before = &v
		}
		if y != nil {
			v := m.areaOf(k, y)
			c.After = &v
		}
		d.Areas = append(d.Areas, c)
	})
	return d, nil
}

// diffPages compares two states page by page. Chunks the states share are
// equal; a page's derived view (its free block) depends only on pages in
// the same MAX_ORDER-aligned region, so only regions with a differing
// record are compared.
func (m *Model) diffPages(sa, sb *state) []PageChange {
	var out []PageChange
	const region = 1 << allocator.MaxPageOrder
	n := m.geo.nrPages
	for r := uint64(0); r < n; r += region {
		end := min(r+region, n)
		dirty := false
		for p := r; p < end && !dirty; p += chunkLen {
			if sa.pages.sameChunk(&sb.pages, p) {
				continue
			}
			for q := p; q < min(p+chunkLen, end); q++ {
				if *sa.page(q) != *sb.page(q) {
					dirty = true
					break
				}
			}
		}
		if !dirty {
			continue
		}
		for p := r; p < end; p++ {
			x, y := m.pageInfo(sa, p), m.pageInfo(sb, p)
			x.Since, y.Since = 0, 0
			if x == y {
				continue
			}
			if k := len(out) - 1; k >= 0 {
				c := &out[k]
				if c.PFN+c.N == p && sameKind(c.Before, x) && sameKind(c.After, y) {
					c.N++
					continue
				}
			}
			out = append(out, PageChange{PFN: p, N: 1, Before: x, After: y})
		}
	}
	return out
}

func sameKind(a, b allocator.PageInfo) bool {
	return a.State == b.State && a.Owner == b.Owner && a.Cache == b.Cache && a.Head == b.Head && a.Order == b.Order
}

// diffTreap calls fn for each key whose value differs between a and b
// (nil where absent), in key order.
func diffTreap[V any](a, b *treap[V], eq func(x, y *V) bool, fn func(k uint64, x, y *V)) {
	type kv struct {
		k uint64
		v *V
	}
	collect := func(t *treap[V]) []kv {
		out := make([]kv, 0, t.n)
		t.ascend(0, func(k uint64, v *V) bool {
			out = append(out, kv{k, v})
			return true
		})
		return out
	}
	xs, ys := collect(a), collect(b)
	i, j := 0, 0
	for i < len(xs) || j < len(ys) {
		switch {
		case j == len(ys) || i < len(xs) && xs[i].k < ys[j].k:
			fn(xs[i].k, xs[i].v, nil)
			i++
		case i == len(xs) || ys[j].k < xs[i].k:
			fn(ys[j].k, nil, ys[j].v)
			j++
		default:
			if !eq(xs[i].v, ys[j].v) {
				fn(xs[i].k, xs[i].v, ys[j].v)
			}
			i++
			j++
		}
	}
}

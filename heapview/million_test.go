package heapview

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/allocviz/allocviz/allocator"
)

// The million-op invariant test drives every allocator of real machines
// with seeded random operations (page blocks, kmalloc, krealloc, slab
// caches, vmalloc, vrealloc, kvmalloc, kvrealloc, KVec and KBox, reads and
// writes, CPU switches) and about 15% misuse the allocators must report
// and refuse, on random configurations. It keeps a shadow copy of every
// live buffer, and after every batch of operations checks that:
//
//   - every live buffer's bytes equal its shadow;
//   - no page or object was handed out twice (checked as each allocation
//     is made);
//   - the machine's invariants hold;
//   - heapview, fed the batch's events, equals the machine.
//
// After freeing everything, the free pages are back to their boot count
// (less the slabs SLUB keeps cached) and heapview rebuilt from all the
// events equals the machine. The seed is in each session's name;
// ALLOCVIZ_SEED=n reruns the session of seed n alone.

// millionOps is how many operations the test runs in all; fewer under
// -short and the race detector, which is ten times slower.
func millionOps() int {
	switch {
	case raceEnabled:
		return 60_000
	case testing.Short():
		return 100_000
	}
	return 1_000_000
}

const (
	opsPerSession = 5000 // a session's operations
	opsPerBatch   = 1000 // operations between full checks
)

// shadowBuf is a live allocation the test made, with what it holds.
type shadowBuf struct {
	addr   allocator.Addr
	shadow []byte // the bytes written there: the whole allocation
	order  int    // page blocks: the order
	cache  *shadowCache
	kind   string // "pages", "kmalloc", "cache", "vmalloc", "kvmalloc"
}

type shadowCache struct {
	c    *allocator.KmemCache
	objs []*shadowBuf
}

type shadowVec struct {
	v      *allocator.Vec[uint64]
	shadow []uint64
	owns   *claim // its buffer's claim; nil while it has none
}

type shadowBox struct {
	b      *allocator.Box[[48]byte]
	shadow [48]byte
	owns   *claim
}

// claim is what an allocation occupies: page frames it owns whole, or a
// byte span inside a page frame shared with other slab objects, and
// vmalloc pages.
type claim struct {
	pfns      []uint64 // frames owned whole
	span      [2]allocator.Addr
	spanPFNs  []uint64 // frames the span touches
	vpages    []uint64 // vmalloc pages, by index from VmallocStart
	what      string
	allocStep int
}

// owners records every claim of the live allocations.
type owners struct {
	whole  map[uint64]*claim   // pfn -> the allocation that owns it whole
	spans  map[uint64][]*claim // pfn -> the slab objects on it
	vpages map[uint64]*claim   // vmalloc page -> its area
}

func newOwners() *owners {
	return &owners{whole: map[uint64]*claim{}, spans: map[uint64][]*claim{}, vpages: map[uint64]*claim{}}
}

// add records c, failing if any of it is taken already.
func (o *owners) add(c *claim) error {
	for _, pfn := range c.pfns {
		if old := o.whole[pfn]; old != nil {
			return fmt.Errorf("pfn %#x handed out twice: to %s (step %d) and %s (step %d)", pfn, old.what, old.allocStep, c.what, c.allocStep)
		}
		if objs := o.spans[pfn]; len(objs) > 0 {
			return fmt.Errorf("pfn %#x handed out to %s (step %d) while slab object %s (step %d) lives on it", pfn, c.what, c.allocStep, objs[0].what, objs[0].allocStep)
		}
	}
	for _, pfn := range c.spanPFNs {
		if old := o.whole[pfn]; old != nil {
			return fmt.Errorf("slab object %s (step %d) on pfn %#x, which %s (step %d) owns", c.what, c.allocStep, pfn, old.what, old.allocStep)
		}
		for _, other := range o.spans[pfn] {
			if c.span[0] < other.span[1] && other.span[0] < c.span[1] {
				return fmt.Errorf("objects %s (step %d) and %s (step %d) overlap", c.what, c.allocStep, other.what, other.allocStep)
			}
		}
	}
	for _, vp := range c.vpages {
		if old := o.vpages[vp]; old != nil {
			return fmt.Errorf("vmalloc page %d handed out twice: to %s (step %d) and %s (step %d)", vp, old.what, old.allocStep, c.what, c.allocStep)
		}
	}
	for _, pfn := range c.pfns {
		o.whole[pfn] = c
	}
	for _, pfn := range c.spanPFNs {
		o.spans[pfn] = append(o.spans[pfn], c)
	}
	for _, vp := range c.vpages {
		o.vpages[vp] = c
	}
	return nil
}

// remove forgets c.
func (o *owners) remove(c *claim) {
	for _, pfn := range c.pfns {
		delete(o.whole, pfn)
	}
	for _, pfn := range c.spanPFNs {
		objs := o.spans[pfn]
		for i, other := range objs {
			if other == c {
				objs[i] = objs[len(objs)-1]
				objs = objs[:len(objs)-1]
				break
			}
		}
		if len(objs) == 0 {
			delete(o.spans, pfn)
		} else {
			o.spans[pfn] = objs
		}
	}
	for _, vp := range c.vpages {
		delete(o.vpages, vp)
	}
}

// shadowRun is one session of the test: a machine, the allocations it
// holds with their shadows, and heapview following its events.
type shadowRun struct {
	s       *session
	rng     *rand.Rand
	owners  *owners
	claims  map[allocator.Addr]*claim // by the allocation's address
	bufs    []*shadowBuf              // pages, kmalloc, vmalloc, kvmalloc
	caches  []*shadowCache
	vecs    []*shadowVec
	boxes   []*shadowBox
	hv      *Model
	misuse  int // misuse operations made
	ops     int
	nCaches int
}

// check fails the run's test on an error.
func (r *shadowRun) check(err error) {
	r.s.t.Helper()
	if err != nil {
		r.s.t.Fatalf("step %d: %v", r.s.step, err)
	}
}

// claimOf works out what the allocation at a of size bytes occupies, as
// the machine placed it: a vmap area, a large kmalloc, a slab object or
// a page block (order >= 0).
func (r *shadowRun) claimOf(a allocator.Addr, size uint64, order int, what string) (*claim, error) {
	m := r.s.m
	c := &claim{what: fmt.Sprintf("%s at %v", what, a), allocStep: r.s.step}
	page := m.PageSize()
	switch {
	case order >= 0:
		pfn, ok := m.AddrPFN(a)
		if !ok {
			return nil, fmt.Errorf("%s: no page frame", c.what)
		}
		for i := range uint64(1) << order {
			c.pfns = append(c.pfns, pfn+i)
		}
	case m.IsVmallocAddr(a):
		info, ok := m.AreaOf(a)
		if !ok || info.Start != a || info.Usable(page) < size {
			return nil, fmt.Errorf("%s: no vmap area of %d bytes starts there (%+v)", c.what, size, info)
		}
		c.pfns = append(c.pfns, info.PFNs...)
		first := uint64(a-allocator.VmallocStart) / page
		for i := range info.Usable(page) / page {
			c.vpages = append(c.vpages, first+i)
		}
	default:
		info, ok := m.ObjectAt(a)
		if !ok || !info.Allocated() || info.Start != a || info.Ksize < size {
			return nil, fmt.Errorf("%s: no allocated object of %d bytes starts there (%+v)", c.what, size, info)
		}
		pfn, _ := m.AddrPFN(a)
		if info.Large {
			for i := range info.Ksize / page {
				c.pfns = append(c.pfns, pfn+i)
			}
			break
		}
		c.span = [2]allocator.Addr{a, a + allocator.Addr(info.Ksize)}
		last, _ := m.AddrPFN(a + allocator.Addr(info.Ksize) - 1)
		for p := pfn; p <= last; p++ {
			c.spanPFNs = append(c.spanPFNs, p)
		}
	}
	return c, nil
}

// took records a new allocation: it must occupy nothing already taken.
func (r *shadowRun) took(a allocator.Addr, size uint64, order int, what string) *claim {
	r.s.t.Helper()
	c, err := r.claimOf(a, size, order, what)
	r.check(err)
	r.check(r.owners.add(c))
	return c
}

// fresh records a new buffer and fills it with a pattern, as a caller
// initializes what it allocates.
func (r *shadowRun) fresh(a allocator.Addr, size uint64, order int, kind string, c *shadowCache) *shadowBuf {
	r.s.t.Helper()
	r.claims[a] = r.took(a, size, order, kind)
	b := &shadowBuf{addr: a, shadow: make([]byte, size), order: order, cache: c, kind: kind}
	r.fill(b, 0, size)
	return b
}

// fill writes a pattern to [from, to) of b and its shadow.
func (r *shadowRun) fill(b *shadowBuf, from, to uint64) {
	if from >= to {
		return
	}
	x := byte(r.rng.UintN(256))
	r.check(r.s.m.Fill(b.addr+allocator.Addr(from), x, to-from))
	for i := from; i < to; i++ {
		b.shadow[i] = x
	}
}

// gone forgets the allocation at a.
func (r *shadowRun) gone(a allocator.Addr) {
	if c := r.claims[a]; c != nil {
		r.owners.remove(c)
		delete(r.claims, a)
	}
}

// moved records that a buffer of b's kind now lives at na with size
// bytes, after a realloc that kept its first keep bytes.
func (r *shadowRun) moved(b *shadowBuf, na allocator.Addr, size, keep uint64) {
	r.gone(b.addr)
	old := b.shadow
	b.addr, b.shadow = na, make([]byte, size)
	copy(b.shadow, old[:min(keep, size)])
	r.claims[na] = r.took(na, size, -1, b.kind)
	r.fill(b, min(keep, size), size)
}

func (r *shadowRun) gfp() allocator.GFP {
	g := allocator.GFPKernel
	if r.rng.IntN(6) == 0 {
		g |= allocator.GFPZero
	}
	if r.rng.IntN(8) == 0 {
		g |= allocator.GFPAccount
	}
	return g | allocator.GFPNoWarn
}

// size picks a request size: mostly small, some of a few pages.
func (r *shadowRun) size() uint64 {
	page := r.s.m.PageSize()
	switch n := r.rng.IntN(100); {
	case n < 70:
		return 1 + r.rng.Uint64N(512)
	case n < 92:
		return 1 + r.rng.Uint64N(2*page)
	}
	return 1 + r.rng.Uint64N(12*page)
}

// failed accepts a failure to allocate, nothing else.
func (r *shadowRun) failed(op string, err error) bool {
	r.s.t.Helper()
	if err == nil {
		return false
	}
	var ae *allocator.AllocError
	if !errors.Is(err, allocator.ErrNoMemory) && !errors.Is(err, allocator.ErrBadSize) && !errors.As(err, &ae) {
		r.s.t.Fatalf("step %d %s: %v", r.s.step, op, err)
	}
	return true
}

// refused requires a misuse to have been refused.
func (r *shadowRun) refused(op string, err error) {
	r.s.t.Helper()
	r.misuse++
	if err == nil {
		r.s.t.Fatalf("step %d %s: the misuse was obeyed", r.s.step, op)
	}
}

func pickBuf[T any](rng *rand.Rand, xs []T) (T, int) {
	i := rng.IntN(len(xs))
	return xs[i], i
}

func drop[T any](xs *[]T, i int) {
	(*xs)[i] = (*xs)[len(*xs)-1]
	*xs = (*xs)[:len(*xs)-1]
}

// bufsOf returns the indexes of the buffers of kind.
func (r *shadowRun) bufsOf(kind string) []int {
	var out []int
	for i, b := range r.bufs {
		if b.kind == kind {
			out = append(out, i)
		}
	}
	return out
}

// free frees buffer i the right way and forgets it.
func (r *shadowRun) free(i int) {
	m, b := r.s.m, r.bufs[i]
	r.s.begin("free " + b.kind)
	switch b.kind {
	case "pages":
		r.check(m.FreePages(b.addr, b.order))
	case "kmalloc":
		r.check(m.Kfree(b.addr))
	case "vmalloc":
		r.check(m.Vfree(b.addr))
	case "kvmalloc":
		r.check(m.KVfree(b.addr))
	}
	r.gone(b.addr)
	drop(&r.bufs, i)
}

// step runs one random operation.
func (r *shadowRun) step() {
	m, rng := r.s.m, r.rng
	r.ops++
	if rng.IntN(100) < 15 {
		r.misuseStep()
		return
	}
	for {
		switch k := rng.IntN(100); {
		case k < 7:
			order := []int{0, 0, 1, 2, 3}[rng.IntN(5)]
			r.s.begin(fmt.Sprintf("alloc_pages(%d)", order))
			a, err := m.AllocPages(order, r.gfp())
			if !r.failed("alloc_pages", err) {
				r.bufs = append(r.bufs, r.fresh(a, m.PageSize()<<order, order, "pages", nil))
			}
		case k < 23:
			r.allocate(byteAllocators()[0])
		case k < 33:
			if len(r.bufs) == 0 {
				continue
			}
			r.free(rng.IntN(len(r.bufs)))
		case k < 40:
			if !r.reallocate(byteAllocators()[0]) {
				continue
			}
		case k < 42:
			r.nCaches++
			size := []uint64{8, 24, 40, 100, 192, 700, 1500}[rng.IntN(7)]
			flags := []allocator.SlabFlags{0, allocator.SlabHWCacheAlign, allocator.SlabRedZone | allocator.SlabStoreUser, allocator.SlabPoison}[rng.IntN(4)]
			r.s.begin(fmt.Sprintf("kmem_cache_create(c%d, %d)", r.nCaches, size))
			c, err := m.KmemCacheCreate(fmt.Sprintf("c%d", r.nCaches), size, 0, flags)
			r.check(err)
			r.caches = append(r.caches, &shadowCache{c: c})
		case k < 50:
			if len(r.caches) == 0 {
				continue
			}
			c, _ := pickBuf(rng, r.caches)
			r.s.begin("kmem_cache_alloc(" + c.c.Name() + ")")
			a, err := m.KmemCacheAlloc(c.c, r.gfp()&^allocator.GFPAccount)
			if !r.failed("kmem_cache_alloc", err) {
				c.objs = append(c.objs, r.fresh(a, c.c.ObjectSize(), -1, "cache", c))
			}
		case k < 56:
			if len(r.caches) == 0 {
				continue
			}
			c, ci := pickBuf(rng, r.caches)
			if len(c.objs) == 0 {
				if rng.IntN(3) == 0 {
					r.s.begin("kmem_cache_destroy(" + c.c.Name() + ")")
					r.check(m.KmemCacheDestroy(c.c))
					drop(&r.caches, ci)
				}
				continue
			}
			o, oi := pickBuf(rng, c.objs)
			r.s.begin("kmem_cache_free(" + c.c.Name() + ")")
			r.check(m.KmemCacheFree(c.c, o.addr))
			r.gone(o.addr)
			drop(&c.objs, oi)
		case k < 61:
			r.allocate(byteAllocators()[1])
		case k < 64:
			if !r.reallocate(byteAllocators()[1]) {
				continue
			}
		case k < 69:
			r.allocate(byteAllocators()[2])
		case k < 72:
			if !r.reallocate(byteAllocators()[2]) {
				continue
			}
		case k < 80:
			r.vecStep()
		case k < 84:
			r.boxStep()
		case k < 95:
			// A write into a live buffer, and a read of another.
			if len(r.bufs) == 0 {
				continue
			}
			b, _ := pickBuf(rng, r.bufs)
			off := rng.Uint64N(uint64(len(b.shadow)))
			n := 1 + rng.Uint64N(min(uint64(len(b.shadow))-off, 300))
			data := make([]byte, n)
			for i := range data {
				data[i] = byte(rng.UintN(256))
			}
			r.s.begin(fmt.Sprintf("write(p, %d, %d bytes)", off, n))
			r.check(m.WriteAt(b.addr+allocator.Addr(off), data))
			copy(b.shadow[off:], data)
			b, _ = pickBuf(rng, r.bufs)
			off = rng.Uint64N(uint64(len(b.shadow)))
			got := make([]byte, 1+rng.Uint64N(min(uint64(len(b.shadow))-off, 300)))
			r.check(m.ReadAt(b.addr+allocator.Addr(off), got))
			if string(got) != string(b.shadow[off:off+uint64(len(got))]) {
				r.s.t.Fatalf("step %d: %s at %v: read %x at offset %d, shadow %x", r.s.step, b.kind, b.addr, got, off, b.shadow[off:off+uint64(len(got))])
			}
		default:
			cpu := rng.IntN(m.Config().CPUs)
			r.s.begin(fmt.Sprintf("cpu(%d)", cpu))
			r.check(m.SetCPU(cpu))
		}
		return
	}
}

// byteAllocator is an allocator of bytes the run drives: its kind, its
// alloc and realloc, and the sizes asked of it.
type byteAllocator struct {
	kind    string
	alloc   func(m *allocator.Machine, size uint64, gfp allocator.GFP) (allocator.Addr, error)
	realloc func(m *allocator.Machine, p allocator.Addr, size uint64, gfp allocator.GFP) (allocator.Addr, error)
	size    func(r *shadowRun) uint64
}

// byteAllocators are kmalloc, vmalloc and kvmalloc, in that order.
func byteAllocators() []byteAllocator {
	pages := func(lo, n uint64) func(r *shadowRun) uint64 {
		return func(r *shadowRun) uint64 {
			page := r.s.m.PageSize()
			return lo*page + 1 + r.rng.Uint64N(n*page)
		}
	}
	mixed := func(r *shadowRun) uint64 {
		if r.rng.IntN(4) == 0 {
			return pages(8, 40)(r)
		}
		return r.size()
	}
	return []byteAllocator{
		{"kmalloc", (*allocator.Machine).Kmalloc, (*allocator.Machine).Krealloc, (*shadowRun).size},
		{"vmalloc", (*allocator.Machine).Vmalloc, (*allocator.Machine).Vrealloc, pages(0, 6)},
		{"kvmalloc", (*allocator.Machine).KVmalloc, (*allocator.Machine).KVrealloc, mixed},
	}
}

// allocate allocates a buffer from a.
func (r *shadowRun) allocate(a byteAllocator) {
	size := a.size(r)
	r.s.begin(fmt.Sprintf("%s(%d)", a.kind, size))
	p, err := a.alloc(r.s.m, size, r.gfp())
	if !r.failed(a.kind, err) {
		r.bufs = append(r.bufs, r.fresh(p, size, -1, a.kind, nil))
	}
}

// reallocate reallocates a buffer of a's kind, if there is one.
func (r *shadowRun) reallocate(a byteAllocator) bool {
	bs := r.bufsOf(a.kind)
	if len(bs) == 0 {
		return false
	}
	b := r.bufs[bs[r.rng.IntN(len(bs))]]
	size := a.size(r)
	r.s.begin(fmt.Sprintf("%s realloc(p, %d)", a.kind, size))
	na, err := a.realloc(r.s.m, b.addr, size, r.gfp())
	if !r.failed(a.kind+" realloc", err) {
		r.moved(b, na, size, uint64(len(b.shadow)))
	}
	return true
}

// vecStep pushes to, pops from, reserves in or drops a vector.
func (r *shadowRun) vecStep() {
	m, rng := r.s.m, r.rng
	if len(r.vecs) == 0 || rng.IntN(6) == 0 {
		var v *allocator.Vec[uint64]
		var err error
		switch rng.IntN(3) {
		case 0:
			v, err = allocator.KVec[uint64](m)
		case 1:
			v, err = allocator.VVec[uint64](m)
		default:
			v, err = allocator.KVVec[uint64](m)
		}
		r.check(err)
		r.vecs = append(r.vecs, &shadowVec{v: v})
		return
	}
	sv, i := pickBuf(rng, r.vecs)
	switch k := rng.IntN(10); {
	case k < 6:
		n := 1 + rng.IntN(60)
		r.s.begin(fmt.Sprintf("for i in range(%d): v.push(i)", n))
		for range n {
			x := rng.Uint64()
			if r.failed("push", sv.v.Push(x, r.gfp())) {
				break
			}
			sv.shadow = append(sv.shadow, x)
		}
	case k < 7:
		r.s.begin("v.pop()")
		x, ok := sv.v.Pop()
		if ok != (len(sv.shadow) > 0) || ok && x != sv.shadow[len(sv.shadow)-1] {
			r.s.t.Fatalf("step %d: pop gave %d, %v; shadow %v", r.s.step, x, ok, sv.shadow)
		}
		if ok {
			sv.shadow = sv.shadow[:len(sv.shadow)-1]
		}
	case k < 8:
		n := rng.Uint64N(400)
		r.s.begin(fmt.Sprintf("v.reserve(%d)", n))
		r.failed("reserve", sv.v.Reserve(n, r.gfp()))
	case k < 9:
		n := rng.Uint64N(uint64(len(sv.shadow)) + 1)
		r.s.begin(fmt.Sprintf("v.truncate(%d)", n))
		sv.v.Truncate(n)
		sv.shadow = sv.shadow[:n]
	default:
		r.s.begin("drop(v)")
		sv.v.Drop()
		if sv.owns != nil {
			r.owners.remove(sv.owns)
		}
		drop(&r.vecs, i)
		return
	}
	r.vecMoved(sv)
}

// vecMoved keeps a vector's claim in step with its buffer.
func (r *shadowRun) vecMoved(sv *shadowVec) {
	l := sv.v.Layout()
	if sv.owns != nil && sv.owns.span[0] == sv.v.Addr() && l.Size > 0 && sv.owns.what == fmt.Sprintf("vec buffer at %v of %d", sv.v.Addr(), l.Size) {
		return
	}
	if sv.owns != nil {
		r.owners.remove(sv.owns)
		sv.owns = nil
	}
	if l.Size == 0 {
		return
	}
	c, err := r.claimOf(sv.v.Addr(), l.Size, -1, fmt.Sprintf("vec buffer at %v of %d", sv.v.Addr(), l.Size))
	r.check(err)
	c.what = fmt.Sprintf("vec buffer at %v of %d", sv.v.Addr(), l.Size)
	if c.span[0] == 0 {
		c.span[0] = sv.v.Addr()
	}
	r.check(r.owners.add(c))
	sv.owns = c
}

// boxStep makes or drops a KBox, VBox or KVBox.
func (r *shadowRun) boxStep() {
	m, rng := r.s.m, r.rng
	if len(r.boxes) == 0 || rng.IntN(2) == 0 {
		var x [48]byte
		for i := range x {
			x[i] = byte(rng.UintN(256))
		}
		r.s.begin("b = KBox::new(x)")
		var b *allocator.Box[[48]byte]
		var err error
		switch rng.IntN(3) {
		case 0:
			b, err = allocator.KBox(m, x, r.gfp())
		case 1:
			b, err = allocator.VBox(m, x, r.gfp())
		default:
			b, err = allocator.NewBox(m, allocator.KVmalloc{M: m}, x, r.gfp())
		}
		if r.failed("box", err) {
			return
		}
		sb := &shadowBox{b: b, shadow: x}
		c, err := r.claimOf(b.Addr(), 48, -1, "box")
		r.check(err)
		r.check(r.owners.add(c))
		sb.owns = c
		r.boxes = append(r.boxes, sb)
		return
	}
	sb, i := pickBuf(rng, r.boxes)
	r.s.begin("drop(b)")
	if got := sb.b.Get(); got != sb.shadow {
		r.s.t.Fatalf("step %d: box at %v holds %x, shadow %x", r.s.step, sb.b.Addr(), got, sb.shadow)
	}
	sb.b.Drop()
	r.owners.remove(sb.owns)
	drop(&r.boxes, i)
}

// misuseStep makes one mistake the allocators must report and refuse.
func (r *shadowRun) misuseStep() {
	m, rng := r.s.m, r.rng
	for {
		switch rng.IntN(6) {
		case 0: // a double free, right after the free
			if len(r.bufs) == 0 {
				continue
			}
			i := rng.IntN(len(r.bufs))
			b := r.bufs[i]
			r.free(i)
			r.s.begin("the same free again")
			switch b.kind {
			case "pages":
				r.refused("double free_pages", m.FreePages(b.addr, b.order))
			case "kmalloc":
				r.refused("double kfree", m.Kfree(b.addr))
			case "vmalloc":
				r.refused("double vfree", m.Vfree(b.addr))
			case "kvmalloc":
				r.refused("double kvfree", m.KVfree(b.addr))
			}
		case 1: // an object freed to another cache
			if len(r.caches) < 2 {
				continue
			}
			c, _ := pickBuf(rng, r.caches)
			other, _ := pickBuf(rng, r.caches)
			if len(c.objs) == 0 || other == c || other.c.ObjectSize() == c.c.ObjectSize() {
				continue
			}
			o, _ := pickBuf(rng, c.objs)
			r.s.begin("kmem_cache_free(other, p)")
			r.refused("kmem_cache_free with the wrong cache", m.KmemCacheFree(other.c, o.addr))
		case 2: // an allocation past what the allocator may hand out
			r.s.begin("kmalloc(1 << 40)")
			_, err := m.Kmalloc(1<<40, allocator.GFPKernel|allocator.GFPNoWarn)
			r.refused("kmalloc(1 << 40)", err)
		default: // a mistake with a live buffer
			mu, _ := pickBuf(rng, bufMisuses())
			bs := r.bufsOf(mu.kind)
			if len(bs) == 0 {
				continue
			}
			b := r.bufs[bs[rng.IntN(len(bs))]]
			r.s.begin(mu.op)
			r.refused(mu.op, mu.do(m, b))
		}
		return
	}
}

// bufMisuse is a mistake made with a live buffer of a kind, which the
// allocators must report and refuse.
type bufMisuse struct {
	kind, op string
	do       func(m *allocator.Machine, b *shadowBuf) error
}

// bufMisuses are the mistakes misuseStep makes with live buffers. (Not
// kfree(p + 8): that may be the next object, which the kernel frees.)
func bufMisuses() []bufMisuse {
	return []bufMisuse{
		{"kmalloc", "kfree(p + 1)", func(m *allocator.Machine, b *shadowBuf) error { return m.Kfree(b.addr + 1) }},
		{"pages", "free_pages(p, order + 1)", func(m *allocator.Machine, b *shadowBuf) error { return m.FreePages(b.addr, b.order+1) }},
		{"vmalloc", "vfree(p + 8)", func(m *allocator.Machine, b *shadowBuf) error { return m.Vfree(b.addr + 8) }},
		{"kmalloc", "vfree of kmalloc memory", func(m *allocator.Machine, b *shadowBuf) error { return m.Vfree(b.addr) }},
		{"kmalloc", "free_pages of a slab page", func(m *allocator.Machine, b *shadowBuf) error {
			pfn, _ := m.AddrPFN(b.addr)
			return m.FreePages(m.PFNAddr(pfn), 0)
		}},
		{"kvmalloc", "kvfree(p + 1)", func(m *allocator.Machine, b *shadowBuf) error { return m.KVfree(b.addr + 1) }},
		{"kmalloc", "krealloc(p + 1, 64)", func(m *allocator.Machine, b *shadowBuf) error {
			_, err := m.Krealloc(b.addr+1, 64, allocator.GFPKernel)
			return err
		}},
		{"kmalloc", "vrealloc of kmalloc memory", func(m *allocator.Machine, b *shadowBuf) error {
			_, err := m.Vrealloc(b.addr, 100, allocator.GFPKernel)
			return err
		}},
	}
}

// verify checks every live buffer against its shadow.
func (r *shadowRun) verify() error {
	m := r.s.m
	var got []byte
	check := func(what string, a allocator.Addr, shadow []byte) error {
		got = slices.Grow(got[:0], len(shadow))[:len(shadow)]
		if err := m.ReadAt(a, got); err != nil {
			return fmt.Errorf("%s at %v: %v", what, a, err)
		}
		if bytes.Equal(got, shadow) {
			return nil
		}
		for i := range got {
			if got[i] != shadow[i] {
				return fmt.Errorf("%s at %v: byte %d is %#02x, its shadow %#02x", what, a, i, got[i], shadow[i])
			}
		}
		return nil
	}
	for _, b := range r.bufs {
		if err := check(b.kind, b.addr, b.shadow); err != nil {
			return err
		}
	}
	for _, c := range r.caches {
		for _, o := range c.objs {
			if err := check("object of "+c.c.Name(), o.addr, o.shadow); err != nil {
				return err
			}
		}
	}
	for _, sv := range r.vecs {
		got := sv.v.Slice()
		if len(got) != len(sv.shadow) {
			return fmt.Errorf("vector at %v: %d elements, its shadow %d", sv.v.Addr(), len(got), len(sv.shadow))
		}
		for i := range got {
			if got[i] != sv.shadow[i] {
				return fmt.Errorf("vector at %v: element %d is %d, its shadow %d", sv.v.Addr(), i, got[i], sv.shadow[i])
			}
		}
	}
	for _, sb := range r.boxes {
		if got := sb.b.Get(); got != sb.shadow {
			return fmt.Errorf("box at %v holds %x, its shadow %x", sb.b.Addr(), got, sb.shadow)
		}
	}
	return nil
}

// batchCheck runs the full checks: shadows, the machine's invariants, and
// heapview fed the new events against the machine.
func (r *shadowRun) batchCheck(t *testing.T) {
	t.Helper()
	r.check(r.verify())
	r.check(r.s.m.CheckInvariants())
	if err := r.hv.Sync(); err != nil {
		t.Fatalf("step %d: heapview: %v", r.s.step, err)
	}
	requireSameAll(t, fmt.Sprintf("step %d", r.s.step), r.hv, snapshotAll(r.s.m), consistencyChecks{freelists: true})
}

// drain frees everything the run holds.
func (r *shadowRun) drain() {
	m := r.s.m
	for len(r.bufs) > 0 {
		r.free(len(r.bufs) - 1)
	}
	for _, c := range r.caches {
		for _, o := range c.objs {
			r.s.begin("kmem_cache_free")
			r.check(m.KmemCacheFree(c.c, o.addr))
			r.gone(o.addr)
		}
		r.s.begin("kmem_cache_destroy")
		r.check(m.KmemCacheDestroy(c.c))
	}
	r.caches = nil
	for _, sv := range r.vecs {
		r.s.begin("drop(v)")
		sv.v.Drop()
	}
	r.vecs = nil
	for _, sb := range r.boxes {
		r.s.begin("drop(b)")
		sb.b.Drop()
	}
	r.boxes = nil
}

// millionConfig makes a machine configuration from seed: page size,
// CPUs, RAM, slab debug, freelist options and profile.
func millionConfig(seed uint64) allocator.Config {
	rng := rand.New(rand.NewPCG(seed, 0xc0f19))
	cfg := allocator.Config{
		PageSize: []int{4096, 4096, 16384, 65536}[rng.IntN(4)],
		CPUs:     1 + rng.IntN(8),
		Seed:     rng.Uint64(),
	}
	cfg.RAM = int64(cfg.PageSize) * int64([]int{2048, 4096, 8192}[rng.IntN(3)])
	if cfg.PageSize == 65536 {
		cfg.RAM = []int64{64, 128}[rng.IntN(2)] * allocator.MiB
	}
	for _, l := range "FZPU" {
		if rng.IntN(3) == 0 {
			cfg.SlabDebug += string(l)
		}
	}
	cfg.FreelistRandom = rng.IntN(2) == 0
	cfg.FreelistHardened = rng.IntN(2) == 0
	if rng.IntN(2) == 0 {
		cfg.Profile = allocator.Profile612
	}
	return cfg
}

// runShadowSession runs one session of ops operations from seed and
// returns it drained and checked.
func runShadowSession(t *testing.T, seed uint64, ops int) *shadowRun {
	t.Helper()
	cfg := millionConfig(seed)
	s := newSession(t, cfg)
	boot := s.m.IdlePages()
	r := &shadowRun{s: s, rng: rand.New(rand.NewPCG(seed, 0x5ad0)), owners: newOwners(), claims: map[allocator.Addr]*claim{}}
	hv, err := New(s.log)
	if err != nil {
		t.Fatal(err)
	}
	r.hv = hv
	for i := 1; i <= ops; i++ {
		r.step()
		if i%opsPerBatch == 0 {
			r.batchCheck(t)
		}
	}
	r.drain()
	r.batchCheck(t)
	// Every page is back, but for the slabs SLUB keeps cached.
	var cached uint64
	for _, c := range s.m.Caches() {
		for _, sl := range c.Slabs {
			if used := sl.Objects - len(sl.Free) - len(sl.CPUFree); used != 0 {
				t.Fatalf("after freeing everything, a slab of %s at pfn %#x has %d objects in use", c.Name, sl.PFN, used)
			}
			cached += 1 << sl.Order
		}
	}
	if idle := s.m.IdlePages(); idle+cached != boot {
		t.Fatalf("after freeing everything: %d pages free or on pcp lists and %d in empty slabs, %d free at boot", idle, cached, boot)
	}
	// And a model rebuilt from all the events equals the machine.
	fresh, err := New(s.log)
	if err != nil {
		t.Fatal(err)
	}
	requireSameAll(t, "rebuilt after the drain", fresh, snapshotAll(s.m), consistencyChecks{freelists: true})
	if a := fresh.Anomalies(); len(a) != 0 {
		t.Fatalf("%d events did not fit the model: %v", len(a), a[0])
	}
	return r
}

// TestMillionOperations is the million-op invariant test.
func TestMillionOperations(t *testing.T) {
	if s := os.Getenv("ALLOCVIZ_SEED"); s != "" {
		seed, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("ALLOCVIZ_SEED=%q: %v", s, err)
		}
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			r := runShadowSession(t, seed, opsPerSession)
			t.Logf("%s: %d operations, %d of them misuse", configName(millionConfig(seed)), r.ops, r.misuse)
		})
		return
	}
	master := uint64(time.Now().UnixNano())
	t.Logf("master seed %d; a failing session's name has its seed, which ALLOCVIZ_SEED=<seed> reruns", master)
	sessions := (millionOps() + opsPerSession - 1) / opsPerSession
	var ops, misuse atomic.Int64
	var mu sync.Mutex
	var failed []uint64
	t.Run("sessions", func(t *testing.T) {
		for i := range sessions {
			seed := master + uint64(i)
			t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
				t.Parallel()
				defer func() {
					if t.Failed() {
						mu.Lock()
						failed = append(failed, seed)
						mu.Unlock()
					}
				}()
				r := runShadowSession(t, seed, opsPerSession)
				ops.Add(int64(r.ops))
				misuse.Add(int64(r.misuse))
			})
		}
	})
	if len(failed) > 0 {
		t.Fatalf("sessions failed; rerun one with ALLOCVIZ_SEED=%d go test ./heapview -run TestMillionOperations", failed[0])
	}
	if n := ops.Load(); n < int64(millionOps()) {
		t.Errorf("%d operations, want %d", n, millionOps())
	}
	if p := float64(misuse.Load()) / float64(ops.Load()); p < 0.10 || p > 0.20 {
		t.Errorf("%.1f%% of the operations were misuse, want about 15%%", 100*p)
	}
	t.Logf("%d operations in %d sessions, %d of them misuse", ops.Load(), sessions, misuse.Load())
}

// TestMillionOperationsCatchesBrokenShadows proves the test can fail: a
// shadow that no longer matches memory, memory changed behind the
// shadow's back, and a page handed out twice are each caught.
func TestMillionOperationsCatchesBrokenShadows(t *testing.T) {
	r := runShadowSession(t, 42, 0)
	m := r.s.m
	r.s.begin("kmalloc(100)")
	a, err := m.Kmalloc(100, allocator.GFPKernel)
	if err != nil {
		t.Fatal(err)
	}
	b := r.fresh(a, 100, -1, "kmalloc", nil)
	r.bufs = append(r.bufs, b)
	if err := r.verify(); err != nil {
		t.Fatalf("a sound shadow: %v", err)
	}
	b.shadow[37] ^= 0x40
	if err := r.verify(); err == nil {
		t.Error("a broken shadow was not caught")
	}
	b.shadow[37] ^= 0x40
	if err := m.WriteAt(a+99, []byte{^b.shadow[99]}); err != nil {
		t.Fatal(err)
	}
	if err := r.verify(); err == nil {
		t.Error("memory changed behind the shadow's back was not caught")
	}
	r.s.begin("alloc_pages(0)")
	p, err := m.AllocPages(0, allocator.GFPKernel)
	if err != nil {
		t.Fatal(err)
	}
	r.took(p, m.PageSize(), 0, "pages")
	if _, err := r.claimOf(p, m.PageSize(), 0, "the same page again"); err != nil {
		t.Fatal(err)
	}
	c, _ := r.claimOf(p, m.PageSize(), 0, "the same page again")
	if err := r.owners.add(c); err == nil {
		t.Error("a page handed out twice was not caught")
	}
	oc, _ := r.claimOf(a, 100, -1, "the same object again")
	if err := r.owners.add(oc); err == nil {
		t.Error("an object handed out twice was not caught")
	}
}

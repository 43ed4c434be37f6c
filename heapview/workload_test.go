package heapview

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/allocviz/allocviz/allocator"
)

// workload drives every allocator of a real machine with seeded random
// operations, each one script step, as a script would: alloc_pages and
// free_pages, kmalloc, kfree and krealloc, kmem_cache_create, _alloc,
// _free and _destroy, vmalloc, vfree and vrealloc, kvmalloc, kvrealloc and
// kvfree, KVec, VVec and KBox, drain_all_pages,
// CPU switches and
// validation, with misuse the machine reports and refuses. It keeps what
// a script would hold so that every free is of something live, except the
// deliberate misuse.
type workload struct {
	s      *session
	rng    *rand.Rand
	misuse bool // include refused misuse (double and invalid frees, wrong caches)
	uaf    bool // include writes into freed objects, which corrupt freelists
	// maxLive bounds the kmalloc'ed objects held: past it, kmallocs turn
	// into kfrees, so a long run reaches a steady state (0: no bound).
	maxLive int

	pages   []pageBlock
	kmem    []allocator.Addr // kmalloc and krealloc results, and objects of destroyed caches
	caches  []*wlCache
	vmem    []allocator.Addr
	kvmem   []allocator.Addr // kvmalloc and kvrealloc results
	vecs    []*allocator.Vec[uint64]
	boxes   []*allocator.Box[[48]byte]
	nCaches int
}

type pageBlock struct {
	addr  allocator.Addr
	order int
}

type wlCache struct {
	c    *allocator.KmemCache
	objs []allocator.Addr
}

func newWorkload(s *session, seed uint64, misuse bool) *workload {
	return &workload{s: s, rng: rand.New(rand.NewPCG(seed, 0x5eed)), misuse: misuse}
}

// fail stops the test for an error that no operation of the mix should
// produce: anything but running out of memory (and refused frees once
// freed memory was written).
func (w *workload) fail(op string, err error) {
	if err == nil || errors.Is(err, allocator.ErrNoMemory) {
		return
	}
	// After writes into freed memory a debug cache may refuse frees of a
	// slab that failed its checks; the object leaks.
	if !w.uaf || !errors.Is(err, allocator.ErrInvalidFree) && !errors.Is(err, allocator.ErrDoubleFree) {
		w.s.t.Fatalf("step %d %s: %v", w.s.step, op, err)
	}
}

// refused stops the test unless a deliberate misuse was refused.
func (w *workload) refused(op string, err error) {
	if err == nil {
		w.s.t.Fatalf("step %d %s: the misuse was obeyed", w.s.step, op)
	}
}

func pick[T any](rng *rand.Rand, xs *[]T) (T, int) {
	i := rng.IntN(len(*xs))
	return (*xs)[i], i
}

func remove[T any](xs *[]T, i int) {
	(*xs)[i] = (*xs)[len(*xs)-1]
	*xs = (*xs)[:len(*xs)-1]
}

// kmallocSize is a request size: mostly small, some past a page, a few
// large kmallocs, the odd zero.
func (w *workload) kmallocSize() uint64 {
	page := w.s.m.PageSize()
	switch r := w.rng.IntN(100); {
	case r < 60:
		return 1 + w.rng.Uint64N(256)
	case r < 85:
		return 1 + w.rng.Uint64N(2*page)
	case r < 97:
		return 2*page + 1 + w.rng.Uint64N(14*page)
	case r < 99:
		return 0
	}
	return 1 << 40 // fails: beyond KMALLOC_MAX_SIZE
}

// pageGFPs are the flags alloc_pages is called with: each migrate type
// (so pageblocks are claimed and stolen), each zone modifier, and the
// atomic flags that may dip below the min watermark.
var pageGFPs = []allocator.GFP{
	allocator.GFPKernel, allocator.GFPKernel, allocator.GFPHighUserMovable, allocator.GFPHighUserMovable,
	allocator.GFPKernel | allocator.GFPReclaimable, allocator.GFPAtomic, allocator.GFPKernel | allocator.GFPDMA,
	allocator.GFPKernel | allocator.GFPDMA32,
}

func (w *workload) gfp() allocator.GFP {
	g := allocator.GFPKernel
	switch w.rng.IntN(12) {
	case 0:
		g |= allocator.GFPZero
	case 1:
		g |= allocator.GFPAccount
	case 2:
		g |= allocator.GFPReclaimable
	}
	return g
}

// step runs one random operation as one step.
func (w *workload) step() {
	m, rng := w.s.m, w.rng
	page := m.PageSize()
	for {
		switch r := rng.IntN(106); {
		case r < 8:
			order := []int{0, 0, 0, 1, 2, 3, 5}[rng.IntN(7)]
			gfp := pageGFPs[rng.IntN(len(pageGFPs))]
			w.s.begin(fmt.Sprintf("alloc_pages(%v, %d)", gfp, order))
			a, err := m.AllocPages(order, gfp|allocator.GFPNoWarn)
			w.fail("alloc_pages", err)
			if err == nil {
				w.pages = append(w.pages, pageBlock{a, order})
			}
		case r < 14:
			if len(w.pages) == 0 {
				continue
			}
			b, i := pick(rng, &w.pages)
			if w.misuse && rng.IntN(8) == 0 {
				w.s.begin(fmt.Sprintf("free_pages(p, %d) with the wrong order", b.order+1))
				w.refused("free_pages", m.FreePages(b.addr, b.order+1))
				return
			}
			w.s.begin(fmt.Sprintf("free_pages(p, %d)", b.order))
			w.fail("free_pages", m.FreePages(b.addr, b.order))
			remove(&w.pages, i)
		case r < 34:
			if w.maxLive > 0 && len(w.kmem) > w.maxLive {
				p, i := pick(rng, &w.kmem)
				w.s.begin("kfree(p)")
				w.fail("kfree", m.Kfree(p))
				remove(&w.kmem, i)
				return
			}
			size, gfp := w.kmallocSize(), w.gfp()
			w.s.begin(fmt.Sprintf("kmalloc(%d, %v)", size, gfp))
			a, err := m.Kmalloc(size, gfp)
			w.fail("kmalloc", err)
			if err == nil && !a.ZeroOrNull() {
				w.kmem = append(w.kmem, a)
			}
		case r < 48:
			if len(w.kmem) == 0 {
				continue
			}
			p, i := pick(rng, &w.kmem)
			if w.misuse && rng.IntN(10) == 0 {
				w.s.begin("kfree(p + 1)")
				w.refused("kfree(p+1)", m.Kfree(p+1))
				return
			}
			ks := m.Ksize(p)
			w.s.begin("kfree(p)")
			w.fail("kfree", m.Kfree(p))
			remove(&w.kmem, i)
			if w.uaf && rng.IntN(6) == 0 {
				w.s.begin(fmt.Sprintf("memset(p, 0x41, %d) after kfree(p)", ks))
				m.Fill(p, 0x41, ks)
			}
			if w.misuse && rng.IntN(10) == 0 {
				w.s.begin("kfree(p) again")
				w.refused("double kfree", m.Kfree(p))
			}
		case r < 58:
			size, gfp := w.kmallocSize(), w.gfp()
			if size > 1<<30 {
				size = 3 * page
			}
			if len(w.kmem) == 0 || rng.IntN(10) == 0 {
				w.s.begin(fmt.Sprintf("krealloc(NULL, %d)", size))
				a, err := m.Krealloc(0, size, gfp)
				w.fail("krealloc(NULL)", err)
				if err == nil && !a.ZeroOrNull() {
					w.kmem = append(w.kmem, a)
				}
				return
			}
			p, i := pick(rng, &w.kmem)
			w.s.begin(fmt.Sprintf("krealloc(p, %d, %v)", size, gfp))
			q, err := m.Krealloc(p, size, gfp)
			w.fail("krealloc", err)
			switch {
			case err != nil:
			case q.ZeroOrNull():
				remove(&w.kmem, i)
			default:
				w.kmem[i] = q
			}
		case r < 61:
			w.nCaches++
			size := []uint64{8, 24, 40, 100, 192, 250, 700, 1500, 3000}[rng.IntN(9)]
			flags := []allocator.SlabFlags{0, 0, allocator.SlabHWCacheAlign, allocator.SlabRedZone | allocator.SlabStoreUser,
				allocator.SlabPoison, allocator.SlabConsistencyChecks}[rng.IntN(6)]
			name := fmt.Sprintf("cache%d", w.nCaches%7)
			w.s.begin(fmt.Sprintf("kmem_cache_create(%q, %d, 0, %#x)", name, size, flags))
			c, err := m.KmemCacheCreate(name, size, 0, flags)
			if err != nil {
				// The name is taken by a live cache: refused.
				return
			}
			w.caches = append(w.caches, &wlCache{c: c})
		case r < 72:
			if len(w.caches) == 0 {
				continue
			}
			c, _ := pick(rng, &w.caches)
			if w.maxLive > 0 && len(c.objs) > w.maxLive/10 {
				p, i := pick(rng, &c.objs)
				w.s.begin(fmt.Sprintf("kmem_cache_free(%s, p)", c.c.Name()))
				w.fail("kmem_cache_free", m.KmemCacheFree(c.c, p))
				remove(&c.objs, i)
				return
			}
			w.s.begin(fmt.Sprintf("kmem_cache_alloc(%s)", c.c.Name()))
			a, err := m.KmemCacheAlloc(c.c, w.gfp()&^(allocator.GFPAccount|allocator.GFPReclaimable))
			w.fail("kmem_cache_alloc", err)
			if err == nil {
				c.objs = append(c.objs, a)
			}
		case r < 80:
			if len(w.caches) == 0 {
				continue
			}
			c, _ := pick(rng, &w.caches)
			if len(c.objs) == 0 {
				continue
			}
			p, i := pick(rng, &c.objs)
			if w.misuse && rng.IntN(8) == 0 {
				other, _ := pick(rng, &w.caches)
				if other != c {
					w.s.begin(fmt.Sprintf("kmem_cache_free(%s, p of %s)", other.c.Name(), c.c.Name()))
					w.refused("kmem_cache_free with the wrong cache", m.KmemCacheFree(other.c, p))
					return
				}
			}
			w.s.begin(fmt.Sprintf("kmem_cache_free(%s, p)", c.c.Name()))
			w.fail("kmem_cache_free", m.KmemCacheFree(c.c, p))
			remove(&c.objs, i)
		case r < 82:
			if len(w.caches) == 0 {
				continue
			}
			c, i := pick(rng, &w.caches)
			w.s.begin(fmt.Sprintf("kmem_cache_destroy(%s)", c.c.Name()))
			m.KmemCacheDestroy(c.c) // a busy cache is reported and its slabs leak
			w.kmem = append(w.kmem, c.objs...)
			remove(&w.caches, i)
		case r < 83:
			if len(w.caches) == 0 {
				continue
			}
			c, _ := pick(rng, &w.caches)
			w.s.begin(fmt.Sprintf("validate_slab_cache(%s)", c.c.Name()))
			m.ValidateSlabCache(c.c)
		case r < 88:
			if w.maxLive > 0 && len(w.vmem) > w.maxLive/100 {
				p, i := pick(rng, &w.vmem)
				w.s.begin("vfree(p)")
				w.fail("vfree", m.Vfree(p))
				remove(&w.vmem, i)
				return
			}
			size := 1 + rng.Uint64N(6*page)
			if rng.IntN(10) == 0 {
				size = 1 + rng.Uint64N(200*page)
			}
			w.s.begin(fmt.Sprintf("vmalloc(%d)", size))
			a, err := m.Vmalloc(size, allocator.GFPKernel|allocator.GFPNoWarn)
			w.fail("vmalloc", err)
			if err == nil {
				w.vmem = append(w.vmem, a)
			}
		case r < 91:
			if len(w.vmem) == 0 {
				continue
			}
			p, i := pick(rng, &w.vmem)
			if w.misuse && rng.IntN(8) == 0 {
				w.s.begin("vfree(p + 8)")
				w.refused("vfree(p+8)", m.Vfree(p+8))
				return
			}
			w.s.begin("vfree(p)")
			w.fail("vfree", m.Vfree(p))
			remove(&w.vmem, i)
		case r < 95:
			// A burst fills slabs and, freed in a scrambled order, sends
			// them through the per-CPU partial lists to the node.
			if w.maxLive > 0 && len(w.kmem) > w.maxLive {
				n := min(len(w.kmem), 20+rng.IntN(200))
				w.s.begin(fmt.Sprintf("free %d of p[i]", n))
				for range n {
					p, i := pick(rng, &w.kmem)
					w.fail("kfree", m.Kfree(p))
					remove(&w.kmem, i)
				}
				return
			}
			size := []uint64{8, 64, 96, 192, 512, 1024}[rng.IntN(6)]
			n := 20 + rng.IntN(200)
			w.s.begin(fmt.Sprintf("for i in range(%d): p[i] = kmalloc(%d)", n, size))
			start := len(w.kmem)
			for range n {
				a, err := m.Kmalloc(size, allocator.GFPKernel)
				w.fail("kmalloc", err)
				if err == nil {
					w.kmem = append(w.kmem, a)
				}
			}
			if rng.IntN(2) == 0 {
				burst := w.kmem[start:]
				w.s.begin(fmt.Sprintf("free every other p[i] of %d", len(burst)))
				rng.Shuffle(len(burst), func(i, j int) { burst[i], burst[j] = burst[j], burst[i] })
				half := burst[:len(burst)/2]
				for _, p := range half {
					w.fail("kfree", m.Kfree(p))
				}
				w.kmem = append(w.kmem[:start], burst[len(burst)/2:]...)
			}
		case r < 97:
			if len(w.vmem) == 0 {
				continue
			}
			p, i := pick(rng, &w.vmem)
			size := 1 + rng.Uint64N(8*page)
			w.s.begin(fmt.Sprintf("vrealloc(p, %d)", size))
			q, err := m.Vrealloc(p, size, allocator.GFPKernel|allocator.GFPNoWarn|allocator.GFPZero)
			w.fail("vrealloc", err)
			if err == nil {
				w.vmem[i] = q
			}
		case r < 101:
			// kvmalloc, kvrealloc and kvfree: kmalloc when it can, vmalloc
			// when that fails or the size is past what kmalloc may try.
			size := 1 + rng.Uint64N(12*page)
			if rng.IntN(4) == 0 {
				// Past what a fragmented machine has contiguous: the
				// vmalloc fallback.
				size = 32*page + rng.Uint64N(160*page)
			}
			switch k := rng.IntN(10); {
			case k < 4 && (w.maxLive == 0 || len(w.kvmem) < w.maxLive/100) || len(w.kvmem) == 0:
				w.s.begin(fmt.Sprintf("kvmalloc(%d)", size))
				p, err := m.KVmalloc(size, allocator.GFPKernel|allocator.GFPNoWarn)
				w.fail("kvmalloc", err)
				if err == nil {
					w.kvmem = append(w.kvmem, p)
				}
			case k < 7:
				p, i := pick(rng, &w.kvmem)
				w.s.begin(fmt.Sprintf("kvrealloc(p, %d)", size))
				q, err := m.KVrealloc(p, size, allocator.GFPKernel|allocator.GFPNoWarn)
				w.fail("kvrealloc", err)
				if err == nil {
					w.kvmem[i] = q
				}
			default:
				p, i := pick(rng, &w.kvmem)
				w.s.begin("kvfree(p)")
				w.fail("kvfree", m.KVfree(p))
				remove(&w.kvmem, i)
			}
		case r < 104:
			// A KVec or VVec grows by pushes (krealloc or vrealloc), or
			// is dropped; a KBox is made or dropped.
			switch k := rng.IntN(10); {
			case k < 5 && (w.maxLive == 0 || len(w.vecs) < w.maxLive/100) || len(w.vecs) == 0:
				var v *allocator.Vec[uint64]
				var err error
				if len(w.vecs) == 0 || rng.IntN(4) == 0 {
					if rng.IntN(3) == 0 {
						v, err = allocator.VVec[uint64](m)
					} else {
						v, err = allocator.KVec[uint64](m)
					}
					if err != nil {
						w.s.t.Fatal(err)
					}
					w.vecs = append(w.vecs, v)
				} else {
					v, _ = pick(rng, &w.vecs)
				}
				n := 1 + rng.IntN(40)
				w.s.begin(fmt.Sprintf("for i in range(%d): v.push(i)", n))
				for i := range n {
					w.fail("push", v.Push(uint64(i), allocator.GFPKernel))
				}
			case k < 7:
				v, i := pick(rng, &w.vecs)
				w.s.begin("drop(v)")
				v.Drop()
				remove(&w.vecs, i)
			case k < 9 || len(w.boxes) == 0:
				w.s.begin("b = KBox::new([0u8; 48])")
				b, err := allocator.KBox(m, [48]byte{1}, allocator.GFPKernel)
				w.fail("KBox::new", err)
				if err == nil {
					w.boxes = append(w.boxes, b)
				}
			default:
				b, i := pick(rng, &w.boxes)
				w.s.begin("drop(b)")
				b.Drop()
				remove(&w.boxes, i)
			}
		case r == 105:
			w.s.begin("drain_all_pages()")
			m.DrainAllPages()
		default:
			cpu := rng.IntN(m.Config().CPUs)
			w.s.begin(fmt.Sprintf("set_cpu(%d)", cpu))
			w.fail("set_cpu", m.SetCPU(cpu))
		}
		return
	}
}

// drain frees everything the workload holds, in random order.
func (w *workload) drain() {
	m := w.s.m
	w.rng.Shuffle(len(w.kmem), func(i, j int) { w.kmem[i], w.kmem[j] = w.kmem[j], w.kmem[i] })
	for _, p := range w.kmem {
		w.s.begin("kfree(p)")
		w.fail("kfree", m.Kfree(p))
	}
	w.kmem = nil
	for _, c := range w.caches {
		for _, p := range c.objs {
			w.s.begin("kmem_cache_free(p)")
			w.fail("kmem_cache_free", m.KmemCacheFree(c.c, p))
		}
		w.s.begin("kmem_cache_destroy")
		w.fail("kmem_cache_destroy", m.KmemCacheDestroy(c.c))
	}
	w.caches = nil
	for _, p := range w.vmem {
		w.s.begin("vfree(p)")
		w.fail("vfree", m.Vfree(p))
	}
	w.vmem = nil
	for _, p := range w.kvmem {
		w.s.begin("kvfree(p)")
		w.fail("kvfree", m.KVfree(p))
	}
	w.kvmem = nil
	for _, v := range w.vecs {
		w.s.begin("drop(v)")
		v.Drop()
	}
	w.vecs = nil
	for _, b := range w.boxes {
		w.s.begin("drop(b)")
		b.Drop()
	}
	w.boxes = nil
	for _, b := range w.pages {
		w.s.begin("free_pages")
		w.fail("free_pages", m.FreePages(b.addr, b.order))
	}
	w.pages = slices.Delete(w.pages, 0, len(w.pages))
}

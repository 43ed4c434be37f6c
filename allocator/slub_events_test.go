package allocator

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
)

// replay rebuilds SLUB from events alone, the way a viewer in another
// package would: caches from EvCacheCreate, slabs from EvSlabNew,
// EvSlabList and EvSlabDiscard, objects from EvObjAlloc and EvObjFree.
type replay struct {
	stride map[string]uint64 // cache name -> s->size
	slabs  map[uint64]*replaySlab
}

type replaySlab struct {
	cache   string
	order   int
	objects int
	first   Addr
	list    SlabList
	cpu     int
	state   []ObjState
}

func newReplay() *replay {
	return &replay{stride: make(map[string]uint64), slabs: make(map[uint64]*replaySlab)}
}

func (r *replay) apply(e Event) error {
	switch e.Kind() {
	case EvCacheCreate:
		r.stride[e.Cache()] = e.Bytes()
	case EvSlabNew:
		if _, dup := r.slabs[e.PFN()]; dup {
			return fmt.Errorf("event %d: new slab at pfn %#x, which has one", e.Seq(), e.PFN())
		}
		if e.Bytes() != r.stride[e.Cache()] {
			return fmt.Errorf("event %d: slab stride %d, cache says %d", e.Seq(), e.Bytes(), r.stride[e.Cache()])
		}
		r.slabs[e.PFN()] = &replaySlab{cache: e.Cache(), order: e.Order(), objects: e.Objects(), first: e.Addr(), cpu: -1,
			state: make([]ObjState, e.Objects())}
	case EvSlabList:
		s := r.slabs[e.PFN()]
		if s == nil {
			return fmt.Errorf("event %d: list move of unknown slab %#x", e.Seq(), e.PFN())
		}
		s.list, s.cpu = e.List(), e.ListCPU()
	case EvSlabDiscard:
		if r.slabs[e.PFN()] == nil {
			return fmt.Errorf("event %d: discard of unknown slab %#x", e.Seq(), e.PFN())
		}
		delete(r.slabs, e.PFN())
	case EvObjAlloc, EvObjFree:
		s := r.slabs[e.PFN()]
		if s == nil || e.Object() < 0 || e.Object() >= s.objects {
			return fmt.Errorf("event %d: object %d of unknown slab %#x", e.Seq(), e.Object(), e.PFN())
		}
		if want := s.first + Addr(uint64(e.Object())*r.stride[s.cache]); e.Addr() != want {
			return fmt.Errorf("event %d: object %d at %v, the slab puts it at %v", e.Seq(), e.Object(), e.Addr(), want)
		}
		switch {
		case e.Kind() == EvObjFree:
			s.state[e.Object()] = ObjFree
		case e.Path() == "lost":
			s.state[e.Object()] = ObjLost
		default:
			s.state[e.Object()] = ObjAllocated
		}
	}
	return nil
}

// compare checks the rebuilt state against the machine's own snapshot.
func (r *replay) compare(m *Machine) error {
	n := 0
	for _, c := range m.Caches() {
		for _, si := range c.Slabs {
			n++
			rs := r.slabs[si.PFN]
			if rs == nil {
				return fmt.Errorf("%s slab pfn %#x: not rebuilt from the events", c.Name, si.PFN)
			}
			cpu := si.CPU
			if si.List != ListCPU && si.List != ListCPUPartial {
				cpu = -1
			}
			if rs.cache != c.Name || rs.order != si.Order || rs.objects != si.Objects || rs.list != si.List || rs.cpu != cpu || rs.first != si.Addr {
				return fmt.Errorf("%s slab pfn %#x: events say %s order %d, %d objects at %v on %v cpu %d; machine: order %d, %d objects at %v on %v cpu %d",
					c.Name, si.PFN, rs.cache, rs.order, rs.objects, rs.first, rs.list, rs.cpu, si.Order, si.Objects, si.Addr, si.List, cpu)
			}
			free := make([]bool, si.Objects)
			for _, i := range append(append([]int(nil), si.Free...), si.CPUFree...) {
				free[i] = true
			}
			for i := 0; i < si.Objects; i++ {
				o, ok := m.ObjectAt(si.Addr + Addr(uint64(i)*c.Size))
				if !ok || o.Index != i {
					return fmt.Errorf("%s slab pfn %#x: ObjectAt object %d: %+v", c.Name, si.PFN, i, o)
				}
				if free[i] != (o.State == ObjFree) {
					return fmt.Errorf("%s slab pfn %#x object %d: freelists say free=%v, records say %v", c.Name, si.PFN, i, free[i], o.State)
				}
				if rs.state[i] != o.State {
					return fmt.Errorf("%s slab pfn %#x object %d: events say %v, machine %v", c.Name, si.PFN, i, rs.state[i], o.State)
				}
			}
		}
	}
	if n != len(r.slabs) {
		return fmt.Errorf("the events rebuilt %d slabs, the machine has %d", len(r.slabs), n)
	}
	return nil
}

// TestSlubEventsRebuildState runs seeded random workloads (kmalloc,
// krealloc, kfree, kmem_cache_*, CPU switches, validation, misuse) and
// rebuilds every slab and object from the events after every step.
func TestSlubEventsRebuildState(t *testing.T) {
	steps := 1500
	if testing.Short() {
		steps = 400
	}
	for name, cfg := range map[string]Config{
		"default":  {RAM: 16 * MiB},
		"FZPU":     {RAM: 16 * MiB, SlabDebug: "FZPU"},
		"random":   {RAM: 16 * MiB, FreelistRandom: true, FreelistHardened: true, Seed: 11},
		"1cpu-16K": {RAM: 32 * MiB, CPUs: 1, PageSize: 16384},
	} {
		t.Run(name, func(t *testing.T) {
			m := newTestMachine(t, cfg)
			log := &EventLog{}
			m.SetLog(log)
			r := newReplay()
			applied := 0
			sync := func(step int) {
				t.Helper()
				for ; applied < log.Len(); applied++ {
					if err := r.apply(log.At(applied)); err != nil {
						t.Fatalf("step %d: %v", step, err)
					}
				}
				if err := r.compare(m); err != nil {
					t.Fatalf("step %d: %v", step, err)
				}
			}
			rng := rand.New(rand.NewPCG(1, 2))
			w := newWorkload(m, rng)
			for step := 0; step < steps; step++ {
				w.step(t)
				sync(step)
			}
			w.drain(t)
			sync(steps)
		})
	}
}

// workload is a seeded mix of SLUB operations, shared by the event and
// property tests. It tracks every live allocation and the pattern in it.
type workload struct {
	m      *Machine
	rng    *rand.Rand
	live   []liveObj
	caches []*KmemCache
	next   byte
	ops    map[string]int // operations done, by name
}

type liveObj struct {
	p     Addr
	size  uint64
	cache *KmemCache // nil: kmalloc
	seed  byte
}

func newWorkload(m *Machine, rng *rand.Rand) *workload {
	return &workload{m: m, rng: rng, ops: make(map[string]int)}
}

func (w *workload) size() uint64 {
	switch w.rng.IntN(10) {
	case 0:
		return w.m.KmallocMaxCacheSize() + uint64(w.rng.IntN(int(w.m.PageSize())*4))
	case 1, 2:
		return uint64(1 + w.rng.IntN(int(w.m.KmallocMaxCacheSize())))
	}
	return uint64(1 + w.rng.IntN(300))
}

func (w *workload) gfp() GFP {
	switch w.rng.IntN(12) {
	case 0:
		return GFPKernelAccount
	case 1:
		return GFPKernel | GFPReclaimable
	case 2:
		return GFPKernel | GFPZero
	}
	return GFPKernel
}

// pattern returns the 256-byte period of an object's content: byte i is
// seed + i*31.
func pattern(seed byte) []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = seed + byte(i*31)
	}
	return b
}

func (w *workload) write(o liveObj) {
	b, err := w.m.Span(o.p, o.size)
	if err != nil {
		panic(err)
	}
	pat := pattern(o.seed)
	for i := 0; i < len(b); i += len(pat) {
		copy(b[i:], pat)
	}
}

// verify checks that every live object still holds its pattern.
func (w *workload) verify(t *testing.T) {
	t.Helper()
	for _, o := range w.live {
		b, _ := w.m.Span(o.p, o.size)
		pat := pattern(o.seed)
		for i := 0; i < len(b); i += len(pat) {
			chunk := b[i:min(i+len(pat), len(b))]
			if !bytes.Equal(chunk, pat[:len(chunk)]) {
				t.Fatalf("object %v (%d bytes): bytes %d.. are % x, want % x", o.p, o.size, i, chunk[:min(16, len(chunk))], pat[:min(16, len(chunk))])
			}
		}
	}
}

func (w *workload) add(t *testing.T, p Addr, size uint64, c *KmemCache) {
	t.Helper()
	w.next++
	o := liveObj{p: p, size: size, cache: c, seed: w.next}
	w.write(o)
	w.live = append(w.live, o)
}

func (w *workload) take(i int) liveObj {
	o := w.live[i]
	w.live[i] = w.live[len(w.live)-1]
	w.live = w.live[:len(w.live)-1]
	return o
}

func (w *workload) step(t *testing.T) {
	t.Helper()
	m := w.m
	switch op := w.rng.IntN(100); {
	case op < 35 || len(w.live) == 0:
		n := w.size()
		p, err := m.Kmalloc(n, w.gfp())
		if err != nil {
			w.ops["kmalloc failed"]++
			return
		}
		w.ops["kmalloc"]++
		w.add(t, p, n, nil)
	case op < 60:
		o := w.take(w.rng.IntN(len(w.live)))
		var err error
		if o.cache != nil && !o.cache.destroyed && w.rng.IntN(2) == 0 {
			err = m.KmemCacheFree(o.cache, o.p)
		} else {
			err = m.Kfree(o.p)
		}
		if err != nil {
			t.Fatalf("free of %v: %v", o.p, err)
		}
		w.ops["free"]++
	case op < 72:
		i := w.rng.IntN(len(w.live))
		if w.live[i].cache != nil && !w.live[i].cache.kmalloc {
			return
		}
		o := w.live[i]
		n := w.size()
		q, err := m.Krealloc(o.p, n, w.gfp())
		if err != nil {
			w.ops["krealloc failed"]++
			return
		}
		w.ops["krealloc"]++
		keep := min(n, o.size)
		b, _ := m.Span(q, keep)
		for j := range b {
			if b[j] != o.seed+byte(j*31) {
				t.Fatalf("krealloc(%v, %d) = %v lost byte %d", o.p, n, q, j)
			}
		}
		w.take(i)
		w.add(t, q, n, nil)
	case op < 82:
		if len(w.caches) == 0 || w.rng.IntN(8) == 0 {
			var flags SlabFlags
			if w.rng.IntN(3) == 0 {
				flags = SlabFlags(w.rng.IntN(16)) & SlabDebugFlags
			}
			if w.rng.IntN(3) == 0 {
				flags |= SlabHWCacheAlign
			}
			c, err := m.KmemCacheCreate(fmt.Sprintf("wl_cache_%d", w.ops["create"]), uint64(1+w.rng.IntN(700)), uint64(8<<w.rng.IntN(4)), flags)
			if err != nil {
				t.Fatal(err)
			}
			w.ops["create"]++
			w.caches = append(w.caches, c)
		}
		c := w.caches[w.rng.IntN(len(w.caches))]
		p, err := m.KmemCacheAlloc(c, w.gfp())
		if err != nil {
			w.ops["kmem_cache_alloc failed"]++
			return
		}
		w.ops["kmem_cache_alloc"]++
		w.add(t, p, c.objectSize, c)
	case op < 90:
		if err := m.SetCPU(w.rng.IntN(m.Config().CPUs)); err != nil {
			t.Fatal(err)
		}
		w.ops["setcpu"]++
	case op < 93:
		if len(w.caches) == 0 {
			return
		}
		i := w.rng.IntN(len(w.caches))
		c := w.caches[i]
		if err := m.KmemCacheDestroy(c); err != nil {
			w.ops["destroy busy"]++
		} else {
			w.ops["destroy"]++
		}
		w.caches[i] = w.caches[len(w.caches)-1]
		w.caches = w.caches[:len(w.caches)-1]
	case op < 95:
		all := m.slub.caches
		c := all[w.rng.IntN(len(all))]
		if !c.destroyed {
			if _, err := m.ValidateSlabCache(c); err != nil {
				t.Fatal(err)
			}
			w.ops["validate"]++
		}
	default:
		// Misuse that must change nothing: a double free or an interior
		// pointer.
		o := w.live[w.rng.IntN(len(w.live))]
		if err := m.Kfree(o.p + 1); err == nil {
			t.Fatalf("kfree(%v + 1) succeeded", o.p)
		}
		w.ops["misuse"]++
	}
}

// drain frees everything.
func (w *workload) drain(t *testing.T) {
	t.Helper()
	for len(w.live) > 0 {
		o := w.take(len(w.live) - 1)
		if err := w.m.Kfree(o.p); err != nil {
			t.Fatalf("drain: kfree(%v): %v", o.p, err)
		}
	}
}

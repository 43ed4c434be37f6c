package allocator

import (
	"math/rand/v2"
	"sort"
	"testing"
)

// TestSlubProperties runs seeded random mixes of kmalloc, krealloc, kfree,
// kmem_cache_create/alloc/free/destroy, CPU switches, validation and
// refused misuse, and after every step checks that:
//   - every live object still holds the pattern written into it;
//   - no two live allocations overlap, even counting their whole ksize;
//   - SLUB's own structure holds (CheckSlub: freelists read from memory,
//     inuse counts, lists) and so does the buddy allocator's;
//   - /proc/slabinfo agrees with the slabs and with the live objects.
func TestSlubProperties(t *testing.T) {
	steps := 2500
	if testing.Short() {
		steps = 600
	}
	for _, tc := range []struct {
		name  string
		cfg   Config
		seed  uint64
		scale int // steps are divided by this: 64 KiB slabs hold 8192 objects to check
	}{
		{"default", Config{RAM: 16 * MiB}, 1, 1},
		{"2cpus-hardened", Config{RAM: 16 * MiB, CPUs: 2, FreelistHardened: true, FreelistRandom: true, Seed: 9}, 2, 1},
		{"debug", Config{RAM: 16 * MiB, SlabDebug: "FZPU"}, 3, 1},
		{"64K-6.12", Config{RAM: 64 * MiB, PageSize: 65536, Profile: Profile612}, 4, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newTestMachine(t, tc.cfg)
			w := newWorkload(m, rand.New(rand.NewPCG(tc.seed, 99)))
			for step := 0; step < steps/tc.scale; step++ {
				w.step(t)
				checkProperties(t, w, step)
			}
			w.drain(t)
			checkProperties(t, w, steps/tc.scale)
			for _, op := range []string{"kmalloc", "free", "krealloc", "kmem_cache_alloc", "setcpu", "validate", "misuse"} {
				if w.ops[op] == 0 {
					t.Errorf("the workload never did %s: %v", op, w.ops)
				}
			}
		})
	}
}

func checkProperties(t *testing.T, w *workload, step int) {
	t.Helper()
	m := w.m
	w.verify(t)
	type span struct {
		lo, hi Addr
		cache  string
	}
	spans := make([]span, 0, len(w.live))
	live := make(map[string]int)
	for _, o := range w.live {
		info, ok := m.ObjectAt(o.p)
		if !ok || info.Start != o.p || !info.Allocated() || info.Size != o.size {
			t.Fatalf("step %d: live object %v (%d bytes) is %+v", step, o.p, o.size, info)
		}
		if info.Ksize < o.size || m.Ksize(o.p) != info.Ksize {
			t.Fatalf("step %d: ksize(%v) = %d for %d bytes", step, o.p, info.Ksize, o.size)
		}
		spans = append(spans, span{o.p, o.p + Addr(info.Ksize), info.Cache})
		if !info.Large {
			live[info.Cache]++
		}
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].lo < spans[j].lo })
	for i := 1; i < len(spans); i++ {
		if spans[i].lo < spans[i-1].hi {
			t.Fatalf("step %d: %v..%v overlaps %v..%v", step, spans[i-1].lo, spans[i-1].hi, spans[i].lo, spans[i].hi)
		}
	}
	if err := m.CheckSlub(); err != nil {
		t.Fatalf("step %d: %v", step, err)
	}
	if err := m.CheckInvariants(); err != nil {
		t.Fatalf("step %d: %v", step, err)
	}
	rows := make(map[string]SlabinfoRow)
	for _, r := range m.SlabinfoRows() {
		rows[r.Name] = r
	}
	for _, c := range m.Caches() {
		var objs, nodeFree, allocated, slabs uint64
		for _, si := range c.Slabs {
			slabs++
			objs += uint64(si.Objects)
			if si.List == ListNodePartial {
				nodeFree += uint64(len(si.Free))
			}
			allocated += uint64(si.Inuse - len(si.CPUFree))
		}
		if allocated != uint64(live[c.Name]) && !c.Destroyed {
			t.Fatalf("step %d: %s holds %d allocated objects, the workload %d", step, c.Name, allocated, live[c.Name])
		}
		if c.Destroyed {
			continue
		}
		r, listed := rows[c.Name]
		if !listed {
			t.Fatalf("step %d: %s is not in /proc/slabinfo", step, c.Name)
		}
		if r.NumObjs != objs || r.ActiveObjs != objs-nodeFree || r.Slabs != slabs || r.ObjSize != c.Size ||
			r.ObjPerSlab != c.ObjectsPerSlab || r.PagesPerSlab != 1<<c.Order {
			t.Fatalf("step %d: slabinfo %+v, slabs say %d objects, %d free on the node, %d slabs", step, r, objs, nodeFree, slabs)
		}
	}
}

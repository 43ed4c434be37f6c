package heapview

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/allocviz/allocviz/allocator"
	"github.com/allocviz/allocviz/allocator/allocatortest"
)

// machineState is the machine's own account of everything heapview
// models: pages, free lists, vmap areas, caches with their slabs and
// freelists, every slab object and large kmalloc.
type machineState struct {
	machineVmalloc
	caches  []allocator.CacheInfo
	info    []allocator.SlabinfoRow
	objects map[allocator.Addr]allocator.ObjectInfo // every slab object and every large kmalloc, by address
	large   int                                     // large kmallocs
	pageAll int                                     // alloc_pages blocks
	ptinfo  string                                  // /proc/pagetypeinfo: free blocks by zone, migrate type and order; pageblocks by type
}

func snapshotAll(m *allocator.Machine) machineState {
	ms := machineState{machineVmalloc: snapshotVmalloc(m), caches: m.Caches(), info: m.SlabinfoRows(), objects: map[allocator.Addr]allocator.ObjectInfo{},
		ptinfo: m.Pagetypeinfo()}
	for _, c := range ms.caches {
		for _, sl := range c.Slabs {
			for i := range sl.Objects {
				a := sl.Addr + allocator.Addr(uint64(i)*c.Size)
				o, ok := m.ObjectAt(a)
				if !ok {
					panic(fmt.Sprintf("the machine does not know object %d of its slab at pfn %#x", i, sl.PFN))
				}
				ms.objects[a] = o
			}
		}
	}
	for _, p := range ms.pages {
		if p.State != allocator.PageAllocated || p.Head != p.PFN {
			continue
		}
		switch p.Owner {
		case allocator.OwnerLargeKmalloc:
			a := m.PFNAddr(p.PFN)
			o, ok := m.ObjectAt(a)
			if !ok || !o.Large {
				panic(fmt.Sprintf("the machine does not know its large kmalloc at pfn %#x", p.PFN))
			}
			ms.objects[a] = o
			ms.large++
		case allocator.OwnerPages:
			ms.pageAll++
		}
	}
	return ms
}

// consistencyChecks choose what requireSameAll compares.
type consistencyChecks struct {
	freelists bool // the order of every slab's free objects
}

// requireSameAll fails unless the model under its cursor equals the
// machine's state: page for page, area for area, cache for cache, slab for
// slab (list, CPU, objects in use, freelist order) and object for object.
func requireSameAll(t *testing.T, what string, hv *Model, want machineState, chk consistencyChecks) {
	t.Helper()
	requireSameVmalloc(t, what, hv, want.machineVmalloc)
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("%s: %s", what, fmt.Sprintf(format, args...))
	}
	// Zones: free blocks per migrate type and order, pageblocks per type
	// (the pages themselves, pcp ones included, were compared above).
	if got := allocator.FormatPagetypeinfo(hv.Zones(), hv.geo.pbOrder); got != want.ptinfo {
		fail("pagetypeinfo:\n%s\nmachine:\n%s", got, want.ptinfo)
	}
	// Slabs, pfn for pfn.
	got := map[uint64]Slab{}
	for _, sl := range hv.Slabs("") {
		got[sl.PFN] = sl
	}
	nslabs, allocated := 0, 0
	for _, c := range want.caches {
		var objs, inuse int
		for _, w := range c.Slabs {
			nslabs++
			g, ok := got[w.PFN]
			if !ok {
				fail("the machine has a slab of %s at pfn %#x, the model none", c.Name, w.PFN)
			}
			// Objects not free by the machine's own records (its freelists
			// read from memory stop at a pointer a write after free broke).
			used := 0
			for i := range w.Objects {
				if want.objects[w.Addr+allocator.Addr(uint64(i)*c.Size)].State != allocator.ObjFree {
					used++
				}
			}
			if chk.freelists && used != w.Inuse-len(w.CPUFree) {
				fail("slab at pfn %#x: the machine's records say %d objects are not free, its freelists %d", w.PFN, used, w.Inuse-len(w.CPUFree))
			}
			if g.Cache != c.Name || g.Order != w.Order || g.Objects != w.Objects || g.First != w.Addr || g.ObjSize != c.Size ||
				g.List != w.List || g.CPU != w.CPU || g.InUse != used || g.Seq != w.Since {
				fail("slab at pfn %#x: model %+v, machine %s %+v", w.PFN, g, c.Name, w)
			}
			if chk.freelists {
				wantFL := append(slices.Clone(w.CPUFree), w.Free...)
				if fl := hv.Freelist(g); !slices.Equal(fl, wantFL) && (len(fl) > 0 || len(wantFL) > 0) {
					fail("slab of %s at pfn %#x (%v): model's freelist %v, machine's cpu freelist %v then slab freelist %v",
						c.Name, w.PFN, w.List, fl, w.CPUFree, w.Free)
				}
			}
			objs += w.Objects
			inuse += used
			for i := range w.Objects {
				a := w.Addr + allocator.Addr(uint64(i)*c.Size)
				o := want.objects[a]
				al, live := hv.Alloc(a)
				if live != o.Allocated() || hv.ObjectLost(g, i) != (o.State == allocator.ObjLost) ||
					hv.ObjectUsed(g, i) != (o.State != allocator.ObjFree) {
					fail("object %d of %s at %v: machine %v, model live %v, used %v, lost %v (%+v)", i, c.Name, a, o.State,
						live, hv.ObjectUsed(g, i), hv.ObjectLost(g, i), al)
				}
				if !o.Allocated() {
					continue
				}
				allocated++
				if al.Kind != AllocSlab || al.Cache != c.Name || al.Size != o.Size || al.Bytes != c.Size || al.Seq != o.Since {
					fail("object %d of %s at %v: model %+v, machine %+v", i, c.Name, a, al, o)
				}
			}
		}
		// The list order: the machine lists each CPU's cpu slab and
		// partial list, then the node partial list, then full slabs.
		var wantOrder, gotOrder []uint64
		for _, w := range c.Slabs {
			if w.List != allocator.ListFull {
				wantOrder = append(wantOrder, w.PFN)
			}
		}
		if !c.Destroyed {
			for _, g := range hv.ListedSlabs(c.Name) {
				if g.List != allocator.ListFull {
					gotOrder = append(gotOrder, g.PFN)
				}
			}
			if !slices.Equal(gotOrder, wantOrder) {
				fail("cache %s: the model lists slabs %x, the machine %x", c.Name, gotOrder, wantOrder)
			}
		}
		if c.Destroyed {
			continue
		}
		hc, ok := hv.CacheByName(c.Name)
		if !ok || !hc.Alive || hc.ObjSize != c.ObjectSize || hc.Size != c.Size || hc.Order != c.Order ||
			hc.ObjPerSlab != c.ObjectsPerSlab || hc.Slabs != len(c.Slabs) || hc.Objects != objs || hc.InUse != inuse {
			fail("cache %s: model %+v, machine %d slabs, %d objects, %d in use, geometry %+v", c.Name, hc, len(c.Slabs), objs, inuse, c)
		}
	}
	if len(got) != nslabs || hv.Totals().Slabs != nslabs {
		fail("the model has %d slabs (totals %d), the machine %d", len(got), hv.Totals().Slabs, nslabs)
	}
	// /proc/slabinfo, row for row.
	for _, r := range want.info {
		hc, _ := hv.CacheByName(r.Name)
		if uint64(hc.Active) != r.ActiveObjs || uint64(hc.Objects) != r.NumObjs || hc.Size != r.ObjSize ||
			hc.ObjPerSlab != r.ObjPerSlab || hc.PagesPerSlab != r.PagesPerSlab || uint64(hc.Slabs) != r.Slabs {
			fail("slabinfo of %s: model %+v, machine %+v", r.Name, hc, r)
		}
	}
	// Caches alive in the model are alive in the machine.
	alive := map[string]bool{}
	for _, c := range want.caches {
		if !c.Destroyed {
			alive[c.Name] = true
		}
	}
	for _, c := range hv.Caches() {
		if c.Alive && !alive[c.Name] {
			fail("the model's cache %s is alive, the machine has no such cache", c.Name)
		}
	}
	// Large kmallocs.
	for a, o := range want.objects {
		if !o.Large {
			continue
		}
		al, ok := hv.Alloc(a)
		if !ok || al.Kind != AllocLargeKmalloc || al.Size != o.Size || al.Bytes != o.Ksize || al.Seq != o.Since {
			fail("large kmalloc at %v: model %+v %v, machine %+v", a, al, ok, o)
		}
	}
	// Every live allocation is accounted for.
	n := allocated + want.large + want.pageAll + len(want.areas)
	if tot := hv.Totals(); tot.Allocs != n || len(hv.Allocs()) != n {
		fail("the model has %d live allocations (totals %d), the machine %d objects, %d large kmallocs, %d page blocks, %d areas",
			len(hv.Allocs()), tot.Allocs, allocated, want.large, want.pageAll, len(want.areas))
	}
	var byOwner [allocator.NumOwners]uint64
	for _, p := range want.pages {
		byOwner[p.Owner]++
	}
	if tot := hv.Totals(); tot.PagesByOwner != byOwner {
		fail("pages by owner: model %v, machine %v", tot.PagesByOwner, byOwner)
	}
}

// consistencyConfigs cover page sizes, profiles, slab_debug, freelist
// randomisation and hardening, and one to four CPUs.
var consistencyConfigs = []allocator.Config{
	{RAM: 8 * allocator.MiB, CPUs: 4},
	{RAM: 8 * allocator.MiB, CPUs: 2, Profile: allocator.Profile612},
	{RAM: 16 * allocator.MiB, PageSize: 16384, CPUs: 3},
	{RAM: 16 * allocator.MiB, PageSize: 16384, CPUs: 2, Profile: allocator.Profile612, FreelistRandom: true, Seed: 9},
	{RAM: 8 * allocator.MiB, CPUs: 2, SlabDebug: "FZPU"},
	{RAM: 16 * allocator.MiB, PageSize: 16384, CPUs: 1, SlabDebug: "FZPU", FreelistHardened: true, Seed: 4},
	{RAM: 8 * allocator.MiB, CPUs: 4, FreelistRandom: true, FreelistHardened: true, Seed: 7},
	{RAM: 8 * allocator.MiB, CPUs: 1, SlabDebug: "ZU", Profile: allocator.Profile612},
	// Two zones (DMA and DMA32) with mobility grouping on: pageblocks
	// are claimed and stolen, GFP_DMA and GFP_DMA32 pick their zones.
	{RAM: 48 * allocator.MiB, CPUs: 3},
}

func configName(c allocator.Config) string {
	return fmt.Sprintf("%dK/%v/cpus%d/debug=%s/random=%v/hardened=%v", max(c.PageSize, 4096)/1024, c.Profile, c.CPUs,
		c.SlabDebug, c.FreelistRandom, c.FreelistHardened)
}

// TestModelEqualsMachine runs the seeded mix of every allocator on each
// configuration, rebuilds the model from the events and compares it with
// the machine at the end and, seeking back and forth, at recorded steps;
// then compares the seeks with models rebuilt from the events up to there.
func TestModelEqualsMachine(t *testing.T) {
	steps := 1500
	if testing.Short() {
		steps = 400
	}
	for ci, cfg := range consistencyConfigs {
		t.Run(configName(cfg), func(t *testing.T) {
			s := newSession(t, cfg)
			w := newWorkload(s, uint64(ci+1), true)
			want := map[int]machineState{}
			chk := consistencyChecks{freelists: true}
			for range steps {
				w.step()
				if s.step%97 == 0 {
					want[s.step] = snapshotAll(s.m)
				}
			}
			want[s.step] = snapshotAll(s.m)
			last := s.step
			w.drain()
			want[s.step] = snapshotAll(s.m)
			if err := s.m.CheckInvariants(); err != nil {
				t.Fatal(err)
			}
			hv, err := New(s.log)
			if err != nil {
				t.Fatal(err)
			}
			requireSameAll(t, "end", hv, want[s.step], chk)
			if err := hv.Seek(last); err != nil {
				t.Fatal(err)
			}
			requireSameAll(t, fmt.Sprintf("step %d", last), hv, want[last], chk)
			order := make([]int, 0, len(want))
			for st := range want {
				order = append(order, st)
			}
			rng := rand.New(rand.NewPCG(uint64(ci), 77))
			rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
			for _, st := range order {
				if err := hv.Seek(st); err != nil {
					t.Fatal(err)
				}
				requireSameAll(t, fmt.Sprintf("seek to step %d", st), hv, want[st], chk)
			}
			for range 4 {
				st := rng.IntN(hv.Steps() + 1)
				if err := hv.Seek(st); err != nil {
					t.Fatal(err)
				}
				_, end := hv.stepSpan(st)
				fresh, err := New(prefix(t, s.log, end))
				if err != nil {
					t.Fatal(err)
				}
				if fingerprint(hv) != fingerprint(fresh) {
					t.Fatalf("after seeking to step %d the model differs from one rebuilt from its events", st)
				}
				for _, sl := range hv.Slabs("") {
					if a, b := hv.Freelist(sl), fresh.Freelist(sl); !slices.Equal(a, b) {
						t.Fatalf("step %d, slab at pfn %#x: freelist after seeking %v, rebuilt %v", st, sl.PFN, a, b)
					}
				}
			}
			if a := hv.Anomalies(); len(a) != 0 {
				t.Fatalf("%d events of a real machine did not fit: %v", len(a), a[0])
			}
			seen := map[allocator.EventKind]int{}
			for _, e := range allocatortest.Events(s.log) {
				seen[e.Kind()]++
			}
			for _, k := range []allocator.EventKind{allocator.EvSlabNew, allocator.EvSlabDiscard, allocator.EvSlabList, allocator.EvRealloc,
				allocator.EvVmapAlloc, allocator.EvVmapFree, allocator.EvCacheDestroy, allocator.EvSlubReport, allocator.EvBadFree, allocator.EvVecOp, allocator.EvKvmalloc} {
				if seen[k] == 0 {
					t.Errorf("the mix never produced a %v event", k)
				}
			}
			pageKinds := []allocator.EventKind{allocator.EvPCPRefill, allocator.EvPCPDrain, allocator.EvDrainAll}
			if s.m.MobilityGrouping() {
				pageKinds = append(pageKinds, allocator.EvClaim, allocator.EvPageblock)
			}
			for _, k := range pageKinds {
				if seen[k] == 0 {
					t.Errorf("the mix never produced a %v event", k)
				}
			}
			renderAll(t, hv)
		})
	}
}

// TestModelEqualsMachineAfterWritesAfterFree adds writes into freed
// objects to the mix: SLUB reports the corrupted freelists and repairs
// them (allocviz relinks them, a debug cache loses objects). The model
// still equals the machine object for object; the order of a repaired
// freelist is not in the events, so it is not compared.
func TestModelEqualsMachineAfterWritesAfterFree(t *testing.T) {
	steps := 1500
	if testing.Short() {
		steps = 400
	}
	for ci, cfg := range []allocator.Config{consistencyConfigs[0], consistencyConfigs[4], consistencyConfigs[5]} {
		t.Run(configName(cfg), func(t *testing.T) {
			s := newSession(t, cfg)
			w := newWorkload(s, uint64(ci+100), true)
			w.uaf = true
			for range steps {
				w.step()
			}
			want := snapshotAll(s.m)
			hv, err := New(s.log)
			if err != nil {
				t.Fatal(err)
			}
			requireSameAll(t, "end", hv, want, consistencyChecks{})
			reports, lost := 0, 0
			for _, e := range allocatortest.Events(s.log) {
				switch {
				case e.Kind() == allocator.EvSlubReport:
					reports++
				case e.Kind() == allocator.EvObjAlloc && e.Path() == "lost":
					lost++
				}
			}
			if reports == 0 || cfg.SlabDebug != "" && lost == 0 {
				t.Fatalf("%d reports and %d lost objects: the writes after free should have been caught", reports, lost)
			}
			t.Logf("%d reports, %d objects lost", reports, lost)
		})
	}
}

// TestDiffMatchesTheStates runs the mix and checks Diff between random
// pairs of steps against the states themselves: it lists exactly the
// slabs (list, objects in use), allocations and areas that differ.
func TestDiffMatchesTheStates(t *testing.T) {
	s := newSession(t, consistencyConfigs[0])
	w := newWorkload(s, 42, true)
	for range 600 {
		w.step()
	}
	hv, err := New(s.log)
	if err != nil {
		t.Fatal(err)
	}
	type view struct {
		slabs  map[uint64]Slab
		allocs map[allocator.Addr]Alloc
		areas  map[allocator.Addr]string
	}
	at := func(st int) view {
		if err := hv.Seek(st); err != nil {
			t.Fatal(err)
		}
		v := view{map[uint64]Slab{}, map[allocator.Addr]Alloc{}, map[allocator.Addr]string{}}
		for _, sl := range hv.Slabs("") {
			v.slabs[sl.PFN] = sl
		}
		for _, a := range hv.Allocs() {
			v.allocs[a.Addr] = a
		}
		for _, a := range hv.Areas() {
			v.areas[a.Addr] = fmt.Sprintf("%v %d %d %v %d", a.Unpurged, a.Bytes, a.Size, a.PFNs, a.Seq)
		}
		return v
	}
	rng := rand.New(rand.NewPCG(4, 2))
	for range 12 {
		a, b := rng.IntN(hv.Steps()+1), rng.IntN(hv.Steps()+1)
		va, vb := at(a), at(b)
		d, err := hv.Diff(a, b)
		if err != nil {
			t.Fatal(err)
		}
		slabs := map[uint64]bool{}
		for _, c := range d.Slabs {
			slabs[c.PFN] = true
		}
		for pfn := range mergeKeys(va.slabs, vb.slabs) {
			x, okx := va.slabs[pfn]
			y, oky := vb.slabs[pfn]
			if (okx != oky || x != y) != slabs[pfn] {
				t.Fatalf("Diff(%d, %d): slab %#x: %+v -> %+v, listed %v", a, b, pfn, x, y, slabs[pfn])
			}
		}
		allocs := map[allocator.Addr]bool{}
		for _, c := range d.Allocs {
			allocs[c.Addr] = true
		}
		for addr := range mergeKeys(va.allocs, vb.allocs) {
			x, okx := va.allocs[addr]
			y, oky := vb.allocs[addr]
			if (okx != oky || x != y) != allocs[addr] {
				t.Fatalf("Diff(%d, %d): allocation %v: %+v -> %+v, listed %v", a, b, addr, x, y, allocs[addr])
			}
		}
		areas := map[allocator.Addr]bool{}
		for _, c := range d.Areas {
			areas[c.Addr] = true
		}
		for addr := range mergeKeys(va.areas, vb.areas) {
			x, okx := va.areas[addr]
			y, oky := vb.areas[addr]
			if (okx != oky || x != y) != areas[addr] {
				t.Fatalf("Diff(%d, %d): area %v: %+v -> %+v, listed %v", a, b, addr, x, y, areas[addr])
			}
		}
	}
}

func mergeKeys[K comparable, V any](a, b map[K]V) map[K]bool {
	out := map[K]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

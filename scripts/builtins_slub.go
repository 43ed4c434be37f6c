package scripts

import (
	"fmt"
	"math/bits"
	"strings"

	"github.com/allocviz/allocviz/allocator"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
	"go.starlark.net/syntax"
)

// slubGroup is SLUB and the kmalloc family: kmalloc, kfree, ksize,
// krealloc, kmalloc_size_roundup, the kmem_cache_* calls, and the
// look-only kmalloc_cache, slabinfo, slabs, object_info and slab_errors.
func slubGroup() Group {
	return Group{
		Name: "slub",
		Builtins: []Builtin{
			{Name: "kmalloc", Step: true, Fn: builtinKmalloc,
				Doc: "kmalloc(size, flags=GFP_KERNEL): an object of the kmalloc cache for size, or whole pages above KMALLOC_MAX_CACHE_SIZE (a large kmalloc); ZERO_SIZE_PTR (0x10) for 0; None (NULL) on failure"},
			{Name: "kfree", Step: true, Fn: builtinKfree,
				Doc: "kfree(p): free a kmalloc or slab object; True if freed, False if the free was reported and refused (double free, invalid pointer); kfree(None) does nothing"},
			{Name: "ksize", Step: true, Fn: builtinKsize,
				Doc: "ksize(p): the bytes usable at p, the size of its bucket; like the kernel's it makes them all usable, so p.size becomes ksize(p); 0 for NULL, ZERO_SIZE_PTR and what is not a kmalloc object"},
			{Name: "krealloc", Step: true, Fn: builtinKrealloc,
				Doc: "krealloc(p, size, flags=GFP_KERNEL): resize in place (p itself, its size updated) or move (a new pointer; p is freed); size 0 frees p and returns ZERO_SIZE_PTR; None on failure (p is then untouched)"},
			{Name: "kmalloc_size_roundup", Fn: builtinKmallocSizeRoundup,
				Doc: "kmalloc_size_roundup(n): the bytes kmalloc(n) really hands out: the bucket size, or whole pages for a large kmalloc"},
			{Name: "kmem_cache_create", Step: true, Fn: builtinKmemCacheCreate,
				Doc: "kmem_cache_create(name, size, align=0, flags=0): a slab cache of size-byte objects (flags: SLAB_HWCACHE_ALIGN, SLAB_RED_ZONE, ...); None on failure"},
			{Name: "kmem_cache_alloc", Step: true, Fn: builtinKmemCacheAlloc,
				Doc: "kmem_cache_alloc(cache, flags=GFP_KERNEL): one object of cache, or None (NULL) on failure"},
			{Name: "kmem_cache_free", Step: true, Fn: builtinKmemCacheFree,
				Doc: "kmem_cache_free(cache, p): free an object of cache; True if freed, False if the free was reported and refused (wrong cache, double free, invalid pointer)"},
			{Name: "kmem_cache_destroy", Step: true, Fn: builtinKmemCacheDestroy,
				Doc: "kmem_cache_destroy(cache): True if destroyed; False if objects were still allocated (reported; the cache is gone and its slabs leak, as in the kernel)"},
			{Name: "kmalloc_cache", Fn: builtinKmallocCache,
				Doc: "kmalloc_cache(size, flags=GFP_KERNEL): the kmalloc cache kmalloc(size, flags) would use, or None for 0 and large sizes"},
			{Name: "slabinfo", Fn: builtinSlabinfo,
				Doc: "slabinfo(): the rows of /proc/slabinfo as dicts: name, active_objs, num_objs, objsize, objperslab, pagesperslab, active_slabs, num_slabs"},
			{Name: "slabs", Fn: builtinSlabs,
				Doc: "slabs(cache): the cache's slabs (cpu slabs, per-CPU partial, node partial, full), each with pfn, addr, order, objects, inuse, used, list, cpu, freelist, cpu_freelist"},
			{Name: "object_info", Fn: builtinObjectInfo,
				Doc: "object_info(p): what lives at a pointer or address: cache, large, start, offset, size, ksize, slab_pfn, index, state, region; None if no slab object or large kmalloc"},
			{Name: "slab_errors", Fn: builtinSlabErrors,
				Doc: "slab_errors(): SLUB debug errors so far, counted as lib/slub_kunit.c counts them (a report and its fix are 2)"},
		},
		Constants:  slubConstants(),
		ConfigKeys: slubConfigKeys(),
	}
}

// slabFlagName is a kmem_cache_create flag scripts may pass.
type slabFlagName struct {
	name string
	flag allocator.SlabFlags
}

// slabFlagNames lists the kmem_cache_create flags scripts may pass, under
// their kernel names.
func slabFlagNames() []slabFlagName {
	return []slabFlagName{
		{"SLAB_CONSISTENCY_CHECKS", allocator.SlabConsistencyChecks},
		{"SLAB_RED_ZONE", allocator.SlabRedZone},
		{"SLAB_POISON", allocator.SlabPoison},
		{"SLAB_STORE_USER", allocator.SlabStoreUser},
		{"SLAB_HWCACHE_ALIGN", allocator.SlabHWCacheAlign},
		{"SLAB_CACHE_DMA", allocator.SlabCacheDMA},
		{"SLAB_RECLAIM_ACCOUNT", allocator.SlabReclaimAccount},
		{"SLAB_ACCOUNT", allocator.SlabAccount},
		{"SLAB_KMALLOC", allocator.SlabKmalloc},
		{"SLAB_NO_USER_FLAGS", allocator.SlabNoUserFlags},
	}
}

// slabFlagsAllowed is every flag in slabFlagNames.
func slabFlagsAllowed() allocator.SlabFlags {
	var all allocator.SlabFlags
	for _, f := range slabFlagNames() {
		all |= f.flag
	}
	return all
}

func slubConstants() starlark.StringDict {
	d := starlark.StringDict{"ZERO_SIZE_PTR": starlark.MakeUint64(uint64(allocator.ZeroSizePtr))}
	for _, f := range slabFlagNames() {
		d[f.name] = starlark.MakeUint64(uint64(f.flag))
	}
	return d
}

func slubConfigKeys() []ConfigKey {
	boolKey := func(name, doc string, field func(*allocator.Config) *bool) ConfigKey {
		return ConfigKey{Name: name, Doc: doc, Set: func(s *Settings, v starlark.Value) error {
			b, ok := v.(starlark.Bool)
			if !ok {
				return fmt.Errorf("got %s, want True or False", v.Type())
			}
			*field(&s.Config) = bool(b)
			return nil
		}}
	}
	return []ConfigKey{
		{Name: "debug", Doc: "slab_debug= for every cache: True (FZPU, the kernel's default set), False, or letters of F (consistency checks), Z (red zones), P (poison), U (user tracking)",
			Set: func(s *Settings, v starlark.Value) error {
				switch v := v.(type) {
				case starlark.Bool:
					s.Config.SlabDebug = ""
					if v {
						s.Config.SlabDebug = "FZPU"
					}
					return nil
				case starlark.String:
					str := strings.ToUpper(string(v))
					if _, err := allocator.ParseSlabDebug(str); err != nil {
						return err
					}
					s.Config.SlabDebug = str
					return nil
				}
				return fmt.Errorf("got %s, want True, False or slab_debug letters such as \"FZPU\"", v.Type())
			}},
		boolKey("freelist_random", "CONFIG_SLAB_FREELIST_RANDOM: shuffle each new slab's freelist (deterministic from seed)",
			func(c *allocator.Config) *bool { return &c.FreelistRandom }),
		boolKey("freelist_hardened", "CONFIG_SLAB_FREELIST_HARDENED: store free pointers obfuscated with a per-cache key (deterministic from seed)",
			func(c *allocator.Config) *bool { return &c.FreelistHardened }),
		{Name: "seed", Doc: "seed of the freelist shuffles and hardening keys, an int >= 0",
			Set: func(s *Settings, v starlark.Value) error {
				var n uint64
				if err := starlark.AsInt(v, &n); err != nil {
					return fmt.Errorf("got %s, want an int >= 0", v)
				}
				s.Config.Seed = n
				return nil
			}},
	}
}

// slabPointer makes the Pointer for a new kmalloc or slab allocation at
// addr of size bytes: it looks the object up, so the pointer knows its
// cache and ksize (or its pages, for a large kmalloc).
func slabPointer(c *Call, addr allocator.Addr, size uint64, gfp allocator.GFP) (*Pointer, error) {
	p := &Pointer{Addr: addr, Size: size, Order: -1, PFN: -1, GFP: gfp, Step: c.Step()}
	if addr == allocator.ZeroSizePtr {
		p.Owner = "ZERO_SIZE_PTR"
		return p, nil
	}
	m := c.Machine()
	info, ok := m.ObjectAt(addr)
	if !ok || !info.Allocated() || info.Start != addr {
		return nil, fmt.Errorf("internal error: %s returned %v, where no allocated object starts", c.Name, addr)
	}
	pfn, _ := m.AddrPFN(addr)
	p.PFN, p.Ksize = int64(pfn), info.Ksize
	if info.Large {
		p.Owner = allocator.OwnerLargeKmalloc.String()
		p.Order = bits.Len64(info.Ksize/m.PageSize()) - 1
	} else {
		p.Owner, p.Cache = info.Cache, info.Cache
	}
	return p, nil
}

// freeResult is the result of kfree or kmem_cache_free of o after the
// allocator returned err: None when o is NULL and nothing was freed,
// else as freeResult.
func (o objectArg) freeResult(c *Call, err error) (starlark.Value, error) {
	if err == nil && o.addr == 0 {
		return starlark.None, nil
	}
	return freeResult(c, o.ptr, err)
}

// staleObject reports a freed pointer whose address a newer allocation
// now holds, which LIFO freelists make the common case: freeing or
// reallocating it would act on the new owner's object (the kernel cannot
// tell), so the call is reported and not made.
func staleObject(c *Call, p *Pointer, verb string) bool {
	if p == nil || p.Live() {
		return false
	}
	m := c.Machine()
	info, ok := m.ObjectAt(p.Addr)
	if !ok || !info.Allocated() || info.Start != p.Addr {
		return false
	}
	owner := fmt.Sprintf("object %d of %s", info.Index, info.Cache)
	if info.Large {
		owner = "a large kmalloc"
	}
	m.Misuse(p.Addr, fmt.Sprintf("%s: %v was freed in step %d and has been handed out again (%s, %d bytes); the kernel could not tell and would act on the new owner's object; not %s",
		c.Name, p.Addr, p.FreedStep(), owner, info.Size, verb))
	return true
}

func builtinKmalloc(c *Call) (starlark.Value, error) {
	size, gfp, err := unpackAlloc(c)
	if err != nil {
		return nil, err
	}
	addr, err := c.Machine().Kmalloc(size, gfp)
	if err != nil {
		return allocFailed(c, err)
	}
	return slabPointer(c, addr, size, gfp)
}

// builtinKfree frees a kmalloc or slab object. kfree(None) and
// kfree(ZERO_SIZE_PTR) do nothing but the tracepoint, as in the kernel.
func builtinKfree(c *Call) (starlark.Value, error) {
	var o objectArg
	if err := c.Unpack("p", &o); err != nil {
		return nil, err
	}
	c.SetOp(fmt.Sprintf("kfree(%v)", o.v))
	if staleObject(c, o.ptr, "freed") {
		return starlark.False, nil
	}
	return o.freeResult(c, c.Machine().Kfree(o.addr))
}

// builtinKsize is ksize(p). As in the kernel it checks the first byte
// with KASAN (a freed object is reported and gives 0) and then unpoisons
// the whole object: the caller may use every byte, so p.size becomes
// ksize, and with slab_debug=U a kmalloc object gives up its red zone.
func builtinKsize(c *Call) (starlark.Value, error) {
	var o objectArg
	if err := c.Unpack("p", &o); err != nil {
		return nil, err
	}
	c.SetOp(fmt.Sprintf("ksize(%v)", o.v))
	m := c.Machine()
	if o.ptr != nil && !o.ptr.Live() && !o.addr.ZeroOrNull() {
		kind := "use-after-free"
		if o.ptr.Cache != "" {
			kind = "slab-use-after-free"
		}
		m.Misuse(o.addr, fmt.Sprintf("BUG: KASAN: %s in ksize: Read of size 1 at addr %x: the object was freed in step %d; ksize returns 0",
			kind, uint64(o.addr), o.ptr.FreedStep()))
		return starlark.MakeInt(0), nil
	}
	n := m.Ksize(o.addr)
	if o.ptr != nil && n > 0 {
		o.ptr.Size, o.ptr.Ksize = n, n
	}
	return starlark.MakeUint64(n), nil
}

// builtinKrealloc is krealloc. In place it returns p itself with its size
// updated; after a move it marks p freed and returns a new Pointer. Size 0
// frees p and returns ZERO_SIZE_PTR. A failure or a refused p returns None
// with p untouched; the allocator records why.
func builtinKrealloc(c *Call) (starlark.Value, error) {
	a, err := unpackRealloc(c, staleObject)
	if err != nil {
		return nil, err
	}
	if a.stale {
		return null(c)
	}
	addr, err := c.Machine().Krealloc(a.old, a.size, a.gfp)
	switch {
	case err != nil:
		return allocFailed(c, err)
	case a.size == 0:
		a.freeOld(c)
		return slabPointer(c, addr, 0, a.gfp)
	case a.p != nil && addr == a.old && !a.old.ZeroOrNull():
		// kasan_krealloc() poisons precisely again: the new size is the bound.
		a.p.Size = a.size
		return a.p, nil
	}
	a.freeOld(c)
	return slabPointer(c, addr, a.size, a.gfp)
}

func builtinKmallocSizeRoundup(c *Call) (starlark.Value, error) {
	var n sizeArg
	if err := c.Unpack("n", &n); err != nil {
		return nil, err
	}
	return starlark.MakeUint64(c.Machine().KmallocSizeRoundup(n.v)), nil
}

// Cache is a kmem_cache in Starlark, from kmem_cache_create or
// kmalloc_cache. It prints as its name, compares by identity, and has its
// geometry as attributes: object_size, size, align, order, objects (per
// slab), pages_per_slab, min_partial, cpu_partial_slabs, offset (of the
// free pointer), inuse, red_left_pad, flags, kmalloc, and live (not
// destroyed).
type Cache struct {
	m    *allocator.Machine   // the machine the cache belongs to
	kc   *allocator.KmemCache // the cache
	info allocator.CacheInfo  // its geometry, which never changes (Slabs left out)
	dead int                  // the step that destroyed it; 0 while it is live
}

var (
	_ starlark.Value      = (*Cache)(nil)
	_ starlark.HasAttrs   = (*Cache)(nil)
	_ starlark.Comparable = (*Cache)(nil)
)

// newCache wraps kc, a cache of m.
func newCache(m *allocator.Machine, kc *allocator.KmemCache) *Cache {
	return &Cache{m: m, kc: kc, info: kc.Geometry()}
}

// String returns the cache name.
func (k *Cache) String() string { return k.kc.Name() }

// Type returns "kmem_cache".
func (k *Cache) Type() string { return "kmem_cache" }

// Freeze does nothing: a Cache's fields do not change from Starlark.
func (k *Cache) Freeze() {}

// Truth is always true: a failed kmem_cache_create is None.
func (k *Cache) Truth() starlark.Bool { return true }

// Hash hashes the name.
func (k *Cache) Hash() (uint32, error) { return starlark.String(k.kc.Name()).Hash() }

// CompareSameType supports == and != (the same cache).
func (k *Cache) CompareSameType(op syntax.Token, y starlark.Value, depth int) (bool, error) {
	same := k.kc == y.(*Cache).kc
	switch op {
	case syntax.EQL:
		return same, nil
	case syntax.NEQ:
		return !same, nil
	}
	return false, fmt.Errorf("kmem_cache %s %s: caches have no order", k, op)
}

// Live reports whether the cache has not been destroyed.
func (k *Cache) Live() bool { return k.m.Cache(k.kc.Name()) == k.kc }

// AttrNames lists the attributes, in a new slice.
func (k *Cache) AttrNames() []string {
	return []string{"align", "cpu_partial_slabs", "flags", "inuse", "kmalloc", "live", "min_partial", "name",
		"object_size", "objects", "offset", "order", "pages_per_slab", "red_left_pad", "size"}
}

// Attr returns an attribute.
func (k *Cache) Attr(name string) (starlark.Value, error) {
	i := &k.info
	switch name {
	case "name":
		return starlark.String(i.Name), nil
	case "object_size":
		return starlark.MakeUint64(i.ObjectSize), nil
	case "size":
		return starlark.MakeUint64(i.Size), nil
	case "align":
		return starlark.MakeUint64(i.Align), nil
	case "order":
		return starlark.MakeInt(i.Order), nil
	case "objects":
		return starlark.MakeInt(i.ObjectsPerSlab), nil
	case "pages_per_slab":
		return starlark.MakeInt(1 << i.Order), nil
	case "min_partial":
		return starlark.MakeInt(i.MinPartial), nil
	case "cpu_partial_slabs":
		return starlark.MakeInt(i.CPUPartialSlabs), nil
	case "offset":
		return starlark.MakeUint64(i.Offset), nil
	case "inuse":
		return starlark.MakeUint64(i.Inuse), nil
	case "red_left_pad":
		return starlark.MakeUint64(i.RedLeftPad), nil
	case "flags":
		return starlark.String(i.Flags.String()), nil
	case "kmalloc":
		return starlark.Bool(i.Kmalloc), nil
	case "live":
		return starlark.Bool(k.Live()), nil
	}
	return nil, nil
}

// deadCache reports use of a destroyed cache, which in the kernel is a use
// after free of the struct kmem_cache.
func deadCache(c *Call, k *Cache, result string) bool {
	if k.Live() {
		return false
	}
	when := ""
	if k.dead > 0 {
		when = fmt.Sprintf(" in step %d", k.dead)
	}
	c.Machine().Misuse(0, fmt.Sprintf("%s(%s): the cache was destroyed%s; the kernel would use its freed struct kmem_cache; %s",
		c.Name, k, when, result))
	return true
}

func builtinKmemCacheCreate(c *Call) (starlark.Value, error) {
	var name string
	var size, align sizeArg
	var flags slabFlagsArg
	if err := c.Unpack("name", &name, "size", &size, "align?", &align, "flags?", &flags); err != nil {
		return nil, err
	}
	f := flags.f
	c.SetOp(fmt.Sprintf("kmem_cache_create(%q, %d, %d, %v)", name, size.v, align.v, f))
	m := c.Machine()
	kc, err := m.KmemCacheCreate(name, size.v, align.v, f)
	if reported(err) {
		m.Misuse(0, fmt.Sprintf("kmem_cache_create(%q): %v; NULL", name, err))
		return null(c)
	}
	if err != nil {
		return nil, c.Errorf("%w", err)
	}
	return newCache(m, kc), nil
}

func builtinKmemCacheAlloc(c *Call) (starlark.Value, error) {
	var ca cacheArg
	flags := gfpArg{allocator.GFPKernel}
	if err := c.Unpack("cache", &ca, "flags?", &flags); err != nil {
		return nil, err
	}
	k := ca.k
	c.SetOp(fmt.Sprintf("kmem_cache_alloc(%s, %v)", k, flags.v))
	if deadCache(c, k, "NULL") {
		return null(c)
	}
	addr, err := c.Machine().KmemCacheAlloc(k.kc, flags.v)
	if err != nil {
		return allocFailed(c, err)
	}
	return slabPointer(c, addr, k.kc.ObjectSize(), flags.v)
}

func builtinKmemCacheFree(c *Call) (starlark.Value, error) {
	var ca cacheArg
	var o objectArg
	if err := c.Unpack("cache", &ca, "p", &o); err != nil {
		return nil, err
	}
	k := ca.k
	c.SetOp(fmt.Sprintf("kmem_cache_free(%s, %v)", k, o.v))
	if deadCache(c, k, "not freed") || staleObject(c, o.ptr, "freed") {
		return starlark.False, nil
	}
	return o.freeResult(c, c.Machine().KmemCacheFree(k.kc, o.addr))
}

// builtinKmemCacheDestroy destroys a cache. kmem_cache_destroy(None) does
// nothing, as with NULL. A cache with objects left is reported by the
// allocator in the kernel's words and is gone all the same.
func builtinKmemCacheDestroy(c *Call) (starlark.Value, error) {
	ca := cacheArg{orNone: true}
	if err := c.Unpack("cache", &ca); err != nil {
		return nil, err
	}
	k := ca.k
	if k == nil {
		c.SetOp("kmem_cache_destroy(None)")
		return starlark.None, nil
	}
	c.SetOp(fmt.Sprintf("kmem_cache_destroy(%v)", k))
	m := c.Machine()
	if k.info.Kmalloc {
		m.Misuse(0, fmt.Sprintf("kmem_cache_destroy(%s): the kmalloc caches live as long as the machine; not destroyed", k))
		return starlark.False, nil
	}
	if deadCache(c, k, "not destroyed again") {
		return starlark.False, nil
	}
	err := m.KmemCacheDestroy(k.kc)
	if !k.Live() {
		k.dead = c.Step()
	}
	return freeResult(c, nil, err)
}

func builtinKmallocCache(c *Call) (starlark.Value, error) {
	var size sizeArg
	flags := gfpArg{allocator.GFPKernel}
	if err := c.Unpack("size", &size, "flags?", &flags); err != nil {
		return nil, err
	}
	m := c.Machine()
	kc := m.KmallocCacheFor(size.v, flags.v)
	if kc == nil {
		return starlark.None, nil
	}
	return newCache(m, kc), nil
}

func builtinSlabinfo(c *Call) (starlark.Value, error) {
	if err := c.Unpack(); err != nil {
		return nil, err
	}
	rows := c.Machine().SlabinfoRows()
	out := make([]starlark.Value, len(rows))
	for i, r := range rows {
		d := starlark.NewDict(8)
		for _, kv := range []struct {
			k string
			v starlark.Value
		}{
			{"name", starlark.String(r.Name)},
			{"active_objs", starlark.MakeUint64(r.ActiveObjs)},
			{"num_objs", starlark.MakeUint64(r.NumObjs)},
			{"objsize", starlark.MakeUint64(r.ObjSize)},
			{"objperslab", starlark.MakeInt(r.ObjPerSlab)},
			{"pagesperslab", starlark.MakeInt(r.PagesPerSlab)},
			{"active_slabs", starlark.MakeUint64(r.Slabs)},
			{"num_slabs", starlark.MakeUint64(r.Slabs)},
		} {
			if err := d.SetKey(starlark.String(kv.k), kv.v); err != nil {
				return nil, err
			}
		}
		out[i] = d
	}
	return starlark.NewList(out), nil
}

// builtinSlabs lists a cache's slabs in the order Machine.Caches gives
// them: per CPU the cpu slab and the per-CPU partial list, then the node
// partial list in order, then the full slabs.
func builtinSlabs(c *Call) (starlark.Value, error) {
	var ca cacheArg
	if err := c.Unpack("cache", &ca); err != nil {
		return nil, err
	}
	k := ca.k
	var out []starlark.Value
	for _, ci := range c.Machine().Caches() {
		if ci.Name != k.info.Name || ci.Destroyed != !k.Live() {
			continue
		}
		for _, sl := range ci.Slabs {
			var cpu starlark.Value = starlark.None
			if sl.CPU >= 0 {
				cpu = starlark.MakeInt(sl.CPU)
			}
			out = append(out, starlarkstruct.FromStringDict(starlark.String("slab"), starlark.StringDict{
				"pfn":          starlark.MakeUint64(sl.PFN),
				"addr":         starlark.MakeUint64(uint64(sl.Addr)),
				"order":        starlark.MakeInt(sl.Order),
				"objects":      starlark.MakeInt(sl.Objects),
				"inuse":        starlark.MakeInt(sl.Inuse),
				"used":         starlark.MakeInt(sl.Objects - len(sl.Free) - len(sl.CPUFree)),
				"list":         starlark.String(sl.List.String()),
				"cpu":          cpu,
				"freelist":     intList(sl.Free),
				"cpu_freelist": intList(sl.CPUFree),
			}))
		}
	}
	return starlark.NewList(out), nil
}

func intList(xs []int) *starlark.List {
	out := make([]starlark.Value, len(xs))
	for i, x := range xs {
		out[i] = starlark.MakeInt(x)
	}
	return starlark.NewList(out)
}

func builtinObjectInfo(c *Call) (starlark.Value, error) {
	var o objectArg
	if err := c.Unpack("p", &o); err != nil {
		return nil, err
	}
	info, ok := c.Machine().ObjectAt(o.addr)
	if !ok {
		return starlark.None, nil
	}
	var cache, index starlark.Value = starlark.None, starlark.None
	if info.Cache != "" {
		cache = starlark.String(info.Cache)
	}
	if !info.Large && info.Index >= 0 {
		index = starlark.MakeInt(info.Index)
	}
	state := info.State.String()
	if info.Index < 0 {
		state = "none"
	}
	return starlarkstruct.FromStringDict(starlark.String("object"), starlark.StringDict{
		"cache":    cache,
		"large":    starlark.Bool(info.Large),
		"start":    starlark.MakeUint64(uint64(info.Start)),
		"offset":   starlark.MakeUint64(info.Offset),
		"size":     starlark.MakeUint64(info.Size),
		"ksize":    starlark.MakeUint64(info.Ksize),
		"slab_pfn": starlark.MakeUint64(info.SlabPFN),
		"index":    index,
		"state":    starlark.String(state),
		"region":   starlark.String(info.Region),
	}), nil
}

func builtinSlabErrors(c *Call) (starlark.Value, error) {
	if err := c.Unpack(); err != nil {
		return nil, err
	}
	return starlark.MakeInt(c.Machine().SlabErrors()), nil
}

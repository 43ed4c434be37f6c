package scripts

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/allocviz/allocviz/allocator"
	"github.com/allocviz/allocviz/allocator/allocatortest"
)

func TestKmallocReturnsPointerWithCacheAndKsize(t *testing.T) {
	s := runScript(t, `
p = kmalloc(100)
check(type(p) == "pointer" and str(p) == "0xffff888001000000", "a direct-map pointer")
check(p.size == 100 and p.ksize == 128 and p.cache == "kmalloc-128" and p.owner == "kmalloc-128", "size, ksize, cache")
check(p.order == -1 and p.pfn == 0x1000 and p.gfp == GFP_KERNEL and p.step == 1 and p.live, "fields")
for n in [1, 8, 9, 16, 17, 32, 33, 64, 65, 96, 97, 128, 129, 192, 193, 256, 257, 512, 1000, 2048, 4096, 8192]:
    q = kmalloc(n)
    c = kmalloc_cache(n)
    check(q.cache == c.name and q.ksize == c.size and q.ksize == kmalloc_size_roundup(n), "kmalloc(%d) uses %s" % (n, c))
check(kmalloc(65).cache == "kmalloc-96" and kmalloc(129).cache == "kmalloc-192", "the 96 and 192 caches")
check(kmalloc(64, GFP_KERNEL | __GFP_ACCOUNT).cache == "kmalloc-cg-64", "__GFP_ACCOUNT")
check(kmalloc(64, GFP_KERNEL | __GFP_RECLAIMABLE).cache == "kmalloc-rcl-64", "__GFP_RECLAIMABLE")
check(kmalloc(64, GFP_KERNEL | GFP_DMA | __GFP_ACCOUNT).cache == "dma-kmalloc-64", "__GFP_DMA wins")
z = kmalloc(0)
check(str(z) == "0x10" and z.addr == ZERO_SIZE_PTR and z.size == 0 and z.ksize == 0, "kmalloc(0) is ZERO_SIZE_PTR")
check(z.owner == "ZERO_SIZE_PTR" and z.cache == None and z.pfn == None, "which no cache owns")
big = kmalloc(8193)
check(big.owner == "large kmalloc" and big.cache == None and big.order == 2 and big.ksize == 16384, "a large kmalloc")
check(big.pfn != None and big.addr % 16384 == 0, "aligned to its order")
z = kmalloc(64, GFP_KERNEL | __GFP_ZERO)
check(read(z, 0, 64) == bytes([0] * 64), "__GFP_ZERO")
`)
	noFailures(t, s)
	st := s.Step(1)
	if st.Op != "kmalloc(100, GFP_KERNEL)" || st.Result != "0xffff888001000000" || st.Call != "kmalloc(100)" {
		t.Errorf("step 1 = %+v", st)
	}
	e, ok := findEvent(stepEvents(s, 1), allocator.EvKmalloc)
	if !ok || e.Size() != 100 || e.Bytes() != 128 || e.Cache() != "kmalloc-128" {
		t.Errorf("kmalloc event %+v", e)
	}
	for _, st := range allSteps(s) {
		if strings.HasPrefix(st.Op, "kmalloc(0,") && st.Result != "0x10" {
			t.Errorf("kmalloc(0) step %+v", st)
		}
	}
	if err := s.Machine().CheckInvariants(); err != nil {
		t.Error(err)
	}
}

func TestKmallocFailureReturnsNone(t *testing.T) {
	s := runScript(t, `
config(ram="2M")
check(kmalloc(4 << 20) == None, "more than RAM")
check(kmalloc((4 << 20) + 1, GFP_KERNEL | __GFP_NOWARN) == None, "above KMALLOC_MAX_SIZE")
check(kmalloc(-1) == None, "a negative size is a huge size_t")
`)
	noFailures(t, s)
	for _, n := range []int{1, 3, 5} {
		if st := s.Step(n); st.Result != "NULL" || st.Err != "" {
			t.Errorf("step %d = %+v, want Result NULL", n, st)
		}
	}
	wantLogEvent(t, s, allocator.EvKmalloc, "large kmalloc")
	wantLogEvent(t, s, allocator.EvKmalloc, "above KMALLOC_MAX_SIZE")
	if _, ok := findEvent(stepEvents(s, 1), allocator.EvWarn); !ok {
		t.Error("a failed large kmalloc did not warn")
	}
	if e, ok := findEvent(stepEvents(s, 3), allocator.EvWarn); ok {
		t.Errorf("__GFP_NOWARN still warned: %q", e.Text())
	}
}

func TestKfree(t *testing.T) {
	s := runScript(t, `
b = buddyinfo()
p = kmalloc(64)
check(kfree(p) == True and not p.live, "freed")
q = kmalloc(64)
check(q == p and q.live, "LIFO: the freed slot is the next one handed out")
check(kfree(q), "and frees again")
big = kmalloc(5 * 4096)
check(kfree(big) and not big.live, "a large kmalloc frees its pages")
check(kfree(None) == None, "kfree(NULL) does nothing")
z = kmalloc(0)
check(kfree(z) == True and kfree(z) == True, "kfree(ZERO_SIZE_PTR) does nothing, twice")
`)
	noFailures(t, s)
	seen := 0
	for _, st := range allSteps(s) {
		events := allocatortest.Events(s.Log())[st.First : st.Last+1]
		switch st.Op {
		case "kfree(None)":
			seen++
			if got := kinds(events); got != "step kfree" {
				t.Errorf("kfree(None) events: %s", got)
			}
		case "kfree(0xffff888001008000)":
			seen++
			if e, ok := findEvent(events, allocator.EvPageFree); !ok || e.Owner() != allocator.OwnerLargeKmalloc || e.Order() != 3 {
				t.Errorf("large kfree: %+v", e)
			}
		}
	}
	if seen != 2 {
		t.Errorf("found %d of the 2 kfree steps looked for", seen)
	}
	wantLogEvent(t, s, allocator.EvObjFree, "fastpath")
	if err := s.Machine().CheckInvariants(); err != nil {
		t.Error(err)
	}
}

func TestKfreeMisuseIsReportedNotFatal(t *testing.T) {
	s := runScript(t, `
p = kmalloc(64)
q = kmalloc(64)
check(kfree(p), "freed")
check(kfree(p) == False, "a double free is refused")
r = kmalloc(64)
check(r == p, "p's slot is handed out again")
check(kfree(p) == False and r.live, "freeing the stale pointer would free r: refused")
check(krealloc(p, 10) == None and r.live, "so is reallocating it")
pg = alloc_pages(0)
check(kfree(pg) == False and pg.live, "a page from alloc_pages is no kmalloc object")
v = vmalloc(100)
check(kfree(v) == False and v.live, "nor is vmalloc memory")
check(kfree(q.addr + 8) == False and q.live, "an address inside an object is refused")
check(kfree(q.addr), "an address of an object frees it")
`)
	noFailures(t, s)
	wantLogEvent(t, s, allocator.EvSlubReport, "double free of 0xffff888001000000: object 0 of kmalloc-64 is already free")
	wantLogEvent(t, s, allocator.EvMisuse, "kfree: 0xffff888001000000 was freed in step 3 and has been handed out again (object 0 of kmalloc-64, 64 bytes)")
	wantLogEvent(t, s, allocator.EvMisuse, "krealloc: 0xffff888001000000 was freed in step 3")
	wantLogEvent(t, s, allocator.EvBadFree, "Not a kmalloc allocation")
	wantLogEvent(t, s, allocator.EvBadFree, "not a direct-map address of RAM")
	wantLogEvent(t, s, allocator.EvSlubReport, "not the start of an object of kmalloc-64")
	for _, st := range allSteps(s) {
		if st.Err != "" {
			t.Errorf("step %+v", st)
		}
	}
	if err := s.Machine().CheckInvariants(); err != nil {
		t.Error(err)
	}
	for _, tc := range []struct{ src, want string }{
		{`kfree("p")`, "kfree: for parameter p: got string, want pointer or address"},
		{`kfree(-1)`, "kfree: for parameter p: address -1 is not a 64-bit address"},
		{`krealloc(1, 2)`, "krealloc: for parameter p: got int, want pointer"},
		{`kmalloc("1")`, "kmalloc: for parameter size: got string, want int"},
	} {
		if _, err := s.Exec(tc.src); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.src, err, tc.want)
		}
	}
}

func TestKsize(t *testing.T) {
	s := runScript(t, `
p = kmalloc(100)
check(write(p, 100, "x") == False, "bytes past the request are out of bounds")
check(ksize(p) == 128, "ksize is the bucket")
check(p.size == 128 and write(p, 100, "x"), "after ksize() the whole bucket is usable, as in the kernel")
check(ksize(None) == 0 and ksize(kmalloc(0)) == 0, "NULL and ZERO_SIZE_PTR")
check(ksize(alloc_pages(0)) == 0, "a page from alloc_pages is no kmalloc object")
big = kmalloc(9000)
check(ksize(big) == 16384, "a large kmalloc: its pages")
kfree(p)
check(ksize(p) == 0, "a freed object: KASAN reports, ksize gives 0")
`)
	noFailures(t, s)
	for _, st := range allSteps(s) {
		if strings.HasPrefix(st.Op, "ksize(0xffff888001000000)") && st.Result != "128" && st.Result != "0" {
			t.Errorf("ksize step %+v", st)
		}
	}
	wantLogEvent(t, s, allocator.EvMisuse, "BUG: KASAN: slab-use-after-free in ksize")
}

func TestKmallocKASANRedzone(t *testing.T) {
	s := runScript(t, `
p = kmalloc(100)
check(write(p, 0, bytes([0] * 100)), "inside the request")
check(write(p, 98, "abcd") == False, "crossing into [size, ksize) is refused")
check(read(p, 127, 1) == None, "the last byte of the bucket too")
check(write(p, 128, "x") == False, "and the next object")
check(write(p, 100, "abc", unchecked=True), "unchecked=True writes the spare bytes, as a kernel without KASAN would")
check(read(p, 100, 3, unchecked=True) == b"abc", "they are real memory")
big = kmalloc(9000)
check(write(big, 9000, "x") == False, "a large kmalloc's spare bytes too")
kfree(p)
check(read(p, 0, 1) == None, "use after free")
`)
	noFailures(t, s)
	wantLogEvent(t, s, allocator.EvMisuse, "BUG: KASAN: slab-out-of-bounds in write: Write of size 4 at addr ffff888001000062: located 98 bytes inside of allocated 100-byte region [ffff888001000000, ffff888001000064); bytes 100..127 of the kmalloc-128 object (ksize 128) are beyond the request")
	wantLogEvent(t, s, allocator.EvMisuse, "located 27 bytes to the right of allocated 100-byte region")
	wantLogEvent(t, s, allocator.EvMisuse, "BUG: KASAN: slab-out-of-bounds in write: Write of size 1 at addr ffff888001000080 runs 29 bytes past the end")
	wantLogEvent(t, s, allocator.EvMisuse, "bytes 9000..16383 of the large kmalloc object (ksize 16384)")
	wantLogEvent(t, s, allocator.EvMisuse, "BUG: KASAN: slab-use-after-free in read")
}

func TestKrealloc(t *testing.T) {
	for _, tc := range []struct {
		profile string
		want    []allocator.Decision
	}{
		{"6.18", nil},
		{"6.12", nil},
	} {
		t.Run(tc.profile, func(t *testing.T) {
			s := runScript(t, fmt.Sprintf("config(profile=%q)\n", tc.profile)+`
p = kmalloc(20)
fill(p, 0x5a)
q = krealloc(p, 30)
check(q == p and p.size == 30 and p.live, "30 <= ksize 32: in place, the same pointer, its size updated")
check(write(p, 25, "x"), "the new size is usable")
q = krealloc(p, 10)
check(q == p and p.size == 10 and write(p, 10, "x") == False, "shrunk in place: KASAN guards the new size")
r = krealloc(p, 33)
check(r != p and not p.live and r.live and r.size == 33 and r.cache == "kmalloc-64", "33 > 32: moved to kmalloc-64")
check(read(r, 0, 10) == bytes([0x5a] * 10), "the old bytes were copied")
check(r.step > p.step, "a new pointer from this step")
f = krealloc(r, 1 << 40)
check(f == None and r.live, "failure: NULL, r untouched")
z = krealloc(r, 0)
check(str(z) == "0x10" and not r.live, "size 0 frees and returns ZERO_SIZE_PTR")
n = krealloc(None, 100)
check(n.cache == "kmalloc-128" and n.size == 100, "krealloc(NULL, n) is kmalloc(n)")
n2 = krealloc(z, 8)
check(n2.cache == "kmalloc-8", "krealloc(ZERO_SIZE_PTR, n) too")
`)
			noFailures(t, s)
			var got []allocator.Decision
			for _, e := range eventsOf(s, allocator.EvRealloc) {
				got = append(got, ri(e).Decision)
			}
			want := []allocator.Decision{allocator.DecisionGrownInPlace, allocator.DecisionShrunkInPlace, allocator.DecisionMoved,
				allocator.DecisionFailed, allocator.DecisionFreed, allocator.DecisionNew, allocator.DecisionNew}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("decisions %v, want %v", got, want)
			}
			if err := s.Machine().CheckInvariants(); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestKmemCache(t *testing.T) {
	s := runScript(t, `
c = kmem_cache_create("thing", 40, 0, SLAB_HWCACHE_ALIGN)
check(type(c) == "kmem_cache" and str(c) == "thing" and c.name == "thing" and c.live, "a cache")
check(c.object_size == 40 and c.size == 64 and c.align == 64, "SLAB_HWCACHE_ALIGN rounds 40 up to a 64-byte line")
check(c.objects == 64 and c.order == 0 and c.pages_per_slab == 1 and c.offset == 16, "geometry")
check(c.min_partial == 5 and c.flags == "SLAB_HWCACHE_ALIGN" and not c.kmalloc, "min_partial, flags")
check(c == c and c != kmalloc_cache(64) and kmalloc_cache(64) == kmalloc_cache(64), "identity")
o = kmem_cache_alloc(c)
check(o.cache == "thing" and o.size == 40 and o.ksize == 64, "an object")
check(kmem_cache_free(kmalloc_cache(64), o) == False and o.live, "freeing into the wrong cache is refused")
check(kmem_cache_free(c, o) and not o.live, "freed")
check(kmem_cache_free(c, o) == False, "twice is refused")
check(kmem_cache_free(c, None) == None, "NULL")
check(kmem_cache_destroy(c) and not c.live, "an empty cache is destroyed")
check(kmem_cache_alloc(c) == None, "allocating from a destroyed cache is refused")
check(kmem_cache_destroy(c) == False, "destroying it twice too")
d = kmem_cache_create("busy", 100)
x = kmem_cache_alloc(d)
check(kmem_cache_destroy(d) == False and not d.live, "a cache with objects left is reported, and gone")
check(kmem_cache_free(d, x) == False, "its struct kmem_cache is gone")
check(kfree(x), "but its leaked objects can still be kfree'd")
check(kmem_cache_create("thing", 40) != None, "the name is free again")
check(kmem_cache_create("thing", 40) == None, "but not twice")
check(kmem_cache_create("odd", 40, 3) == None, "an alignment that is no power of two")
check(kmem_cache_destroy(kmalloc_cache(8)) == False, "the kmalloc caches stay")
check(kmem_cache_destroy(None) == None, "NULL")
`)
	noFailures(t, s)
	for _, text := range []string{
		"allocviz: kmem_cache_free(kmalloc-64, 0xffff888001000000): the object is from thing",
		"allocviz: double free of 0xffff888001000000: object 0 of thing is already free",
		"kmem_cache_alloc(thing): the cache was destroyed in step ",
		"; the kernel would use its freed struct kmem_cache; not destroyed again",
		"busy removed from the cache list with 1 objects in 1 slabs still allocated",
		"kmem_cache_create(\"thing\"): bad size: kmem_cache of name 'thing' already exists; NULL",
		"alignment 3 is not a power of two",
		"kmem_cache_destroy(kmalloc-8): the kmalloc caches live as long as the machine",
		"kmem_cache_destroy busy: Slab cache still has objects",
	} {
		found := false
		for _, e := range allocatortest.Events(s.Log()) {
			found = found || strings.Contains(e.Text(), text)
		}
		if !found {
			t.Errorf("no event says %q", text)
		}
	}
	if st := s.Step(1); st.Op != `kmem_cache_create("thing", 40, 0, SLAB_HWCACHE_ALIGN)` || st.Result != "thing" {
		t.Errorf("step 1 %+v", st)
	}
	for _, r := range s.Machine().SlabinfoRows() {
		if r.Name == "busy" {
			t.Error("a destroyed cache is still in slabinfo")
		}
	}
	if err := s.Machine().CheckInvariants(); err != nil {
		t.Error(err)
	}
	for _, tc := range []struct{ src, want string }{
		{`kmem_cache_create("x", 8, 0, 1 << 30)`, "kmem_cache_create: for parameter flags: 0x40000000: unknown bits"},
		{`kmem_cache_alloc("thing")`, "kmem_cache_alloc: for parameter cache: got string, want kmem_cache"},
		{`kmem_cache_create(1, 8)`, "kmem_cache_create: for parameter name: got int, want string"},
		{`c < c`, "kmem_cache thing <: caches have no order"},
	} {
		if _, err := s.Exec(tc.src); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.src, err, tc.want)
		}
	}
}

func TestSlabConfig(t *testing.T) {
	s := runScript(t, `
config(debug=True, freelist_random=True, freelist_hardened=True, seed=7)
c = kmalloc_cache(64)
check(c.size > 64 and c.red_left_pad > 0, "debug enlarges the stride: red zones, tracks")
check(c.flags == "SLAB_CONSISTENCY_CHECKS|SLAB_RED_ZONE|SLAB_POISON|SLAB_STORE_USER|SLAB_KMALLOC|SLAB_OBJECT_POISON", "FZPU")
`)
	noFailures(t, s)
	cfg := s.Machine().Config()
	if cfg.SlabDebug != "FZPU" || !cfg.FreelistRandom || !cfg.FreelistHardened || cfg.Seed != 7 {
		t.Errorf("config %+v", cfg)
	}
	s = runScript(t, `config(debug="zp")`)
	if got := s.Machine().Config().SlabDebug; got != "ZP" {
		t.Errorf("debug=\"zp\" gives %q", got)
	}
	for _, tc := range []struct{ src, want string }{
		{`config(debug="X")`, `test.star:1:1: config: debug: slab_debug option 'X' unknown (allowed: F, Z, P, U, -)`},
		{`config(debug=1)`, `test.star:1:1: config: debug: got int, want True, False or slab_debug letters`},
		{`config(freelist_random=1)`, `test.star:1:1: config: freelist_random: got int, want True or False`},
		{`config(seed=-1)`, `test.star:1:1: config: seed: got -1, want an int >= 0`},
	} {
		_, err := runScriptErr(t, Options{}, tc.src+"\n")
		if !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s:\n error %q\n want %q", tc.src, err, tc.want)
		}
	}
}

// TestFreelistRandomIsSeeded checks that freelist_random shuffles a new
// slab's freelist, the same way for the same seed and differently for
// another, and that hardening changes nothing a script sees.
func TestFreelistRandomIsSeeded(t *testing.T) {
	order := func(cfg string) string {
		s := runScript(t, cfg+`
c = kmem_cache_create("t", 256)
o = kmem_cache_alloc(c)
sl = slabs(c)[0]
order = [o.addr - sl.addr] + [i * c.size for i in sl.cpu_freelist]
`)
		return s.Globals()["order"].String()
	}
	plain := order("config(seed=1)")
	if plain != order("config(freelist_hardened=True, seed=1)") {
		t.Error("hardening changed the order objects are handed out in")
	}
	if !strings.HasPrefix(plain, "[0, 256, 512, ") {
		t.Errorf("without randomisation the freelist is in address order: %s", plain)
	}
	a, b, c := order("config(freelist_random=True, seed=1)"), order("config(freelist_random=True, seed=1)"), order("config(freelist_random=True, seed=2)")
	if a == plain || a != b || a == c {
		t.Errorf("shuffled %s, again %s, other seed %s", a, b, c)
	}
}

func TestSlubLookBuiltins(t *testing.T) {
	s := runScript(t, `
c = kmem_cache_create("t", 1000)
objs = [kmem_cache_alloc(c) for i in range(c.objects + 1)]
sl = slabs(c)
check(len(sl) == 2 and sl[0].list == "cpu" and sl[0].cpu == 0 and sl[1].list == "full" and sl[1].cpu == None, "a cpu slab and a full slab")
check(sl[1].used == c.objects and sl[0].used == 1 and sl[0].inuse == c.objects, "the cpu slab's lockless freelist counts as in use")
check(len(sl[0].cpu_freelist) == c.objects - 1 and sl[0].freelist == [], "freelists")
kmem_cache_free(c, objs[0])
sl = slabs(c)
check(sl[1].list == "cpu-partial" and sl[1].cpu == 0 and sl[1].freelist == [0], "a full slab that gets an object back goes to the per-CPU partial list")
info = object_info(objs[1])
check(info.cache == "t" and info.index == 1 and info.state == "allocated" and info.region == "object" and info.size == 1000, "object_info")
check(object_info(objs[1].addr + 4).offset == 4, "an address inside")
check(object_info(objs[0]).state == "free", "a free object")
check(object_info(alloc_pages(0)) == None, "not a slab")
big = kmalloc(10000)
check(object_info(big).large and object_info(big).cache == None and object_info(big).ksize == 12288 + 4096, "a large kmalloc")
rows = {r["name"]: r for r in slabinfo()}
r = rows["t"]
check(r["num_objs"] == 2 * c.objects and r["active_slabs"] == 2 and r["objsize"] == c.size and r["objperslab"] == c.objects, "slabinfo")
check(r["active_objs"] == r["num_objs"], "free objects on cpu and per-CPU partial slabs count as active")
check(rows["kmalloc-8"]["num_objs"] == 0, "every cache, even empty")
check(slab_errors() == 0, "no SLUB debug errors")
check(kmalloc_cache(0) == None and kmalloc_cache(3 * 4096) == None, "no kmalloc cache for 0 and large sizes")
check(kmalloc_size_roundup(0) == 0 and kmalloc_size_roundup(9000) == 16384 and kmalloc_size_roundup(1 << 40) == 1 << 40, "kmalloc_size_roundup")
`)
	noFailures(t, s)
	look := map[string]bool{"slabs": true, "object_info": true, "slabinfo": true, "slab_errors": true, "kmalloc_cache": true, "kmalloc_size_roundup": true}
	for _, st := range allSteps(s) {
		name, _, _ := strings.Cut(st.Op, "(")
		if look[name] {
			t.Errorf("look-only builtin made step %+v", st)
		}
	}
	rows := s.Machine().SlabinfoRows()
	v, err := s.Exec("len(slabinfo())")
	if err != nil || v.String() != fmt.Sprint(len(rows)) {
		t.Errorf("slabinfo() has %v rows, the machine %d", v, len(rows))
	}
	// A cache from before config() belongs to the machine config() closed.
	_, se := runScriptErr(t, Options{}, "c = kmalloc_cache(64)\nconfig(ram=\"16M\")\nkmem_cache_alloc(c)\n")
	if !strings.Contains(se.Error(), "test.star:3:1: kmem_cache_alloc: cache kmalloc-64 belongs to the machine config() replaced") {
		t.Errorf("stale cache: %v", se)
	}
}

func TestSlubDebugReports(t *testing.T) {
	s := runScript(t, `
config(debug="FZPU")
p = kmalloc(20)
q = kmalloc(20)
check(read(p, 20, 12, unchecked=True) == bytes([0xcc] * 12), "the kmalloc red zone: 0xcc from the request to the object size")
check(kfree(p) and read(p, 0, 32, unchecked=True) == bytes([0x6b] * 31 + [0xa5]), "a freed object is poisoned")
check(kfree(p) == False and slab_errors() == 2, "a double free is caught: one report, one fix")
check(write(q, 20, "!!", unchecked=True), "scribble on the red zone")
check(kfree(q) == False and q.live, "the free checks the red zone: reported, restored, not freed")
check(read(q, 20, 2, unchecked=True) == bytes([0xcc] * 2), "restored")
`)
	noFailures(t, s)
	wantLogEvent(t, s, allocator.EvSlubReport, "Object already free")
	wantLogEvent(t, s, allocator.EvSlubReport, "[kmalloc Redzone overwritten]")
	wantLogEvent(t, s, allocator.EvSlubReport, "not freed")
	if err := s.Machine().CheckInvariants(); err != nil {
		t.Error(err)
	}
}

// TestSlubScriptRebuildsExactly replays a SLUB script to a middle step
// and checks the events match: caches and pointers are rebuilt by the
// replay, not carried over.
func TestSlubScriptRebuildsExactly(t *testing.T) {
	s := runScript(t, `
c = kmem_cache_create("r", 300)
ps = [kmem_cache_alloc(c) for i in range(20)]
for p in ps[::2]:
    kmem_cache_free(c, p)
q = krealloc(kmalloc(10), 100)
kmem_cache_destroy(c)
`)
	for _, k := range []int{0, 5, 25, s.NumSteps()} {
		ns, err := s.Rebuild(k)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := allocatortest.Fields(ns.Log()), allocatortest.Fields(s.Log())[:ns.Log().Len()]; !reflect.DeepEqual(got, want) {
			t.Errorf("rebuild to %d: events differ", k)
		}
		ns.Close()
	}
}

// TestSlubScenariosShowWhatTheyClaim checks that the SLUB lessons are made
// of the events they narrate, on 4 KiB and 16 KiB pages and against the
// flags a learner might pass: every lesson pins the SLUB options it needs.
func TestSlubScenariosShowWhatTheyClaim(t *testing.T) {
	run := func(t *testing.T, name string, cfg allocator.Config) *Session {
		t.Helper()
		s := runScenario(t, name, cfg)
		if err := s.Machine().CheckInvariants(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		return s
	}
	texts := func(s *Session, kind allocator.EventKind) string {
		var out []string
		for _, e := range eventsOf(s, kind) {
			out = append(out, e.Text())
		}
		return strings.Join(out, "\n")
	}
	for _, cfg := range []allocator.Config{{PageSize: 4096}, {PageSize: 16384},
		{SlabDebug: "FZPU", FreelistRandom: true, FreelistHardened: true, Seed: 9, CPUs: 1}} {
		t.Run(fmt.Sprintf("%d-%s", cfg.PageSize, cfg.SlabDebug), func(t *testing.T) {
			s := run(t, "kmalloc-sizes", cfg)
			if !strings.Contains(texts(s, allocator.EvKmalloc), "65..96 bytes use kmalloc-96") ||
				!strings.Contains(texts(s, allocator.EvKmalloc), "above KMALLOC_MAX_CACHE_SIZE") {
				t.Error("kmalloc-sizes: no kmalloc-96 rule or no large kmalloc")
			}
			for _, name := range []string{"krealloc", "krealloc-zero"} {
				s := run(t, name, cfg)
				seen := map[allocator.Decision]int{}
				zeroed := uint64(0)
				for _, e := range eventsOf(s, allocator.EvRealloc) {
					seen[ri(e).Decision]++
					zeroed += ri(e).Zeroed
				}
				if seen[allocator.DecisionMoved] == 0 || seen[allocator.DecisionGrownInPlace] == 0 || seen[allocator.DecisionShrunkInPlace] == 0 {
					t.Errorf("%s: decisions %v", name, seen)
				}
				if name == "krealloc-zero" && zeroed == 0 {
					t.Error("krealloc-zero: no krealloc zeroed a byte")
				}
			}
			s = run(t, "kfree-lifo", cfg)
			if !strings.Contains(texts(s, allocator.EvObjFree), "fastpath: pushed on the cpu's lockless freelist") {
				t.Error("kfree-lifo: no fast-path free")
			}
			s = run(t, "slab-life", cfg)
			if !strings.Contains(texts(s, allocator.EvSlabDiscard), "min_partial") || !strings.Contains(texts(s, allocator.EvSlabList), "drained to the node") {
				t.Error("slab-life: no drain to the node, or no discard by min_partial")
			}
			s = run(t, "slub-cpu", cfg)
			frees, allocs := texts(s, allocator.EvObjFree), texts(s, allocator.EvObjAlloc)
			if !strings.Contains(frees, "to the slab freelist of another cpu's cpu slab") ||
				!strings.Contains(allocs, "slowpath: cpu slab's freelist (objects freed by other paths) moved to the lockless freelist") {
				t.Error("slub-cpu: no remote free, or no refill from the cpu slab's own freelist")
			}
			s = run(t, "slub-debug", cfg)
			reports := texts(s, allocator.EvSlubReport)
			for _, want := range []string{"Object already free", "[kmalloc Redzone overwritten]", "[Poison overwritten]"} {
				if !strings.Contains(reports, want) {
					t.Errorf("slub-debug: no report of %q", want)
				}
			}
		})
	}
}

package allocator

import (
	"fmt"
	"strings"
	"testing"
)

// geometryRows is what mm/slub.c calculate_order() (6.8+) gives:
// objperslab/pagesperslab of kmalloc-8 .. kmalloc-8k per CPU class, 4 KiB
// pages, no debug (the table in docs/fidelity.md).
var geometryRows = []struct {
	cpus []int
	row  string
}{
	{[]int{1}, "512/1 256/1 128/1 64/1 42/1 32/1 21/1 16/1 8/1 8/2 8/4 8/8 4/8"},
	{[]int{2, 3, 4, 7}, "512/1 256/1 128/1 64/1 42/1 32/1 21/1 16/1 16/2 16/4 16/8 8/8 4/8"},
	{[]int{8, 15}, "512/1 256/1 128/1 64/1 42/1 32/1 21/1 32/2 32/4 32/8 16/8 8/8 4/8"},
	{[]int{16, 64, 127}, "512/1 256/1 128/1 64/1 42/1 32/1 42/2 32/2 32/4 32/8 16/8 8/8 4/8"},
	{[]int{128, 255, 256}, "512/1 256/1 128/1 64/1 42/1 64/2 42/2 64/4 64/8 32/8 16/8 8/8 4/8"},
}

var geometryCaches = []string{"8", "16", "32", "64", "96", "128", "192", "256", "512", "1k", "2k", "4k", "8k"}

func TestKmallocGeometryPerCPUClass(t *testing.T) {
	for _, g := range geometryRows {
		want := strings.Fields(g.row)
		for _, cpus := range g.cpus {
			m := newTestMachine(t, Config{CPUs: cpus, RAM: 8 * MiB})
			for i, name := range geometryCaches {
				for _, prefix := range kmallocPrefix {
					s := m.Cache(prefix + name)
					if s == nil {
						t.Fatalf("%d cpus: no cache %s%s", cpus, prefix, name)
					}
					got := fmt.Sprintf("%d/%d", s.ObjectsPerSlab(), 1<<s.Order())
					if got != want[i] {
						t.Errorf("%d cpus: %s objperslab/pagesperslab = %s, want %s (calculate_order)", cpus, s.Name(), got, want[i])
					}
				}
			}
		}
	}
}

func TestMinObjectsFromCPUCount(t *testing.T) {
	// min_objects = 4 * (fls(cpus) + 1): 1 CPU -> 8, 2-3 -> 12, 4-7 -> 16, 8-15 -> 20, 16-31 -> 24,
	// 32-63 -> 28, 64-127 -> 32, 128-255 -> 36. kmalloc-8k shows it best
	// through kmalloc-256: order = get_order(min_objects * 256).
	for _, tc := range []struct{ cpus, order int }{
		{1, 0}, {2, 0}, {3, 0}, {4, 0}, {8, 1}, {15, 1}, {16, 1}, {128, 2}, {255, 2},
	} {
		m := newTestMachine(t, Config{CPUs: tc.cpus, RAM: 8 * MiB})
		if got := m.Cache("kmalloc-256").Order(); got != tc.order {
			t.Errorf("%d cpus: kmalloc-256 order %d, want %d", tc.cpus, got, tc.order)
		}
	}
}

// TestOnePresentCPUUsesPossibleCPUs: calculate_order() uses nr_cpu_ids
// when only one CPU is present, and the present count otherwise.
func TestOnePresentCPUUsesPossibleCPUs(t *testing.T) {
	for _, tc := range []struct{ cpus, possible, order int }{
		{1, 1, 0}, {1, 8, 1}, {1, 128, 2}, {2, 128, 0}, {8, 8, 1},
	} {
		m := newTestMachine(t, Config{CPUs: tc.cpus, PossibleCPUs: tc.possible, RAM: 8 * MiB})
		if got := m.Cache("kmalloc-256").Order(); got != tc.order {
			t.Errorf("%d present, %d possible cpus: kmalloc-256 order %d, want %d", tc.cpus, tc.possible, got, tc.order)
		}
	}
	if m := newTestMachine(t, Config{CPUs: 4, PossibleCPUs: 2}); m.Config().PossibleCPUs != 4 {
		t.Errorf("possible_cpus 2 with 4 cpus became %d, want 4", m.Config().PossibleCPUs)
	}
	if _, err := NewMachine(Config{PossibleCPUs: MaxPossibleCPUs + 1}); err == nil {
		t.Error("possible_cpus above 8192 accepted")
	}
}

func TestKmallocCacheTunables(t *testing.T) {
	m := newTestMachine(t, Config{})
	for _, name := range geometryCaches {
		s := m.Cache("kmalloc-" + name)
		wantMin := 5
		if name == "4k" || name == "8k" {
			wantMin = 6
		}
		if s.minPartial != wantMin {
			t.Errorf("%s: min_partial %d, want %d", s.name, s.minPartial, wantMin)
		}
		var nr int
		switch {
		case s.size >= 4096:
			nr = 6
		case s.size >= 1024:
			nr = 24
		case s.size >= 256:
			nr = 52
		default:
			nr = 120
		}
		if want := (nr*2 + s.objects - 1) / s.objects; s.cpuPartialSlabs != want {
			t.Errorf("%s: cpu_partial_slabs %d, want DIV_ROUND_UP(%d*2, %d) = %d", s.name, s.cpuPartialSlabs, nr, s.objects, want)
		}
		if s.offset != (s.objectSize/2)&^7 {
			t.Errorf("%s: free pointer at %d, want the middle of the object", s.name, s.offset)
		}
	}
}

func TestKmallocCachesPerPageSize(t *testing.T) {
	for _, tc := range []struct {
		page      int
		largest   string
		maxCache  uint64
		maxSize   uint64
		geometry  map[string]string // objperslab/pagesperslab with 4 CPUs
		wantCount int
	}{
		{4096, "8k", 8192, 4 * MiB, map[string]string{"8": "512/1", "8k": "4/8"}, 13},
		// 16 KiB pages: kmalloc-8 fits 2048 in one page; kmalloc-32k (max
		// objects = 128K/32K = 4) needs order get_order(4*32K) = 3.
		{16384, "32k", 32768, 16 * MiB, map[string]string{"8": "2048/1", "1k": "16/1", "4k": "16/4", "32k": "4/8"}, 15},
		// 64 KiB pages: kmalloc-128k needs order 3 for 4 objects.
		{65536, "128k", 131072, 64 * MiB, map[string]string{"8": "8192/1", "4k": "16/1", "16k": "16/4", "128k": "4/8"}, 17},
	} {
		m := newTestMachine(t, Config{PageSize: tc.page, RAM: 64 * MiB})
		if m.KmallocMaxCacheSize() != tc.maxCache || m.KmallocMaxSize() != tc.maxSize {
			t.Errorf("page %d: KMALLOC_MAX_CACHE_SIZE %d KMALLOC_MAX_SIZE %d, want %d and %d", tc.page,
				m.KmallocMaxCacheSize(), m.KmallocMaxSize(), tc.maxCache, tc.maxSize)
		}
		if m.Cache("kmalloc-"+tc.largest) == nil {
			t.Errorf("page %d: no kmalloc-%s", tc.page, tc.largest)
		}
		n := 0
		for _, r := range m.SlabinfoRows() {
			if strings.HasPrefix(r.Name, "kmalloc-") && !strings.HasPrefix(r.Name, "kmalloc-cg-") && !strings.HasPrefix(r.Name, "kmalloc-rcl-") {
				n++
			}
		}
		if n != tc.wantCount {
			t.Errorf("page %d: %d kmalloc caches, want %d", tc.page, n, tc.wantCount)
		}
		for name, want := range tc.geometry {
			s := m.Cache("kmalloc-" + name)
			if got := fmt.Sprintf("%d/%d", s.ObjectsPerSlab(), 1<<s.Order()); got != want {
				t.Errorf("page %d: kmalloc-%s is %s, want %s", tc.page, name, got, want)
			}
		}
	}
}

func TestDebugLayout(t *testing.T) {
	for _, tc := range []struct {
		debug                                 string
		cache                                 string
		size, inuse, offset, redLeft, objects uint64
		ksize                                 uint64
	}{
		// No debug: the bucket, free pointer in the middle.
		{"", "kmalloc-64", 64, 64, 32, 0, 64, 64},
		// Z: a red-zone word after the object, the pointer stays inside
		// (it is not a SLAB_STORE_USER cache), a word of padding and a
		// left red zone aligned to 64.
		{"Z", "kmalloc-64", 192, 72, 32, 64, 21, 64},
		// P: the pointer moves after the object.
		{"P", "kmalloc-64", 128, 64, 64, 0, 32, 64},
		// U on a kmalloc cache: pointer inside, 2 tracks and orig_size:
		// 64 + 64 + 4 = 132, aligned to 64. ksize is s->inuse.
		{"U", "kmalloc-64", 192, 64, 32, 0, 21, 64},
		// FZPU: 72 + 8 + 64 + 4 + 8 + 64 = 220, aligned to 64.
		{"FZPU", "kmalloc-64", 256, 72, 72, 64, 16, 64},
		// 16 + 8 + 68 + 8 + 8 = 108, aligned to 8.
		{"FZPU", "kmalloc-8", 112, 16, 16, 8, 36, 8},
	} {
		m := newTestMachine(t, Config{SlabDebug: tc.debug})
		s := m.Cache(tc.cache)
		got := []uint64{s.size, s.inuse, s.offset, s.redLeftPad, uint64(s.objects), s.slabKsize()}
		want := []uint64{tc.size, tc.inuse, tc.offset, tc.redLeft, tc.objects, tc.ksize}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("slab_debug=%s %s: size/inuse/offset/red_left_pad/objects/ksize = %v, want %v", tc.debug, tc.cache, got, want)
		}
	}
}

func TestKmemCacheCreateGeometry(t *testing.T) {
	m := newTestMachine(t, Config{})
	for _, tc := range []struct {
		name        string
		size, align uint64
		flags       SlabFlags
		wantSize    uint64
		wantAlign   uint64
	}{
		{"task_thing", 100, 0, 0, 104, 8},
		{"hw20", 20, 0, SlabHWCacheAlign, 32, 32},
		{"hw100", 100, 0, SlabHWCacheAlign, 128, 64},
		{"al256", 24, 256, 0, 256, 256},
		{"one", 1, 0, 0, 8, 8},
	} {
		s, err := m.KmemCacheCreate(tc.name, tc.size, tc.align, tc.flags)
		if err != nil {
			t.Fatal(err)
		}
		if s.Size() != tc.wantSize || s.Align() != tc.wantAlign {
			t.Errorf("%s: size %d align %d, want %d and %d", tc.name, s.Size(), s.Align(), tc.wantSize, tc.wantAlign)
		}
		p, err := m.KmemCacheAlloc(s, GFPKernel)
		if err != nil {
			t.Fatal(err)
		}
		if uint64(p)%tc.wantAlign != 0 {
			t.Errorf("%s: object %v not %d-aligned", tc.name, p, tc.wantAlign)
		}
	}
	for _, bad := range []struct {
		name        string
		size, align uint64
	}{{"", 8, 0}, {"has space", 8, 0}, {"task_thing", 8, 0}, {"zero", 0, 0}, {"huge", 5 * MiB, 0}, {"odd", 8, 24}} {
		if _, err := m.KmemCacheCreate(bad.name, bad.size, bad.align, 0); err == nil {
			t.Errorf("KmemCacheCreate(%q, %d, %d) succeeded", bad.name, bad.size, bad.align)
		}
	}
	if err := m.CheckSlub(); err != nil {
		t.Fatal(err)
	}
}

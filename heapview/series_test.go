package heapview_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/allocviz/allocviz/allocator"
	"github.com/allocviz/allocviz/heapview"
	"github.com/allocviz/allocviz/scripts"
	"github.com/charmbracelet/x/exp/golden"
)

// seriesAt is what the model says, with the cursor on a step, for a
// series' value: what each series must agree with at every step.
func seriesAt(t *testing.T, hv *heapview.Model, k heapview.SeriesKey) int64 {
	t.Helper()
	// The fragmentation indexes are the kernel's for one zone: its free
	// blocks, as /proc/pagetypeinfo counts them, of every migrate type.
	var free [allocator.NrPageOrders]uint64
	if int(k.Zone) < len(hv.Zones()) {
		for o, byType := range hv.Zones()[k.Zone].NrFree {
			for _, n := range byType {
				free[o] += n
			}
		}
	}
	tot := hv.Totals()
	switch k.Kind {
	case heapview.SeriesFree:
		return int64(tot.PagesByOwner[allocator.OwnerFree] * hv.PageSize())
	case heapview.SeriesUnusable:
		return int64(allocator.UnusableFreeIndex(&free, k.Order))
	case heapview.SeriesFragmentation:
		return int64(allocator.FragmentationIndex(&free, k.Order))
	case heapview.SeriesSlab:
		return int64(tot.PagesByOwner[allocator.OwnerSlab] * hv.PageSize())
	case heapview.SeriesVmalloc:
		return int64(tot.PagesByOwner[allocator.OwnerVmalloc])
	case heapview.SeriesCache:
		var b int64
		for _, c := range hv.Caches() {
			if c.Name == k.Cache {
				b += int64(c.Slabs*c.PagesPerSlab) * int64(hv.PageSize())
			}
		}
		return b
	case heapview.SeriesMigrate:
		// What /proc/pagetypeinfo counts: the free lists of the type
		// in every zone, a block counted by its order.
		var pages int64
		for _, z := range hv.Zones() {
			for o := range z.NrFree {
				pages += int64(z.NrFree[o][k.Migrate]) << o
			}
		}
		return pages
	}
	t.Fatalf("no series kind %d", k.Kind)
	return 0
}

// TestSeriesMatchTheModelAtEveryStep checks every series of every bundled
// scenario (orders 0, 3 and 9; the top caches) against the model's own
// counters with the cursor on each step.
func TestSeriesMatchTheModelAtEveryStep(t *testing.T) {
	scs, err := scripts.Scenarios()
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range scs {
		t.Run(sc.Name, func(t *testing.T) {
			hv, _ := scenarioModel(t, sc.Name)
			keys := hv.SeriesKeys(3, 4)
			keys = append(keys, heapview.SeriesKey{Kind: heapview.SeriesUnusable, Order: 0},
				heapview.SeriesKey{Kind: heapview.SeriesFragmentation, Order: 9})
			series := make([]heapview.Series, len(keys))
			for i, k := range keys {
				if series[i], err = hv.Series(k); err != nil {
					t.Fatal(err)
				}
				if len(series[i].Values) != hv.Steps()+1 {
					t.Fatalf("%s: %d values for steps 0..%d", series[i].Name, len(series[i].Values), hv.Steps())
				}
			}
			stride := max(1, hv.Steps()/400) // trace-ls has thousands of steps
			for st := 0; st <= hv.Steps(); st += stride {
				if err := hv.Seek(st); err != nil {
					t.Fatal(err)
				}
				for i, k := range keys {
					if got, want := series[i].Values[st], seriesAt(t, hv, k); got != want {
						t.Fatalf("step %d, %s: %d, the model says %d", st, series[i].Name, got, want)
					}
				}
			}
		})
	}
}

// TestSeriesFollowALiveSession takes the events in step by step, as the
// interface does, and gets the series New makes from the whole log.
func TestSeriesFollowALiveSession(t *testing.T) {
	s, err := scripts.New(scripts.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	live, err := heapview.New(s.Log())
	if err != nil {
		t.Fatal(err)
	}
	var cache heapview.SeriesKey
	for i, line := range []string{
		"c = kmem_cache_create('blob', 700)",
		"a = [kmem_cache_alloc(c) for i in range(40)]",
		"p = [alloc_pages(0) for i in range(9)]",
		"free_pages(p[3], 0)",
		"v = vmalloc(5 * 4096)",
		"[kmem_cache_free(c, x) for x in a[:30]]",
		"vfree(v)",
	} {
		if _, err := s.Exec(line); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		if err := live.Sync(); err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			// A series made before later events must not be kept.
			if _, err := live.Series(heapview.SeriesKey{Kind: heapview.SeriesFree}); err != nil {
				t.Fatal(err)
			}
		}
	}
	whole, err := heapview.New(s.Log())
	if err != nil {
		t.Fatal(err)
	}
	cache = heapview.SeriesKey{Kind: heapview.SeriesCache, Cache: "blob"}
	for _, k := range append(whole.SeriesKeys(2, 3), cache) {
		a, err := live.Series(k)
		if err != nil {
			t.Fatal(err)
		}
		b, err := whole.Series(k)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(a.Values, b.Values) {
			t.Errorf("%s: live %v, whole log %v", a.Name, a.Values, b.Values)
		}
	}
	blob, _ := whole.Series(cache)
	if blob.Values[0] != 0 || blob.Values[2] == 0 {
		t.Errorf("the blob cache's slab memory: %v", blob.Values)
	}
}

// TestSeriesJumps checks the steps the timeline jumps to.
func TestSeriesJumps(t *testing.T) {
	s := heapview.Series{Values: []int64{5, 5, 9, 2, 2, 7}}
	if st, d := s.BiggestChange(); st != 3 || d != -7 {
		t.Errorf("biggest change at %d by %d, want step 3 by -7", st, d)
	}
	for _, tc := range []struct {
		threshold  int64
		from, want int
		found      bool
	}{{8, 0, 2, true}, {8, 2, 3, true}, {8, 3, 0, false}, {5, 0, 3, true}, {3, 3, 5, true}, {100, 0, 0, false}} {
		if st, ok := s.Crossing(tc.threshold, tc.from); st != tc.want || ok != tc.found {
			t.Errorf("crossing %d after step %d: %d %v, want %d %v", tc.threshold, tc.from, st, ok, tc.want, tc.found)
		}
	}
	if st, d := (heapview.Series{Values: []int64{4, 4}}).BiggestChange(); st != 0 || d != 0 {
		t.Errorf("a flat series: %d %d", st, d)
	}
	idx := heapview.Series{Unit: heapview.UnitThousandths}
	if got := []string{idx.Format(-1000), idx.Format(-500), idx.Format(782), idx.Format(1000)}; !slices.Equal(got, []string{"-1.000", "-0.500", "0.782", "1.000"}) {
		t.Errorf("index values read %q", got)
	}
}

// TestSeriesParse: a threshold typed for the timeline reads as Format
// writes the series' values, and anything else is a clear error.
func TestSeriesParse(t *testing.T) {
	bytes := heapview.Series{Name: "free memory", Unit: heapview.UnitBytes}
	idx := heapview.Series{Name: "fragmentation index, order 3", Unit: heapview.UnitThousandths}
	pages := heapview.Series{Name: "vmalloc pages mapped", Unit: heapview.UnitPages}
	for _, tc := range []struct {
		s    heapview.Series
		text string
		want int64
	}{
		{bytes, "4096", 4096}, {bytes, "512K", 512 << 10}, {bytes, " 1.5m ", 3 << 19}, {bytes, "2G", 2 << 30}, {bytes, "64B", 64},
		{idx, "0.5", 500}, {idx, "-1.000", -1000}, {idx, "0.782", 782}, {idx, "1", 1000},
		{pages, "12", 12}, {pages, "12 pages", 12}, {pages, "1 page", 1},
	} {
		got, err := tc.s.Parse(tc.text)
		if err != nil || got != tc.want {
			t.Errorf("%s: %q reads %d, %v; want %d", tc.s.Name, tc.text, got, err, tc.want)
		}
		if back, err := tc.s.Parse(tc.s.Format(tc.want)); err != nil || back != tc.want {
			t.Errorf("%s: %q, its own format of %d, reads %d, %v", tc.s.Name, tc.s.Format(tc.want), tc.want, back, err)
		}
	}
	for _, text := range []string{"", "x", "NaN", "inf", "1e300", "12Q", "0x", "--1"} {
		if v, err := bytes.Parse(text); err == nil {
			t.Errorf("%q reads %d, want an error", text, v)
		} else if !strings.Contains(err.Error(), "free memory") {
			t.Errorf("%q: the error does not name the series: %v", text, err)
		}
	}
}

// TestSeriesGolden keeps every series of the fragmentation lesson, a
// column per series and a line per step, with the step each series
// changed most at.
func TestSeriesGolden(t *testing.T) {
	hv, _ := scenarioModel(t, "kvmalloc-fragmentation")
	var series []heapview.Series
	var b strings.Builder
	for i, k := range hv.SeriesKeys(9, 3) {
		s, err := hv.Series(k)
		if err != nil {
			t.Fatal(err)
		}
		series = append(series, s)
		st, d := s.BiggestChange()
		fmt.Fprintf(&b, "column %d: %s, biggest change at step %d (%s)\n", i+1, s.Name, st, s.Format(d))
	}
	for st := 0; st <= hv.Steps(); st++ {
		fmt.Fprintf(&b, "%4d", st)
		for _, s := range series {
			fmt.Fprintf(&b, " %9d", s.Values[st])
		}
		b.WriteByte('\n')
	}
	golden.RequireEqual(t, b.String())
}

// TestSeriesRefuseBadKeys: a key naming nothing is an error, not a panic.
func TestSeriesRefuseBadKeys(t *testing.T) {
	hv, _ := scenarioModel(t, "buddy")
	for _, k := range []heapview.SeriesKey{{Kind: heapview.SeriesUnusable, Order: 11}, {Kind: heapview.SeriesFragmentation, Order: -1},
		{Kind: heapview.SeriesUnusable, Order: 3, Zone: allocator.ZoneNormal}, {Kind: heapview.SeriesFragmentation, Order: 3, Zone: 200},
		{Kind: heapview.SeriesCache, Cache: "no-such-cache"}, {Kind: heapview.SeriesMigrate, Migrate: 200}, {Kind: 200}} {
		if _, err := hv.Series(k); err == nil {
			t.Errorf("%+v: no error", k)
		}
	}
}

// TestTimelineGolden draws each series of the fragmentation lesson at the
// three sizes with the cursor mid-way, and the status bar's sparkline.
func TestTimelineGolden(t *testing.T) {
	hv, _ := scenarioModel(t, "kvmalloc-fragmentation")
	if err := hv.Seek(hv.Steps() / 2); err != nil {
		t.Fatal(err)
	}
	for i, k := range hv.SeriesKeys(3, 2) {
		for _, sz := range [][2]int{{80, 6}, {120, 8}, {200, 12}} {
			t.Run(fmt.Sprintf("series%d/%dx%d", i, sz[0], sz[1]), func(t *testing.T) {
				rows := hv.Timeline(heapview.TimelineOptions{Width: sz[0], Height: sz[1], Key: k})
				spark := hv.Sparkline(k, 30)
				golden.RequireEqual(t, showRows(t, rows, sz[0], sz[1])+"--- sparkline\n"+showRows(t, []heapview.Row{spark}, 30, 1))
			})
		}
	}
}

// TestTimelineColumnsMapToSteps: a click on a column goes to a step that
// column stands for, the cursor's column is the one marked, and every
// step has a column.
func TestTimelineColumnsMapToSteps(t *testing.T) {
	hv, _ := scenarioModel(t, "tour")
	k := heapview.SeriesKey{Kind: heapview.SeriesFree}
	for _, w := range []int{10, 37, 80, 200} {
		for st := 0; st <= hv.Steps(); st += 7 {
			if err := hv.Seek(st); err != nil {
				t.Fatal(err)
			}
			rows := hv.Timeline(heapview.TimelineOptions{Width: w, Height: 5, Key: k})
			col, n := -1, 0
			for _, r := range rows[1 : len(rows)-1] {
				x := 0
				for _, s := range r {
					if s.Mark&heapview.MarkSelected != 0 {
						col = x
						n++
					}
					x += len([]rune(s.Text))
				}
			}
			if n != 3 {
				t.Fatalf("width %d, step %d: %d rows mark a column, want 3", w, st, n)
			}
			from := hv.TimelineStep(w, col)
			next := hv.TimelineStep(w, col+1)
			if from > st || (col+1 < min(w, hv.Steps()+1) && next <= st) {
				t.Fatalf("width %d, step %d: marked column %d stands for steps %d to %d", w, st, col, from, next)
			}
		}
	}
}

// BenchmarkTimeline measures what the timeline costs the interface: a
// series made once after events arrive (15,000 steps), and the chart and
// sparkline drawn each frame from it; the page map of the same session,
// drawn each frame already, is the baseline.
func BenchmarkTimeline(b *testing.B) {
	s, err := scripts.New(scripts.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for _, stmt := range []string{"p = []", "for i in range(5000):\n    p.append(alloc_pages(i % 3))",
		"for i in range(5000, 10000):\n    p.append(alloc_pages(i % 3))",
		"for i in range(0, 10000, 2):\n    free_pages(p[i], i % 3)"} {
		if _, err := s.Exec(stmt); err != nil {
			b.Fatal(err)
		}
	}
	hv, err := heapview.New(s.Log())
	if err != nil {
		b.Fatal(err)
	}
	frag := heapview.SeriesKey{Kind: heapview.SeriesFragmentation, Order: 3, Zone: allocator.ZoneDMA32}
	b.Logf("%d steps", hv.Steps())
	b.Run("series-once", func(b *testing.B) {
		for b.Loop() {
			heapview.ResetSeriesForTest(hv)
			if _, err := hv.Series(frag); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("timeline-200x10", func(b *testing.B) {
		for b.Loop() {
			hv.Timeline(heapview.TimelineOptions{Width: 200, Height: 10, Key: frag})
		}
	})
	b.Run("timeline-200x10-columns-made-each-frame", func(b *testing.B) {
		for b.Loop() {
			heapview.ResetColumnsForTest(hv)
			hv.Timeline(heapview.TimelineOptions{Width: 200, Height: 10, Key: frag})
		}
	})
	b.Run("sparkline-40", func(b *testing.B) {
		for b.Loop() {
			hv.Sparkline(frag, 40)
		}
	})
	b.Run("sparkline-40-columns-made-each-frame", func(b *testing.B) {
		for b.Loop() {
			heapview.ResetColumnsForTest(hv)
			hv.Sparkline(frag, 40)
		}
	})
	b.Run("baseline-pagemap-200x60", func(b *testing.B) {
		for b.Loop() {
			hv.PageMap(heapview.PageMapOptions{Width: 200, Height: 60})
		}
	})
}

// TestFragmentationSeriesPerZone: the kernel computes its fragmentation
// indexes zone by zone, and so does the timeline: an 8 GiB machine offers
// each index for DMA, DMA32 and Normal, in that order, and a series
// follows its own zone alone (a DMA allocation moves DMA's index and
// leaves Normal's as it was).
func TestFragmentationSeriesPerZone(t *testing.T) {
	s, err := scripts.New(scripts.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	src := "config(ram='8G')\n" +
		"d = [alloc_pages(o, GFP_KERNEL | __GFP_DMA) for o in [3, 0, 5, 1]]\n" +
		"n = [alloc_pages(o) for o in [2, 0, 4]]\n" +
		"free_pages(d[1], 0)\n"
	if err := s.RunFile("zones.star", []byte(src)); err != nil {
		t.Fatal(err)
	}
	hv, err := heapview.New(s.Log())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, k := range hv.SeriesKeys(3, 0) {
		if k.Kind == heapview.SeriesUnusable || k.Kind == heapview.SeriesFragmentation {
			sr, err := hv.Series(k)
			if err != nil {
				t.Fatal(err)
			}
			names = append(names, sr.Name)
		}
	}
	want := []string{"unusable free space index, order 0, DMA", "unusable free space index, order 0, DMA32",
		"unusable free space index, order 0, Normal", "fragmentation index, order 0, DMA",
		"fragmentation index, order 0, DMA32", "fragmentation index, order 0, Normal"}
	for i := range want {
		want[i] = strings.Replace(want[i], "order 0", "order 3", 1)
	}
	if !slices.Equal(names, want) {
		t.Fatalf("index series %q, want %q", names, want)
	}
	dma, err := hv.Series(heapview.SeriesKey{Kind: heapview.SeriesUnusable, Order: 3, Zone: allocator.ZoneDMA})
	if err != nil {
		t.Fatal(err)
	}
	normal, err := hv.Series(heapview.SeriesKey{Kind: heapview.SeriesUnusable, Order: 3, Zone: allocator.ZoneNormal})
	if err != nil {
		t.Fatal(err)
	}
	if lo, hi := dma.Range(); lo == hi {
		t.Errorf("DMA's unusable index never changed (%d) though four DMA allocations split its blocks", lo)
	}
	for st := 0; st <= hv.Steps(); st++ {
		if err := hv.Seek(st); err != nil {
			t.Fatal(err)
		}
		for _, sr := range []heapview.Series{dma, normal} {
			if got, want := sr.Values[st], seriesAt(t, hv, sr.Key); got != want {
				t.Errorf("step %d: %s is %d, the zone's free blocks say %d", st, sr.Name, got, want)
			}
		}
	}
}

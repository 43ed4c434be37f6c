package heapview

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/allocviz/allocviz/allocator"
)

// Series: quantities over the whole session, one value per step, for the
// timeline. The model takes a sample of the head state at the end of each
// step as it takes the events in (New, Sync), so a series costs one pass
// over the samples, made once per key and kept until events arrive: never
// a replay, never per frame.

// SeriesKind is a quantity the timeline can follow.
type SeriesKind uint8

// Series kinds.
const (
	SeriesFree          SeriesKind = iota // free memory, bytes
	SeriesUnusable                        // the unusable free space index for an order, thousandths
	SeriesFragmentation                   // the fragmentation index for an order, thousandths
	SeriesSlab                            // memory in slabs, bytes
	SeriesCache                           // one cache's slabs, bytes
	SeriesVmalloc                         // page frames mapped behind vmap areas
	SeriesMigrate                         // free page frames of one migrate type
	nSeriesKinds
)

// Unit is what a series' values count.
type Unit uint8

// Units.
const (
	UnitBytes       Unit = iota
	UnitPages            // page frames
	UnitThousandths      // an index in thousandths, as the kernel computes it
)

// seriesKinds describes each kind: its name and unit, and how its
// values are made from what the model sampled (build fills vs, a value
// for each step sampled).
var seriesKinds = [nSeriesKinds]struct {
	name  string
	unit  Unit
	build func(m *Model, k SeriesKey, vs []int64)
}{
	SeriesFree: {"free memory", UnitBytes, func(m *Model, _ SeriesKey, vs []int64) {
		for z := range m.series.free {
			m.series.free[z].runs(len(vs), func(from, to int, free *freeBlocks) {
				var pages uint64
				for o, n := range free {
					pages += uint64(n) << o
				}
				add(vs[from:to], int64(pages*m.geo.pageSize))
			})
		}
	}},
	SeriesUnusable: {"unusable free space index", UnitThousandths, func(m *Model, k SeriesKey, vs []int64) {
		m.zoneIndex(k, vs, allocator.UnusableFreeIndex)
	}},
	SeriesFragmentation: {"fragmentation index", UnitThousandths, func(m *Model, k SeriesKey, vs []int64) {
		m.zoneIndex(k, vs, allocator.FragmentationIndex)
	}},
	SeriesSlab: {"slab memory", UnitBytes, func(m *Model, _ SeriesKey, vs []int64) {
		m.series.samples.runs(len(vs), func(from, to int, smp *sample) {
			add(vs[from:to], int64(uint64(smp.slabPages)*m.geo.pageSize))
		})
	}},
	SeriesCache: {"slab memory of a cache", UnitBytes, func(m *Model, k SeriesKey, vs []int64) {
		for _, id := range m.cacheNames[k.Cache] {
			if int(id) < len(m.series.caches) {
				m.series.caches[id].runs(len(vs), func(from, to int, pages *uint32) {
					add(vs[from:to], int64(uint64(*pages)*m.geo.pageSize))
				})
			}
		}
	}},
	SeriesVmalloc: {"vmalloc pages mapped", UnitPages, func(m *Model, _ SeriesKey, vs []int64) {
		m.series.samples.runs(len(vs), func(from, to int, smp *sample) {
			add(vs[from:to], int64(smp.vmallocPages))
		})
	}},
	SeriesMigrate: {"free pages", UnitPages, func(m *Model, k SeriesKey, vs []int64) {
		m.series.migrate.runs(len(vs), func(from, to int, free *[allocator.MigrateTypes]uint32) {
			add(vs[from:to], int64(free[k.Migrate]))
		})
	}},
}

// zoneIndex fills vs with one of the kernel's fragmentation indexes
// (mm/vmstat.c), which it computes zone by zone, for k's order in k's
// zone.
func (m *Model) zoneIndex(k SeriesKey, vs []int64, index func(*[allocator.NrPageOrders]uint64, int) int) {
	m.series.free[k.Zone].runs(len(vs), func(from, to int, free *freeBlocks) {
		var c [allocator.NrPageOrders]uint64
		for o, n := range free {
			c[o] = uint64(n)
		}
		add(vs[from:to], int64(index(&c, k.Order)))
	})
}

// SeriesKey names one series: a kind, and the order and zone
// (SeriesUnusable, SeriesFragmentation), the cache (SeriesCache) or the
// migrate type (SeriesMigrate) it is about.
type SeriesKey struct {
	Kind    SeriesKind
	Order   int
	Zone    allocator.ZoneType
	Cache   string
	Migrate allocator.MigrateType
}

// Series is one quantity at the end of every step: Values[step], step 0
// being boot.
type Series struct {
	Key    SeriesKey
	Name   string // "free memory", "fragmentation index, order 3", "slab memory: kmalloc-64"
	Unit   Unit
	Values []int64
}

// sample is the state at the end of a step, as the series need it, apart
// from what is kept apart where it changes (the free blocks of each zone,
// the free pages by migrate type, each cache's slabs).
type sample struct {
	slabPages    uint32
	vmallocPages uint32
}

// freeBlocks is a zone's free blocks by order.
type freeBlocks [allocator.NrPageOrders]uint32

// track is a value a step, kept where it changes: from the end of step
// steps[i] on, vals[i]. Most steps change little (a kmalloc loop's free
// blocks and slabs stay as they are), so a session of a million steps
// keeps a few runs, not a million samples.
type track[T comparable] struct {
	steps []int32
	vals  []T
}

// note records v at the end of step, forgetting what was noted for later
// steps (steps taken again: a step that was still open).
func (t *track[T]) note(step int, v T) {
	n := len(t.steps)
	for n > 0 && int(t.steps[n-1]) > step {
		n--
	}
	t.steps, t.vals = t.steps[:n], t.vals[:n]
	switch {
	case n > 0 && int(t.steps[n-1]) == step:
		t.vals[n-1] = v
	case n > 0 && t.vals[n-1] == v:
	default:
		t.steps = append(t.steps, int32(step))
		t.vals = append(t.vals, v)
	}
}

// runs calls f for each run of steps from..to-1 below steps that had one
// value.
func (t *track[T]) runs(steps int, f func(from, to int, v *T)) {
	for i, from := range t.steps {
		to := steps
		if i+1 < len(t.steps) {
			to = min(int(t.steps[i+1]), steps)
		}
		if int(from) < to {
			f(int(from), to, &t.vals[i])
		}
	}
}

// seriesState is what the model keeps for the series.
type seriesState struct {
	samples track[sample]                           // the state the series read, where it changed
	free    [allocator.MaxNrZones]track[freeBlocks] // each populated zone's free blocks
	steps   int                                     // steps sampled: 0..steps-1
	caches  []track[uint32]                         // by cache id: its pages in slabs, sampled while dirty
	dirty   bool                                    // a cache's slabs may have changed since the last sample
	migrate track[[allocator.MigrateTypes]uint32]   // free pages by migrate type
	mtSeen  uint32                                  // bit t: some step had free pages of migrate type t
	built   map[SeriesKey]Series                    // series made since events last arrived
	tops    map[colsKey][]int64                     // the timeline's columns made since then (columnTops)
	sums    map[SeriesKey]seriesSum
	builtAt int // the log length they were made at
}

// colsKey names a series drawn in a number of columns.
type colsKey struct {
	key  SeriesKey
	cols int
}

// fresh forgets the series and columns made before events arrived.
func (ss *seriesState) fresh(n int) {
	if ss.built == nil || ss.builtAt != n {
		ss.built, ss.tops, ss.sums, ss.builtAt = map[SeriesKey]Series{}, map[colsKey][]int64{}, map[SeriesKey]seriesSum{}, n
	}
}

// seriesSum is what the timeline says of a whole series each frame.
type seriesSum struct {
	lo, hi int64 // Range
	at     int   // BiggestChange
	delta  int64
}

// summary returns a series' range and biggest change, made once and kept
// with the series.
func (m *Model) summary(s Series) seriesSum {
	ss := &m.series
	ss.fresh(m.n)
	if sum, ok := ss.sums[s.Key]; ok {
		return sum
	}
	var sum seriesSum
	sum.lo, sum.hi = s.Range()
	sum.at, sum.delta = s.BiggestChange()
	ss.sums[s.Key] = sum
	return sum
}

// columnTops returns, for a series drawn in cols columns, each column's
// largest value among the steps it stands for. Made once per series and
// width and kept with the series, so that a frame of the timeline costs
// its width, not the session's length.
func (m *Model) columnTops(s Series, cols int) []int64 {
	ss := &m.series
	ss.fresh(m.n)
	ck := colsKey{s.Key, cols}
	if t, ok := ss.tops[ck]; ok && len(t) == cols {
		return t
	}
	tops := make([]int64, cols)
	for c := range tops {
		from, to := colSteps(c, cols, len(s.Values))
		tops[c] = slices.Max(s.Values[from:to])
	}
	ss.tops[ck] = tops
	return tops
}

// noteSeriesEvent marks what an event taken in changes for the series.
func (m *Model) noteSeriesEvent(e allocator.Event) {
	switch e.Kind() {
	case allocator.EvSlabNew, allocator.EvSlabDiscard, allocator.EvCacheCreate:
		m.series.dirty = true
	}
}

// takeSample records the head state as the end of step (replacing what an
// earlier Sync recorded for a step that was still open).
func (m *Model) takeSample(step int) {
	ss := &m.series
	s := sample{slabPages: uint32(m.head.num[cOwner+int(allocator.OwnerSlab)]),
		vmallocPages: uint32(m.head.num[cOwner+int(allocator.OwnerVmalloc)])}
	for z := range m.geo.populated() {
		var free freeBlocks
		for o := range free {
			free[o] = uint32(m.head.num[freeCounter(z, o)])
		}
		ss.free[z].note(step, free)
	}
	var mt [allocator.MigrateTypes]uint32
	for t := range mt {
		if mt[t] = uint32(m.head.num[cFreeMT+t]); mt[t] > 0 {
			ss.mtSeen |= 1 << t
		}
	}
	ss.migrate.note(step, mt)
	ss.samples.note(step, s)
	ss.steps = step + 1
	if !ss.dirty {
		return
	}
	ss.dirty = false
	for id := range m.head.caches {
		if id == len(ss.caches) {
			ss.caches = append(ss.caches, track[uint32]{})
		}
		pages := uint32(m.head.caches[id].slabs) << m.caches[id].order
		if t := &ss.caches[id]; len(t.steps) > 0 || pages > 0 {
			t.note(step, pages)
		}
	}
}

// SeriesKeys returns the series the timeline offers, in the order a key
// cycles through them: free memory, the two fragmentation indexes for
// order in each populated zone (the kernel computes them zone by zone),
// slab memory, the top caches by their largest slab memory (at most
// topCaches), vmalloc pages, and the free pages of each migrate type that
// had some at any step.
func (m *Model) SeriesKeys(order, topCaches int) []SeriesKey {
	keys := []SeriesKey{{Kind: SeriesFree}}
	for _, kind := range []SeriesKind{SeriesUnusable, SeriesFragmentation} {
		for z := range m.geo.populated() {
			keys = append(keys, SeriesKey{Kind: kind, Order: order, Zone: z})
		}
	}
	keys = append(keys, SeriesKey{Kind: SeriesSlab})
	for _, name := range m.TopCaches(topCaches) {
		keys = append(keys, SeriesKey{Kind: SeriesCache, Cache: name})
	}
	keys = append(keys, SeriesKey{Kind: SeriesVmalloc})
	for t := range allocator.MigrateTypes {
		if m.series.mtSeen&(1<<t) != 0 {
			keys = append(keys, SeriesKey{Kind: SeriesMigrate, Migrate: t})
		}
	}
	return keys
}

// TopCaches returns the names of at most n caches with the most memory in
// slabs at any step, most first (ties by name).
func (m *Model) TopCaches(n int) []string {
	peak := map[string]int64{}
	for id, t := range m.series.caches {
		name := m.caches[id].name
		for _, p := range t.vals {
			peak[name] = max(peak[name], int64(p))
		}
	}
	var names []string
	for name, p := range peak {
		if p > 0 {
			names = append(names, name)
		}
	}
	sort.Slice(names, func(i, j int) bool {
		if peak[names[i]] != peak[names[j]] {
			return peak[names[i]] > peak[names[j]]
		}
		return names[i] < names[j]
	})
	return names[:min(n, len(names))]
}

// Series returns the series k names, a value for each step 0..Steps().
// It is made once and kept until events arrive.
func (m *Model) Series(k SeriesKey) (Series, error) {
	if k.Kind >= nSeriesKinds {
		return Series{}, fmt.Errorf("heapview: no series kind %d", k.Kind)
	}
	if k.Kind == SeriesUnusable || k.Kind == SeriesFragmentation {
		if k.Order < 0 || k.Order > allocator.MaxPageOrder {
			return Series{}, fmt.Errorf("heapview: order %d is not an order of the page allocator (0 to %d)", k.Order, allocator.MaxPageOrder)
		}
		if k.Zone >= allocator.MaxNrZones || m.geo.zones[k.Zone].spanned == 0 {
			return Series{}, fmt.Errorf("heapview: zone %v holds no memory on this machine", k.Zone)
		}
	}
	if k.Kind == SeriesMigrate && k.Migrate >= allocator.MigrateTypes {
		return Series{}, fmt.Errorf("heapview: no migrate type %d", k.Migrate)
	}
	if k.Kind == SeriesCache && len(m.cacheNames[k.Cache]) == 0 {
		return Series{}, fmt.Errorf("heapview: no cache %q", k.Cache)
	}
	ss := &m.series
	ss.fresh(m.n)
	if s, ok := ss.built[k]; ok {
		return s, nil
	}
	d := seriesKinds[k.Kind]
	s := Series{Key: k, Name: d.name, Unit: d.unit, Values: make([]int64, ss.steps)}
	switch k.Kind {
	case SeriesUnusable, SeriesFragmentation:
		s.Name = fmt.Sprintf("%s, order %d, %v", d.name, k.Order, k.Zone)
	case SeriesCache:
		s.Name = "slab memory: " + k.Cache
	case SeriesMigrate:
		s.Name = "free pages: " + k.Migrate.String()
	}
	d.build(m, k, s.Values)
	ss.built[k] = s
	return s, nil
}

// add adds v to every value of vs.
func add(vs []int64, v int64) {
	for i := range vs {
		vs[i] += v
	}
}

// BiggestChange returns the step whose value differs most from the step
// before it (the earliest of equals) and that difference; step 0 and a
// series that never changes give (0, 0).
func (s Series) BiggestChange() (step int, delta int64) {
	for i := 1; i < len(s.Values); i++ {
		d := s.Values[i] - s.Values[i-1]
		if abs(d) > abs(delta) {
			step, delta = i, d
		}
	}
	return step, delta
}

// Crossing returns the first step after from at which the series reaches
// threshold from below or falls to it from above, or false.
func (s Series) Crossing(threshold int64, from int) (int, bool) {
	for i := max(from+1, 1); i < len(s.Values); i++ {
		a, b := s.Values[i-1], s.Values[i]
		if (a < threshold && b >= threshold) || (a > threshold && b <= threshold) {
			return i, true
		}
	}
	return 0, false
}

// Range returns the smallest and largest value.
func (s Series) Range() (lo, hi int64) {
	if len(s.Values) == 0 {
		return 0, 0
	}
	return slices.Min(s.Values), slices.Max(s.Values)
}

// Format writes a value of the series as people read it: bytes in K, M or
// G, pages with their unit, an index as the kernel prints it (-1.000,
// 0.750).
func (s Series) Format(v int64) string {
	switch s.Unit {
	case UnitThousandths:
		if v < 0 {
			return fmt.Sprintf("-%d.%03d", -v/1000, -v%1000)
		}
		return fmt.Sprintf("%d.%03d", v/1000, v%1000)
	case UnitPages:
		if v == 1 {
			return "1 page"
		}
		return fmt.Sprintf("%d pages", v)
	}
	return formatBytes(v)
}

func formatBytes(v int64) string {
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	switch {
	case v >= 1<<30 && v%(1<<30) == 0 || v >= 10<<30:
		return fmt.Sprintf("%s%.4gG", sign, float64(v)/(1<<30))
	case v >= 1<<20:
		return fmt.Sprintf("%s%.4gM", sign, float64(v)/(1<<20))
	case v >= 1<<10:
		return fmt.Sprintf("%s%.4gK", sign, float64(v)/(1<<10))
	}
	return fmt.Sprintf("%s%dB", sign, v)
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// maxSeriesValue bounds a value Parse accepts: far above anything a
// machine of this program holds, far below int64's overflow.
const maxSeriesValue = 1 << 60

// Parse reads a value of the series as a person types it, the way Format
// writes it: bytes as a number with an optional K, M or G (powers of 1024,
// "1.5M", "4096"); pages as a number ("12", "12 pages"); an index as the
// kernel prints it, in units ("0.5", "-1.000"), kept in thousandths.
func (s Series) Parse(text string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(text))
	mult := 1.0
	want := "a size such as 4096, 512K or 1.5M"
	switch s.Unit {
	case UnitThousandths:
		mult, want = 1000, "an index such as 0.5 or -1.000"
	case UnitPages:
		want = "a number of pages such as 12"
		t = strings.TrimSpace(strings.TrimSuffix(strings.TrimSuffix(t, "pages"), "page"))
	default:
		t = strings.TrimSuffix(t, "b")
		if n := len(t); n > 0 {
			if i := strings.IndexByte("kmg", t[n-1]); i >= 0 {
				mult, t = float64(int64(1)<<(10*(i+1))), strings.TrimSpace(t[:n-1])
			}
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%q is not a value of %s: type %s", text, s.Name, want)
	}
	v := math.Round(f * mult)
	if math.Abs(v) > maxSeriesValue {
		return 0, fmt.Errorf("%q is out of range for %s", text, s.Name)
	}
	return int64(v), nil
}

package heapview

import (
	"fmt"
	"slices"
	"sort"

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

// seriesKinds describes each kind: its name and unit, and its value in a
// sample (nil for SeriesCache, whose values are kept apart).
var seriesKinds = [nSeriesKinds]struct {
	name  string
	unit  Unit
	value func(m *Model, s *sample, order int) int64
}{
	SeriesFree: {"free memory", UnitBytes, func(m *Model, s *sample, _ int) int64 {
		var pages uint64
		for o, n := range s.free {
			pages += uint64(n) << o
		}
		return int64(pages * m.geo.pageSize)
	}},
	SeriesUnusable: {"unusable free space index", UnitThousandths, func(m *Model, s *sample, order int) int64 {
		free := s.freeCounts()
		return int64(allocator.UnusableFreeIndex(&free, order))
	}},
	SeriesFragmentation: {"fragmentation index", UnitThousandths, func(m *Model, s *sample, order int) int64 {
		free := s.freeCounts()
		return int64(allocator.FragmentationIndex(&free, order))
	}},
	SeriesSlab: {"slab memory", UnitBytes, func(m *Model, s *sample, _ int) int64 {
		return int64(uint64(s.slabPages) * m.geo.pageSize)
	}},
	SeriesCache: {"slab memory of a cache", UnitBytes, nil},
	SeriesVmalloc: {"vmalloc pages mapped", UnitPages, func(m *Model, s *sample, _ int) int64 {
		return int64(s.vmallocPages)
	}},
}

// SeriesKey names one series: a kind, and the order (SeriesUnusable,
// SeriesFragmentation) or the cache (SeriesCache) it is about.
type SeriesKey struct {
	Kind  SeriesKind
	Order int
	Cache string
}

// Series is one quantity at the end of every step: Values[step], step 0
// being boot.
type Series struct {
	Key    SeriesKey
	Name   string // "free memory", "fragmentation index, order 3", "slab memory: kmalloc-64"
	Unit   Unit
	Values []int64
}

// sample is the state at the end of a step, as the series need it.
type sample struct {
	free         [allocator.NrPageOrders]uint32 // free blocks by order
	slabPages    uint32
	vmallocPages uint32
}

func (s *sample) freeCounts() [allocator.NrPageOrders]uint64 {
	var c [allocator.NrPageOrders]uint64
	for o, n := range s.free {
		c[o] = uint64(n)
	}
	return c
}

// cacheTrack is one cache's slab pages where they changed: at the end of
// step steps[i] the cache had pages[i] pages in slabs.
type cacheTrack struct {
	steps []int32
	pages []uint32
}

// seriesState is what the model keeps for the series.
type seriesState struct {
	samples []sample             // by step
	caches  []cacheTrack         // by cache id
	dirty   bool                 // a cache's slabs may have changed since the last sample
	built   map[SeriesKey]Series // series made since events last arrived
	builtAt int                  // the log length they were made at
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
	for o := range s.free {
		s.free[o] = uint32(m.head.num[cFree+o])
	}
	ss.samples = append(ss.samples[:min(step, len(ss.samples))], s)
	if !ss.dirty {
		return
	}
	ss.dirty = false
	for id := range m.head.caches {
		if id == len(ss.caches) {
			ss.caches = append(ss.caches, cacheTrack{})
		}
		pages := uint32(m.head.caches[id].slabs) << m.caches[id].order
		t := &ss.caches[id]
		n := len(t.steps)
		switch {
		case n > 0 && t.steps[n-1] == int32(step):
			t.pages[n-1] = pages
		case n == 0 && pages == 0:
		case n > 0 && t.pages[n-1] == pages:
		default:
			t.steps = append(t.steps, int32(step))
			t.pages = append(t.pages, pages)
		}
	}
}

// SeriesKeys returns the series the timeline offers, in the order a key
// cycles through them: free memory, the two fragmentation indexes for
// order, slab memory, the top caches by their largest slab memory (at
// most topCaches), vmalloc pages.
func (m *Model) SeriesKeys(order, topCaches int) []SeriesKey {
	keys := []SeriesKey{{Kind: SeriesFree}, {Kind: SeriesUnusable, Order: order},
		{Kind: SeriesFragmentation, Order: order}, {Kind: SeriesSlab}}
	for _, name := range m.TopCaches(topCaches) {
		keys = append(keys, SeriesKey{Kind: SeriesCache, Cache: name})
	}
	return append(keys, SeriesKey{Kind: SeriesVmalloc})
}

// TopCaches returns the names of at most n caches with the most memory in
// slabs at any step, most first (ties by name).
func (m *Model) TopCaches(n int) []string {
	peak := map[string]int64{}
	for id, t := range m.series.caches {
		name := m.caches[id].name
		for _, p := range t.pages {
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
	if (k.Kind == SeriesUnusable || k.Kind == SeriesFragmentation) && (k.Order < 0 || k.Order > allocator.MaxPageOrder) {
		return Series{}, fmt.Errorf("heapview: order %d is not an order of the page allocator (0 to %d)", k.Order, allocator.MaxPageOrder)
	}
	if k.Kind == SeriesCache && len(m.cacheNames[k.Cache]) == 0 {
		return Series{}, fmt.Errorf("heapview: no cache %q", k.Cache)
	}
	ss := &m.series
	if ss.built == nil || ss.builtAt != m.n {
		ss.built, ss.builtAt = map[SeriesKey]Series{}, m.n
	}
	if s, ok := ss.built[k]; ok {
		return s, nil
	}
	d := seriesKinds[k.Kind]
	s := Series{Key: k, Name: d.name, Unit: d.unit, Values: make([]int64, len(ss.samples))}
	switch k.Kind {
	case SeriesUnusable, SeriesFragmentation:
		s.Name = fmt.Sprintf("%s, order %d", d.name, k.Order)
	case SeriesCache:
		s.Name = "slab memory: " + k.Cache
	}
	if k.Kind == SeriesCache {
		for _, id := range m.cacheNames[k.Cache] {
			if int(id) < len(ss.caches) {
				m.addCacheTrack(s.Values, &ss.caches[id])
			}
		}
	} else {
		for i := range ss.samples {
			s.Values[i] = d.value(m, &ss.samples[i], k.Order)
		}
	}
	ss.built[k] = s
	return s, nil
}

// addCacheTrack adds a cache's slab memory to values, step by step.
func (m *Model) addCacheTrack(values []int64, t *cacheTrack) {
	for i, from := range t.steps {
		to := len(values)
		if i+1 < len(t.steps) {
			to = int(t.steps[i+1])
		}
		v := int64(uint64(t.pages[i]) * m.geo.pageSize)
		for st := int(from); st < min(to, len(values)); st++ {
			values[st] += v
		}
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

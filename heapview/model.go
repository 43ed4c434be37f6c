package heapview

import (
	"errors"
	"fmt"
	"iter"
	"math"
	"math/bits"
	"slices"
	"sort"

	"github.com/allocviz/allocviz/allocator"
)

// Model is the machine rebuilt from its events, with a cursor that can be
// put on any step. It keeps the events, an index of the steps, the undo
// journal of every event and checkpoints; the state under the cursor is
// what the query and render methods describe.
//
// A Model is used by one goroutine at a time.
type Model struct {
	log    *allocator.EventLog // the events; the model reads them and never writes
	n      int                 // events of the log taken in (ingested)
	geo    geometry            // from EvBoot
	nsteps int                 // EvStep events taken in: steps run from 0 (boot) to nsteps

	caches     []cacheInfo                 // every cache ever created, by id (creation order)
	cacheIDs   map[allocator.StrID][]int32 // name -> ids, ascending
	cacheNames map[string][]int32          // the same by the name itself
	names      []string                    // interned API names and paths; names[0] = ""
	nameIDs    map[string]uint16

	reallocs    []reallocRec      // every EvRealloc, by position
	lastLineage map[uint64]uint32 // head pass: address -> lineage of the allocation freed there in this step
	fl          freelistState     // the slabs' freelists (freelists.go)

	bad       []uint64  // bit set of event positions not applied (anomalies)
	anomalies []Anomaly // why

	jr        journal  // undo records, and each event's marks and replay cost
	head      *state   // after every event, recording the journal
	cur       *state   // under the cursor
	ckpts     []*state // snapshots of head at increasing positions; ckpts[0] at 0
	ckWork    uint64   // work since the last checkpoint
	ckEvents  uint64   // events since the last checkpoint
	ckEvery   uint64   // work between checkpoints (ckptWork; tests make it small)
	epoch     uint64   // the last epoch handed out
	step      int      // the step under the cursor
	version   uint64   // changes whenever the cursor moves or events arrive
	bootEnd   uint32   // position+1 of the last block freed or merged in the boot phase
	bootZones int      // position+1 of the last EvZone of the boot phase; zones described later are refused
	bootDone  bool     // the boot phase (EvBoot, EvReserve, blocks freed at boot and their merges) is over
	touch     touchCache
	series    seriesState // the series' samples, kept where they change (series.go)
}

// geometry is the machine's shape, from EvBoot.
type geometry struct {
	ram      uint64 // bytes
	pageSize uint64 // bytes
	shift    uint   // log2(pageSize)
	nrPages  uint64 // page frames: to the end of RAM, the PCI hole included
	pbOrder  int    // pageblock_order
	zones    [allocator.MaxNrZones]zoneGeo
}

// zoneGeo is where a zone lies (EvZone); spanned 0: not populated.
type zoneGeo struct {
	start, spanned, present, managed uint64
}

// zoneOf returns the zone whose span holds pfn, or MaxNrZones (the hole,
// or before the zones are known).
func (g *geometry) zoneOf(pfn uint64) allocator.ZoneType {
	for t := range g.zones {
		if z := &g.zones[t]; z.spanned > 0 && pfn >= z.start && pfn < z.start+z.spanned {
			return allocator.ZoneType(t)
		}
	}
	return allocator.MaxNrZones
}

// populated returns the zones that hold memory, lowest first.
func (g *geometry) populated() iter.Seq[allocator.ZoneType] {
	return func(yield func(allocator.ZoneType) bool) {
		for t := range g.zones {
			if g.zones[t].spanned > 0 && !yield(allocator.ZoneType(t)) {
				return
			}
		}
	}
}

func (g geometry) pfnAddr(pfn uint64) allocator.Addr {
	return allocator.DirectMapBase + allocator.Addr(pfn<<g.shift)
}

func (g geometry) addrPFN(a allocator.Addr) (uint64, bool) {
	if a < allocator.DirectMapBase {
		return 0, false
	}
	pfn := uint64(a-allocator.DirectMapBase) >> g.shift
	return pfn, pfn < g.nrPages
}

// cacheInfo is a slab cache's fixed geometry, from EvCacheCreate.
type cacheInfo struct {
	name    string
	nameID  allocator.StrID
	objSize uint64 // object_size, bytes
	size    uint64 // s->size, bytes: the stride of objects in a slab
	order   int    // slab order
	perSlab int    // objects per slab
	created int    // position of EvCacheCreate
}

// reallocRec indexes one EvRealloc.
type reallocRec struct {
	pos     int
	lineage uint32 // position+1 of the allocation that began the chain
}

// Anomaly is an event the model could not apply because it contradicts the
// state the earlier events describe. The event is kept in the log but
// changes nothing.
type Anomaly struct {
	Seq  uint64              // the event's Seq
	Pos  int                 // its position in the log
	Kind allocator.EventKind // its kind
	Err  error               // what does not fit
}

func (a Anomaly) Error() string {
	return fmt.Sprintf("event #%d (%v): %v", a.Seq, a.Kind, a.Err)
}

// ckptWork is the work (events, pages written, tree operations) between
// checkpoints: replaying that much takes about a millisecond, and a
// million buddy events leave some two hundred checkpoints.
const ckptWork = 1 << 19

// A checkpoint keeps what the head changes after it: the chunks and tree
// nodes it copies before writing them. Another checkpoint is taken only
// once the last one's copies come to at most ckptBytes per event since
// it, so that checkpoints cost a bounded share of the memory an event
// costs; but at least every ckptMaxFactor * ckptWork of work, so that a
// seek replays a bounded stretch.
const (
	ckptBytes     = 12
	ckptMaxFactor = 16
)

// New builds a model from a whole event log, which must begin with the
// machine's boot (allocator.Machine.SetLog hands a new log the boot
// events). The cursor ends on the last step. Events that contradict the
// ones before them are kept but not applied; the error lists them and
// Anomalies returns them. The model keeps log and reads it, never writes
// it; events appended later are taken in by Sync.
func New(log *allocator.EventLog) (*Model, error) {
	return newModel(log, ckptWork)
}

func newModel(log *allocator.EventLog, every uint64) (*Model, error) {
	m := &Model{
		log:         log,
		ckEvery:     every,
		cacheIDs:    make(map[allocator.StrID][]int32),
		cacheNames:  make(map[string][]int32),
		names:       slices.Clone(fixedNames),
		nameIDs:     map[string]uint16{},
		lastLineage: make(map[uint64]uint32),
		cur:         &state{},
	}
	for i, n := range m.names {
		m.nameIDs[n] = uint16(i)
	}
	if log.Len() == 0 {
		return m, nil
	}
	if err := m.boot(log.At(0)); err != nil {
		return nil, err
	}
	return m, m.ingest(true)
}

// Sync takes in the events appended to the log since the model last read
// it (a live session calls it after each input). When the cursor was on
// the last step it moves to the new last step. The error reports events
// that could not be applied; see New.
func (m *Model) Sync() error {
	if m.log.Len() == m.n {
		return nil
	}
	follow := m.head == nil || m.cur.pos == m.n
	if m.head == nil {
		if err := m.boot(m.log.At(0)); err != nil {
			return err
		}
	}
	return m.ingest(follow)
}

// ingest applies the events the log holds beyond the model's to the head
// state.
func (m *Model) ingest(follow bool) error {
	var errs []error
	nerr := 0
	end := m.log.Len()
	for pos := m.n; pos < end; pos++ {
		e := m.log.At(pos)
		k := e.Kind()
		if !m.bootDone && k != allocator.EvBoot && k != allocator.EvReserve && k != allocator.EvMerge && k != allocator.EvZone &&
			(k != allocator.EvPageFree || e.Owner() != allocator.OwnerFree) {
			m.bootDone = true
		}
		if !m.bootDone && k == allocator.EvMerge {
			m.bootEnd = uint32(pos + 1)
		}
		if !m.bootDone && k == allocator.EvZone {
			m.bootZones = pos + 1
		}
		if k == allocator.EvStep {
			m.takeSample(m.nsteps)
			m.nsteps++
			// A realloc's lineage passes through a free in the same
			// call, so in the same step: what earlier steps freed is
			// of no more use.
			switch n := len(m.lastLineage); {
			case n > 64:
				m.lastLineage = make(map[uint64]uint32)
			case n > 0:
				clear(m.lastLineage)
			}
		}
		m.n = pos + 1
		before := m.head.work
		if err := m.apply(m.head, e, true); err != nil {
			m.jr.discard()
			m.setBad(pos)
			a := Anomaly{Seq: e.Seq(), Pos: pos, Kind: k, Err: err}
			m.anomalies = append(m.anomalies, a)
			nerr++
			if len(errs) < 8 {
				errs = append(errs, a)
			}
		} else {
			switch k {
			case allocator.EvSlabNew, allocator.EvSlabList, allocator.EvObjAlloc, allocator.EvObjFree, allocator.EvSlabDiscard, allocator.EvPageFree:
				m.followSlab(e)
			}
			m.noteSeriesEvent(e)
		}
		m.jr.commit()
		m.head.pos = pos + 1
		w := m.head.work - before + 1
		m.jr.marks.add(m.jr.here(), m.jr.marks.last.cost+w)
		m.ckWork += w
		m.ckEvents++
		if m.ckWork >= m.ckEvery && (m.head.copied() <= ckptBytes*m.ckEvents || m.ckWork >= ckptMaxFactor*m.ckEvery) {
			m.ckpts = append(m.ckpts, m.head.snapshot(m.newEpoch))
			m.snapFreelists(m.head.pos)
			m.ckWork, m.ckEvents = 0, 0
		}
	}
	if nerr > len(errs) {
		errs = append(errs, fmt.Errorf("and %d more", nerr-len(errs)))
	}
	m.takeSample(m.nsteps)
	if follow {
		m.cur = m.head.fork(m.newEpoch)
		m.step = m.nsteps
	}
	m.version++
	return errors.Join(errs...)
}

// boot sets the geometry from the first event and creates the empty state.
func (m *Model) boot(e allocator.Event) error {
	if e.Kind() != allocator.EvBoot {
		return fmt.Errorf("heapview: the log begins with a %v event, not the machine's boot; a model needs the whole log from boot", e.Kind())
	}
	ps, ram := e.PageSize(), e.Size()
	if ps < 512 || ps&(ps-1) != 0 || ram == 0 || ram%ps != 0 || ram/ps > 1<<31 {
		return fmt.Errorf("heapview: boot event describes %d bytes of RAM in pages of %d bytes, which is not a machine", ram, ps)
	}
	m.geo = geometry{ram: ram, pageSize: ps, shift: uint(bits.TrailingZeros64(ps)), nrPages: allocator.EndPFN(ram, ps),
		pbOrder: allocator.PageblockOrder(ps)}
	// The zones follow from the RAM size (EvZone repeats them, with the
	// managed pages and watermarks).
	for t, z := range allocator.ZoneLayout(ram, ps) {
		m.geo.zones[t] = zoneGeo{start: z.Start, spanned: z.Spanned, present: z.Present}
	}
	m.nsteps = 0
	m.head = &state{epoch: m.newEpoch(), pages: newVec[pageRec](m.geo.nrPages), inuse: newVec[int32](m.geo.nrPages), jr: &m.jr}
	m.jr.marks = newMarkLog()
	m.ckpts = []*state{m.head.snapshot(m.newEpoch)}
	return nil
}

func (m *Model) newEpoch() uint64 {
	m.epoch++
	return m.epoch
}

func (m *Model) setBad(pos int) {
	for len(m.bad) <= pos/64 {
		m.bad = append(m.bad, 0)
	}
	m.bad[pos/64] |= 1 << (pos % 64)
}

func (m *Model) isBad(pos int) bool {
	return pos/64 < len(m.bad) && m.bad[pos/64]&(1<<(pos%64)) != 0
}

// Anomalies returns the events that could not be applied.
func (m *Model) Anomalies() []Anomaly { return m.anomalies }

// Log returns the event log the model reads.
func (m *Model) Log() *allocator.EventLog { return m.log }

// Len returns the number of events the model has taken in.
func (m *Model) Len() int { return m.n }

// Event returns the event at position pos, 0 to Len()-1.
func (m *Model) Event(pos int) allocator.Event { return m.log.At(pos) }

// Version changes whenever the cursor moves or events are applied, so a
// caller can cache what it rendered.
func (m *Model) Version() uint64 { return m.version }

// Steps returns the number of the last step; steps run from 0 (boot) to
// Steps().
func (m *Model) Steps() int { return m.nsteps }

// Step returns the step under the cursor.
func (m *Model) Step() int { return m.step }

// Pos returns the number of events applied under the cursor.
func (m *Model) Pos() int { return m.cur.pos }

// stepStart returns the position of step s's first event: its EvStep, or
// 0 for boot.
func (m *Model) stepStart(s int) int {
	if s == 0 {
		return 0
	}
	return m.log.StepStart(s - 1)
}

// stepSpan returns the events of step s: positions [start, end).
func (m *Model) stepSpan(s int) (int, int) {
	end := m.n
	if s < m.nsteps {
		end = m.log.StepStart(s)
	}
	return m.stepStart(s), end
}

// stepOf returns the step that the event at pos belongs to.
func (m *Model) stepOf(pos int) int {
	return sort.Search(m.nsteps, func(i int) bool { return m.log.StepStart(i) > pos })
}

// Seek puts the cursor at the end of step (0 is boot, Steps() the last):
// the state shows everything the step did. Seeking costs the same whatever
// the length of the history.
func (m *Model) Seek(step int) error {
	if m.head == nil {
		return errors.New("heapview: the model has no events")
	}
	if step < 0 || step > m.nsteps {
		return fmt.Errorf("heapview: step %d does not exist (steps run from 0 to %d)", step, m.nsteps)
	}
	_, end := m.stepSpan(step)
	m.moveTo(end)
	m.step = step
	m.version++
	return nil
}

// SeekEvent puts the cursor after the first pos events of the log, which
// may be in the middle of a step; Step then names the step of the last
// event applied.
func (m *Model) SeekEvent(pos int) error {
	if m.head == nil {
		return errors.New("heapview: the model has no events")
	}
	if pos < 0 || pos > m.n {
		return fmt.Errorf("heapview: event position %d is outside the log (0 to %d)", pos, m.n)
	}
	m.moveTo(pos)
	m.step = 0
	if pos > 0 {
		m.step = m.stepOf(pos - 1)
	}
	m.version++
	return nil
}

// restoreWork is what restoring a checkpoint costs, in work units.
const restoreWork = 64

// moveTo brings the cursor state to target events applied, walking from
// where it is (replaying forward or undoing backward), from the nearest
// checkpoint at or before target (replaying), or from the one after it or
// the head (undoing), whichever is least work.
func (m *Model) moveTo(target int) {
	cur := m.cur.pos
	if target == cur {
		return
	}
	k := sort.Search(len(m.ckpts), func(i int) bool { return m.ckpts[i].pos > target }) - 1
	ck := m.ckpts[k]
	ml := &m.jr.marks
	at := ml.at(target)
	fromCk := restoreWork + at.cost - ml.cost(ck.pos)
	var walk uint64
	if target > cur {
		walk = at.cost - ml.cost(cur)
	} else {
		walk = ml.cost(cur) - at.cost
	}
	next := m.head
	if k+1 < len(m.ckpts) {
		next = m.ckpts[k+1]
	}
	fromNext := uint64(math.MaxUint64)
	if next.pos > target {
		fromNext = restoreWork + ml.cost(next.pos) - at.cost
	}
	switch {
	case fromNext < fromCk && fromNext < walk:
		if next == m.head {
			m.cur = m.head.fork(m.newEpoch)
		} else {
			m.cur = next.snapshot(m.newEpoch)
		}
		cur = next.pos
	case fromCk < walk:
		m.cur = ck.snapshot(m.newEpoch)
		cur = ck.pos
	}
	for ; cur < target; cur++ {
		if !m.isBad(cur) {
			if err := m.apply(m.cur, m.log.At(cur), false); err != nil {
				panic(fmt.Sprintf("heapview: replaying event %d failed after it applied once: %v", cur, err))
			}
		}
		m.cur.pos = cur + 1
	}
	if cur > target {
		// The records of a run of events undo in one pass, newest first.
		m.cur.undo(&m.jr, at.off, ml.at(cur).off)
		m.cur.pos = target
	}
}

// stateAt returns a state after pos events without moving the cursor.
func (m *Model) stateAt(pos int) *state {
	saved, savedStep := m.cur, m.step
	m.cur = saved.snapshot(m.newEpoch)
	m.moveTo(pos)
	s := m.cur
	m.cur, m.step = saved, savedStep
	return s
}

package heapview

import (
	"errors"
	"fmt"
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
	events []allocator.Event // everything applied, in order; never written
	geo    geometry          // from EvBoot
	steps  []stepRec         // steps[0] is boot; steps[i] begins at the i-th EvStep

	caches   []cacheInfo        // every cache ever created, by id (creation order)
	cacheIDs map[string][]int32 // name -> ids, ascending
	names    []string           // interned API names and paths; names[0] = ""
	nameIDs  map[string]uint16

	reallocs    []reallocRec       // every EvRealloc, by position
	lastLineage map[uint64]uint32  // head pass: address -> lineage of the last allocation freed there
	slabEvents  map[uint64][]int32 // first pfn -> positions of the applied EvSlabNew, EvSlabList, EvObjAlloc and EvObjFree events naming it

	bad       []uint64  // bit set of event positions not applied (anomalies)
	anomalies []Anomaly // why

	jr       journal  // undo records, and each event's marks and replay cost
	head     *state   // after every event, recording the journal
	cur      *state   // under the cursor
	ckpts    []*state // snapshots of head at increasing positions; ckpts[0] at 0
	ckWork   uint64   // work since the last checkpoint
	ckEvery  uint64   // work between checkpoints (ckptWork; tests make it small)
	epoch    uint64   // the last epoch handed out
	step     int      // the step under the cursor
	version  uint64   // changes whenever the cursor moves or events arrive
	bootEnd  uint32   // position+1 of the last block freed in the boot phase
	bootDone bool     // the boot phase (EvBoot, EvReserve, blocks freed at boot) is over
	touch    touchCache
}

// geometry is the machine's shape, from EvBoot.
type geometry struct {
	ram      uint64 // bytes
	pageSize uint64 // bytes
	shift    uint   // log2(pageSize)
	nrPages  uint64 // page frames
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

// stepRec is one script step.
type stepRec struct {
	start  int // position of its EvStep; 0 for boot
	number int // the EvStep's Step field
}

// cacheInfo is a slab cache's fixed geometry, from EvCacheCreate.
type cacheInfo struct {
	name    string
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

// New builds a model from a whole event log, which must begin with the
// machine's boot (allocator.Machine.SetLog hands a new log the boot
// events). The cursor ends on the last step. Events that contradict the
// ones before them are kept but not applied; the error lists them and
// Anomalies returns them. New retains events (without writing them); the
// caller must not change them.
func New(events []allocator.Event) (*Model, error) {
	return newModel(events, ckptWork)
}

func newModel(events []allocator.Event, every uint64) (*Model, error) {
	m := &Model{
		ckEvery:     every,
		cacheIDs:    make(map[string][]int32),
		names:       slices.Clone(fixedNames),
		nameIDs:     map[string]uint16{},
		lastLineage: make(map[uint64]uint32),
		slabEvents:  make(map[uint64][]int32),
		cur:         &state{},
		steps:       []stepRec{{}},
	}
	for i, n := range m.names {
		m.nameIDs[n] = uint16(i)
	}
	if len(events) == 0 {
		return m, nil
	}
	if err := m.boot(&events[0]); err != nil {
		return nil, err
	}
	m.events = events[:len(events):len(events)]
	return m, m.ingest(0, true)
}

// Apply appends events to the model (a live session hands over what the
// machine recorded since the last call). When the cursor was on the last
// step it moves to the new last step. The error reports events that could
// not be applied; see New.
func (m *Model) Apply(events ...allocator.Event) error {
	if len(events) == 0 {
		return nil
	}
	follow := m.head == nil || m.cur.pos == len(m.events)
	if m.head == nil {
		if err := m.boot(&events[0]); err != nil {
			return err
		}
	}
	from := len(m.events)
	m.events = append(m.events, events...)
	return m.ingest(from, follow)
}

// ingest applies the events from position from to the head state.
func (m *Model) ingest(from int, follow bool) error {
	var errs []error
	for pos := from; pos < len(m.events); pos++ {
		e := &m.events[pos]
		if !m.bootDone && e.Kind != allocator.EvBoot && e.Kind != allocator.EvReserve &&
			(e.Kind != allocator.EvPageFree || e.Owner != allocator.OwnerFree) {
			m.bootDone = true
		}
		if e.Kind == allocator.EvStep {
			m.steps = append(m.steps, stepRec{start: pos, number: e.Step})
		}
		m.jr.open = m.jr.here()
		before := m.head.work
		if err := m.apply(m.head, pos, true); err != nil {
			m.jr.truncate(m.jr.open)
			m.setBad(pos)
			a := Anomaly{Seq: e.Seq, Pos: pos, Kind: e.Kind, Err: err}
			m.anomalies = append(m.anomalies, a)
			if len(errs) < 8 {
				errs = append(errs, a)
			}
		} else {
			switch e.Kind {
			case allocator.EvSlabNew, allocator.EvSlabList, allocator.EvObjAlloc, allocator.EvObjFree:
				m.slabEvents[e.PFN] = append(m.slabEvents[e.PFN], int32(pos))
			}
		}
		m.head.pos = pos + 1
		w := m.head.work - before + 1
		m.jr.marks.add(m.jr.here(), m.jr.marks.last.cost+w)
		m.ckWork += w
		if m.ckWork >= m.ckEvery {
			m.ckpts = append(m.ckpts, m.head.snapshot(m.newEpoch))
			m.ckWork = 0
		}
	}
	if len(m.anomalies) > len(errs) && len(errs) == 8 {
		errs = append(errs, fmt.Errorf("and %d more", len(m.anomalies)-8))
	}
	if follow {
		m.cur = m.head.snapshot(m.newEpoch)
		m.step = len(m.steps) - 1
	}
	m.version++
	return errors.Join(errs...)
}

// boot sets the geometry from the first event and creates the empty state.
func (m *Model) boot(e *allocator.Event) error {
	if e.Kind != allocator.EvBoot {
		return fmt.Errorf("heapview: the log begins with a %v event, not the machine's boot; a model needs the whole log from boot", e.Kind)
	}
	ps := uint64(e.Index)
	if ps < 512 || ps&(ps-1) != 0 || e.Size == 0 || e.Size%ps != 0 || e.Size/ps > 1<<31 {
		return fmt.Errorf("heapview: boot event describes %d bytes of RAM in pages of %d bytes, which is not a machine", e.Size, e.Index)
	}
	m.geo = geometry{ram: e.Size, pageSize: ps, shift: uint(bits.TrailingZeros64(ps)), nrPages: e.Size / ps}
	m.steps = []stepRec{{start: 0}}
	m.head = &state{epoch: m.newEpoch(), pages: newVec[pageRec](m.geo.nrPages), inuse: newVec[int32](m.geo.nrPages), jr: &m.jr}
	m.jr.marks = newMarkLog()
	m.ckpts = []*state{m.head.snapshot(m.newEpoch)}
	return nil
}

func (m *Model) newEpoch() uint64 {
	m.epoch++
	return m.epoch
}

func (j *journal) truncate(k mark) {
	j.pages.truncate(int(k.pages))
	j.slabs.truncate(int(k.slabs))
	j.allocs.truncate(int(k.allocs))
	j.areas.truncate(int(k.areas))
	j.caches.truncate(int(k.caches))
	j.nums.truncate(int(k.nums))
	j.counts.truncate(int(k.counts))
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

// Events returns the whole log. It must not be changed.
func (m *Model) Events() []allocator.Event { return m.events }

// Version changes whenever the cursor moves or events are applied, so a
// caller can cache what it rendered.
func (m *Model) Version() uint64 { return m.version }

// Steps returns the number of the last step; steps run from 0 (boot) to
// Steps().
func (m *Model) Steps() int { return len(m.steps) - 1 }

// Step returns the step under the cursor.
func (m *Model) Step() int { return m.step }

// Pos returns the number of events applied under the cursor.
func (m *Model) Pos() int { return m.cur.pos }

// stepSpan returns the events of step s: positions [start, end).
func (m *Model) stepSpan(s int) (int, int) {
	start := m.steps[s].start
	end := len(m.events)
	if s+1 < len(m.steps) {
		end = m.steps[s+1].start
	}
	return start, end
}

// stepOf returns the step that the event at pos belongs to.
func (m *Model) stepOf(pos int) int {
	return sort.Search(len(m.steps), func(i int) bool { return m.steps[i].start > pos }) - 1
}

// Seek puts the cursor at the end of step (0 is boot, Steps() the last):
// the state shows everything the step did. Seeking costs the same whatever
// the length of the history.
func (m *Model) Seek(step int) error {
	if m.head == nil {
		return errors.New("heapview: the model has no events")
	}
	if step < 0 || step >= len(m.steps) {
		return fmt.Errorf("heapview: step %d does not exist (steps run from 0 to %d)", step, len(m.steps)-1)
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
	if pos < 0 || pos > len(m.events) {
		return fmt.Errorf("heapview: event position %d is outside the log (0 to %d)", pos, len(m.events))
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
// where it is (replaying forward or undoing backward) or from the nearest
// checkpoint at or before target, whichever is less work.
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
	if fromCk < walk {
		m.cur = ck.snapshot(m.newEpoch)
		cur = ck.pos
	}
	for ; cur < target; cur++ {
		if !m.isBad(cur) {
			if err := m.apply(m.cur, cur, false); err != nil {
				panic(fmt.Sprintf("heapview: replaying event %d failed after it applied once: %v", cur, err))
			}
		}
		m.cur.pos = cur + 1
	}
	if cur > target {
		// The records of a run of events undo in one pass, newest first.
		m.cur.undo(&m.jr, at.mark, ml.at(cur).mark)
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

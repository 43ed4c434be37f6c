package heapview

import (
	"fmt"
	"testing"

	"github.com/allocviz/allocviz/allocator"
)

// builder writes event sequences by hand on top of a real machine's boot,
// for the allocators whose events the model must understand before their
// implementations exist. Page numbers follow a 4 MiB machine: pfn 0..255
// reserved, an order-8 block at 256 and an order-9 block at 512. The
// events are kept field by field, so that tests can cut and change them;
// log turns them into a log.
type builder struct {
	t      testing.TB
	ev     []allocator.Fields
	step   int
	cpu    int
	pageSz uint64
}

func newBuilder(t testing.TB) *builder {
	t.Helper()
	m, err := allocator.NewMachine(allocator.Config{RAM: 4 * allocator.MiB})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	boot := &allocator.EventLog{}
	m.SetLog(boot)
	// The boot's kmalloc caches are left out: the tests declare the caches
	// they use with the geometry they need.
	var ev []allocator.Fields
	for e := range boot.Events(0, boot.Len()) {
		if e.Kind() != allocator.EvCacheCreate {
			ev = append(ev, e.Fields())
		}
	}
	return &builder{t: t, ev: ev, pageSz: m.PageSize()}
}

func (b *builder) add(e allocator.Fields) {
	if e.Kind != allocator.EvStep {
		e.Step = b.step
	}
	e.CPU = b.cpu
	b.ev = append(b.ev, e)
}

func (b *builder) begin(op string) {
	b.step++
	b.add(allocator.Fields{Kind: allocator.EvStep, Step: b.step, Src: fmt.Sprintf("t.star:%d:1", b.step), Op: op})
}

func (b *builder) addr(pfn uint64) allocator.Addr {
	return allocator.DirectMapBase + allocator.Addr(pfn*b.pageSz)
}

// take splits the free block of order from at pfn down to order and
// allocates its first pages to owner.
func (b *builder) take(pfn uint64, from, order int, owner allocator.Owner, gfp allocator.GFP) {
	for o := from; o > order; o-- {
		b.add(allocator.Fields{Kind: allocator.EvSplit, PFN: pfn, Order: o})
	}
	b.add(allocator.Fields{Kind: allocator.EvPageAlloc, PFN: pfn, Order: order, Owner: owner, GFP: gfp,
		Addr: b.addr(pfn), Bytes: b.pageSz << order, Text: "taken"})
}

// log returns the builder's events as a log.
func (b *builder) log() *allocator.EventLog {
	b.t.Helper()
	return logOf(b.t, b.ev)
}

func (b *builder) model() *Model {
	b.t.Helper()
	hv, err := New(b.log())
	if err != nil {
		b.t.Fatal(err)
	}
	return hv
}

func (b *builder) cache(name string, size uint64, order, perSlab int) {
	b.add(allocator.Fields{Kind: allocator.EvCacheCreate, Cache: name, Size: size, Bytes: size, Order: order, Objects: perSlab, Text: "geometry"})
}

// logOf builds a log from events written out field by field. Each event's
// step is made the log's (an EvStep keeps its number).
func logOf(t testing.TB, evs []allocator.Fields) *allocator.EventLog {
	t.Helper()
	log := &allocator.EventLog{}
	step := 0
	for i, f := range evs {
		if f.Kind == allocator.EvStep {
			step = f.Step
		} else {
			f.Step = step
		}
		if _, err := log.Append(f); err != nil {
			t.Fatalf("event %d: %v", i+1, err)
		}
	}
	return log
}

// prefix returns a log of the first n events of log.
func prefix(t testing.TB, log *allocator.EventLog, n int) *allocator.EventLog {
	return sub(t, log, 0, n)
}

// sub returns a log of events [from, to) of log.
func sub(t testing.TB, log *allocator.EventLog, from, to int) *allocator.EventLog {
	t.Helper()
	var evs []allocator.Fields
	for e := range log.Events(from, to) {
		evs = append(evs, e.Fields())
	}
	return logOf(t, evs)
}

package heapview

import (
	"fmt"
	"testing"

	"github.com/allocviz/allocviz/allocator"
)

// builder writes event sequences by hand on top of a real machine's boot,
// for the allocators whose events the model must understand before their
// implementations exist. Page numbers follow a 4 MiB machine: pfn 0..255
// reserved, an order-8 block at 256 and an order-9 block at 512.
type builder struct {
	t      testing.TB
	ev     []allocator.Event
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
	// The boot's kmalloc caches are left out: the tests declare the caches
	// they use with the geometry they need.
	var ev []allocator.Event
	for _, e := range m.BootEvents() {
		if e.Kind != allocator.EvCacheCreate {
			e.Seq = uint64(len(ev) + 1)
			ev = append(ev, e)
		}
	}
	return &builder{t: t, ev: ev, pageSz: m.PageSize()}
}

func (b *builder) add(e allocator.Event) {
	e.Seq = uint64(len(b.ev) + 1)
	e.Step = b.step
	e.CPU = b.cpu
	b.ev = append(b.ev, e)
}

func (b *builder) begin(op string) {
	b.step++
	b.add(allocator.Event{Kind: allocator.EvStep, Src: fmt.Sprintf("t.star:%d:1", b.step), Op: op})
}

func (b *builder) addr(pfn uint64) allocator.Addr {
	return allocator.DirectMapBase + allocator.Addr(pfn*b.pageSz)
}

// take splits the free block of order from at pfn down to order and
// allocates its first pages to owner.
func (b *builder) take(pfn uint64, from, order int, owner allocator.Owner, gfp allocator.GFP) {
	for o := from; o > order; o-- {
		b.add(allocator.Event{Kind: allocator.EvSplit, PFN: pfn, Order: o})
	}
	b.add(allocator.Event{Kind: allocator.EvPageAlloc, PFN: pfn, Order: order, Owner: owner, GFP: gfp,
		Addr: b.addr(pfn), Bytes: b.pageSz << order, Text: "taken"})
}

func (b *builder) model() *Model {
	b.t.Helper()
	hv, err := New(b.ev)
	if err != nil {
		b.t.Fatal(err)
	}
	return hv
}

func (b *builder) cache(name string, size uint64, order, perSlab int) {
	b.add(allocator.Event{Kind: allocator.EvCacheCreate, Cache: name, Size: size, Bytes: size, Order: order, Index: perSlab, Text: "geometry"})
}

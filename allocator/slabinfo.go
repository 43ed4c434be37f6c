package allocator

import (
	"fmt"
	"strings"
)

// slabinfoHeader is print_slabinfo_header() of a SLUB kernel.
const slabinfoHeader = "slabinfo - version: 2.1\n" +
	"# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab>" +
	" : tunables <limit> <batchcount> <sharedfactor>" +
	" : slabdata <active_slabs> <num_slabs> <sharedavail>\n"

// SlabinfoRow is one line of /proc/slabinfo as SLUB's get_slabinfo()
// fills it.
type SlabinfoRow struct {
	Name         string
	ActiveObjs   uint64 // num_objs minus the free objects on the node partial list
	NumObjs      uint64 // objects in every slab of the cache
	ObjSize      uint64 // bytes: s->size
	ObjPerSlab   int    // oo_objects(s->oo)
	PagesPerSlab int    // 1 << oo_order(s->oo)
	Slabs        uint64 // active_slabs == num_slabs
}

// String formats the row as cache_show() does: "%-17s %6lu %6lu %6u %4u
// %4d", then " : tunables %4u %4u %4u" and " : slabdata %6lu %6lu %6lu",
// with SLUB's tunables and sharedavail all 0.
func (r SlabinfoRow) String() string {
	return fmt.Sprintf("%-17s %6d %6d %6d %4d %4d : tunables %4d %4d %4d : slabdata %6d %6d %6d\n",
		r.Name, r.ActiveObjs, r.NumObjs, r.ObjSize, r.ObjPerSlab, r.PagesPerSlab, 0, 0, 0, r.Slabs, r.Slabs, 0)
}

// SlabinfoRows returns the rows of /proc/slabinfo in the kernel's order:
// the cache list, newest first, so the boot kmalloc caches come last.
func (m *Machine) SlabinfoRows() []SlabinfoRow {
	ss := &m.slub
	rows := make([]SlabinfoRow, 0, len(ss.caches))
	for i := len(ss.caches) - 1; i >= 0; i-- {
		s := ss.caches[i]
		if s.destroyed {
			continue
		}
		free := 0
		for sl := s.partial.head; sl != nil; sl = sl.lnext {
			free += sl.objects - sl.inuse
		}
		rows = append(rows, SlabinfoRow{Name: s.name, ActiveObjs: uint64(s.totalObjects - free), NumObjs: uint64(s.totalObjects),
			ObjSize: s.size, ObjPerSlab: s.objects, PagesPerSlab: 1 << s.order, Slabs: uint64(s.nrSlabs)})
	}
	return rows
}

// Slabinfo renders /proc/slabinfo, format 2.1, with every cache even when
// empty. active_objs is what SLUB reports: it counts free objects on CPU
// slabs and per-CPU partial slabs as active, and subtracts only the free
// objects of node partial slabs.
func (m *Machine) Slabinfo() string {
	var b strings.Builder
	b.WriteString(slabinfoHeader)
	for _, r := range m.SlabinfoRows() {
		b.WriteString(r.String())
	}
	return b.String()
}

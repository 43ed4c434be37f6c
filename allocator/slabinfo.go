package allocator

import (
	"fmt"
	"strconv"
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

// ParseSlabinfo reads /proc/slabinfo, format 2.1, as a SLUB kernel prints
// it: the header lines, then one row per cache. Errors name the line.
func ParseSlabinfo(text string) ([]SlabinfoRow, error) {
	var rows []SlabinfoRow
	for i, line := range strings.Split(text, "\n") {
		if line == "" || strings.HasPrefix(line, "slabinfo - ") || strings.HasPrefix(line, "#") {
			continue
		}
		r, err := ParseSlabinfoLine(line)
		if err != nil {
			return nil, fmt.Errorf("slabinfo line %d: %w", i+1, err)
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// ParseSlabinfoLine reads one row of /proc/slabinfo.
func ParseSlabinfoLine(line string) (SlabinfoRow, error) {
	f := strings.Fields(line)
	if len(f) != 16 || f[6] != ":" || f[7] != "tunables" || f[11] != ":" || f[12] != "slabdata" {
		return SlabinfoRow{}, fmt.Errorf("not a slabinfo 2.1 row: %q", line)
	}
	var n [16]uint64
	for _, i := range []int{1, 2, 3, 4, 5, 8, 9, 10, 13, 14, 15} {
		v, err := strconv.ParseUint(f[i], 10, 64)
		if err != nil {
			return SlabinfoRow{}, fmt.Errorf("%q: field %d is not a number", line, i+1)
		}
		n[i] = v
	}
	return SlabinfoRow{Name: f[0], ActiveObjs: n[1], NumObjs: n[2], ObjSize: n[3], ObjPerSlab: int(n[4]),
		PagesPerSlab: int(n[5]), Slabs: n[13]}, nil
}

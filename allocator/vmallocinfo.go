package allocator

import (
	"fmt"
	"strings"
)

// Vmallocinfo renders /proc/vmallocinfo as root reads it (mm/vmalloc.c
// vmalloc_info_show, 6.9+): for each vmap node in turn, its busy areas in
// address order, one line each:
//
//	0xffffc90000000000-0xffffc90000004000   16384 vmalloc pages=3 vmalloc N0=3
//
// start and end (end includes the guard page), the size with the guard
// page ("%7ld"), the caller, pages=N, the flag words and the per-NUMA-node
// page counts (one node here). Then, node by node, the lazily freed areas
// as "unpurged vm_area". An area belongs to vmap node
// (start / (16 pages)) % nr_vmap_nodes, with nr_vmap_nodes the CPU count
// (at most 128); a freed area waits on the list of the node of the CPU
// that allocated it.
func (m *Machine) Vmallocinfo() string {
	v := &m.vm
	var b strings.Builder
	zone := 16 * m.pageSize
	for node := 0; node < v.nodes; node++ {
		for _, a := range v.busy {
			if int(m.winOff(a.start)/zone%uint64(v.nodes)) != node {
				continue
			}
			fmt.Fprintf(&b, "0x%016x-0x%016x %7d", uint64(a.start), uint64(a.start)+a.size, a.size)
			if a.caller.ret != "" {
				b.WriteString(" " + a.caller.ret)
			}
			if n := len(a.pfns); n > 0 {
				fmt.Fprintf(&b, " pages=%d", n)
			}
			if w := m.vmFlagWords(a); w != "" {
				b.WriteString(" " + w)
			}
			if n := len(a.pfns); n > 0 && a.flags&VMUninitialized == 0 {
				fmt.Fprintf(&b, " N0=%d", n)
			}
			b.WriteByte('\n')
		}
	}
	for node := 0; node < v.nodes; node++ {
		for _, a := range v.lazy {
			if a.node != node {
				continue
			}
			fmt.Fprintf(&b, "0x%016x-0x%016x %7d unpurged vm_area\n", uint64(a.start), uint64(a.start)+a.size, a.size)
		}
	}
	return b.String()
}

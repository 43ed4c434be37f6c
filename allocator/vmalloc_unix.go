//go:build unix

package allocator

import (
	"fmt"
	"math"
	"os"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// vmWindow is the host address range that stands for the kernel's vmalloc
// space: kernel address VmallocStart+off is host address base+off. The
// whole range is reserved PROT_NONE at boot, so that nothing else in the
// process can be placed there and an untouched address faults; a vmap
// area's pages are mapped over the reservation, one run of consecutive
// page frames of the RAM file at a time, and put back to PROT_NONE when
// the area is freed. Guard pages are simply never mapped.
type vmWindow struct {
	base unsafe.Pointer // host address of VmallocStart; owned, unmapped by release
	size uint64         // bytes reserved; immutable after reserve
	mem  []byte         // the whole window; touching an unmapped page faults
}

// reserveFlags reserve address space without memory or swap behind it.
const reserveFlags = unix.MAP_PRIVATE | unix.MAP_ANON | mapNoReserve

// reserve takes size bytes of host address space, PROT_NONE.
func (w *vmWindow) reserve(size uint64) error {
	p, err := unix.MmapPtr(-1, 0, nil, uintptr(size), unix.PROT_NONE, reserveFlags)
	if err != nil {
		return fmt.Errorf("reserve vmalloc window of %s: %w", FormatBytes(size), os.NewSyscallError("mmap", err))
	}
	w.base, w.size = p, size
	w.mem = unsafe.Slice((*byte)(p), size)
	return nil
}

// mapFile maps n bytes of the file fd from offset off at window offset at,
// shared and read-write, replacing what was there. Both views then share
// the bytes.
func (w *vmWindow) mapFile(at uint64, fd int, off, n uint64) error {
	want := unsafe.Add(w.base, at)
	p, err := unix.MmapPtr(fd, int64(off), want, uintptr(n), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_FIXED)
	if err != nil {
		return os.NewSyscallError("mmap", err)
	}
	if p != want {
		throw("vmWindow.mapFile", fmt.Sprintf("MAP_FIXED mapping landed at %p, not %p", p, want))
	}
	return nil
}

// unmap puts the PROT_NONE reservation back over [at, at+n), dropping any
// file mapping there. The range stays ours.
func (w *vmWindow) unmap(at, n uint64) error {
	want := unsafe.Add(w.base, at)
	p, err := unix.MmapPtr(-1, 0, want, uintptr(n), unix.PROT_NONE, reserveFlags|unix.MAP_FIXED)
	if err != nil {
		return os.NewSyscallError("mmap", err)
	}
	if p != want {
		throw("vmWindow.unmap", fmt.Sprintf("MAP_FIXED reservation landed at %p, not %p", p, want))
	}
	return nil
}

// offsetOf returns the window offset of a host address, if it is inside.
func (w *vmWindow) offsetOf(host uintptr) (uint64, bool) {
	b := uintptr(w.base)
	if w.base == nil || host < b || host-b >= uintptr(w.size) {
		return 0, false
	}
	return uint64(host - b), true
}

// release unmaps the whole window, file mappings included. Idempotent.
func (w *vmWindow) release() error {
	if w.base == nil {
		return nil
	}
	err := unix.MunmapPtr(w.base, uintptr(w.size))
	w.base, w.size, w.mem = nil, 0, nil
	if err != nil {
		return fmt.Errorf("release vmalloc window: %w", os.NewSyscallError("munmap", err))
	}
	return nil
}

// Host mappings. The host limits how many mappings one process may have
// (vm.max_map_count, 65530 by default), and the Go runtime needs some of
// them to grow its heap: if vmap areas took them all, the next heap growth
// would kill the process with "fatal error: out of memory". Each run of
// pages an area maps costs up to two (the mapping itself, and the split
// of the PROT_NONE reservation around it), so 32,733 one-page areas are
// enough. hostRuns counts the runs mapped by every machine of the process
// (a process-wide count of a process-wide resource, hence a package
// variable), and takeRuns refuses a mapping that would leave fewer than
// hostMapMargin mappings to everything else.
var hostRuns atomic.Int64

// hostMapMargin is the mappings left to the Go runtime and the rest of
// the process, for a limit of limit: an eighth of it, at least 4096.
func hostMapMargin(limit int64) int64 { return max(4096, limit/8) }

// maxHostRuns is how many runs vmap areas may map in all.
func maxHostRuns() int64 {
	limit := hostMapLimit()
	if limit <= 0 {
		return math.MaxInt64
	}
	return max((limit-hostMapMargin(limit))/2, 0)
}

// takeRuns counts n more runs mapped, or refuses, saying why.
func takeRuns(n int) error {
	most := maxHostRuns()
	for {
		cur := hostRuns.Load()
		if cur+int64(n) > most {
			limit := hostMapLimit()
			return fmt.Errorf("the host allows %d mappings per process (vm.max_map_count); allocviz keeps %d for the Go runtime, and vmap areas already map %d runs of pages, up to two mappings each, of the %d they may",
				limit, hostMapMargin(limit), cur, most)
		}
		if hostRuns.CompareAndSwap(cur, cur+int64(n)) {
			return nil
		}
	}
}

// giveRuns counts n runs unmapped.
func giveRuns(n int) { hostRuns.Add(-int64(n)) }

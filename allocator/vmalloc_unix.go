//go:build unix

package allocator

import (
	"fmt"
	"os"
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

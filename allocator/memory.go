//go:build unix

package allocator

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"

	"golang.org/x/sys/unix"
)

// physMem is simulated physical RAM: a memory file mapped once, shared and
// read-write, as the direct map. Page frame pfn is ram[pfn*PAGE_SIZE:].
// The vmalloc window (vmalloc.go) maps single pages of the same file again,
// so both views share the bytes.
type physMem struct {
	fd  int    // the RAM file; owned, closed by close
	ram []byte // the direct map: the whole file, MAP_SHARED; owned, unmapped by close
}

func newPhysMem(size int64) (*physMem, error) {
	fd, err := openRAMFile(size)
	if err != nil {
		return nil, err
	}
	ram, err := unix.Mmap(fd, 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("map ram file: %w", os.NewSyscallError("mmap", err))
	}
	return &physMem{fd: fd, ram: ram}, nil
}

// close unmaps and closes; it is idempotent.
func (p *physMem) close() error {
	var errs []error
	if p.ram != nil {
		if err := unix.Munmap(p.ram); err != nil {
			errs = append(errs, fmt.Errorf("unmap ram: %w", err))
		}
		p.ram = nil
	}
	if p.fd >= 0 {
		if err := unix.Close(p.fd); err != nil {
			errs = append(errs, fmt.Errorf("close ram file: %w", err))
		}
		p.fd = -1
	}
	return errors.Join(errs...)
}

// faultError is a real memory fault caught while copying.
type faultError struct {
	hostAddr uintptr // the host address that faulted
}

func (e *faultError) Error() string {
	return fmt.Sprintf("memory fault at host address %#x", e.hostAddr)
}

// recoverFault runs do, turning a hardware fault (SIGSEGV/SIGBUS on a
// PROT_NONE guard page, say) into a *faultError instead of a crash. It
// uses debug.SetPanicOnFault on the calling goroutine, which the Go
// runtime provides for exactly this: memory-mapped data that may fault.
func recoverFault(do func()) (err error) {
	old := debug.SetPanicOnFault(true)
	defer func() {
		debug.SetPanicOnFault(old)
		if r := recover(); r != nil {
			if f, ok := r.(interface{ Addr() uintptr }); ok {
				err = &faultError{hostAddr: f.Addr()}
				return
			}
			panic(r)
		}
	}()
	do()
	return nil
}

// safeCopy copies src to dst under recoverFault. n is 0 after a fault.
func safeCopy(dst, src []byte) (n int, err error) {
	err = recoverFault(func() { n = copy(dst, src) })
	return n, err
}

// safeFill sets every byte of dst to b under recoverFault.
func safeFill(dst []byte, b byte) error {
	return recoverFault(func() {
		for i := range dst {
			dst[i] = b
		}
	})
}

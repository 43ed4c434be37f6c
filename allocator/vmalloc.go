package allocator

import "fmt"

// vmallocState holds the vmalloc window and its areas. Filled in by the
// vmalloc implementation.
type vmallocState struct{}

// vmArea is one vmap area (struct vm_struct + vmap_area).
type vmArea struct{}

func (m *Machine) initVmalloc() error  { return nil }
func (m *Machine) closeVmalloc() error { return nil }

// vmallocSpan returns the host memory behind [addr, addr+n) in the vmalloc
// window.
func (m *Machine) vmallocSpan(addr Addr, n int) ([]byte, error) {
	return nil, fmt.Errorf("%w: %v is not mapped", ErrBadAddress, addr)
}

// faulted reports a real memory fault at addr (an access of n bytes that
// began there) as an event and returns the error for the caller.
func (m *Machine) faulted(addr Addr, n int, f *faultError) error {
	return fmt.Errorf("%w at %v: %v", ErrFault, addr, f)
}

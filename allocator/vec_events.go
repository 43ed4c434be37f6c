package allocator

import (
	"errors"
	"fmt"
)

// This file holds what Box and Vec share: how they name themselves in
// events, how an event is linked to the realloc it caused, and how the
// allocator's decision is told in a sentence.

// logMark returns where the event log stands, so that reallocSince can
// find what an allocator call recorded; -1 when recording is off.
func (m *Machine) logMark() int {
	if m.log == nil {
		return -1
	}
	return m.log.Len()
}

// reallocSince returns the Seq and the decision of the last EvRealloc
// recorded since mark: the outermost decision of the allocator call made
// after logMark (kvrealloc's, not that of the krealloc it tried first).
func (m *Machine) reallocSince(mark int) (uint64, *ReallocInfo) {
	if mark < 0 || m.log == nil || mark > m.log.Len() {
		return 0, nil
	}
	for i := m.log.Len() - 1; i >= mark; i-- {
		if e := m.log.At(i); e.Kind() == EvRealloc {
			r, _ := e.Realloc()
			return e.Seq(), &r
		}
	}
	return 0, nil
}

// emitVecOp records an EvVecOp: a Vec or Box operation op on the buffer
// at ptr, with len elements, bytes of capacity (capacity elements), the
// realloc it caused and the rule.
func (m *Machine) emitVecOp(op string, ptr Addr, length, bytes uint64, capacity int, cause uint64, info *ReallocInfo, text string) {
	if m.log == nil {
		return
	}
	v := vecRec{cause: cause, text: m.str(text)}
	if info != nil {
		v.realloc = m.log.addRealloc(info)
	}
	m.log.vecs.Push(v)
	c := uint64(int64(capacity))
	m.emit(record{kind: EvVecOp, s1: m.str(op), addr: ptr, size: length, bytes: bytes, n: int32(uint32(c)), pfn: uint32(c >> 32),
		s2: StrID(m.log.vecs.Len())})
}

// containerName is how the kernel spells a Box or Vec over allocator a:
// the alias where there is one (KVec<u8>, VBox<Huge>), else the generic
// form (Vec<u8, Cmalloc>).
func containerName(kind string, a Allocator, elem string) string {
	prefix := ""
	switch a.Name() {
	case "Kmalloc":
		prefix = "K"
	case "Vmalloc":
		prefix = "V"
	case "KVmalloc":
		prefix = "KV"
	default:
		return fmt.Sprintf("%s<%s, %s>", kind, elem, a.Name())
	}
	return fmt.Sprintf("%s%s<%s>", prefix, kind, elem)
}

// describeRealloc tells an allocator's realloc decision in a clause:
// "krealloc moved it to kmalloc-16 (copied 8 bytes)".
func describeRealloc(info *ReallocInfo) string {
	if info == nil {
		return "the allocator recorded no realloc decision"
	}
	fn := info.Func
	if fn == "" {
		fn = "realloc"
	}
	in, to := "", ""
	if info.Bucket != "" {
		in, to = " in "+info.Bucket, " to "+info.Bucket
	}
	switch info.Decision {
	case DecisionGrownInPlace:
		return fmt.Sprintf("%s grew it in place%s", fn, in)
	case DecisionShrunkInPlace:
		return fmt.Sprintf("%s kept it in place%s", fn, in)
	case DecisionMoved:
		if info.Copied > 0 {
			return fmt.Sprintf("%s moved it%s (copied %d bytes)", fn, to, info.Copied)
		}
		return fmt.Sprintf("%s moved it%s", fn, to)
	case DecisionNew:
		return fmt.Sprintf("%s made a new allocation%s", fn, in)
	case DecisionFreed:
		return fmt.Sprintf("%s freed it", fn)
	case DecisionFailed:
		return fmt.Sprintf("%s failed", fn)
	}
	return fmt.Sprintf("%s: %v", fn, info.Decision)
}

// asAllocError makes sure an allocator failure reaches the caller as an
// *AllocError, as the Allocator contract promises.
func asAllocError(err error) error {
	var ae *AllocError
	if errors.As(err, &ae) {
		return ae
	}
	return &AllocError{Err: err}
}

package allocator

import (
	"errors"
	"fmt"
	"strings"
)

// kvmalloc: physically contiguous memory from kmalloc when it
// can be had cheaply, virtually contiguous memory from vmalloc otherwise.
//
// Allocating (__kvmalloc_node_noprof; mm/util.c in 6.12, mm/slub.c later):
//
//  1. The kmalloc attempt, with kmalloc_gfp_adjust()'s flags: above
//     PAGE_SIZE no warning, no hard retry (6.12: __GFP_NORETRY; 6.16+: no
//     direct reclaim) and no __GFP_NOFAIL, since vmalloc can take over.
//     The attempt is made whatever the alignment: a v13 revision of the
//     6.17 node/align series skipped it when size < align, but the merged
//     code (mm/slub.c, as later patches show it) calls kmalloc
//     unconditionally and relies on callers padding the size to the
//     alignment (Rust's Kmalloc::aligned_layout).
//  2. Success, or a failure at one page or less, is the answer: there is
//     no vmalloc fallback for sub-page requests.
//  3. Flags that cannot block (no __GFP_DIRECT_RECLAIM: GFP_ATOMIC,
//     GFP_NOWAIT) get no fallback, for vmalloc may sleep.
//  4. Sizes above INT_MAX get none either (WARN_ON_ONCE unless
//     __GFP_NOWARN).
//  5. Otherwise vmalloc with VM_ALLOW_HUGE_VMAP: order-0 pages one at a
//     time, so fragmentation that defeats the kmalloc attempt does not
//     matter.
//
// Freeing (kvfree): is_vmalloc_addr() picks vfree, anything else kfree.
//
// Resizing (kvrealloc_node_align_noprof): vmalloc memory stays vmalloc
// (vrealloc). Anything else goes to krealloc with the adjusted flags; if
// that fails, kvmalloc (which may fall back to vmalloc), a copy of ksize(p)
// bytes (2026 fix: min(size, ksize(p))) and kfree(p).
//
// Nothing here is modelled beyond the kernel's own rules: the buddy
// allocator has no reclaim or compaction, so a kmalloc attempt fails
// exactly when no free block of its order exists, whatever its flags ask.

// intMax is INT_MAX, the largest size kvmalloc lets through to vmalloc.
const intMax = 1<<31 - 1

// kvState is the kvmalloc part of the machine, owned by its goroutine.
type kvState struct {
	warnedIntMax bool // WARN_ON_ONCE(!(flags & __GFP_NOWARN)) for a size above INT_MAX has fired

	// kvrealloc's nesting: while within is set, every realloc decision
	// is stamped with it, and the last one is kept in inner (with its
	// text) for kvrealloc's own decision. Set only around one call.
	within    string
	inner     ReallocInfo
	innerText string
}

// nestRealloc returns a copy of info for an EvRealloc, stamped with the
// call it is part of, and keeps it when a kvrealloc is listening.
func (m *Machine) nestRealloc(info *ReallocInfo, text string) *ReallocInfo {
	r := *info
	r.Within = m.kv.within
	if r.Within != "" {
		m.kv.inner, m.kv.innerText = r, text
	}
	return &r
}

// nested runs f (one krealloc or vrealloc) as part of kvrealloc and
// returns the decision it recorded, when events are on.
func (m *Machine) nested(f func()) (ReallocInfo, string) {
	m.kv.within, m.kv.inner, m.kv.innerText = "kvrealloc", ReallocInfo{}, ""
	defer func() { m.kv.within = "" }()
	f()
	return m.kv.inner, m.kv.innerText
}

// kmallocGFPAdjust is kmalloc_gfp_adjust(flags, size) of the machine's
// profile: sizes up to PAGE_SIZE pass through; above it __GFP_NOWARN is
// added, __GFP_NOFAIL cleared ("nofail semantic is implemented by the
// vmalloc fallback"), and unless __GFP_RETRY_MAYFAIL is set 6.12 adds
// __GFP_NORETRY where 6.16+ (46459154f997) clears __GFP_DIRECT_RECLAIM.
func (m *Machine) kmallocGFPAdjust(gfp GFP, size uint64) GFP {
	if size <= m.pageSize {
		return gfp
	}
	gfp |= GFPNoWarn
	if gfp&GFPRetryMayfail == 0 {
		if m.cfg.Profile == Profile612 {
			gfp |= GFPNoRetry
		} else {
			gfp &^= GFPDirectReclaim
		}
	}
	return gfp &^ GFPNoFail
}

// KmallocGFPAdjust returns the flags kvmalloc's kmalloc attempt uses for
// a request of size bytes with gfp (kmalloc_gfp_adjust).
func (m *Machine) KmallocGFPAdjust(gfp GFP, size uint64) GFP { return m.kmallocGFPAdjust(gfp, size) }

// adjustRule says what kmalloc_gfp_adjust did.
func (m *Machine) adjustRule(gfp, adj GFP, size uint64) string {
	if size <= m.pageSize {
		return "the caller's flags, unchanged for one page or less"
	}
	var did []string
	if gfp&GFPNoWarn == 0 {
		did = append(did, "__GFP_NOWARN added")
	}
	if adj&GFPNoRetry != 0 && gfp&GFPNoRetry == 0 {
		did = append(did, "__GFP_NORETRY added")
	}
	if gfp&GFPDirectReclaim != 0 && adj&GFPDirectReclaim == 0 {
		did = append(did, "__GFP_DIRECT_RECLAIM cleared")
	}
	if gfp&GFPNoFail != 0 {
		did = append(did, "__GFP_NOFAIL cleared")
	}
	if gfp&GFPRetryMayfail != 0 {
		did = append(did, "__GFP_RETRY_MAYFAIL kept, so it may retry")
	}
	if len(did) == 0 {
		return fmt.Sprintf("%v (kmalloc_gfp_adjust had nothing to change)", adj)
	}
	return fmt.Sprintf("%v (kmalloc_gfp_adjust above PAGE_SIZE: %s)", adj, strings.Join(did, ", "))
}

// kmallocAttempt names the kmalloc a request of size bytes makes.
func (m *Machine) kmallocAttempt(size uint64, gfp GFP) string {
	if s := m.KmallocCacheFor(size, gfp); s != nil {
		return "kmalloc attempt from " + s.name
	}
	if size == 0 {
		return "kmalloc(0) attempt"
	}
	return fmt.Sprintf("kmalloc order-%d attempt", m.getOrder(size))
}

// allocFailure says why an allocation failed: for want of a block of
// some order, or the error's own words.
func allocFailure(err error) string {
	var pe *PageAllocError
	if errors.As(err, &pe) {
		switch {
		case pe.Order > MaxPageOrder || pe.Order < 0:
			return fmt.Sprintf("order %d exceeds MAX_PAGE_ORDER (%d)", pe.Order, MaxPageOrder)
		case pe.Largest < 0:
			return "no free page at all"
		}
		return fmt.Sprintf("largest free block is order %d", pe.Largest)
	}
	return err.Error()
}

// KVmalloc is kvmalloc(size, gfp): kmalloc, and above one page vmalloc if
// kmalloc fails and the flags may block (see the rules at the top of
// kvmalloc.go). It returns a direct-map or a vmalloc address; kvmalloc(0)
// in 6.12 is ZeroSizePtr. On failure it returns 0 and an error matching
// ErrNoMemory (ErrBadSize for what vmalloc refuses by size). Every call
// ends with an EvKvmalloc naming the path and why.
func (m *Machine) KVmalloc(size uint64, gfp GFP) (Addr, error) {
	return m.kvmallocNode(size, 1, gfp, callerKvmalloc)
}

// KVmallocAlign is kvmalloc_node_align(size, align, gfp, NUMA_NO_NODE)
// (6.17+): KVmalloc that passes align to the vmalloc fallback. kmalloc itself honours align only as far as
// its natural alignment does, which a size that is a multiple of align
// (Kmalloc::aligned_layout) guarantees. align must be a power of two. In
// Profile612, which has no such function, alignments up to PAGE_SIZE are
// what kvmalloc gives anyway and are accepted; larger ones are refused.
func (m *Machine) KVmallocAlign(size, align uint64, gfp GFP) (Addr, error) {
	if !isPowerOfTwo(align) {
		return 0, fmt.Errorf("%w: kvmalloc alignment %d is not a power of two", ErrBadSize, align)
	}
	if m.cfg.Profile == Profile612 {
		if align > m.pageSize {
			text := fmt.Sprintf("kvmalloc in 6.12 takes no alignment, and %d is above PAGE_SIZE (%d), which is all it gives", align, m.pageSize)
			m.Misuse(0, text)
			return 0, fmt.Errorf("%w: %s", ErrBadSize, text)
		}
		align = 1
	}
	return m.kvmallocNode(size, align, gfp, callerKvmalloc)
}

// kvmallocNode is __kvmalloc_node_noprof: align is 1 for plain kvmalloc
// and in Profile612.
func (m *Machine) kvmallocNode(size, align uint64, gfp GFP, caller vmCaller) (Addr, error) {
	op := func() string {
		if align > 1 {
			return fmt.Sprintf("kvmalloc_node_align(%d, %d, %v)", size, align, gfp)
		}
		return fmt.Sprintf("kvmalloc(%d, %v)", size, gfp)
	}
	var why string
	adj := m.kmallocGFPAdjust(gfp, size)
	p, kerr := m.Kmalloc(size, adj)
	if kerr == nil {
		if m.tracing() {
			m.kvEvent(p, size, gfp, "kmalloc", fmt.Sprintf("%s: %s with %s succeeded, so no vmalloc", op(), m.kmallocAttempt(size, adj), m.adjustRule(gfp, adj, size)))
		}
		return p, nil
	}
	if m.tracing() {
		why = fmt.Sprintf("%s failed: %s (flags %v)", m.kmallocAttempt(size, adj), allocFailure(kerr), adj)
	}
	if size <= m.pageSize {
		if m.tracing() {
			m.kvEvent(0, size, gfp, "kmalloc failed", fmt.Sprintf("%s: %s; no vmalloc fallback for one page or less: NULL", op(), why))
		}
		return 0, fmt.Errorf("%s: no vmalloc fallback for one page or less: %w", op(), kerr)
	}
	if !gfp.AllowBlocking() {
		if m.tracing() {
			m.kvEvent(0, size, gfp, "no fallback", fmt.Sprintf("%s: %s; %v cannot block (no __GFP_DIRECT_RECLAIM) and vmalloc may sleep, so no vmalloc fallback: NULL", op(), why, gfp))
		}
		return 0, fmt.Errorf("%w: %s: the flags cannot block, so no vmalloc fallback (kmalloc: %v)", ErrNoMemory, op(), kerr)
	}
	if size > intMax {
		if !gfp.NoWarn() && !m.kv.warnedIntMax {
			m.kv.warnedIntMax = true
			m.warn(fmt.Sprintf("WARNING: %s: __kvmalloc_node_noprof: WARN_ON_ONCE(!(flags & __GFP_NOWARN))", m.kvmallocFile()))
		}
		if m.tracing() {
			m.kvEvent(0, size, gfp, "no fallback", fmt.Sprintf("%s: %s; %d bytes is above INT_MAX (%d), too large for the vmalloc fallback: NULL", op(), why, size, intMax))
		}
		return 0, fmt.Errorf("%w: %s: above INT_MAX, so no vmalloc fallback", ErrNoMemory, op())
	}
	q, err := m.vmallocNodeRange(size, align, gfp, VMAllowHugeVmap, caller)
	if err != nil {
		if m.tracing() {
			m.kvEvent(0, size, gfp, "vmalloc fallback failed", fmt.Sprintf("%s: %s; the vmalloc fallback failed too: %v", op(), why, err))
		}
		return 0, fmt.Errorf("%s: vmalloc fallback: %w", op(), err)
	}
	if m.tracing() {
		a := m.vm.busy[mustFindArea(m.vm.busy, q)]
		m.kvEvent(q, size, gfp, "vmalloc fallback", fmt.Sprintf("%s: %s; fell back to vmalloc: %s at %v", op(), why, describePFNs(a.pfns), q))
	}
	return q, nil
}

// kvmallocFile is where the profile's kvmalloc lives.
func (m *Machine) kvmallocFile() string {
	if m.cfg.Profile == Profile612 {
		return "mm/util.c"
	}
	return "mm/slub.c"
}

func (m *Machine) kvEvent(p Addr, size uint64, gfp GFP, path, text string) {
	m.emit(record{kind: EvKvmalloc, addr: p, size: size, gfp: gfp, s1: m.str(path), s2: m.str(text)})
}

// KVfree is kvfree(p): vfree for a vmalloc address (is_vmalloc_addr),
// kfree for anything else, NULL and ZeroSizePtr included. Misuse is
// reported and refused by whichever of the two it reaches.
func (m *Machine) KVfree(p Addr) error {
	if m.IsVmallocAddr(p) {
		return m.Vfree(p)
	}
	return m.Kfree(p)
}

// KVrealloc is kvrealloc(p, size, gfp); see KVreallocAlign.
func (m *Machine) KVrealloc(p Addr, size uint64, gfp GFP) (Addr, error) {
	return m.kvreallocNodeAlign(p, size, 1, gfp)
}

// KVreallocAlign is kvrealloc_node_align(p, size, align, gfp,
// NUMA_NO_NODE) (6.12+; align from 6.17):
//
//   - vmalloc memory stays vmalloc: vrealloc decides (in place or moved
//     to a new area), with align from 6.17.
//   - Anything else (NULL and ZeroSizePtr included) goes to krealloc
//     with kmalloc_gfp_adjust()'s flags. If that fails for want of
//     memory, kvmalloc(size) (which may fall back to vmalloc), a copy of
//     ksize(p) bytes (both profiles: the 2026 fix copying min(size,
//     ksize(p)) is not in 6.18.0), and kfree(p). If kvmalloc fails too, p
//     is untouched.
//   - Size 0 frees p: ZeroSizePtr for kmalloc memory, NULL for vmalloc.
//
// The krealloc or vrealloc decision is recorded with Within "kvrealloc";
// kvrealloc's own EvRealloc follows, last. Misuse (p no live allocation)
// is refused by krealloc or vrealloc and returned, with no fallback.
// Profile612 accepts alignments up to PAGE_SIZE and ignores them.
func (m *Machine) KVreallocAlign(p Addr, size, align uint64, gfp GFP) (Addr, error) {
	if !isPowerOfTwo(align) {
		return 0, fmt.Errorf("%w: kvrealloc alignment %d is not a power of two", ErrBadSize, align)
	}
	if m.cfg.Profile == Profile612 && align > m.pageSize {
		text := fmt.Sprintf("kvrealloc in 6.12 takes no alignment, and %d is above PAGE_SIZE (%d)", align, m.pageSize)
		m.Misuse(p, text)
		return 0, fmt.Errorf("%w: %s", ErrBadSize, text)
	}
	return m.kvreallocNodeAlign(p, size, align, gfp)
}

// kvreallocNodeAlign is kvrealloc_node_align_noprof.
func (m *Machine) kvreallocNodeAlign(p Addr, size, align uint64, gfp GFP) (Addr, error) {
	latest := m.cfg.Profile != Profile612
	if !latest {
		align = 1
	}
	if m.IsVmallocAddr(p) {
		var n Addr
		var err error
		inner, text := m.nested(func() { n, err = m.vreallocNodeAlign(p, size, align, gfp, callerKvrealloc) })
		if m.tracing() {
			inner.Func, inner.Within = "kvrealloc", ""
			m.reallocEvent(&inner, "kvrealloc of vmalloc memory is vrealloc, and the memory stays vmalloc: %s", text)
		}
		return n, err
	}
	adj := m.kmallocGFPAdjust(gfp, size)
	kalign := align
	if !latest || kalign == 1 {
		kalign = 0
	}
	var n Addr
	var err error
	inner, text := m.nested(func() { n, err = m.KreallocAlign(p, size, kalign, adj) })
	if err == nil || !errors.Is(err, ErrNoMemory) {
		if m.tracing() {
			inner.Func, inner.Within = "kvrealloc", ""
			m.reallocEvent(&inner, "kvrealloc of kmalloc memory tries krealloc with %s: %s", m.adjustRule(gfp, adj, size), text)
		}
		return n, err
	}
	// krealloc could not get memory: kvmalloc, which may use vmalloc.
	info := inner
	info.Func, info.Within = "kvrealloc", ""
	kfail := ""
	if m.tracing() {
		kfail = fmt.Sprintf("krealloc(%v, %d) with %v failed (%s)", p, size, adj, allocFailure(err))
	}
	q, kerr := m.kvmallocNode(size, align, gfp, callerKvrealloc)
	if kerr != nil {
		info.Decision = DecisionFailed
		m.reallocEvent(&info, "kvrealloc: %s and so did kvmalloc(%d): NULL; %v is untouched", kfail, size, p)
		return 0, fmt.Errorf("kvrealloc(%v, %d): %w", p, size, kerr)
	}
	info.New, info.Decision = q, DecisionNew
	if m.IsVmallocAddr(q) {
		info.Bucket, info.NewCap = "vmalloc", m.vm.busy[mustFindArea(m.vm.busy, q)].usable
	} else if o, err := m.lookupKmalloc(q); err == nil {
		info.Bucket, info.NewCap = o.where, o.cap
	}
	path := "kmalloc"
	if m.IsVmallocAddr(q) {
		path = "vmalloc"
	}
	if p == 0 {
		m.reallocEvent(&info, "kvrealloc(NULL, %d) is kvmalloc: %s, so kvmalloc used %s at %v", size, kfail, path, q)
		return q, nil
	}
	// Both profiles copy ksize(p) (kvrealloc_node_align_noprof() in 6.18.0,
	// kvrealloc_noprof() in 6.12); the 2026 fix copying min(size, ksize(p))
	// is not in 6.18.0. The fallback runs only when krealloc could not get
	// memory, so size is above ksize(p) unless an alignment forced a
	// shrinking move; the copy then stops at the end of the new allocation
	// (where the kernel would write past it).
	ks := m.Ksize(p)
	keep, rule := min(ks, info.NewCap), "ksize(p)"
	dst, derr := m.Span(q, keep)
	src, serr := m.Span(p, keep)
	if derr != nil || serr != nil {
		throw("kvrealloc", fmt.Sprintf("copying %d bytes from %v to %v: %v %v", keep, p, q, serr, derr))
	}
	copy(dst, src)
	ferr := m.Kfree(p)
	info.Copied = keep
	if p != ZeroSizePtr {
		info.Decision = DecisionMoved
	}
	if m.tracing() {
		text := fmt.Sprintf("kvrealloc: %s, so kvmalloc(%d) used %s at %v; %d bytes (%s) copied and the old object kfree'd", kfail, size, path, q, keep, rule)
		if ks > keep {
			text += fmt.Sprintf("; ksize(p) is %d, more than the new allocation holds: the kernel's memcpy would run past its end, allocviz stops there", ks)
		}
		if p == ZeroSizePtr {
			text = fmt.Sprintf("kvrealloc(ZERO_SIZE_PTR, %d) is kvmalloc: %s, so kvmalloc used %s at %v", size, kfail, path, q)
		}
		if ferr != nil {
			text += "; the kfree was refused (see the report), so it leaks"
		}
		m.reallocEvent(&info, "%s", text)
	}
	return q, nil
}

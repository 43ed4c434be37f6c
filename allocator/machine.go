package allocator

import (
	"errors"
	"fmt"
	"math/bits"
	"strings"
)

// Profile is the kernel whose behaviour the machine reproduces where
// kernels differ (docs/fidelity.md says how the profiles differ).
type Profile uint8

// Profiles.
const (
	// ProfileLatest is the newest classic-SLUB kernel (6.18/6.19: per-CPU
	// slabs and partial lists, the orig_size krealloc, vrealloc tracking the
	// requested size, kvmalloc without direct reclaim on its kmalloc attempt,
	// Rust Vmalloc/KVmalloc honouring alignments above PAGE_SIZE).
	ProfileLatest Profile = iota
	// Profile612 is mainline 6.12 as released: vrealloc in place within the
	// page-rounded area, kvmalloc adding __GFP_NORETRY, Rust Vmalloc and
	// KVmalloc refusing alignments above PAGE_SIZE.
	Profile612
)

var profileNames = [...]string{ProfileLatest: "6.18", Profile612: "6.12"}

func (p Profile) String() string {
	if int(p) < len(profileNames) {
		return profileNames[p]
	}
	return fmt.Sprintf("Profile(%d)", p)
}

// ParseProfile accepts "6.18" (also "latest") and "6.12".
func ParseProfile(s string) (Profile, error) {
	switch s {
	case "", "latest", "6.18", "6.19":
		return ProfileLatest, nil
	case "6.12":
		return Profile612, nil
	}
	return 0, fmt.Errorf("profile: %q is not a kernel profile (allowed: 6.18, 6.12)", s)
}

// Config describes the simulated machine. The zero value of every field
// means its default.
type Config struct {
	RAM      int64 // bytes of physical RAM; default 64 MiB; 2 MiB..16 GiB, a multiple of PageSize; above 3 GiB the rest lies above the PCI hole, from 4 GiB
	PageSize int   // bytes; 4096 (default), 16384 or 65536
	CPUs     int   // present CPUs; default 4; 1..256
	// PossibleCPUs is nr_cpu_ids, the CPUs the kernel could ever bring
	// online (CPU hotplug); never fewer than CPUs (a smaller value is
	// raised to CPUs), at most MaxPossibleCPUs. Only SLUB's
	// calculate_order() reads it, on a machine with one present CPU.
	PossibleCPUs int
	Profile      Profile // kernel behaviour; default ProfileLatest

	// SLUB options (slub.go).
	SlabDebug        string // slab_debug= flags for every cache ("", "FZPU", any subset of F Z P U); default off
	FreelistRandom   bool   // CONFIG_SLAB_FREELIST_RANDOM: shuffle each new slab's freelist
	FreelistHardened bool   // CONFIG_SLAB_FREELIST_HARDENED: obfuscate stored free pointers
	Seed             uint64 // seed for freelist randomisation and hardening, and for fault injection's random numbers

	// Fault injection (faultinject.go): the boot options failslab= and
	// fail_page_alloc=, "<interval>,<probability>,<space>,<times>"; ""
	// leaves the capability at its defaults (probability 0: off).
	FailSlab      string
	FailPageAlloc string
}

// Defaults.
const (
	DefaultRAM      = 64 * MiB
	DefaultPageSize = 4096
	DefaultCPUs     = 4
	MaxCPUs         = 256
	MaxPossibleCPUs = 8192 // the largest CONFIG_NR_CPUS x86_64 allows (MAXSMP)
	MinRAM          = 2 * MiB
	MaxRAM          = 16 * GiB
)

// MaxPageOrder is MAX_PAGE_ORDER: orders 0..10 (include/linux/mmzone.h;
// inclusive since 6.4, renamed from MAX_ORDER in 6.8).
const MaxPageOrder = 10

// NrPageOrders is NR_PAGE_ORDERS.
const NrPageOrders = MaxPageOrder + 1

// PageAllocCostlyOrder is PAGE_ALLOC_COSTLY_ORDER.
const PageAllocCostlyOrder = 3

// withDefaults fills zero fields and validates; errors name the field and
// the allowed range.
func (c Config) withDefaults() (Config, error) {
	if c.PageSize == 0 {
		c.PageSize = DefaultPageSize
	}
	if c.RAM == 0 {
		c.RAM = DefaultRAM
	}
	if c.CPUs == 0 {
		c.CPUs = DefaultCPUs
	}
	c.PossibleCPUs = max(c.PossibleCPUs, c.CPUs)
	switch c.PageSize {
	case 4096, 16384, 65536:
	default:
		return c, fmt.Errorf("config: page_size %d is not supported (allowed: 4096, 16384, 65536)", c.PageSize)
	}
	if c.RAM < MinRAM || c.RAM > MaxRAM {
		return c, fmt.Errorf("config: ram %d is out of range (allowed: %s to %s)", c.RAM, FormatBytes(MinRAM), FormatBytes(MaxRAM))
	}
	if c.RAM%int64(c.PageSize) != 0 {
		return c, fmt.Errorf("config: ram %d is not a multiple of the page size %d", c.RAM, c.PageSize)
	}
	if c.CPUs < 1 || c.CPUs > MaxCPUs {
		return c, fmt.Errorf("config: cpus %d is out of range (allowed: 1 to %d)", c.CPUs, MaxCPUs)
	}
	if c.PossibleCPUs > MaxPossibleCPUs {
		return c, fmt.Errorf("config: possible_cpus %d is out of range (allowed: cpus %d to %d)", c.PossibleCPUs, c.CPUs, MaxPossibleCPUs)
	}
	if int(c.Profile) >= len(profileNames) {
		return c, fmt.Errorf("config: profile %d is not a kernel profile (allowed: 6.18, 6.12)", c.Profile)
	}
	for _, r := range c.SlabDebug {
		switch r {
		case 'F', 'Z', 'P', 'U', '-':
		default:
			return c, fmt.Errorf("config: slab_debug %q has unknown flag %q (allowed: F, Z, P, U)", c.SlabDebug, r)
		}
	}
	return c, nil
}

// Machine is one simulated computer: physical RAM in a memory file, the
// buddy allocator over its page frames, SLUB, vmalloc and the events they
// emit. A Machine is owned by one goroutine at a time; it has no locks and
// starts no goroutines.
type Machine struct {
	cfg       Config // immutable after NewMachine
	pageSize  uint64 // bytes; immutable
	pageShift uint   // log2(pageSize); immutable
	nrPages   uint64 // page frames from 0 to the end of RAM, the PCI hole included; immutable
	ramPages  uint64 // page frames of RAM; immutable

	mem   *physMem  // RAM (and the hole, never touched: the file is sparse); nil after Close
	pages []page    // the struct page array, one per pfn
	pn    *pageNode // the page allocator: zones, free lists, pcp lists (pagealloc.go)

	// warn_alloc()'s rate limit and WARN_ON_ONCE's flag (buddy.go).
	warnedOrder         bool
	warnAllocShown      int
	warnAllocSuppressed int

	reserved uint64 // pages reserved at boot (pfn 0..reserved-1)

	log  *EventLog // where events go; nil: recording off
	boot *EventLog // the events of boot, copied to the first empty log
	seq  uint64    // events recorded so far: the Seq of the last
	step int       // current script step; 0 before the first
	cpu  int       // current CPU, 0..CPUs-1

	// Where the current step comes from, for the callers of the vmap
	// areas it makes (vmcaller.go): a script's file:line:col, or a
	// trace's file and line.
	stepSrc  string
	stepFile string
	stepLine int
	srcLines map[string]int // SetSourceLines

	slub slubState    // SLUB caches and kmalloc (slub.go)
	vm   vmallocState // the vmalloc window and its areas (vmalloc.go)
	kv   kvState      // kvmalloc's once-only warning and kvrealloc's nesting (kvmalloc.go)
	fi   faultState   // failslab and fail_page_alloc (faultinject.go)

	closed bool
}

// NewMachine boots a machine: it creates and maps RAM, reserves the low
// pages and frees the rest to the buddy allocator in the largest aligned
// blocks, then sets up SLUB and the vmalloc window.
func NewMachine(cfg Config) (*Machine, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	ranges := ramRanges(uint64(cfg.RAM), uint64(cfg.PageSize))
	end := ranges[len(ranges)-1].end
	mem, err := newPhysMem(int64(end) * int64(cfg.PageSize))
	if err != nil {
		return nil, err
	}
	m := &Machine{
		cfg:       cfg,
		pageSize:  uint64(cfg.PageSize),
		pageShift: uint(bits.TrailingZeros64(uint64(cfg.PageSize))),
		nrPages:   end,
		ramPages:  uint64(cfg.RAM) / uint64(cfg.PageSize),
		mem:       mem,
	}
	// Boot is always recorded, so that a log handed in later can begin
	// with it and describe the whole machine.
	boot := &EventLog{}
	m.log = boot
	m.bootBuddy()
	if err := m.initSlub(); err != nil {
		m.Close()
		return nil, err
	}
	if err := m.initVmalloc(); err != nil {
		m.Close()
		return nil, err
	}
	if err := m.initFaults(); err != nil {
		m.Close()
		return nil, err
	}
	m.boot = boot
	m.log = nil
	return m, nil
}

// Close releases the machine's memory. It is idempotent; after Close every
// other method's behaviour is undefined.
func (m *Machine) Close() error {
	if m.closed {
		return nil
	}
	m.closed = true
	var errs []error
	if err := m.closeVmalloc(); err != nil {
		errs = append(errs, err)
	}
	if m.mem != nil {
		if err := m.mem.close(); err != nil {
			errs = append(errs, err)
		}
		m.mem = nil
	}
	return errors.Join(errs...)
}

// Config returns the machine's configuration with defaults filled in.
func (m *Machine) Config() Config { return m.cfg }

// Profile returns the kernel profile.
func (m *Machine) Profile() Profile { return m.cfg.Profile }

// PageSize returns PAGE_SIZE in bytes.
func (m *Machine) PageSize() uint64 { return m.pageSize }

// PageShift returns PAGE_SHIFT.
func (m *Machine) PageShift() uint { return m.pageShift }

// NrPages returns the number of page frames from pfn 0 to the end of RAM:
// above 3 GiB of RAM it includes the PCI hole (OwnerHole pages).
func (m *Machine) NrPages() uint64 { return m.nrPages }

// RAMPages returns the number of page frames of RAM.
func (m *Machine) RAMPages() uint64 { return m.ramPages }

// ReservedPages returns how many low pages were reserved at boot.
func (m *Machine) ReservedPages() uint64 { return m.reserved }

// CPU returns the current simulated CPU.
func (m *Machine) CPU() int { return m.cpu }

// CheckCPU returns the error SetCPU(cpu) would give for a cpu this
// machine does not have, and nil for one it has. It changes nothing.
func (m *Machine) CheckCPU(cpu int) error {
	if cpu < 0 || cpu >= m.cfg.CPUs {
		return fmt.Errorf("cpu %d does not exist (this machine has cpus 0 to %d)", cpu, m.cfg.CPUs-1)
	}
	return nil
}

// SetCPU switches the current CPU. Later events carry it, and SLUB uses
// that CPU's per-CPU slab and partial list.
func (m *Machine) SetCPU(cpu int) error {
	if err := m.CheckCPU(cpu); err != nil {
		return err
	}
	if cpu != m.cpu {
		old := m.cpu
		m.cpu = cpu
		if m.tracing() {
			m.emit(record{kind: EvCPU, n: int32(old)})
		}
	}
	return nil
}

// SetLog directs events to log; nil switches recording off. A log handed
// in empty first receives the events of boot (the reserved pages, the
// initial free blocks, the kmalloc caches), so a log that is set right
// after NewMachine describes the whole machine. The machine only appends
// to log.
func (m *Machine) SetLog(log *EventLog) {
	if log != nil && log.Len() == 0 {
		*log = m.boot.clone()
	}
	m.log = log
	if log != nil {
		m.seq = uint64(log.Len())
	}
}

// BootEvents returns how many events the machine recorded while it
// booted: the first events of every log SetLog is handed empty.
func (m *Machine) BootEvents() int { return m.boot.Len() }

// Log returns the event log, or nil when recording is off.
func (m *Machine) Log() *EventLog { return m.log }

// tracing reports whether events are being recorded, so callers skip
// building explanations nobody will read.
func (m *Machine) tracing() bool { return m.log != nil }

// emit stamps r with the CPU and appends it. Its sequence number is its
// position in the log.
func (m *Machine) emit(r record) {
	if m.log == nil {
		return
	}
	m.put(&r)
}

// recHead is a record's first three words, as packHead builds them.
type recHead struct{ w0, w1, w2 uint64 }

// head packs the fields of a record's first three words, stamped with
// the CPU, for putWords. It inlines, so that the fields a call site
// leaves zero cost nothing.
func (m *Machine) head(kind EventKind, order int8, b uint8, gfp GFP, pfn uint32, n int32, s1, s2 StrID) recHead {
	w0, w1, w2 := packHead(kind, uint8(m.cpu), order, b, gfp, pfn, n, s1, s2)
	return recHead{w0, w1, w2}
}

// putWords appends the record whose first words are h (m.head) and whose
// address, size and bytes follow: the hot paths' emit, which builds no
// record in memory. It is not for EvStep. Recording must be on.
func (m *Machine) putWords(h recHead, addr Addr, size, bytes uint64) {
	rb := &m.log.recs
	m.seq++
	// addWords' common case, a record that repeats the last of its kind
	// in the run, without the call. (The kind is in w0, so a kind with no
	// record in the run yet never matches.)
	if rb.n&(recLen-1) != 0 && len(rb.cur)+2 <= cap(rb.cur) {
		p := &rb.last[h.w0%kindSlots]
		if (h.w0^p[0])|(h.w1^p[1])|(h.w2^p[2])|(uint64(addr)^p[3])|(size^p[4])|(bytes^p[5]) == 0 {
			rb.cur = append(rb.cur, byte(h.w0), 0)
			rb.n++
			return
		}
	}
	rb.addWords(h.w0, h.w1, h.w2, uint64(addr), size, bytes)
}

// putPair appends two records that share their address, size and bytes
// (an object and the kmem:kmalloc or kmem:kfree tracepoint beside it): in
// their common case, both repeating the last of their kind, with one call.
func (m *Machine) putPair(h1, h2 recHead, addr Addr, size, bytes uint64) {
	rb := &m.log.recs
	if i := rb.n & (recLen - 1); i != 0 && i != recLen-1 && len(rb.cur)+4 <= cap(rb.cur) {
		p, q := &rb.last[h1.w0%kindSlots], &rb.last[h2.w0%kindSlots]
		a := uint64(addr)
		if (h1.w0^p[0])|(h1.w1^p[1])|(h1.w2^p[2])|(a^p[3])|(size^p[4])|(bytes^p[5])|
			(h2.w0^q[0])|(h2.w1^q[1])|(h2.w2^q[2])|(a^q[3])|(size^q[4])|(bytes^q[5]) == 0 {
			m.seq += 2
			rb.cur = append(rb.cur, byte(h1.w0), 0, byte(h2.w0), 0)
			rb.n += 2
			return
		}
	}
	m.putWords(h1, addr, size, bytes)
	m.putWords(h2, addr, size, bytes)
}

// put stamps r with the CPU and appends it. Recording must be on.
func (m *Machine) put(r *record) {
	r.cpu = uint8(m.cpu)
	m.log.recs.add(r)
	if r.kind == EvStep {
		m.log.noteStep(r)
	}
	m.seq++
}

// str returns the id of s in the log; 0 when recording is off.
func (m *Machine) str(s string) StrID {
	if m.log == nil {
		return 0
	}
	return m.log.strs.intern(s)
}

// strf formats and interns a text, only when events are recorded.
func (m *Machine) strf(format string, args ...any) StrID {
	if m.log == nil {
		return 0
	}
	return m.log.strs.intern(fmt.Sprintf(format, args...))
}

// cat joins a recorded text and more words, only when events are recorded.
func (m *Machine) cat(a StrID, b string) StrID {
	if m.log == nil {
		return 0
	}
	return m.log.strs.intern(m.log.String(a) + b)
}

// BeginStep starts script step number step, caused by op (the call as
// written) at src (file:line:col). Every event until the next BeginStep
// belongs to that step.
func (m *Machine) BeginStep(step int, src, op string) {
	m.step = step
	m.stepSrc, m.stepFile, m.stepLine = src, "", 0
	if m.log != nil {
		m.emit(record{kind: EvStep, n: int32(step), s1: m.str(src), s2: m.str(op)})
	}
}

// BeginTraceStep is BeginStep for a step that replays line t of a
// kernel's trace: its Src is t's file:line and its Label t's time,
// task-pid, CPU and call site. The record keeps them as numbers and ids
// of the strings they repeat (file, task, call site), so a trace of a
// million lines adds no string per line to the log.
func (m *Machine) BeginTraceStep(step int, t *TraceLine, op string) {
	m.step = step
	m.stepSrc, m.stepFile, m.stepLine = "", t.File, t.Line
	if m.log != nil {
		m.emit(record{kind: EvStep, n: int32(step), s1: m.str(t.File), s2: m.str(op),
			size: uint64(max(t.Line, 1)), bytes: uint64(t.TS), gfp: GFP(m.str(t.Task)),
			addr: Addr(uint32(t.PID)) | Addr(uint16(t.CPU))<<32, pfn: uint32(m.str(t.CallSite))})
	}
}

// Step returns the current step number.
func (m *Machine) Step() int { return m.step }

// Say records a line of narration.
func (m *Machine) Say(text string) {
	if m.log != nil {
		m.emit(record{kind: EvSay, s1: m.str(text)})
	}
}

// Check records the outcome of a script check.
func (m *Machine) Check(ok bool, msg string) {
	d := DecisionOK
	if !ok {
		d = DecisionFailed
	}
	if m.log != nil {
		m.emit(record{kind: EvCheck, b: uint8(d), s1: m.str(msg)})
	}
}

// Ask records question n of a quiz (a script's ask()), with its choices
// (nil: a free answer). Choices must be ValidChoice.
func (m *Machine) Ask(n int, question string, choices []string) {
	if m.log != nil {
		r := record{kind: EvAsk, n: int32(n), s1: m.str(question)}
		if choices != nil {
			r.s2 = m.str(strings.Join(choices, choiceSep))
		}
		m.emit(r)
	}
}

// Answer records the answer to question n: what the step the question
// asked about did, as one of its choices reads.
func (m *Machine) Answer(n int, answer string) {
	if m.log != nil {
		m.emit(record{kind: EvAnswer, n: int32(n), s1: m.str(answer)})
	}
}

// Warn records a kernel warning with its wording.
func (m *Machine) warn(text string) {
	if m.log != nil {
		m.emit(record{kind: EvWarn, s1: m.str(text)})
	}
}

// Misuse records misuse of an API that was reported and not obeyed.
func (m *Machine) Misuse(addr Addr, text string) {
	if m.log != nil {
		m.emit(record{kind: EvMisuse, addr: addr, s1: m.str(text)})
	}
}

package ktrace

import (
	"fmt"

	"github.com/allocviz/allocviz/allocator"
)

// Format is the layout a trace was printed in.
type Format uint8

// Formats.
const (
	FormatFtrace   Format = iota // the text of tracing/trace: a "# tracer:" header, then one line per event
	FormatPipe                   // tracing/trace_pipe, or trace with its header cut: event lines only
	FormatTraceCmd               // trace-cmd report: a "cpus=N" header, lines optionally prefixed by the instance name
)

var formatNames = [...]string{
	FormatFtrace:   "ftrace text (tracing/trace)",
	FormatPipe:     "ftrace text without a header (trace_pipe)",
	FormatTraceCmd: "trace-cmd report",
}

func (f Format) String() string {
	if int(f) < len(formatNames) {
		return formatNames[f]
	}
	return fmt.Sprintf("Format(%d)", f)
}

// Str is an interned string of a trace: a task, a call site, a cache
// name. 0 is the empty string.
type Str uint32

// Record is one memory event line. Fields an event does not print are
// zero. The fields each event sets:
//
//	kmalloc, kmem_cache_alloc: Ptr, BytesReq, BytesAlloc, GFP, CallSite, Cache (kmem_cache_alloc, 6.x), Node, Accounted
//	kfree, kmem_cache_free:    Ptr, CallSite, Cache (kmem_cache_free, 5.x+)
//	mm_page_*:                 PFN, Order, GFP and Migratetype (mm_page_alloc), Failed (page=(null))
//	alloc_vmap_area, free_vmap_area_noflush, purge_vmap_area_lazy: Vmap (an index in Trace.Vmap)
type Record struct {
	TS         int64  // nanoseconds on the trace clock
	Ptr        uint64 // the object as the kernel printed it (hashed by %p since 4.15, real in trace-cmd); 0 for NULL
	PFN        uint64 // page frame number
	BytesReq   uint64 // bytes asked for
	BytesAlloc uint64 // bytes handed out
	Line       int32  // 1-based line number in the file
	PID        int32
	Vmap       int32 // index of the vmalloc fields in Trace.Vmap; -1 for other events
	Task       Str
	CallSite   Str
	Cache      Str           // the cache's name=, 0 when not printed
	GFP        allocator.GFP // the flags allocviz models (unknown names are dropped and counted)
	CPU        int16
	Node       int16 // node=, -1 (NUMA_NO_NODE) when not printed
	Event      Event
	Order      int8
	Migrate    int8 // migratetype=
	Accounted  int8 // accounted=: 1 true, 0 false, -1 not printed
	Failed     bool // mm_page_alloc of page=(null): the allocation failed
	Refill     bool // mm_page_alloc_zone_locked: percpu_refill=1, a block taken for a per-CPU list
}

// VmapFields are the fields of the vmalloc events.
type VmapFields struct {
	VAStart   uint64 // alloc_vmap_area, free_vmap_area_noflush: the area's start (the real address)
	Size      uint64 // alloc_vmap_area: bytes, with the guard page
	Align     uint64 // alloc_vmap_area: bytes
	VStart    uint64 // alloc_vmap_area: the range searched
	VEnd      uint64
	Failed    bool   // alloc_vmap_area: failed=1
	NrLazy    uint64 // free_vmap_area_noflush: lazily freed pages, and the limit
	NrLazyMax uint64
	Start     uint64 // purge_vmap_area_lazy: the range purged
	End       uint64
	NumPurged uint64 // purge_vmap_area_lazy: areas purged
}

// Trace is a parsed trace: its memory event lines, what the header said,
// and counts of everything else.
type Trace struct {
	Name    string // the file name used in errors and positions
	Format  Format
	CPUs    int // #P: or cpus=, else the highest CPU seen plus one
	Records []Record
	Vmap    []VmapFields
	Stats   Stats
	Errors  []*LineError // the first MaxErrors lines that could not be parsed (Stats.Unparsed counts all)
	Comment string       // the first "# allocviz ..." comment line, without the "# "

	strs  []string
	index map[string]Str
}

// Str returns the string s stands for.
func (t *Trace) Str(s Str) string { return t.strs[s] }

// intern returns the Str for b, adding it the first time.
func (t *Trace) intern(b []byte) Str {
	if len(b) == 0 {
		return 0
	}
	if s, ok := t.index[string(b)]; ok {
		return s
	}
	s := Str(len(t.strs))
	str := string(b)
	t.strs = append(t.strs, str)
	t.index[str] = s
	return s
}

// Stats counts the lines of a trace by what they are.
type Stats struct {
	Lines     int            // lines read
	Blank     int            // empty lines
	Header    int            // comments and header lines ("# tracer: nop", "cpus=2")
	Events    [NumEvents]int // memory event lines parsed, by event
	Other     int            // event lines of other events: not memory events
	OtherByEv map[string]int // ... by event name
	NotTrace  int            // lines that are no trace line at all (a shell prompt pasted around a trace)
	Unparsed  int            // memory event lines that could not be parsed
	Hashed    bool           // pointers are hashed (%p since 4.15): addresses are stand-ins
	Fields    FieldSet       // which optional fields the kernel printed
	Unknown   map[string]int // gfp flag names allocviz does not model, and how many lines had them
	FirstTS   int64          // the first and last timestamps, ns
	LastTS    int64
	Tasks     int               // distinct task-pid pairs
	tasks     map[[2]int32]bool // task Str and pid seen
}

// Memory returns the number of memory event lines parsed.
func (s *Stats) Memory() int {
	n := 0
	for _, c := range s.Events {
		n += c
	}
	return n
}

// FieldSet records which optional fields appear, which tells the kernel
// generation a trace comes from.
type FieldSet struct {
	CacheName bool // kmem_cache_alloc prints name= (6.x)
	FreeName  bool // kmem_cache_free prints name= (5.12+)
	NodeAcct  bool // kmalloc and kmem_cache_alloc print node= and accounted= (6.0+)
	HexGFP    bool // gfp_flags printed as numbers (trace-cmd without the names)
	DecPFN    bool // pfn printed in decimal (before 5.x: pfn=%lu)
}

// LineError is a memory event line that could not be parsed.
type LineError struct {
	File  string
	Line  int
	Event string // the event the line claims to be
	Msg   string
}

func (e *LineError) Error() string {
	return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Event, e.Msg)
}

// MaxErrors is how many line errors a Trace keeps; the rest are counted.
const MaxErrors = 100

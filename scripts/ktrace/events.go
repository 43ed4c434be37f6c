package ktrace

// Event is a memory event a trace line can record: one of the kmem and
// vmalloc tracepoints (include/trace/events/kmem.h, vmalloc.h).
type Event uint8

// The events, in the order the table lists them.
const (
	EvNone Event = iota // not a memory event
	Kmalloc
	Kfree
	KmemCacheAlloc
	KmemCacheFree
	MmPageAlloc
	MmPageFree
	MmPageFreeBatched
	MmPageAllocZoneLocked
	MmPagePcpuDrain
	AllocVmapArea
	FreeVmapAreaNoflush
	PurgeVmapAreaLazy
	VmUnmapAliases
	NumEvents
)

// field is a bit per field a line may carry.
type field uint32

const (
	fCallSite field = 1 << iota
	fPtr
	fName
	fBytesReq
	fBytesAlloc
	fGFP
	fNode
	fAccounted
	fPage
	fPFN
	fOrder
	fMigratetype
	fPercpuRefill
	fVAStart
	fSize
	fAlign
	fVStart
	fVEnd
	fFailed
	fNrLazy
	fNrLazyMax
	fStart
	fEnd
	fNumPurged
	fCold
)

// eventInfo describes one event: its name in the trace, the fields it
// must have (older kernels print fewer optional ones), and whether a
// replay turns it into a step.
type eventInfo struct {
	system   string // the tracepoint's group under tracing/events: kmem or vmalloc
	name     string
	required field
}

// events is the table of memory events. Required fields are those every
// kernel from 3.x to 6.18 prints; name=, node= and accounted= are newer.
var events = [NumEvents]eventInfo{
	EvNone:                {name: ""},
	Kmalloc:               {system: "kmem", name: "kmalloc", required: fCallSite | fPtr | fBytesReq | fBytesAlloc | fGFP},
	Kfree:                 {system: "kmem", name: "kfree", required: fCallSite | fPtr},
	KmemCacheAlloc:        {system: "kmem", name: "kmem_cache_alloc", required: fCallSite | fPtr | fBytesReq | fBytesAlloc | fGFP},
	KmemCacheFree:         {system: "kmem", name: "kmem_cache_free", required: fCallSite | fPtr},
	MmPageAlloc:           {system: "kmem", name: "mm_page_alloc", required: fPage | fPFN | fOrder | fGFP},
	MmPageFree:            {system: "kmem", name: "mm_page_free", required: fPage | fPFN | fOrder},
	MmPageFreeBatched:     {system: "kmem", name: "mm_page_free_batched", required: fPage | fPFN},
	MmPageAllocZoneLocked: {system: "kmem", name: "mm_page_alloc_zone_locked", required: fPage | fPFN | fOrder},
	MmPagePcpuDrain:       {system: "kmem", name: "mm_page_pcpu_drain", required: fPage | fPFN | fOrder},
	AllocVmapArea:         {system: "vmalloc", name: "alloc_vmap_area", required: fVAStart | fSize | fAlign},
	FreeVmapAreaNoflush:   {system: "vmalloc", name: "free_vmap_area_noflush", required: fVAStart},
	PurgeVmapAreaLazy:     {system: "vmalloc", name: "purge_vmap_area_lazy", required: fStart | fEnd},
	VmUnmapAliases:        {system: "vmalloc", name: "vm_unmap_aliases"},
}

// String returns the event's tracepoint name.
func (e Event) String() string {
	if e < NumEvents && e != EvNone {
		return events[e].name
	}
	return "none"
}

// Tracepoint is a tracepoint's place under tracing/events.
type Tracepoint struct {
	System, Name string // "kmem", "kmalloc"
}

// Tracepoints lists every event this package reads, for a capture to
// enable: the kmem and vmalloc memory events.
func Tracepoints() []Tracepoint {
	var out []Tracepoint
	for e := Kmalloc; e < NumEvents; e++ {
		out = append(out, Tracepoint{System: events[e].system, Name: events[e].name})
	}
	return out
}

// lookupEvent returns the event called name, or EvNone.
func lookupEvent(name []byte) Event {
	// The table is short; a switch on the length first keeps this cheap.
	for e := Kmalloc; e < NumEvents; e++ {
		if len(events[e].name) == len(name) && events[e].name == string(name) {
			return e
		}
	}
	return EvNone
}

// fieldNames maps the key of a key=value pair to its field bit.
var fieldNames = map[string]field{
	"call_site": fCallSite, "ptr": fPtr, "name": fName, "bytes_req": fBytesReq, "bytes_alloc": fBytesAlloc,
	"gfp_flags": fGFP, "node": fNode, "accounted": fAccounted, "page": fPage, "pfn": fPFN, "order": fOrder,
	"migratetype": fMigratetype, "percpu_refill": fPercpuRefill, "va_start": fVAStart, "size": fSize,
	"align": fAlign, "vstart": fVStart, "vend": fVEnd, "failed": fFailed, "nr_lazy": fNrLazy,
	"nr_lazy_max": fNrLazyMax, "start": fStart, "end": fEnd, "num_purged": fNumPurged, "cold": fCold,
}

// missing names the first required field of e that have lacks.
func missing(e Event, have field) string {
	lack := events[e].required &^ have
	if lack == 0 {
		return ""
	}
	for name, f := range fieldNames {
		if lack&f != 0 && lack&(f-1) == 0 {
			return name
		}
	}
	return "a field"
}

package allocator

import "strconv"

// The kind table: one entry per event kind, the one place that says what
// a kind is (its name and class), which fields it has and where its
// record keeps them, and how its sentence is written. Everything else
// that sorts events (heapview's counts and styles, the interface's "why"
// strip, the CLI's headline, --json) asks the table through Event and
// EventKind rather than listing kinds. doc.go says how to add a kind.

// Class sorts event kinds by what they mean to someone reading the log.
type Class uint8

// Classes.
const (
	ClassNone       Class = iota
	ClassAllocation       // memory handed out: a block, an object, an area, a cache
	ClassFree             // memory given back
	ClassMechanism        // a consequence of a decision: a split, a merge, a slab changing lists, a lazy purge
	ClassDecision         // a choice with a rule: a realloc's grow-or-move, kvmalloc's path, a Vec's growth
	ClassReport           // trouble reported: a warning, misuse, a fault, a failed allocation, a failed check
	ClassNarration        // the script's own: a step, narration, a passed check, a CPU switch, the boot
)

var classNames = [...]string{"none", "allocation", "free", "mechanism", "decision", "report", "narration"}

func (c Class) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return "unknown"
}

// fieldSet says which of the fields every kind could have a kind has.
type fieldSet uint16

const (
	fGFP fieldSet = 1 << iota
	fPFN
	fOrder
	fOwner // in record.b
	fList  // in record.b
	fDecision
	fAddr
	fSize
	fBytes
	fCache   // in record.s1
	fMigrate // in record.b
	fZone    // in record.b
)

// loc says where a kind keeps a string, a list or a side record.
type loc uint8

const (
	inNone      loc = iota
	inS1            // record.s1
	inS2            // record.s2
	inEnd           // EvSlabList's path: the end of the node partial list it joined, coded in record.order
	inHalf          // EvSplit's path: "upper" when record.n is halfUpper (the half kept), else none
	inStepSrc       // EvStep's src: record.s1; a trace's line (record.size, its line, set): its file, Src adding the line
	inStepLabel     // EvStep's label: record.pfn; a trace's line: its call site, Label adding the rest (eventlog.go, traceLabel)
	inVmap          // the vmap side record record.s1 indexes
	inVec           // the vec side record record.s2 indexes
)

// Ends of the node partial list (EvSlabList, record.order).
const (
	endNone int8 = iota
	endHead
	endTail
)

// Halves of a split (EvSplit, record.n; record.b is the free list's
// migrate type): which half is kept, split further or handed out, while
// the other goes to a free list.
const (
	halfLower int32 = iota // the buddy allocator's own expand()
	halfUpper              // AllocPagesAt's, when the block asked for is in the upper half
)

var (
	phHead  = phrase("head")
	phTail  = phrase("tail")
	phUpper = phrase("upper")
)

// eventCount names what the record's count slot (record.n) means for a
// kind: the one integer each kind may have beside the common fields.
type eventCount uint8

const (
	countNone eventCount = iota
	countPrevCPU
	countPageSize
	countPages
	countLargest
	countObjects
	countListCPU
	countObject
	countErrors
	countAreas
	countCapacity // 64 bits: record.n and record.pfn
	countFromOrder
	countFinalOrder
	countWant
	countPageblocks
	countQuestion
	numCounts
)

var countNames = [numCounts]string{"none", "prev_cpu", "page_size", "pages", "largest_order", "objects", "list_cpu",
	"object", "errors", "areas", "capacity", "from_order", "final_order", "want", "pageblocks", "question"}

func (c eventCount) String() string { return countNames[c] }

// kindInfo is one entry of the kind table.
type kindInfo struct {
	name  string
	class Class
	// classOf, when set, gives the class event by event.
	classOf func(Event) Class
	// trace marks a tracepoint that repeats what another event records
	// (kmem:kmalloc beside the object handed out).
	trace bool
	// chain marks kinds whose runs are one mechanism (the splits of one
	// allocation): the event log folds a run into one line.
	chain bool
	// headline ranks the kind as the event that sums up a step, 1 first;
	// 0: never.
	headline uint8
	fields   fieldSet
	// wideOrder: the order is any int a caller asked for, kept in
	// record.size (a failed alloc_pages, a refused free_pages).
	wideOrder bool
	count     eventCount
	// Where the kind keeps its strings and lists; inNone: it has none.
	path, src, label, op, pfns, realloc, cause, choices loc
	// synthetic: the kind is a free that may be marked Synthetic, made
	// by FreeSynthetic rather than by a call (the log's synth table).
	synthetic bool
	// stored: where the kind keeps its Text (words that are data: the
	// narration, the kernel's report); inNone: text writes it.
	stored loc
	// text appends the kind's sentence, built from its fields; nil: none.
	text func(e Event, b []byte) []byte
	// describe appends a sentence from the fields, for Explain when the
	// event has no text.
	describe func(e Event, b []byte) []byte
	// explain, when set, is Explain: a sentence built from the fields
	// even when the event has a text.
	explain func(e Event, b []byte) []byte
	// failed reports an allocation that failed.
	failed func(e Event) bool
}

// kinds is the kind table. It is filled in by init, since the sentences
// read events through accessors that read it.
var kinds [numEventKinds]kindInfo

func init() { kinds = kindTable() }

func kindTable() [numEventKinds]kindInfo {
	return [numEventKinds]kindInfo{
		EvNone: {name: "none"},

		EvStep: {name: "step", class: ClassNarration, src: inStepSrc, op: inS2, label: inStepLabel, explain: stepSentence},
		EvSay:  {name: "say", class: ClassNarration, stored: inS1},
		EvCheck: {name: "check", class: ClassNarration, fields: fDecision, stored: inS1, explain: checkSentence,
			classOf: func(e Event) Class {
				if e.Decision() == DecisionFailed {
					return ClassReport
				}
				return ClassNarration
			}},
		EvCPU:  {name: "cpu", class: ClassNarration, count: countPrevCPU, text: cpuSentence},
		EvWarn: {name: "warn", class: ClassReport, stored: inS1},
		EvBoot: {name: "boot", class: ClassNarration, fields: fSize, count: countPageSize, stored: inS1},

		EvReserve: {name: "reserve", class: ClassAllocation, fields: fPFN | fOwner, count: countPages, stored: inS1},
		EvSplit:   {name: "split", class: ClassMechanism, chain: true, fields: fPFN | fOrder | fMigrate, path: inHalf, explain: splitSentence},
		EvMerge:   {name: "merge", class: ClassMechanism, chain: true, fields: fPFN | fOrder | fMigrate, explain: mergeSentence},
		EvPageAlloc: {name: "page_alloc", class: ClassAllocation, fields: fPFN | fOrder | fOwner | fGFP | fAddr | fBytes,
			count: countFromOrder, text: pageAllocSentence, describe: pageAllocDescription},
		EvPageFree: {name: "page_free", class: ClassFree, fields: fPFN | fOrder | fOwner | fAddr, count: countFinalOrder, synthetic: true,
			text: pageFreeSentence, describe: pageFreeDescription,
			classOf: func(e Event) Class {
				if e.Owner() == OwnerFree {
					return ClassMechanism // boot putting RAM on the free lists
				}
				return ClassFree
			}},
		EvPageFail: {name: "page_fail", class: ClassReport, fields: fOrder | fGFP, wideOrder: true, count: countLargest, stored: inS1,
			describe: pageFailSentence, failed: func(Event) bool { return true }},
		EvBadFree: {name: "bad_free", class: ClassReport, fields: fAddr | fPFN | fOrder, wideOrder: true, stored: inS1},

		EvZone:      {name: "zone", class: ClassNarration, fields: fZone | fPFN | fSize | fBytes, count: countPages, stored: inS1},
		EvPageblock: {name: "pageblock", class: ClassMechanism, fields: fPFN | fMigrate, count: countPageblocks, text: pageblockSentence},
		EvPCPRefill: {name: "pcp_refill", class: ClassMechanism, chain: true, fields: fPFN | fOrder | fMigrate, count: countListCPU,
			text: pcpRefillSentence},
		EvPCPDrain: {name: "pcp_drain", class: ClassMechanism, chain: true, fields: fPFN | fOrder | fMigrate, count: countListCPU,
			text: pcpDrainSentence},
		EvClaim:    {name: "claim", class: ClassDecision, fields: fPFN | fOrder | fMigrate, count: countWant, text: claimSentence},
		EvSteal:    {name: "steal", class: ClassDecision, fields: fPFN | fOrder | fMigrate, count: countWant, text: stealSentence},
		EvDrainAll: {name: "drain_all", class: ClassMechanism, text: drainAllSentence},

		EvCacheCreate: {name: "cache_create", class: ClassAllocation, headline: 12, fields: fCache | fSize | fBytes | fOrder,
			count: countObjects, stored: inS2, describe: cacheCreateDescription},
		EvCacheDestroy: {name: "cache_destroy", class: ClassFree, headline: 7, fields: fCache, stored: inS2,
			describe: cacheDestroyDescription},
		EvSlabNew: {name: "slab_new", class: ClassAllocation, fields: fCache | fPFN | fOrder | fAddr | fBytes, count: countObjects,
			pfns: inS2, text: slabNewSentence, describe: slabNewDescription},
		EvSlabDiscard: {name: "slab_discard", class: ClassFree, fields: fCache | fPFN | fOrder, text: slabDiscardSentence,
			describe: slabDiscardDescription},
		EvSlabList: {name: "slab_list", class: ClassMechanism, fields: fCache | fPFN | fList, count: countListCPU, path: inEnd,
			text: slabListSentence, describe: slabListDescription},
		EvObjAlloc: {name: "obj_alloc", class: ClassAllocation, headline: 10, fields: fCache | fAddr | fPFN | fSize | fBytes | fGFP,
			count: countObject, path: inS2, text: objectSentence, describe: objAllocDescription},
		EvObjFree: {name: "obj_free", class: ClassFree, headline: 11, fields: fCache | fAddr | fPFN, count: countObject, path: inS2,
			synthetic: true, text: objectSentence, describe: objFreeDescription},
		EvKmalloc: {name: "kmalloc", class: ClassAllocation, trace: true, headline: 9, fields: fAddr | fSize | fBytes | fGFP | fCache,
			text: kmallocSentence, describe: kmallocDescription,
			failed: func(e Event) bool { return e.Addr() == 0 && e.Size() > 0 }},
		EvKfree: {name: "kfree", class: ClassFree, trace: true, fields: fAddr,
			describe: kfreeDescription},
		EvSlubReport: {name: "slub_report", class: ClassReport, headline: 8, fields: fCache | fAddr | fPFN, count: countErrors,
			stored: inS2},

		EvRealloc: {name: "realloc", class: ClassDecision, headline: 1, fields: fAddr | fSize, realloc: inS1, stored: inS2,
			explain: reallocExplanation, failed: func(e Event) bool { return e.ReallocDecision() == DecisionFailed }},

		EvVmapAlloc: {name: "vmap_alloc", class: ClassAllocation, headline: 4, fields: fAddr | fBytes | fSize | fGFP, count: countPages,
			pfns: inVmap, src: inVmap, op: inVmap, path: inVmap, text: vmapAllocText, describe: vmapAllocDescription},
		EvVmapFree: {name: "vmap_free", class: ClassFree, headline: 5, fields: fAddr | fBytes | fSize, count: countPages,
			pfns: inS1, stored: inS2, synthetic: true, describe: vmapFreeDescription},
		EvVmapPurge: {name: "vmap_purge", class: ClassMechanism, fields: fBytes, count: countAreas, stored: inS1},
		EvGuardHit:  {name: "guard_hit", class: ClassReport, headline: 3, fields: fAddr, stored: inS1},
		EvKvmalloc:  {name: "kvmalloc", class: ClassDecision, headline: 2, fields: fAddr | fSize | fGFP, path: inS1, stored: inS2},

		EvVecOp: {name: "vec_op", class: ClassDecision, headline: 6, fields: fAddr | fSize | fBytes, count: countCapacity,
			op: inS1, realloc: inVec, cause: inVec, stored: inVec, describe: vecOpDescription},
		EvMisuse: {name: "misuse", class: ClassReport, headline: 13, fields: fAddr, stored: inS1},

		EvFaultConfig: {name: "fault_config", class: ClassNarration, stored: inS1},
		EvFaultInject: {name: "fault_inject", class: ClassReport, headline: 14, fields: fCache | fOrder | fGFP | fSize, stored: inS2,
			failed: func(Event) bool { return true }},

		EvAsk:    {name: "ask", class: ClassNarration, count: countQuestion, stored: inS1, choices: inS2},
		EvAnswer: {name: "answer", class: ClassNarration, count: countQuestion, stored: inS1},
	}
}

func (k EventKind) String() string {
	if k < numEventKinds {
		return kinds[k].name
	}
	return "unknown"
}

// ParseEventKind returns the kind named name ("obj_alloc").
func ParseEventKind(name string) (EventKind, bool) {
	for k := EventKind(1); k < numEventKinds; k++ {
		if kinds[k].name == name {
			return k, true
		}
	}
	return EvNone, false
}

// Class returns the kind's class; Event.Class refines it event by event.
func (k EventKind) Class() Class {
	if k < numEventKinds {
		return kinds[k].class
	}
	return ClassNone
}

// Trace reports whether the kind is a tracepoint that repeats what
// another event records (kmem:kmalloc, kmem:kfree).
func (k EventKind) Trace() bool { return k < numEventKinds && kinds[k].trace }

// Chain reports whether runs of the kind are one mechanism, told in one
// line (the splits of one allocation, the merges of one free).
func (k EventKind) Chain() bool { return k < numEventKinds && kinds[k].chain }

// HeadlineRank ranks the kind as the event that sums up a step: 1 first,
// 0 never. A call that makes many events is explained by its own decision
// (a realloc, kvmalloc's path, the vmap area a vmalloc made, a guard-page
// hit) before its lower-level events; a SLUB debug report before the free
// it refused; a kmalloc's size class before the pages a new slab took.
func (k EventKind) HeadlineRank() int {
	if k < numEventKinds {
		return int(kinds[k].headline)
	}
	return 0
}

// NumEventKinds is the number of kinds, EvNone included: kinds run from
// 0 to NumEventKinds-1.
const NumEventKinds = int(numEventKinds)

// Appending numbers as fmt's verbs print them.

func appendDec(b []byte, n int) []byte { return strconv.AppendInt(b, int64(n), 10) }

func appendUdec(b []byte, n uint64) []byte { return strconv.AppendUint(b, n, 10) }

// hexTo appends n as %#x: 0x and lower-case digits ("0x0" for 0).
func hexTo(b []byte, n uint64) []byte { return strconv.AppendUint(append(b, "0x"...), n, 16) }

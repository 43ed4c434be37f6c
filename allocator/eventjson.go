package allocator

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
)

// The --json form of the log: one object per event, one per line. Enums
// are their names, addresses hex strings (a uint64 does not survive a JSON
// number in most readers), and empty strings and lists are left out.
// Numeric fields are always present, since 0 is a real pfn, order or CPU;
// "index" is the kind's count (Objects, Object, Pages, ...), 0 for kinds
// without one. ReadJSON reads it back.

type eventJSON struct {
	Seq      uint64       `json:"seq"`
	Step     int          `json:"step"`
	CPU      int          `json:"cpu"`
	Kind     string       `json:"kind"`
	GFP      string       `json:"gfp,omitempty"`
	PFN      uint64       `json:"pfn"`
	Order    int          `json:"order"`
	Owner    string       `json:"owner"`
	List     string       `json:"list,omitempty"`
	Path     string       `json:"path,omitempty"`
	Addr     string       `json:"addr"`
	Size     uint64       `json:"size"`
	Bytes    uint64       `json:"bytes"`
	Index    int          `json:"index"`
	Cache    string       `json:"cache,omitempty"`
	Src      string       `json:"src,omitempty"`
	Op       string       `json:"op,omitempty"`
	Text     string       `json:"text,omitempty"`
	PFNs     []uint64     `json:"pfns,omitempty"`
	Realloc  *reallocJSON `json:"realloc,omitempty"`
	Cause    uint64       `json:"cause,omitempty"` // 0: none
	Decision string       `json:"decision,omitempty"`
}

type reallocJSON struct {
	Func     string `json:"func"`
	Within   string `json:"within,omitempty"`
	Old      string `json:"old"`
	OldSize  uint64 `json:"old_size"`
	OldCap   uint64 `json:"old_cap"`
	New      string `json:"new"`
	NewSize  uint64 `json:"new_size"`
	NewCap   uint64 `json:"new_cap"`
	Decision string `json:"decision"`
	Copied   uint64 `json:"copied"`
	Zeroed   uint64 `json:"zeroed"`
	Bucket   string `json:"bucket,omitempty"`
}

// toJSON writes one event of a log whose step is step.
func (e Event) toJSON(step int, j *eventJSON) {
	f := e.Fields()
	*j = eventJSON{
		Seq: e.Seq(), Step: step, CPU: f.CPU, Kind: f.Kind.String(),
		PFN: f.PFN, Order: f.Order, Owner: f.Owner.String(), Path: f.Path,
		Addr: f.Addr.String(), Size: f.Size, Bytes: f.Bytes,
		Cache: f.Cache, Src: f.Src, Op: f.Op, Text: f.Text, PFNs: f.PFNs, Cause: f.Cause,
	}
	if c := kinds[f.Kind].count; c != countNone {
		j.Index = *f.counts()[c]
	}
	if f.GFP != 0 {
		j.GFP = f.GFP.String()
	}
	if f.List != ListNone {
		j.List = f.List.String()
	}
	if f.Decision != DecisionNone {
		j.Decision = f.Decision.String()
	}
	if r := f.Realloc; r != nil {
		j.Realloc = &reallocJSON{
			Func: r.Func, Within: r.Within, Old: r.Old.String(), OldSize: r.OldSize, OldCap: r.OldCap,
			New: r.New.String(), NewSize: r.NewSize, NewCap: r.NewCap, Decision: r.Decision.String(),
			Copied: r.Copied, Zeroed: r.Zeroed, Bucket: r.Bucket,
		}
	}
}

// WriteJSON writes events [from, to) as JSON, one object per line.
func (l *EventLog) WriteJSON(w io.Writer, from, to int) error {
	enc := json.NewEncoder(w)
	step := 0
	if from < to {
		step = l.stepAt(from)
	}
	var j eventJSON
	for i := from; i < to; i++ {
		e := l.At(i)
		if e.Kind() == EvStep {
			step = int(e.r.n)
		}
		e.toJSON(step, &j)
		if err := enc.Encode(&j); err != nil {
			return err
		}
	}
	return nil
}

// ReadJSON reads a log that WriteJSON wrote: the same events, with the
// same fields, texts and sequence numbers.
func ReadJSON(r io.Reader) (*EventLog, error) {
	l := &EventLog{}
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 64<<20)
	line := 0
	for sc.Scan() {
		line++
		var j eventJSON
		if err := json.Unmarshal(sc.Bytes(), &j); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		f, err := j.fields()
		if err == nil && j.Seq != uint64(l.Len())+1 {
			err = fmt.Errorf("seq %d, want %d", j.Seq, l.Len()+1)
		}
		if err == nil {
			_, err = l.Append(f)
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return l, nil
}

// fields converts one JSON event back.
func (j *eventJSON) fields() (Fields, error) {
	k, ok := ParseEventKind(j.Kind)
	if !ok {
		return Fields{}, fmt.Errorf("event kind %q does not exist", j.Kind)
	}
	f := Fields{Kind: k, Step: j.Step, CPU: j.CPU, PFN: j.PFN, Order: j.Order, Path: j.Path, Size: j.Size, Bytes: j.Bytes,
		Cache: j.Cache, Src: j.Src, Op: j.Op, Text: j.Text, PFNs: j.PFNs, Cause: j.Cause}
	var err error
	if f.Addr, err = parseAddr(j.Addr); err != nil {
		return f, err
	}
	if j.GFP != "" {
		if f.GFP, err = ParseGFP(j.GFP); err != nil {
			return f, err
		}
	}
	if f.Owner, ok = parseName[Owner](j.Owner, ownerNames[:]); !ok {
		return f, fmt.Errorf("owner %q does not exist", j.Owner)
	}
	if j.List != "" {
		if f.List, ok = parseName[SlabList](j.List, slabListNames[:]); !ok {
			return f, fmt.Errorf("slab list %q does not exist", j.List)
		}
	}
	if j.Decision != "" {
		if f.Decision, ok = parseName[Decision](j.Decision, decisionNames[:]); !ok {
			return f, fmt.Errorf("decision %q does not exist", j.Decision)
		}
	}
	if c := kinds[k].count; c != countNone {
		*f.counts()[c] = j.Index
	} else if j.Index != 0 {
		return f, fmt.Errorf("%v events have no index", k)
	}
	if r := j.Realloc; r != nil {
		info := ReallocInfo{Func: r.Func, Within: r.Within, OldSize: r.OldSize, OldCap: r.OldCap, NewSize: r.NewSize,
			NewCap: r.NewCap, Copied: r.Copied, Zeroed: r.Zeroed, Bucket: r.Bucket}
		if info.Old, err = parseAddr(r.Old); err != nil {
			return f, err
		}
		if info.New, err = parseAddr(r.New); err != nil {
			return f, err
		}
		if info.Decision, ok = parseName[Decision](r.Decision, decisionNames[:]); !ok {
			return f, fmt.Errorf("decision %q does not exist", r.Decision)
		}
		f.Realloc = &info
	}
	return f, nil
}

func parseAddr(s string) (Addr, error) {
	n, err := strconv.ParseUint(s, 0, 64)
	if err != nil {
		return 0, fmt.Errorf("address %q: %w", s, err)
	}
	return Addr(n), nil
}

// parseName returns the index of name in names.
func parseName[T ~uint8](name string, names []string) (T, bool) {
	for i, n := range names {
		if n == name {
			return T(i), true
		}
	}
	return 0, false
}

package allocator

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// The --json form of the log: one object per event, one per line. Enums
// are their names, addresses hex strings (a uint64 does not survive a JSON
// number in most readers), and empty strings and lists are left out.
// Numeric fields are always present, since 0 is a real pfn, order or CPU;
// "index" is the kind's count (Objects, Object, Pages, ...), 0 for kinds
// without one. ReadJSON reads it back.

type eventJSON struct {
	Seq       uint64       `json:"seq"`
	Step      int          `json:"step"`
	CPU       int          `json:"cpu"`
	Kind      string       `json:"kind"`
	GFP       string       `json:"gfp,omitempty"`
	PFN       uint64       `json:"pfn"`
	Order     int          `json:"order"`
	Owner     string       `json:"owner"`
	List      string       `json:"list,omitempty"`
	Path      string       `json:"path,omitempty"`
	Addr      string       `json:"addr"`
	Size      uint64       `json:"size"`
	Bytes     uint64       `json:"bytes"`
	Index     int          `json:"index"`
	Cache     string       `json:"cache,omitempty"`
	Src       string       `json:"src,omitempty"`
	Label     string       `json:"label,omitempty"`
	Op        string       `json:"op,omitempty"`
	Text      string       `json:"text,omitempty"`
	PFNs      []uint64     `json:"pfns,omitempty"`
	Realloc   *reallocJSON `json:"realloc,omitempty"`
	Cause     uint64       `json:"cause,omitempty"` // 0: none
	Array     string       `json:"array,omitempty"` // a vmap area's pages[] array
	Decision  string       `json:"decision,omitempty"`
	Synthetic string       `json:"synthetic,omitempty"`
	Migrate   string       `json:"migratetype,omitempty"`
	Zone      string       `json:"zone,omitempty"`
	Choices   []string     `json:"choices,omitempty"`
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

// toJSON writes one event of a log whose step is step. With sc, the
// address, the flags and the text are written into sc's buffer (or taken
// from its cache) and j's strings point into it until the next call:
// WriteJSON allocates nothing per event.
func (e Event) toJSON(step int, j *eventJSON, sc *jsonScratch) {
	k := e.Kind()
	*j = eventJSON{
		Seq: e.Seq(), Step: step, CPU: e.CPU(), Kind: k.String(),
		PFN: e.PFN(), Order: e.Order(), Owner: e.Owner().String(), Path: e.Path(),
		Size: e.Size(), Bytes: e.Bytes(),
		Cache: e.Cache(), Src: e.Src(), Label: e.Label(), Op: e.Op(), PFNs: e.PFNs(), Cause: e.Cause(), Synthetic: e.Synthetic(),
		Choices: e.Choices(),
	}
	if sc != nil {
		b := e.Addr().Append(sc.b[:0])
		n := len(b)
		b = e.AppendText(b)
		sc.b = b
		j.Addr = unsafe.String(unsafe.SliceData(b), n)
		if len(b) > n {
			j.Text = unsafe.String(&b[n], len(b)-n)
		}
	} else {
		j.Addr, j.Text = e.Addr().String(), e.Text()
	}
	if c := kinds[k].count; c != countNone {
		j.Index = e.count(c)
	}
	if g := e.GFP(); g != 0 {
		j.GFP = sc.gfp(g)
	}
	if a := e.Array(); a != 0 {
		j.Array = a.String()
	}
	if l := e.List(); l != ListNone {
		j.List = l.String()
	}
	if d := e.Decision(); d != DecisionNone {
		j.Decision = d.String()
	}
	if kinds[k].fields&fMigrate != 0 {
		j.Migrate = e.Migrate().String()
	}
	if kinds[k].fields&fZone != 0 {
		j.Zone = e.Zone().String()
	}
	if r, ok := e.Realloc(); ok {
		j.Realloc = &reallocJSON{
			Func: r.Func, Within: r.Within, Old: r.Old.String(), OldSize: r.OldSize, OldCap: r.OldCap,
			New: r.New.String(), NewSize: r.NewSize, NewCap: r.NewCap, Decision: r.Decision.String(),
			Copied: r.Copied, Zeroed: r.Zeroed, Bucket: r.Bucket,
		}
	}
}

// jsonScratch is what WriteJSON reuses from one event to the next.
type jsonScratch struct {
	b    []byte
	gfps map[GFP]string
}

// gfp returns g's name, built once per writer; sc may be nil.
func (sc *jsonScratch) gfp(g GFP) string {
	if sc == nil {
		return g.String()
	}
	s, ok := sc.gfps[g]
	if !ok {
		if sc.gfps == nil {
			sc.gfps = map[GFP]string{}
		}
		s = g.String()
		sc.gfps[g] = s
	}
	return s
}

// WriteJSON writes events [from, to) as JSON, one object per line.
func (l *EventLog) WriteJSON(w io.Writer, from, to int) error {
	step := 0
	if from < to {
		step = l.stepAt(from)
	}
	var j eventJSON
	var b []byte
	var sc jsonScratch
	for i := from; i < to; i++ {
		e := l.At(i)
		if e.Kind() == EvStep {
			step = int(e.r.n)
		}
		e.toJSON(step, &j, &sc)
		b = j.append(b)
		if len(b) >= 32<<10 || i == to-1 {
			if _, err := w.Write(b); err != nil {
				return err
			}
			b = b[:0]
		}
	}
	return nil
}

// append appends j and a newline as encoding/json's Encoder writes them
// (field order, omitempty, and its escaping of strings, HTML characters
// included), without reflection: a million-event --json spends its time
// here. TestJSONEncoding compares the two.
func (j *eventJSON) append(b []byte) []byte {
	b = append(b, `{"seq":`...)
	b = strconv.AppendUint(b, j.Seq, 10)
	b = append(b, `,"step":`...)
	b = strconv.AppendInt(b, int64(j.Step), 10)
	b = append(b, `,"cpu":`...)
	b = strconv.AppendInt(b, int64(j.CPU), 10)
	b = jsonString(append(b, `,"kind":`...), j.Kind)
	if j.GFP != "" {
		b = jsonString(append(b, `,"gfp":`...), j.GFP)
	}
	b = append(b, `,"pfn":`...)
	b = strconv.AppendUint(b, j.PFN, 10)
	b = append(b, `,"order":`...)
	b = strconv.AppendInt(b, int64(j.Order), 10)
	b = jsonString(append(b, `,"owner":`...), j.Owner)
	if j.List != "" {
		b = jsonString(append(b, `,"list":`...), j.List)
	}
	if j.Path != "" {
		b = jsonString(append(b, `,"path":`...), j.Path)
	}
	b = jsonString(append(b, `,"addr":`...), j.Addr)
	b = append(b, `,"size":`...)
	b = strconv.AppendUint(b, j.Size, 10)
	b = append(b, `,"bytes":`...)
	b = strconv.AppendUint(b, j.Bytes, 10)
	b = append(b, `,"index":`...)
	b = strconv.AppendInt(b, int64(j.Index), 10)
	for _, f := range [...]struct{ name, v string }{{`,"cache":`, j.Cache}, {`,"src":`, j.Src}, {`,"label":`, j.Label}, {`,"op":`, j.Op}, {`,"text":`, j.Text}} {
		if f.v != "" {
			b = jsonString(append(b, f.name...), f.v)
		}
	}
	if len(j.PFNs) > 0 {
		b = append(b, `,"pfns":[`...)
		for i, p := range j.PFNs {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendUint(b, p, 10)
		}
		b = append(b, ']')
	}
	if r := j.Realloc; r != nil {
		b = jsonString(append(b, `,"realloc":{"func":`...), r.Func)
		if r.Within != "" {
			b = jsonString(append(b, `,"within":`...), r.Within)
		}
		b = jsonString(append(b, `,"old":`...), r.Old)
		b = append(b, `,"old_size":`...)
		b = strconv.AppendUint(b, r.OldSize, 10)
		b = append(b, `,"old_cap":`...)
		b = strconv.AppendUint(b, r.OldCap, 10)
		b = jsonString(append(b, `,"new":`...), r.New)
		b = append(b, `,"new_size":`...)
		b = strconv.AppendUint(b, r.NewSize, 10)
		b = append(b, `,"new_cap":`...)
		b = strconv.AppendUint(b, r.NewCap, 10)
		b = jsonString(append(b, `,"decision":`...), r.Decision)
		b = append(b, `,"copied":`...)
		b = strconv.AppendUint(b, r.Copied, 10)
		b = append(b, `,"zeroed":`...)
		b = strconv.AppendUint(b, r.Zeroed, 10)
		if r.Bucket != "" {
			b = jsonString(append(b, `,"bucket":`...), r.Bucket)
		}
		b = append(b, '}')
	}
	if j.Cause != 0 {
		b = append(b, `,"cause":`...)
		b = strconv.AppendUint(b, j.Cause, 10)
	}
	if j.Array != "" {
		b = jsonString(append(b, `,"array":`...), j.Array)
	}
	if j.Decision != "" {
		b = jsonString(append(b, `,"decision":`...), j.Decision)
	}
	if j.Synthetic != "" {
		b = jsonString(append(b, `,"synthetic":`...), j.Synthetic)
	}
	if j.Migrate != "" {
		b = jsonString(append(b, `,"migratetype":`...), j.Migrate)
	}
	if j.Zone != "" {
		b = jsonString(append(b, `,"zone":`...), j.Zone)
	}
	if len(j.Choices) > 0 {
		b = append(b, `,"choices":[`...)
		for i, c := range j.Choices {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonString(b, c)
		}
		b = append(b, ']')
	}
	return append(b, '}', '\n')
}

// jsonString appends s quoted as encoding/json quotes it with HTML
// escaping on: <, > and & as \u003c..., control characters as \n or
// \u00XX, invalid UTF-8 as \ufffd, U+2028 and U+2029 escaped.
func jsonString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
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
		Cache: j.Cache, Src: j.Src, Label: j.Label, Op: j.Op, Text: j.Text, PFNs: j.PFNs, Cause: j.Cause, Synthetic: j.Synthetic,
		Choices: j.Choices}
	var err error
	if f.Addr, err = parseAddr(j.Addr); err != nil {
		return f, err
	}
	if j.Array != "" {
		if f.Array, err = parseAddr(j.Array); err != nil {
			return f, err
		}
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
	if j.Migrate != "" {
		if f.Migrate, ok = parseName[MigrateType](j.Migrate, migratetypeNames[:]); !ok {
			return f, fmt.Errorf("migrate type %q does not exist", j.Migrate)
		}
	}
	if j.Zone != "" {
		if f.Zone, ok = parseName[ZoneType](j.Zone, zoneNames[:]); !ok {
			return f, fmt.Errorf("zone %q does not exist", j.Zone)
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

package ktrace

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/allocviz/allocviz/allocator"
)

// Sniff reports whether data (a whole file, or its start: see SniffHead)
// looks like a trace rather than a script: a gzip stream, a "# tracer:" or
// trace-cmd header, or an event line among the first lines.
func Sniff(data []byte) bool {
	if bytes.HasPrefix(data, gzipMagic) {
		return true
	}
	for i := 0; i < 64 && len(data) > 0; i++ {
		line := data
		if j := bytes.IndexByte(data, '\n'); j >= 0 {
			line, data = data[:j], data[j+1:]
		} else {
			data = nil
		}
		line = bytes.TrimSpace(line)
		switch {
		case bytes.HasPrefix(line, []byte("# tracer:")), isCPUsHeader(line):
			return true
		}
		if _, ok := splitEventLine(line); ok {
			return true
		}
	}
	return false
}

// SniffHead is Sniff of the first bytes of a longer file. It looks only
// at the lines the head holds whole, so that it says "trace" only where
// Sniff of the whole file would; a head that says "script" may still
// begin a trace whose first lines are longer than the head.
func SniffHead(head []byte) bool {
	return bytes.HasPrefix(head, gzipMagic) || Sniff(head[:bytes.LastIndexByte(head, '\n')+1])
}

// Parse reads a trace: the text of tracing/trace or trace_pipe, or
// trace-cmd report's output, plain or gzipped. name is used in errors.
// Lines of other events, comments and text pasted around the trace are
// counted; a memory event line that cannot be parsed is counted and kept
// as a *LineError (the first MaxErrors of them). The error is only for a
// file that cannot be read as text at all.
func Parse(name string, data []byte) (*Trace, error) {
	return ParseContext(context.Background(), name, bytes.NewReader(data), MaxBytes)
}

// ParseContext is Parse of the trace r holds (from its start), read as a
// stream: one line at a time, so that only the parsed records stay in
// memory, never the whole text. It checks ctx every few thousand lines,
// and reads at most limit bytes of text (at most MaxBytes): a file or
// bytes in memory whose size says it is longer are refused before they
// are read, a gzip stream where it passes the limit. An error met part
// of the way (cancellation, the limit, a broken gzip stream, a read
// error) names the line it was at.
func ParseContext(ctx context.Context, name string, r io.Reader, limit int) (*Trace, error) {
	return parse(ctx, name, r, limit, true)
}

// FileError is an error reading or parsing a trace's text: the file and,
// when it arose at one, the line. It reads "name:line: err" ("name: err"
// for the file as a whole).
type FileError struct {
	Name string
	Line int // 0: the file as a whole
	Err  error
}

func (e *FileError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", e.Name, e.Line, e.Err)
	}
	return e.Name + ": " + e.Err.Error()
}

func (e *FileError) Unwrap() error { return e.Err }

// Scan is ParseContext without the records: what a trace holds (its
// counts, header, format, line errors) in memory that does not grow with
// its length, for a summary of a trace that is not to be replayed. Its
// Trace has no Records and no Vmap.
func Scan(ctx context.Context, name string, r io.Reader, limit int) (*Trace, error) {
	return parse(ctx, name, r, limit, false)
}

// parse is ParseContext, keeping the records or not.
func parse(ctx context.Context, name string, r io.Reader, limit int, keep bool) (*Trace, error) {
	limit = min(limit, MaxBytes)
	size, sized := knownSize(r)
	txt, err := openText(r)
	if err != nil {
		return nil, &FileError{Name: name, Err: err}
	}
	t := &Trace{Name: name, Format: FormatPipe, strs: []string{""}, index: map[string]Str{}}
	t.Stats.tasks = map[[2]int32]bool{}
	if sized && !txt.gzip && size > int64(limit) {
		return nil, &FileError{Name: name, Err: tooLarge(size, false, limit)}
	}
	if n := textSize(r, size, sized, txt.gzip); n >= 0 && keep {
		// A line is about 170 bytes in a 6.x trace.
		t.Records = make([]Record, 0, min(n, int64(limit))/160+16)
	}
	p := parser{t: t, gfp: map[string]gfpEntry{}, names: map[string]string{}, keep: keep}
	lines := lineReader{text: txt, limit: int64(limit)}
	lineNo := 0
	for {
		line, err := lines.next()
		if errors.Is(err, io.EOF) {
			break
		}
		lineNo++
		if err != nil {
			return nil, &FileError{Name: name, Line: lineNo, Err: err}
		}
		if lineNo&(1<<14-1) == 0 && ctx.Err() != nil {
			return nil, &FileError{Name: name, Line: lineNo, Err: context.Cause(ctx)}
		}
		p.line(lineNo, line)
	}
	t.Stats.Lines = lineNo
	if t.CPUs == 0 {
		t.CPUs = p.maxCPU + 1
	}
	t.Stats.Tasks = len(t.Stats.tasks)
	t.Stats.tasks = nil
	if t.Stats.Memory() == 0 && t.Stats.Unparsed == 0 && t.Stats.Other == 0 {
		return nil, &FileError{Name: name, Err: errors.New("no trace lines: not the text of tracing/trace, trace_pipe or trace-cmd report")}
	}
	return t, nil
}

// gfpEntry caches the conversion of one gfp_flags= value.
type gfpEntry struct {
	g       allocator.GFP
	unknown []string
	hex     bool
}

type parser struct {
	t      *Trace
	gfp    map[string]gfpEntry
	names  map[string]string // the names of other events seen
	keep   bool              // keep the records (Scan does not)
	maxCPU int
}

// eventLine is an event line cut into its parts.
type eventLine struct {
	task, pid, cpu, ts, event, fields []byte
}

// isCPUsHeader reports whether line is trace-cmd report's "cpus=N".
func isCPUsHeader(line []byte) bool {
	n, ok := bytes.CutPrefix(line, []byte("cpus="))
	return ok && len(n) > 0 && allDigits(n)
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}

// splitEventLine cuts "   <task>-<pid> [<cpu>] <flags> <timestamp>: <event>: <fields>"
// into its parts. The task may contain spaces and dashes; a trace-cmd
// instance prefix ("name: ") and a tgid column ("(  1234)") are dropped;
// the flags column (irqs-off and the rest) is optional.
func splitEventLine(line []byte) (eventLine, bool) {
	var el eventLine
	// The CPU: the first "[digits]" preceded by a space.
	i := 0
	for {
		j := bytes.IndexByte(line[i:], '[')
		if j < 0 {
			return el, false
		}
		j += i
		k := bytes.IndexByte(line[j:], ']')
		if k > 1 && j > 0 && line[j-1] == ' ' && allDigits(line[j+1:j+k]) {
			el.cpu = line[j+1 : j+k]
			head := bytes.TrimSpace(line[:j])
			rest := line[j+k+1:]
			if c := bytes.Index(head, []byte(" (")); c >= 0 && bytes.HasSuffix(head, []byte(")")) {
				head = bytes.TrimSpace(head[:c]) // the tgid column
			}
			if c := bytes.LastIndex(head, []byte(": ")); c >= 0 {
				head = bytes.TrimSpace(head[c+2:]) // trace-cmd's instance name
			}
			d := bytes.LastIndexByte(head, '-')
			if d <= 0 || !allDigits(head[d+1:]) && !(d+2 < len(head) && head[d+1] == '-' && allDigits(head[d+2:])) {
				return el, false
			}
			el.task, el.pid = head[:d], head[d+1:]
			return el, splitAfterCPU(&el, rest)
		}
		i = j + 1
	}
}

// splitAfterCPU reads "<flags> <timestamp>: <event>: <fields>".
func splitAfterCPU(el *eventLine, rest []byte) bool {
	tok, rest := nextToken(rest)
	if !bytes.HasSuffix(tok, []byte(":")) {
		tok, rest = nextToken(rest) // tok was the flags column
	}
	ts, ok := bytes.CutSuffix(tok, []byte(":"))
	if !ok || !isTimestamp(ts) {
		return false
	}
	ev, rest := nextToken(rest)
	name, ok := bytes.CutSuffix(ev, []byte(":"))
	if !ok || len(name) == 0 {
		return false
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	el.ts, el.event, el.fields = ts, name, bytes.TrimSpace(rest)
	return true
}

// isTimestamp reports whether b is seconds.fraction or a bare counter.
func isTimestamp(b []byte) bool {
	dot := bytes.IndexByte(b, '.')
	if dot < 0 {
		return allDigits(b)
	}
	return allDigits(b[:dot]) && allDigits(b[dot+1:])
}

// nextToken returns the next space-separated token and what follows it.
func nextToken(b []byte) ([]byte, []byte) {
	i := 0
	for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
		i++
	}
	j := i
	for j < len(b) && b[j] != ' ' && b[j] != '\t' {
		j++
	}
	return b[i:j], b[j:]
}

// parseTS converts seconds.fraction to nanoseconds.
func parseTS(b []byte) int64 {
	var sec, frac int64
	digits := 0
	i := 0
	for ; i < len(b) && b[i] != '.'; i++ {
		sec = sec*10 + int64(b[i]-'0')
	}
	for i++; i < len(b) && digits < 9; i++ {
		frac = frac*10 + int64(b[i]-'0')
		digits++
	}
	for ; digits < 9; digits++ {
		frac *= 10
	}
	return sec*1_000_000_000 + frac
}

// line classifies and parses one line.
func (p *parser) line(n int, raw []byte) {
	t := p.t
	line := bytes.TrimRight(raw, "\r")
	trimmed := bytes.TrimSpace(line)
	switch {
	case len(trimmed) == 0:
		t.Stats.Blank++
		return
	case trimmed[0] == '#':
		t.Stats.Header++
		p.comment(trimmed)
		return
	case isCPUsHeader(trimmed):
		t.Stats.Header++
		t.Format = FormatTraceCmd
		t.CPUs, _ = strconv.Atoi(string(trimmed[len("cpus="):]))
		return
	}
	el, ok := splitEventLine(trimmed)
	if !ok {
		t.Stats.NotTrace++
		return
	}
	ev := lookupEvent(el.event)
	if ev == EvNone {
		t.Stats.Other++
		if t.Stats.OtherByEv == nil {
			t.Stats.OtherByEv = map[string]int{}
		}
		name, ok := p.names[string(el.event)]
		if !ok {
			name = string(el.event)
			p.names[name] = name
		}
		t.Stats.OtherByEv[name]++ // counted without a string a line
		return
	}
	if err := p.record(n, ev, el); err != nil {
		t.Stats.Unparsed++
		if len(t.Errors) < MaxErrors {
			t.Errors = append(t.Errors, &LineError{File: t.Name, Line: n, Event: ev.String(), Msg: err.Error()})
		}
	}
}

// comment reads what a header line says: the tracer header, the CPU
// count of "# entries-in-buffer/entries-written: 55/55   #P:4", and
// allocviz capture's own "# allocviz capture: ..." line.
func (p *parser) comment(line []byte) {
	t := p.t
	if bytes.HasPrefix(line, []byte("# tracer:")) && t.Format == FormatPipe {
		t.Format = FormatFtrace
	}
	if i := bytes.Index(line, []byte("#P:")); i >= 0 {
		if n, err := strconv.Atoi(string(bytes.TrimSpace(line[i+3:]))); err == nil && n > 0 {
			t.CPUs = n
		}
	}
	if c, ok := cutComment(line); ok && t.Comment == "" {
		t.Comment = c
	}
}

// commentPrefix starts the line allocviz capture writes first: what was
// traced, on which kernel.
const commentPrefix = "# allocviz: "

func cutComment(line []byte) (string, bool) {
	c, ok := bytes.CutPrefix(line, []byte(commentPrefix))
	return string(bytes.TrimSpace(c)), ok
}

// Comment returns the text of the first "# allocviz: " line among the
// first lines of text, or "".
func Comment(text []byte) string {
	for i := 0; i < 16 && len(text) > 0; i++ {
		line := text
		if j := bytes.IndexByte(text, '\n'); j >= 0 {
			line, text = text[:j], text[j+1:]
		} else {
			text = nil
		}
		if c, ok := cutComment(bytes.TrimSpace(line)); ok {
			return c
		}
	}
	return ""
}

// record parses the fields of a memory event line into a Record.
func (p *parser) record(n int, ev Event, el eventLine) error {
	t := p.t
	cpu, err := strconv.Atoi(string(el.cpu))
	if err != nil || cpu > 1<<15-1 {
		return fmt.Errorf("cpu [%s] is out of range", el.cpu)
	}
	pid, err := strconv.ParseInt(string(el.pid), 10, 32)
	if err != nil {
		return fmt.Errorf("pid %q is not a number", el.pid)
	}
	r := Record{Line: int32(n), Event: ev, CPU: int16(cpu), PID: int32(pid), TS: parseTS(el.ts),
		Task: t.intern(el.task), Vmap: -1, Node: -1, Accounted: -1}
	var have field
	var vm VmapFields
	rest := el.fields
	for len(rest) > 0 {
		var tok []byte
		tok, rest = nextToken(rest)
		if len(tok) == 0 {
			break
		}
		if tok[0] == '(' && tok[len(tok)-1] == ')' {
			continue // trace-cmd's "(call_site)" before the fields
		}
		key, val, ok := bytes.Cut(tok, []byte("="))
		if !ok {
			if bytes.Equal(tok, []byte("va_start:")) {
				// alloc_vmap_area prints "va_start: %lu".
				key = []byte("va_start")
				val, rest = nextToken(rest)
			} else {
				return fmt.Errorf("%q is not a key=value field", tok)
			}
		}
		f, known := fieldNames[string(key)]
		if !known {
			continue // a field a newer kernel added
		}
		have |= f
		switch f {
		case fCallSite:
			// %pS of a module's function: "fn+0x70/0xb0 [memleak]".
			if next, after := nextToken(rest); len(next) > 2 && next[0] == '[' && next[len(next)-1] == ']' {
				full := make([]byte, 0, len(val)+1+len(next))
				full = append(append(append(full, val...), ' '), next...)
				val, rest = full, after
			}
			r.CallSite = t.intern(val)
		case fPtr:
			r.Ptr, err = parsePtr(val)
		case fPage:
			var pg uint64
			pg, err = parsePtr(val)
			r.Failed = pg == 0
		case fName:
			r.Cache = t.intern(val)
		case fBytesReq:
			r.BytesReq, err = parseUint(val)
		case fBytesAlloc:
			r.BytesAlloc, err = parseUint(val)
		case fGFP:
			r.GFP, err = p.gfpValue(val)
		case fNode:
			var v int64
			v, err = strconv.ParseInt(string(val), 10, 16)
			r.Node = int16(v)
		case fAccounted:
			switch string(val) {
			case "true":
				r.Accounted = 1
			case "false":
				r.Accounted = 0
			default:
				err = fmt.Errorf("accounted=%q is neither true nor false", val)
			}
		case fPFN:
			if !bytes.HasPrefix(val, []byte("0x")) {
				t.Stats.Fields.DecPFN = true
			}
			r.PFN, err = parseUint(val)
		case fOrder:
			var v uint64
			v, err = parseUint(val)
			if err == nil && v > allocator.MaxPageOrder {
				err = fmt.Errorf("above MAX_PAGE_ORDER, %d on x86-64 as in allocviz", allocator.MaxPageOrder)
			}
			r.Order = int8(v)
		case fMigratetype:
			var v int64
			v, err = strconv.ParseInt(string(val), 10, 8)
			r.Migrate = int8(v)
		case fPercpuRefill:
			var v uint64
			v, err = parseUint(val)
			r.Refill = v != 0
		case fFailed:
			var v uint64
			v, err = parseUint(val)
			vm.Failed = v != 0
		default:
			if p := vm.number(f); p != nil {
				*p, err = parseUint(val)
			}
		}
		if err != nil {
			return fmt.Errorf("%s=%q: %w", key, val, err)
		}
	}
	if m := missing(ev, have); m != "" {
		return fmt.Errorf("no %s= field (the line is cut short?)", m)
	}
	switch ev {
	case KmemCacheAlloc:
		t.Stats.Fields.CacheName = t.Stats.Fields.CacheName || have&fName != 0
	case KmemCacheFree:
		t.Stats.Fields.FreeName = t.Stats.Fields.FreeName || have&fName != 0
	case MmPageAlloc:
		if r.Failed {
			r.PFN = 0
		}
	}
	if have&(fNode|fAccounted) != 0 {
		t.Stats.Fields.NodeAcct = true
	}
	if (have&(fVAStart|fStart) != 0 || ev == VmUnmapAliases) && p.keep {
		r.Vmap = int32(len(t.Vmap))
		t.Vmap = append(t.Vmap, vm)
	}
	if have&fPtr != 0 && r.Ptr != 0 && !t.Stats.Hashed && isHashed(r.Ptr) {
		t.Stats.Hashed = true
	}
	if p.keep {
		t.Records = append(t.Records, r)
	}
	if t.Stats.Memory() == 0 {
		t.Stats.FirstTS = r.TS
	}
	t.Stats.Events[ev]++
	t.Stats.LastTS = r.TS
	t.Stats.tasks[[2]int32{int32(r.Task), r.PID}] = true
	p.maxCPU = max(p.maxCPU, cpu)
	return nil
}

// number returns the numeric vmalloc field f is, or nil.
func (vm *VmapFields) number(f field) *uint64 {
	switch f {
	case fVAStart:
		return &vm.VAStart
	case fSize:
		return &vm.Size
	case fAlign:
		return &vm.Align
	case fVStart:
		return &vm.VStart
	case fVEnd:
		return &vm.VEnd
	case fNrLazy:
		return &vm.NrLazy
	case fNrLazyMax:
		return &vm.NrLazyMax
	case fStart:
		return &vm.Start
	case fEnd:
		return &vm.End
	case fNumPurged:
		return &vm.NumPurged
	}
	return nil
}

// isHashed reports whether a pointer value is a %p hash rather than a
// kernel address: hashes print as 32-bit values zero-extended, kernel
// addresses have their top bits set.
func isHashed(v uint64) bool { return v>>32 == 0 }

// parsePtr reads a pointer as the kernel prints it: hex with or without
// 0x; "(null)" and "(nil)" (trace-cmd) are 0.
func parsePtr(b []byte) (uint64, error) {
	switch string(b) {
	case "(null)", "(nil)", "NULL":
		return 0, nil
	}
	b, _ = bytes.CutPrefix(b, []byte("0x"))
	if len(b) == 0 || len(b) > 16 {
		return 0, errors.New("not a pointer")
	}
	var v uint64
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | uint64(c-'0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | uint64(c-'a'+10)
		case c >= 'A' && c <= 'F':
			v = v<<4 | uint64(c-'A'+10)
		default:
			return 0, errors.New("not a pointer")
		}
	}
	return v, nil
}

// parseUint reads a decimal number, or hex with 0x.
func parseUint(b []byte) (uint64, error) {
	if h, ok := bytes.CutPrefix(b, []byte("0x")); ok {
		return parsePtr(h)
	}
	if len(b) == 0 || len(b) > 20 {
		return 0, errors.New("not a number")
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, errors.New("not a number")
		}
		d := uint64(c - '0')
		if v > (1<<64-1-d)/10 {
			return 0, errors.New("out of range")
		}
		v = v*10 + d
	}
	return v, nil
}

// gfpValue converts a gfp_flags= value, once per distinct spelling.
func (p *parser) gfpValue(val []byte) (allocator.GFP, error) {
	e, ok := p.gfp[string(val)]
	if !ok {
		if len(val) == 0 {
			return 0, errors.New("empty")
		}
		g, unknown := gfpFlags(string(val))
		e = gfpEntry{g: g, unknown: unknown, hex: val[0] >= '0' && val[0] <= '9'}
		p.gfp[string(val)] = e
	}
	if e.hex {
		p.t.Stats.Fields.HexGFP = true
	}
	for _, u := range e.unknown {
		if p.t.Stats.Unknown == nil {
			p.t.Stats.Unknown = map[string]int{}
		}
		p.t.Stats.Unknown[u]++
	}
	return e.g, nil
}

// Lengthen returns a trace of n lines made from text: its header, then its
// event lines over and over. Replayed, the repeats allocate again what the
// first pass left live (synthetic frees, pages freed first): a long, real
// workload for load tests and benchmarks.
func Lengthen(text []byte, n int) []byte {
	var header, body [][]byte
	for line := range bytes.Lines(text) {
		if t := bytes.TrimSpace(line); len(body) == 0 && (len(t) == 0 || t[0] == '#' || isCPUsHeader(t)) {
			header = append(header, line)
		} else {
			body = append(body, line)
		}
	}
	out := make([]byte, 0, len(text)/max(len(header)+len(body), 1)*n)
	for _, l := range header[:min(len(header), n)] {
		out = append(out, l...)
	}
	for i := 0; i < n-len(header) && len(body) > 0; i++ {
		out = append(out, body[i%len(body)]...)
		if out[len(out)-1] != '\n' {
			out = append(out, '\n')
		}
	}
	return out
}

package ktrace

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
)

// parseStream parses r as a stream with the default limit.
func parseStream(name string, r io.Reader) (*Trace, error) {
	return ParseContext(context.Background(), name, r, MaxBytes)
}

// gzipped returns text as a gzip stream.
func gzipped(t testing.TB, text []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write(text); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// sameTrace fails unless a and b hold the same records, strings, counts
// and errors.
func sameTrace(t *testing.T, what string, a, b *Trace) {
	t.Helper()
	a.Records, b.Records = a.Records[:len(a.Records):len(a.Records)], b.Records[:len(b.Records):len(b.Records)] // capacities differ by design
	if !reflect.DeepEqual(a, b) {
		t.Errorf("%s: the trace differs: %d records, stats %+v; want %d records, stats %+v", what, len(a.Records), a.Stats, len(b.Records), b.Stats)
	}
}

// TestStreamReadsWhatTheWholeTextSays: the 6.18 capture and a published
// sample with damaged lines, read through readers that hand out one byte
// or half a buffer at a time (every line split across reads), unsized
// and gzipped, parse to exactly what the text in memory does.
func TestStreamReadsWhatTheWholeTextSays(t *testing.T) {
	for _, name := range []string{capture65k, "ftrace-kmem-tracecmd-blog-virtiofs-short.txt", "ftrace-kmem-yocto-sugarbay-kmalloc.txt"} {
		text, err := Decode(readTestdata(t, name))
		if err != nil {
			t.Fatal(err)
		}
		want, err := Parse(name, text)
		if err != nil {
			t.Fatal(err)
		}
		gz := gzipped(t, text)
		for _, c := range []struct {
			how string
			r   io.Reader
		}{
			{"one byte a read", iotest.OneByteReader(bytes.NewReader(text))},
			{"half a read", iotest.HalfReader(bytes.NewReader(text))},
			{"gzip, unsized", iotest.HalfReader(bytes.NewReader(gz))},
			{"gzip in memory", bytes.NewReader(gz)},
			{"an error with the last bytes", iotest.DataErrReader(bytes.NewReader(text))},
		} {
			got, err := parseStream(name, c.r)
			if err != nil {
				t.Fatalf("%s, %s: %v", name, c.how, err)
			}
			sameTrace(t, name+", "+c.how, got, want)
		}
	}
}

// TestStreamLongLines: a line longer than the read buffer (text pasted
// around a trace, a line without "\n" at the end) is read whole, and the
// lines after it keep their numbers.
func TestStreamLongLines(t *testing.T) {
	const good = "  ls-1 [000] 1.0: kmalloc: call_site=a ptr=0xffff888000000000 bytes_req=8 bytes_alloc=8 gfp_flags=GFP_KERNEL\n"
	const bad = "  ls-1 [000] 1.0: kmalloc: call_site=a ptr=0xffff888000000000 bytes_req=8x bytes_alloc=8 gfp_flags=GFP_KERNEL\n"
	long := strings.Repeat("x", 3*readBuffer+17) + "\n"
	longEvent := strings.TrimSuffix(good, "\n") + " pad=" + strings.Repeat("y", 2*readBuffer) // a field a newer kernel added, no "\n"
	text := long + good + long + bad + good + longEvent
	for _, r := range []io.Reader{strings.NewReader(text), iotest.HalfReader(strings.NewReader(text)), bytes.NewReader(gzipped(t, []byte(text)))} {
		tr, err := parseStream("long", r)
		if err != nil {
			t.Fatal(err)
		}
		st := tr.Stats
		if st.Lines != 6 || st.NotTrace != 2 || st.Events[Kmalloc] != 3 || st.Unparsed != 1 {
			t.Errorf("%d lines, %d not trace, %d kmalloc, %d unparsed", st.Lines, st.NotTrace, st.Events[Kmalloc], st.Unparsed)
		}
		if got := errorLines(tr); !reflect.DeepEqual(got, []int{4}) {
			t.Errorf("errors at lines %v, want [4]", got)
		}
		if n := len(tr.Records); n != 3 || tr.Records[0].Line != 2 || tr.Records[1].Line != 5 || tr.Records[2].Line != 6 {
			t.Errorf("records %+v", tr.Records)
		}
	}
}

// eventLines returns n kmalloc lines, each lineLen bytes with its "\n".
func eventLines(n int) (text []byte, lineLen int) {
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, "  ls-1 [000] %d.000001: kmalloc: call_site=a ptr=0xffff8880%08x bytes_req=8 bytes_alloc=8 gfp_flags=GFP_KERNEL\n", 1000+i%1000, i)
	}
	return b.Bytes(), b.Len() / n
}

// TestStreamLimit: the byte limit holds for a stream as for text in
// memory. Text whose size is known is refused before it is read; a
// stream (plain or gzip) is refused at the line where it passes the
// limit; text of exactly the limit is read.
func TestStreamLimit(t *testing.T) {
	text, lineLen := eventLines(100)
	limit := 40*lineLen + 10 // in line 41
	for _, c := range []struct {
		how  string
		r    io.Reader
		want string
	}{
		{"in memory", bytes.NewReader(text), fmt.Sprintf("t: trace too large: the trace is %d bytes, more than the %d allowed", len(text), limit)},
		{"unsized", iotest.HalfReader(bytes.NewReader(text)), fmt.Sprintf("t:41: trace too large: the trace is more than the %d bytes allowed", limit)},
		{"gzip", bytes.NewReader(gzipped(t, text)), fmt.Sprintf("t:41: trace too large: the trace expands to more than the %d bytes allowed", limit)},
	} {
		_, err := ParseContext(context.Background(), "t", c.r, limit)
		if !errors.Is(err, ErrTooLarge) || err.Error() != c.want {
			t.Errorf("%s: %v\nwant %s", c.how, err, c.want)
		}
	}
	// A line far longer than the limit is refused without being gathered.
	long := strings.Repeat("x", 4*readBuffer)
	if _, err := ParseContext(context.Background(), "t", iotest.HalfReader(strings.NewReader(long)), readBuffer); !errors.Is(err, ErrTooLarge) ||
		!strings.HasPrefix(err.Error(), "t:1: ") {
		t.Errorf("a long line: %v", err)
	}
	for _, r := range []io.Reader{bytes.NewReader(text), iotest.HalfReader(bytes.NewReader(text)), bytes.NewReader(gzipped(t, text))} {
		tr, err := ParseContext(context.Background(), "t", r, len(text))
		if err != nil || tr.Stats.Events[Kmalloc] != 100 {
			t.Errorf("at the limit: %v", err)
		}
	}
}

// TestStreamErrors: a gzip stream cut short or a failing read ends the
// parse with an error at the line it reached; a gzip stream broken in
// its header is refused at once.
func TestStreamErrors(t *testing.T) {
	text, _ := eventLines(20000)
	gz := gzipped(t, text)
	_, err := parseStream("cut.gz", bytes.NewReader(gz[:len(gz)/2]))
	if !errors.Is(err, io.ErrUnexpectedEOF) || !strings.Contains(err.Error(), ": gunzip: unexpected EOF") {
		t.Fatalf("a gzip stream cut in half: %v", err)
	}
	var line int
	if _, serr := fmt.Sscanf(strings.TrimPrefix(err.Error(), "cut.gz:"), "%d:", &line); serr != nil || line < 1000 || line > 19000 {
		t.Errorf("the error names line %d (%v): %v", line, serr, err)
	}
	boom := errors.New("disk on fire")
	half, _ := eventLines(10)
	_, err = parseStream("f", io.MultiReader(bytes.NewReader(half[:len(half)/2]), iotest.ErrReader(boom)))
	if !errors.Is(err, boom) || !strings.HasPrefix(err.Error(), "f:5: ") && !strings.HasPrefix(err.Error(), "f:6: ") {
		t.Errorf("a read error: %v", err)
	}
	if _, err := parseStream("bad.gz", bytes.NewReader([]byte{0x1f, 0x8b, 1, 2, 3})); err == nil || err.Error() != "bad.gz: gunzip: unexpected EOF" {
		t.Errorf("a broken gzip header: %v", err)
	}
}

// TestStreamCancel: a cancelled parse stops within a few thousand lines,
// at the line it reached, with the context's cause.
func TestStreamCancel(t *testing.T) {
	text, _ := eventLines(40000)
	ctx, cancel := context.WithCancelCause(context.Background())
	cause := errors.New("the user pressed q")
	cancel(cause)
	for _, r := range []io.Reader{bytes.NewReader(text), bytes.NewReader(gzipped(t, text))} {
		_, err := ParseContext(ctx, "t", r, MaxBytes)
		if !errors.Is(err, cause) || !strings.HasPrefix(err.Error(), "t:16384: ") {
			t.Errorf("cancelled: %v", err)
		}
	}
}

// repeatReader hands out line n times, as a file would, without ever
// holding more than the line.
type repeatReader struct {
	line []byte
	n    int
	off  int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	k := 0
	for k < len(p) && r.n > 0 {
		c := copy(p[k:], r.line[r.off:])
		k += c
		r.off += c
		if r.off == len(r.line) {
			r.off, r.n = 0, r.n-1
		}
	}
	if k == 0 {
		return 0, io.EOF
	}
	return k, nil
}

// TestStreamHoldsALineAtATime: parsing 64 MiB of text allocates a small
// part of it: the text is read through a buffer, never held whole.
// (Lines of another event, which leave no record behind.)
func TestStreamHoldsALineAtATime(t *testing.T) {
	line := []byte("  ls-1 [000] 1.000001: sched_switch: prev_comm=ls prev_pid=1 prev_prio=120 prev_state=S ==> next_comm=swapper/0 next_pid=0\n")
	n := 64 << 20 / len(line)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	tr, err := parseStream("big", &repeatReader{line: line, n: n})
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Stats.Lines != n || tr.Stats.Other != n {
		t.Fatalf("%d lines, %d other events; want %d", tr.Stats.Lines, tr.Stats.Other, n)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
		t.Errorf("parsing %d MiB of text allocated %d KiB", n*len(line)>>20, alloc>>10)
	}
}

// TestGzipTrailerSizesTheRecords: a gzip file's trailer says how long
// its text is, and the records are sized by it as a plain file's are by
// its size; a trailer that claims more than a trace compresses to is
// believed only that far.
func TestGzipTrailerSizesTheRecords(t *testing.T) {
	text, err := Decode(readTestdata(t, traceCmd618))
	if err != nil {
		t.Fatal(err)
	}
	gz := gzipped(t, text)
	plain, err := Parse("t", text)
	if err != nil {
		t.Fatal(err)
	}
	fromGzip, err := Parse("t", gz)
	if err != nil {
		t.Fatal(err)
	}
	if c := cap(fromGzip.Records); c != cap(plain.Records) || c != len(text)/160+16 {
		t.Errorf("records sized for %d lines from the gzip trailer, %d from the plain size", c, cap(plain.Records))
	}
	binary.LittleEndian.PutUint32(gz[len(gz)-4:], 1<<32-1)
	if _, err := Parse("t", gz); err == nil || !strings.Contains(err.Error(), "gunzip: gzip: invalid checksum") {
		t.Fatalf("a trailer that lies: %v", err)
	}
	if n := textSize(bytes.NewReader(gz), int64(len(gz)), true, true); n != int64(len(gz))*maxRatio {
		t.Errorf("a trailer of 4 GiB on %d bytes is believed to %d bytes", len(gz), n)
	}
}

// TestScanCountsWithoutRecords: Scan says what Parse says of a trace
// (counts, header, errors) and keeps no records, so that the memory it
// takes does not grow with the trace: 64 MiB of kmalloc lines take a
// small part of that.
func TestScanCountsWithoutRecords(t *testing.T) {
	for _, name := range []string{capture65k, "ftrace-kmem-tracecmd-blog-virtiofs-short.txt"} {
		data := readTestdata(t, name)
		want, err := Parse(name, data)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Scan(context.Background(), name, bytes.NewReader(data), MaxBytes)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Records) != 0 || len(got.Vmap) != 0 {
			t.Errorf("%s: Scan kept %d records, %d vmap fields", name, len(got.Records), len(got.Vmap))
		}
		want.Records, want.Vmap = nil, nil
		sameTrace(t, name+", scanned", got, want)
	}
	line := []byte("  ls-1 [000] 1.000001: kmalloc: call_site=a ptr=0xffff888000000000 bytes_req=8 bytes_alloc=8 gfp_flags=GFP_KERNEL\n")
	n := 64 << 20 / len(line)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	tr, err := Scan(context.Background(), "big", &repeatReader{line: line, n: n}, MaxBytes)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Stats.Events[Kmalloc] != n {
		t.Fatalf("%d kmalloc lines, want %d", tr.Stats.Events[Kmalloc], n)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
		t.Errorf("scanning %d MiB of kmalloc lines allocated %d KiB", n*len(line)>>20, alloc>>10)
	}
}

package ktrace

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
)

// A trace is read as a stream: its file (or its gzip stream,
// decompressed as it goes) through a buffer, one line at a time, so that
// the whole text is never in memory at once, only the line being parsed
// (a buffer's worth, or the line itself when it is longer).

// MaxBytes bounds a trace's text after decompression: 1 GiB, about six
// million lines. A larger file, or a gzip stream that expands beyond it,
// is refused.
const MaxBytes = 1 << 30

// ErrTooLarge matches the error for a trace whose text is longer than
// allowed.
var ErrTooLarge = errors.New("trace too large")

// gzipMagic starts every gzip stream (RFC 1952).
var gzipMagic = []byte{0x1f, 0x8b}

// readBuffer is the size of the buffers a trace is read through: a
// line longer than this is gathered in a buffer of its own.
const readBuffer = 64 << 10

// text is a trace's text being read: the file itself, or its gzip
// stream decompressed.
type text struct {
	*bufio.Reader
	gzip bool
}

// openText starts reading the trace r holds, telling a gzip stream by
// its magic. Errors of the gzip stream begin "gunzip: ".
func openText(r io.Reader) (text, error) {
	br := bufio.NewReaderSize(r, readBuffer)
	magic, err := br.Peek(len(gzipMagic))
	if err != nil && !errors.Is(err, io.EOF) {
		return text{}, err
	}
	if !bytes.Equal(magic, gzipMagic) {
		return text{Reader: br}, nil
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		return text{}, fmt.Errorf("gunzip: %w", err)
	}
	return text{Reader: bufio.NewReaderSize(zr, readBuffer), gzip: true}, nil
}

// readErr says where a read error came from.
func (t text) readErr(err error) error {
	if t.gzip {
		return fmt.Errorf("gunzip: %w", err)
	}
	return err
}

// knownSize returns the bytes left in r when r can tell without reading
// them: a regular file (at its start), or bytes in memory.
func knownSize(r io.Reader) (int64, bool) {
	switch r := r.(type) {
	case interface{ Len() int }: // bytes.Reader, strings.Reader
		return int64(r.Len()), true
	case interface{ Stat() (fs.FileInfo, error) }: // *os.File
		if fi, err := r.Stat(); err == nil && fi.Mode().IsRegular() {
			return fi.Size(), true
		}
	}
	return 0, false
}

// textSize returns about how long the text of r (of size bytes, when
// sized) is, or -1: a plain file's size; for a gzip stream the length its
// trailer gives (ISIZE, RFC 1952: of its last member, mod 4 GiB), when r
// can read it there, believed up to a trace's usual compression ratio
// several times over. Only a hint, to reserve room by.
func textSize(r io.Reader, size int64, sized, gzipped bool) int64 {
	if !sized {
		return -1
	}
	if !gzipped {
		return size
	}
	ra, ok := r.(io.ReaderAt)
	if !ok || size < 18 { // a gzip header and trailer take 18 bytes
		return -1
	}
	var isize [4]byte
	if _, err := ra.ReadAt(isize[:], size-4); err != nil {
		return -1
	}
	return min(int64(binary.LittleEndian.Uint32(isize[:])), size*maxRatio)
}

// maxRatio bounds how much a gzip stream's trailer is believed: traces
// compress about 20 to 1.
const maxRatio = 64

// tooLarge is the error for a trace of size bytes (when known) or a
// stream longer than limit.
func tooLarge(size int64, gzipped bool, limit int) error {
	switch {
	case gzipped:
		return fmt.Errorf("%w: the trace expands to more than the %d bytes allowed", ErrTooLarge, limit)
	case size >= 0:
		return fmt.Errorf("%w: the trace is %d bytes, more than the %d allowed", ErrTooLarge, size, limit)
	}
	return fmt.Errorf("%w: the trace is more than the %d bytes allowed", ErrTooLarge, limit)
}

// lineReader reads a trace's text line by line, at most limit bytes of
// it in all.
type lineReader struct {
	text
	long  []byte // a line longer than the buffer, gathered
	read  int64  // bytes of text read
	limit int64
}

// next returns the next line without its "\n" (a last line may have
// none), valid until the next call, or io.EOF after the last. A read
// error or the limit passed ends the text.
func (lr *lineReader) next() ([]byte, error) {
	line, err := lr.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		lr.long = append(lr.long[:0], line...)
		for errors.Is(err, bufio.ErrBufferFull) && lr.read+int64(len(lr.long)) <= lr.limit {
			line, err = lr.ReadSlice('\n')
			lr.long = append(lr.long, line...)
		}
		line = lr.long
	}
	lr.read += int64(len(line))
	switch {
	case lr.read > lr.limit:
		return nil, tooLarge(-1, lr.gzip, int(lr.limit))
	case errors.Is(err, io.EOF) && len(line) > 0:
		err = nil
	case errors.Is(err, io.EOF):
		return nil, io.EOF
	case err != nil:
		return nil, lr.readErr(err)
	}
	return bytes.TrimSuffix(line, []byte("\n")), nil
}

// Decode returns the text of a trace file: data itself, or its gzip
// stream decompressed (at most MaxBytes).
func Decode(data []byte) ([]byte, error) { return decode(data, MaxBytes) }

// decode is Decode with the limit as a parameter, for tests.
func decode(data []byte, limit int) ([]byte, error) {
	t, err := openText(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	if !t.gzip {
		if len(data) > limit {
			return nil, tooLarge(int64(len(data)), false, limit)
		}
		return data, nil
	}
	var out bytes.Buffer
	out.Grow(min(len(data)*8, limit))
	n, err := io.Copy(&out, io.LimitReader(t, int64(limit)+1))
	if err != nil {
		return nil, t.readErr(err)
	}
	if n > int64(limit) {
		return nil, tooLarge(-1, true, limit)
	}
	return out.Bytes(), nil
}

// Head returns up to n bytes of a trace's text, decompressing only that
// much of a gzipped file.
func Head(data []byte, n int) ([]byte, error) {
	if !bytes.HasPrefix(data, gzipMagic) {
		return data[:min(n, len(data))], nil
	}
	t, err := openText(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	buf := make([]byte, n)
	k, err := io.ReadFull(t, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, t.readErr(err)
	}
	return buf[:k], nil
}

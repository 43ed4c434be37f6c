package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/golden"
)

// A screen with what the interface's views hold: colours (basic, 256 and
// true colour), bold, reverse video, a wide character, XML's special
// characters and box drawing.
const testView = "\x1b[1;38;2;255;200;0mallocviz\x1b[0m step 3 of 9 <kmalloc & \"free\">\n" +
	"\x1b[48;5;22m  \x1b[0m\x1b[41m  \x1b[0m \x1b[7mrev\x1b[0m 漢字│┌─┐\n" +
	"\x1b[2mfaint\x1b[0m \x1b[4munder\x1b[0m"

// checkXML parses an SVG as XML and returns its elements by name.
func checkXML(t *testing.T, b []byte) map[string]int {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	count := map[string]int{}
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, b)
		}
		if se, ok := tok.(xml.StartElement); ok {
			count[se.Name.Local]++
		}
	}
	return count
}

func TestSVGKeepsTextColoursAndColumns(t *testing.T) {
	var out bytes.Buffer
	if err := writeSVG(&out, parseScreen(testView, 40, 4), "allocviz <test>", darkScreen); err != nil {
		t.Fatal(err)
	}
	n := checkXML(t, out.Bytes())
	if n["svg"] != 1 || n["title"] != 1 || n["text"] != 6 || n["rect"] != 4 {
		t.Errorf("elements: %v", n)
	}
	s := out.String()
	for _, want := range []string{
		`fill="#ffc800" font-weight="bold">allocviz</text>`, // true colour, bold
		`&lt;kmalloc &amp; &quot;free&quot;&gt;`,            // escaped
		`fill="#005f00"/>`,                                  // a 256-colour background
		`漢字│┌─┐`,                                            // wide and box characters as text
		`text-decoration="underline">under</text>`,
		`opacity="0.6">faint</text>`,
		`fill="#16181d">rev</text>`,               // reverse video: the background's colour on the foreground's
		`<text x="10" y="23.5" textLength="67.2"`, // column 0, row 0: 8 cells of 8.4 units
	} {
		if !strings.Contains(s, want) {
			t.Errorf("the SVG lacks %s", want)
		}
	}
	golden.RequireEqual(t, out.String())
}

func TestCastIsAsciicastV2(t *testing.T) {
	var out bytes.Buffer
	c := newCastWriter(&out, 40, 4, "tour")
	for i, at := range []time.Duration{0, 500 * time.Millisecond, 1500 * time.Millisecond} {
		c.frame(at, strings.Repeat("x", i+1)+"\nline two")
	}
	if err := c.close(); err != nil {
		t.Fatal(err)
	}
	checkCast(t, out.Bytes(), 40, 4, 3)
	golden.RequireEqual(t, out.String())

	back := newCastWriter(io.Discard, 40, 4, "")
	back.frame(time.Second, "a")
	back.frame(0, "b")
	if back.close() == nil {
		t.Error("a frame earlier than the one before it is accepted")
	}
}

// checkCast parses an asciicast v2 recording: a header with the version
// and the size, then output events with times that never go backwards,
// each a whole screen. It returns the frames' texts.
func checkCast(t *testing.T, b []byte, w, h, frames int) []string {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<24)
	if !sc.Scan() {
		t.Fatal("no header")
	}
	var header struct {
		Version, Width, Height int
	}
	if err := json.Unmarshal(sc.Bytes(), &header); err != nil || header.Version != 2 || header.Width != w || header.Height != h {
		t.Fatalf("header %s: %+v %v", sc.Bytes(), header, err)
	}
	last := -1.0
	var texts []string
	for sc.Scan() {
		var ev []any
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil || len(ev) != 3 {
			t.Fatalf("event %s: %v", sc.Bytes(), err)
		}
		at, ok := ev[0].(float64)
		if !ok || at < last || ev[1] != "o" {
			t.Fatalf("event %s after time %v", sc.Bytes(), last)
		}
		last = at
		text, _ := ev[2].(string)
		if !strings.HasPrefix(text, "\x1b[H\x1b[2J") || strings.Contains(strings.ReplaceAll(text, "\r\n", ""), "\n") {
			t.Fatalf("a frame is not a whole screen with CR LF lines: %q", text)
		}
		texts = append(texts, text)
	}
	if len(texts) != frames {
		t.Fatalf("%d frames, want %d", len(texts), frames)
	}
	return texts
}

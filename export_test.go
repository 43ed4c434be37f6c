package main

import (
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/charmbracelet/x/exp/golden"
)

// TestExportSVG exports the tour's screen at a step and checks it parses
// as XML, shows what the interface shows there and matches its golden.
func TestExportSVG(t *testing.T) {
	out := filepath.Join(t.TempDir(), "tour.svg")
	code, _, errOut := runCLI(t, "export", "tour", "--svg", out, "--step", "31", "--size", "120x40")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	n := checkXML(t, b)
	if n["text"] < 40 || n["rect"] < 5 {
		t.Errorf("a screen with %d texts and %d rectangles", n["text"], n["rect"])
	}
	for _, want := range []string{"step 31 of 92", "kmalloc-512", "Physical pages", "<title>allocviz: tour, step 31 of 92</title>"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the SVG lacks %q", want)
		}
	}
	golden.RequireEqual(t, b)
}

// TestExportCast records a scenario at 80x24 and checks the recording: an
// asciicast v2 header, a frame per step at the pace asked, each a whole
// screen; and its golden.
func TestExportCast(t *testing.T) {
	out := filepath.Join(t.TempDir(), "buddy.cast")
	code, _, errOut := runCLI(t, "export", "buddy", "--cast", out, "--size", "80x24", "--pace", "250ms", "--palette", "cb")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	_, hv := scenarioHTML(t, "buddy")
	frames := checkCast(t, b, 80, 24, hv.Steps()+1)
	if !strings.Contains(frames[len(frames)-1], "step "+itoa(hv.Steps())+" of "+itoa(hv.Steps())) {
		t.Errorf("the last frame is not the last step:\n%s", frames[len(frames)-1])
	}
	if !strings.Contains(string(b), "\n[0.25,\"o\",") {
		t.Error("the second frame is not at 0.25 s")
	}
	golden.RequireEqual(t, b)
}

// TestExportErrors: bad arguments say what is wrong and write nothing.
func TestExportErrors(t *testing.T) {
	dir := t.TempDir()
	svg := filepath.Join(dir, "x.svg")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"tour"}, "usage: allocviz export"},
		{[]string{"tour", "--svg", svg, "--size", "40x10"}, "from 80x24"},
		{[]string{"tour", "--svg", svg, "--size", "wide"}, "want COLSxROWS"},
		{[]string{"tour", "--svg", svg, "--step", "9999"}, "has steps 0 to 92"},
		{[]string{"no-such-scenario", "--svg", svg}, "no-such-scenario"},
		{[]string{"tour", "--cast", svg, "--pace", "0s"}, "--pace"},
		{[]string{"tour", "--svg", filepath.Join(dir, "missing", "x.svg")}, "missing"},
	} {
		code, _, errOut := runCLI(t, append([]string{"export"}, tc.args...)...)
		if code != exitError || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, %q; want %q", tc.args, code, errOut, tc.want)
		}
		if _, err := os.Stat(svg); err == nil {
			t.Errorf("%v: wrote %s", tc.args, svg)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// readmePicture is the picture of the interface the README shows, made by
// the exporter: the command that makes it, and the file.
var readmePicture = struct {
	args []string
	file string
}{[]string{"export", "tour", "--step", "31", "--size", "160x45"}, "docs/allocviz-tour.svg"}

// TestReadmePictureIsCurrent makes the README's picture again and
// compares it with the committed file, so the README never shows an old
// screen (go test -run TestReadmePictureIsCurrent -update rewrites it).
func TestReadmePictureIsCurrent(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	cmd := "allocviz " + strings.Join(readmePicture.args, " ") + " --svg " + readmePicture.file
	if !strings.Contains(string(readme), "]("+readmePicture.file+")") || !strings.Contains(string(readme), cmd) {
		t.Errorf("the README should show %s and say how it is made (%s)", readmePicture.file, cmd)
	}
	out := filepath.Join(t.TempDir(), "pic.svg")
	code, _, errOut := runCLI(t, append(readmePicture.args, "--svg", out)...)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if *updateFlag() {
		if err := os.WriteFile(readmePicture.file, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(readmePicture.file)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("%s is not the screen the exporter makes now; run go test -run TestReadmePictureIsCurrent -update", readmePicture.file)
	}
}

// updateFlag is the -update flag golden registers.
func updateFlag() *bool {
	f := flag.Lookup("update")
	if f == nil {
		return new(bool)
	}
	v := f.Value.(flag.Getter).Get().(bool)
	return &v
}

package ui

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
)

// readmeCapture finds the README's capture: the code block after a line
// <!-- capture: SCENARIO WxH step N -->.
var readmeCapture = regexp.MustCompile("(?s)<!-- capture: (\\S+) (\\d+)x(\\d+) step (\\d+) -->\n```\n(.*?)\n```")

// TestReadmeCaptureIsCurrent renders what the README's capture shows and
// compares it line by line, so the README never shows an old screen. Run
// with ALLOCVIZ_CAPTURE=1 to print the screen to paste.
func TestReadmeCaptureIsCurrent(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	found := readmeCapture.FindSubmatch(b)
	if found == nil {
		t.Fatal("README.md has no <!-- capture: ... --> block")
	}
	var w, h, step int
	fmt.Sscan(string(found[2]), &w)
	fmt.Sscan(string(found[3]), &h)
	fmt.Sscan(string(found[4]), &step)
	m := open(t, string(found[1]), w, h)
	m.seekTo(step)
	var got []string
	for _, l := range strings.Split(m.View(), "\n") {
		got = append(got, strings.TrimRight(l, " "))
	}
	screen := strings.Join(got, "\n")
	if os.Getenv("ALLOCVIZ_CAPTURE") != "" {
		fmt.Println(screen)
	}
	want := strings.Split(string(found[5]), "\n")
	if len(want) != len(got) {
		t.Fatalf("the README's capture has %d lines, the screen %d; ALLOCVIZ_CAPTURE=1 prints it", len(want), len(got))
	}
	for i := range want {
		if strings.TrimRight(want[i], " ") != got[i] {
			t.Fatalf("line %d of the README's capture is not what the screen shows (ALLOCVIZ_CAPTURE=1 prints it):\nREADME: %q\nscreen: %q", i, want[i], got[i])
		}
	}
}

// TestReadmeListsEveryKey: the README's key table names every key of the
// key map, so a key added to the map without a word in the README fails.
func TestReadmeListsEveryKey(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ToLower(string(b))
	start := strings.Index(text, "### keys")
	end := strings.Index(text[start:], "\n## ")
	if start < 0 || end < 0 {
		t.Fatal("README.md has no ### Keys section")
	}
	section := text[start : start+end]
	k := DefaultKeyMap()
	for _, g := range k.helpGroups() {
		for _, bd := range g.keys {
			for _, key := range strings.Split(bd.Help().Key, "/") {
				key = strings.ToLower(key)
				if key == "" || key == "space" && strings.Contains(section, "`space`") {
					continue
				}
				if strings.Contains(section, "`"+key+"`") || len(key) == 1 && strings.Contains(section, "`hjkl`") && strings.Contains("hjkl", key) {
					continue
				}
				t.Errorf("the README's keys do not name %q (%s, %s)", key, g.title, bd.Help().Desc)
			}
		}
	}
}

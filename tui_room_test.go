package main

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/allocviz/allocviz/heapview"
	"github.com/allocviz/allocviz/scripts"
)

// roomSizes are the sizes the interface is checked at in a real terminal:
// a laptop and three projectors.
var roomSizes = [][2]int{{80, 24}, {120, 40}, {160, 45}, {220, 60}}

var stepOf = regexp.MustCompile(`step (\d+) of (\d+)`)

// shownStep returns the step the status bar shows.
func shownStep(t *testing.T, screen string) int {
	t.Helper()
	first, _, _ := strings.Cut(screen, "\n")
	m := stepOf.FindStringSubmatch(first)
	if m == nil {
		t.Fatalf("no step in the status bar: %q", first)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// tourNarrations returns the steps of the tour that narrate or check.
func tourNarrations(t *testing.T) (chapters, narrations []int) {
	t.Helper()
	s, err := scripts.Run("tour", scripts.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	hv, err := heapview.New(s.Log())
	if err != nil {
		t.Fatal(err)
	}
	for st, ok := hv.NextChapter(0); ok; st, ok = hv.NextChapter(st) {
		chapters = append(chapters, st)
		if si, _ := hv.StepInfo(st); len(si.Narration) > 0 {
			narrations = append(narrations, st)
		}
	}
	return chapters, narrations
}

// cutCache is a slab cache name cut short.
var cutCache = regexp.MustCompile(`kmalloc[a-z0-9-]*…`)

// TestRoom uses the interface as an instructor would, in tmux at each of
// the room's sizes: ] walks the tour's narrations and checks, every one
// reached and each with the Why strip; at the end the slab caches are
// named in full; and a runaway loop typed at the prompt is cancelled with
// esc within a second, leaving the step count where it was.
func TestRoom(t *testing.T) {
	chapters, narrations := tourNarrations(t)
	for _, sz := range roomSizes {
		t.Run(fmt.Sprintf("%dx%d", sz[0], sz[1]), func(t *testing.T) {
			s := startTmux(t, sz[0], sz[1], nil, "tour")
			scr := s.waitFor("step 0 of")
			last := stepOf.FindStringSubmatch(scr)[2]
			var visited []int
			for {
				before := shownStep(t, s.screen())
				s.keys("]")
				// The status bar is drawn first: a capture taken while the
				// terminal is redrawn can show the new step over the old
				// panes, so the wait is for the whole screen of the step,
				// its Why strip included.
				scr = s.waitUntil("the next chapter with its Why strip", func(scr string) bool {
					if strings.Contains(scr, "no narration or check after") {
						return true
					}
					st := shownStep(t, scr)
					return st != before && strings.Contains(scr, fmt.Sprintf("Why · step %d of %s", st, last))
				})
				st := shownStep(t, scr)
				if st == before {
					break
				}
				visited = append(visited, st)
			}
			if fmt.Sprint(visited) != fmt.Sprint(chapters) {
				t.Fatalf("] visited %v, the tour's narrations and checks are %v", visited, chapters)
			}
			t.Logf("] reached all %d narrations among %d chapters", len(narrations), len(chapters))

			// The slab caches at the end, named in full.
			s.keys("G")
			s.waitFor("step " + last + " of " + last)
			scr = s.screen()
			for range 5 {
				if strings.Contains(scr, "Slab caches ·") {
					break
				}
				before := scr
				s.keys("Tab")
				scr = s.waitUntil("the next pane", func(scr string) bool { return scr != before })
			}
			if cutCache.MatchString(scr) {
				t.Fatalf("a cache name is cut: %q\n%s", cutCache.FindString(scr), scr)
			}
			if !strings.Contains(scr, "kmalloc-") {
				t.Fatalf("no cache named at the end of the tour:\n%s", scr)
			}

			// A runaway loop, cancelled with esc.
			s.keys(":")
			s.waitFor(">>>")
			s.typeText("%steps 100000000")
			s.keys("Enter")
			s.waitFor("may now take 100000000 allocator steps")
			s.typeText("while True: kmalloc(8)")
			s.keys("Enter")
			s.waitUntil("the step counter", func(scr string) bool {
				m := regexp.MustCompile(`running: ([0-9]+) steps? so far`).FindStringSubmatch(scr)
				n := 0
				if m != nil {
					n, _ = strconv.Atoi(m[1])
				}
				return n > 0
			})
			s.keys("Escape")
			sent := time.Now()
			scr = s.waitFor("cancelled (esc)")
			// allocviz undoes the statement at once; the rest is tmux and
			// this test's polling, on a machine that may be busy.
			if d := time.Since(sent); d > 1500*time.Millisecond {
				t.Errorf("cancelled %v after esc", d)
			}
			if shownStep(t, scr) != mustAtoi(t, last) || !strings.Contains(scr, "step "+last+" of "+last) {
				t.Fatalf("after esc the step count moved:\n%s", scr)
			}
			s.keys("Escape")
			s.waitFor("next step")
			s.keys("q")
			s.waitGone()
		})
	}
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// sgr matches an SGR escape sequence and its parameters.
var sgr = regexp.MustCompile("\x1b\\[([0-9;]*)m")

// TestRoomMono: without colour (NO_COLOR), at each of the room's sizes,
// the inspector's cursor and the cells that differ from a diff base are
// told apart on screen, and so is the focused pane: the walkthrough's
// steps 2 to 3 with diff on, then the cursor.
func TestRoomMono(t *testing.T) {
	for _, sz := range roomSizes {
		t.Run(fmt.Sprintf("%dx%d", sz[0], sz[1]), func(t *testing.T) {
			s := startTmux(t, sz[0], sz[1], []string{"NO_COLOR=1"}, "tour")
			s.waitFor("step 0 of")
			s.keys("n", "n", "d", "n")
			s.waitFor("step 3 of")
			s.keys("i")
			s.waitFor("Inspector · cursor")
			out, err := s.tmux("capture-pane", "-e", "-p", "-t", s.name)
			if err != nil {
				t.Fatal(err)
			}
			var underlined, cursor bool
			attrs := ""
			// Walk the screen, keeping the attributes in force.
			rest := out
			for rest != "" {
				loc := sgr.FindStringSubmatchIndex(rest)
				text := rest
				if loc != nil {
					text = rest[:loc[0]]
				}
				on := map[string]bool{}
				for _, p := range strings.Split(attrs, ";") {
					on[p] = true
				}
				if strings.TrimSpace(text) != "" {
					if strings.Contains(text, "◆") {
						cursor = true
					}
					if on["4"] && !on["7"] && !strings.Contains(text, "◆") {
						underlined = true // a cell that differs from the base
					}
				}
				if loc == nil {
					break
				}
				params := rest[loc[2]:loc[3]]
				if params == "" || params == "0" {
					attrs = ""
				} else {
					attrs += ";" + params
				}
				rest = rest[loc[1]:]
			}
			if !cursor || !underlined {
				t.Fatalf("without colour the cursor (◆: %v) and the diff (underline: %v) should both show:\n%q", cursor, underlined, out)
			}
			scr := s.screen()
			if !strings.Contains(scr, "┏") && !strings.Contains(scr, "┃") {
				t.Fatalf("the focused pane's frame is not told apart:\n%s", scr)
			}
			s.keys("Escape", "q")
			s.waitGone()
		})
	}
}

// TestRoomEveryScenario opens every bundled scenario in tmux at each of
// the room's sizes and steps it to the end: the last step shows whole,
// with its Why strip, no cache name cut, and every line within the
// terminal. (Every step of every scenario is checked at these sizes
// without a terminal, in ui's TestEveryScenarioAtRoomSizes.)
func TestRoomEveryScenario(t *testing.T) {
	all, err := scripts.Scenarios()
	if err != nil {
		t.Fatal(err)
	}
	for _, sz := range roomSizes {
		for _, sc := range all {
			s := startTmux(t, sz[0], sz[1], nil, sc.Name)
			scr := s.waitFor("step 0 of")
			last := stepOf.FindStringSubmatch(scr)[2]
			s.keys("G")
			scr = s.waitFor("Why · step " + last + " of " + last)
			if !strings.Contains(scr, "step "+last+" of "+last) {
				t.Errorf("%s at %v: the status bar is cut:\n%s", sc.Name, sz, scr)
			}
			if cutCache.MatchString(scr) && strings.Contains(scr, "Slab caches ·") {
				for _, l := range strings.Split(scr, "\n") {
					if cutCache.MatchString(l) && strings.Contains(l, "│ kmalloc") {
						t.Errorf("%s at %v: a cache name is cut: %q", sc.Name, sz, l)
					}
				}
			}
			for i, l := range strings.Split(strings.TrimRight(scr, "\n"), "\n") {
				if n := len([]rune(l)); n > sz[0] {
					t.Errorf("%s at %v: line %d is %d wide", sc.Name, sz, i, n)
				}
			}
			s.keys("q")
			s.waitGone()
		}
	}
}

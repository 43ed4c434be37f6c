package ui

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/charmbracelet/lipgloss"

	"github.com/allocviz/allocviz/scripts"
)

// roomSizes are the terminal sizes of the room: a laptop, and the
// projectors.
var roomSizes = [][2]int{{80, 24}, {120, 40}, {160, 45}, {220, 60}}

// TestEveryScenarioAtRoomSizes steps every bundled scenario from its first
// step to its last at each size of roomSizes (every step at 80x24 and
// 220x60, every third between) and checks each screen: exactly the
// terminal's size; the Why strip there, with the step's narration and no
// stray say() call; slab cache names whole; the status bar whole or
// ending in "…". Cuts anywhere end in "…" by construction (truncate,
// cutStyled, cutRow and heapview's rows), which their own tests check.
func TestEveryScenarioAtRoomSizes(t *testing.T) {
	all, err := scripts.Scenarios()
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range all {
		t.Run(sc.Name, func(t *testing.T) {
			t.Parallel()
			m := open(t, sc.Name, 80, 24)
			for _, sz := range roomSizes {
				m, _ = update(t, m, windowSize(sz))
				every := 1
				if sz[0] != 80 && sz[0] != 220 {
					every = 3
				}
				for st := 0; st <= m.lastStep(); st += every {
					m.seekTo(st)
					checkScreen(t, m, sz)
				}
				m.seekTo(m.lastStep())
				checkScreen(t, m, sz)
			}
		})
	}
}

// cutName is a cache name cut short.
var cutName = regexp.MustCompile(`\bkmalloc[a-z0-9-]*…`)

func checkScreen(t *testing.T, m Model, sz [2]int) {
	t.Helper()
	w, h := sz[0], sz[1]
	where := fmt.Sprintf("%s %dx%d step %d", m.name, w, h, m.step)
	v := m.View()
	lines := strings.Split(v, "\n")
	if len(lines) != h {
		t.Fatalf("%s: %d lines", where, len(lines))
	}
	for i, l := range lines {
		if lw := lipgloss.Width(l); lw > w {
			t.Fatalf("%s: line %d is %d wide: %q", where, i, lw, l)
		}
	}
	if status := strings.TrimRight(lines[0], " "); !strings.Contains(status, fmt.Sprintf("step %d of %d", m.step, m.lastStep())) && !strings.HasSuffix(status, "…") {
		t.Fatalf("%s: the status bar is cut without …: %q", where, status)
	}
	if !strings.Contains(v, fmt.Sprintf("Why · step %d of %d", m.step, m.lastStep())) {
		t.Fatalf("%s: no Why strip:\n%s", where, v)
	}
	if table := strings.Join(m.slabs.Lines(), "\n"); cutName.MatchString(table) {
		t.Fatalf("%s: a cache name is cut in the slab pane: %q\n%s", where, cutName.FindString(table), v)
	}
	for _, l := range m.slabs.Lines() {
		f := strings.Fields(l)
		if len(f) > 0 && strings.HasPrefix(f[0], "kmalloc") && !m.src.hv.HasCache(f[0]) && !strings.HasSuffix(f[0], ":") {
			t.Fatalf("%s: the slab table names %q, no cache: %q", where, f[0], l)
		}
	}
	si, _ := m.src.hv.StepInfo(m.step)
	why := strings.Join(m.why.lines, "\n")
	if len(si.Narration) > 0 {
		if words := strings.Fields(si.Narration[0]); len(words) > 0 && !strings.Contains(why, words[0]) {
			t.Fatalf("%s: the Why strip lacks the narration %q:\n%s", where, si.Narration[0], why)
		}
		if st, _ := m.src.step(m.step); strings.Contains(why, st.Call) && strings.HasPrefix(st.Call, "say(") {
			t.Fatalf("%s: the Why strip shows the say() call", where)
		}
	}
}

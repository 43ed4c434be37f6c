package ui

import (
	"strings"
	"testing"
)

// TestOpenATrace opens the bundled trace: each step shows its trace line
// (time, task, CPU, call site) where a script shows file:line, at every
// layout size, and a statement typed afterwards runs after the trace.
func TestOpenATrace(t *testing.T) {
	for _, sz := range [][2]int{{80, 24}, {120, 40}, {200, 60}} {
		m := open(t, "trace-ls", sz[0], sz[1])
		if m.lastStep() != 3072 {
			t.Fatalf("%d steps", m.lastStep())
		}
		m, _ = press(t, m, "#")
		m = typeText(t, m, "298")
		m, _ = press(t, m, "enter")
		view := m.View()
		for _, want := range []string{"step 298 of 3072", "2422.856103 ls-5302 [000]", "kmem_cache_alloc(names_cache, GFP_KERNEL)"} {
			if !strings.Contains(view, want) {
				t.Errorf("%dx%d at step 298: no %q in\n%s", sz[0], sz[1], want, view)
			}
		}
		if sz[0] == 80 && !strings.Contains(view, "trace-ls.txt.gz:311") {
			t.Errorf("80x24: the why strip does not name the line:\n%s", view)
		}
	}
	m := open(t, "trace-ls", 120, 40)
	m, _ = press(t, m, "G", ":")
	m = typeText(t, m, "p = kmalloc(100)")
	m, cmd := press(t, m, "enter")
	m = finishStatement(t, m, cmd)
	if m.lastStep() != 3073 || !strings.Contains(m.View(), "kmalloc(100)") {
		t.Errorf("after the trace: %d steps\n%s", m.lastStep(), m.View())
	}
}

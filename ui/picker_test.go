package ui

import (
	"testing"

	tea "github.com/charmbracelet/bubbletea"
)

// filterResult returns the picker's filter result among the messages of
// cmd and the commands it batches.
func filterResult(t *testing.T, cmd tea.Cmd) pickerFilterMsg {
	t.Helper()
	msg := awaitMsg(cmd, func(msg tea.Msg) bool { _, ok := msg.(pickerFilterMsg); return ok })
	if msg == nil {
		t.Fatal("the key typed in the filter gave no filter result")
	}
	return msg.(pickerFilterMsg)
}

// The list filters off the event loop, one command per key; a result for
// text typed earlier that arrives last must not replace the one for the
// text as it is (TestProgram failed about one run in ten on a busy
// machine for this).
func TestPickerDropsStaleFilterResults(t *testing.T) {
	m := open(t, writeScript(t, threeStepScript), 100, 30)
	m, _ = press(t, m, "o", "/")
	m = typeText(t, m, "vre")
	m, early := press(t, m, "a")
	m = typeText(t, m, "lloc-6")
	m, last := press(t, m, ".")
	stale, fresh := filterResult(t, early), filterResult(t, last)
	if stale.filter != "vrea" || fresh.filter != "vrealloc-6." {
		t.Fatalf("results tagged %q and %q", stale.filter, fresh.filter)
	}
	m, _ = update(t, m, fresh)
	m, _ = update(t, m, stale)
	if n := len(m.picker.VisibleItems()); n != 1 {
		t.Fatalf("the picker shows %d scenarios for %q, want 1 (vrealloc-6.12)", n, m.picker.FilterValue())
	}
}

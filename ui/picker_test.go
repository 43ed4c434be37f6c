package ui

import (
	"regexp"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/allocviz/allocviz/scripts"
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

// The picker lists the scenarios by topic, as allocviz scenarios does:
// each topic once, at the head of its group, its scenarios under it; and
// a topic typed in the filter finds its scenarios.
func TestPickerGroupsByTopic(t *testing.T) {
	all, err := scripts.Scenarios()
	if err != nil {
		t.Fatal(err)
	}
	m := open(t, writeScript(t, threeStepScript), 120, len(all)+12)
	m, _ = press(t, m, "o")
	lines := strings.Split(m.View(), "\n")
	at := func(name string) int {
		re := regexp.MustCompile(`^([a-z]+( [a-z]+)?)? +(▸ )?` + regexp.QuoteMeta(name) + ` {2,}`)
		for i, l := range lines {
			if re.MatchString(l) {
				return i
			}
		}
		t.Fatalf("%s is not listed:\n%s", name, strings.Join(lines, "\n"))
		return -1
	}
	prev := -1
	for _, group := range scripts.ByTopic(all) {
		for j, sc := range group {
			i := at(sc.Name)
			if i <= prev {
				t.Errorf("%s (line %d) is listed before %s's scenario above it", sc.Name, i, group[0].Topic)
			}
			prev = i
			heads := strings.HasPrefix(lines[i], sc.Topic+" ")
			if heads != (j == 0) {
				t.Errorf("line %d %q: the topic %q should head its group only", i, lines[i], sc.Topic)
			}
		}
	}
	m, _ = press(t, m, "/")
	m = typeText(t, m, "securit")
	m, last := press(t, m, "y")
	m, _ = update(t, m, filterResult(t, last))
	// The filter is fuzzy: the topic's scenarios rank first.
	var security []string
	for _, sc := range all {
		if sc.Topic == "security" {
			security = append(security, sc.Name)
		}
	}
	vis := m.picker.VisibleItems()
	if len(security) == 0 || len(vis) < len(security) {
		t.Fatalf("the filter %q shows %d scenarios; %d are about security", m.picker.FilterValue(), len(vis), len(security))
	}
	for _, it := range vis[:len(security)] {
		if it.(scenarioItem).topic != "security" {
			t.Errorf("the filter \"security\" ranks %s (%s) among the first %d", it.(scenarioItem).name, it.(scenarioItem).topic, len(security))
		}
	}
}

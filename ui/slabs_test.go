package ui

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/allocviz/allocviz/allocator"
	"github.com/allocviz/allocviz/scripts"
)

// slabModel returns a model at w x h showing a session whose machine made
// n kmalloc(100) calls, one step each, and then freed the second object.
// It drives the machine directly, so it needs no scripting builtins.
func slabModel(t *testing.T, n, w, h int) (Model, []allocator.Addr) {
	t.Helper()
	sess, err := scripts.New(scripts.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mc := sess.Machine()
	var objs []allocator.Addr
	for i := 1; i <= n; i++ {
		mc.BeginStep(i, fmt.Sprintf("test.go:%d:1", i), "kmalloc(100)")
		p, err := mc.Kmalloc(100, allocator.GFPKernel)
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, p)
	}
	mc.BeginStep(n+1, fmt.Sprintf("test.go:%d:1", n+1), "kfree(p1)")
	if err := mc.Kfree(objs[1]); err != nil {
		t.Fatal(err)
	}
	src, err := newSource(context.Background(), sess)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(src.close)
	m := New(Options{Scenario: "slabs"})
	m, _ = update(t, m, tea.WindowSizeMsg{Width: w, Height: h})
	m, _ = update(t, m, loadedMsg{id: m.loadID, src: src, name: "slabs"})
	return m, objs
}

func TestSlabPaneAndObjectCursor(t *testing.T) {
	m, objs := slabModel(t, 5, 200, 60)
	m, _ = press(t, m, "G", "tab")
	if m.focus != paneSlabs || m.slabs.sel != "kmalloc-128" {
		t.Fatalf("focus %v, selected cache %q; want the slabs pane on kmalloc-128", m.focus, m.slabs.sel)
	}
	v := m.View()
	for _, want := range []string{"kmalloc-128", "Slab caches", "OBJ SIZE"} {
		if !strings.Contains(v, want) {
			t.Errorf("the slabs pane lacks %q:\n%s", want, v)
		}
	}
	// The cache's slab page is highlighted in the page map.
	hl := m.highlight(m.inspection())
	if len(hl) != 1 || hl[0].N != 1 {
		t.Fatalf("highlight %v, want the one page of the one kmalloc-128 slab", hl)
	}

	// The cursor starts on what the last step changed: the freed object.
	m, _ = press(t, m, "i")
	if m.mode != modeInspect || m.slabs.obj != objs[1] {
		t.Fatalf("inspect: mode %v, cursor on %v; want the object freed by the last step, %v", m.mode, m.slabs.obj, objs[1])
	}
	in, ok := m.inspection()
	if !ok || in.Object != 1 || in.Alloc != nil {
		t.Fatalf("the inspector should describe free object 1: %+v", in)
	}
	if !strings.Contains(m.View(), "object 1 of kmalloc-128") {
		t.Errorf("the inspector should say which object it is:\n%s", m.View())
	}
	m, _ = press(t, m, "right")
	if m.slabs.obj != objs[2] {
		t.Fatalf("right moved the cursor to %v, want object 2 at %v", m.slabs.obj, objs[2])
	}
	if in, _ := m.inspection(); in.Alloc == nil || in.Alloc.Size != 100 {
		t.Fatalf("object 2 is in use with 100 bytes requested: %+v", in.Alloc)
	}
	m, _ = press(t, m, "left", "left", "left", "left")
	if m.slabs.obj != objs[0] {
		t.Fatalf("left stops at the first object, cursor on %v", m.slabs.obj)
	}
	// n and p still step while inspecting; the arrows do not.
	m, _ = press(t, m, "p")
	if m.step != 5 || m.mode != modeInspect {
		t.Fatalf("p while inspecting: step %d mode %v", m.step, m.mode)
	}
	m, _ = press(t, m, "esc")
	if m.mode != modeStep {
		t.Fatalf("esc should leave the cursor, mode %v", m.mode)
	}
}

func TestSlabSortKeys(t *testing.T) {
	m, _ := slabModel(t, 3, 200, 60)
	m, _ = press(t, m, "tab")
	col := m.slabs.sortCol
	m, _ = press(t, m, "s")
	if m.slabs.sortCol == col {
		t.Fatal("s should sort by the next column")
	}
	if !strings.Contains(m.slabs.Title(), m.slabs.sortCol.String()) {
		t.Errorf("the title should name the sort column %s: %q", m.slabs.sortCol, m.slabs.Title())
	}
	m, _ = press(t, m, "S")
	if !m.slabs.asc || !strings.Contains(m.slabs.Title(), "↑") {
		t.Errorf("S should reverse the order: %q", m.slabs.Title())
	}
	m, _ = press(t, m, "a")
	if !m.slabs.all || len(m.slabs.caches) < 10 {
		t.Errorf("a should list every cache, got %d", len(m.slabs.caches))
	}
	m, _ = press(t, m, "tab", "s")
	if m.slabs.sortCol != col+1 {
		t.Error("s is a slabs key: in another pane it does nothing")
	}
}

// When the cache followed has few slabs, the table takes the rows its
// slabs leave: at the tour's boot, with every cache listed and none with a
// slab, most caches show, and the title says which.
func TestSlabTableTakesTheRoomTheSlabsLeave(t *testing.T) {
	m := open(t, "tour", 200, 60)
	v := m.View()
	got := regexp.MustCompile(`rows 1-(\d+) of (\d+)`).FindStringSubmatch(v)
	if got == nil {
		t.Fatalf("the slab table does not say which rows it shows:\n%s", v)
	}
	if n, _ := strconv.Atoi(got[1]); n < 12 {
		t.Errorf("the table shows %s of %s caches, with the room below empty:\n%s", got[1], got[2], v)
	}
	if !strings.Contains(v, "no slabs: the cache makes one on its first allocation") {
		t.Errorf("the selected cache's slabs are gone:\n%s", v)
	}
}

package scripts

import (
	"strings"
	"testing"
)

// bookmark(name) marks the step after it, is not a step itself, comes
// back the same after a rebuild, and refuses what would not show.
func TestBookmarks(t *testing.T) {
	s := newSession(t, Options{})
	src := `alloc_pages(0)
bookmark("before the second")
alloc_pages(1)
for i in range(2):
    bookmark("loop %d" % i)
    alloc_pages(0)
bookmark("at the end")
`
	if err := s.RunFile("b.star", []byte(src)); err != nil {
		t.Fatal(err)
	}
	if n := s.NumSteps(); n != 4 {
		t.Fatalf("%d steps: bookmark is not a step", n)
	}
	want := []Bookmark{{"before the second", 2, "b.star:2:1"}, {"loop 0", 3, "b.star:5:5"}, {"loop 1", 4, "b.star:5:5"}, {"at the end", 5, "b.star:7:1"}}
	got := s.Bookmarks()
	if len(got) != len(want) {
		t.Fatalf("bookmarks %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("bookmark %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	rb, err := s.Rebuild(2)
	if err != nil {
		t.Fatal(err)
	}
	defer rb.Close()
	if b := rb.Bookmarks(); len(b) != 2 || b[1].Name != "loop 0" {
		t.Errorf("after a rebuild to step 2: %+v", b)
	}
	for _, tc := range []struct{ src, want string }{
		{`bookmark(3)`, "got int, want string"},
		{`bookmark("")`, "the name is empty"},
		{`bookmark("` + strings.Repeat("x", 81) + `")`, "81 characters long (at most 80)"},
		{`for i in range(10001): bookmark("b")`, "too many bookmarks (at most 10000)"},
	} {
		s := newSession(t, Options{})
		_, err := s.Exec(tc.src)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.src, err, tc.want)
		}
	}
}

// Step.Stmt names the top-level statement each step came from: the steps
// of one loop or one call of a function share it.
func TestStepStatement(t *testing.T) {
	s := newSession(t, Options{})
	src := `def two():
    alloc_pages(0)
    alloc_pages(0)

alloc_pages(0)
for i in range(3):
    p = alloc_pages(0)
two()
alloc_pages(0); alloc_pages(0)
`
	if err := s.RunFile("s.star", []byte(src)); err != nil {
		t.Fatal(err)
	}
	var got []string
	for n := 1; n <= s.NumSteps(); n++ {
		got = append(got, s.Step(n).Stmt)
		if s.StepStmt(n) != s.Step(n).Stmt {
			t.Errorf("StepStmt(%d) = %q, Step says %q", n, s.StepStmt(n), s.Step(n).Stmt)
		}
	}
	want := []string{"s.star:5:1", "s.star:6:1", "s.star:6:1", "s.star:6:1", "s.star:8:1", "s.star:8:1", "s.star:9:1", "s.star:9:17"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("statements %q, want %q", got, want)
	}
	if _, err := s.Exec("for i in range(2): alloc_pages(0)"); err != nil {
		t.Fatal(err)
	}
	last := s.NumSteps()
	if a, b := s.Step(last-1).Stmt, s.Step(last).Stmt; a != b || !strings.HasPrefix(a, PromptFile+":") {
		t.Errorf("a loop typed at the prompt: %q and %q", a, b)
	}
}

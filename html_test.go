package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/bits"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/allocviz/allocviz/heapview"
	"github.com/allocviz/allocviz/scripts"
)

// scenarioHTML exports a scenario or script to HTML and returns the page
// and the model it came from.
func scenarioHTML(t *testing.T, ref string) ([]byte, *heapview.Model) {
	t.Helper()
	s, err := scripts.Run(ref, scripts.Options{})
	if s != nil {
		t.Cleanup(func() { s.Close() })
	}
	if err != nil {
		t.Fatal(err)
	}
	hv, err := heapview.New(s.Log())
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := exportHTML(&out, hv, ref); err != nil {
		t.Fatal(err)
	}
	return out.Bytes(), hv
}

// pageData returns the JSON the page's script reads.
func pageData(t *testing.T, page []byte) htmlDataIn {
	t.Helper()
	m := regexp.MustCompile(`(?s)<script type="application/json" id="data">(.*?)</script>`).FindSubmatch(page)
	if m == nil {
		t.Fatal("the page has no data island")
	}
	var d htmlDataIn
	if err := json.Unmarshal(m[1], &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// htmlDataIn is htmlData as the page reads it.
type htmlDataIn struct {
	Styles []string
	Panes  []struct{ Name string }
	Steps  []struct {
		Op   string
		Rows map[string][]json.RawMessage
		N    map[string]int
	}
	Series []struct {
		Name   string
		Values []int64
		Jump   int
	}
	Map htmlMap
}

// rebuild replays the page's deltas as its script does and returns each
// step's rows of a pane as text and styles.
func (d htmlDataIn) rebuild(t *testing.T, pane string) [][]string {
	t.Helper()
	var out [][]string
	var cur []string
	for _, st := range d.Steps {
		next := slices.Clone(cur)
		if n, ok := st.N[pane]; ok {
			next = append(next[:min(n, len(next))], make([]string, max(0, n-len(next)))...)
		}
		rows := st.Rows[pane]
		for j := 0; j+1 < len(rows); j += 2 {
			var idx int
			var spans []any
			if json.Unmarshal(rows[j], &idx) != nil || json.Unmarshal(rows[j+1], &spans) != nil {
				t.Fatalf("bad delta %s %s", rows[j], rows[j+1])
			}
			var b strings.Builder
			for k := 0; k+1 < len(spans); k += 2 {
				b.WriteString("<" + d.Styles[int(spans[k].(float64))] + ">" + spans[k+1].(string))
			}
			next[idx] = b.String()
		}
		cur = next
		out = append(out, cur)
	}
	return out
}

// rowsAsPage writes rows as rebuild does.
func rowsAsPage(rows []heapview.Row) []string {
	var out []string
	for _, r := range rows {
		var b strings.Builder
		for _, s := range r {
			b.WriteString("<" + spanClass(s) + ">" + s.Text)
		}
		out = append(out, b.String())
	}
	return out
}

// TestHTMLDeltasRebuildEveryStep: replaying the page's deltas gives, at
// every step of the tour, the rows heapview draws there.
func TestHTMLDeltasRebuildEveryStep(t *testing.T) {
	page, hv := scenarioHTML(t, "tour")
	d := pageData(t, page)
	if len(d.Steps) != hv.Steps()+1 {
		t.Fatalf("%d steps in the page, %d in the session", len(d.Steps), hv.Steps()+1)
	}
	for _, p := range htmlPanes() {
		got := d.rebuild(t, p.Name)
		for st := range got {
			if err := hv.Seek(st); err != nil {
				t.Fatal(err)
			}
			if want := rowsAsPage(p.render(hv)); !slices.Equal(got[st], want) {
				t.Fatalf("%s at step %d:\n%q\nwant\n%q", p.Name, st, got[st], want)
			}
		}
	}
	if len(d.Series) < 5 || len(d.Series[0].Values) != hv.Steps()+1 {
		t.Errorf("series: %d, first with %d values", len(d.Series), len(d.Series[0].Values))
	}
}

// TestHTMLIsSelfContained: the page loads nothing: no external script,
// style, image, font or link.
func TestHTMLIsSelfContained(t *testing.T) {
	page, _ := scenarioHTML(t, "vmalloc")
	for _, re := range []string{`(?i)<link\b`, `(?i)\bsrc\s*=`, `(?i)\bhref\s*=`, `(?i)@import`, `(?i)url\(`, `(?i)https?://`} {
		if loc := regexp.MustCompile(re).FindIndex(page); loc != nil {
			t.Errorf("the page refers outside itself (%s): %q", re, page[max(0, loc[0]-60):min(len(page), loc[1]+60)])
		}
	}
	for _, want := range []string{"@media print", ".pal-cb ", ".pal-mono ", `<select id="palette">`} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("the page lacks %s", want)
		}
	}
}

// TestHTMLThousandStepLessonIsSmall: a lesson of a thousand steps that
// keeps changing memory stays under 5 MB.
func TestHTMLThousandStepLessonIsSmall(t *testing.T) {
	script := filepath.Join(t.TempDir(), "thousand.star")
	src := "objs = []\nfor i in range(500):\n    objs.append(kmalloc(32 + (i * 37) % 3000))\nfor o in objs:\n    kfree(o)\n"
	if err := os.WriteFile(script, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	page, hv := scenarioHTML(t, script)
	if hv.Steps() != 1000 {
		t.Fatalf("%d steps, want 1000", hv.Steps())
	}
	t.Logf("a 1000-step lesson: %d bytes of HTML", len(page))
	if len(page) > 5<<20 {
		t.Errorf("%d bytes, over 5 MB", len(page))
	}
}

// TestHTMLInChromium opens the tour's page in headless Chromium, steps
// through it with key presses, clicks the timeline, takes screenshots at
// two steps and checks that the page map changed where the step says it
// did, with no console error.
func TestHTMLInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no browser")
	}
	page, hv := scenarioHTML(t, "tour")
	file := filepath.Join(t.TempDir(), "tour.html")
	if err := os.WriteFile(file, page, 0o644); err != nil {
		t.Fatal(err)
	}
	b := startBrowser(t, 1400, 1000)
	b.navigate(t, "file://"+file)
	step := func() int {
		var s string
		b.eval(t, "document.body.dataset.step", &s)
		n, _ := strconv.Atoi(s)
		return n
	}
	if st := step(); st != 0 {
		t.Fatalf("the page opens at step %d, want 0", st)
	}
	// The first step that changes page frames, and the page map rows
	// its frames are in.
	d := pageData(t, page)
	target := 0
	var info heapview.StepInfo
	for st := 1; st <= hv.Steps() && target == 0; st++ {
		si, err := hv.StepInfo(st)
		if err != nil {
			t.Fatal(err)
		}
		if len(si.Pages) > 0 {
			target, info = st, si
		}
	}
	if target == 0 {
		t.Fatal("no step of the tour changes a page frame")
	}
	wantRows := map[int]bool{}
	for _, r := range info.Pages {
		for pfn := r.PFN; pfn < r.PFN+r.N; pfn++ {
			wantRows[d.Map.Top+int((pfn-d.Map.First)/d.Map.Scale)/d.Map.Cols] = true
		}
	}
	for i := 1; i < target; i++ {
		b.key(t, "n", "KeyN", 78)
	}
	if st := step(); st != target-1 {
		t.Fatalf("after %d presses of n: step %d", target-1, st)
	}
	var before, after []string
	b.eval(t, `document.querySelector('pre[data-pane="pages"]').innerText.split("\n")`, &before)
	shotBefore := b.screenshot(t)
	b.key(t, "ArrowRight", "ArrowRight", 39)
	if st := step(); st != target {
		t.Fatalf("after → : step %d, want %d", st, target)
	}
	b.eval(t, `document.querySelector('pre[data-pane="pages"]').innerText.split("\n")`, &after)
	shotAfter := b.screenshot(t)
	var touched []int
	touchedClass := fmt.Sprintf("m%d", bits.TrailingZeros8(uint8(heapview.MarkTouched)))
	b.eval(t, `Array.from(document.querySelector('pre[data-pane="pages"]').innerHTML.split("\n").entries()).filter(([i, l]) => l.includes("`+touchedClass+`")).map(([i]) => i)`, &touched)
	gotRows := map[int]bool{}
	for _, r := range touched {
		gotRows[r] = true
	}
	for r := range wantRows {
		if !gotRows[r] {
			t.Errorf("step %d changed page frames in map row %d, but the page marks no cell there (marked rows %v)", target, r, touched)
		}
		if r < len(before) && r < len(after) && before[r] == after[r] {
			t.Errorf("map row %d reads the same before and after step %d: %q", r, target, after[r])
		}
	}
	for _, r := range touched {
		if !wantRows[r] && r >= d.Map.Top && r < d.Map.Top+d.Map.Lines {
			t.Errorf("map row %d is marked changed, but step %d changed no frame there", r, target)
		}
	}
	if len(touched) == 0 {
		t.Errorf("step %d changed page frames %v, but the page marks no cell changed", target, info.Pages)
	}
	t.Logf("step %d (%s) changed frames %v: map rows %v marked", target, info.Op, info.Pages, touched)
	var logCur string
	b.eval(t, `document.querySelector('#logbody .cur').innerText`, &logCur)
	if !strings.HasPrefix(logCur, fmt.Sprintf("step %d", target)) {
		t.Errorf("the event log's current entry is %q, want step %d", logCur, target)
	}
	for _, shot := range [][]byte{shotBefore, shotAfter} {
		if !bytes.HasPrefix(shot, []byte("\x89PNG\r\n\x1a\n")) {
			t.Fatal("a screenshot is not a PNG")
		}
	}
	if bytes.Equal(shotBefore, shotAfter) {
		t.Error("the screenshots at two steps are the same")
	}
	if dir := os.Getenv("ALLOCVIZ_SHOTS"); dir != "" {
		os.WriteFile(filepath.Join(dir, "html-before.png"), shotBefore, 0o644)
		os.WriteFile(filepath.Join(dir, "html-after.png"), shotAfter, 0o644)
	}
	b.key(t, "p", "KeyP", 80)
	b.key(t, "ArrowLeft", "ArrowLeft", 37)
	if st := step(); st != target-2 {
		t.Errorf("after p and ←: step %d, want %d", st, target-2)
	}
	b.key(t, "End", "End", 35)
	if st := step(); st != hv.Steps() {
		t.Errorf("after End: step %d, want %d", st, hv.Steps())
	}
	b.click(t, "#chart", 0.5)
	if st := step(); st < hv.Steps()/2-2 || st > hv.Steps()/2+2 {
		t.Errorf("a click in the middle of the timeline went to step %d of %d", st, hv.Steps())
	}
	b.key(t, "j", "KeyJ", 74)
	if st, want := step(), d.Series[0].Jump; st != want {
		t.Errorf("j went to step %d, want %d (where %s changed most)", st, want, d.Series[0].Name)
	}
	if errs := b.errors(); len(errs) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(errs, "\n"))
	}
}

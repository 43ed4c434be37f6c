package ui

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/allocviz/allocviz/allocator"
	"github.com/allocviz/allocviz/heapview"
	"github.com/allocviz/allocviz/scripts"
	"github.com/allocviz/allocviz/scripts/ktrace"
)

// benchScript keeps a machine busy: blocks of every order allocated and
// freed in a pattern that scatters them over RAM, and vmalloc areas.
const benchScript = `live = []
for i in range(3000):
    p = alloc_pages(i % 5)
    if p != None:
        live.append((p, i % 5))
    if i % 3 == 2:
        q, o = live.pop(len(live) // 2)
        free_pages(q, o)
    if i % 50 == 0:
        vmalloc(4096 * (1 + i % 7))
`

// BenchmarkPlayFrame measures one frame of replay at full speed: the
// tick's Update (seek one step, re-render every pane) and View. The
// target is a 256 MiB machine at 200x60, which must stay under 16 ms a
// frame; the page map alone, rendered by heapview for the same state and
// size, is the baseline in the same run.
func BenchmarkPlayFrame(b *testing.B) {
	for _, c := range []struct {
		name string
		ram  string
		w, h int
	}{{"256MiB-200x60", "256M", 200, 60}, {"64MiB-80x24", "64M", 80, 24}} {
		b.Run(c.name, func(b *testing.B) {
			m := benchModel(b, c.ram, c.w, c.h)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if m.step >= m.lastStep() {
					m.seekTo(0)
					m.playing = true
				}
				nm, _ := m.Update(playTickMsg{gen: m.playGen})
				m = nm.(Model)
				_ = m.View()
			}
		})
	}
	b.Run("baseline-pagemap-only-256MiB-200x60", func(b *testing.B) {
		m := benchModel(b, "256M", 200, 60)
		w, h := m.pages.Size()
		hv := m.src.hv
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			step := i % (m.lastStep() + 1)
			_ = hv.Seek(step)
			_ = hv.PageMap(heapview.PageMapOptions{Width: w, Height: h + 1})
		}
	})
}

// BenchmarkView measures View alone, which only assembles what Update
// rendered.
func BenchmarkView(b *testing.B) {
	m := benchModel(b, "256M", 200, 60)
	m.seekTo(m.lastStep() / 2)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = m.View()
	}
}

func benchModel(b *testing.B, ram string, w, h int) Model {
	b.Helper()
	// Measure with the escape sequences a real terminal gets, not the
	// plain text the tests compare.
	lipgloss.SetColorProfile(termenv.TrueColor)
	b.Cleanup(func() { lipgloss.SetColorProfile(termenv.Ascii) })
	path := b.TempDir() + "/bench.star"
	if err := writeFile(path, benchScript); err != nil {
		b.Fatal(err)
	}
	n, err := scripts.ParseSize(ram)
	if err != nil {
		b.Fatal(err)
	}
	m := New(Options{Scenario: path, Script: scripts.Options{Config: allocator.Config{RAM: n}}})
	nm, _ := m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	m = nm.(Model)
	nm, _ = m.Update(m.Init()())
	m = finishLive(b, nm.(Model))
	if m.src == nil {
		b.Fatalf("benchmark script did not open: %v", m.loadErr)
	}
	b.Cleanup(func() { m.src.close() })
	for range len(speeds) {
		nm, _ = m.Update(keyMsg("+"))
		m = nm.(Model)
	}
	nm, _ = m.Update(keyMsg(" "))
	m = nm.(Model)
	if !m.playing || m.speed != len(speeds)-1 {
		b.Fatal("not playing at full speed")
	}
	return m
}

// openTraceFile writes a 6.18 trace of n lines (the capture in testdata,
// lengthened) and returns its path.
func openTraceFile(b *testing.B, n int) string {
	b.Helper()
	data, err := os.ReadFile("../testdata/ftrace-kmem-6.18-ls-lR-python3.txt.gz")
	if err != nil {
		b.Fatal(err)
	}
	text, err := ktrace.Decode(data)
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), fmt.Sprintf("trace-%d.txt", n))
	if err := os.WriteFile(path, ktrace.Lengthen(text, n), 0o644); err != nil {
		b.Fatal(err)
	}
	return path
}

// openFirstFrame is what allocviz FILE does before the user sees
// anything: load the file (parse, plan and replay a trace, or run a
// script), build the model of its events, and render the first frame.
func openFirstFrame(b *testing.B, path string, w, h int) {
	m := New(Options{Scenario: path})
	nm, _ := m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	m = nm.(Model)
	nm, _ = m.Update(m.Init()())
	m = nm.(Model)
	if m.src == nil {
		b.Fatalf("%s did not open: %v", path, m.loadErr)
	}
	_ = m.View()
	m.src.close()
}

// BenchmarkOpenTrace opens a 6.18 trace of 70,000 and of 1,000,000 lines
// in the interface at 200x60 (goals: 2 s and 20 s). The baseline is a
// script of about as many steps (kmalloc and kfree in turn), opened the
// same way in the same run.
func BenchmarkOpenTrace(b *testing.B) {
	lipgloss.SetColorProfile(termenv.TrueColor)
	b.Cleanup(func() { lipgloss.SetColorProfile(termenv.Ascii) })
	for _, n := range []int{70_000, 1_000_000} {
		trace := openTraceFile(b, n)
		b.Run(fmt.Sprintf("trace-lines=%d", n), func(b *testing.B) {
			for b.Loop() {
				openFirstFrame(b, trace, 200, 60)
			}
		})
		script := filepath.Join(b.TempDir(), "loop.star")
		src := fmt.Sprintf("for i in range(%d):\n    kfree(kmalloc(64 + i %% 512))\n", n/2)
		if err := writeFile(script, src); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("baseline-script-steps=%d", n), func(b *testing.B) {
			for b.Loop() {
				openFirstFrame(b, script, 200, 60)
			}
		})
	}
}

// millionScript takes 1,000,000 steps: kmalloc(64) and kfree, in turn.
const millionScript = `for i in range(500000):
    p = kmalloc(64)
    kfree(p)
`

// BenchmarkFrameAtEnd measures one frame, the Update of a step key and
// View, at 200x60 on a session of 1,000,000 steps (millionScript), with
// the slab pane showing kmalloc-64's slabs and their freelists: between
// the last two steps (a kmalloc and a kfree), and for comparison between
// steps 10 and 11. The goal is 16 ms a frame at any step.
func BenchmarkFrameAtEnd(b *testing.B) {
	lipgloss.SetColorProfile(termenv.TrueColor)
	b.Cleanup(func() { lipgloss.SetColorProfile(termenv.Ascii) })
	path := b.TempDir() + "/million.star"
	if err := writeFile(path, millionScript); err != nil {
		b.Fatal(err)
	}
	m := New(Options{Scenario: path})
	nm, _ := m.Update(tea.WindowSizeMsg{Width: 200, Height: 60})
	m = nm.(Model)
	nm, _ = m.Update(m.Init()())
	m = finishLive(b, nm.(Model))
	if m.lastStep() != 1_000_000 {
		b.Fatalf("the session has %d steps, want 1000000", m.lastStep())
	}
	b.Cleanup(func() { m.src.close() })
	for _, k := range []string{"tab", "f", "G"} { // the slab pane, freelists on, the last step
		nm, _ = m.Update(keyMsg(k))
		m = nm.(Model)
	}
	if !m.slabs.freelist || m.slabs.sel != "kmalloc-64" {
		b.Fatalf("the slab pane should show kmalloc-64 with freelists: %q, %v", m.slabs.sel, m.slabs.freelist)
	}
	for _, c := range []struct {
		name string
		at   int
	}{{"end", 1_000_000 - 1}, {"step10", 10}} {
		b.Run(c.name, func(b *testing.B) {
			m.seekTo(c.at)
			keys := [2]tea.KeyMsg{keyMsg("n"), keyMsg("p")}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				nm, _ := m.Update(keys[i%2])
				m = nm.(Model)
				_ = m.View()
			}
		})
	}
}

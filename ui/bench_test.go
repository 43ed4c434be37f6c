package ui

import (
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// benchScript keeps a 256 MiB machine busy: blocks of every order
// allocated and freed in a pattern that scatters them over RAM.
const benchScript = `config(ram="256M")
live = []
for i in range(3000):
    p = alloc_pages(i % 5)
    if p != None:
        live.append((p, i % 5))
    if i % 3 == 2:
        q, o = live.pop(len(live) // 2)
        free_pages(q, o)
`

// BenchmarkPlayFrame measures one frame of replay at full speed on a
// 256 MiB machine at 200x60: the tick's Update (seek one step, re-render
// the panes) and View. A frame must stay under 16 ms.
func BenchmarkPlayFrame(b *testing.B) {
	m := benchModel(b, 200, 60)
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
}

// BenchmarkView measures View alone, which only assembles what Update
// rendered.
func BenchmarkView(b *testing.B) {
	m := benchModel(b, 200, 60)
	m.seekTo(m.lastStep() / 2)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = m.View()
	}
}

func benchModel(b *testing.B, w, h int) Model {
	b.Helper()
	// Measure with the escape sequences a real terminal gets, not the
	// plain text the tests compare.
	lipgloss.SetColorProfile(termenv.TrueColor)
	b.Cleanup(func() { lipgloss.SetColorProfile(termenv.Ascii) })
	path := b.TempDir() + "/bench.star"
	if err := writeFile(path, benchScript); err != nil {
		b.Fatal(err)
	}
	m := New(Options{Scenario: path})
	nm, _ := m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	m = nm.(Model)
	nm, _ = m.Update(m.Init()())
	m = nm.(Model)
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

package ui

import (
	"errors"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/allocviz/allocviz/heapview"
)

// Screens draws the interface without a terminal, for pictures and
// recordings of a session (allocviz export): the screen a user of a w x h
// terminal sees at each step, exactly as the interface draws it.
type Screens struct {
	m Model
}

// OpenScreens opens opts.Scenario in the interface at w x h and waits for
// the script to end.
func OpenScreens(opts Options, w, h int) (*Screens, error) {
	m := New(opts)
	nm, _ := m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	m = nm.(Model)
	msg := m.Init()()
	if e, ok := msg.(errMsg); ok {
		return nil, e.err
	}
	nm, _ = m.Update(msg)
	m = nm.(Model)
	if m.src == nil {
		if m.loadErr != nil {
			return nil, m.loadErr
		}
		return nil, errors.New("ui: the session did not open")
	}
	if m.live {
		<-m.src.live.done
		nm, _ = m.Update(liveTickMsg{src: m.src})
		m = nm.(Model)
	}
	return &Screens{m: m}, nil
}

// Steps returns the session's last step.
func (s *Screens) Steps() int { return s.m.lastStep() }

// View returns the screen at a step.
func (s *Screens) View(step int) string {
	s.m.seekTo(step)
	return s.m.View()
}

// Close lets the session go.
func (s *Screens) Close() {
	if s.m.src != nil {
		s.m.src.close()
	}
}

// SpanStyle returns the style the interface gives a span of heapview's
// cells in palette p.
func SpanStyle(p Palette, s heapview.Span) lipgloss.Style {
	return StylesFor(p).span(spanKey{s.Kind, s.Class, s.Mark})
}

// Palettes returns the palettes, the default first.
func Palettes() []Palette {
	out := make([]Palette, len(paletteNames))
	for i := range out {
		out[i] = Palette(i)
	}
	return out
}

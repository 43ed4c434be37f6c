package ui

import (
	tea "github.com/charmbracelet/bubbletea"
)

// wheelLines is how far one turn of the mouse wheel scrolls.
const wheelLines = 3

// pageOf is a page of pane p: the lines it shows.
func (m *Model) pageOf(p paneID) int {
	_, h := m.pane(p).Size()
	return max(1, h-1)
}

// scrollPane scrolls pane p d lines (down, towards what comes later, when
// d > 0). The event log scrolls back in time; vmalloc space and the
// selected cache's slabs are scrolled by their renderers; the zoomed
// page map moves its window a map row a line.
func (m *Model) scrollPane(p paneID, d int) {
	switch p {
	case paneEvents:
		m.events.scrollBack(-d)
	case paneSlabs:
		m.slabs.vscroll = max(0, m.slabs.vscroll+d)
	case paneVmalloc:
		m.vm.top = max(0, m.vm.top+d)
	case panePages:
		if !m.pages.zoom {
			return // all of RAM is in view
		}
		m.pages.scrollRows(d)
	default:
		m.pane(p).scroll(d)
		return // the content is all there: nothing to render again
	}
	m.refresh()
}

// updateMouse scrolls the pane under the wheel, and focuses the pane
// clicked.
func (m *Model) updateMouse(msg tea.MouseMsg) {
	if !m.ready || m.tooSmall() || m.src == nil || m.help.ShowAll || m.mode == modePicker {
		return
	}
	if m.clickTimeline(msg) {
		return
	}
	p, ok := m.lay.slotAt(msg.X, msg.Y-m.lay.top)
	if !ok || msg.Action != tea.MouseActionPress {
		return
	}
	switch msg.Button {
	case tea.MouseButtonWheelUp:
		m.scrollPane(p, -wheelLines)
	case tea.MouseButtonWheelDown:
		m.scrollPane(p, wheelLines)
	case tea.MouseButtonLeft:
		if p < numPanes && p != m.focus && (m.mode == modeStep || m.mode == modeInspect) {
			m.setFocus(p)
		}
	}
}

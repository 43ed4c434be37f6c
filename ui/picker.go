package ui

import (
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/list"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
)

// scenarioItem is one bundled scenario in the picker.
type scenarioItem struct {
	name string // what `allocviz NAME` opens
	desc string // its one-line description
}

func (i scenarioItem) Title() string       { return i.name }
func (i scenarioItem) Description() string { return i.desc }
func (i scenarioItem) FilterValue() string { return i.name + " " + i.desc }

// newPicker builds the scenario picker over the bundled scenarios.
func newPicker(st Styles) list.Model {
	d := list.NewDefaultDelegate()
	d.Styles.NormalTitle = st.Text.Padding(0, 0, 0, 2)
	d.Styles.NormalDesc = st.Muted.Padding(0, 0, 0, 2)
	d.Styles.SelectedTitle = st.Accent.Border(lipgloss.NormalBorder(), false, false, false, true).
		BorderForeground(st.Accent.GetForeground()).Padding(0, 0, 0, 1)
	d.Styles.SelectedDesc = d.Styles.SelectedTitle.UnsetBold().Foreground(st.Text.GetForeground())
	d.Styles.DimmedTitle = st.Subtle.Padding(0, 0, 0, 2)
	d.Styles.DimmedDesc = st.Subtle.Padding(0, 0, 0, 2)
	d.Styles.FilterMatch = st.Emph.Underline(true)

	var items []list.Item
	for _, s := range bundledScenarios() {
		items = append(items, scenarioItem{name: s.name, desc: s.desc})
	}
	l := list.New(items, d, 0, 0)
	l.Title = "Open a scenario"
	l.Styles.Title = st.Accent
	l.Styles.TitleBar = st.Text.Padding(0, 0, 1, 2)
	l.Styles.StatusBar = st.Muted.Padding(0, 0, 1, 2)
	l.Styles.HelpStyle = st.Muted.Padding(1, 0, 0, 2)
	l.SetStatusBarItemName("scenario", "scenarios")
	l.DisableQuitKeybindings()
	// The keys Update handles for the picker (keyMap.Run and Cancel),
	// described for the list's own help line.
	l.AdditionalShortHelpKeys = func() []key.Binding {
		return []key.Binding{
			key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open")),
			key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		}
	}
	return l
}

// selectScenario puts the picker's selection on the scenario called name,
// if it is bundled.
func selectScenario(l *list.Model, name string) {
	for i, it := range l.Items() {
		if si, ok := it.(scenarioItem); ok && si.name == name {
			l.Select(i)
			return
		}
	}
}

// pickerFilterMsg is the list's filter result for the filter text it was
// computed from. The list filters off the event loop, one command per key
// typed, and those commands may answer in any order: a result for an
// older text ("vrea") arriving after the one for the text typed
// ("vrealloc-6") would replace it. Update drops results whose text is not
// the filter's text now.
type pickerFilterMsg struct {
	filter string
	msg    list.FilterMatchesMsg
}

// tagFilter wraps the commands the picker returned while its filter was
// text so that a filter result comes back as a pickerFilterMsg. Batches
// are unwrapped, since the list returns its filter command batched with
// the input's cursor blink.
func tagFilter(cmd tea.Cmd, filter string) tea.Cmd {
	if cmd == nil {
		return nil
	}
	return func() tea.Msg {
		switch msg := cmd().(type) {
		case list.FilterMatchesMsg:
			return pickerFilterMsg{filter: filter, msg: msg}
		case tea.BatchMsg:
			out := make(tea.BatchMsg, len(msg))
			for i, c := range msg {
				out[i] = tagFilter(c, filter)
			}
			return out
		default:
			return msg
		}
	}
}

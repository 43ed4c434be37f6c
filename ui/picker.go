package ui

import (
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/list"
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

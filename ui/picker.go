package ui

import (
	"fmt"
	"io"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/list"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/allocviz/allocviz/heapview"
)

// scenarioItem is one bundled scenario in the picker.
type scenarioItem struct {
	topic string // what it teaches: the group it is listed in (allocviz scenarios)
	name  string // what `allocviz NAME` opens
	desc  string // its one-line description
}

func (i scenarioItem) Title() string       { return i.name }
func (i scenarioItem) Description() string { return i.desc }
func (i scenarioItem) FilterValue() string { return i.topic + " " + i.name + " " + i.desc }

// pickerDelegate draws a scenario on one line: its topic where a topic's
// group begins, its name in a column as wide as the longest, then its
// description, cut with "…" to the width (the picker shows the selected
// one's in full under the list).
type pickerDelegate struct {
	st            Styles
	topicW, nameW int
}

func (d pickerDelegate) Height() int                         { return 1 }
func (d pickerDelegate) Spacing() int                        { return 0 }
func (d pickerDelegate) Update(tea.Msg, *list.Model) tea.Cmd { return nil }

func (d pickerDelegate) Render(w io.Writer, m list.Model, index int, item list.Item) {
	it, ok := item.(scenarioItem)
	if !ok {
		return
	}
	mark, name, desc := "  ", d.st.Text, d.st.Muted
	if index == m.Index() {
		mark, name, desc = "▸ ", d.st.Accent, d.st.Text
	}
	// The topic heads its group, and the page when a group goes on
	// from the page before.
	topic := ""
	vis := m.VisibleItems()
	if first, _ := m.Paginator.GetSliceBounds(len(vis)); index <= first || vis[index-1].(scenarioItem).topic != it.topic {
		topic = it.topic
	}
	topic = fmt.Sprintf("%-*s", d.topicW, topic) + "  "
	line := mark + fmt.Sprintf("%-*s", d.nameW, it.name) + "  "
	rest := max(0, m.Width()-lipgloss.Width(topic)-lipgloss.Width(line))
	fmt.Fprint(w, d.st.Title.Render(topic)+name.Render(line)+desc.Render(truncate(it.desc, rest)))
}

// newPicker builds the scenario picker over the bundled scenarios: a
// line each, so that they all fit on one page from 80x24.
func newPicker(st Styles) list.Model {
	var items []list.Item
	d := pickerDelegate{st: st}
	for _, s := range bundledScenarios() {
		items = append(items, s)
		d.topicW = max(d.topicW, len(s.topic))
		d.nameW = max(d.nameW, len(s.name))
	}
	l := list.New(items, d, 0, 0)
	l.Title = "Open a scenario"
	l.Styles.Title = st.Accent
	l.Styles.TitleBar = st.Text.Padding(0, 0, 0, 2)
	l.Styles.StatusBar = st.Muted.Padding(0, 0, 0, 2)
	l.Styles.HelpStyle = st.Muted.Padding(0, 0, 0, 2)
	l.SetStatusBarItemName("scenario", "scenarios")
	l.DisableQuitKeybindings()
	l.SetShowHelp(false) // pickerView shows pickerKeys under the description
	return l
}

// pickerKeys describes the keys of the picker: the list's own and those
// Update handles for it (keyMap.Run and Cancel).
func pickerKeys() []key.Binding {
	return []key.Binding{
		key.NewBinding(key.WithKeys("up", "down"), key.WithHelp("↑/↓", "choose")),
		key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open")),
		key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
	}
}

// pickerView is the picker in height lines: the list, then (pickerFoot
// lines) the selected scenario's description in full and the question
// when opening it would drop statements typed at the prompt.
func (m Model) pickerView(height int) string {
	var foot []string
	descLines := pickerFoot - 1
	if it, ok := m.picker.SelectedItem().(scenarioItem); ok {
		desc := heapview.Wrap(it.desc, max(1, m.width-4))
		if len(desc) > descLines {
			desc = desc[:descLines]
			desc[descLines-1] = truncate(desc[descLines-1]+" …", m.width-4)
		}
		for _, l := range desc {
			foot = append(foot, "  "+m.styles.Text.Render(l))
		}
	}
	if m.pickConfirm != "" {
		foot = append(foot, "  "+m.styles.StatusErr.Render(truncate(m.pickConfirm, m.width-2)))
	} else {
		foot = append(foot, "  "+m.help.ShortHelpView(pickerKeys()))
	}
	listH := max(0, height-pickerFoot)
	lines := strings.Split(m.picker.View(), "\n")
	lines = lines[:min(len(lines), listH)]
	for len(lines) < listH {
		lines = append(lines, "")
	}
	return fitLines(append(lines, foot...), m.width, height)
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

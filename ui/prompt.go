package ui

import (
	"strings"

	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
)

// promptModel is the statement prompt: a text input, the statements
// entered so far, and the last error, shown inline.
type promptModel struct {
	input   textinput.Model
	history []string // statements entered, oldest first
	pos     int      // history position while browsing; len(history) = the line being edited
	draft   string   // the line being edited, kept while browsing history
	err     string   // the last statement's error, "" if it worked
	styles  Styles
}

func newPrompt(st Styles) promptModel {
	return promptModel{input: newInput(st, ">>> ", "p = alloc_pages(0)", 400), styles: st}
}

// focus gives the prompt the keyboard.
func (p *promptModel) focus() tea.Cmd {
	p.pos = len(p.history)
	return p.input.Focus()
}

// blur takes the keyboard away and forgets the error.
func (p *promptModel) blur() {
	p.input.Blur()
	p.err = ""
}

// value is the statement typed, trimmed.
func (p promptModel) value() string { return strings.TrimSpace(p.input.Value()) }

// entered records stmt, which ended, in the history. The line was
// cleared when it began to run, so the next one could be typed; a failed
// statement comes back on it for editing, unless something was typed
// meanwhile. The error is shown.
func (p *promptModel) entered(stmt string, err error) {
	if stmt != "" && (len(p.history) == 0 || p.history[len(p.history)-1] != stmt) {
		p.history = append(p.history, stmt)
	}
	p.pos = len(p.history)
	p.draft = ""
	p.err = ""
	if err != nil {
		p.err = err.Error()
		if p.input.Value() == "" {
			p.input.SetValue(stmt)
			p.input.CursorEnd()
		}
	}
}

// older shows the previous history entry.
func (p *promptModel) older() {
	if p.pos == 0 {
		return
	}
	if p.pos == len(p.history) {
		p.draft = p.input.Value()
	}
	p.pos--
	p.input.SetValue(p.history[p.pos])
	p.input.CursorEnd()
}

// newer shows the next history entry, or the draft after the last.
func (p *promptModel) newer() {
	if p.pos >= len(p.history) {
		return
	}
	p.pos++
	if p.pos == len(p.history) {
		p.input.SetValue(p.draft)
	} else {
		p.input.SetValue(p.history[p.pos])
	}
	p.input.CursorEnd()
}

// setWidth fits the input into width cells.
func (p *promptModel) setWidth(width int) {
	w := width - len([]rune(p.input.Prompt)) - 1
	if w < 1 {
		w = 1
	}
	p.input.Width = w
}

// Render draws the prompt line, with the error below it when there is
// one, and hint (what entering a statement will do) otherwise, wrapped
// into at most lines lines.
func (p promptModel) Render(width, lines int, hint string) string {
	if p.err != "" {
		return p.input.View() + "\n" + messageLines(p.err, p.styles.StatusErr, width, lines)
	}
	return p.input.View() + "\n" + messageLines(hint, p.styles.Notice, width, lines)
}

// examplePlaceholder suggests a statement with the richest allocator the
// session's builtins offer.
func examplePlaceholder(src *source) string {
	have := map[string]bool{}
	for _, b := range src.sess.Builtins() {
		have[b.Name] = true
	}
	for _, ex := range []struct{ builtin, stmt string }{
		{"kmalloc", "p = kmalloc(100)"},
		{"vmalloc", "v = vmalloc(3 * 4096)"},
	} {
		if have[ex.builtin] {
			return ex.stmt
		}
	}
	return "p = alloc_pages(0)"
}

package ui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/allocviz/allocviz/heapview"
)

// The quiz (Options.Quiz, allocviz LESSON --quiz): stepping forward
// stops at each question a lesson asks (ask()), the question and its
// numbered choices cover the bottom of the panes, and a key answers it.
// The step asked about is then shown with the machine's answer, the rule
// that decided it and whether the student was right; the last step shows
// the score and every question's verdict. Without Options.Quiz nothing
// here runs, and questions are narration like say().
//
// Everything is in this file; the rest of the interface calls four
// hooks: quizClamp (seekTo), quizKey (updateStepKey), quizOverlay (View)
// and, in a room, quizAnswerKey (RoomModel.leads).

// quizState is the student's progress. The questions are read from the
// session in Update (quizSync), never in View.
type quizState struct {
	src   *source
	n     int                 // events the questions were read from
	qs    []heapview.Question // the run's questions
	given map[int]string      // question number -> the student's answer, as a choice reads
	typed string              // a free answer being typed
}

// quizSync reads the questions again when the session or its log changed.
func (m *Model) quizSync() {
	if !m.opts.Quiz || m.src == nil {
		return
	}
	q := &m.quiz
	log := m.src.hv.Log()
	if q.src != m.src {
		q.src, q.given, q.typed = m.src, map[int]string{}, ""
		q.n = -1
	}
	if q.n != log.Len() {
		q.n = log.Len()
		q.qs = heapview.Questions(log)
	}
}

// quizPending returns the question asked at the step shown that the
// student has not answered yet, or nil.
func (m *Model) quizPending() *heapview.Question {
	if !m.opts.Quiz {
		return nil
	}
	for i := range m.quiz.qs {
		q := &m.quiz.qs[i]
		if _, done := m.quiz.given[q.N]; q.AskStep == m.step && q.Answered && !done {
			return q
		}
	}
	return nil
}

// quizClamp is where a move from the step shown to step n stops: at the
// first unanswered question on the way forward. Play stops there too.
func (m *Model) quizClamp(n int) int {
	m.quizSync()
	if !m.opts.Quiz || n <= m.step {
		return n
	}
	stop := n
	for _, q := range m.quiz.qs {
		if _, done := m.quiz.given[q.N]; q.Answered && !done && q.AskStep >= m.step && q.AskStep < stop {
			stop = q.AskStep
		}
	}
	if stop != n && m.playing {
		m.stopPlay()
	}
	return stop
}

// quizKey takes the answer to the question pending at the step shown: a
// choice's number, or for a free answer digits (and x, a-f for hex)
// ended by enter. Other keys are left to the interface (it may step
// back, change pane, quit), except those that would step forward.
func (m *Model) quizKey(msg tea.KeyMsg) (handled bool) {
	q := m.quizPending()
	if q == nil {
		return false
	}
	if !m.quizAnswerKey(msg) {
		if k := m.keys; key.Matches(msg, k.Next, k.Play, k.Last) {
			m.setNotice(fmt.Sprintf("question %d: answer first", q.N), true)
			return true
		}
		return false
	}
	s := msg.String()
	switch {
	case q.Choices != nil:
		k := int(s[0] - '0')
		if k > len(q.Choices) {
			m.setNotice(fmt.Sprintf("press 1 to %d", len(q.Choices)), true)
			return true
		}
		m.quizAnswer(q, q.Choices[k-1])
	case msg.Type == tea.KeyBackspace:
		if t := m.quiz.typed; t != "" {
			m.quiz.typed = t[:len(t)-1]
		}
	case msg.Type == tea.KeyEnter:
		a, _ := q.ParseAnswer(m.quiz.typed)
		m.quiz.typed = ""
		m.quizAnswer(q, a)
	case len(m.quiz.typed) < 24:
		m.quiz.typed += s
	}
	return true
}

// quizAnswerKey reports whether msg is a key of the answer to the
// question pending (quizKey takes it before any other binding).
func (m *Model) quizAnswerKey(msg tea.KeyMsg) bool {
	q := m.quizPending()
	if q == nil {
		return false
	}
	s := msg.String()
	if q.Choices != nil {
		return len(s) == 1 && s[0] >= '1' && s[0] <= '9'
	}
	return len(s) == 1 && strings.ContainsAny(s, "0123456789abcdefx") ||
		msg.Type == tea.KeyBackspace || msg.Type == tea.KeyEnter && m.quiz.typed != ""
}

// quizAnswer records the answer and shows the step that answers q.
func (m *Model) quizAnswer(q *heapview.Question, a string) {
	m.quiz.given[q.N] = a
	m.seekTo(q.Step)
	if q.Right(a) {
		m.setNotice(fmt.Sprintf("question %d: right", q.N), false)
	} else {
		m.setNotice(fmt.Sprintf("question %d: wrong, the answer is %s", q.N, q.Answer), true)
	}
}

// quizLines is the box to show at the step shown: the pending question,
// the verdicts of the questions this step answered, or at the last step
// the score. nil when there is nothing to show.
func (m Model) quizLines(w int) []string {
	if !m.opts.Quiz || len(m.quiz.qs) == 0 {
		return nil
	}
	st := m.styles
	var out []string
	add := func(style lipgloss.Style, s string) {
		out = append(out, strings.Split(style.Width(w).Render(s), "\n")...)
	}
	plain := m.styles.plain()
	for i := range m.quiz.qs {
		q := &m.quiz.qs[i]
		given, done := m.quiz.given[q.N]
		switch {
		case q.AskStep == m.step && q.Answered && !done:
			add(st.StatusOK.Bold(true), fmt.Sprintf("Question %d of %d: %s", q.N, len(m.quiz.qs), q.Text))
			switch {
			case q.Choices != nil:
				for k, c := range q.Choices {
					add(plain, fmt.Sprintf("  %d) %s", k+1, c))
				}
				add(st.Muted, fmt.Sprintf("press 1-%d to answer; p steps back", len(q.Choices)))
			default:
				add(plain, "  answer: "+m.quiz.typed+"▏")
				add(st.Muted, "type the answer (a number), enter to submit")
			}
		case q.Step == m.step && done:
			verdict, style := "wrong", st.StatusErr
			if q.Right(given) {
				verdict, style = "right", st.StatusOK.Bold(true)
			}
			add(style, fmt.Sprintf("Question %d: %s. The answer is %s (you said %s).", q.N, verdict, q.Answer, given))
			if q.Why != "" {
				add(plain, "Why: "+q.Why)
			}
		}
	}
	if out == nil && m.step == m.lastStep() && !m.live {
		right, asked := 0, 0
		for _, q := range m.quiz.qs {
			if given, done := m.quiz.given[q.N]; done {
				asked++
				if q.Right(given) {
					right++
				}
			}
		}
		add(st.StatusOK.Bold(true), fmt.Sprintf("Score: %d of %d right (%d questions in the lesson)", right, asked, len(m.quiz.qs)))
		for _, q := range m.quiz.qs {
			given, done := m.quiz.given[q.N]
			mark := "  -    "
			switch {
			case done && q.Right(given):
				mark = "  right"
			case done:
				mark = "  wrong"
			}
			add(plain, fmt.Sprintf("%s %d. %s %s", mark, q.N, q.Text, q.Answer))
		}
	}
	return out
}

// quizOverlay puts the quiz box over the bottom rows of body, at most
// half of them (the panes above stay in view: the student predicts from
// them).
func (m Model) quizOverlay(body string) string {
	if !m.opts.Quiz {
		return body
	}
	lines := m.quizLines(max(20, m.width-4))
	if lines == nil {
		return body
	}
	rows := strings.Split(body, "\n")
	limit := max(3, len(rows)/2-2)
	if len(lines) > limit {
		lines = append(lines[:limit-1], "…")
	}
	box := m.styles.plain().Border(lipgloss.RoundedBorder()).BorderForeground(m.styles.StatusOK.GetForeground()).
		Width(m.width - 2).Render(strings.Join(lines, "\n"))
	boxRows := strings.Split(box, "\n")
	if len(boxRows) > len(rows) {
		return body
	}
	copy(rows[len(rows)-len(boxRows):], boxRows)
	return strings.Join(rows, "\n")
}

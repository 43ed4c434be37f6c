package scripts

import (
	"fmt"
	"slices"

	"github.com/allocviz/allocviz/allocator"
	"go.starlark.net/starlark"
)

// quizGroup is ask(): a lesson's question about the step that follows it,
// answered by what the machine then does (OSTEP's malloc.py -c, predict
// then reveal). The question is an EvAsk event in its own step; the
// answer an EvAnswer event at the end of the step it asks about, computed
// by the script's answer function from the machine after that step. The
// answer is never typed into the script: a lesson whose answer function
// gives something that is not one of its choices fails with an error.
//
// say() and check() steps between the question and the step it asks
// about are passed over, so a lesson may narrate before the step.
// Without --quiz, a question is a narration step like any other.
func quizGroup() Group {
	return Group{
		Name: "quiz",
		Builtins: []Builtin{
			{Name: "ask", Step: true, Fn: builtinAsk,
				Doc: "ask(question, choices=None, yes_no=False, answer=f, until_reveal=False): ask about the next step; f, called after it with what it returned (or with no argument), gives the answer: one of choices, a bool for yes_no, else any value. until_reveal=True: about every step up to reveal()"},
			{Name: "reveal", Step: true, Fn: builtinReveal,
				Doc: "reveal(why=None): answer the until_reveal question now, calling its f with no argument; why, if given, is told as the rule"},
		},
	}
}

// quizState is the session's questions: how many were asked, and the one
// waiting for its step.
type quizState struct {
	asked   int
	pending *question
}

type question struct {
	n       int
	pos     string
	choices []string
	yesNo   bool
	answer  starlark.Callable
	span    bool // until_reveal: answered by reveal()
}

// YesNo are the choices of a yes_no question.
var YesNo = []string{"yes", "no"}

func (s *Session) quiz() *quizState {
	return s.Ext("quiz", func() any { return &quizState{} }).(*quizState)
}

// maxChoices bounds a question's choices (a key each in the interface).
const maxChoices = 9

func builtinAsk(c *Call) (starlark.Value, error) {
	var text string
	var choices *starlark.List
	var yesNo bool
	var answer starlark.Callable
	var span bool
	if err := c.UnpackArgs("question", &text, "answer", &answer, "choices?", &choices, "yes_no?", &yesNo, "until_reveal?", &span); err != nil {
		return nil, err
	}
	q := &question{yesNo: yesNo, answer: answer, span: span}
	switch {
	case choices != nil && yesNo:
		return nil, c.Errorf("give choices= or yes_no=True, not both")
	case yesNo:
		q.choices = YesNo
	case choices != nil:
		if choices.Len() < 2 || choices.Len() > maxChoices {
			return nil, c.Errorf("%d choices: give 2 to %d", choices.Len(), maxChoices)
		}
		for i := range choices.Len() {
			str, ok := starlark.AsString(choices.Index(i))
			if !ok {
				return nil, c.Errorf("choice %d is a %s, want string", i+1, choices.Index(i).Type())
			}
			if !allocator.ValidChoice(str) || len(str) > maxCallText {
				return nil, c.Errorf("choice %d %q is empty, too long or holds a control character", i+1, str)
			}
			if slices.Contains(q.choices, str) {
				return nil, c.Errorf("choice %q is given twice", str)
			}
			q.choices = append(q.choices, str)
		}
	}
	if text == "" {
		return nil, c.Errorf("the question is empty")
	}
	st := c.Session.quiz()
	if p := st.pending; p != nil {
		return nil, c.Errorf("question %d (%s) has no step to ask about before this one", p.n, p.pos)
	}
	if err := c.Begin(); err != nil {
		return nil, err
	}
	st.asked++
	q.n = st.asked
	q.pos = c.Session.Step(c.Step()).Pos
	st.pending = q
	c.SetOp(fmt.Sprintf("ask %d", q.n))
	c.Machine().Ask(q.n, truncate(text, maxSayText), q.choices)
	return starlark.None, nil
}

// answerQuestion answers the pending question, if c's step is the one it
// asks about: it calls the answer function with v, what the step
// returned, and records the answer in the step.
func (s *Session) answerQuestion(c *Call, v starlark.Value) error {
	st, ok := s.ext["quiz"].(*quizState)
	if !ok || st.pending == nil {
		return nil
	}
	switch {
	case c.Name == "ask" || c.Name == "say" || c.Name == "check" || c.Name == "reveal" || st.pending.span:
		return nil
	}
	var args starlark.Tuple
	if f, ok := st.pending.answer.(*starlark.Function); !ok || f.NumParams() > 0 {
		if v == nil {
			v = starlark.None
		}
		args = starlark.Tuple{v}
	}
	return s.answer(c, args)
}

// builtinReveal answers the pending until_reveal question.
func builtinReveal(c *Call) (starlark.Value, error) {
	var why starlark.Value = starlark.None
	if err := c.UnpackArgs("why?", &why); err != nil {
		return nil, err
	}
	st := c.Session.quiz()
	switch {
	case st.pending == nil:
		return nil, c.Errorf("no question is waiting for reveal()")
	case !st.pending.span:
		return nil, c.Errorf("question %d (%s) is answered by the step after it; reveal() is for ask(..., until_reveal=True)", st.pending.n, st.pending.pos)
	}
	if err := c.Begin(); err != nil {
		return nil, err
	}
	c.SetOp(fmt.Sprintf("reveal %d", st.pending.n))
	if why != starlark.None {
		text, ok := starlark.AsString(why)
		if !ok {
			text = Display(why, maxSayText)
		}
		c.Machine().Say(text)
	}
	var args starlark.Tuple
	if f, ok := st.pending.answer.(*starlark.Function); !ok || f.NumParams() > 0 {
		args = starlark.Tuple{starlark.None}
	}
	return starlark.None, c.Session.answer(c, args)
}

// answer calls the pending question's answer function with args and
// records the answer in c's step.
func (s *Session) answer(c *Call, args starlark.Tuple) error {
	st := s.quiz()
	q := st.pending
	st.pending = nil
	s.answering = true
	r, err := starlark.Call(c.Thread, q.answer, args, nil)
	s.answering = false
	if err != nil {
		return fmt.Errorf("answer to question %d (%s): %w", q.n, q.pos, err)
	}
	var text string
	switch {
	case q.yesNo:
		b, ok := r.(starlark.Bool)
		if !ok {
			return fmt.Errorf("answer to question %d (%s): got %s, want a bool for a yes_no question", q.n, q.pos, r.Type())
		}
		text = YesNo[0]
		if !b {
			text = YesNo[1]
		}
	default:
		str, ok := starlark.AsString(r)
		if !ok {
			str = Display(r, maxCallText)
		}
		if q.choices != nil && !slices.Contains(q.choices, str) {
			return fmt.Errorf("answer to question %d (%s): the machine's answer %q is not one of the choices %q", q.n, q.pos, str, q.choices)
		}
		if !allocator.ValidChoice(str) {
			return fmt.Errorf("answer to question %d (%s): %q cannot be typed as an answer", q.n, q.pos, str)
		}
		text = str
	}
	c.Machine().Answer(q.n, text)
	return nil
}

package heapview

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/allocviz/allocviz/allocator"
)

// Question is one ask() of a run, with the answer the machine gave: the
// quiz both the terminal (allocviz run --quiz, allocviz quiz) and the
// interface put to a student.
type Question struct {
	N       int      // 1 for the run's first
	Text    string   // the question
	Choices []string // numbered from 1; nil: a free answer
	Pos     string   // file:line:col of the ask
	AskStep int      // the ask's step

	Answered bool   // a step followed the question and answered it
	Answer   string // as a choice reads ("yes" for yes_no)
	Step     int    // the step that answered it
	Why      string // the rule that decided it: the answering step's headline
}

// Questions returns the questions of log in order, each with its answer
// and the rule that decided it.
func Questions(log *allocator.EventLog) []Question {
	var qs []Question
	byN := map[int]int{}
	stepStart := -1
	n := log.Len()
	for i := 0; i < n; i++ {
		e := log.At(i)
		switch e.Kind() {
		case allocator.EvStep:
			stepStart = i
		case allocator.EvAsk:
			byN[e.Question()] = len(qs)
			qs = append(qs, Question{N: e.Question(), Text: e.Text(), Choices: e.Choices(), Pos: e.Src(), AskStep: e.Step()})
			if stepStart >= 0 {
				qs[len(qs)-1].Pos = log.At(stepStart).Src()
			}
		case allocator.EvAnswer:
			k, ok := byN[e.Question()]
			if !ok {
				continue
			}
			q := &qs[k]
			q.Answered, q.Answer, q.Step = true, e.Text(), e.Step()
			end := i
			for end < n && log.At(end).Kind() != allocator.EvStep {
				end++
			}
			why, _ := Headline(log, stepStart, end)
			q.Why = why
		}
	}
	return qs
}

// ParseAnswer reads what a student typed for q: a choice's text or its
// number (1 for the first; a choice that reads as a number is taken by
// its text), y or n for a yes/no question, anything for a
// free answer. It returns the answer as a choice reads, or an error that
// says what q accepts.
func (q *Question) ParseAnswer(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fmt.Errorf("no answer given")
	}
	if q.Choices == nil {
		return s, nil
	}
	// A choice's own text first: with choices "2", "3", "4", typing 3
	// means "3", not the third.
	for _, c := range q.Choices {
		if strings.EqualFold(c, s) {
			return c, nil
		}
	}
	if k, err := strconv.Atoi(s); err == nil && k >= 1 && k <= len(q.Choices) {
		return q.Choices[k-1], nil
	}
	if isYesNo(q.Choices) {
		switch strings.ToLower(s) {
		case "y":
			return "yes", nil
		case "n":
			return "no", nil
		}
		return "", fmt.Errorf("%q: answer yes or no (y, n, 1, 2)", s)
	}
	return "", fmt.Errorf("%q: answer with a number from 1 to %d", s, len(q.Choices))
}

func isYesNo(c []string) bool { return len(c) == 2 && c[0] == "yes" && c[1] == "no" }

// Right reports whether answer (from ParseAnswer) is the machine's. A
// free answer matches when it reads the same, or is the same number
// (0x100 and 256).
func (q *Question) Right(answer string) bool {
	if answer == q.Answer {
		return true
	}
	if q.Choices != nil {
		return false
	}
	a, errA := strconv.ParseInt(strings.ReplaceAll(answer, "_", ""), 0, 64)
	b, errB := strconv.ParseInt(q.Answer, 0, 64)
	return errA == nil && errB == nil && a == b
}

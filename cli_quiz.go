package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/allocviz/allocviz/heapview"
	"github.com/allocviz/allocviz/scripts"
)

// stdin is what allocviz run --quiz and allocviz quiz read answers from;
// tests replace it.
var stdin io.Reader = os.Stdin

// stdinIsTerminal reports whether stdin is an interactive terminal: then
// a bad answer is asked again; otherwise every line is an answer.
var stdinIsTerminal = func() bool {
	f, ok := stdin.(*os.File)
	return ok && isTerminal(f)
}

// answerSource gives the student's answer to each question.
type answerSource interface {
	// answer returns the answer to q as one of its choices reads, or an
	// error that ends the quiz (no more answers).
	answer(q *heapview.Question, out io.Writer) (string, error)
}

// listAnswers are --answers 2,1,yes: one per question, in order.
type listAnswers struct {
	list []string
	next int
}

func (l *listAnswers) answer(q *heapview.Question, out io.Writer) (string, error) {
	if l.next >= len(l.list) {
		return "", fmt.Errorf("--answers has %d answers; question %d needs one more", len(l.list), q.N)
	}
	s := l.list[l.next]
	l.next++
	a, err := q.ParseAnswer(s)
	if err != nil {
		return "", fmt.Errorf("--answers, answer %d: %v", l.next, err)
	}
	fmt.Fprintf(out, "answer> %s\n", s)
	return a, nil
}

// lineAnswers reads one answer per line. In a terminal a line that is
// not an answer is asked again; otherwise it is printed as the answer
// and judged wrong.
type lineAnswers struct {
	r        *bufio.Scanner
	terminal bool
	flush    func()
}

func newLineAnswers(r io.Reader, terminal bool, flush func()) *lineAnswers {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 4096)
	return &lineAnswers{r: sc, terminal: terminal, flush: flush}
}

func (l *lineAnswers) answer(q *heapview.Question, out io.Writer) (string, error) {
	for {
		if l.terminal {
			fmt.Fprint(out, "answer> ")
		}
		l.flush()
		if !l.r.Scan() {
			if err := l.r.Err(); err != nil {
				return "", err
			}
			if l.terminal {
				return "", fmt.Errorf("no answer to question %d: input ended", q.N)
			}
			fmt.Fprintln(out, "answer> (none: input ended)")
			return "(none)", nil
		}
		line := strings.TrimSpace(l.r.Text())
		if !l.terminal {
			fmt.Fprintf(out, "answer> %s\n", line)
		}
		a, err := q.ParseAnswer(line)
		switch {
		case err == nil:
			return a, nil
		case l.terminal:
			fmt.Fprintf(out, "  %v\n", err)
		default:
			return "(" + line + ")", nil // not an answer: wrong
		}
	}
}

// quizResult is how a student did.
type quizResult struct {
	right, total int
	lines        []string // the per-question summary
}

// runQuiz walks the steps of s as allocviz run prints them, stopping at
// each question: it prints the question and its numbered choices, takes
// the answer from src, and when the step asked about has been printed,
// reveals the machine's answer with the rule that decided it. The
// questions are asked from the finished run, so what the run printed
// after a question is held back until it is answered.
func runQuiz(s *scripts.Session, src answerSource, out io.Writer, printSteps bool) (quizResult, error) {
	var res quizResult
	qs := heapview.Questions(s.Log())
	byAsk, byStep := map[int]*heapview.Question{}, map[int][]*heapview.Question{}
	for i := range qs {
		q := &qs[i]
		if !q.Answered {
			return res, fmt.Errorf("%s: question %d has no answer: no step followed it", q.Pos, q.N)
		}
		byAsk[q.AskStep] = q
		byStep[q.Step] = append(byStep[q.Step], q)
	}
	given := map[int]string{}
	var lines stepLines
	for n := 1; n <= s.NumSteps(); n++ {
		st := s.Step(n)
		if q, ok := byAsk[n]; ok {
			fmt.Fprintf(out, "\nQuestion %d (%s): %s\n", q.N, fileLine(q.Pos), q.Text)
			if q.Choices != nil && !(len(q.Choices) == 2 && q.Choices[0] == "yes" && q.Choices[1] == "no") {
				for i, c := range q.Choices {
					fmt.Fprintf(out, "  %d) %s\n", i+1, c)
				}
			} else if q.Choices != nil {
				fmt.Fprintln(out, "  yes or no?")
			}
			a, err := src.answer(q, out)
			if err != nil {
				return res, err
			}
			given[q.N] = a
			continue
		}
		if printSteps {
			out.Write(lines.format(s, st))
		}
		for _, q := range byStep[n] {
			res.total++
			verdict := "wrong"
			if q.Right(given[q.N]) {
				res.right++
				verdict = "right"
			}
			fmt.Fprintf(out, "  %s: the answer is %s (you said %s). %s\n", verdict, q.Answer, given[q.N], q.Why)
			res.lines = append(res.lines, fmt.Sprintf("  %-5s %2d. %s %s (you: %s)", verdict, q.N, q.Text, q.Answer, given[q.N]))
		}
	}
	if res.total > 0 {
		fmt.Fprintf(out, "\nscore: %d of %d right\n", res.right, res.total)
		for _, l := range res.lines {
			fmt.Fprintln(out, l)
		}
	}
	return res, nil
}

// errNoQuestions is a quiz over a script that asks nothing.
var errNoQuestions = errors.New("the script asks no questions (ask() marks them)")

// quizRunCmd is allocviz run --quiz: the script runs to its end, then its
// steps are printed as run prints them, stopping at each question.
func quizRunCmd(ref string, opts scripts.Options, answers string, stdout, stderr io.Writer) int {
	out, stderr := buffered(stdout, stderr)
	defer out.Flush()
	opts.Print = func(pos, msg string) { fmt.Fprintf(stderr, "%s: %s\n", pos, msg) }
	ctx, stopped := runContext(func(e signalError) { fmt.Fprintf(stderr, "allocviz: %v\n", e) })
	s, runErr := scripts.RunContext(ctx, ref, opts)
	sig := stopped()
	if s == nil {
		fmt.Fprintln(stderr, "allocviz:", runErr)
		return exitError
	}
	defer s.Close()
	if code := finish(s, runErr, stderr); runErr != nil || sig != nil {
		if sig != nil {
			return sig.exitCode()
		}
		return code
	}
	var src answerSource
	if answers != "" {
		src = &listAnswers{list: strings.Split(answers, ",")}
	} else {
		src = newLineAnswers(stdin, stdinIsTerminal(), func() { out.Flush() })
	}
	return quizExit(s, src, out, stderr, true)
}

// quizExit runs the quiz over s and returns the exit status: 0 when
// every answer was right and every check passed, 1 otherwise, 2 when the
// quiz could not be put (no questions, answers missing).
func quizExit(s *scripts.Session, src answerSource, out io.Writer, stderr io.Writer, printSteps bool) int {
	if len(heapview.Questions(s.Log())) == 0 {
		fmt.Fprintln(stderr, "allocviz:", errNoQuestions)
		return exitError
	}
	res, err := runQuiz(s, src, out, printSteps)
	if err != nil {
		fmt.Fprintln(stderr, "allocviz:", err)
		return exitError
	}
	if res.right < res.total || len(s.Failures()) > 0 {
		return exitCheckFailed
	}
	return exitOK
}

// quizCmd is allocviz quiz: seeded random practice (scripts.Practice).
func quizCmd(args []string, stdout, stderr io.Writer) int {
	out, stderr := buffered(stdout, stderr)
	defer out.Flush()
	fs := newFlagSet("quiz")
	var mf machineFlags
	mf.register(fs)
	topic := fs.String("topic", "all", "kmalloc, krealloc, buddy, slub, vmalloc, kvec or all")
	n := fs.Int("n", 10, "number of questions")
	show := fs.Bool("script", false, "print the generated script instead of asking")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return flagError(err, args, stdout, stderr)
	}
	if len(pos) > 0 {
		fmt.Fprintf(stderr, "usage: allocviz quiz [--topic T] [--seed N] [--n N]; got %s\n", strings.Join(pos, " "))
		return exitError
	}
	sc, err := scripts.Practice(*topic, mf.seed, *n)
	if err != nil {
		fmt.Fprintln(stderr, "allocviz quiz:", err)
		return exitError
	}
	if *show {
		out.Write(sc.Src)
		return exitOK
	}
	opts, err := mf.options()
	if err != nil {
		fmt.Fprintln(stderr, "allocviz:", err)
		return exitError
	}
	defer limitHeap(&opts)()
	s, err := scripts.New(opts)
	if err != nil {
		fmt.Fprintln(stderr, "allocviz:", err)
		return exitError
	}
	defer s.Close()
	if err := s.RunFile(sc.Name, sc.Src); err != nil {
		fmt.Fprintln(stderr, "allocviz quiz: the practice script failed (a bug):", err)
		return exitError
	}
	fmt.Fprintf(out, "allocviz quiz: %d questions on %s, seed %d\n", *n, *topic, mf.seed)
	return quizExit(s, newLineAnswers(stdin, stdinIsTerminal(), func() { out.Flush() }), out, stderr, false)
}

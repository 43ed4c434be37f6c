package main

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/allocviz/allocviz/heapview"
	"github.com/allocviz/allocviz/scripts"
)

const quizScript = `
ask("Which cache will kmalloc(300) use?", choices=["kmalloc-256", "kmalloc-512", "kmalloc-1k"], answer=lambda p: p.cache)
p = kmalloc(300)
ask("Will krealloc(p, 400) stay in place?", yes_no=True, answer=lambda q: q == p)
say("narration between a question and its step is passed over")
q = krealloc(p, 400)
ask("How many objects does a kmalloc-512 slab hold?", answer=lambda r: kmalloc_cache(512).objects)
r = kmalloc(512)
`

// withStdin runs f with the quiz reading answers from in.
func withStdin(t *testing.T, in string) {
	old := stdin
	stdin = strings.NewReader(in)
	t.Cleanup(func() { stdin = old })
}

// TestRunQuizAnswers: --answers right exits 0 with a full score, one
// wrong answer exits 1 and says which, and the reveal gives the rule.
func TestRunQuizAnswers(t *testing.T) {
	path := writeScript(t, "quiz.star", quizScript)
	code, out, errOut := runCLI(t, "run", path, "--answers", "2,yes,16")
	if code != exitOK {
		t.Fatalf("right answers: exit %d, stderr %s\n%s", code, errOut, out)
	}
	for _, want := range []string{"Question 1 (", "  2) kmalloc-512", "right: the answer is kmalloc-512", "257..512 bytes use kmalloc-512",
		"right: the answer is yes", "400 <= ksize 512", "score: 3 of 3 right"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// The question comes before the step it asks about is printed.
	if strings.Index(out, "Question 1") > strings.Index(out, "kmalloc(300, GFP_KERNEL)") {
		t.Errorf("the step asked about was printed before its question:\n%s", out)
	}
	code, out, _ = runCLI(t, "run", path, "--answers", "1,yes,0x10")
	if code != exitCheckFailed || !strings.Contains(out, "wrong: the answer is kmalloc-512 (you said kmalloc-256)") ||
		!strings.Contains(out, "score: 2 of 3 right") {
		t.Errorf("one wrong answer: exit %d, want 1 and the wrong one named:\n%s", code, out)
	}
	code, _, errOut = runCLI(t, "run", path, "--answers", "2,yes")
	if code != exitError || !strings.Contains(errOut, "question 3 needs one more") {
		t.Errorf("too few answers: exit %d, stderr %q", code, errOut)
	}
	code, _, errOut = runCLI(t, "run", path, "--answers", "7,yes,16")
	if code != exitError || !strings.Contains(errOut, "a number from 1 to 3") {
		t.Errorf("answer out of range: exit %d, stderr %q", code, errOut)
	}
	// Without --quiz a question is narration: the run does not stop.
	code, out, _ = runCLI(t, "run", path)
	if code != exitOK || !strings.Contains(out, "Which cache will kmalloc(300) use?") {
		t.Errorf("plain run: exit %d\n%s", code, out)
	}
}

// TestRunQuizStdin: --quiz reads one answer per line from standard input.
func TestRunQuizStdin(t *testing.T) {
	path := writeScript(t, "quiz.star", quizScript)
	withStdin(t, "kmalloc-512\nn\n16\n")
	code, out, _ := runCLI(t, "run", path, "--quiz")
	if code != exitCheckFailed || !strings.Contains(out, "answer> n") || !strings.Contains(out, "score: 2 of 3 right") {
		t.Errorf("exit %d, want 1 with 2 of 3:\n%s", code, out)
	}
}

// TestAskErrors: a lesson whose answer is not among its choices, or whose
// answer function takes a step, is an error at the ask.
func TestAskErrors(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{`ask("?", choices=["kmalloc-8", "kmalloc-16"], answer=lambda p: p.cache)
p = kmalloc(300)`, "not one of the choices"},
		{`ask("?", yes_no=True, answer=lambda p: kmalloc(8) != None)
p = kmalloc(300)`, "may look at the machine, not take a step"},
		{`ask("?", yes_no=True, answer=lambda p: True)
ask("again?", yes_no=True, answer=lambda p: True)`, "has no step to ask about"},
		{`ask("?", choices=["a"], answer=lambda p: "a")`, "1 choices: give 2 to 9"},
	} {
		path := writeScript(t, "bad.star", c.src)
		code, _, errOut := runCLI(t, "run", path)
		if code != exitError || !strings.Contains(errOut, c.want) {
			t.Errorf("%s:\nexit %d, stderr %q, want 2 and %q", c.src, code, errOut, c.want)
		}
	}
}

// TestPracticeQuiz: allocviz quiz gives the same questions for the same
// seed, other questions for another, and exits 0 only when every answer
// is right.
func TestPracticeQuiz(t *testing.T) {
	withStdin(t, strings.Repeat("1\n", 5))
	code, first, _ := runCLI(t, "quiz", "--seed", "1", "--n", "5")
	if code == exitError {
		t.Fatalf("quiz: exit 2\n%s", first)
	}
	withStdin(t, strings.Repeat("1\n", 5))
	_, again, _ := runCLI(t, "quiz", "--seed", "1", "--n", "5")
	if again != first {
		t.Errorf("seed 1 twice gave different quizzes:\n%s\n---\n%s", first, again)
	}
	withStdin(t, strings.Repeat("1\n", 5))
	_, other, _ := runCLI(t, "quiz", "--seed", "2", "--n", "5")
	if other == first {
		t.Error("seeds 1 and 2 gave the same quiz")
	}
	answers := regexp.MustCompile(`the answer is (.*?) \(you said`).FindAllStringSubmatch(first, -1)
	if len(answers) != 5 {
		t.Fatalf("%d answers revealed, want 5:\n%s", len(answers), first)
	}
	var in strings.Builder
	for _, a := range answers {
		in.WriteString(a[1] + "\n")
	}
	withStdin(t, in.String())
	code, out, _ := runCLI(t, "quiz", "--seed", "1", "--n", "5")
	if code != exitOK || !strings.Contains(out, "score: 5 of 5 right") {
		t.Errorf("the revealed answers given back: exit %d\n%s", code, out)
	}
	withStdin(t, "")
	if code, out, _ := runCLI(t, "quiz", "--seed", "1", "--n", "2"); code != exitCheckFailed || !strings.Contains(out, "(none: input ended)") {
		t.Errorf("no answers: exit %d, want 1\n%s", code, out)
	}
	for _, topic := range []string{"kmalloc", "krealloc", "buddy", "slub", "vmalloc", "kvec"} {
		withStdin(t, "")
		if code, out, errOut := runCLI(t, "quiz", "--topic", topic, "--seed", "7", "--n", "25"); code != exitCheckFailed {
			t.Errorf("topic %s: exit %d, stderr %s\n%s", topic, code, errOut, out)
		}
	}
	if code, _, errOut := runCLI(t, "quiz", "--topic", "nope"); code != exitError || !strings.Contains(errOut, "no topic") {
		t.Errorf("unknown topic: exit %d, %q", code, errOut)
	}
}

// TestLessonQuizzes: every bundled lesson that asks has at least two
// questions; answering each with the machine's own answer exits 0, and
// changing one answer to another choice exits 1.
func TestLessonQuizzes(t *testing.T) {
	all, err := scripts.Scenarios()
	if err != nil {
		t.Fatal(err)
	}
	quizzes := 0
	for _, sc := range all {
		s, err := scripts.Run(sc.Name, scripts.Options{})
		if err != nil {
			t.Fatalf("%s: %v", sc.Name, err)
		}
		qs := heapview.Questions(s.Log())
		s.Close()
		if len(qs) == 0 {
			continue
		}
		quizzes++
		if len(qs) < 2 {
			t.Errorf("%s asks %d question, want at least 2", sc.Name, len(qs))
		}
		answers := make([]string, len(qs))
		wrong := ""
		for i, q := range qs {
			if !q.Answered {
				t.Fatalf("%s: question %d has no answer", sc.Name, q.N)
			}
			answers[i] = q.Answer
			if q.Choices != nil && wrong == "" {
				for _, c := range q.Choices {
					if c != q.Answer {
						wrong = strings.Join(answers[:i], ",")
						if i > 0 {
							wrong += ","
						}
						wrong += c
						break
					}
				}
			}
		}
		if code, out, errOut := runCLI(t, "run", sc.Name, "--answers", strings.Join(answers, ",")); code != exitOK ||
			!strings.Contains(out, fmt.Sprintf("score: %d of %d right", len(qs), len(qs))) {
			t.Errorf("%s --answers %s: exit %d, stderr %s\n%s", sc.Name, strings.Join(answers, ","), code, errOut, out)
		}
		// A wrong answer, then the right ones for the rest.
		rest := len(strings.Split(wrong, ","))
		list := wrong
		if rest < len(answers) {
			list += "," + strings.Join(answers[rest:], ",")
		}
		if code, _, _ := runCLI(t, "run", sc.Name, "--answers", list); code != exitCheckFailed {
			t.Errorf("%s --answers %s (one wrong): exit %d, want 1", sc.Name, list, code)
		}
	}
	if quizzes < 10 {
		t.Errorf("%d bundled lessons ask questions, want at least 10", quizzes)
	}
	if len(all) < 26 {
		t.Errorf("%d bundled scenarios, want at least 26", len(all))
	}
}

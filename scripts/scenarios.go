package scripts

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/allocviz/allocviz/scripts/ktrace"
	"go.starlark.net/syntax"
)

// scenarioFiles holds the bundled scenarios, scenarios/*.star, compiled
// into the binary. Read-only.
//
//go:embed scenarios/*.star scenarios/*.txt.gz
var scenarioFiles embed.FS

// DefaultScenario is the bundled scenario allocviz opens when none is
// named: the guided tour. It is the only default; allocviz run needs a
// script named.
const DefaultScenario = "tour"

// Scenario is a bundled script, or a bundled trace of a real kernel.
type Scenario struct {
	Name        string // "buddy": the file name without .star (a trace: without .txt.gz)
	File        string // "buddy.star": the name in positions
	Description string // one line: the module docstring's first line, else the first comment's
	Topic       string // what it teaches, from its "# topic: slub" comment ("other" without one); "traces" for a trace
	Src         []byte
	Trace       bool // a trace (scenarios/*.txt.gz), replayed rather than run
}

// traceSuffix ends the file name of a bundled trace.
const traceSuffix = ".txt.gz"

// Scenarios returns the bundled scenarios sorted by name.
func Scenarios() ([]Scenario, error) {
	entries, err := fs.ReadDir(scenarioFiles, "scenarios")
	if err != nil {
		return nil, err
	}
	var out []Scenario
	for _, e := range entries {
		star, trace := strings.HasSuffix(e.Name(), ".star"), strings.HasSuffix(e.Name(), traceSuffix)
		if e.IsDir() || !star && !trace {
			continue
		}
		src, err := scenarioFiles.ReadFile(path.Join("scenarios", e.Name()))
		if err != nil {
			return nil, err
		}
		sc := Scenario{Name: strings.TrimSuffix(e.Name(), ".star"), File: e.Name(), Src: src, Trace: trace}
		if trace {
			sc.Name = strings.TrimSuffix(e.Name(), traceSuffix)
			sc.Description = describeTrace(src)
			sc.Topic = "traces"
		} else {
			sc.Description = describe(e.Name(), src)
			sc.Topic = topicOf(src)
		}
		out = append(out, sc)
	}
	slices.SortFunc(out, func(a, b Scenario) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// LookupScenario returns the bundled scenario called name ("buddy" or
// "buddy.star").
func LookupScenario(name string) (Scenario, bool) {
	all, err := Scenarios()
	if err != nil {
		return Scenario{}, false
	}
	name = strings.TrimSuffix(strings.TrimSuffix(name, ".star"), traceSuffix)
	for _, sc := range all {
		if sc.Name == name {
			return sc, true
		}
	}
	return Scenario{}, false
}

// describe returns a script's one-line description: the first line of its
// docstring (a string literal as the first statement), else the first
// line of the comment at its top.
func describe(name string, src []byte) string {
	if f, err := dialect().Parse(name, src, 0); err == nil && len(f.Stmts) > 0 {
		if st, ok := f.Stmts[0].(*syntax.ExprStmt); ok {
			if lit, ok := st.X.(*syntax.Literal); ok && lit.Token == syntax.STRING {
				if doc, ok := lit.Value.(string); ok {
					return firstLine(doc)
				}
			}
		}
	}
	for _, line := range strings.Split(string(src), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#!") {
			continue
		}
		if text, ok := strings.CutPrefix(line, "#"); ok {
			return strings.TrimSpace(text)
		}
		break
	}
	return ""
}

// topicOf returns the topic a script names in a comment line of its own,
// "# topic: slub" (the last such line), or "other".
func topicOf(src []byte) string {
	topic := "other"
	for _, line := range strings.Split(string(src), "\n") {
		if t, ok := strings.CutPrefix(strings.TrimSpace(line), "# topic:"); ok && strings.TrimSpace(t) != "" {
			topic = strings.TrimSpace(t)
		}
	}
	return topic
}

// ByTopic returns the scenarios grouped by topic: the topics in the order
// of their first scenario by name, except that the tour comes first.
func ByTopic(all []Scenario) [][]Scenario {
	var groups [][]Scenario
	at := map[string]int{}
	for _, sc := range all {
		i, ok := at[sc.Topic]
		if !ok {
			i = len(groups)
			at[sc.Topic] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], sc)
	}
	slices.SortStableFunc(groups, func(a, b []Scenario) int {
		switch {
		case a[0].Topic == b[0].Topic:
			return 0
		case a[0].Topic == DefaultScenario:
			return -1
		case b[0].Topic == DefaultScenario:
			return 1
		}
		return strings.Compare(a[0].Topic, b[0].Topic)
	})
	return groups
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

// Script is source to run and the file name its positions use: a
// Starlark script, or a kernel trace to replay (trace.go).
type Script struct {
	Name  string // "buddy.star" for a bundled scenario, the path as given for a file
	Src   []byte // the script, or the trace; nil for a trace file longer than Open's head, read from the file as a stream when it runs (Text)
	Trace bool   // a trace (tracing/trace, trace_pipe or trace-cmd report text, maybe gzipped), told by its content
	path  string // the trace file Src leaves unread
}

// sniffBytes is how much of a file Open reads to tell a trace from a
// script.
const sniffBytes = 64 << 10

// Open finds the script ref names: a file on disk if one exists at that
// path, else a bundled scenario ("buddy" or "buddy.star"). A file is
// told a trace or a script by its first lines (ktrace.Sniff); a script
// is read whole, a trace only as far as its head, the rest as it is
// replayed.
func Open(ref string) (Script, error) {
	if ref == "" {
		return Script{}, errors.New("no script named: give a .star file or a bundled scenario name")
	}
	fi, statErr := os.Stat(ref)
	if statErr == nil && fi.Mode().IsRegular() {
		return openFile(ref)
	}
	if sc, ok := LookupScenario(ref); ok {
		return Script{Name: sc.File, Src: sc.Src, Trace: sc.Trace}, nil
	}
	if statErr == nil && fi.IsDir() {
		return Script{}, fmt.Errorf("%s is a directory: name a .star file in it, or a bundled scenario (allocviz scenarios lists them)", ref)
	}
	return Script{}, fmt.Errorf("%s: no such file, and no bundled scenario of that name (allocviz scenarios lists them)", ref)
}

// openFile reads a script, or the head of a trace, from the file at path.
func openFile(path string) (Script, error) {
	f, err := os.Open(path)
	if err != nil {
		return Script{}, err
	}
	defer f.Close()
	src := make([]byte, sniffBytes)
	n, err := io.ReadFull(f, src)
	src = src[:n]
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF): // the whole file
		src = bytes.Clone(src) // not the head's whole buffer
		return Script{Name: path, Src: src, Trace: ktrace.Sniff(src)}, nil
	case err != nil:
		return Script{}, err
	case ktrace.SniffHead(src):
		return Script{Name: path, Trace: true, path: path}, nil
	}
	buf := bytes.NewBuffer(src)
	if _, err := buf.ReadFrom(f); err != nil {
		return Script{}, err
	}
	src = buf.Bytes()
	return Script{Name: path, Src: src, Trace: ktrace.Sniff(src)}, nil
}

// Text returns the script's or trace's bytes as a stream: Src, or the
// trace's file, opened again. The caller closes it.
func (sc Script) Text() (io.ReadCloser, error) {
	if sc.path == "" {
		return memText{bytes.NewReader(sc.Src)}, nil
	}
	return os.Open(sc.path)
}

// memText is bytes in memory as a ReadCloser that still tells its length
// (ktrace sizes what it reads by it).
type memText struct{ *bytes.Reader }

func (memText) Close() error { return nil }

// Run opens ref, starts a session with opts and runs the script in it:
// the headless run the CLI does, and the UI's starting point. The session
// is returned whenever it was created, also when the script failed (the
// error is then an *Error and the steps before it stand); the caller
// closes it.
func Run(ref string, opts Options) (*Session, error) {
	return RunContext(context.Background(), ref, opts)
}

// RunContext is Run bounded by ctx, as RunFileContext is.
func RunContext(ctx context.Context, ref string, opts Options) (*Session, error) {
	sc, err := Open(ref)
	if err != nil {
		return nil, err
	}
	s, err := New(opts)
	if err != nil {
		return nil, err
	}
	return s, s.RunScriptContext(ctx, sc)
}

package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/log"
	gossh "golang.org/x/crypto/ssh"
)

// The server is tested in-process with a real SSH client
// (golang.org/x/crypto/ssh) on 127.0.0.1 at a random port; tmux drives
// the ssh binary in TestServeOpenSSH.

// testServer starts allocviz serve with c (defaults filled in) and stops
// it when the test ends.
func testServer(t testing.TB, c serveConfig) (*server, string, *syncBuffer) {
	t.Helper()
	if c.hostKey == "" {
		c.hostKey = filepath.Join(t.TempDir(), "host_key")
	}
	if c.lesson == "" {
		c.lesson = "tour"
	}
	if c.sessionRAM == 0 {
		c.sessionRAM = 64 << 20
	}
	if c.sessionSteps == 0 {
		c.sessionSteps = 100_000
	}
	if c.statement == 0 {
		c.statement = 10 * time.Second
	}
	if c.idle == 0 {
		c.idle = time.Minute
	}
	if c.maxSessions == 0 {
		c.maxSessions = 100
	}
	if c.statusEvery == 0 {
		c.statusEvery = time.Hour
	}
	logs := &syncBuffer{}
	s, err := newServer(c, log.NewWithOptions(logs, log.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.serve(ln) }()
	t.Cleanup(func() {
		s.shutdown(4 * time.Second)
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return s, ln.Addr().String(), logs
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// client is one SSH connection with a terminal.
type client struct {
	t    testing.TB
	conn *gossh.Client
	sess *gossh.Session
	in   io.WriteCloser

	mu      sync.Mutex
	changed *sync.Cond
	out     bytes.Buffer // everything received, escape sequences removed
	mark    int          // wait looks after here
	done    bool
}

// dial connects as user (password pw, "" for keyboard-interactive) and
// asks for a w x h terminal (0x0: a client that never gives a size).
func dial(t testing.TB, addr, user, pw string, w, h int) *client {
	t.Helper()
	return dialTerm(t, addr, user, pw, "xterm-256color", "", w, h)
}

// dialTerm is dial with the terminal's TERM and an ssh command ("" for
// none: a shell).
func dialTerm(t testing.TB, addr, user, pw, term, command string, w, h int) *client {
	t.Helper()
	auth := []gossh.AuthMethod{gossh.KeyboardInteractive(func(string, string, []string, []bool) ([]string, error) { return nil, nil })}
	if pw != "" {
		auth = []gossh.AuthMethod{gossh.Password(pw)}
	}
	conn, err := gossh.Dial("tcp", addr, &gossh.ClientConfig{User: user, Auth: auth, HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("dial %s as %s: %v", addr, user, err)
	}
	sess, err := conn.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	c := &client{t: t, conn: conn, sess: sess}
	c.changed = sync.NewCond(&c.mu)
	if w >= 0 {
		if err := sess.RequestPty(term, h, w, gossh.TerminalModes{}); err != nil {
			t.Fatal(err)
		}
	}
	if c.in, err = sess.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	outR, err := sess.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	sess.Stderr = c
	start := sess.Shell
	if command != "" {
		start = func() error { return sess.Start(command) }
	}
	if err := start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_, _ = io.Copy(c, outR)
		c.mu.Lock()
		c.done = true
		c.changed.Broadcast()
		c.mu.Unlock()
	}()
	t.Cleanup(func() { conn.Close() })
	return c
}

var escapes = regexp.MustCompile(`\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b[=>78MDEH]`)

func (c *client) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.out.Write(p)
	c.changed.Broadcast()
	return len(p), nil
}

// text is what was received, escape sequences replaced by spaces.
func (c *client) text() string {
	return escapes.ReplaceAllString(c.out.String(), " ")
}

// wait waits until what arrived since the last wait holds want, and
// moves past it.
func (c *client) wait(want string) {
	c.t.Helper()
	if !c.waitFor(want, 20*time.Second) {
		c.mu.Lock()
		got := c.text()
		c.mu.Unlock()
		c.t.Fatalf("%q never arrived; the screen's text after the mark:\n%s", want, tail(got[min(c.mark, len(got)):], 3000))
	}
}

// waitFor is wait that reports instead of failing.
func (c *client) waitFor(want string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	timer := time.AfterFunc(d, func() {
		c.mu.Lock()
		c.changed.Broadcast()
		c.mu.Unlock()
	})
	defer timer.Stop()
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		s := c.text()
		if c.mark > len(s) {
			c.mark = len(s)
		}
		if i := strings.Index(s[c.mark:], want); i >= 0 {
			c.mark += i + len(want)
			return true
		}
		if c.done || time.Now().After(deadline) {
			return false
		}
		c.changed.Wait()
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// refused waits for the session to end with a non-zero status and
// checks it said why.
func (c *client) refused(why string) {
	c.t.Helper()
	if err := c.sess.Wait(); err == nil {
		c.t.Errorf("a session refused for %q ended with status 0", why)
	}
	c.conn.Close()
	c.mu.Lock()
	defer c.mu.Unlock()
	if !strings.Contains(c.text(), why) {
		c.t.Errorf("a refused session was not told %q; it got %q", why, c.text())
	}
}

// send types keys.
func (c *client) send(keys string) {
	c.t.Helper()
	if _, err := io.WriteString(c.in, keys); err != nil {
		c.t.Fatalf("typing %q: %v", keys, err)
	}
}

// waitUntil polls cond until it holds or d passes.
func waitUntil(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not happen within %v", what, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// sessionsEnd waits until s has no connection and every machine it made
// is released.
func sessionsEnd(t testing.TB, s *server) {
	t.Helper()
	waitUntil(t, 20*time.Second, "every session ending", func() bool { return s.active.Load() == 0 })
}

func TestServeSession(t *testing.T) {
	s, addr, logs := testServer(t, serveConfig{statusEvery: 20 * time.Millisecond})
	c := dial(t, addr, "student", "", 100, 30)
	c.wait("step 0 of 92")
	waitUntil(t, 10*time.Second, "a status line", func() bool { return strings.Contains(logs.String(), "status sessions=1 memory=") })
	c.send("n")
	c.wait("step 1 of 92")
	if err := c.sess.WindowChange(5, 10); err != nil {
		t.Fatal(err)
	}
	c.wait("terminal t")
	if err := c.sess.WindowChange(40, 120); err != nil {
		t.Fatal(err)
	}
	c.send("n")
	c.wait("step 2 of 92")
	c.send("q")
	if err := c.sess.Wait(); err != nil {
		t.Errorf("the session ended with %v after q", err)
	}
	sessionsEnd(t, s)
	for _, want := range []string{"connect user=student", "disconnect user=student", "steps=92"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the log has no %q:\n%s", want, logs)
		}
	}
}

// twoStudents connects students a and b, each on the tour's first step.
func twoStudents(t *testing.T, addr string) (a, b *client) {
	t.Helper()
	a = dial(t, addr, "a", "", 100, 30)
	b = dial(t, addr, "b", "", 100, 30)
	a.wait("step 0 of 92")
	b.wait("step 0 of 92")
	return a, b
}

// Two students get two machines: what one does, the other does not see.
func TestServeIndependentMachines(t *testing.T) {
	s, addr, _ := testServer(t, serveConfig{})
	a, b := twoStudents(t, addr)
	a.send("G")
	a.wait("step 92 of 92")
	a.send(":")
	a.send("p = kmalloc(4096)\r")
	a.wait("of 93")
	b.send("G")
	b.wait("step 92 of 92")
	b.send("n")
	b.send("p")
	b.wait("step 91 of 92")
	s.mu.Lock()
	n := len(s.conns)
	var budgets []int64
	for c := range s.conns {
		budgets = append(budgets, c.steps.Used())
	}
	s.mu.Unlock()
	if n != 2 || budgets[0] == budgets[1] {
		t.Errorf("%d connections with steps %v: want two machines, one a statement ahead", n, budgets)
	}
}

func TestServeFollow(t *testing.T) {
	s, addr, _ := testServer(t, serveConfig{})
	st := dial(t, addr, "student", "", 100, 30)
	st.wait("who has not connected yet")
	in := dial(t, addr, instructorUser, s.code, 120, 40)
	in.wait("1 connected, 1 following")
	in.wait("step 0 of 92")
	in.send("nn")
	in.wait("step 2 of 92")
	st.wait("following the instructor · step 2")
	st.wait("step 2 of 92")
	st.send("n") // a follower's step keys do not move it
	st.wait("E explores on your own")
	st.send("E")
	in.wait("1 connected, 0 following")
	st.send("G")
	st.wait("step 92 of 92")
	in.send("n")
	st.wait("the instructor is at step 3")
	st.send("R")
	st.wait("step 3 of 92")
	in.wait("1 connected, 1 following")

	// A wrong code is refused at the door.
	if _, err := gossh.Dial("tcp", addr, &gossh.ClientConfig{User: instructorUser, Auth: []gossh.AuthMethod{gossh.Password("nope")}, HostKeyCallback: gossh.InsecureIgnoreHostKey()}); err == nil {
		t.Error("the instructor's name with a wrong code was let in")
	}
}

// waitPast is wait that returns what arrived before want since the last
// wait: the screens drawn meanwhile.
func (c *client) waitPast(want string) string {
	c.t.Helper()
	c.mu.Lock()
	from := c.mark
	c.mu.Unlock()
	c.wait(want)
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.text()
	return s[min(from, len(s)):max(from, c.mark-len(want))]
}

// never fails if the screens drawn hold any of what.
func never(t *testing.T, who, drawn string, what ...string) {
	t.Helper()
	for _, w := range what {
		if strings.Contains(drawn, w) {
			t.Errorf("%s was shown %q:\n%s", who, w, tail(drawn, 3000))
		}
	}
}

// Two instructor connections, as when the instructor opens a second
// terminal: the first leads, and only its moves and statements reach the
// student; the second works on its own machine, its bar saying who leads.
// I takes the lead, and the student follows the second from where it is;
// the first is told, and its moves no longer reach the room; when the
// second disconnects, the lead passes back to the first. Neither
// instructor connection is counted as a student.
func TestServeTwoInstructors(t *testing.T) {
	s, addr, _ := testServer(t, serveConfig{})
	a := dial(t, addr, instructorUser, s.code, 120, 40)
	a.wait("step 0 of 92")
	b := dial(t, addr, instructorUser, s.code, 120, 40)
	b.wait("instructor (not leading) · I take the lead · another instructor connection leads")
	b.wait("step 0 of 92") // a key pressed while the lesson opens does nothing
	st := dial(t, addr, "student", "", 100, 30)
	a.wait("instructor · 1 connected, 1 following · leading (2 instructor connections)")
	st.wait("step 0 of 92")
	a.send("nn")
	st.wait("following the instructor · step 2")

	// The second steps to the end and types: its own machine only.
	b.send("G")
	b.wait("step 92 of 92")
	b.send(":kmalloc(4096)\r")
	b.wait("step 93: kmalloc(4096) = ")
	b.send("\x1b")
	b.wait("next step") // the prompt has closed
	a.send("n")
	never(t, "the student", st.waitPast("following the instructor · step 3"), "step 92 of 92", "of 93", "kmalloc(4096)")

	// The second takes the lead: the student runs its statement.
	b.send("I")
	b.wait("you lead the room")
	st.wait("step 93 of 93")
	st.wait("step 93: kmalloc(4096) = ")
	// One frame, from the top: the bar, then the notice.
	a.wait("instructor (not leading)")
	a.wait("another instructor connection took the lead; I take the lead back")

	// The first's moves and statements stay on its machine.
	a.send("G:vmalloc(8192)\r")
	a.wait("step 93: vmalloc(8192) = ")
	a.send("\x1b")
	a.wait("next step") // the prompt has closed
	b.send("p")
	never(t, "the student", st.waitPast("following the instructor · step 92"), "vmalloc(8192)")

	// The second disconnects: the first leads, from where it is.
	b.conn.Close()
	a.wait("instructor · 1 connected, 1 following")
	a.wait("you lead the room")
	st.wait("following the instructor · step 93")
	st.wait("step 93: vmalloc(8192) = ")
}

// instructorAndStudent starts a server on c with an instructor (a
// terminal w columns wide) and a student connected, each with the lesson
// open: a key pressed while the lesson opens does nothing, so the
// instructor's is open before the student dials.
func instructorAndStudent(t *testing.T, c serveConfig, w int) (in, st *client) {
	t.Helper()
	s, addr, _ := testServer(t, c)
	in = dial(t, addr, instructorUser, s.code, w, 40)
	in.wait("step 0 of")
	st = dial(t, addr, "student", "", 100, 30)
	in.wait("1 connected, 1 following")
	st.wait("step 0 of")
	return in, st
}

// A statement the instructor types runs on the follower's machine too:
// the student's screen shows the step it made, with the same address.
func TestServeFollowStatements(t *testing.T) {
	in, st := instructorAndStudent(t, serveConfig{}, 120)
	in.send("G")
	in.wait("step 92 of 92")
	st.wait("step 92 of 92")
	in.send(":")
	in.send("kmalloc(4096)\r")
	in.wait("step 93: kmalloc(4096) = ")
	addrOf := regexp.MustCompile(`^0x[0-9a-f]+`)
	in.mu.Lock()
	got := addrOf.FindString(in.text()[in.mark:])
	in.mu.Unlock()
	if got == "" {
		t.Fatal("the instructor's notice shows no address")
	}
	// One frame, from the top: the room's bar, the status bar, the notice.
	st.wait("following the instructor · step 93")
	st.wait("step 93 of 93")
	st.wait("step 93: kmalloc(4096) = " + got)
}

// The room's answers to a question, as the instructor sees them.
func TestServeQuizAnswers(t *testing.T) {
	in, st := instructorAndStudent(t, serveConfig{lesson: "kmalloc-null", quiz: true}, 160)
	in.send("G") // stops at the first question
	in.wait("Q1 (0 answered)")
	st.wait("following the instructor")
	st.send("1")
	in.wait("Q1 (1 answered) 1:██████████ 1")
}

func TestServeFaults(t *testing.T) {
	s, addr, logs := testServer(t, serveConfig{maxSessions: 3, room: "lab1"})
	fds := openFDs(t)

	// Dropped in the middle of a statement.
	c := dial(t, addr, "lab1", "", 100, 30)
	c.wait("step 0 of 92")
	c.send(":")
	c.send("for i in range(5000): kfree(kmalloc(64))\r")
	c.conn.Close()

	// A client that never gives a window size, and one with no terminal.
	z := dial(t, addr, "lab1", "", 0, 0)
	z.wait("this one is 0x0")
	nopty := dial(t, addr, "lab1", "", -1, -1)
	nopty.refused("connect with a terminal")
	// The wrong room.
	dial(t, addr, "lab2", "", 80, 24).refused("wrong room code")
	z.conn.Close()
	sessionsEnd(t, s)

	// A full room says so.
	var in []*client
	for range 3 {
		k := dial(t, addr, "lab1", "", 80, 24)
		k.wait("step 0 of 92")
		in = append(in, k)
	}
	dial(t, addr, "lab1", "", 80, 24).refused("the room is full (3 connections)")
	for _, k := range in {
		k.conn.Close()
	}
	sessionsEnd(t, s)
	waitUntil(t, 10*time.Second, "the fds of the sessions closing", func() bool { return openFDs(t) <= fds })

	for _, want := range []string{"reason=\"no terminal\"", "reason=\"wrong room code\"", "reason=full"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the log has no refusal %s:\n%s", want, logs)
		}
	}
}

// openFDs counts the process's open files (memfds, ptys, sockets).
func openFDs(t testing.TB) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd:", err)
	}
	return len(ents)
}

// The load test: 50 students step through the tour and type statements
// at once for a bounded time (ALLOCVIZ_LOAD_SECONDS, default 20). The
// server's memory stays under 50 x session RAM + 200 MB, every session
// ends, and no goroutine or fd is left.
func TestServeLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("the load test runs without -short")
	}
	d := 20 * time.Second
	if v := os.Getenv("ALLOCVIZ_LOAD_SECONDS"); v != "" {
		var n int
		if _, err := fmt.Sscan(v, &n); err != nil || n <= 0 {
			t.Fatalf("ALLOCVIZ_LOAD_SECONDS=%q", v)
		}
		d = time.Duration(n) * time.Second
	}
	sessions := 50
	if v := os.Getenv("ALLOCVIZ_LOAD_SESSIONS"); v != "" {
		fmt.Sscan(v, &sessions)
	}
	const ram = 64 << 20
	goroutines := runtime.NumGoroutine()
	fds := openFDs(t)
	s, addr, _ := testServer(t, serveConfig{sessionRAM: ram})
	// The server's memory, sampled from the first connection to the last
	// disconnection.
	var peak atomic.Int64
	sampled := make(chan struct{})
	stopSampling := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			peak.Store(max(peak.Load(), rss()))
			select {
			case <-stopSampling:
				return
			case <-tick.C:
			}
		}
	}()
	clients := make([]*client, sessions)
	for i := range clients {
		clients[i] = dial(t, addr, fmt.Sprintf("s%d", i), "", 100, 30)
	}
	var wg sync.WaitGroup
	stop := time.Now().Add(d)
	rounds := make([]int, sessions)
	for i, c := range clients {
		wg.Go(func() {
			defer c.conn.Close()
			if !c.waitFor("step 0 of 92", 60*time.Second) {
				t.Errorf("session %d never showed the tour", i)
				return
			}
			for time.Now().Before(stop) {
				c.send("gnnnnnG:")
				stmt := fmt.Sprintf("x%d = kmalloc(%d)", rounds[i], 8<<(rounds[i]%8))
				c.send(stmt + "\r")
				if !c.waitFor(": "+stmt, 30*time.Second) { // the notice: "step 92: x0 = kmalloc(8)"
					c.mu.Lock()
					t.Errorf("session %d: statement %d never came back; the screen's end:\n%s", i, rounds[i], tail(c.text(), 1500))
					c.mu.Unlock()
					return
				}
				c.send("\x1b")
				if !c.waitFor("next step", 30*time.Second) { // the prompt has closed
					t.Errorf("session %d: esc did not close the prompt", i)
					return
				}
				rounds[i]++
			}
			c.send("q")
			_ = c.sess.Wait()
		})
	}
	wg.Wait()
	sessionsEnd(t, s)
	close(stopSampling)
	<-sampled
	total := 0
	for _, r := range rounds {
		total += r
	}
	t.Logf("%d sessions for %v: %d statements, peak RSS %.0f MiB, %d steps", sessions, d, total, float64(peak.Load())/(1<<20), s.totalSteps())
	if limit := int64(sessions*ram + 200<<20); peak.Load() > limit {
		t.Errorf("peak RSS %d MiB, over %d MiB", peak.Load()>>20, limit>>20)
	}
	s.shutdown(4 * time.Second)
	waitUntil(t, 20*time.Second, "the goroutines and fds of 50 sessions going", func() bool {
		return runtime.NumGoroutine() <= goroutines+5 && openFDs(t) <= fds
	})
}

// panicky panics on the key "!".
type panicky struct{ tea.Model }

func (p panicky) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if k, ok := msg.(tea.KeyMsg); ok && k.String() == "!" {
		panic("a bug, on purpose")
	}
	m, cmd := p.Model.Update(msg)
	return panicky{m}, cmd
}

// A panic in one connection's interface ends that connection with a
// message, releases its machine, and the others go on.
func TestServePanicEndsOneSession(t *testing.T) {
	s, addr, logs := testServer(t, serveConfig{wrap: func(m tea.Model) tea.Model { return panicky{m} }})
	fds := openFDs(t)
	a, b := twoStudents(t, addr)
	a.send("!")
	a.refused("internal error and ended")
	b.send("n")
	b.wait("step 1 of 92")
	b.send("q")
	_ = b.sess.Wait()
	b.conn.Close()
	sessionsEnd(t, s)
	waitUntil(t, 10*time.Second, "the fds of the sessions closing", func() bool { return openFDs(t) <= fds })
	if !strings.Contains(logs.String(), "session panicked") || !strings.Contains(logs.String(), "a bug, on purpose") {
		t.Errorf("the log does not tell the panic:\n%s", logs)
	}
}

// The ssh binary under tmux, as a student types it: the interface comes
// up at the terminal's size, steps, follows a resize, and q ends the
// connection (the ssh command exits and the tmux session with it).
func TestServeOpenSSH(t *testing.T) {
	if _, err := exec.LookPath("ssh"); err != nil {
		t.Skip("no ssh client: the OpenSSH test needs it (apt-get install openssh-client)")
	}
	s, addr, _ := testServer(t, serveConfig{})
	_, port, _ := net.SplitHostPort(addr)
	tm := startTmuxCommand(t, 100, 30, []string{"env", "TERM=xterm-256color", "ssh", "-tt",
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
		"-o", "PreferredAuthentications=keyboard-interactive,none", "-p", port, "student@127.0.0.1"})
	tm.waitFor("step 0 of 92")
	tm.keys("n")
	tm.waitFor("step 1 of 92")
	if out, err := tm.tmux("resize-window", "-t", tm.name, "-x", "160", "-y", "40"); err != nil {
		t.Fatalf("resize-window: %v\n%s", err, out)
	}
	tm.waitUntil("a frame 160 cells wide", func(scr string) bool {
		for _, l := range strings.Split(scr, "\n") {
			if strings.HasPrefix(l, "╰") && utf8.RuneCountInString(strings.TrimRight(l, " ")) >= 150 {
				return true
			}
		}
		return false
	})
	tm.keys("q")
	waitUntil(t, 15*time.Second, "ssh exiting after q", func() bool {
		_, err := tm.tmux("has-session", "-t", tm.name)
		return err != nil
	})
	sessionsEnd(t, s)
}

// SIGTERM ends allocviz serve with status 0, every session with it.
func TestServeSignal(t *testing.T) {
	cmd := exec.Command(allocvizBinary(t), "serve", "--listen", "127.0.0.1:0", "--host-key", filepath.Join(t.TempDir(), "key"))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	first, err := bufio.NewReader(out).ReadString('\n') // "allocviz serve: listening on 127.0.0.1:PORT, lesson tour"
	if err != nil {
		t.Fatal(err)
	}
	addr, _, _ := strings.Cut(strings.TrimPrefix(first, "allocviz serve: listening on "), ",")
	c := dial(t, addr, "student", "", 100, 30)
	c.wait("step 0 of 92")
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("allocviz serve after SIGTERM: %v\n%s", err, logs.String())
	}
	_ = c.sess.Wait()
	for _, want := range []string{"stopping signal=terminated sessions=1", "disconnect user=student", "stopped"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the log has no %q:\n%s", want, logs.String())
		}
	}
}

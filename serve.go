package main

import (
	"bufio"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/log"
	"github.com/charmbracelet/ssh"
	"github.com/charmbracelet/wish"
	bm "github.com/charmbracelet/wish/bubbletea"
	"github.com/muesli/termenv"
	gossh "golang.org/x/crypto/ssh"

	"github.com/allocviz/allocviz/scripts"
	"github.com/allocviz/allocviz/ui"
)

// allocviz serve: the interface over SSH (charmbracelet/wish), one
// machine per connection, for a workshop room. See serveConfig for the
// limits and room.go in ui for following the instructor.

// serveConfig is what allocviz serve was started with.
type serveConfig struct {
	listen        string
	hostKey       string
	lesson        string
	room          string        // the code students connect with as their user name; "" lets anyone in
	instructorKey string        // authorized_keys file of the instructor's keys; "" prints a code instead
	sessionRAM    int64         // each machine's RAM at most, and the bound of any one script value
	sessionSteps  int64         // allocator steps per connection
	statement     time.Duration // wall time of one input (the lesson's run, a statement)
	idle          time.Duration // a connection with no traffic this long is closed
	maxSessions   int
	quiz          bool
	statusEvery   time.Duration
	wrap          func(tea.Model) tea.Model // tests: wraps each connection's interface
}

// instructorUser is the user name the instructor connects as.
const instructorUser = "instructor"

func serveCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("serve")
	var c serveConfig
	ram := sizeFlag{n: 64 << 20, text: "64M"}
	fs.StringVar(&c.listen, "listen", "127.0.0.1:2222", "address to listen on (loopback unless given)")
	fs.StringVar(&c.hostKey, "host-key", defaultHostKey(), "the server's host key, created on first start and kept")
	fs.StringVar(&c.lesson, "lesson", scripts.DefaultScenario, "the bundled lesson every connection opens on")
	fs.StringVar(&c.room, "room", "", "a room code students give as their user name (ssh CODE@host)")
	fs.StringVar(&c.instructorKey, "instructor-key", "", "authorized_keys file of the instructor's public keys")
	fs.Var(&ram, "session-ram", "RAM of each connection's machine at most")
	fs.Int64Var(&c.sessionSteps, "session-steps", 100_000, "allocator steps each connection may take")
	fs.DurationVar(&c.statement, "statement-time", 10*time.Second, "wall time of one statement or lesson run")
	fs.DurationVar(&c.idle, "idle", 30*time.Minute, "close a connection idle this long")
	fs.IntVar(&c.maxSessions, "max-sessions", 100, "connections at once")
	fs.BoolVar(&c.quiz, "quiz", false, "every interface stops at the lesson's questions; the instructor sees the room's answers")
	fs.DurationVar(&c.statusEvery, "status-every", time.Minute, "how often to log the server's status")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return flagError(err, args, stdout, stderr)
	}
	if len(pos) > 0 {
		fmt.Fprintf(stderr, "allocviz serve: unexpected %s (the lesson is --lesson NAME)\n", strings.Join(pos, " "))
		return exitError
	}
	c.sessionRAM = ram.n
	logger := log.NewWithOptions(stderr, log.Options{ReportTimestamp: true, Prefix: "allocviz serve"})
	log.SetDefault(logger) // wish's middleware logs a program's error there
	s, err := newServer(c, logger)
	if err != nil {
		fmt.Fprintln(stderr, "allocviz serve:", err)
		return exitError
	}
	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		fmt.Fprintln(stderr, "allocviz serve:", err)
		return exitError
	}
	s.announce(stdout, ln.Addr())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	served := make(chan error, 1)
	go func() { served <- s.serve(ln) }()
	select {
	case got := <-sig:
		logger.Info("stopping", "signal", got.String(), "sessions", s.active.Load())
		s.shutdown(5 * time.Second)
		<-served
		logger.Info("stopped")
		return exitOK
	case err := <-served:
		logger.Error("server failed", "err", err)
		s.shutdown(time.Second)
		return exitError
	}
}

// defaultHostKey is where the host key lives unless --host-key says:
// the user's config folder, so it outlives the working directory.
func defaultHostKey() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "allocviz_host_ed25519"
	}
	return filepath.Join(dir, "allocviz", "ssh_host_ed25519")
}

// server is allocviz serve's state.
type server struct {
	cfg     serveConfig
	log     *log.Logger
	srv     *ssh.Server
	room    *ui.Room
	code    string          // the instructor's code when no key file was given
	keys    []ssh.PublicKey // the instructor's keys
	palette ui.Palette

	mu    sync.Mutex
	conns map[*conn]struct{}
	wg    sync.WaitGroup // connection handlers

	active    atomic.Int64 // connections admitted and not yet ended
	doneSteps atomic.Int64 // steps of connections that ended
	closing   atomic.Bool
	stop      chan struct{} // closed by shutdown
}

// conn is one admitted connection.
type conn struct {
	id      int64
	steps   *scripts.StepBudget
	sources *ui.Sources
	program atomic.Pointer[tea.Program]
	leave   func()                 // takes the interface out of the room
	look    look                   // its palette and background
	panic   atomic.Pointer[string] // what the interface panicked with, if it did
}

// guarded is a connection's interface with its panics caught: a panic in
// Update or View ends that connection's program, never the server, and
// admit tells the client and the log. (Bubble Tea itself catches a
// panic in a command and ends the program.)
type guarded struct {
	tea.Model
	c *conn
}

func (g guarded) caught(r any) {
	msg := fmt.Sprintf("%v\n%s", r, debug.Stack())
	g.c.panic.CompareAndSwap(nil, &msg)
}

func (g guarded) Update(msg tea.Msg) (next tea.Model, cmd tea.Cmd) {
	defer func() {
		if r := recover(); r != nil {
			g.caught(r)
			next, cmd = g, tea.Quit
		}
	}()
	m, cmd := g.Model.Update(msg)
	g.Model = m
	return g, cmd
}

func (g guarded) View() (v string) {
	defer func() {
		if r := recover(); r != nil {
			g.caught(r)
			v = "allocviz: internal error"
		}
	}()
	if g.c.panic.Load() != nil {
		return ""
	}
	return g.Model.View()
}

type connKey struct{}
type roleKey struct{}

var connIDs atomic.Int64

// newServer checks the configuration, makes or reads the host key and
// sets the server up; serve starts it.
func newServer(c serveConfig, logger *log.Logger) (*server, error) {
	if c.maxSessions < 1 {
		return nil, fmt.Errorf("--max-sessions %d: at least 1", c.maxSessions)
	}
	if c.sessionSteps < 1 || c.sessionSteps > scripts.MaxStepsLimit {
		return nil, fmt.Errorf("--session-steps %d is out of range (1 to %d)", c.sessionSteps, int64(scripts.MaxStepsLimit))
	}
	if c.sessionRAM < 2<<20 {
		return nil, fmt.Errorf("--session-ram %d: at least 2M", c.sessionRAM)
	}
	if c.statement <= 0 || c.idle <= 0 {
		return nil, errors.New("--statement-time and --idle must be above 0")
	}
	// Only a bundled lesson: nothing a connection does reads a file.
	if err := bundled(c.lesson); err != nil {
		return nil, err
	}
	s := &server{cfg: c, log: logger, room: ui.NewRoom(), conns: map[*conn]struct{}{}, stop: make(chan struct{})}
	if c.instructorKey != "" {
		b, err := os.ReadFile(c.instructorKey)
		if err != nil {
			return nil, fmt.Errorf("--instructor-key: %w", err)
		}
		for rest := b; len(strings.TrimSpace(string(rest))) > 0; {
			k, _, _, r, err := ssh.ParseAuthorizedKey(rest)
			if err != nil {
				return nil, fmt.Errorf("--instructor-key %s: %w", c.instructorKey, err)
			}
			s.keys, rest = append(s.keys, k), r
		}
	} else {
		s.code = oneTimeCode()
	}
	if err := os.MkdirAll(filepath.Dir(c.hostKey), 0o700); err != nil {
		return nil, fmt.Errorf("--host-key: %w", err)
	}
	srv, err := wish.NewServer(
		wish.WithHostKeyPath(c.hostKey),
		wish.WithIdleTimeout(c.idle),
		wish.WithPublicKeyAuth(s.keyAuth),
		wish.WithPasswordAuth(s.passwordAuth),
		wish.WithKeyboardInteractiveAuth(s.interactiveAuth),
		wish.WithMiddleware(
			// Ascii: no colour profile is forced on a client; each gets
			// its own terminal's (look.renderer).
			bm.MiddlewareWithProgramHandler(s.program, termenv.Ascii),
			s.admit,
		),
	)
	if err != nil {
		return nil, fmt.Errorf("--host-key %s: %w", c.hostKey, err)
	}
	s.srv = srv
	// Each connection draws with a renderer of its own (look.renderer);
	// anything left on the process's default renderer draws no colour,
	// whatever terminal the server itself runs in.
	lipgloss.SetColorProfile(termenv.Ascii)
	return s, nil
}

// bundled fails unless name is a bundled lesson.
func bundled(name string) error {
	all, err := scripts.Scenarios()
	if err != nil {
		return err
	}
	for _, sc := range all {
		if sc.Name == name {
			return nil
		}
	}
	return fmt.Errorf("--lesson %q is not a bundled lesson (allocviz scenarios lists them)", name)
}

// oneTimeCode is the instructor's password for this run of the server.
func oneTimeCode() string {
	const letters = "abcdefghjkmnpqrstuvwxyz23456789"
	b := make([]byte, 10)
	for i := range b {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(letters))))
		if err != nil {
			panic(err) // crypto/rand does not fail on Linux
		}
		b[i] = letters[n.Int64()]
	}
	return string(b[:5]) + "-" + string(b[5:])
}

// announce prints how to connect.
func (s *server) announce(w io.Writer, addr net.Addr) {
	host, port, _ := net.SplitHostPort(addr.String())
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		host = "localhost"
	}
	user := ""
	if s.cfg.room != "" {
		user = s.cfg.room + "@"
	}
	fmt.Fprintf(w, "allocviz serve: listening on %s, lesson %s\n", addr, s.cfg.lesson)
	fmt.Fprintf(w, "  students:   ssh -p %s %s%s\n", port, user, host)
	if s.code != "" {
		fmt.Fprintf(w, "  instructor: ssh -p %s %s@%s   password (this run only): %s\n", port, instructorUser, host, s.code)
	} else {
		fmt.Fprintf(w, "  instructor: ssh -p %s %s@%s   with a key of %s\n", port, instructorUser, host, s.cfg.instructorKey)
	}
}

// Authentication: anyone may connect as a student; the user name
// "instructor" needs the instructor's key or code.
func (s *server) keyAuth(ctx ssh.Context, key ssh.PublicKey) bool {
	if ctx.User() != instructorUser {
		return true
	}
	for _, k := range s.keys {
		if ssh.KeysEqual(k, key) {
			ctx.SetValue(roleKey{}, instructorUser)
			return true
		}
	}
	return false
}

func (s *server) passwordAuth(ctx ssh.Context, password string) bool {
	if ctx.User() != instructorUser {
		return true
	}
	if s.code != "" && password == s.code {
		ctx.SetValue(roleKey{}, instructorUser)
		return true
	}
	return false
}

func (s *server) interactiveAuth(ctx ssh.Context, _ gossh.KeyboardInteractiveChallenge) bool {
	return ctx.User() != instructorUser
}

// admit is the outer middleware: it refuses a connection when the room
// is full or the room code is wrong, logs the connect and the disconnect,
// and releases everything the connection held, however it ended.
func (s *server) admit(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		s.wg.Add(1)
		defer s.wg.Done()
		start := time.Now()
		role := "student"
		if sess.Context().Value(roleKey{}) == instructorUser {
			role = instructorUser
		}
		pty, _, hasPty := sess.Pty()
		fields := []any{"user", sess.User(), "remote", sess.RemoteAddr().String(), "role", role}
		refuse := func(reason, msg string) {
			s.log.Warn("refused", append(fields, "reason", reason)...)
			wish.Fatalln(sess, "allocviz: "+msg)
		}
		switch {
		case s.closing.Load():
			refuse("shutting down", "the server is shutting down")
			return
		case !hasPty:
			refuse("no terminal", "allocviz is a terminal interface: connect with a terminal (ssh -t)")
			return
		case role != instructorUser && s.cfg.room != "" && sess.User() != s.cfg.room:
			refuse("wrong room code", "wrong room code: connect as ssh -p PORT CODE@HOST with the code your instructor gave")
			return
		}
		lk, err := lookOf(s.palette, sess.Environ(), sess.Command())
		if err != nil {
			refuse("bad command", err.Error())
			return
		}
		if n := s.active.Add(1); n > int64(s.cfg.maxSessions) {
			s.active.Add(-1)
			refuse("full", fmt.Sprintf("the room is full (%d connections); try again in a while", s.cfg.maxSessions))
			return
		}
		c := &conn{id: connIDs.Add(1), steps: scripts.NewStepBudget(s.cfg.sessionSteps), look: lk}
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		sess.Context().SetValue(connKey{}, c)
		fields = append(fields, "id", c.id)
		s.log.Info("connect", append(fields, "term", pty.Term, "size", fmt.Sprintf("%dx%d", pty.Window.Width, pty.Window.Height))...)
		defer func() {
			if r := recover(); r != nil {
				msg := fmt.Sprintf("%v\n%s", r, debug.Stack())
				c.panic.CompareAndSwap(nil, &msg)
			}
			if p := c.panic.Load(); p != nil {
				s.log.Error("session panicked", append(fields, "panic", *p)...)
				wish.Errorln(sess, "allocviz: this session met an internal error and ended; the server goes on")
				_ = sess.Exit(1)
			}
			if c.leave != nil {
				c.leave()
			}
			if c.sources != nil {
				c.sources.Close()
			}
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
			s.doneSteps.Add(c.steps.Used())
			s.active.Add(-1)
			s.log.Info("disconnect", append(fields, "duration", time.Since(start).Round(time.Millisecond), "steps", c.steps.Used())...)
		}()
		next(sess)
	}
}

// program makes the interface of one connection: its own machine and
// scripting session, sized to the client's terminal.
func (s *server) program(sess ssh.Session) *tea.Program {
	c, _ := sess.Context().Value(connKey{}).(*conn)
	if c == nil {
		return nil
	}
	ctx, sources := ui.WithSources(sess.Context())
	c.sources = sources
	m := ui.New(ui.Options{
		Scenario: s.cfg.lesson,
		Palette:  c.look.palette,
		Renderer: c.look.renderer(sess),
		Quiz:     s.cfg.quiz,
		Context:  ctx,
		Script: scripts.Options{
			MaxRAM:      s.cfg.sessionRAM,
			MaxMemory:   s.cfg.sessionRAM,
			ProcessHeap: int64(s.cfg.maxSessions)*s.cfg.sessionRAM + 200<<20,
			Timeout:     s.cfg.statement,
			Steps:       c.steps,
		},
	})
	rm := s.room.Join(m, sess.Context().Value(roleKey{}) == instructorUser)
	var model tea.Model = guarded{Model: rm, c: c}
	if s.cfg.wrap != nil {
		model = guarded{Model: s.cfg.wrap(rm), c: c}
	}
	p := tea.NewProgram(model, append(bm.MakeOptions(sess), tea.WithAltScreen(), tea.WithoutSignalHandler())...)
	rm.Attach(p.Send)
	c.program.Store(p)
	c.leave = rm.Leave
	return p
}

// serve accepts connections on ln until shutdown, logging the status
// every statusEvery.
func (s *server) serve(ln net.Listener) error {
	go s.status()
	err := s.srv.Serve(ln)
	if errors.Is(err, ssh.ErrServerClosed) {
		return nil
	}
	return err
}

// status logs the sessions, the memory in use and the steps per second.
func (s *server) status() {
	t := time.NewTicker(s.cfg.statusEvery)
	defer t.Stop()
	last, lastAt := s.totalSteps(), time.Now()
	for {
		select {
		case <-s.stop:
			return
		case now := <-t.C:
			steps := s.totalSteps()
			rate := float64(steps-last) / now.Sub(lastAt).Seconds()
			last, lastAt = steps, now
			s.log.Info("status", "sessions", s.active.Load(), "memory", humanRSS(), "steps/s", strconv.FormatFloat(rate, 'f', 1, 64), "steps", steps)
		}
	}
}

// totalSteps is every allocator step taken since the server started.
func (s *server) totalSteps() int64 {
	n := s.doneSteps.Load()
	s.mu.Lock()
	for c := range s.conns {
		n += c.steps.Used()
	}
	s.mu.Unlock()
	return n
}

// shutdown ends every connection: each interface quits (putting the
// client's terminal back), then the connections close. It waits up to
// grace for the handlers to release their machines.
func (s *server) shutdown(grace time.Duration) {
	if !s.closing.CompareAndSwap(false, true) {
		return
	}
	close(s.stop)
	s.mu.Lock()
	for c := range s.conns {
		if p := c.program.Load(); p != nil {
			p.Quit()
		}
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace / 2):
	}
	_ = s.srv.Close()
	select {
	case <-done:
	case <-time.After(grace / 2):
		s.log.Warn("connections still closing", "sessions", s.active.Load())
	}
}

// rss is the process's resident memory in bytes: the Go heap and the
// machines' RAM that has been touched.
func rss() int64 {
	f, err := os.Open("/proc/self/statm")
	if err != nil {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return int64(ms.Sys)
	}
	defer f.Close()
	var size, res int64
	if _, err := fmt.Fscan(bufio.NewReader(f), &size, &res); err != nil {
		return 0
	}
	return res * int64(os.Getpagesize())
}

func humanRSS() string { return fmt.Sprintf("%.1f MiB", float64(rss())/(1<<20)) }

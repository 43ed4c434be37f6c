package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// flushEvery is how often a run's output reaches its destination while
// the script runs.
const flushEvery = 100 * time.Millisecond

// stream is the output of allocviz run as the script writes it: buffered,
// and flushed at least every flushEvery and when it is closed, so a run
// that is killed keeps what it printed. It is safe for use by several goroutines (the script's, the flusher, a
// signal handler).
type stream struct {
	mu     sync.Mutex
	bw     *bufio.Writer
	dirty  bool  // written since the last flush
	err    error // the first write or flush error
	closed bool
	stop   chan struct{}
	wg     sync.WaitGroup
}

func newStream(w io.Writer) *stream {
	s := &stream{bw: bufio.NewWriterSize(w, 64<<10), stop: make(chan struct{})}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		tick := time.NewTicker(flushEvery)
		defer tick.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-tick.C:
				s.Flush()
			}
		}
	}()
	return s
}

// Printf writes formatted output.
func (s *stream) Printf(format string, args ...any) {
	s.Write(func(w io.Writer) error {
		_, err := fmt.Fprintf(w, format, args...)
		return err
	})
}

// WriteBytes writes p.
func (s *stream) WriteBytes(p []byte) {
	s.Write(func(w io.Writer) error {
		_, err := w.Write(p)
		return err
	})
}

// Write calls write with the stream's writer, under its lock.
func (s *stream) Write(write func(w io.Writer) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if err := write(s.bw); err != nil && s.err == nil {
		s.err = err
	}
	s.dirty = true
}

// Flush sends what was written on.
func (s *stream) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.flushLocked()
}

// flushLocked flushes; s.mu must be held.
func (s *stream) flushLocked() error {
	if s.dirty {
		if err := s.bw.Flush(); err != nil && s.err == nil {
			s.err = err
		}
		s.dirty = false
	}
	return s.err
}

// Close flushes and stops the flusher. Later writes are dropped. It is
// idempotent and returns the first error the stream met.
func (s *stream) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return s.err
	}
	err := s.flushLocked()
	s.closed = true
	s.mu.Unlock()
	close(s.stop)
	s.wg.Wait()
	return err
}

// signalError is the cause of a run ended by a signal.
type signalError struct{ sig syscall.Signal }

func (e signalError) Error() string { return "interrupted by " + signalName(e.sig) }

// exitCode is the status a shell expects of a process a signal ended.
func (e signalError) exitCode() int { return 128 + int(e.sig) }

// signalName is the signal's name as kill -l prints it.
func signalName(sig syscall.Signal) string {
	switch sig {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGHUP:
		return "SIGHUP"
	}
	return sig.String()
}

// stopSignals are the signals that end a run.
var stopSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP}

// onSignal calls stop, once, with the first of stopSignals the process
// gets until cancel is called. cancel returns the signal's error, nil if
// none came.
func onSignal(stop func(signalError)) (cancel func() *signalError) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, stopSignals...)
	done := make(chan struct{})
	var got *signalError
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case sig := <-ch:
			e := signalError{sig.(syscall.Signal)}
			got = &e
			stop(e)
		case <-done:
		}
	}()
	return func() *signalError {
		signal.Stop(ch)
		close(done)
		wg.Wait()
		return got
	}
}

// runContext returns a context for a run that a signal cancels, with
// signalError as its cause. If the run has not returned within a second
// of the signal (a builtin that does not stop), backstop is called and
// the process exits with the signal's status. finish ends the watch and
// returns the signal that came, if any.
func runContext(backstop func(signalError)) (ctx context.Context, finish func() *signalError) {
	ctx, cancel := context.WithCancelCause(context.Background())
	returned := make(chan struct{})
	stop := onSignal(func(e signalError) {
		cancel(e)
		go func() {
			select {
			case <-returned:
			case <-time.After(time.Second):
				backstop(e)
				os.Exit(e.exitCode())
			}
		}()
	})
	return ctx, func() *signalError {
		close(returned)
		got := stop()
		cancel(nil)
		return got
	}
}

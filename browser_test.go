package main

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"
)

// A headless Chromium driven over the DevTools protocol on a pipe
// (--remote-debugging-pipe: JSON messages ended by a NUL byte on file
// descriptors 3 and 4), so the test needs nothing beyond the browser.

type browser struct {
	cmd      *exec.Cmd
	in       *os.File // our end of the browser's fd 3
	out      *bufio.Reader
	mu       sync.Mutex
	nextID   int
	session  string
	problems []string // console errors and exceptions seen
	replies  map[int]chan cdpMsg
	events   chan cdpMsg
	done     chan struct{}
}

type cdpMsg struct {
	ID        int             `json:"id,omitempty"`
	Method    string          `json:"method,omitempty"`
	Params    json.RawMessage `json:"params,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     *struct{ Message string }
	SessionID string `json:"sessionId,omitempty"`
}

// chromiumPath finds the browser, or "".
func chromiumPath() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// startBrowser starts headless Chromium with a window of w x h, or skips
// the test saying why it cannot.
func startBrowser(t *testing.T, w, h int) *browser {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		t.Skip("no Chromium on this machine (apt-get install chromium; .ci/run installs it): the HTML export is not tested in a browser here")
	}
	toBrowser, ourIn, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	ourOut, fromBrowser, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	// The profile is the browser's scratch, not the test's: its helper
	// processes may still be leaving it as the test ends, so it is
	// removed best effort rather than by t.TempDir, whose cleanup fails
	// the test when something writes into it meanwhile.
	profile, err := os.MkdirTemp("", "allocviz-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path, "--headless=new", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu",
		"--no-first-run", "--no-default-browser-check", "--hide-scrollbars", "--disable-extensions",
		fmt.Sprintf("--window-size=%d,%d", w, h), "--user-data-dir="+profile, "about:blank")
	cmd.ExtraFiles = []*os.File{toBrowser, fromBrowser}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // its helpers end with it
	if err := cmd.Start(); err != nil {
		os.RemoveAll(profile)
		t.Skipf("Chromium (%s) does not start here: %v", path, err)
	}
	toBrowser.Close()
	fromBrowser.Close()
	b := &browser{cmd: cmd, in: ourIn, out: bufio.NewReader(ourOut), replies: map[int]chan cdpMsg{},
		events: make(chan cdpMsg, 1024), done: make(chan struct{})}
	go b.read()
	t.Cleanup(func() {
		// Close the browser as a user would, so that it and its helper
		// processes stop; then end whatever is left of its process group.
		b.call("", "Browser.close", nil, nil)
		b.in.Close()
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
		}
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
		ourOut.Close()
		os.RemoveAll(profile)
	})
	var target struct{ TargetID string }
	if err := b.call("", "Target.createTarget", map[string]any{"url": "about:blank"}, &target); err != nil {
		t.Skipf("Chromium does not answer on its DevTools pipe here: %v", err)
	}
	var attached struct{ SessionID string }
	if err := b.call("", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &attached); err != nil {
		t.Fatal(err)
	}
	b.session = attached.SessionID
	for _, m := range []string{"Runtime.enable", "Log.enable", "Page.enable"} {
		if err := b.call(b.session, m, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

func (b *browser) read() {
	defer close(b.done)
	for {
		line, err := b.out.ReadBytes(0)
		if err != nil {
			return
		}
		var m cdpMsg
		if json.Unmarshal(line[:len(line)-1], &m) != nil {
			continue
		}
		if m.ID != 0 {
			b.mu.Lock()
			ch := b.replies[m.ID]
			delete(b.replies, m.ID)
			b.mu.Unlock()
			if ch != nil {
				ch <- m
			}
			continue
		}
		select {
		case b.events <- m:
		default: // nobody reads this many events: drop
		}
	}
}

// call sends a command and waits for its answer (30 s at most).
func (b *browser) call(session, method string, params any, result any) error {
	b.mu.Lock()
	b.nextID++
	id := b.nextID
	ch := make(chan cdpMsg, 1)
	b.replies[id] = ch
	b.mu.Unlock()
	msg, err := json.Marshal(map[string]any{"id": id, "method": method, "params": params, "sessionId": session})
	if err != nil {
		return err
	}
	if session == "" {
		msg, _ = json.Marshal(map[string]any{"id": id, "method": method, "params": params})
	}
	if _, err := b.in.Write(append(msg, 0)); err != nil {
		return err
	}
	select {
	case m := <-ch:
		if m.Error != nil {
			return fmt.Errorf("%s: %s", method, m.Error.Message)
		}
		if result != nil {
			return json.Unmarshal(m.Result, result)
		}
		return nil
	case <-b.done:
		return fmt.Errorf("%s: the browser went away", method)
	case <-time.After(30 * time.Second):
		return fmt.Errorf("%s: no answer in 30 s", method)
	}
}

// eval evaluates a JavaScript expression in the page and decodes its value.
func (b *browser) eval(t *testing.T, expr string, v any) {
	t.Helper()
	var r struct {
		Result           struct{ Value json.RawMessage }
		ExceptionDetails *struct{ Text string }
	}
	if err := b.call(b.session, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true}, &r); err != nil {
		t.Fatal(err)
	}
	if r.ExceptionDetails != nil {
		t.Fatalf("%s: %s", expr, r.ExceptionDetails.Text)
	}
	if err := json.Unmarshal(r.Result.Value, v); err != nil {
		t.Fatalf("%s: %s: %v", expr, r.Result.Value, err)
	}
}

// key presses a key as a user does: key down and up through the browser's
// input pipeline.
func (b *browser) key(t *testing.T, key, code string, keyCode int) {
	t.Helper()
	for _, typ := range []string{"keyDown", "keyUp"} {
		p := map[string]any{"type": typ, "key": key, "code": code, "windowsVirtualKeyCode": keyCode}
		if typ == "keyDown" && len(key) == 1 {
			p["text"] = key
		}
		if err := b.call(b.session, "Input.dispatchKeyEvent", p, nil); err != nil {
			t.Fatal(err)
		}
	}
}

// screenshot returns a PNG of the page.
func (b *browser) screenshot(t *testing.T) []byte {
	t.Helper()
	var r struct{ Data string }
	if err := b.call(b.session, "Page.captureScreenshot", map[string]any{"format": "png"}, &r); err != nil {
		t.Fatal(err)
	}
	png, err := base64.StdEncoding.DecodeString(r.Data)
	if err != nil {
		t.Fatal(err)
	}
	return png
}

// navigate opens url and waits for its load event.
func (b *browser) navigate(t *testing.T, url string) {
	t.Helper()
	if err := b.call(b.session, "Page.navigate", map[string]any{"url": url}, nil); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(30 * time.Second)
	for {
		select {
		case m := <-b.events:
			b.note(m)
			if m.Method == "Page.loadEventFired" {
				return
			}
		case <-deadline:
			t.Fatal("the page did not load in 30 s")
		}
	}
}

// note keeps an event's console error or exception.
func (b *browser) note(m cdpMsg) {
	var out []string
	switch m.Method {
	case "Runtime.exceptionThrown":
		out = append(out, "exception: "+string(m.Params))
	case "Runtime.consoleAPICalled":
		var p struct{ Type string }
		json.Unmarshal(m.Params, &p)
		if p.Type == "error" || p.Type == "assert" {
			out = append(out, "console."+p.Type+": "+string(m.Params))
		}
	case "Log.entryAdded":
		var p struct {
			Entry struct{ Level, Text, URL string }
		}
		json.Unmarshal(m.Params, &p)
		if p.Entry.Level == "error" {
			out = append(out, "log: "+p.Entry.Text+" "+p.Entry.URL)
		}
	}
	b.problems = append(b.problems, out...)
}

// errors returns the console errors and exceptions seen so far.
func (b *browser) errors() []string {
	for {
		select {
		case m := <-b.events:
			b.note(m)
		default:
			return b.problems
		}
	}
}

// click clicks the middle of the element a CSS selector finds, at a
// fraction of its width.
func (b *browser) click(t *testing.T, selector string, fx float64) {
	t.Helper()
	var r struct{ X, Y, W, H float64 }
	b.eval(t, fmt.Sprintf(`(() => { const r = document.querySelector(%q).getBoundingClientRect(); return {X: r.left, Y: r.top, W: r.width, H: r.height}; })()`, selector), &r)
	x, y := r.X+fx*r.W, r.Y+r.H/2
	for _, typ := range []string{"mousePressed", "mouseReleased"} {
		if err := b.call(b.session, "Input.dispatchMouseEvent", map[string]any{"type": typ, "x": x, "y": y, "button": "left", "clickCount": 1}, nil); err != nil {
			t.Fatal(err)
		}
	}
}

package ui

import (
	"errors"
	"fmt"

	"github.com/allocviz/allocviz/allocator"
	"github.com/allocviz/allocviz/heapview"
	"github.com/allocviz/allocviz/scripts"
)

// source is what the interface shows: a scripting session (the machine
// and the steps it took) and the heapview model rebuilt from its events,
// with the cursor on the step shown. It belongs to the event loop; the
// only exception is the rebuilder, see there.
type source struct {
	sess   *scripts.Session
	hv     *heapview.Model
	runErr error // the script's error when it was opened, nil if it ran to its end
}

// openSource runs scenario or script ref on a fresh machine and builds the
// model of what it did. A script that fails part-way still opens, showing
// the steps before the error (runErr).
func openSource(ref string, opts scripts.Options) (*source, error) {
	sess, err := scripts.Run(ref, opts)
	if sess == nil {
		return nil, err
	}
	s, herr := newSource(sess)
	if herr != nil {
		sess.Close()
		return nil, herr
	}
	s.runErr = err
	return s, nil
}

// newSource builds the model of sess's events so far.
func newSource(sess *scripts.Session) (*source, error) {
	hv, err := heapview.New(sess.Log())
	if hv == nil {
		return nil, err
	}
	// Anomalies (events heapview could not apply) are shown, not fatal.
	return &source{sess: sess, hv: hv}, nil
}

// steps is the number of the last step.
func (s *source) steps() int { return s.hv.Steps() }

// seek puts the model's cursor on step n.
func (s *source) seek(n int) {
	// Seek fails only for steps that do not exist; callers clamp.
	_ = s.hv.Seek(n)
}

// exec runs stmt as new steps at the end of the session and hands the new
// events to the model.
func (s *source) exec(stmt string) (string, error) {
	v, err := s.sess.Exec(stmt)
	_ = s.hv.Sync() // anomalies are shown, not fatal
	result := ""
	if v != nil && v.String() != "None" {
		result = v.String()
	}
	return result, err
}

// rebuilder is what a command needs to rebuild the session up to a step
// off the event loop. Session.Rebuild only reads the old session (its
// recorded inputs and options), and while a rebuild is under way Update
// runs nothing on the old session, so the command's reads race with
// nothing.
type rebuilder struct {
	sess *scripts.Session
	step int
}

func (s *source) rebuilder(step int) rebuilder { return rebuilder{sess: s.sess, step: step} }

// rebuild makes a new source in the state of step rb.step.
func (rb rebuilder) rebuild() (*source, error) {
	ns, err := rb.sess.Rebuild(rb.step)
	if err != nil {
		return nil, err
	}
	src, err := newSource(ns)
	if err != nil {
		ns.Close()
		return nil, err
	}
	return src, nil
}

// close releases the machine.
func (s *source) close() {
	if s != nil {
		s.sess.Close()
	}
}

// machineSummary describes the machine and its free memory at the step
// shown, for the status bar: "64 MiB · 4 KiB pages · 4 cpus · 6.18 ·
// free 61.2 MiB", or in short "64 MiB · 4 KiB · 4 cpus · 61.2 MiB free".
func (s *source) machineSummary(short bool) string {
	cfg := s.sess.Settings().Config
	t := s.hv.Totals()
	free := t.PagesByOwner[allocator.OwnerFree] * s.hv.PageSize()
	if short {
		return fmt.Sprintf("%s · %s · %d cpus · %s free", allocator.FormatBytes(uint64(cfg.RAM)),
			allocator.FormatBytes(uint64(cfg.PageSize)), cfg.CPUs, humanBytes(free))
	}
	return fmt.Sprintf("%s · %s pages · %d cpus · %s · free %s",
		allocator.FormatBytes(uint64(cfg.RAM)), allocator.FormatBytes(uint64(cfg.PageSize)),
		cfg.CPUs, cfg.Profile, humanBytes(free))
}

// humanBytes prints a byte count with one decimal: "61.2 MiB".
func humanBytes(n uint64) string {
	switch {
	case n >= allocator.GiB:
		return fmt.Sprintf("%.1f GiB", float64(n)/allocator.GiB)
	case n >= allocator.MiB:
		return fmt.Sprintf("%.1f MiB", float64(n)/allocator.MiB)
	case n >= allocator.KiB:
		return fmt.Sprintf("%.1f KiB", float64(n)/allocator.KiB)
	}
	return fmt.Sprintf("%d B", n)
}

// bundledScenarios lists the scenarios the picker offers.
func bundledScenarios() []scenarioItem {
	all, err := scripts.Scenarios()
	if err != nil {
		return nil
	}
	out := make([]scenarioItem, 0, len(all))
	for _, sc := range all {
		out = append(out, scenarioItem{name: sc.Name, desc: sc.Description})
	}
	return out
}

// scriptError returns the positioned script error in err, if any.
func scriptError(err error) (*scripts.Error, bool) {
	var se *scripts.Error
	ok := errors.As(err, &se)
	return se, ok
}

package scripts

import (
	"fmt"

	"github.com/allocviz/allocviz/allocator"
	"go.starlark.net/starlark"
)

// faultGroup is fault injection (allocator/faultinject.go): failslab,
// fail_page_alloc, fail_nth and slab_failslab, the knobs a kernel tester
// writes under /sys/kernel/debug/failslab/, /sys/kernel/debug/
// fail_page_alloc/, /proc/self/fail-nth and /sys/kernel/slab/<cache>/
// failslab.
//
// A call sets every knob of its capability: the ones it does not name
// take the builtin's defaults, which are those of the kernel's own
// example scripts (Documentation/fault-injection): probability 100,
// interval 1, times 1, space 0, verbose 2, and ignore-gfp-wait N, so that
// failslab() alone makes exactly the next slab allocation fail, sleeping
// or not. The boot options (--failslab=, --fail-page-alloc=) keep the
// kernel's boot defaults instead, ignore-gfp-wait Y among them.
func faultGroup() Group {
	return Group{
		Name: "fault",
		Builtins: []Builtin{
			{Name: "failslab", Step: true, Fn: builtinFailslab,
				Doc: "failslab(probability=100, interval=1, times=1, space=0, verbose=2, ignore_gfp_wait=False, cache_filter=False, task_filter=False): set failslab's knobs; failslab(probability=0) turns it off"},
			{Name: "fail_page_alloc", Step: true, Fn: builtinFailPageAlloc,
				Doc: "fail_page_alloc(probability=100, interval=1, times=1, space=0, verbose=2, ignore_gfp_wait=False, ignore_gfp_highmem=True, min_order=1, task_filter=False): set fail_page_alloc's knobs"},
			{Name: "fail_nth", Step: true, Fn: builtinFailNth,
				Doc: "fail_nth(n): /proc/self/fail-nth: the n-th allocation from now that reaches fault injection fails; 0 turns it off"},
			{Name: "make_it_fail", Step: true, Fn: builtinMakeItFail,
				Doc: "make_it_fail(on=True): /proc/self/make-it-fail, which task_filter=True requires"},
			{Name: "slab_failslab", Step: true, Fn: builtinSlabFailslab,
				Doc: "slab_failslab(cache, on=True): /sys/kernel/slab/<cache>/failslab, which cache_filter=True requires"},
			{Name: "fault_attrs", Fn: builtinFaultAttrs,
				Doc: "fault_attrs(): failslab's and fail_page_alloc's knobs as they are now (times counts down), and fail_nth"},
		},
	}
}

// faultKnobs unpacks the knobs both capabilities share, starting from the
// builtin defaults, plus the capability's own (extra, name/pointer pairs).
func faultKnobs(c *Call, a *allocator.FaultAttr, extra ...any) error {
	*a = allocator.FaultAttr{Probability: 100, Interval: 1, Times: 1, Verbose: 2}
	var prob, interval, times, space, verbose int = 100, 1, 1, 0, 2
	pairs := []any{"probability?", &prob, "interval?", &interval, "times?", &times, "space?", &space,
		"verbose?", &verbose, "task_filter?", &a.TaskFilter}
	if err := c.UnpackArgs(append(pairs, extra...)...); err != nil {
		return err
	}
	if len(c.Args) > 0 {
		return c.Errorf("takes keyword arguments only, as in %s(probability=100, times=1)", c.Name)
	}
	switch {
	case prob < 0:
		return c.Errorf("probability %d is negative", prob)
	case interval < 1:
		return c.Errorf("interval %d: give 1 (every call) or more", interval)
	}
	a.Probability, a.Interval, a.Times, a.Space, a.Verbose = uint64(prob), uint64(interval), times, space, verbose
	if err := a.Check(); err != nil {
		return c.Errorf("%v", err)
	}
	return nil
}

func builtinFailslab(c *Call) (starlark.Value, error) {
	f := allocator.FailSlab{}
	if err := faultKnobs(c, &f.FaultAttr, "ignore_gfp_wait?", &f.IgnoreGFPWait, "cache_filter?", &f.CacheFilter); err != nil {
		return nil, err
	}
	if err := c.Begin(); err != nil {
		return nil, err
	}
	c.SetOp(fmt.Sprintf("failslab(probability=%d, times=%d)", f.Probability, f.Times))
	if err := c.Machine().SetFailSlab(f); err != nil {
		return nil, c.Errorf("%v", err)
	}
	return starlark.None, nil
}

func builtinFailPageAlloc(c *Call) (starlark.Value, error) {
	f := allocator.FailPageAlloc{IgnoreGFPHighmem: true, MinOrder: 1}
	if err := faultKnobs(c, &f.FaultAttr, "ignore_gfp_wait?", &f.IgnoreGFPWait, "ignore_gfp_highmem?", &f.IgnoreGFPHighmem,
		"min_order?", &f.MinOrder); err != nil {
		return nil, err
	}
	if f.MinOrder < 0 || f.MinOrder > allocator.MaxPageOrder+1 {
		return nil, c.Errorf("min_order %d is out of range (0 to %d)", f.MinOrder, allocator.MaxPageOrder+1)
	}
	if err := c.Begin(); err != nil {
		return nil, err
	}
	c.SetOp(fmt.Sprintf("fail_page_alloc(probability=%d, times=%d, min_order=%d)", f.Probability, f.Times, f.MinOrder))
	if err := c.Machine().SetFailPageAlloc(f); err != nil {
		return nil, c.Errorf("%v", err)
	}
	return starlark.None, nil
}

func builtinFailNth(c *Call) (starlark.Value, error) {
	var n int
	if err := c.UnpackArgs("n", &n); err != nil {
		return nil, err
	}
	if n < 0 {
		return nil, c.Errorf("fail-nth %d is negative", n)
	}
	if err := c.Begin(); err != nil {
		return nil, err
	}
	c.SetOp(fmt.Sprintf("fail_nth(%d)", n))
	if err := c.Machine().SetFailNth(n); err != nil {
		return nil, c.Errorf("%v", err)
	}
	return starlark.None, nil
}

func builtinMakeItFail(c *Call) (starlark.Value, error) {
	on := true
	if err := c.Unpack("on?", &on); err != nil {
		return nil, err
	}
	c.SetOp(fmt.Sprintf("make_it_fail(%v)", on))
	c.Machine().SetMakeItFail(on)
	return starlark.None, nil
}

func builtinSlabFailslab(c *Call) (starlark.Value, error) {
	var k cacheArg
	on := true
	if err := c.UnpackArgs("cache", &k, "on?", &on); err != nil {
		return nil, err
	}
	if k.k.dead > 0 {
		return nil, c.Errorf("cache %s was destroyed in step %d", k.k, k.k.dead)
	}
	if err := c.Begin(); err != nil {
		return nil, err
	}
	c.SetOp(fmt.Sprintf("slab_failslab(%s, %v)", k.k, on))
	if err := c.Machine().SetCacheFailslab(k.k.kc, on); err != nil {
		return nil, c.Errorf("%v", err)
	}
	return starlark.None, nil
}

// builtinFaultAttrs returns the knobs as a dict of dicts, named as the
// debugfs files are (with _ for -).
func builtinFaultAttrs(c *Call) (starlark.Value, error) {
	if err := c.Unpack(); err != nil {
		return nil, err
	}
	m := c.Machine()
	type kv struct {
		k string
		v starlark.Value
	}
	dict := func(a allocator.FaultAttr, extra ...kv) *starlark.Dict {
		d := starlark.NewDict(12)
		for _, e := range append([]kv{{"probability", starlark.MakeUint64(a.Probability)},
			{"interval", starlark.MakeUint64(max(a.Interval, 1))}, {"times", starlark.MakeInt(a.Times)},
			{"space", starlark.MakeInt(a.Space)}, {"verbose", starlark.MakeInt(a.Verbose)},
			{"task_filter", starlark.Bool(a.TaskFilter)}}, extra...) {
			d.SetKey(starlark.String(e.k), e.v)
		}
		return d
	}
	fs, fp := m.FailSlab(), m.FailPageAlloc()
	out := starlark.NewDict(3)
	out.SetKey(starlark.String("failslab"), dict(fs.FaultAttr,
		kv{"ignore_gfp_wait", starlark.Bool(fs.IgnoreGFPWait)}, kv{"cache_filter", starlark.Bool(fs.CacheFilter)}))
	out.SetKey(starlark.String("fail_page_alloc"), dict(fp.FaultAttr,
		kv{"ignore_gfp_wait", starlark.Bool(fp.IgnoreGFPWait)}, kv{"ignore_gfp_highmem", starlark.Bool(fp.IgnoreGFPHighmem)},
		kv{"min_order", starlark.MakeInt(fp.MinOrder)}))
	out.SetKey(starlark.String("fail_nth"), starlark.MakeInt(m.FailNth()))
	return out, nil
}

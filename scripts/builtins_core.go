package scripts

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/allocviz/allocviz/allocator"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

// coreGroup is the machine and the script's own voice: config, cpu, say,
// check, bookmark, machine.
func coreGroup() Group {
	return Group{
		Name: "core",
		Builtins: []Builtin{
			{Name: "config", Fn: builtinConfig,
				Doc: "config(ram=, cpus=, possible_cpus=, page_size=, profile=, max_steps=): configure the machine; only before the first step"},
			{Name: "cpu", Step: true, Fn: builtinCPU,
				Doc: "cpu(n): run the following steps on CPU n"},
			{Name: "say", Step: true, Fn: builtinSay,
				Doc: "say(text): narrate; the text is a step of its own"},
			{Name: "check", Step: true, Fn: builtinCheck,
				Doc: "check(cond, message=None): record whether cond holds; a failure does not stop the script but fails the run"},
			{Name: "bookmark", Fn: builtinBookmark,
				Doc: "bookmark(name): mark the next step for the interface, where ' and b cycle through bookmarks; not a step"},
			{Name: "machine", Fn: builtinMachine,
				Doc: "machine(): the configuration: ram, page_size, cpus, possible_cpus, profile, mobility_grouping, pageblock_order, nr_pages, reserved_pages, cpu, max_steps"},
		},
		ConfigKeys: []ConfigKey{
			{Name: "ram", Doc: "bytes of RAM: an int or a size such as \"64M\" (2 MiB to 16 GiB)",
				Set: func(s *Settings, v starlark.Value) error {
					n, err := sizeValue(v)
					if err == nil && n <= 0 {
						err = fmt.Errorf("%d is out of range (allowed: %s to %s)", n,
							allocator.FormatBytes(allocator.MinRAM), allocator.FormatBytes(allocator.MaxRAM))
					}
					s.Config.RAM = n
					return err
				}},
			{Name: "page_size", Doc: "PAGE_SIZE: 4096, 16384 or 65536, or \"4K\", \"16K\", \"64K\"",
				Set: func(s *Settings, v starlark.Value) error {
					n, err := sizeValue(v)
					if err == nil && n <= 0 {
						err = fmt.Errorf("%d is not supported (allowed: 4096, 16384, 65536)", n)
					}
					s.Config.PageSize = int(n)
					return err
				}},
			{Name: "cpus", Doc: "number of CPUs, 1 to 256",
				Set: func(s *Settings, v starlark.Value) error {
					if err := starlark.AsInt(v, &s.Config.CPUs); err != nil {
						return err
					}
					if s.Config.CPUs < 1 {
						return fmt.Errorf("%d is out of range (allowed: 1 to %d)", s.Config.CPUs, allocator.MaxCPUs)
					}
					return nil
				}},
			{Name: "possible_cpus", Doc: "nr_cpu_ids, up to 8192 (at least cpus); with one present CPU SLUB's calculate_order() uses it",
				Set: func(s *Settings, v starlark.Value) error {
					if err := starlark.AsInt(v, &s.Config.PossibleCPUs); err != nil {
						return err
					}
					if s.Config.PossibleCPUs < 1 {
						return fmt.Errorf("%d is out of range (allowed: 1 to %d)", s.Config.PossibleCPUs, allocator.MaxPossibleCPUs)
					}
					return nil
				}},
			{Name: "profile", Doc: "kernel profile: \"6.18\" (latest) or \"6.12\"",
				Set: func(s *Settings, v starlark.Value) error {
					str, ok := starlark.AsString(v)
					if !ok {
						return fmt.Errorf("got %s, want string such as \"6.12\"", v.Type())
					}
					p, err := allocator.ParseProfile(str)
					if err != nil {
						return fmt.Errorf("%q is not a kernel profile (allowed: 6.18, 6.12)", str)
					}
					s.Config.Profile = p
					return nil
				}},
			{Name: "max_steps", Doc: "allocator steps allowed per run, 1 to 2^40",
				Set: func(s *Settings, v starlark.Value) error {
					var n int
					if err := starlark.AsInt(v, &n); err != nil {
						return err
					}
					if err := checkMaxSteps(n); err != nil {
						return err
					}
					s.MaxSteps = n
					return nil
				}},
		},
	}
}

// sizeValue accepts an int of bytes or a size string ("64M").
func sizeValue(v starlark.Value) (int64, error) {
	if str, ok := starlark.AsString(v); ok {
		return ParseSize(str)
	}
	var n int64
	if err := starlark.AsInt(v, &n); err != nil {
		return 0, fmt.Errorf("got %s, want int or size string such as \"64M\"", v.Type())
	}
	return n, nil
}

// builtinConfig replaces the machine with one configured as asked. It is
// only allowed before the first step: a machine cannot change under
// allocations it has made.
func builtinConfig(c *Call) (starlark.Value, error) {
	s := c.Session
	if len(c.Args) > 0 {
		return nil, c.Errorf("takes keyword arguments only, as in config(ram=\"64M\", page_size=\"16K\")")
	}
	if s.NumSteps() > 0 {
		first := s.Step(1)
		return nil, c.Errorf("must come before the first step, at the top of the script (step 1, %s at %s, already ran)", first.Call, first.Pos)
	}
	set := s.settings
	for _, kw := range c.Kwargs {
		name := string(kw[0].(starlark.String))
		key, ok := s.configKeys[name]
		if !ok {
			known := make([]string, 0, len(s.configKeys))
			for k := range s.configKeys {
				known = append(known, k)
			}
			slices.Sort(known)
			return nil, c.Errorf("unknown setting %q (known: %s)", name, strings.Join(known, ", "))
		}
		if err := key.Set(&set, kw[1]); err != nil {
			return nil, c.Errorf("%s: %v", name, err)
		}
	}
	if err := s.reconfigure(set); err != nil {
		return nil, err // allocator errors already begin "config: "
	}
	for _, kw := range c.Kwargs {
		if name := string(kw[0].(starlark.String)); !slices.Contains(s.config, name) {
			s.config = append(s.config, name)
		}
	}
	return starlark.None, nil
}

// Bounds of bookmark(): a loop cannot make them without end.
const (
	maxBookmarks    = 10000
	maxBookmarkName = 80
)

// builtinBookmark marks the step that comes next, under a name.
func builtinBookmark(c *Call) (starlark.Value, error) {
	var name string
	if err := c.Unpack("name", &name); err != nil {
		return nil, err
	}
	s := c.Session
	switch {
	case strings.TrimSpace(name) == "":
		return nil, c.Errorf("the name is empty")
	case utf8.RuneCountInString(name) > maxBookmarkName:
		return nil, c.Errorf("the name is %d characters long (at most %d)", utf8.RuneCountInString(name), maxBookmarkName)
	case len(s.marks) >= maxBookmarks:
		return nil, c.Errorf("too many bookmarks (at most %d)", maxBookmarks)
	}
	s.marks = append(s.marks, Bookmark{Name: name, Step: s.NumSteps() + 1, Pos: s.site(c.Thread, "bookmark").pos})
	return starlark.None, nil
}

func builtinCPU(c *Call) (starlark.Value, error) {
	var n cpuArg
	if err := c.Unpack("n", &n); err != nil {
		return nil, err
	}
	c.SetOp(fmt.Sprintf("cpu(%d)", n.n))
	if err := c.Machine().SetCPU(n.n); err != nil {
		return nil, c.Errorf("%v", err)
	}
	return starlark.None, nil
}

// maxSayText bounds the text say and check show for a value that is not
// a string.
const maxSayText = 64 << 10

func builtinSay(c *Call) (starlark.Value, error) {
	var v starlark.Value
	if err := c.Unpack("text", &v); err != nil {
		return nil, err
	}
	text, ok := starlark.AsString(v)
	if !ok {
		text = Display(v, maxSayText)
	}
	c.SetOp("say")
	c.Machine().Say(text)
	return starlark.None, nil
}

func builtinCheck(c *Call) (starlark.Value, error) {
	var cond, msg starlark.Value = starlark.False, starlark.None
	if err := c.Unpack("cond", &cond, "message?", &msg); err != nil {
		return nil, err
	}
	s := c.Session
	st := s.Step(c.Step())
	text, ok := starlark.AsString(msg)
	switch {
	case msg == starlark.None:
		text = st.Call
	case !ok:
		text = Display(msg, maxSayText)
	}
	pass := bool(cond.Truth())
	c.SetOp("check")
	c.Machine().Check(pass, text)
	if pass {
		c.SetResult("ok")
	} else {
		c.SetResult("FAILED")
		s.failures = append(s.failures, Failure{Step: st.N, Pos: st.Pos, Msg: text})
	}
	return starlark.Bool(pass), nil
}

func builtinMachine(c *Call) (starlark.Value, error) {
	if err := c.Unpack(); err != nil {
		return nil, err
	}
	m := c.Machine()
	cfg := m.Config()
	return starlarkstruct.FromStringDict(starlark.String("machine"), starlark.StringDict{
		"ram":               starlark.MakeInt64(cfg.RAM),
		"page_size":         starlark.MakeUint64(m.PageSize()),
		"cpus":              starlark.MakeInt(cfg.CPUs),
		"possible_cpus":     starlark.MakeInt(cfg.PossibleCPUs),
		"mobility_grouping": starlark.Bool(m.MobilityGrouping()),
		"pageblock_order":   starlark.MakeInt(m.PageblockOrder()),
		"profile":           starlark.String(cfg.Profile.String()),
		"nr_pages":          starlark.MakeUint64(m.NrPages()),
		"reserved_pages":    starlark.MakeUint64(m.ReservedPages()),
		"cpu":               starlark.MakeInt(m.CPU()),
		"max_steps":         starlark.MakeInt(c.Session.settings.MaxSteps),
	}), nil
}

// gfpGroup predeclares every GFP flag and composite under its kernel name.
func gfpGroup() Group {
	consts := starlark.StringDict{}
	for _, n := range allocator.GFPNames() {
		consts[n.Name] = GFPValue(n.Value)
	}
	// gfp_types.h also spells the zone bits with underscores; the
	// tracepoint names (and String) are GFP_DMA and GFP_DMA32.
	consts["__GFP_DMA"] = GFPValue(allocator.GFPDMA)
	consts["__GFP_DMA32"] = GFPValue(allocator.GFPDMA32)
	return Group{Name: "gfp", Constants: consts}
}

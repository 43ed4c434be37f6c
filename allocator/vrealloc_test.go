package allocator

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// rng is a byte range [lo, hi) of the buffer vrealloc returns.
type rng struct{ lo, hi uint64 }

// vreallocWant is what one profile must do for a table row.
type vreallocWant struct {
	decision Decision
	moved    bool
	copied   uint64
	zero     []rng // must read as zero
	same     []rng // must still hold the pattern written before the call
}

func TestVreallocBothProfiles(t *testing.T) {
	const P = 4096
	fill := []rng{{0, 2 * P}}
	for _, tc := range []struct {
		name    string
		initial uint64 // first vmalloc; 0 starts from NULL
		pre     uint64 // an earlier vrealloc to this size, 0 for none
		preGFP  GFP
		size    uint64
		gfp     GFP
		latest  vreallocWant
		v612    vreallocWant
	}{
		{name: "NULL is vmalloc", size: 5000, gfp: GFPKernel,
			latest: vreallocWant{decision: DecisionNew}, v612: vreallocWant{decision: DecisionNew}},
		{name: "shrink keeps the tail", initial: 5000, size: 3000, gfp: GFPKernel,
			latest: vreallocWant{decision: DecisionShrunkInPlace, same: fill},
			v612:   vreallocWant{decision: DecisionShrunkInPlace, same: fill}},
		{name: "shrink with __GFP_ZERO", initial: 5000, size: 3000, gfp: GFPKernel | GFPZero,
			// 6.15+: only the cut part of the requested size; 6.12: all spare bytes.
			latest: vreallocWant{decision: DecisionShrunkInPlace, zero: []rng{{3000, 5000}}, same: []rng{{0, 3000}, {5000, 2 * P}}},
			v612:   vreallocWant{decision: DecisionShrunkInPlace, zero: []rng{{3000, 2 * P}}, same: []rng{{0, 3000}}}},
		{name: "grow inside the last page", initial: 5000, size: 8000, gfp: GFPKernel,
			latest: vreallocWant{decision: DecisionGrownInPlace, same: fill},
			v612:   vreallocWant{decision: DecisionGrownInPlace, same: fill}},
		{name: "grow inside the last page with __GFP_ZERO", initial: 5000, size: 8000, gfp: GFPKernel | GFPZero,
			// 6.15+ never zeroes on grow; 6.12 zeroes the spare bytes past the new size.
			latest: vreallocWant{decision: DecisionGrownInPlace, same: fill},
			v612:   vreallocWant{decision: DecisionGrownInPlace, zero: []rng{{8000, 2 * P}}, same: []rng{{0, 8000}}}},
		{name: "grow to exactly the area", initial: 5000, size: 2 * P, gfp: GFPKernel,
			latest: vreallocWant{decision: DecisionGrownInPlace, same: fill},
			v612:   vreallocWant{decision: DecisionGrownInPlace, same: fill}},
		{name: "grow past the area moves", initial: 5000, size: 2*P + 1, gfp: GFPKernel,
			// 6.15+ copies the 5000 requested bytes; 6.12 the whole old area.
			// The new pages were never written, so what was not copied reads 0.
			latest: vreallocWant{decision: DecisionMoved, moved: true, copied: 5000, same: []rng{{0, 5000}}, zero: []rng{{5000, 2*P + 1}}},
			v612:   vreallocWant{decision: DecisionMoved, moved: true, copied: 2 * P, same: fill}},
		{name: "shrink then grow back shows the old bytes", initial: 8000, pre: 100, preGFP: GFPKernel, size: 8000, gfp: GFPKernel,
			latest: vreallocWant{decision: DecisionGrownInPlace, same: fill},
			v612:   vreallocWant{decision: DecisionGrownInPlace, same: fill}},
		{name: "zeroing shrink then grow back", initial: 8000, pre: 100, preGFP: GFPKernel | GFPZero, size: 8000, gfp: GFPKernel,
			latest: vreallocWant{decision: DecisionGrownInPlace, zero: []rng{{100, 8000}}, same: []rng{{0, 100}, {8000, 2 * P}}},
			v612:   vreallocWant{decision: DecisionGrownInPlace, zero: []rng{{100, 2 * P}}, same: []rng{{0, 100}}}},
		{name: "size 0 frees", initial: 5000, size: 0, gfp: GFPKernel,
			latest: vreallocWant{decision: DecisionFreed}, v612: vreallocWant{decision: DecisionFreed}},
	} {
		for _, prof := range []Profile{ProfileLatest, Profile612} {
			t.Run(tc.name+"/"+prof.String(), func(t *testing.T) {
				want := tc.latest
				if prof == Profile612 {
					want = tc.v612
				}
				m, log := newVmTestMachine(t, Config{Profile: prof})
				var p Addr
				pattern := make([]byte, 2*P)
				for i := range pattern {
					pattern[i] = byte(i%251) + 1
				}
				if tc.initial > 0 {
					var err error
					if p, err = m.Vmalloc(tc.initial, GFPKernel); err != nil {
						t.Fatal(err)
					}
					// The whole area, spare bytes included, holds the pattern.
					if err := m.WriteAt(p, pattern); err != nil {
						t.Fatal(err)
					}
					if tc.pre > 0 {
						if q, err := m.Vrealloc(p, tc.pre, tc.preGFP); err != nil || q != p {
							t.Fatalf("pre-step vrealloc to %d: %v, %v", tc.pre, q, err)
						}
					}
				}
				free := m.IdlePages()
				n := log.Len()
				q, err := m.Vrealloc(p, tc.size, tc.gfp)
				if err != nil {
					t.Fatal(err)
				}
				reallocs := eventsOf(logEvents(log)[n:], EvRealloc)
				if len(reallocs) != 1 || ri(reallocs[0]) == nil {
					t.Fatalf("%d EvRealloc events, want 1", len(reallocs))
				}
				info := ri(reallocs[0])
				if info.Func != "vrealloc" || info.Decision != want.decision || info.New != q || info.NewSize != tc.size ||
					info.Copied != want.copied || reallocs[0].Text() == "" {
					t.Errorf("ReallocInfo %+v (%q), want decision %v, copied %d", *info, reallocs[0].Text(), want.decision, want.copied)
				}
				switch {
				case tc.size == 0:
					if q != 0 || len(m.Areas()) != 0 || m.IdlePages() != free+2 {
						t.Errorf("vrealloc(p, 0) = %v with %d areas left", q, len(m.Areas()))
					}
					checkAll(t, m)
					return
				case p == 0:
					if a, ok := m.AreaOf(q); !ok || a.Start != q || a.Requested != tc.size {
						t.Errorf("vrealloc(NULL, %d) = %v: %+v", tc.size, q, a)
					}
					checkAll(t, m)
					return
				}
				if moved := q != p; moved != want.moved {
					t.Fatalf("vrealloc(%v, %d) = %v: moved %v, want %v", p, tc.size, q, moved, want.moved)
				}
				a, ok := m.AreaOf(q)
				if !ok || a.Requested != tc.size {
					t.Errorf("area after vrealloc: %+v, want requested size %d", a, tc.size)
				}
				if want.moved {
					if _, ok := m.AreaOf(p); ok {
						t.Error("the old area is still live after a move")
					}
				}
				got := make([]byte, a.Usable(m.PageSize()))
				if err := m.ReadAt(q, got); err != nil {
					t.Fatal(err)
				}
				for _, r := range want.zero {
					for i := r.lo; i < r.hi; i++ {
						if got[i] != 0 {
							t.Fatalf("byte %d is %#x, want 0 (zeroed range %d-%d)", i, got[i], r.lo, r.hi)
						}
					}
				}
				for _, r := range want.same {
					for i := r.lo; i < r.hi; i++ {
						if got[i] != pattern[i] {
							t.Fatalf("byte %d is %#x, want the old %#x (kept range %d-%d)", i, got[i], pattern[i], r.lo, r.hi)
						}
					}
				}
				checkAll(t, m)
			})
		}
	}
}

func TestVreallocRefusals(t *testing.T) {
	for _, prof := range []Profile{ProfileLatest, Profile612} {
		t.Run(prof.String(), func(t *testing.T) {
			m, log := newVmTestMachine(t, Config{Profile: prof})
			page := m.PageSize()
			m.Vmalloc(1, GFPKernel)
			p, _ := m.Vmalloc(3000, GFPKernel) // at VMALLOC_START + 2 pages: 8 KiB aligned, not 16 KiB
			m.WriteAt(p, []byte("keep me"))
			state := m.Vmallocinfo()
			refused := func(name string, q Addr, err error, kind error, warn string) {
				t.Helper()
				if q != 0 || !errors.Is(err, kind) {
					t.Errorf("%s = %v, %v; want NULL and %v", name, q, err, kind)
				}
				if warn != "" && !hasWarn(logEvents(log), warn) {
					t.Errorf("%s: no warning %q", name, warn)
				}
				if last := eventsOf(logEvents(log), EvRealloc); warn != "" && (len(last) == 0 || ri(last[len(last)-1]).Decision != DecisionFailed) {
					t.Errorf("%s: no failed realloc decision", name)
				}
				got := make([]byte, 7)
				m.ReadAt(p, got)
				if string(got) != "keep me" || m.Vmallocinfo() != state {
					t.Errorf("%s changed the state", name)
				}
				checkAll(t, m)
			}
			bogus := p + Addr(page)
			q, err := m.Vrealloc(bogus, 100, GFPKernel)
			refused("vrealloc of a non-area", q, err, ErrBadAddress, fmt.Sprintf("Trying to vrealloc() nonexistent vm area (%016x)", uint64(bogus)))
			q, err = m.Vrealloc(p, 2*uint64(m.Config().RAM), GFPKernel)
			refused("vrealloc to twice RAM", q, err, ErrNoMemory, "exceeds total pages")
			if prof == Profile612 {
				q, err = m.VreallocAlign(p, 100, 4*page, GFPKernel)
				refused("vrealloc with 16 KiB alignment in 6.12", q, err, ErrBadSize, "")
				if len(eventsOf(logEvents(log), EvMisuse)) != 1 {
					t.Error("no misuse event for an alignment 6.12 cannot express")
				}
				return
			}
			q, err = m.VreallocAlign(p, 100, 4*page, GFPKernel)
			refused("vrealloc to a bigger alignment", q, err, ErrBadSize, "will not reallocate with a bigger alignment (0x4000)")
			n, err := m.VreallocAlign(0, 5000, 16*page, GFPKernel)
			if err != nil || uint64(n)%(16*page) != 0 {
				t.Errorf("VreallocAlign(NULL, 5000, 64 KiB) = %v, %v", n, err)
			}
			if q, err := m.VreallocAlign(n, 9000, 16*page, GFPKernel); err != nil || uint64(q)%(16*page) != 0 {
				t.Errorf("moving a 64 KiB-aligned area = %v, %v; the new area must keep the alignment", q, err)
			}
		})
	}
}

func TestVreallocRuleSentences(t *testing.T) {
	m, log := newVmTestMachine(t, Config{})
	p, _ := m.Vmalloc(5000, GFPKernel)
	m.Vrealloc(p, 100, GFPKernel|GFPZero)
	m.Vrealloc(p, 6000, GFPKernel)
	q, _ := m.Vrealloc(p, 9000, GFPKernel)
	m.Vrealloc(q, 0, GFPKernel)
	var texts []string
	for _, e := range eventsOf(logEvents(log), EvRealloc) {
		texts = append(texts, e.Text())
	}
	want := []string{
		"vrealloc: 100 bytes are no more than the 5000 requested, so the area stays in place; requested_size is now 100; bytes 100-4999 were zeroed because __GFP_ZERO asks for zeroed memory",
		"vrealloc: 6000 bytes fit the 8192 bytes already mapped, so the area grows in place from 100 without zeroing; requested_size is now 6000",
		fmt.Sprintf("vrealloc: 9000 bytes exceed the 8192 bytes mapped at %v: new area at %v, the 6000 requested bytes copied, the old area freed", p, q),
		fmt.Sprintf("vrealloc(%v, 0) frees the 12288-byte area and returns NULL", q),
	}
	if strings.Join(texts, "\n") != strings.Join(want, "\n") {
		t.Errorf("rules:\n%s\nwant:\n%s", strings.Join(texts, "\n"), strings.Join(want, "\n"))
	}
}

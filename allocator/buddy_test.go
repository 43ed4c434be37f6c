package allocator

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

func newTestMachine(t testing.TB, cfg Config) *Machine {
	t.Helper()
	m, err := NewMachine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Error(err)
		}
	})
	return m
}

func TestConfigErrorsNameFieldAndRange(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{PageSize: 8192}, "page_size 8192 is not supported (allowed: 4096, 16384, 65536)"},
		{Config{RAM: 1 * MiB}, "ram 1048576 is out of range (allowed: 2 MiB to 16 GiB)"},
		{Config{RAM: 3*MiB + 100}, "ram 3145828 is not a multiple of the page size 4096"},
		{Config{CPUs: 300}, "cpus 300 is out of range (allowed: 1 to 256)"},
		{Config{Profile: 7}, "profile 7 is not a kernel profile"},
		{Config{SlabDebug: "FQ"}, `slab_debug "FQ" has unknown flag 'Q'`},
	} {
		_, err := NewMachine(tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewMachine(%+v) error = %v, want it to contain %q", tc.cfg, err, tc.want)
		}
	}
}

func TestCloseIsIdempotent(t *testing.T) {
	m, err := NewMachine(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestBootState(t *testing.T) {
	m := newTestMachine(t, Config{})
	if m.NrPages() != 16384 || m.ReservedPages() != 256 {
		t.Fatalf("64 MiB of 4 KiB pages: %d pages, %d reserved; want 16384 and 256", m.NrPages(), m.ReservedPages())
	}
	// DMA (below 16 MiB): pfn 256..1023 is an order-8 and an order-9
	// block, 1024..4095 three of order 10; DMA32 the other 48 MiB.
	want := "Node 0, zone      DMA      0      0      0      0      0      0      0      0      1      1      3 \n" +
		"Node 0, zone    DMA32      0      0      0      0      0      0      0      0      0      0     12 \n"
	if got := m.Buddyinfo(); got != want {
		t.Errorf("Buddyinfo:\n got %q\nwant %q", got, want)
	}
	if err := m.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

// TestBuddyinfoFormatMatchesKernel parses the real /proc/buddyinfo files and
// checks that allocviz's line has the same shape: the kernel's printf of
// "Node %d, zone %8s " and eleven "%6lu ".
func TestBuddyinfoFormatMatchesKernel(t *testing.T) {
	files := testdataFiles(t, "buddyinfo-*.txt")
	shape := regexp.MustCompile(`^Node 0, zone +(DMA|DMA32|Normal) ( {0,5}\d{1,6} ){11}$`)
	m := newTestMachine(t, Config{RAM: 8 * GiB})
	var ours string
	for _, line := range strings.Split(strings.TrimSuffix(m.Buddyinfo(), "\n"), "\n") {
		if !shape.MatchString(line) {
			t.Fatalf("our line %q does not have the kernel's shape", line)
		}
		ours = line
	}
	for _, f := range files {
		data := readTestdata(t, f)
		for _, line := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
			// Some captures lost the trailing space; the kernel prints it.
			if !strings.HasSuffix(line, " ") {
				line += " "
			}
			if !shape.MatchString(line) {
				t.Errorf("%s: %q does not match the shape", f, line)
			}
			if len(line) != len(ours) && strings.Contains(line, "Normal") && !strings.Contains(line, "      ") {
				t.Errorf("%s: line length %d, ours %d", f, len(line), len(ours))
			}
		}
	}
}

func TestSplitAndMergeExplained(t *testing.T) {
	m := newTestMachine(t, Config{})
	log := &EventLog{}
	m.SetLog(log)
	boot := m.Buddyinfo()
	// Order 4 is above what the pcp lists hold, so it comes straight from
	// the buddy free lists: a movable allocation prefers DMA32, whose first
	// Movable block is the order-10 block at pfn 0x1000.
	a, err := m.AllocPages(4, GFPHighUserMovable)
	if err != nil {
		t.Fatal(err)
	}
	if pfn, _ := m.AddrPFN(a); pfn != 0x1000 {
		t.Fatalf("first order-4 block at pfn %#x, want 0x1000", pfn)
	}
	last := log.At(log.Len() - 1)
	want := "no free block of order 4; split the order-10 block at pfn 0x1000: upper halves to orders 9, 8, 7, 6, 5 and 4"
	if last.Kind() != EvPageAlloc || last.Text() != want {
		t.Fatalf("alloc event %v %q, want %q", last.Kind(), last.Text(), want)
	}
	splits := 0
	for _, e := range logEvents(log) {
		if e.Kind() == EvSplit {
			splits++
		}
	}
	if splits != 6 {
		t.Errorf("%d split events, want 6", splits)
	}
	b, _ := m.AllocPages(4, GFPHighUserMovable) // pfn 0x1010, the order-4 upper half
	if pfn, _ := m.AddrPFN(b); pfn != 0x1010 {
		t.Fatalf("second block at pfn %#x, want 0x1010", pfn)
	}
	if err := m.FreePages(a, 4); err != nil {
		t.Fatal(err)
	}
	if got := log.At(log.Len() - 1).Text(); !strings.Contains(got, "stays order 4") {
		t.Errorf("free with a busy buddy: %q", got)
	}
	n := log.Len()
	if err := m.FreePages(b, 4); err != nil {
		t.Fatal(err)
	}
	merges := 0
	for _, e := range logEvents(log)[n:] {
		if e.Kind() == EvMerge {
			merges++
		}
	}
	if merges != 6 {
		t.Errorf("%d merges after freeing both, want 6 (back to order 10)", merges)
	}
	if got := m.Buddyinfo(); got != boot {
		t.Errorf("after freeing everything: %q, want %q", got, boot)
	}
}

// TestPCPReturnsTheLastFreedPage is the per-CPU list: free a, then b, and
// the next allocation returns b, the most recently freed; neither merged
// with its buddy, and /proc/buddyinfo does not count them.
func TestPCPReturnsTheLastFreedPage(t *testing.T) {
	m := newTestMachine(t, Config{})
	log := &EventLog{}
	m.SetLog(log)
	a, _ := m.AllocPages(0, GFPKernel)
	b, _ := m.AllocPages(0, GFPKernel)
	info, free := m.Buddyinfo(), m.FreePageCount()
	if err := m.FreePages(a, 0); err != nil {
		t.Fatal(err)
	}
	if err := m.FreePages(b, 0); err != nil {
		t.Fatal(err)
	}
	if m.Buddyinfo() != info || m.FreePageCount() != free {
		t.Errorf("freeing to the pcp list changed buddyinfo or the free count")
	}
	if e := log.At(log.Len() - 1); e.Kind() != EvPageFree || e.FinalOrder() != -1 || !strings.Contains(e.Text(), "cpu 0's pcp list") {
		t.Errorf("free event %v %d %q", e.Kind(), e.FinalOrder(), e.Text())
	}
	if pfn, _ := m.AddrPFN(b); m.Page(pfn).Owner != OwnerPCP {
		t.Errorf("pfn %#x on the pcp list reads as %v", pfn, m.Page(pfn).Owner)
	}
	c, _ := m.AllocPages(0, GFPKernel)
	if c != b {
		t.Errorf("free a (%v), free b (%v), alloc returned %v: want b, the last freed", a, b, c)
	}
	if e := log.At(log.Len() - 1); e.FromOrder() != -1 || !strings.Contains(e.Text(), "head of cpu 0's Unmovable order-0 pcp list") {
		t.Errorf("alloc event %d %q", e.FromOrder(), e.Text())
	}
	if err := m.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

func TestBadFreesAreReportedNotObeyed(t *testing.T) {
	m := newTestMachine(t, Config{})
	log := &EventLog{}
	m.SetLog(log)
	a, _ := m.AllocPages(2, GFPKernel)
	before := m.Buddyinfo()
	for _, tc := range []struct {
		addr  Addr
		order int
		err   error
		text  string
	}{
		{a, 1, ErrInvalidFree, "heads an order-2 block, not order 1"},
		{a + Addr(m.PageSize()), 2, ErrInvalidFree, "not its first page"},
		{m.PFNAddr(0), 0, ErrInvalidFree, "page is reserved"},
		{a + 5, 2, ErrInvalidFree, "not the address of a page frame"},
		{0x1234, 0, ErrInvalidFree, "not the address of a page frame"},
	} {
		err := m.FreePages(tc.addr, tc.order)
		if !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("FreePages(%v, %d) = %v, want %v containing %q", tc.addr, tc.order, err, tc.err, tc.text)
		}
		if e := log.At(log.Len() - 1); e.Kind() != EvBadFree {
			t.Errorf("FreePages(%v, %d) recorded %v, want bad_free", tc.addr, tc.order, e.Kind())
		}
		if m.Buddyinfo() != before {
			t.Fatalf("a reported bad free changed the free lists")
		}
	}
	if err := m.FreePages(a, 2); err != nil {
		t.Fatal(err)
	}
	err := m.FreePages(a, 2)
	if !errors.Is(err, ErrDoubleFree) || !strings.Contains(err.Error(), "BUG: Bad page state") {
		t.Errorf("double free: %v", err)
	}
	if err := m.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

func TestExhaustionFailsCleanly(t *testing.T) {
	m := newTestMachine(t, Config{RAM: 4 * MiB})
	log := &EventLog{}
	m.SetLog(log)
	// Take every page (__GFP_MEMALLOC ignores the watermarks), then free
	// every other one and drain the pcp lists: only order 0 is free.
	var pages []Addr
	for {
		a, err := m.AllocPages(0, GFPKernel|GFPMemalloc|GFPNoWarn)
		if err != nil {
			break
		}
		pages = append(pages, a)
	}
	if m.FreePageCount() != 0 || m.PCPPageCount() != 0 {
		t.Fatalf("%d pages still free, %d on pcp lists after filling RAM", m.FreePageCount(), m.PCPPageCount())
	}
	for i := 0; i < len(pages); i += 2 {
		if err := m.FreePages(pages[i], 0); err != nil {
			t.Fatal(err)
		}
	}
	m.DrainAllPages()
	before := m.Buddyinfo()
	_, err := m.AllocPages(1, GFPKernel)
	var pe *PageAllocError
	if !errors.As(err, &pe) || !errors.Is(err, ErrNoMemory) || pe.Order != 1 || pe.Largest != 0 {
		t.Fatalf("order-1 alloc with only order 0 free: %v", err)
	}
	if !strings.Contains(err.Error(), "none in a block of order 1 or above") || !strings.Contains(err.Error(), "no reclaim") {
		t.Errorf("error %q does not say why", err)
	}
	last := log.At(log.Len() - 1)
	if last.Kind() != EvWarn || !strings.Contains(last.Text(), "page allocation failure: order:1, mode:0xcc0(GFP_KERNEL)") {
		t.Errorf("warning event: %v %q", last.Kind(), last.Text())
	}
	n := log.Len()
	if _, err := m.AllocPages(1, GFPKernel|GFPNoWarn); err == nil {
		t.Fatal("second order-1 alloc succeeded")
	}
	for _, e := range logEvents(log)[n:] {
		if e.Kind() == EvWarn {
			t.Errorf("__GFP_NOWARN still warned: %q", e.Text())
		}
	}
	if _, err := m.AllocPages(MaxPageOrder+1, GFPKernel); err == nil || !strings.Contains(err.Error(), "outside 0..MAX_PAGE_ORDER") {
		t.Errorf("order 11: %v", err)
	}
	if m.Buddyinfo() != before {
		t.Error("failed allocations changed the free lists")
	}
	if err := m.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

func TestZeroAndCompound(t *testing.T) {
	m := newTestMachine(t, Config{})
	a, _ := m.AllocPages(1, GFPKernel)
	if err := m.Fill(a, 0xee, 2*m.PageSize()); err != nil {
		t.Fatal(err)
	}
	m.FreePages(a, 1)
	z, _ := m.AllocPages(1, GFPKernel|GFPZero|GFPComp)
	if z != a {
		t.Fatalf("LIFO reuse expected: got %v, freed %v", z, a)
	}
	buf := make([]byte, 2*m.PageSize())
	m.ReadAt(z, buf)
	if !bytes.Equal(buf, make([]byte, len(buf))) {
		t.Error("__GFP_ZERO block is not zero")
	}
	pfn, _ := m.AddrPFN(z)
	if !m.Page(pfn).Compound || !m.Page(pfn+1).Compound || m.Page(pfn+1).Head != pfn {
		t.Errorf("__GFP_COMP block not marked compound: %+v %+v", m.Page(pfn), m.Page(pfn+1))
	}
}

func TestViewsOfOnePageAgree(t *testing.T) {
	m := newTestMachine(t, Config{})
	a, _ := m.AllocPages(0, GFPKernel)
	pfn, _ := m.AddrPFN(a)
	v1, v2 := m.PageBytes(pfn), m.PageBytes(pfn)
	copy(v1[100:], "hello, page")
	if string(v2[100:111]) != "hello, page" {
		t.Fatal("two views of one pfn disagree")
	}
	span, err := m.Span(a+100, 11)
	if err != nil || string(span) != "hello, page" {
		t.Fatalf("Span through the kernel address: %q %v", span, err)
	}
	// Data survives other allocations until freed.
	for i := 0; i < 100; i++ {
		m.AllocPages(i%4, GFPKernel)
	}
	if string(m.PageBytes(pfn)[100:111]) != "hello, page" {
		t.Fatal("data changed while the page was allocated")
	}
}

// TestRandomAllocFree runs thousands of seeded random alloc_pages and
// free_pages and checks every invariant after every step, on each page
// size.
func TestRandomAllocFree(t *testing.T) {
	for _, ps := range []int{4096, 16384, 65536} {
		t.Run(fmt.Sprint(ps), func(t *testing.T) {
			m := newTestMachine(t, Config{PageSize: ps, RAM: 64 * MiB})
			rng := rand.New(rand.NewPCG(uint64(ps), 42))
			type blk struct {
				a     Addr
				order int
				fill  byte
			}
			var live []blk
			steps := 4000
			if testing.Short() {
				steps = 1000
			}
			for i := 0; i < steps; i++ {
				if len(live) > 0 && rng.IntN(100) < 45 {
					k := rng.IntN(len(live))
					b := live[k]
					span, _ := m.Span(b.a, m.PageSize()<<b.order)
					for j := 0; j < len(span); j += 997 {
						if span[j] != b.fill {
							t.Fatalf("step %d: block %v lost its contents", i, b.a)
						}
					}
					if err := m.FreePages(b.a, b.order); err != nil {
						t.Fatalf("step %d: %v", i, err)
					}
					live[k] = live[len(live)-1]
					live = live[:len(live)-1]
				} else {
					order := rng.IntN(6)
					if rng.IntN(10) == 0 {
						order = rng.IntN(MaxPageOrder + 1)
					}
					a, err := m.AllocPages(order, GFPKernel|GFPNoWarn)
					if err == nil {
						fill := byte(rng.Uint32())
						m.Fill(a, fill, m.PageSize()<<order)
						live = append(live, blk{a, order, fill})
					} else if !errors.Is(err, ErrNoMemory) {
						t.Fatal(err)
					}
				}
				if err := m.CheckInvariants(); err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				// No two live blocks overlap: each pfn belongs to one head.
				if i%500 == 0 {
					seen := map[uint64]bool{}
					for _, b := range live {
						pfn, _ := m.AddrPFN(b.a)
						for p := pfn; p < pfn+1<<b.order; p++ {
							if seen[p] {
								t.Fatalf("pfn %#x handed out twice", p)
							}
							seen[p] = true
						}
					}
				}
			}
			for _, b := range live {
				m.FreePages(b.a, b.order)
			}
			if got := m.IdlePages(); got != m.RAMPages()-m.ReservedPages() {
				t.Fatalf("after freeing everything %d pages free, want %d", got, m.RAMPages()-m.ReservedPages())
			}
			if err := m.CheckInvariants(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// sink keeps the Go baseline's allocations from being optimised away.
var sink []byte

func BenchmarkAllocFreePages(b *testing.B) {
	for _, order := range []int{0, 3} {
		b.Run(fmt.Sprintf("order=%d/go-make", order), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				sink = make([]byte, 4096<<order)
			}
		})
		for _, events := range []bool{false, true} {
			b.Run(fmt.Sprintf("order=%d/events=%v", order, events), func(b *testing.B) {
				m := newTestMachine(b, Config{})
				if events {
					m.SetLog(&EventLog{})
				}
				// A busy neighbour keeps each free from merging all the way up.
				m.AllocPages(order, GFPKernel)
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					a, err := m.AllocPages(order, GFPKernel)
					if err != nil {
						b.Fatal(err)
					}
					m.FreePages(a, order)
					if events && m.log.Len() > 1<<16 {
						*m.log = EventLog{}
					}
				}
			})
		}
	}
}

package allocator

import (
	"fmt"
	"strconv"
	"strings"
)

// GFP is a gfp_t: the flags that say how an allocation may be satisfied.
// Bit values are x86_64's from include/linux/gfp_types.h (6.18) for a
// kernel without CONFIG_KASAN_HW_TAGS and CONFIG_LOCKDEP, where
// __GFP_SKIP_ZERO, __GFP_SKIP_KASAN and __GFP_NOLOCKDEP are 0.
type GFP uint32

// The single bits, named in Go casing: GFPZero is __GFP_ZERO. GFPDMA and
// GFPDMA32 are also the values of GFP_DMA and GFP_DMA32.
const (
	GFPDMA           GFP = 0x01     // __GFP_DMA (GFP_DMA)
	GFPHighmem       GFP = 0x02     // __GFP_HIGHMEM
	GFPDMA32         GFP = 0x04     // __GFP_DMA32
	GFPMovable       GFP = 0x08     // __GFP_MOVABLE
	GFPReclaimable   GFP = 0x10     // __GFP_RECLAIMABLE
	GFPHigh          GFP = 0x20     // __GFP_HIGH
	GFPIO            GFP = 0x40     // __GFP_IO
	GFPFS            GFP = 0x80     // __GFP_FS
	GFPZero          GFP = 0x100    // __GFP_ZERO
	GFPDirectReclaim GFP = 0x400    // __GFP_DIRECT_RECLAIM
	GFPKswapdReclaim GFP = 0x800    // __GFP_KSWAPD_RECLAIM
	GFPWrite         GFP = 0x1000   // __GFP_WRITE
	GFPNoWarn        GFP = 0x2000   // __GFP_NOWARN
	GFPRetryMayfail  GFP = 0x4000   // __GFP_RETRY_MAYFAIL
	GFPNoFail        GFP = 0x8000   // __GFP_NOFAIL
	GFPNoRetry       GFP = 0x10000  // __GFP_NORETRY
	GFPMemalloc      GFP = 0x20000  // __GFP_MEMALLOC
	GFPComp          GFP = 0x40000  // __GFP_COMP
	GFPNoMemalloc    GFP = 0x80000  // __GFP_NOMEMALLOC
	GFPHardwall      GFP = 0x100000 // __GFP_HARDWALL
	GFPThisNode      GFP = 0x200000 // __GFP_THISNODE
	GFPAccount       GFP = 0x400000 // __GFP_ACCOUNT
	GFPZeroTags      GFP = 0x800000 // __GFP_ZEROTAGS
)

// The composites (include/linux/gfp_types.h): GFPKernel is GFP_KERNEL, and so on.
const (
	GFPReclaim         = GFPDirectReclaim | GFPKswapdReclaim // 0xc00
	GFPKernel          = GFPReclaim | GFPIO | GFPFS          // 0xcc0
	GFPKernelAccount   = GFPKernel | GFPAccount              // 0x400cc0
	GFPAtomic          = GFPHigh | GFPKswapdReclaim          // 0x820
	GFPNowait          = GFPKswapdReclaim | GFPNoWarn        // 0x2800 (6.8+)
	GFPNoIO            = GFPReclaim                          // 0xc00
	GFPNoFS            = GFPReclaim | GFPIO                  // 0xc40
	GFPUser            = GFPKernel | GFPHardwall             // 0x100cc0
	GFPHighUser        = GFPUser | GFPHighmem                // 0x100cc2
	GFPHighUserMovable = GFPHighUser | GFPMovable            // 0x100cca
	GFPTransHugeLight  = (GFPHighUserMovable | GFPComp | GFPNoMemalloc | GFPNoWarn) &^ GFPReclaim
	GFPTransHuge       = GFPTransHugeLight | GFPDirectReclaim

	// GFPZoneMask is the set of zone modifiers.
	GFPZoneMask = GFPDMA | GFPHighmem | GFPDMA32 | GFPMovable
)

type gfpName struct {
	mask GFP
	name string
}

// gfpNames is __def_gfpflag_names from include/trace/events/mmflags.h as of
// 6.15 (the composites, then __GFP_RECLAIM, then every single bit in bit
// order from TRACE_GFP_FLAGS_GENERAL). show_gfp_flags() prints the first
// entry whose bits are all set, clears them, and goes on, so composites win
// over their parts: 0xcc0|0x100 prints "GFP_KERNEL|__GFP_ZERO".
var gfpNames = [...]gfpName{
	{GFPTransHuge, "GFP_TRANSHUGE"},
	{GFPTransHugeLight, "GFP_TRANSHUGE_LIGHT"},
	{GFPHighUserMovable, "GFP_HIGHUSER_MOVABLE"},
	{GFPHighUser, "GFP_HIGHUSER"},
	{GFPUser, "GFP_USER"},
	{GFPKernelAccount, "GFP_KERNEL_ACCOUNT"},
	{GFPKernel, "GFP_KERNEL"},
	{GFPNoFS, "GFP_NOFS"},
	{GFPAtomic, "GFP_ATOMIC"},
	{GFPNoIO, "GFP_NOIO"},
	{GFPNowait, "GFP_NOWAIT"},
	{GFPDMA, "GFP_DMA"},
	{GFPDMA32, "GFP_DMA32"},
	{GFPReclaim, "__GFP_RECLAIM"},
	{GFPDMA, "__GFP_DMA"},
	{GFPHighmem, "__GFP_HIGHMEM"},
	{GFPDMA32, "__GFP_DMA32"},
	{GFPMovable, "__GFP_MOVABLE"},
	{GFPReclaimable, "__GFP_RECLAIMABLE"},
	{GFPHigh, "__GFP_HIGH"},
	{GFPIO, "__GFP_IO"},
	{GFPFS, "__GFP_FS"},
	{GFPZero, "__GFP_ZERO"},
	{GFPDirectReclaim, "__GFP_DIRECT_RECLAIM"},
	{GFPKswapdReclaim, "__GFP_KSWAPD_RECLAIM"},
	{GFPWrite, "__GFP_WRITE"},
	{GFPNoWarn, "__GFP_NOWARN"},
	{GFPRetryMayfail, "__GFP_RETRY_MAYFAIL"},
	{GFPNoFail, "__GFP_NOFAIL"},
	{GFPNoRetry, "__GFP_NORETRY"},
	{GFPMemalloc, "__GFP_MEMALLOC"},
	{GFPComp, "__GFP_COMP"},
	{GFPNoMemalloc, "__GFP_NOMEMALLOC"},
	{GFPHardwall, "__GFP_HARDWALL"},
	{GFPThisNode, "__GFP_THISNODE"},
	{GFPAccount, "__GFP_ACCOUNT"},
	{GFPZeroTags, "__GFP_ZEROTAGS"},
}

// GFPNames lists every flag and composite name ParseGFP accepts, in
// show_gfp_flags order, with its value.
func GFPNames() []struct {
	Name  string
	Value GFP
} {
	out := make([]struct {
		Name  string
		Value GFP
	}, len(gfpNames))
	for i, n := range gfpNames {
		out[i].Name, out[i].Value = n.name, n.mask
	}
	return out
}

// String renders the flags as the kmem tracepoints do: "GFP_KERNEL|__GFP_ZERO",
// "none" for 0, and any bits without a name as a trailing hex number.
func (g GFP) String() string {
	if g == 0 {
		return "none"
	}
	var b strings.Builder
	rest := g
	for _, n := range gfpNames {
		if rest&n.mask == n.mask && n.mask != 0 {
			if b.Len() > 0 {
				b.WriteByte('|')
			}
			b.WriteString(n.name)
			rest &^= n.mask
		}
	}
	if rest != 0 {
		if b.Len() > 0 {
			b.WriteByte('|')
		}
		fmt.Fprintf(&b, "%#x", uint32(rest))
	}
	return b.String()
}

// ParseGFP reads flags written as String writes them: names and hex or
// decimal numbers joined by '|', with optional spaces. "none" and "0" are 0.
func ParseGFP(s string) (GFP, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("parse gfp: empty string")
	}
	if s == "none" {
		return 0, nil
	}
	var g GFP
	for _, part := range strings.Split(s, "|") {
		part = strings.TrimSpace(part)
		if v, ok := lookupGFP(part); ok {
			g |= v
			continue
		}
		n, err := strconv.ParseUint(part, 0, 32)
		if err != nil {
			return 0, fmt.Errorf("parse gfp: unknown flag %q", part)
		}
		g |= GFP(n)
	}
	return g, nil
}

func lookupGFP(name string) (GFP, bool) {
	for _, n := range gfpNames {
		if n.name == name {
			return n.mask, true
		}
	}
	return 0, false
}

// AllowBlocking is gfpflags_allow_blocking(): the caller may sleep, so
// direct reclaim (and with it a vmalloc fallback) is allowed.
func (g GFP) AllowBlocking() bool { return g&GFPDirectReclaim != 0 }

// Zone returns the zone modifier bits (GFPZoneMask) of the flags.
func (g GFP) Zone() GFP { return g & GFPZoneMask }

// Has reports whether every bit of f is set in g (the Rust Flags::contains).
func (g GFP) Has(f GFP) bool { return g&f == f }

// Zero reports want_init_on_alloc(): __GFP_ZERO is set.
func (g GFP) Zero() bool { return g&GFPZero != 0 }

// NoWarn reports __GFP_NOWARN.
func (g GFP) NoWarn() bool { return g&GFPNoWarn != 0 }

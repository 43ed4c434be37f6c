package allocator

import (
	"regexp"
	"testing"
)

func TestGFPValues(t *testing.T) {
	for _, tc := range []struct {
		g    GFP
		want uint32
	}{
		{GFPReclaim, 0xc00}, {GFPKernel, 0xcc0}, {GFPKernelAccount, 0x400cc0}, {GFPAtomic, 0x820},
		{GFPNowait, 0x2800}, {GFPNoIO, 0xc00}, {GFPNoFS, 0xc40}, {GFPUser, 0x100cc0},
		{GFPHighUser, 0x100cc2}, {GFPDMA, 0x1}, {GFPDMA32, 0x4},
	} {
		if uint32(tc.g) != tc.want {
			t.Errorf("%v = %#x, want %#x", tc.g, uint32(tc.g), tc.want)
		}
	}
}

func TestGFPString(t *testing.T) {
	for _, tc := range []struct {
		g    GFP
		want string
	}{
		{0, "none"},
		{GFPKernel, "GFP_KERNEL"},
		{GFPKernel | GFPZero, "GFP_KERNEL|__GFP_ZERO"},
		{GFPKernel | GFPZero | GFPComp, "GFP_KERNEL|__GFP_ZERO|__GFP_COMP"},
		{GFPKernelAccount, "GFP_KERNEL_ACCOUNT"},
		{GFPAtomic, "GFP_ATOMIC"},
		{GFPNowait, "GFP_NOWAIT"},
		{GFPNowait | GFPAccount, "GFP_NOWAIT|__GFP_ACCOUNT"},
		{GFPKernel | GFPNoWarn | GFPNoRetry, "GFP_KERNEL|__GFP_NOWARN|__GFP_NORETRY"},
		{GFPKswapdReclaim | GFPIO | GFPFS, "__GFP_IO|__GFP_FS|__GFP_KSWAPD_RECLAIM"},
		{GFPDMA | GFPKernel, "GFP_KERNEL|GFP_DMA"},
		{0x200 | GFPKernel, "GFP_KERNEL|0x200"},
		// From the virtiofs trace (>= 6.10), where trace-cmd printed hex.
		{0x152c4a, "GFP_NOFS|__GFP_HIGHMEM|__GFP_MOVABLE|__GFP_NOWARN|__GFP_NORETRY|__GFP_COMP|__GFP_HARDWALL"},
	} {
		if got := tc.g.String(); got != tc.want {
			t.Errorf("GFP(%#x).String() = %q, want %q", uint32(tc.g), got, tc.want)
		}
		back, err := ParseGFP(tc.want)
		if err != nil || back != tc.g {
			t.Errorf("ParseGFP(%q) = %#x, %v; want %#x", tc.want, uint32(back), err, uint32(tc.g))
		}
	}
}

func TestParseGFP(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want GFP
	}{
		{"GFP_KERNEL | __GFP_ZERO", GFPKernel | GFPZero},
		{"0xcc0", GFPKernel},
		{"3264", GFPKernel},
		{"__GFP_DIRECT_RECLAIM|__GFP_KSWAPD_RECLAIM", GFPReclaim},
	} {
		got, err := ParseGFP(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseGFP(%q) = %#x, %v; want %#x", tc.in, uint32(got), err, uint32(tc.want))
		}
	}
	for _, bad := range []string{"", "GFP_KERNAL", "GFP_KERNEL|", "0x1g"} {
		if _, err := ParseGFP(bad); err == nil {
			t.Errorf("ParseGFP(%q) succeeded", bad)
		}
	}
}

// TestGFPParsesRealTraces reads every symbolic gfp_flags= in the real
// kmem traces printed since the __GFP_ names settled (the 5.4 blog
// traces) and checks it parses and prints back identically.
func TestGFPParsesRealTraces(t *testing.T) {
	re := regexp.MustCompile(`gfp_flags=([A-Z_|]+)`)
	n := 0
	for _, f := range []string{"ftrace-kmem-blog-slub-memleak-unfiltered.txt", "ftrace-kmem-blog-slub-memleak-filtered.txt"} {
		data := readTestdata(t, f)
		for _, m := range re.FindAllStringSubmatch(string(data), -1) {
			g, err := ParseGFP(m[1])
			if err != nil {
				t.Errorf("%s: %v", f, err)
				continue
			}
			if g.String() != m[1] {
				t.Errorf("%s: %q prints back as %q", f, m[1], g.String())
			}
			n++
		}
	}
	if n == 0 {
		t.Fatal("no gfp_flags found in the traces")
	}
}

func TestGFPPredicates(t *testing.T) {
	if !GFPKernel.AllowBlocking() || GFPAtomic.AllowBlocking() || GFPNowait.AllowBlocking() {
		t.Error("AllowBlocking: GFP_KERNEL may block, GFP_ATOMIC and GFP_NOWAIT may not")
	}
	if (GFPKernel | GFPDMA | GFPMovable).Zone() != GFPDMA|GFPMovable {
		t.Error("Zone() should keep only the zone modifiers")
	}
	if !(GFPKernel | GFPZero).Zero() || GFPKernel.Zero() || !GFPNowait.NoWarn() {
		t.Error("Zero/NoWarn")
	}
	if !GFPKernel.Has(GFPIO|GFPFS) || GFPKernel.Has(GFPZero) {
		t.Error("Has")
	}
}

package ktrace

import (
	"strconv"
	"strings"

	"github.com/allocviz/allocviz/allocator"
)

// gfpAliases are flag names older or differently configured kernels print
// that allocviz's GFP table (6.18's names) does not have, mapped to the
// 6.18 flags that mean the same. Kernels before 4.4 printed the single
// bits without the leading underscores (GFP_NOWARN for __GFP_NOWARN); that
// spelling is tried separately (gfpFlags).
var gfpAliases = map[string]allocator.GFP{
	"__GFP_REPEAT":  allocator.GFPRetryMayfail,                      // renamed __GFP_RETRY_MAYFAIL in 4.13
	"__GFP_WAIT":    allocator.GFPDirectReclaim,                     // split into the two reclaim bits in 4.4
	"GFP_TEMPORARY": allocator.GFPKernel | allocator.GFPReclaimable, // removed in 4.15
	"GFP_IOFS":      allocator.GFPIO | allocator.GFPFS,              // removed in 4.4
	"__GFP_KMEMCG":  allocator.GFPAccount,                           // 3.8 to 3.15: charge to the memory cgroup
}

// gfpIgnored are flags kernels print that change nothing allocviz models:
// hints to the page allocator's cache-hotness (removed in 4.15), kmemcheck
// (removed in 4.15), lockdep, KASAN tags, slab object extensions.
var gfpIgnored = map[string]bool{
	"__GFP_COLD": true, "__GFP_NOTRACK": true, "__GFP_NOTRACK_FALSE_POSITIVE": true, "__GFP_OTHER_NODE": true,
	"__GFP_NOACCOUNT": true, "__GFP_ATOMIC": true, "__GFP_NOLOCKDEP": true, "__GFP_SKIP_ZERO": true,
	"__GFP_SKIP_KASAN": true, "__GFP_NO_OBJ_EXT": true,
}

// gfpFlags converts a gfp_flags= value as a kernel printed it: names
// joined by '|' (6.18's names, the older names above, the pre-4.4
// spelling without underscores), a hex or decimal number (trace-cmd
// prints the number when it cannot resolve the names; bit positions are
// taken as 6.18's), or "none". It returns the flags allocviz models and
// the names it does not know, which are dropped.
func gfpFlags(s string) (allocator.GFP, []string) {
	if s == "none" || s == "0" {
		return 0, nil
	}
	var g allocator.GFP
	var unknown []string
	for part := range strings.SplitSeq(s, "|") {
		if v, err := allocator.ParseGFP(part); err == nil {
			g |= v
			continue
		}
		if v, ok := gfpAliases[part]; ok {
			g |= v
			continue
		}
		if gfpIgnored[part] {
			continue
		}
		if strings.HasPrefix(part, "GFP_") {
			// 3.x: GFP_NOWARN is __GFP_NOWARN.
			if v, err := allocator.ParseGFP("__" + part); err == nil {
				g |= v
				continue
			}
			if v, ok := gfpAliases["__"+part]; ok {
				g |= v
				continue
			}
			if gfpIgnored["__"+part] {
				continue
			}
		}
		if n, err := strconv.ParseUint(part, 0, 64); err == nil {
			g |= allocator.GFP(n) & knownGFPBits
			continue
		}
		unknown = append(unknown, part)
	}
	return g, unknown
}

// knownGFPBits are the bits allocviz's GFP table names; a number's other
// bits (__GFP_NO_OBJ_EXT, config-dependent ones) are dropped.
var knownGFPBits = func() allocator.GFP {
	var g allocator.GFP
	for _, n := range allocator.GFPNames() {
		g |= n.Value
	}
	return g
}()

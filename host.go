package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/allocviz/allocviz/allocator"
)

// hostCmd is allocviz host: the running kernel's /proc/slabinfo against
// the caches allocviz builds for a machine with the host's CPU count and
// page size, cache by cache. The files and the machine's shape can be
// given instead, to check /proc files saved on another machine.
func hostCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("host")
	slabinfo := fs.String("slabinfo", "/proc/slabinfo", "the slabinfo to compare")
	buddyinfo := fs.String("buddyinfo", "/proc/buddyinfo", "the buddyinfo to show beside allocviz's")
	cpus := fs.Int("cpus", 0, "the CPUs of the machine the files come from (default: this host's)")
	pageSize := fs.Int("page-size", 0, "its page size in bytes (default: this host's)")
	all := fs.Bool("all", false, "list every cache, not only those that differ")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return flagError(err, args, stdout, stderr)
	}
	if len(pos) > 0 {
		fmt.Fprintln(stderr, "usage: allocviz host [--slabinfo FILE] [--buddyinfo FILE] [--cpus N] [--page-size N] [--all]")
		return exitError
	}
	hc := hostCheck{cpus: *cpus, pageSize: *pageSize, all: *all}
	if hc.cpus == 0 {
		if hc.cpus, err = presentCPUs(); err != nil {
			fmt.Fprintln(stderr, "allocviz host:", err)
			return exitError
		}
	}
	if hc.pageSize == 0 {
		hc.pageSize = os.Getpagesize()
	}
	text, err := os.ReadFile(*slabinfo)
	if err != nil {
		if errors.Is(err, iofs.ErrPermission) {
			err = fmt.Errorf("%w (only root may read it: run allocviz host with sudo)", err)
		}
		fmt.Fprintln(stderr, "allocviz host:", err)
		return exitError
	}
	if hc.rows, err = allocator.ParseSlabinfo(string(text)); err != nil {
		fmt.Fprintf(stderr, "allocviz host: %s: %v\n", *slabinfo, err)
		return exitError
	}
	hc.slabinfo = *slabinfo
	if b, err := os.ReadFile(*buddyinfo); err == nil {
		hc.buddyinfo = string(b)
	}
	bw := bufio.NewWriter(stdout)
	differ, err := hc.write(bw)
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		fmt.Fprintln(stderr, "allocviz host:", err)
		return exitError
	}
	if differ > 0 {
		return exitCheckFailed
	}
	return exitOK
}

// presentCPUs counts /sys/devices/system/cpu/present ("0-3,6"), the
// num_present_cpus() allocviz's machine is built with.
func presentCPUs() (int, error) {
	b, err := os.ReadFile("/sys/devices/system/cpu/present")
	if err != nil {
		return 0, fmt.Errorf("the host's CPU count: %w (give --cpus)", err)
	}
	n := 0
	for part := range strings.SplitSeq(strings.TrimSpace(string(b)), ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err1 := strconv.Atoi(lo)
		z := a
		var err2 error
		if isRange {
			z, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || z < a {
			return 0, fmt.Errorf("/sys/devices/system/cpu/present: %q is not a CPU list (give --cpus)", b)
		}
		n += z - a + 1
	}
	return n, nil
}

// hostCheck is one comparison.
type hostCheck struct {
	slabinfo  string
	rows      []allocator.SlabinfoRow
	buddyinfo string
	cpus      int
	pageSize  int
	all       bool
}

// geometry is what /proc/slabinfo says of a cache's layout.
type geometry struct {
	objSize      uint64
	objPerSlab   int
	pagesPerSlab int
}

func (g geometry) String() string {
	return fmt.Sprintf("%d B x %d in %d", g.objSize, g.objPerSlab, g.pagesPerSlab)
}

func rowGeometry(r allocator.SlabinfoRow) geometry {
	return geometry{objSize: r.ObjSize, objPerSlab: r.ObjPerSlab, pagesPerSlab: r.PagesPerSlab}
}

// write prints the comparison and returns how many caches differ.
func (hc *hostCheck) write(w io.Writer) (int, error) {
	cfg := allocator.Config{CPUs: min(max(hc.cpus, 1), allocator.MaxCPUs), PageSize: hc.pageSize}
	m, err := allocator.NewMachine(cfg)
	if err != nil {
		return 0, err
	}
	defer m.Close()
	ours := map[string]allocator.SlabinfoRow{}
	var kmallocNames []string
	for _, r := range m.SlabinfoRows() {
		ours[r.Name] = r
		kmallocNames = append(kmallocNames, r.Name)
	}
	host := map[string]allocator.SlabinfoRow{}
	for _, r := range hc.rows {
		host[kmallocName(r.Name)] = r
	}
	fmt.Fprintf(w, "host: %s, %d CPUs, %s pages: %d caches\n", hc.slabinfo, hc.cpus, allocator.FormatBytes(uint64(hc.pageSize)), len(hc.rows))
	fmt.Fprintf(w, "allocviz: a machine of %d CPUs and %s pages, profile %v\n\n", cfg.CPUs, allocator.FormatBytes(uint64(hc.pageSize)), m.Profile())

	// The kmalloc caches: allocviz's own, by name.
	slices.Sort(kmallocNames)
	fmt.Fprintf(w, "kmalloc caches (object size x objects per slab in pages per slab):\n")
	header := func(shown *bool) {
		if !*shown {
			fmt.Fprintf(w, "  %-24s %-22s %-22s\n", "cache", "host", "allocviz")
			*shown = true
		}
	}
	var shown bool
	agree, differ, missing := 0, 0, 0
	for _, name := range kmallocNames {
		h, ok := host[name]
		og := rowGeometry(ours[name])
		switch {
		case !ok:
			missing++
			if hc.all {
				header(&shown)
				fmt.Fprintf(w, "  %-24s %-22s %-22v not on the host\n", name, "-", og)
			}
		case rowGeometry(h) == og:
			agree++
			if hc.all {
				header(&shown)
				fmt.Fprintf(w, "  %-24s %-22v %-22v agree\n", name, rowGeometry(h), og)
			}
		default:
			differ++
			header(&shown)
			fmt.Fprintf(w, "  %-24s %-22v %-22v DIFFER\n", name, rowGeometry(h), og)
		}
	}
	fmt.Fprintf(w, "  %d agree, %d differ; %d allocviz has that the host does not\n\n", agree, differ, missing)

	// Every other cache: its stride from the host, its slab geometry from
	// allocviz's calculate_order.
	oagree, odiffer := 0, 0
	var extra []string
	fmt.Fprintf(w, "other caches, laid out by allocviz from the host's object size:\n")
	shown = false
	for _, r := range hc.rows {
		if _, ok := ours[kmallocName(r.Name)]; ok {
			continue
		}
		if strings.Contains(r.Name, "kmalloc") {
			extra = append(extra, r.Name)
		}
		c, err := m.KmemCacheCreate("host:"+r.Name, r.ObjSize, 8, allocator.SlabNoUserFlags)
		if err != nil {
			header(&shown)
			fmt.Fprintf(w, "  %-24s %-22v cannot be made: %v\n", r.Name, rowGeometry(r), err)
			odiffer++
			continue
		}
		g := geometry{objSize: c.Size(), objPerSlab: c.ObjectsPerSlab(), pagesPerSlab: 1 << c.Order()}
		switch {
		case g == rowGeometry(r):
			oagree++
			if hc.all {
				header(&shown)
				fmt.Fprintf(w, "  %-24s %-22v %-22v agree\n", r.Name, rowGeometry(r), g)
			}
		default:
			odiffer++
			header(&shown)
			fmt.Fprintf(w, "  %-24s %-22v %-22v DIFFER\n", r.Name, rowGeometry(r), g)
		}
	}
	fmt.Fprintf(w, "  %d agree, %d differ\n", oagree, odiffer)
	if len(extra) > 0 {
		fmt.Fprintf(w, "  kmalloc caches of the host allocviz does not build: %s\n", strings.Join(extra, ", "))
	}
	if hc.buddyinfo != "" {
		fmt.Fprintf(w, "\nbuddyinfo, free blocks of order 0 to %d (the host's zones, and those of a fresh allocviz machine of %s):\n",
			allocator.MaxPageOrder, allocator.HumanBytes(uint64(m.Config().RAM)))
		for line := range strings.Lines(hc.buddyinfo) {
			fmt.Fprintf(w, "  host      %s", line)
		}
		for line := range strings.Lines(m.Buddyinfo()) {
			fmt.Fprintf(w, "  allocviz  %s", line)
		}
	}
	return differ + odiffer, nil
}

// kmallocName spells a kmalloc cache as 6.x does: 4.x printed
// kmalloc-8192 where 6.x prints kmalloc-8k.
func kmallocName(name string) string {
	i := strings.LastIndexByte(name, '-')
	if i < 0 || !strings.Contains(name, "kmalloc") {
		return name
	}
	n, err := strconv.ParseUint(name[i+1:], 10, 64)
	if err != nil || n < 1024 || n%1024 != 0 {
		return name
	}
	if n >= allocator.MiB && n%allocator.MiB == 0 {
		return fmt.Sprintf("%s%dM", name[:i+1], n/allocator.MiB)
	}
	return fmt.Sprintf("%s%dk", name[:i+1], n/1024)
}

package allocator

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// TestVmallocLeavesTheHostsMappingsToTheRuntime fills the vmalloc space
// with one-page areas, each a mapping of its own, until vmalloc refuses:
// it must refuse before the host's vm.max_map_count is reached, say why,
// and leave the Go runtime room to map memory.
func TestVmallocLeavesTheHostsMappingsToTheRuntime(t *testing.T) {
	limit := hostMapLimit()
	if limit <= 0 {
		t.Skip("no /proc/sys/vm/max_map_count on this host")
	}
	before := hostRuns.Load() // runs of machines other tests left open
	most := maxHostRuns() - before
	if pages := (most + 4096) * 4096; pages > 2<<30 {
		t.Skipf("vm.max_map_count %d needs more than 2 GiB of RAM to fill", limit)
	}
	m, err := NewMachine(Config{RAM: (most + 8192) * 4096, CPUs: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	log := &EventLog{}
	var areas []Addr
	var refusal error
	for i := int64(0); i <= most; i++ {
		if i == most-1 {
			m.SetLog(log)
		}
		a, err := m.Vmalloc(m.PageSize(), GFPKernel)
		if err != nil {
			refusal = err
			break
		}
		areas = append(areas, a)
	}
	if refusal == nil || !errors.Is(refusal, ErrNoMemory) || !strings.Contains(refusal.Error(), "failed to map pages") ||
		!strings.Contains(refusal.Error(), "(vm.max_map_count)") {
		t.Fatalf("after %d areas: %v", len(areas), refusal)
	}
	if n := int64(len(areas)); n+most/100 < most || n > most {
		t.Errorf("%d areas mapped, the limit allows %d runs", n, most)
	}
	warned := false
	for _, e := range logEvents(log) {
		warned = warned || e.Kind() == EvWarn && strings.Contains(e.Text(), "vm.max_map_count")
	}
	if !warned {
		t.Error("no warning says why the mapping was refused")
	}
	// The process still has mappings to spare, and the runtime can use
	// them: a heap growth of many separate spans.
	if maps, err := os.ReadFile("/proc/self/maps"); err == nil {
		if n := int64(strings.Count(string(maps), "\n")); n > limit-hostMapMargin(limit)/2 {
			t.Errorf("the process has %d mappings of %d", n, limit)
		}
	}
	var keep [][]byte
	for range 64 {
		b := make([]byte, 4<<20)
		b[len(b)-1] = 1
		keep = append(keep, b)
	}
	if err := m.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
	// Freeing gives the mappings back.
	for _, a := range areas[:100] {
		if err := m.Vfree(a); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.Vmalloc(m.PageSize(), GFPKernel); err != nil {
		t.Errorf("after 100 vfrees vmalloc still refuses: %v", err)
	}
	m.Close()
	if n := hostRuns.Load(); n != before {
		t.Errorf("%d runs still counted after Close, %d before", n, before)
	}
	_ = keep
}

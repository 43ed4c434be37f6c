package heapview

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/allocviz/allocviz/allocator"
	"github.com/allocviz/allocviz/scripts/ktrace"
)

// TestModelEqualsMachineOnTraces replays real 6.18 traces (their pages
// put where the trace had them, split out of free blocks) and compares
// the model rebuilt from the events with the machine at several steps.
func TestModelEqualsMachineOnTraces(t *testing.T) {
	for _, f := range []string{"tracecmd-kmem-6.18-bash-ls-etc.txt.gz", "ftrace-kmem-6.18-ls-lR-python3.txt.gz"} {
		t.Run(f, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("..", "testdata", f))
			if err != nil {
				t.Fatal(err)
			}
			tr, err := ktrace.Parse(f, data)
			if err != nil {
				t.Fatal(err)
			}
			p := ktrace.Build(tr, ktrace.PlanOptions{})
			m, err := allocator.NewMachine(p.Config)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			log := &allocator.EventLog{}
			m.SetLog(log)
			rp := ktrace.NewReplayer(m, p)
			rp.Narrate = true
			every := max(len(p.Ops)/5, 1)
			want := map[int]machineState{}
			for i := range p.Ops {
				origin := tr.Origin(&tr.Records[i])
				m.BeginTraceStep(i+1, &origin, rp.OpText(i))
				rp.Step(i)
				if (i+1)%every == 0 || i+1 == len(p.Ops) {
					want[i+1] = snapshotAll(m)
				}
			}
			hv, err := New(log)
			if err != nil {
				t.Fatal(err)
			}
			if a := hv.Anomalies(); len(a) != 0 {
				t.Fatalf("%d events of the replay did not fit: %v", len(a), a[0])
			}
			for st, ms := range want {
				if err := hv.Seek(st); err != nil {
					t.Fatal(err)
				}
				requireSameAll(t, fmt.Sprintf("step %d", st), hv, ms, consistencyChecks{freelists: true})
			}
		})
	}
}

package main

import (
	"bufio"
	"encoding/json"
	"io"

	"github.com/allocviz/allocviz/allocator"
)

// eventJSON is the --json form of an allocator.Event: enums as their
// names, addresses as hex strings (a uint64 does not survive a JSON
// number in most readers), and empty strings and lists left out. Numeric
// fields are always present, since 0 is a real pfn, order or CPU.
type eventJSON struct {
	Seq      uint64       `json:"seq"`
	Step     int          `json:"step"`
	CPU      int          `json:"cpu"`
	Kind     string       `json:"kind"`
	GFP      string       `json:"gfp,omitempty"`
	PFN      uint64       `json:"pfn"`
	Order    int          `json:"order"`
	Owner    string       `json:"owner"`
	List     string       `json:"list,omitempty"`
	Path     string       `json:"path,omitempty"`
	Addr     string       `json:"addr"`
	Size     uint64       `json:"size"`
	Bytes    uint64       `json:"bytes"`
	Index    int          `json:"index"`
	Cache    string       `json:"cache,omitempty"`
	Src      string       `json:"src,omitempty"`
	Op       string       `json:"op,omitempty"`
	Text     string       `json:"text,omitempty"`
	PFNs     []uint64     `json:"pfns,omitempty"`
	Realloc  *reallocJSON `json:"realloc,omitempty"`
	Cause    uint64       `json:"cause,omitempty"` // 0: none
	Decision string       `json:"decision,omitempty"`
}

type reallocJSON struct {
	Func     string `json:"func"`
	Within   string `json:"within,omitempty"`
	Old      string `json:"old"`
	OldSize  uint64 `json:"old_size"`
	OldCap   uint64 `json:"old_cap"`
	New      string `json:"new"`
	NewSize  uint64 `json:"new_size"`
	NewCap   uint64 `json:"new_cap"`
	Decision string `json:"decision"`
	Copied   uint64 `json:"copied"`
	Zeroed   uint64 `json:"zeroed"`
	Bucket   string `json:"bucket,omitempty"`
}

func toJSON(e allocator.Event) eventJSON {
	j := eventJSON{
		Seq: e.Seq, Step: e.Step, CPU: e.CPU, Kind: e.Kind.String(),
		PFN: e.PFN, Order: e.Order, Owner: e.Owner.String(), Path: e.Path,
		Addr: e.Addr.String(), Size: e.Size, Bytes: e.Bytes, Index: e.Index,
		Cache: e.Cache, Src: e.Src, Op: e.Op, Text: e.Text, PFNs: e.PFNs, Cause: e.Cause,
	}
	if e.GFP != 0 {
		j.GFP = e.GFP.String()
	}
	if e.List != allocator.ListNone {
		j.List = e.List.String()
	}
	if e.Decision != allocator.DecisionNone {
		j.Decision = e.Decision.String()
	}
	if r := e.Realloc; r != nil {
		j.Realloc = &reallocJSON{
			Func: r.Func, Within: r.Within, Old: r.Old.String(), OldSize: r.OldSize, OldCap: r.OldCap,
			New: r.New.String(), NewSize: r.NewSize, NewCap: r.NewCap, Decision: r.Decision.String(),
			Copied: r.Copied, Zeroed: r.Zeroed, Bucket: r.Bucket,
		}
	}
	return j
}

// writeEventsJSON writes one JSON object per event, one per line.
func writeEventsJSON(w io.Writer, events []allocator.Event) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	for _, e := range events {
		if err := enc.Encode(toJSON(e)); err != nil {
			return err
		}
	}
	return bw.Flush()
}

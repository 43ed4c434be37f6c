package heapview

import (
	"strings"
	"testing"

	"github.com/allocviz/allocviz/allocator"
)

func TestEventLogGolden(t *testing.T) {
	t.Run("buddy", func(t *testing.T) {
		hv := buddyScene(t)
		eachSize(t, func(t *testing.T, w, h int) []Row {
			return hv.EventLog(EventLogOptions{Width: w, Height: h})
		})
	})
	t.Run("slab", func(t *testing.T) {
		b, _ := slabSession(t)
		b.begin("kfree(p)")
		b.add(allocator.Fields{Kind: allocator.EvSay, Text: "freeing it again is a double free"})
		b.add(allocator.Fields{Kind: allocator.EvObjFree, Cache: "kmalloc-64", Addr: b.addr(256), PFN: 256})
		hv, _ := New(b.log())
		eachSize(t, func(t *testing.T, w, h int) []Row {
			return hv.EventLog(EventLogOptions{Width: w, Height: h, Selected: uint64(hv.Len() - 11)})
		})
	})
}

func TestEventLogShowsScriptLinesAndRules(t *testing.T) {
	hv := buddyScene(t)
	hv.Seek(3)
	rows := hv.EventLog(EventLogOptions{Width: 200, Height: 30, Detail: true})
	var text []string
	for _, r := range rows {
		text = append(text, r.String())
	}
	all := strings.Join(text, "\n")
	si, _ := hv.StepInfo(3)
	for _, want := range []string{"step 3  " + si.Op, si.Src, hv.Event(si.End - 1).Explain()} {
		if !strings.Contains(all, want) {
			t.Errorf("the log at step 3 lacks %q:\n%s", want, all)
		}
	}
	if strings.Contains(all, "step 4") {
		t.Error("the log shows a step after the cursor")
	}
	scrolled := hv.EventLog(EventLogOptions{Width: 200, Height: 30, Scroll: 5, Detail: true})
	if scrolled[len(scrolled)-1].String() != rows[len(rows)-6].String() {
		t.Errorf("scrolling 5 lines back does not show what was 5 lines up")
	}
}

func TestInspectGolden(t *testing.T) {
	b, first := slabSession(t)
	hv := b.model()
	hv.Seek(3)
	cases := map[string]func() (Inspection, error){
		"reserved":    func() (Inspection, error) { return hv.InspectPage(3) },
		"free":        func() (Inspection, error) { return hv.InspectPage(600) },
		"slab-page":   func() (Inspection, error) { return hv.InspectPage(256) },
		"used-object": func() (Inspection, error) { return hv.InspectAddr(first + 130) },
		"free-object": func() (Inspection, error) { return hv.InspectAddr(first + 64) },
	}
	for name, f := range cases {
		t.Run(name, func(t *testing.T) {
			in, err := f()
			if err != nil {
				t.Fatal(err)
			}
			eachSize(t, func(t *testing.T, w, h int) []Row { return in.Rows(w, h) })
		})
	}
	vb, start := vmallocSession(t)
	vh := vb.model()
	vh.Seek(1)
	for name, a := range map[string]allocator.Addr{"vmalloc": start + 5000, "guard": start + allocator.Addr(3*vb.pageSz) + 8} {
		t.Run(name, func(t *testing.T) {
			in, err := vh.InspectAddr(a)
			if err != nil {
				t.Fatal(err)
			}
			eachSize(t, func(t *testing.T, w, h int) []Row { return in.Rows(w, h) })
		})
	}
}

func TestInspectSaysWhoAndWhy(t *testing.T) {
	b, first := slabSession(t)
	hv := b.model()
	hv.Seek(2)
	in, err := hv.InspectAddr(first + 64 + 10)
	if err != nil {
		t.Fatal(err)
	}
	if in.Object != 1 || in.Alloc == nil || in.Alloc.Size != 64 || in.Slab == nil || in.Slab.Cache != "kmalloc-64" {
		t.Fatalf("%+v", in)
	}
	s := in.String()
	for _, want := range []string{"object 1 of kmalloc-64", "offset 10", "in use", "by kmalloc in step 2: kmalloc(64) twice at t.star:2:1"} {
		if !strings.Contains(s, want) {
			t.Errorf("inspection lacks %q:\n%s", want, s)
		}
	}
	p, _ := hv.InspectPage(3)
	if !strings.Contains(p.String(), "x86 keeps the first megabyte") {
		t.Errorf("a reserved page does not say why:\n%s", p)
	}
	for _, a := range []allocator.Addr{0, allocator.ZeroSizePtr, 0x1234, allocator.DirectMapBase + allocator.Addr(hv.RAM())} {
		if _, err := hv.InspectAddr(a); err == nil {
			t.Errorf("InspectAddr(%v) succeeded", a)
		}
	}
	if _, err := hv.InspectPage(hv.NrPages()); err == nil {
		t.Error("InspectPage past RAM succeeded")
	}
}

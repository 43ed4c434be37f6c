package ktrace

import (
	"testing"

	"github.com/allocviz/allocviz/allocator"
)

// FuzzParseAndReplay: no text crashes the parser, and whatever it reads
// replays on a small machine without crashing it or breaking its
// invariants.
func FuzzParseAndReplay(f *testing.F) {
	for _, name := range []string{"ftrace-kmem-blog-slub-memleak-filtered.txt", "ftrace-kmem-tracecmd-blog-virtiofs-short.txt",
		"ftrace-kmem-yocto-sugarbay-kmalloc.txt"} {
		f.Add(readTestdata(f, name))
	}
	f.Add([]byte("a-1 [000] 1.5: mm_page_alloc: page=1 pfn=0xffffffffffffffff order=10 migratetype=0 gfp_flags=GFP_KERNEL\n" +
		"a-1 [001] 1.5: mm_page_free: page=1 pfn=0xffffffffffffffff order=10\n" +
		"a-1 [255] 1.5: alloc_vmap_area: va_start: 1 size=0 align=0 vstart=0 vend=0 failed=0\n" +
		"a-1 [000] 1.5: free_vmap_area_noflush: va_start=0x1 nr_lazy=0 nr_lazy_max=0\n" +
		"a-1 [000] 1.5: kmem_cache_alloc: call_site=x ptr=1 name=kmalloc-64 bytes_req=0 bytes_alloc=0 gfp_flags=GFP_KERNEL\n" +
		"a-1 [000] 1.5: kmalloc: call_site=x ptr=2 bytes_req=99999999999 bytes_alloc=1 gfp_flags=GFP_KERNEL\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tr, err := Parse("fuzz", data)
		if err != nil {
			return
		}
		p := Build(tr, PlanOptions{Config: allocator.Config{RAM: 4 * allocator.MiB, CPUs: 2}})
		m, err := allocator.NewMachine(p.Config)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		m.SetLog(&allocator.EventLog{})
		rp := NewReplayer(m, p)
		rp.Narrate = true
		for i := range p.Ops {
			_ = rp.OpText(i)
			rp.Step(i)
		}
		if err := m.CheckInvariants(); err != nil {
			t.Fatal(err)
		}
	})
}

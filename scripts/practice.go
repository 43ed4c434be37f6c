package scripts

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
)

// Random practice (allocviz quiz): questions about seeded random
// operations, OSTEP malloc.py's -s seed -n N. Practice writes a script of
// ask() calls and the operations they ask about, so the answers come from
// the machine exactly as a lesson's do; the same topic, seed and count
// give the same script, and so the same questions and answers.

// PracticeTopics are the topics of Practice, each a kind of question.
var PracticeTopics = []struct {
	Name, Doc string
	gen       func(g *practiceGen)
}{
	{"kmalloc", "which kmalloc cache a size uses", (*practiceGen).kmalloc},
	{"krealloc", "whether a krealloc stays in place or moves", (*practiceGen).krealloc},
	{"buddy", "which block the buddy allocator hands back after frees", (*practiceGen).buddy},
	{"slub", "which list a slab goes to when an object comes back", (*practiceGen).slub},
	{"vmalloc", "whether kvmalloc takes kmalloc, falls back to vmalloc or fails", (*practiceGen).kvmalloc},
	{"kvec", "what capacity a KVec grows to", (*practiceGen).kvec},
}

// MaxPractice bounds the questions of one practice run.
const MaxPractice = 500

// practiceGen writes a practice script.
type practiceGen struct {
	r *rand.Rand
	b strings.Builder
	i int // the question being written, from 1
}

func (g *practiceGen) line(format string, args ...any) {
	fmt.Fprintf(&g.b, format+"\n", args...)
}

// Practice returns the script of n practice questions on topic ("all"
// mixes them) from seed.
func Practice(topic string, seed uint64, n int) (Script, error) {
	if n < 1 || n > MaxPractice {
		return Script{}, fmt.Errorf("%d questions: give 1 to %d", n, MaxPractice)
	}
	var gens []func(*practiceGen)
	var names []string
	for _, t := range PracticeTopics {
		names = append(names, t.Name)
		if topic == "all" || topic == t.Name {
			gens = append(gens, t.gen)
		}
	}
	if gens == nil {
		return Script{}, fmt.Errorf("no topic %q (topics: %s, all)", topic, strings.Join(names, ", "))
	}
	g := &practiceGen{r: rand.New(rand.NewPCG(seed, 0x9a7c71ce))}
	g.line(`"""Random practice: %d questions on %s, seed %d."""`, n, topic, seed)
	g.line(`config(debug=False, freelist_random=False)`)
	g.line(`ps = machine().page_size`)
	g.line(`def classes(n):
    """The cache kmalloc(n) uses, the one below and the two above, smallest first."""
    out = []
    for m in [n // 2, n]:
        c = kmalloc_cache(max(m, 1))
        if c.name not in out:
            out.append(c.name)
    for i in range(2):
        c = kmalloc_cache(kmalloc_cache(n).size + 1) if i == 0 else kmalloc_cache(c.size + 1)
        if c == None:
            break
        out.append(c.name)
    return out
def slab_list(c, p):
    pfn = object_info(p).slab_pfn
    return [sl.list for sl in slabs(c) if sl.pfn == pfn][0]`)
	for g.i = 1; g.i <= n; g.i++ {
		gens[g.r.IntN(len(gens))](g)
	}
	return Script{Name: fmt.Sprintf("practice-%s-%d.star", topic, seed), Src: []byte(g.b.String())}, nil
}

// size returns a random allocation size up to max, biased to small ones.
func (g *practiceGen) size(max int) int {
	limits := []int{16, 64, 256, 1024, max}
	return 1 + g.r.IntN(limits[g.r.IntN(len(limits))])
}

func (g *practiceGen) kmalloc() {
	n := g.size(8192)
	g.line(`ask("kmalloc(%d): which cache does the object come from?", choices=classes(%d), answer=lambda p: p.cache)`, n, n)
	g.line(`p%d = kmalloc(%d)`, g.i, n)
	g.line(`kfree(p%d)`, g.i)
}

func (g *practiceGen) krealloc() {
	a, b := g.size(2048), g.size(4096)
	g.line(`p%d = kmalloc(%d)`, g.i, a)
	g.line(`ask("p = kmalloc(%d) (ksize %%d); will krealloc(p, %d) keep p where it is?" %% p%d.ksize, yes_no=True, answer=lambda q: q == p%d)`, a, b, g.i, g.i)
	g.line(`q%d = krealloc(p%d, %d)`, g.i, g.i, b)
	g.line(`kfree(q%d)`, g.i)
}

func (g *practiceGen) buddy() {
	o := g.r.IntN(3)
	i := g.i
	for _, x := range "abcd" {
		g.line(`%c%d = alloc_pages(%d)`, x, i, o)
	}
	// Free two or three of a, b, c (d stays, so c cannot merge upwards),
	// in a random order; the last freed is not always the answer: a block
	// whose buddy is free merges first.
	order := []string{"a", "b", "c"}
	g.r.Shuffle(len(order), func(x, y int) { order[x], order[y] = order[y], order[x] })
	order = order[:2+g.r.IntN(2)]
	for _, x := range order {
		g.line(`free_pages(%s%d, %d)`, x, i, o)
	}
	g.line(`ask("Blocks a (pfn 0x%%x), b (pfn 0x%%x), c (pfn 0x%%x) and d of order %d were allocated in that order; then %s were freed. Which block does alloc_pages(%d) hand out now?" %% (a%d.pfn, b%d.pfn, c%d.pfn), choices=["a", "b", "c", "another"], answer=lambda r: "a" if r.pfn == a%d.pfn else "b" if r.pfn == b%d.pfn else "c" if r.pfn == c%d.pfn else "another")`,
		o, strings.Join(order, ", "), o, i, i, i, i, i, i)
	g.line(`r%d = alloc_pages(%d)`, i, o)
	g.line(`free_pages(r%d, %d)`, i, o)
	g.line(`for x in [a%d, b%d, c%d, d%d]:
    if x.live:
        free_pages(x, %d)`, i, i, i, i, o)
}

func (g *practiceGen) slub() {
	size := []int{64, 128, 256, 512}[g.r.IntN(4)]
	g.line(`k%d = kmem_cache_create("practice-%d", %d)`, g.i, g.i, size)
	// Between one and three slabs' worth, and one object of it freed.
	g.line(`o%d = [kmem_cache_alloc(k%d) for i in range(k%d.objects * %d // 4 + 1)]`, g.i, g.i, g.i, 4+g.r.IntN(8))
	g.line(`v%d = o%d[%d * len(o%d) // 100]`, g.i, g.i, g.r.IntN(100), g.i)
	g.line(`ask("Cache %%s holds %%d objects a slab; %%d were allocated. The object at %%s is freed: which list is its slab on after kmem_cache_free?" %% (k%d, k%d.objects, len(o%d), v%d), choices=["cpu", "cpu-partial", "node-partial", "full"], answer=lambda r: slab_list(k%d, v%d))`,
		g.i, g.i, g.i, g.i, g.i, g.i)
	g.line(`kmem_cache_free(k%d, v%d)`, g.i, g.i)
	g.line(`for p in o%d:
    if p != v%d:
        kmem_cache_free(k%d, p)`, g.i, g.i, g.i)
	g.line(`kmem_cache_destroy(k%d)`, g.i)
}

func (g *practiceGen) kvmalloc() {
	flags := []string{"GFP_KERNEL", "GFP_KERNEL", "GFP_ATOMIC"}[g.r.IntN(3)]
	mult := []string{"ps", "8 * ps", "(1 << MAX_PAGE_ORDER) * ps", "(1 << MAX_PAGE_ORDER) * ps", "(2 << MAX_PAGE_ORDER) * ps"}[g.r.IntN(5)]
	g.line(`n%d = %s + %d`, g.i, mult, g.r.IntN(64))
	g.line(`ask("kvmalloc(%%d, %s): kmalloc or vmalloc?" %% n%d, choices=["kmalloc", "vmalloc", "NULL"], answer=lambda p: "NULL" if p == None else "vmalloc" if is_vmalloc_addr(p) else "kmalloc")`, flags, g.i)
	g.line(`p%d = kvmalloc(n%d, %s)`, g.i, g.i, flags)
	g.line(`kvfree(p%d)`, g.i)
}

func (g *practiceGen) kvec() {
	elem := []int{1, 4, 8, 24}[g.r.IntN(4)]
	n := g.r.IntN(20)
	g.line(`v%d = kvec(%d)`, g.i, elem)
	g.line(`for i in range(%d):
    v%d.push(i %% 200)`, n, g.i)
	g.line(`ask("A KVec of %d-byte elements holds %%d of capacity %%d. What is its capacity after one more push?" %% (v%d.len, v%d.cap), choices=caps(v%d), answer=lambda r: str(v%d.cap))`,
		elem, g.i, g.i, g.i, g.i)
	g.line(`v%d.push(1)`, g.i)
	g.line(`drop(v%d)`, g.i)
	if !strings.Contains(g.b.String(), "def caps(") {
		s := g.b.String()
		at := strings.Index(s, "def classes(")
		g.b.Reset()
		g.b.WriteString(s[:at] + `def caps(v):
    out = []
    for c in [v.cap, v.cap + 1, 2 * v.cap, max(4, 2 * v.cap), 8]:
        if c > 0 and str(c) not in out:
            out.append(str(c))
    return sorted(out, key=int)
` + s[at:])
	}
}

// practiceNames lists the topics for usage.
func PracticeNames() string {
	var names []string
	for _, t := range PracticeTopics {
		names = append(names, t.Name)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

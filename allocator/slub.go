package allocator

// slubState holds SLUB: the caches and the kmalloc arrays. Filled in by the
// SLUB implementation.
type slubState struct{}

// slab is one slab of a cache (struct slab). Filled in by the SLUB
// implementation.
type slab struct{}

func (m *Machine) initSlub() error { return nil }

// slabCacheName names the cache a slab belongs to, "" for nil.
func (m *Machine) slabCacheName(s *slab) string { return "" }

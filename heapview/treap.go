package heapview

import "unsafe"

// treap is an ordered map from uint64 keys to values, persistent through
// the same epoch rule as vec: a state copies the nodes on the path it
// changes unless they carry its epoch. Priorities are a hash of the key, so
// the shape depends only on the set of keys and runs are deterministic.
type treap[V any] struct {
	root   *tnode[V]
	n      int    // entries
	copied uint64 // bytes of nodes copied since the count was reset (what a checkpoint keeps)
}

type tnode[V any] struct {
	key         uint64 // a search tree on key, a max-heap on mix(key)
	epoch       uint64 // the epoch of the state that made or copied the node
	left, right *tnode[V]
	val         V
}

// mix is splitmix64's finaliser, used as the node priority.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

func (t *treap[V]) own(n *tnode[V], epoch uint64) *tnode[V] {
	if n.epoch == epoch {
		return n
	}
	c := *n
	c.epoch = epoch
	t.copied += uint64(unsafe.Sizeof(c))
	return &c
}

// get returns the value at key.
func (t *treap[V]) get(key uint64) (*V, bool) {
	for n := t.root; n != nil; {
		switch {
		case key < n.key:
			n = n.left
		case key > n.key:
			n = n.right
		default:
			return &n.val, true
		}
	}
	return nil, false
}

// floor returns the entry with the largest key <= key.
func (t *treap[V]) floor(key uint64) (uint64, *V, bool) {
	var best *tnode[V]
	for n := t.root; n != nil; {
		if n.key <= key {
			best = n
			n = n.right
		} else {
			n = n.left
		}
	}
	if best == nil {
		return 0, nil, false
	}
	return best.key, &best.val, true
}

// set stores val at key and returns the value it replaced.
func (t *treap[V]) set(epoch, key uint64, val V) (old V, had bool) {
	t.root, old, had = t.insert(t.root, epoch, key, val)
	if !had {
		t.n++
	}
	return old, had
}

func (t *treap[V]) insert(n *tnode[V], epoch, key uint64, val V) (*tnode[V], V, bool) {
	var zero V
	if n == nil {
		return &tnode[V]{key: key, epoch: epoch, val: val}, zero, false
	}
	n = t.own(n, epoch)
	var old V
	var had bool
	switch {
	case key < n.key:
		n.left, old, had = t.insert(n.left, epoch, key, val)
		if mix(n.left.key) > mix(n.key) {
			l := n.left
			n.left, l.right = l.right, n
			n = l
		}
	case key > n.key:
		n.right, old, had = t.insert(n.right, epoch, key, val)
		if mix(n.right.key) > mix(n.key) {
			r := n.right
			n.right, r.left = r.left, n
			n = r
		}
	default:
		old, had = n.val, true
		n.val = val
	}
	return n, old, had
}

// del removes key and returns the value it held.
func (t *treap[V]) del(epoch, key uint64) (old V, had bool) {
	t.root, old, had = t.remove(t.root, epoch, key)
	if had {
		t.n--
	}
	return old, had
}

func (t *treap[V]) remove(n *tnode[V], epoch, key uint64) (*tnode[V], V, bool) {
	var zero V
	if n == nil {
		return nil, zero, false
	}
	switch {
	case key < n.key:
		l, old, had := t.remove(n.left, epoch, key)
		if !had {
			return n, zero, false
		}
		n = t.own(n, epoch)
		n.left = l
		return n, old, true
	case key > n.key:
		r, old, had := t.remove(n.right, epoch, key)
		if !had {
			return n, zero, false
		}
		n = t.own(n, epoch)
		n.right = r
		return n, old, true
	}
	return t.join(n.left, n.right, epoch), n.val, true
}

// join merges two treaps whose keys are all ordered a < b.
func (t *treap[V]) join(a, b *tnode[V], epoch uint64) *tnode[V] {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	case mix(a.key) > mix(b.key):
		a = t.own(a, epoch)
		a.right = t.join(a.right, b, epoch)
		return a
	default:
		b = t.own(b, epoch)
		b.left = t.join(a, b.left, epoch)
		return b
	}
}

// ascend calls fn for each entry with key >= from in key order until fn
// returns false.
func (t *treap[V]) ascend(from uint64, fn func(key uint64, v *V) bool) {
	ascend(t.root, from, fn)
}

func ascend[V any](n *tnode[V], from uint64, fn func(uint64, *V) bool) bool {
	for n != nil {
		if n.key >= from {
			if !ascend(n.left, from, fn) || !fn(n.key, &n.val) {
				return false
			}
		}
		n = n.right
	}
	return true
}

package ocsvm

// cache keeps kernel columns, most recently used last, within a budget counted in float32
// values, the way libsvm's Cache does: a column may be cached for only its first len entries
// (the active set when it was asked for) and is extended when a longer prefix is wanted.
// Evicting a column only drops the reference, so a column slice handed out earlier stays
// valid (and correct) for as long as the caller holds it.
type cache struct {
	size int // free budget in float32 values
	cols [][]float32
	// prev and next form a circular doubly-linked LRU list over column indices, with the
	// sentinel at index len(cols).
	prev, next []int32
	// pending holds swaps (i < j) not yet applied inside the cached columns.
	pending [][2]int32
}

// newCache returns a cache for l columns within bytes bytes (at least two full columns).
func newCache(l int, bytes int64) *cache {
	size := bytes / 4
	size -= int64(l) * 32 / 4 // libsvm charges its per-column header against the budget
	size = max(size, 2*int64(l))
	c := &cache{
		size: int(min(size, int64(^uint(0)>>2))),
		cols: make([][]float32, l),
		prev: make([]int32, l+1),
		next: make([]int32, l+1),
	}
	c.prev[l], c.next[l] = int32(l), int32(l)
	return c
}

func (c *cache) unlink(h int) {
	p, n := c.prev[h], c.next[h]
	c.next[p] = n
	c.prev[n] = p
}

// link appends h at the most-recently-used end.
func (c *cache) link(h int) {
	s := int32(len(c.cols))
	p := c.prev[s]
	c.next[h] = s
	c.prev[h] = p
	c.next[p] = int32(h)
	c.prev[s] = int32(h)
}

func (c *cache) evict(h int) {
	c.unlink(h)
	c.size += len(c.cols[h])
	c.cols[h] = nil
}

// get returns column index with room for n values and the position from which the caller must
// fill it (n or more when nothing is missing). The returned slice has length n.
func (c *cache) get(index, n int) ([]float32, int) {
	have := len(c.cols[index])
	if have > 0 {
		c.unlink(index)
	}
	more := n - have
	if more > 0 {
		s := len(c.cols)
		for c.size < more {
			c.evict(int(c.next[s]))
		}
		col := make([]float32, n)
		copy(col, c.cols[index])
		c.cols[index] = col
		c.size -= more
	}
	c.link(index)
	return c.cols[index][:n], have
}

// room returns how many more columns of n values fit without evicting.
func (c *cache) room(n int) int { return c.size / max(n, 1) }

// put stores a new column of n values at the most-recently-used end, for a caller that checked
// room first and fills it itself. index must not be cached.
func (c *cache) put(index, n int) []float32 {
	c.cols[index] = make([]float32, n)
	c.size -= n
	c.link(index)
	return c.cols[index]
}

// swap exchanges positions i and j: whole columns now, and rows i and j inside every cached
// column when flushSwaps runs. libsvm walks every cached column at each swap; shrinking swaps
// many positions at once, so deferring the in-column swaps and doing them column by column
// (each column then touched once, while it is in the CPU cache) is much cheaper and ends in
// the same state. Nothing may read the cache between swap and flushSwaps.
func (c *cache) swap(i, j int) {
	if i == j {
		return
	}
	if len(c.cols[i]) > 0 {
		c.unlink(i)
	}
	if len(c.cols[j]) > 0 {
		c.unlink(j)
	}
	c.cols[i], c.cols[j] = c.cols[j], c.cols[i]
	if len(c.cols[i]) > 0 {
		c.link(i)
	}
	if len(c.cols[j]) > 0 {
		c.link(j)
	}
	c.pending = append(c.pending, [2]int32{int32(min(i, j)), int32(max(i, j))})
}

// flushSwaps applies the pending swaps, in order, inside every cached column, dropping a
// column as soon as one of them has i inside it and j beyond its end.
func (c *cache) flushSwaps() {
	if len(c.pending) == 0 {
		return
	}
	s := len(c.cols)
	for h := int(c.next[s]); h != s; {
		next := int(c.next[h])
		col := c.cols[h]
		n := int32(len(col))
		for _, p := range c.pending {
			if n <= p[0] {
				continue
			}
			if n <= p[1] {
				c.evict(h)
				break
			}
			col[p[0]], col[p[1]] = col[p[1]], col[p[0]]
		}
		h = next
	}
	c.pending = c.pending[:0]
}

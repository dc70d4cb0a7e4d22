package neighbors

import "math/bits"

// nth is std::nth_element as libstdc++ 12 implements it (bits/stl_algo.h __introselect,
// bits/stl_heap.h), with scikit-learn's IndexComparator: row a sorts before row b when its value
// in column dim is smaller, or equal with a smaller row index. After it, a[n] is the element a
// full sort would put there, smaller ones before it and larger ones after. The exact element
// order on each side matters to skTree, so every step follows libstdc++.
func nth(a []int32, n int, data []float64, d, dim int) {
	if len(a) == 0 || n == len(a) {
		return
	}
	c := byColumn{data: data, d: d, dim: dim}
	first, last := 0, len(a)
	depth := 2 * (bits.Len(uint(len(a))) - 1) // 2 * __lg(n)
	for last-first > 3 {
		if depth == 0 {
			heapSelect(a[first:last], n-first+1, c)
			a[first], a[n] = a[n], a[first]
			return
		}
		depth--
		cut := partitionPivot(a, first, last, c)
		if cut <= n {
			first = cut
		} else {
			last = cut
		}
	}
	insertionSort(a[first:last], c)
}

// partitionPivot is __unguarded_partition_pivot: median of a[first+1], a[mid], a[last-1]
// moved to a[first], then an unguarded partition of [first+1, last) around it.
func partitionPivot(a []int32, first, last int, c byColumn) int {
	mid := first + (last-first)/2
	x, y, z := first+1, mid, last-1
	switch {
	case c.less(a[x], a[y]):
		switch {
		case c.less(a[y], a[z]):
			a[first], a[y] = a[y], a[first]
		case c.less(a[x], a[z]):
			a[first], a[z] = a[z], a[first]
		default:
			a[first], a[x] = a[x], a[first]
		}
	case c.less(a[x], a[z]):
		a[first], a[x] = a[x], a[first]
	case c.less(a[y], a[z]):
		a[first], a[z] = a[z], a[first]
	default:
		a[first], a[y] = a[y], a[first]
	}
	pivot := a[first]
	lo, hi := first+1, last
	for {
		for c.less(a[lo], pivot) {
			lo++
		}
		hi--
		for c.less(pivot, a[hi]) {
			hi--
		}
		if lo >= hi {
			return lo
		}
		a[lo], a[hi] = a[hi], a[lo]
		lo++
	}
}

// insertionSort is __insertion_sort.
func insertionSort(a []int32, c byColumn) {
	for i := 1; i < len(a); i++ {
		v := a[i]
		if c.less(v, a[0]) {
			copy(a[1:i+1], a[:i])
			a[0] = v
			continue
		}
		j := i
		for c.less(v, a[j-1]) {
			a[j] = a[j-1]
			j--
		}
		a[j] = v
	}
}

// heapSelect is __heap_select(first, middle, last) with middle = first + m.
func heapSelect(a []int32, m int, c byColumn) {
	h := a[:m]
	if m >= 2 {
		for parent := (m - 2) / 2; ; parent-- {
			adjustHeap(h, parent, m, h[parent], c)
			if parent == 0 {
				break
			}
		}
	}
	for i := m; i < len(a); i++ {
		if c.less(a[i], a[0]) {
			v := a[i]
			a[i] = a[0]
			adjustHeap(h, 0, m, v, c)
		}
	}
}

// adjustHeap is __adjust_heap followed by __push_heap.
func adjustHeap(h []int32, hole, n int, v int32, c byColumn) {
	top := hole
	child := hole
	for child < (n-1)/2 {
		child = 2 * (child + 1)
		if c.less(h[child], h[child-1]) {
			child--
		}
		h[hole] = h[child]
		hole = child
	}
	if n&1 == 0 && child == (n-2)/2 {
		child = 2 * (child + 1)
		h[hole] = h[child-1]
		hole = child - 1
	}
	parent := (hole - 1) / 2
	for hole > top && c.less(h[parent], v) {
		h[hole] = h[parent]
		hole = parent
		parent = (hole - 1) / 2
	}
	h[hole] = v
}

// byColumn is scikit-learn's IndexComparator, a concrete type so that its calls inline.
type byColumn struct {
	data   []float64
	d, dim int
}

func (c byColumn) less(x, y int32) bool {
	vx, vy := c.data[int(x)*c.d+c.dim], c.data[int(y)*c.d+c.dim]
	if vx == vy {
		return x < y
	}
	return vx < vy
}

// selectKeyed reorders keys and ids together so that position nth holds the element a sort by
// (key, id) would put there, smaller ones before it and larger ones after (Hoare quickselect,
// median of three). It is the one median split of the package: pcOrder's over projections
// (float32) and buildTree's over a column (float64, the keys gathered first, which keeps the
// comparisons on contiguous memory).
func selectKeyed[K float32 | float64](keys []K, ids []int32, nth int) {
	less := func(a, b int) bool {
		return keys[a] < keys[b] || (keys[a] == keys[b] && ids[a] < ids[b])
	}
	swap := func(a, b int) {
		keys[a], keys[b] = keys[b], keys[a]
		ids[a], ids[b] = ids[b], ids[a]
	}
	lo, hi := 0, len(keys)-1
	for hi > lo {
		mid := lo + (hi-lo)/2
		if less(mid, lo) {
			swap(mid, lo)
		}
		if less(hi, lo) {
			swap(hi, lo)
		}
		if less(hi, mid) {
			swap(hi, mid)
		}
		pk, pi := keys[mid], ids[mid]
		i, j := lo, hi
		for i <= j {
			for keys[i] < pk || (keys[i] == pk && ids[i] < pi) {
				i++
			}
			for pk < keys[j] || (keys[j] == pk && pi < ids[j]) {
				j--
			}
			if i <= j {
				swap(i, j)
				i++
				j--
			}
		}
		switch {
		case nth <= j:
			hi = j
		case nth >= i:
			lo = i
		default:
			return
		}
	}
}

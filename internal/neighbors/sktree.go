package neighbors

import (
	"context"
	"math"
	"math/bits"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/internal/parallel"
	"github.com/gonomaly/gonomaly/internal/progress"
)

// skTree is scikit-learn 1.2's KDTree, reproduced step for step so that when several rows tie
// at the k-th neighbour distance, the same ones are kept: scikit-learn keeps the tied row its
// depth-first walk meets first, so the walk order, and with it the tree layout down to the
// order of rows inside each leaf, decides which rows are neighbours (and so every LOF value
// near duplicate or discrete data).
//
// What is copied (sklearn/neighbors/_binary_tree.pxi, _kd_tree.pyx, _partition_nodes.pyx,
// utils/_heap.pyx and _sorting.pyx, 1.2.1):
//   - n_levels = int(log2(max(1, (n-1)/leaf_size)) + 1) levels in a complete binary tree of
//     2^n_levels - 1 nodes, node i's children at 2i+1 and 2i+2;
//   - each inner node splits its rows on the dimension of largest spread (the first on ties)
//     at position n_points/2 with std::nth_element (libstdc++'s introselect) ordering row
//     indices by value, then by index;
//   - node bounds are the min and max of the node's rows;
//   - the query walks depth first, prunes a node whose min_rdist exceeds the current k-th
//     best, visits the nearer child first (the left one on ties), scans a leaf in index-array
//     order and pushes a row into the max-heap only when strictly nearer than the k-th best;
//   - results are sorted by scikit-learn's simultaneous_sort, and a training query drops the
//     row itself from its k+1 neighbours (or the first one when duplicates crowd it out).
type skTree struct {
	n, d int
	data []float64 // the rows, in the order given
	idx  []int32   // idx_array
	// cols holds each leaf's rows column by column: the leaf of idx_array positions
	// [lo, hi) keeps column j of its row lo+r at cols[lo*d + j*(hi-lo) + r]. A leaf scan then
	// runs down columns, over independent rows, rather than along one row's dependent sum.
	cols    []float64
	maxLeaf int     // the most rows in a leaf
	start   []int32 // per node: idx_start
	end     []int32 // per node: idx_end
	leaf    []bool
	bounds  []float64 // per node: d lower bounds then d upper bounds
}

// skLeafSize is scikit-learn's default leaf_size for LocalOutlierFactor and NearestNeighbors.
const skLeafSize = 30

func buildSKTree(X *dataset.Matrix, leafSize, workers int) *skTree {
	n, d := X.Rows, X.Cols
	levels := int(math.Log2(math.Max(1, float64(n-1)/float64(leafSize))) + 1)
	nodes := 1<<levels - 1
	t := &skTree{
		n: n, d: d,
		data:   append([]float64(nil), X.Data...),
		idx:    make([]int32, n),
		start:  make([]int32, nodes),
		end:    make([]int32, nodes),
		leaf:   make([]bool, nodes),
		bounds: make([]float64, nodes*2*d),
	}
	for i := range t.idx {
		t.idx[i] = int32(i)
	}
	// Subtrees touch disjoint nodes and disjoint ranges of idx, so the top ones are built
	// concurrently; the tree is the same whatever the number of goroutines.
	spawn := 0
	if w := parallel.Workers(workers, n/(4*buildGrain)); w > 1 {
		spawn = bits.Len(uint(w - 1))
	}
	t.build(0, 0, n, spawn)
	t.cols = make([]float64, n*d)
	for node, leaf := range t.leaf {
		if !leaf {
			continue
		}
		lo, hi := int(t.start[node]), int(t.end[node])
		m := hi - lo
		t.maxLeaf = max(t.maxLeaf, m)
		for r, i := range t.idx[lo:hi] {
			for j, v := range t.data[int(i)*d : int(i)*d+d] {
				t.cols[lo*d+j*m+r] = v
			}
		}
	}
	return t
}

// buildGrain is the fewest rows for which a subtree is worth a goroutine of its own.
const buildGrain = 4096

// build is _recursive_build with init_node: node's bounds are the minimum and maximum of its
// rows; it splits unless it is at the bottom level or holds fewer than two rows. The first
// spawn levels build their right child on a new goroutine; a panic there is raised again on
// the goroutine that started it.
func (t *skTree) build(node, lo, hi, spawn int) {
	d := t.d
	b := t.bounds[node*2*d : (node+1)*2*d]
	copy(b[:d], t.data[int(t.idx[lo])*d:int(t.idx[lo])*d+d])
	copy(b[d:], b[:d])
	for _, r := range t.idx[lo+1 : hi] {
		row := t.data[int(r)*d : int(r)*d+d]
		for j, v := range row {
			// Plain comparisons rather than fmin and fmax: they agree on all but NaN (which
			// scikit-learn refuses, as do our readers and detectors) and signed zeros (which
			// change neither a spread nor min_rdist).
			if v < b[j] {
				b[j] = v
			}
			if v > b[d+j] {
				b[d+j] = v
			}
		}
	}
	t.start[node], t.end[node] = int32(lo), int32(hi)
	if 2*node+1 >= len(t.start) || hi-lo < 2 {
		t.leaf[node] = true
		return
	}
	// find_node_split_dim: the dimension of largest max - min, the first on ties. Its
	// maxima and minima are the node's bounds.
	dim, spread := 0, 0.0
	for j := 0; j < d; j++ {
		if s := b[d+j] - b[j]; s > spread {
			dim, spread = j, s
		}
	}
	mid := lo + (hi-lo)/2
	nth(t.idx[lo:hi], mid-lo, t.data, d, dim)
	if spawn > 0 && hi-lo >= 2*buildGrain {
		wait := parallel.Go(func() { t.build(2*node+2, mid, hi, spawn-1) })
		t.build(2*node+1, lo, mid, spawn-1)
		// A panic on the other goroutine is raised again here, where Build recovers it.
		if err := wait(); err != nil {
			panic(err)
		}
		return
	}
	t.build(2*node+1, lo, mid, 0)
	t.build(2*node+2, mid, hi, 0)
}

// minRDist is min_rdist of _kd_tree.pyx for p = 2: the sum over columns of
// (0.5 * ((d_lo + |d_lo|) + (d_hi + |d_hi|)))^2 with d_lo = lo - q and d_hi = q - hi. At most
// one of d_lo, d_hi is positive (lo <= hi, and a difference has the sign of the exact one), and
// 0.5 * (x + |x|) is exactly x when x > 0, 0 otherwise (2x overflows only where x*x does), so
// the term is the square of the positive one, or 0: the same value, without the sign masks
// (and without branches, which the walk mispredicts often).
func (t *skTree) minRDist(node int, q []float64) float64 {
	d := t.d
	b := t.bounds[node*2*d : (node+1)*2*d]
	lo, hi := b[:len(q)], b[d:d+len(q)]
	var r float64
	for j, v := range q {
		x := max(lo[j]-v, v-hi[j], 0)
		r += float64(x * x)
	}
	return r
}

// skHeap is one query's NeighborsHeap row: a max-heap of squared distances of fixed size,
// with the scratch space of a leaf scan.
type skHeap struct {
	dist []float64
	idx  []int32
	part []float64 // partial sums of a leaf's rows
	live []int32   // the rows of a leaf still in the running
}

func (h *skHeap) reset() {
	for i := range h.dist {
		h.dist[i] = math.Inf(1)
		h.idx[i] = 0
	}
}

// push is heap_push of sklearn/utils/_heap.pyx.
func (h *skHeap) push(val float64, id int32) {
	v, ix := h.dist, h.idx
	size := len(v)
	if val >= v[0] {
		return
	}
	cur := 0
	for {
		l := 2*cur + 1
		r := l + 1
		var sw int
		switch {
		case l >= size:
			v[cur], ix[cur] = val, id
			return
		case r >= size:
			if v[l] > val {
				sw = l
			} else {
				v[cur], ix[cur] = val, id
				return
			}
		case v[l] >= v[r]:
			if val < v[l] {
				sw = l
			} else {
				v[cur], ix[cur] = val, id
				return
			}
		default:
			if val < v[r] {
				sw = r
			} else {
				v[cur], ix[cur] = val, id
				return
			}
		}
		v[cur], ix[cur] = v[sw], ix[sw]
		cur = sw
	}
}

// query is _query_single_depthfirst, except that it also skips a node whose min_rdist equals
// the k-th best distance (scikit-learn walks into it). That cannot change the answer: a row
// enters the heap only when strictly nearer than the k-th best, and no row of the node is
// nearer than its min_rdist, in floating point too (each term of min_rdist is the square of a
// difference no larger than the row's own, and the terms are added in the same order). On
// data with many tied distances, such as duplicates (where the k-th best reaches 0), this
// spares most of the walk.
func (t *skTree) query(node int, q []float64, h *skHeap, lb float64) {
	if lb >= h.dist[0] {
		return
	}
	if t.leaf[node] {
		t.scanLeaf(node, q, h)
		return
	}
	i1, i2 := 2*node+1, 2*node+2
	lb1, lb2 := t.minRDist(i1, q), t.minRDist(i2, q)
	if lb1 <= lb2 {
		t.query(i1, q, h, lb1)
		t.query(i2, q, h, lb2)
	} else {
		t.query(i2, q, h, lb2)
		t.query(i1, q, h, lb1)
	}
}

// headCols is how many leading columns scanLeaf sums for every row of a leaf before it looks
// at the bound: enough to turn most rows away, few enough not to waste work on the rest.
const headCols = 4

// scanLeaf is the leaf case of _query_single_depthfirst: every row of the leaf, in idx_array
// order, is pushed when its squared distance (the sum of squares in column order, as
// euclidean_rdist adds it) is below the k-th best at that moment. It sums the leading
// headCols columns of every row, then the other columns of the rows whose partial sums are
// still below the bound, then offers the survivors in order. That is exact: adding
// non-negative terms never lowers a floating-point sum, so a row whose partial sum reaches the
// bound would not be pushed; and the bound only falls as rows are pushed, so the bound at the
// leaf's start turns away no row that the bound at the row's turn would keep.
func (t *skTree) scanLeaf(node int, q []float64, h *skHeap) {
	d := t.d
	lo, hi := int(t.start[node]), int(t.end[node])
	m := hi - lo
	leaf := t.cols[lo*d : hi*d]
	part := h.part[:m]
	head := min(d, headCols)
	// float64() keeps each product rounded on its own: no fused multiply-add, so the sums are
	// scikit-learn's bit for bit whatever GOAMD64 allows. 0 + x*x is x*x, so the first column
	// starts the sums.
	q0 := q[0]
	for r, v := range leaf[:m] {
		x := q0 - v
		part[r] = float64(x * x)
	}
	for j := 1; j < head; j++ {
		qj := q[j]
		col := leaf[j*m : (j+1)*m]
		col = col[:len(part)]
		for r, v := range col {
			x := qj - v
			part[r] += float64(x * x)
		}
	}
	// Keep the rows still below the bound, without a branch to mispredict on each.
	bound := h.dist[0]
	live := h.live[:m]
	n := 0
	for r, s := range part {
		live[n] = int32(r)
		n += b2i(s < bound)
	}
	live = live[:n]
	for j := head; j < d; j++ {
		qj := q[j]
		col := leaf[j*m : (j+1)*m]
		for _, r := range live {
			x := qj - col[r]
			part[r] += float64(x * x)
		}
	}
	for _, r := range live {
		if s := part[r]; s < h.dist[0] {
			h.push(s, t.idx[lo+int(r)])
		}
	}
}

// b2i is 1 for true, 0 for false; the compiler makes it a SETcc, not a branch.
func b2i(b bool) int {
	var i int
	if b {
		i = 1
	}
	return i
}

// kneighbors answers queries Q (or the training rows when Q is nil, scikit-learn's
// kneighbors(X=None)) into dist and idx, n x k row-major, as scikit-learn orders them.
func (t *skTree) kneighbors(ctx context.Context, Q *dataset.Matrix, k, workers int, dist []float64, idx []int32) error {
	nq, kk := t.n, k+1
	if Q != nil {
		nq, kk = Q.Rows, k
	}
	kk = min(kk, t.n)
	w := parallel.Workers(workers, (nq+63)/64)
	heaps := make([]skHeap, w)
	for i := range heaps {
		heaps[i] = skHeap{dist: make([]float64, kk), idx: make([]int32, kk), part: make([]float64, t.maxLeaf), live: make([]int32, t.maxLeaf)}
	}
	pc := progress.Start(ctx, "neighbours", int64(nq))
	defer pc.Stop()
	return parallel.For(ctx, nq, 64, w, func(wk, lo, hi int) {
		h := &heaps[wk]
		defer pc.Add(int64(hi - lo))
		for p := lo; p < hi; p++ {
			// Training rows are answered in tree order: consecutive queries then walk the
			// same paths and meet the same leaves, which stay in cache.
			var q []float64
			i := p
			if Q != nil {
				q = Q.Row(i)
			} else {
				i = int(t.idx[p])
				q = t.data[i*t.d : (i+1)*t.d]
			}
			h.reset()
			t.query(0, q, h, t.minRDist(0, q))
			simultaneousSort(h.dist, h.idx)
			od, oi := dist[i*k:(i+1)*k], idx[i*k:(i+1)*k]
			if Q != nil {
				for j := range od {
					od[j], oi[j] = math.Sqrt(h.dist[j]), h.idx[j]
				}
				continue
			}
			// Drop the row itself; if duplicates crowded it out, drop the first neighbour.
			skip := 0
			for j, id := range h.idx {
				if id == int32(i) {
					skip = j
					break
				}
			}
			o := 0
			for j := range h.idx {
				if j == skip {
					continue
				}
				od[o], oi[o] = math.Sqrt(h.dist[j]), h.idx[j]
				o++
			}
		}
	})
}

// simultaneousSort is scikit-learn 1.2's simultaneous_sort (utils/_sorting.pyx): a quicksort
// with a median-of-three pivot, sorting idx alongside dist.
func simultaneousSort(v []float64, ix []int32) {
	swap := func(a, b int) {
		v[a], v[b] = v[b], v[a]
		ix[a], ix[b] = ix[b], ix[a]
	}
	size := len(v)
	switch {
	case size <= 1:
	case size == 2:
		if v[0] > v[1] {
			swap(0, 1)
		}
	case size == 3:
		if v[0] > v[1] {
			swap(0, 1)
		}
		if v[1] > v[2] {
			swap(1, 2)
			if v[0] > v[1] {
				swap(0, 1)
			}
		}
	default:
		p := size / 2
		if v[0] > v[size-1] {
			swap(0, size-1)
		}
		if v[size-1] > v[p] {
			swap(size-1, p)
			if v[0] > v[size-1] {
				swap(0, size-1)
			}
		}
		pv := v[size-1]
		store := 0
		for i := 0; i < size-1; i++ {
			if v[i] < pv {
				swap(i, store)
				store++
			}
		}
		swap(store, size-1)
		if store > 1 {
			simultaneousSort(v[:store], ix[:store])
		}
		if store+2 < size {
			simultaneousSort(v[store+1:], ix[store+1:])
		}
	}
}

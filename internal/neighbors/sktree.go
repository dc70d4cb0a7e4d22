package neighbors

import (
	"context"
	"math"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/internal/parallel"
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
	n, d   int
	data   []float64 // the rows, in the order given
	idx    []int32   // idx_array
	rows   []float64 // the rows in idx_array order, so a leaf's rows lie together
	start  []int32   // per node: idx_start
	end    []int32   // per node: idx_end
	leaf   []bool
	bounds []float64 // per node: d lower bounds then d upper bounds
}

// skLeafSize is scikit-learn's default leaf_size for LocalOutlierFactor and NearestNeighbors.
const skLeafSize = 30

func buildSKTree(X *dataset.Matrix, leafSize int) *skTree {
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
	t.build(0, 0, n)
	t.rows = make([]float64, n*d)
	for p, r := range t.idx {
		copy(t.rows[p*d:(p+1)*d], t.data[int(r)*d:int(r)*d+d])
	}
	return t
}

func (t *skTree) build(node, lo, hi int) {
	d := t.d
	b := t.bounds[node*2*d : (node+1)*2*d]
	for j := 0; j < d; j++ {
		b[j], b[d+j] = math.Inf(1), math.Inf(-1)
	}
	for _, r := range t.idx[lo:hi] {
		row := t.data[int(r)*d : int(r)*d+d]
		for j, v := range row {
			b[j] = math.Min(b[j], v)
			b[d+j] = math.Max(b[d+j], v)
		}
	}
	t.start[node], t.end[node] = int32(lo), int32(hi)
	if 2*node+1 >= len(t.start) || hi-lo < 2 {
		t.leaf[node] = true
		return
	}
	nodeIdx := t.idx[lo:hi]
	dim := t.splitDim(nodeIdx)
	nth(nodeIdx, (hi-lo)/2, t.data, d, dim)
	mid := lo + (hi-lo)/2
	t.build(2*node+1, lo, mid)
	t.build(2*node+2, mid, hi)
}

// splitDim is find_node_split_dim: the dimension of largest max - min, the first on ties.
func (t *skTree) splitDim(nodeIdx []int32) int {
	d := t.d
	best, spread := 0, 0.0
	for j := 0; j < d; j++ {
		hi := t.data[int(nodeIdx[0])*d+j]
		lo := hi
		for _, r := range nodeIdx[1:] {
			v := t.data[int(r)*d+j]
			hi = math.Max(hi, v)
			lo = math.Min(lo, v)
		}
		if s := hi - lo; s > spread {
			best, spread = j, s
		}
	}
	return best
}

// minRDist is min_rdist of _kd_tree.pyx for p = 2, with its exact arithmetic.
func (t *skTree) minRDist(node int, q []float64) float64 {
	d := t.d
	b := t.bounds[node*2*d : (node+1)*2*d]
	var r float64
	for j, v := range q {
		dlo := b[j] - v
		dhi := v - b[d+j]
		x := 0.5 * ((dlo + math.Abs(dlo)) + (dhi + math.Abs(dhi)))
		r += float64(x * x)
	}
	return r
}

// skHeap is one query's NeighborsHeap row: a max-heap of squared distances of fixed size.
type skHeap struct {
	dist []float64
	idx  []int32
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

// query is _query_single_depthfirst. It returns early once the k-th best distance is 0:
// then no row can be strictly nearer, so the rest of scikit-learn's walk (which it still does,
// through every leaf holding a duplicate of the query) cannot change the answer.
func (t *skTree) query(node int, q []float64, h *skHeap, lb float64) {
	if lb > h.dist[0] || h.dist[0] == 0 {
		return
	}
	if t.leaf[node] {
		d := t.d
		lo, hi := int(t.start[node]), int(t.end[node])
		rows := t.rows[lo*d : hi*d]
		for p := lo; p < hi; p++ {
			row := rows[(p-lo)*d : (p-lo+1)*d]
			row = row[:len(q)]
			bound := h.dist[0]
			// The sum of squares in column order, as scikit-learn adds it; once a partial sum
			// reaches the bound the row cannot be strictly nearer, so the rest is skipped
			// (checked every four columns: the check costs more than a few more terms).
			var s float64
			j := 0
			for ; j+4 <= len(q); j += 4 {
				x0 := q[j] - row[j]
				x1 := q[j+1] - row[j+1]
				x2 := q[j+2] - row[j+2]
				x3 := q[j+3] - row[j+3]
				// float64() keeps each product rounded on its own: no fused multiply-add, so
				// the sum is scikit-learn's bit for bit whatever GOAMD64 allows.
				s += float64(x0 * x0)
				s += float64(x1 * x1)
				s += float64(x2 * x2)
				s += float64(x3 * x3)
				if s >= bound {
					break
				}
			}
			if s < bound {
				for ; j < len(q); j++ {
					x := q[j] - row[j]
					s += float64(x * x)
				}
			}
			if s < bound {
				h.push(s, t.idx[p])
			}
		}
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
		heaps[i] = skHeap{dist: make([]float64, kk), idx: make([]int32, kk)}
	}
	return parallel.For(ctx, nq, 64, w, func(wk, lo, hi int) {
		h := &heaps[wk]
		for p := lo; p < hi; p++ {
			// Training rows are answered in tree order: consecutive queries then walk the
			// same paths and meet the same leaves, which stay in cache.
			var q []float64
			i := p
			if Q != nil {
				q = Q.Row(i)
			} else {
				i = int(t.idx[p])
				q = t.rows[p*t.d : (p+1)*t.d]
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

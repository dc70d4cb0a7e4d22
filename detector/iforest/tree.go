package iforest

import (
	"math"
	"slices"

	"github.com/gonomaly/gonomaly/dataset"
)

// featureThreshold is scikit-learn's FEATURE_THRESHOLD: a feature whose float32 range in a
// node is at most this is constant there and cannot split it.
const featureThreshold float32 = 1e-7

// builder grows trees on one worker; its buffers are reused from tree to tree.
type builder struct {
	X         *dataset.Matrix
	psi, k    int
	depth     int
	block     int // a node stores feature*block
	bootstrap bool

	rng   rng
	feats []int32   // the tree's columns (indices into X), a random subset when k < cols
	perm  []int     // positions into feats, shuffled while looking for a non-constant feature
	rows  []int32   // the tree's rows
	set   []int32   // open-addressing hash set for sampling without replacement (key+1, 0 empty)
	cols  []float32 // the sample, column by column: cols[f*m+s] = float32(X[rows[s], feats[f]])
	idx   []int32   // sample positions, partitioned in place as the tree grows
	m     int       // distinct rows in the current tree

	offs   []uint32
	keys   []uint32
	leaves []float64
}

func newBuilder(X *dataset.Matrix, psi, k, depth, block int, bootstrap bool) *builder {
	b := &builder{
		X: X, psi: psi, k: k, depth: depth, block: block, bootstrap: bootstrap,
		feats: make([]int32, X.Cols),
		perm:  make([]int, k),
		rows:  make([]int32, 0, psi),
		cols:  make([]float32, k*psi),
		idx:   make([]int32, psi),
	}
	if !bootstrap && psi < X.Rows {
		size := 1
		for size < 2*psi {
			size <<= 1
		}
		b.set = make([]int32, size)
	}
	return b
}

// grow builds one tree with random stream r into offs, keys and leaves (one complete tree).
func (b *builder) grow(r rng, offs []uint32, keys []uint32, leaves []float64) {
	b.rng = r
	b.offs, b.keys, b.leaves = offs, keys, leaves
	clear(offs)
	inf := key32(float32(math.Inf(1)))
	for i := range keys {
		keys[i] = inf // pass-through until split sets a node
	}
	n, cols := b.X.Rows, b.X.Cols

	// Columns: scikit-learn's bagging draws max_features of them without replacement.
	for j := range b.feats {
		b.feats[j] = int32(j)
	}
	if b.k < cols {
		for j := 0; j < b.k; j++ {
			s := j + b.rng.intn(cols-j)
			b.feats[j], b.feats[s] = b.feats[s], b.feats[j]
		}
	}
	for j := range b.perm {
		b.perm[j] = j
	}

	// Rows.
	b.rows = b.rows[:0]
	switch {
	case b.bootstrap:
		for range b.psi {
			b.rows = append(b.rows, int32(b.rng.intn(n)))
		}
		slices.Sort(b.rows)
		b.rows = slices.Compact(b.rows) // a repeated row is one sample with a larger weight
	case b.psi >= n:
		for i := range n {
			b.rows = append(b.rows, int32(i))
		}
	default:
		b.sampleFloyd(n)
		slices.Sort(b.rows) // for locality when gathering
	}
	m := len(b.rows)
	b.m = m

	// Gather the sample column by column in float32, as scikit-learn converts X.
	for s, row := range b.rows {
		x := b.X.Data[int(row)*cols : int(row+1)*cols]
		for f := 0; f < b.k; f++ {
			b.cols[f*m+s] = float32(x[b.feats[f]])
		}
	}
	for s := range m {
		b.idx[s] = int32(s)
	}
	b.split(0, 0, 0, m)
}

// sampleFloyd puts psi distinct rows of [0, n) into b.rows (Floyd's algorithm), in O(psi).
func (b *builder) sampleFloyd(n int) {
	clear(b.set)
	mask := uint64(len(b.set) - 1)
	insert := func(v int32) bool { // reports whether v was new
		h := (uint64(v) * 0x9E3779B97F4A7C15) >> 32 & mask
		for {
			switch b.set[h] {
			case 0:
				b.set[h] = v + 1
				return true
			case v + 1:
				return false
			}
			h = (h + 1) & mask
		}
	}
	for j := n - b.psi; j < n; j++ {
		t := int32(b.rng.intn(j + 1))
		if !insert(t) {
			t = int32(j)
			insert(t)
		}
		b.rows = append(b.rows, t)
	}
}

// split grows the subtree at complete-tree position p, depth d, over b.idx[lo:hi], following
// scikit-learn's ExtraTree random splitter with max_features=1: draw features without
// replacement until one is not constant in the node, then a threshold uniform in its
// [min, max) (max mapped back to min), rows with x <= threshold going left.
func (b *builder) split(p, d, lo, hi int) {
	if d < b.depth && hi-lo >= 2 {
		idx := b.idx[lo:hi]
		for j := 0; j < b.k; j++ {
			s := j + b.rng.intn(b.k-j)
			b.perm[j], b.perm[s] = b.perm[s], b.perm[j]
			f := b.perm[j]
			col := b.cols[f*b.m : (f+1)*b.m]
			mn, mx := col[idx[0]], col[idx[0]]
			for _, i := range idx[1:] {
				v := col[i]
				mn = min(mn, v)
				mx = max(mx, v)
			}
			if mx <= mn+featureThreshold {
				continue
			}
			lo64, hi64 := float64(mn), float64(mx)
			t64 := lo64 + (hi64-lo64)*b.rng.float64()
			if t64 == hi64 {
				t64 = lo64
			}
			thr := floor32(t64)
			// Partition: x <= thr to the front.
			a, z := 0, len(idx)
			for a < z {
				if col[idx[a]] <= thr {
					a++
				} else {
					z--
					idx[a], idx[z] = idx[z], idx[a]
				}
			}
			b.offs[p], b.keys[p] = uint32(b.feats[f])*uint32(b.block), key32(thr)
			b.split(2*p+1, d+1, lo, lo+a)
			b.split(2*p+2, d+1, lo+a, hi)
			return
		}
	}
	// A leaf: every padded leaf below it carries its value (only the leftmost is reachable).
	v := float64(d) + AveragePathLength(hi-lo)
	span := 1 << (b.depth - d)
	first := (p - (1<<d - 1)) * span
	leaves := b.leaves[first : first+span]
	for i := range leaves {
		leaves[i] = v
	}
}

// floor32 returns the largest float32 not above v, so that float32(x) <= floor32(v) exactly
// when float32(x) <= v.
func floor32(v float64) float32 {
	f := float32(v)
	if float64(f) > v {
		f = math.Nextafter32(f, float32(math.Inf(-1)))
	}
	return f
}

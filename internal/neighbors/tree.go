package neighbors

import (
	"cmp"
	"slices"

	"github.com/gonomaly/gonomaly/dataset"
)

// buildTree (used by the brute-force search, whose blocks of training rows are its leaves)
// splits the rows recursively at the median of the widest dimension of each node's
// bounding box until at most leaf rows remain, then copies the rows into tree order. Pruning
// uses the boxes, not the split planes, so rows equal to the median may fall on either side.
func (ix *Index) buildTree(X *dataset.Matrix, leaf int) {
	n, d := ix.n, ix.d
	ix.perm = make([]int32, n)
	for i := range ix.perm {
		ix.perm[i] = int32(i)
	}
	ix.nodes = make([]node, 0, 2*(n/max(leaf/2, 1))+1)
	ix.split(X, 0, int32(n), leaf, make([]float64, n))
	ix.data = make([]float64, n*d)
	for r, i := range ix.perm {
		src := X.Row(int(i))
		dst := ix.data[r*d : (r+1)*d]
		for p, c := range ix.cols {
			dst[p] = src[c]
		}
	}
	for k, nd := range ix.nodes {
		if nd.left < 0 {
			ix.leaves = append(ix.leaves, int32(k))
		}
	}
	// Leaves were appended depth-first, left before right, so they are in tree order already.
}

// split adds the node for rows [lo, hi) of perm and its subtree; it returns the node number.
// keys is scratch space of one value per row.
func (ix *Index) split(X *dataset.Matrix, lo, hi int32, leaf int, keys []float64) int32 {
	d := ix.d
	id := int32(len(ix.nodes))
	ix.nodes = append(ix.nodes, node{lo: lo, hi: hi, left: -1, right: -1})
	ix.box = append(ix.box, make([]float64, 2*d)...)
	bl := ix.box[int(id)*2*d : int(id)*2*d+d]
	bh := ix.box[int(id)*2*d+d : int(id+1)*2*d]
	first := X.Row(int(ix.perm[lo]))
	for p, c := range ix.cols {
		bl[p], bh[p] = first[c], first[c]
	}
	for _, i := range ix.perm[lo+1 : hi] {
		row := X.Row(int(i))
		for p, c := range ix.cols {
			v := row[c]
			bl[p] = min(bl[p], v)
			bh[p] = max(bh[p], v)
		}
	}
	if int(hi-lo) <= leaf {
		ix.makeLeaf(id)
		return id
	}
	dim, spread := 0, bh[0]-bl[0]
	for p := 1; p < d; p++ {
		if s := bh[p] - bl[p]; s > spread {
			dim, spread = p, s
		}
	}
	if spread == 0 {
		// All rows are equal (a group of duplicates): nothing to split.
		ix.makeLeaf(id)
		ix.nodes[id].same = true
		return id
	}
	col := ix.cols[dim]
	mid := lo + (hi-lo)/2
	node := keys[lo:hi]
	for t, i := range ix.perm[lo:hi] {
		node[t] = X.Data[int(i)*X.Cols+col]
	}
	selectKeyed(node, ix.perm[lo:hi], int(mid-lo))
	left := ix.split(X, lo, mid, leaf, keys)
	right := ix.split(X, mid, hi, leaf, keys)
	ix.nodes[id].left, ix.nodes[id].right = left, right
	return id
}

// makeLeaf sorts the rows of leaf n by row number: a scan meets tied rows in the order the
// tie rule prefers them, which lets a leaf of identical rows stop early.
func (ix *Index) makeLeaf(n int32) {
	nd := ix.nodes[n]
	slices.Sort(ix.perm[nd.lo:nd.hi])
}

func (ix *Index) nodeBox(n int32) (lo, hi []float64) {
	d := ix.d
	o := int(n) * 2 * d
	return ix.box[o : o+d], ix.box[o+d : o+2*d]
}

// leafOrder is one entry of a brute-force visiting order.
type leafOrder struct {
	lb   float64
	leaf int32
}

// bruteBlock answers the block by scanning every leaf for every query of the block, leaf by
// leaf so a leaf's rows stay in cache while the block's queries use them. Leaves are visited
// nearest first (to the block's first query), so the k-lists tighten early and later leaves are
// mostly dismissed by their box or by a partial distance.
func (s *searcher) bruteBlock() {
	ix := s.ix
	d := ix.d
	order := s.order
	q0 := s.q[:d]
	for t, l := range ix.leaves {
		bl, bh := ix.nodeBox(l)
		order[t] = leafOrder{boxDist2(q0, bl, bh, inf), l}
	}
	slices.SortFunc(order, func(a, b leafOrder) int {
		if c := cmp.Compare(a.lb, b.lb); c != 0 {
			return c
		}
		return cmp.Compare(a.leaf, b.leaf)
	})
	k := s.k
	for _, o := range order {
		nd := &ix.nodes[o.leaf]
		bl, bh := ix.nodeBox(o.leaf)
		for b := range s.nq {
			s.bind(b)
			q := s.q[b*d : (b+1)*d]
			worst := s.curD[k-1]
			if boxDist2(q, bl, bh, worst) > worst {
				continue
			}
			s.scanLeaf(nd, q, s.self[b])
		}
	}
}

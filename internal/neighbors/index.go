package neighbors

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/internal/parallel"
	"github.com/gonomaly/gonomaly/internal/progress"
)

// Search algorithms accepted by Options.Algorithm.
const (
	Auto   = "auto"
	KDTree = "kdtree"
	Brute  = "brute"
)

// AutoMaxDim is the widest data for which Auto picks the KD-tree; wider data is searched by
// blocked brute force, where a tree's bounding boxes no longer prune enough to pay for the walk.
// It is scikit-learn's own switch (NeighborsBase._fit), so both pick the same search.
const AutoMaxDim = 15

// ErrBadK is returned when k is below 1 or above the number of candidate neighbours.
var ErrBadK = errors.New("neighbors: k out of range")

// Options configure Build. The zero value is valid.
type Options struct {
	// Algorithm is Auto (the default when empty), KDTree or Brute.
	Algorithm string
	// LeafSize is the most rows in a tree leaf (0 = 32). The plain brute force uses the leaves
	// as its blocks of training rows; the prefiltered one (on CPUs with AVX2) ignores it.
	LeafSize int
	// Workers is the number of goroutines a query uses (0 = GOMAXPROCS).
	Workers int
}

// Index is an exact euclidean k-nearest-neighbour index over the rows of a matrix. It is
// read-only after Build and safe for concurrent queries.
type Index struct {
	n, d    int
	brute   bool
	workers int
	// data holds the training rows in tree order, columns permuted by cols.
	data []float64
	// perm maps a tree-order row to its row in the matrix given to Build.
	perm []int32
	// cols lists the original columns in the order stored: widest spread first, so a partial
	// distance reaches the pruning bound in as few columns as possible.
	cols  []int
	nodes []node
	// box holds each node's bounding box: 2*d values per node, the minima then the maxima.
	box    []float64
	leaves []int32 // leaf node numbers, in tree order
	// sk is the KD-tree (scikit-learn's, see skTree); nil on the brute-force path.
	sk *skTree
	// wide is the brute force's float32 prefilter (see wide.go); nil where it does not apply.
	wide *wide
}

type node struct {
	lo, hi      int32 // tree-order rows [lo, hi)
	left, right int32 // children; -1 in a leaf
	same        bool  // a leaf whose rows are all equal
}

// Build indexes the rows of X. X is copied; later changes to X do not affect the index.
// It returns an error for an unknown algorithm or an empty matrix.
//
// A panic while building (on any of its goroutines) is returned as an error wrapping a
// *parallel.PanicError.
func Build(X *dataset.Matrix, opts Options) (ix *Index, err error) {
	defer func() {
		if v := recover(); v != nil {
			ix, err = nil, fmt.Errorf("neighbors: build: %w", parallel.Recovered(v))
		}
	}()
	return build(X, opts, wideOn())
}

// build is Build, with the prefiltered wide search (wide.go) for brute force when prefilter is
// set and the data allows it, the plain blocked brute force otherwise.
func build(X *dataset.Matrix, opts Options, prefilter bool) (*Index, error) {
	if X == nil || X.Rows < 1 || X.Cols < 1 {
		return nil, errors.New("neighbors: build: the data has no rows or no columns")
	}
	if X.Rows > math.MaxInt32 {
		return nil, fmt.Errorf("neighbors: build: %d rows is more than the index holds", X.Rows)
	}
	ix := &Index{n: X.Rows, d: X.Cols, workers: opts.Workers}
	switch opts.Algorithm {
	case "", Auto:
		ix.brute = X.Cols > AutoMaxDim
	case KDTree:
	case Brute:
		ix.brute = true
	default:
		return nil, fmt.Errorf("neighbors: build: unknown algorithm %q (valid: %s, %s, %s)", opts.Algorithm, Auto, KDTree, Brute)
	}
	if !ix.brute {
		ix.sk = buildSKTree(X, skLeafSize, opts.Workers)
		return ix, nil
	}
	leaf := opts.LeafSize
	if leaf <= 0 {
		leaf = 32
	}
	lo, hi, sum, err := ix.orderColumns(X)
	if err != nil {
		return nil, fmt.Errorf("neighbors: build: %w", err)
	}
	if prefilter {
		ok, err := ix.buildWide(X, lo, hi, sum)
		if err != nil {
			return nil, fmt.Errorf("neighbors: build: %w", err)
		}
		if ok {
			return ix, nil
		}
	}
	ix.buildTree(X, leaf)
	return ix, nil
}

// Rows returns the number of indexed rows.
func (ix *Index) Rows() int { return ix.n }

// Cols returns the dimension of the indexed rows.
func (ix *Index) Cols() int { return ix.d }

// Algorithm returns the search in use, KDTree or Brute.
func (ix *Index) Algorithm() string {
	if ix.brute {
		return Brute
	}
	return KDTree
}

// Row copies indexed row i (numbered as in the matrix given to Build) into dst, grown if
// needed, and returns it.
func (ix *Index) Row(i int, dst []float64) []float64 {
	if cap(dst) < ix.d {
		dst = make([]float64, ix.d)
	}
	dst = dst[:ix.d]
	if ix.sk != nil {
		copy(dst, ix.sk.data[i*ix.d:(i+1)*ix.d])
		return dst
	}
	r := ix.pos(i)
	src := ix.data[r*ix.d : (r+1)*ix.d]
	for p, c := range ix.cols {
		dst[c] = src[p]
	}
	return dst
}

// pos returns the tree-order position of original row i. It is only used off the hot path.
func (ix *Index) pos(i int) int {
	return slices.Index(ix.perm, int32(i))
}

// orderColumns sorts the columns by decreasing spread (max - min); ties keep column order. It
// returns each column's minimum, maximum and sum. Rows are read in fixed chunks, in parallel,
// and the chunks' results combined in order, so the sums do not depend on the workers.
func (ix *Index) orderColumns(X *dataset.Matrix) (lo, hi, sum []float64, err error) {
	const grain = 512
	d := X.Cols
	chunks := (X.Rows + grain - 1) / grain
	part := make([]float64, chunks*3*d)
	err = parallel.For(context.Background(), X.Rows, grain, ix.workers, func(_, a, b int) {
		p := part[a/grain*3*d : (a/grain+1)*3*d]
		plo, phi, psum := p[:d], p[d:2*d], p[2*d:]
		copy(plo, X.Row(a))
		copy(phi, X.Row(a))
		copy(psum, X.Row(a))
		for i := a + 1; i < b; i++ {
			for j, v := range X.Row(i)[:d] {
				plo[j] = min(plo[j], v)
				phi[j] = max(phi[j], v)
				psum[j] += v
			}
		}
	})
	if err != nil {
		return nil, nil, nil, err
	}
	lo, hi, sum = part[:d], part[d:2*d], part[2*d:3*d]
	for c := 1; c < chunks; c++ {
		p := part[c*3*d : (c+1)*3*d]
		for j := range d {
			lo[j] = min(lo[j], p[j])
			hi[j] = max(hi[j], p[d+j])
			sum[j] += p[2*d+j]
		}
	}
	ix.cols = make([]int, d)
	for j := range ix.cols {
		ix.cols[j] = j
	}
	slices.SortStableFunc(ix.cols, func(a, b int) int {
		sa, sb := hi[a]-lo[a], hi[b]-lo[b]
		switch {
		case sa > sb:
			return -1
		case sa < sb:
			return 1
		}
		return 0
	})
	return lo, hi, sum, nil
}

// Query finds, for every row of Q, its k nearest indexed rows. dist and idx must have room
// for Q.Rows*k values; row i's neighbours go to [i*k, (i+1)*k), nearest first, ties in
// distance broken by the lower row number. Results do not depend on the number of workers.
func (ix *Index) Query(ctx context.Context, Q *dataset.Matrix, k int, dist []float64, idx []int32) error {
	if Q.Cols != ix.d {
		return fmt.Errorf("neighbors: query: the index has %d columns, the query %d", ix.d, Q.Cols)
	}
	if k < 1 || k > ix.n {
		return fmt.Errorf("%w: k = %d with %d indexed rows", ErrBadK, k, ix.n)
	}
	if len(dist) < Q.Rows*k || len(idx) < Q.Rows*k {
		return fmt.Errorf("neighbors: query: dist and idx need %d values, have %d and %d", Q.Rows*k, len(dist), len(idx))
	}
	return ix.run(ctx, Q, k, dist, idx)
}

// MaxChunkValues bounds the neighbour arrays of one QueryChunks step: chunk*k distances and
// as many indices (12 bytes each, 48 MiB in all), whatever k.
const MaxChunkValues = 1 << 22

// QueryChunks answers the rows of Q chunk rows at a time (fewer when k is large, so that a
// chunk holds at most MaxChunkValues neighbours), so the neighbour arrays stay bounded whatever
// Q's size and k, and hands each chunk's answers to fn: rows [lo, hi) of Q, their distances
// and indices laid out as in Query ((hi-lo)*k values, reused between chunks).
func (ix *Index) QueryChunks(ctx context.Context, Q *dataset.Matrix, k, chunk int, fn func(lo, hi int, dist []float64, idx []int32) error) error {
	if k < 1 || k > ix.n {
		return fmt.Errorf("%w: k = %d with %d indexed rows", ErrBadK, k, ix.n)
	}
	chunk = max(1, min(chunk, MaxChunkValues/k))
	m := min(Q.Rows, chunk)
	dist := make([]float64, m*k)
	idx := make([]int32, m*k)
	for lo := 0; lo < Q.Rows; lo += chunk {
		hi := min(lo+chunk, Q.Rows)
		n := (hi - lo) * k
		if err := ix.Query(ctx, Q.Slice(lo, hi), k, dist[:n], idx[:n]); err != nil {
			return fmt.Errorf("rows %d-%d: %w", lo, hi-1, err)
		}
		if err := fn(lo, hi, dist[:n], idx[:n]); err != nil {
			return err
		}
	}
	return nil
}

// QueryTrain finds, for every indexed row, its k nearest other indexed rows: a row is never
// its own neighbour, but other rows equal to it are, at distance 0 (scikit-learn's
// kneighbors(X=None)). Output is laid out as in Query, by the row numbers given to Build.
func (ix *Index) QueryTrain(ctx context.Context, k int, dist []float64, idx []int32) error {
	if k < 1 || k > ix.n-1 {
		return fmt.Errorf("%w: k = %d with %d indexed rows (k must be below the row count)", ErrBadK, k, ix.n)
	}
	if len(dist) < ix.n*k || len(idx) < ix.n*k {
		return fmt.Errorf("neighbors: query: dist and idx need %d values, have %d and %d", ix.n*k, len(dist), len(idx))
	}
	return ix.run(ctx, nil, k, dist, idx)
}

// queryBlock is the number of query rows handled together: they share each block of
// training rows while it is in cache.
const queryBlock = 32

// maxBlock is the larger of the two query blocks, queryBlock and wideBlock.
const maxBlock = max(queryBlock, wideBlock)

// run answers the queries of Q, or of the training rows themselves when Q is nil: through the
// KD-tree, or by brute force over the blocks of training rows that buildTree laid out.
func (ix *Index) run(ctx context.Context, Q *dataset.Matrix, k int, dist []float64, idx []int32) error {
	if ix.sk != nil {
		if err := ix.sk.kneighbors(ctx, Q, k, ix.workers, dist, idx); err != nil {
			return fmt.Errorf("neighbors: query: %w", err)
		}
		return nil
	}
	nq := ix.n
	if Q != nil {
		nq = Q.Rows
	}
	useWide := ix.wide != nil
	block := queryBlock
	if useWide {
		block = wideBlock
	}
	workers := parallel.Workers(ix.workers, (nq+block-1)/block)
	scratch := make([]searcher, workers)
	for w := range scratch {
		scratch[w] = searcher{ix: ix, k: k, q: make([]float64, block*ix.d), dist: dist, idx: idx}
		if useWide {
			scratch[w].w.init(ix.wide, k)
		} else {
			scratch[w].order = make([]leafOrder, len(ix.leaves))
		}
	}
	var order []int32 // the wide search takes new rows in this order, near ones together
	if useWide && Q != nil {
		var err error
		if order, err = ix.wide.queryOrder(ctx, Q, workers); err != nil {
			return fmt.Errorf("neighbors: query: %w", err)
		}
	}
	pc := progress.Start(ctx, "neighbours", int64(nq))
	defer pc.Stop()
	err := parallel.For(ctx, nq, block, workers, func(w, lo, hi int) {
		s := &scratch[w]
		defer pc.Add(int64(hi - lo))
		switch {
		case order != nil:
			s.loadQueryRows(Q, order[lo:hi])
		case Q != nil:
			s.loadQueries(Q, lo, hi)
		default:
			s.loadTrain(lo, hi)
		}
		switch {
		case !useWide:
			s.bruteBlock()
		case Q != nil:
			s.loadQueriesWide(Q, order[lo:hi])
			s.wideBlock()
		default:
			s.loadTrainWide(lo)
			s.wideBlock()
		}
		s.finish()
	})
	if err != nil {
		return fmt.Errorf("neighbors: query: %w", err)
	}
	return nil
}

// searcher is one worker's scratch space: a block of queries (columns in index order) and
// where their answers go.
type searcher struct {
	ix   *Index
	k    int
	nq   int
	q    []float64 // nq query rows, permuted columns
	out  [maxBlock]int
	self [maxBlock]int32 // the query's own training row, or -1
	dist []float64
	idx  []int32
	// cur points at the k-list being filled: squared distances, then sqrt in finish.
	curD []float64
	curI []int32
	// order is the brute-force leaf visiting order, one entry per leaf.
	order []leafOrder
	// w is the wide search's scratch space.
	w wideScratch
}

var inf = math.Inf(1)

func (s *searcher) loadQueries(Q *dataset.Matrix, lo, hi int) {
	d := s.ix.d
	s.nq = hi - lo
	for b := range s.nq {
		row := Q.Row(lo + b)
		dst := s.q[b*d : (b+1)*d]
		for p, c := range s.ix.cols {
			dst[p] = row[c]
		}
		s.out[b] = lo + b
		s.self[b] = -1
	}
	s.reset()
}

// loadQueryRows loads the given rows of Q as the block's queries.
func (s *searcher) loadQueryRows(Q *dataset.Matrix, rows []int32) {
	d := s.ix.d
	s.nq = len(rows)
	for b, i := range rows {
		row := Q.Row(int(i))
		dst := s.q[b*d : (b+1)*d]
		for p, c := range s.ix.cols {
			dst[p] = row[c]
		}
		s.out[b] = int(i)
		s.self[b] = -1
	}
	s.reset()
}

func (s *searcher) loadTrain(lo, hi int) {
	d := s.ix.d
	s.nq = hi - lo
	copy(s.q[:s.nq*d], s.ix.data[lo*d:hi*d])
	for b := range s.nq {
		s.out[b] = int(s.ix.perm[lo+b])
		s.self[b] = s.ix.perm[lo+b]
	}
	s.reset()
}

// reset empties the k-lists of the block: +Inf distances sort after every real neighbour.
func (s *searcher) reset() {
	k := s.k
	for b := range s.nq {
		o := s.out[b] * k
		for j := o; j < o+k; j++ {
			s.dist[j] = math.Inf(1)
			s.idx[j] = math.MaxInt32
		}
	}
}

// finish turns the block's squared distances into distances.
func (s *searcher) finish() {
	k := s.k
	for b := range s.nq {
		o := s.out[b] * k
		for j := o; j < o+k; j++ {
			s.dist[j] = math.Sqrt(s.dist[j])
		}
	}
}

// bind points the k-list cursor at query b.
func (s *searcher) bind(b int) {
	o := s.out[b] * s.k
	s.curD = s.dist[o : o+s.k : o+s.k]
	s.curI = s.idx[o : o+s.k : o+s.k]
}

// scanLeaf offers the rows of leaf nd to query q's k-list, skipping row self.
func (s *searcher) scanLeaf(nd *node, q []float64, self int32) {
	if !nd.same {
		s.scanRows(q, self, nd.lo, nd.hi)
		return
	}
	// Every row of the leaf is at the same distance and they come in increasing row number:
	// once one is turned away, so are the rest. This keeps a large group of duplicates from
	// costing its size squared.
	ix := s.ix
	k := s.k
	d2 := dist2(q, ix.data[int(nd.lo)*ix.d:int(nd.lo+1)*ix.d], s.curD[k-1])
	for r := nd.lo; r < nd.hi; r++ {
		id := ix.perm[r]
		if id == self {
			continue
		}
		if d2 > s.curD[k-1] || (d2 == s.curD[k-1] && id > s.curI[k-1]) {
			return
		}
		s.insert(d2, id)
	}
}

// insert puts (d2, id) into the current k-list, which it must beat, dropping the last entry.
func (s *searcher) insert(d2 float64, id int32) {
	curD, curI := s.curD, s.curI
	j := s.k - 1
	for j > 0 && (curD[j-1] > d2 || (curD[j-1] == d2 && curI[j-1] > id)) {
		curD[j] = curD[j-1]
		curI[j] = curI[j-1]
		j--
	}
	curD[j] = d2
	curI[j] = id
}

// scanRows offers tree-order rows [lo, hi) to query q's k-list, skipping row self.
func (s *searcher) scanRows(q []float64, self int32, lo, hi int32) {
	ix := s.ix
	d := ix.d
	k := s.k
	curD, curI := s.curD, s.curI
	worst := curD[k-1]
	for r := lo; r < hi; r++ {
		id := ix.perm[r]
		if id == self {
			continue
		}
		d2 := dist2(q, ix.data[int(r)*d:int(r+1)*d], worst)
		if d2 > worst || (d2 == worst && id > curI[k-1]) {
			continue
		}
		// Insert (d2, id) in order; ids are unique, so (d2, id) is a strict total order.
		j := k - 1
		for j > 0 && (curD[j-1] > d2 || (curD[j-1] == d2 && curI[j-1] > id)) {
			curD[j] = curD[j-1]
			curI[j] = curI[j-1]
			j--
		}
		curD[j] = d2
		curI[j] = id
		worst = curD[k-1]
	}
}

// dist2 returns the squared euclidean distance between a and b, or some value above bound as
// soon as the partial sum exceeds it. Four accumulators are combined in a fixed order, so the
// result for a pair never depends on the bound or on the search that asked, and every partial
// sum is a lower bound of the full one (floating-point addition of non-negative terms is
// monotone), which makes the early exit exact.
func dist2(a, b []float64, bound float64) float64 {
	n := len(a)
	b = b[:n]
	var s0, s1, s2, s3 float64
	j := 0
	for ; j+8 <= n; j += 8 {
		d0 := a[j] - b[j]
		d1 := a[j+1] - b[j+1]
		d2 := a[j+2] - b[j+2]
		d3 := a[j+3] - b[j+3]
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
		d0 = a[j+4] - b[j+4]
		d1 = a[j+5] - b[j+5]
		d2 = a[j+6] - b[j+6]
		d3 = a[j+7] - b[j+7]
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
		if (s0+s1)+(s2+s3) > bound {
			return (s0 + s1) + (s2 + s3)
		}
	}
	for ; j+4 <= n; j += 4 {
		d0 := a[j] - b[j]
		d1 := a[j+1] - b[j+1]
		d2 := a[j+2] - b[j+2]
		d3 := a[j+3] - b[j+3]
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
	}
	for ; j < n; j++ {
		d0 := a[j] - b[j]
		s0 += d0 * d0
	}
	return (s0 + s1) + (s2 + s3)
}

// boxDist2 returns a lower bound of dist2(q, x) for every x in the box [lo, hi], or a value
// above bound once the bound is exceeded. It accumulates exactly as dist2 does, with each term
// no larger than dist2's term for any x in the box, so the bound holds in floating point too.
func boxDist2(q, lo, hi []float64, bound float64) float64 {
	n := len(q)
	lo = lo[:n]
	hi = hi[:n]
	var s [4]float64
	j := 0
	for ; j+8 <= n; j += 8 {
		for t := 0; t < 8; t++ {
			g := gap(q[j+t], lo[j+t], hi[j+t])
			s[t&3] += g * g
		}
		if (s[0]+s[1])+(s[2]+s[3]) > bound {
			return (s[0] + s[1]) + (s[2] + s[3])
		}
	}
	for ; j+4 <= n; j += 4 {
		for t := 0; t < 4; t++ {
			g := gap(q[j+t], lo[j+t], hi[j+t])
			s[t] += g * g
		}
	}
	for ; j < n; j++ {
		g := gap(q[j], lo[j], hi[j])
		s[0] += g * g
	}
	return (s[0] + s[1]) + (s[2] + s[3])
}

// gap is how far v lies outside [lo, hi]; the subtraction is the one dist2 would make against
// the nearest edge, so |v - x| >= gap holds after rounding for every x in [lo, hi].
func gap(v, lo, hi float64) float64 {
	if v < lo {
		return lo - v
	}
	if v > hi {
		return v - hi
	}
	return 0
}

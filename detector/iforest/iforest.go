package iforest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"sync"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/detector/internal/fit"
	"github.com/gonomaly/gonomaly/internal/parallel"
)

// ErrNotFitted is returned by Score and MarshalBinary before Fit (or UnmarshalBinary).
var ErrNotFitted = errors.New("iforest: detector is not fitted")

// Defaults taken by the zero values of Config (scikit-learn's IsolationForest). The registry
// in package detector offers the same as its parameters' defaults.
const (
	DefaultTrees       = 100 // n_estimators
	DefaultMaxFeatures = 1.0 // max_features: every column
)

// Config sets up an isolation forest. The zero value is scikit-learn's default
// IsolationForest (100 trees, max_samples="auto", max_features=1.0, no bootstrap) with seed 0.
type Config struct {
	// Trees is the number of trees (n_estimators); 0 means DefaultTrees.
	Trees int
	// MaxSamples sets the rows drawn per tree: 0 means "auto", min(256, n); a value in (0, 1]
	// is a share of the rows, int(MaxSamples*n); a value above 1 is a row count and must be a
	// whole number (a count above n is capped at n, as scikit-learn does after a warning).
	MaxSamples float64
	// MaxFeatures sets the columns drawn per tree: 0 means DefaultMaxFeatures (all); a value in (0, 1] is a
	// share, max(1, int(MaxFeatures*cols)); a value above 1 is a count and must be a whole
	// number no larger than the number of columns.
	MaxFeatures float64
	// Bootstrap draws the rows of each tree with replacement. As in scikit-learn, a row drawn
	// several times counts once in the tree.
	Bootstrap bool
	// Seed fixes the forest: tree i's random stream is derived from (Seed, i) only, so the
	// forest is the same on any number of cores.
	Seed uint64
	// Workers is the number of goroutines for Fit and Score; 0 means GOMAXPROCS. It never
	// changes results.
	Workers int
}

// Detector is an isolation forest. Score is safe for concurrent use after Fit.
type Detector struct {
	cfg Config
	m   *model
}

// model is a fitted forest. Every tree is stored as a complete binary tree of the same depth:
// internal node i has children 2i+1 and 2i+2, and a leaf reached before the maximum depth is
// padded with pass-through nodes (threshold +Inf, everything goes left) so that scoring is
// exactly depth branch-free steps. The complete tree has fewer than 4*psi slots while a
// pointer tree of psi rows has up to 2*psi-1 nodes of twice the size, so the padding never
// costs more memory than a general layout would, whatever the depth.
//
// A split sends x[feature] <= threshold left, as in scikit-learn. Thresholds are float32
// because scikit-learn converts X to float32 before it fits or scores; the stored threshold
// is the largest float32 not above scikit-learn's float64 threshold, which compares the same
// with every float32 value. Nodes are kept as two parallel arrays, the feature as
// off = feature*block (Score's blocks are column-major, so row r's value is at off+r) and the
// threshold as an order-preserving integer key (see key32), the layout that measured fastest.
type model struct {
	cols   int
	block  int // blockRows(cols)
	psi    int // max_samples_, the rows per tree that c(psi) normalises by
	depth  int // max_depth = ceil(log2(max(psi, 2)))
	trees  int
	offs   []uint32  // trees * (2^depth - 1) internal nodes, tree by tree: feature*block
	keys   []uint32  // the same nodes' thresholds, key32(threshold)
	leaves []float64 // trees * 2^depth leaf values: leaf depth + c(rows in leaf)

	// scratch holds Score's block buffers (*scratch) between calls: a service scoring one
	// row at a time would otherwise allocate B*(4*cols+8) bytes (about 10 KB) per row.
	scratch sync.Pool
}

// key32 maps a float32 to a uint32 with the same order (-0 and +0 both map to +0's key), so
// that the scoring loop compares integers: x > thr exactly when key32(x) > key32(thr).
func key32(f float32) uint32 {
	if f == 0 {
		f = 0 // -0 -> +0
	}
	u := math.Float32bits(f)
	return u ^ (uint32(int32(u)>>31) | 0x80000000)
}

// unkey32 inverts key32.
func unkey32(k uint32) float32 {
	if k&0x80000000 != 0 {
		return math.Float32frombits(k &^ 0x80000000)
	}
	return math.Float32frombits(^k)
}

const eulerGamma = 0.5772156649015329

// AveragePathLength returns c(n), the average path length of an unsuccessful search in a
// binary search tree of n keys: 2H(n-1) - 2(n-1)/n with H(i) ~ ln(i) + Euler's constant,
// c(1) = 0 and c(2) = 1 (scikit-learn's _average_path_length).
func AveragePathLength(n int) float64 {
	switch {
	case n <= 1:
		return 0
	case n == 2:
		return 1
	}
	f := float64(n)
	return 2*(math.Log(f-1)+eulerGamma) - 2*(f-1)/f
}

// New validates cfg and returns an unfitted detector.
func New(cfg Config) (*Detector, error) {
	if cfg.Trees < 0 {
		return nil, fmt.Errorf("iforest: Trees = %d: must be >= 0 (0 means %d)", cfg.Trees, DefaultTrees)
	}
	if cfg.Trees == 0 {
		cfg.Trees = DefaultTrees
	}
	if cfg.Workers < 0 {
		return nil, fmt.Errorf("iforest: Workers = %d: must be >= 0 (0 means GOMAXPROCS)", cfg.Workers)
	}
	if err := checkShare("MaxSamples", cfg.MaxSamples); err != nil {
		return nil, err
	}
	if err := checkShare("MaxFeatures", cfg.MaxFeatures); err != nil {
		return nil, err
	}
	return &Detector{cfg: cfg}, nil
}

func checkShare(name string, v float64) error {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0) || v < 0:
		return fmt.Errorf("iforest: %s = %v: must be 0 (default), in (0, 1] (a share) or a whole number above 1 (a count)", name, v)
	case v > 1 && v != math.Trunc(v):
		return fmt.Errorf("iforest: %s = %v: a value above 1 is a count and must be a whole number", name, v)
	case v > 1<<40:
		return fmt.Errorf("iforest: %s = %v: too large", name, v)
	}
	return nil
}

// Config returns the detector's configuration with defaults filled in.
func (d *Detector) Config() Config { return d.cfg }

// resolve turns the configuration into the rows and columns per tree for data of n rows and
// cols columns, following scikit-learn's IsolationForest.fit and BaseBagging._fit.
func (c Config) resolve(n, cols int) (psi, k int, err error) {
	switch ms := c.MaxSamples; {
	case ms == 0:
		psi = min(256, n)
	case ms <= 1:
		psi = int(ms * float64(n))
	default:
		psi = min(int(ms), n)
	}
	if psi < 1 {
		return 0, 0, fmt.Errorf("iforest: max_samples=%v of the data's %d rows draws no row: %w", c.MaxSamples, n, fit.ErrBadParameter)
	}
	switch mf := c.MaxFeatures; {
	case mf == 0:
		k = cols
	case mf <= 1:
		k = max(1, int(mf*float64(cols)))
	default:
		k = int(mf)
		if k > cols {
			return 0, 0, fmt.Errorf("iforest: max_features=%d is more than the data's %d columns: %w", k, cols, fit.ErrBadParameter)
		}
	}
	return psi, k, nil
}

// treeDepth is scikit-learn's max_depth, ceil(log2(max(psi, 2))).
func treeDepth(psi int) int { return bits.Len(uint(max(psi, 2) - 1)) }

// Fit grows the forest on X (rows are samples). X must hold only finite values.
func (d *Detector) Fit(ctx context.Context, X *dataset.Matrix) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("iforest: fit: %w", err)
	}
	if err := checkMatrix(X, -1); err != nil {
		return err
	}
	if X.Rows == 0 || X.Cols == 0 {
		return fmt.Errorf("iforest: fit: need at least one row and one column, got %dx%d: %w", X.Rows, X.Cols, fit.ErrDimension)
	}
	if X.Cols > math.MaxInt32/blockRows(X.Cols) {
		return fmt.Errorf("iforest: fit: %d columns is more than this implementation handles: %w", X.Cols, fit.ErrDimension)
	}
	if X.Rows > math.MaxInt32 {
		return fmt.Errorf("iforest: fit: %d rows is more than this implementation handles (%d): %w", X.Rows, math.MaxInt32, fit.ErrDimension)
	}
	if err := checkValues(X); err != nil {
		return fmt.Errorf("iforest: fit: %w", err)
	}
	psi, k, err := d.cfg.resolve(X.Rows, X.Cols)
	if err != nil {
		return err
	}
	depth := treeDepth(psi)
	if depth > 30 {
		return fmt.Errorf("iforest: fit: max_samples=%d rows per tree needs depth %d; at most 2^30 rows per tree are supported: %w", psi, depth, fit.ErrBadParameter)
	}
	T := d.cfg.Trees
	ni, nl := 1<<depth-1, 1<<depth
	m := &model{
		cols: X.Cols, block: blockRows(X.Cols), psi: psi, depth: depth, trees: T,
		offs:   make([]uint32, T*ni),
		keys:   make([]uint32, T*ni),
		leaves: make([]float64, T*nl),
	}
	workers := parallel.Workers(d.cfg.Workers, T)
	builders := make([]*builder, workers)
	err = parallel.For(ctx, T, 1, workers, func(w, lo, hi int) {
		b := builders[w]
		if b == nil {
			b = newBuilder(X, psi, k, depth, m.block, d.cfg.Bootstrap)
			builders[w] = b
		}
		for t := lo; t < hi; t++ {
			b.grow(newRNG(d.cfg.Seed, uint64(t)), m.offs[t*ni:(t+1)*ni], m.keys[t*ni:(t+1)*ni], m.leaves[t*nl:(t+1)*nl])
		}
	})
	if err != nil {
		return fmt.Errorf("iforest: fit: %w", err)
	}
	d.m = m
	return nil
}

// checkMatrix checks that X is well formed and, if cols >= 0, has that many columns.
func checkMatrix(X *dataset.Matrix, cols int) error {
	if X == nil {
		return errors.New("iforest: nil matrix")
	}
	if X.Rows < 0 || X.Cols < 0 || len(X.Data) != X.Rows*X.Cols {
		return fmt.Errorf("iforest: malformed matrix: %dx%d with %d values: %w", X.Rows, X.Cols, len(X.Data), fit.ErrDimension)
	}
	if cols >= 0 && X.Cols != cols {
		return fmt.Errorf("iforest: data has %d columns, the model was fitted on %d: %w", X.Cols, cols, fit.ErrDimension)
	}
	return nil
}

// firstNonFinite returns the position of the first NaN or infinite value, or ok.
// checkValues refuses a NaN or infinite value (fit.ErrNonFiniteInput) and a finite one beyond
// float32's range (fit.ErrOverflow): the trees compare in float32, as scikit-learn's do, where
// such a value is infinite and every row would land in the same leaves.
func checkValues(X *dataset.Matrix) error {
	i, j, ok := firstNonFinite(X.Data, X.Cols)
	if ok {
		return nil
	}
	v := X.At(i, j)
	if v-v != 0 {
		return fmt.Errorf("row %d, column %d: value %v: %w", i, j, v, fit.ErrNonFiniteInput)
	}
	return fmt.Errorf("row %d, column %d: %v is beyond float32's range (±3.4e38): %w", i, j, v, fit.ErrOverflow)
}

// firstNonFinite finds the first value that is NaN, infinite, or beyond float32's range.
func firstNonFinite(data []float64, cols int) (row, col int, ok bool) {
	for i, v := range data {
		if !(math.Abs(v) <= math.MaxFloat32) { // NaN, ±Inf, and what float32 cannot hold
			return i / cols, i % cols, false
		}
	}
	return 0, 0, true
}

// Time constants of Estimate, in nanoseconds of one core, measured with GOMAXPROCS=2 on
// synthetic data of 4 to 40 columns: growing a tree costs fitRowNs per sampled row (drawing
// and gathering it), fitFeatureNs per row and feature gathered and fitLevelNs per row and
// level partitioned; Score costs scoreNs per row, tree and level.
const (
	fitRowNs     = 100
	fitFeatureNs = 4
	fitLevelNs   = 8
	scoreNs      = 1.4
)

// Estimate returns the cost of Fit on rows x cols and of scoring the training rows: the forest
// (trees x 2^depth nodes of an 8-byte offset and key, and as many 8-byte leaves), one builder
// per worker (the tree's sample column by column in float32, its row and position lists and
// the sampling hash set), and Score's per-worker block. Time: see fitRowNs. A configuration
// Fit refuses (max_features above the columns) costs nothing.
func (d *Detector) Estimate(rows, cols int) fit.Cost {
	if rows < 1 || cols < 1 {
		return fit.Cost{}
	}
	psi, k, err := d.cfg.resolve(rows, cols)
	if err != nil {
		return fit.Cost{}
	}
	depth := treeDepth(psi)
	T, n, c, p, fk := float64(d.cfg.Trees), float64(rows), float64(cols), float64(psi), float64(k)
	nl := math.Exp2(float64(depth))
	model := T * ((nl-1)*8 + nl*8)
	set := 0.0
	if !d.cfg.Bootstrap && psi < rows {
		set = 4 * math.Exp2(math.Ceil(math.Log2(2*p)))
	}
	w := float64(parallel.Workers(d.cfg.Workers, d.cfg.Trees))
	builders := w * (4*c + 8*fk + 12*p + 4*fk*p + set)
	B := blockRows(cols)
	ws := float64(parallel.Workers(d.cfg.Workers, (rows+B-1)/B))
	score := ws * float64(B) * (4*c + 8)
	fitTime := T * (p*(fitRowNs+fitFeatureNs*fk+fitLevelNs*float64(depth)) + 2*nl) / w
	scoreTime := scoreNs * n * T * float64(depth) / ws
	return fit.Make(model+builders+score, fitTime+scoreTime)
}

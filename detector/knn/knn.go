package knn

import (
	"context"
	"errors"
	"fmt"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/detector/internal/fit"
	"github.com/gonomaly/gonomaly/internal/binenc"
	"github.com/gonomaly/gonomaly/internal/neighbors"
	"github.com/gonomaly/gonomaly/internal/numsum"
)

// Methods that reduce a row's k neighbour distances to its score.
const (
	Largest = "largest" // distance to the k-th nearest neighbour (the default)
	Mean    = "mean"    // mean of the k distances
	Median  = "median"  // median of the k distances
)

// DefaultNeighbors is k when Config.Neighbors is 0.
const DefaultNeighbors = 5

// ErrNotFitted is returned by Score and MarshalBinary before Fit.
var ErrNotFitted = errors.New("knn: detector is not fitted")

// Config configures a Detector. The zero value is PyOD's default: k = 5, method largest.
type Config struct {
	// Neighbors is k (0 = DefaultNeighbors).
	Neighbors int
	// Method is Largest (the default when empty), Mean or Median.
	Method string
	// Workers is the number of goroutines used by Fit and Score (0 = GOMAXPROCS).
	Workers int
}

// Detector scores a row by its distances to its k nearest training rows.
type Detector struct {
	k       int
	method  string
	workers int
	ix      *neighbors.Index // nil until fitted
	train   []float64        // training scores, rows leave themselves out
}

// New validates cfg and returns an unfitted detector.
func New(cfg Config) (*Detector, error) {
	if cfg.Neighbors < 0 {
		return nil, fmt.Errorf("knn: n_neighbors %d: must be at least 1 (0 means %d)", cfg.Neighbors, DefaultNeighbors)
	}
	if cfg.Neighbors == 0 {
		cfg.Neighbors = DefaultNeighbors
	}
	switch cfg.Method {
	case "":
		cfg.Method = Largest
	case Largest, Mean, Median:
	default:
		return nil, fmt.Errorf("knn: method %q: unknown (valid: %s, %s, %s)", cfg.Method, Largest, Mean, Median)
	}
	if cfg.Workers < 0 {
		return nil, fmt.Errorf("knn: workers %d: must not be negative (0 means every core)", cfg.Workers)
	}
	return &Detector{k: cfg.Neighbors, method: cfg.Method, workers: cfg.Workers}, nil
}

// MinRows is the fewest training rows: one more than n_neighbors.
func (d *Detector) MinRows() int { return d.k + 1 }

// Fit indexes the rows of X, which the detector keeps as the neighbours of every row it
// scores, and computes the training scores (each row's neighbours exclude the row itself but
// include rows equal to it). X must have more rows than k.
func (d *Detector) Fit(ctx context.Context, X *dataset.Matrix) error {
	if X == nil || X.Rows == 0 || X.Cols == 0 {
		return fmt.Errorf("knn: fit: the data has no rows or no columns: %w", fit.ErrTooFewRows)
	}
	if X.Rows <= d.k {
		return fmt.Errorf("knn: fit: %d rows, need more than n_neighbors = %d: %w", X.Rows, d.k, fit.ErrTooFewRows)
	}
	ix, dist, _, err := neighbors.BuildTrain(ctx, X, d.k, neighbors.Options{Workers: d.workers})
	if err != nil {
		return fmt.Errorf("knn: fit: %w", err)
	}
	train := make([]float64, X.Rows)
	d.reduce(dist, train)
	d.ix, d.train = ix, train
	return nil
}

// TrainScores returns the scores of the training rows computed by Fit (nil before Fit). Each
// training row's neighbours exclude the row itself, so these differ from Score of the same rows.
// The slice belongs to the detector: do not modify it.
func (d *Detector) TrainScores() []float64 { return d.train }

// scoreChunk bounds the neighbour arrays of one Score step.
const scoreChunk = 8192

// Score writes the score of each row of X into dst (used when len(dst) == X.Rows, else a new
// slice) and returns it: the distances to the k nearest training rows, reduced by the method.
func (d *Detector) Score(ctx context.Context, X *dataset.Matrix, dst []float64) ([]float64, error) {
	if d.ix == nil {
		return nil, fmt.Errorf("knn: score: %w", ErrNotFitted)
	}
	if err := fit.Columns(X, d.ix.Cols()); err != nil {
		return nil, fmt.Errorf("knn: score: %w", err)
	}
	dst = fit.Dst(dst, X.Rows)
	err := d.ix.QueryChunks(ctx, X, d.k, scoreChunk, func(lo, hi int, dist []float64, _ []int32) error {
		d.reduce(dist, dst[lo:hi])
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("knn: score: %w", err)
	}
	return dst, nil
}

// reduce turns each row's sorted k distances into its score, as PyOD does with numpy.
func (d *Detector) reduce(dist, dst []float64) {
	k := d.k
	for i := range dst {
		row := dist[i*k : (i+1)*k]
		switch d.method {
		case Largest:
			dst[i] = row[k-1]
		case Mean:
			dst[i] = numsum.Mean(row)
		case Median:
			if k%2 == 1 {
				dst[i] = row[k/2]
			} else {
				dst[i] = (row[k/2-1] + row[k/2]) / 2
			}
		}
	}
}

// formatVersion is the version of the MarshalBinary payload.
const formatVersion = 1

var methodCodes = []string{Largest, Mean, Median}

// MarshalBinary encodes the fitted detector: k, method, the training rows and their scores.
func (d *Detector) MarshalBinary() ([]byte, error) {
	if d.ix == nil {
		return nil, fmt.Errorf("knn: encode: %w", ErrNotFitted)
	}
	n, c := d.ix.Rows(), d.ix.Cols()
	w := binenc.Writer{Buf: make([]byte, 0, 64+8*n*(c+1))}
	w.Int(formatVersion)
	w.Int(d.k)
	code := 0
	for i, m := range methodCodes {
		if m == d.method {
			code = i
		}
	}
	w.Int(code)
	w.Int(c)
	w.Float64s(d.ix.Data())
	w.Float64s(d.train)
	return w.Buf, nil
}

// UnmarshalBinary restores a detector encoded by MarshalBinary, rebuilding its index. A
// truncated or corrupt payload is an error. The detector keeps its own Workers setting.
func (d *Detector) UnmarshalBinary(b []byte) error {
	r := binenc.Reader{Buf: b}
	if v := r.Int(); r.Err() == nil && v != formatVersion {
		return fmt.Errorf("knn: decode: unknown format version %d (want %d)", v, formatVersion)
	}
	k, code, c := r.Int(), r.Int(), r.Int()
	data := r.Float64s()
	train := r.Float64s()
	if err := r.Done(); err != nil {
		return fmt.Errorf("knn: decode: %w", err)
	}
	switch {
	case k < 1 || code < 0 || code >= len(methodCodes) || c < 1:
		return fmt.Errorf("knn: decode: bad header (k %d, method %d, columns %d)", k, code, c)
	case len(data)%c != 0 || len(data)/c != len(train) || len(train) <= k:
		return fmt.Errorf("knn: decode: %d values and %d scores do not fit %d columns and k = %d", len(data), len(train), c, k)
	}
	ix, err := neighbors.BuildRows(data, len(train), c, neighbors.Options{Workers: d.workers})
	if err != nil {
		return fmt.Errorf("knn: decode: %w", err)
	}
	d.k, d.method, d.ix, d.train = k, methodCodes[code], ix, train
	return nil
}

// Estimate returns the cost of Fit on rows x cols (knn is a TrainScorer: Model.Fit does not
// score the training rows again): the neighbour index (see neighbors.Estimate), its search of
// every training row, whose n*k distances and indices (12 bytes each) Fit keeps at once, and
// the n training scores.
func (d *Detector) Estimate(rows, cols int) fit.Cost {
	if rows < 1 || cols < 1 {
		return fit.Cost{}
	}
	ib, sb, ns := neighbors.Estimate(rows, cols, d.k, d.workers)
	n := float64(rows)
	return fit.Make(ib+sb+n*float64(d.k)*12+n*8, ns)
}

package lof

import (
	"context"
	"errors"
	"fmt"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/detector/internal/fit"
	"github.com/gonomaly/gonomaly/internal/binenc"
	"github.com/gonomaly/gonomaly/internal/neighbors"
	"github.com/gonomaly/gonomaly/internal/numsum"
	"github.com/gonomaly/gonomaly/internal/parallel"
)

// DefaultNeighbors is n_neighbors when Config.Neighbors is 0 (scikit-learn's default).
const DefaultNeighbors = 20

// ErrNotFitted is returned by Score and MarshalBinary before Fit.
var ErrNotFitted = errors.New("lof: detector is not fitted")

// Config configures a Detector. The zero value is scikit-learn's default, 20 neighbours.
type Config struct {
	// Neighbors is n_neighbors (0 = DefaultNeighbors). Fit caps it at the number of training rows minus one.
	Neighbors int
	// Workers is the number of goroutines used by Fit and Score (0 = GOMAXPROCS).
	Workers int
}

// Detector is scikit-learn's LocalOutlierFactor with novelty scoring of new rows.
type Detector struct {
	k       int // requested n_neighbors
	workers int
	// Fitted state.
	kEff  int              // neighbours used: min(k, n-1)
	ix    *neighbors.Index // the training rows
	kdist []float64        // distance from each training row to its kEff-th neighbour
	lrd   []float64        // local reachability density of each training row
	train []float64        // LOF of each training row
}

// New validates cfg and returns an unfitted detector.
func New(cfg Config) (*Detector, error) {
	if cfg.Neighbors < 0 {
		return nil, fmt.Errorf("lof: n_neighbors %d: must be at least 1 (0 means %d)", cfg.Neighbors, DefaultNeighbors)
	}
	if cfg.Neighbors == 0 {
		cfg.Neighbors = DefaultNeighbors
	}
	if cfg.Workers < 0 {
		return nil, fmt.Errorf("lof: workers %d: must not be negative (0 means every core)", cfg.Workers)
	}
	return &Detector{k: cfg.Neighbors, workers: cfg.Workers}, nil
}

// grain is the number of rows per parallel chunk of the density passes.
const grain = 1024

// MinRows is the fewest training rows: 2 (each row needs a neighbour).
func (d *Detector) MinRows() int { return 2 }

// Fit finds each training row's neighbours among the other training rows and computes their
// k-distances, local reachability densities and LOF values. X needs at least two rows.
func (d *Detector) Fit(ctx context.Context, X *dataset.Matrix) error {
	if X == nil || X.Rows == 0 || X.Cols == 0 {
		return fmt.Errorf("lof: fit: the data has no rows or no columns: %w", fit.ErrTooFewRows)
	}
	if X.Rows < 2 {
		return fmt.Errorf("lof: fit: %d row, need at least 2: %w", X.Rows, fit.ErrTooFewRows)
	}
	n := X.Rows
	k := min(d.k, n-1)
	ix, dist, idx, err := neighbors.BuildTrain(ctx, X, k, neighbors.Options{Workers: d.workers})
	if err != nil {
		return fmt.Errorf("lof: fit: %w", err)
	}
	kdist := make([]float64, n)
	for i := range kdist {
		kdist[i] = dist[i*k+k-1]
	}
	lrd := make([]float64, n)
	err = parallel.For(ctx, n, grain, d.workers, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			lrd[i] = density(dist[i*k:(i+1)*k], idx[i*k:(i+1)*k], kdist)
		}
	})
	if err != nil {
		return fmt.Errorf("lof: fit: %w", err)
	}
	train := make([]float64, n)
	err = parallel.For(ctx, n, grain, d.workers, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			train[i] = ratio(dist[i*k:(i+1)*k], idx[i*k:(i+1)*k], lrd, lrd[i])
		}
	})
	if err != nil {
		return fmt.Errorf("lof: fit: %w", err)
	}
	d.kEff, d.ix, d.kdist, d.lrd, d.train = k, ix, kdist, lrd, train
	return nil
}

// density returns the local reachability density of a row from its neighbour distances and
// indices: 1 / (mean reach distance + 1e-10), reach_dist(a, b) = max(dist(a, b), k_distance(b)).
// It overwrites dist with the reach distances.
func density(dist []float64, idx []int32, kdist []float64) float64 {
	for j, nb := range idx {
		dist[j] = max(dist[j], kdist[nb])
	}
	return 1 / (numsum.Mean(dist) + 1e-10)
}

// ratio returns the LOF of a row of density lrdA: the mean over its neighbours of
// lrd(neighbour) / lrdA, in scikit-learn's order of operations. It overwrites buf.
func ratio(buf []float64, idx []int32, lrd []float64, lrdA float64) float64 {
	for j, nb := range idx {
		buf[j] = lrd[nb] / lrdA
	}
	return numsum.Mean(buf)
}

// TrainScores returns the LOF of each training row (scikit-learn's -negative_outlier_factor_),
// or nil before Fit. The slice belongs to the detector: do not modify it.
func (d *Detector) TrainScores() []float64 { return d.train }

// scoreChunk bounds the neighbour arrays of one Score step.
const scoreChunk = 8192

// Score writes the LOF of each row of X relative to the training rows into dst (used when
// len(dst) == X.Rows, else a new slice) and returns it: scikit-learn's -score_samples in
// novelty mode. A row's neighbours are its n_neighbors nearest training rows, with no
// self-exclusion.
func (d *Detector) Score(ctx context.Context, X *dataset.Matrix, dst []float64) ([]float64, error) {
	if d.ix == nil {
		return nil, fmt.Errorf("lof: score: %w", ErrNotFitted)
	}
	if err := fit.Columns(X, d.ix.Cols()); err != nil {
		return nil, fmt.Errorf("lof: score: %w", err)
	}
	dst = fit.Dst(dst, X.Rows)
	k := d.kEff
	err := d.ix.QueryChunks(ctx, X, k, scoreChunk, func(lo, hi int, dist []float64, idx []int32) error {
		out := dst[lo:hi]
		return parallel.For(ctx, hi-lo, grain, d.workers, func(_, a, b int) {
			for i := a; i < b; i++ {
				rd, ri := dist[i*k:(i+1)*k], idx[i*k:(i+1)*k]
				out[i] = ratio(rd, ri, d.lrd, density(rd, ri, d.kdist))
			}
		})
	})
	if err != nil {
		return nil, fmt.Errorf("lof: score: %w", err)
	}
	return dst, nil
}

// formatVersion is the version of the MarshalBinary payload.
const formatVersion = 1

// MarshalBinary encodes the fitted detector: n_neighbors, the training rows, their
// k-distances, densities and LOF values.
func (d *Detector) MarshalBinary() ([]byte, error) {
	if d.ix == nil {
		return nil, fmt.Errorf("lof: encode: %w", ErrNotFitted)
	}
	n, c := d.ix.Rows(), d.ix.Cols()
	w := binenc.Writer{Buf: make([]byte, 0, 64+8*n*(c+3))}
	w.Int(formatVersion)
	w.Int(d.k)
	w.Int(d.kEff)
	w.Int(c)
	w.Float64s(d.ix.Data())
	w.Float64s(d.kdist)
	w.Float64s(d.lrd)
	w.Float64s(d.train)
	return w.Buf, nil
}

// UnmarshalBinary restores a detector encoded by MarshalBinary, rebuilding its index. A
// truncated or corrupt payload is an error. The detector keeps its own Workers setting.
func (d *Detector) UnmarshalBinary(b []byte) error {
	r := binenc.Reader{Buf: b}
	if v := r.Int(); r.Err() == nil && v != formatVersion {
		return fmt.Errorf("lof: decode: unknown format version %d (want %d)", v, formatVersion)
	}
	k, kEff, c := r.Int(), r.Int(), r.Int()
	data := r.Float64s()
	kdist, lrd, train := r.Float64s(), r.Float64s(), r.Float64s()
	if err := r.Done(); err != nil {
		return fmt.Errorf("lof: decode: %w", err)
	}
	n := len(train)
	switch {
	case k < 1 || c < 1 || n < 2 || kEff != min(k, n-1):
		return fmt.Errorf("lof: decode: bad header (n_neighbors %d, used %d, columns %d, rows %d)", k, kEff, c, n)
	case len(data)%n != 0 || len(data)/n != c || len(kdist) != n || len(lrd) != n: // not n*c, which can wrap
		return fmt.Errorf("lof: decode: %d values, %d k-distances and %d densities do not fit %d rows of %d columns",
			len(data), len(kdist), len(lrd), n, c)
	}
	ix, err := neighbors.BuildRows(data, n, c, neighbors.Options{Workers: d.workers})
	if err != nil {
		return fmt.Errorf("lof: decode: %w", err)
	}
	d.k, d.kEff, d.ix, d.kdist, d.lrd, d.train = k, kEff, ix, kdist, lrd, train
	return nil
}

// Estimate returns the cost of Fit on rows x cols (local_outlier_factor is a TrainScorer): the
// neighbour index (see neighbors.Estimate), its search of every training row with
// k = min(n_neighbors, rows-1), whose n*k distances and indices (12 bytes each) the density
// passes need at once, and the k-distances, densities and LOF values (8 bytes a row each).
func (d *Detector) Estimate(rows, cols int) fit.Cost {
	if rows < 2 || cols < 1 {
		return fit.Cost{}
	}
	k := min(d.k, rows-1)
	ib, sb, ns := neighbors.Estimate(rows, cols, k, d.workers)
	n, fk := float64(rows), float64(k)
	w := float64(parallel.Workers(d.workers, (rows+grain-1)/grain))
	return fit.Make(ib+sb+n*fk*12+3*n*8, ns+4*n*fk/w)
}

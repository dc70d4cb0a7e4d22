package ecod

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"unsafe"

	"github.com/gonomaly/gonomaly/dataset"
	dfit "github.com/gonomaly/gonomaly/detector/internal/fit"
	"github.com/gonomaly/gonomaly/internal/binenc"
	"github.com/gonomaly/gonomaly/internal/numsum"
	"github.com/gonomaly/gonomaly/internal/parallel"
)

// ErrNotFitted is returned by Score and MarshalBinary before Fit (or UnmarshalBinary).
var ErrNotFitted = errors.New("ecod: detector is not fitted")

// Config tunes the execution only: ECOD has no parameters.
type Config struct {
	// Workers bounds the goroutines used by Fit and Score (0 = GOMAXPROCS).
	Workers int
}

// Detector is an ECOD outlier detector. Its fitted state is read-only, so Score may be called
// from many goroutines at once.
type Detector struct {
	cfg Config

	fitted bool
	n      int // training rows
	cols   int
	// sorted holds each feature's training values in ascending order, feature by feature
	// (cols*n values; both zeros stored as +0).
	sorted []float64
	// sign is the sign of each feature's biased skewness: -1, 0 or +1.
	sign []int8
	// negLog[c] = -log(max(c, 1)/n): the tail term for a count c of training values.
	negLog []float64
}

// New validates cfg and returns an unfitted detector.
func New(cfg Config) (*Detector, error) {
	if cfg.Workers < 0 {
		return nil, fmt.Errorf("ecod: Workers %d: must be >= 0 (0 = GOMAXPROCS)", cfg.Workers)
	}
	return &Detector{cfg: cfg}, nil
}

// rowGrain is the number of rows per parallel chunk when scoring row by row.
const rowGrain = 1024

// cancelEvery is how many rows of one column's walk run between looks at the context.
const cancelEvery = 1 << 16

// transposeGrain is the number of rows per chunk when copying rows into columns: a block of
// rows stays in cache while each column takes its slice.
const transposeGrain = 512

// Fit keeps the sorted training values of every feature and the sign of its skewness.
// X must have at least one row and one column and hold only finite values.
func (d *Detector) Fit(ctx context.Context, X *dataset.Matrix) error {
	if err := checkMatrix(X); err != nil {
		return err
	}
	n, p := X.Rows, X.Cols
	if n == 0 || p == 0 {
		return fmt.Errorf("ecod: Fit on a %dx%d matrix: need at least one row and one column: %w", n, p, dfit.ErrTooFewRows)
	}
	if i, j := firstNotFinite(X); i >= 0 {
		return fmt.Errorf("ecod: Fit: row %d, column %d: %w", i, j, errNotFinite)
	}
	// Columns first (a blocked transpose, cache-friendly for wide rows), then each feature's
	// skewness on the column in row order, then its sort in place.
	sorted := make([]float64, p*n)
	err := parallel.For(ctx, n, transposeGrain, d.cfg.Workers, func(_, r0, r1 int) {
		for j := 0; j < p; j++ {
			col := sorted[j*n : (j+1)*n]
			for i := r0; i < r1; i++ {
				col[i] = X.Data[i*p+j]
			}
		}
	})
	if err != nil {
		return fmt.Errorf("ecod: Fit: %w", err)
	}
	workers := parallel.Workers(d.cfg.Workers, p)
	sorters := make([]sorter, workers)
	moments := make([][]float64, workers)
	sign := make([]int8, p)
	err = parallel.For(ctx, p, 1, workers, func(w, j0, j1 int) {
		if moments[w] == nil {
			moments[w] = make([]float64, n)
		}
		for j := j0; j < j1; j++ {
			col := sorted[j*n : (j+1)*n]
			sign[j] = skewSign(col, moments[w], p > 1)
			if ctx.Err() != nil { // a column of millions of rows takes a while: look in between
				return
			}
			sorters[w].sortFloats(col)
		}
	})
	if err != nil {
		return fmt.Errorf("ecod: Fit: %w", err)
	}
	d.n, d.cols, d.sorted, d.sign = n, p, sorted, sign
	d.negLog = negLogTable(n)
	d.fitted = true
	return nil
}

func negLogTable(n int) []float64 {
	t := make([]float64, n+1)
	for c := 1; c <= n; c++ {
		t[c] = -math.Log(float64(c) / float64(n))
	}
	t[0] = t[1] // a new value beyond every training value counts as one
	return t
}

// skewSign is the sign of scipy.stats.skew(x, bias=True), with NaN (scipy's answer for a
// constant column: m2 <= (1e-15*mean)^2) as 0. The sums replay numpy's order so that the sign
// agrees where m3 is rounding noise: the mean and m2 are numpy's pairwise sums along a
// contiguous column in blocks of 8192; m3 is summed row after row, as numpy reduces the
// C-ordered copy scipy makes for it, except for a single column where that copy is contiguous.
func skewSign(x, scratch []float64, m3RowOrder bool) int8 {
	n := float64(len(x))
	mean := numsum.Blocked(x) / n
	for i, v := range x {
		dv := v - mean
		scratch[i] = dv * dv
	}
	m2 := numsum.Blocked(scratch[:len(x)]) / n
	var m3 float64
	if m3RowOrder {
		s := 0.0
		for _, v := range x {
			dv := v - mean
			s += float64(float64(dv*dv) * dv) // conversions forbid fused multiply-adds
		}
		m3 = s / n
	} else {
		for i, v := range x {
			dv := v - mean
			scratch[i] = float64(dv*dv) * dv
		}
		m3 = numsum.Blocked(scratch[:len(x)]) / n
	}
	r := 1e-15 * mean
	if m2 <= r*r {
		return 0
	}
	switch g := m3 / math.Pow(m2, 1.5); {
	case g > 0:
		return 1
	case g < 0:
		return -1
	}
	return 0
}

// term is one feature's contribution for a value with le training values <= it and ge >= it:
// max(U_skew, (U_l + U_r)/2) with U_l = -log(le/n), U_r = -log(ge/n).
func (d *Detector) term(j, le, ge int) float64 {
	ul, ur := d.negLog[le], d.negLog[ge]
	var us float64
	switch d.sign[j] {
	case -1:
		us = ul
	case 1:
		us = ur
	default:
		us = ul + ur
	}
	if m := (ul + ur) / 2; m > us {
		return m
	}
	return us
}

// mergeMode forces Score's strategy in tests: 0 = choose by cost, 1 = always merge, -1 = never.
var mergeMode = 0

// useMerge reports whether scoring m rows is cheaper by sorting them and merging with the
// training values than by two binary searches per value. Both give the same counts.
func (d *Detector) useMerge(m int) bool {
	switch {
	case mergeMode != 0:
		return mergeMode > 0 && m <= math.MaxUint32
	case m < minRadix || m > math.MaxUint32:
		return false
	}
	return mergeCheaper(d.n, m)
}

// mergeCheaper reports whether m rows against n training values are cheaper to score by the
// merge (m log n >= 3(n + m) by the cost model).
func mergeCheaper(n, m int) bool {
	return m*bits.Len(uint(n)) >= 3*(n+m)
}

// Score writes the ECOD score of every row of X into dst (used when len(dst) == X.Rows, else a
// new slice): the sum over features of max(U_skew, (U_l + U_r)/2), where U_l = -log ECDF(x),
// U_r = -log of the share of training values >= x, and U_skew is U_l for a left-skewed
// feature, U_r for a right-skewed one and U_l + U_r for one without skew. A value beyond every
// training value counts as one training value, so its tail term is log(n), not infinity.
func (d *Detector) Score(ctx context.Context, X *dataset.Matrix, dst []float64) ([]float64, error) {
	if !d.fitted {
		return nil, ErrNotFitted
	}
	if err := checkMatrix(X); err != nil {
		return nil, err
	}
	if X.Cols != d.cols {
		return nil, fmt.Errorf("ecod: Score: X has %d columns, the model was fitted on %d", X.Cols, d.cols)
	}
	if i, j := firstNotFinite(X); i >= 0 {
		return nil, fmt.Errorf("ecod: Score: row %d, column %d: %w", i, j, errNotFinite)
	}
	dst = dfit.Dst(dst, X.Rows)
	var err error
	if d.useMerge(X.Rows) {
		err = d.scoreMerge(ctx, X, dst)
	} else {
		err = d.scoreSearch(ctx, X, dst)
	}
	if err != nil {
		return nil, fmt.Errorf("ecod: Score: %w", err)
	}
	return dst, nil
}

// scoreSearch counts by binary search in the sorted training values, row by row.
func (d *Detector) scoreSearch(ctx context.Context, X *dataset.Matrix, dst []float64) error {
	p, n := d.cols, d.n
	workers := parallel.Workers(d.cfg.Workers, (X.Rows+rowGrain-1)/rowGrain)
	scratch := make([]float64, workers*p)
	return parallel.For(ctx, X.Rows, rowGrain, workers, func(w, r0, r1 int) {
		terms := scratch[w*p : (w+1)*p]
		for i := r0; i < r1; i++ {
			for j, v := range X.Data[i*p : (i+1)*p] {
				col := d.sorted[j*n : (j+1)*n]
				lt := lowerBound(col, v)
				le := lt + upperBound(col[lt:], v)
				terms[j] = d.term(j, le, n-lt)
			}
			dst[i] = numsum.Pairwise(terms)
		}
	})
}

// lowerBound is the number of values in the sorted col that are < v.
func lowerBound(col []float64, v float64) int {
	lo, hi := 0, len(col)
	for lo < hi {
		h := int(uint(lo+hi) >> 1)
		if col[h] < v {
			lo = h + 1
		} else {
			hi = h
		}
	}
	return lo
}

// upperBound is the number of values in the sorted col that are <= v.
func upperBound(col []float64, v float64) int {
	lo, hi := 0, len(col)
	for lo < hi {
		h := int(uint(lo+hi) >> 1)
		if col[h] <= v {
			lo = h + 1
		} else {
			hi = h
		}
	}
	return lo
}

// scoreMerge sorts each feature's values with their row numbers and walks them alongside the
// sorted training values, then adds each row's terms.
func (d *Detector) scoreMerge(ctx context.Context, X *dataset.Matrix, dst []float64) error {
	p, n, m := d.cols, d.n, X.Rows
	keys := make([]uint64, m*p) // column by column
	err := parallel.For(ctx, m, transposeGrain, d.cfg.Workers, func(_, r0, r1 int) {
		for j := 0; j < p; j++ {
			col := keys[j*m : (j+1)*m]
			for i := r0; i < r1; i++ {
				col[i] = orderKey(X.Data[i*p+j])
			}
		}
	})
	if err != nil {
		return err
	}
	terms := make([]float64, m*p)
	workers := parallel.Workers(d.cfg.Workers, p)
	sorters := make([]sorter, workers)
	err = parallel.For(ctx, p, 1, workers, func(w, j0, j1 int) {
		s := &sorters[w]
		s.growPairs(m)
		for j := j0; j < j1; j++ {
			for i, k := range keys[j*m : (j+1)*m] {
				s.pairs[i] = pair{k, uint32(i)}
			}
			sorted := s.sortPairs()
			// One column of millions of rows takes a while: look at ctx in between and every
			// cancelEvery rows of the walk (For returns ctx.Err() for a chunk left unfinished).
			if ctx.Err() != nil {
				return
			}
			col := d.sorted[j*n : (j+1)*n]
			lt, le := 0, 0
			for r, q := range sorted {
				if r%cancelEvery == cancelEvery-1 && ctx.Err() != nil {
					return
				}
				v := keyValue(q.key)
				for lt < n && col[lt] < v {
					lt++
				}
				if le < lt {
					le = lt
				}
				for le < n && col[le] <= v {
					le++
				}
				terms[int(q.idx)*p+j] = d.term(j, le, n-lt)
			}
		}
	})
	if err != nil {
		return err
	}
	return parallel.For(ctx, m, rowGrain*4, d.cfg.Workers, func(_, r0, r1 int) {
		for i := r0; i < r1; i++ {
			dst[i] = numsum.Pairwise(terms[i*p : (i+1)*p])
		}
	})
}

var errNotFinite = fmt.Errorf("value is NaN or infinite: %w", dfit.ErrNonFiniteInput)

func checkMatrix(X *dataset.Matrix) error {
	if X == nil {
		return errors.New("ecod: nil matrix")
	}
	if X.Rows < 0 || X.Cols < 0 || len(X.Data) != X.Rows*X.Cols {
		return fmt.Errorf("ecod: malformed %dx%d matrix with %d values: %w", X.Rows, X.Cols, len(X.Data), dfit.ErrDimension)
	}
	return nil
}

// firstNotFinite returns the row and column of the first NaN or infinity in X, or -1, -1.
func firstNotFinite(X *dataset.Matrix) (int, int) {
	for k, v := range X.Data {
		if v-v != 0 {
			return k / X.Cols, k % X.Cols
		}
	}
	return -1, -1
}

// formatVersion is the first field of the MarshalBinary payload.
const formatVersion = 1

// MarshalBinary encodes the sorted training values and the skewness signs.
func (d *Detector) MarshalBinary() ([]byte, error) {
	if !d.fitted {
		return nil, ErrNotFitted
	}
	w := binenc.Writer{Buf: make([]byte, 0, 64+8*len(d.sorted)+4*d.cols)}
	w.Int(formatVersion)
	w.Int(d.n)
	w.Int(d.cols)
	signs := make([]int32, d.cols)
	for j, s := range d.sign {
		signs[j] = int32(s)
	}
	w.Int32s(signs)
	w.Float64s(d.sorted)
	return w.Buf, nil
}

// UnmarshalBinary restores a detector written by MarshalBinary, keeping the receiver's Workers.
// A truncated or inconsistent payload is an error.
func (d *Detector) UnmarshalBinary(b []byte) error {
	r := binenc.Reader{Buf: b}
	if v := r.Int(); r.Err() == nil && v != formatVersion {
		return fmt.Errorf("ecod: model format version %d, this build reads %d", v, formatVersion)
	}
	n, cols := r.Int(), r.Int()
	signs := r.Int32s()
	sorted := r.Float64s()
	if err := r.Done(); err != nil {
		return fmt.Errorf("ecod: UnmarshalBinary: %w", err)
	}
	if n < 1 || cols < 1 || len(signs) != cols || n > len(sorted) || len(sorted)/n != cols || len(sorted)%n != 0 {
		return fmt.Errorf("ecod: UnmarshalBinary: %w: %d values and %d signs for %d rows of %d columns",
			binenc.ErrShort, len(sorted), len(signs), n, cols)
	}
	sign := make([]int8, cols)
	for j, s := range signs {
		if s < -1 || s > 1 {
			return fmt.Errorf("ecod: UnmarshalBinary: %w: column %d: skewness sign %d", binenc.ErrShort, j, s)
		}
		sign[j] = int8(s)
	}
	for j := 0; j < cols; j++ {
		col := sorted[j*n : (j+1)*n]
		for i, v := range col {
			if v-v != 0 || (i > 0 && !(col[i-1] <= v)) {
				return fmt.Errorf("ecod: UnmarshalBinary: %w: column %d is not sorted finite values", binenc.ErrShort, j)
			}
		}
	}
	d.n, d.cols, d.sorted, d.sign = n, cols, sorted, sign
	d.negLog = negLogTable(n)
	d.fitted = true
	return nil
}

// valueNs is the time in nanoseconds of one core for one value of the data through Fit (copy,
// skewness, radix sort) and the scoring of the training rows (sort and merge), measured with
// GOMAXPROCS=2 on 160k to 4M values.
const valueNs = 130

// Estimate returns the cost of Fit on rows x cols and of scoring the training rows: the sorted
// copy of every column (8 bytes a value) and per worker a column of moments and the radix
// sort's keys; then Score, by merging for 1024 rows or more, with a key and a term per value and
// per worker two arrays of (key, row) pairs, or else per-worker terms. Time: valueNs per value.
func (d *Detector) Estimate(rows, cols int) dfit.Cost {
	if rows < 1 || cols < 1 {
		return dfit.Cost{}
	}
	n, p := float64(rows), float64(cols)
	wf := float64(parallel.Workers(d.cfg.Workers, cols))
	bytes := n*p*8 + p + (n+1)*8 + wf*n*8
	if rows >= minRadix {
		bytes += wf * 2 * n * 8
	}
	if rows >= minRadix && rows <= math.MaxUint32 && mergeCheaper(rows, rows) {
		bytes += 2*n*p*8 + wf*2*n*float64(unsafe.Sizeof(pair{}))
	} else {
		bytes += float64(parallel.Workers(d.cfg.Workers, (rows+rowGrain-1)/rowGrain)) * p * 8
	}
	w := float64(parallel.Workers(d.cfg.Workers, (rows+transposeGrain-1)/transposeGrain))
	return dfit.Make(bytes, valueNs*n*p/w)
}

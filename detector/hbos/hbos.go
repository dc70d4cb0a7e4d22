package hbos

import (
	"context"
	"errors"
	"fmt"
	"math"
	"unsafe"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/detector/internal/fit"
	"github.com/gonomaly/gonomaly/internal/binenc"
	"github.com/gonomaly/gonomaly/internal/numsum"
	"github.com/gonomaly/gonomaly/internal/parallel"
)

// Defaults taken by the zero values of Config (PyOD's defaults).
const (
	DefaultBins  = 10
	DefaultAlpha = 0.1
	DefaultTol   = 0.5
)

// ErrNotFitted is returned by Score and MarshalBinary before Fit (or UnmarshalBinary).
var ErrNotFitted = errors.New("hbos: detector is not fitted")

// Config sets the histogram shape. The zero Config is PyOD's HBOS except for Tol, whose zero
// value is taken literally (the registry passes DefaultTol when the user gives none).
type Config struct {
	// Bins is the number of equal-width bins per feature (0 = DefaultBins; at least 1).
	Bins int
	// Alpha is added to each bin's density before the log (0 = DefaultAlpha; must be positive).
	Alpha float64
	// Tol is how far outside the training range, in units of the edge bin's width, a value still
	// takes that edge bin's density; further out it takes the feature's smallest log-density.
	// The zero value means 0 (only values exactly inside the range use the edge bins); it must
	// not be negative.
	Tol float64
	// Workers bounds the goroutines used by Fit and Score (0 = GOMAXPROCS).
	Workers int
}

// Detector is a histogram-based outlier detector. Its fitted state is read-only, so Score may be
// called from many goroutines at once.
type Detector struct {
	cfg Config

	fitted bool
	cols   int
	// edges holds cols*(Bins+1) bin edges, feature by feature (numpy's linspace values).
	edges []float64
	// logd holds cols*Bins values log2(density + Alpha), feature by feature.
	logd []float64
	// degenerate marks features whose bins collapsed (a range too narrow for float64 at the
	// values' magnitude, where numpy's densities are infinite or NaN); they add 0 to every score.
	degenerate []bool

	// feats is derived from the above by prepare: what scoring reads, one block per feature.
	feats []feature
}

// feature is one feature's scoring table.
type feature struct {
	first, norm, bins float64 // first edge, Bins/(last-first) (numpy's index scale), Bins
	// padded is the edges with -Inf before and +Inf after, so that padded[g] = edges[g-1] and
	// the search for the number of edges below a value needs no range checks.
	padded []float64
	// byCount[g] is the log-density for a value above g edges, g in 1..Bins.
	byCount           []float64
	loTol, hiTol      float64 // (edges[1]-edges[0]) * Tol and (edges[B]-edges[B-1]) * Tol
	firstLog, lastLog float64
	minLog            float64 // smallest log-density
	degenerate        bool
}

// New validates cfg, fills in the defaults and returns an unfitted detector.
func New(cfg Config) (*Detector, error) {
	if cfg.Bins == 0 {
		cfg.Bins = DefaultBins
	}
	if cfg.Alpha == 0 {
		cfg.Alpha = DefaultAlpha
	}
	switch {
	case cfg.Bins < 1 || cfg.Bins > 1<<24:
		return nil, fmt.Errorf("hbos: Bins %d: must be in [1, %d] (0 = %d)", cfg.Bins, 1<<24, DefaultBins)
	case !(cfg.Alpha > 0) || math.IsInf(cfg.Alpha, 0):
		return nil, fmt.Errorf("hbos: Alpha %v: must be a positive finite number (0 = %v)", cfg.Alpha, DefaultAlpha)
	case !(cfg.Tol >= 0) || math.IsInf(cfg.Tol, 0):
		return nil, fmt.Errorf("hbos: Tol %v: must be a finite number >= 0", cfg.Tol)
	case cfg.Workers < 0:
		return nil, fmt.Errorf("hbos: Workers %d: must be >= 0 (0 = GOMAXPROCS)", cfg.Workers)
	}
	return &Detector{cfg: cfg}, nil
}

// Config returns the configuration in use, defaults filled in.
func (d *Detector) Config() Config { return d.cfg }

// rowGrain is the number of rows per parallel chunk; small enough to balance, large enough
// that a chunk outweighs its scheduling.
const rowGrain = 2048

// maxWorkerCounts bounds cols*Bins for the row-parallel count, which keeps one count table per
// worker; above it Fit counts feature by feature.
var maxWorkerCounts = 1 << 18

// Fit builds one histogram per feature of X, as numpy.histogram(x, bins, density=True) does.
// X must have at least one row and one column and hold only finite values.
func (d *Detector) Fit(ctx context.Context, X *dataset.Matrix) error {
	if err := checkMatrix(X); err != nil {
		return err
	}
	if X.Rows == 0 || X.Cols == 0 {
		return fmt.Errorf("hbos: Fit on a %dx%d matrix: need at least one row and one column: %w", X.Rows, X.Cols, fit.ErrTooFewRows)
	}
	n, p, B := X.Rows, X.Cols, d.cfg.Bins
	chunks := (n + rowGrain - 1) / rowGrain
	workers := parallel.Workers(d.cfg.Workers, chunks)

	// Pass 1: range of every feature (min and max are exact, so the per-worker merge is too).
	lo := make([]float64, workers*p)
	hi := make([]float64, workers*p)
	for i := range lo {
		lo[i], hi[i] = math.Inf(1), math.Inf(-1)
	}
	bad := make([]int, workers) // first row index+1 holding a non-finite value, per worker
	err := parallel.For(ctx, n, rowGrain, workers, func(w, r0, r1 int) {
		wl, wh := lo[w*p:(w+1)*p], hi[w*p:(w+1)*p]
		for i := r0; i < r1; i++ {
			row := X.Data[i*p : (i+1)*p]
			for j, v := range row {
				if v < wl[j] {
					wl[j] = v
				}
				if v > wh[j] {
					wh[j] = v
				}
				if v-v != 0 { // NaN or ±Inf
					if bad[w] == 0 || i+1 < bad[w] {
						bad[w] = i + 1
					}
				}
			}
		}
	})
	if err != nil {
		return fmt.Errorf("hbos: Fit: %w", err)
	}
	if i := firstBad(bad); i >= 0 {
		return fmt.Errorf("hbos: Fit: row %d, column %d: %w", i, badColumn(X.Row(i)), errNotFinite)
	}
	for w := 1; w < workers; w++ {
		for j := 0; j < p; j++ {
			lo[j] = min(lo[j], lo[w*p+j])
			hi[j] = max(hi[j], hi[w*p+j])
		}
	}

	edges := make([]float64, p*(B+1))
	norm := make([]float64, p)
	perFeature := make([][]float64, p) // each feature's edges, sliced once
	for j := 0; j < p; j++ {
		perFeature[j] = edges[j*(B+1) : (j+1)*(B+1)]
		first, last := lo[j], hi[j]
		if first == last { // numpy widens an empty range by 0.5 each side
			first -= 0.5
			last += 0.5
		}
		linspace(edges[j*(B+1):(j+1)*(B+1)], first, last)
		norm[j] = float64(B) / (last - first) // as prepare computes it from the edges
	}

	// Pass 2: counts.
	counts := make([]int64, p*B)
	if p*B <= maxWorkerCounts {
		wc := make([]int64, workers*p*B)
		err = parallel.For(ctx, n, rowGrain, workers, func(w, r0, r1 int) {
			c := wc[w*p*B : (w+1)*p*B]
			for i := r0; i < r1; i++ {
				row := X.Data[i*p : (i+1)*p]
				for j, v := range row {
					c[j*B+binIndex(perFeature[j], norm[j], v)]++
				}
			}
		})
		for w := 0; w < workers; w++ {
			for k, c := range wc[w*p*B : (w+1)*p*B] {
				counts[k] += c
			}
		}
	} else {
		err = parallel.For(ctx, p, 1, d.cfg.Workers, func(_, j0, j1 int) {
			for j := j0; j < j1; j++ {
				e, c := edges[j*(B+1):(j+1)*(B+1)], counts[j*B:(j+1)*B]
				for i := 0; i < n; i++ {
					c[binIndex(e, norm[j], X.Data[i*p+j])]++
				}
			}
		})
	}
	if err != nil {
		return fmt.Errorf("hbos: Fit: %w", err)
	}

	// Densities as numpy: n / diff(edges) / n.sum(), then log2(density + alpha).
	logd := make([]float64, p*B)
	degenerate := make([]bool, p)
	for j := 0; j < p; j++ {
		e := edges[j*(B+1) : (j+1)*(B+1)]
		for k := 0; k < B; k++ {
			l := math.Log2(float64(counts[j*B+k])/(e[k+1]-e[k])/float64(n) + d.cfg.Alpha)
			if math.IsNaN(l) || math.IsInf(l, 0) { // a zero or subnormal bin width
				degenerate[j] = true
			}
			logd[j*B+k] = l
		}
		if degenerate[j] {
			clear(logd[j*B : (j+1)*B])
		}
	}

	d.cols, d.edges, d.logd, d.degenerate = p, edges, logd, degenerate
	d.prepare()
	d.fitted = true
	return nil
}

// linspace fills e with numpy.linspace(first, last, len(e)) exactly: value i is
// i*step + first with step = (last-first)/(len(e)-1), and the last value is last.
func linspace(e []float64, first, last float64) {
	div := len(e) - 1
	delta := last - first
	step := delta / float64(div)
	for i := range e {
		if step == 0 { // numpy's path for subnormal steps: (i/div)*delta
			e[i] = float64(float64(i)/float64(div)*delta) + first
		} else {
			e[i] = float64(float64(i)*step) + first // the conversion forbids a fused multiply-add
		}
	}
	e[div] = last
}

// binIndex is numpy.histogram's bin of a value v inside [e[0], e[B]]: the index from the scale,
// corrected by one where rounding put it on the wrong side of an edge; the last bin is closed.
func binIndex(e []float64, norm, v float64) int {
	B := len(e) - 1
	f := (v - e[0]) * norm
	var k int
	switch {
	case f >= float64(B):
		k = B
	case f > 0:
		k = int(f)
	}
	if k == B {
		k--
	}
	if v < e[k] && k > 0 {
		k--
	}
	if k+1 <= B && v >= e[k+1] && k != B-1 {
		k++
	}
	return k
}

// prepare derives the scoring tables from edges and logd.
func (d *Detector) prepare() {
	p, B := d.cols, d.cfg.Bins
	d.feats = make([]feature, p)
	for j := range d.feats {
		e := d.edges[j*(B+1) : (j+1)*(B+1)]
		logd := d.logd[j*B : (j+1)*B]
		f := &d.feats[j]
		f.first, f.norm, f.bins = e[0], float64(B)/(e[B]-e[0]), float64(B)
		f.padded = make([]float64, B+3)
		f.padded[0], f.padded[B+2] = math.Inf(-1), math.Inf(1)
		copy(f.padded[1:], e)
		f.byCount = make([]float64, B+2)
		copy(f.byCount[1:], logd)
		f.minLog = math.Inf(1)
		for _, v := range logd {
			f.minLog = min(f.minLog, v)
		}
		f.loTol, f.hiTol = (e[1]-e[0])*d.cfg.Tol, (e[B]-e[B-1])*d.cfg.Tol
		f.firstLog, f.lastLog = logd[0], logd[B-1]
		f.degenerate = d.degenerate[j]
	}
}

// Score writes the HBOS score of every row of X into dst (used when len(dst) == X.Rows, else a
// new slice): minus the sum over features of log2(density + Alpha) of the training bin the
// value falls in. A value on an inner edge takes the bin to its left, as numpy.digitize(right=True) does.
func (d *Detector) Score(ctx context.Context, X *dataset.Matrix, dst []float64) ([]float64, error) {
	if !d.fitted {
		return nil, ErrNotFitted
	}
	if err := checkMatrix(X); err != nil {
		return nil, err
	}
	if X.Cols != d.cols {
		return nil, fmt.Errorf("hbos: Score: X has %d columns, the model was fitted on %d", X.Cols, d.cols)
	}
	dst = fit.Dst(dst, X.Rows)
	p := d.cols
	workers := parallel.Workers(d.cfg.Workers, (X.Rows+rowGrain-1)/rowGrain)
	scratch := make([]float64, workers*p)
	bad := make([]int, workers)
	err := parallel.For(ctx, X.Rows, rowGrain, workers, func(w, r0, r1 int) {
		terms := scratch[w*p : (w+1)*p]
		for i := r0; i < r1; i++ {
			row := X.Data[i*p : (i+1)*p]
			for j, v := range row {
				if v-v != 0 {
					if bad[w] == 0 || i+1 < bad[w] {
						bad[w] = i + 1
					}
					terms[j] = 0
					continue
				}
				terms[j] = d.feats[j].term(v)
			}
			dst[i] = -numsum.Pairwise(terms)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("hbos: Score: %w", err)
	}
	if i := firstBad(bad); i >= 0 {
		return nil, fmt.Errorf("hbos: Score: row %d, column %d: %w", i, badColumn(X.Row(i)), errNotFinite)
	}
	return dst, nil
}

// term is the feature's log-density for the finite value v.
func (f *feature) term(v float64) float64 {
	if f.degenerate {
		return 0
	}
	// g = number of edges strictly below v (numpy.digitize(v, edges, right=True)), found from
	// the scale and corrected against the edges; the loops run at most a step or two.
	x := (v - f.first) * f.norm
	g := 0
	if x >= f.bins {
		g = len(f.byCount) - 1
	} else if x > 0 {
		g = int(x) + 1
	}
	e := f.padded
	for e[g] >= v {
		g--
	}
	for e[g+1] < v {
		g++
	}
	switch {
	case g == 0:
		if e[1]-v <= f.loTol {
			return f.firstLog
		}
		return f.minLog
	case g == len(f.byCount)-1:
		if v-e[g] <= f.hiTol {
			return f.lastLog
		}
		return f.minLog
	}
	return f.byCount[g]
}

var errNotFinite = fmt.Errorf("value is NaN or infinite: %w", fit.ErrNonFiniteInput)

func checkMatrix(X *dataset.Matrix) error {
	if X == nil {
		return errors.New("hbos: nil matrix")
	}
	if X.Rows < 0 || X.Cols < 0 || len(X.Data) != X.Rows*X.Cols {
		return fmt.Errorf("hbos: malformed %dx%d matrix with %d values: %w", X.Rows, X.Cols, len(X.Data), fit.ErrDimension)
	}
	return nil
}

// firstBad returns the smallest row recorded (stored as row+1) or -1.
func firstBad(bad []int) int {
	r := -1
	for _, b := range bad {
		if b > 0 && (r < 0 || b-1 < r) {
			r = b - 1
		}
	}
	return r
}

func badColumn(row []float64) int {
	for j, v := range row {
		if v-v != 0 {
			return j
		}
	}
	return -1
}

// formatVersion is the first field of the MarshalBinary payload.
const formatVersion = 1

// MarshalBinary encodes the configuration and the fitted histograms.
func (d *Detector) MarshalBinary() ([]byte, error) {
	if !d.fitted {
		return nil, ErrNotFitted
	}
	w := binenc.Writer{Buf: make([]byte, 0, 64+8*(len(d.edges)+len(d.logd)+d.cols))}
	w.Int(formatVersion)
	w.Int(d.cfg.Bins)
	w.Float64(d.cfg.Alpha)
	w.Float64(d.cfg.Tol)
	w.Int(d.cols)
	w.Float64s(d.edges)
	w.Float64s(d.logd)
	for _, b := range d.degenerate {
		w.Bool(b)
	}
	return w.Buf, nil
}

// UnmarshalBinary restores a detector written by MarshalBinary. It keeps the receiver's
// Workers setting. A truncated or inconsistent payload is an error.
func (d *Detector) UnmarshalBinary(b []byte) error {
	r := binenc.Reader{Buf: b}
	if v := r.Int(); r.Err() == nil && v != formatVersion {
		return fmt.Errorf("hbos: model format version %d, this build reads %d", v, formatVersion)
	}
	bins := r.Int()
	alpha := r.Float64()
	tol := r.Float64()
	cols := r.Int()
	if err := r.Err(); err != nil {
		return fmt.Errorf("hbos: UnmarshalBinary: %w", err)
	}
	cfg := Config{Bins: bins, Alpha: alpha, Tol: tol, Workers: d.cfg.Workers}
	if bins < 1 || bins > 1<<24 || !(alpha > 0) || math.IsInf(alpha, 0) || !(tol >= 0) || math.IsInf(tol, 0) ||
		cols < 1 || cols > len(b)/8 {
		return fmt.Errorf("hbos: UnmarshalBinary: %w: bad header (bins %d, alpha %v, tol %v, cols %d)", binenc.ErrShort, bins, alpha, tol, cols)
	}
	edges := r.Float64s()
	logd := r.Float64s()
	degenerate := make([]bool, cols)
	for j := range degenerate {
		degenerate[j] = r.Bool()
	}
	if err := r.Done(); err != nil {
		return fmt.Errorf("hbos: UnmarshalBinary: %w", err)
	}
	if len(edges) != cols*(bins+1) || len(logd) != cols*bins {
		return fmt.Errorf("hbos: UnmarshalBinary: %w: %d edges and %d densities for %d columns of %d bins",
			binenc.ErrShort, len(edges), len(logd), cols, bins)
	}
	for j := 0; j < cols; j++ {
		e := edges[j*(bins+1) : (j+1)*(bins+1)]
		for k := range e {
			if math.IsNaN(e[k]) || math.IsInf(e[k], 0) || (k > 0 && e[k] < e[k-1]) {
				return fmt.Errorf("hbos: UnmarshalBinary: %w: column %d: edges not finite and increasing", binenc.ErrShort, j)
			}
		}
		for _, l := range logd[j*bins : (j+1)*bins] {
			if !degenerate[j] && (math.IsNaN(l) || math.IsInf(l, 0)) {
				return fmt.Errorf("hbos: UnmarshalBinary: %w: column %d: log-density %v", binenc.ErrShort, j, l)
			}
		}
	}
	d.cfg = cfg
	d.cols, d.edges, d.logd, d.degenerate = cols, edges, logd, degenerate
	d.prepare()
	d.fitted = true
	return nil
}

// valueNs is the time in nanoseconds of one core for one value of the data through Fit's two
// passes and Score (about half each), measured with GOMAXPROCS=2 on 160k to 4M values.
const valueNs = 40

// Estimate returns the cost of Fit on rows x cols and of scoring the training rows: per feature
// its edges, counts, log-densities and scoring tables (about 5 x 8 bytes a bin), the per-worker
// count tables when cols*Bins is small enough for them (maxWorkerCounts), and the per-worker
// ranges and score terms. Time: valueNs per value, plus the bins.
func (d *Detector) Estimate(rows, cols int) fit.Cost {
	if rows < 1 || cols < 1 {
		return fit.Cost{}
	}
	n, p, B := float64(rows), float64(cols), float64(d.cfg.Bins)
	w := float64(parallel.Workers(d.cfg.Workers, (rows+rowGrain-1)/rowGrain))
	bytes := 3*w*p*8 + 2*w*8 + // ranges, score terms, bad rows
		p*(B+1)*8 + p*8 + p*24 + p*B*8 + p*B*8 + p + // edges, norm, per-feature slices, counts, logd, degenerate
		p*float64(unsafe.Sizeof(feature{})) + p*(2*B+5)*8 // scoring tables
	if p*B <= float64(maxWorkerCounts) {
		bytes += w * p * B * 8
	}
	return fit.Make(bytes, valueNs*n*p/w+30*p*B)
}

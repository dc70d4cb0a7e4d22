package ocsvm

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/detector/internal/fit"
	"github.com/gonomaly/gonomaly/internal/binenc"
	"github.com/gonomaly/gonomaly/internal/parallel"
)

// Defaults taken by the zero values of Config (scikit-learn's OneClassSVM). The registry in
// package detector offers the same as its parameters' defaults.
const (
	DefaultNu      = 0.5
	DefaultTol     = 1e-3
	DefaultCacheMB = 200
)

// Config holds the parameters of a one-class SVM. The zero value is scikit-learn's default
// OneClassSVM(kernel="rbf", gamma="scale", nu=0.5, tol=1e-3, cache_size=200, shrinking=True).
type Config struct {
	// Gamma is the RBF width in exp(-Gamma*|x-y|^2). 0 means "scale": 1/(d*Var(X)) with the
	// variance taken over every entry of X (numpy's X.var()), or 1 when that variance is 0.
	Gamma float64
	// GammaAuto selects gamma = 1/d ("auto"); Gamma must then be 0.
	GammaAuto bool
	// Nu bounds the share of training rows outside the boundary and from below the share of
	// support vectors; in (0, 1]. 0 means DefaultNu.
	Nu float64
	// Tol is the stopping tolerance on the maximal KKT violation. 0 means DefaultTol.
	Tol float64
	// CacheMB is the kernel column cache size in MiB. 0 means DefaultCacheMB.
	CacheMB int
	// NoShrinking turns off libsvm's shrinking heuristic (on by default).
	NoShrinking bool
	// MaxIter caps the solver's iterations. 0 means libsvm's own cap, max(10^7, 100*rows);
	// Info reports whether the cap was reached.
	MaxIter int
	// Workers is the number of goroutines used for kernel columns and scoring; 0 means
	// GOMAXPROCS. Results are bit-identical for any value.
	Workers int
}

// Detector is a one-class SVM with an RBF kernel. Create it with New, train it with Fit and
// score rows with Score; Score is safe for concurrent use once Fit has returned.
type Detector struct {
	cfg Config

	fitted bool
	cols   int
	gamma  float64
	rho    float64
	sv     []float64 // support vectors, row-major, in training-row order
	coef   []float64 // their alphas, in (0, 1]
	rows   int       // training rows
	info   FitInfo
}

// FitInfo describes a fitted model.
type FitInfo struct {
	Gamma          float64 // the RBF width used
	Rho            float64 // the offset: Score = Rho - sum_i alpha_i K(sv_i, x)
	SupportVectors int     // rows with alpha > 0
	BoundedSVs     int     // rows with alpha = 1
	Iterations     int     // SMO iterations
	MaxIterReached bool    // the solver stopped at MaxIter before reaching Tol
}

// ErrNotFitted is returned by Score before Fit (or UnmarshalBinary).
var ErrNotFitted = errors.New("ocsvm: detector is not fitted")

// formatVersion is the first field of the MarshalBinary payload.
const formatVersion = 1

// New validates cfg, fills in the defaults and returns an unfitted detector.
func New(cfg Config) (*Detector, error) {
	switch {
	case math.IsNaN(cfg.Gamma) || math.IsInf(cfg.Gamma, 0) || cfg.Gamma < 0:
		return nil, fmt.Errorf("ocsvm: gamma %v: must be a finite number > 0 (or 0 for \"scale\")", cfg.Gamma)
	case cfg.GammaAuto && cfg.Gamma != 0:
		return nil, fmt.Errorf("ocsvm: gamma %v given together with GammaAuto", cfg.Gamma)
	case math.IsNaN(cfg.Nu) || cfg.Nu < 0 || cfg.Nu > 1:
		return nil, fmt.Errorf("ocsvm: nu %v: must be in (0, 1]", cfg.Nu)
	case math.IsNaN(cfg.Tol) || math.IsInf(cfg.Tol, 0) || cfg.Tol < 0:
		return nil, fmt.Errorf("ocsvm: tol %v: must be a finite number > 0", cfg.Tol)
	case cfg.CacheMB < 0:
		return nil, fmt.Errorf("ocsvm: cache size %d MiB: must be >= 0", cfg.CacheMB)
	case cfg.MaxIter < 0:
		return nil, fmt.Errorf("ocsvm: max_iter %d: must be >= 0", cfg.MaxIter)
	case cfg.Workers < 0:
		return nil, fmt.Errorf("ocsvm: workers %d: must be >= 0", cfg.Workers)
	}
	if cfg.Nu == 0 {
		cfg.Nu = DefaultNu
	}
	if cfg.Tol == 0 {
		cfg.Tol = DefaultTol
	}
	if cfg.CacheMB == 0 {
		cfg.CacheMB = DefaultCacheMB
	}
	return &Detector{cfg: cfg}, nil
}

// Config returns the configuration with defaults filled in.
func (d *Detector) Config() Config { return d.cfg }

// Info describes the fitted model (the zero FitInfo before Fit).
func (d *Detector) Info() FitInfo { return d.info }

// Fit trains the SVM on the rows of X with libsvm's SMO solver, keeping the support vectors.
func (d *Detector) Fit(ctx context.Context, X *dataset.Matrix) error {
	if X == nil || X.Rows == 0 || X.Cols == 0 {
		return fmt.Errorf("ocsvm: fit: empty training matrix: %w", fit.ErrDimension)
	}
	if len(X.Data) < X.Rows*X.Cols {
		return fmt.Errorf("ocsvm: fit: matrix data holds %d values, %dx%d needs %d: %w", len(X.Data), X.Rows, X.Cols, X.Rows*X.Cols, fit.ErrDimension)
	}
	if err := checkFinite(X); err != nil {
		return fmt.Errorf("ocsvm: fit: %w", err)
	}
	l, dim := X.Rows, X.Cols
	gamma := d.cfg.Gamma
	switch {
	case d.cfg.GammaAuto:
		gamma = 1 / float64(dim)
	case gamma == 0:
		if v := variance(X.Data[:l*dim]); v != 0 {
			gamma = 1 / (float64(dim) * v)
		} else {
			gamma = 1
		}
	}
	if math.IsInf(gamma, 0) || math.IsNaN(gamma) || gamma <= 0 {
		return fmt.Errorf("ocsvm: fit: gamma %v from the data's variance is not usable: %w", gamma, fit.ErrOverflow)
	}
	// The kernel's training form |xi|^2 + |xj|^2 - 2 xi.xj, and gamma times it, must stay
	// finite: each of its terms is at most 2 max |x|^2, so 4 max |x|^2 bounds it.
	var maxSq float64
	for i := range l {
		row := X.Data[i*dim : (i+1)*dim]
		maxSq = max(maxSq, dot(row, row))
	}
	if !(4*maxSq <= math.MaxFloat64) || math.IsInf(gamma*4*maxSq, 0) {
		return fmt.Errorf("ocsvm: fit: squared norms up to %v: %w", maxSq, fit.ErrOverflow)
	}
	maxIter := d.cfg.MaxIter
	if maxIter == 0 {
		maxIter = max(10000000, 100*l)
	}
	workers := parallel.Workers(d.cfg.Workers, l)
	s := newSolver(X.Data, l, dim, gamma, d.cfg.Nu, d.cfg.Tol, !d.cfg.NoShrinking, maxIter,
		int64(d.cfg.CacheMB)<<20, workers)
	rho, err := s.solve(ctx)
	if err != nil {
		return fmt.Errorf("ocsvm: fit: %w", err)
	}

	// Put the alphas back in row order and keep the rows with alpha > 0.
	alpha := make([]float64, l)
	for p, row := range s.perm {
		alpha[row] = s.alpha[p]
	}
	nsv, bsv := 0, 0
	for _, a := range alpha {
		if a > 0 {
			nsv++
			if a >= 1 {
				bsv++
			}
		}
	}
	sv := make([]float64, 0, nsv*dim)
	coef := make([]float64, 0, nsv)
	for i, a := range alpha {
		if a > 0 {
			sv = append(sv, X.Data[i*dim:i*dim+dim]...)
			coef = append(coef, a)
		}
	}
	d.fitted, d.cols, d.gamma, d.rho, d.sv, d.coef, d.rows = true, dim, gamma, rho, sv, coef, l
	d.info = FitInfo{Gamma: gamma, Rho: rho, SupportVectors: nsv, BoundedSVs: bsv, Iterations: s.iter, MaxIterReached: s.hitMaxIter}
	return nil
}

// Score writes rho - sum_i alpha_i K(sv_i, x) for every row x of X into dst (used when
// len(dst) == X.Rows, else a new slice) and returns it: scikit-learn's -decision_function,
// higher = more anomalous.
func (d *Detector) Score(ctx context.Context, X *dataset.Matrix, dst []float64) ([]float64, error) {
	if !d.fitted {
		return nil, ErrNotFitted
	}
	if X == nil {
		return nil, fmt.Errorf("ocsvm: score: nil matrix")
	}
	if X.Cols != d.cols {
		return nil, fmt.Errorf("ocsvm: score: data has %d columns, the model %d", X.Cols, d.cols)
	}
	if len(X.Data) < X.Rows*X.Cols {
		return nil, fmt.Errorf("ocsvm: score: matrix data holds %d values, %dx%d needs %d", len(X.Data), X.Rows, X.Cols, X.Rows*X.Cols)
	}
	if err := checkFinite(X); err != nil {
		return nil, fmt.Errorf("ocsvm: score: %w", err)
	}
	dst = fit.Dst(dst, X.Rows)
	// About 64k kernel evaluations per chunk: small enough to balance, large enough that
	// handing out chunks costs nothing.
	grain := max(1, 65536/max(1, len(d.coef)))
	dim, sv, coef, gamma, rho := d.cols, d.sv, d.coef, d.gamma, d.rho
	err := parallel.For(ctx, X.Rows, grain, d.cfg.Workers, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			dst[i] = rho - decisionSum(X.Data[i*dim:i*dim+dim:i*dim+dim], sv, coef, gamma)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("ocsvm: score: %w", err)
	}
	return dst, nil
}

// MarshalBinary encodes the fitted model (support vectors, alphas, rho, gamma).
func (d *Detector) MarshalBinary() ([]byte, error) {
	if !d.fitted {
		return nil, ErrNotFitted
	}
	w := binenc.Writer{}
	w.Int(formatVersion)
	w.Int(d.cols)
	w.Int(d.rows)
	w.Float64(d.gamma)
	w.Float64(d.rho)
	w.Int(d.info.Iterations)
	w.Bool(d.info.MaxIterReached)
	w.Float64s(d.coef)
	w.Float64s(d.sv)
	return w.Buf, nil
}

// UnmarshalBinary restores a model written by MarshalBinary. A truncated or corrupt payload
// is an error and leaves the detector unchanged.
func (d *Detector) UnmarshalBinary(b []byte) error {
	r := binenc.Reader{Buf: b}
	if v := r.Int(); r.Err() == nil && v != formatVersion {
		return fmt.Errorf("ocsvm: model format version %d, want %d", v, formatVersion)
	}
	cols, rows := r.Int(), r.Int()
	gamma, rho := r.Float64(), r.Float64()
	iters, hit := r.Int(), r.Bool()
	coef := r.Float64s()
	sv := r.Float64s()
	if err := r.Done(); err != nil {
		return fmt.Errorf("ocsvm: decoding model: %w", err)
	}
	switch {
	case cols < 1 || rows < 1:
		return fmt.Errorf("ocsvm: decoding model: %d columns, %d training rows", cols, rows)
	case !(gamma > 0) || math.IsInf(gamma, 0) || math.IsNaN(rho) || math.IsInf(rho, 0):
		return fmt.Errorf("ocsvm: decoding model: gamma %v, rho %v", gamma, rho)
	case len(coef) == 0 || len(coef) > rows || len(sv)%len(coef) != 0 || len(sv)/len(coef) != cols: // not len(coef)*cols, which can wrap
		return fmt.Errorf("ocsvm: decoding model: %d alphas and %d support-vector values for %d columns",
			len(coef), len(sv), cols)
	case iters < 0:
		return fmt.Errorf("ocsvm: decoding model: %d iterations", iters)
	}
	bsv := 0
	for i, a := range coef {
		if !(a > 0 && a <= 1) {
			return fmt.Errorf("ocsvm: decoding model: alpha %d is %v, not in (0, 1]", i, a)
		}
		if a >= 1 {
			bsv++
		}
	}
	for i, v := range sv {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("ocsvm: decoding model: support vector %d, column %d is %v", i/cols, i%cols, v)
		}
	}
	d.fitted, d.cols, d.rows, d.gamma, d.rho, d.coef, d.sv = true, cols, rows, gamma, rho, coef, sv
	d.info = FitInfo{Gamma: gamma, Rho: rho, SupportVectors: len(coef), BoundedSVs: bsv, Iterations: iters, MaxIterReached: hit}
	return nil
}

func checkFinite(X *dataset.Matrix) error {
	for i, v := range X.Data[:X.Rows*X.Cols] {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("row %d, column %d is %v: %w", i/X.Cols, i%X.Cols, v, fit.ErrNonFiniteInput)
		}
	}
	return nil
}

// variance is numpy's a.var() of a contiguous array: the mean by pairwise summation, then the
// mean of the squared deviations, also summed pairwise.
func variance(a []float64) float64 {
	n := float64(len(a))
	mean := pairwiseSum(a, func(v float64) float64 { return v }) / n
	return pairwiseSum(a, func(v float64) float64 { t := v - mean; return t * t }) / n
}

// pairwiseSum sums f(a[i]) the way numpy's pairwise_sum does (blocks of 128 summed in eight
// interleaved lanes, halves split at multiples of 8), so that gamma="scale" matches
// scikit-learn's to the last bit on most inputs.
func pairwiseSum(a []float64, f func(float64) float64) float64 {
	n := len(a)
	switch {
	case n < 8:
		var res float64
		for _, v := range a {
			res += f(v)
		}
		return res
	case n <= 128:
		var r [8]float64
		for j := range r {
			r[j] = f(a[j])
		}
		i := 8
		for ; i < n-n%8; i += 8 {
			for j := range r {
				r[j] += f(a[i+j])
			}
		}
		res := ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
		for ; i < n; i++ {
			res += f(a[i])
		}
		return res
	default:
		n2 := n / 2
		n2 -= n2 % 8
		return pairwiseSum(a[:n2], f) + pairwiseSum(a[n2:], f)
	}
}

// Time constants of Estimate, in nanoseconds of one core, measured with GOMAXPROCS=2 on 2000 to
// 10000 rows of 4 to 40 columns: a kernel value costs kernelNs plus kernelColNs per column; a
// solver iteration scans its gradient at iterRowNs a row. libsvm's one-class solver ran
// between nu*l/2 and nu*l iterations on every such set; Estimate counts 2 nu*l, which also
// covers the wall time lost to a busy machine.
const (
	kernelNs    = 3
	kernelColNs = 0.35
	iterRowNs   = 6
)

// Estimate returns the cost of Fit on rows x cols and of scoring the training rows. Memory:
// the solver's permuted copy of the rows and its per-row vectors, the kernel cache (its budget,
// CacheMB less libsvm's per-column charge, or the whole l x l matrix in float32 if that is
// smaller; twice the budget when the cache is the smaller, for the evicted and reallocated
// columns that are garbage until the next collection, which the runtime lets grow as large as
// the live heap) and the support vectors, about nu*l of them. Time: the initial gradient (nu*l
// kernel columns), up to 2 nu*l iterations computing two columns each, and Score's l x nu*l
// kernel values. The number of iterations depends on the data; this is the typical case.
func (d *Detector) Estimate(rows, cols int) fit.Cost {
	if rows < 1 || cols < 1 {
		return fit.Cost{}
	}
	l, dim := float64(rows), float64(cols)
	nz := math.Ceil(d.cfg.Nu * l)
	budget := math.Max(float64(int64(d.cfg.CacheMB)<<20)-32*l, 8*l)
	cache := 4 * l * l
	if budget < cache {
		cache = 2 * budget
	}
	cache += 24*l + 8*(l+1)
	solver := l*dim*8 + 4*l*8 + l + 4*l
	model := l*8 + nz*(dim+1)*8
	w := float64(parallel.Workers(d.cfg.Workers, rows))
	kc := kernelNs + kernelColNs*dim
	iters := 2 * nz
	ns := nz*l*kc/w + iters*(2*l*kc/w+iterRowNs*l) + l*nz*kc/w
	return fit.Make(solver+cache+model, ns)
}

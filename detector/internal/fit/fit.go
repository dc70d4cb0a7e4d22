// Package fit is what the detector package and its algorithms share without importing each
// other: the cost of a fit, estimated before it runs, and the kinds of error a fit reports that
// callers branch on. The detector package re-exports each (detector.Cost, detector.ErrOverflow,
// ...), so the algorithms' errors match the detector package's sentinels with errors.Is.
package fit

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/gonomaly/gonomaly/dataset"
)

// Cost is what fitting a detector on data of a given shape needs, estimated before fitting.
type Cost struct {
	Bytes int64         // peak memory the fit (and scoring the training rows) allocates, beyond the input matrix
	Time  time.Duration // rough wall time of the fit on this machine's GOMAXPROCS cores
}

// Errors a fit reports, re-exported by the detector package.
var (
	ErrDimension      = errors.New("data width does not match the model")
	ErrTooFewRows     = errors.New("too few rows")
	ErrBadParameter   = errors.New("bad parameter")
	ErrNonFiniteInput = errors.New("NaN or Inf in input")
	ErrOverflow       = errors.New("values too large for this algorithm")
)

// Make returns the Cost of bytes bytes and ns nanoseconds, both computed in float64 so that
// absurd parameters cannot overflow an integer on the way: each saturates at math.MaxInt64
// (NaN and negative values count as 0).
func Make(bytes, ns float64) Cost {
	return Cost{Bytes: saturate(bytes), Time: time.Duration(saturate(ns))}
}

// Add returns a + b, saturating.
func Add(a, b Cost) Cost {
	return Make(float64(a.Bytes)+float64(b.Bytes), float64(a.Time)+float64(b.Time))
}

func saturate(v float64) int64 {
	switch {
	case !(v > 0):
		return 0
	case v >= math.MaxInt64:
		return math.MaxInt64
	}
	return int64(v)
}

// Columns returns an error saying so unless X (which may be nil) has cols columns, the width
// of the data the model was fitted on.
func Columns(X *dataset.Matrix, cols int) error {
	if X != nil && X.Cols == cols {
		return nil
	}
	got := 0
	if X != nil {
		got = X.Cols
	}
	return fmt.Errorf("the model was fitted on %d columns, the data has %d", cols, got)
}

// Dst returns dst when it holds rows values, else a new slice of rows: the dst rule of
// detector.Detector.Score, which every algorithm follows.
func Dst(dst []float64, rows int) []float64 {
	if len(dst) != rows {
		return make([]float64, rows)
	}
	return dst
}

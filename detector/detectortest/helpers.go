package detectortest

import (
	"context"
	"testing"

	"github.com/gonomaly/gonomaly/dataset"
)

// MustNew returns newDetector(cfg), failing tb if it returns an error:
// MustNew(t, knn.New, knn.Config{}).
func MustNew[C, D any](tb testing.TB, newDetector func(C) (D, error), cfg C) D {
	tb.Helper()
	d, err := newDetector(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

// Constructor returns a function that makes newDetector(cfg), the argument Run and the Bench
// functions take. cfg is the test's own and known valid: the function panics if newDetector
// returns an error.
func Constructor[C any, D Detector](newDetector func(C) (D, error), cfg C) func() Detector {
	return func() Detector {
		d, err := newDetector(cfg)
		if err != nil {
			panic(err)
		}
		return d
	}
}

// Fit fits d on X, failing tb if Fit returns an error, and returns d. d needs only a Fit method
// (a detector.Detector will do).
func Fit[D interface {
	Fit(ctx context.Context, X *dataset.Matrix) error
}](tb testing.TB, d D, X *dataset.Matrix) D {
	tb.Helper()
	if err := d.Fit(context.Background(), X); err != nil {
		tb.Fatal(err)
	}
	return d
}

// Score returns d's scores of the rows of X in a new slice, failing tb if Score returns an error.
// d needs only a Score method (a detector.Detector will do).
func Score(tb testing.TB, d interface {
	Score(ctx context.Context, X *dataset.Matrix, dst []float64) ([]float64, error)
}, X *dataset.Matrix) []float64 {
	tb.Helper()
	s, err := d.Score(context.Background(), X, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// Matrix returns the matrix of rows (dataset.FromRows), failing tb if they are ragged or empty.
func Matrix(tb testing.TB, rows [][]float64) *dataset.Matrix {
	tb.Helper()
	m, err := dataset.FromRows(rows)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// WorkersBitIdentical fits detectors made by newDetector(1) and newDetector(3) (the argument is
// the number of workers) on synthetic data of 5 and of 40 columns, and fails t unless their
// scores of new rows, and their training scores where the detector has a TrainScores method,
// are the same bit for bit.
func WorkersBitIdentical(t *testing.T, newDetector func(workers int) (Detector, error)) {
	t.Helper()
	for _, cols := range []int{5, 40} {
		X, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: 3000, Cols: cols, Contamination: 0.05, Seed: 5})
		Q, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: 500, Cols: cols, Contamination: 0.2, Seed: 6})
		var train, scores [][]float64
		for _, w := range []int{1, 3} {
			d := Fit(t, MustNew(t, newDetector, w), X)
			if ts, ok := d.(interface{ TrainScores() []float64 }); ok {
				train = append(train, ts.TrainScores())
			}
			scores = append(scores, Score(t, d, Q))
		}
		if len(train) == 2 {
			for i := range train[0] {
				if train[0][i] != train[1][i] {
					t.Fatalf("%d columns: training row %d: %v with 1 worker, %v with 3", cols, i, train[0][i], train[1][i])
				}
			}
		}
		for i := range scores[0] {
			if scores[0][i] != scores[1][i] {
				t.Fatalf("%d columns: row %d: %v with 1 worker, %v with 3", cols, i, scores[0][i], scores[1][i])
			}
		}
	}
}

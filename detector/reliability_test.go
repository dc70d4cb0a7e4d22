package detector

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/internal/parallel"
)

// panicky is a test detector that panics where it is told to: in Fit, in Score, or inside a
// parallel worker of either.
type panicky struct{ where string }

func (p *panicky) Fit(ctx context.Context, X *dataset.Matrix) error {
	switch p.where {
	case "fit":
		panic("fit blew up")
	case "fit worker":
		return parallel.For(ctx, X.Rows, 1, 2, func(_, lo, _ int) {
			if lo == X.Rows-1 {
				var s []int
				_ = s[lo] // a runtime error on a worker goroutine
			}
		})
	}
	return nil
}

func (p *panicky) Score(ctx context.Context, X *dataset.Matrix, dst []float64) ([]float64, error) {
	switch p.where {
	case "score":
		panic(fmt.Sprintf("score blew up on %d rows", X.Rows))
	case "score worker":
		// A goroutine of the detector's own that re-raises its panic in the caller.
		wait := parallel.Go(func() { panic("worker blew up") })
		if err := wait(); err != nil {
			panic(err)
		}
	case "nan":
		s := make([]float64, X.Rows)
		s[0] = math.NaN()
		return s, nil
	}
	return make([]float64, X.Rows), nil
}

func TestModelRecoversPanics(t *testing.T) {
	X, _ := dataset.FromRows([][]float64{{1, 2}, {3, 4}, {5, 6}})
	for _, tc := range []struct{ where, op, value string }{
		{"fit", "fit", "fit blew up"},
		{"fit worker", "fit", "index out of range"},
		{"score", "score", "score blew up on 3 rows"},
		{"score worker", "score", "worker blew up"},
	} {
		m := &Model{Algorithm: "panicky", Contamination: 0.1, Detector: &panicky{where: tc.where}}
		_, err := m.Fit(context.Background(), X)
		if tc.where == "score" || tc.where == "score worker" {
			// Fit scores the training rows: the panic comes out of Fit too.
			if !errors.Is(err, ErrInternal) {
				t.Fatalf("%s: Fit = %v, want ErrInternal", tc.where, err)
			}
			m.Cols = X.Cols // fitted, as far as Score is concerned
			_, err = m.Score(context.Background(), X, nil)
		}
		if !errors.Is(err, ErrInternal) {
			t.Fatalf("%s: err = %v, want ErrInternal", tc.where, err)
		}
		var p *parallel.PanicError
		if !errors.As(err, &p) || len(p.Stack) == 0 {
			t.Fatalf("%s: %v carries no *parallel.PanicError with a stack", tc.where, err)
		}
		prefix := "detector: panicky: " + tc.op + ": internal error in the detector: panic: "
		if msg := err.Error(); !strings.HasPrefix(msg, prefix) || !strings.Contains(msg, tc.value) || !strings.Contains(msg, "goroutine") {
			t.Errorf("%s: message %q, want %q, the value %q and the stack", tc.where, msg[:min(len(msg), 200)], prefix, tc.value)
		}
	}
}

func TestModelRefusesNonFiniteScores(t *testing.T) {
	X, _ := dataset.FromRows([][]float64{{1}, {2}})
	m := &Model{Algorithm: "knn", Contamination: 0.1, Detector: &panicky{where: "nan"}}
	_, err := m.Fit(context.Background(), X)
	if !errors.Is(err, ErrOverflow) || !errors.Is(err, ErrNonFiniteInput) || m.Fitted() {
		t.Fatalf("Fit = %v (fitted %v), want ErrOverflow and ErrNonFiniteInput, unfitted", err, m.Fitted())
	}
	want := "detector: knn: the data's values are too large (distances overflow float64): scale the data, e.g. standardize each column"
	if err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
}

// TestHugeValues fits and scores every algorithm on finite data with values near the ends of
// float64: each either gives finite scores or ErrOverflow, never NaN, an internal error or a
// panic.
func TestHugeValues(t *testing.T) {
	base, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: 200, Cols: 4, Contamination: 0.05, Seed: 9})
	for _, tc := range []struct {
		name string
		set  func(i, j int, v float64) float64
	}{
		{"±1e308", func(i, j int, v float64) float64 { return math.Copysign(1e308, v) }},
		{"one row of -1e308", func(i, j int, v float64) float64 {
			if i == 7 {
				return -1e308
			}
			return v
		}},
		{"±1e200 column", func(i, j int, v float64) float64 {
			if j == 1 {
				return v * 1e200
			}
			return v
		}},
		{"1e154", func(i, j int, v float64) float64 { return 1e154 + v*1e153 }},
		{"max float", func(i, j int, v float64) float64 {
			if i%2 == 0 {
				return math.MaxFloat64
			}
			return -math.MaxFloat64
		}},
		{"1e-300", func(i, j int, v float64) float64 { return v * 1e-300 }},
	} {
		X := dataset.NewMatrix(base.Rows, base.Cols)
		for i := range X.Rows {
			for j := range X.Cols {
				X.Data[i*X.Cols+j] = tc.set(i, j, base.At(i, j))
			}
		}
		for _, algo := range Names() {
			m, err := NewModel(algo, nil, 0.1)
			if err != nil {
				t.Fatal(err)
			}
			check := func(op string, s []float64, err error) {
				t.Helper()
				if err != nil {
					if !errors.Is(err, ErrOverflow) {
						t.Errorf("%s, %s: %s: %v, want nil or ErrOverflow", tc.name, algo, op, err)
					}
					return
				}
				for i, v := range s {
					if math.IsNaN(v) || math.IsInf(v, 0) {
						t.Fatalf("%s, %s: %s: score %d is %v", tc.name, algo, op, i, v)
					}
				}
			}
			res, err := m.Fit(context.Background(), X)
			if err != nil {
				check("fit", nil, err)
				continue
			}
			check("fit", res.Scores, nil)
			s, err := m.Score(context.Background(), X, nil)
			check("score", s, err)
			// New rows of ordinary size against a model of huge values, and the reverse.
			s, err = m.Score(context.Background(), base, nil)
			check("score ordinary rows", s, err)
		}
	}
}

// TestDataDependentParameters: parameters valid on their own but not for the data's shape are
// ErrBadParameter, with the message in the parameter's terms.
func TestDataDependentParameters(t *testing.T) {
	X, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: 50, Cols: 6, Seed: 1})
	for _, tc := range []struct {
		algo string
		raw  map[string]any
		msg  string
		is   error
	}{
		{"isolation_forest", map[string]any{"max_features": 12}, "max_features=12 is more than the data's 6 columns", ErrBadParameter},
		{"isolation_forest", map[string]any{"max_samples": 0.01}, "max_samples=0.01 of the data's 50 rows draws no row", ErrBadParameter},
		{"knn", map[string]any{"n_neighbors": 50}, "50 rows, need at least 51", ErrTooFewRows},
	} {
		m, err := NewModel(tc.algo, tc.raw, 0.1)
		if err != nil {
			t.Fatal(err)
		}
		_, err = m.Fit(context.Background(), X)
		if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s %v: %v, want %v saying %q", tc.algo, tc.raw, err, tc.is, tc.msg)
		}
	}
}

// isolation_forest splits in float32, as scikit-learn does: finite data beyond float32's range
// would be infinite there and every row would score the same, reported as success. Fit and
// Score refuse it with ErrOverflow instead (scikit-learn refuses it too).
func TestIsolationForestRefusesValuesBeyondFloat32(t *testing.T) {
	ctx := context.Background()
	X := dataset.NewMatrix(300, 2)
	for i := range X.Data {
		X.Data[i] = float64(i%17-8) * 1e38 // up to 8e38, beyond float32's 3.4e38
	}
	m, err := NewModel("isolation_forest", nil, DefaultContamination)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Fit(ctx, X); !errors.Is(err, ErrOverflow) || !strings.Contains(err.Error(), "float32") {
		t.Fatalf("Fit on values up to 8e38: %v, want ErrOverflow naming float32", err)
	}
	small := dataset.NewMatrix(300, 2)
	for i := range small.Data {
		small.Data[i] = float64(i%17 - 8)
	}
	if _, err := m.Fit(ctx, small); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Score(ctx, X, nil); !errors.Is(err, ErrOverflow) {
		t.Fatalf("Score of values up to 8e38: %v, want ErrOverflow", err)
	}
	X.Data[0], X.Data[1] = 3e38, 0 // within float32's range: scored
	if _, err := m.Score(ctx, X.Slice(0, 1), nil); err != nil {
		t.Fatalf("Score of 3e38: %v", err)
	}
}

package detector

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/gonomaly/gonomaly/dataset"
)

// Detector is an unsupervised anomaly detector. Fit learns from the rows of X; Score writes one
// score per row of X into dst (allocated when nil or short) and returns it. Higher scores mean
// more anomalous. Scoring new rows never depends on the batch they arrive in.
//
// Implementations are safe for concurrent Score calls once Fit has returned.
type Detector interface {
	Fit(ctx context.Context, X *dataset.Matrix) error
	Score(ctx context.Context, X *dataset.Matrix, dst []float64) ([]float64, error)
}

// TrainScorer is implemented by detectors whose scores of their own training rows differ from
// Score of the same rows: local_outlier_factor and knn leave each training row out of its own
// neighbours, as scikit-learn does for training data.
type TrainScorer interface {
	TrainScores() []float64
}

// MinRowser is implemented by detectors that need a least number of training rows (knn needs
// more rows than neighbours). Model.Fit checks it before fitting, so too little data is
// ErrTooFewRows whatever the algorithm.
type MinRowser interface {
	MinRows() int
}

// Errors that callers branch on.
var (
	ErrNotFitted      = errors.New("detector is not fitted")
	ErrDimension      = errors.New("data width does not match the model")
	ErrUnknown        = errors.New("unknown algorithm")
	ErrBadParameter   = errors.New("bad parameter")
	ErrTooFewRows     = errors.New("too few rows")
	ErrBadModel       = errors.New("bad model file")
	ErrNonFiniteInput = errors.New("NaN or Inf in input")
)

// DefaultContamination is the share of training rows flagged as anomalies when none is given.
const DefaultContamination = 0.1

// Model is a detector together with what makes its output usable: the algorithm and
// parameters it was built from, the data width it was fitted on, and the threshold above which
// a score is an anomaly. It is what gonomaly saves, loads and serves.
type Model struct {
	Algorithm     string
	Params        Params
	Contamination float64
	Threshold     float64 // the (1 - Contamination) quantile of the training scores
	Cols          int     // width of the training data; 0 until fitted
	Detector      Detector
}

// NewModel builds an unfitted model of the named algorithm from raw parameter values
// (strings as given on a command line, or JSON values). contamination must be in (0, 0.5].
func NewModel(algorithm string, raw map[string]any, contamination float64) (*Model, error) {
	if !(contamination > 0 && contamination <= 0.5) {
		return nil, fmt.Errorf("detector: contamination %v: %w: must be in (0, 0.5]", contamination, ErrBadParameter)
	}
	alg, err := Lookup(algorithm)
	if err != nil {
		return nil, err
	}
	p, err := alg.ParseParams(raw)
	if err != nil {
		return nil, err
	}
	d, err := alg.New(p)
	if err != nil {
		return nil, fmt.Errorf("detector: %s: %w", algorithm, err)
	}
	return &Model{Algorithm: alg.Name, Params: p, Contamination: contamination, Detector: d}, nil
}

// Fitted reports whether the model has been fitted.
func (m *Model) Fitted() bool { return m.Cols > 0 }

// FitResult is what Model.Fit returns: the training rows' scores and where the time went.
type FitResult struct {
	Scores    []float64     // training scores, as TrainScorer defines them
	FitTime   time.Duration // Detector.Fit
	ScoreTime time.Duration // scoring the training rows (0 for a TrainScorer, whose Fit does it)
}

// Fit fits the detector on X, sets the threshold from the training scores and returns those
// scores (for training rows, as TrainScorer defines them).
func (m *Model) Fit(ctx context.Context, X *dataset.Matrix) (*FitResult, error) {
	if err := checkInput(X); err != nil {
		return nil, err
	}
	if mr, ok := m.Detector.(MinRowser); ok && X.Rows < mr.MinRows() {
		return nil, fmt.Errorf("detector: %s: %w: %d rows, need at least %d", m.Algorithm, ErrTooFewRows, X.Rows, mr.MinRows())
	}
	res := &FitResult{}
	t0 := time.Now()
	if err := m.Detector.Fit(ctx, X); err != nil {
		return nil, fmt.Errorf("detector: %s: fit: %w", m.Algorithm, err)
	}
	res.FitTime = time.Since(t0)
	if ts, ok := m.Detector.(TrainScorer); ok {
		res.Scores = slices.Clone(ts.TrainScores())
	} else {
		t1 := time.Now()
		var err error
		if res.Scores, err = m.Detector.Score(ctx, X, nil); err != nil {
			return nil, fmt.Errorf("detector: %s: score: %w", m.Algorithm, err)
		}
		res.ScoreTime = time.Since(t1)
	}
	m.Cols = X.Cols
	m.Threshold = Quantile(res.Scores, 1-m.Contamination)
	return res, nil
}

// Score scores the rows of X into dst (see Detector.Score).
func (m *Model) Score(ctx context.Context, X *dataset.Matrix, dst []float64) ([]float64, error) {
	if !m.Fitted() {
		return nil, fmt.Errorf("detector: %s: %w", m.Algorithm, ErrNotFitted)
	}
	if X.Cols != m.Cols {
		return nil, fmt.Errorf("detector: %s: model was fitted on %d columns, data has %d: %w", m.Algorithm, m.Cols, X.Cols, ErrDimension)
	}
	if err := checkInput(X); err != nil {
		return nil, err
	}
	s, err := m.Detector.Score(ctx, X, dst)
	if err != nil {
		return nil, fmt.Errorf("detector: %s: score: %w", m.Algorithm, err)
	}
	return s, nil
}

// IsAnomaly reports whether score lies above the model's threshold.
func (m *Model) IsAnomaly(score float64) bool { return score > m.Threshold }

func checkInput(X *dataset.Matrix) error {
	if X == nil || X.Rows == 0 {
		return fmt.Errorf("detector: %w: the data has no rows", ErrTooFewRows)
	}
	if X.Cols == 0 {
		return fmt.Errorf("detector: %w: the data has no columns", ErrDimension)
	}
	for k, v := range X.Data {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("detector: row %d, column %d: %w", k/X.Cols+1, k%X.Cols+1, ErrNonFiniteInput)
		}
	}
	return nil
}

// Quantile returns the q-quantile of xs with linear interpolation between order statistics
// (numpy's default "linear" method). xs is not modified.
func Quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	pos := q * float64(len(s)-1)
	lo := int(math.Floor(pos))
	if lo >= len(s)-1 {
		return s[len(s)-1]
	}
	if lo < 0 {
		return s[0]
	}
	frac := pos - float64(lo)
	return s[lo] + (s[lo+1]-s[lo])*frac
}

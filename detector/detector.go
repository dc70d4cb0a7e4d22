package detector

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/detector/internal/fit"
	"github.com/gonomaly/gonomaly/internal/parallel"
	"github.com/gonomaly/gonomaly/internal/progress"
	"github.com/gonomaly/gonomaly/stat"
)

// Detector is an unsupervised anomaly detector. Fit learns from the rows of X; Score writes one
// score per row of X into dst when len(dst) == X.Rows, and otherwise into a new slice,
// leaving dst untouched; it returns the slice written. Higher scores mean more anomalous.
// Scoring new rows never depends on the batch they arrive in.
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

// Errors that callers branch on. ErrDimension, ErrBadParameter, ErrTooFewRows,
// ErrNonFiniteInput and ErrOverflow are the algorithms' own (package fit), so an algorithm's
// error matches them too.
//
// ErrOverflow is finite data too large for an algorithm's arithmetic: squared distances or
// kernel arguments that overflow float64. Model.Fit and Model.Score return it, rather than NaN
// or infinite scores, with a message that says to scale the data; such an error also matches
// ErrNonFiniteInput, so callers that answer that with a client error need no change.
//
// ErrInternal is a bug: a panic in the detector (on any of its goroutines), recovered by
// Model.Fit or Model.Score. The error carries the panic value and stack for the logs (a
// *parallel.PanicError); show users something shorter.
var (
	ErrNotFitted      = errors.New("detector is not fitted")
	ErrDimension      = fit.ErrDimension
	ErrUnknown        = errors.New("unknown algorithm")
	ErrBadParameter   = fit.ErrBadParameter
	ErrTooFewRows     = fit.ErrTooFewRows
	ErrBadModel       = errors.New("bad model file")
	ErrNonFiniteInput = fit.ErrNonFiniteInput
	ErrOverflow       = fit.ErrOverflow
	ErrInternal       = errors.New("internal error in the detector")
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
	// Profile summarises the training data for monitoring the data the model serves; Fit
	// sets it. It is nil for a model read from a file written before profiles existed.
	Profile *Profile
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
		// A constructor refuses only parameters (isolation_forest takes max_samples above 1
		// only as a whole count): a parameter error, whatever the error wraps.
		if !errors.Is(err, ErrBadParameter) {
			return nil, fmt.Errorf("detector: %s: %w: %w", algorithm, ErrBadParameter, err)
		}
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

// Fit fits the detector on X, sets the threshold from the training scores and the Profile
// of the training data, and returns those scores (for training rows, as TrainScorer defines
// them). A panic in the detector is returned as an error wrapping ErrInternal; scores that
// are not finite (data too large for the algorithm's arithmetic) as one wrapping ErrOverflow,
// leaving the model unfitted.
func (m *Model) Fit(ctx context.Context, X *dataset.Matrix) (res *FitResult, err error) {
	defer func() {
		if v := recover(); v != nil {
			res, err = nil, m.internal("fit", parallel.Recovered(v))
		}
	}()
	if err := checkInput(X); err != nil {
		return nil, err
	}
	if mr, ok := m.Detector.(MinRowser); ok && X.Rows < mr.MinRows() {
		return nil, fmt.Errorf("detector: %s: %w: %d rows, need at least %d", m.Algorithm, ErrTooFewRows, X.Rows, mr.MinRows())
	}
	res = &FitResult{}
	rows := int64(X.Rows)
	progress.Report(ctx, "fit", 0, rows)
	t0 := time.Now()
	if err := m.Detector.Fit(ctx, X); err != nil {
		return nil, m.wrap("fit", err)
	}
	res.FitTime = time.Since(t0)
	progress.Report(ctx, "fit", rows, rows)
	if ts, ok := m.Detector.(TrainScorer); ok {
		res.Scores = slices.Clone(ts.TrainScores())
	} else {
		progress.Report(ctx, "score", 0, rows)
		t1 := time.Now()
		var err error
		if res.Scores, err = m.Detector.Score(ctx, X, nil); err != nil {
			return nil, m.wrap("score", err)
		}
		res.ScoreTime = time.Since(t1)
		progress.Report(ctx, "score", rows, rows)
	}
	if len(res.Scores) != X.Rows {
		return nil, m.internal("fit", fmt.Errorf("%d training scores for %d rows", len(res.Scores), X.Rows))
	}
	if !allFinite(res.Scores) {
		return nil, m.overflow()
	}
	// One sort of the scores gives the threshold (stat.Quantile's value) and the profile's
	// score histogram.
	sorted := slices.Clone(res.Scores)
	slices.Sort(sorted)
	thr := stat.SortedQuantile(sorted, 1-m.Contamination)
	if math.IsNaN(thr) || math.IsInf(thr, 0) {
		return nil, m.overflow()
	}
	prof, err := newProfile(ctx, X, sorted, thr)
	if err != nil {
		return nil, m.wrap("profile", err)
	}
	m.Cols = X.Cols
	m.Threshold = thr
	m.Profile = prof
	return res, nil
}

// Score scores the rows of X into dst (see Detector.Score). As in Fit, a panic in the detector
// is an error wrapping ErrInternal, and scores that are not finite one wrapping ErrOverflow.
func (m *Model) Score(ctx context.Context, X *dataset.Matrix, dst []float64) (s []float64, err error) {
	defer func() {
		if v := recover(); v != nil {
			s, err = nil, m.internal("score", parallel.Recovered(v))
		}
	}()
	if !m.Fitted() {
		return nil, fmt.Errorf("detector: %s: %w", m.Algorithm, ErrNotFitted)
	}
	if X.Cols != m.Cols {
		return nil, fmt.Errorf("detector: %s: model was fitted on %d columns, data has %d: %w", m.Algorithm, m.Cols, X.Cols, ErrDimension)
	}
	if err := checkInput(X); err != nil {
		return nil, err
	}
	s, err = m.Detector.Score(ctx, X, dst)
	if err != nil {
		return nil, m.wrap("score", err)
	}
	if len(s) != X.Rows {
		return nil, m.internal("score", fmt.Errorf("%d scores for %d rows", len(s), X.Rows))
	}
	if !allFinite(s) {
		return nil, m.overflow()
	}
	return s, nil
}

// wrap adds the algorithm and the step to an error of the detector. A worker's panic becomes
// ErrInternal and an overflow the user's message about scaling the data.
func (m *Model) wrap(op string, err error) error {
	if p, ok := errors.AsType[*parallel.PanicError](err); ok {
		return m.internal(op, p)
	}
	if errors.Is(err, ErrOverflow) {
		return m.overflow()
	}
	return fmt.Errorf("detector: %s: %s: %w", m.Algorithm, op, err)
}

// internal is the ErrInternal error for a bug found in step op; cause carries the details
// (for a panic, the *parallel.PanicError with its value and stack).
func (m *Model) internal(op string, cause error) error {
	return fmt.Errorf("detector: %s: %s: %w: %w", m.Algorithm, op, ErrInternal, cause)
}

// overflowError is the error for data too large for an algorithm's arithmetic: it matches
// ErrOverflow and ErrNonFiniteInput, with a message in the user's terms.
type overflowError struct{ msg string }

func (e *overflowError) Error() string   { return e.msg }
func (e *overflowError) Unwrap() []error { return []error{ErrOverflow, ErrNonFiniteInput} }

func (m *Model) overflow() error {
	what := "its arithmetic overflows float64"
	if a, err := Lookup(m.Algorithm); err == nil && a.Overflow != "" {
		what = a.Overflow
	}
	return &overflowError{fmt.Sprintf("detector: %s: the data's values are too large (%s): scale the data, e.g. standardize each column",
		m.Algorithm, what)}
}

// allFinite reports whether no score is NaN or infinite.
func allFinite(s []float64) bool {
	for _, v := range s {
		if v-v != 0 {
			return false
		}
	}
	return true
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
	// The one check of a matrix's shape and values (dataset.Matrix.Validate), in the
	// detector's terms.
	switch err := X.Validate(); {
	case err == nil:
		return nil
	case errors.Is(err, dataset.ErrShape):
		return fmt.Errorf("detector: %w: %w", ErrDimension, err)
	default:
		return fmt.Errorf("detector: %w: %w", ErrNonFiniteInput, err)
	}
}

// Quantile returns the q-quantile of xs with linear interpolation between order statistics
// (numpy's default "linear" method), taking a q outside [0, 1] as the nearer bound. xs is not
// modified.
//
// Deprecated: use stat.Quantile, which this calls.
func Quantile(xs []float64, q float64) float64 {
	return stat.Quantile(xs, min(max(q, 0), 1))
}

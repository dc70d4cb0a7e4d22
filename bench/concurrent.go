package bench

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/detector"
	"github.com/gonomaly/gonomaly/eval"
	"github.com/gonomaly/gonomaly/internal/parallel"
	"github.com/gonomaly/gonomaly/internal/sysstat"
)

// DefaultParallel is how many detections RunDetections runs at once when DetectOptions.Parallel
// is 0: one, from what BenchmarkDetections measured on this project's 2-core machine. Every
// detector's fit already spreads over all cores, so running fits side by side can only win the
// cores a fit leaves idle (its serial parts, a small data set's short loops), and it did not
// win them there: two at a time took 0.91x and 0.96x the speed of one at a time on a batch of
// 24 small fits (wbc, 223 rows; medians of 30 paired rounds), 0.88x to 1.36x over five runs
// of five algorithms on 20,000 x 10 rows, and 0.94x and 0.97x on a six-trial isolation_forest
// search of shuttle (49,097 rows), while holding more memory at once (BENCHMARKS.md
// "Concurrent detections"). Give DetectOptions.Parallel on a machine with more cores than a
// fit keeps busy.
const DefaultParallel = 1

// MaxParallel bounds DetectOptions.Parallel: more slots than this only queue on the cores.
const MaxParallel = 256

// DetectSpec is one detection of RunDetections: an algorithm with its parameters (raw values,
// checked by detector.NewModel) and the share of rows its threshold flags.
type DetectSpec struct {
	Algorithm Algorithm
	// Contamination sets the threshold; 0 means detector.DefaultContamination.
	Contamination float64
}

// DetectOptions bound and observe RunDetections. The zero value runs DefaultParallel
// detections at once within half of the machine's memory, without labels or timeout.
type DetectOptions struct {
	// Parallel is the most detections fitted at once; 0 means DefaultParallel.
	Parallel int
	// MemoryBytes bounds the sum of the memory estimates (detector.Model.Estimate) of the
	// detections running at once; 0 means half of sysstat.MemoryLimit, the default budget
	// of one fit in `gonomaly detect`. A detection whose own estimate is over it is refused
	// (StatusOverBudget) without running; one that fits alone waits until enough of the
	// running ones finish, so detections start in order.
	MemoryBytes int64
	// Timeout bounds one detection (StatusTimeout past it); 0 means none.
	Timeout time.Duration
	// Labels, one 0/1 per row (1 = anomaly), evaluate each detection's scores: they must
	// hold both classes. Nil: no accuracy figures.
	Labels []int
	// Seed is the seed of random algorithms whose parameters do not give one.
	Seed uint64
	// KeepScores keeps each detection's scores in its result.
	KeepScores bool
	// Reporter, when set, receives progress: a detection's start and end.
	Reporter Reporter
}

// DetectResult is what one detection gave. Its scores are the training rows' scores of
// detector.Model.Fit (as `gonomaly detect` and `performance compare` score a file): the
// detectors are unsupervised, fitted on the rows without their labels, and the labels only
// evaluate the scores.
type DetectResult struct {
	Algorithm string         `json:"algorithm"`
	Params    map[string]any `json:"parameters,omitempty"`
	// Status is StatusOK, StatusError, StatusTimeout, StatusOverBudget (refused: its
	// estimate alone passes the memory bound) or StatusSkipped (not started: the context
	// ended first).
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
	// Err is the error behind Status (nil when ok), for callers that branch on it.
	Err error `json:"-"`
	// EstimatedBytes is the memory estimate the scheduler counted for it.
	EstimatedBytes int64 `json:"estimated_bytes"`
	// FitSeconds is the detector's fit; ScoreSeconds the scoring of the training rows (0 for
	// the detectors whose fit scores them: local_outlier_factor, knn); the split of
	// detector.FitResult.
	FitSeconds   float64 `json:"fit_seconds"`
	ScoreSeconds float64 `json:"score_seconds"`
	// WaitSeconds is the time it queued for a slot and for memory.
	WaitSeconds float64 `json:"wait_seconds"`
	Threshold   float64 `json:"threshold"`
	// Accuracy of the scores against DetectOptions.Labels; nil without labels.
	Accuracy *eval.Metrics `json:"accuracy,omitempty"`
	// Scores are the detection's scores, with DetectOptions.KeepScores.
	Scores []float64 `json:"-"`
}

// id names a detection in progress reports: the algorithm and its parameters, sorted.
func (s DetectSpec) id() string {
	if len(s.Algorithm.Params) == 0 {
		return s.Algorithm.Name
	}
	var b strings.Builder
	b.WriteString(s.Algorithm.Name)
	for _, k := range slices.Sorted(maps.Keys(s.Algorithm.Params)) {
		fmt.Fprintf(&b, " %s=%v", k, s.Algorithm.Params[k])
	}
	return b.String()
}

// RunDetections fits each spec on X, at most opts.Parallel at once and within opts.MemoryBytes
// of estimated memory, and returns one result per spec, in the order of specs. A detection
// that fails (bad parameters, too few rows, an overflow, a panic in the detector or here)
// fails alone: its result holds the error and the others run on. The error is for options
// that cannot run (wrapping ErrConfig) or ctx ending: then detections not started are
// StatusSkipped, those running are stopped at their detector's next check, and every
// goroutine RunDetections started has returned.
func RunDetections(ctx context.Context, X *dataset.Matrix, specs []DetectSpec, opts DetectOptions) ([]DetectResult, error) {
	if err := opts.check(X); err != nil {
		return nil, err
	}
	budget := opts.MemoryBytes
	if budget == 0 {
		budget = sysstat.MemoryLimit() / 2
	}
	res := make([]DetectResult, len(specs))
	models := make([]*detector.Model, len(specs))
	var runnable []int
	for i, s := range specs {
		r := &res[i]
		r.Algorithm, r.Params, r.Status = s.Algorithm.Name, maps.Clone(s.Algorithm.Params), StatusSkipped
		contamination := s.Contamination
		if contamination == 0 {
			contamination = detector.DefaultContamination
		}
		m, err := newModel(s.Algorithm, contamination, opts.Seed)
		if err != nil {
			r.fail(fmt.Errorf("bench: %s: %w", s.id(), err))
			continue
		}
		r.EstimatedBytes = m.Estimate(X.Rows, X.Cols).Bytes
		if err := m.CheckBudget(X.Rows, X.Cols, detector.Budget{Bytes: budget}); err != nil {
			r.fail(fmt.Errorf("bench: %s: %w", s.id(), err))
			continue
		}
		models[i] = m
		runnable = append(runnable, i)
	}
	tr := newTracker(opts.Reporter, len(specs))
	start := time.Now()
	schedule(ctx, runnable, cmpOr(opts.Parallel, DefaultParallel), budget,
		func(i int) int64 { return res[i].EstimatedBytes },
		func(ctx context.Context, i int) {
			id := specs[i].id()
			tr.report(id, false)
			defer tr.report("", true)
			res[i].WaitSeconds = time.Since(start).Seconds()
			res[i].detect(ctx, id, models[i], X, opts)
		},
		func(i int, p *parallel.PanicError) {
			res[i].fail(fmt.Errorf("bench: %s: %w: %w", specs[i].id(), detector.ErrInternal, p))
		})
	if err := ctx.Err(); err != nil {
		for i := range res {
			if res[i].Status == StatusOK || res[i].Status == StatusSkipped {
				continue
			}
			// A detection stopped by ctx did not fail: it did not finish.
			if errors.Is(res[i].Err, context.Canceled) || errors.Is(res[i].Err, context.DeadlineExceeded) && !errors.Is(res[i].Err, ErrTimeout) {
				res[i] = DetectResult{Algorithm: res[i].Algorithm, Params: res[i].Params, Status: StatusSkipped, EstimatedBytes: res[i].EstimatedBytes}
			}
		}
		return res, fmt.Errorf("bench: detections stopped: %w", err)
	}
	return res, nil
}

func cmpOr(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// check validates the options against the data; errors wrap ErrConfig.
func (o *DetectOptions) check(X *dataset.Matrix) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("bench: detections: %s: %w", fmt.Sprintf(format, args...), ErrConfig)
	}
	switch {
	case X == nil:
		return bad("no data")
	case o.Parallel < 0 || o.Parallel > MaxParallel:
		return bad("parallel %d: must be in [1, %d] (0: %d)", o.Parallel, MaxParallel, DefaultParallel)
	case o.MemoryBytes < 0:
		return bad("memory bound %d bytes: must not be negative (0: half of the machine's memory)", o.MemoryBytes)
	case o.Timeout < 0:
		return bad("timeout %v: must not be negative (0: none)", o.Timeout)
	case o.Labels != nil && len(o.Labels) != X.Rows:
		return bad("%d labels for %d rows", len(o.Labels), X.Rows)
	}
	if o.Labels != nil {
		pos := 0
		for _, l := range o.Labels {
			if l != 0 && l != 1 {
				return bad("label %d: labels are 0 or 1", l)
			}
			pos += l
		}
		if pos == 0 || pos == len(o.Labels) {
			return bad("the labels hold one class only: ROC-AUC and average precision need both")
		}
	}
	return nil
}

// fail records err as the result's error.
func (r *DetectResult) fail(err error) {
	r.Err, r.Error, r.Status = err, err.Error(), StatusError
	var pe *parallel.PanicError
	switch {
	case errors.Is(err, ErrTimeout):
		r.Status = StatusTimeout
	case errors.Is(err, detector.ErrOverBudget):
		r.Status = StatusOverBudget
	case errors.As(err, &pe):
		// The stack is for logs; the document gets the panic's value.
		r.Error = strings.Replace(err.Error(), pe.Error(), fmt.Sprintf("panic: %v", pe.Value), 1)
	}
}

// detect fits m on X and evaluates its scores.
func (r *DetectResult) detect(ctx context.Context, id string, m *detector.Model, X *dataset.Matrix, opts DetectOptions) {
	cctx := ctx
	if opts.Timeout > 0 {
		var cancel context.CancelFunc
		cctx, cancel = context.WithTimeout(ctx, opts.Timeout)
		defer cancel()
	}
	fr, err := m.Fit(cctx, X)
	if err != nil {
		if ctx.Err() == nil && errors.Is(cctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("bench: %s: %w (%v)", id, ErrTimeout, opts.Timeout)
		} else {
			err = fmt.Errorf("bench: %s: %w", id, err)
		}
		r.fail(err)
		return
	}
	r.FitSeconds, r.ScoreSeconds, r.Threshold = fr.FitTime.Seconds(), fr.ScoreTime.Seconds(), m.Threshold
	if opts.Labels != nil {
		met, err := eval.Evaluate(opts.Labels, fr.Scores)
		if err != nil { // both classes were checked: a bug
			r.fail(fmt.Errorf("bench: %s: evaluating: %w", id, err))
			return
		}
		r.Accuracy = &met
	}
	if opts.KeepScores {
		r.Scores = fr.Scores
	}
	r.Status = StatusOK
}

// schedule calls run(ctx, i) for each i of idx, in order of idx, at most parallel at once and
// with the costs of those running summing to at most budget (every cost must be at most
// budget). A call waits for a free slot, then for enough of the budget. A panic in run is
// recovered and handed to fail. Once ctx ends no call starts; schedule returns when every
// call started has returned, and no goroutine it started outlives it.
func schedule(ctx context.Context, idx []int, parallelism int, budget int64, cost func(int) int64,
	run func(ctx context.Context, i int), fail func(i int, p *parallel.PanicError)) {
	mem := semaphore.NewWeighted(budget)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(parallelism, len(idx)) {
		wg.Go(func() {
			for ctx.Err() == nil {
				k := int(next.Add(1)) - 1
				if k >= len(idx) {
					return
				}
				i := idx[k]
				c := min(max(cost(i), 0), budget)
				// Acquire may succeed on a context already done: look again.
				if mem.Acquire(ctx, c) != nil {
					return
				}
				if ctx.Err() != nil {
					mem.Release(c)
					return
				}
				func() {
					defer mem.Release(c)
					defer func() {
						if v := recover(); v != nil {
							fail(i, parallel.Recovered(v))
						}
					}()
					run(ctx, i)
				}()
			}
		})
	}
	wg.Wait()
}

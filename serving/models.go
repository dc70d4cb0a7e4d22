package serving

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/detector"
	"github.com/gonomaly/gonomaly/optimize"
)

// Live is a fitted model being served: one version of one detector, with the micro-batcher
// that coalesces its single-row predictions. A retrained detector gets a new Live value; the
// old one's batcher finishes what it holds and stops, so no request ever sees a model half
// replaced. SetBatch replaces the batcher of every Live the same way, without a new Live.
type Live struct {
	ID      string
	Version int64
	Model   *detector.Model
	// batch is swapped by SetBatch (under models.mu) and read by every single-row Score: an
	// atomic load is the whole cost the live re-tuning adds to the request path.
	batch atomic.Pointer[optimize.Batcher[[]float64, float64]]
}

// models holds the live models by detector id.
type models struct {
	mu    sync.RWMutex
	byID  map[string]*Live
	batch optimize.BatchOptions // guarded by mu
	// observe, when set, is told the size and time of every batch scored (metrics).
	observe func(algorithm string, rows int, d time.Duration)
}

func newModels(opts optimize.BatchOptions, observe func(string, int, time.Duration)) *models {
	return &models{byID: map[string]*Live{}, batch: opts, observe: observe}
}

// get returns the live model of detector id at version, or nil.
func (ms *models) get(id string, version int64) *Live {
	ms.mu.RLock()
	l := ms.byID[id]
	ms.mu.RUnlock()
	if l == nil || l.Version != version {
		return nil
	}
	return l
}

// put serves m as version of detector id, replacing (and closing) an older version. A put of a
// version older than the one served is ignored and returns the one served.
func (ms *models) put(id string, version int64, m *detector.Model) *Live {
	l := &Live{ID: id, Version: version, Model: m}
	ms.mu.Lock()
	old := ms.byID[id]
	if old != nil && old.Version > version {
		ms.mu.Unlock()
		return old
	}
	// Made under the lock, so that a SetBatch running now either sees this Live in the map or
	// has already changed the options it is made with.
	l.batch.Store(optimize.NewBatcher(l.scoreRows(ms.observe), ms.batch))
	ms.byID[id] = l
	ms.mu.Unlock()
	if old != nil {
		go old.batch.Load().Close() // finishes the requests it holds with the old model
	}
	return l
}

// drop stops serving detector id.
func (ms *models) drop(id string) {
	ms.mu.Lock()
	old := ms.byID[id]
	delete(ms.byID, id)
	ms.mu.Unlock()
	if old != nil {
		go old.batch.Load().Close()
	}
}

// close stops every batcher, after they finish what they hold.
func (ms *models) close() {
	ms.mu.Lock()
	all := ms.byID
	ms.byID = map[string]*Live{}
	ms.mu.Unlock()
	for _, l := range all {
		l.batch.Load().Close()
	}
}

// setBatch makes opts the options of every batcher made from now on and replaces the batcher
// of every live model with one made with them. A replaced batcher is closed only after the
// swap: it finishes every request it holds, and a request that reaches it after its Close
// (ErrClosed) is retried by Live.Score on the new one, so none is lost or failed. setBatch
// returns when the old batchers have stopped.
func (ms *models) setBatch(opts optimize.BatchOptions) {
	ms.mu.Lock()
	ms.batch = opts
	old := make([]*optimize.Batcher[[]float64, float64], 0, len(ms.byID))
	for _, l := range ms.byID {
		old = append(old, l.batch.Swap(optimize.NewBatcher(l.scoreRows(ms.observe), opts)))
	}
	ms.mu.Unlock()
	var wg sync.WaitGroup
	for _, b := range old {
		wg.Go(b.Close)
	}
	wg.Wait()
}

func (ms *models) batchOptions() optimize.BatchOptions {
	ms.mu.RLock()
	defer ms.mu.RUnlock()
	return ms.batch
}

// scoreRows is the batch function: the rows of a batch become one matrix and one Score call.
// A detector scores each row on its own (detector.Detector's contract), so a row's score is the
// same whatever batch it lands in.
func (l *Live) scoreRows(observe func(string, int, time.Duration)) optimize.BatchFunc[[]float64, float64] {
	cols := l.Model.Cols
	return func(ctx context.Context, rows [][]float64, out []float64) error {
		X := dataset.NewMatrix(len(rows), cols)
		for i, r := range rows {
			copy(X.Row(i), r)
		}
		t0 := time.Now()
		if _, err := l.Model.Score(ctx, X, out); err != nil {
			return err
		}
		if observe != nil {
			observe(l.Model.Algorithm, len(rows), time.Since(t0))
		}
		return nil
	}
}

// maxBatchRetries bounds how many times one row follows a batcher replaced under it by
// SetBatch: each retry needs another SetBatch to land between its load and its Do.
const maxBatchRetries = 8

// Score scores the rows of X: a single row through the micro-batcher (coalesced with other
// callers' single rows), several at once directly. A row's score does not depend on the batch
// it lands in.
func (l *Live) Score(ctx context.Context, X *dataset.Matrix) ([]float64, error) {
	if X.Cols != l.Model.Cols {
		return nil, fmt.Errorf("rows have %d values, detector was trained on %d: %w", X.Cols, l.Model.Cols, detector.ErrDimension)
	}
	if X.Rows == 1 {
		b := l.batch.Load()
		for range maxBatchRetries {
			s, err := b.Do(ctx, X.Row(0))
			if errors.Is(err, optimize.ErrClosed) {
				// Closed because SetBatch replaced it (then follow the new one), or because
				// this Live was retired by a retrain, a delete or the service closing (then
				// score the row with the model the request was given, as if it had come a
				// moment earlier: the model itself is still whole).
				if nb := l.batch.Load(); nb != b {
					b = nb
					continue
				}
				return l.Model.Score(ctx, X, nil)
			}
			if err != nil {
				return nil, err
			}
			return []float64{s}, nil
		}
		return nil, fmt.Errorf("serving: the batch settings changed %d times during one prediction: %w", maxBatchRetries, optimize.ErrClosed)
	}
	return l.Model.Score(ctx, X, nil)
}

// Batch limits: SetBatch refuses settings outside them (an admin endpoint takes them from a
// client). Workers and the queue are per detector, so they are bounded tighter than rows.
const (
	MaxBatchRows    = 1 << 16
	MaxBatchWait    = time.Second
	MaxBatchWorkers = 256
)

// ErrBatchOptions is wrapped by SetBatch's error for settings out of bounds.
var ErrBatchOptions = errors.New("invalid batch settings")

// ValidateBatch checks opts against the batch limits; zero fields mean the defaults.
func ValidateBatch(opts optimize.BatchOptions) error {
	switch {
	case opts.MaxBatch < 0 || opts.MaxBatch > MaxBatchRows:
		return fmt.Errorf("batch_max %d: must be from 1 to %d: %w", opts.MaxBatch, MaxBatchRows, ErrBatchOptions)
	case opts.MaxWait < 0 || opts.MaxWait > MaxBatchWait:
		return fmt.Errorf("batch_wait %v: must be from 0 to %v: %w", opts.MaxWait, MaxBatchWait, ErrBatchOptions)
	case opts.Workers < 0 || opts.Workers > MaxBatchWorkers:
		return fmt.Errorf("workers %d: must be from 1 to %d: %w", opts.Workers, MaxBatchWorkers, ErrBatchOptions)
	case opts.Queue < 0 || opts.Queue > 64*MaxBatchRows:
		return fmt.Errorf("queue %d: must be from 1 to %d: %w", opts.Queue, 64*MaxBatchRows, ErrBatchOptions)
	}
	return nil
}

// SetBatch changes the micro-batching of single-row predictions at run time: opts (validated
// by ValidateBatch; zero fields mean the defaults) apply to every detector served from now on
// and replace the batcher of every detector served now. Predictions in flight finish, on the
// old batcher or the new one: none fails or is lost. It returns when the old batchers have
// stopped.
func (s *Service) SetBatch(opts optimize.BatchOptions) error {
	if err := ValidateBatch(opts); err != nil {
		return err
	}
	s.models.setBatch(opts)
	return nil
}

// Batch returns the micro-batching settings in force, with the defaults of zero fields filled
// in (optimize.NewBatcher's: 256 rows, no wait, GOMAXPROCS workers, a queue of 64 batches).
func (s *Service) Batch() optimize.BatchOptions {
	o := s.models.batchOptions()
	if o.MaxBatch <= 0 {
		o.MaxBatch = 256
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.Queue <= 0 {
		o.Queue = 64 * o.MaxBatch
	}
	return o
}

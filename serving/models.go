package serving

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/detector"
	"github.com/gonomaly/gonomaly/optimize"
)

// Live is a fitted model being served: one version of one detector, with the micro-batcher
// that coalesces its single-row predictions. A retrained detector gets a new Live value; the
// old one's batcher finishes what it holds and stops, so no request ever sees a model half
// replaced.
type Live struct {
	ID      string
	Version int64
	Model   *detector.Model
	batch   *optimize.Batcher[[]float64, float64]
}

// models holds the live models by detector id.
type models struct {
	mu    sync.RWMutex
	byID  map[string]*Live
	batch optimize.BatchOptions
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
	l.batch = optimize.NewBatcher(l.scoreRows(ms.observe), ms.batch)
	ms.mu.Lock()
	old := ms.byID[id]
	if old != nil && old.Version > version {
		ms.mu.Unlock()
		l.batch.Close()
		return old
	}
	ms.byID[id] = l
	ms.mu.Unlock()
	if old != nil {
		go old.batch.Close() // finishes the requests it holds with the old model
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
		go old.batch.Close()
	}
}

// close stops every batcher, after they finish what they hold.
func (ms *models) close() {
	ms.mu.Lock()
	all := ms.byID
	ms.byID = map[string]*Live{}
	ms.mu.Unlock()
	for _, l := range all {
		l.batch.Close()
	}
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

// Score scores the rows of X: a single row through the micro-batcher (coalesced with other
// callers' single rows), several at once directly. A row's score does not depend on the batch
// it lands in.
func (l *Live) Score(ctx context.Context, X *dataset.Matrix) ([]float64, error) {
	if X.Cols != l.Model.Cols {
		return nil, fmt.Errorf("rows have %d values, detector was trained on %d: %w", X.Cols, l.Model.Cols, detector.ErrDimension)
	}
	if X.Rows == 1 {
		s, err := l.batch.Do(ctx, X.Row(0))
		if err != nil {
			return nil, err
		}
		return []float64{s}, nil
	}
	return l.Model.Score(ctx, X, nil)
}

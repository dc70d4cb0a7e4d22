package monitor

import (
	"context"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/detector"
)

// TrackedModel is a detector.Model whose Fit, Score and ScoreStream are tracked as
// operations named "<algorithm>.fit", "<algorithm>.score" and "<algorithm>.score_stream" with
// their rows, time, memory growth and errors (the Go form of the seed's
// @performance_enhanced). Every other method is the Model's.
type TrackedModel struct {
	*detector.Model
	tracker *Tracker
}

// TrackModel adds tracking by t to m. m stays usable on its own; the TrackedModel shares it.
func TrackModel(t *Tracker, m *detector.Model) *TrackedModel {
	return &TrackedModel{Model: m, tracker: t}
}

// Fit is detector.Model.Fit, tracked.
func (m *TrackedModel) Fit(ctx context.Context, X *dataset.Matrix) (*detector.FitResult, error) {
	done := m.tracker.Track(ctx, m.Algorithm+".fit", X.Rows)
	res, err := m.Model.Fit(ctx, X)
	done(err)
	return res, err
}

// Score is detector.Model.Score, tracked.
func (m *TrackedModel) Score(ctx context.Context, X *dataset.Matrix, dst []float64) ([]float64, error) {
	done := m.tracker.Track(ctx, m.Algorithm+".score", X.Rows)
	s, err := m.Model.Score(ctx, X, dst)
	done(err)
	return s, err
}

// ScoreStream is detector.Model.ScoreStream, tracked; its rows are those it scored.
func (m *TrackedModel) ScoreStream(ctx context.Context, src dataset.Source, w dataset.ScoreWriter) (int, error) {
	done := m.tracker.TrackRows(ctx, m.Algorithm+".score_stream")
	n, err := m.Model.ScoreStream(ctx, src, w)
	done(n, err)
	return n, err
}

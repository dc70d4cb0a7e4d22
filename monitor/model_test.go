package monitor

import (
	"context"
	"testing"
	"time"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/detector"
)

func TestTrackModel(t *testing.T) {
	tr := NewTracker(TrackerOptions{})
	m, err := detector.NewModel("isolation_forest", map[string]any{"seed": 1}, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	tm := TrackModel(tr, m)
	X, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: 2000, Cols: 4, Seed: 1})
	ctx := context.Background()
	if _, err := tm.Fit(ctx, X); err != nil {
		t.Fatal(err)
	}
	if _, err := tm.Score(ctx, X, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := tm.Score(ctx, dataset.NewMatrix(3, 7), nil); err == nil {
		t.Fatal("scoring 7 columns on a 4-column model did not fail")
	}
	if !m.Fitted() || tm.Threshold != m.Threshold {
		t.Fatal("the tracked model does not share its model")
	}
	byName := map[string]OpSummary{}
	for _, s := range tr.Summaries() {
		byName[s.Name] = s
	}
	fit, score := byName["isolation_forest.fit"], byName["isolation_forest.score"]
	if fit.Count != 1 || fit.Rows != 2000 || fit.Errors != 0 || fit.Mean <= 0 || fit.MeanAlloc < 1<<10 {
		t.Errorf("fit summary %+v", fit)
	}
	if score.Count != 2 || score.Rows != 2003 || score.Errors != 1 {
		t.Errorf("score summary %+v", score)
	}
}

var allocSink []byte

func TestTrackMeasuresAllocation(t *testing.T) {
	tr := NewTracker(TrackerOptions{Window: time.Hour})
	done := tr.Track(context.Background(), "grow", 1)
	allocSink = make([]byte, 32<<20)
	done(nil)
	tr.Record("unmeasured", time.Millisecond, 1, nil)
	s := tr.Summaries()
	if s[0].Name != "grow" || s[0].MeanAlloc < 32<<20 || s[0].MeanAlloc > 40<<20 {
		t.Errorf("grow: mean allocation %d, want about 32 MiB", s[0].MeanAlloc)
	}
	if s[1].MeanAlloc != 0 {
		t.Errorf("an unmeasured operation reports %d bytes", s[1].MeanAlloc)
	}
}

package knn

import (
	"context"
	"testing"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/detector/detectortest"
	"github.com/gonomaly/gonomaly/internal/reftest"
)

func TestConformance(t *testing.T) {
	for _, m := range []string{Largest, Mean, Median} {
		t.Run(m, func(t *testing.T) {
			detectortest.Run(t, detectortest.Constructor(New, Config{Method: m}))
		})
	}
}

// TestReference compares the training scores with scikit-learn's: the 6th column of
// NearestNeighbors(n_neighbors=6).kneighbors(X), self included (tools/sklearn_ref.py).
func TestReference(t *testing.T) {
	reftest.Each(t, "knn", func(t *testing.T, ds *reftest.Dataset, want []float64) {
		d := detectortest.Fit(t, detectortest.MustNew(t, New, Config{}), ds.X)
		share, worst := reftest.RelClose(d.TrainScores(), want, 1e-6)
		t.Logf("%s (%dx%d, %s): %.4f%% of rows within 1e-6 relative; worst row %d: %v vs %v",
			ds.Name, ds.X.Rows, ds.X.Cols, d.ix.Algorithm(), 100*share, worst, d.TrainScores()[worst], want[worst])
		if share < 0.999 {
			t.Errorf("only %.4f%% of rows agree to 1e-6 relative, want 99.9%%", 100*share)
		}
	})
}

func TestWorkersBitIdentical(t *testing.T) {
	detectortest.WorkersBitIdentical(t, func(w int) (detectortest.Detector, error) {
		return New(Config{Workers: w, Method: Mean})
	})
}

func TestConfig(t *testing.T) {
	for _, c := range []struct {
		cfg Config
		ok  bool
	}{
		{Config{}, true},
		{Config{Neighbors: 3, Method: Median}, true},
		{Config{Neighbors: -1}, false},
		{Config{Method: "max"}, false},
		{Config{Workers: -2}, false},
	} {
		if _, err := New(c.cfg); (err == nil) != c.ok {
			t.Errorf("New(%+v): error %v", c.cfg, err)
		}
	}
	d, _ := New(Config{Neighbors: 5})
	if err := d.Fit(context.Background(), dataset.NewMatrix(5, 2)); err == nil {
		t.Error("Fit with n = k: no error")
	}
}

func TestMethods(t *testing.T) {
	X, _ := dataset.FromRows([][]float64{{0}, {1}, {3}, {6}, {10}})
	for _, c := range []struct {
		method string
		want   []float64 // row 0's neighbours are at 1, 3, 6, 10
	}{
		{Largest, []float64{6}},
		{Mean, []float64{(1 + 3 + 6) / 3.0}},
		{Median, []float64{3}},
	} {
		d, _ := New(Config{Neighbors: 3, Method: c.method})
		if err := d.Fit(context.Background(), X); err != nil {
			t.Fatal(err)
		}
		if got := d.TrainScores()[0]; got != c.want[0] {
			t.Errorf("%s: %v, want %v", c.method, got, c.want[0])
		}
	}
}

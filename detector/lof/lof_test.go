package lof

import (
	"context"
	"slices"
	"testing"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/detector/detectortest"
	"github.com/gonomaly/gonomaly/internal/neighbors"
	"github.com/gonomaly/gonomaly/internal/reftest"
)

func TestConformance(t *testing.T) {
	detectortest.Run(t, detectortest.Constructor(New, Config{}))
}

// issueTied are the datasets the issue names as having tied neighbour distances; tiedAtK must
// find ties in each of them, so the relaxed criterion below cannot be reached by accident.
var issueTied = []string{"annthyroid", "breastw", "letter", "optdigits", "satellite", "shuttle", "thyroid", "wbc"}

// tiedAtK reports whether some row's k-th and (k+1)-th nearest other rows are at exactly the
// same distance, so that which of them counts as a neighbour is a matter of tie-breaking.
func tiedAtK(t *testing.T, X *dataset.Matrix, k int) bool {
	t.Helper()
	ix, err := neighbors.Build(X, neighbors.Options{Algorithm: neighbors.Brute})
	if err != nil {
		t.Fatal(err)
	}
	k1 := k + 1
	dist := make([]float64, X.Rows*k1)
	idx := make([]int32, X.Rows*k1)
	if err := ix.QueryTrain(context.Background(), k1, dist, idx); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < X.Rows; i++ {
		if dist[i*k1+k-1] == dist[i*k1+k] {
			return true
		}
	}
	return false
}

// TestReference compares the training scores with scikit-learn's
// -LocalOutlierFactor(n_neighbors=20).negative_outlier_factor_ (tools/sklearn_ref.py).
//
// On low-dimensional data both use the same KD-tree, walked in the same order (see
// internal/neighbors), so even where rows tie at the 20th-neighbour distance the same rows
// are picked: there 99.9 % of rows must agree to 1e-6. Above 15 columns scikit-learn searches
// by brute force with the dot-product formula, whose rounding noise decides among tied rows;
// on such data with ties (the issue's rule) we ask for Spearman >= 0.97 and ROC-AUC within
// 0.002 of the reference's instead, and exact agreement elsewhere.
func TestReference(t *testing.T) {
	const k = 20
	reftest.Each(t, "local_outlier_factor", func(t *testing.T, ds *reftest.Dataset, want []float64) {
		name := ds.Name
		d := detectortest.Fit(t, detectortest.MustNew(t, New, Config{}), ds.X)
		got := d.TrainScores()
		// What Fit writes on real data (ties, duplicates, both searches) keeps the invariants
		// UnmarshalBinary checks.
		if b, err := d.MarshalBinary(); err != nil {
			t.Fatal(err)
		} else if err := detectortest.MustNew(t, New, Config{}).UnmarshalBinary(b); err != nil {
			t.Errorf("the fitted model does not decode: %v", err)
		}
		share, worst := reftest.RelClose(got, want, 1e-6)
		tied := tiedAtK(t, ds.X, k)
		t.Logf("%s (%dx%d, %s, tied at k: %v): %.4f%% of rows within 1e-6 relative; worst row %d: %v vs %v",
			name, ds.X.Rows, ds.X.Cols, d.ix.Algorithm(), tied, 100*share, worst, got[worst], want[worst])
		if slices.Contains(issueTied, name) && !tied {
			t.Errorf("the issue lists %s as tied, but no row ties at its %d-th neighbour", name, k)
		}
		if !tied || d.ix.Algorithm() == neighbors.KDTree {
			if share < 0.999 {
				t.Errorf("only %.4f%% of rows agree to 1e-6 relative, want 99.9%%", 100*share)
			}
			return
		}
		rho, aucGot, aucWant := reftest.Ranks(t, ds.Labels, got, want)
		t.Logf("%s (tied, brute force): Spearman %.5f, ROC-AUC %.5f vs reference %.5f (diff %.5f)",
			name, rho, aucGot, aucWant, aucGot-aucWant)
		if rho < 0.97 {
			t.Errorf("Spearman %.5f with the reference, want >= 0.97", rho)
		}
		if diff := aucGot - aucWant; diff > 0.002 || diff < -0.002 {
			t.Errorf("ROC-AUC %.5f vs the reference's %.5f: differs by more than 0.002", aucGot, aucWant)
		}
	})
}

func TestWorkersBitIdentical(t *testing.T) {
	detectortest.WorkersBitIdentical(t, func(w int) (detectortest.Detector, error) {
		return New(Config{Workers: w})
	})
}

func TestConfig(t *testing.T) {
	for _, c := range []struct {
		cfg Config
		ok  bool
	}{
		{Config{}, true},
		{Config{Neighbors: 3}, true},
		{Config{Neighbors: -1}, false},
		{Config{Workers: -1}, false},
	} {
		if _, err := New(c.cfg); (err == nil) != c.ok {
			t.Errorf("New(%+v): error %v", c.cfg, err)
		}
	}
	// n_neighbors above n-1 is capped, as scikit-learn does.
	X, _ := dataset.FromRows([][]float64{{0}, {1}, {2}, {10}})
	d, _ := New(Config{Neighbors: 20})
	if err := d.Fit(context.Background(), X); err != nil {
		t.Fatalf("Fit with n_neighbors > n-1: %v", err)
	}
	if d.kEff != 3 {
		t.Errorf("n_neighbors used: %d, want 3", d.kEff)
	}
}

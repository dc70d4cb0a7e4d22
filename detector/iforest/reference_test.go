package iforest

import (
	"context"
	"math"
	"testing"

	"github.com/gonomaly/gonomaly/eval"
	"github.com/gonomaly/gonomaly/internal/reftest"
)

// TestReferenceAccuracy compares the mean ROC-AUC over seeds 0..4 with scikit-learn 1.2.1's
// IsolationForest over random_state 0..4 (roc_auc_mean and roc_auc_std in NAME.summary.json,
// made by tools/sklearn_ref.py). The random streams differ, so the means must agree within
// 0.01, or within three standard errors of the difference of two 5-seed means where the seeds
// spread more than that.
func TestReferenceAccuracy(t *testing.T) {
	const seeds = 5
	ctx := context.Background()
	worst := 0.0
	for _, name := range reftest.Names(t) {
		t.Run(name, func(t *testing.T) {
			ds := reftest.Load(t, name)
			ref, ok := ds.Summary.Algorithms["isolation_forest"]
			if !ok {
				t.Skip("no isolation_forest reference")
			}
			var aucs [seeds]float64
			var scores []float64
			for s := range seeds {
				d, err := New(Config{Seed: uint64(s)})
				if err != nil {
					t.Fatal(err)
				}
				if err := d.Fit(ctx, ds.X); err != nil {
					t.Fatal(err)
				}
				if scores, err = d.Score(ctx, ds.X, scores); err != nil {
					t.Fatal(err)
				}
				if aucs[s], err = eval.ROCAUC(ds.Labels, scores); err != nil {
					t.Fatal(err)
				}
			}
			mean, std := meanStd(aucs[:]) // population std, as numpy's np.std
			refMean, refStd := ref["roc_auc_mean"], ref["roc_auc_std"]
			diff := mean - refMean
			tol := max(0.01, 3*math.Sqrt(refStd*refStd/seeds+std*std/seeds))
			t.Logf("ROC-AUC %.4f ± %.4f, scikit-learn %.4f ± %.4f: diff %+.4f, allowed %.4f", mean, std, refMean, refStd, diff, tol)
			worst = max(worst, math.Abs(diff)/tol)
			if math.Abs(diff) > tol {
				t.Errorf("mean ROC-AUC %.4f differs from scikit-learn's %.4f by %.4f > %.4f", mean, refMean, math.Abs(diff), tol)
			}
		})
	}
	t.Logf("worst |diff| / allowed over all datasets: %.3f", worst)
}

func meanStd(v []float64) (mean, std float64) {
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	for _, x := range v {
		std += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(std / float64(len(v)))
}

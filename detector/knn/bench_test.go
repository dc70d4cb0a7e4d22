package knn

import (
	"context"
	"testing"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/internal/reftest"
)

type benchSet struct {
	name string
	X    *dataset.Matrix
}

// benchSets returns a synthetic set always, and the datasets of the performance targets
// (compared with scikit-learn in BENCHMARKS.md) when GONOMALY_REFERENCE_DIR is set.
func benchSets(b *testing.B) []benchSet {
	b.Helper()
	syn, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: 20000, Cols: 8, Contamination: 0.05, Seed: 1})
	sets := []benchSet{{"synthetic-20000x8", syn}}
	if _, full := reftest.Root(); !full {
		b.Logf("%s not set: benchmarking synthetic data only", reftest.EnvDir)
		return sets
	}
	for _, n := range []string{"shuttle", "mammography", "musk", "optdigits"} {
		sets = append(sets, benchSet{n, reftest.Load(b, n).X})
	}
	return sets
}

// BenchmarkFit is the whole fit: index build, neighbour search of every training row and the
// training scores.
func BenchmarkFit(b *testing.B) {
	ctx := context.Background()
	for _, s := range benchSets(b) {
		b.Run(s.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				d, err := New(Config{})
				if err != nil {
					b.Fatal(err)
				}
				if err := d.Fit(ctx, s.X); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(s.X.Rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkScore scores the training rows again as new rows.
func BenchmarkScore(b *testing.B) {
	ctx := context.Background()
	for _, s := range benchSets(b) {
		b.Run(s.name, func(b *testing.B) {
			d, err := New(Config{})
			if err != nil {
				b.Fatal(err)
			}
			if err := d.Fit(ctx, s.X); err != nil {
				b.Fatal(err)
			}
			dst := make([]float64, s.X.Rows)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := d.Score(ctx, s.X, dst); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(s.X.Rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

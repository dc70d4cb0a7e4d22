package ocsvm

import (
	"context"
	"testing"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/internal/reftest"
)

// benchCases are the datasets of BenchmarkFit and BenchmarkScore: a synthetic 20000x10 set
// always, and three reference datasets when GONOMALY_REFERENCE_DIR is set. scripts/vs-sklearn.sh
// times the same datasets side by side with scikit-learn (see BENCHMARKS.md).
func benchCases(b *testing.B) []struct {
	name string
	X    *dataset.Matrix
} {
	b.Helper()
	cases := []struct {
		name string
		X    *dataset.Matrix
	}{{"synthetic20000x10", syntheticBench()}}
	if _, full := reftest.Root(); full {
		for _, name := range []string{"mammography", "satellite", "pendigits"} {
			cases = append(cases, struct {
				name string
				X    *dataset.Matrix
			}{name, reftest.Load(b, name).X})
		}
	}
	return cases
}

func syntheticBench() *dataset.Matrix {
	X, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: 20000, Cols: 10, Contamination: 0.05, Seed: 1})
	return X
}

func BenchmarkFit(b *testing.B) {
	ctx := context.Background()
	for _, c := range benchCases(b) {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				d, _ := New(Config{})
				if err := d.Fit(ctx, c.X); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(c.X.Rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

func BenchmarkScore(b *testing.B) {
	ctx := context.Background()
	for _, c := range benchCases(b) {
		b.Run(c.name, func(b *testing.B) {
			d, _ := New(Config{})
			if err := d.Fit(ctx, c.X); err != nil {
				b.Fatal(err)
			}
			dst := make([]float64, c.X.Rows)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := d.Score(ctx, c.X, dst); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(c.X.Rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

package hbos

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/internal/reftest"
)

// benchData is the synthetic 400000x12 set (the one timed against the numpy reference) and,
// when GONOMALY_REFERENCE_DIR is set, the larger reference datasets.
func benchData(b *testing.B) []struct {
	name string
	X    *dataset.Matrix
} {
	X, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: 400000, Cols: 12, Contamination: 0.05, Seed: 1})
	out := []struct {
		name string
		X    *dataset.Matrix
	}{{"synthetic400000x12", X}}
	if _, full := reftest.Root(); full {
		names := reftest.Names(b)
		for _, n := range []string{"shuttle", "mammography", "optdigits", "musk"} {
			if slices.Contains(names, n) {
				out = append(out, struct {
					name string
					X    *dataset.Matrix
				}{n, reftest.Load(b, n).X})
			}
		}
	}
	return out
}

func BenchmarkFit(b *testing.B) {
	for _, c := range benchData(b) {
		b.Run(fmt.Sprintf("%s/%dx%d", c.name, c.X.Rows, c.X.Cols), func(b *testing.B) {
			d := mustNew(b, Config{Tol: DefaultTol})
			b.ReportAllocs()
			for b.Loop() {
				if err := d.Fit(context.Background(), c.X); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkScore(b *testing.B) {
	for _, c := range benchData(b) {
		b.Run(fmt.Sprintf("%s/%dx%d", c.name, c.X.Rows, c.X.Cols), func(b *testing.B) {
			d := mustNew(b, Config{Tol: DefaultTol})
			if err := d.Fit(context.Background(), c.X); err != nil {
				b.Fatal(err)
			}
			dst := make([]float64, c.X.Rows)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := d.Score(context.Background(), c.X, dst); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(c.X.Rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkFitScore is what the numpy reference does in one call: fit, then score the
// training rows.
func BenchmarkFitScore(b *testing.B) {
	for _, c := range benchData(b) {
		b.Run(fmt.Sprintf("%s/%dx%d", c.name, c.X.Rows, c.X.Cols), func(b *testing.B) {
			dst := make([]float64, c.X.Rows)
			b.ReportAllocs()
			for b.Loop() {
				d := mustNew(b, Config{Tol: DefaultTol})
				if err := d.Fit(context.Background(), c.X); err != nil {
					b.Fatal(err)
				}
				if _, err := d.Score(context.Background(), c.X, dst); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

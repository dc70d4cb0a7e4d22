package detectortest

import (
	"context"
	"testing"

	"github.com/gonomaly/gonomaly/dataset"
)

// BenchSet is a named matrix to benchmark on; the name becomes the sub-benchmark's.
type BenchSet struct {
	Name string
	X    *dataset.Matrix
}

// BenchFit times Fit of a fresh detector on each set.
func BenchFit(b *testing.B, sets []BenchSet, newDetector func() Detector) {
	for _, s := range sets {
		b.Run(s.Name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := newDetector().Fit(context.Background(), s.X); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(s.X.Rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchScore fits once on each set, then times Score of the same rows as new rows, into a
// reused dst.
func BenchScore(b *testing.B, sets []BenchSet, newDetector func() Detector) {
	for _, s := range sets {
		b.Run(s.Name, func(b *testing.B) {
			d := newDetector()
			if err := d.Fit(context.Background(), s.X); err != nil {
				b.Fatal(err)
			}
			dst := make([]float64, s.X.Rows)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := d.Score(context.Background(), s.X, dst); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(s.X.Rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchFitScore times what the numpy references do in one call: fit, then score the training
// rows.
func BenchFitScore(b *testing.B, sets []BenchSet, newDetector func() Detector) {
	for _, s := range sets {
		b.Run(s.Name, func(b *testing.B) {
			dst := make([]float64, s.X.Rows)
			b.ReportAllocs()
			for b.Loop() {
				d := newDetector()
				if err := d.Fit(context.Background(), s.X); err != nil {
					b.Fatal(err)
				}
				if _, err := d.Score(context.Background(), s.X, dst); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(s.X.Rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

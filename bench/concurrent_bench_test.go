package bench_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/gonomaly/gonomaly/bench"
	"github.com/gonomaly/gonomaly/dataset"
)

// BenchmarkDetections runs one batch of detections one, two and four at a time, side by side
// (each iteration runs the three in a rotating order, so a noisy machine's load falls on all
// of them alike), and reports each one's median seconds and the speed-ups of two and four at a
// time over one: a search-like batch of small fits (wbc, 223 rows: 12 local_outlier_factor and
// 12 isolation_forest settings) and five algorithms (all but one_class_svm, whose quadratic
// fit would be the whole batch) on 20,000 x 10 synthetic rows. Each fit already uses every
// core; what concurrency can win is the cores a fit leaves idle. The figures chose
// DefaultParallel (BENCHMARKS.md "Concurrent detections"):
//
//	go test -run '^$' -bench Detections -benchtime 10x ./bench/
func BenchmarkDetections(b *testing.B) {
	tab, err := dataset.ReadCSVFile(wbc, dataset.CSVOptions{Label: "label"})
	if err != nil {
		b.Fatal(err)
	}
	var small []bench.DetectSpec
	for k := 5; k <= 60; k += 5 {
		small = append(small, bench.DetectSpec{Algorithm: bench.Algorithm{Name: "local_outlier_factor", Params: map[string]any{"n_neighbors": k}}})
	}
	for t := 25; t <= 300; t += 25 {
		small = append(small, bench.DetectSpec{Algorithm: bench.Algorithm{Name: "isolation_forest", Params: map[string]any{"n_estimators": t}}})
	}
	bigX, bigLabels := dataset.Synthetic(dataset.SyntheticConfig{Rows: 20000, Cols: 10, Contamination: 0.05, Seed: 1})
	var big []bench.DetectSpec
	for _, a := range []string{"isolation_forest", "local_outlier_factor", "knn", "hbos", "ecod"} {
		big = append(big, bench.DetectSpec{Algorithm: bench.Algorithm{Name: a}})
	}
	for _, c := range []struct {
		name   string
		X      *dataset.Matrix
		labels []int
		specs  []bench.DetectSpec
	}{{"wbc-24", tab.X, tab.Labels, small}, {"20000x10-5", bigX, bigLabels, big}} {
		b.Run(c.name, func(b *testing.B) {
			ps := []int{1, 2, 4}
			secs := make([][]float64, len(ps))
			round := 0
			for b.Loop() {
				for k := range ps {
					j := (k + round) % len(ps)
					t0 := time.Now()
					res, err := bench.RunDetections(context.Background(), c.X, c.specs, bench.DetectOptions{Parallel: ps[j], Labels: c.labels, Seed: 1})
					secs[j] = append(secs[j], time.Since(t0).Seconds())
					if err != nil {
						b.Fatal(err)
					}
					for _, r := range res {
						if r.Status != bench.StatusOK {
							b.Fatalf("%s: %s", r.Algorithm, r.Error)
						}
					}
				}
				round++
			}
			// The speed-ups are medians of each round's ratio: a round's runs ran close
			// together, under much the same load.
			median := func(xs []float64) float64 {
				xs = slices.Clone(xs)
				slices.Sort(xs)
				return xs[len(xs)/2]
			}
			ratios := func(j int) []float64 {
				r := make([]float64, len(secs[0]))
				for i := range r {
					r[i] = secs[0][i] / secs[j][i]
				}
				return r
			}
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(median(secs[0]), "s-parallel1")
			b.ReportMetric(median(secs[1]), "s-parallel2")
			b.ReportMetric(median(secs[2]), "s-parallel4")
			b.ReportMetric(median(ratios(1)), "speedup2")
			b.ReportMetric(median(ratios(2)), "speedup4")
		})
	}
}

package neighbors

import (
	"context"
	"fmt"
	"testing"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/internal/reftest"
)

// benchSets returns the benchmark data: a synthetic set always, and the reference datasets
// named in the performance targets when GONOMALY_REFERENCE_DIR is set.
func benchSets(b *testing.B) []struct {
	name string
	X    *dataset.Matrix
} {
	b.Helper()
	syn, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: 20000, Cols: 8, Contamination: 0.05, Seed: 1})
	sets := []struct {
		name string
		X    *dataset.Matrix
	}{{"synthetic-20000x8", syn}}
	if _, full := reftest.Root(); !full {
		b.Logf("%s not set: benchmarking synthetic data only", reftest.EnvDir)
		return sets
	}
	for _, n := range []string{"shuttle", "mammography", "musk", "optdigits"} {
		sets = append(sets, struct {
			name string
			X    *dataset.Matrix
		}{n, reftest.Load(b, n).X})
	}
	return sets
}

func BenchmarkBuild(b *testing.B) {
	for _, s := range benchSets(b) {
		b.Run(s.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Build(s.X, Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkQueryTrain is the neighbour search of a fit: every training row against the others,
// with k = 5 (knn) and k = 20 (local_outlier_factor).
func BenchmarkQueryTrain(b *testing.B) {
	ctx := context.Background()
	for _, s := range benchSets(b) {
		for _, algo := range []string{KDTree, Brute} {
			for _, k := range []int{5, 20} {
				b.Run(fmt.Sprintf("%s/%s/k%d", s.name, algo, k), func(b *testing.B) {
					ix, err := Build(s.X, Options{Algorithm: algo})
					if err != nil {
						b.Fatal(err)
					}
					dist := make([]float64, s.X.Rows*k)
					idx := make([]int32, s.X.Rows*k)
					b.ReportAllocs()
					for b.Loop() {
						if err := ix.QueryTrain(ctx, k, dist, idx); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(s.X.Rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
				})
			}
		}
	}
}

// BenchmarkQuery searches new rows (the training rows themselves, without self-exclusion).
func BenchmarkQuery(b *testing.B) {
	ctx := context.Background()
	for _, s := range benchSets(b) {
		for _, algo := range []string{KDTree, Brute} {
			const k = 20
			b.Run(fmt.Sprintf("%s/%s/k%d", s.name, algo, k), func(b *testing.B) {
				ix, err := Build(s.X, Options{Algorithm: algo})
				if err != nil {
					b.Fatal(err)
				}
				dist := make([]float64, s.X.Rows*k)
				idx := make([]int32, s.X.Rows*k)
				b.ReportAllocs()
				for b.Loop() {
					if err := ix.Query(ctx, s.X, k, dist, idx); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(s.X.Rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			})
		}
	}
}

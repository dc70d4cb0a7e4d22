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
	wide, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: 5000, Cols: 64, Contamination: 0.05, Clusters: 10, Seed: 1})
	sets := []struct {
		name string
		X    *dataset.Matrix
	}{{"synthetic-20000x8", syn}, {"synthetic-5000x64", wide}}
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

// BenchmarkBuild times the index a fit builds (Auto: the KD-tree, or on wide data the
// prefiltered brute force) and the plain brute force's median-split tree (buildTree).
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
		b.Run(s.name+"/plain", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := build(s.X, Options{Algorithm: Brute}, false); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkQueryTrain is the neighbour search of a fit: every training row against the others,
// with k = 5 (knn) and k = 20 (local_outlier_factor). On wide data, Brute is the prefiltered
// search where the CPU has AVX2 (BenchmarkWide compares it with the plain one).
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

// BenchmarkWide compares, on the wide sets, the prefiltered brute force (wide.go) with the plain
// one it replaces, for the neighbour search of a fit (k = 5 and 20) and for new rows (k = 5).
func BenchmarkWide(b *testing.B) {
	ctx := context.Background()
	for _, s := range benchSets(b) {
		if s.X.Cols <= AutoMaxDim {
			continue
		}
		for _, prefilter := range []bool{true, false} {
			ix, err := build(s.X, Options{Algorithm: Brute}, prefilter)
			if err != nil {
				b.Fatal(err)
			}
			name := "plain"
			if ix.wide != nil {
				name = "prefiltered"
			} else if prefilter {
				continue // no AVX2 here: the same search twice
			}
			for _, k := range []int{5, 20} {
				b.Run(fmt.Sprintf("%s/%s/train/k%d", s.name, name, k), func(b *testing.B) {
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
			b.Run(fmt.Sprintf("%s/%s/new/k5", s.name, name), func(b *testing.B) {
				dist := make([]float64, s.X.Rows*5)
				idx := make([]int32, s.X.Rows*5)
				b.ReportAllocs()
				for b.Loop() {
					if err := ix.Query(ctx, s.X, 5, dist, idx); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(s.X.Rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			})
		}
	}
}

// BenchmarkKernel is the tile kernel alone: 6 x 16 pairs over d columns.
func BenchmarkKernel(b *testing.B) {
	for _, d := range []int{16, 64, 166} {
		a := make([]float32, d*wideMR)
		bb := make([]float32, d*wideNR)
		for i := range bb {
			bb[i] = float32(i%7) / 8
		}
		na := make([]float32, wideMR)
		nb := make([]float32, wideNR)
		var thr [wideMR]float32
		var out [wideMR * wideNR]float32
		b.Run(fmt.Sprintf("d%d", d), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				kern6x16(a, bb, d, na, nb, &thr, &out)
			}
			b.ReportMetric(float64(b.N)*float64(d*wideMR*wideNR)/b.Elapsed().Seconds()/1e9, "Gfma/s")
		})
	}
}

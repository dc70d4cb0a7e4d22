package iforest

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/gonomaly/gonomaly/dataset"
)

// normal returns a rows x cols matrix of standard normal values, the data of the comparison
// with scikit-learn in BENCHMARKS.md (numpy's standard_normal((400_000, 12)) on that side).
func normal(rows, cols int) *dataset.Matrix {
	r := rand.New(rand.NewPCG(1, 2))
	X := dataset.NewMatrix(rows, cols)
	for i := range X.Data {
		X.Data[i] = r.NormFloat64()
	}
	return X
}

var (
	benchOnce sync.Once
	benchX    *dataset.Matrix
)

func bench400k() *dataset.Matrix {
	benchOnce.Do(func() { benchX = normal(400_000, 12) })
	return benchX
}

func fitted(b *testing.B, X *dataset.Matrix) *Detector {
	d, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	if err := d.Fit(context.Background(), X); err != nil {
		b.Fatal(err)
	}
	return d
}

// BenchmarkFit400kx12 fits the default forest (100 trees of 256 rows).
func BenchmarkFit400kx12(b *testing.B) {
	X := bench400k()
	d, _ := New(Config{})
	b.ReportAllocs()
	for b.Loop() {
		if err := d.Fit(context.Background(), X); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScore400kx12 scores 400,000 rows with the default forest on every core.
func BenchmarkScore400kx12(b *testing.B) {
	X := bench400k()
	d := fitted(b, X)
	dst := make([]float64, X.Rows)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.Score(context.Background(), X, dst); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(X.Rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkFitScore400kx12 is the whole job measured against scikit-learn's
// IsolationForest(n_jobs=-1).fit(X).score_samples(X) on the same shape.
func BenchmarkFitScore400kx12(b *testing.B) {
	X := bench400k()
	dst := make([]float64, X.Rows)
	b.ReportAllocs()
	for b.Loop() {
		d, _ := New(Config{})
		if err := d.Fit(context.Background(), X); err != nil {
			b.Fatal(err)
		}
		if _, err := d.Score(context.Background(), X, dst); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(X.Rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkScoreBlock is the per-block kernel Score runs on each worker: one block of rows
// through all 100 trees. It must not allocate.
func BenchmarkScoreBlock(b *testing.B) {
	X := normal(20_000, 12)
	d := fitted(b, X)
	B := blockRows(X.Cols)
	xb := make([]uint32, B*X.Cols)
	for r := range B {
		for f := range X.Cols {
			xb[f*B+r] = key32(float32(X.At(r, f)))
		}
	}
	acc := make([]float64, B)
	b.ReportAllocs()
	for b.Loop() {
		d.m.pathLengths(xb, B, acc)
	}
	b.ReportMetric(float64(B)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkScoreOneRow is the service's case: one row at a time (the micro-batcher's batch at
// low load), where the block buffers, not the walk, used to be most of the allocation.
func BenchmarkScoreOneRow(b *testing.B) {
	X := normal(20_000, 8)
	d := fitted(b, X)
	row := dataset.NewMatrix(1, 8)
	copy(row.Data, X.Row(7))
	dst := make([]float64, 1)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.Score(context.Background(), row, dst); err != nil {
			b.Fatal(err)
		}
	}
}

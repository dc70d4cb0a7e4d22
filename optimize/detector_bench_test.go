package optimize_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/detector"
	"github.com/gonomaly/gonomaly/optimize"
)

// BenchmarkMemoizeDetectorScoring memoizes a detector's scoring of a batch of rows (the
// seed's cached detection results: the same batch asked for again): local_outlier_factor
// fitted on 2000 x 8 rows scores batches of 64 rows, 16 distinct batches asked in turn.
func BenchmarkMemoizeDetectorScoring(b *testing.B) {
	ctx := context.Background()
	X, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: 2000, Cols: 8, Contamination: 0.05, Seed: 1})
	m, err := detector.NewModel("local_outlier_factor", nil, 0.05)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := m.Fit(ctx, X); err != nil {
		b.Fatal(err)
	}
	const batches, rows = 16, 64
	Q, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: batches * rows, Cols: 8, Contamination: 0.05, Seed: 2})
	score := func(ctx context.Context, batch int) ([]float64, error) {
		return m.Score(ctx, Q.Slice(batch*rows, (batch+1)*rows), nil)
	}
	b.Run("uncached", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := score(ctx, i%batches); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("memo", func(b *testing.B) {
		memo, err := optimize.Memoize(score, strconv.Itoa, optimize.Float64sCodec{}, optimize.MemoOptions{SizeMB: 16})
		if err != nil {
			b.Fatal(err)
		}
		defer memo.Close()
		for k := range batches {
			if _, err := memo.Call(ctx, k); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := memo.Call(ctx, i%batches); err != nil {
				b.Fatal(err)
			}
		}
	})
}

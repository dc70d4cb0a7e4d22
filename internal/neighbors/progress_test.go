package neighbors

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/internal/progress"
)

// A query watched through the context reports its rows as "neighbours", ending at the total,
// on the KD-tree (narrow data) and the brute-force (wide) paths alike.
func TestQueriesReportProgress(t *testing.T) {
	for _, d := range []int{4, 40} {
		r := rand.New(rand.NewPCG(uint64(d), 1))
		X := dataset.NewMatrix(3000, d)
		for i := range X.Data {
			X.Data[i] = r.NormFloat64()
		}
		ix, err := Build(X, Options{})
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var last, total int64
		ctx := progress.With(context.Background(), func(phase string, done, tot int64) {
			mu.Lock()
			defer mu.Unlock()
			if phase == "neighbours" {
				last, total = done, tot
			}
		})
		k := 5
		dist, idx := make([]float64, X.Rows*k), make([]int32, X.Rows*k)
		if err := ix.QueryTrain(ctx, k, dist, idx); err != nil {
			t.Fatal(err)
		}
		if last != 3000 || total != 3000 {
			t.Errorf("%d columns: last report %d of %d, want 3000 of 3000", d, last, total)
		}
	}
}

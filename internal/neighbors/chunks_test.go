package neighbors

import (
	"context"
	"testing"

	"github.com/gonomaly/gonomaly/dataset"
)

// TestQueryChunksBoundsLargeK: with a large k the chunks shrink so that one holds at most
// MaxChunkValues neighbours, and every row is still answered once, as Query answers it.
func TestQueryChunksBoundsLargeK(t *testing.T) {
	X, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: 3000, Cols: 3, Seed: 5})
	Q, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: 700, Cols: 3, Seed: 6})
	ix, err := Build(X, Options{})
	if err != nil {
		t.Fatal(err)
	}
	const k = 2500
	want := make([]float64, Q.Rows*k)
	if err := ix.Query(context.Background(), Q, k, want, make([]int32, Q.Rows*k)); err != nil {
		t.Fatal(err)
	}
	next := 0
	err = ix.QueryChunks(context.Background(), Q, k, 8192, func(lo, hi int, dist []float64, _ []int32) error {
		if lo != next || (hi-lo)*k > MaxChunkValues {
			t.Fatalf("chunk [%d, %d) of %d values after row %d", lo, hi, (hi-lo)*k, next)
		}
		for i, v := range dist {
			if v != want[lo*k+i] {
				t.Fatalf("row %d: neighbour %d at %v, Query says %v", lo+i/k, i%k, v, want[lo*k+i])
			}
		}
		next = hi
		return nil
	})
	if err != nil || next != Q.Rows {
		t.Fatalf("err %v, answered %d of %d rows", err, next, Q.Rows)
	}
	if err := ix.QueryChunks(context.Background(), Q, 0, 10, nil); err == nil {
		t.Fatal("k = 0 accepted")
	}
}

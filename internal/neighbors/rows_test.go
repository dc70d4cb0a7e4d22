package neighbors

import (
	"context"
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/gonomaly/gonomaly/dataset"
)

// TestBuildRowsData checks that an index rebuilt by BuildRows from Data answers as the
// original does, and that BuildRows refuses non-finite values.
func TestBuildRowsData(t *testing.T) {
	ctx := context.Background()
	for _, cols := range []int{3, 40} {
		X, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: 500, Cols: cols, Contamination: 0.05, Seed: 3})
		ix, dist, idx, err := BuildTrain(ctx, X, 4, Options{})
		if err != nil {
			t.Fatal(err)
		}
		data := ix.Data()
		if !slices.Equal(data, X.Data) {
			t.Fatalf("%d columns: Data differs from the matrix built", cols)
		}
		re, err := BuildRows(data, X.Rows, cols, Options{})
		if err != nil {
			t.Fatal(err)
		}
		dist2 := make([]float64, len(dist))
		idx2 := make([]int32, len(idx))
		if err := re.QueryTrain(ctx, 4, dist2, idx2); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(dist, dist2) || !slices.Equal(idx, idx2) {
			t.Errorf("%d columns: the rebuilt index answers differently", cols)
		}
	}
	if _, err := BuildRows([]float64{1, math.NaN()}, 1, 2, Options{}); !errors.Is(err, ErrNonFinite) {
		t.Errorf("BuildRows with NaN: %v, want ErrNonFinite", err)
	}
}

package neighbors

import (
	"context"
	"errors"
	"math"

	"github.com/gonomaly/gonomaly/dataset"
)

// ErrNonFinite is returned by BuildRows for a NaN or infinite value.
var ErrNonFinite = errors.New("non-finite training value")

// BuildTrain indexes the rows of X (as Build does) and finds each row's k nearest other rows
// (as QueryTrain does), returning the index and the row-major X.Rows x k answers.
func BuildTrain(ctx context.Context, X *dataset.Matrix, k int, opts Options) (ix *Index, dist []float64, idx []int32, err error) {
	ix, err = Build(X, opts)
	if err != nil {
		return nil, nil, nil, err
	}
	dist = make([]float64, X.Rows*k)
	idx = make([]int32, X.Rows*k)
	if err := ix.QueryTrain(ctx, k, dist, idx); err != nil {
		return nil, nil, nil, err
	}
	return ix, dist, idx, nil
}

// Data returns the indexed rows, numbered as in the matrix given to Build, row-major in a new
// slice: what a detector encodes to rebuild the index with BuildRows.
func (ix *Index) Data() []float64 {
	n, c := ix.n, ix.d
	data := make([]float64, n*c)
	for i := 0; i < n; i++ {
		ix.Row(i, data[i*c:(i+1)*c])
	}
	return data
}

// BuildRows indexes rows x cols row-major values, such as Data returned, after checking that
// every one is finite (ErrNonFinite). data must hold rows*cols values.
func BuildRows(data []float64, rows, cols int, opts Options) (*Index, error) {
	for _, v := range data {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, ErrNonFinite
		}
	}
	return Build(&dataset.Matrix{Rows: rows, Cols: cols, Data: data}, opts)
}

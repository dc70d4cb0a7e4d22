package neighbors_test

import (
	"context"
	"fmt"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/internal/neighbors"
)

func Example() {
	X, _ := dataset.FromRows([][]float64{{0, 0}, {1, 0}, {0, 2}, {1, 0}, {5, 5}})
	ix, err := neighbors.Build(X, neighbors.Options{})
	if err != nil {
		panic(err)
	}
	const k = 2
	dist := make([]float64, X.Rows*k)
	idx := make([]int32, X.Rows*k)
	// Each row against the others: rows 1 and 3 are equal, so each is the other's nearest.
	// Ties come out in the order scikit-learn's KDTree gives them (row 0: [3 1]).
	if err := ix.QueryTrain(context.Background(), k, dist, idx); err != nil {
		panic(err)
	}
	for i := 0; i < X.Rows; i++ {
		fmt.Printf("row %d: %v at %.3f\n", i, idx[i*k:(i+1)*k], dist[i*k:(i+1)*k])
	}
	// Output:
	// row 0: [3 1] at [1.000 1.000]
	// row 1: [3 0] at [0.000 1.000]
	// row 2: [0 1] at [2.000 2.236]
	// row 3: [1 0] at [0.000 1.000]
	// row 4: [2 1] at [5.831 6.403]
}

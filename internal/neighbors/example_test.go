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

// Wider data (more than 15 columns) is searched by brute force, exactly: duplicate rows are at
// distance 0, and rows tied in distance come out by row number.
func Example_wide() {
	rows := [][]float64{}
	for _, v := range []float64{0, 1, 1, 3, 6, 10} {
		row := make([]float64, 20)
		for j := range row {
			row[j] = v + float64(j%2)
		}
		rows = append(rows, row)
	}
	X, _ := dataset.FromRows(rows)
	ix, err := neighbors.Build(X, neighbors.Options{})
	if err != nil {
		panic(err)
	}
	const k = 2
	dist := make([]float64, X.Rows*k)
	idx := make([]int32, X.Rows*k)
	if err := ix.QueryTrain(context.Background(), k, dist, idx); err != nil {
		panic(err)
	}
	fmt.Println(ix.Algorithm())
	for i := 0; i < X.Rows; i++ {
		fmt.Printf("row %d: %v at %.3f\n", i, idx[i*k:(i+1)*k], dist[i*k:(i+1)*k])
	}
	// Output:
	// brute
	// row 0: [1 2] at [4.472 4.472]
	// row 1: [2 0] at [0.000 4.472]
	// row 2: [1 0] at [0.000 4.472]
	// row 3: [1 2] at [8.944 8.944]
	// row 4: [3 5] at [13.416 17.889]
	// row 5: [4 3] at [17.889 31.305]
}

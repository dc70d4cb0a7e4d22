package knn_test

import (
	"context"
	"fmt"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/detector/knn"
)

func Example() {
	// Four points on a unit square and one far away.
	X, _ := dataset.FromRows([][]float64{{0, 0}, {0, 1}, {1, 0}, {1, 1}, {5, 5}})
	d, err := knn.New(knn.Config{Neighbors: 2})
	if err != nil {
		panic(err)
	}
	if err := d.Fit(context.Background(), X); err != nil {
		panic(err)
	}
	fmt.Printf("%.3f\n", d.TrainScores())
	Q, _ := dataset.FromRows([][]float64{{0.5, 0.5}, {9, 9}})
	s, _ := d.Score(context.Background(), Q, nil)
	fmt.Printf("%.3f %.3f\n", s[0], s[1])
	// Output:
	// [1.000 1.000 1.000 1.000 6.403]
	// 0.707 11.314
}

package lof_test

import (
	"context"
	"fmt"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/detector/lof"
)

// The figures agree with scikit-learn 1.2.1: LocalOutlierFactor(n_neighbors=3) gives
// -negative_outlier_factor_ 0.7836 and 7.3172, and with novelty=True -score_samples 0.8894, 9.9426.
func Example() {
	// A tight grid of nine points and one point well outside it.
	var rows [][]float64
	for x := 0.0; x < 3; x++ {
		for y := 0.0; y < 3; y++ {
			rows = append(rows, []float64{x, y})
		}
	}
	rows = append(rows, []float64{8, 8})
	X, _ := dataset.FromRows(rows)
	d, err := lof.New(lof.Config{Neighbors: 3})
	if err != nil {
		panic(err)
	}
	if err := d.Fit(context.Background(), X); err != nil {
		panic(err)
	}
	train := d.TrainScores()
	fmt.Printf("centre %.2f, outlier %.2f\n", train[4], train[9])
	Q, _ := dataset.FromRows([][]float64{{1, 1.5}, {20, 0}})
	s, _ := d.Score(context.Background(), Q, nil)
	fmt.Printf("new inlier %.2f, new outlier %.2f\n", s[0], s[1])
	// Output:
	// centre 0.78, outlier 7.32
	// new inlier 0.89, new outlier 9.94
}

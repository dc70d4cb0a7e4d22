package ocsvm_test

import (
	"context"
	"fmt"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/detector/ocsvm"
)

func Example() {
	// A tight cloud of points around the origin, and two rows to score.
	var rows [][]float64
	for i := range 10 {
		for j := range 10 {
			rows = append(rows, []float64{float64(i)/10 - 0.45, float64(j)/10 - 0.45})
		}
	}
	X, _ := dataset.FromRows(rows)
	Q, _ := dataset.FromRows([][]float64{{0.05, 0.05}, {3, 3}})

	d, err := ocsvm.New(ocsvm.Config{}) // scikit-learn's defaults: gamma "scale", nu 0.5
	if err != nil {
		panic(err)
	}
	if err := d.Fit(context.Background(), X); err != nil {
		panic(err)
	}
	scores, err := d.Score(context.Background(), Q, nil)
	if err != nil {
		panic(err)
	}
	info := d.Info()
	fmt.Printf("gamma %.4f, %d support vectors\n", info.Gamma, info.SupportVectors)
	// scikit-learn 1.2.1 gives the same: -decision_function = [0.000137718488, 13.1390360].
	fmt.Printf("grid point %.6f, far point %.4f\n", scores[0], scores[1])
	// Output:
	// gamma 6.0606, 52 support vectors
	// grid point 0.000138, far point 13.1390
}

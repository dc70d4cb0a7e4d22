package iforest_test

import (
	"context"
	"fmt"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/detector/iforest"
)

func Example() {
	ctx := context.Background()
	// 500 ordinary rows around the origin.
	X, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: 500, Cols: 3, Seed: 1})

	d, err := iforest.New(iforest.Config{Seed: 42}) // 100 trees of min(256, n) rows
	if err != nil {
		panic(err)
	}
	if err := d.Fit(ctx, X); err != nil {
		panic(err)
	}

	Q, _ := dataset.FromRows([][]float64{
		X.Row(0),      // a training row
		{50, -50, 50}, // far from everything
	})
	s, err := d.Score(ctx, Q, nil)
	if err != nil {
		panic(err)
	}
	fmt.Printf("training row: %.2f\n", s[0])
	fmt.Printf("far row:      %.2f\n", s[1])
	fmt.Println("far row more anomalous:", s[1] > s[0])
	// Output:
	// training row: 0.45
	// far row:      0.69
	// far row more anomalous: true
}

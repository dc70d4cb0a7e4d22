package ecod_test

import (
	"context"
	"fmt"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/detector/ecod"
)

func Example() {
	// Two features; the last training row is far out in the right tail of both. The training
	// scores equal ecod() of the numpy reference.
	train, _ := dataset.FromRows([][]float64{
		{1, 10}, {2, 11}, {2, 12}, {3, 11}, {3, 13}, {4, 12}, {3, 11}, {2, 12}, {20, 40},
	})
	d, err := ecod.New(ecod.Config{})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	if err := d.Fit(ctx, train); err != nil {
		panic(err)
	}
	scores, err := d.Score(ctx, train, nil)
	if err != nil {
		panic(err)
	}
	for i, s := range scores {
		fmt.Printf("row %d: %.3f\n", i, s)
	}
	// A new row beyond every training value counts as one training value: finite score.
	far, _ := dataset.FromRows([][]float64{{100, 100}})
	s, _ := d.Score(ctx, far, nil)
	fmt.Printf("far row: %.3f\n", s[0])
	// Output:
	// row 0: 2.197
	// row 1: 0.929
	// row 2: 1.052
	// row 3: 1.052
	// row 4: 2.092
	// row 5: 2.092
	// row 6: 1.052
	// row 7: 1.052
	// row 8: 4.394
	// far row: 4.394
}

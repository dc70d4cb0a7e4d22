package hbos_test

import (
	"context"
	"fmt"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/detector/hbos"
)

func Example() {
	// Nine training values of one feature, then three new ones: in the dense bin, in the sparse
	// last bin, and far outside the range, which takes the emptiest bin's log-density.
	train, _ := dataset.FromRows([][]float64{{1}, {1.1}, {1.2}, {1.3}, {1.4}, {1.5}, {1.6}, {1.7}, {5}})
	d, err := hbos.New(hbos.Config{Bins: 4, Tol: hbos.DefaultTol})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	if err := d.Fit(ctx, train); err != nil {
		panic(err)
	}
	query, _ := dataset.FromRows([][]float64{{1.5}, {4.9}, {100}})
	scores, err := d.Score(ctx, query, nil)
	if err != nil {
		panic(err)
	}
	for i, s := range scores {
		fmt.Printf("%v: %.4f\n", query.At(i, 0), s)
	}
	// Output:
	// 1.5: 0.0161
	// 4.9: 2.2439
	// 100: 3.3219
}

package dataset_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/gonomaly/gonomaly/dataset"
)

// Reservoir draws a seeded uniform sample of a table read in chunks, in one pass and with
// memory bounded by the sample, however long the table.
func ExampleReservoir() {
	var csv strings.Builder
	csv.WriteString("x,y\n")
	for i := range 1000 {
		fmt.Fprintf(&csv, "%d,%d\n", i, 2*i)
	}
	src, err := dataset.NewCSVReader(strings.NewReader(csv.String()), dataset.Options{ChunkRows: 64})
	if err != nil {
		panic(err)
	}
	sample, err := dataset.Reservoir(context.Background(), src, 5, 42)
	if err != nil {
		panic(err)
	}
	fmt.Println(sample.Rows, sample.Cols)
	for i := range sample.Rows {
		fmt.Println(sample.Row(i))
	}
	// Output:
	// 5 2
	// [136 272]
	// [502 1004]
	// [691 1382]
	// [767 1534]
	// [872 1744]
}

package dataset_test

import (
	"fmt"
	"strings"

	"github.com/gonomaly/gonomaly/dataset"
)

func ExampleReadCSV() {
	in := "temp,load,label\n21.5,0.3,0\n22.0,0.4,0\n95.0,7.9,1\n"
	tab, err := dataset.ReadCSV(strings.NewReader(in), dataset.CSVOptions{Label: "label"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(tab.X.Rows, "rows of", tab.Columns, "labels", tab.Labels)
	fmt.Println("row 2:", tab.X.Row(2))

	_, err = dataset.ReadCSV(strings.NewReader("temp,load\n21.5,high\n"), dataset.CSVOptions{Name: "plant.csv"})
	fmt.Println(err)
	// Output:
	// 3 rows of [temp load] labels [0 0 1]
	// row 2: [95 7.9]
	// dataset: plant.csv: row 1, column "load": "high": not a number
}

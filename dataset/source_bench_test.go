package dataset

import (
	"bytes"
	"context"
	"io"
	"strconv"
	"testing"
)

// benchTable is 50 000 labelled synthetic rows of 12 columns, as in BenchmarkReadCSV.
func benchTable() *Table {
	X, labels := Synthetic(SyntheticConfig{Rows: 50000, Cols: 12, Contamination: 0.05, Seed: 1})
	cols := make([]string, X.Cols)
	for j := range cols {
		cols[j] = "f" + strconv.Itoa(j)
	}
	return &Table{X: X, Labels: labels, Columns: cols}
}

// drain reads every chunk of src, as ScoreStream does, without keeping them.
func drain(b *testing.B, src Source) int {
	n := 0
	for {
		x, err := src.Next(context.Background())
		if err == io.EOF {
			return n
		}
		if err != nil {
			b.Fatal(err)
		}
		n += x.Rows
	}
}

// BenchmarkCSVSource streams the table's CSV text in chunks: memory is the reused chunk.
func BenchmarkCSVSource(b *testing.B) {
	tab := benchTable()
	var buf bytes.Buffer
	for _, c := range tab.Columns {
		buf.WriteString(c + ",")
	}
	buf.WriteString("label\n")
	for i := 0; i < tab.X.Rows; i++ {
		for _, v := range tab.X.Row(i) {
			buf.WriteString(strconv.FormatFloat(v, 'g', -1, 64) + ",")
		}
		buf.WriteString(strconv.Itoa(tab.Labels[i]) + "\n")
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		src, err := NewCSVReader(bytes.NewReader(data), Options{Label: "label"})
		if err != nil {
			b.Fatal(err)
		}
		if drain(b, src) != tab.X.Rows {
			b.Fatal("rows lost")
		}
	}
	b.ReportMetric(float64(tab.X.Rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkParquetSource streams the same table written as Parquet.
func BenchmarkParquetSource(b *testing.B) {
	tab := benchTable()
	var buf bytes.Buffer
	if err := WriteParquet(&buf, tab, "label", 0); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		src, err := NewParquetReader(bytes.NewReader(data), int64(len(data)), Options{Label: "label"})
		if err != nil {
			b.Fatal(err)
		}
		if drain(b, src) != tab.X.Rows {
			b.Fatal("rows lost")
		}
	}
	b.ReportMetric(float64(tab.X.Rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

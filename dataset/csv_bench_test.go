package dataset

import (
	"bytes"
	"strconv"
	"testing"
)

func BenchmarkReadCSV(b *testing.B) {
	X, labels := Synthetic(SyntheticConfig{Rows: 50000, Cols: 12, Contamination: 0.05, Seed: 1})
	var buf bytes.Buffer
	for j := 0; j < X.Cols; j++ {
		buf.WriteString("f" + strconv.Itoa(j) + ",")
	}
	buf.WriteString("label\n")
	for i := 0; i < X.Rows; i++ {
		for _, v := range X.Row(i) {
			buf.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
			buf.WriteByte(',')
		}
		buf.WriteString(strconv.Itoa(labels[i]) + "\n")
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ReadCSV(bytes.NewReader(data), CSVOptions{Label: "label"}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(X.Rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

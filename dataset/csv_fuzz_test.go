package dataset

import (
	"errors"
	"io"
	"math"
	"strings"
	"testing"
)

// FuzzReadCSV checks that no input makes the reader panic, that every error is a *ParseError,
// and that what it accepts is a well-formed, finite matrix.
func FuzzReadCSV(f *testing.F) {
	for _, s := range []string{
		"a,b,label\n1,2,0\n3,4,1\n", "a\n", "", "a,b\n1\n", "a,b\n1,NaN\n", "\ufeffa,b\n1,2\n",
		"a,b\n\"1\",2\n", "a;b\n1;2\n", "x,y\n1e308,-1e308\n1e-320,0\n", "a,b\n1,2,3\n",
	} {
		f.Add(s, "label", 3)
	}
	f.Fuzz(func(t *testing.T, in, label string, chunk int) {
		cr, err := NewCSVReader(strings.NewReader(in), CSVOptions{Label: label, ChunkRows: chunk%50 + 1})
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *ParseError", err)
			}
			return
		}
		rows := 0
		for {
			ch, err := cr.Next()
			if err == io.EOF {
				return
			}
			if err != nil {
				var pe *ParseError
				if !errors.As(err, &pe) {
					t.Fatalf("error %v is not a *ParseError", err)
				}
				return
			}
			if len(ch.X.Data) != ch.X.Rows*ch.X.Cols || ch.X.Cols != len(cr.Columns()) {
				t.Fatalf("chunk shape %dx%d with %d values", ch.X.Rows, ch.X.Cols, len(ch.X.Data))
			}
			if ch.FirstRow != rows+1 {
				t.Fatalf("chunk starts at row %d after %d rows", ch.FirstRow, rows)
			}
			rows += ch.X.Rows
			for _, v := range ch.X.Data {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("accepted non-finite %v", v)
				}
			}
		}
	})
}

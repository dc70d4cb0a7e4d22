package dataset

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func TestReadCSV(t *testing.T) {
	tab, err := ReadCSV(strings.NewReader("a,b,label\n1,2,0\n3.5,-4e2,1\n 5 , 6 ,0\n"), CSVOptions{Label: "label"})
	if err != nil {
		t.Fatal(err)
	}
	if tab.X.Rows != 3 || tab.X.Cols != 2 {
		t.Fatalf("shape %dx%d, want 3x2", tab.X.Rows, tab.X.Cols)
	}
	want := []float64{1, 2, 3.5, -400, 5, 6}
	for i, v := range want {
		if tab.X.Data[i] != v {
			t.Fatalf("Data[%d] = %v, want %v", i, tab.X.Data[i], v)
		}
	}
	if got := tab.Labels; len(got) != 3 || got[1] != 1 || got[0] != 0 {
		t.Fatalf("labels %v", got)
	}
	if strings.Join(tab.Columns, ",") != "a,b" {
		t.Fatalf("columns %v", tab.Columns)
	}
}

func TestReadCSVErrors(t *testing.T) {
	tests := []struct {
		name, in, label string
		is              error
		msg             string // must appear in the error text
	}{
		{"empty file", "", "", ErrEmpty, "no data rows"},
		{"header only", "a,b\n", "", ErrEmpty, "no data rows"},
		{"non-numeric", "a,b\n1,2\n3,x\n", "", ErrNotNumeric, `row 2, column "b": "x"`},
		{"NaN", "a,b\n1,NaN\n", "", ErrNonFinite, `row 1, column "b"`},
		{"Inf", "a,b\n1,2\n-inf,2\n", "", ErrNonFinite, `row 2, column "a"`},
		{"overflow", "a\n1e999\n", "", ErrNonFinite, `row 1, column "a"`},
		{"ragged short", "a,b,c\n1,2,3\n4,5\n", "", ErrRagged, "row 2: wrong number of fields: 2 fields, header has 3"},
		{"ragged long", "a,b\n1,2,3\n", "", ErrRagged, "row 1"},
		{"missing label", "a,b\n1,2\n", "y", ErrNoColumn, `column "y"`},
		{"bad label", "a,y\n1,2\n", "y", nil, "label must be 0 or 1"},
		{"empty cell", "a,b\n1,\n", "", ErrNotNumeric, `row 1, column "b"`},
		{"duplicate header", "a,a\n1,2\n", "", nil, "duplicate column name"},
		{"only label", "y\n1\n", "y", nil, "no feature columns"},
		{"bad quote", "a,b\n1,\"2\n", "", nil, "malformed CSV"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadCSV(strings.NewReader(tc.in), CSVOptions{Label: tc.label, Name: "in.csv"})
			if err == nil {
				t.Fatal("no error")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %q does not wrap %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not say %q", err, tc.msg)
			}
			if !strings.Contains(err.Error(), "in.csv") {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

func TestCSVReaderChunks(t *testing.T) {
	var b strings.Builder
	b.WriteString("x,y\n")
	for i := 0; i < 25; i++ {
		b.WriteString("1,2\n")
	}
	cr, err := NewCSVReader(strings.NewReader(b.String()), CSVOptions{ChunkRows: 10})
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int
	for {
		ch, err := cr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if ch.FirstRow != 1+10*len(sizes) {
			t.Fatalf("chunk %d starts at row %d", len(sizes), ch.FirstRow)
		}
		sizes = append(sizes, ch.X.Rows)
	}
	if len(sizes) != 3 || sizes[0] != 10 || sizes[2] != 5 {
		t.Fatalf("chunk sizes %v, want [10 10 5]", sizes)
	}
}

func TestSyntheticDeterministic(t *testing.T) {
	cfg := SyntheticConfig{Rows: 200, Cols: 3, Contamination: 0.1, Seed: 42}
	a, la := Synthetic(cfg)
	b, lb := Synthetic(cfg)
	out := 0
	for i := range a.Data {
		if a.Data[i] != b.Data[i] {
			t.Fatal("same seed, different data")
		}
	}
	for i := range la {
		if la[i] != lb[i] {
			t.Fatal("same seed, different labels")
		}
		out += la[i]
	}
	if out != 20 {
		t.Fatalf("%d outliers, want 20", out)
	}
	c, _ := Synthetic(SyntheticConfig{Rows: 200, Cols: 3, Contamination: 0.1, Seed: 43})
	if c.Data[0] == a.Data[0] && c.Data[1] == a.Data[1] {
		t.Fatal("different seeds, same data")
	}
}

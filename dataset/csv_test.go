package dataset

import (
	"context"
	"errors"
	"io"
	"math"
	"runtime"
	"strconv"
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
		first := cr.Row() + 1
		x, err := cr.Next(context.Background())
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if first != 1+10*len(sizes) {
			t.Fatalf("chunk %d starts at row %d", len(sizes), first)
		}
		sizes = append(sizes, x.Rows)
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

// zeros is an endless stream of zero bytes, like /dev/zero; it counts what was read.
type zeros struct{ n int }

func (z *zeros) Read(p []byte) (int, error) {
	clear(p)
	z.n += len(p)
	return len(p), nil
}

// TestReadCSVEndlessLine: input without newlines fails at the line cap, having read and
// allocated little more than the cap, whether the header or a data row is endless.
func TestReadCSVEndlessLine(t *testing.T) {
	for _, tc := range []struct {
		name, prefix, msg string
	}{
		{"header", "", "dataset: /dev/zero: line 1 is longer than 1 MiB; is this a CSV file?"},
		{"row", "a,b\n1,2\n", "dataset: /dev/zero: row 2: line 3 is longer than 1 MiB; is this a CSV file?"},
		{"open quote", "a,b\n1,2\n\"", "row 2: line 3 is longer than 1 MiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			z := &zeros{}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := ReadCSV(io.MultiReader(strings.NewReader(tc.prefix), z), CSVOptions{Name: "/dev/zero"})
			runtime.ReadMemStats(&after)
			var pe *ParseError
			if !errors.As(err, &pe) || !errors.Is(err, ErrLineTooLong) {
				t.Fatalf("err = %v, want a *ParseError wrapping ErrLineTooLong", err)
			}
			if err.Error() != tc.msg && !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not say %q", err, tc.msg)
			}
			if z.n > DefaultMaxLineBytes+128<<10 {
				t.Errorf("read %d bytes of an endless line, want at most the cap plus a buffer", z.n)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
				t.Errorf("allocated %d MiB reading an endless line", alloc>>20)
			}
		})
	}
}

// TestReadCSVEndlessQuotedRecord: a quoted field left open over endless short lines is one
// record, so the cap on a record's bytes stops it.
func TestReadCSVEndlessQuotedRecord(t *testing.T) {
	lines := io.MultiReader(strings.NewReader("a,b\n1,\"2\n"), &repeat{line: "3,4\n"})
	_, err := ReadCSV(lines, CSVOptions{MaxLineBytes: 64 << 10})
	if !errors.Is(err, ErrLineTooLong) || !strings.Contains(err.Error(), "row 1: record from line 2 is longer than 64 KiB") {
		t.Fatalf("err = %v", err)
	}
}

// repeat yields line over and over.
type repeat struct {
	line string
	off  int
}

func (r *repeat) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k := copy(p[n:], r.line[r.off:])
		n += k
		r.off = (r.off + k) % len(r.line)
	}
	return n, nil
}

func TestReadCSVLineCap(t *testing.T) {
	in := "a,b\n1,2\n1234,5678\n"
	if _, err := ReadCSV(strings.NewReader(in), CSVOptions{MaxLineBytes: 9}); err != nil {
		t.Fatalf("a 9-byte line with a 9-byte cap: %v", err)
	}
	_, err := ReadCSV(strings.NewReader(in), CSVOptions{MaxLineBytes: 8})
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Row != 2 || !errors.Is(err, ErrLineTooLong) ||
		!strings.Contains(err.Error(), "row 2: line 3 is longer than 8 bytes") {
		t.Fatalf("a 9-byte line with an 8-byte cap: %v", err)
	}
	if _, err := ReadCSV(strings.NewReader(in), CSVOptions{MaxLineBytes: -1}); err == nil || !strings.Contains(err.Error(), "must not be negative") {
		t.Fatalf("negative cap: %v", err)
	}
}

// TestReadCSVHugeCell: a 10 MB cell is an error that quotes only its start.
func TestReadCSVHugeCell(t *testing.T) {
	cell := strings.Repeat("é", 5<<20) // 10 MiB, two bytes a rune
	in := "a,b\n1," + cell + "\n"
	_, err := ReadCSV(strings.NewReader(in), CSVOptions{})
	if !errors.Is(err, ErrLineTooLong) {
		t.Fatalf("10 MiB cell with the default cap: err = %v", err)
	}
	if len(err.Error()) > 200 {
		t.Errorf("error is %d bytes long", len(err.Error()))
	}
	_, err = ReadCSV(strings.NewReader(in), CSVOptions{MaxLineBytes: 16 << 20})
	var pe *ParseError
	if !errors.As(err, &pe) || !errors.Is(err, ErrNotNumeric) {
		t.Fatalf("10 MiB cell under a 16 MiB cap: err = %v", err)
	}
	if want := strings.Repeat("é", 32) + "…"; pe.Value != want {
		t.Errorf("error quotes %d bytes %q..., want the first 64 bytes and …", len(pe.Value), pe.Value[:min(len(pe.Value), 80)])
	}
	if len(err.Error()) > 200 {
		t.Errorf("error is %d bytes long", len(err.Error()))
	}
	// A cut never splits a rune: 63 ASCII bytes, then a two-byte rune.
	if got := clip(strings.Repeat("x", 63) + "éé"); got != strings.Repeat("x", 63)+"…" {
		t.Errorf("clip = %q", got)
	}
}

func TestReadCSVManyColumns(t *testing.T) {
	header := func(n int) string {
		names := make([]string, n)
		for j := range names {
			names[j] = "c" + strconv.Itoa(j)
		}
		return strings.Join(names, ",")
	}
	ones := func(n int) string { return strings.TrimSuffix(strings.Repeat("1,", n), ",") }

	// The default cap itself is allowed.
	tab, err := ReadCSV(strings.NewReader(header(DefaultMaxColumns)+"\n"+ones(DefaultMaxColumns)+"\n"), CSVOptions{})
	if err != nil || tab.X.Cols != DefaultMaxColumns {
		t.Fatalf("%d columns: err = %v", DefaultMaxColumns, err)
	}
	for name, in := range map[string]string{
		"header":        header(DefaultMaxColumns+1) + "\n1\n",
		"quoted header": `"a",` + header(DefaultMaxColumns) + "\n1\n",
		"row":           "a\n" + ones(DefaultMaxColumns+1) + "\n",
	} {
		_, err := ReadCSV(strings.NewReader(in), CSVOptions{Name: "wide.csv"})
		if !errors.Is(err, ErrTooManyColumns) || !strings.Contains(err.Error(), "has more than 100000 fields") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	_, err = ReadCSV(strings.NewReader("a,b,c\n1,2,3\n"), CSVOptions{MaxColumns: 2})
	if !errors.Is(err, ErrTooManyColumns) {
		t.Errorf("3 columns with a cap of 2: err = %v", err)
	}
	// A missing label lists only the start of a wide header.
	_, err = ReadCSV(strings.NewReader(header(50000)+"\n"+ones(50000)+"\n"), CSVOptions{Label: "y"})
	if !errors.Is(err, ErrNoColumn) || len(err.Error()) > 400 || !strings.Contains(err.Error(), "49980 more") {
		t.Errorf("missing label in a wide header: %d-byte error %.300q", len(err.Error()), err)
	}
}

// TestReadCSVHugeChunk: a chunk reserves memory for the rows that come, not for ChunkRows.
func TestReadCSVHugeChunk(t *testing.T) {
	tab, err := ReadCSV(strings.NewReader("a,y\n1,0\n2,1\n"), CSVOptions{Label: "y", ChunkRows: math.MaxInt})
	if err != nil || tab.X.Rows != 2 || len(tab.Labels) != 2 {
		t.Fatalf("err = %v", err)
	}
}

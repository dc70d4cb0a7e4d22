package dataset

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

const wbcCSV = "../testdata/datasets/adbench/wbc.csv" // 223 rows x 9 features + label

// wbcFiles writes wbc as gzip CSV (under a name without .gz: found by its magic bytes) and as
// Parquet in row groups of 50 rows and pages of a few rows, so chunks cross both.
func wbcFiles(t *testing.T) (tab *Table, paths map[string]string) {
	t.Helper()
	tab, err := ReadCSVFile(wbcCSV, Options{Label: "label"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	raw, err := os.ReadFile(wbcCSV)
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	var pq bytes.Buffer
	if err := writeParquet(&pq, tab, "label", parquet.MaxRowsPerRowGroup(50), parquet.PageBufferSize(256)); err != nil {
		t.Fatal(err)
	}
	paths = map[string]string{"csv": wbcCSV, "gzip": filepath.Join(dir, "wbc.data"), "parquet": filepath.Join(dir, "wbc.parquet")}
	for name, b := range map[string][]byte{"gzip": gz.Bytes(), "parquet": pq.Bytes()} {
		if err := os.WriteFile(paths[name], b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return tab, paths
}

// TestSourceConformance runs the same checks on every Source Open returns: chunks of at most
// ChunkRows rows, labels beside them, io.EOF at the end and after it, and the same table as
// the CSV file read whole.
func TestSourceConformance(t *testing.T) {
	want, paths := wbcFiles(t)
	for name, path := range paths {
		for _, chunk := range []int{1, 17, 50, 64, 1000} {
			src, err := Open(path, Options{Label: "label", ChunkRows: chunk})
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if got := src.Columns(); strings.Join(got, ",") != strings.Join(want.Columns, ",") {
				t.Fatalf("%s: columns %v, want %v", name, got, want.Columns)
			}
			var got Table
			got.X = &Matrix{Cols: len(want.Columns)}
			var prev *Matrix
			for {
				x, err := src.Next(context.Background())
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("%s chunk %d: %v", name, chunk, err)
				}
				if prev != nil && x != prev {
					t.Errorf("%s chunk %d: the matrix is not reused", name, chunk)
				}
				prev = x
				if x.Rows > chunk || x.Rows == 0 || x.Validate() != nil || len(src.Labels()) != x.Rows {
					t.Fatalf("%s chunk %d: a chunk of %d rows, %d labels", name, chunk, x.Rows, len(src.Labels()))
				}
				got.X.Data = append(got.X.Data, x.Data...)
				got.X.Rows += x.Rows
				got.Labels = append(got.Labels, src.Labels()...)
			}
			if _, err := src.Next(context.Background()); err != io.EOF {
				t.Errorf("%s: Next after the end: %v", name, err)
			}
			if z, ok := src.(Sized); !ok || z.TotalRows() != int64(want.X.Rows) {
				t.Errorf("%s: TotalRows at the end is not the rows read", name)
			}
			src.Close()
			if got.X.Rows != want.X.Rows || !slices.Equal(got.X.Data, want.X.Data) || !slices.Equal(got.Labels, want.Labels) {
				t.Fatalf("%s chunk %d: read %d rows that differ from the CSV file's", name, chunk, got.X.Rows)
			}
		}
	}
}

func TestSourceCancelled(t *testing.T) {
	_, paths := wbcFiles(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for name, path := range paths {
		src, err := Open(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := src.Next(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("%s: Next on a cancelled context: %v", name, err)
		}
		src.Close()
	}
}

// writePQ writes a Parquet file of the rows of a struct type to a temporary file.
func writePQ[T any](t *testing.T, name string, rows []T) string {
	t.Helper()
	var b bytes.Buffer
	w := parquet.NewGenericWriter[T](&b)
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParquetTypes(t *testing.T) {
	type row struct {
		I32   int32   `parquet:"i32"`
		I64   int64   `parquet:"i64"`
		U32   uint32  `parquet:"u32"`
		F32   float32 `parquet:"f32"`
		F64   float64 `parquet:"f64"`
		Dict  float64 `parquet:"dict,dict"`
		Label bool    `parquet:"label"`
	}
	p := writePQ(t, "types.parquet", []row{{-1, 1 << 40, 4e9, 0.5, 2.25, 7, false}, {2, -3, 0, -1.5, 1e300, 7, true}})
	tab, err := ReadFile(context.Background(), p, Options{Label: "label"})
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{-1, 1 << 40, 4e9, 0.5, 2.25, 7, 2, -3, 0, -1.5, 1e300, 7}
	if !slices.Equal(tab.X.Data, want) || !slices.Equal(tab.Labels, []int{0, 1}) || strings.Join(tab.Columns, ",") != "i32,i64,u32,f32,f64,dict" {
		t.Fatalf("read %v %v %v", tab.Columns, tab.X.Data, tab.Labels)
	}
}

func TestParquetErrors(t *testing.T) {
	type text struct {
		A    float64 `parquet:"a"`
		Name string  `parquet:"name"`
	}
	type nullable struct {
		A *float64 `parquet:"a,optional"`
	}
	type list struct {
		A []float64 `parquet:"a,list"`
	}
	type labelled struct {
		A     float64 `parquet:"a"`
		Label int64   `parquet:"label"`
	}
	type bare struct {
		A float64 `parquet:"a"`
	}
	one := 1.0
	_, paths := wbcFiles(t)
	pq, _ := os.ReadFile(paths["parquet"])
	truncated := filepath.Join(t.TempDir(), "cut.parquet")
	os.WriteFile(truncated, pq[:len(pq)/2], 0o644)
	tests := []struct {
		name, path, label string
		is                error
		msg               string
	}{
		{"string column", writePQ(t, "s.parquet", []text{{1, "x"}}), "", ErrNotNumeric, `s.parquet: column "name": not a number: a STRING column (only float, integer and boolean columns are read)`},
		{"null", writePQ(t, "n.parquet", []nullable{{&one}, {nil}}), "", ErrNull, `n.parquet: row group 1, row 2, column "a": null value`},
		{"list", writePQ(t, "l.parquet", []list{{[]float64{1, 2}}}), "", ErrNotNumeric, "repeated"},
		{"missing label", writePQ(t, "m.parquet", []bare{{1}}), "y", ErrNoColumn, `m.parquet: column "y": no such column: label column not in schema [a]`},
		{"bad label", writePQ(t, "b.parquet", []labelled{{1, 0}, {2, 2}}), "label", nil, `row group 1, row 2, column "label": "2": label must be 0 or 1`},
		{"empty", writePQ(t, "e.parquet", []bare{}), "", ErrEmpty, "e.parquet: no data rows"},
		{"zero bytes", writeBytes(t, "z.parquet", nil), "", ErrEmpty, "no data rows"},
		{"not parquet", writeBytes(t, "c.parquet", []byte("a,b\n1,2\n3,4\n")), "", ErrFormat, "not a Parquet file"},
		{"truncated", truncated, "", ErrFormat, "not a Parquet file"},
		{"only label", writePQ(t, "o.parquet", []struct {
			L int64 `parquet:"label"`
		}{{1}}), "label", nil, "no feature columns"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadFile(context.Background(), tc.path, Options{Label: tc.label})
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want a *ParseError", err)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %q does not wrap %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not say %q", err, tc.msg)
			}
		})
	}
}

func writeBytes(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestOpenErrors(t *testing.T) {
	notGzip := writeBytes(t, "x.csv.gz", []byte("a\n1\n"))
	if _, err := Open(notGzip, Options{}); err == nil || !strings.Contains(err.Error(), "x.csv.gz: gzip: ") {
		t.Errorf("a .gz file that is not gzip: %v", err)
	}
	if _, err := Open("nope.parquet", Options{}); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing file: %v", err)
	}
	if _, err := Open(t.TempDir(), Options{}); !errors.Is(err, ErrFormat) {
		t.Errorf("a directory: %v", err)
	}
	// Parquet content under another name is read as Parquet.
	_, paths := wbcFiles(t)
	b, _ := os.ReadFile(paths["parquet"])
	other := writeBytes(t, "wbc.csv", b)
	tab, err := ReadFile(context.Background(), other, Options{Label: "label"})
	if err != nil || tab.X.Rows != 223 {
		t.Errorf("Parquet named .csv: %v", err)
	}
}

func TestOpenStdin(t *testing.T) {
	_, paths := wbcFiles(t)
	for name, want := range map[string]error{"gzip": nil, "parquet": ErrFormat} {
		f, err := os.Open(paths[name])
		if err != nil {
			t.Fatal(err)
		}
		saved := os.Stdin
		os.Stdin = f
		tab, err := ReadFile(context.Background(), "-", Options{Label: "label"})
		os.Stdin = saved
		f.Close()
		if !errors.Is(err, want) || (err == nil && tab.X.Rows != 223) {
			t.Errorf("%s on stdin: %v", name, err)
		}
		if err != nil && !strings.Contains(err.Error(), "stdin: ") {
			t.Errorf("%s on stdin: the error does not name stdin: %v", name, err)
		}
	}
}

func TestMatrixValidate(t *testing.T) {
	nan := []float64{1, 2, 3, 4, 5, 0}
	nan[5] = nan[5] / nan[5] // NaN without the math package
	for _, tc := range []struct {
		name string
		m    *Matrix
		is   error
		msg  string
	}{
		{"ok", &Matrix{Rows: 2, Cols: 2, Data: []float64{1, 2, 3, 4}}, nil, ""},
		{"empty", &Matrix{}, nil, ""},
		{"short", &Matrix{Rows: 2, Cols: 2, Data: []float64{1, 2, 3}}, ErrShape, "2 x 2 matrix holds 3 values"},
		{"negative", &Matrix{Rows: -1, Cols: 2}, ErrShape, "-1 x 2"},
		{"overflow", &Matrix{Rows: 1 << 62, Cols: 4}, ErrShape, "matrix holds 0 values"},
		{"nil", nil, ErrShape, "nil matrix"},
		{"NaN", &Matrix{Rows: 2, Cols: 3, Data: nan}, ErrNonFinite, `dataset: row 2, column 3: "NaN": NaN or Inf is not allowed`},
	} {
		err := tc.m.Validate()
		if tc.is == nil {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: err = %v, want %v saying %q", tc.name, err, tc.is, tc.msg)
		}
	}
}

func TestScoreWriters(t *testing.T) {
	scores := []float64{0.5, 0.25, 1e-300}
	flags := []bool{true, false, false}
	var csv bytes.Buffer
	w := NewScoreWriter(&csv, "s.csv")
	if err := w.Write(scores[:2], flags[:2]); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(scores[2:], flags[2:]); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if want := "score,is_anomaly\n0.5,1\n0.25,0\n1e-300,0\n"; csv.String() != want {
		t.Errorf("CSV %q, want %q", csv.String(), want)
	}
	var empty bytes.Buffer
	NewCSVScoreWriter(&empty).Close()
	if empty.String() != "score,is_anomaly\n" {
		t.Errorf("no rows: %q", empty.String())
	}
	var pq bytes.Buffer
	w = NewScoreWriter(&pq, "S.PARQUET")
	if err := w.Write(scores, flags); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(scores, flags[:1]); err == nil {
		t.Error("scores and flags of different lengths: no error")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	rows, err := parquet.Read[ScoreRow](bytes.NewReader(pq.Bytes()), int64(pq.Len()))
	if err != nil || len(rows) != 3 || rows[0] != (ScoreRow{0.5, true}) || rows[2] != (ScoreRow{1e-300, false}) {
		t.Errorf("Parquet rows %v: %v", rows, err)
	}
}

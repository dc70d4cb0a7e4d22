package dataset

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var updateCorpus = flag.Bool("update-corpus", false, "rewrite the seed corpora in testdata/fuzz")

// csvSeed is one input of FuzzReadCSV: the CSV text, the label column, the chunk size and
// the limits (0 = default; maxLine in bytes, maxCols in fields).
type csvSeed struct {
	name, in, label string
	chunk           int
	maxLine         uint16
	maxCols         uint8
}

// csvSeeds are hand-made cases, hostile ones among them, and the heads of real datasets in
// testdata (see TestFuzzCorpus).
func csvSeeds(t testing.TB) []csvSeed {
	seeds := []csvSeed{
		{"labelled", "a,b,label\n1,2,0\n3,4,1\n", "label", 3, 0, 0},
		{"header-only", "a\n", "", 1, 0, 0},
		{"empty", "", "", 1, 0, 0},
		{"ragged", "a,b\n1\n", "", 1, 0, 0},
		{"nan", "a,b\n1,NaN\n", "", 1, 0, 0},
		{"bom", "\ufeffa,b\n1,2\n", "", 1, 0, 0},
		{"quoted", "a,b\n\"1\",2\n", "", 1, 0, 0},
		{"semicolons", "a;b\n1;2\n", "", 1, 0, 0},
		{"extremes", "x,y\n1e308,-1e308\n1e-320,0\n-0,0x1p-3\n", "", 2, 0, 0},
		{"too-many-fields", "a,b\n1,2,3\n", "", 1, 0, 0},
		{"crlf", "a,b,label\r\n1,2,0\r\n\r\n3,4,1\r\n", "label", 1, 0, 0},
		{"no-final-newline", "a,b\n1,2\n3,4", "", 5, 0, 0},
		{"blank-lines", "a\n\n\n1\n\n2\n", "", 1, 0, 0},
		{"spaces", "a , b\n 1,\t2 \n", "", 1, 0, 0},
		{"doubled-quote", "a,\"b\"\"c\"\n1,2\n", "", 1, 0, 0},
		{"quoted-newline-name", "\"a\nb\",c\n1,2\n", "", 1, 0, 0},
		{"bare-quote", "a,b\n1,2\"\n", "", 1, 0, 0},
		{"open-quote-at-eof", "a,b\n1,\"2\n", "", 1, 0, 0},
		{"text-after-quote", "a,b\n\"1\"x,2\n", "", 1, 0, 0},
		{"bad-label", "a,label\n1,2\n", "label", 1, 0, 0},
		{"label-forms", "a,label\n1,0.0\n2,1e0\n3, 1\n", "label", 1, 0, 0},
		{"only-label", "label\n1\n", "label", 1, 0, 0},
		{"missing-label", "a,b\n1,2\n", "y", 1, 0, 0},
		{"duplicate-header", "a,a\n1,2\n", "", 1, 0, 0},
		{"empty-header-name", "a,,b\n1,2,3\n", "", 1, 0, 0},
		{"infinities", "a,b\ninf,+Inf\n", "", 1, 0, 0},
		{"overflow", "a\n1e400\n1e-400\n", "", 1, 0, 0},
		{"long-line", "a,b\n1," + strings.Repeat("9", 300) + "\n", "", 1, 64, 0},
		{"line-at-cap", "a,b\n12,45\n", "", 1, 5, 0},
		{"zeros", strings.Repeat("\x00", 2000), "", 1, 1024, 0},
		{"open-quote-lines", "a,b\n1,\"2\n3\n4\n5\n6\n", "", 1, 8, 0},
		{"wide", wideCSV(300), "", 1, 0, 100},
		{"at-column-cap", wideCSV(4), "", 1, 0, 4},
		{"binary", "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00", "", 1, 0, 0},
		{"invalid-utf8", "a,\xff\xfe\n1,2\n", "", 1, 0, 0},
	}
	for _, name := range []string{"glass", "wbc", "hepatitis", "breastw", "vertebral"} {
		seeds = append(seeds, csvSeed{"adbench-" + name, headLines(t, name+".csv", 12), "label", 4, 0, 0})
	}
	return seeds
}

// wideCSV is a header of n columns and one row.
func wideCSV(n int) string {
	var b strings.Builder
	for j := 0; j < n; j++ {
		if j > 0 {
			b.WriteByte(',')
		}
		b.WriteString("c" + strconv.Itoa(j))
	}
	b.WriteString("\n" + strings.TrimSuffix(strings.Repeat("1,", n), ",") + "\n")
	return b.String()
}

// headLines returns the first n lines of a dataset in testdata/datasets/adbench.
func headLines(t testing.TB, file string, n int) string {
	f, err := os.Open(filepath.Join("..", "testdata", "datasets", "adbench", file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b strings.Builder
	sc := bufio.NewScanner(f)
	for i := 0; i < n && sc.Scan(); i++ {
		b.WriteString(sc.Text() + "\n")
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestFuzzCorpus rewrites testdata/fuzz/FuzzReadCSV from csvSeeds when run with
// -update-corpus; go test reads the files as seeds of FuzzReadCSV.
func TestFuzzCorpus(t *testing.T) {
	if !*updateCorpus {
		t.Skip("run with -update-corpus to rewrite testdata/fuzz")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzReadCSV")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, s := range csvSeeds(t) {
		body := fmt.Sprintf("go test fuzz v1\nstring(%q)\nstring(%q)\nint(%d)\nuint16(%d)\nuint8(%d)\n",
			s.in, s.label, s.chunk, s.maxLine, s.maxCols)
		if err := os.WriteFile(filepath.Join(dir, "seed-"+s.name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzReadCSV checks that no input makes the reader panic, that every error is a *ParseError,
// that the limits hold, and that what it accepts is a well-formed, finite matrix that reads
// back the same after writing it out again.
func FuzzReadCSV(f *testing.F) {
	// The seeds are in testdata/fuzz/FuzzReadCSV (see TestFuzzCorpus).
	f.Fuzz(func(t *testing.T, in, label string, chunk int, maxLine uint16, maxCols uint8) {
		opts := CSVOptions{Label: label, ChunkRows: int(uint(chunk)%50 + 1), MaxLineBytes: int(maxLine), MaxColumns: int(maxCols)}
		cr, err := NewCSVReader(strings.NewReader(in), opts)
		if err != nil {
			checkParseError(t, err)
			return
		}
		if maxCols > 0 && len(cr.Columns()) > int(maxCols) {
			t.Fatalf("%d columns past a cap of %d", len(cr.Columns()), maxCols)
		}
		tab := &Table{X: &Matrix{Cols: len(cr.Columns())}, Columns: cr.Columns()}
		for {
			first := cr.Row() + 1
			x, err := cr.Next(context.Background())
			if err == io.EOF {
				break
			}
			if err != nil {
				checkParseError(t, err)
				return
			}
			if len(x.Data) != x.Rows*x.Cols || x.Cols != len(cr.Columns()) || x.Rows > opts.ChunkRows {
				t.Fatalf("chunk shape %dx%d with %d values", x.Rows, x.Cols, len(x.Data))
			}
			if first != tab.X.Rows+1 || cr.Row() != tab.X.Rows+x.Rows {
				t.Fatalf("chunk of rows %d-%d after %d rows", first, cr.Row(), tab.X.Rows)
			}
			labels := cr.Labels()
			if label != "" && len(labels) != x.Rows {
				t.Fatalf("%d labels for %d rows", len(labels), x.Rows)
			}
			if err := x.Validate(); err != nil {
				t.Fatalf("accepted a chunk that is not valid: %v", err)
			}
			for _, l := range labels {
				if l != 0 && l != 1 {
					t.Fatalf("accepted label %d", l)
				}
			}
			tab.X.Data = append(tab.X.Data, x.Data...)
			tab.X.Rows += x.Rows
			tab.Labels = append(tab.Labels, labels...)
		}
		if tab.X.Rows == 0 {
			t.Fatal("no rows and no error")
		}
		roundTrip(t, tab, label != "")
	})
}

func checkParseError(t *testing.T, err error) {
	t.Helper()
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v is not a *ParseError", err)
	}
	if len(pe.Value) > quoteMax+len("…") || len(pe.Column) > quoteMax+len("…") {
		t.Fatalf("error quotes %d bytes of a cell, %d of a column name", len(pe.Value), len(pe.Column))
	}
}

// roundTrip writes tab as CSV with the shortest exact formatting and reads it back.
func roundTrip(t *testing.T, tab *Table, labelled bool) {
	var b strings.Builder
	for j := 0; j < tab.X.Cols; j++ {
		fmt.Fprintf(&b, "f%d,", j)
	}
	b.WriteString("label\n")
	for i := 0; i < tab.X.Rows; i++ {
		for _, v := range tab.X.Row(i) {
			b.WriteString(strconv.FormatFloat(v, 'g', -1, 64) + ",")
		}
		l := 0
		if labelled {
			l = tab.Labels[i]
		}
		b.WriteString(strconv.Itoa(l) + "\n")
	}
	back, err := ReadCSV(strings.NewReader(b.String()), CSVOptions{Label: "label", MaxColumns: tab.X.Cols + 1, MaxLineBytes: 1 << 30})
	if err != nil {
		t.Fatalf("written table does not read back: %v", err)
	}
	if back.X.Rows != tab.X.Rows || back.X.Cols != tab.X.Cols {
		t.Fatalf("read back %dx%d, wrote %dx%d", back.X.Rows, back.X.Cols, tab.X.Rows, tab.X.Cols)
	}
	for k, v := range tab.X.Data {
		if back.X.Data[k] != v {
			t.Fatalf("value %d: wrote %v, read back %v", k, v, back.X.Data[k])
		}
	}
	for i, l := range tab.Labels {
		if back.Labels[i] != l {
			t.Fatalf("label %d: wrote %d, read back %d", i, l, back.Labels[i])
		}
	}
}

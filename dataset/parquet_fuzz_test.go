package dataset

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/snappy"
)

// parquetSeed is one input of FuzzReadParquet: the file's bytes, the label column and the
// chunk size.
type parquetSeed struct {
	name  string
	in    []byte
	label string
	chunk int
}

// parquetSeeds are small valid files (numeric, labelled, nullable, text, dictionary-encoded,
// several row groups and pages, snappy-compressed, empty), each also cut short at a few
// places, and files that are not Parquet.
func parquetSeeds(t testing.TB) []parquetSeed {
	pq := func(write func(w io.Writer) error) []byte {
		var b bytes.Buffer
		if err := write(&b); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	wbc, err := ReadCSV(bytes.NewReader([]byte(headLines(t, "wbc.csv", 12))), Options{Label: "label"})
	if err != nil {
		t.Fatal(err)
	}
	one := 1.5
	valid := []parquetSeed{
		{"wbc", pq(func(w io.Writer) error { return WriteParquet(w, wbc, "label", 0) }), "label", 4},
		{"wbc-groups-pages", pq(func(w io.Writer) error {
			return writeParquet(w, wbc, "label", parquet.MaxRowsPerRowGroup(3), parquet.PageBufferSize(32))
		}), "label", 5},
		{"wbc-snappy", pq(func(w io.Writer) error {
			return writeParquet(w, wbc, "label", parquet.Compression(&snappy.Codec{}))
		}), "", 3},
		{"types", pq(writeRows([]struct {
			I32 int32   `parquet:"i32"`
			U64 uint64  `parquet:"u64"`
			F32 float32 `parquet:"f32,dict"`
			B   bool    `parquet:"y"`
		}{{1, 2, 3, true}, {-4, 5, 6, false}})), "y", 1},
		{"nullable", pq(writeRows([]struct {
			A *float64 `parquet:"a,optional"`
		}{{&one}, {nil}})), "", 2},
		{"text", pq(writeRows([]struct {
			A float64 `parquet:"a"`
			S string  `parquet:"s"`
		}{{1, "x"}})), "", 1},
		{"empty", pq(writeRows([]struct {
			A float64 `parquet:"a"`
		}{})), "", 1},
	}
	seeds := append([]parquetSeed{}, valid...)
	for _, s := range valid {
		for _, cut := range []int{len(s.in) / 3, len(s.in) / 2, len(s.in) - 9, len(s.in) - 1} {
			if cut > 0 {
				seeds = append(seeds, parquetSeed{fmt.Sprintf("%s-cut-%d", s.name, cut), s.in[:cut], s.label, s.chunk})
			}
		}
	}
	return append(seeds,
		parquetSeed{"csv", []byte("a,b\n1,2\n"), "", 1},
		parquetSeed{"magic-only", []byte("PAR1\x00\x00\x00\x00PAR1"), "", 1},
		parquetSeed{"huge-footer", []byte("PAR1\x00\x00\x00\x00\xff\xff\xff\x7fPAR1"), "", 1},
	)
}

// writeRows writes rows of a struct type as Parquet.
func writeRows[T any](rows []T) func(io.Writer) error {
	return func(w io.Writer) error { return parquet.Write(w, rows) }
}

// TestFuzzParquetCorpus rewrites testdata/fuzz/FuzzReadParquet from parquetSeeds when run
// with -update-corpus; go test reads the files as seeds of FuzzReadParquet.
func TestFuzzParquetCorpus(t *testing.T) {
	if !*updateCorpus {
		t.Skip("run with -update-corpus to rewrite testdata/fuzz")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzReadParquet")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, s := range parquetSeeds(t) {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\nstring(%q)\nint(%d)\n", s.in, s.label, s.chunk)
		if err := os.WriteFile(filepath.Join(dir, "seed-"+s.name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzReadParquet checks that no bytes make the Parquet reader panic or allocate without
// bound, that every error is a *ParseError, and that what it accepts is a well-formed,
// finite table with 0/1 labels.
func FuzzReadParquet(f *testing.F) {
	// The seeds are in testdata/fuzz/FuzzReadParquet (see TestFuzzParquetCorpus).
	f.Fuzz(func(t *testing.T, in []byte, label string, chunk int) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		opts := Options{Label: label, ChunkRows: int(uint(chunk)%50 + 1), MaxColumns: 64}
		tab, err := readParquetBytes(in, opts)
		runtime.ReadMemStats(&after)
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20+100*uint64(len(in)) {
			t.Fatalf("allocated %d MiB reading %d bytes", alloc>>20, len(in))
		}
		if err != nil {
			checkParseError(t, err)
			return
		}
		if tab.X.Rows == 0 {
			t.Fatal("no rows and no error")
		}
		if err := tab.X.Validate(); err != nil {
			t.Fatalf("accepted a table that is not valid: %v", err)
		}
		if tab.X.Cols != len(tab.Columns) || (label != "" && len(tab.Labels) != tab.X.Rows) {
			t.Fatalf("%d x %d table, %d names, %d labels", tab.X.Rows, tab.X.Cols, len(tab.Columns), len(tab.Labels))
		}
		for _, l := range tab.Labels {
			if l != 0 && l != 1 {
				t.Fatalf("accepted label %d", l)
			}
		}
	})
}

// readParquetBytes reads a whole Parquet file held in memory, checking each chunk's shape.
func readParquetBytes(in []byte, opts Options) (*Table, error) {
	pr, err := NewParquetReader(bytes.NewReader(in), int64(len(in)), opts)
	if err != nil {
		return nil, err
	}
	tab := &Table{X: &Matrix{Cols: len(pr.Columns())}, Columns: pr.Columns()}
	for {
		x, err := pr.Next(context.Background())
		if err == io.EOF {
			return tab, nil
		}
		if err != nil {
			return nil, err
		}
		if x.Rows > opts.ChunkRows || x.Cols != tab.X.Cols {
			return nil, fmt.Errorf("a %d x %d chunk", x.Rows, x.Cols)
		}
		tab.X.Data = append(tab.X.Data, x.Data...)
		tab.X.Rows += x.Rows
		tab.Labels = append(tab.Labels, pr.Labels()...)
	}
}

package dataset

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Source is a table read in chunks of rows, so that memory is bounded by the chunk, not the
// file. CSVReader and ParquetReader implement it; Open picks one for a file.
type Source interface {
	// Columns returns the names of the feature columns, in order.
	Columns() []string
	// Next returns the next chunk of rows, or io.EOF after the last one. The matrix and the
	// slice Labels returns are reused: they are valid until the next call to Next. An input
	// with no data rows at all is an error wrapping ErrEmpty at the first call.
	Next(ctx context.Context) (*Matrix, error)
	// Labels returns the labels (0/1) of the rows of the last chunk, or nil when no label
	// column was asked for.
	Labels() []int
}

// SourceCloser is a Source that holds a file open until Close.
type SourceCloser interface {
	Source
	io.Closer
}

// Sized is implemented by sources that know, or can estimate, how many data rows they hold:
// a Parquet file says so in its footer; a CSV file read from disk is estimated from the bytes
// read so far. TotalRows returns 0 when it cannot tell. It is for progress reports, never
// for correctness. Like Next, it is called by one goroutine at a time: the one reading.
type Sized interface {
	TotalRows() int64
}

// Options control how a table is read. The zero value reads a CSV or Parquet file with no
// label column, DefaultChunkRows rows per chunk and the default limits.
type Options struct {
	// Label names a 0/1 column (1 = anomaly) that is kept out of the features. Empty: none.
	Label string
	// ChunkRows is the number of rows per chunk; zero means DefaultChunkRows.
	ChunkRows int
	// Name is used in error messages (usually the file name). Optional.
	Name string
	// MaxColumns caps the columns of the table (for CSV, the fields of one record, the
	// header included); zero means DefaultMaxColumns. A wider table is a *ParseError
	// wrapping ErrTooManyColumns.
	MaxColumns int

	// Comma is the field delimiter of CSV input; zero means ','.
	Comma rune
	// MaxLineBytes caps the bytes of one CSV record: its line, or its lines when a quoted
	// field holds newlines (line endings not counted). Zero means DefaultMaxLineBytes. A
	// longer record is a *ParseError wrapping ErrLineTooLong, met before much more than the
	// cap is read into memory.
	MaxLineBytes int
}

// CSVOptions is the former name of Options, kept for callers that read CSV only.
type CSVOptions = Options

// ErrFormat is returned by Open for a file that is not in the format its name or its first
// bytes say, or in no format it reads.
var ErrFormat = errors.New("unsupported file format")

var (
	gzipMagic    = []byte{0x1f, 0x8b}
	parquetMagic = []byte("PAR1")
)

// Open opens a table for streaming, choosing the reader by the name: Parquet for .parquet
// (or any file that starts and ends with Parquet's magic bytes), CSV otherwise, gunzipped
// when the name ends in .gz or the content starts with gzip's magic bytes; "-" reads CSV
// (plain or gzip) from standard input. opts.Name defaults to path ("stdin" for "-"). The
// caller closes the returned source.
func Open(path string, opts Options) (SourceCloser, error) {
	if path == "-" {
		if opts.Name == "" {
			opts.Name = "stdin"
		}
		return openStream(os.Stdin, nopCloser{}, false, opts)
	}
	if opts.Name == "" {
		opts.Name = path
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("dataset: %w", err)
	}
	if fi.IsDir() {
		f.Close()
		return nil, &ParseError{File: opts.Name, Err: fmt.Errorf("%w: a directory, not a file", ErrFormat)}
	}
	ext := strings.ToLower(filepath.Ext(path))
	if ext == ".parquet" || ext == ".pq" || (fi.Mode().IsRegular() && hasParquetMagic(f, fi.Size())) {
		pr, err := NewParquetReader(f, fi.Size(), opts)
		if err != nil {
			f.Close()
			return nil, err
		}
		return &fileSource{Source: pr, f: f}, nil
	}
	s, err := openStream(f, f, ext == ".gz", opts)
	if err != nil {
		f.Close()
		return nil, err
	}
	if fi.Mode().IsRegular() {
		s.size = fi.Size()
	}
	return s, nil
}

// hasParquetMagic reports whether the file starts and ends with "PAR1".
func hasParquetMagic(f *os.File, size int64) bool {
	if size < 12 {
		return false
	}
	var head, tail [4]byte
	if _, err := f.ReadAt(head[:], 0); err != nil {
		return false
	}
	if _, err := f.ReadAt(tail[:], size-4); err != nil {
		return false
	}
	return bytes.Equal(head[:], parquetMagic) && bytes.Equal(tail[:], parquetMagic)
}

// openStream reads CSV from r, gunzipped if gz is set or r starts with gzip's magic bytes.
func openStream(r io.Reader, c io.Closer, gz bool, opts Options) (*csvSource, error) {
	cr := &countingReader{r: r}
	br := bufio.NewReaderSize(cr, 1<<16)
	head, _ := br.Peek(4)
	var in io.Reader = br
	if gz || bytes.HasPrefix(head, gzipMagic) {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, &ParseError{File: opts.Name, Err: fmt.Errorf("gzip: %w", err)}
		}
		in = gz
	} else if bytes.Equal(head, parquetMagic) && opts.Name == "stdin" {
		return nil, &ParseError{File: opts.Name, Err: fmt.Errorf("%w: Parquet cannot be read from standard input (it is read from its end); give the file's name", ErrFormat)}
	}
	csv, err := NewCSVReader(in, opts)
	if err != nil {
		return nil, err
	}
	return &csvSource{CSVReader: csv, c: c, count: cr}, nil
}

// csvSource is a CSVReader over a file it closes, estimating its rows from the bytes read.
type csvSource struct {
	*CSVReader
	c     io.Closer
	count *countingReader
	size  int64 // of the file, 0 when unknown (a pipe)
}

func (s *csvSource) Close() error { return s.c.Close() }

// TotalRows implements Sized: the rows read so far scaled by the share of the file read
// (compressed bytes for a gzip file), 0 before the first chunk or when the size is unknown.
func (s *csvSource) TotalRows() int64 {
	read := s.count.n
	if s.size <= 0 || read <= 0 || s.row == 0 {
		return 0
	}
	if s.done {
		return int64(s.row)
	}
	return int64(float64(s.row) * float64(s.size) / float64(read))
}

// countingReader counts the bytes read through it (by one goroutine at a time, as a Source).
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

type fileSource struct {
	Source
	f *os.File
}

func (s *fileSource) Close() error { return s.f.Close() }

// TotalRows implements Sized when the underlying source does.
func (s *fileSource) TotalRows() int64 {
	if z, ok := s.Source.(Sized); ok {
		return z.TotalRows()
	}
	return 0
}

type nopCloser struct{}

func (nopCloser) Close() error { return nil }

// ReadAll reads the remaining rows of src into one Table.
func ReadAll(ctx context.Context, src Source) (*Table, error) {
	t := &Table{X: &Matrix{Cols: len(src.Columns())}, Columns: src.Columns()}
	for {
		m, err := src.Next(ctx)
		if err == io.EOF {
			return t, nil
		}
		if err != nil {
			return nil, err
		}
		t.X.Data = append(t.X.Data, m.Data...)
		t.X.Rows += m.Rows
		if l := src.Labels(); l != nil {
			t.Labels = append(t.Labels, l...)
		}
	}
}

// ReadFile reads a whole table (see Open) into memory.
func ReadFile(ctx context.Context, path string, opts Options) (*Table, error) {
	src, err := Open(path, opts)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	return ReadAll(ctx, src)
}

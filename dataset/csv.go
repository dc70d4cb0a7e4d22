package dataset

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// DefaultChunkRows is the number of rows a CSVReader returns per chunk when none is set.
const DefaultChunkRows = 8192

// Input limits of a CSVReader when CSVOptions sets none. A CSV file of numbers has lines of a
// few kilobytes; these only stop input that is not CSV (a binary file, /dev/zero) from filling
// memory.
const (
	DefaultMaxLineBytes = 1 << 20 // 1 MiB per record
	DefaultMaxColumns   = 100_000 // fields per record
)

// Errors for input past a CSVReader's limits (see CSVOptions).
var (
	ErrLineTooLong    = errors.New("line too long")
	ErrTooManyColumns = errors.New("too many columns")
)

// quoteMax is the most of a cell or column name an error quotes; longer ones are cut with "…".
const quoteMax = 64

// maxPrealloc bounds the values (and labels) a chunk reserves before its rows are read, so a
// wide header or a large ChunkRows costs memory only as rows arrive.
const maxPrealloc = 1 << 20

// CSVReader streams a CSV file with a header row in chunks of rows, so memory is bounded by the
// chunk size rather than the file size. It is a Source.
type CSVReader struct {
	r        *recordReader
	opts     Options
	header   []string
	features []string
	labelCol int // index in the record, or -1
	row      int // data rows read so far
	done     bool
	x        Matrix // the chunk, reused
	labels   []int  // its labels, reused; nil without a label column
}

// NewCSVReader reads the header from r. It fails if the input is empty, the header has
// duplicate or empty names, or the label column is missing.
func NewCSVReader(r io.Reader, opts Options) (*CSVReader, error) {
	if opts.ChunkRows <= 0 {
		opts.ChunkRows = DefaultChunkRows
	}
	comma := byte(',')
	if opts.Comma != 0 {
		if opts.Comma >= utf8.RuneSelf || opts.Comma == '"' || opts.Comma == '\n' || opts.Comma == '\r' {
			return nil, &ParseError{File: opts.Name, Err: fmt.Errorf("delimiter %q is not supported", opts.Comma)}
		}
		comma = byte(opts.Comma)
	}
	if opts.MaxLineBytes < 0 || opts.MaxColumns < 0 {
		return nil, &ParseError{File: opts.Name, Err: fmt.Errorf("limits %d bytes per line, %d columns: must not be negative (0 = default)",
			opts.MaxLineBytes, opts.MaxColumns)}
	}
	if opts.MaxLineBytes == 0 {
		opts.MaxLineBytes = DefaultMaxLineBytes
	}
	if opts.MaxColumns == 0 {
		opts.MaxColumns = DefaultMaxColumns
	}
	rr := newRecordReader(r, comma)
	rr.maxBytes, rr.maxFields = opts.MaxLineBytes, opts.MaxColumns
	c := &CSVReader{r: rr, opts: opts, labelCol: -1}
	rec, err := c.r.Read()
	if err == io.EOF {
		return nil, c.errorf(0, "", "", ErrEmpty)
	}
	if err != nil {
		return nil, c.csvErr(err)
	}
	c.header = make([]string, len(rec))
	seen := make(map[string]bool, len(rec))
	for j, field := range rec {
		name := strings.TrimSpace(strings.TrimPrefix(string(field), "\ufeff"))
		if name == "" {
			return nil, c.errorf(0, "", "", fmt.Errorf("header column %d has no name", j+1))
		}
		if seen[name] {
			return nil, c.errorf(0, name, "", errors.New("duplicate column name in header"))
		}
		seen[name] = true
		c.header[j] = name
		if name == opts.Label {
			c.labelCol = j
		} else {
			c.features = append(c.features, name)
		}
	}
	if opts.Label != "" && c.labelCol < 0 {
		return nil, c.errorf(0, opts.Label, "", fmt.Errorf("%w: label column not in header %s", ErrNoColumn, quoteNames(c.header)))
	}
	if len(c.features) == 0 {
		return nil, c.errorf(0, "", "", errors.New("no feature columns"))
	}
	return c, nil
}

// Columns returns the names of the feature columns, in order.
func (c *CSVReader) Columns() []string { return c.features }

// Labels returns the labels of the rows of the last chunk, or nil without a label column.
func (c *CSVReader) Labels() []int { return c.labels }

// Row returns the number of data rows read so far: the last chunk's last row, 1-based.
func (c *CSVReader) Row() int { return c.row }

// Next returns the next chunk of rows, or io.EOF when no rows remain; the matrix is reused
// (see Source). The first call returns an error wrapping ErrEmpty if the file has a header
// but no rows. ctx is checked once a chunk.
func (c *CSVReader) Next(ctx context.Context) (*Matrix, error) {
	if c.done {
		return nil, io.EOF
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	d := len(c.features)
	x := &c.x
	if x.Data == nil {
		x.Cols = d
		x.Data = make([]float64, 0, min(c.opts.ChunkRows, maxPrealloc/d)*d)
		if c.labelCol >= 0 {
			c.labels = make([]int, 0, min(c.opts.ChunkRows, maxPrealloc))
		}
	}
	x.Rows, x.Data = 0, x.Data[:0]
	if c.labels != nil {
		c.labels = c.labels[:0]
	}
	for x.Rows < c.opts.ChunkRows {
		rec, err := c.r.Read()
		if err == io.EOF {
			c.done = true
			break
		}
		if err != nil {
			return nil, c.csvErr(err)
		}
		c.row++
		if len(rec) != len(c.header) {
			return nil, c.errorf(c.row, "", "", fmt.Errorf("%w: %d fields, header has %d", ErrRagged, len(rec), len(c.header)))
		}
		for j, cell := range rec {
			v, err := c.parse(cell, j)
			if err != nil {
				return nil, err
			}
			if j == c.labelCol {
				if v != 0 && v != 1 {
					return nil, c.errorf(c.row, c.header[j], string(cell), errors.New("label must be 0 or 1"))
				}
				c.labels = append(c.labels, int(v))
				continue
			}
			x.Data = append(x.Data, v)
		}
		x.Rows++
	}
	if x.Rows == 0 {
		if c.row == 0 {
			return nil, c.errorf(0, "", "", ErrEmpty)
		}
		return nil, io.EOF
	}
	return x, nil
}

func (c *CSVReader) parse(field []byte, j int) (float64, error) {
	// The string shares field's bytes and does not outlive this call (error paths copy it).
	s := unsafe.String(unsafe.SliceData(field), len(field))
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		if t := strings.TrimSpace(s); t != s {
			if v, err = strconv.ParseFloat(t, 64); err == nil {
				return c.finite(v, field, j)
			}
		}
		cell := string(field)
		var ne *strconv.NumError
		if errors.As(err, &ne) && ne.Err == strconv.ErrRange {
			return 0, c.errorf(c.row, c.header[j], cell, ErrNonFinite)
		}
		return 0, c.errorf(c.row, c.header[j], cell, ErrNotNumeric)
	}
	return c.finite(v, field, j)
}

func (c *CSVReader) finite(v float64, field []byte, j int) (float64, error) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, c.errorf(c.row, c.header[j], string(field), ErrNonFinite)
	}
	return v, nil
}

// errorf builds a ParseError, cutting the cell and column name it quotes to quoteMax bytes:
// a cell of a line without delimiters can be a megabyte.
func (c *CSVReader) errorf(row int, col, val string, err error) error {
	return &ParseError{File: c.opts.Name, Row: row, Column: clip(col), Value: clip(val), Err: err}
}

// csvErr reports an error of the record reader at the row being read (0 for the header).
func (c *CSVReader) csvErr(err error) error {
	row := c.row + 1
	if c.header == nil {
		row = 0
	}
	if errors.Is(err, errQuote) {
		err = fmt.Errorf("malformed CSV: %w", err)
	}
	return &ParseError{File: c.opts.Name, Row: row, Err: err}
}

// clip cuts s to at most quoteMax bytes, on a rune boundary, marking the cut with "…".
func clip(s string) string {
	if len(s) <= quoteMax {
		return s
	}
	n := quoteMax
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// quoteNames lists column names for an error: the first few, each clipped, then how many more.
func quoteNames(names []string) string {
	const most = 20
	var b strings.Builder
	b.WriteByte('[')
	for i, n := range names[:min(len(names), most)] {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(clip(n))
	}
	if len(names) > most {
		fmt.Fprintf(&b, " … %d more", len(names)-most)
	}
	b.WriteByte(']')
	return b.String()
}

// byteSize writes n bytes for a message: in MiB or KiB when it is a whole number of them.
func byteSize(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.Itoa(n>>20) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.Itoa(n>>10) + " KiB"
	}
	return strconv.Itoa(n) + " bytes"
}

// Table is a whole labelled or unlabelled dataset in memory.
type Table struct {
	X       *Matrix
	Labels  []int // nil without a label column
	Columns []string
}

// ReadCSV reads all rows of a CSV stream into memory.
func ReadCSV(r io.Reader, opts Options) (*Table, error) {
	cr, err := NewCSVReader(r, opts)
	if err != nil {
		return nil, err
	}
	return ReadAll(context.Background(), cr)
}

// OpenCSV opens a CSV file (gzip-compressed when its name ends in .gz or its content starts
// with gzip's magic bytes) for streaming. The caller closes the returned closer. Open reads
// Parquet files too.
func OpenCSV(path string, opts Options) (*CSVReader, io.Closer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("dataset: %w", err)
	}
	if opts.Name == "" {
		opts.Name = path
	}
	s, err := openStream(f, f, strings.HasSuffix(path, ".gz"), opts)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return s.CSVReader, f, nil
}

// ReadCSVFile reads a whole file into memory. It is ReadFile, which reads Parquet too.
func ReadCSVFile(path string, opts Options) (*Table, error) {
	return ReadFile(context.Background(), path, opts)
}

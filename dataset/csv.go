package dataset

import (
	"compress/gzip"
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

// CSVOptions control how CSV data is read.
type CSVOptions struct {
	// Label names a 0/1 column (1 = anomaly) that is kept out of the features. Empty: none.
	Label string
	// Comma is the field delimiter; zero means ','.
	Comma rune
	// ChunkRows is the number of rows per chunk; zero means DefaultChunkRows.
	ChunkRows int
	// Name is used in error messages (usually the file name). Optional.
	Name string
}

// Chunk is a block of consecutive rows from a CSV stream.
type Chunk struct {
	X        *Matrix
	Labels   []int // nil when no label column was asked for
	FirstRow int   // 1-based data row number of X's first row
}

// CSVReader streams a CSV file with a header row in chunks of rows, so memory is bounded by the
// chunk size rather than the file size.
type CSVReader struct {
	r        *recordReader
	opts     CSVOptions
	header   []string
	features []string
	labelCol int // index in the record, or -1
	row      int // data rows read so far
	done     bool
}

// NewCSVReader reads the header from r. It fails if the input is empty, the header has
// duplicate or empty names, or the label column is missing.
func NewCSVReader(r io.Reader, opts CSVOptions) (*CSVReader, error) {
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
	c := &CSVReader{r: newRecordReader(r, comma), opts: opts, labelCol: -1}
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
		return nil, c.errorf(0, opts.Label, "", fmt.Errorf("%w: label column not in header %v", ErrNoColumn, c.header))
	}
	if len(c.features) == 0 {
		return nil, c.errorf(0, "", "", errors.New("no feature columns"))
	}
	return c, nil
}

// Columns returns the names of the feature columns, in order.
func (c *CSVReader) Columns() []string { return c.features }

// Next returns the next chunk of rows, or io.EOF when no rows remain. The first call returns
// an error wrapping ErrEmpty if the file has a header but no rows.
func (c *CSVReader) Next() (*Chunk, error) {
	if c.done {
		return nil, io.EOF
	}
	d := len(c.features)
	ch := &Chunk{X: &Matrix{Cols: d, Data: make([]float64, 0, c.opts.ChunkRows*d)}, FirstRow: c.row + 1}
	if c.labelCol >= 0 {
		ch.Labels = make([]int, 0, c.opts.ChunkRows)
	}
	for ch.X.Rows < c.opts.ChunkRows {
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
				ch.Labels = append(ch.Labels, int(v))
				continue
			}
			ch.X.Data = append(ch.X.Data, v)
		}
		ch.X.Rows++
	}
	if ch.X.Rows == 0 {
		if c.row == 0 {
			return nil, c.errorf(0, "", "", ErrEmpty)
		}
		return nil, io.EOF
	}
	return ch, nil
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

func (c *CSVReader) errorf(row int, col, val string, err error) error {
	if len(val) > 40 {
		val = val[:40] + "..."
	}
	return &ParseError{File: c.opts.Name, Row: row, Column: col, Value: val, Err: err}
}

func (c *CSVReader) csvErr(err error) error {
	if errors.Is(err, errQuote) {
		return &ParseError{File: c.opts.Name, Row: c.row + 1, Err: fmt.Errorf("malformed CSV: %w", err)}
	}
	return &ParseError{File: c.opts.Name, Row: c.row + 1, Err: err}
}

// Table is a whole labelled or unlabelled dataset in memory.
type Table struct {
	X       *Matrix
	Labels  []int // nil without a label column
	Columns []string
}

// ReadCSV reads all rows of a CSV stream into memory.
func ReadCSV(r io.Reader, opts CSVOptions) (*Table, error) {
	cr, err := NewCSVReader(r, opts)
	if err != nil {
		return nil, err
	}
	return cr.ReadAll()
}

// ReadAll reads the remaining rows into one Table.
func (c *CSVReader) ReadAll() (*Table, error) {
	t := &Table{X: &Matrix{Cols: len(c.features)}, Columns: c.features}
	for {
		ch, err := c.Next()
		if err == io.EOF {
			return t, nil
		}
		if err != nil {
			return nil, err
		}
		t.X.Data = append(t.X.Data, ch.X.Data...)
		t.X.Rows += ch.X.Rows
		if ch.Labels != nil {
			t.Labels = append(t.Labels, ch.Labels...)
		}
	}
}

// OpenCSV opens a CSV file (gzip-compressed when its name ends in .gz) for streaming.
// The caller closes the returned closer.
func OpenCSV(path string, opts CSVOptions) (*CSVReader, io.Closer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("dataset: %w", err)
	}
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		gz, err := gzip.NewReader(f)
		if err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("dataset: %s: %w", path, err)
		}
		r = gz
	}
	if opts.Name == "" {
		opts.Name = path
	}
	cr, err := NewCSVReader(r, opts)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return cr, f, nil
}

// ReadCSVFile reads a whole CSV file (see OpenCSV) into memory.
func ReadCSVFile(path string, opts CSVOptions) (*Table, error) {
	cr, closer, err := OpenCSV(path, opts)
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	return cr.ReadAll()
}

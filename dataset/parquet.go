package dataset

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// ErrNull is the error for a missing value (a Parquet null) where a number is needed.
var ErrNull = errors.New("null value")

// errCorrupt wraps what the Parquet library says of a file it cannot decode.
var errCorrupt = errors.New("corrupt or unsupported Parquet file")

// maxFooterBytes bounds the Parquet footer (the schema and the row groups' metadata) read
// into memory; a footer claiming more is refused before it is allocated.
const maxFooterBytes = 64 << 20

// ParquetReader streams the numeric columns of a Parquet file in chunks of rows, one page
// per column in memory at a time, so memory is bounded by the chunk and the file's page size,
// not the file. Float (FLOAT, DOUBLE) and integer (INT32, INT64, DECIMAL scaled) columns are
// read as float64; any other column is an error naming it; a null is an error naming its
// row and column. It is a Source.
type ParquetReader struct {
	f        *parquet.File
	opts     Options
	cols     []*pqColumn // the features, in schema order
	label    *pqColumn   // nil without a label column
	features []string
	groups   []parquet.RowGroup
	group    int   // index of the row group being read; end when done
	end      int   // the row groups read are those before end (len(groups) unless SelectGroups)
	rows     int64 // the rows of the row groups read
	left     int64 // rows of that group not yet read
	row      int   // data rows read so far
	x        Matrix
	labels   []int
	vals     []parquet.Value
}

// pqColumn is the reading state of one leaf column: its pages in the current row group.
type pqColumn struct {
	name   string
	index  int // leaf index in a row group
	conv   func(parquet.Value) float64
	pages  parquet.Pages
	page   parquet.Page
	values parquet.ValueReader
	buf    []float64 // the column's values of the chunk
}

// NewParquetReader reads the footer of the Parquet file in r (of size bytes) and checks its
// schema: the feature columns and the label column must be flat numeric columns. It fails if
// the file is not Parquet, a column is not numeric, or the label column is missing.
func NewParquetReader(r io.ReaderAt, size int64, opts Options) (_ *ParquetReader, err error) {
	if opts.ChunkRows <= 0 {
		opts.ChunkRows = DefaultChunkRows
	}
	if opts.MaxColumns < 0 {
		return nil, &ParseError{File: opts.Name, Err: fmt.Errorf("limit of %d columns: must not be negative (0 = default)", opts.MaxColumns)}
	}
	if opts.MaxColumns == 0 {
		opts.MaxColumns = DefaultMaxColumns
	}
	p := &ParquetReader{opts: opts}
	if size == 0 {
		return nil, p.errorf(0, "", ErrEmpty)
	}
	if err := checkFooter(r, size); err != nil {
		return nil, p.errorf(0, "", err)
	}
	defer p.recoverTo(&err)
	f, err := parquet.OpenFile(r, size, &parquet.FileConfig{SkipPageIndex: true, SkipBloomFilters: true})
	if err != nil {
		return nil, p.errorf(0, "", fmt.Errorf("%w: %w", errCorrupt, err))
	}
	p.f = f
	var leaves []*parquet.Column
	var walk func(c *parquet.Column) error
	walk = func(c *parquet.Column) error {
		for _, ch := range c.Columns() {
			if len(leaves) >= opts.MaxColumns {
				return fmt.Errorf("%w: more than %d columns", ErrTooManyColumns, opts.MaxColumns)
			}
			if ch.Leaf() {
				leaves = append(leaves, ch)
			} else if err := walk(ch); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(f.Root()); err != nil {
		return nil, p.errorf(0, "", err)
	}
	seen := make(map[string]bool, len(leaves))
	for _, leaf := range leaves {
		name := strings.Join(leaf.Path(), ".")
		if seen[name] {
			return nil, p.errorf(0, name, errors.New("duplicate column name"))
		}
		seen[name] = true
		if leaf.Index() < 0 || leaf.Index() != len(seen)-1 {
			return nil, p.errorf(0, name, fmt.Errorf("%w: column index %d out of order", errCorrupt, leaf.Index()))
		}
		c := &pqColumn{name: name, index: leaf.Index()}
		if leaf.MaxRepetitionLevel() > 0 {
			return nil, p.errorf(0, name, fmt.Errorf("%w: a repeated (list) column, not one number a row", ErrNotNumeric))
		}
		if c.conv, err = converter(leaf.Type()); err != nil {
			return nil, p.errorf(0, name, err)
		}
		if name == opts.Label {
			p.label = c
		} else {
			p.cols = append(p.cols, c)
			p.features = append(p.features, name)
		}
	}
	if opts.Label != "" && p.label == nil {
		names := make([]string, len(leaves))
		for i, l := range leaves {
			names[i] = strings.Join(l.Path(), ".")
		}
		return nil, p.errorf(0, opts.Label, fmt.Errorf("%w: label column not in schema %s", ErrNoColumn, quoteNames(names)))
	}
	if len(p.cols) == 0 {
		return nil, p.errorf(0, "", errors.New("no feature columns"))
	}
	p.groups = f.RowGroups()
	for i, g := range p.groups {
		if g.NumRows() < 0 || len(g.ColumnChunks()) != len(leaves) {
			return nil, &ParseError{File: opts.Name, RowGroup: i + 1, Err: fmt.Errorf("%w: %d rows, %d column chunks for %d columns",
				errCorrupt, g.NumRows(), len(g.ColumnChunks()), len(leaves))}
		}
	}
	p.group, p.end, p.rows = -1, len(p.groups), max(f.NumRows(), 0)
	return p, nil
}

// RowGroups returns the number of rows of each row group of the file, in order.
func (p *ParquetReader) RowGroups() []int64 {
	n := make([]int64, len(p.groups))
	for i, g := range p.groups {
		n[i] = g.NumRows()
	}
	return n
}

// SelectGroups makes the reader read only row groups from to to-1 (counted from 0), as one
// partition of the file; rows are then numbered from the first of them. Call it before the
// first Next.
func (p *ParquetReader) SelectGroups(from, to int) error {
	if p.group != -1 {
		return errors.New("parquet: SelectGroups after reading began")
	}
	if from < 0 || to > len(p.groups) || from >= to {
		return &ParseError{File: p.opts.Name, Err: fmt.Errorf("row groups %d-%d: the file has %d", from+1, to, len(p.groups))}
	}
	p.group, p.end, p.rows = from-1, to, 0
	for _, g := range p.groups[from:to] {
		p.rows += g.NumRows()
	}
	return nil
}

// checkFooter checks the magic bytes and that the footer's length fits the file, before the
// Parquet library allocates a buffer of that length.
func checkFooter(r io.ReaderAt, size int64) error {
	if size < 12 {
		return fmt.Errorf("%w: not a Parquet file (%d bytes is too short for one)", ErrFormat, size)
	}
	var head, tail [8]byte
	if _, err := r.ReadAt(head[:4], 0); err != nil {
		return err
	}
	if _, err := r.ReadAt(tail[:], size-8); err != nil {
		return err
	}
	if string(head[:4]) != "PAR1" || string(tail[4:]) != "PAR1" {
		return fmt.Errorf("%w: not a Parquet file (no PAR1 magic bytes; an encrypted file is not read)", ErrFormat)
	}
	n := int64(binary.LittleEndian.Uint32(tail[:4]))
	if n+12 > size || n > maxFooterBytes {
		return fmt.Errorf("%w: footer of %d bytes in a file of %d", errCorrupt, n, size)
	}
	return nil
}

// converter returns how a column's values become float64, or an error wrapping
// ErrNotNumeric for a column that does not hold numbers.
func converter(t parquet.Type) (func(parquet.Value) float64, error) {
	lt := t.LogicalType()
	scale := 1.0
	unsigned := false
	if lt != nil {
		switch v := lt.Value.(type) {
		case *format.DecimalType:
			if t.Kind() != parquet.Int32 && t.Kind() != parquet.Int64 {
				return nil, fmt.Errorf("%w: DECIMAL stored as %s (only INT32 and INT64 decimals are read)", ErrNotNumeric, t.Kind())
			}
			scale = math.Pow10(-int(v.Scale))
		case *format.IntType:
			unsigned = !v.IsSigned
		case *format.StringType, *format.EnumType, *format.JsonType, *format.BsonType, *format.UUIDType:
			return nil, fmt.Errorf("%w: a %s column (only float, integer and boolean columns are read)", ErrNotNumeric, lt)
		}
	}
	switch t.Kind() {
	case parquet.Double:
		return parquet.Value.Double, nil
	case parquet.Float:
		return func(v parquet.Value) float64 { return float64(v.Float()) }, nil
	case parquet.Int32:
		if unsigned {
			return func(v parquet.Value) float64 { return float64(v.Uint32()) }, nil
		}
		return func(v parquet.Value) float64 { return float64(v.Int32()) * scale }, nil
	case parquet.Int64:
		if unsigned {
			return func(v parquet.Value) float64 { return float64(v.Uint64()) }, nil
		}
		return func(v parquet.Value) float64 { return float64(v.Int64()) * scale }, nil
	case parquet.Boolean:
		return func(v parquet.Value) float64 {
			if v.Boolean() {
				return 1
			}
			return 0
		}, nil
	}
	what := t.Kind().String()
	if t.Kind() == parquet.ByteArray {
		what = "BYTE_ARRAY (text)"
	}
	return nil, fmt.Errorf("%w: a %s column (only float, integer and boolean columns are read)", ErrNotNumeric, what)
}

// Columns returns the names of the feature columns, in order (nested names joined by dots).
func (p *ParquetReader) Columns() []string { return p.features }

// Labels returns the labels of the rows of the last chunk, or nil without a label column.
func (p *ParquetReader) Labels() []int { return p.labels }

// TotalRows implements Sized: the row count of the footer, or of the row groups SelectGroups
// chose.
func (p *ParquetReader) TotalRows() int64 { return p.rows }

// Next returns the next chunk of rows, or io.EOF when no rows remain; the matrix is reused
// (see Source). A chunk may span row groups. The first call returns an error wrapping
// ErrEmpty if the file has no rows.
func (p *ParquetReader) Next(ctx context.Context) (_ *Matrix, err error) {
	if p.group >= p.end {
		return nil, io.EOF
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	defer p.recoverTo(&err)
	d := len(p.cols)
	x := &p.x
	want := p.opts.ChunkRows
	if t := p.TotalRows(); t > 0 && int64(want) > t {
		want = int(t)
	}
	want = min(want, maxPrealloc/d)
	if x.Data == nil {
		x.Cols = d
		x.Data = make([]float64, 0, want*d)
	}
	x.Rows, x.Data = 0, x.Data[:0]
	if p.label != nil {
		p.labels = p.labels[:0]
	}
	for x.Rows < p.opts.ChunkRows {
		if p.left == 0 {
			if err := p.nextGroup(); err == io.EOF {
				break
			} else if err != nil {
				return nil, err
			}
			continue
		}
		n := int(min(int64(p.opts.ChunkRows-x.Rows), p.left, 1<<16))
		r0 := x.Rows
		x.Data = slices.Grow(x.Data, n*d)[:(r0+n)*d]
		for j, c := range p.cols {
			if err := p.read(c, n); err != nil {
				return nil, err
			}
			for i, v := range c.buf[:n] {
				if v-v != 0 {
					return nil, p.errorf(p.row+i+1, c.name, fmt.Errorf("%w (%v)", ErrNonFinite, v))
				}
				x.Data[(r0+i)*d+j] = v
			}
		}
		if p.label != nil {
			if err := p.read(p.label, n); err != nil {
				return nil, err
			}
			for i, v := range p.label.buf[:n] {
				if v != 0 && v != 1 {
					return nil, &ParseError{File: p.opts.Name, RowGroup: p.group + 1, Row: p.row + i + 1, Column: clip(p.label.name),
						Value: strconv.FormatFloat(v, 'g', -1, 64), Err: errors.New("label must be 0 or 1")}
				}
				p.labels = append(p.labels, int(v))
			}
		}
		x.Rows += n
		p.row += n
		p.left -= int64(n)
	}
	if x.Rows == 0 {
		if p.row == 0 {
			return nil, p.errorf(0, "", ErrEmpty)
		}
		return nil, io.EOF
	}
	return x, nil
}

// nextGroup moves every column to the first page of the next row group with rows, or
// returns io.EOF after the last.
func (p *ParquetReader) nextGroup() error {
	p.closePages()
	for {
		p.group++
		if p.group >= p.end {
			return io.EOF
		}
		if p.left = p.groups[p.group].NumRows(); p.left > 0 {
			break
		}
	}
	chunks := p.groups[p.group].ColumnChunks()
	meta := p.f.Metadata().RowGroups
	for _, c := range p.all() {
		if p.group >= len(meta) || c.index >= len(meta[p.group].Columns) {
			return p.errorf(p.row+1, c.name, fmt.Errorf("%w: no metadata for the column chunk", errCorrupt))
		}
		if err := checkPages(p.f, p.f.Size(), &meta[p.group].Columns[c.index].MetaData); err != nil {
			return p.errorf(p.row+1, c.name, err)
		}
		c.pages = chunks[c.index].Pages()
	}
	return nil
}

// maxPageBytes bounds a page, compressed or not: the Parquet library allocates what a page's
// header says before reading it, so a corrupt header of a few bytes could claim gigabytes.
// Writers make pages of kilobytes to a few megabytes.
const maxPageBytes = 64 << 20

// countingByteReader counts the bytes the thrift decoder takes from a bufio.Reader.
type countingByteReader struct {
	r *bufio.Reader
	n int64
}

func (c *countingByteReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *countingByteReader) ReadByte() (byte, error) {
	b, err := c.r.ReadByte()
	if err == nil {
		c.n++
	}
	return b, err
}

// checkPages walks the page headers of a column chunk, checking that the chunk lies in the
// file and that every page fits in the chunk and under maxPageBytes, before the Parquet
// library allocates buffers of the sizes they claim.
func checkPages(r io.ReaderAt, size int64, md *format.ColumnMetaData) error {
	start := md.DataPageOffset
	if md.DictionaryPageOffset > 0 {
		start = md.DictionaryPageOffset
	}
	n := md.TotalCompressedSize
	if start < 4 || n < 0 || start > size || n > size-start {
		return fmt.Errorf("%w: column chunk of %d bytes at offset %d in a file of %d", errCorrupt, n, start, size)
	}
	br := bufio.NewReaderSize(io.NewSectionReader(r, start, n), 4096)
	cr := &countingByteReader{r: br}
	dec := thrift.NewDecoder((&thrift.CompactProtocol{}).NewReader(cr))
	for cr.n < n {
		var h format.PageHeader
		if err := dec.Decode(&h); err != nil {
			return fmt.Errorf("%w: page header at offset %d: %w", errCorrupt, start+cr.n, err)
		}
		if h.CompressedPageSize < 0 || h.UncompressedPageSize < 0 || int64(h.CompressedPageSize) > n-cr.n ||
			h.CompressedPageSize > maxPageBytes || h.UncompressedPageSize > maxPageBytes {
			return fmt.Errorf("%w: page of %d bytes (%d uncompressed) in a column chunk of %d (at most %s a page)",
				errCorrupt, h.CompressedPageSize, h.UncompressedPageSize, n, byteSize(maxPageBytes))
		}
		k, err := br.Discard(int(h.CompressedPageSize))
		cr.n += int64(k)
		if err != nil {
			return fmt.Errorf("%w: page at offset %d: %w", errCorrupt, start+cr.n, err)
		}
	}
	return nil
}

// all returns the columns read: the features and the label.
func (p *ParquetReader) all() []*pqColumn {
	if p.label == nil {
		return p.cols
	}
	return append(p.cols[:len(p.cols):len(p.cols)], p.label)
}

// read reads the next n values of c into c.buf, moving to the next page as needed.
func (p *ParquetReader) read(c *pqColumn, n int) error {
	if cap(c.buf) < n {
		c.buf = make([]float64, n)
	}
	if p.vals == nil {
		p.vals = make([]parquet.Value, 4096)
	}
	got := 0
	for got < n {
		if c.values == nil {
			if err := p.nextPage(c, got); err != nil {
				return err
			}
			continue
		}
		k, err := c.values.ReadValues(p.vals[:min(n-got, cap(p.vals))])
		for i, v := range p.vals[:k] {
			if v.IsNull() {
				return p.errorf(p.row+got+i+1, c.name, ErrNull)
			}
			c.buf[got+i] = c.conv(v)
		}
		got += k
		if err == io.EOF {
			p.releasePage(c)
		} else if err != nil {
			return p.errorf(p.row+got+1, c.name, fmt.Errorf("%w: %w", errCorrupt, err))
		} else if k == 0 {
			return p.errorf(p.row+got+1, c.name, fmt.Errorf("%w: a page read no values", errCorrupt))
		}
	}
	return nil
}

func (p *ParquetReader) nextPage(c *pqColumn, got int) error {
	page, err := c.pages.ReadPage()
	if err == io.EOF {
		return p.errorf(p.row+got+1, c.name, fmt.Errorf("%w: the column has fewer values than the row group's %d rows",
			errCorrupt, p.groups[p.group].NumRows()))
	}
	if err != nil {
		return p.errorf(p.row+got+1, c.name, fmt.Errorf("%w: %w", errCorrupt, err))
	}
	c.page, c.values = page, page.Values()
	return nil
}

func (p *ParquetReader) releasePage(c *pqColumn) {
	if c.page != nil {
		parquet.Release(c.page)
	}
	c.page, c.values = nil, nil
}

func (p *ParquetReader) closePages() {
	for _, c := range p.all() {
		p.releasePage(c)
		if c.pages != nil {
			c.pages.Close()
			c.pages = nil
		}
	}
}

// errorf builds a ParseError at data row (1-based; 0 for the schema) and column; a row's
// error names its row group too.
func (p *ParquetReader) errorf(row int, col string, err error) error {
	e := &ParseError{File: p.opts.Name, Row: row, Column: clip(col), Err: err}
	if row > 0 && p.group >= 0 && p.group < p.end {
		e.RowGroup = p.group + 1
	}
	return e
}

// recoverTo turns a panic of the Parquet library on a malformed file into an error.
func (p *ParquetReader) recoverTo(err *error) {
	if v := recover(); v != nil {
		*err = p.errorf(0, "", fmt.Errorf("%w: %v", errCorrupt, v))
		p.group = p.end // no more reads
	}
}

// WriteParquet writes t as a Parquet file that ParquetReader reads back exactly: one DOUBLE
// column per feature, in order, then, when t has labels, an INT64 column named label.
// rowsPerGroup bounds the rows of a row group; 0 means a million.
func WriteParquet(w io.Writer, t *Table, label string, rowsPerGroup int) error {
	if rowsPerGroup <= 0 {
		rowsPerGroup = 1 << 20
	}
	return writeParquet(w, t, label, parquet.MaxRowsPerRowGroup(int64(rowsPerGroup)))
}

func writeParquet(w io.Writer, t *Table, label string, opts ...parquet.WriterOption) error {
	if err := t.X.Validate(); err != nil {
		return err
	}
	names := t.Columns
	if len(names) != t.X.Cols {
		return fmt.Errorf("dataset: %d column names for %d columns", len(names), t.X.Cols)
	}
	if t.Labels != nil {
		if len(t.Labels) != t.X.Rows {
			return fmt.Errorf("dataset: %d labels for %d rows", len(t.Labels), t.X.Rows)
		}
		names = append(names[:len(names):len(names)], label)
	}
	// A struct type made at run time gives a schema whose columns keep their order (a
	// parquet.Group sorts them by name).
	fields := make([]reflect.StructField, len(names))
	for j, name := range names {
		if name == "" || strings.ContainsAny(name, ",\"`") {
			return fmt.Errorf("dataset: column %q: a Parquet column name must be non-empty, without commas or quotes", name)
		}
		typ := reflect.TypeFor[float64]()
		if j == t.X.Cols {
			typ = reflect.TypeFor[int64]()
		}
		fields[j] = reflect.StructField{Name: "F" + strconv.Itoa(j), Type: typ, Tag: reflect.StructTag(`parquet:"` + name + `"`)}
	}
	schema := parquet.SchemaOf(reflect.New(reflect.StructOf(fields)).Interface())
	pw := parquet.NewWriter(w, append([]parquet.WriterOption{schema}, opts...)...)
	rows := make([]parquet.Row, 0, 1024)
	for i := 0; i < t.X.Rows; i++ {
		row := make(parquet.Row, len(names))
		for j, v := range t.X.Row(i) {
			row[j] = parquet.DoubleValue(v).Level(0, 0, j)
		}
		if t.Labels != nil {
			row[t.X.Cols] = parquet.Int64Value(int64(t.Labels[i])).Level(0, 0, t.X.Cols)
		}
		rows = append(rows, row)
		if len(rows) == cap(rows) || i == t.X.Rows-1 {
			if _, err := pw.WriteRows(rows); err != nil {
				return fmt.Errorf("dataset: writing Parquet: %w", err)
			}
			rows = rows[:0]
		}
	}
	if err := pw.Close(); err != nil {
		return fmt.Errorf("dataset: writing Parquet: %w", err)
	}
	return nil
}

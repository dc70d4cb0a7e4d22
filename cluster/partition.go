package cluster

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/gonomaly/gonomaly/dataset"
)

// Partition is one part of an input file that a worker scores alone: a byte range of a CSV
// file (whole lines, the header not included) or a range of row groups of a Parquet file.
type Partition struct {
	Part  int   `json:"part"`
	Start int64 `json:"start,omitempty"` // CSV: the first byte (a line's start)
	End   int64 `json:"end,omitempty"`   // CSV: the byte after the last line
	From  int   `json:"from,omitempty"`  // Parquet: the first row group (from 0)
	To    int   `json:"to,omitempty"`    // Parquet: the row group after the last
	Rows  int64 `json:"rows,omitempty"`  // Parquet: its rows (CSV: unknown before reading)
}

// Layout is how an input file is split: its format, identity (size and modification time,
// which workers check, so that a file changed mid-run is an error, not mixed scores), the
// CSV header and the partitions.
type Layout struct {
	Path    string      `json:"path"`
	Format  string      `json:"format"` // "csv" or "parquet"
	Size    int64       `json:"size"`
	ModTime int64       `json:"mod_time"` // Unix nanoseconds
	Header  string      `json:"header,omitempty"`
	Columns []string    `json:"columns"` // feature columns
	Parts   []Partition `json:"parts"`
}

// DefaultPartBytes is the target size of a CSV partition.
const DefaultPartBytes = 64 << 20

// ErrNotSplittable is the error of an input that cannot be split into partitions.
var ErrNotSplittable = errors.New("cannot be split into partitions")

// Split lays out the file at path (CSV, not compressed, or Parquet) in partitions of about
// partBytes bytes (CSV; 0: DefaultPartBytes) or of whole row groups of about that many bytes
// of data (Parquet; at least one group each). label names the label column, as for
// dataset.Options. CSV partitions start at line starts found by reading a little at each
// boundary, not the file: a quoted field holding a newline at a boundary shows as a parse
// error of that partition.
func Split(path, label string, partBytes int64) (*Layout, error) {
	if partBytes == 0 {
		partBytes = DefaultPartBytes
	}
	if partBytes < 1<<10 {
		return nil, fmt.Errorf("partition size %d bytes: must be at least 1 KiB", partBytes)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(abs)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file: %w", path, ErrNotSplittable)
	}
	l := &Layout{Path: abs, Size: fi.Size(), ModTime: fi.ModTime().UnixNano()}
	var magic [4]byte
	n, _ := f.ReadAt(magic[:], 0)
	switch {
	case n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b, strings.HasSuffix(path, ".gz"):
		return nil, fmt.Errorf("%s: a gzip file must be read from its start: decompress it or convert it to Parquet: %w", path, ErrNotSplittable)
	case n == 4 && string(magic[:]) == "PAR1":
		l.Format = "parquet"
		err = splitParquet(f, l, label, partBytes)
	default:
		l.Format = "csv"
		err = splitCSV(f, l, label, partBytes)
	}
	if err != nil {
		return nil, err
	}
	return l, nil
}

func splitCSV(f *os.File, l *Layout, label string, partBytes int64) error {
	// The header: the first line, parsed as dataset would.
	br := bufio.NewReaderSize(io.NewSectionReader(f, 0, l.Size), 64<<10)
	line, err := br.ReadSlice('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		if errors.Is(err, bufio.ErrBufferFull) {
			return fmt.Errorf("%s: the header line is longer than 64 KiB", l.Path)
		}
		return err
	}
	hdr := int64(len(line))
	l.Header = strings.TrimRight(string(line), "\r\n")
	r, err := dataset.NewCSVReader(strings.NewReader(l.Header+"\n"), dataset.Options{Label: label, Name: l.Path})
	if err != nil {
		return err
	}
	l.Columns = r.Columns()
	if hdr >= l.Size {
		return fmt.Errorf("%s: %w", l.Path, dataset.ErrEmpty)
	}
	start := hdr
	for start < l.Size {
		end := start + partBytes
		if end >= l.Size {
			end = l.Size
		} else if end, err = nextLine(f, end, l.Size); err != nil {
			return err
		}
		if len(l.Parts) >= MaxParts {
			return fmt.Errorf("%s: more than %d partitions of %d bytes: give larger partitions", l.Path, MaxParts, partBytes)
		}
		l.Parts = append(l.Parts, Partition{Part: len(l.Parts), Start: start, End: end})
		start = end
	}
	return nil
}

// nextLine returns the offset just after the first newline at or after off (size if none).
func nextLine(f *os.File, off, size int64) (int64, error) {
	buf := make([]byte, 64<<10)
	for off < size {
		n, err := f.ReadAt(buf, off)
		if i := bytes.IndexByte(buf[:n], '\n'); i >= 0 {
			return off + int64(i) + 1, nil
		}
		off += int64(n)
		if err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		if n == 0 {
			break
		}
	}
	return size, nil
}

func splitParquet(f *os.File, l *Layout, label string, partBytes int64) error {
	p, err := dataset.NewParquetReader(f, l.Size, dataset.Options{Label: label, Name: l.Path})
	if err != nil {
		return err
	}
	l.Columns = p.Columns()
	groups := p.RowGroups()
	var total int64
	for _, n := range groups {
		total += n
	}
	if total == 0 {
		return fmt.Errorf("%s: %w", l.Path, dataset.ErrEmpty)
	}
	// Bytes a row group holds, estimated from the file's size: the data, whatever encoding.
	perRow := float64(l.Size) / float64(total)
	part := Partition{}
	var bytesIn float64
	for i, n := range groups {
		part.Rows += n
		bytesIn += perRow * float64(n)
		part.To = i + 1
		if bytesIn >= float64(partBytes) || i == len(groups)-1 {
			if part.Rows > 0 {
				part.Part = len(l.Parts)
				l.Parts = append(l.Parts, part)
			}
			part, bytesIn = Partition{From: i + 1}, 0
		}
	}
	return nil
}

// Open opens partition p of the layout's file for reading, after checking that the file is
// still the one laid out. rows of the source are numbered from the partition's first.
func (l *Layout) Open(p Partition, opts dataset.Options) (dataset.Source, io.Closer, error) {
	f, err := os.Open(l.Path)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err == nil && (fi.Size() != l.Size || fi.ModTime().UnixNano() != l.ModTime) {
		err = Permanent(fmt.Errorf("%s changed since the run began (size %d, was %d): score it again", l.Path, fi.Size(), l.Size))
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	opts.Name = fmt.Sprintf("%s, partition %d", l.Path, p.Part+1)
	var src dataset.Source
	switch l.Format {
	case "csv":
		if p.Start < 0 || p.End > l.Size || p.Start >= p.End {
			err = Permanent(fmt.Errorf("partition %d: bytes %d-%d out of the file's %d", p.Part+1, p.Start, p.End, l.Size))
			break
		}
		r := io.MultiReader(strings.NewReader(l.Header+"\n"), io.NewSectionReader(f, p.Start, p.End-p.Start))
		src, err = dataset.NewCSVReader(r, opts)
	case "parquet":
		var pr *dataset.ParquetReader
		if pr, err = dataset.NewParquetReader(f, l.Size, opts); err == nil {
			err = pr.SelectGroups(p.From, p.To)
			src = pr
		}
	default:
		err = fmt.Errorf("format %q: %w", l.Format, dataset.ErrFormat)
	}
	if err != nil {
		f.Close()
		if !IsPermanent(err) {
			err = Permanent(err) // the same bytes give the same error on every try
		}
		return nil, nil, err
	}
	return src, f, nil
}

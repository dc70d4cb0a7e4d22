package dataset

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// recordReader splits CSV input into records of fields without allocating per field: the
// fields of the last record are sub-slices of an internal buffer, valid until the next Read.
// It follows RFC 4180: fields may be quoted, a quoted field may hold the delimiter, a newline or
// a doubled quote; spaces before a field are ignored; empty lines are skipped; a trailing \r is
// dropped.
//
// maxBytes and maxFields, when positive, bound one record: the bytes of its lines (line endings
// not counted) and its number of fields. A longer record is an error wrapping ErrLineTooLong
// or ErrTooManyColumns, met before more than maxBytes plus one read buffer is held, so input
// without newlines (a binary file, /dev/zero) fails fast instead of filling memory.
type recordReader struct {
	br        *bufio.Reader
	comma     byte
	maxBytes  int
	maxFields int
	line      int // physical lines consumed so far
	start     int // physical line where the last record began
	buf       []byte
	fields    [][]byte
	ends      []int // end offset of each field in buf
}

var errQuote = errors.New(`bare or unterminated " in a field`)

func newRecordReader(r io.Reader, comma byte) *recordReader {
	return &recordReader{br: bufio.NewReaderSize(r, 1<<16), comma: comma}
}

// readLine returns the next physical line without its line ending, or io.EOF. used is the
// number of bytes of the current record already read; with maxBytes set, a line that takes
// the record past maxBytes is an error.
func (r *recordReader) readLine(used int) ([]byte, error) {
	line, err := r.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		long := append([]byte(nil), line...)
		for err == bufio.ErrBufferFull {
			if r.maxBytes > 0 && used+len(long) > r.maxBytes {
				return nil, r.tooLong()
			}
			line, err = r.br.ReadSlice('\n')
			long = append(long, line...)
		}
		line = long
	}
	if len(line) == 0 && err != nil {
		return nil, err
	}
	if err != nil && err != io.EOF {
		return nil, err
	}
	n := len(line)
	if n > 0 && line[n-1] == '\n' {
		n--
	}
	if n > 0 && line[n-1] == '\r' {
		n--
	}
	if r.maxBytes > 0 && used+n > r.maxBytes {
		return nil, r.tooLong()
	}
	r.line++
	return line[:n], nil
}

func (r *recordReader) tooLong() error {
	if r.start > r.line { // still on the record's first line
		return &limitError{ErrLineTooLong, fmt.Sprintf("line %d is longer than %s; is this a CSV file?", r.start, byteSize(r.maxBytes))}
	}
	return &limitError{ErrLineTooLong, fmt.Sprintf("record from line %d is longer than %s (a quoted field left open?)", r.start, byteSize(r.maxBytes))}
}

func (r *recordReader) tooWide() error {
	return &limitError{ErrTooManyColumns, fmt.Sprintf("line %d has more than %d fields; is this a CSV file?", r.start, r.maxFields)}
}

// limitError is an input limit met: its own message, and the sentinel it wraps.
type limitError struct {
	sentinel error
	msg      string
}

func (e *limitError) Error() string { return e.msg }
func (e *limitError) Unwrap() error { return e.sentinel }

// Read returns the fields of the next non-empty record, or io.EOF.
func (r *recordReader) Read() ([][]byte, error) {
	var line []byte
	var err error
	for {
		r.start = r.line + 1
		if line, err = r.readLine(0); err != nil {
			return nil, err
		}
		if len(line) > 0 {
			break
		}
	}
	used := len(line)
	r.buf = r.buf[:0]
	r.ends = r.ends[:0]
	if bytes.IndexByte(line, '"') < 0 {
		// Fast path: no quotes, so fields are the pieces between delimiters.
		r.buf = append(r.buf, line...)
		for i, c := range r.buf {
			if c == r.comma {
				r.ends = append(r.ends, i)
			}
		}
		r.ends = append(r.ends, len(r.buf))
		if r.maxFields > 0 && len(r.ends) > r.maxFields {
			return nil, r.tooWide()
		}
		return r.split(true), nil
	}
	for {
		for len(line) > 0 && (line[0] == ' ' || line[0] == '\t') {
			line = line[1:]
		}
		if len(line) == 0 || line[0] != '"' {
			i := bytes.IndexByte(line, r.comma)
			field := line
			if i >= 0 {
				field = line[:i]
			}
			if bytes.IndexByte(field, '"') >= 0 {
				return nil, fmt.Errorf("line %d: %w", r.line, errQuote)
			}
			r.buf = append(r.buf, field...)
			r.ends = append(r.ends, len(r.buf))
			if r.maxFields > 0 && len(r.ends) > r.maxFields {
				return nil, r.tooWide()
			}
			r.buf = append(r.buf, r.comma) // split skips one byte between fields
			if i < 0 {
				return r.split(false), nil
			}
			line = line[i+1:]
			continue
		}
		// Quoted field: up to the closing quote, across lines if need be.
		line = line[1:]
		for {
			i := bytes.IndexByte(line, '"')
			if i < 0 {
				r.buf = append(r.buf, line...)
				r.buf = append(r.buf, '\n')
				if line, err = r.readLine(used); err != nil {
					if _, ok := err.(*limitError); ok {
						return nil, err
					}
					return nil, fmt.Errorf("line %d: %w", r.start, errQuote)
				}
				used += len(line)
				continue
			}
			r.buf = append(r.buf, line[:i]...)
			line = line[i+1:]
			if len(line) > 0 && line[0] == '"' { // "" is a literal quote
				r.buf = append(r.buf, '"')
				line = line[1:]
				continue
			}
			break
		}
		r.ends = append(r.ends, len(r.buf))
		if r.maxFields > 0 && len(r.ends) > r.maxFields {
			return nil, r.tooWide()
		}
		r.buf = append(r.buf, r.comma)
		if len(line) == 0 {
			return r.split(false), nil
		}
		if line[0] != r.comma {
			return nil, fmt.Errorf("line %d: %w", r.line, errQuote)
		}
		line = line[1:]
	}
}

// split turns the field end offsets into sub-slices of buf, trimming leading blanks when
// trim is set (the quoted path trims as it goes).
func (r *recordReader) split(trim bool) [][]byte {
	r.fields = r.fields[:0]
	lo := 0
	for _, hi := range r.ends {
		f := r.buf[lo:hi]
		if trim {
			for len(f) > 0 && (f[0] == ' ' || f[0] == '\t') {
				f = f[1:]
			}
		}
		r.fields = append(r.fields, f)
		lo = hi + 1
	}
	return r.fields
}

package server

import (
	"fmt"
	"math"
	"strconv"

	"github.com/gonomaly/gonomaly/dataset"
)

// jsonRows is the "data" field of a request: an array of equal-length arrays of numbers,
// decoded straight into a flat row-major matrix. Unlike [][]float64 it refuses what encoding/json
// would quietly accept: a null cell (read as 0), and it names the row and column of every
// other bad cell. JSON null or an absent field leaves it not present.
type jsonRows struct {
	present bool
	m       dataset.Matrix
}

// rowsError is a "data" field that is valid JSON but not rows of numbers: a value of the
// wrong type (code bad_request) or rows of unusable shape (invalid_data).
type rowsError struct{ code, msg string }

func (e *rowsError) Error() string { return e.msg }

// maxRowsCols bounds the width of a row, as the CSV reader bounds a file's columns.
const maxRowsCols = 100_000

// UnmarshalJSON parses b, which encoding/json has already checked is one valid JSON value, so
// the scan below only has to tell numbers from the other kinds of value.
func (r *jsonRows) UnmarshalJSON(b []byte) error {
	p := rowsParser{b: b}
	p.ws()
	if p.lit("null") {
		*r = jsonRows{}
		return nil
	}
	if !p.byte('[') {
		return p.fail("data: want an array of rows ([[x1, x2, ...], ...]), got %s", p.kind())
	}
	// Commas bound the values: estimate once instead of growing the slice many times.
	data := make([]float64, 0, min(countCommas(b)+1, len(b)/2+1))
	rows, cols := 0, -1
	p.ws()
	if !p.byte(']') {
		for {
			p.ws()
			if !p.byte('[') {
				return p.fail("data: row %d: want an array of numbers, got %s", rows, p.kind())
			}
			n := 0
			p.ws()
			if !p.byte(']') {
				for {
					p.ws()
					v, err := p.number(rows, n)
					if err != nil {
						return err
					}
					data = append(data, v)
					n++
					if n > maxRowsCols {
						return p.shape("data: row %d has more than %d values", rows, maxRowsCols)
					}
					p.ws()
					if p.byte(']') {
						break
					}
					p.byte(',')
				}
			}
			if cols < 0 {
				cols = n
			} else if n != cols {
				return p.shape("data: row %d has %d values, row 0 has %d (rows must all have the same width)", rows, n, cols)
			}
			rows++
			p.ws()
			if p.byte(']') {
				break
			}
			p.byte(',')
		}
	}
	if cols < 0 {
		cols = 0
	}
	r.present = true
	r.m = dataset.Matrix{Rows: rows, Cols: cols, Data: data}
	return nil
}

func countCommas(b []byte) int {
	n := 0
	for _, c := range b {
		if c == ',' {
			n++
		}
	}
	return n
}

type rowsParser struct {
	b []byte
	i int
}

func (p *rowsParser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *rowsParser) byte(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *rowsParser) lit(s string) bool {
	if len(p.b)-p.i >= len(s) && string(p.b[p.i:p.i+len(s)]) == s {
		p.i += len(s)
		return true
	}
	return false
}

// kind names the JSON value at the cursor, for errors.
func (p *rowsParser) kind() string {
	if p.i >= len(p.b) {
		return "nothing"
	}
	switch c := p.b[p.i]; {
	case c == 'n':
		return "null"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == '"':
		return "a string"
	case c == '{':
		return "an object"
	case c == '[':
		return "an array"
	default:
		return "a number"
	}
}

// number reads the number at the cursor: cell (row, col).
func (p *rowsParser) number(row, col int) (float64, error) {
	start := p.i
	for p.i < len(p.b) {
		c := p.b[p.i]
		if (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' {
			p.i++
			continue
		}
		break
	}
	if p.i == start {
		return 0, p.fail("data: row %d, column %d: %s is not a number", row, col, p.kind())
	}
	v, err := strconv.ParseFloat(string(p.b[start:p.i]), 64)
	if err != nil || math.IsInf(v, 0) {
		return 0, p.fail("data: row %d, column %d: %s is out of the range of a float64", row, col, truncate(string(p.b[start:p.i]), 32))
	}
	return v, nil
}

// fail is a value of the wrong type; shape a row of the wrong width.
func (p *rowsParser) fail(format string, args ...any) error {
	return &rowsError{code: CodeBadRequest, msg: fmt.Sprintf(format, args...)}
}

func (p *rowsParser) shape(format string, args ...any) error {
	return &rowsError{code: CodeInvalidData, msg: fmt.Sprintf(format, args...)}
}

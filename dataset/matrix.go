package dataset

import (
	"fmt"
	"math"
	"strconv"
)

// Matrix is a dense row-major matrix of float64: element (i, j) is Data[i*Cols+j].
// The zero value is an empty 0x0 matrix.
type Matrix struct {
	Rows, Cols int
	Data       []float64
}

// NewMatrix returns a zeroed rows x cols matrix.
func NewMatrix(rows, cols int) *Matrix {
	if rows < 0 || cols < 0 {
		panic(fmt.Sprintf("dataset: NewMatrix(%d, %d): negative dimension", rows, cols))
	}
	return &Matrix{Rows: rows, Cols: cols, Data: make([]float64, rows*cols)}
}

// FromRows copies a slice of equal-length rows into a new Matrix.
// It returns an error naming the first row whose length differs from the first.
func FromRows(rows [][]float64) (*Matrix, error) {
	if len(rows) == 0 {
		return &Matrix{}, nil
	}
	cols := len(rows[0])
	m := NewMatrix(len(rows), cols)
	for i, r := range rows {
		if len(r) != cols {
			return nil, fmt.Errorf("dataset: row %d has %d values, row 0 has %d: %w", i, len(r), cols, ErrRagged)
		}
		copy(m.Data[i*cols:], r)
	}
	return m, nil
}

// Row returns row i as a slice sharing the matrix's storage.
func (m *Matrix) Row(i int) []float64 { return m.Data[i*m.Cols : (i+1)*m.Cols : (i+1)*m.Cols] }

// At returns element (i, j).
func (m *Matrix) At(i, j int) float64 { return m.Data[i*m.Cols+j] }

// Set sets element (i, j) to v.
func (m *Matrix) Set(i, j int, v float64) { m.Data[i*m.Cols+j] = v }

// Slice returns rows [lo, hi) as a matrix sharing the storage.
func (m *Matrix) Slice(lo, hi int) *Matrix {
	return &Matrix{Rows: hi - lo, Cols: m.Cols, Data: m.Data[lo*m.Cols : hi*m.Cols : hi*m.Cols]}
}

// Column copies column j into dst (grown if needed) and returns it.
func (m *Matrix) Column(j int, dst []float64) []float64 {
	if cap(dst) < m.Rows {
		dst = make([]float64, m.Rows)
	}
	dst = dst[:m.Rows]
	for i := range dst {
		dst[i] = m.Data[i*m.Cols+j]
	}
	return dst
}

// Clone returns a deep copy of m.
func (m *Matrix) Clone() *Matrix {
	c := &Matrix{Rows: m.Rows, Cols: m.Cols, Data: make([]float64, len(m.Data))}
	copy(c.Data, m.Data)
	return c
}

// Validate checks that m is well formed and finite: dimensions not negative, Rows*Cols ==
// len(Data), and no NaN or infinity. A bad value is a *ParseError naming its row and column
// (1-based) and wrapping ErrNonFinite; a bad shape is an error wrapping ErrShape. It is the
// one check every path that takes a Matrix from outside runs before using it.
func (m *Matrix) Validate() error {
	if m == nil {
		return fmt.Errorf("dataset: %w: nil matrix", ErrShape)
	}
	if m.Rows < 0 || m.Cols < 0 || (m.Cols > 0 && m.Rows > math.MaxInt/m.Cols) || len(m.Data) != m.Rows*m.Cols {
		return fmt.Errorf("dataset: %w: %d x %d matrix holds %d values", ErrShape, m.Rows, m.Cols, len(m.Data))
	}
	for k, v := range m.Data {
		if v-v != 0 { // NaN or ±Inf
			return &ParseError{Row: k/m.Cols + 1, Col: k%m.Cols + 1, Value: strconv.FormatFloat(v, 'g', -1, 64), Err: ErrNonFinite}
		}
	}
	return nil
}

package dataset

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors that callers can test with errors.Is.
var (
	ErrNotNumeric = errors.New("not a number")
	ErrNonFinite  = errors.New("NaN or Inf is not allowed")
	ErrRagged     = errors.New("wrong number of fields")
	ErrEmpty      = errors.New("no data rows")
	ErrNoColumn   = errors.New("no such column")
	ErrShape      = errors.New("matrix dimensions do not match its data")
)

// ParseError reports bad input at a row (1-based data row, not counting the header) and
// column (by name when the header or schema gives one, else by number).
type ParseError struct {
	File     string // may be empty
	RowGroup int    // 1-based Parquet row group holding Row; 0 otherwise
	Row      int    // 1-based data row of the whole file; 0 for the header or schema
	Column   string // column name, or "" when the error is about the whole row
	Col      int    // 1-based column number, when there is no name (a Matrix); 0 otherwise
	Value    string // the offending cell, if any
	Err      error
}

func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString("dataset")
	if e.File != "" {
		b.WriteString(": " + e.File)
	}
	sep := ": "
	if e.RowGroup > 0 {
		fmt.Fprintf(&b, "%srow group %d", sep, e.RowGroup)
		sep = ", "
	}
	if e.Row > 0 {
		fmt.Fprintf(&b, "%srow %d", sep, e.Row)
		sep = ", "
	}
	switch {
	case e.Column != "":
		fmt.Fprintf(&b, "%scolumn %q", sep, e.Column)
	case e.Col > 0:
		fmt.Fprintf(&b, "%scolumn %d", sep, e.Col)
	}
	if e.Value != "" {
		fmt.Fprintf(&b, ": %q", e.Value)
	}
	fmt.Fprintf(&b, ": %v", e.Err)
	return b.String()
}

func (e *ParseError) Unwrap() error { return e.Err }

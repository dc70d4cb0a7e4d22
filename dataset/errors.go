package dataset

import (
	"errors"
	"fmt"
)

// Sentinel errors that callers can test with errors.Is.
var (
	ErrNotNumeric = errors.New("not a number")
	ErrNonFinite  = errors.New("NaN or Inf is not allowed")
	ErrRagged     = errors.New("wrong number of fields")
	ErrEmpty      = errors.New("no data rows")
	ErrNoColumn   = errors.New("no such column")
)

// ParseError reports bad input at a row (1-based data row, not counting the header) and
// column (by name when the header gives one).
type ParseError struct {
	File   string // may be empty
	Row    int    // 1-based data row; 0 for the header
	Column string // column name, or "" when the error is about the whole row
	Value  string // the offending cell, if any
	Err    error
}

func (e *ParseError) Error() string {
	where := "dataset"
	if e.File != "" {
		where += ": " + e.File
	}
	switch {
	case e.Column != "" && e.Value != "":
		return fmt.Sprintf("%s: row %d, column %q: %q: %v", where, e.Row, e.Column, e.Value, e.Err)
	case e.Column != "":
		return fmt.Sprintf("%s: row %d, column %q: %v", where, e.Row, e.Column, e.Err)
	case e.Row > 0:
		return fmt.Sprintf("%s: row %d: %v", where, e.Row, e.Err)
	default:
		return fmt.Sprintf("%s: %v", where, e.Err)
	}
}

func (e *ParseError) Unwrap() error { return e.Err }

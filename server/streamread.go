package server

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"
)

// Reading a stream's body: bounded reads, lines, and rows parsed from them.

// idleBody bounds each read of a stream's body by the idle timeout (a client that stops
// sending is cut off then), and lets the stream stop the read in progress (stop).
type idleBody struct {
	r       io.Reader
	rc      *http.ResponseController
	idle    time.Duration
	mu      sync.Mutex
	stopped bool
}

func (b *idleBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	if b.stopped {
		b.mu.Unlock()
		return 0, os.ErrDeadlineExceeded
	}
	_ = b.rc.SetReadDeadline(time.Now().Add(b.idle))
	b.mu.Unlock()
	// At the body's end net/http lifts the deadline itself, to watch for the client leaving.
	return b.r.Read(p)
}

// stop makes the read in progress, and every later one, fail at once.
func (b *idleBody) stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stopped = true
	_ = b.rc.SetReadDeadline(time.Unix(1, 0))
}

// errLineTooLong is a line longer than the stream allows.
var errLineTooLong = errors.New("line too long")

// lineReader splits a stream's body into lines, each at most max bytes (without its end of
// line), skipping blank ones; line counts every line read, blank ones too, from 1.
type lineReader struct {
	br   *bufio.Reader
	long []byte // a line longer than br's buffer, gathered
	max  int
	line int
}

func newLineReader(r io.Reader, maxLine int) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, streamReadBuffer), max: maxLine}
}

// next returns the next line that is not blank, without its end of line (valid until the
// next call), or io.EOF at the end of the body, or the error that ended the body. A last line
// without a newline counts.
func (lr *lineReader) next() ([]byte, error) {
	for {
		b, err := lr.br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			lr.long = append(lr.long[:0], b...)
			for errors.Is(err, bufio.ErrBufferFull) {
				if len(lr.long) > lr.max+1 { // +1: its newline may be all that is over
					lr.dropLong()
					return nil, errLineTooLong
				}
				b, err = lr.br.ReadSlice('\n')
				lr.long = append(lr.long, b...)
			}
			b = lr.long
		}
		if err != nil && (err != io.EOF || len(b) == 0) {
			lr.dropLong()
			return nil, err // at the end, or a line cut short by a failed read: dropped
		}
		b = bytes.TrimSuffix(b, []byte{'\n'})
		b = bytes.TrimSuffix(b, []byte{'\r'})
		if len(b) > lr.max {
			lr.dropLong()
			return nil, errLineTooLong
		}
		lr.line++
		if len(bytes.Trim(b, " \t\r")) == 0 {
			continue
		}
		return b, nil
	}
}

// dropLong lets go of a long line's buffer, so that one long line does not pin its size for
// the rest of the stream.
func (lr *lineReader) dropLong() {
	if cap(lr.long) > 4*streamReadBuffer {
		lr.long = nil
	}
}

// ready reports whether a whole line is waiting in the buffer: reading it will not wait for
// the client.
func (lr *lineReader) ready() bool {
	n := lr.br.Buffered()
	if n == 0 {
		return false
	}
	b, _ := lr.br.Peek(n)
	return bytes.IndexByte(b, '\n') >= 0
}

// lineError is a line that is not a row the detector can score: msg follows "line N".
type lineError struct{ code, msg string }

func lineErrorf(code, format string, args ...any) *lineError {
	return &lineError{code: code, msg: fmt.Sprintf(format, args...)}
}

// parseRow appends to dst the values of line, a JSON array of exactly cols finite numbers
// (strict JSON: no NaN, Infinity, trailing comma or leading +), or says what is wrong with it,
// naming the column (counted from 0, as predict's rows are).
func parseRow(line []byte, dst []float64, cols int) ([]float64, *lineError) {
	start := len(dst)
	p := rowsParser{b: line}
	p.ws()
	if !p.byte('[') {
		return dst[:start], lineErrorf(CodeBadRequest, ": want a JSON array of numbers ([x1, x2, ...]), got %s", lineKind(&p))
	}
	n := 0
	p.ws()
	if !p.byte(']') {
		for {
			p.ws()
			v, e := jsonNumber(&p, n)
			if e != nil {
				return dst[:start], e
			}
			if n == cols {
				return dst[:start], lineErrorf(CodeInvalidData, ": more than %d values, the detector was trained on %d", cols, cols)
			}
			dst = append(dst, v)
			n++
			p.ws()
			if p.byte(']') {
				break
			}
			if !p.byte(',') {
				return dst[:start], lineErrorf(CodeBadRequest, ", byte %d: want ',' or ']' after column %d, got %s", p.i+1, n-1, lineKind(&p))
			}
		}
	}
	p.ws()
	if p.i < len(p.b) {
		return dst[:start], lineErrorf(CodeBadRequest, ", byte %d: data after the array (one row a line)", p.i+1)
	}
	if n != cols {
		return dst[:start], lineErrorf(CodeInvalidData, ": %d values, the detector was trained on %d", n, cols)
	}
	return dst, nil
}

// lineKind names what is at the cursor, for errors: rowsParser.kind, with the end of the line
// and what JSON does not have named.
func lineKind(p *rowsParser) string {
	if p.i >= len(p.b) {
		return "the end of the line"
	}
	rest := p.b[p.i:]
	for _, w := range []string{"NaN", "Infinity", "-Infinity", "+Infinity", "nan", "inf", "-inf"} {
		if bytes.HasPrefix(rest, []byte(w)) {
			return strconv.Quote(w) + " (JSON has no NaN or Infinity)"
		}
	}
	switch c := rest[0]; {
	case c == ']':
		return "']'"
	case c == ',':
		return "','"
	case c == 'n' || c == 't' || c == 'f' || c == '"' || c == '{' || c == '[' || c == '-' || (c >= '0' && c <= '9'):
		return p.kind()
	}
	return strconv.QuoteToASCII(string(rest[:min(len(rest), 8)]))
}

// jsonNumber reads the number at the cursor, column col, by JSON's grammar:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func jsonNumber(p *rowsParser, col int) (float64, *lineError) {
	b, start := p.b, p.i
	i := start
	digits := func() int {
		j := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i - j
	}
	bad := func() (float64, *lineError) {
		p.i = start
		return 0, lineErrorf(CodeBadRequest, ", column %d: %s is not a number", col, lineKind(p))
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case digits() == 0:
		return bad()
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			return bad()
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return bad()
		}
	}
	v, err := strconv.ParseFloat(string(b[start:i]), 64)
	if err != nil || math.IsInf(v, 0) {
		return 0, lineErrorf(CodeBadRequest, ", column %d: %s is out of the range of a float64", col, truncate(string(b[start:i]), 32))
	}
	p.i = i
	return v, nil
}

// Package binenc is the little-endian encoding the detectors use for their fitted state inside a
// model file. A Writer appends; a Reader consumes and remembers the first error, so a decoder
// reads every field and checks Err once at the end.
package binenc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// ErrShort is returned when the payload ends before a field does, or a length is implausible.
var ErrShort = errors.New("binenc: truncated or corrupt payload")

// Writer appends fields to a byte slice.
type Writer struct{ Buf []byte }

func (w *Writer) Uint64(v uint64) { w.Buf = binary.LittleEndian.AppendUint64(w.Buf, v) }
func (w *Writer) Int(v int)       { w.Uint64(uint64(int64(v))) }
func (w *Writer) Float64(v float64) {
	w.Uint64(math.Float64bits(v))
}
func (w *Writer) Bool(v bool) {
	if v {
		w.Buf = append(w.Buf, 1)
	} else {
		w.Buf = append(w.Buf, 0)
	}
}

// Float64s writes a length then the values.
func (w *Writer) Float64s(vs []float64) {
	w.Int(len(vs))
	for _, v := range vs {
		w.Float64(v)
	}
}

// Float32s writes a length then the values.
func (w *Writer) Float32s(vs []float32) {
	w.Int(len(vs))
	for _, v := range vs {
		w.Buf = binary.LittleEndian.AppendUint32(w.Buf, math.Float32bits(v))
	}
}

// Int32s writes a length then the values.
func (w *Writer) Int32s(vs []int32) {
	w.Int(len(vs))
	for _, v := range vs {
		w.Buf = binary.LittleEndian.AppendUint32(w.Buf, uint32(v))
	}
}

// Reader consumes fields written by Writer. After the first failure every read returns zero
// values and Err reports the failure.
type Reader struct {
	Buf []byte
	err error
}

// Err returns the first error met, or an error if bytes are left over when done is true.
func (r *Reader) Err() error { return r.err }

// Done returns an error if reading failed or if unread bytes remain.
func (r *Reader) Done() error {
	if r.err == nil && len(r.Buf) != 0 {
		r.err = fmt.Errorf("%w: %d trailing bytes", ErrShort, len(r.Buf))
	}
	return r.err
}

func (r *Reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.Buf) {
		r.err = ErrShort
		return nil
	}
	b := r.Buf[:n]
	r.Buf = r.Buf[n:]
	return b
}

func (r *Reader) Uint64() uint64 {
	b := r.take(8)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(b)
}
func (r *Reader) Int() int         { return int(int64(r.Uint64())) }
func (r *Reader) Float64() float64 { return math.Float64frombits(r.Uint64()) }
func (r *Reader) Bool() bool {
	b := r.take(1)
	return b != nil && b[0] != 0
}

// length reads a slice length and checks that size bytes per element remain.
func (r *Reader) length(size int) int {
	n := r.Int()
	if r.err == nil && (n < 0 || n > len(r.Buf)/size) {
		r.err = ErrShort
		return 0
	}
	return n
}

func (r *Reader) Float64s() []float64 {
	n := r.length(8)
	vs := make([]float64, n)
	for i := range vs {
		vs[i] = r.Float64()
	}
	return vs
}

func (r *Reader) Float32s() []float32 {
	n := r.length(4)
	vs := make([]float32, n)
	for i := range vs {
		vs[i] = math.Float32frombits(binary.LittleEndian.Uint32(r.take(4)))
	}
	return vs
}

func (r *Reader) Int32s() []int32 {
	n := r.length(4)
	vs := make([]int32, n)
	for i := range vs {
		vs[i] = int32(binary.LittleEndian.Uint32(r.take(4)))
	}
	return vs
}

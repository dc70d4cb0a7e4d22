package binenc

import (
	"errors"
	"math"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	var w Writer
	w.Int(-42)
	w.Uint64(math.MaxUint64)
	w.Float64(math.Pi)
	w.Bool(true)
	w.Float64s([]float64{1.5, -0, math.Inf(1)})
	w.Float32s([]float32{2.5})
	w.Int32s([]int32{-7, 9})
	r := Reader{Buf: w.Buf}
	if r.Int() != -42 || r.Uint64() != math.MaxUint64 || r.Float64() != math.Pi || !r.Bool() {
		t.Fatal("scalars did not round-trip")
	}
	if f := r.Float64s(); len(f) != 3 || f[0] != 1.5 || !math.IsInf(f[2], 1) {
		t.Fatalf("Float64s: %v", f)
	}
	if f := r.Float32s(); len(f) != 1 || f[0] != 2.5 {
		t.Fatalf("Float32s: %v", f)
	}
	if v := r.Int32s(); len(v) != 2 || v[0] != -7 || v[1] != 9 {
		t.Fatalf("Int32s: %v", v)
	}
	if err := r.Done(); err != nil {
		t.Fatal(err)
	}
}

func TestTruncatedAndTrailing(t *testing.T) {
	var w Writer
	w.Float64s([]float64{1, 2, 3})
	for n := 0; n < len(w.Buf); n++ {
		r := Reader{Buf: w.Buf[:n]}
		r.Float64s()
		if !errors.Is(r.Done(), ErrShort) {
			t.Fatalf("%d of %d bytes: no error", n, len(w.Buf))
		}
	}
	r := Reader{Buf: append(w.Buf, 0)}
	r.Float64s()
	if !errors.Is(r.Done(), ErrShort) {
		t.Fatal("trailing byte not reported")
	}
	// A huge length must not allocate or panic.
	var h Writer
	h.Int(1 << 60)
	r = Reader{Buf: h.Buf}
	if v := r.Float64s(); len(v) != 0 || r.Err() == nil {
		t.Fatal("implausible length accepted")
	}
}

// TestLengthsBoundedByBytes: a slice length is checked against the bytes left before anything
// is allocated, for every slice kind, whatever the length: negative, huge, or one element more
// than the bytes hold.
func TestLengthsBoundedByBytes(t *testing.T) {
	readers := map[string]func(r *Reader) int{
		"Float64s": func(r *Reader) int { return len(r.Float64s()) },
		"Float32s": func(r *Reader) int { return len(r.Float32s()) },
		"Int32s":   func(r *Reader) int { return len(r.Int32s()) },
	}
	size := map[string]int{"Float64s": 8, "Float32s": 4, "Int32s": 4}
	for name, read := range readers {
		for _, n := range []int{-1, math.MinInt64, math.MaxInt64, 1 << 62, 3} {
			var w Writer
			w.Int(n)
			w.Buf = append(w.Buf, make([]byte, 3*size[name]-1)...) // one byte short of 3 elements
			r := Reader{Buf: w.Buf}
			if got := read(&r); got != 0 || !errors.Is(r.Err(), ErrShort) {
				t.Errorf("%s with length %d over %d bytes: %d values, err %v", name, n, 3*size[name]-1, got, r.Err())
			}
		}
	}
}

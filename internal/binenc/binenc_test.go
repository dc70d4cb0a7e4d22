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

package report

import (
	"math"
	"testing"
)

// ticks and at stay bounded and finite on every range a stored figure can give a chart:
// flat, near-flat at float64's edge, reversed, NaN and infinite bounds.
func TestScaleTicks(t *testing.T) {
	big := 1e308
	for _, tc := range []struct {
		name      string
		lo, hi    float64
		log       bool
		wantTicks int // -1: any count within bounds
	}{
		{"plain", 0, 10, false, 6},
		{"min = max", 5, 5, false, -1},
		{"min = max at 0", 0, 0, false, -1},
		{"huge near-flat", big, math.Nextafter(big, math.Inf(1)), false, -1},
		{"huge, steps do not move", big, big + 1e293, false, -1},
		{"max float flat", math.MaxFloat64, math.MaxFloat64, false, -1},
		{"span overflows", -big, big, false, -1},
		{"full range", -math.MaxFloat64, math.MaxFloat64, false, -1},
		{"denormal", 0, 5e-324, false, -1},
		{"reversed", 10, 0, false, -1},
		{"NaN lo", math.NaN(), 3, false, -1},
		{"NaN both", math.NaN(), math.NaN(), false, -1},
		{"+Inf hi", 0, math.Inf(1), false, -1},
		{"-Inf lo", math.Inf(-1), 0, false, -1},
		{"both Inf", math.Inf(-1), math.Inf(1), false, -1},
		{"log decades", 1e-3, 1e3, true, 7},
		{"log huge", 1e-300, 1e300, true, -1},
		{"log zero lo", 0, 100, true, -1},
		{"log negative", -5, -1, true, -1},
		{"log flat", 1e308, 1e308, true, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newScale(tc.lo, tc.hi, 0, 100, tc.log)
			checkScale(t, s)
			if got := len(s.ticks(5)); tc.wantTicks >= 0 && got != tc.wantTicks {
				t.Errorf("%d ticks, want %d: %v", got, tc.wantTicks, s.ticks(5))
			}
		})
	}
}

// checkScale fails when s's range is not finite and ordered, or its ticks are too many, not
// finite, unordered, off the scale or not mapped to finite pixels.
func checkScale(t *testing.T, s scale) {
	t.Helper()
	if !finite(s.lo) || !finite(s.hi) || !(s.hi/2 > s.lo/2) {
		t.Fatalf("scale [%g, %g]: not finite and ordered", s.lo, s.hi)
	}
	for _, n := range []int{-3, 0, 1, 5, 1 << 30} {
		ts := s.ticks(n)
		if len(ts) > maxTicks+1 {
			t.Fatalf("ticks(%d) of [%g, %g]: %d ticks", n, s.lo, s.hi, len(ts))
		}
		for i, v := range ts {
			px := s.at(v)
			if !finite(v) || !finite(px) || (i > 0 && !(v > ts[i-1])) || px < -1 || px > 101 {
				t.Fatalf("ticks(%d) of [%g, %g] (log %v): tick %d = %g at %g px: %v", n, s.lo, s.hi, s.log, i, v, px, ts)
			}
		}
	}
	for _, v := range []float64{s.lo, s.hi, s.lo/2 + s.hi/2} {
		if s.log {
			v = math.Pow(10, v)
			if !finite(v) || v == 0 {
				continue
			}
		}
		if px := s.at(v); !finite(px) {
			t.Fatalf("at(%g) of [%g, %g] (log %v) = %g", v, s.lo, s.hi, s.log, px)
		}
	}
}

// FuzzScale: any bounds, any tick count: a finite ordered scale whose ticks are bounded,
// finite and on it (the seed corpus in testdata/fuzz/FuzzScale holds the edges above).
func FuzzScale(f *testing.F) {
	f.Add(0.0, 10.0, 5, false)
	f.Add(1e308, 1e308, 5, false)
	f.Add(-1e308, 1e308, 5, false)
	f.Add(1e-3, 1e3, 5, true)
	f.Add(math.NaN(), math.Inf(1), 5, true)
	f.Fuzz(func(t *testing.T, lo, hi float64, n int, log bool) {
		s := newScale(lo, hi, 0, 100, log)
		checkScale(t, s)
		if len(s.ticks(n)) > maxTicks+1 {
			t.Fatal("too many ticks")
		}
	})
}

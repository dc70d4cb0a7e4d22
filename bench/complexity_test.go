package bench

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestFitComplexityKnownGrowth fits synthetic timings of known growth with 3 % multiplicative
// noise and a small constant overhead, over geometrically spaced sizes as the scalability
// command measures them.
func TestFitComplexityKnownGrowth(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	sizes := []int{1000, 1668, 2782, 4641, 7742, 12915, 21544, 35938, 59948, 100000}
	tests := []struct {
		pattern string
		cost    func(n float64) float64
		expLo   float64
		expHi   float64
		grade   string
	}{
		{"O(n)", func(n float64) float64 { return 2e-7 * n }, 0.95, 1.05, "A"},
		{"O(n log n)", func(n float64) float64 { return 3e-8 * n * math.Log(n) }, 1.05, 1.15, "A"},
		{"O(n^2)", func(n float64) float64 { return 1e-10 * n * n }, 1.9, 2.05, "D"},
		{"O(n^3)", func(n float64) float64 { return 1e-13 * n * n * n }, 2.85, 3.05, "F"},
	}
	for _, tc := range tests {
		times := make([]float64, len(sizes))
		for i, n := range sizes {
			times[i] = (1e-5 + tc.cost(float64(n))) * (1 + 0.03*(2*rng.Float64()-1))
		}
		c, err := FitComplexity(sizes, times)
		if err != nil {
			t.Fatal(err)
		}
		if c.Best.Pattern != tc.pattern {
			t.Errorf("%s: best pattern %s (fits %+v)", tc.pattern, c.Best.Pattern, c.Patterns)
		}
		if c.Exponent < tc.expLo || c.Exponent > tc.expHi || c.R2 < 0.99 {
			t.Errorf("%s: exponent %.3f (R2 %.4f), want in [%v, %v]", tc.pattern, c.Exponent, c.R2, tc.expLo, tc.expHi)
		}
		if c.Grade != tc.grade {
			t.Errorf("%s: grade %s, want %s", tc.pattern, c.Grade, tc.grade)
		}
		want := 1e-5 + tc.cost(1e6)
		if math.Abs(c.Predicted10x-want)/want > 0.1 {
			t.Errorf("%s: predicted %.4g s at 10x, true cost %.4g s", tc.pattern, c.Predicted10x, want)
		}
	}
}

func TestFitComplexityConstantAndErrors(t *testing.T) {
	c, err := FitComplexity([]int{10, 100, 1000, 10000}, []float64{0.5, 0.51, 0.49, 0.5})
	if err != nil {
		t.Fatal(err)
	}
	if c.Best.Pattern != "O(1)" || c.Grade != "A" {
		t.Errorf("constant timings: %s, grade %s", c.Best.Pattern, c.Grade)
	}
	for _, bad := range []struct {
		sizes []int
		times []float64
	}{
		{[]int{10, 20}, []float64{1, 2}},
		{[]int{10, 20, 30}, []float64{1, 2}},
		{[]int{10, 20, 30}, []float64{1, 0, 3}},
		{[]int{1, 20, 30}, []float64{1, 2, 3}},
	} {
		if _, err := FitComplexity(bad.sizes, bad.times); err == nil {
			t.Errorf("FitComplexity(%v, %v) accepted", bad.sizes, bad.times)
		}
	}
}

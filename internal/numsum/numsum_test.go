package numsum

import (
	"math"
	"testing"
)

func TestPairwiseExactOnIntegers(t *testing.T) {
	for _, n := range []int{0, 1, 7, 8, 9, 127, 128, 129, 1000, 8192, 20000} {
		x := make([]float64, n)
		for i := range x {
			x[i] = float64(i + 1)
		}
		want := float64(n * (n + 1) / 2)
		if got := Pairwise(x); got != want {
			t.Errorf("Pairwise(1..%d) = %v, want %v", n, got, want)
		}
		if got := Blocked(x); got != want {
			t.Errorf("Blocked(1..%d) = %v, want %v", n, got, want)
		}
	}
}

func TestPairwiseOrderMatchesNumpy(t *testing.T) {
	// numpy 1.24: np.sum(np.array([1e16] + [1.0] * 15)) = 1.0000000000000014e+16: the eight
	// accumulators keep the 1.0s together instead of losing each against 1e16.
	x := []float64{1e16}
	for i := 0; i < 15; i++ {
		x = append(x, 1)
	}
	if got := Pairwise(x); got != 1.0000000000000014e+16 {
		t.Errorf("got %v", got)
	}
	if !math.IsNaN(Mean(nil)) {
		t.Error("Mean(nil) is not NaN")
	}
}

package stat

import (
	"math"
	"slices"

	"gonum.org/v1/gonum/stat/distuv"
)

// Trend is what MannKendall finds in a series taken in order.
type Trend struct {
	S float64 // Mann-Kendall S: the pairs that rise minus the pairs that fall
	Z float64 // S standardised (with the tie and continuity corrections)
	P float64 // two-sided p-value of "no monotonic trend"
	// Tau is Kendall's tau-a of the series against its order: S over the n(n-1)/2 pairs, in
	// [-1, 1]: the trend's strength.
	Tau float64
}

// MannKendall is the Mann-Kendall test of a monotonic trend in xs (taken in order, equally
// spaced): S counts the later values above an earlier one minus those below; its variance is
// corrected for ties, and Z = (S - sign(S)) / sd(S) is referred to the normal distribution
// (Hipel & McLeod 1994; pymannkendall's original_test). Fewer than 3 values or a NaN give NaN.
// It compares every pair: O(n^2) time, no allocation beyond a sorted copy for the ties.
func MannKendall(xs []float64) Trend {
	n := len(xs)
	if n < 3 || hasNaN(xs) {
		return Trend{S: math.NaN(), Z: math.NaN(), P: math.NaN(), Tau: math.NaN()}
	}
	var s float64
	for i := 0; i < n-1; i++ {
		xi := xs[i]
		for _, xj := range xs[i+1:] {
			switch {
			case xj > xi:
				s++
			case xj < xi:
				s--
			}
		}
	}
	fn := float64(n)
	v := fn * (fn - 1) * (2*fn + 5)
	sorted := slices.Clone(xs)
	slices.Sort(sorted)
	for i := 0; i < n; {
		j := i + 1
		for j < n && sorted[j] == sorted[i] {
			j++
		}
		if t := float64(j - i); t > 1 {
			v -= t * (t - 1) * (2*t + 5)
		}
		i = j
	}
	v /= 18
	t := Trend{S: s, Tau: s / (fn * (fn - 1) / 2)}
	switch {
	case v <= 0: // every value equal
		t.Z, t.P = 0, 1
	case s > 0:
		t.Z = (s - 1) / math.Sqrt(v)
	case s < 0:
		t.Z = (s + 1) / math.Sqrt(v)
	}
	if v > 0 {
		t.P = 2 * distuv.UnitNormal.Survival(math.Abs(t.Z))
	}
	return t
}

// TheilSen is the Theil-Sen line of y against x: the slope is the median of the slopes of
// every pair of points with different x, the intercept median(y) - slope * median(x), as
// scipy.stats.theilslopes gives them. x nil means 0, 1, 2, .... It is robust to outliers (up to
// 29 % of the points). It holds every pair's slope: n(n-1)/2 values, so keep n to a few
// thousand. Fewer than 2 distinct x, or a NaN, give NaN.
func TheilSen(x, y []float64) (slope, intercept float64) {
	if x == nil {
		x = make([]float64, len(y))
		for i := range x {
			x[i] = float64(i)
		}
	}
	if len(x) != len(y) {
		panic("stat: TheilSen: x and y differ in length")
	}
	if hasNaN(x) || hasNaN(y) {
		return math.NaN(), math.NaN()
	}
	n := len(y)
	slopes := make([]float64, 0, n*(n-1)/2)
	for i := 0; i < n-1; i++ {
		for j := i + 1; j < n; j++ {
			if dx := x[j] - x[i]; dx != 0 {
				slopes = append(slopes, (y[j]-y[i])/dx)
			}
		}
	}
	if len(slopes) == 0 {
		return math.NaN(), math.NaN()
	}
	slices.Sort(slopes)
	slope = sortedMedian(slopes)
	return slope, Median(y) - slope*Median(x)
}

// sortedMedian is the median of sorted xs (not empty).
func sortedMedian(xs []float64) float64 {
	m := len(xs) / 2
	if len(xs)%2 == 1 {
		return xs[m]
	}
	return (xs[m-1] + xs[m]) / 2
}

// ChangePoint is what Pettitt finds: the most likely point where a series' level shifts.
type ChangePoint struct {
	// At is the index of the first value after the shift (the series splits into xs[:At]
	// and xs[At:]).
	At int
	K  float64 // Pettitt's K: the largest |U_t|
	P  float64 // approximate p-value of "no change point" (2 exp(-6K^2 / (n^3 + n^2))), at most 1
}

// Pettitt is Pettitt's (1979) non-parametric test for a single change point in xs: U_t sums,
// over every pair with one value up to t and one after, the sign of the later minus the
// earlier; the change point is where |U_t| peaks. O(n^2) time and no allocation. Fewer than 3
// values or a NaN give P = NaN.
func Pettitt(xs []float64) ChangePoint {
	n := len(xs)
	if n < 3 || hasNaN(xs) {
		return ChangePoint{P: math.NaN(), K: math.NaN()}
	}
	// U_t = U_{t-1} + sum_j sign(x_t - x_j): each value added to the first part changes the
	// count by how it compares with every value.
	var u, k float64
	at := 0
	for t := 0; t < n-1; t++ {
		var d float64
		xt := xs[t]
		for _, xj := range xs {
			switch {
			case xt > xj:
				d++
			case xt < xj:
				d--
			}
		}
		u += d
		if a := math.Abs(u); a > k {
			k, at = a, t+1
		}
	}
	fn := float64(n)
	p := 2 * math.Exp(-6*k*k/(fn*fn*fn+fn*fn))
	return ChangePoint{At: at, K: k, P: min(p, 1)}
}

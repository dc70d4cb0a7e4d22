package stat

import (
	"math"
	"slices"
)

// Median returns the median of xs: the middle of its sorted values, or the mean of the two
// middle ones for an even count (numpy.median). It returns NaN when xs is empty or holds a NaN.
// xs is not modified; Median sorts a copy.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	// slices.Sort puts NaNs first.
	if math.IsNaN(s[0]) {
		return math.NaN()
	}
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Quantile returns the q-quantile of xs with linear interpolation between order statistics
// (numpy.quantile's default method "linear", R's type 7): with the values sorted,
// s[lo] + (s[lo+1] - s[lo]) * frac where lo + frac = q * (len(xs) - 1). It returns NaN when xs is
// empty or holds a NaN. xs is not modified; Quantile sorts a copy.
//
// Quantile panics with "stat: quantile q out of [0, 1]" if q is not in [0, 1].
func Quantile(xs []float64, q float64) float64 {
	if !(q >= 0 && q <= 1) {
		panic("stat: quantile q out of [0, 1]")
	}
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if math.IsNaN(s[0]) {
		return math.NaN()
	}
	pos := q * float64(len(s)-1)
	lo := int(math.Floor(pos))
	if lo >= len(s)-1 {
		return s[len(s)-1]
	}
	frac := pos - float64(lo)
	return s[lo] + (s[lo+1]-s[lo])*frac
}

package stat

import (
	"math"
	"slices"
)

// LinearFit fits y = intercept + slope x by ordinary least squares and returns the coefficients
// with R², the share of the variance of y the line explains (scipy.stats.linregress's slope,
// intercept and rvalue squared). A constant y is fitted exactly, so its R² is 1 (linregress
// reports r = 0 there). All three are NaN when x has fewer than two distinct values (no line is
// defined, which includes empty slices) or either slice holds a NaN. LinearFit panics with
// "stat: slice length mismatch" if len(x) != len(y).
func LinearFit(x, y []float64) (slope, intercept, r2 float64) {
	if len(x) != len(y) {
		panic("stat: slice length mismatch")
	}
	if len(x) == 0 || hasNaN(x) || hasNaN(y) || constant(x) {
		return math.NaN(), math.NaN(), math.NaN()
	}
	n := float64(len(x))
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx /= n
	my /= n
	var sxy, sxx, syy float64
	for i := range x {
		sxy += (x[i] - mx) * (y[i] - my)
		sxx += (x[i] - mx) * (x[i] - mx)
		syy += (y[i] - my) * (y[i] - my)
	}
	slope = sxy / sxx
	intercept = my - slope*mx
	if syy == 0 {
		return slope, intercept, 1
	}
	return slope, intercept, sxy * sxy / (sxx * syy)
}

// constant reports whether every value of xs equals the first.
func constant(xs []float64) bool {
	return !slices.ContainsFunc(xs, func(v float64) bool { return v != xs[0] })
}

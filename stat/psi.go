package stat

import (
	"math"
	"slices"
	"sort"

	"gonum.org/v1/gonum/stat/distuv"
)

// PSIEpsilon is the proportion PSIFromCounts puts in place of an empty bin, so that the
// logarithm stays finite: a bin empty in one sample and holding a share s of the other adds
// (s - 1e-4) ln(s / 1e-4). A bin empty in both samples adds nothing.
const PSIEpsilon = 1e-4

// PSI returns the population stability index of actual against expected over bins
// equal-frequency bins cut at the quantiles of expected (QuantileEdges): the sum over bins of
// (a - e) ln(a / e), a and e being the shares of actual and expected in the bin, with an empty
// bin's share taken as PSIEpsilon. A common reading: below 0.1 no shift, 0.1 to 0.25 a moderate
// one, above 0.25 a major one. It is NaN when either sample is empty or holds a NaN. The samples
// are not modified. PSI panics with "stat: psi bins < 1" if bins < 1.
//
// A monitor that keeps only a summary of the training data stores QuantileEdges(expected, bins)
// and BinCounts of expected over them, then calls PSIFromCounts with the counts of new data.
func PSI(expected, actual []float64, bins int) float64 {
	if bins < 1 {
		panic("stat: psi bins < 1")
	}
	if len(expected) == 0 || len(actual) == 0 || hasNaN(expected) || hasNaN(actual) {
		return math.NaN()
	}
	edges := QuantileEdges(nil, expected, bins)
	counts := make([]float64, 2*bins)
	e := BinCounts(counts[:bins], edges, expected)
	a := BinCounts(counts[bins:], edges, actual)
	return PSIFromCounts(e, a)
}

// QuantileEdges writes into dst the bins-1 inner edges that cut xs into bins bins of equal
// frequency, the quantiles i/bins for i = 1..bins-1 (Quantile, numpy's linear method), and returns
// dst. The outer bins are open, so later values beyond the range of xs still fall in a bin. Tied
// values may give equal edges and so bins that stay empty. The edges are NaN when xs is empty or
// holds a NaN. If dst is nil a new slice is allocated; otherwise QuantileEdges panics with
// "stat: quantile edges: dst length mismatch" unless len(dst) == bins-1. It panics with
// "stat: psi bins < 1" if bins < 1. xs is not modified.
func QuantileEdges(dst, xs []float64, bins int) []float64 {
	if bins < 1 {
		panic("stat: psi bins < 1")
	}
	if dst == nil {
		dst = make([]float64, bins-1)
	} else if len(dst) != bins-1 {
		panic("stat: quantile edges: dst length mismatch")
	}
	if len(xs) == 0 || hasNaN(xs) {
		for i := range dst {
			dst[i] = math.NaN()
		}
		return dst
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	for i := range dst {
		dst[i] = sortedQuantile(s, float64(i+1)/float64(bins))
	}
	return dst
}

// sortedQuantile is Quantile over values already sorted, without NaN.
func sortedQuantile(s []float64, q float64) float64 {
	pos := q * float64(len(s)-1)
	lo := int(math.Floor(pos))
	if lo >= len(s)-1 {
		return s[len(s)-1]
	}
	return s[lo] + (s[lo+1]-s[lo])*(pos-float64(lo))
}

// BinCounts writes into dst the number of values of xs in each of the len(edges)+1 bins that the
// sorted inner edges cut, and returns dst. Bin i holds the values x with edges[i-1] < x <= edges[i]
// (closed on the right, as pandas.cut and qcut), the first bin everything up to edges[0] and the
// last everything above the last edge. NaN values are not counted. If dst is nil a new slice is
// allocated; otherwise BinCounts panics with "stat: bin counts: dst length mismatch" unless
// len(dst) == len(edges)+1. It does not allocate when dst is given.
func BinCounts(dst, edges, xs []float64) []float64 {
	if dst == nil {
		dst = make([]float64, len(edges)+1)
	} else if len(dst) != len(edges)+1 {
		panic("stat: bin counts: dst length mismatch")
	}
	for i := range dst {
		dst[i] = 0
	}
	for _, x := range xs {
		if math.IsNaN(x) {
			continue
		}
		dst[sort.SearchFloat64s(edges, x)]++
	}
	return dst
}

// PSIFromCounts returns the population stability index of two histograms over the same bins, the
// counts (or weights) of the expected and the actual sample: the sum over bins of
// (a - e) ln(a / e) with a and e the shares of each total, an empty bin's share taken as
// PSIEpsilon. It is NaN when either total is zero or a count is NaN. It panics with
// "stat: slice length mismatch" if len(expected) != len(actual), and with
// "stat: psi negative count" if a count is negative.
func PSIFromCounts(expected, actual []float64) float64 {
	if len(expected) != len(actual) {
		panic("stat: slice length mismatch")
	}
	var te, ta float64
	for i := range expected {
		if expected[i] < 0 || actual[i] < 0 {
			panic("stat: psi negative count")
		}
		te += expected[i]
		ta += actual[i]
	}
	if !(te > 0 && ta > 0) { // also NaN
		return math.NaN()
	}
	var psi float64
	for i := range expected {
		e, a := expected[i]/te, actual[i]/ta
		if e == 0 {
			e = PSIEpsilon
		}
		if a == 0 {
			a = PSIEpsilon
		}
		psi += (a - e) * math.Log(a/e)
	}
	return psi
}

// PSIPValue returns the p-value of a population stability index psi between a sample of n
// values and one of m, over bins bins: the probability of an index at least as large when both
// samples come from one distribution. For large samples n m / (n + m) psi then follows a
// chi-square distribution with bins - 1 degrees of freedom, as the chi-square statistic of the
// test of homogeneity that PSI (a symmetrised Kullback-Leibler divergence) approaches for
// small differences (Yurdakul 2018, "Statistical properties of population stability index");
// the p-value is scipy.stats.chi2.sf(n*m/(n+m)*psi, bins-1). It is an approximation: fair
// when every bin expects some tens of values, and too small (so the test too eager) when
// bins are nearly empty and PSIEpsilon stands in for their shares. It is NaN when n or m is
// not positive or psi is NaN, and 1 for one bin. PSIPValue panics with "stat: psi bins < 1"
// if bins < 1.
func PSIPValue(psi, n, m float64, bins int) float64 {
	if bins < 1 {
		panic("stat: psi bins < 1")
	}
	if !(n > 0 && m > 0) || math.IsNaN(psi) {
		return math.NaN()
	}
	if bins == 1 || psi <= 0 {
		return 1
	}
	return distuv.ChiSquared{K: float64(bins - 1)}.Survival(n * m / (n + m) * psi)
}

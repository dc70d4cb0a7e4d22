package stat

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// binomRelErr is the relative tolerance scipy.stats.binomtest allows when it collects the
// outcomes no more likely than the observed one (1 + 1e-7).
const binomRelErr = 1 + 1e-7

// BinomialTest returns the two-sided p-value of the exact binomial test of k successes in n trials
// against a success probability p, as scipy.stats.binomtest(k, n, p).pvalue computes it: the
// probability of all outcomes whose probability is at most that of k (times 1 + 1e-7, scipy's
// tolerance for rounding), found by binary search on the far side of the mode, with the tails
// from the regularized incomplete beta function and the probabilities in log space, so n may be
// large. It is 1 when k = n p, and NaN when n = 0 (no trials; scipy raises an error there).
// BinomialTest panics with "stat: binomial test k out of [0, n]" or
// "stat: binomial test p out of [0, 1]" for arguments out of their domain.
func BinomialTest(k, n int, p float64) float64 {
	if !(p >= 0 && p <= 1) {
		panic("stat: binomial test p out of [0, 1]")
	}
	if k < 0 || k > n {
		panic("stat: binomial test k out of [0, n]")
	}
	if n == 0 {
		return math.NaN()
	}
	pn := p * float64(n)
	if float64(k) == pn {
		return 1
	}
	d := binomPMF(k, n, p)
	var pval float64
	if float64(k) < pn {
		// The first outcome above the mode whose probability falls to d (or below).
		lo, hi := int(math.Ceil(pn)), n
		ix := binomSearch(func(x int) float64 { return -binomPMF(x, n, p) }, -d*binomRelErr, lo, hi)
		y := n - ix
		if d*binomRelErr == binomPMF(ix, n, p) {
			y++
		}
		pval = binomCDF(k, n, p) + binomSF(n-y, n, p)
	} else {
		ix := binomSearch(func(x int) float64 { return binomPMF(x, n, p) }, d*binomRelErr, 0, int(math.Floor(pn)))
		pval = binomCDF(ix, n, p) + binomSF(k-1, n, p)
	}
	return min(pval, 1)
}

// binomSearch returns i in [lo-1, hi] with f(i) <= v < f(i+1) for f ascending on [lo, hi]
// (scipy's _binary_search_for_binom_tst, whose ends we keep so that ties resolve as there).
func binomSearch(f func(int) float64, v float64, lo, hi int) int {
	for lo < hi {
		mid := lo + (hi-lo)/2
		switch fm := f(mid); {
		case fm < v:
			lo = mid + 1
		case fm > v:
			hi = mid - 1
		default:
			return mid
		}
	}
	if f(lo) <= v {
		return lo
	}
	return lo - 1
}

// binomPMF returns P(X = k) for X ~ Binomial(n, p), through the log of the binomial coefficient.
func binomPMF(k, n int, p float64) float64 {
	if k < 0 || k > n {
		return 0
	}
	switch p {
	case 0:
		if k == 0 {
			return 1
		}
		return 0
	case 1:
		if k == n {
			return 1
		}
		return 0
	}
	lgn, _ := math.Lgamma(float64(n + 1))
	lgk, _ := math.Lgamma(float64(k + 1))
	lgnk, _ := math.Lgamma(float64(n - k + 1))
	return math.Exp(lgn - lgk - lgnk + float64(k)*math.Log(p) + float64(n-k)*math.Log1p(-p))
}

// binomCDF returns P(X <= k) = I_{1-p}(n-k, k+1).
func binomCDF(k, n int, p float64) float64 {
	switch {
	case k < 0:
		return 0
	case k >= n:
		return 1
	}
	return distuv.Beta{Alpha: float64(n - k), Beta: float64(k + 1)}.CDF(1 - p)
}

// binomSF returns P(X > k) = I_p(k+1, n-k), computed directly so that a small tail keeps its
// precision.
func binomSF(k, n int, p float64) float64 {
	switch {
	case k < 0:
		return 1
	case k >= n:
		return 0
	}
	return distuv.Beta{Alpha: float64(k + 1), Beta: float64(n - k)}.CDF(p)
}

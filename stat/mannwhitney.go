package stat

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// MannWhitneyU tests whether two samples come from the same distribution, as
// scipy.stats.mannwhitneyu does with alternative="two-sided" and method="auto" (and benchstat to
// call a time difference significant). u is the U statistic of a: the number of pairs (a[i],
// b[j]) with a[i] > b[j], ties counting half. p is the two-sided p-value, from the exact
// distribution of U when both samples are smaller than 8 and no value is tied, otherwise from
// the normal approximation with tie correction and continuity correction; it is 1 when every
// value is tied. Both are NaN when a sample is empty or either holds a NaN. a and b are not
// modified.
func MannWhitneyU(a, b []float64) (u, p float64) {
	n1, n2 := len(a), len(b)
	if n1 == 0 || n2 == 0 || hasNaN(a) || hasNaN(b) {
		return math.NaN(), math.NaN()
	}
	all := make([]float64, n1+n2, 2*(n1+n2))
	copy(all, a)
	copy(all[n1:], b)
	r := all[len(all):cap(all)]
	tieTerm := ranks(r, all, make([]int, n1+n2))
	var r1 float64
	for i := 0; i < n1; i++ {
		r1 += r[i]
	}
	u1 := r1 - float64(n1*(n1+1))/2
	u2 := float64(n1*n2) - u1
	um := math.Max(u1, u2)
	if n1 < 8 && n2 < 8 && tieTerm == 0 {
		p = 2 * exactUpperTail(n1, n2, int(math.Round(um)))
	} else {
		n := float64(n1 + n2)
		mu := float64(n1*n2) / 2
		sigma := math.Sqrt(float64(n1*n2) / 12 * ((n + 1) - tieTerm/(n*(n-1))))
		if sigma == 0 {
			return u1, 1
		}
		z := (um - mu - 0.5) / sigma
		p = 2 * distuv.UnitNormal.Survival(z)
	}
	return u1, math.Min(p, 1)
}

// exactUpperTail returns P(U >= u) for samples of n1 and n2 untied values, by counting the
// arrangements of ranks that give each U (the recurrence f(n1, n2, u) = f(n1-1, n2, u-n2) +
// f(n1, n2-1, u)).
func exactUpperTail(n1, n2, u int) float64 {
	maxU := n1 * n2
	// f[i][j] is the count of U values for i and j items; a slice per u.
	f := make([][][]float64, n1+1)
	for i := range f {
		f[i] = make([][]float64, n2+1)
		for j := range f[i] {
			f[i][j] = make([]float64, maxU+1)
			if i == 0 || j == 0 {
				f[i][j][0] = 1
				continue
			}
			for v := 0; v <= i*j; v++ {
				var c float64
				if v-j >= 0 {
					c += f[i-1][j][v-j]
				}
				c += f[i][j-1][v]
				f[i][j][v] = c
			}
		}
	}
	var total, tail float64
	for v, c := range f[n1][n2] {
		total += c
		if v >= u {
			tail += c
		}
	}
	return tail / total
}

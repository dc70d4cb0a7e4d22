package stat

import "math"

// Pearson returns the Pearson correlation coefficient of a and b (scipy.stats.pearsonr's
// statistic). It is NaN when the slices are empty, when either is constant, or when either
// holds a NaN. It panics with "stat: slice length mismatch" if len(a) != len(b).
func Pearson(a, b []float64) float64 {
	if len(a) != len(b) {
		panic("stat: slice length mismatch")
	}
	n := float64(len(a))
	var ma, mb float64
	for i := range a {
		ma += a[i]
		mb += b[i]
	}
	ma /= n
	mb /= n
	var sab, saa, sbb float64
	for i := range a {
		da, db := a[i]-ma, b[i]-mb
		sab += da * db
		saa += da * da
		sbb += db * db
	}
	return sab / math.Sqrt(saa*sbb)
}

// Spearman returns the Spearman rank correlation of a and b: the Pearson correlation of their
// average ranks (scipy.stats.spearmanr's statistic). It is NaN when the slices are empty, when
// either is constant, or when either holds a NaN. It panics with "stat: slice length mismatch"
// if len(a) != len(b).
func Spearman(a, b []float64) float64 {
	if len(a) != len(b) {
		panic("stat: slice length mismatch")
	}
	n := len(a)
	r := make([]float64, 2*n)
	idx := make([]int, n)
	ra, rb := r[:n], r[n:]
	ranks(ra, a, idx)
	ranks(rb, b, idx)
	return Pearson(ra, rb)
}

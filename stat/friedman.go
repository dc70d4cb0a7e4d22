package stat

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// Friedman tests whether k algorithms measured on the same n datasets perform alike, as
// scipy.stats.friedmanchisquare does with one argument per algorithm (Demšar 2006, "Statistical
// Comparisons of Classifiers over Multiple Data Sets", JMLR 7, section 3.2.2). scores holds one
// row per dataset and one column per algorithm; a higher score is better. Within each row the
// algorithms are ranked from 1 (the highest score) to k, tied scores sharing the average of the
// ranks they span; meanRanks holds each algorithm's mean rank over the rows, so a smaller mean
// rank is better. chi2 is the Friedman statistic with scipy's correction for ties, and p its
// upper tail under the chi-square distribution with k-1 degrees of freedom (an approximation
// that Demšar finds fair for n > 10 and k > 5).
//
// chi2 and p are NaN when there are fewer than 2 rows or 2 columns, when a score is NaN, or when
// every row is tied throughout (the statistic is 0/0); meanRanks is nil when scores is empty
// and holds NaN for every algorithm when a score is NaN. Friedman panics with
// "stat: friedman: ragged scores" unless every row has the same length. scores is not modified.
func Friedman(scores [][]float64) (chi2, p float64, meanRanks []float64) {
	n := len(scores)
	if n == 0 {
		return math.NaN(), math.NaN(), nil
	}
	k := len(scores[0])
	for _, row := range scores {
		if len(row) != k {
			panic("stat: friedman: ragged scores")
		}
	}
	meanRanks = make([]float64, k)
	neg := make([]float64, k)
	r := make([]float64, k)
	idx := make([]int, k)
	var tie float64
	for _, row := range scores {
		// Ranking the negated scores gives rank 1 to the highest.
		for j, s := range row {
			neg[j] = -s
		}
		tie += ranks(r, neg, idx)
		for j := range r {
			meanRanks[j] += r[j]
		}
	}
	for j := range meanRanks {
		meanRanks[j] /= float64(n)
	}
	if n < 2 || k < 2 || math.IsNaN(tie) {
		return math.NaN(), math.NaN(), meanRanks
	}
	nf, kf := float64(n), float64(k)
	var ssr float64
	for _, m := range meanRanks {
		s := m * nf // rank sum
		ssr += s * s
	}
	chi2 = 12/(nf*kf*(kf+1))*ssr - 3*nf*(kf+1)
	c := 1 - tie/(nf*kf*(kf*kf-1))
	if c == 0 {
		return math.NaN(), math.NaN(), meanRanks
	}
	chi2 /= c
	if chi2 < 0 { // rounding when every algorithm has the same mean rank
		chi2 = 0
	}
	return chi2, distuv.ChiSquared{K: kf - 1}.Survival(chi2), meanRanks
}

// nemenyiQ holds q_alpha / sqrt(2), the upper alpha quantile of the studentized range of k
// means with infinite degrees of freedom divided by sqrt(2), for k = 2..10: Demšar 2006, Table
// 5(a), to three decimals; the values here are
// scipy.stats.studentized_range.ppf(1 - alpha, k, numpy.inf) / numpy.sqrt(2) with scipy 1.10.1.
var nemenyiQ = map[float64][9]float64{
	0.05: {1.9599639845400534, 2.343700586378409, 2.569031772546482, 2.7277743708703763, 2.8497054196100016,
		2.9483200175296744, 3.030878449614413, 3.1017303413033805, 3.163683577053373},
	0.10: {1.6448536269514722, 2.0522927304967755, 2.2913414968880566, 2.4595157642714183, 2.588520601922348,
		2.6927321009677594, 2.779883608152978, 2.8546064311980253, 2.9198888400615384},
}

// NemenyiCD returns the critical difference of the Nemenyi test (Demšar 2006, section 3.2.2):
// two of k algorithms ranked over n datasets perform significantly differently at level alpha
// when their mean ranks (Friedman's) differ by at least q_alpha * sqrt(k(k+1)/(6n)). It knows
// q_alpha for alpha 0.05 and 0.10 and k from 2 to 10 (Demšar's Table 5) and returns NaN
// otherwise, or when n < 1.
func NemenyiCD(k, n int, alpha float64) float64 {
	q, ok := nemenyiQ[alpha]
	if !ok || k < 2 || k > 10 || n < 1 {
		return math.NaN()
	}
	return q[k-2] * math.Sqrt(float64(k*(k+1))/(6*float64(n)))
}

package bench

import (
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/gonomaly/gonomaly/stat"
)

// Summary describes repeated measurements of one benchmark cell.
type Summary struct {
	N      int     `json:"n"`
	Median float64 `json:"median"`
	Mean   float64 `json:"mean"`
	StdDev float64 `json:"std_dev"` // sample standard deviation (n - 1)
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	// CILow and CIHigh bound a 95 % confidence interval of the mean (Student's t); both equal
	// the mean when N < 2.
	CILow  float64 `json:"ci_low"`
	CIHigh float64 `json:"ci_high"`
	// Outliers are the indices of measurements whose modified z-score
	// 0.6745 (x - median) / MAD exceeds 3.5 (Iglewicz and Hoaglin), as hyperfine flags them.
	Outliers []int `json:"outliers,omitempty"`
}

// Summarize computes the Summary of xs. It returns an error for no measurements or a value
// that is NaN or infinite.
func Summarize(xs []float64) (Summary, error) {
	n := len(xs)
	if n == 0 {
		return Summary{}, fmt.Errorf("bench: summarize: no measurements")
	}
	for i, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return Summary{}, fmt.Errorf("bench: summarize: measurement %d is %v", i, x)
		}
	}
	s := Summary{N: n, Min: slices.Min(xs), Max: slices.Max(xs), Median: stat.Median(xs)}
	for _, x := range xs {
		s.Mean += x
	}
	s.Mean /= float64(n)
	s.CILow, s.CIHigh = s.Mean, s.Mean
	if n >= 2 {
		var ss float64
		for _, x := range xs {
			ss += (x - s.Mean) * (x - s.Mean)
		}
		s.StdDev = math.Sqrt(ss / float64(n-1))
		t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(n - 1)}.Quantile(0.975)
		half := t * s.StdDev / math.Sqrt(float64(n))
		s.CILow, s.CIHigh = s.Mean-half, s.Mean+half
	}
	dev := make([]float64, n)
	for i, x := range xs {
		dev[i] = math.Abs(x - s.Median)
	}
	if mad := stat.Median(dev); mad > 0 {
		for i, x := range xs {
			if math.Abs(0.6745*(x-s.Median)/mad) > 3.5 {
				s.Outliers = append(s.Outliers, i)
			}
		}
	}
	return s, nil
}

// MannWhitney is the result of a two-sided Mann-Whitney U test of two samples.
type MannWhitney struct {
	U float64 `json:"u"` // U statistic of the first sample
	P float64 `json:"p"` // two-sided p-value
}

// MannWhitneyU tests whether two samples come from the same distribution, as benchstat does
// to call a time difference significant: stat.MannWhitneyU, which computes it as
// scipy.stats.mannwhitneyu does with method="auto" (the exact distribution of U when both
// samples are smaller than 8 and no value is tied, otherwise the normal approximation with tie
// correction and continuity correction). An empty sample or a NaN is an error.
func MannWhitneyU(a, b []float64) (MannWhitney, error) {
	n1, n2 := len(a), len(b)
	if n1 == 0 || n2 == 0 {
		return MannWhitney{}, fmt.Errorf("bench: Mann-Whitney U needs two non-empty samples, have %d and %d", n1, n2)
	}
	u, p := stat.MannWhitneyU(a, b)
	if math.IsNaN(p) {
		return MannWhitney{}, fmt.Errorf("bench: Mann-Whitney U: a sample holds NaN")
	}
	return MannWhitney{U: u, P: p}, nil
}

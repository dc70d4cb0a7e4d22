package bench

import (
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/stat/distuv"
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
	s := Summary{N: n, Min: slices.Min(xs), Max: slices.Max(xs), Median: median(xs)}
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
	if mad := median(dev); mad > 0 {
		for i, x := range xs {
			if math.Abs(0.6745*(x-s.Median)/mad) > 3.5 {
				s.Outliers = append(s.Outliers, i)
			}
		}
	}
	return s, nil
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// MannWhitney is the result of a two-sided Mann-Whitney U test of two samples.
type MannWhitney struct {
	U float64 `json:"u"` // U statistic of the first sample
	P float64 `json:"p"` // two-sided p-value
}

// MannWhitneyU tests whether two samples come from the same distribution, as benchstat does
// to call a time difference significant, and as scipy.stats.mannwhitneyu computes it with
// method="auto": the exact distribution of U when both samples are smaller than 8 and no value
// is tied, otherwise the normal approximation with tie correction and continuity correction.
func MannWhitneyU(a, b []float64) (MannWhitney, error) {
	n1, n2 := len(a), len(b)
	if n1 == 0 || n2 == 0 {
		return MannWhitney{}, fmt.Errorf("bench: Mann-Whitney U needs two non-empty samples, have %d and %d", n1, n2)
	}
	all := append(slices.Clone(a), b...)
	ranks, tieTerm := ranks(all)
	var r1 float64
	for i := 0; i < n1; i++ {
		r1 += ranks[i]
	}
	u1 := r1 - float64(n1*(n1+1))/2
	u2 := float64(n1*n2) - u1
	u := math.Max(u1, u2)
	var p float64
	if n1 < 8 && n2 < 8 && tieTerm == 0 {
		p = 2 * exactUpperTail(n1, n2, int(math.Round(u)))
	} else {
		n := float64(n1 + n2)
		mu := float64(n1*n2) / 2
		sigma := math.Sqrt(float64(n1*n2) / 12 * ((n + 1) - tieTerm/(n*(n-1))))
		if sigma == 0 {
			return MannWhitney{U: u1, P: 1}, nil
		}
		z := (u - mu - 0.5) / sigma
		p = 2 * distuv.UnitNormal.Survival(z)
	}
	return MannWhitney{U: u1, P: math.Min(p, 1)}, nil
}

// ranks returns average ranks (1-based) and the tie term sum(t^3 - t) over groups of ties.
func ranks(xs []float64) ([]float64, float64) {
	idx := make([]int, len(xs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(i, j int) int {
		switch {
		case xs[i] < xs[j]:
			return -1
		case xs[i] > xs[j]:
			return 1
		}
		return 0
	})
	r := make([]float64, len(xs))
	var tie float64
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && xs[idx[j]] == xs[idx[i]] {
			j++
		}
		for k := i; k < j; k++ {
			r[idx[k]] = float64(i+j+1) / 2
		}
		t := float64(j - i)
		tie += t*t*t - t
		i = j
	}
	return r, tie
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

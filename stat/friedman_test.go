package stat

import (
	"math"
	"testing"
)

// The Friedman references were computed with numpy 1.24.2 and scipy 1.10.1 (mean ranks rank the
// negated scores, so that 1 is the highest score):
//
//	import numpy as np, scipy.stats as ss
//	for m in [demsar, ties, small]:  # the matrices of the table below
//	    m = np.array(m)
//	    r = ss.friedmanchisquare(*m.T)
//	    print(repr(float(r.statistic)), repr(float(r.pvalue)),
//	          np.mean([ss.rankdata(-row) for row in m], axis=0).tolist())
//
// "demsar" is the first eight data sets and four classifiers of Demšar 2006, Table 6 (AUC of
// C4.5 with four settings).
func TestFriedman(t *testing.T) {
	for _, tc := range []struct {
		name      string
		scores    [][]float64
		chi2, p   float64
		meanRanks []float64
	}{
		{"demsar", [][]float64{
			{0.763, 0.768, 0.771, 0.798}, {0.599, 0.591, 0.590, 0.569}, {0.954, 0.971, 0.968, 0.967},
			{0.628, 0.661, 0.654, 0.657}, {0.882, 0.888, 0.886, 0.898}, {0.936, 0.931, 0.916, 0.931},
			{0.661, 0.668, 0.609, 0.685}, {0.583, 0.583, 0.563, 0.625},
		}, 5.653846153846143, 0.1297210622087862, []float64{2.9375, 2.0, 3.125, 1.9375}},
		{"ties", [][]float64{{1, 1, 2}, {3, 2, 1}, {2, 2, 2}, {5, 4, 3}, {0.5, 0.7, 0.7}},
			0.1428571428571449, 0.9310627797040218, []float64{1.9, 2.0, 2.1}},
		{"small", [][]float64{{0.9, 0.8, 0.7}, {0.85, 0.8, 0.6}},
			4.0, 0.1353352832366127, []float64{1, 2, 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			chi2, p, mr := Friedman(tc.scores)
			if !near(chi2, tc.chi2, 1e-12) || !near(p, tc.p, 1e-12) {
				t.Errorf("Friedman = %v, %v, want %v, %v (scipy friedmanchisquare)", chi2, p, tc.chi2, tc.p)
			}
			if len(mr) != len(tc.meanRanks) {
				t.Fatalf("mean ranks %v, want %v", mr, tc.meanRanks)
			}
			for j := range mr {
				if !near(mr[j], tc.meanRanks[j], 1e-12) {
					t.Errorf("mean ranks %v, want %v", mr, tc.meanRanks)
					break
				}
			}
		})
	}
}

func TestFriedmanDegenerate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		scores [][]float64
		ranks  int
	}{
		{"empty", nil, 0},
		{"one dataset", [][]float64{{1, 2, 3}}, 3},
		{"one algorithm", [][]float64{{1}, {2}}, 1},
		{"all tied", [][]float64{{1, 1}, {2, 2}}, 2},
		{"NaN", [][]float64{{1, math.NaN()}, {2, 1}}, 2},
	} {
		chi2, p, mr := Friedman(tc.scores)
		if !math.IsNaN(chi2) || !math.IsNaN(p) || len(mr) != tc.ranks {
			t.Errorf("%s: Friedman = %v, %v, %v; want NaN, NaN and %d ranks", tc.name, chi2, p, mr, tc.ranks)
		}
	}
	defer func() {
		if r := recover(); r != "stat: friedman: ragged scores" {
			t.Errorf("ragged scores: recovered %v", r)
		}
	}()
	Friedman([][]float64{{1, 2}, {1}})
}

// The critical differences are q_alpha * sqrt(k(k+1)/(6n)) with q_alpha from Demšar 2006,
// Table 5(a), which each value must match to 0.001 (CD = q when k(k+1) = 6n; the table
// truncates some values, and gives 2.949 where scipy's quantile is 2.94832 for k = 7), and
// Demšar's worked example in section 3.2.2 (k = 4, n = 14: CD = 2.569 * sqrt(20/84) = 1.25).
func TestNemenyiCD(t *testing.T) {
	table := map[float64][]float64{
		0.05: {1.960, 2.343, 2.569, 2.728, 2.850, 2.949, 3.031, 3.102, 3.164},
		0.10: {1.645, 2.052, 2.291, 2.459, 2.589, 2.693, 2.780, 2.855, 2.920},
	}
	for alpha, qs := range table {
		for i, q := range qs {
			k := i + 2
			cd := NemenyiCD(k, 1, alpha)
			got := cd / math.Sqrt(float64(k*(k+1))/6)
			if math.Abs(got-q) > 0.001 {
				t.Errorf("NemenyiCD(%d, 1, %v) gives q = %v, Demšar's Table 5 says %v", k, alpha, got, q)
			}
		}
	}
	if cd := NemenyiCD(4, 14, 0.05); math.Abs(cd-1.25) > 0.005 {
		t.Errorf("NemenyiCD(4, 14, 0.05) = %v, Demšar's example gives 1.25", cd)
	}
	for _, tc := range []struct {
		k, n  int
		alpha float64
	}{{1, 5, 0.05}, {11, 5, 0.05}, {3, 0, 0.05}, {3, 5, 0.01}} {
		if cd := NemenyiCD(tc.k, tc.n, tc.alpha); !math.IsNaN(cd) {
			t.Errorf("NemenyiCD(%d, %d, %v) = %v, want NaN", tc.k, tc.n, tc.alpha, cd)
		}
	}
}

package stat

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Reference values from numpy 1.24 and scipy 1.10 (Mann-Kendall and Pettitt written out from
// their definitions; Theil-Sen is scipy.stats.theilslopes):
//
//	def mk(x):
//	    x = np.asarray(x, float); n = len(x)
//	    s = sum(np.sign(x[j]-x[i]) for i in range(n-1) for j in range(i+1, n))
//	    _, c = np.unique(x, return_counts=True)
//	    v = (n*(n-1)*(2*n+5) - sum(t*(t-1)*(2*t+5) for t in c)) / 18
//	    z = (s-1)/np.sqrt(v) if s > 0 else ((s+1)/np.sqrt(v) if s < 0 else 0)
//	    return s, z, 2*stats.norm.sf(abs(z)), s/(n*(n-1)/2)
//	def pettitt(x):
//	    x = np.asarray(x, float); n = len(x)
//	    U = [sum(np.sign(x[i]-x[j]) for i in range(t+1) for j in range(t+1, n)) for t in range(n-1)]
//	    k = max(abs(u) for u in U)
//	    return int(np.argmax(np.abs(U)))+1, k, min(1, 2*np.exp(-6*k*k/(n**3+n**2)))
//	stats.theilslopes(y, np.arange(len(y)))
var trendCases = []struct {
	name                       string
	xs                         []float64
	s, z, p, tau, slope, icept float64
	at                         int
	k, pp                      float64
}{
	{"rising", []float64{1.2, 0.8, 1.9, 2.4, 2.1, 3.3, 3.0, 4.1, 4.4, 5.0},
		39, 3.3988233257996803, 0.0006767641801210457, 0.8666666666666667, 0.43333333333333335, 0.75, 5, 25, 0.06614250297660204},
	{"ties", []float64{3, 1, 3, 2, 3, 4, 4, 4, 5, 2, 6, 6},
		38, 2.5947614312776235, 0.009465659595764248, 0.5757575757575758, 0.3333333333333333, 1.6666666666666667, 5, 28, 0.16207868816564036},
	{"noise", []float64{0.3, -1.2, 0.8, 0.1, -0.4, 1.1, -0.9, 0.2, 0.5, -0.3, 0.0, 0.7},
		6, 0.34286274066187084, 0.7317017232242102, 0.09090909090909091, 0.03068181818181818, -0.01874999999999999, 2, 8, 1},
	{"shift", []float64{1, 1.2, 0.9, 1.1, 1.0, 3.1, 2.9, 3.2, 3.0, 3.3},
		28, 2.4246715773614613, 0.015322241055100737, 0.6222222222222222, 0.2999999999999998, 0.7000000000000006, 5, 25, 0.06614250297660204},
}

func trendNear(a, b float64) bool { return math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b)) }

func TestTrendAgainstReference(t *testing.T) {
	for _, tc := range trendCases {
		tr := MannKendall(tc.xs)
		if tr.S != tc.s || !trendNear(tr.Z, tc.z) || !trendNear(tr.P, tc.p) || !trendNear(tr.Tau, tc.tau) {
			t.Errorf("%s: MannKendall = %+v, want S %v Z %v P %v tau %v", tc.name, tr, tc.s, tc.z, tc.p, tc.tau)
		}
		slope, icept := TheilSen(nil, tc.xs)
		if !trendNear(slope, tc.slope) || !trendNear(icept, tc.icept) {
			t.Errorf("%s: TheilSen = %v, %v, want %v, %v", tc.name, slope, icept, tc.slope, tc.icept)
		}
		cp := Pettitt(tc.xs)
		if cp.At != tc.at || cp.K != tc.k || !trendNear(cp.P, tc.pp) {
			t.Errorf("%s: Pettitt = %+v, want at %d K %v P %v", tc.name, cp, tc.at, tc.k, tc.pp)
		}
	}
	// scipy.stats.theilslopes([1, 3, 2, 4, 11], [0, 1, 1, 2, 5]) = (2.0, 1.0, ...): pairs of
	// equal x are left out.
	if s, i := TheilSen([]float64{0, 1, 1, 2, 5}, []float64{1, 3, 2, 4, 11}); s != 2 || i != 1 {
		t.Errorf("TheilSen with repeated x = %v, %v, want 2, 1", s, i)
	}
}

func TestTrendEdgeCases(t *testing.T) {
	for _, xs := range [][]float64{nil, {1}, {1, 2}, {1, math.NaN(), 3}} {
		if tr := MannKendall(xs); !math.IsNaN(tr.P) {
			t.Errorf("MannKendall(%v) = %+v, want NaN", xs, tr)
		}
		if cp := Pettitt(xs); !math.IsNaN(cp.P) {
			t.Errorf("Pettitt(%v) = %+v, want NaN", xs, cp)
		}
	}
	if tr := MannKendall([]float64{4, 4, 4, 4}); tr.S != 0 || tr.P != 1 {
		t.Errorf("constant series: %+v, want S 0, P 1", tr)
	}
	if s, _ := TheilSen([]float64{1, 1, 1}, []float64{1, 2, 3}); !math.IsNaN(s) {
		t.Errorf("TheilSen with one x: %v, want NaN", s)
	}
}

// The trend test is calibrated, not asserted once: on pure noise it reports a trend at about
// its nominal rate, and it finds a planted trend of a stated size almost always. The figures
// are in BENCHMARKS.md (go test -run TestTrendCalibration -v ./stat/).
func TestTrendCalibration(t *testing.T) {
	const (
		seeds = 1000
		n     = 50
		alpha = 0.05
		slope = 0.04 // per step, in standard deviations of the noise: 2 sd over the series
	)
	falseAlarms, found, changes := 0, 0, 0
	xs := make([]float64, n)
	for seed := range uint64(seeds) {
		r := rand.New(rand.NewPCG(seed, 7))
		for i := range xs {
			xs[i] = r.NormFloat64()
		}
		if MannKendall(xs).P < alpha {
			falseAlarms++
		}
		if Pettitt(xs).P < alpha {
			changes++
		}
		for i := range xs {
			xs[i] += slope * float64(i)
		}
		if MannKendall(xs).P < alpha {
			found++
		}
	}
	fp, power, cpFP := float64(falseAlarms)/seeds, float64(found)/seeds, float64(changes)/seeds
	t.Logf("Mann-Kendall at alpha %.2f over %d seeds of n=%d: false alarms on noise %.1f %%, planted trend of %.2f sd/step found %.1f %%; Pettitt false alarms on noise %.1f %%",
		alpha, seeds, n, 100*fp, slope, 100*power, 100*cpFP)
	// 1000 Bernoulli(0.05) draws: the rate lies within 0.05 +- 0.02 with probability > 0.998.
	if fp > alpha+0.02 {
		t.Errorf("false alarm rate %.3f on pure noise, nominal %.2f", fp, alpha)
	}
	if power < 0.90 {
		t.Errorf("a planted trend of %.2f sd/step found in %.1f %% of seeds, want at least 90 %%", slope, 100*power)
	}
	if cpFP > alpha+0.02 {
		t.Errorf("Pettitt's false alarm rate %.3f on pure noise, nominal %.2f", cpFP, alpha)
	}
}

func BenchmarkMannKendall(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	xs := make([]float64, 1000)
	for i := range xs {
		xs[i] = r.NormFloat64()
	}
	b.ReportAllocs()
	for b.Loop() {
		MannKendall(xs)
	}
}

func BenchmarkTheilSen(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	xs := make([]float64, 1000)
	for i := range xs {
		xs[i] = r.NormFloat64()
	}
	b.ReportAllocs()
	for b.Loop() {
		TheilSen(nil, xs)
	}
}

package stat

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
)

// The reference values below were computed with numpy 1.24.2 and scipy 1.10.1 by this script
// (each want is the repr of the printed value):
//
//	import numpy as np
//	from scipy import stats
//	for a, b in [([1, 2, 3], [4, 5, 6, 7]), ([1.1, 2.5, 3.3, 4.8, 5.0], [0.9, 2.0, 3.9, 4.1, 6.2, 7.7]),
//	             ([0.1, 0.4, 0.35, 0.8, 0.9, 0.05, 0.6], [0.3, 0.2, 0.7, 0.95, 1.2, 1.1, 0.85]),
//	             ([1, 2, 2, 3, 3, 3], [2, 3, 3, 4, 4]), ([1, 2, 3, 4], [1, 2, 3, 4]), ([1], [2]),
//	             ([0, 2, 5, 6, 8], [1, 3, 4, 7, 9])]:
//	    r = stats.ks_2samp(a, b)
//	    print("ks", repr(float(r.statistic)), repr(float(r.pvalue)))
//	def seq(n, c, scale, shift): return (np.arange(1, n+1)*c % 1.0)*scale + shift
//	for n1, n2, scale, shift in [(5, 7, 1, 0), (10, 15, 1, 0.2), (30, 45, 1.1, 0), (100, 250, 1, 0.05),
//	                             (1000, 1500, 1, 0.02), (3000, 10000, 1.05, 0), (10000, 9999, 1, 0.01),
//	                             (400, 400, 1, 0.1), (12000, 300, 1, 0.1), (20000, 20000, 1, 0.01)]:
//	    r = stats.ks_2samp(seq(n1, 0.6180339887498949, 1, 0), seq(n2, 0.4142135623730951, scale, shift))
//	    print("ks seq", repr(float(r.statistic)), repr(float(r.pvalue)))
//	def psi(e, a, bins):
//	    ed = np.quantile(e, np.arange(1, bins)/bins)
//	    ce = np.bincount(np.searchsorted(ed, e, side='left'), minlength=bins)
//	    ca = np.bincount(np.searchsorted(ed, a, side='left'), minlength=bins)
//	    pe, pa = ce/ce.sum(), ca/ca.sum()
//	    pe, pa = np.where(pe == 0, 1e-4, pe), np.where(pa == 0, 1e-4, pa)
//	    return float(np.sum((pa-pe)*np.log(pa/pe))), list(ed), list(ce), list(ca)
//	for e, a, bins in [(range(1, 21), range(6, 26), 4), (range(1, 11), range(1, 11), 5),
//	                   ([1, 2, 3, 4, 5, 6, 7, 8], [1, 1, 2, 2, 2, 3], 4),
//	                   ([0, 0, 0, 0, 1, 2, 3, 4], [0, 0, 1, 1, 2, 2, 3, 3], 4)]:
//	    print("psi", *psi(np.array(e), np.array(a), bins))
//	for k, n, p in [(3, 15, 0.1), (7, 20, 0.5), (0, 10, 0.3), (10, 10, 0.3), (5, 10, 0.5), (2, 9, 0.25),
//	                (9, 40, 0.1), (1, 100, 0.05), (60, 1000, 0.05), (30, 1000, 0.05), (4950, 10000, 0.5),
//	                (510, 100000, 0.005), (0, 5, 0), (3, 5, 1), (5, 5, 1), (1, 3, 1/3)]:
//	    print("binom", repr(stats.binomtest(k, n, p).pvalue))

// ksSeq returns n values of the low-discrepancy sequence frac(i c), i = 1..n, scaled and
// shifted: a sample both Go and numpy compute bit for bit.
func ksSeq(n int, c, scale, shift float64) []float64 {
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = math.Mod(float64(i+1)*c, 1)*scale + shift
	}
	return xs
}

func TestKS2(t *testing.T) {
	for _, tc := range []struct {
		a, b    []float64
		d, p    float64
		pTol    float64
		comment string
	}{
		{a: []float64{1, 2, 3}, b: []float64{4, 5, 6, 7}, d: 1, p: 0.05714285714285715},
		{a: []float64{1.1, 2.5, 3.3, 4.8, 5.0}, b: []float64{0.9, 2.0, 3.9, 4.1, 6.2, 7.7}, d: 0.3333333333333333, p: 0.8181818181818182},
		{a: []float64{0.1, 0.4, 0.35, 0.8, 0.9, 0.05, 0.6}, b: []float64{0.3, 0.2, 0.7, 0.95, 1.2, 1.1, 0.85}, d: 0.42857142857142855, p: 0.5751748251748252},
		{a: []float64{1, 2, 2, 3, 3, 3}, b: []float64{2, 3, 3, 4, 4}, d: 0.4, p: 0.6883116883116883, comment: "ties across the samples"},
		{a: []float64{1, 2, 3, 4}, b: []float64{1, 2, 3, 4}, d: 0, p: 1, comment: "identical samples"},
		{a: []float64{1}, b: []float64{2}, d: 1, p: 1},
		// The exact sum comes out a rounding above 1, and scipy falls back to kstwo.sf.
		{a: []float64{0, 2, 5, 6, 8}, b: []float64{1, 3, 4, 7, 9}, d: 0.2, p: 1},
	} {
		ca, cb := slices.Clone(tc.a), slices.Clone(tc.b)
		d, p := KS2(tc.a, tc.b)
		if !near(d, tc.d, 1e-14) || !near(p, tc.p, 1e-12) {
			t.Errorf("KS2(%v, %v) = %v, %v, want %v, %v (scipy) %s", tc.a, tc.b, d, p, tc.d, tc.p, tc.comment)
		}
		unchanged(t, "KS2", tc.a, ca)
		unchanged(t, "KS2", tc.b, cb)
		// The test is symmetric.
		if d2, p2 := KS2(tc.b, tc.a); d2 != d || !near(p2, p, 1e-14) {
			t.Errorf("KS2(b, a) = %v, %v, want %v, %v", d2, p2, d, p)
		}
	}
}

func TestKS2Sequences(t *testing.T) {
	for _, tc := range []struct {
		n1, n2       int
		scale, shift float64
		d, p, pTol   float64
	}{
		{5, 7, 1, 0, 0.2571428571428571, 0.9595959595959594, 1e-12},
		{10, 15, 1, 0.2, 0.3333333333333333, 0.4622731555696962, 1e-12},
		{30, 45, 1.1, 0, 0.1111111111111111, 0.968424410502918, 1e-12},
		{100, 250, 1, 0.05, 0.064, 0.9172159547016903, 1e-12},
		{1000, 1500, 1, 0.02, 0.022, 0.9291935778749545, 1e-12},
		{3000, 10000, 1.05, 0, 0.04783333333333333, 5.011472847435882e-05, 1e-12},
		{10000, 9999, 1, 0.01, 0.010437803780378037, 0.6418427250984978, 1e-12},
		{400, 400, 1, 0.1, 0.105, 0.02424717195471133, 1e-12},
		// Beyond 10000 values: kstwo.sf(d, round(en)).
		{12000, 300, 1, 0.1, 0.10533333333333333, 0.0027664432755788886, 1e-9},
		{20000, 20000, 1, 0.01, 0.010150000000000006, 0.25256211511281434, 1e-9},
	} {
		a := ksSeq(tc.n1, 0.6180339887498949, 1, 0)
		b := ksSeq(tc.n2, 0.4142135623730951, tc.scale, tc.shift)
		d, p := KS2(a, b)
		if !near(d, tc.d, 1e-14) || math.Abs(p-tc.p) > tc.pTol*tc.p {
			t.Errorf("KS2 of sequences of %d and %d = %v, %v, want %v, %v (scipy, relative tolerance %g)",
				tc.n1, tc.n2, d, p, tc.d, tc.p, tc.pTol)
		}
	}
}

func TestKS2Undefined(t *testing.T) {
	for _, tc := range []struct{ a, b []float64 }{
		{nil, []float64{1}},
		{[]float64{1}, []float64{}},
		{[]float64{1, math.NaN()}, []float64{1, 2}},
		{[]float64{1, 2}, []float64{math.NaN()}},
	} {
		if d, p := KS2(tc.a, tc.b); !math.IsNaN(d) || !math.IsNaN(p) {
			t.Errorf("KS2(%v, %v) = %v, %v, want NaN, NaN", tc.a, tc.b, d, p)
		}
	}
}

// TestKS2Tails checks the exact p-value against a count of all splits of a small pooled sample:
// P(D >= d) is the share of the C(n1+n2, n1) ways to draw a that give a statistic at least d.
func TestKS2Tails(t *testing.T) {
	for _, sz := range [][2]int{{3, 5}, {4, 6}, {5, 5}, {2, 7}, {6, 4}} {
		n1, n2 := sz[0], sz[1]
		n := n1 + n2
		var ds []float64
		for mask := 0; mask < 1<<n; mask++ {
			if popcount(mask) != n1 {
				continue
			}
			a, b := splitByMask(mask, n1, n)
			d, _ := KS2(a, b)
			ds = append(ds, d)
		}
		for mask := 0; mask < 1<<n; mask += 7 {
			if popcount(mask) != n1 {
				continue
			}
			a, b := splitByMask(mask, n1, n)
			d, p := KS2(a, b)
			var atLeast int
			for _, v := range ds {
				if v >= d-1e-12 {
					atLeast++
				}
			}
			if want := float64(atLeast) / float64(len(ds)); !near(p, want, 1e-12) {
				t.Errorf("KS2(%v, %v) p = %v, want %v (%d of %d splits)", a, b, p, want, atLeast, len(ds))
			}
		}
	}
}

func TestKstwoSurvival(t *testing.T) {
	// {n, x, repr(scipy.stats.kstwo.sf(x, n))} with scipy 1.10.1 (x = c/sqrt(n) for c in 0.3, 0.8,
	// 1.0, 1.3, 1.6, 2.1, 3, or 0.6, 0.9), and the tolerance on the
	// absolute difference: scipy's Durbin matrix and Pomeranz branches are replaced by Pelz-Good.
	for _, tc := range []struct{ n, x, want, tol float64 }{
		{3, 0.46188021535170065, 0.42742725890488853, 2e-2},
		{3, 0.5773502691896258, 0.17863279495408166, 1e-15},
		{3, 0.9, 0.0019999999999999987, 1e-15},
		{20, 0.17888543819998318, 0.48908495494245874, 1e-4},
		{20, 0.4695742752749558, 0.00014473255470765935, 1e-15},
		{141, 0.025264557631995567, 0.9999737264249865, 1e-6},
		{141, 0.13474430737064305, 0.010782502579705781, 1e-14},
		{293, 0.07594681091880819, 0.06461165413998637, 1e-14},
		{293, 0.12268330994576707, 0.0002660060249646581, 1e-15},
		{1000, 0.03162277660168379, 0.2644092421903177, 1e-14},
		{1000, 0.09486832980505139, 2.7683606440184413e-08, 1e-19},
		{10000, 0.016, 0.011823127020348706, 1e-13},
		{100000, 0.005059644256269407, 0.01191158659878191, 1e-11},
		{100000, 0.6, 0, 0},
	} {
		if got := kstwoSurvival(int(tc.n), tc.x); math.Abs(got-tc.want) > tc.tol {
			t.Errorf("kstwoSurvival(%v, %v) = %v, want %v ± %v", tc.n, tc.x, got, tc.want, tc.tol)
		}
	}
}

func TestPSI(t *testing.T) {
	seq := func(lo, hi int) []float64 {
		var xs []float64
		for i := lo; i <= hi; i++ {
			xs = append(xs, float64(i))
		}
		return xs
	}
	for _, tc := range []struct {
		name             string
		expected, actual []float64
		bins             int
		want             float64
		edges, ce, ca    []float64
	}{
		{"shift", seq(1, 20), seq(6, 25), 4, 2.1285158932529735,
			[]float64{5.75, 10.5, 15.25}, []float64{5, 5, 5, 5}, []float64{0, 5, 5, 10}},
		{"same", seq(1, 10), seq(1, 10), 5, 0,
			[]float64{2.8, 4.6, 6.3999999999999995, 8.2}, []float64{2, 2, 2, 2, 2}, []float64{2, 2, 2, 2, 2}},
		{"empty bins", seq(1, 8), []float64{1, 1, 2, 2, 2, 3}, 4, 4.646564424425118,
			[]float64{2.75, 4.5, 6.25}, []float64{2, 2, 2, 2}, []float64{5, 1, 0, 0}},
		{"ties on the edges", []float64{0, 0, 0, 0, 1, 2, 3, 4}, []float64{0, 0, 1, 1, 2, 2, 3, 3}, 4, 0.34657359027997264,
			[]float64{0, 0.5, 2.25}, []float64{4, 0, 2, 2}, []float64{2, 0, 4, 2}},
	} {
		ce, ca := slices.Clone(tc.expected), slices.Clone(tc.actual)
		if got := PSI(tc.expected, tc.actual, tc.bins); !near(got, tc.want, 1e-13) {
			t.Errorf("%s: PSI = %v, want %v (numpy)", tc.name, got, tc.want)
		}
		unchanged(t, "PSI", tc.expected, ce)
		unchanged(t, "PSI", tc.actual, ca)
		edges := QuantileEdges(nil, tc.expected, tc.bins)
		if !slices.EqualFunc(edges, tc.edges, func(a, b float64) bool { return near(a, b, 1e-15) }) {
			t.Errorf("%s: QuantileEdges = %v, want %v", tc.name, edges, tc.edges)
		}
		e, a := BinCounts(nil, edges, tc.expected), BinCounts(nil, edges, tc.actual)
		if !slices.Equal(e, tc.ce) || !slices.Equal(a, tc.ca) {
			t.Errorf("%s: BinCounts = %v, %v, want %v, %v", tc.name, e, a, tc.ce, tc.ca)
		}
		if got := PSIFromCounts(e, a); !near(got, tc.want, 1e-13) {
			t.Errorf("%s: PSIFromCounts = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestPSIUndefined(t *testing.T) {
	for _, tc := range []struct{ e, a []float64 }{
		{nil, []float64{1}},
		{[]float64{1}, nil},
		{[]float64{1, math.NaN()}, []float64{1}},
		{[]float64{1}, []float64{math.NaN()}},
	} {
		if got := PSI(tc.e, tc.a, 4); !math.IsNaN(got) {
			t.Errorf("PSI(%v, %v) = %v, want NaN", tc.e, tc.a, got)
		}
	}
	if got := PSIFromCounts([]float64{0, 0}, []float64{1, 2}); !math.IsNaN(got) {
		t.Errorf("PSIFromCounts with no expected values = %v, want NaN", got)
	}
	if got := PSIFromCounts(nil, nil); !math.IsNaN(got) {
		t.Errorf("PSIFromCounts(nil, nil) = %v, want NaN", got)
	}
	// One bin holds everything: both shares are 1.
	if got := PSI([]float64{1, 2, 3}, []float64{7, 8}, 1); got != 0 {
		t.Errorf("PSI with one bin = %v, want 0", got)
	}
	if got := BinCounts(nil, []float64{1, 2}, []float64{math.NaN(), 0, 1, 1.5, 2, 3}); !slices.Equal(got, []float64{2, 2, 1}) {
		t.Errorf("BinCounts skipping NaN = %v, want [2 2 1]", got)
	}
}

func TestBinomialTest(t *testing.T) {
	for _, tc := range []struct {
		k, n int
		p    float64
		want float64
	}{
		{3, 15, 0.1, 0.18406106910639106},
		{7, 20, 0.5, 0.26317596435546875},
		{0, 10, 0.3, 0.0388396033},
		{10, 10, 0.3, 5.9048999999999975e-06},
		{5, 10, 0.5, 1},
		{2, 9, 0.25, 1},
		{9, 40, 0.1, 0.015495305414444483},
		{1, 100, 0.05, 0.06526950349077115},
		{60, 1000, 0.05, 0.14654705743676558},
		{30, 1000, 0.05, 0.0028186552844724723},
		{4950, 10000, 0.5, 0.32217419979531386},
		{510, 100000, 0.005, 0.6538566221385682},
		{0, 5, 0, 1},
		{3, 5, 1, 0},
		{5, 5, 1, 1},
		{1, 3, 1.0 / 3, 1},
	} {
		if got := BinomialTest(tc.k, tc.n, tc.p); math.Abs(got-tc.want) > 1e-9*tc.want {
			t.Errorf("BinomialTest(%d, %d, %v) = %v, want %v (scipy)", tc.k, tc.n, tc.p, got, tc.want)
		}
	}
	if got := BinomialTest(0, 0, 0.5); !math.IsNaN(got) {
		t.Errorf("BinomialTest(0, 0, 0.5) = %v, want NaN", got)
	}
}

func TestDriftPanics(t *testing.T) {
	for _, tc := range []struct {
		name, msg string
		f         func()
	}{
		{"PSI bins", "stat: psi bins < 1", func() { PSI([]float64{1}, []float64{1}, 0) }},
		{"QuantileEdges bins", "stat: psi bins < 1", func() { QuantileEdges(nil, []float64{1}, 0) }},
		{"QuantileEdges dst", "stat: quantile edges: dst length mismatch", func() { QuantileEdges(make([]float64, 4), []float64{1}, 4) }},
		{"BinCounts dst", "stat: bin counts: dst length mismatch", func() { BinCounts(make([]float64, 2), []float64{1, 2}, nil) }},
		{"PSIFromCounts lengths", "stat: slice length mismatch", func() { PSIFromCounts([]float64{1}, []float64{1, 2}) }},
		{"PSIFromCounts negative", "stat: psi negative count", func() { PSIFromCounts([]float64{1, -1}, []float64{1, 2}) }},
		{"BinomialTest k", "stat: binomial test k out of [0, n]", func() { BinomialTest(6, 5, 0.5) }},
		{"BinomialTest negative k", "stat: binomial test k out of [0, n]", func() { BinomialTest(-1, 5, 0.5) }},
		{"BinomialTest p", "stat: binomial test p out of [0, 1]", func() { BinomialTest(1, 5, 1.5) }},
		{"BinomialTest NaN p", "stat: binomial test p out of [0, 1]", func() { BinomialTest(1, 5, math.NaN()) }},
	} {
		func() {
			defer func() {
				r := recover()
				if s, ok := r.(string); !ok || !strings.HasPrefix(s, tc.msg) {
					t.Errorf("%s: panic %v, want %q", tc.name, r, tc.msg)
				}
			}()
			tc.f()
		}()
	}
}

func TestBinCountsAllocs(t *testing.T) {
	xs := sample(1000, 9)
	edges := QuantileEdges(nil, xs, 10)
	dst := make([]float64, 10)
	if n := testing.AllocsPerRun(10, func() { BinCounts(dst, edges, xs) }); n != 0 {
		t.Errorf("BinCounts with dst allocates %v times, want 0", n)
	}
}

func BenchmarkKS2(b *testing.B) {
	for _, n := range []int{100, 1000, 10_000, 100_000} {
		xa, xb := sample(n, 3), sample(n+n/3, 4)
		for i := range xb {
			xb[i] += 0.05
		}
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sink, _ = KS2(xa, xb)
			}
		})
	}
}

func BenchmarkPSI(b *testing.B) {
	for _, n := range []int{1000, 100_000} {
		e, a := sample(n, 5), sample(n, 6)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sink = PSI(e, a, 10)
			}
		})
	}
}

func BenchmarkBinCounts(b *testing.B) {
	xs := sample(100_000, 7)
	edges := QuantileEdges(nil, xs, 10)
	dst := make([]float64, 10)
	b.ReportAllocs()
	for b.Loop() {
		BinCounts(dst, edges, xs)
	}
}

func BenchmarkBinomialTest(b *testing.B) {
	for _, n := range []int{100, 100_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sink = BinomialTest(n/20+n/100, n, 0.05)
			}
		})
	}
}

// splitByMask splits 0..n-1 into the n1 values whose bit is set in mask and the rest.
func splitByMask(mask, n1, n int) (a, b []float64) {
	a, b = make([]float64, 0, n1), make([]float64, 0, n-n1)
	for i := range n {
		if mask&(1<<i) != 0 {
			a = append(a, float64(i))
		} else {
			b = append(b, float64(i))
		}
	}
	return a, b
}

// The reference values of KSFromCounts were computed with numpy 1.24.2 and scipy 1.10.1 from
// samples that put count values at each bin's index, so that every value is its own bin:
//
//	for ce, ca in [([3,3,3,3],[0,2,4,6]), ([10,20,30,40],[40,30,20,10]), ([5,0,5,0,5],[1,2,3,4,5]),
//	               ([100]*10, [90,95,100,105,110,100,100,100,100,100]),
//	               ([1000]*20, [1200,1100]+[1000]*16+[900,800]),
//	               ([50]*100, [60]*50+[40]*50), ([7], [9]), ([0,4,0],[2,0,2]), ([3,1],[1,3])]:
//	    a = np.repeat(np.arange(len(ce)), ce); b = np.repeat(np.arange(len(ca)), ca)
//	    r = stats.ks_2samp(a, b, method='asymp')
//	    print(repr(float(r.statistic)), repr(float(r.pvalue)))
func TestKSFromCounts(t *testing.T) {
	rep := func(v float64, n int) []float64 {
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = v
		}
		return xs
	}
	cat := func(parts ...[]float64) []float64 { return slices.Concat(parts...) }
	for _, tc := range []struct {
		e, a []float64
		d, p float64
		pTol float64 // relative; kstwoSurvival's documented agreement with scipy where en is small or p near 1
	}{
		{[]float64{3, 3, 3, 3}, []float64{0, 2, 4, 6}, 0.33333333333333337, 0.42343964334705064, 1e-2},
		{[]float64{10, 20, 30, 40}, []float64{40, 30, 20, 10}, 0.39999999999999997, 9.863563364410107e-08, 1e-9},
		{[]float64{5, 0, 5, 0, 5}, []float64{1, 2, 3, 4, 5}, 0.26666666666666666, 0.5352310689271202, 1e-2},
		{rep(100, 10), []float64{90, 95, 100, 105, 110, 100, 100, 100, 100, 100}, 0.015000000000000013, 0.9998021489360925, 1e-6},
		{rep(1000, 20), cat([]float64{1200, 1100}, rep(1000, 16), []float64{900, 800}), 0.015000000000000013, 0.021994157424192338, 1e-9},
		{rep(50, 100), cat(rep(60, 50), rep(40, 50)), 0.09999999999999998, 3.241076275142125e-22, 1e-9},
		{[]float64{7}, []float64{9}, 0, 1, 0},
		{[]float64{0, 4, 0}, []float64{2, 0, 2}, 0.5, 0.5, 1e-12},
		{[]float64{3, 1}, []float64{1, 3}, 0.5, 0.5, 1e-12},
	} {
		ce, ca := slices.Clone(tc.e), slices.Clone(tc.a)
		d, p := KSFromCounts(tc.e, tc.a)
		if !near(d, tc.d, 1e-15) || math.Abs(p-tc.p) > tc.pTol*tc.p {
			t.Errorf("KSFromCounts(%v, %v) = %v, %v, want %v, %v (scipy ks_2samp asymp, tolerance %g)", tc.e, tc.a, d, p, tc.d, tc.p, tc.pTol)
		}
		unchanged(t, "KSFromCounts", tc.e, ce)
		unchanged(t, "KSFromCounts", tc.a, ca)
		if d2, p2 := KSFromCounts(tc.a, tc.e); d2 != d || p2 != p {
			t.Errorf("KSFromCounts(a, e) = %v, %v, want %v, %v", d2, p2, d, p)
		}
	}
	for _, tc := range []struct{ e, a []float64 }{
		{[]float64{0, 0}, []float64{1, 2}},
		{[]float64{1, 2}, []float64{0, 0}},
		{nil, nil},
		{[]float64{1, math.NaN()}, []float64{1, 2}},
	} {
		if d, p := KSFromCounts(tc.e, tc.a); !math.IsNaN(d) || !math.IsNaN(p) {
			t.Errorf("KSFromCounts(%v, %v) = %v, %v, want NaN, NaN", tc.e, tc.a, d, p)
		}
	}
	if n := testing.AllocsPerRun(10, func() { KSFromCounts(rep(1, 10), rep(2, 10)) }); n > 2 {
		t.Errorf("KSFromCounts allocates %v times, want none beyond its arguments", n)
	}
}

// TestKSFromCountsMatchesKS2: when every value of either sample is its own bin (the edges are
// the distinct values), KSFromCounts finds KS2's statistic, and beyond 10000 values, where KS2
// uses the asymptotic distribution too, its p-value; over coarser bins d is a lower bound.
func TestKSFromCountsMatchesKS2(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, tc := range []struct {
		n1, n2   int
		discrete bool // values from a small set: ties within and across the samples
		shift    float64
	}{
		{30, 45, false, 0.3}, {500, 700, true, 0.1}, {2000, 1500, false, 0.05},
		{12000, 15000, false, 0.02}, {20000, 11000, true, 0.01}, {15000, 15000, false, 0},
	} {
		draw := func(n int, shift float64) []float64 {
			xs := make([]float64, n)
			for i := range xs {
				xs[i] = rng.NormFloat64() + shift
				if tc.discrete {
					xs[i] = math.Round(4 * xs[i])
				}
			}
			return xs
		}
		a, b := draw(tc.n1, 0), draw(tc.n2, tc.shift)
		edges := slices.Compact(slices.Sorted(slices.Values(slices.Concat(a, b))))
		edges = edges[:len(edges)-1]
		ca, cb := BinCounts(nil, edges, a), BinCounts(nil, edges, b)
		d, p := KSFromCounts(ca, cb)
		sa, sb := slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b))
		if want := ksStatistic(sa, sb); !near(d, want, 1e-14) {
			t.Errorf("%d and %d values, each its own bin: d = %v, KS2's statistic %v", tc.n1, tc.n2, d, want)
		}
		if max(tc.n1, tc.n2) > ksExactMaxN {
			if d2, p2 := KS2(a, b); !near(d, d2, 1e-14) || !near(p, p2, 1e-12) {
				t.Errorf("%d and %d values: KSFromCounts %v, %v, KS2 %v, %v", tc.n1, tc.n2, d, p, d2, p2)
			}
		}
		coarse := QuantileEdges(nil, a, 10)
		if dc, _ := KSFromCounts(BinCounts(nil, coarse, a), BinCounts(nil, coarse, b)); dc > d+1e-14 {
			t.Errorf("%d and %d values: 10 bins give d = %v, above the exact %v", tc.n1, tc.n2, dc, d)
		}
	}
}

// TestHistogram: Bin is sort.SearchFloat64s, and SortedHistogram and NewHistogram give
// QuantileEdges and BinCounts, ties and constant samples included.
func TestHistogram(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, xs := range [][]float64{
		sample(1000, 3),                // a quarter repeats
		{4, 4, 4, 4, 4},                // constant: every edge 4, everything in bin 0
		{7},                            // one value
		{1, 1, 1, 2, 2, 3, 9, 9, 9, 9}, // discrete
		{-math.MaxFloat64, 0, math.MaxFloat64, 1, 2, 3},
	} {
		for _, bins := range []int{1, 2, 4, 20, 100} {
			s := slices.Sorted(slices.Values(xs))
			h := SortedHistogram(s, bins)
			edges := QuantileEdges(nil, xs, bins)
			if !slices.Equal(h.Edges, edges) || !slices.Equal(h.Counts, BinCounts(nil, edges, xs)) {
				t.Errorf("SortedHistogram(%d values, %d) = %v, %v, want %v, %v", len(xs), bins, h.Edges, h.Counts, edges, BinCounts(nil, edges, xs))
			}
			if h.Total() != float64(len(xs)) {
				t.Errorf("total %v, want %d", h.Total(), len(xs))
			}
			if h2 := NewHistogram(append(slices.Clone(xs), math.NaN()), bins); !slices.Equal(h2.Edges, h.Edges) || !slices.Equal(h2.Counts, h.Counts) {
				t.Errorf("NewHistogram(%d values and a NaN, %d) = %v, %v, want %v, %v", len(xs), bins, h2.Edges, h2.Counts, h.Edges, h.Counts)
			}
			probes := []float64{math.Inf(-1), math.Inf(1), math.NaN(), -1e300, 1e300}
			for _, e := range h.Edges {
				probes = append(probes, e, math.Nextafter(e, math.Inf(1)), math.Nextafter(e, math.Inf(-1)))
			}
			for range 100 {
				probes = append(probes, 3*rng.NormFloat64())
			}
			for _, x := range probes {
				if got, want := h.Bin(x), sort.SearchFloat64s(h.Edges, x); got != want {
					t.Errorf("Bin(%v) over %v = %d, sort.SearchFloat64s %d", x, h.Edges, got, want)
				}
			}
		}
	}
	h := NewHistogram([]float64{math.NaN()}, 3)
	if len(h.Edges) != 2 || !math.IsNaN(h.Edges[0]) || h.Total() != 0 {
		t.Errorf("NewHistogram of a NaN = %v", h)
	}
	xs := sample(500, 8)
	if n := testing.AllocsPerRun(10, func() { h.Bin(xs[0]) }); n != 0 {
		t.Errorf("Bin allocates %v times", n)
	}
	s := slices.Sorted(slices.Values(xs))
	for _, q := range []float64{0, 0.1, 0.5, 0.9, 0.999, 1} {
		if got, want := SortedQuantile(s, q), Quantile(xs, q); got != want {
			t.Errorf("SortedQuantile(%v) = %v, Quantile %v", q, got, want)
		}
	}
	if !math.IsNaN(SortedQuantile(nil, 0.5)) {
		t.Error("SortedQuantile of nothing is not NaN")
	}
}

func TestHistogramPanics(t *testing.T) {
	for _, tc := range []struct {
		name, msg string
		f         func()
	}{
		{"KSFromCounts lengths", "stat: slice length mismatch", func() { KSFromCounts([]float64{1}, []float64{1, 2}) }},
		{"KSFromCounts negative", "stat: ks negative count", func() { KSFromCounts([]float64{1, 2}, []float64{1, -2}) }},
		{"NewHistogram bins", "stat: psi bins < 1", func() { NewHistogram([]float64{1}, 0) }},
		{"SortedHistogram bins", "stat: psi bins < 1", func() { SortedHistogram([]float64{1}, 0) }},
		{"SortedHistogram empty", "stat: histogram of no values", func() { SortedHistogram(nil, 3) }},
		{"SortedHistogram unsorted", "stat: histogram input not sorted", func() { SortedHistogram([]float64{2, 1}, 3) }},
		{"SortedHistogram NaN", "stat: histogram input not sorted", func() { SortedHistogram([]float64{1, math.NaN()}, 3) }},
		{"SortedHistogram lone NaN", "stat: histogram input not sorted", func() { SortedHistogram([]float64{math.NaN()}, 3) }},
		{"SortedQuantile q", "stat: quantile q out of [0, 1]", func() { SortedQuantile([]float64{1}, 1.5) }},
	} {
		if msg := panics(tc.f); msg != tc.msg {
			t.Errorf("%s: panic %q, want %q", tc.name, msg, tc.msg)
		}
	}
}

func BenchmarkKSFromCounts(b *testing.B) {
	e := BinCounts(nil, QuantileEdges(nil, sample(10_000, 1), 100), sample(10_000, 1))
	a := BinCounts(nil, QuantileEdges(nil, sample(10_000, 1), 100), sample(5000, 2))
	b.ReportAllocs()
	for b.Loop() {
		sink, _ = KSFromCounts(e, a)
	}
}

// The reference values of PSIPValue come from scipy 1.10.1:
//
//	for psi, n, m, b in [(0.1, 512, 500, 10), (0.02, 10000, 10000, 10), (0.25, 1000, 1000, 10),
//	                     (0.05, 2000, 600, 20), (0.0, 100, 100, 10), (0.3, 50, 60, 4), (1e-4, 1e6, 1e6, 100)]:
//	    print(repr(float(stats.chi2.sf(n*m/(n+m)*psi, b-1))))
func TestPSIPValue(t *testing.T) {
	for _, tc := range []struct {
		psi, n, m float64
		bins      int
		p         float64
	}{
		{0.1, 512, 500, 10, 0.0026601748198936954},
		{0.02, 10000, 10000, 10, 1.5735176303753876e-17},
		{0.25, 1000, 1000, 10, 1.2622259353488844e-22},
		{0.05, 2000, 600, 20, 0.23397067482973402},
		{0, 100, 100, 10, 1},
		{0.3, 50, 60, 4, 0.04239978885814936},
		{1e-4, 1e6, 1e6, 100, 0.9999900545468124},
	} {
		if p := PSIPValue(tc.psi, tc.n, tc.m, tc.bins); math.Abs(p-tc.p) > 1e-9*tc.p {
			t.Errorf("PSIPValue(%v, %v, %v, %d) = %v, want %v (scipy chi2.sf)", tc.psi, tc.n, tc.m, tc.bins, p, tc.p)
		}
	}
	for _, tc := range [][3]float64{{math.NaN(), 1, 1}, {0.1, 0, 5}, {0.1, 5, -1}} {
		if p := PSIPValue(tc[0], tc[1], tc[2], 10); !math.IsNaN(p) {
			t.Errorf("PSIPValue(%v) = %v, want NaN", tc, p)
		}
	}
	if p := PSIPValue(0.5, 10, 10, 1); p != 1 {
		t.Errorf("one bin: p = %v", p)
	}
	if msg := panics(func() { PSIPValue(0.1, 1, 1, 0) }); msg != "stat: psi bins < 1" {
		t.Errorf("panic %q", msg)
	}
}

// TestPSIPValueCalibration: between two samples of one distribution, over ten training
// deciles, the p-value falls below 0.05 about 5 % of the time and below 0.01 about 1 %.
func TestPSIPValueCalibration(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	const trials = 2000
	var at5, at1 int
	for range trials {
		e, a := make([]float64, 2000), make([]float64, 1000)
		for i := range e {
			e[i] = rng.NormFloat64()
		}
		for i := range a {
			a[i] = rng.NormFloat64()
		}
		h := NewHistogram(e, 10)
		p := PSIPValue(PSIFromCounts(h.Counts, BinCounts(nil, h.Edges, a)), 2000, 1000, 10)
		if p < 0.05 {
			at5++
		}
		if p < 0.01 {
			at1++
		}
	}
	t.Logf("%d trials: %.1f %% below 0.05, %.2f %% below 0.01", trials, 100*float64(at5)/trials, 100*float64(at1)/trials)
	// Binomial 99.9 % bands around 5 % and 1 % of 2000.
	if at5 < 65 || at5 > 140 || at1 < 6 || at1 > 38 {
		t.Errorf("%d and %d of %d trials below 0.05 and 0.01", at5, at1, trials)
	}
}

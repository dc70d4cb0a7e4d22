package stat

import (
	"math"
	"slices"
	"strings"
	"testing"
)

// The reference values below were computed with numpy 1.24.2 and scipy 1.10.1 by this script
// (each "want" is the repr of the printed value):
//
//	import numpy as np, scipy.stats as ss
//	x = [3, 1, 4, 1, 5, 9, 2, 6]
//	y = [2.5, -1, 0.25, 7, 7, 3, 10.5]
//	print("median", repr(np.median(x)), repr(np.median(y)), repr(np.median([4.2])))
//	for q in [0, 0.1, 0.25, 0.5, 0.9, 0.99, 1]:
//	    print("quantile", q, repr(np.quantile(x, q)), repr(np.quantile(y, q)))
//	for v in [[3, 1, 4, 1, 5, 9, 2, 6], [2.5, -1, 0.25, 7, 7, 3, 10.5], [1, 1, 1, 1], [-0.0, 0.0, 5], [42]]:
//	    print("rank", v, ss.rankdata(v).tolist())
//	a = [1, 2, 3, 4, 5, 6, 7, 8]
//	b = [2.1, 3.9, 6.2, 7.8, 10.1, 12.2, 13.8, 16.1]
//	c = [8, 1, 7, 2, 6, 3, 5, 4]
//	d = [1, 3, 2, 2, 5, 5, 4, 9]
//	for p in [(a, b), (a, c), (c, d), (x, d)]:
//	    print("corr", repr(ss.pearsonr(*p)[0]), repr(ss.spearmanr(*p)[0]))
//	for p in [(a, b), (a, c), (x, d)]:
//	    r = ss.linregress(*p)
//	    print("linregress", repr(r.slope), repr(r.intercept), repr(r.rvalue**2))
//	for p in [([1.1, 1.2, 1.3, 1.25], [1.4, 1.5, 1.45, 1.6, 1.35]),
//	          ([0.8, 2.9, 1.7, 4.4, 3.1, 2.2, 0.5], [1.9, 3.3, 4.8, 2.6, 5.2, 3.7, 4.1]),
//	          ([5], [1, 2, 3]),
//	          ([1, 2, 2, 3], [2, 3, 4]),
//	          ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [5, 6, 7, 8, 9, 10, 11, 12, 13, 14]),
//	          ([1, 2, 2, 3, 4, 5, 6, 7, 8, 9], [3, 4, 4, 5, 6, 7, 8, 9, 10, 11]),
//	          ([3, 3, 3], [3, 3])]:
//	    r = ss.mannwhitneyu(*p)
//	    print("mw", repr(float(r.statistic)), repr(float(r.pvalue)))
var (
	refX = []float64{3, 1, 4, 1, 5, 9, 2, 6}
	refY = []float64{2.5, -1, 0.25, 7, 7, 3, 10.5}
	refA = []float64{1, 2, 3, 4, 5, 6, 7, 8}
	refB = []float64{2.1, 3.9, 6.2, 7.8, 10.1, 12.2, 13.8, 16.1}
	refC = []float64{8, 1, 7, 2, 6, 3, 5, 4}
	refD = []float64{1, 3, 2, 2, 5, 5, 4, 9}
)

// near reports whether got is within tol of want, relative to max(1, |want|); NaN is near NaN.
func near(got, want, tol float64) bool {
	if math.IsNaN(want) {
		return math.IsNaN(got)
	}
	return math.Abs(got-want) <= tol*math.Max(1, math.Abs(want))
}

// unchanged fails the test if xs no longer equals its copy orig.
func unchanged(t *testing.T, what string, xs, orig []float64) {
	t.Helper()
	if !slices.EqualFunc(xs, orig, func(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }) {
		t.Errorf("%s modified its input: %v, was %v", what, xs, orig)
	}
}

// panics returns the message of the panic f raises, or "" if it returns.
func panics(f func()) (msg string) {
	defer func() {
		if v := recover(); v != nil {
			msg, _ = v.(string)
		}
	}()
	f()
	return ""
}

func TestMedian(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name string
		xs   []float64
		want float64
	}{
		{"even", refX, 3.5},
		{"odd", refY, 3.0},
		{"one", []float64{4.2}, 4.2},
		{"empty", nil, nan},
		{"NaN", []float64{1, nan, 3}, nan},
	}
	for _, tc := range tests {
		orig := slices.Clone(tc.xs)
		if got := Median(tc.xs); !near(got, tc.want, 1e-15) {
			t.Errorf("%s: Median = %v, want %v", tc.name, got, tc.want)
		}
		unchanged(t, "Median", tc.xs, orig)
	}
}

func TestQuantile(t *testing.T) {
	tests := []struct{ q, x, y float64 }{
		{0, 1, -1.0},
		{0.1, 1.0, -0.2499999999999999},
		{0.25, 1.75, 1.375},
		{0.5, 3.5, 3.0},
		{0.9, 6.8999999999999995, 8.400000000000002},
		{0.99, 8.79, 10.29},
		{1, 9, 10.5},
	}
	origX, origY := slices.Clone(refX), slices.Clone(refY)
	for _, tc := range tests {
		for _, c := range []struct {
			xs   []float64
			want float64
		}{{refX, tc.x}, {refY, tc.y}} {
			if got := Quantile(c.xs, tc.q); !near(got, c.want, 1e-15) {
				t.Errorf("Quantile(%v, %v) = %v, want %v", c.xs, tc.q, got, c.want)
			}
		}
	}
	unchanged(t, "Quantile", refX, origX)
	unchanged(t, "Quantile", refY, origY)
	if got := Quantile([]float64{7}, 0.9); got != 7 {
		t.Errorf("one value: %v, want 7", got)
	}
	if got := Quantile(nil, 0.5); !math.IsNaN(got) {
		t.Errorf("empty: %v, want NaN", got)
	}
	if got := Quantile([]float64{1, 2, math.NaN()}, 0); !math.IsNaN(got) {
		t.Errorf("NaN among the values: %v, want NaN", got)
	}
	for _, q := range []float64{-0.01, 1.01, math.NaN(), math.Inf(1)} {
		if msg := panics(func() { Quantile(refX, q) }); msg != "stat: quantile q out of [0, 1]" {
			t.Errorf("q = %v: panic %q", q, msg)
		}
	}
}

func TestRanks(t *testing.T) {
	tests := []struct {
		xs, want []float64
	}{
		{refX, []float64{4.0, 1.5, 5.0, 1.5, 6.0, 8.0, 3.0, 7.0}},
		{refY, []float64{3.0, 1.0, 2.0, 5.5, 5.5, 4.0, 7.0}},
		{[]float64{1, 1, 1, 1}, []float64{2.5, 2.5, 2.5, 2.5}},
		{[]float64{math.Copysign(0, -1), 0, 5}, []float64{1.5, 1.5, 3.0}},
		{[]float64{42}, []float64{1.0}},
		{[]float64{}, []float64{}},
	}
	for _, tc := range tests {
		orig := slices.Clone(tc.xs)
		if got := Ranks(nil, tc.xs); !slices.Equal(got, tc.want) {
			t.Errorf("Ranks(nil, %v) = %v, want %v", tc.xs, got, tc.want)
		}
		dst := make([]float64, len(tc.xs))
		if got := Ranks(dst, tc.xs); !slices.Equal(got, tc.want) || (len(dst) > 0 && &got[0] != &dst[0]) {
			t.Errorf("Ranks(dst, %v) = %v, want %v in dst", tc.xs, got, tc.want)
		}
		unchanged(t, "Ranks", tc.xs, orig)
	}
	// scipy.stats.rankdata([1, nan, 2]) = [nan, nan, nan]
	for _, r := range Ranks(nil, []float64{1, math.NaN(), 2}) {
		if !math.IsNaN(r) {
			t.Errorf("NaN among the values: rank %v, want NaN", r)
		}
	}
	if msg := panics(func() { Ranks(make([]float64, 2), refX) }); msg != "stat: ranks: dst length mismatch" {
		t.Errorf("short dst: panic %q", msg)
	}
}

func TestCorrelation(t *testing.T) {
	tests := []struct {
		name              string
		a, b              []float64
		pearson, spearman float64
	}{
		{"linear", refA, refB, 0.999419474795813, 1.0},
		{"zigzag", refA, refC, -0.19047619047619038, -0.19047619047619052},
		{"ties", refC, refD, -0.218824895275681, -0.28917761562712796},
		{"ties both", refX, refD, 0.5722521790419056, 0.6363753238047306},
	}
	for _, tc := range tests {
		oa, ob := slices.Clone(tc.a), slices.Clone(tc.b)
		if got := Pearson(tc.a, tc.b); !near(got, tc.pearson, 1e-13) {
			t.Errorf("%s: Pearson = %v, want %v", tc.name, got, tc.pearson)
		}
		if got := Spearman(tc.a, tc.b); !near(got, tc.spearman, 1e-13) {
			t.Errorf("%s: Spearman = %v, want %v", tc.name, got, tc.spearman)
		}
		unchanged(t, "Pearson, Spearman", tc.a, oa)
		unchanged(t, "Pearson, Spearman", tc.b, ob)
	}
	nan := math.NaN()
	for _, tc := range []struct {
		name string
		a, b []float64
	}{
		{"empty", nil, nil},
		{"constant", []float64{1, 2, 3}, []float64{4, 4, 4}},
		{"NaN", []float64{1, 2, 3}, []float64{1, nan, 2}},
	} {
		if got := Pearson(tc.a, tc.b); !math.IsNaN(got) {
			t.Errorf("%s: Pearson = %v, want NaN", tc.name, got)
		}
		if got := Spearman(tc.a, tc.b); !math.IsNaN(got) {
			t.Errorf("%s: Spearman = %v, want NaN", tc.name, got)
		}
	}
	for name, f := range map[string]func([]float64, []float64) float64{"Pearson": Pearson, "Spearman": Spearman} {
		if msg := panics(func() { f(refA, refY) }); msg != "stat: slice length mismatch" {
			t.Errorf("%s of different lengths: panic %q", name, msg)
		}
	}
}

func TestLinearFit(t *testing.T) {
	tests := []struct {
		x, y                 []float64
		slope, intercept, r2 float64
	}{
		{refA, refB, 1.9976190476190478, 0.0357142857142847, 0.9988392866011391},
		{refA, refC, -0.19047619047619047, 5.357142857142857, 0.03628117913832199},
		{refX, refD, 0.5271867612293144, 1.8321513002364065, 0.3274725564182092},
	}
	for _, tc := range tests {
		ox, oy := slices.Clone(tc.x), slices.Clone(tc.y)
		s, i, r2 := LinearFit(tc.x, tc.y)
		// The intercept of the first line is a difference of numbers near 9: absolute 1e-13.
		if !near(s, tc.slope, 1e-13) || math.Abs(i-tc.intercept) > 1e-13 || !near(r2, tc.r2, 1e-13) {
			t.Errorf("LinearFit(%v, %v) = %v, %v, %v, want %v, %v, %v", tc.x, tc.y, s, i, r2, tc.slope, tc.intercept, tc.r2)
		}
		unchanged(t, "LinearFit", tc.x, ox)
		unchanged(t, "LinearFit", tc.y, oy)
	}
	// A constant y is an exact fit (scipy's linregress says slope 0, intercept 2, r 0).
	if s, i, r2 := LinearFit([]float64{1, 2, 3}, []float64{2, 2, 2}); s != 0 || i != 2 || r2 != 1 {
		t.Errorf("constant y: %v, %v, %v, want 0, 2, 1", s, i, r2)
	}
	if s, i, r2 := LinearFit([]float64{1, 1, 1}, []float64{1, 2, 3}); !math.IsNaN(s) || !math.IsNaN(i) || !math.IsNaN(r2) {
		t.Errorf("constant x: %v, %v, %v, want NaN", s, i, r2)
	}
	for _, tc := range []struct{ x, y []float64 }{
		{nil, nil}, {[]float64{4}, []float64{2}}, {[]float64{0.1, 0.1, 0.1}, []float64{5, 5, 5}},
		{[]float64{1, math.NaN(), 3}, []float64{2, 2, 2}}, {[]float64{1, 2, 3}, []float64{1, math.NaN(), 3}},
	} {
		if s, i, r2 := LinearFit(tc.x, tc.y); !math.IsNaN(s) || !math.IsNaN(i) || !math.IsNaN(r2) {
			t.Errorf("LinearFit(%v, %v) = %v, %v, %v, want NaN", tc.x, tc.y, s, i, r2)
		}
	}
	if msg := panics(func() { LinearFit(refA, refY) }); msg != "stat: slice length mismatch" {
		t.Errorf("different lengths: panic %q", msg)
	}
}

func TestMannWhitneyU(t *testing.T) {
	tests := []struct {
		name string
		a, b []float64
		u, p float64
	}{
		{"exact", []float64{1.1, 1.2, 1.3, 1.25}, []float64{1.4, 1.5, 1.45, 1.6, 1.35}, 0.0, 0.015873015873015872},
		{"exact 7 and 7", []float64{0.8, 2.9, 1.7, 4.4, 3.1, 2.2, 0.5}, []float64{1.9, 3.3, 4.8, 2.6, 5.2, 3.7, 4.1}, 10.0, 0.07284382284382285},
		{"exact one", []float64{5}, []float64{1, 2, 3}, 3.0, 0.5},
		{"small with ties", []float64{1, 2, 2, 3}, []float64{2, 3, 4}, 2.5, 0.2663799233424825},
		{"asymptotic", []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, []float64{5, 6, 7, 8, 9, 10, 11, 12, 13, 14}, 18.0, 0.017006577801423665},
		{"asymptotic ties", []float64{1, 2, 2, 3, 4, 5, 6, 7, 8, 9}, []float64{3, 4, 4, 5, 6, 7, 8, 9, 10, 11}, 30.0, 0.13882114450720942},
		{"all tied", []float64{3, 3, 3}, []float64{3, 3}, 3.0, 1.0},
	}
	for _, tc := range tests {
		oa, ob := slices.Clone(tc.a), slices.Clone(tc.b)
		u, p := MannWhitneyU(tc.a, tc.b)
		// gonum's normal survival function agrees with scipy's to about 1e-12.
		if u != tc.u || !near(p, tc.p, 1e-12) {
			t.Errorf("%s: U = %v, p = %v, want %v, %v", tc.name, u, p, tc.u, tc.p)
		}
		unchanged(t, "MannWhitneyU", tc.a, oa)
		unchanged(t, "MannWhitneyU", tc.b, ob)
	}
	// scipy.stats.mannwhitneyu([1, 2, nan], [3, 4, 5]) = (nan, nan); scipy refuses empty samples.
	for _, tc := range []struct{ a, b []float64 }{
		{nil, []float64{1}}, {[]float64{1}, nil}, {[]float64{1, 2, math.NaN()}, []float64{3, 4, 5}},
	} {
		if u, p := MannWhitneyU(tc.a, tc.b); !math.IsNaN(u) || !math.IsNaN(p) {
			t.Errorf("MannWhitneyU(%v, %v) = %v, %v, want NaN, NaN", tc.a, tc.b, u, p)
		}
	}
}

// TestExactTailMatchesEnumeration checks the recurrence of exactUpperTail against counting U over
// every way of splitting the ranks 1..n1+n2 between the samples.
func TestExactTailMatchesEnumeration(t *testing.T) {
	for n1 := 1; n1 <= 5; n1++ {
		for n2 := 1; n2 <= 5; n2++ {
			n := n1 + n2
			count := make([]float64, n1*n2+1)
			var total float64
			for mask := 0; mask < 1<<n; mask++ {
				if popcount(mask) != n1 {
					continue
				}
				// U of the first sample: pairs in which its element has the larger rank.
				u := 0
				for i := 0; i < n; i++ {
					for j := 0; j < i; j++ {
						if mask>>i&1 == 1 && mask>>j&1 == 0 {
							u++
						}
					}
				}
				count[u]++
				total++
			}
			var tail float64
			for u := n1 * n2; u >= 0; u-- {
				tail += count[u]
				if got, want := exactUpperTail(n1, n2, u), tail/total; !near(got, want, 1e-15) {
					t.Fatalf("exactUpperTail(%d, %d, %d) = %v, want %v", n1, n2, u, got, want)
				}
			}
		}
	}
}

func popcount(m int) int {
	c := 0
	for ; m > 0; m &= m - 1 {
		c++
	}
	return c
}

func TestPanicMessagesNamePackage(t *testing.T) {
	// Every panic message starts with "stat: ", as doc.go promises.
	for _, f := range []func(){
		func() { Quantile(nil, 2) },
		func() { Ranks(make([]float64, 1), nil) },
		func() { Pearson([]float64{1}, nil) },
		func() { Spearman([]float64{1}, nil) },
		func() { LinearFit([]float64{1}, nil) },
	} {
		if msg := panics(f); !strings.HasPrefix(msg, "stat: ") {
			t.Errorf("panic %q", msg)
		}
	}
}

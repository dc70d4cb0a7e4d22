package bench

import (
	"math"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol*math.Max(1, math.Abs(b)) }

func TestSummarize(t *testing.T) {
	// numpy 1.24: median, mean, std(ddof=1) of the sample; scipy 1.10: t.ppf(0.975, 5) = 2.5705818366147395.
	x := []float64{10.1, 10.3, 9.9, 10.0, 10.2, 13.5}
	s, err := Summarize(x)
	if err != nil {
		t.Fatal(err)
	}
	half := 2.5705818366147395 * 1.39522996909709 / math.Sqrt(6)
	for _, c := range []struct {
		what      string
		got, want float64
	}{
		{"median", s.Median, 10.149999999999999}, {"mean", s.Mean, 10.666666666666666},
		{"std", s.StdDev, 1.39522996909709}, {"min", s.Min, 9.9}, {"max", s.Max, 13.5},
	} {
		if !near(c.got, c.want, 1e-12) {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
	// gonum's Student t quantile agrees with scipy's to about 1e-10.
	for _, c := range []struct {
		what      string
		got, want float64
	}{{"ci low", s.CILow, 10.666666666666666 - half}, {"ci high", s.CIHigh, 10.666666666666666 + half}} {
		if !near(c.got, c.want, 1e-9) {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
	if len(s.Outliers) != 1 || s.Outliers[0] != 5 {
		t.Errorf("outliers %v, want [5] (13.5)", s.Outliers)
	}
	one, _ := Summarize([]float64{2})
	if one.CILow != 2 || one.CIHigh != 2 || one.StdDev != 0 {
		t.Errorf("one measurement: %+v", one)
	}
	if _, err := Summarize(nil); err == nil {
		t.Error("no measurements accepted")
	}
	if _, err := Summarize([]float64{1, math.NaN()}); err == nil {
		t.Error("NaN accepted")
	}
}

func TestMannWhitneyAgainstScipy(t *testing.T) {
	// scipy 1.10 scipy.stats.mannwhitneyu(a, b) (two-sided, method="auto").
	tests := []struct {
		name string
		a, b []float64
		u, p float64
	}{
		{"exact", []float64{1.1, 1.2, 1.3, 1.25}, []float64{1.4, 1.5, 1.45, 1.6, 1.35}, 0, 0.015873015873015872},
		{"asymptotic", []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, []float64{5, 6, 7, 8, 9, 10, 11, 12, 13, 14}, 18, 0.017006577801423665},
		{"ties", []float64{1, 2, 2, 3, 4, 5, 6, 7, 8, 9}, []float64{3, 4, 4, 5, 6, 7, 8, 9, 10, 11}, 30, 0.13882114450720942},
	}
	for _, tc := range tests {
		r, err := MannWhitneyU(tc.a, tc.b)
		if err != nil {
			t.Fatal(err)
		}
		if r.U != tc.u || !near(r.P, tc.p, 1e-9) {
			t.Errorf("%s: U=%v p=%v, want U=%v p=%v", tc.name, r.U, r.P, tc.u, tc.p)
		}
	}
	if _, err := MannWhitneyU(nil, []float64{1}); err == nil {
		t.Error("empty sample accepted")
	}
}

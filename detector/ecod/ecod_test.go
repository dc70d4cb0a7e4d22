package ecod

import (
	"context"
	"math"
	"testing"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/detector/detectortest"
	"github.com/gonomaly/gonomaly/internal/reftest"
)

func fit(t testing.TB, cfg Config, X *dataset.Matrix) *Detector {
	t.Helper()
	return detectortest.Fit(t, detectortest.MustNew(t, New, cfg), X)
}

// withMerge runs f with Score's strategy forced (1 = merge, -1 = binary search).
func withMerge(mode int, f func()) {
	old := mergeMode
	mergeMode = mode
	defer func() { mergeMode = old }()
	f()
}

func TestConformance(t *testing.T) {
	detectortest.Run(t, detectortest.Constructor(New, Config{}))
}

// TestReference compares the training scores with ecod() of /work/shared/tools/sklearn_ref.py
// (PyOD's definition in numpy 1.24.2 and scipy 1.10.1), stored by reftest.
func TestReference(t *testing.T) {
	reftest.CheckPandas(t, "ecod", func(t testing.TB, X *dataset.Matrix) []float64 {
		return detectortest.Score(t, fit(t, Config{}, X), X)
	})
}

func TestWorkersBitIdentical(t *testing.T) {
	X, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: 20000, Cols: 7, Contamination: 0.05, Seed: 11})
	Q, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: 5000, Cols: 7, Contamination: 0.3, Seed: 12})
	for _, mode := range []int{1, -1} {
		withMerge(mode, func() {
			a := detectortest.Score(t, fit(t, Config{Workers: 1}, X), Q)
			b := detectortest.Score(t, fit(t, Config{Workers: 3}, X), Q)
			for i := range a {
				if a[i] != b[i] {
					t.Fatalf("merge mode %d: row %d: Workers=3 scored %v, Workers=1 %v", mode, i, b[i], a[i])
				}
			}
		})
	}
}

// TestMergeEqualsSearch checks that the two scoring strategies give bit-identical scores,
// on data with many ties and on values outside the training range.
func TestMergeEqualsSearch(t *testing.T) {
	X, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: 3000, Cols: 5, Contamination: 0.05, Seed: 2})
	Q, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: 2500, Cols: 5, Contamination: 0.5, Seed: 3})
	for _, M := range []*dataset.Matrix{X, Q} { // ties: integers, halves and a zero column
		for i := range M.Data {
			switch i % 5 {
			case 1:
				M.Data[i] = math.Round(M.Data[i])
			case 3:
				M.Data[i] = math.Round(2*M.Data[i]) / 2
			case 4:
				M.Data[i] = 0
			}
		}
	}
	Q.Data[4] = math.Copysign(0, -1) // -0 counts as equal to the training zeros
	for _, data := range []*dataset.Matrix{X, Q} {
		d := fit(t, Config{}, X)
		var a, b []float64
		withMerge(1, func() { a = detectortest.Score(t, d, data) })
		withMerge(-1, func() { b = detectortest.Score(t, d, data) })
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("row %d: merge %v, binary search %v", i, a[i], b[i])
			}
		}
	}
}

// TestEdgeCases compares training scores with ecod() of sklearn_ref.py on small cases (values
// printed by numpy 1.24.2 / scipy 1.10.1 with repr).
func TestEdgeCases(t *testing.T) {
	cases := []struct {
		name string
		X    [][]float64
		want []float64
	}{
		// Column 0 is constant (skewness NaN → 0): it adds 0 to each row.
		{"constant column", [][]float64{{3.5, 1}, {3.5, 2}, {3.5, 4}},
			[]float64{0.5493061443340549, 0.40546510810816444, 1.0986122886681098}},
		{"symmetric", [][]float64{{0}, {1}, {2}, {3}, {4}, {5}, {6}, {7}, {8}, {9}, {10}},
			[]float64{2.3978952727983707, 1.8000582720427503, 1.499953679592412, 1.3300546427970144, 1.2404424841073274,
				1.2122716071406312, 1.2404424841073274, 1.3300546427970144, 1.499953679592412, 1.8000582720427503, 2.3978952727983707}},
		{"single row", [][]float64{{1, -2, 7.5}}, []float64{0}},
		{"few rows", [][]float64{{0, 5}, {0.3, 5.5}, {0.31, 9}, {2, -1}, {10, 5.25}},
			[]float64{1.7210096880912051, 1.1394342831883648, 1.3155445799830408, 2.525728644308255, 2.120263536200091}},
		{"ties", [][]float64{{1}, {1}, {1}, {2}, {2}, {3}, {100}},
			[]float64{0.42364893019360184, 0.42364893019360184, 0.42364893019360184, 0.5596157879354227, 0.5596157879354227, 1.252762968495368, 1.9459101490553132}},
	}
	for _, c := range cases {
		for _, mode := range []int{1, -1} {
			t.Run(c.name, func(t *testing.T) {
				withMerge(mode, func() {
					X := detectortest.Matrix(t, c.X)
					got := detectortest.Score(t, fit(t, Config{}, X), X)
					for i := range c.want {
						if math.Abs(got[i]-c.want[i]) > 1e-12*math.Abs(c.want[i]) {
							t.Errorf("merge mode %d: row %d: %.17g, numpy %.17g", mode, i, got[i], c.want[i])
						}
					}
				})
			})
		}
	}
}

// TestNewValues checks the counts for new rows, including values beyond the training range,
// which count as one training value.
func TestNewValues(t *testing.T) {
	// Training values 1..10: skewness 0, so a term is max(U_l + U_r, (U_l + U_r)/2) = U_l + U_r.
	var rows [][]float64
	for v := 1; v <= 10; v++ {
		rows = append(rows, []float64{float64(v)})
	}
	d := fit(t, Config{}, detectortest.Matrix(t, rows))
	nl := func(c float64) float64 { return -math.Log(c / 10) }
	cases := []struct {
		v, want float64
	}{
		{0.5, nl(1) + nl(10)},      // below the minimum: 0 values <= v, counted as 1
		{-1e9, nl(1) + nl(10)},     // far below: the same, finite
		{10.5, nl(10) + nl(1)},     // above the maximum
		{1, nl(1) + nl(10)},        // on the minimum
		{5.5, nl(5) + nl(5)},       // between training values
		{5, nl(5) + nl(6)},         // on a training value: counted on both sides
		{1e300, nl(10) + nl(1)},    // far above
		{10, nl(10) + nl(1)},       // on the maximum
		{2.0000001, nl(2) + nl(8)}, // just above a training value
	}
	for _, c := range cases {
		for _, mode := range []int{1, -1} {
			withMerge(mode, func() {
				s := detectortest.Score(t, d, detectortest.Matrix(t, [][]float64{{c.v}}))
				if math.Abs(s[0]-c.want) > 1e-15*c.want {
					t.Errorf("merge mode %d: score(%v) = %.17g, want %.17g", mode, c.v, s[0], c.want)
				}
			})
		}
	}
}

// TestSkewSign checks the sign against scipy.stats.skew(bias=True) (scipy 1.10.1).
func TestSkewSign(t *testing.T) {
	cases := []struct {
		name string
		x    []float64
		want int8
	}{
		{"right tail", []float64{1, 1, 1, 2, 2, 3, 100}, 1},
		{"left tail", []float64{-100, 1, 2, 2, 3, 3, 3}, -1},
		{"symmetric", []float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 0},
		{"constant", []float64{3.5, 3.5, 3.5}, 0},
		{"constant zero", []float64{0, 0, 0, 0}, 0},
		{"one value", []float64{7}, 0},
		// Variance below scipy's cut-off (1e-15 * mean)^2 counts as constant.
		{"nearly constant", []float64{1e10, 1e10, 1e10 + 1e-5}, 0},
	}
	for _, c := range cases {
		if got := skewSign(c.x, make([]float64, len(c.x)), true); got != c.want {
			t.Errorf("%s: sign %d, want %d", c.name, got, c.want)
		}
	}
}

func TestRadixSort(t *testing.T) {
	X, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: 5000, Cols: 1, Seed: 4})
	gauss := X.Data
	gauss[0], gauss[1], gauss[2] = math.Copysign(0, -1), 0, -1e-300
	// Values that agree in their top 33 key bits, so the radix passes leave them to the
	// comparison sort of a run.
	near := make([]float64, 3000)
	for i := range near {
		near[i] = 1 + float64((i*7919)%3000)*1e-12
	}
	for _, x := range [][]float64{gauss, near, make([]float64, 2000)} {
		var s sorter
		s.sortFloats(x)
		for i := 1; i < len(x); i++ {
			if !(x[i-1] <= x[i]) {
				t.Fatalf("not sorted at %d: %v > %v", i, x[i-1], x[i])
			}
		}
		for _, v := range x {
			if v == 0 && math.Signbit(v) {
				t.Fatal("a -0 survived the sort")
			}
		}
		// The pair sort agrees with the key sort and keeps every row number.
		s.growPairs(len(x))
		for i := range s.pairs {
			s.pairs[i] = pair{orderKey(x[(i*31)%len(x)]), uint32(i)}
		}
		seen := make([]bool, len(x))
		for i, q := range s.sortPairs() {
			if keyValue(q.key) != x[i] {
				t.Fatalf("pair %d: %v, sorted keys have %v", i, keyValue(q.key), x[i])
			}
			seen[q.idx] = true
		}
		for i, ok := range seen {
			if !ok {
				t.Fatalf("row %d lost by the pair sort", i)
			}
		}
	}
}

func TestBadInput(t *testing.T) {
	ctx := context.Background()
	if _, err := New(Config{Workers: -1}); err == nil {
		t.Error("New with Workers -1 returned no error")
	}
	d := detectortest.MustNew(t, New, Config{})
	if err := d.Fit(ctx, &dataset.Matrix{}); err == nil {
		t.Error("Fit on an empty matrix returned no error")
	}
	if err := d.Fit(ctx, detectortest.Matrix(t, [][]float64{{1, 2}, {3, math.NaN()}})); err == nil {
		t.Error("Fit with a NaN returned no error")
	}
	if err := d.Fit(ctx, detectortest.Matrix(t, [][]float64{{1, 2}, {3, 4}})); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Score(ctx, detectortest.Matrix(t, [][]float64{{1, math.Inf(1)}}), nil); err == nil {
		t.Error("Score with +Inf returned no error")
	}
	if _, err := d.Score(ctx, &dataset.Matrix{Rows: 2, Cols: 2, Data: []float64{1}}, nil); err == nil {
		t.Error("Score of a malformed matrix returned no error")
	}
}

func TestUnmarshalCorrupt(t *testing.T) {
	X, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: 50, Cols: 3, Seed: 1})
	d := fit(t, Config{}, X)
	b, err := d.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(b); i++ {
		c := append([]byte(nil), b...)
		c[i] ^= 0xa5
		d2 := detectortest.MustNew(t, New, Config{})
		if err := d2.UnmarshalBinary(c); err == nil {
			// A flipped byte inside a value may still decode to a valid model; it must score.
			if _, err := d2.Score(context.Background(), X, nil); err != nil {
				t.Fatalf("byte %d flipped: model decoded but Score failed: %v", i, err)
			}
		}
	}
	if _, err := detectortest.MustNew(t, New, Config{}).MarshalBinary(); err == nil {
		t.Error("MarshalBinary before Fit returned no error")
	}
}

package hbos

import (
	"context"
	"math"
	"testing"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/detector/detectortest"
	"github.com/gonomaly/gonomaly/internal/reftest"
)

func fitScore(t testing.TB, cfg Config, X *dataset.Matrix) []float64 {
	t.Helper()
	return detectortest.Score(t, detectortest.Fit(t, detectortest.MustNew(t, New, cfg), X), X)
}

func TestConformance(t *testing.T) {
	detectortest.Run(t, detectortest.Constructor(New, Config{Tol: DefaultTol}))
}

// TestReference compares the training scores with hbos() of /work/shared/tools/sklearn_ref.py
// (PyOD's definition in numpy 1.24.2), stored by reftest.
func TestReference(t *testing.T) {
	reftest.CheckPandas(t, "hbos", func(t testing.TB, X *dataset.Matrix) []float64 {
		return fitScore(t, Config{Tol: DefaultTol}, X)
	})
}

func TestWorkersBitIdentical(t *testing.T) {
	X, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: 20000, Cols: 7, Contamination: 0.05, Seed: 11})
	Q, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: 5000, Cols: 7, Contamination: 0.3, Seed: 12})
	var ref []float64
	for _, w := range []int{1, 3} {
		s := detectortest.Score(t, detectortest.Fit(t, detectortest.MustNew(t, New, Config{Tol: DefaultTol, Workers: w}), X), Q)
		if ref == nil {
			ref = s
			continue
		}
		for i := range s {
			if s[i] != ref[i] {
				t.Fatalf("Workers=%d: row %d scored %v, Workers=1 gave %v", w, i, s[i], ref[i])
			}
		}
	}
}

// TestCountPaths checks that counting feature by feature (used for many columns times bins)
// gives the same histograms as counting with one table per worker.
func TestCountPaths(t *testing.T) {
	X, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: 9000, Cols: 5, Contamination: 0.05, Seed: 5})
	want := fitScore(t, Config{Bins: 37, Tol: DefaultTol, Workers: 2}, X)
	old := maxWorkerCounts
	maxWorkerCounts = 0
	defer func() { maxWorkerCounts = old }()
	got := fitScore(t, Config{Bins: 37, Tol: DefaultTol, Workers: 2}, X)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("row %d: feature-by-feature count gives %v, per-worker count %v", i, got[i], want[i])
		}
	}
}

// TestEdgeCases compares training scores with hbos() of sklearn_ref.py on small cases
// (values printed by numpy 1.24.2 with repr).
func TestEdgeCases(t *testing.T) {
	cases := []struct {
		name string
		X    [][]float64
		bins int
		want []float64
	}{
		{"constant column", [][]float64{{3.5, 1}, {3.5, 2}, {3.5, 4}}, 10,
			[]float64{3.0455968664401105, 3.045596866440112, 3.045596866440112}},
		{"constant column 20 bins", [][]float64{{3.5, 1}, {3.5, 2}, {3.5, 4}}, 20,
			[]float64{2.106422059136153, 2.106422059136153, 2.106422059136153}},
		// 0..10 in 10 bins: every value but 0 and 10 sits on an inner edge and takes the bin to
		// its left, though the histogram counted it in the bin to its right.
		{"values on inner edges", [][]float64{{0}, {1}, {2}, {3}, {4}, {5}, {6}, {7}, {8}, {9}, {10}}, 10,
			[]float64{2.3890422907458992, 2.3890422907458992, 2.3890422907458992, 2.3890422907458992, 2.3890422907458992,
				2.3890422907458992, 2.3890422907458992, 2.3890422907458992, 2.3890422907458992, 2.3890422907458992, 1.8271634031377841}},
		{"values on inner edges 20 bins", [][]float64{{0}, {1}, {2}, {3}, {4}, {5}, {6}, {7}, {8}, {9}, {10}}, 20,
			[]float64{1.8271634031377841, 3.321928094887362, 3.321928094887362, 3.321928094887362, 3.321928094887362,
				3.321928094887362, 3.321928094887362, 3.321928094887362, 3.321928094887362, 3.321928094887362, 1.8271634031377841}},
		{"single row", [][]float64{{1, -2, 7.5}}, 10, []float64{9.965784284662087}},
		{"more bins than rows", [][]float64{{0, 5}, {0.3, 5.5}, {0.31, 9}, {2, -1}, {10, 5.25}}, 10,
			[]float64{3.8365012677171206, 1.0291463456595167, 2.251538766995964, 5.058893689053568, 2.251538766995964}},
		{"more bins than rows 20 bins", [][]float64{{0, 5}, {0.3, 5.5}, {0.31, 9}, {2, -1}, {10, 5.25}}, 20,
			[]float64{2.943416471633632, -0.22650852980867986, 0.6214883767462702, 4.321928094887362, 1.15200309344505}},
		{"ties", [][]float64{{1}, {1}, {1}, {2}, {2}, {3}, {100}}, 10,
			[]float64{2.4221330772143217, 2.4221330772143217, 2.4221330772143217, 2.4221330772143217, 2.4221330772143217, 2.4221330772143217, 3.1274625813205974}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := fitScore(t, Config{Bins: c.bins, Tol: DefaultTol}, detectortest.Matrix(t, c.X))
			for i := range c.want {
				if math.Abs(got[i]-c.want[i]) > 1e-12*math.Abs(c.want[i]) {
					t.Errorf("row %d: %.17g, numpy %.17g", i, got[i], c.want[i])
				}
			}
		})
	}
}

// TestOutsideRange scores new values around a training range with edges 0, 1, ..., 10: the
// training values put 3 values in the first bin, 1 in each inner bin and 4 in the last.
func TestOutsideRange(t *testing.T) {
	rows := [][]float64{{0}, {0.2}, {0.5}}
	for v := 1; v <= 10; v++ {
		rows = append(rows, []float64{float64(v)})
	}
	rows = append(rows, []float64{10}, []float64{10})
	n := float64(len(rows))
	first := -math.Log2(3/n + 0.1) // density of bin 0: 3 values / (n * width 1)
	last := -math.Log2(4/n + 0.1)
	inner := -math.Log2(1/n + 0.1)
	lowest := inner // the smallest log-density: a bin with one value
	cases := []struct {
		name string
		tol  float64
		v    float64
		want float64
	}{
		{"on the first edge", 0.5, 0, first},
		{"on the first edge, tol 0", 0, 0, first},
		{"below, within tol", 0.5, -0.5, first},
		{"below, beyond tol", 0.5, -0.51, lowest},
		{"below, tol 0", 0, -1e-9, lowest},
		{"on the last edge", 0.5, 10, last},
		{"above, within tol", 0.5, 10.5, last},
		{"above, beyond tol", 0.5, 10.6, lowest},
		{"above, tol 0", 0, 10 + 1e-9, lowest},
		{"far above, tol 2", 2, 12, last},
		{"on an inner edge", 0.5, 9, inner},
		{"just above an inner edge", 0.5, 9.000001, last},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := detectortest.MustNew(t, New, Config{Tol: c.tol})
			if err := d.Fit(context.Background(), detectortest.Matrix(t, rows)); err != nil {
				t.Fatal(err)
			}
			s, err := d.Score(context.Background(), detectortest.Matrix(t, [][]float64{{c.v}}), nil)
			if err != nil {
				t.Fatal(err)
			}
			if s[0] != c.want {
				t.Errorf("score(%v) = %.17g, want %.17g", c.v, s[0], c.want)
			}
		})
	}
}

func TestConfig(t *testing.T) {
	d := detectortest.MustNew(t, New, Config{})
	if c := d.Config(); c.Bins != DefaultBins || c.Alpha != DefaultAlpha || c.Tol != 0 {
		t.Errorf("zero Config became %+v", c)
	}
	for _, c := range []Config{{Bins: -1}, {Alpha: -0.1}, {Alpha: math.NaN()}, {Tol: -1}, {Tol: math.Inf(1)}, {Workers: -2}} {
		if _, err := New(c); err == nil {
			t.Errorf("New(%+v) returned no error", c)
		}
	}
}

func TestBadInput(t *testing.T) {
	ctx := context.Background()
	d := detectortest.MustNew(t, New, Config{Tol: DefaultTol})
	if err := d.Fit(ctx, &dataset.Matrix{}); err == nil {
		t.Error("Fit on an empty matrix returned no error")
	}
	if err := d.Fit(ctx, detectortest.Matrix(t, [][]float64{{1, 2}, {3, math.NaN()}})); err == nil {
		t.Error("Fit with a NaN returned no error")
	}
	if err := d.Fit(ctx, detectortest.Matrix(t, [][]float64{{1, 2}, {3, 4}})); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Score(ctx, detectortest.Matrix(t, [][]float64{{1, math.Inf(-1)}}), nil); err == nil {
		t.Error("Score with -Inf returned no error")
	}
	if _, err := d.Score(ctx, &dataset.Matrix{Rows: 2, Cols: 2, Data: []float64{1}}, nil); err == nil {
		t.Error("Score of a malformed matrix returned no error")
	}
	// A constant column far beyond float64's unit resolution has zero-width bins; it must not
	// make scores infinite.
	big := detectortest.Matrix(t, [][]float64{{1e17, 1}, {1e17, 2}, {1e17, 3}})
	s := fitScore(t, Config{Tol: DefaultTol}, big)
	for i, v := range s {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Errorf("row %d: score %v", i, v)
		}
	}
}

func TestUnmarshalCorrupt(t *testing.T) {
	X, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: 100, Cols: 3, Seed: 1})
	d := detectortest.MustNew(t, New, Config{Tol: DefaultTol})
	if err := d.Fit(context.Background(), X); err != nil {
		t.Fatal(err)
	}
	b, err := d.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(b); i += 3 {
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

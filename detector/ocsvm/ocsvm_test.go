package ocsvm

import (
	"context"
	"math"
	"testing"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/detector/detectortest"
	"github.com/gonomaly/gonomaly/eval"
	"github.com/gonomaly/gonomaly/internal/reftest"
)

func TestReference(t *testing.T) {
	reftest.Each(t, "one_class_svm", func(t *testing.T, ds *reftest.Dataset, want []float64) {
		d := detectortest.Fit(t, detectortest.MustNew(t, New, Config{}), ds.X)
		got := detectortest.Score(t, d, ds.X)
		rho, aucGot, aucWant := reftest.Ranks(t, ds.Labels, got, want)
		share, worst := reftest.RelClose(got, want, 1e-6)
		info := d.Info()
		t.Logf("%s: rows %d, spearman %.6f, roc-auc %.5f (sklearn %.5f, diff %.5f), rel 1e-6 share %.4f (worst %d: %v vs %v), nSV %d, iter %d",
			ds.Name, ds.X.Rows, rho, aucGot, aucWant, math.Abs(aucGot-aucWant), share, worst, got[worst], want[worst], info.SupportVectors, info.Iterations)
		if rho < 0.999 {
			t.Errorf("spearman %.6f < 0.999", rho)
		}
		if math.Abs(aucGot-aucWant) > 0.003 {
			t.Errorf("|roc-auc diff| %.5f > 0.003", math.Abs(aucGot-aucWant))
		}
	})
}

func TestConformance(t *testing.T) {
	detectortest.Run(t, detectortest.Constructor(New, Config{}))
}

// TestMatchesLibsvm checks gamma, rho, the iteration count and the number of support vectors
// against scikit-learn 1.2.1: OneClassSVM(gamma="scale").fit(X) then _gamma, -intercept_,
// n_iter_ and len(support_) (printed by python3 on /work/shared/datasets/adbench/NAME.csv).
// Equal iteration counts mean the solver took libsvm's path step for step.
func TestMatchesLibsvm(t *testing.T) {
	cases := []struct {
		name       string
		gamma, rho float64
		iter, nsv  int
	}{
		{"glass", 2.1191243404236793, 52.50069230655208, 64, 108},
		{"vertebral", 0.00011924673730676881, 73.04604066457279, 67, 122},
		{"wbc", 0.03471066111888817, 43.995886567993196, 62, 112},
		{"pima", 3.668482165520633e-05, 207.8333807945919, 232, 386},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ds := reftest.Load(t, c.name)
			d, _ := New(Config{})
			if err := d.Fit(context.Background(), ds.X); err != nil {
				t.Fatal(err)
			}
			info := d.Info()
			t.Logf("gamma %v, rho %v (sklearn %v), iterations %d, nSV %d", info.Gamma, info.Rho, c.rho, info.Iterations, info.SupportVectors)
			if math.Abs(info.Gamma-c.gamma) > 1e-15*c.gamma {
				t.Errorf("gamma %v, want %v", info.Gamma, c.gamma)
			}
			if math.Abs(info.Rho-c.rho) > 1e-9*math.Abs(c.rho) {
				t.Errorf("rho %v, want %v", info.Rho, c.rho)
			}
			if info.Iterations != c.iter || info.SupportVectors != c.nsv {
				t.Errorf("%d iterations and %d support vectors, want %d and %d", info.Iterations, info.SupportVectors, c.iter, c.nsv)
			}
		})
	}
}

func TestWorkersBitIdentical(t *testing.T) {
	X, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: 3000, Cols: 7, Contamination: 0.05, Seed: 11})
	Q, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: 500, Cols: 7, Contamination: 0.2, Seed: 12})
	var ref []float64
	var refInfo FitInfo
	// A small cache forces evictions and re-computed columns; both must be exact.
	for _, cfg := range []Config{{Workers: 1}, {Workers: 3}, {Workers: 2, CacheMB: 1}, {Workers: 3, NoShrinking: true}} {
		d := detectortest.Fit(t, detectortest.MustNew(t, New, cfg), X)
		s := detectortest.Score(t, d, Q)
		if ref == nil {
			ref, refInfo = s, d.Info()
			continue
		}
		if cfg.NoShrinking {
			// Another path to the same optimum: equal within the tolerance, not bit for bit.
			if rho := eval.Spearman(s, ref); rho < 0.9999 {
				t.Errorf("%+v: spearman %v against Workers=1", cfg, rho)
			}
			continue
		}
		if info := d.Info(); info != refInfo {
			t.Errorf("%+v: %+v, Workers=1 gave %+v", cfg, info, refInfo)
		}
		for i := range s {
			if s[i] != ref[i] {
				t.Fatalf("%+v: score %d is %v, Workers=1 gave %v", cfg, i, s[i], ref[i])
			}
		}
	}
}

func TestAlphaConstraints(t *testing.T) {
	X, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: 1001, Cols: 5, Contamination: 0.05, Seed: 5})
	for _, nu := range []float64{0.05, 0.3, 0.5, 0.77, 1} {
		d, err := New(Config{Nu: nu})
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Fit(context.Background(), X); err != nil {
			t.Fatal(err)
		}
		var sum float64
		for i, a := range d.coef {
			if !(a > 0 && a <= 1) {
				t.Fatalf("nu %v: alpha %d = %v, not in (0, 1]", nu, i, a)
			}
			sum += a
		}
		want := nu * float64(X.Rows)
		if math.Abs(sum-want) > 1e-9*want {
			t.Errorf("nu %v: sum of alphas %v, want nu*l = %v", nu, sum, want)
		}
		if info := d.Info(); info.SupportVectors < int(want) || info.BoundedSVs > int(math.Ceil(want)) {
			t.Errorf("nu %v: %d support vectors, %d at the bound, for nu*l = %v", nu, info.SupportVectors, info.BoundedSVs, want)
		}
	}
}

func TestConstantData(t *testing.T) {
	ctx := context.Background()
	X, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: 200, Cols: 3, Contamination: 0.05, Seed: 2})
	// A constant column adds nothing to the distances but counts in d and in X.var().
	C := dataset.NewMatrix(X.Rows, 4)
	for i := range X.Rows {
		copy(C.Row(i), X.Row(i))
		C.Set(i, 3, 7)
	}
	d, _ := New(Config{})
	if err := d.Fit(ctx, C); err != nil {
		t.Fatal(err)
	}
	if want := 1 / (4 * variance(C.Data)); d.Info().Gamma != want {
		t.Errorf("gamma %v with a constant column, want 1/(4*var) = %v", d.Info().Gamma, want)
	}
	s, err := d.Score(ctx, C, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range s {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("score %d is %v", i, v)
		}
	}

	// All entries equal: variance 0, so gamma is 1 as scikit-learn sets it; every row is the
	// same point and scores the same finite value.
	K := dataset.NewMatrix(50, 3)
	for i := range K.Data {
		K.Data[i] = -2.5
	}
	d, _ = New(Config{})
	if err := d.Fit(ctx, K); err != nil {
		t.Fatal(err)
	}
	if g := d.Info().Gamma; g != 1 {
		t.Errorf("gamma %v on constant data, want 1", g)
	}
	s, err = d.Score(ctx, K, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range s {
		if math.IsNaN(v) || math.IsInf(v, 0) || v != s[0] {
			t.Fatalf("score %d is %v (row 0: %v)", i, v, s[0])
		}
	}
}

func TestNewValidates(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"defaults", Config{}, true},
		{"nu 1", Config{Nu: 1}, true},
		{"nu small", Config{Nu: 1e-6}, true},
		{"nu above 1", Config{Nu: 1.5}, false},
		{"nu negative", Config{Nu: -0.1}, false},
		{"nu NaN", Config{Nu: math.NaN()}, false},
		{"gamma negative", Config{Gamma: -1}, false},
		{"gamma Inf", Config{Gamma: math.Inf(1)}, false},
		{"gamma with auto", Config{Gamma: 0.5, GammaAuto: true}, false},
		{"gamma auto", Config{GammaAuto: true}, true},
		{"tol negative", Config{Tol: -1e-3}, false},
		{"cache negative", Config{CacheMB: -1}, false},
		{"max iter negative", Config{MaxIter: -1}, false},
		{"workers negative", Config{Workers: -2}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := New(c.cfg)
			if (err == nil) != c.ok {
				t.Fatalf("New(%+v) error %v, want ok=%v", c.cfg, err, c.ok)
			}
			if c.ok {
				if cfg := d.Config(); cfg.Nu <= 0 || cfg.Tol <= 0 || cfg.CacheMB <= 0 {
					t.Fatalf("defaults not filled: %+v", cfg)
				}
			}
		})
	}
}

func TestGammaAutoAndFixed(t *testing.T) {
	X, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: 100, Cols: 4, Seed: 3})
	for _, c := range []struct {
		cfg  Config
		want float64
	}{{Config{GammaAuto: true}, 0.25}, {Config{Gamma: 0.7}, 0.7}} {
		d, _ := New(c.cfg)
		if err := d.Fit(context.Background(), X); err != nil {
			t.Fatal(err)
		}
		if g := d.Info().Gamma; g != c.want {
			t.Errorf("%+v: gamma %v, want %v", c.cfg, g, c.want)
		}
	}
}

func TestMaxIter(t *testing.T) {
	X, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: 500, Cols: 4, Seed: 4})
	d, _ := New(Config{MaxIter: 5})
	if err := d.Fit(context.Background(), X); err != nil {
		t.Fatal(err)
	}
	if info := d.Info(); !info.MaxIterReached || info.Iterations != 5 {
		t.Errorf("MaxIter 5: %+v", info)
	}
	if _, err := d.Score(context.Background(), X, nil); err != nil {
		t.Fatal(err)
	}
}

func TestBadInput(t *testing.T) {
	ctx := context.Background()
	d, _ := New(Config{})
	if err := d.Fit(ctx, dataset.NewMatrix(0, 3)); err == nil {
		t.Error("Fit on no rows returned no error")
	}
	X, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: 20, Cols: 2, Seed: 1})
	X.Set(7, 1, math.NaN())
	if err := d.Fit(ctx, X); err == nil {
		t.Error("Fit on NaN returned no error")
	}
	if _, err := d.MarshalBinary(); err == nil {
		t.Error("MarshalBinary before Fit returned no error")
	}
	X.Set(7, 1, 0)
	if err := d.Fit(ctx, X); err != nil {
		t.Fatal(err)
	}
	X.Set(3, 0, math.Inf(1))
	if _, err := d.Score(ctx, X, nil); err == nil {
		t.Error("Score of Inf returned no error")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	big, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: 2000, Cols: 2, Seed: 1})
	if err := d.Fit(cancelled, big); err == nil {
		t.Error("Fit with a cancelled context returned no error")
	}
}

func FuzzUnmarshalBinary(f *testing.F) {
	X, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: 40, Cols: 3, Seed: 9})
	d, _ := New(Config{})
	if err := d.Fit(context.Background(), X); err != nil {
		f.Fatal(err)
	}
	b, _ := d.MarshalBinary()
	f.Add(b)
	f.Add(b[:len(b)/3])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		d, _ := New(Config{})
		if err := d.UnmarshalBinary(b); err != nil {
			return
		}
		// Whatever decodes must score without panicking.
		if _, err := d.Score(context.Background(), dataset.NewMatrix(2, d.cols), nil); err != nil {
			t.Fatal(err)
		}
	})
}

package detector

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/gonomaly/gonomaly/dataset"
)

func TestQuantileMatchesNumpy(t *testing.T) {
	x := []float64{3, 1, 4, 1, 5, 9, 2, 6}
	// numpy 1.24: np.quantile(x, q)
	for _, tc := range []struct{ q, want float64 }{{0.9, 6.8999999999999995}, {0.5, 3.5}, {0, 1}, {1, 9}} {
		if got := Quantile(x, tc.q); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("Quantile(%v) = %v, want %v", tc.q, got, tc.want)
		}
	}
	if got := Quantile([]float64{7}, 0.9); got != 7 {
		t.Errorf("one value: %v", got)
	}
	if x[0] != 3 {
		t.Error("Quantile modified its input")
	}
}

func TestParseParams(t *testing.T) {
	tests := []struct {
		algo string
		raw  map[string]any
		want map[string]any // checked values
		err  string         // substring of the error; "" = no error
	}{
		{"isolation_forest", nil, map[string]any{"n_estimators": 100, "max_samples": "auto", "max_features": 1.0, "seed": 0}, ""},
		{"isolation_forest", map[string]any{"n_estimators": "50", "max_samples": "0.5"}, map[string]any{"n_estimators": 50, "max_samples": 0.5}, ""},
		{"isolation_forest", map[string]any{"n_estimators": 50.0, "bootstrap": true}, map[string]any{"n_estimators": 50, "bootstrap": true}, ""},
		{"isolation_forest", map[string]any{"n_estimators": "0"}, nil, "n_estimators=0: bad parameter: out of range (valid: an integer in [1, 100000])"},
		{"isolation_forest", map[string]any{"n_estimators": "2.5"}, nil, "not an integer"},
		{"isolation_forest", map[string]any{"trees": "5"}, nil, `has no parameter "trees": bad parameter (valid: n_estimators, max_samples, max_features, bootstrap, seed)`},
		{"isolation_forest", map[string]any{"max_samples": "lots"}, nil, "neither a number nor one of the choices (valid: auto or a number in (0, inf))"},
		{"isolation_forest", map[string]any{"bootstrap": "maybe"}, nil, "not true or false"},
		{"one_class_svm", map[string]any{"gamma": "auto", "nu": "0.1"}, map[string]any{"gamma": "auto", "nu": 0.1}, ""},
		{"one_class_svm", map[string]any{"gamma": "0.25"}, map[string]any{"gamma": 0.25}, ""},
		{"one_class_svm", map[string]any{"nu": "1.5"}, nil, "out of range"},
		{"one_class_svm", map[string]any{"nu": "0"}, nil, "out of range"},
		{"one_class_svm", map[string]any{"gamma": "NaN"}, nil, "not finite"},
		{"knn", map[string]any{"method": "mean"}, map[string]any{"method": "mean", "n_neighbors": 5}, ""},
		{"knn", map[string]any{"method": "max"}, nil, "not one of the choices (valid: largest|mean|median)"},
		{"hbos", map[string]any{"tol": "0"}, map[string]any{"tol": 0.0, "n_bins": 10}, ""},
		{"ecod", map[string]any{"x": "1"}, nil, `ecod has no parameter "x": bad parameter (valid: none)`},
	}
	for _, tc := range tests {
		alg, err := Lookup(tc.algo)
		if err != nil {
			t.Fatal(err)
		}
		p, err := alg.ParseParams(tc.raw)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, ErrBadParameter) {
				t.Errorf("%s %v: error %v, want one containing %q", tc.algo, tc.raw, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s %v: %v", tc.algo, tc.raw, err)
			continue
		}
		for k, v := range tc.want {
			if p[k] != v {
				t.Errorf("%s %v: %s = %#v, want %#v", tc.algo, tc.raw, k, p[k], v)
			}
		}
	}
}

func TestLookupUnknownListsValidNames(t *testing.T) {
	_, err := Lookup("isolation_tree")
	if !errors.Is(err, ErrUnknown) {
		t.Fatalf("err = %v", err)
	}
	for _, n := range []string{"ecod", "hbos", "isolation_forest", "knn", "local_outlier_factor", "one_class_svm"} {
		if !strings.Contains(err.Error(), n) {
			t.Errorf("error %q does not list %s", err, n)
		}
	}
}

func TestParseKeyValues(t *testing.T) {
	if _, err := ParseKeyValues([]string{"a=1", "a=2"}); err == nil {
		t.Error("duplicate accepted")
	}
	if _, err := ParseKeyValues([]string{"novalue"}); err == nil {
		t.Error("missing = accepted")
	}
	raw, err := ParseKeyValues([]string{" k = v=w "})
	if err != nil || raw["k"] != " v=w " {
		t.Errorf("got %v, %v", raw, err)
	}
}

func TestNewModelContamination(t *testing.T) {
	for _, c := range []float64{0, -0.1, 0.51, math.NaN()} {
		if _, err := NewModel("hbos", nil, c); !errors.Is(err, ErrBadParameter) {
			t.Errorf("contamination %v: err = %v", c, err)
		}
	}
}

// TestModelEveryAlgorithm fits every registered algorithm through Model, checks the threshold
// and the anomaly share, saves and loads the model, and checks the input errors callers rely on.
func TestModelEveryAlgorithm(t *testing.T) {
	ctx := context.Background()
	X, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: 400, Cols: 5, Contamination: 0.05, Seed: 1})
	Q, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: 60, Cols: 5, Contamination: 0.2, Seed: 2})
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			m, err := NewModel(name, nil, 0.1)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := m.Score(ctx, Q, nil); !errors.Is(err, ErrNotFitted) {
				t.Fatalf("score before fit: err = %v", err)
			}
			fr, err := m.Fit(ctx, X)
			if err != nil {
				t.Fatal(err)
			}
			above := 0
			for _, s := range fr.Scores {
				if s > m.Threshold {
					above++
				}
			}
			if above < 30 || above > 41 { // 10 % of 400, allowing for tied scores at the threshold
				t.Errorf("%d of 400 training rows above the threshold, want about 40", above)
			}
			want, err := m.Score(ctx, Q, nil)
			if err != nil {
				t.Fatal(err)
			}
			b, err := m.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			m2, err := UnmarshalModel(b)
			if err != nil {
				t.Fatal(err)
			}
			if m2.Algorithm != name || m2.Threshold != m.Threshold || m2.Cols != 5 {
				t.Fatalf("loaded %s threshold %v cols %d", m2.Algorithm, m2.Threshold, m2.Cols)
			}
			got, err := m2.Score(ctx, Q, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("row %d: loaded model scores %v, fitted model %v", i, got[i], want[i])
				}
			}
			// Corruption anywhere is caught by the checksum; truncation by the lengths.
			bad := append([]byte(nil), b...)
			bad[len(bad)/2] ^= 0x40
			for what, c := range map[string][]byte{"flipped": bad, "truncated": b[:len(b)-9], "empty": nil} {
				if _, err := UnmarshalModel(c); !errors.Is(err, ErrBadModel) {
					t.Errorf("%s model: err = %v", what, err)
				}
			}
			wide := dataset.NewMatrix(2, 6)
			if _, err := m.Score(ctx, wide, nil); !errors.Is(err, ErrDimension) {
				t.Errorf("wrong width: err = %v", err)
			}
			nan := Q.Slice(0, 2).Clone()
			nan.Set(1, 3, math.NaN())
			if _, err := m.Score(ctx, nan, nil); !errors.Is(err, ErrNonFiniteInput) || !strings.Contains(err.Error(), "row 2, column 4") {
				t.Errorf("NaN: err = %v", err)
			}
		})
	}
}

func TestModelFileVersion(t *testing.T) {
	m, _ := NewModel("hbos", nil, 0.1)
	X, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: 50, Cols: 2, Seed: 1})
	if _, err := m.Fit(context.Background(), X); err != nil {
		t.Fatal(err)
	}
	b, _ := m.MarshalBinary()
	b[len(modelMagic)] = 9 // a future format version; the checksum is then wrong too
	if _, err := UnmarshalModel(b); !errors.Is(err, ErrBadModel) {
		t.Fatalf("err = %v", err)
	}
	path := t.TempDir() + "/m.gnm"
	if err := m.SaveFile(path); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadFile(path); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadFile(path + ".missing"); err == nil {
		t.Fatal("missing file loaded")
	}
}

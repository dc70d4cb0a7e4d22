package bench_test

import (
	"errors"
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gonomaly/gonomaly/bench"
	"github.com/gonomaly/gonomaly/detector"
)

// FuzzSearchSpace checks the parsers of --grid and --range on any text and algorithm: an
// error wrapping ErrConfig whose message is valid UTF-8, or a space whose every value the
// algorithm accepts; a search of that space validates or fails with ErrConfig, and a valid one
// lists at most its trial limit, random draws within their ranges. Seeds are in
// testdata/fuzz/FuzzSearchSpace and below.
func FuzzSearchSpace(f *testing.F) {
	for _, s := range []struct {
		alg   uint8
		kv    string
		isRan bool
	}{
		{0, "n_neighbors=5:50", true}, {0, "n_neighbors=5,10,20", false}, {0, "method=largest,mean", true},
		{3, "n_estimators=50,100,200;max_samples=64,256", false}, {3, "max_samples=0.1:1.0:log;max_features=1:9", true},
		{4, "gamma=1e-3:1e3:log;nu=0.01:0.5", true}, {4, "gamma=scale,auto,0.1", false}, {2, "n_bins=2:1048576:log;alpha=0:1", true},
		{1, "n_neighbors=9223372036854775807:9223372036854775807", true}, {1, "n_neighbors=-5:5", true},
		{5, "seed=0:18446744073709551615", true}, {3, "seed=0:9223372036854775806", true},
		{0, "n_neighbors=1e400:2", true}, {0, "=", false}, {0, "n_neighbors=5,,", false}, {0, "n_neighbors=\xff", false},
		{0, "contamination=0.01:0.2", true}, {3, "bootstrap=true,false,1,0", false},
	} {
		f.Add(s.alg, s.kv, s.isRan, uint64(1))
	}
	names := detector.Names() // ecod, hbos, isolation_forest, knn, local_outlier_factor, one_class_svm
	f.Fuzz(func(t *testing.T, which uint8, text string, isRange bool, seed uint64) {
		alg := names[int(which)%len(names)]
		kvs := strings.Split(text, ";")
		if len(kvs) > 8 {
			kvs = kvs[:8]
		}
		cfg := bench.DefaultSearch(alg, "data.csv", "label")
		cfg.Seed, cfg.MaxTrials = seed, 200
		var err error
		if isRange {
			cfg.Random = 50
			cfg.Ranges, err = bench.ParseRanges(alg, kvs)
		} else {
			cfg.Grid, err = bench.ParseGrid(alg, kvs)
		}
		if err != nil {
			if !errors.Is(err, bench.ErrConfig) || !utf8.ValidString(err.Error()) {
				t.Fatalf("%q: %v", text, err)
			}
			return
		}
		a, _ := detector.Lookup(alg)
		for _, g := range cfg.Grid {
			for _, v := range g.Values {
				if _, err := a.ParseParams(map[string]any{g.Name: v}); err != nil {
					t.Fatalf("grid value %s=%v parsed but is refused: %v", g.Name, v, err)
				}
			}
		}
		for _, r := range cfg.Ranges {
			if len(r.Choices) == 0 && (r.Min > r.Max || math.IsNaN(r.Min) || math.IsInf(r.Max, 0)) {
				t.Fatalf("range %+v parsed", r)
			}
		}
		if err := cfg.Validate(); err != nil {
			if !errors.Is(err, bench.ErrConfig) {
				t.Fatalf("Validate: %v", err)
			}
			return
		}
		trials := cfg.Trials()
		if len(trials) == 0 || len(trials) > cfg.MaxTrials {
			t.Fatalf("%d trials", len(trials))
		}
		for _, tr := range trials {
			for _, r := range cfg.Ranges {
				if len(r.Choices) > 0 {
					continue
				}
				var v float64
				switch x := tr[r.Name].(type) {
				case int:
					v = float64(x)
				case float64:
					v = x
				default:
					t.Fatalf("%s drew %T %v", r.Name, x, x)
				}
				if v < r.Min || v > r.Max || (r.Integer && v != math.Trunc(v)) {
					t.Fatalf("%s drew %v outside %+v", r.Name, v, r)
				}
			}
		}
	})
}

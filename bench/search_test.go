package bench_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/gonomaly/gonomaly/bench"
)

func TestParseGrid(t *testing.T) {
	for _, c := range []struct {
		name, alg string
		kvs       []string
		want      []bench.GridParam
		err       string
	}{
		{"ints", "isolation_forest", []string{"n_estimators=50,100,200", "max_samples=64, 256"},
			[]bench.GridParam{{Name: "n_estimators", Values: []any{50, 100, 200}}, {Name: "max_samples", Values: []any{64.0, 256.0}}}, ""},
		{"choice and number", "isolation_forest", []string{"max_samples=auto,0.5"}, []bench.GridParam{{Name: "max_samples", Values: []any{"auto", 0.5}}}, ""},
		{"bool", "isolation_forest", []string{"bootstrap=true,false"}, []bench.GridParam{{Name: "bootstrap", Values: []any{true, false}}}, ""},
		{"choices", "knn", []string{"method=largest,mean"}, []bench.GridParam{{Name: "method", Values: []any{"largest", "mean"}}}, ""},
		{"unknown name", "knn", []string{"k=5"}, nil, `knn has no parameter "k" (valid: n_neighbors, method)`},
		{"no parameters", "ecod", []string{"k=5"}, nil, "none: it has no parameters"},
		{"contamination", "knn", []string{"contamination=0.05,0.1"}, nil, "sets only the threshold"},
		{"not an int", "knn", []string{"n_neighbors=5,7.5"}, nil, "not an integer"},
		{"out of range", "knn", []string{"n_neighbors=0"}, nil, "out of range"},
		{"bad choice", "knn", []string{"method=biggest"}, nil, "not one of the choices"},
		{"empty value", "knn", []string{"n_neighbors=5,,10"}, nil, "an empty value"},
		{"repeated value", "knn", []string{"n_neighbors=5,5"}, nil, "value 5 given twice"},
		{"repeated name", "knn", []string{"n_neighbors=5", "n_neighbors=6"}, nil, "given twice"},
		{"no equals", "knn", []string{"n_neighbors"}, nil, "want name=values"},
		{"no values", "knn", []string{"n_neighbors="}, nil, "want name=values"},
		{"unknown algorithm", "knm", []string{"n_neighbors=5"}, nil, "unknown algorithm"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := bench.ParseGrid(c.alg, c.kvs)
			if c.err != "" {
				if !errors.Is(err, bench.ErrConfig) || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want ErrConfig with %q", err, c.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, c.want) {
				t.Fatalf("%#v, %v; want %#v", got, err, c.want)
			}
		})
	}
}

func TestParseRanges(t *testing.T) {
	for _, c := range []struct {
		name, alg string
		kvs       []string
		want      []bench.ParamRange
		err       string
	}{
		{"int", "knn", []string{"n_neighbors=5:50"}, []bench.ParamRange{{Name: "n_neighbors", Min: 5, Max: 50, Integer: true}}, ""},
		{"int log", "knn", []string{"n_neighbors=2:200:log"}, []bench.ParamRange{{Name: "n_neighbors", Min: 2, Max: 200, Integer: true, Log: true}}, ""},
		{"float", "one_class_svm", []string{"nu=0.01:0.2"}, []bench.ParamRange{{Name: "nu", Min: 0.01, Max: 0.2}}, ""},
		{"float log", "one_class_svm", []string{"gamma=1e-3:10:log"}, []bench.ParamRange{{Name: "gamma", Min: 1e-3, Max: 10, Log: true}}, ""},
		{"whole ends of a float", "isolation_forest", []string{"max_samples=64:256"}, []bench.ParamRange{{Name: "max_samples", Min: 64, Max: 256, Integer: true}}, ""},
		{"choices", "knn", []string{"method=mean,median"}, []bench.ParamRange{{Name: "method", Choices: []any{"mean", "median"}}}, ""},
		{"int choices", "knn", []string{"n_neighbors=5,10"}, []bench.ParamRange{{Name: "n_neighbors", Choices: []any{5, 10}}}, ""},
		{"one point", "knn", []string{"n_neighbors=7:7"}, []bench.ParamRange{{Name: "n_neighbors", Min: 7, Max: 7, Integer: true}}, ""},
		{"int with real ends", "knn", []string{"n_neighbors=5.5:50"}, nil, "whole-number ends"},
		{"int with real-looking ends", "knn", []string{"n_neighbors=5.0:50"}, nil, "whole-number ends"},
		{"empty", "knn", []string{"n_neighbors=50:5"}, nil, "is empty"},
		{"log from zero", "hbos", []string{"tol=0:1:log"}, nil, "positive low end"},
		{"not log", "knn", []string{"n_neighbors=5:50:lin"}, nil, "want name=lo:hi"},
		{"four parts", "knn", []string{"n_neighbors=5:50:log:x"}, nil, "want name=lo:hi"},
		{"not numbers", "knn", []string{"n_neighbors=a:b"}, nil, "must be numbers"},
		{"infinite", "one_class_svm", []string{"nu=0.1:inf"}, nil, "not finite"},
		{"out of range", "one_class_svm", []string{"nu=0.1:2"}, nil, "out of range"},
		{"open low end", "one_class_svm", []string{"nu=0:0.5"}, nil, "out of range"},
		{"range of a bool", "isolation_forest", []string{"bootstrap=0:1"}, nil, "takes choices"},
		{"unknown", "lof", []string{"k=1:2"}, nil, "unknown algorithm"},
		{"unknown name", "local_outlier_factor", []string{"k=1:2"}, nil, "valid: n_neighbors"},
		{"contamination", "local_outlier_factor", []string{"contamination=0.01:0.2"}, nil, "sets only the threshold"},
		{"twice", "knn", []string{"n_neighbors=1:2", "n_neighbors=3:4"}, nil, "given twice"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := bench.ParseRanges(c.alg, c.kvs)
			if c.err != "" {
				if !errors.Is(err, bench.ErrConfig) || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want ErrConfig with %q", err, c.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, c.want) {
				t.Fatalf("%#v, %v; want %#v", got, err, c.want)
			}
		})
	}
}

func grid(t *testing.T, alg string, kvs ...string) []bench.GridParam {
	t.Helper()
	g, err := bench.ParseGrid(alg, kvs)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func ranges(t *testing.T, alg string, kvs ...string) []bench.ParamRange {
	t.Helper()
	r, err := bench.ParseRanges(alg, kvs)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestSearchConfigValidate(t *testing.T) {
	base := func() bench.SearchConfig { return bench.DefaultSearch("knn", wbc, "label") }
	for _, c := range []struct {
		name string
		edit func(c *bench.SearchConfig)
		want string
	}{
		{"nothing", func(c *bench.SearchConfig) {}, "nothing to search"},
		{"both", func(c *bench.SearchConfig) {
			c.Grid, c.Random, c.Ranges = grid(t, "knn", "n_neighbors=5,6"), 3, ranges(t, "knn", "method=mean,median")
		}, "not both"},
		{"random without ranges", func(c *bench.SearchConfig) { c.Random = 3 }, "no ranges"},
		{"ranges without count", func(c *bench.SearchConfig) { c.Ranges = ranges(t, "knn", "n_neighbors=1:5") }, "no number of random trials"},
		{"metric", func(c *bench.SearchConfig) { c.Grid, c.Metric = grid(t, "knn", "n_neighbors=5"), "f1" }, "valid: roc_auc, average_precision"},
		{"no label", func(c *bench.SearchConfig) { c.Grid, c.Label = grid(t, "knn", "n_neighbors=5"), "" }, "label column"},
		{"too many", func(c *bench.SearchConfig) {
			c.Grid, c.MaxTrials = grid(t, "knn", "n_neighbors=1,2,3,4,5", "method=largest,mean,median"), 14
		}, "15 trials: more than the limit of 14"},
		{"too many random", func(c *bench.SearchConfig) {
			c.Random, c.Ranges = bench.MaxSearchTrials+1, ranges(t, "knn", "n_neighbors=1:5")
		}, "10001 trials"},
		{"fixed and searched", func(c *bench.SearchConfig) {
			c.Grid, c.Params = grid(t, "knn", "n_neighbors=5"), map[string]any{"n_neighbors": "3"}
		}, "both fixed and searched"},
		{"bad fixed", func(c *bench.SearchConfig) {
			c.Grid, c.Params = grid(t, "knn", "n_neighbors=5"), map[string]any{"method": "biggest"}
		}, "not one of the choices"},
		{"grid value from a file", func(c *bench.SearchConfig) {
			c.Grid = []bench.GridParam{{Name: "n_neighbors", Values: []any{5, -1}}}
		}, "out of range"},
		{"range from a file", func(c *bench.SearchConfig) {
			c.Random, c.Ranges = 2, []bench.ParamRange{{Name: "n_neighbors", Min: 1, Max: 5}}
		}, "whole-number ends"},
		{"parallel", func(c *bench.SearchConfig) { c.Grid, c.Parallel = grid(t, "knn", "n_neighbors=5"), -2 }, "parallel -2"},
	} {
		cfg := base()
		c.edit(&cfg)
		if err := cfg.Validate(); !errors.Is(err, bench.ErrConfig) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want ErrConfig with %q", c.name, err, c.want)
		}
	}
	cfg := base()
	cfg.Grid = grid(t, "knn", "n_neighbors=5,10", "method=largest,mean,median")
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	trials := cfg.Trials()
	if len(trials) != 6 || trials[0]["n_neighbors"] != 5 || trials[0]["method"] != "largest" || trials[1]["method"] != "mean" || trials[5]["n_neighbors"] != 10 {
		t.Errorf("grid trials: %v", trials)
	}
}

// The same seed draws the same random trials; another seed others; repeats are drawn again, so
// a space smaller than the count asked gives each point once.
func TestRandomTrialsReproducible(t *testing.T) {
	cfg := bench.DefaultSearch("one_class_svm", wbc, "label")
	cfg.Random, cfg.Seed = 20, 42
	cfg.Ranges = ranges(t, "one_class_svm", "nu=0.05:0.5", "gamma=1e-3:1:log", "cache_size_mb=10:12", "shrinking=true,false")
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	a, b := cfg.Trials(), cfg.Trials()
	if len(a) != 20 || !reflect.DeepEqual(a, b) {
		t.Fatalf("two draws with seed 42 differ (%d, %d trials)", len(a), len(b))
	}
	for _, tr := range a {
		nu, g, mb := tr["nu"].(float64), tr["gamma"].(float64), tr["cache_size_mb"].(int)
		if nu < 0.05 || nu > 0.5 || g < 1e-3 || g > 1 || mb < 10 || mb > 12 {
			t.Errorf("draw out of its range: %v", tr)
		}
	}
	cfg.Seed = 43
	if reflect.DeepEqual(cfg.Trials(), a) {
		t.Error("seeds 42 and 43 draw the same trials")
	}
	cfg.Ranges = ranges(t, "one_class_svm", "cache_size_mb=10:12")
	if got := cfg.Trials(); len(got) != 3 {
		t.Errorf("%d trials from a space of 3 points: %v", len(got), got)
	}
}

// The search finds the clearly better setting on real data: local_outlier_factor on wbc
// scores 0.97 ROC-AUC with 40 neighbours, 0.83 with 20 and below 0.7 with 5 or 10
// (deterministic: no randomness in LOF).
func TestSearchFindsBetter(t *testing.T) {
	cfg := bench.DefaultSearch("local_outlier_factor", wbc, "label")
	cfg.Grid = grid(t, "local_outlier_factor", "n_neighbors=5,10,40,20")
	cfg.Parallel = 3
	doc, err := bench.RunSearch(context.Background(), cfg, bench.Options{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if doc.Kind != bench.KindSearch || doc.Mode != "grid" || doc.Rows != 223 || doc.Anomalies != 10 || len(doc.Trials) != 4 || doc.Failed != 0 {
		t.Fatalf("document: kind %s, mode %s, %d rows, %d anomalies, %d trials, %d failed", doc.Kind, doc.Mode, doc.Rows, doc.Anomalies, len(doc.Trials), doc.Failed)
	}
	if doc.Best != 2 || doc.BestParams["n_neighbors"] != 40 || doc.BestValue < 0.95 || doc.Trials[2].Rank != 1 {
		t.Errorf("best: trial %d %v %.4f", doc.Best, doc.BestParams, doc.BestValue)
	}
	if tr := doc.Trials[0]; tr.Accuracy == nil || tr.Accuracy.ROCAUC > 0.7 || tr.Rank != 4 {
		t.Errorf("n_neighbors=5: %+v", tr)
	}
	var sb strings.Builder
	if err := doc.WriteTable(&sb); err != nil {
		t.Fatal(err)
	}
	table := sb.String()
	if !strings.Contains(table, "best: local_outlier_factor n_neighbors=40 (trial 2): roc_auc 0.97") ||
		strings.Index(table, "\n    1 ") > strings.Index(table, "\n    2 ") {
		t.Errorf("table:\n%s", table)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	var back bench.SearchDoc
	if err := json.Unmarshal(b, &back); err != nil || back.Best != 2 || len(back.Trials) != 4 {
		t.Errorf("JSON round trip: %v, %+v", err, back)
	}

	// The same search by average precision agrees here (0.53 against at most 0.13).
	cfg.Metric = bench.MetricAveragePrecision
	if doc, err = bench.RunSearch(context.Background(), cfg, bench.Options{}); err != nil || doc.Best != 2 || doc.BestValue < 0.4 {
		t.Errorf("by average precision: %v, best %d %.4f", err, doc.Best, doc.BestValue)
	}
}

// One trial that cannot run (knn with more neighbours than rows) fails alone: the search
// reports its error and ranks the others (knn on wbc: 0.994 ROC-AUC with 5 neighbours, 0.970
// with 1).
func TestSearchFailingTrial(t *testing.T) {
	cfg := bench.DefaultSearch("knn", wbc, "label")
	cfg.Grid = grid(t, "knn", "n_neighbors=1,500,5")
	doc, err := bench.RunSearch(context.Background(), cfg, bench.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if doc.Failed != 1 || doc.Best != 2 || doc.Trials[0].Rank != 2 {
		t.Errorf("%d failed, best trial %d, trial 0 ranked %d", doc.Failed, doc.Best, doc.Trials[0].Rank)
	}
	if tr := doc.Trials[1]; tr.Status != bench.StatusError || !strings.Contains(tr.Error, "need at least") || tr.Rank != 0 || tr.Accuracy != nil {
		t.Errorf("n_neighbors=500 on 223 rows: %+v", tr)
	}
	var sb strings.Builder
	if err := doc.WriteTable(&sb); err != nil || !strings.Contains(sb.String(), "trial 1: bench: knn n_neighbors=500: ") {
		t.Errorf("table (%v):\n%s", err, sb.String())
	}
}

// A random search gives the same figures for one seed, whatever runs its trials side by side.
func TestRandomSearchReproducible(t *testing.T) {
	cfg := bench.DefaultSearch("isolation_forest", wbc, "label")
	cfg.Random, cfg.Seed = 6, 9
	cfg.Ranges = ranges(t, "isolation_forest", "n_estimators=10:200:log", "max_features=0.5:1.0")
	run := func(p int) *bench.SearchDoc {
		cfg.Parallel = p
		doc, err := bench.RunSearch(context.Background(), cfg, bench.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return doc
	}
	a, b := run(1), run(4)
	for i := range a.Trials {
		ta, tb := a.Trials[i], b.Trials[i]
		if !reflect.DeepEqual(ta.Params, tb.Params) || ta.Accuracy == nil || tb.Accuracy == nil || *ta.Accuracy != *tb.Accuracy {
			t.Errorf("trial %d: %v %v against %v %v", i, ta.Params, ta.Accuracy, tb.Params, tb.Accuracy)
		}
	}
	if a.Best != b.Best || a.Mode != "random" {
		t.Errorf("best %d and %d, mode %s", a.Best, b.Best, a.Mode)
	}
}

func TestSearchCancel(t *testing.T) {
	cfg := bench.DefaultSearch("local_outlier_factor", wbc, "label")
	cfg.Random, cfg.Ranges = 30, ranges(t, "local_outlier_factor", "n_neighbors=5:100")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	doc, err := bench.RunSearch(ctx, cfg, bench.Options{Reporter: &cancelAfter{n: 2, cancel: cancel}})
	if !errors.Is(err, context.Canceled) || doc == nil {
		t.Fatalf("%v, document %v", err, doc != nil)
	}
	skipped := 0
	for _, tr := range doc.Trials {
		if tr.Status == bench.StatusSkipped {
			skipped++
		}
	}
	if skipped == 0 || doc.Failed != 0 || doc.Best < 0 {
		t.Errorf("%d skipped, %d failed, best %d", skipped, doc.Failed, doc.Best)
	}
}

func TestSearchFileErrors(t *testing.T) {
	cfg := bench.DefaultSearch("hbos", "no-such.csv", "label")
	cfg.Grid = grid(t, "hbos", "n_bins=5,10")
	if _, err := bench.RunSearch(context.Background(), cfg, bench.Options{}); err == nil || errors.Is(err, bench.ErrConfig) || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing file: %v", err)
	}
	cfg.Dataset, cfg.Label = wbc, "y"
	if _, err := bench.RunSearch(context.Background(), cfg, bench.Options{}); err == nil || !strings.Contains(err.Error(), `"y"`) {
		t.Errorf("missing label column: %v", err)
	}
}

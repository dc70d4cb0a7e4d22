package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gonomaly/gonomaly/bench"
	"github.com/gonomaly/gonomaly/store"
)

// A grid search on wbc finds local_outlier_factor's clearly better setting (40 neighbours:
// 0.97 ROC-AUC, against 0.83 and below), prints every trial sorted by the metric, and stores
// its document where reports find it.
func TestPerformanceSearchGrid(t *testing.T) {
	db := "sqlite:" + t.TempDir() + "/s.db"
	out := filepath.Join(t.TempDir(), "search.json")
	code, stdout, stderr := gonomaly(t, "perf", "search", "--algorithm", "local_outlier_factor", "--dataset", wbc, "--label", "label",
		"--grid", "n_neighbors=5,10,40,20", "--parallel", "2", "--json", "--output", out, "--database", db)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var doc bench.SearchDoc
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("not a search document: %v\n%s", err, stdout)
	}
	if doc.Kind != "search" || doc.SchemaVersion != 1 || doc.Best != 2 || doc.BestParams["n_neighbors"] != 40.0 || len(doc.Trials) != 4 || doc.Config.Parallel != 2 {
		t.Errorf("document: kind %s, best %d %v, %d trials, parallel %d", doc.Kind, doc.Best, doc.BestParams, len(doc.Trials), doc.Config.Parallel)
	}
	if b, err := os.ReadFile(out); err != nil || !strings.Contains(string(b), `"kind": "search"`) {
		t.Errorf("--output: %v", err)
	}
	st, err := store.Open(context.Background(), db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	runs, err := st.ListBenchmarkRuns(context.Background(), store.BenchmarkFilter{Kind: store.KindSearch})
	if err != nil || len(runs) != 1 || runs[0].SuiteID != doc.SuiteID {
		t.Errorf("stored runs: %v, %d", err, len(runs))
	}

	// The table, sorted by the metric: 40, 20, then 10 and 5.
	code, _, stderr = gonomaly(t, "perf", "search", "-a", "local_outlier_factor", "--dataset", wbc, "--label", "label",
		"--grid", "n_neighbors=5,10,40,20", "--database", "none")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	i40, i20, i5 := strings.Index(stderr, "  40  "), strings.Index(stderr, "  20  "), strings.Index(stderr, "   5  ")
	if i40 < 0 || i20 < i40 || i5 < i20 || !strings.Contains(stderr, "best: local_outlier_factor n_neighbors=40 (trial 2): roc_auc 0.97") {
		t.Errorf("table:\n%s", stderr)
	}
}

// A random search draws the same trials for the same seed.
func TestPerformanceSearchRandom(t *testing.T) {
	search := func(seed string) bench.SearchDoc {
		code, stdout, stderr := gonomaly(t, "perf", "search", "-a", "isolation_forest", "--dataset", wbc, "--label", "label",
			"--random", "4", "--range", "n_estimators=10:100:log", "--range", "max_features=0.5:1.0", "--seed", seed,
			"--metric", "average_precision", "--json", "--database", "none")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		var doc bench.SearchDoc
		if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
			t.Fatal(err)
		}
		return doc
	}
	a, b := search("5"), search("5")
	if len(a.Trials) != 4 || a.Mode != "random" || a.Config.Metric != "average_precision" {
		t.Fatalf("%d trials, mode %s, metric %s", len(a.Trials), a.Mode, a.Config.Metric)
	}
	for i := range a.Trials {
		if a.Trials[i].Params["n_estimators"] != b.Trials[i].Params["n_estimators"] || *a.Trials[i].Accuracy != *b.Trials[i].Accuracy {
			t.Errorf("trial %d: %v %v, then %v %v", i, a.Trials[i].Params, a.Trials[i].Accuracy, b.Trials[i].Params, b.Trials[i].Accuracy)
		}
	}
}

func TestPerformanceSearchUsage(t *testing.T) {
	base := []string{"perf", "search", "--dataset", wbc, "--label", "label"}
	with := func(args ...string) []string { return append(append([]string{}, base...), args...) }
	checkExits(t, []exitCase{
		{"no algorithm", with("--grid", "n_neighbors=5"), 2, "--algorithm"},
		{"unknown algorithm", with("-a", "lof", "--grid", "n_neighbors=5"), 2, "unknown algorithm"},
		{"nothing to search", with("-a", "knn"), 2, "nothing to search"},
		{"unknown parameter", with("-a", "knn", "--grid", "k=5,10"), 2, `knn has no parameter "k" (valid: n_neighbors, method)`},
		{"bad value", with("-a", "knn", "--grid", "n_neighbors=5,ten"), 2, "not an integer"},
		{"empty grid value", with("-a", "knn", "--grid", "n_neighbors=5,"), 2, "an empty value"},
		{"grid syntax", with("-a", "knn", "--grid", "n_neighbors"), 2, "want name=values"},
		{"range syntax", with("-a", "knn", "--random", "3", "--range", "n_neighbors=5:10:20"), 2, "want name=lo:hi"},
		{"empty range", with("-a", "knn", "--random", "3", "--range", "n_neighbors=50:5"), 2, "is empty"},
		{"real ends of an int", with("-a", "knn", "--random", "3", "--range", "n_neighbors=0.5:5"), 2, "whole-number ends"},
		{"contamination", with("-a", "knn", "--random", "3", "--range", "contamination=0.01:0.2"), 2, "sets only the threshold"},
		{"no ranges", with("-a", "knn", "--random", "3"), 2, "no ranges"},
		{"both", with("-a", "knn", "--grid", "n_neighbors=5", "--random", "3", "--range", "method=mean,median"), 2, "not both"},
		{"too many trials", with("-a", "knn", "--grid", "n_neighbors=1,2,3", "--grid", "method=largest,mean", "--max-trials", "5"), 2, "6 trials: more than the limit of 5"},
		{"metric", with("-a", "knn", "--grid", "n_neighbors=5", "--metric", "f1"), 2, "valid: roc_auc, average_precision"},
		{"parallel", with("-a", "knn", "--grid", "n_neighbors=5", "--parallel", "-1"), 2, "parallel -1"},
		{"fixed and searched", with("-a", "knn", "--grid", "n_neighbors=5", "--param", "n_neighbors=3"), 2, "both fixed and searched"},
		{"missing file", []string{"perf", "search", "-a", "knn", "--dataset", "nope.csv", "--label", "label", "--grid", "n_neighbors=5"}, 1, "no such file"},
		{"missing label", []string{"perf", "search", "-a", "knn", "--dataset", wbc, "--label", "y", "--grid", "n_neighbors=5"}, 1, `"y"`},
	})
}

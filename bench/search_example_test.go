package bench_test

import (
	"context"
	"fmt"

	"github.com/gonomaly/gonomaly/bench"
)

// A grid search of local_outlier_factor's neighbours on a labelled file: every trial's
// ROC-AUC, and the best setting.
func ExampleRunSearch() {
	cfg := bench.DefaultSearch("local_outlier_factor", "../testdata/datasets/adbench/wbc.csv", "label")
	var err error
	if cfg.Grid, err = bench.ParseGrid(cfg.Algorithm, []string{"n_neighbors=5,20,40"}); err != nil {
		fmt.Println(err)
		return
	}
	doc, err := bench.RunSearch(context.Background(), cfg, bench.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, t := range doc.Trials {
		fmt.Printf("n_neighbors=%v: ROC-AUC %.4f, rank %d\n", t.Params["n_neighbors"], t.Accuracy.ROCAUC, t.Rank)
	}
	fmt.Printf("best: %v\n", doc.BestParams)
	// Output:
	// n_neighbors=5: ROC-AUC 0.5756, rank 3
	// n_neighbors=20: ROC-AUC 0.8315, rank 2
	// n_neighbors=40: ROC-AUC 0.9732, rank 1
	// best: map[n_neighbors:40]
}

// A random search's trials are drawn from the ranges with the seed: the same seed, the same
// trials.
func ExampleSearchConfig_Trials() {
	cfg := bench.DefaultSearch("knn", "data.csv", "label")
	cfg.Random, cfg.Seed = 3, 42
	cfg.Ranges, _ = bench.ParseRanges("knn", []string{"n_neighbors=2:100:log", "method=largest,mean"})
	if err := cfg.Validate(); err != nil {
		fmt.Println(err)
		return
	}
	for _, t := range cfg.Trials() {
		fmt.Println(t["n_neighbors"], t["method"])
	}
	// Output:
	// 54 largest
	// 49 largest
	// 4 mean
}

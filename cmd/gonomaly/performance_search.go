package main

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/gonomaly/gonomaly/bench"
	"github.com/gonomaly/gonomaly/detector"
)

type searchFlags struct {
	perfFlags
	algorithm     string
	dataset       string
	label         string
	grid          []string
	random        int
	ranges        []string
	metric        string
	parallel      int
	maxTrials     int
	contamination float64
	timeout       time.Duration
}

func newSearchCmd(f *searchFlags) *cobra.Command {
	d := bench.DefaultSearch("", "", "")
	cmd := &cobra.Command{
		Use:   "search --algorithm A --dataset FILE --label COL (--grid k=v1,v2 ... | --random N --range k=lo:hi ...) [flags]",
		Short: "Search one algorithm's parameters for the best ROC-AUC or average precision on a labelled file",
		Long: `search fits one algorithm on a labelled file once per trial, --parallel trials at a time
(within half of the machine's memory by the detectors' estimates), and ranks the trials by
--metric: roc_auc or average_precision. It prints every trial's parameters, ROC-AUC, average
precision, precision@n, fit and score seconds, sorted by the metric, and the best parameters.

A grid (--grid, repeatable) tries every combination of the values given:
  --grid n_estimators=50,100,200 --grid max_samples=64,256      6 trials
A random search (--random N) draws N trials from the ranges (--range, repeatable) with
--seed; the same seed draws the same trials:
  --range n_neighbors=5:50          whole numbers from 5 to 50 (both ends written as whole numbers)
  --range max_features=0.5:1.0      real numbers
  --range gamma=0.001:10:log        on a log scale
  --range method=mean,median        one of the values
Names and values are checked against the algorithm's parameters (gonomaly detect --help lists
them); --param fixes a parameter for every trial. contamination is not searched: it moves only
the threshold, and both metrics rank the scores.

Like compare, each trial is fitted on the file's rows without their labels (the detectors are
unsupervised) and its scores of those rows are evaluated against the labels: no rows are held
out. A trial that fails (too few rows, over the memory bound, past --timeout) is reported with
its error; the others run on.`,
		Example: `  gonomaly performance search --algorithm local_outlier_factor --dataset testdata/datasets/adbench/wbc.csv --label label --grid n_neighbors=5,10,20,40
  gonomaly perf search -a isolation_forest --dataset thyroid.csv --label label --grid n_estimators=50,100,200 --grid max_samples=64,256 --metric average_precision
  gonomaly perf search -a knn --dataset data.csv --label y --random 20 --range n_neighbors=2:100:log --range method=largest,mean --seed 7 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runSearch(cmd, f) },
	}
	fs := cmd.Flags()
	f.register(fs, false)
	fs.StringVarP(&f.algorithm, "algorithm", "a", "", "algorithm whose parameters are searched")
	fs.StringVar(&f.dataset, "dataset", "", "labelled CSV or Parquet file")
	fs.StringVar(&f.label, "label", "", "its 0/1 label column (1 = anomaly)")
	fs.StringArrayVar(&f.grid, "grid", nil, "grid parameter as name=v1,v2,... (repeatable): every combination is a trial")
	fs.IntVar(&f.random, "random", 0, "number of random trials drawn from the --range parameters with --seed")
	fs.StringArrayVar(&f.ranges, "range", nil, "random-search parameter as name=lo:hi, name=lo:hi:log or name=a,b,... (repeatable)")
	fs.StringVar(&f.metric, "metric", d.Metric, "what ranks the trials: roc_auc or average_precision")
	fs.IntVar(&f.parallel, "parallel", d.Parallel, "trials run at once (each fit already uses every core)")
	fs.IntVar(&f.maxTrials, "max-trials", d.MaxTrials, "refuse a search of more trials than this")
	fs.Float64Var(&f.contamination, "contamination", d.Contamination, "share of rows flagged, in (0, 0.5]")
	fs.DurationVar(&f.timeout, "timeout", time.Duration(d.TimeoutSeconds)*time.Second, "time limit per trial")
	return cmd
}

func runSearch(cmd *cobra.Command, f *searchFlags) error {
	cfg, err := f.build(cmd)
	if err != nil {
		return err
	}
	doc, err := runPerf(cmd, &f.perfFlags, "trials", "search", bench.RunSearch, cfg)
	if err != nil {
		return err
	}
	return f.emit(cmd, bench.KindSearch, doc.SuiteID, doc, doc.WriteTable)
}

// build makes the configuration by merge's rule: bench.DefaultSearch, then --config, then the
// flags given; --grid and --range are parsed for the algorithm and checked against its
// parameters. Every problem is a usage error.
func (f *searchFlags) build(cmd *cobra.Command) (bench.SearchConfig, error) {
	cfg := bench.DefaultSearch("", "", "")
	err := f.merge(cmd, func(path string) error { return bench.DecodeFile(path, &cfg) }, []setting{
		{"algorithm", func() { cfg.Algorithm = f.algorithm }},
		{"dataset", func() { cfg.Dataset = f.dataset }},
		{"label", func() { cfg.Label = f.label }},
		{"random", func() { cfg.Random = f.random }},
		{"metric", func() { cfg.Metric = f.metric }},
		{"parallel", func() { cfg.Parallel = f.parallel }},
		{"max-trials", func() { cfg.MaxTrials = f.maxTrials }},
		{"contamination", func() { cfg.Contamination = f.contamination }},
		{"timeout", func() { cfg.TimeoutSeconds = f.timeout.Seconds() }},
		{"seed", func() { cfg.Seed = f.seed }},
	})
	if err != nil {
		return cfg, err
	}
	if cfg.Algorithm == "" {
		return cfg, usagef("name the algorithm with --algorithm (or in --config)")
	}
	if _, err := detector.Lookup(cfg.Algorithm); err != nil {
		return cfg, usageError{err}
	}
	if len(f.grid) > 0 {
		if cfg.Grid, err = bench.ParseGrid(cfg.Algorithm, f.grid); err != nil {
			return cfg, usageError{err}
		}
	}
	if len(f.ranges) > 0 {
		if cfg.Ranges, err = bench.ParseRanges(cfg.Algorithm, f.ranges); err != nil {
			return cfg, usageError{err}
		}
	}
	raw, err := detector.ParseKeyValues(f.params)
	if err != nil {
		return cfg, usageError{err}
	}
	for k, v := range raw {
		if cfg.Params == nil {
			cfg.Params = map[string]any{}
		}
		cfg.Params[k] = v
	}
	if err := cfg.Validate(); err != nil {
		return cfg, configErr(err)
	}
	return cfg, nil
}

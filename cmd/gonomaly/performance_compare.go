package main

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/gonomaly/gonomaly/bench"
)

type compareFlags struct {
	perfFlags
	algorithms    []string
	dataset       string
	label         string
	contamination float64
	iterations    int
	warmup        int
	confidence    float64
	timeout       time.Duration
	isolate       bool
	parallel      int
}

func newCompareCmd(f *compareFlags) *cobra.Command {
	d := bench.DefaultCompare("", "")
	cmd := &cobra.Command{
		Use:   "compare --algorithms A B ... --dataset FILE --label COL [flags]",
		Short: "Compare algorithms on one labelled file: accuracy and speed",
		Long: `compare fits and scores each algorithm on a labelled CSV file, --warmup discarded runs then
--iterations measured ones, and prints accuracy (ROC-AUC, average precision, precision@n)
and speed side by side, a rank (by ROC-AUC, then average precision, then median time), the
Pareto front of accuracy against median total time, and for every pair whether the time
difference is significant: a two-sided Mann-Whitney U test of the total times, as benchstat
decides it, at --confidence. Five runs a side is the least for which p can fall below 0.05.

--parallel N runs N algorithms at once (within half of the machine's memory by the detectors'
estimates). Every fit already uses all cores, so the algorithms then share them: the ranking
by accuracy is the same, but each one's times are those of a contended run and the time
comparisons compare contended runs. The default, 1, keeps the times clean.`,
		Example: `  gonomaly performance compare --algorithms isolation_forest local_outlier_factor hbos ecod --dataset testdata/datasets/adbench/thyroid.csv --label label
  gonomaly perf compare --algorithms knn,hbos --dataset data.csv --label y --iterations 10 --confidence 0.99 --json`,
		RunE: func(cmd *cobra.Command, args []string) error { return runCompare(cmd, f, args) },
	}
	fs := cmd.Flags()
	f.register(fs, true)
	fs.StringSliceVarP(&f.algorithms, "algorithms", "a", nil, "algorithms, separated by spaces or commas (at least two)")
	fs.StringVar(&f.dataset, "dataset", "", "labelled CSV file")
	fs.StringVar(&f.label, "label", "", "its 0/1 label column (1 = anomaly)")
	fs.Float64Var(&f.contamination, "contamination", d.Contamination, "share of rows flagged, in (0, 0.5]")
	fs.IntVar(&f.iterations, "iterations", d.Iterations, "measured runs per algorithm")
	fs.IntVar(&f.warmup, "warmup", d.Warmup, "discarded runs per algorithm before the measured ones")
	fs.Float64Var(&f.confidence, "confidence", d.Confidence, "confidence level of the significance tests, in (0, 1)")
	fs.DurationVar(&f.timeout, "timeout", time.Duration(d.TimeoutSeconds)*time.Second, "time limit per algorithm")
	fs.BoolVar(&f.isolate, "isolate", true, "run each algorithm in its own child process")
	fs.IntVar(&f.parallel, "parallel", 1, "algorithms run at once; above 1 their times are contended runs' (accuracy is unchanged)")
	return cmd
}

func runCompare(cmd *cobra.Command, f *compareFlags, args []string) error {
	cfg, err := f.build(cmd, args)
	if err != nil {
		return err
	}
	doc, err := runPerf(cmd, &f.perfFlags, "algorithms", "compare", bench.RunCompare, cfg)
	if err != nil {
		return err
	}
	return f.emit(cmd, bench.KindCompare, doc.SuiteID, doc, doc.WriteTable)
}

// build makes the configuration by merge's rule: bench.DefaultCompare (run in child
// processes), then --config, then the flags given.
func (f *compareFlags) build(cmd *cobra.Command, args []string) (bench.CompareConfig, error) {
	cfg := bench.DefaultCompare("", "")
	cfg.Isolate = true
	names, err := algorithmList(cmd, f.algorithms, args)
	if err != nil {
		return cfg, err
	}
	err = f.merge(cmd, func(path string) error { return bench.DecodeFile(path, &cfg) }, []setting{
		{"algorithms", func() { cfg.Algorithms = algorithmsNamed(names) }},
		{"dataset", func() { cfg.Dataset = f.dataset }},
		{"label", func() { cfg.Label = f.label }},
		{"contamination", func() { cfg.Contamination = f.contamination }},
		{"iterations", func() { cfg.Iterations = f.iterations }},
		{"warmup", func() { cfg.Warmup = f.warmup }},
		{"confidence", func() { cfg.Confidence = f.confidence }},
		{"timeout", func() { cfg.TimeoutSeconds = f.timeout.Seconds() }},
		{"isolate", func() { cfg.Isolate = f.isolate }},
		{"seed", func() { cfg.Seed = f.seed }},
		{"parallel", func() { cfg.Parallel = f.parallel }},
	})
	if err != nil {
		return cfg, err
	}
	if err := applyParams(cfg.Algorithms, f.params); err != nil {
		return cfg, err
	}
	if err := cfg.Validate(); err != nil {
		return cfg, configErr(err)
	}
	return cfg, nil
}

package main

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/gonomaly/gonomaly/bench"
)

type scalabilityFlags struct {
	perfFlags
	algorithm     string
	baseSize      int
	maxSize       int
	steps         int
	dims          int
	contamination float64
	iterations    int
	warmup        int
	timeout       time.Duration
	isolate       bool
	basis         string
}

func newScalabilityCmd(f *scalabilityFlags) *cobra.Command {
	d := bench.DefaultScalability("")
	cmd := &cobra.Command{
		Use:   "scalability --algorithm A [--base-size 1000] [--max-size 100000] [--steps 10] [flags]",
		Short: "Fit how one algorithm's time grows with the number of rows",
		Long: `scalability measures one algorithm on seeded synthetic data at --steps sizes spaced
geometrically from --base-size to --max-size, in rounds that fit and score every size once
(--warmup rounds discarded, then --iterations), and fits the median fit, score and total
(fit + score) seconds to O(1), O(log n), O(n), O(n log n), O(n^2) and O(n^3) by least squares
on relative residuals. It reports the simplest pattern that fits within 15 % of the best
(or to 3 %),
the log-log exponent with its R^2, a grade and the time predicted at ten times the largest
size. The headline is fitted to CPU seconds (--basis cpu: the work done, which other
programs on a busy machine barely disturb) or to wall seconds (--basis wall); the document
holds both.

Grades by exponent: A up to 1.15 (linear or better), B up to 1.35 (n log n), C up to 1.6,
D up to 2.1 (quadratic), E up to 2.6, F above. A size past --timeout is stopped and the
larger ones skipped.`,
		Example: `  gonomaly performance scalability --algorithm isolation_forest
  gonomaly perf scalability --algorithm knn --dims 64 --base-size 1000 --max-size 8000 --steps 5
  gonomaly perf scalability -a one_class_svm --max-size 20000 --timeout 120s --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runScalability(cmd, f) },
	}
	fs := cmd.Flags()
	f.register(fs, false)
	fs.StringVarP(&f.algorithm, "algorithm", "a", "", "algorithm to measure")
	fs.IntVar(&f.baseSize, "base-size", d.BaseSize, "smallest number of rows")
	fs.IntVar(&f.maxSize, "max-size", d.MaxSize, "largest number of rows")
	fs.IntVar(&f.steps, "steps", d.Steps, "number of sizes (at least 3)")
	fs.IntVar(&f.dims, "dims", d.Dims, "columns of the synthetic data")
	fs.Float64Var(&f.contamination, "contamination", d.Contamination, "share of outliers in the data and of rows flagged, in (0, 0.5]")
	fs.IntVar(&f.iterations, "iterations", d.Iterations, "measured runs per size")
	fs.IntVar(&f.warmup, "warmup", d.Warmup, "discarded runs per size before the measured ones")
	fs.DurationVar(&f.timeout, "timeout", time.Duration(d.TimeoutSeconds)*time.Second, "time limit per size")
	fs.BoolVar(&f.isolate, "isolate", true, "run each measurement in its own child process")
	fs.StringVar(&f.basis, "basis", d.Basis, "time the headline growth is fitted to: cpu (work done, robust on a busy machine) or wall")
	return cmd
}

func runScalability(cmd *cobra.Command, f *scalabilityFlags) error {
	cfg, err := f.build(cmd)
	if err != nil {
		return err
	}
	doc, err := runPerf(cmd, &f.perfFlags, "sizes", "scalability", bench.RunScalability, cfg)
	if err != nil {
		return err
	}
	return f.emit(cmd, bench.KindScalability, doc.SuiteID, doc, doc.WriteTable)
}

// build makes the configuration by merge's rule: bench.DefaultScalability (run in child
// processes), then --config, then the flags given.
func (f *scalabilityFlags) build(cmd *cobra.Command) (bench.ScalabilityConfig, error) {
	cfg := bench.DefaultScalability("")
	cfg.Isolate = true
	err := f.merge(cmd, func(path string) error { return bench.DecodeFile(path, &cfg) }, []setting{
		{"algorithm", func() { cfg.Algorithm = bench.Algorithm{Name: f.algorithm} }},
		{"base-size", func() { cfg.BaseSize = f.baseSize }},
		{"max-size", func() { cfg.MaxSize = f.maxSize }},
		{"steps", func() { cfg.Steps = f.steps }},
		{"dims", func() { cfg.Dims = f.dims }},
		{"contamination", func() { cfg.Contamination = f.contamination }},
		{"iterations", func() { cfg.Iterations = f.iterations }},
		{"warmup", func() { cfg.Warmup = f.warmup }},
		{"timeout", func() { cfg.TimeoutSeconds = f.timeout.Seconds() }},
		{"isolate", func() { cfg.Isolate = f.isolate }},
		{"seed", func() { cfg.Seed = f.seed }},
		{"basis", func() { cfg.Basis = f.basis }},
	})
	if err != nil {
		return cfg, err
	}
	// checkSingle sets the parameters in cfg: call it before cfg is read for the return.
	if err := f.checkSingle(cmd, &cfg.Algorithm, &cfg, scalabilitySettings); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// scalabilitySettings maps the settings of a scalability configuration to their flags.
var scalabilitySettings = map[string]string{
	"max_size": "max-size", "feature_dimensions": "dims", "steps": "steps", "iterations": "iterations",
	"warmup_iterations": "warmup", "timeout_seconds": "timeout",
}

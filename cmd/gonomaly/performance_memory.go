package main

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/gonomaly/gonomaly/bench"
)

type memoryFlags struct {
	perfFlags
	algorithm      string
	maxMemoryMB    float64
	stepMultiplier float64
	baseSize       int
	dims           int
	contamination  float64
	maxSteps       int
	timeout        time.Duration
}

func newMemoryCmd() *cobra.Command {
	f := &memoryFlags{}
	d := bench.DefaultMemory("")
	cmd := &cobra.Command{
		Use:   "memory --algorithm A [--max-memory-mb 4096] [--step-multiplier 1.5] [flags]",
		Short: "Grow the data until the next step would pass a memory budget",
		Long: `memory fits and scores one algorithm on seeded synthetic data that grows by
--step-multiplier from --base-size rows, each step in its own child process that this one
watches. Before a step it predicts the step's peak resident memory from the growth so far
and does not start it when the prediction passes the kill line (the budget less 5 %, and at
least 16 MiB less); a child that passes the kill line anyway is killed at once, and stops
itself when its heap does. So the test ends by itself without leaving the machine short of
memory.

It reports every step (peak RSS, peak heap in fit and score, what the data and the model
hold), the largest size tested, bytes per row (held by data and model after fit, peak during
fit, extra while scoring, resident), and the growth class of the fit's peak memory.`,
		Example: `  gonomaly performance memory --algorithm isolation_forest --max-memory-mb 2048
  gonomaly perf memory -a local_outlier_factor --max-memory-mb 1024 --step-multiplier 2 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runMemory(cmd, f) },
	}
	fs := cmd.Flags()
	f.register(fs, false)
	fs.StringVarP(&f.algorithm, "algorithm", "a", "", "algorithm to stress")
	fs.Float64Var(&f.maxMemoryMB, "max-memory-mb", d.MaxMemoryMB, "memory budget in MiB (at least 32)")
	fs.Float64Var(&f.stepMultiplier, "step-multiplier", d.StepMultiplier, "growth of the rows from one step to the next (> 1)")
	fs.IntVar(&f.baseSize, "base-size", d.BaseSize, "rows of the first step")
	fs.IntVar(&f.dims, "dims", d.Dims, "columns of the synthetic data")
	fs.Float64Var(&f.contamination, "contamination", d.Contamination, "share of outliers in the data and of rows flagged, in (0, 0.5]")
	fs.IntVar(&f.maxSteps, "max-steps", d.MaxSteps, "stop after this many steps (0 = 60)")
	fs.DurationVar(&f.timeout, "timeout", time.Duration(d.TimeoutSeconds)*time.Second, "time limit per step")
	return cmd
}

func runMemory(cmd *cobra.Command, f *memoryFlags) error {
	cfg := bench.DefaultMemory("")
	if f.config != "" {
		if err := bench.DecodeFile(f.config, &cfg); err != nil {
			return configErr(err)
		}
	}
	ch := cmd.Flags().Changed
	set := func(flag string, apply func()) {
		if ch(flag) || f.config == "" {
			apply()
		}
	}
	if ch("algorithm") {
		cfg.Algorithm = bench.Algorithm{Name: f.algorithm}
	}
	set("max-memory-mb", func() { cfg.MaxMemoryMB = f.maxMemoryMB })
	set("step-multiplier", func() { cfg.StepMultiplier = f.stepMultiplier })
	set("base-size", func() { cfg.BaseSize = f.baseSize })
	set("dims", func() { cfg.Dims = f.dims })
	set("contamination", func() { cfg.Contamination = f.contamination })
	set("max-steps", func() { cfg.MaxSteps = f.maxSteps })
	set("timeout", func() { cfg.TimeoutSeconds = f.timeout.Seconds() })
	set("seed", func() { cfg.Seed = f.seed })
	if cfg.Algorithm.Name == "" {
		return usagef("name the algorithm with --algorithm (or in --config)")
	}
	if err := singleParams(&cfg.Algorithm, f.params); err != nil {
		return err
	}
	if err := cfg.CheckBounds(); err != nil {
		return settingErr(cmd, err, memorySettings)
	}
	if err := cfg.Validate(); err != nil {
		return configErr(err)
	}
	bar := newProgressBar(cmd.ErrOrStderr(), "steps")
	opts, err := f.options(bar)
	if err != nil {
		return err
	}
	doc, err := bench.RunMemory(cmd.Context(), cfg, opts)
	bar.done()
	if err != nil {
		return configErr(err)
	}
	return f.emit(cmd, bench.KindMemory, doc.SuiteID, doc, doc.WriteTable)
}

// memorySettings maps the settings of a memory test configuration to their flags.
var memorySettings = map[string]string{
	"max_memory_mb": "max-memory-mb", "max_steps": "max-steps", "base_size": "base-size", "feature_dimensions": "dims",
	"timeout_seconds": "timeout",
}

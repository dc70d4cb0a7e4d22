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

func newMemoryCmd(f *memoryFlags) *cobra.Command {
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
	cfg, err := f.build(cmd)
	if err != nil {
		return err
	}
	doc, err := runPerf(cmd, &f.perfFlags, "steps", "memory", bench.RunMemory, cfg)
	if err != nil {
		return err
	}
	return f.emit(cmd, bench.KindMemory, doc.SuiteID, doc, doc.WriteTable)
}

// build makes the configuration by merge's rule: bench.DefaultMemory, then --config, then
// the flags given.
func (f *memoryFlags) build(cmd *cobra.Command) (bench.MemoryConfig, error) {
	cfg := bench.DefaultMemory("")
	err := f.merge(cmd, func(path string) error { return bench.DecodeFile(path, &cfg) }, []setting{
		{"algorithm", func() { cfg.Algorithm = bench.Algorithm{Name: f.algorithm} }},
		{"max-memory-mb", func() { cfg.MaxMemoryMB = f.maxMemoryMB }},
		{"step-multiplier", func() { cfg.StepMultiplier = f.stepMultiplier }},
		{"base-size", func() { cfg.BaseSize = f.baseSize }},
		{"dims", func() { cfg.Dims = f.dims }},
		{"contamination", func() { cfg.Contamination = f.contamination }},
		{"max-steps", func() { cfg.MaxSteps = f.maxSteps }},
		{"timeout", func() { cfg.TimeoutSeconds = f.timeout.Seconds() }},
		{"seed", func() { cfg.Seed = f.seed }},
	})
	if err != nil {
		return cfg, err
	}
	// checkSingle sets the parameters in cfg: call it before cfg is read for the return.
	if err := f.checkSingle(cmd, &cfg.Algorithm, &cfg, memorySettings); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// memorySettings maps the settings of a memory test configuration to their flags.
var memorySettings = map[string]string{
	"max_memory_mb": "max-memory-mb", "max_steps": "max-steps", "base_size": "base-size", "feature_dimensions": "dims",
	"timeout_seconds": "timeout",
}

package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/gonomaly/gonomaly/bench"
)

type benchmarkFlags struct {
	perfFlags
	suite         string
	name          string
	description   string
	algorithms    []string
	sizes         []int
	dims          []int
	contamination []float64
	dataset       string
	label         string
	iterations    int
	warmup        int
	timeout       time.Duration
	cpuProfile    string
	memory        bool
	scalability   bool
	parallel      bool
	workers       int
	isolate       bool
	dist          clusterFlags
}

func newBenchmarkCmd(f *benchmarkFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "benchmark [--suite quick|standard|comprehensive] [--algorithms A B ...] [flags]",
		Short: "Run a benchmark suite: algorithms x sizes x widths x contamination rates",
		Long: `benchmark fits and scores every algorithm on seeded synthetic data of every size, width and
contamination rate (or on your labelled --dataset), --warmup runs then --iterations measured
runs per cell, and reports per cell: median fit, score and total seconds with a 95 %
confidence interval and outlier runs, throughput, CPU seconds, peak heap and peak RSS, and
ROC-AUC, average precision and precision@n.

Settings come from a preset (--suite, default quick), then --config FILE, then the flags
you give; the presets:
  quick          1000,5000 rows x 10 columns; isolation_forest, hbos; 3 iterations
  standard       1000..50000 rows x 10,20,50; isolation_forest, local_outlier_factor,
                 one_class_svm; 5 iterations after 2 warm-up; scalability fit
  comprehensive  standard's sizes x 10..100 columns x 4 contamination rates; every algorithm

Each cell runs in its own child process (--isolate, the default) so its memory figures are
its own and a cell past --timeout is killed and reported as "timeout". A config file holds
the same settings as the JSON document's "config" (docs/performance-json.md):
  name: nightly
  dataset_sizes: [1000, 10000]
  feature_dimensions: [10, 50]
  algorithms: [isolation_forest, {name: knn, parameters: {n_neighbors: 10}}]
  iterations: 5

With --distributed nats://host:4222 the cells run on the workers of a cluster
('gonomaly worker --nats ...', docs/benchmark.md) instead of here, each as a local cell
runs (a child process, killed at --timeout), as many at once as the workers have slots.
Every cell records the worker, host and machine that ran it; when the cells ran on more
than one machine the document lists them and warns that timings are not comparable across
them (a cell's own statistics come from one machine). A cell whose worker died is a failed
cell with the reason; the others stand. A --dataset must be on storage every worker sees
at the same path. --parallel, --workers and --cpu-profile do not apply.`,
		Example: `  gonomaly performance benchmark --suite quick
  gonomaly perf benchmark --algorithms isolation_forest local_outlier_factor one_class_svm --sizes 1000,5000,10000 --dims 10,50 --iterations 3
  gonomaly perf benchmark --algorithms hbos,ecod --dataset data.csv --label label --json > result.json
  gonomaly perf benchmark --config suite.yaml --cpu-profile profiles/ --output result.json
  gonomaly perf benchmark --suite standard --distributed nats://127.0.0.1:4222 --output result.json`,
		RunE: func(cmd *cobra.Command, args []string) error { return runBenchmark(cmd, f, args) },
	}
	fs := cmd.Flags()
	f.register(fs, true)
	fs.StringVar(&f.suite, "suite", "quick", "preset: "+strings.Join(bench.Suites, ", "))
	fs.StringVar(&f.name, "name", "", "name of this run (default: the suite's)")
	fs.StringVar(&f.description, "description", "", "description recorded with the result")
	fs.StringSliceVarP(&f.algorithms, "algorithms", "a", nil, "algorithms, separated by spaces or commas")
	fs.IntSliceVar(&f.sizes, "sizes", nil, "rows of synthetic data, separated by commas")
	fs.IntSliceVar(&f.dims, "dims", nil, "columns of synthetic data, separated by commas")
	fs.Float64SliceVar(&f.contamination, "contamination", nil, "contamination rates in (0, 0.5], separated by commas: share of outliers in the synthetic data and of rows flagged")
	fs.StringVar(&f.dataset, "dataset", "", "CSV file to benchmark on instead of synthetic data (--sizes and --dims then do not apply)")
	fs.StringVar(&f.label, "label", "", "0/1 label column of --dataset, for accuracy")
	fs.IntVar(&f.iterations, "iterations", 0, "measured runs per cell")
	fs.IntVar(&f.warmup, "warmup", 0, "discarded runs per cell before the measured ones")
	fs.DurationVar(&f.timeout, "timeout", 0, "time limit per cell, e.g. 600s")
	fs.StringVar(&f.cpuProfile, "cpu-profile", "", "write a pprof CPU profile per cell into this directory")
	fs.BoolVar(&f.memory, "memory-profiling", true, "sample the heap and record peak RSS")
	fs.BoolVar(&f.scalability, "scalability", false, "fit each algorithm's growth over the sizes (at least 3)")
	fs.BoolVar(&f.parallel, "parallel", false, "run cells at once (up to --workers); times then share the CPUs")
	fs.IntVar(&f.workers, "workers", 0, "cells at once with --parallel (0 = 2)")
	fs.BoolVar(&f.isolate, "isolate", true, "run each cell in its own child process")
	f.dist.add(fs, "distributed", "run the cells on the workers of the cluster at this NATS URL, e.g. nats://127.0.0.1:4222")
	return cmd
}

// build makes the configuration by merge's rule: the preset (--suite, or the file's suite,
// default quick), then --config, then the flags given.
func (f *benchmarkFlags) build(cmd *cobra.Command, args []string) (bench.Config, error) {
	ch := cmd.Flags().Changed
	cfg, err := bench.Suite(f.suite)
	if err != nil {
		return cfg, configErr(err)
	}
	load := func(path string) error {
		suite := "" // the file's own, when --suite is not given
		if ch("suite") {
			suite = f.suite
		}
		cfg, err = bench.LoadConfig(path, suite)
		return err
	}
	names, err := algorithmList(cmd, f.algorithms, args)
	if err != nil {
		return cfg, err
	}
	settings := []setting{
		{"algorithms", func() { cfg.Algorithms = algorithmsNamed(names) }},
		{"name", func() { cfg.Name = f.name }},
		{"description", func() { cfg.Description = f.description }},
		{"sizes", func() { cfg.Sizes = f.sizes }},
		{"dims", func() { cfg.Dims = f.dims }},
		{"contamination", func() { cfg.Contamination = f.contamination }},
		{"dataset", func() { cfg.Dataset = f.dataset }},
		{"label", func() { cfg.Label = f.label }},
		{"iterations", func() { cfg.Iterations = f.iterations }},
		{"warmup", func() { cfg.Warmup = f.warmup }},
		{"timeout", func() { cfg.TimeoutSeconds = f.timeout.Seconds() }},
		{"cpu-profile", func() { cfg.CPUProfiling, cfg.ProfileDir = f.cpuProfile != "", f.cpuProfile }},
		{"memory-profiling", func() { cfg.MemoryProfiling = f.memory }},
		{"scalability", func() { cfg.Scalability = f.scalability }},
		{"parallel", func() { cfg.Parallel = f.parallel }},
		{"workers", func() { cfg.Workers = f.workers }},
		{"isolate", func() { cfg.Isolate = f.isolate }},
		{"seed", func() { cfg.Seed = f.seed }},
	}
	// A preset's grid changed by flags is no longer that preset: do not file it under its
	// name and description (--name and --description, applied after, still set them).
	if f.config == "" && (ch("algorithms") || ch("sizes") || ch("dims") || ch("contamination") || ch("dataset")) {
		cfg.Name = "custom"
		cfg.Description = fmt.Sprintf("the %s preset's settings where no flag gave them", cfg.Suite)
	}
	if err := f.merge(cmd, load, settings); err != nil {
		return cfg, err
	}
	if err := applyParams(cfg.Algorithms, f.params); err != nil {
		return cfg, err
	}
	if err := cfg.Validate(); err != nil {
		return cfg, settingErr(cmd, err, benchmarkSettings)
	}
	return cfg, nil
}

// benchmarkSettings maps the settings of a benchmark configuration to their flags.
var benchmarkSettings = map[string]string{
	"dataset_sizes": "sizes", "feature_dimensions": "dims", "iterations": "iterations", "warmup_iterations": "warmup",
	"timeout_seconds": "timeout", "max_workers": "workers",
}

func runBenchmark(cmd *cobra.Command, f *benchmarkFlags, args []string) error {
	cfg, err := f.build(cmd, args)
	if err != nil {
		return err
	}
	run := bench.RunBenchmark
	if f.dist.url != "" {
		switch {
		case cfg.Parallel || cfg.Workers != 0:
			return usagef("--distributed: cells run as the cluster's workers take them (as many at once as they have slots): --parallel and --workers do not apply")
		case cfg.CPUProfiling:
			return usagef("--distributed: CPU profiles would be written on the workers' machines: profile a local run")
		}
		conn, err := f.dist.connect(cmd.Context(), "gonomaly benchmark")
		if err != nil {
			return err
		}
		defer conn.Close()
		run = func(ctx context.Context, cfg bench.Config, o bench.Options) (*bench.BenchmarkDoc, error) {
			o.Executor = conn
			o.Reporter = &clusterReporter{r: o.Reporter, w: cmd.ErrOrStderr(), note: fmt.Sprintf(
				"note: no worker has joined cluster %s yet: start 'gonomaly worker --nats %s --cluster %s'\n", conn.Name(), redactURL(f.dist.url), conn.Name())}
			return bench.RunBenchmark(ctx, cfg, o)
		}
	}
	doc, err := runPerf(cmd, &f.perfFlags, "cells", "benchmark", run, cfg)
	if err != nil {
		return err
	}
	if err := f.emit(cmd, bench.KindBenchmark, doc.SuiteID, doc, doc.WriteTable); err != nil {
		return err
	}
	failed := 0
	for _, c := range doc.Cells {
		if c.Status == bench.StatusError {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d cells failed (see their errors above or in the document)", failed, len(doc.Cells))
	}
	return nil
}

// clusterReporter shows a distributed benchmark's progress: cells done of all with the
// workers alive in place of the cell running, and a note when no worker has joined after
// five seconds (unless the progress line, which says "0 workers", is drawn).
type clusterReporter struct {
	r    bench.Reporter
	w    io.Writer
	note string
	once sync.Once
}

func (c *clusterReporter) Report(p bench.Progress) {
	if p.Workers == 0 && p.Elapsed >= 5*time.Second {
		if bar, ok := c.r.(*progress); !ok || !bar.on {
			c.once.Do(func() { fmt.Fprint(c.w, c.note) })
		}
	}
	p.Current = fmt.Sprintf("%d workers", p.Workers)
	if c.r != nil {
		c.r.Report(p)
	}
}

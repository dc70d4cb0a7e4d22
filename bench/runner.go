package bench

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// Reporter receives a run's progress: once when a cell (or step) starts and once when it
// ends. Calls never overlap, even when cells run in parallel.
type Reporter interface {
	Report(Progress)
}

// Progress is where a run stands.
type Progress struct {
	Done  int // cells finished
	Total int
	// Current is the cell most recently started, as CellSpec.ID names it.
	Current string
	Elapsed time.Duration
	// ETA is the time left, estimated from the mean time of the finished cells; 0 until one
	// has finished.
	ETA time.Duration
	// Workers is how many cluster workers are running the cells, when an Options.Executor
	// runs them (0: none, or not known).
	Workers int
}

// Options are how a run executes and what it records, as opposed to what it measures.
type Options struct {
	// Child is the command line of a process that serves one cell with ServeChild, for
	// example {"/usr/local/bin/gonomaly", "performance", "__cell"}. Runs whose configuration
	// isolates cells, and every memory test, need it.
	Child []string
	// Reporter, when set, receives progress.
	Reporter Reporter
	// Version is the gonomaly version recorded in the documents ("unknown" when empty).
	Version string
	// SuiteID identifies the run; empty means a new NewSuiteID.
	SuiteID string
	// Executor, when set, runs a benchmark's cells instead of this process (a cluster's
	// workers: cluster.Conn). The document then records where each cell ran.
	Executor CellExecutor
}

func (o *Options) header(kind, name, desc string, seed uint64, isolated bool) Header {
	now := time.Now()
	id := o.SuiteID
	if id == "" {
		id = NewSuiteID(name, now)
	}
	v := o.Version
	if v == "" {
		v = "unknown"
	}
	return Header{
		SchemaVersion: SchemaVersion, Kind: kind, SuiteID: id, Name: name, Description: desc,
		GonomalyVersion: v, Build: BuildVersion(), Machine: CurrentMachine(), Seed: seed,
		Isolated: isolated, StartedAt: now,
	}
}

func (h *Header) finish() {
	h.FinishedAt = time.Now()
	h.DurationSeconds = h.FinishedAt.Sub(h.StartedAt).Seconds()
	h.StartedAt, h.FinishedAt = h.StartedAt.UTC().Round(0), h.FinishedAt.UTC().Round(0)
}

// execute runs one cell with a timeout, in a child process when isolate is set. killAt
// (child only) is the resident set size at which the child is stopped. It returns the
// largest resident set the parent saw (0 when it did not watch).
func (o *Options) execute(ctx context.Context, spec CellSpec, timeout time.Duration, isolate bool, killAt int64) (*CellResult, int64, error) {
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if isolate {
		run, err := runChild(cctx, o.Child, spec, killAt)
		var watched int64
		var res *CellResult
		if run != nil {
			watched, res = run.watchedRSS, run.res
		}
		return res, watched, err
	}
	res, err := RunCell(cctx, spec)
	if err != nil && ctx.Err() == nil && errors.Is(cctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("bench: cell %s: %w", spec.ID(), ErrTimeout)
	}
	return res, 0, err
}

func statusOf(err error) string {
	switch {
	case err == nil:
		return StatusOK
	case errors.Is(err, ErrTimeout):
		return StatusTimeout
	case errors.Is(err, ErrOverBudget):
		return StatusOverBudget
	}
	return StatusError
}

// tracker turns cell starts and ends into Progress reports.
type tracker struct {
	mu      sync.Mutex
	r       Reporter
	start   time.Time
	done    int
	total   int
	current string
}

func newTracker(r Reporter, total int) *tracker {
	return &tracker{r: r, start: time.Now(), total: total}
}

func (t *tracker) report(started string, finished bool) {
	if t == nil || t.r == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if started != "" {
		t.current = started
	}
	if finished {
		t.done++
	}
	p := Progress{Done: t.done, Total: t.total, Current: t.current, Elapsed: time.Since(t.start)}
	if t.done > 0 {
		p.ETA = p.Elapsed / time.Duration(t.done) * time.Duration(t.total-t.done)
	}
	t.r.Report(p)
}

// cells lists the configuration's cells: algorithm by algorithm, then size, width and
// contamination rate.
func (c *Config) cells() []CellSpec {
	var specs []CellSpec
	for _, a := range c.Algorithms {
		base := CellSpec{Algorithm: a, Seed: c.Seed, Iterations: c.Iterations, Warmup: c.Warmup, Memory: c.MemoryProfiling}
		if c.Dataset != "" {
			for _, r := range c.Contamination {
				s := base
				s.Dataset, s.Label, s.Contamination = c.Dataset, c.Label, r
				specs = append(specs, s)
			}
			continue
		}
		for _, n := range c.Sizes {
			for _, d := range c.Dims {
				for _, r := range c.Contamination {
					s := base
					s.Rows, s.Cols, s.Contamination = n, d, r
					specs = append(specs, s)
				}
			}
		}
	}
	if c.CPUProfiling {
		for i := range specs {
			specs[i].CPUProfile = filepath.Join(c.ProfileDir, profileName(specs[i].ID()))
		}
	}
	return specs
}

func profileName(id string) string {
	return strings.Trim(unsafeID.ReplaceAllString(strings.ReplaceAll(id, "/", "_"), "-"), "-") + ".pprof"
}

func baseName(path string) string { return filepath.Base(path) }

// RunBenchmark runs every cell of cfg and returns the benchmark document. A cell that fails,
// passes its timeout or its memory budget is reported in the document with its status; the
// error is for a configuration that cannot run, or ctx ending, in which case the document
// holds the cells that finished.
func RunBenchmark(ctx context.Context, cfg Config, opts Options) (*BenchmarkDoc, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opts.Executor != nil {
		return runRemote(ctx, cfg, opts)
	}
	if cfg.Isolate && len(opts.Child) == 0 {
		return nil, fmt.Errorf("bench: isolated cells need a child command (Options.Child): %w", ErrConfig)
	}
	if cfg.CPUProfiling {
		if err := os.MkdirAll(cfg.ProfileDir, 0o755); err != nil {
			return nil, fmt.Errorf("bench: profile directory: %w", err)
		}
	}
	specs := cfg.cells()
	doc := &BenchmarkDoc{Header: opts.header(KindBenchmark, cfg.Name, cfg.Description, cfg.Seed, cfg.Isolate), Config: cfg}
	doc.Cells = make([]Cell, len(specs))
	workers := 1
	if cfg.Parallel {
		workers = cfg.Workers
		if workers == 0 {
			workers = 2
		}
	}
	tr := newTracker(opts.Reporter, len(specs))
	var g errgroup.Group
	g.SetLimit(workers)
	ran := make([]bool, len(specs))
	for i, spec := range specs {
		if ctx.Err() != nil {
			break
		}
		g.Go(func() error {
			if ctx.Err() != nil {
				return nil
			}
			tr.report(spec.ID(), false)
			c := opts.RunCellJob(ctx, CellJob{Spec: spec, TimeoutSeconds: cfg.TimeoutSeconds, Isolate: cfg.Isolate})
			if ctx.Err() != nil {
				return nil
			}
			doc.Cells[i] = c
			ran[i] = true
			tr.report("", true)
			return nil
		})
	}
	_ = g.Wait()
	if err := ctx.Err(); err != nil {
		kept := doc.Cells[:0]
		for i, c := range doc.Cells {
			if ran[i] {
				kept = append(kept, c)
			}
		}
		doc.Cells = kept
		doc.finish()
		return doc, fmt.Errorf("bench: benchmark %s stopped: %w", cfg.Name, err)
	}
	if cfg.Scalability && cfg.Dataset == "" {
		doc.Scalability = scalabilityFits(&cfg, doc.Cells)
	}
	doc.finish()
	return doc, nil
}

// RunCellJob runs one cell as RunBenchmark runs each of its own: in a child process when
// j.Isolate (Options.Child), else in this process, stopped at j's timeout. It returns the
// document's Cell: one that fails or passes its timeout has that status and its error. When
// ctx ends first the cell is failed too; the caller tells that case by ctx.Err().
func (o *Options) RunCellJob(ctx context.Context, j CellJob) Cell {
	t0 := time.Now()
	res, _, err := o.execute(ctx, j.Spec, j.Timeout(), j.Isolate, 0)
	return makeCell(j.Spec, res, err, time.Since(t0))
}

// FailedCell is the Cell of a job that never produced one (its runner died, its result was
// lost), with err as its error, recorded as RunBenchmark records a cell that failed.
func FailedCell(j CellJob, err error) Cell {
	return makeCell(j.Spec, nil, err, 0)
}

// makeCell turns a cell's result into its report.
func makeCell(spec CellSpec, res *CellResult, err error, wall time.Duration) Cell {
	c := Cell{
		ID: spec.ID(), Algorithm: spec.Algorithm.Name, Params: maps.Clone(spec.Algorithm.Params),
		Rows: spec.Rows, Cols: spec.Cols, Contamination: spec.Contamination, Dataset: "synthetic",
		Status: statusOf(err), Warmup: spec.Warmup, WallSeconds: wall.Seconds(),
	}
	if spec.Dataset != "" {
		c.Dataset = spec.Dataset
	}
	if err != nil {
		c.Error = err.Error()
		return c
	}
	c.Rows, c.Cols = res.Rows, res.Cols
	c.Iterations = len(res.Measurements)
	c.Fit, c.Score, c.Total, c.CPU = summarizeRuns(res.Measurements)
	c.Samples = totalSamples(res.Measurements, MaxSamples)
	if c.Total.Median > 0 {
		c.Throughput = float64(c.Rows) / c.Total.Median
	}
	if c.Score.Median > 0 {
		c.ScoreThroughput = float64(c.Rows) / c.Score.Median
	}
	if spec.Memory {
		c.Memory = memoryOf(res)
	}
	c.Accuracy = res.Accuracy
	c.Profile = spec.CPUProfile
	return c
}

// memoryOf takes the largest memory figures over a result's iterations.
func memoryOf(res *CellResult) *Memory {
	m := &Memory{DataBytes: res.DataBytes, ModelBytes: res.ModelBytes, PeakRSS: res.PeakRSS, RSSScope: res.RSSScope}
	for _, ms := range res.Measurements {
		m.FitPeakHeap = max(m.FitPeakHeap, ms.FitPeakHeap)
		m.ScorePeakHeap = max(m.ScorePeakHeap, ms.ScorePeakHeap)
	}
	return m
}

// totalSamples are the iterations' total seconds, at most n of them: evenly spaced ones of a
// longer run, the first and last included.
func totalSamples(ms []Measurement, n int) []float64 {
	if len(ms) == 0 || n <= 0 {
		return nil
	}
	k := min(len(ms), n)
	out := make([]float64, k)
	for i := range k {
		j := i
		if k < len(ms) && k > 1 {
			j = i * (len(ms) - 1) / (k - 1)
		}
		out[i] = ms[j].FitSeconds + ms[j].ScoreSeconds
	}
	return out
}

// summarizeRuns summarises fit, score, total and CPU seconds over measured iterations; the
// measurements are finite by construction, so Summarize cannot fail here.
func summarizeRuns(ms []Measurement) (fit, score, total, cpu *Summary) {
	n := len(ms)
	f, s, t, c := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	for i, m := range ms {
		f[i], s[i], t[i], c[i] = m.FitSeconds, m.ScoreSeconds, m.FitSeconds+m.ScoreSeconds, m.CPUSeconds
	}
	sum := func(xs []float64) *Summary {
		r, _ := Summarize(xs)
		return &r
	}
	return sum(f), sum(s), sum(t), sum(c)
}

// scalabilityFits fits each series of cells (one algorithm, width and rate over the sizes)
// that has at least three finished sizes.
func scalabilityFits(cfg *Config, cells []Cell) []ScalabilityFit {
	var fits []ScalabilityFit
	for _, a := range cfg.Algorithms {
		for _, d := range cfg.Dims {
			for _, r := range cfg.Contamination {
				sf := ScalabilityFit{Algorithm: a.Name, Cols: d, Contamination: r}
				machines := map[string]bool{}
				for _, c := range cells {
					if c.Algorithm == a.Name && c.Cols == d && c.Contamination == r && c.Status == StatusOK && c.Rows > 1 {
						if k := machineKey(&c); k != "" {
							machines[k] = true
						}
						sf.Sizes = append(sf.Sizes, c.Rows)
						sf.Seconds = append(sf.Seconds, c.Total.Median)
						sf.CPUSeconds = append(sf.CPUSeconds, c.CPU.Median)
					}
				}
				wall, err := FitComplexity(sf.Sizes, sf.Seconds)
				if err != nil {
					continue
				}
				cpu, err := FitComplexity(sf.Sizes, sf.CPUSeconds)
				if err != nil {
					continue
				}
				sf.Total, sf.CPU = wall, cpu
				if len(machines) > 1 {
					sf.Warning = MachinesWarning(len(machines))
				}
				fits = append(fits, sf)
			}
		}
	}
	return fits
}

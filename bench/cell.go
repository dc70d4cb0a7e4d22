package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/eval"
	"github.com/gonomaly/gonomaly/internal/sysstat"
)

// CellSpec is one benchmark cell: one algorithm on one dataset, fitted and scored Iterations
// times after Warmup discarded runs. It travels as JSON to a child process.
type CellSpec struct {
	Algorithm Algorithm `json:"algorithm"`
	// Rows and Cols size the synthetic data (dataset.Synthetic with Contamination and Seed);
	// ignored when Dataset names a CSV file (with an optional 0/1 Label column).
	Rows          int     `json:"rows,omitempty"`
	Cols          int     `json:"cols,omitempty"`
	Dataset       string  `json:"dataset,omitempty"`
	Label         string  `json:"label,omitempty"`
	Contamination float64 `json:"contamination"`
	Seed          uint64  `json:"seed"`

	Iterations int `json:"iterations"`
	Warmup     int `json:"warmup"`
	// Memory samples the heap during fit and score (see Measurement) and records peak RSS.
	Memory bool `json:"memory"`
	// CPUProfile, when set, is the file a pprof CPU profile of the measured iterations goes to.
	CPUProfile string `json:"cpu_profile,omitempty"`
	// HeapLimit, when positive, is the heap size (bytes) past which a child process stops
	// itself at once (see ServeChild); the memory stress test sets it.
	HeapLimit int64 `json:"heap_limit,omitempty"`
	// SampleEvery is the heap sampler's interval (0 = SampleInterval). The memory stress test
	// samples every millisecond: its peaks are the figures it reports, its times are not.
	SampleEvery time.Duration `json:"sample_every_ns,omitempty"`
}

// ID names the cell in reports and profile file names: algorithm/ROWSxCOLS/cCONTAMINATION,
// or algorithm/FILE/cCONTAMINATION.
func (s CellSpec) ID() string {
	data := fmt.Sprintf("%dx%d", s.Rows, s.Cols)
	if s.Dataset != "" {
		data = baseName(s.Dataset)
	}
	return fmt.Sprintf("%s/%s/c%g", s.Algorithm.Name, data, s.Contamination)
}

// Measurement is one measured iteration. The fit phase is detector.Model.Fit (the detector's
// fit, scoring the training rows, setting the threshold); the score phase is Model.Score of
// the same rows as new data. Times are wall clock around each call and nothing else; the
// garbage collections the calls' allocations cause fall inside them, as in a program.
type Measurement struct {
	FitSeconds   float64 `json:"fit_seconds"`
	ScoreSeconds float64 `json:"score_seconds"`
	// CPUSeconds is the process's user + system CPU time over fit and score (getrusage).
	CPUSeconds float64 `json:"cpu_seconds"`
	// FitPeakHeap and ScorePeakHeap are the largest heap (bytes of heap objects, live or
	// not yet swept, from runtime/metrics, sampled every SampleInterval) seen during each
	// phase, above the heap before the data was loaded: they include the data. 0 without
	// memory profiling.
	FitPeakHeap   int64 `json:"fit_peak_heap_bytes"`
	ScorePeakHeap int64 `json:"score_peak_heap_bytes"`
}

// CellResult is what running a cell measured.
type CellResult struct {
	Rows         int           `json:"rows"`
	Cols         int           `json:"cols"`
	Labelled     bool          `json:"labelled"`
	Anomalies    int           `json:"anomalies"` // rows labelled 1
	Measurements []Measurement `json:"measurements"`
	// Accuracy of the first measured fit's training scores against the labels; nil without
	// labels of both classes.
	Accuracy *eval.Metrics `json:"accuracy,omitempty"`
	// DataBytes is the live heap the data (matrix and labels) holds.
	DataBytes int64 `json:"data_bytes"`
	// ModelBytes is the live heap the fitted model holds: live heap after fit minus live heap
	// before it, both after full collections outside the timed calls, in the cell's first run
	// (a warm-up one when there is warm-up): the collections change the timing of the calls
	// after them, so the other runs make none. 0 without memory profiling.
	ModelBytes int64 `json:"model_bytes"`
	// PeakRSS is the process's peak resident set size (bytes) while the cell ran; RSSScope
	// says what it covers: "cell" when the kernel's peak could be reset at the cell's start
	// (Linux), "process" when it is the process's whole life. In one process shared by many
	// cells it still includes memory the runtime kept from earlier cells.
	PeakRSS  int64  `json:"peak_rss_bytes"`
	RSSScope string `json:"rss_scope,omitempty"`
	// BaseRSS is the resident set size before the data was loaded.
	BaseRSS int64 `json:"base_rss_bytes"`
	// Error is set by a child process whose cell failed.
	Error string `json:"error,omitempty"`
}

// SampleInterval is how often the heap is sampled during a phase under memory profiling (and
// once more at each phase's start and end). A look costs well under a microsecond of reading
// but a goroutine wake-up each time: at 1 ms the sampler took 4 % of an idle core, at 10 ms
// under 1 % (TestSamplerCPU; BENCHMARKS.md), while allocations that rise and fall within 10 ms
// are the only ones it can miss.
const SampleInterval = 10 * time.Millisecond

// loadData builds the cell's data: synthetic from the spec, or read from its file.
func loadData(spec CellSpec) (*dataset.Matrix, []int, error) {
	if spec.Dataset != "" {
		t, err := dataset.ReadCSVFile(spec.Dataset, dataset.CSVOptions{Label: spec.Label})
		if err != nil {
			return nil, nil, err
		}
		return t.X, t.Labels, nil
	}
	if spec.Rows < 2 || spec.Cols < 1 {
		return nil, nil, fmt.Errorf("bench: cell %s: need at least 2 rows and 1 column", spec.ID())
	}
	X, labels := dataset.Synthetic(dataset.SyntheticConfig{Rows: spec.Rows, Cols: spec.Cols, Contamination: spec.Contamination, Seed: spec.Seed})
	return X, labels, nil
}

// RunCell runs a cell in this process. Cancelling ctx stops the fit or score in progress at
// the detector's next check and returns ctx's error.
func RunCell(ctx context.Context, spec CellSpec) (*CellResult, error) {
	return runCell(ctx, spec, nil)
}

// runCell is RunCell with a hook called when the sampled heap passes spec.HeapLimit.
func runCell(ctx context.Context, spec CellSpec, over func(heap int64)) (*CellResult, error) {
	if spec.Iterations < 1 {
		return nil, fmt.Errorf("bench: cell %s: %d iterations: need at least 1", spec.ID(), spec.Iterations)
	}
	c, err := openCell(spec, over)
	if err != nil {
		return nil, err
	}
	defer c.close()
	var stopProfile func()
	defer func() {
		if stopProfile != nil {
			stopProfile()
		}
	}()
	for it := 0; it < spec.Warmup+spec.Iterations; it++ {
		if spec.CPUProfile != "" && it == spec.Warmup {
			if stopProfile, err = startCPUProfile(spec.CPUProfile); err != nil {
				return nil, err
			}
		}
		// The first run, warm-up or not, also takes the model's size (see Measurement).
		m, err := c.iterate(ctx, it == spec.Warmup, it == 0 && spec.Memory)
		if err != nil {
			return nil, err
		}
		if it >= spec.Warmup {
			c.res.Measurements = append(c.res.Measurements, m)
		}
	}
	if spec.Memory {
		c.res.PeakRSS = sysstat.PeakRSS()
	}
	return c.res, nil
}

// cell is a cell's data loaded and ready to be fitted and scored any number of times.
type cell struct {
	spec   CellSpec
	X      *dataset.Matrix
	labels []int
	base   int64 // live heap before the data was loaded
	smp    *sysstat.HeapSampler
	res    *CellResult
}

// openCell loads the cell's data, measuring what it holds, and starts the heap sampler when
// the spec asks for memory figures or a heap limit. The caller closes the cell.
func openCell(spec CellSpec, over func(heap int64)) (*cell, error) {
	if _, err := newModel(spec.Algorithm, spec.Contamination, spec.Seed); err != nil {
		return nil, fmt.Errorf("bench: cell %s: %w", spec.ID(), err)
	}
	c := &cell{spec: spec, res: &CellResult{}}
	if spec.Memory || spec.HeapLimit > 0 {
		every := spec.SampleEvery
		if every <= 0 {
			every = SampleInterval
		}
		c.smp = sysstat.StartHeapSampler(every, spec.HeapLimit, over)
	}
	c.base = sysstat.LiveHeap()
	if spec.Memory {
		c.res.RSSScope = "process"
		if sysstat.ResetPeakRSS() {
			c.res.RSSScope = "cell"
		}
		c.res.BaseRSS = sysstat.RSS()
	}
	var err error
	if c.X, c.labels, err = loadData(spec); err != nil {
		c.close()
		return nil, err
	}
	c.res.Rows, c.res.Cols = c.X.Rows, c.X.Cols
	c.res.Labelled = c.labels != nil
	for _, l := range c.labels {
		c.res.Anomalies += l
	}
	c.res.DataBytes = sysstat.LiveHeap() - c.base
	return c, nil
}

// close stops the heap sampler.
func (c *cell) close() {
	if c.smp != nil {
		c.smp.Close()
		c.smp = nil
	}
}

// iterate fits and scores once; evaluate asks for the accuracy of this fit, account for the
// model's size. Only an accounting run collects garbage (before fit, and between fit and
// score to weigh the model): a collection just before a timed call would leave that call none
// of the collecting its allocations cause, and report it faster than it runs in a program.
func (c *cell) iterate(ctx context.Context, evaluate, account bool) (Measurement, error) {
	var ms Measurement
	spec, smp := c.spec, c.smp
	m, err := newModel(spec.Algorithm, spec.Contamination, spec.Seed)
	if err != nil {
		return ms, err
	}
	var before int64
	if account {
		before = sysstat.LiveHeap()
	}
	var cpu0, cpu1 time.Duration
	// fit is a function so the training scores it returns are garbage before the model's
	// size is taken.
	fit := func() error {
		smp.Reset()
		cpu0 = sysstat.CPUTime()
		t0 := time.Now()
		fr, err := m.Fit(ctx, c.X)
		d := time.Since(t0)
		cpu1 = sysstat.CPUTime()
		if err != nil {
			return err
		}
		ms.FitSeconds = d.Seconds()
		ms.FitPeakHeap = max(smp.Peak()-c.base, 0)
		if evaluate && c.labels != nil {
			met, err := eval.Evaluate(c.labels, fr.Scores)
			switch {
			case err == nil:
				c.res.Accuracy = &met
			case !errors.Is(err, eval.ErrOneClass):
				return err
			}
		}
		return nil
	}
	if err := fit(); err != nil {
		return ms, fmt.Errorf("bench: cell %s: %w", spec.ID(), err)
	}
	if account {
		c.res.ModelBytes = sysstat.LiveHeap() - before
	}

	smp.Reset()
	cpu2 := sysstat.CPUTime()
	t1 := time.Now()
	s, err := m.Score(ctx, c.X, nil)
	score := time.Since(t1)
	cpu3 := sysstat.CPUTime()
	if err != nil {
		return ms, fmt.Errorf("bench: cell %s: %w", spec.ID(), err)
	}
	ms.ScoreSeconds = score.Seconds()
	ms.ScorePeakHeap = max(smp.Peak()-c.base, 0)
	ms.CPUSeconds = (cpu1 - cpu0 + cpu3 - cpu2).Seconds()
	runtime.KeepAlive(s)
	runtime.KeepAlive(m)
	return ms, nil
}

func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("bench: CPU profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("bench: CPU profile %s: %w", path, err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

package bench

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/gonomaly/gonomaly/stat"
)

// MemoryConfig is a memory stress test: one algorithm on seeded synthetic data that grows by
// StepMultiplier from BaseSize until the next step's peak would pass MaxMemoryBytes. Every
// step runs in its own child process, watched by this one.
type MemoryConfig struct {
	Algorithm      Algorithm `json:"algorithm" yaml:"algorithm"`
	BaseSize       int       `json:"base_size" yaml:"base_size"`
	StepMultiplier float64   `json:"step_multiplier" yaml:"step_multiplier"`
	MaxMemoryMB    float64   `json:"max_memory_mb" yaml:"max_memory_mb"`
	Dims           int       `json:"feature_dimensions" yaml:"feature_dimensions"`
	Contamination  float64   `json:"contamination" yaml:"contamination"`
	// MaxSteps bounds the number of steps (0 = 60).
	MaxSteps       int     `json:"max_steps" yaml:"max_steps"`
	TimeoutSeconds float64 `json:"timeout_seconds" yaml:"timeout_seconds"` // per step
	Seed           uint64  `json:"seed" yaml:"seed"`
}

// DefaultMemory is the seed system's stress test: a 4 GiB budget, sizes growing by 1.5 from
// 1000 rows of 10 columns, ten minutes per step.
func DefaultMemory(algorithm string) MemoryConfig {
	return MemoryConfig{
		Algorithm: Algorithm{Name: algorithm}, BaseSize: 1000, StepMultiplier: 1.5, MaxMemoryMB: 4096,
		Dims: 10, Contamination: 0.1, TimeoutSeconds: 600,
	}
}

// MaxMemoryBytes is the budget in bytes.
func (c *MemoryConfig) MaxMemoryBytes() int64 { return int64(c.MaxMemoryMB * (1 << 20)) }

// MinMemoryBudget is the smallest budget a memory test accepts: a Go child process needs
// about 10 MiB before it holds any data.
const MinMemoryBudget = 32 << 20

// KillLine is the resident set size at which a memory test stops a step's child process:
// the budget less 5 % of it, and at least 16 MiB less, for what the child may allocate
// between two looks.
func KillLine(budget int64) int64 {
	return budget - max(budget/20, 16<<20)
}

// Validate checks the configuration; errors wrap ErrConfig.
func (c *MemoryConfig) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("bench: memory: %s: %w", fmt.Sprintf(format, args...), ErrConfig)
	}
	// The machine's bounds first (a budget past the machine's memory, billions of steps).
	if err := c.machineBounds(); err != nil {
		return fmt.Errorf("bench: memory: %w: %w", ErrConfig, err)
	}
	switch {
	case c.BaseSize < 2:
		return bad("base size %d: must be at least 2", c.BaseSize)
	case !(c.StepMultiplier > 1) || math.IsInf(c.StepMultiplier, 0):
		return bad("step multiplier %v: must be greater than 1", c.StepMultiplier)
	case !(c.MaxMemoryMB*(1<<20) >= MinMemoryBudget) || math.IsInf(c.MaxMemoryMB, 0):
		return bad("budget %v MiB: must be at least %d MiB", c.MaxMemoryMB, MinMemoryBudget>>20)
	case c.Dims < 1:
		return bad("feature dimension %d: must be at least 1", c.Dims)
	case !(c.Contamination > 0 && c.Contamination <= 0.5):
		return bad("contamination %v: must be in (0, 0.5]", c.Contamination)
	case c.MaxSteps < 0:
		return bad("max steps %d: must not be negative (0 = 60)", c.MaxSteps)
	case !(c.TimeoutSeconds > 0):
		return bad("timeout %v s: must be positive", c.TimeoutSeconds)
	}
	if _, err := newModel(c.Algorithm, c.Contamination, c.Seed); err != nil {
		return fmt.Errorf("bench: memory: %w: %w", ErrConfig, err)
	}
	return nil
}

// RunMemory runs the memory stress test. Before each step it predicts the step's peak
// resident set from the growth so far (PredictPeak) and does not start a step predicted past
// the kill line (KillLine); a child that passes the kill line anyway is killed (it also stops
// itself once its heap passes the line). The test also ends at a step that fails or times out,
// or after MaxSteps steps. The error is for a configuration that cannot run or ctx ending.
func RunMemory(ctx context.Context, cfg MemoryConfig, opts Options) (*MemoryDoc, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(opts.Child) == 0 {
		return nil, fmt.Errorf("bench: memory: every step runs in a child process: need a child command (Options.Child): %w", ErrConfig)
	}
	maxSteps := cfg.MaxSteps
	if maxSteps == 0 {
		maxSteps = 60
	}
	killAt := KillLine(cfg.MaxMemoryBytes())
	doc := &MemoryDoc{Header: opts.header(KindMemory, "memory-"+cfg.Algorithm.Name, "", cfg.Seed, true), Config: cfg, KillAtBytes: killAt}
	// The progress total is the step count up to the budget were memory to grow by a kilobyte
	// a row; the prediction usually ends the test earlier.
	tr := newTracker(opts.Reporter, min(maxSteps, 1+int(math.Ceil(math.Log(float64(cfg.MaxMemoryBytes()>>10)/float64(cfg.BaseSize))/math.Log(cfg.StepMultiplier)))))
	var ok []MemoryStep
	var floor int64
	rows := cfg.BaseSize
	timeout := time.Duration(cfg.TimeoutSeconds * float64(time.Second))
	for {
		if len(doc.Steps) >= maxSteps {
			doc.StopReason = "max_steps"
			break
		}
		pred := PredictPeak(ok, floor, rows)
		if pred > killAt {
			doc.StopReason, doc.NextRows, doc.NextPredictedPeakRSS = "predicted", rows, pred
			break
		}
		spec := CellSpec{Algorithm: cfg.Algorithm, Rows: rows, Cols: cfg.Dims, Contamination: cfg.Contamination,
			Seed: cfg.Seed, Iterations: 1, Memory: true, HeapLimit: killAt, SampleEvery: time.Millisecond}
		tr.report(spec.ID(), false)
		res, watched, err := opts.execute(ctx, spec, timeout, true, killAt)
		if ctx.Err() != nil {
			doc.finish()
			return doc, fmt.Errorf("bench: memory test of %s stopped: %w", cfg.Algorithm.Name, ctx.Err())
		}
		tr.report("", true)
		st := MemoryStep{Rows: rows, Status: statusOf(err), PredictedPeakRSS: pred, PeakRSS: watched}
		if err != nil {
			st.Error = err.Error()
			doc.Steps = append(doc.Steps, st)
			doc.StopReason = st.Status
			break
		}
		m := res.Measurements[0]
		st.PeakRSS = max(st.PeakRSS, res.PeakRSS)
		st.FitPeakHeap, st.ScorePeakHeap, st.DataBytes, st.ModelBytes = m.FitPeakHeap, m.ScorePeakHeap, res.DataBytes, res.ModelBytes
		st.FitSeconds, st.ScoreSeconds = m.FitSeconds, m.ScoreSeconds
		if len(ok) == 0 {
			floor = res.BaseRSS
		}
		doc.Steps = append(doc.Steps, st)
		ok = append(ok, st)
		doc.LargestRows = rows
		rows = max(rows+1, int(math.Ceil(float64(rows)*cfg.StepMultiplier)))
	}
	analyseMemory(doc, ok)
	doc.finish()
	return doc, nil
}

// PredictPeak predicts the peak resident set size of a step of rows from the finished steps
// (ascending rows) and the resident set of a child before it holds data (floor): the growth
// above the floor follows rows^k, k being the log-log slope over the last three steps, kept
// within [1, 3] (one step alone gives k = 1). It returns 0 when no step has finished.
func PredictPeak(steps []MemoryStep, floor int64, rows int) int64 {
	if len(steps) == 0 {
		return 0
	}
	last := steps[len(steps)-1]
	above := func(s MemoryStep) float64 { return math.Max(float64(s.PeakRSS-floor), 1) }
	k := 1.0
	if len(steps) >= 2 {
		tail := steps[max(0, len(steps)-3):]
		var lx, ly []float64
		for _, s := range tail {
			lx = append(lx, math.Log(float64(s.Rows)))
			ly = append(ly, math.Log(above(s)))
		}
		slope, _, _ := stat.LinearFit(lx, ly)
		if !math.IsNaN(slope) {
			k = math.Min(math.Max(slope, 1), 3)
		}
	}
	return floor + int64(above(last)*math.Pow(float64(rows)/float64(last.Rows), k))
}

// analyseMemory fills in the per-row figures and the growth class from the finished steps.
func analyseMemory(doc *MemoryDoc, ok []MemoryStep) {
	if len(ok) < 2 {
		return
	}
	rows := make([]float64, len(ok))
	held, fitPeak, score, rss := make([]float64, len(ok)), make([]float64, len(ok)), make([]float64, len(ok)), make([]float64, len(ok))
	sizes := make([]int, len(ok))
	for i, s := range ok {
		rows[i], sizes[i] = float64(s.Rows), s.Rows
		held[i] = float64(s.DataBytes + s.ModelBytes)
		fitPeak[i] = float64(s.FitPeakHeap)
		score[i] = float64(s.ScorePeakHeap - s.DataBytes - s.ModelBytes)
		rss[i] = float64(s.PeakRSS)
	}
	slope := func(ys []float64) float64 {
		s, _, _ := stat.LinearFit(rows, ys)
		return s
	}
	doc.FitBytesPerRow, doc.FitPeakBytesPerRow, doc.ScoreBytesPerRow, doc.RSSBytesPerRow = slope(held), slope(fitPeak), slope(score), slope(rss)
	// Below the runtime's minimum heap target no collection runs, so a small step's peak
	// counts every allocation while a larger step's counts what survives collections: the
	// growth is fitted to the steps above it when at least three are.
	var big []int
	var bigPeak []float64
	for i, s := range ok {
		if s.FitPeakHeap >= minHeapTarget {
			big, bigPeak = append(big, s.Rows), append(bigPeak, fitPeak[i])
		}
	}
	if len(big) >= 3 {
		sizes, fitPeak = big, bigPeak
	}
	if c, err := FitComplexity(sizes, fitPeak); err == nil {
		doc.Growth, doc.GrowthClass = &c, c.Best.Pattern
	}
}

// minHeapTarget is the Go runtime's smallest heap goal (4 MiB at GOGC=100): a heap below it
// is never collected.
const minHeapTarget = 4 << 20

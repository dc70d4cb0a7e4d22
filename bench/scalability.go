package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// ScalabilityConfig is a scalability analysis: one algorithm on seeded synthetic data of
// Steps geometrically spaced sizes from BaseSize to MaxSize.
type ScalabilityConfig struct {
	Algorithm      Algorithm `json:"algorithm" yaml:"algorithm"`
	BaseSize       int       `json:"base_size" yaml:"base_size"`
	MaxSize        int       `json:"max_size" yaml:"max_size"`
	Steps          int       `json:"steps" yaml:"steps"`
	Dims           int       `json:"feature_dimensions" yaml:"feature_dimensions"`
	Contamination  float64   `json:"contamination" yaml:"contamination"`
	Iterations     int       `json:"iterations" yaml:"iterations"`
	Warmup         int       `json:"warmup_iterations" yaml:"warmup_iterations"`
	TimeoutSeconds float64   `json:"timeout_seconds" yaml:"timeout_seconds"`
	Isolate        bool      `json:"isolate" yaml:"isolate"`
	Seed           uint64    `json:"seed" yaml:"seed"`
	// Basis is the time the headline growth is fitted to: "cpu" (user + system CPU seconds
	// of fit + score, the work done, which other processes on the machine barely disturb)
	// or "wall" (elapsed seconds of fit + score). Both fits are in the document either way.
	Basis string `json:"basis" yaml:"basis"`
}

// Bases are the values ScalabilityConfig.Basis takes.
var Bases = []string{"cpu", "wall"}

// DefaultScalability is the seed system's analysis: 1000 to 100000 rows in 10 steps, 10
// columns, three iterations after one warm-up, ten minutes per size.
func DefaultScalability(algorithm string) ScalabilityConfig {
	return ScalabilityConfig{
		Algorithm: Algorithm{Name: algorithm}, BaseSize: 1000, MaxSize: 100000, Steps: 10, Dims: 10,
		Contamination: 0.1, Iterations: 3, Warmup: 1, TimeoutSeconds: 600, Basis: "cpu",
	}
}

// Validate checks the configuration; errors wrap ErrConfig.
func (c *ScalabilityConfig) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("bench: scalability: %s: %w", fmt.Sprintf(format, args...), ErrConfig)
	}
	// The machine's bounds first: listing the sizes of billions of steps would take that long.
	if err := c.CheckBounds(); err != nil {
		return fmt.Errorf("bench: scalability: %w: %w", ErrConfig, err)
	}
	switch {
	case c.BaseSize < 2:
		return bad("base size %d: must be at least 2", c.BaseSize)
	case c.MaxSize <= c.BaseSize:
		return bad("max size %d: must exceed the base size %d", c.MaxSize, c.BaseSize)
	case c.Steps < 3:
		return bad("%d steps: need at least 3 to fit a growth pattern", c.Steps)
	case len(GeometricSizes(c.BaseSize, c.MaxSize, c.Steps)) < 3:
		return bad("sizes %d..%d in %d steps give fewer than 3 distinct sizes", c.BaseSize, c.MaxSize, c.Steps)
	case c.Dims < 1:
		return bad("feature dimension %d: must be at least 1", c.Dims)
	case !(c.Contamination > 0 && c.Contamination <= 0.5):
		return bad("contamination %v: must be in (0, 0.5]", c.Contamination)
	case c.Iterations < 1:
		return bad("iterations %d: must be at least 1", c.Iterations)
	case c.Warmup < 0:
		return bad("warm-up iterations %d: must not be negative", c.Warmup)
	case !(c.TimeoutSeconds > 0):
		return bad("timeout %v s: must be positive", c.TimeoutSeconds)
	case !slices.Contains(Bases, c.Basis):
		return bad("basis %q (valid: %s)", c.Basis, strings.Join(Bases, ", "))
	}
	if _, err := newModel(c.Algorithm, c.Contamination, c.Seed); err != nil {
		return fmt.Errorf("bench: scalability: %w: %w", ErrConfig, err)
	}
	return nil
}

// GeometricSizes returns steps sizes from base to max (both included) with a constant ratio,
// rounded, without repeats.
func GeometricSizes(base, max, steps int) []int {
	if steps < 2 || base < 1 || max < base {
		return []int{base}
	}
	ratio := math.Pow(float64(max)/float64(base), 1/float64(steps-1))
	var sizes []int
	for i := 0; i < steps; i++ {
		n := int(math.Round(float64(base) * math.Pow(ratio, float64(i))))
		if i == steps-1 {
			n = max
		}
		if len(sizes) == 0 || n > sizes[len(sizes)-1] {
			sizes = append(sizes, n)
		}
	}
	return sizes
}

// keepDataBytes bounds the data an in-process scalability analysis keeps between rounds;
// above it each run makes its data afresh.
const keepDataBytes = 1 << 30

// RunScalability measures the algorithm at every size and fits the median fit, score, total
// (fit + score) wall seconds and total CPU seconds to the growth patterns (FitComplexity);
// the configuration's Basis picks the headline. It runs in rounds: each round fits
// and scores every size once, smallest first, and the first Warmup rounds are discarded. On a
// shared machine the load drifts over seconds; interleaving the sizes makes every size see
// the same drift instead of the largest sizes alone taking a busy spell. In a child process
// (Isolate) each run makes its own data; in this process the data is made once per size
// unless all sizes together would pass 1 GiB. TimeoutSeconds bounds each run; a size that
// passes it is stopped, and it and the larger sizes get no more runs. The error is for a
// configuration that cannot run or ctx ending (the document then holds the sizes measured
// so far).
func RunScalability(ctx context.Context, cfg ScalabilityConfig, opts Options) (*ScalabilityDoc, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Isolate && len(opts.Child) == 0 {
		return nil, fmt.Errorf("bench: isolated cells need a child command (Options.Child): %w", ErrConfig)
	}
	name := "scalability-" + cfg.Algorithm.Name
	doc := &ScalabilityDoc{Header: opts.header(KindScalability, name, "", cfg.Seed, cfg.Isolate), Config: cfg}
	sizes := GeometricSizes(cfg.BaseSize, cfg.MaxSize, cfg.Steps)
	rounds := cfg.Warmup + cfg.Iterations
	timeout := time.Duration(cfg.TimeoutSeconds * float64(time.Second))
	var total int64
	for _, n := range sizes {
		total += int64(n) * int64(cfg.Dims+1) * 8
	}
	r := &scaleRunner{cfg: &cfg, opts: &opts, timeout: timeout, keep: !cfg.Isolate && total <= keepDataBytes}
	r.cells = make([]*cell, len(sizes))
	defer r.close()

	tr := newTracker(opts.Reporter, rounds*len(sizes))
	runs := make([][]Measurement, len(sizes))
	failed := make([]error, len(sizes))
	for round := 0; round < rounds; round++ {
		for i, n := range sizes {
			if failed[i] != nil {
				tr.report("", true)
				continue
			}
			spec := CellSpec{Algorithm: cfg.Algorithm, Rows: n, Cols: cfg.Dims, Contamination: cfg.Contamination,
				Seed: cfg.Seed, Iterations: 1}
			tr.report(fmt.Sprintf("%s, round %d of %d", spec.ID(), round+1, rounds), false)
			m, err := r.measure(ctx, i, spec)
			if ctx.Err() != nil {
				doc.Points = scalePoints(sizes, runs, failed)
				doc.finish()
				return doc, fmt.Errorf("bench: scalability of %s stopped: %w", cfg.Algorithm.Name, ctx.Err())
			}
			tr.report("", true)
			if err != nil {
				failed[i] = err
				if errors.Is(err, ErrTimeout) {
					for j := i + 1; j < len(sizes); j++ {
						if failed[j] == nil {
							failed[j] = errSkipped
						}
					}
				}
				continue
			}
			if round >= cfg.Warmup {
				runs[i] = append(runs[i], m)
			}
		}
	}
	doc.Points = scalePoints(sizes, runs, failed)
	var ns []int
	var fit, score, tot, cpu []float64
	for _, p := range doc.Points {
		if p.Status == StatusOK {
			ns = append(ns, p.Rows)
			fit, score, tot = append(fit, p.Fit.Median), append(score, p.Score.Median), append(tot, p.Total.Median)
			cpu = append(cpu, p.CPU.Median)
			doc.LargestRows = p.Rows
		}
	}
	fitOf := func(ts []float64) *Complexity {
		c, err := FitComplexity(ns, ts)
		if err != nil {
			return nil
		}
		return &c
	}
	doc.Fit, doc.Score, doc.Total, doc.CPU = fitOf(fit), fitOf(score), fitOf(tot), fitOf(cpu)
	doc.Basis = cfg.Basis
	head := doc.CPU
	if cfg.Basis == "wall" {
		head = doc.Total
	}
	if t := head; t != nil {
		doc.Pattern, doc.Exponent, doc.R2, doc.Grade, doc.Predicted10x = t.Best.Pattern, t.Exponent, t.R2, t.Grade, t.Predicted10x
	}
	doc.finish()
	return doc, nil
}

// errSkipped marks a size not measured because a smaller one passed its timeout.
var errSkipped = errors.New("skipped: a smaller size passed its timeout")

func scalePoints(sizes []int, runs [][]Measurement, failed []error) []ScalePoint {
	points := make([]ScalePoint, len(sizes))
	for i, n := range sizes {
		p := ScalePoint{Rows: n, Status: StatusOK}
		switch {
		case errors.Is(failed[i], errSkipped):
			p.Status = StatusSkipped
		case failed[i] != nil:
			p.Status, p.Error = statusOf(failed[i]), failed[i].Error()
		case len(runs[i]) == 0:
			p.Status = StatusSkipped
		default:
			p.Fit, p.Score, p.Total, p.CPU = summarizeRuns(runs[i])
			if p.Total.Median > 0 {
				p.Throughput = float64(n) / p.Total.Median
			}
		}
		points[i] = p
	}
	return points
}

// scaleRunner runs one measurement of one size the way the configuration asks.
type scaleRunner struct {
	cfg     *ScalabilityConfig
	opts    *Options
	timeout time.Duration
	keep    bool
	cells   []*cell // the kept data per size, opened on first use
}

func (r *scaleRunner) measure(ctx context.Context, i int, spec CellSpec) (Measurement, error) {
	if !r.keep {
		res, _, err := r.opts.execute(ctx, spec, r.timeout, r.cfg.Isolate, 0)
		if err != nil {
			return Measurement{}, err
		}
		return res.Measurements[0], nil
	}
	if r.cells[i] == nil {
		c, err := openCell(spec, nil)
		if err != nil {
			return Measurement{}, err
		}
		r.cells[i] = c
	}
	cctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	m, err := r.cells[i].iterate(cctx, false, false)
	if err != nil && ctx.Err() == nil && errors.Is(cctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("bench: cell %s: %w", spec.ID(), ErrTimeout)
	}
	return m, err
}

func (r *scaleRunner) close() {
	for i, c := range r.cells {
		if c != nil {
			c.close()
			r.cells[i] = nil
		}
	}
}

package bench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/detector"
	"github.com/gonomaly/gonomaly/internal/parallel"
	"github.com/gonomaly/gonomaly/internal/sysstat"
)

// CompareConfig compares algorithms on one labelled CSV file.
type CompareConfig struct {
	Algorithms    []Algorithm `json:"algorithms" yaml:"algorithms"`
	Dataset       string      `json:"dataset" yaml:"dataset"`
	Label         string      `json:"label" yaml:"label"`
	Contamination float64     `json:"contamination" yaml:"contamination"`
	Iterations    int         `json:"iterations" yaml:"iterations"`
	Warmup        int         `json:"warmup_iterations" yaml:"warmup_iterations"`
	// Confidence is the level at which a time difference is called significant: a pair's
	// Mann-Whitney p-value must be below 1 - Confidence.
	Confidence      float64 `json:"confidence" yaml:"confidence"`
	TimeoutSeconds  float64 `json:"timeout_seconds" yaml:"timeout_seconds"`
	MemoryProfiling bool    `json:"enable_memory_profiling" yaml:"enable_memory_profiling"`
	Isolate         bool    `json:"isolate" yaml:"isolate"`
	Seed            uint64  `json:"seed" yaml:"seed"`
	// Parallel runs up to this many algorithms at once (0 or 1: one at a time), within half
	// of the machine's memory by the detectors' estimates (an algorithm whose estimate passes
	// that runs alone). The algorithms then share the cores: their times are those of
	// contended runs, longer than alone, so the time ranks and tests compare contended runs;
	// the accuracy figures do not change.
	Parallel int `json:"parallel,omitempty" yaml:"parallel,omitempty"`
}

// DefaultCompare compares the algorithms with five measured iterations after one warm-up (five
// a side is the least for which Mann-Whitney can reach p < 0.05) at 95 % confidence.
func DefaultCompare(dataset, label string, algorithms ...string) CompareConfig {
	return CompareConfig{
		Algorithms: algos(algorithms...), Dataset: dataset, Label: label, Contamination: 0.1,
		Iterations: 5, Warmup: 1, Confidence: 0.95, TimeoutSeconds: 600, MemoryProfiling: true,
	}
}

// Validate checks the configuration; errors wrap ErrConfig.
func (c *CompareConfig) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("bench: compare: %s: %w", fmt.Sprintf(format, args...), ErrConfig)
	}
	bc := Config{Algorithms: c.Algorithms, Contamination: []float64{c.Contamination}, Dataset: c.Dataset, Label: c.Label,
		Iterations: c.Iterations, Warmup: c.Warmup, TimeoutSeconds: c.TimeoutSeconds, Seed: c.Seed}
	switch {
	case len(c.Algorithms) < 2:
		return bad("%d algorithms: need at least two to compare", len(c.Algorithms))
	case c.Dataset == "" || c.Label == "":
		return bad("need a dataset file and its label column")
	case !(c.Confidence > 0 && c.Confidence < 1):
		return bad("confidence %v: must be in (0, 1), such as 0.95", c.Confidence)
	case c.Parallel < 0 || c.Parallel > MaxParallel:
		return bad("parallel %d: must be in [1, %d]", c.Parallel, MaxParallel)
	}
	return bc.Validate()
}

// RunCompare fits and scores each algorithm on the dataset, then ranks them, finds the
// Pareto front of accuracy (ROC-AUC) against median total time, and tests every pair's time
// difference with Mann-Whitney U. The error is for a configuration that cannot run or ctx
// ending; an algorithm that fails is reported in the document with its status.
func RunCompare(ctx context.Context, cfg CompareConfig, opts Options) (*CompareDoc, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Isolate && len(opts.Child) == 0 {
		return nil, fmt.Errorf("bench: isolated cells need a child command (Options.Child): %w", ErrConfig)
	}
	// A missing file or label column fails every algorithm alike: say so once.
	_, closer, err := dataset.OpenCSV(cfg.Dataset, dataset.CSVOptions{Label: cfg.Label})
	if err != nil {
		return nil, fmt.Errorf("bench: compare: %w", err)
	}
	closer.Close()
	doc := &CompareDoc{Header: opts.header(KindCompare, "compare-"+baseName(cfg.Dataset), "", cfg.Seed, cfg.Isolate), Config: cfg}
	tr := newTracker(opts.Reporter, len(cfg.Algorithms))
	timeout := time.Duration(cfg.TimeoutSeconds * float64(time.Second))
	doc.Entries = make([]CompareEntry, len(cfg.Algorithms))
	var mu sync.Mutex // guards doc's shape and fatal when algorithms run at once
	var fatal error   // the data cannot be compared: no labels, or one class
	one := func(ctx context.Context, i int) {
		a := cfg.Algorithms[i]
		spec := CellSpec{Algorithm: a, Dataset: cfg.Dataset, Label: cfg.Label, Contamination: cfg.Contamination,
			Seed: cfg.Seed, Iterations: cfg.Iterations, Warmup: cfg.Warmup, Memory: cfg.MemoryProfiling}
		tr.report(spec.ID(), false)
		res, _, err := opts.execute(ctx, spec, timeout, cfg.Isolate, 0)
		if ctx.Err() != nil {
			return
		}
		tr.report("", true)
		e := CompareEntry{Algorithm: a.Name, Params: maps.Clone(a.Params), Status: statusOf(err)}
		mu.Lock()
		defer mu.Unlock()
		if err == nil && !res.Labelled {
			fatal = cmp.Or(fatal, fmt.Errorf("bench: compare: %s has no label column %q: %w", cfg.Dataset, cfg.Label, ErrConfig))
		}
		if err == nil && res.Accuracy == nil {
			fatal = cmp.Or(fatal, fmt.Errorf("bench: compare: the labels of %s hold one class only: %w", cfg.Dataset, ErrConfig))
		}
		if err != nil {
			e.Error = err.Error()
		} else {
			doc.Rows, doc.Cols, doc.Anomalies = res.Rows, res.Cols, res.Anomalies
			e.Fit, e.Score, e.Total, _ = summarizeRuns(res.Measurements)
			e.Accuracy = res.Accuracy
			if e.Total.Median > 0 {
				e.Throughput = float64(res.Rows) / e.Total.Median
			}
			if cfg.MemoryProfiling {
				e.Memory = memoryOf(res)
			}
			for _, m := range res.Measurements {
				e.totals = append(e.totals, m.FitSeconds+m.ScoreSeconds)
			}
		}
		doc.Entries[i] = e
	}
	if cfg.Parallel <= 1 {
		for i := range cfg.Algorithms {
			if one(ctx, i); fatal != nil {
				return nil, fatal
			}
			if ctx.Err() != nil {
				doc.Entries = doc.Entries[:i]
				break
			}
		}
	} else {
		costs, err := compareCosts(ctx, cfg)
		if err != nil && ctx.Err() == nil {
			return nil, err
		}
		idx := make([]int, len(cfg.Algorithms))
		for i := range idx {
			idx[i] = i
		}
		schedule(ctx, idx, cfg.Parallel, sysstat.MemoryLimit()/2, func(i int) int64 {
			if i < len(costs) { // costs is nil when ctx ended while counting, and nothing starts
				return costs[i]
			}
			return 0
		}, one,
			func(i int, p *parallel.PanicError) {
				mu.Lock()
				defer mu.Unlock()
				e := CompareEntry{Algorithm: cfg.Algorithms[i].Name, Params: maps.Clone(cfg.Algorithms[i].Params), Status: StatusError}
				e.Error = fmt.Sprintf("bench: %s: %v: panic: %v", cfg.Algorithms[i].Name, detector.ErrInternal, p.Value)
				doc.Entries[i] = e
			})
		if fatal != nil {
			return nil, fatal
		}
		if ctx.Err() != nil {
			kept := doc.Entries[:0]
			for _, e := range doc.Entries {
				if e.Status != "" {
					kept = append(kept, e)
				}
			}
			doc.Entries = kept
		}
	}
	if ctx.Err() != nil {
		doc.finish()
		return doc, fmt.Errorf("bench: compare stopped: %w", ctx.Err())
	}
	rankEntries(doc.Entries)
	doc.ParetoFront = paretoFront(doc.Entries)
	if doc.Pairs, err = pairTests(doc.Entries, cfg.Confidence); err != nil {
		return nil, err
	}
	doc.finish()
	return doc, nil
}

// rankEntries sets Rank: by ROC-AUC, then average precision (both higher first), then median
// total time (lower first); entries that failed keep rank 0.
func rankEntries(es []CompareEntry) {
	var idx []int
	for i, e := range es {
		if e.Status == StatusOK {
			idx = append(idx, i)
		}
	}
	slices.SortStableFunc(idx, func(i, j int) int {
		a, b := es[i], es[j]
		if c := cmp.Compare(b.Accuracy.ROCAUC, a.Accuracy.ROCAUC); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Accuracy.AveragePrecision, a.Accuracy.AveragePrecision); c != 0 {
			return c
		}
		return cmp.Compare(a.Total.Median, b.Total.Median)
	})
	for r, i := range idx {
		es[i].Rank = r + 1
	}
}

// paretoFront marks the entries no other entry dominates (at least as accurate and at least
// as fast, better in one) and returns their names, fastest first.
func paretoFront(es []CompareEntry) []string {
	var front []int
	for i, a := range es {
		if a.Status != StatusOK {
			continue
		}
		dominated := false
		for j, b := range es {
			if i == j || b.Status != StatusOK {
				continue
			}
			auc, t := b.Accuracy.ROCAUC >= a.Accuracy.ROCAUC, b.Total.Median <= a.Total.Median
			if auc && t && (b.Accuracy.ROCAUC > a.Accuracy.ROCAUC || b.Total.Median < a.Total.Median) {
				dominated = true
				break
			}
		}
		if !dominated {
			es[i].Pareto = true
			front = append(front, i)
		}
	}
	slices.SortStableFunc(front, func(i, j int) int { return cmp.Compare(es[i].Total.Median, es[j].Total.Median) })
	names := make([]string, len(front))
	for k, i := range front {
		names[k] = es[i].Algorithm
	}
	return names
}

// pairTests runs Mann-Whitney U on the total times of every pair of entries that finished.
func pairTests(es []CompareEntry, confidence float64) ([]PairTest, error) {
	pairs := []PairTest{}
	for i := range es {
		for j := i + 1; j < len(es); j++ {
			a, b := es[i], es[j]
			if a.Status != StatusOK || b.Status != StatusOK {
				continue
			}
			mw, err := MannWhitneyU(a.totals, b.totals)
			if err != nil {
				return nil, err
			}
			p := PairTest{A: a.Algorithm, B: b.Algorithm, U: mw.U, P: mw.P, Significant: mw.P < 1-confidence}
			fast, slow := a.Total.Median, b.Total.Median
			p.Faster = a.Algorithm
			if slow < fast {
				fast, slow, p.Faster = slow, fast, b.Algorithm
			}
			if fast > 0 {
				p.Ratio = slow / fast
			}
			pairs = append(pairs, p)
		}
	}
	return pairs, nil
}

// compareCosts is each algorithm's memory estimate (detector.Model.Estimate) on the file's
// shape, for running algorithms at once: one pass over the file counts its rows, in reused
// chunks.
func compareCosts(ctx context.Context, cfg CompareConfig) ([]int64, error) {
	src, closer, err := dataset.OpenCSV(cfg.Dataset, dataset.CSVOptions{Label: cfg.Label})
	if err != nil {
		return nil, fmt.Errorf("bench: compare: %w", err)
	}
	defer closer.Close()
	rows, cols := 0, len(src.Columns())
	for {
		m, err := src.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("bench: compare: %w", err)
		}
		rows += m.Rows
	}
	costs := make([]int64, len(cfg.Algorithms))
	for i, a := range cfg.Algorithms {
		// A model that cannot be made fails in its cell, where its error is reported.
		if m, err := newModel(a, cfg.Contamination, cfg.Seed); err == nil {
			costs[i] = m.Estimate(rows, cols).Bytes
		}
	}
	return costs, nil
}

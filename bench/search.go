package bench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/detector"
	"github.com/gonomaly/gonomaly/eval"
	"github.com/gonomaly/gonomaly/store"
)

// KindSearch is the kind of a hyper-parameter search document (SearchDoc), the store's
// store.KindSearch.
const KindSearch = store.KindSearch

// The metrics a search ranks its trials by.
const (
	MetricROCAUC           = "roc_auc"
	MetricAveragePrecision = "average_precision"
)

// Bounds of a search: MaxSearchTrials trials at most whatever SearchConfig.MaxTrials says,
// DefaultMaxTrials when it says nothing.
const (
	MaxSearchTrials  = 10000
	DefaultMaxTrials = 1000
)

// SearchConfig is a hyper-parameter search of one algorithm on one labelled file: a grid
// (every combination of Grid's values) or Random trials drawn from Ranges with Seed. Each
// trial fits the algorithm on the file's rows and evaluates its scores of those rows against
// the labels, as `performance compare` does: the detectors are unsupervised, so they are fitted
// on the rows without the labels, and no rows are held out. The best trial is the one with the
// highest Metric.
type SearchConfig struct {
	Algorithm string `json:"algorithm" yaml:"algorithm"`
	// Params are fixed parameters of every trial (raw values, as --param gives them).
	Params        map[string]any `json:"parameters,omitempty" yaml:"parameters,omitempty"`
	Dataset       string         `json:"dataset" yaml:"dataset"`
	Label         string         `json:"label" yaml:"label"`
	Contamination float64        `json:"contamination" yaml:"contamination"`
	// Metric is MetricROCAUC or MetricAveragePrecision.
	Metric string       `json:"metric" yaml:"metric"`
	Grid   []GridParam  `json:"grid,omitempty" yaml:"grid,omitempty"`
	Random int          `json:"random_trials,omitempty" yaml:"random_trials,omitempty"`
	Ranges []ParamRange `json:"ranges,omitempty" yaml:"ranges,omitempty"`
	// MaxTrials refuses a search of more trials (0: DefaultMaxTrials; at most
	// MaxSearchTrials).
	MaxTrials int `json:"max_trials" yaml:"max_trials"`
	// Parallel is the most trials run at once (0: DefaultParallel); MemoryBytes bounds their
	// estimated memory together (0: half of the machine's), as DetectOptions says.
	Parallel    int   `json:"parallel" yaml:"parallel"`
	MemoryBytes int64 `json:"max_memory_bytes,omitempty" yaml:"max_memory_bytes,omitempty"`
	// TimeoutSeconds bounds one trial.
	TimeoutSeconds float64 `json:"timeout_seconds" yaml:"timeout_seconds"`
	// Seed draws the random trials and seeds random algorithms (every trial the same seed,
	// unless the parameters searched or fixed give one).
	Seed uint64 `json:"seed" yaml:"seed"`
}

// DefaultSearch is a search of algorithm on a labelled file ranked by ROC-AUC, trials one at
// a time (DefaultParallel), ten minutes at most each; give it a Grid or Random with Ranges.
func DefaultSearch(algorithm, dataset, label string) SearchConfig {
	return SearchConfig{Algorithm: algorithm, Dataset: dataset, Label: label, Contamination: detector.DefaultContamination,
		Metric: MetricROCAUC, MaxTrials: DefaultMaxTrials, Parallel: DefaultParallel, TimeoutSeconds: 600}
}

// searchErr is a configuration error of a search.
func searchErr(format string, args ...any) error {
	return fmt.Errorf("bench: search: %s: %w", fmt.Sprintf(format, args...), ErrConfig)
}

// Validate checks the configuration against the algorithm's parameter definitions; errors
// wrap ErrConfig.
func (c *SearchConfig) Validate() error {
	alg, err := detector.Lookup(c.Algorithm)
	if err != nil {
		return searchErr("%v", err)
	}
	switch {
	case c.Dataset == "" || c.Label == "":
		return searchErr("need a dataset file and its label column: the trials are ranked by their accuracy on the labels")
	case c.Metric != MetricROCAUC && c.Metric != MetricAveragePrecision:
		return searchErr("metric %q: valid: %s, %s", c.Metric, MetricROCAUC, MetricAveragePrecision)
	case !(c.Contamination > 0 && c.Contamination <= 0.5):
		return searchErr("contamination %v: must be in (0, 0.5]", c.Contamination)
	case c.MaxTrials < 0 || c.MaxTrials > MaxSearchTrials:
		return searchErr("max trials %d: must be in [1, %d] (0: %d)", c.MaxTrials, MaxSearchTrials, DefaultMaxTrials)
	case c.Parallel < 0 || c.Parallel > MaxParallel:
		return searchErr("parallel %d: must be in [1, %d] (0: %d)", c.Parallel, MaxParallel, DefaultParallel)
	case c.MemoryBytes < 0:
		return searchErr("memory bound %d bytes: must not be negative (0: half of the machine's memory)", c.MemoryBytes)
	case !(c.TimeoutSeconds > 0 && c.TimeoutSeconds <= 7*24*3600):
		return searchErr("timeout %v s: must be positive and at most a week", c.TimeoutSeconds)
	case len(c.Grid) > 0 && (c.Random > 0 || len(c.Ranges) > 0):
		return searchErr("give either a grid or random trials with their ranges, not both")
	case len(c.Grid) == 0 && c.Random == 0 && len(c.Ranges) == 0:
		return searchErr("nothing to search: give a grid (name=v1,v2,...) or a number of random trials with ranges (name=lo:hi)")
	case c.Random < 0:
		return searchErr("%d random trials: must be positive", c.Random)
	case c.Random > 0 && len(c.Ranges) == 0:
		return searchErr("%d random trials but no ranges to draw from (name=lo:hi)", c.Random)
	case len(c.Ranges) > 0 && c.Random == 0:
		return searchErr("ranges but no number of random trials")
	}
	searched := map[string]bool{}
	check := func(name string) (*detector.ParamSpec, error) {
		s, err := paramSpec(alg, name)
		if err != nil {
			return nil, err
		}
		if searched[name] {
			return nil, searchErr("parameter %s searched twice", name)
		}
		if _, fixed := c.Params[name]; fixed {
			return nil, searchErr("parameter %s is both fixed and searched", name)
		}
		searched[name] = true
		return s, nil
	}
	trials := 1
	for _, g := range c.Grid {
		if _, err := check(g.Name); err != nil {
			return err
		}
		if len(g.Values) == 0 {
			return searchErr("grid %s has no values", g.Name)
		}
		for _, v := range g.Values {
			if _, err := parseValue(alg, g.Name, v); err != nil {
				return err
			}
		}
		if trials > math.MaxInt32/len(g.Values) {
			trials = math.MaxInt32
		} else {
			trials *= len(g.Values)
		}
	}
	for _, r := range c.Ranges {
		s, err := check(r.Name)
		if err != nil {
			return err
		}
		if err := r.check(alg, s); err != nil {
			return err
		}
	}
	if c.Random > 0 {
		trials = c.Random
	}
	if limit := cmp.Or(c.MaxTrials, DefaultMaxTrials); trials > limit {
		return searchErr("%d trials: more than the limit of %d (raise it with max trials, at most %d)", trials, limit, MaxSearchTrials)
	}
	// The fixed parameters with any searched value must make a model: checked with the
	// first value of each.
	raw := maps.Clone(c.Params)
	if raw == nil {
		raw = map[string]any{}
	}
	for _, g := range c.Grid {
		raw[g.Name] = g.Values[0]
	}
	for _, r := range c.Ranges {
		raw[r.Name] = r.first()
	}
	if _, err := detector.NewModel(c.Algorithm, raw, c.Contamination); err != nil {
		return searchErr("%v", err)
	}
	return nil
}

// Trials lists the parameters of every trial, searched and fixed: the grid's combinations with
// the last parameter varying fastest, or Random draws from Ranges with Seed (the same seed
// gives the same trials, whatever runs them in parallel). Draws that repeat an earlier trial
// are drawn again, up to 20 draws a trial, so a small space gives fewer trials than asked.
// The configuration must be valid.
func (c *SearchConfig) Trials() []map[string]any {
	fixed := func() map[string]any {
		m := maps.Clone(c.Params)
		if m == nil {
			m = map[string]any{}
		}
		return m
	}
	var trials []map[string]any
	if len(c.Grid) > 0 {
		idx := make([]int, len(c.Grid))
		for {
			t := fixed()
			for i, g := range c.Grid {
				t[g.Name] = g.Values[idx[i]]
			}
			trials = append(trials, t)
			i := len(idx) - 1
			for ; i >= 0; i-- {
				if idx[i]++; idx[i] < len(c.Grid[i].Values) {
					break
				}
				idx[i] = 0
			}
			if i < 0 {
				return trials
			}
		}
	}
	alg, _ := detector.Lookup(c.Algorithm)
	kinds := make([]detector.Kind, len(c.Ranges))
	for i, r := range c.Ranges {
		if s, err := paramSpec(alg, r.Name); err == nil {
			kinds[i] = s.Kind
		}
	}
	rng := rand.New(rand.NewPCG(c.Seed, 0x5ea7c4))
	seen := map[string]bool{}
	for draws := 0; len(trials) < c.Random && draws < 20*c.Random; draws++ {
		t := fixed()
		var key strings.Builder
		for i := range c.Ranges {
			v := c.Ranges[i].draw(rng, kinds[i])
			t[c.Ranges[i].Name] = v
			fmt.Fprintf(&key, "%v\x00", v)
		}
		if !seen[key.String()] {
			seen[key.String()] = true
			trials = append(trials, t)
		}
	}
	return trials
}

// SearchTrial is one trial of a search.
type SearchTrial struct {
	Trial int `json:"trial"` // its place in the order of SearchConfig.Trials, from 0
	// Params are the trial's parameters: those searched and the fixed ones.
	Params map[string]any `json:"parameters"`
	Status string         `json:"status"`
	Error  string         `json:"error,omitempty"`
	// Rank orders the trials that finished by the search's metric, then the other metric
	// (both higher first), then fit + score time (lower first), then trial order; 1 is the
	// best, 0 a trial that did not finish.
	Rank           int           `json:"rank"`
	Accuracy       *eval.Metrics `json:"accuracy,omitempty"`
	FitSeconds     float64       `json:"fit_seconds"`
	ScoreSeconds   float64       `json:"score_seconds"`
	EstimatedBytes int64         `json:"estimated_bytes"`
}

// SearchDoc is the result of a hyper-parameter search (kind "search").
type SearchDoc struct {
	Header
	Config    SearchConfig `json:"config"`
	Rows      int          `json:"rows"`
	Cols      int          `json:"cols"`
	Anomalies int          `json:"anomalies"`
	// Mode is "grid" or "random"; Searched names the parameters searched, in order.
	Mode     string   `json:"mode"`
	Searched []string `json:"searched_parameters"`
	// Best is the trial ranked first (-1 when none finished), BestParams its parameters and
	// BestValue its value of Config.Metric.
	Best       int            `json:"best_trial"`
	BestParams map[string]any `json:"best_parameters,omitempty"`
	BestValue  float64        `json:"best_value"`
	Failed     int            `json:"failed"`
	Trials     []SearchTrial  `json:"trials"`
}

// RunSearch runs the search: it reads the file once and runs the trials on its rows through
// RunDetections, cfg.Parallel at a time within the memory bound. A trial that fails is
// reported with its error and the others run on. The error is for a configuration or file that
// cannot run, or ctx ending, in which case the document holds the trials that finished and
// the others as skipped.
func RunSearch(ctx context.Context, cfg SearchConfig, opts Options) (*SearchDoc, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	tab, err := dataset.ReadFile(ctx, cfg.Dataset, dataset.Options{Label: cfg.Label})
	if err != nil {
		return nil, fmt.Errorf("bench: search: %w", err)
	}
	if tab.Labels == nil {
		return nil, searchErr("%s has no label column %q", cfg.Dataset, cfg.Label)
	}
	name := "search-" + cfg.Algorithm + "-" + baseName(cfg.Dataset)
	doc := &SearchDoc{Header: opts.header(KindSearch, name, "", cfg.Seed, false), Config: cfg, Rows: tab.X.Rows, Cols: tab.X.Cols, Best: -1}
	for _, l := range tab.Labels {
		doc.Anomalies += l
	}
	doc.Mode = "grid"
	for _, g := range cfg.Grid {
		doc.Searched = append(doc.Searched, g.Name)
	}
	if cfg.Random > 0 {
		doc.Mode = "random"
		for _, r := range cfg.Ranges {
			doc.Searched = append(doc.Searched, r.Name)
		}
	}
	trials := cfg.Trials()
	specs := make([]DetectSpec, len(trials))
	for i, t := range trials {
		specs[i] = DetectSpec{Algorithm: Algorithm{Name: cfg.Algorithm, Params: t}, Contamination: cfg.Contamination}
	}
	res, err := RunDetections(ctx, tab.X, specs, DetectOptions{
		Parallel: cfg.Parallel, MemoryBytes: cfg.MemoryBytes, Timeout: time.Duration(cfg.TimeoutSeconds * float64(time.Second)),
		Labels: tab.Labels, Seed: cfg.Seed, Reporter: opts.Reporter,
	})
	if res == nil {
		if errors.Is(err, ErrConfig) {
			return nil, fmt.Errorf("bench: search: %s: %w", cfg.Dataset, err)
		}
		return nil, err
	}
	doc.Trials = make([]SearchTrial, len(res))
	for i, r := range res {
		doc.Trials[i] = SearchTrial{Trial: i, Params: trials[i], Status: r.Status, Error: r.Error, Accuracy: r.Accuracy,
			FitSeconds: r.FitSeconds, ScoreSeconds: r.ScoreSeconds, EstimatedBytes: r.EstimatedBytes}
		if r.Status != StatusOK && r.Status != StatusSkipped {
			doc.Failed++
		}
	}
	doc.rank()
	doc.finish()
	if err != nil {
		return doc, fmt.Errorf("bench: search stopped: %w", ctx.Err())
	}
	return doc, nil
}

// value is the trial's value of the metric m, and of the other one.
func (t *SearchTrial) value(m string) (float64, float64) {
	if m == MetricAveragePrecision {
		return t.Accuracy.AveragePrecision, t.Accuracy.ROCAUC
	}
	return t.Accuracy.ROCAUC, t.Accuracy.AveragePrecision
}

// rank sets the trials' ranks and the best trial.
func (d *SearchDoc) rank() {
	var idx []int
	for i, t := range d.Trials {
		if t.Status == StatusOK && t.Accuracy != nil {
			idx = append(idx, i)
		}
	}
	slices.SortStableFunc(idx, func(i, j int) int {
		a, b := &d.Trials[i], &d.Trials[j]
		av, ao := a.value(d.Config.Metric)
		bv, bo := b.value(d.Config.Metric)
		return cmp.Or(cmp.Compare(bv, av), cmp.Compare(bo, ao),
			cmp.Compare(a.FitSeconds+a.ScoreSeconds, b.FitSeconds+b.ScoreSeconds), cmp.Compare(i, j))
	})
	for r, i := range idx {
		d.Trials[i].Rank = r + 1
	}
	if len(idx) > 0 {
		b := &d.Trials[idx[0]]
		d.Best, d.BestParams = b.Trial, b.Params
		d.BestValue, _ = b.value(d.Config.Metric)
	}
}

// WriteTable writes the search as a table sorted by the metric: the best trial first, trials
// that did not finish last with their errors.
func (d *SearchDoc) WriteTable(w io.Writer) error {
	header(w, &d.Header)
	fmt.Fprintf(w, "%s search of %s on %s (%d rows x %d cols, %d anomalies): %d trials, %d failed, ranked by %s, %d at a time\n",
		d.Mode, d.Config.Algorithm, baseName(d.Config.Dataset), d.Rows, d.Cols, d.Anomalies, len(d.Trials), d.Failed, d.Config.Metric,
		cmp.Or(d.Config.Parallel, DefaultParallel))
	order := make([]int, len(d.Trials))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(i, j int) int {
		// Ranked trials by rank, then the others in trial order: rank 0 sorts last.
		a, b := d.Trials[i].Rank, d.Trials[j].Rank
		if a == 0 {
			a = math.MaxInt
		}
		if b == 0 {
			b = math.MaxInt
		}
		return cmp.Or(cmp.Compare(a, b), cmp.Compare(i, j))
	})
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "rank\t")
	for _, p := range d.Searched {
		fmt.Fprintf(tw, "%s\t", p)
	}
	fmt.Fprintln(tw, "roc_auc\tap\tp@n\tfit s\tscore s\tstatus\t")
	var errs []string
	for _, i := range order {
		t := &d.Trials[i]
		rank := "-"
		if t.Rank > 0 {
			rank = strconv.Itoa(t.Rank)
		}
		fmt.Fprintf(tw, "%s\t", rank)
		for _, p := range d.Searched {
			fmt.Fprintf(tw, "%v\t", t.Params[p])
		}
		auc, ap, pn := "-", "-", "-"
		if t.Accuracy != nil {
			auc, ap, pn = fmt.Sprintf("%.4f", t.Accuracy.ROCAUC), fmt.Sprintf("%.4f", t.Accuracy.AveragePrecision), fmt.Sprintf("%.4f", t.Accuracy.PrecisionAtN)
		}
		fit, score := "-", "-"
		if t.Status == StatusOK {
			fit, score = fmt.Sprintf("%.4g", t.FitSeconds), fmt.Sprintf("%.4g", t.ScoreSeconds)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t\n", auc, ap, pn, fit, score, t.Status)
		if t.Error != "" {
			errs = append(errs, fmt.Sprintf("trial %d: %s", t.Trial, t.Error))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, e := range errs {
		fmt.Fprintln(w, e)
	}
	if d.Best < 0 {
		_, err := fmt.Fprintln(w, "no trial finished")
		return err
	}
	names := slices.Sorted(maps.Keys(d.BestParams))
	kv := make([]string, len(names))
	for i, n := range names {
		kv[i] = fmt.Sprintf("%s=%v", n, d.BestParams[n])
	}
	_, err := fmt.Fprintf(w, "best: %s %s (trial %d): %s %.4f\n", d.Config.Algorithm, strings.Join(kv, " "), d.Best, d.Config.Metric, d.BestValue)
	return err
}

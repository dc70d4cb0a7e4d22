package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gonomaly/gonomaly/bench"
	"github.com/gonomaly/gonomaly/loadtest"
	"github.com/gonomaly/gonomaly/store"
)

// batchSetting is one micro-batching setting of the service (the admin endpoint's fields).
type batchSetting struct {
	BatchMax  int
	BatchWait time.Duration
	Workers   int
}

func (s batchSetting) String() string {
	return fmt.Sprintf("batch_max=%d batch_wait=%v workers=%d", s.BatchMax, s.BatchWait, s.Workers)
}

// liveTrial is one setting measured against the service.
type liveTrial struct {
	BatchMax    int     `json:"batch_max"`
	BatchWait   string  `json:"batch_wait"`
	Workers     int     `json:"workers"`
	Requests    int64   `json:"requests"`
	SuccessRate float64 `json:"success_rate"`
	Throughput  float64 `json:"throughput"`
	P50Seconds  float64 `json:"p50_seconds"`
	P99Seconds  float64 `json:"p99_seconds"`
	MeetsTarget bool    `json:"meets_target"`
	// Role is "before" or "after" in the verification rounds, "median" for a summary of Runs
	// runs.
	Role     string `json:"role,omitempty"`
	Runs     int    `json:"runs,omitempty"`
	setting  batchSetting
	p50, p99 time.Duration
}

// liveTuneDoc is the document of a live tune (docs/tuning.md).
type liveTuneDoc struct {
	bench.Header
	Mode             string      `json:"mode"` // "service"
	URL              string      `json:"url"`
	DetectorID       string      `json:"detector_id"`
	Throwaway        bool        `json:"throwaway_detector"`
	Rows             int         `json:"rows"`
	Clients          int         `json:"clients"`
	TargetP99Seconds float64     `json:"target_p99_seconds"`
	MinSuccessRate   float64     `json:"min_success_rate"`
	StepSeconds      float64     `json:"step_seconds"`
	BudgetSeconds    float64     `json:"budget_seconds"`
	Initial          *liveTrial  `json:"initial"` // the settings in force, measured first
	Before           *liveTrial  `json:"before"`  // the settings in force: Initial, or the median with the verification rounds
	Trials           []liveTrial `json:"trials"`
	Verify           []liveTrial `json:"verify,omitempty"` // the best and the original in turns
	Best             *liveTrial  `json:"best,omitempty"`   // the search's best within the target
	After            *liveTrial  `json:"after,omitempty"`
	Applied          bool        `json:"applied"`
	Met              bool        `json:"met"`
	Truncated        bool        `json:"truncated"` // the budget ended the search before every candidate
	Note             string      `json:"note"`
}

func runTuneLive(cmd *cobra.Command, f *tuneFlags) error {
	if err := f.checkCommon(); err != nil {
		return err
	}
	switch {
	case f.p99 <= 0 || f.p99 > time.Minute:
		return usagef("--p99 %v: give the latency target, more than 0 and at most 1m (e.g. --p99 10ms)", f.p99)
	case f.minSuccess <= 0 || f.minSuccess > 1:
		return usagef("--min-success %g: must be more than 0 and at most 1", f.minSuccess)
	case f.step < minTuneStep || f.step > maxTuneStep:
		return usagef("--step-duration %v: must be from %v to %v", f.step, minTuneStep, maxTuneStep)
	case f.rows < 1 || f.rows > maxTuneRows:
		return usagef("--rows %d: must be from 1 to %d", f.rows, maxTuneRows)
	case f.cols < 1 || f.cols > maxTuneCols:
		return usagef("--cols %d: must be from 1 to %d", f.cols, maxTuneCols)
	case f.verify < 1 || f.verify > 10:
		return usagef("--verify %d: must be from 1 to 10", f.verify)
	case f.clients < 1 || f.clients > maxTuneClients:
		return usagef("--clients %d: must be from 1 to %d", f.clients, maxTuneClients)
	}
	if _, err := loadtest.ParseURL(f.url); err != nil {
		return usagef("--url: %v", strings.TrimPrefix(err.Error(), loadtest.ErrTargets.Error()+": "))
	}
	if need := time.Duration(2+2*f.verify) * trialCost(f.step); f.budget < need {
		return usagef("--budget %v: too short for the before run, one trial and %d verification rounds of two runs, %v each (at least %v)", f.budget, f.verify, trialCost(f.step), need)
	}
	ctx := cmd.Context()
	start := time.Now()
	stderr := cmd.ErrOrStderr()
	c := &apiClient{base: strings.TrimRight(f.url, "/"), key: apiKeyOr(f.apiKey), http: &http.Client{Timeout: 30 * time.Second}}
	t := &liveTuner{f: f, c: c, stderr: stderr, deadline: start.Add(f.budget)}
	doc := &liveTuneDoc{Header: tuneHeader("tune", "micro-batching of a running service", start), Mode: "service", URL: c.base,
		Rows: f.rows, Clients: f.clients, TargetP99Seconds: f.p99.Seconds(), MinSuccessRate: f.minSuccess,
		StepSeconds: f.step.Seconds(), BudgetSeconds: f.budget.Seconds(), Trials: []liveTrial{}}

	orig, procs, err := c.getTuning(ctx)
	if err != nil {
		return err
	}
	// From here on, the original settings are put back unless the best is kept on purpose:
	// on every error, on Ctrl-C (ctx is cancelled, so the restore uses a context of its own).
	keep := false
	defer func() {
		if keep {
			return
		}
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := c.putTuning(rctx, orig); err != nil {
			fmt.Fprintf(stderr, "tune: could not put the original settings back (%s): %v\n", orig, err)
		} else {
			fmt.Fprintf(stderr, "tune: the original settings are back: %s\n", orig)
		}
	}()

	id, cols, cleanup, err := t.detector(ctx)
	if err != nil {
		return err
	}
	defer cleanup()
	doc.DetectorID, doc.Throwaway = id, f.detector == ""
	if t.targets, err = predictTargets(c.base, id, f.rows, cols); err != nil {
		return err
	}

	fmt.Fprintf(stderr, "tune: before: %s\n", orig)
	before, err := t.measure(ctx, orig, false)
	if err != nil {
		return err
	}
	doc.Initial, doc.Before = before, before
	best, truncated, err := t.search(ctx, orig, procs, before, f.verify, func(tr liveTrial) { doc.Trials = append(doc.Trials, tr) })
	if err != nil {
		return err
	}
	doc.Truncated = truncated
	if !best.MeetsTarget {
		doc.Note = fmt.Sprintf("no setting held p99 <= %v with %.1f%% success: the original settings are kept", f.p99, 100*f.minSuccess)
	} else if best.setting == orig {
		doc.Met, doc.Best, doc.After = true, before, before
		doc.Note = fmt.Sprintf("the settings in force were the fastest within the target: kept (%s)", orig)
	} else {
		// The search saw each setting once, on a machine whose speed drifts: the best and the
		// original take turns (--verify rounds each) so that drift hits both alike, and the
		// medians decide.
		var befores, afters []liveTrial
		befores = append(befores, *before)
		for range f.verify {
			b, err := t.measure(ctx, orig, true)
			if err != nil {
				return err
			}
			a, err := t.measure(ctx, best.setting, true)
			if err != nil {
				return err
			}
			b.Role, a.Role = "before", "after"
			befores, afters = append(befores, *b), append(afters, *a)
			doc.Verify = append(doc.Verify, *b, *a)
		}
		bm, am := t.median(befores), t.median(afters)
		doc.Before, doc.After = bm, am
		bb := best
		doc.Best = &bb
		switch {
		case am.MeetsTarget && (!bm.MeetsTarget || am.Throughput >= bm.Throughput):
			doc.Met = true
			if f.apply {
				if err := t.c.putTuning(ctx, best.setting); err != nil {
					return err
				}
				doc.Applied, keep = true, true
				doc.Note = fmt.Sprintf("applied %s", best.setting)
			} else {
				doc.Note = fmt.Sprintf("best %s, not applied (--apply=false): the original settings are kept", best.setting)
			}
		case bm.MeetsTarget:
			doc.Met, doc.After = true, bm
			doc.Note = fmt.Sprintf("%s did not beat the settings in force when measured in turns with them: the original settings are kept", best.setting)
		default:
			doc.Note = fmt.Sprintf("%s missed p99 <= %v when measured again, and so did the original: the original settings are kept", best.setting, f.p99)
		}
	}
	finishHeader(&doc.Header)
	if err := f.perf.emit(cmd, store.KindTune, doc.SuiteID, doc, doc.table); err != nil {
		return err
	}
	if !doc.Met {
		return fmt.Errorf("%w: %s", errNoSetting, doc.Note)
	}
	return nil
}

// median summarizes runs of one setting: the median throughput and latencies, the lowest
// success rate, the requests summed, judged against the target as one trial.
func (t *liveTuner) median(runs []liveTrial) *liveTrial {
	med := func(f func(liveTrial) float64) float64 {
		v := make([]float64, len(runs))
		for i, r := range runs {
			v[i] = f(r)
		}
		slices.Sort(v)
		if k := len(v); k%2 == 1 {
			return v[k/2]
		} else {
			return (v[k/2-1] + v[k/2]) / 2
		}
	}
	m := runs[0]
	m.Role, m.Runs = "median", len(runs)
	m.Requests = 0
	for _, r := range runs {
		m.Requests += r.Requests
		m.SuccessRate = min(m.SuccessRate, r.SuccessRate)
	}
	m.Throughput = med(func(r liveTrial) float64 { return r.Throughput })
	m.P50Seconds = med(func(r liveTrial) float64 { return r.P50Seconds })
	m.P99Seconds = med(func(r liveTrial) float64 { return r.P99Seconds })
	m.p50 = time.Duration(m.P50Seconds * float64(time.Second))
	m.p99 = time.Duration(m.P99Seconds * float64(time.Second))
	m.MeetsTarget = m.Requests > 0 && m.p99 <= t.f.p99 && m.SuccessRate >= t.f.minSuccess
	return &m
}

// trialCost is the wall time one measurement takes: a warm-up, the step, and the setting's
// change.
func trialCost(step time.Duration) time.Duration { return warmup(step) + step + 300*time.Millisecond }

// warmup is the unmeasured run after a setting changes: the new batchers start, connections
// open, the service's caches are warm.
func warmup(step time.Duration) time.Duration { return min(step/5, time.Second) }

// liveTuner runs the measurements of one live tune.
type liveTuner struct {
	f        *tuneFlags
	c        *apiClient
	stderr   io.Writer
	targets  loadtest.Targets
	deadline time.Time
}

// measure applies s and loads the service with it: a warm-up, then the measured step.
func (t *liveTuner) measure(ctx context.Context, s batchSetting, apply bool) (*liveTrial, error) {
	if apply {
		if err := t.c.putTuning(ctx, s); err != nil {
			return nil, err
		}
	}
	header := http.Header{}
	if t.c.key != "" {
		header.Set("Authorization", "Bearer "+t.c.key)
	}
	opts := loadtest.Options{Targeter: t.targets, Concurrency: t.f.clients, Header: header}
	opts.Duration = warmup(t.f.step)
	if _, err := loadtest.Run(ctx, opts); err != nil {
		return nil, fmt.Errorf("load test: %w", err)
	}
	opts.Duration = t.f.step
	r, err := loadtest.Run(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("load test: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	tr := &liveTrial{BatchMax: s.BatchMax, BatchWait: s.BatchWait.String(), Workers: s.Workers, Requests: r.Requests,
		SuccessRate: r.SuccessRate, Throughput: r.Throughput, P50Seconds: r.Latency.P50.Seconds(), P99Seconds: r.Latency.P99.Seconds(),
		setting: s, p50: r.Latency.P50, p99: r.Latency.P99}
	tr.MeetsTarget = r.Requests > 0 && r.Latency.P99 <= t.f.p99 && r.SuccessRate >= t.f.minSuccess
	mark := ""
	if !tr.MeetsTarget {
		mark = "  (misses the target)"
	}
	fmt.Fprintf(t.stderr, "tune: %-45s %9.0f req/s  p50 %s ms  p99 %s ms  success %.2f%%%s\n", s, tr.Throughput, ms(tr.p50), ms(tr.p99), 100*tr.SuccessRate, mark)
	return tr, nil
}

// better reports whether a beats b: one within the target beats one outside it; two within,
// the higher throughput; two outside, the lower p99 (the search walks towards the target).
func better(a, b liveTrial) bool {
	if a.MeetsTarget != b.MeetsTarget {
		return a.MeetsTarget
	}
	if a.MeetsTarget {
		return a.Throughput > b.Throughput
	}
	return a.p99 < b.p99
}

// candidates are the values tried for each setting, in the order the search takes them:
// batch_max first (batching is the largest effect), then workers around the service's
// GOMAXPROCS, then a wait for fuller batches, never more than a quarter of the latency target.
func candidates(procs int, target time.Duration) (batchMax, workers []int, waits []time.Duration) {
	batchMax = []int{1, 16, 64, 256, 1024}
	for _, w := range []int{1, procs, 2 * procs, 4 * procs} {
		if w >= 1 && w <= 256 && !slices.Contains(workers, w) {
			workers = append(workers, w)
		}
	}
	for _, d := range []time.Duration{0, 100 * time.Microsecond, 500 * time.Microsecond, 2 * time.Millisecond} {
		if d <= target/4 {
			waits = append(waits, d)
		}
	}
	return batchMax, workers, waits
}

// search is the coordinate search: from the original setting (measured as before), each
// setting in turn takes each of its candidate values with the others at the best so far; the
// best of a round stays. It stops early when the budget would not leave time for the final
// run (truncated).
func (t *liveTuner) search(ctx context.Context, orig batchSetting, procs int, before *liveTrial, verify int, record func(liveTrial)) (best liveTrial, truncated bool, err error) {
	best = *before
	seen := map[batchSetting]bool{orig: true}
	bm, ws, waits := candidates(procs, t.f.p99)
	dims := []func(s batchSetting) []batchSetting{
		func(s batchSetting) (out []batchSetting) {
			for _, v := range bm {
				s.BatchMax = v
				out = append(out, s)
			}
			return out
		},
		func(s batchSetting) (out []batchSetting) {
			for _, v := range ws {
				s.Workers = v
				out = append(out, s)
			}
			return out
		},
		func(s batchSetting) (out []batchSetting) {
			for _, v := range waits {
				s.BatchWait = v
				out = append(out, s)
			}
			return out
		},
	}
	for _, dim := range dims {
		for _, s := range dim(best.setting) {
			if seen[s] {
				continue
			}
			seen[s] = true
			// Room for this trial and the verification rounds after it.
			if time.Until(t.deadline) < time.Duration(1+2*verify)*trialCost(t.f.step) {
				fmt.Fprintf(t.stderr, "tune: the budget ends the search here\n")
				return best, true, nil
			}
			tr, err := t.measure(ctx, s, true)
			if err != nil {
				return best, false, err
			}
			record(*tr)
			if better(*tr, best) {
				best = *tr
			}
		}
	}
	return best, false, nil
}

// detector returns the detector to load and its columns: --detector's, or a throwaway
// isolation forest trained on generated rows, deleted by cleanup.
func (t *liveTuner) detector(ctx context.Context) (id string, cols int, cleanup func(), err error) {
	if t.f.detector != "" {
		cols, fitted, err := t.c.checkDetector(ctx, t.f.detector)
		if err != nil {
			return "", 0, nil, err
		}
		if !fitted {
			return "", 0, nil, usagef("--detector %s is not trained: train it first", t.f.detector)
		}
		return t.f.detector, cols, func() {}, nil
	}
	id, err = t.c.throwaway(ctx, t.stderr, "tune", 2000, t.f.cols, 1, true)
	if err != nil {
		return "", 0, nil, err
	}
	return id, t.f.cols, func() { t.c.deleteDetector(ctx, t.stderr, "tune", id) }, nil
}

// predictTargets are 64 distinct predict requests of rows rows for the detector.
func predictTargets(base, id string, rows, cols int) (loadtest.Targets, error) {
	bodies, err := loadtest.PredictBodies(id, rows, cols, 64, 1)
	if err != nil {
		return nil, err
	}
	return loadtest.NewTargets("POST", loadtest.Endpoint(base, loadtest.PredictPath), bodies)
}

// tuningJSON is the admin endpoint's body.
type tuningJSON struct {
	BatchMax   int    `json:"batch_max"`
	BatchWait  string `json:"batch_wait"`
	Workers    int    `json:"workers"`
	GOMAXPROCS int    `json:"gomaxprocs,omitempty"`
}

// getTuning reads the service's settings and its GOMAXPROCS.
func (c *apiClient) getTuning(ctx context.Context) (batchSetting, int, error) {
	var t tuningJSON
	status, err := c.doStatus(ctx, "GET", "/admin/tuning", nil, &t)
	if err != nil {
		switch status {
		case http.StatusForbidden:
			return batchSetting{}, 0, fmt.Errorf("%w (the service must run with an API key to be tuned)", err)
		case http.StatusUnauthorized:
			return batchSetting{}, 0, fmt.Errorf("%w (give the key with --api-key or $GONOMALY_API_KEY)", err)
		case http.StatusNotFound, http.StatusMethodNotAllowed:
			return batchSetting{}, 0, fmt.Errorf("%w (is --url the API base, http://host:port/api/v1, of a gonomaly service that has the admin endpoint?)", err)
		}
		return batchSetting{}, 0, err
	}
	d, err := time.ParseDuration(t.BatchWait)
	if err != nil || t.BatchMax < 1 || t.Workers < 1 || d < 0 {
		return batchSetting{}, 0, fmt.Errorf("GET /admin/tuning: settings %+v are not what a gonomaly service answers", t)
	}
	return batchSetting{BatchMax: t.BatchMax, BatchWait: d, Workers: t.Workers}, max(t.GOMAXPROCS, 1), nil
}

func (c *apiClient) putTuning(ctx context.Context, s batchSetting) error {
	return c.do(ctx, "PUT", "/admin/tuning", tuningJSON{BatchMax: s.BatchMax, BatchWait: s.BatchWait.String(), Workers: s.Workers}, nil)
}

// table prints the trials, the before and after figures, and the verdict.
func (d *liveTuneDoc) table(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "\tbatch_max\tbatch_wait\tworkers\treq/s\tp50 ms\tp99 ms\tsuccess %%\tmeets p99 <= %v\t\n", time.Duration(d.TargetP99Seconds*float64(time.Second)))
	row := func(name string, t *liveTrial) {
		yes := "no"
		if t.MeetsTarget {
			yes = "yes"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%.0f\t%.3f\t%.3f\t%.2f\t%s\t\n", name, t.BatchMax, t.BatchWait, t.Workers, t.Throughput,
			t.P50Seconds*1e3, t.P99Seconds*1e3, 100*t.SuccessRate, yes)
	}
	row("initial", d.Initial)
	for i := range d.Trials {
		row(fmt.Sprintf("trial %d", i+1), &d.Trials[i])
	}
	for i := range d.Verify {
		row("verify "+d.Verify[i].Role, &d.Verify[i])
	}
	summary := func(name string, t *liveTrial) {
		if t.Runs > 1 {
			name += fmt.Sprintf(" (median of %d)", t.Runs)
		}
		row(name, t)
	}
	if d.After != nil {
		summary("before", d.Before)
		name := "after"
		switch {
		case d.After.BatchMax == d.Before.BatchMax && d.After.BatchWait == d.Before.BatchWait && d.After.Workers == d.Before.Workers:
			name = "kept"
		case !d.Applied:
			name = "best (not applied)"
		}
		summary(name, d.After)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if d.After != nil && d.Before.Throughput > 0 {
		fmt.Fprintf(w, "throughput %.0f -> %.0f req/s (%+.1f%%), p99 %.3f -> %.3f ms\n", d.Before.Throughput, d.After.Throughput,
			100*(d.After.Throughput/d.Before.Throughput-1), d.Before.P99Seconds*1e3, d.After.P99Seconds*1e3)
	}
	if d.Truncated {
		fmt.Fprintln(w, "the budget ended the search before every candidate was tried")
	}
	_, err := fmt.Fprintln(w, d.Note)
	return err
}

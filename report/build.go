package report

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/gonomaly/gonomaly/monitor"
	"github.com/gonomaly/gonomaly/stat"
	"github.com/gonomaly/gonomaly/store"
)

// Reader is what Build reads from the store: the samples a service's monitor stored, its
// alerts, and the performance commands' documents. A store.Store is one.
type Reader interface {
	QuerySamples(ctx context.Context, q store.SampleQuery) ([]store.Sample, error)
	ListAlerts(ctx context.Context, f store.AlertFilter) ([]*store.Alert, error)
	ListBenchmarkRuns(ctx context.Context, f store.BenchmarkFilter) ([]*store.BenchmarkRun, error)
}

// ErrPeriod is Build's error for a period that does not end after it starts.
var ErrPeriod = errors.New("report: the period must end after it starts")

// Limits of one read: a month of one-minute samples of a few dozen series, and more alerts
// and runs than a month holds; a period that holds more is cut at the oldest records.
const (
	sampleLimit = 4_000_000
	alertLimit  = 100_000
	runLimit    = 10_000
)

// The series Build charts, in order, when the store holds them.
var seriesDefs = []struct {
	name, metric, op, unit string
	scale                  float64
	higherIsBetter         bool
}{
	{"Service p99 latency", "operation_p99_seconds", "service", "ms", 1e3, false},
	{"Service throughput", "operation_throughput", "service", "req/s", 1, true},
	{"Service error rate", "operation_error_rate", "service", "%", 100, false},
	{"Resident memory", "process_rss_bytes", "", "MB", 1e-6, false},
	{"Go heap", "process_heap_bytes", "", "MB", 1e-6, false},
	{"CPU", "process_cpu_percent", "", "% of a core", 1, false},
	{"Goroutines", "process_goroutines", "", "", 1, false},
}

// Metrics read per operation and per model.
var (
	// opMetrics leaves out the stored p50 and p95: reading a series costs about 6 us a sample
	// on SQLite, and with them a week of a few operations took over 2 s to read. Build reads
	// those from a sample of the minutes (readSampled).
	opMetrics    = []string{"operation_throughput", "operation_error_rate", "operation_p99_seconds", "operation_mean_alloc_bytes"}
	modelMetrics = []string{"model_rows", "model_anomaly_rate", "model_expected_rate", "model_anomaly_rate_p",
		"model_score_psi", "model_score_ks_p"}
	// latestModelMetrics are the model figures the report shows only the newest value of.
	latestModelMetrics = []string{"model_rows", "model_anomaly_rate", "model_expected_rate", "model_anomaly_rate_p", "model_score_ks_p"}
	processMetrics     = []string{"process_rss_bytes", "process_heap_bytes", "process_cpu_percent",
		"process_goroutines", "process_gc_cpu_percent"}
)

// Build reads what the store holds for p (samples, alerts and benchmark runs at or after
// p.Since and before p.Until, and the headline figures of the period of the same length
// before it) and builds the report. Every figure of the report is finite, so that each
// renderer can write it: an optional figure that is not becomes absent, NaN 0 and an
// infinity the largest float64 of its sign.
func Build(ctx context.Context, st Reader, p Period) (*Report, error) {
	if !p.Since.Before(p.Until) {
		return nil, fmt.Errorf("%w: since %s, until %s", ErrPeriod, p.Since.Format(time.RFC3339), p.Until.Format(time.RFC3339))
	}
	p = Period{Since: p.Since.UTC(), Until: p.Until.UTC()}
	r := &Report{
		Version: Version, Kind: Kind, GeneratedAt: time.Now().UTC(), Period: p, Previous: p.Previous(),
		Benchmarks: []Benchmark{}, Comparisons: []Comparison{}, Scalability: []Curve{}, Memory: []MemoryTest{}, LoadTests: []LoadTest{},
		Searches: []Search{}, TuneRuns: []TuneRun{},
		Operations: []Operation{}, Series: []Series{}, Models: []Model{}, Recommendations: []Recommendation{},
	}
	samples, err := readSamples(ctx, st, p, slices.Concat(opMetrics, []string{"model_score_psi"}, processMetrics))
	if err != nil {
		return nil, err
	}
	if err := readLatest(ctx, st, p, samples); err != nil {
		return nil, err
	}
	quantiles := make([]string, len(sampledQuantiles))
	for i, q := range sampledQuantiles {
		quantiles[i] = q.metric
	}
	sampled, err := readSampled(ctx, st, p, quantiles, seriesCount(samples["operation_p99_seconds"]))
	if err != nil {
		return nil, err
	}
	maps.Copy(samples, sampled)
	alerts, err := st.ListAlerts(ctx, store.AlertFilter{Since: p.Since, Until: p.Until, Limit: alertLimit})
	if err != nil {
		return nil, fmt.Errorf("report: reading alerts: %w", err)
	}
	runs, err := st.ListBenchmarkRuns(ctx, store.BenchmarkFilter{Since: p.Since, Until: p.Until, Limit: runLimit})
	if err != nil {
		return nil, fmt.Errorf("report: reading benchmark runs: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r.Operations = operations(samples)
	r.Models = models(samples)
	r.Series = charts(samples)
	r.addRuns(runs)
	r.Datasets = crossDataset(r.Comparisons)
	r.Versions = versions(runs)

	prev, err := readSamples(ctx, st, r.Previous, []string{"operation_p99_seconds", "operation_throughput", "operation_error_rate", "process_rss_bytes"})
	if err != nil {
		return nil, err
	}
	prevAlerts, err := st.ListAlerts(ctx, store.AlertFilter{Since: r.Previous.Since, Until: r.Previous.Until, Limit: alertLimit})
	if err != nil {
		return nil, fmt.Errorf("report: reading the previous period's alerts: %w", err)
	}
	older, err := st.ListAlerts(ctx, store.AlertFilter{ActiveOnly: true, Until: r.Previous.Since, Limit: alertLimit})
	if err != nil {
		return nil, fmt.Errorf("report: reading the alerts still active: %w", err)
	}
	carried := carriedOver(slices.Concat(prevAlerts, older), p.Since)
	r.Alerts = alertSection(alerts, carried, p.Until)
	r.Summary.Headlines = headlines(samples, len(alerts), prev, len(prevAlerts))
	r.Recommendations = recommendations(r, samples, slices.Concat(alerts, carried))
	r.Summary.Health, r.Summary.Reasons = health(r, len(samples) > 0 || len(runs) > 0 || len(alerts) > 0)
	clampFinite(reflect.ValueOf(r))
	return r, nil
}

// readers is how many metrics readSamples reads at once: reading a week's samples is the
// most of a report's time, and a store reads on several connections.
const readers = 4

// readSamples reads every series of the named metrics in p, by metric name, several metrics
// at once.
func readSamples(ctx context.Context, st Reader, p Period, names []string) (map[string][]store.Sample, error) {
	got := make([][]store.Sample, len(names))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(readers)
	for i, name := range names {
		g.Go(func() error {
			ss, err := st.QuerySamples(gctx, store.SampleQuery{Name: name, From: p.Since, To: p.Until, Limit: sampleLimit})
			if err != nil {
				return fmt.Errorf("report: reading %s: %w", name, err)
			}
			got[i] = ss
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	out := map[string][]store.Sample{}
	for i, name := range names {
		if len(got[i]) > 0 {
			out[name] = got[i]
		}
	}
	return out, nil
}

// latestWindow is the end of a period in which readLatest first looks for the newest model
// figures: a monitor stores them every minute while a model serves.
const latestWindow = time.Hour

// readLatest reads the model figures the report shows only the newest value of into samples:
// from the period's last hour when every model seen in the period (by its score PSI) has
// them there, else from the whole period, which costs a read of every sample.
func readLatest(ctx context.Context, st Reader, p Period, samples map[string][]store.Sample) error {
	models := bySubject(samples["model_score_psi"], "detector")
	if len(models) == 0 {
		return nil
	}
	tail := Period{Since: p.Until.Add(-latestWindow), Until: p.Until}
	if tail.Since.Before(p.Since) {
		tail.Since = p.Since
	}
	got, err := readSamples(ctx, st, tail, latestModelMetrics)
	if err != nil {
		return err
	}
	for _, name := range latestModelMetrics {
		if len(bySubject(got[name], "detector")) < len(models) {
			got, err = readSamples(ctx, st, p, latestModelMetrics)
			if err != nil {
				return err
			}
			break
		}
	}
	maps.Copy(samples, got)
	return nil
}

// bySubject splits samples by the value of one label, leaving out samples without it.
func bySubject(ss []store.Sample, label string) map[string][]store.Sample {
	out := map[string][]store.Sample{}
	for _, s := range ss {
		if v := s.Labels[label]; v != "" {
			out[v] = append(out[v], s)
		}
	}
	return out
}

func values(ss []store.Sample) []float64 {
	xs := make([]float64, 0, len(ss))
	for _, s := range ss {
		if !math.IsNaN(s.Value) && !math.IsInf(s.Value, 0) {
			xs = append(xs, s.Value)
		}
	}
	return xs
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	return stat.Median(xs)
}

func operations(samples map[string][]store.Sample) []Operation {
	per := map[string]map[string][]float64{} // operation -> metric -> values
	for _, m := range slices.Concat(opMetrics, []string{sampledQuantiles[0].metric, sampledQuantiles[1].metric}) {
		for op, ss := range bySubject(samples[m], "operation") {
			if per[op] == nil {
				per[op] = map[string][]float64{}
			}
			per[op][m] = values(ss)
		}
	}
	out := []Operation{}
	for _, op := range slices.Sorted(maps.Keys(per)) {
		v := per[op]
		o := Operation{Name: op, Samples: max(len(v["operation_throughput"]), len(v["operation_p99_seconds"])),
			PerSecond: mean(v["operation_throughput"]), ErrorRate: mean(v["operation_error_rate"]),
			P99Seconds: median(v["operation_p99_seconds"]), MeanAllocBytes: mean(v["operation_mean_alloc_bytes"])}
		for _, x := range v["operation_p99_seconds"] {
			o.P99MaxSeconds = max(o.P99MaxSeconds, x)
		}
		o.Latency = latencyCurve(v)
		out = append(out, o)
	}
	// The service first, then the busiest.
	slices.SortStableFunc(out, func(a, b Operation) int {
		if (a.Name == "service") != (b.Name == "service") {
			if a.Name == "service" {
				return -1
			}
			return 1
		}
		return cmp.Compare(b.PerSecond, a.PerSecond)
	})
	return out
}

// Model health limits (docs/monitoring.md: PSI 0.1 is a shift worth watching, 0.25 a drift).
const (
	psiWatch = 0.1
	psiDrift = 0.25
	pDrift   = 0.01
)

func models(samples map[string][]store.Sample) []Model {
	per := map[string]map[string][]store.Sample{}
	for _, m := range modelMetrics {
		for id, ss := range bySubject(samples[m], "detector") {
			if per[id] == nil {
				per[id] = map[string][]store.Sample{}
			}
			per[id][m] = ss
		}
	}
	out := []Model{}
	for _, id := range slices.Sorted(maps.Keys(per)) {
		v := per[id]
		last := func(m string) float64 {
			if ss := v[m]; len(ss) > 0 {
				return ss[len(ss)-1].Value
			}
			return 0
		}
		m := Model{Detector: id, Samples: len(v["model_score_psi"]), Rows: int64(last("model_rows")),
			AnomalyRate: last("model_anomaly_rate"), ExpectedRate: last("model_expected_rate"),
			RateP: 1, ScorePSI: last("model_score_psi"), ScoreKSP: 1}
		if len(v["model_anomaly_rate_p"]) > 0 {
			m.RateP = last("model_anomaly_rate_p")
		}
		if len(v["model_score_ks_p"]) > 0 {
			m.ScoreKSP = last("model_score_ks_p")
		}
		for _, x := range values(v["model_score_psi"]) {
			m.ScorePSIMax = max(m.ScorePSIMax, x)
		}
		switch {
		case m.ScorePSI >= psiDrift || m.RateP < pDrift || m.ScoreKSP < pDrift:
			m.Status = "drifting"
		case m.ScorePSI >= psiWatch:
			m.Status = "watch"
		default:
			m.Status = "ok"
		}
		out = append(out, m)
	}
	return out
}

// charts builds the sampled series, each downsampled to MaxPoints with its trend.
func charts(samples map[string][]store.Sample) []Series {
	out := []Series{}
	for _, d := range seriesDefs {
		ss := samples[d.metric]
		if d.op != "" {
			ss = bySubject(ss, "operation")[d.op]
		} else if len(ss) > 0 {
			// Several instances of a service: one series of them all, in time order.
			ss = slices.Clone(ss)
			slices.SortStableFunc(ss, func(a, b store.Sample) int { return a.Time.Compare(b.Time) })
		}
		times := make([]time.Time, 0, len(ss))
		xs := make([]float64, 0, len(ss))
		for _, s := range ss {
			if math.IsNaN(s.Value) || math.IsInf(s.Value, 0) {
				continue
			}
			times, xs = append(times, s.Time), append(xs, s.Value*d.scale)
		}
		if len(xs) == 0 {
			continue
		}
		s := Series{Name: d.name, Metric: d.metric, Operation: d.op, Unit: d.unit, Samples: len(xs),
			Points: Downsample(times, xs, MaxPoints), Min: slices.Min(xs), Mean: mean(xs), Max: slices.Max(xs)}
		s.Trend = monitor.AnalyzeTrend(d.name, times, xs, monitor.TrendOptions{HigherIsBetter: d.higherIsBetter, Unit: d.unit, MaxPoints: MaxPoints})
		s.TrendLine = trendLine(s.Points, s.Trend.SlopePerHour)
		out = append(out, s)
	}
	return out
}

// Downsample averages a series longer than n into n equal runs of consecutive values, each
// at the time of its run's first value; a shorter one is returned as points.
func Downsample(times []time.Time, xs []float64, n int) []Point {
	if len(xs) <= n {
		out := make([]Point, len(xs))
		for i := range xs {
			out[i] = Point{T: times[i], V: xs[i]}
		}
		return out
	}
	out := make([]Point, n)
	for b := range n {
		lo, hi := b*len(xs)/n, (b+1)*len(xs)/n
		var s float64
		for _, x := range xs[lo:hi] {
			s += x
		}
		out[b] = Point{T: times[lo], V: s / float64(hi-lo)}
	}
	return out
}

// trendLine is the line of the given slope through the points (its intercept the median of
// v - slope t, as Theil-Sen's), at the first and last points' times.
func trendLine(ps []Point, slopePerHour float64) [2]Point {
	if len(ps) == 0 {
		return [2]Point{}
	}
	t0 := ps[0].T
	rest := make([]float64, len(ps))
	for i, p := range ps {
		rest[i] = p.V - slopePerHour*p.T.Sub(t0).Hours()
	}
	b := median(rest)
	last := ps[len(ps)-1].T
	return [2]Point{{T: t0, V: b}, {T: last, V: b + slopePerHour*last.Sub(t0).Hours()}}
}

// activeAt reports whether a was unresolved at t.
func activeAt(a *store.Alert, t time.Time) bool {
	return a.ResolvedAt.IsZero() || !a.ResolvedAt.Before(t)
}

// carriedOver are the alerts raised before since that were still active at since, newest
// first: of those given (the previous period's, and older ones unresolved now), each once.
func carriedOver(alerts []*store.Alert, since time.Time) []*store.Alert {
	seen := map[string]bool{}
	var out []*store.Alert
	for _, a := range alerts {
		if a.CreatedAt.Before(since) && activeAt(a, since) && !seen[a.ID] {
			seen[a.ID] = true
			out = append(out, a)
		}
	}
	slices.SortStableFunc(out, func(a, b *store.Alert) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return out
}

func toAlert(a *store.Alert) Alert {
	it := Alert{Time: a.CreatedAt, Severity: a.Severity, Rule: a.Rule, Metric: a.Metric, Title: a.Title,
		Value: a.Value, Threshold: a.Threshold, Labels: a.Labels}
	if !a.ResolvedAt.IsZero() {
		t := a.ResolvedAt
		it.ResolvedAt = &t
	}
	return it
}

func alertSection(alerts, carried []*store.Alert, until time.Time) Alerts {
	s := Alerts{Total: len(alerts), BySeverity: map[string]int{}, ActiveBySeverity: map[string]int{}, ByRule: map[string]int{}, Items: []Alert{},
		CarriedOver: []Alert{}}
	for _, a := range carried {
		if activeAt(a, until) {
			s.Active++
			s.ActiveBySeverity[a.Severity]++
		}
		if len(s.CarriedOver) < MaxAlerts {
			s.CarriedOver = append(s.CarriedOver, toAlert(a))
		}
	}
	for _, a := range alerts { // newest first, as the store lists them
		if activeAt(a, until) {
			s.Active++
			s.ActiveBySeverity[a.Severity]++
		}
		s.BySeverity[a.Severity]++
		s.ByRule[cmp.Or(a.Rule, "unnamed")]++
		if len(s.Items) < MaxAlerts {
			s.Items = append(s.Items, toAlert(a))
		}
	}
	return s
}

package report

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/gonomaly/gonomaly/store"
)

// LatencyPercentile is one point of an operation's latency curve over the period: of the
// per-minute summaries the monitor stored, the latency at Percentile in the median minute and
// in the worst one.
type LatencyPercentile struct {
	Percentile float64 `json:"percentile"`
	// Minutes is how many minutes the figures are drawn from: every minute for p99, a sample
	// of the period's minutes for p50 and p95 (see docs/report-json.md).
	Minutes    int     `json:"minutes"`
	Seconds    float64 `json:"seconds_median_minute"`
	MaxSeconds float64 `json:"seconds_worst_minute"`
}

// sampledQuantiles are the per-minute percentiles a monitor stores besides p99, which Build
// reads from a sample of the period's minutes (readSampled), and their percentile.
var sampledQuantiles = []struct {
	metric     string
	percentile float64
}{{"operation_p50_seconds", 50}, {"operation_p95_seconds", 95}}

// MaxLatencyCurves is the most operations the report draws a latency curve of: the service
// and the busiest others.
const MaxLatencyCurves = 5

// sampleWindows is how many windows readSampled reads one minute of. Each window is a query
// (about 0.3 ms of CPU on SQLite, measured with 500 windows: 0.3 s a week's report); 120
// minutes give the median minute within a few percentiles of the period's minutes.
const sampleWindows = 120

// readSampled reads, for each named metric, the first stored minute of every series in each
// of sampleWindows equal windows of p (every sample of a period of no more minutes than that):
// one indexed query of a few rows a series a window instead of every sample, so that reading
// p50 and p95 costs a week's report a few hundred small queries rather than a read of every
// minute (about 6 us a sample on SQLite). series is how many series the metric has (those of
// operation_p99_seconds, stored beside it); each window reads its first 4 x series rows, so
// that a series missing from the window's first minutes is still found in the next ones, and
// keeps the first of each series.
func readSampled(ctx context.Context, st Reader, p Period, names []string, series int) (map[string][]store.Sample, error) {
	out := map[string][]store.Sample{}
	if series <= 0 {
		return out, nil
	}
	if p.Duration() <= sampleWindows*time.Minute {
		// No more minutes than windows: one query a metric reads them all.
		return readSamples(ctx, st, p, names)
	}
	series = min(series, 10_000)
	n := sampleWindows
	got := make([][][]store.Sample, len(names))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(readers)
	for i, name := range names {
		got[i] = make([][]store.Sample, n)
		for w := range n {
			from := p.Since.Add(time.Duration(int64(w) * int64(p.Duration()) / int64(n)))
			to := p.Since.Add(time.Duration(int64(w+1) * int64(p.Duration()) / int64(n)))
			g.Go(func() error {
				ss, err := st.QuerySamples(gctx, store.SampleQuery{Name: name, From: from, To: to, Limit: 4 * series})
				if err != nil {
					return fmt.Errorf("report: reading %s: %w", name, err)
				}
				got[i][w] = firstOfEach(ss)
				return nil
			})
		}
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for i, name := range names {
		if ss := slices.Concat(got[i]...); len(ss) > 0 {
			out[name] = ss
		}
	}
	return out, nil
}

// labelKey is a sample's label set as a comparable string.
func labelKey(b *strings.Builder, labels map[string]string) string {
	b.Reset()
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		b.WriteString(k)
		b.WriteByte(0)
		b.WriteString(labels[k])
		b.WriteByte(0)
	}
	return b.String()
}

// seriesCount is how many distinct label sets the samples hold.
func seriesCount(ss []store.Sample) int {
	seen := map[string]struct{}{}
	var b strings.Builder
	for _, s := range ss {
		seen[labelKey(&b, s.Labels)] = struct{}{}
	}
	return len(seen)
}

// firstOfEach keeps the first sample of each series, so that every series weighs one minute
// a window.
func firstOfEach(ss []store.Sample) []store.Sample {
	seen := map[string]struct{}{}
	var b strings.Builder
	out := ss[:0]
	for _, s := range ss {
		k := labelKey(&b, s.Labels)
		if _, dup := seen[k]; !dup {
			seen[k] = struct{}{}
			out = append(out, s)
		}
	}
	return out
}

// latencyCurve is an operation's percentiles from its per-minute figures, by metric name.
func latencyCurve(v map[string][]float64) []LatencyPercentile {
	out := []LatencyPercentile{}
	add := func(metric string, pc float64) {
		xs := v[metric]
		if len(xs) == 0 {
			return
		}
		out = append(out, LatencyPercentile{Percentile: pc, Minutes: len(xs), Seconds: median(xs), MaxSeconds: slices.Max(xs)})
	}
	for _, q := range sampledQuantiles {
		add(q.metric, q.percentile)
	}
	add("operation_p99_seconds", 99)
	return out
}

// latencyCurves are the operations whose curve the report draws: the service and the
// busiest others with at least two percentiles, at most MaxLatencyCurves (Operations is
// sorted that way).
func latencyCurves(ops []Operation) []Operation {
	var out []Operation
	for _, o := range ops {
		if len(o.Latency) >= 2 && len(out) < MaxLatencyCurves {
			out = append(out, o)
		}
	}
	return out
}

package report_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gonomaly/gonomaly/report"
	"github.com/gonomaly/gonomaly/store"
)

// update rewrites the golden files: go test ./report -run TestGolden -update
var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var fixedNow = time.Date(2026, 11, 17, 0, 0, 1, 0, time.UTC)

// dayReport builds the report of a day of samples every 5 minutes.
func dayReport(t *testing.T) *report.Report {
	t.Helper()
	st := openStore(t)
	p := report.Period{Since: day0, Until: day0.Add(24 * time.Hour)}
	seedStore(t, st, p, 5*time.Minute)
	r, err := report.Build(context.Background(), st, p)
	if err != nil {
		t.Fatal(err)
	}
	r.GeneratedAt = fixedNow
	return r
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the report built (run with -update if the change is meant); got:\n%.2000s", path, got)
	}
}

func TestGoldenJSON(t *testing.T) {
	r := dayReport(t)
	var b bytes.Buffer
	if err := report.WriteJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	golden(t, "day.json", b.Bytes())
}

func TestBuildSections(t *testing.T) {
	r := dayReport(t)
	if r.Version != 1 || r.Kind != "report" {
		t.Errorf("version %d kind %q", r.Version, r.Kind)
	}
	if r.Summary.Health != report.HealthCritical {
		t.Errorf("health %q (%v), want critical: a critical alert is active at the end", r.Summary.Health, r.Summary.Reasons)
	}
	if len(r.Benchmarks) != 1 || len(r.Comparisons) != 1 || len(r.Memory) != 1 || len(r.Scalability) != 3 {
		t.Errorf("benchmarks %d comparisons %d memory %d curves %d, want 1 1 1 3", len(r.Benchmarks), len(r.Comparisons), len(r.Memory), len(r.Scalability))
	}
	// Active: the critical one raised in the period, and the goroutines alert raised a month
	// before and never resolved; carried over: it, and the train latency alert raised in the
	// previous period and resolved in this one (the previous period's memory alert was
	// resolved before this one started).
	if r.Alerts.Total != 3 || r.Alerts.Active != 2 || len(r.Alerts.CarriedOver) != 2 ||
		r.Alerts.CarriedOver[0].Rule != "latency" || r.Alerts.CarriedOver[1].Rule != "goroutines" {
		t.Errorf("alerts %d, active %d, carried over %+v; want 3, 2, and the train latency and goroutines alerts",
			r.Alerts.Total, r.Alerts.Active, r.Alerts.CarriedOver)
	}
	p99 := r.Series[0]
	if p99.Metric != "operation_p99_seconds" || p99.Trend.Direction != "increasing" || !p99.Trend.Worsening {
		t.Errorf("p99 series %s: trend %+v, want increasing and worsening", p99.Metric, p99.Trend)
	}
	if r.Summary.Headlines[0].Change != "worse" {
		t.Errorf("p99 headline %+v, want worse than the previous day", r.Summary.Headlines[0])
	}
	sources := map[string]bool{}
	for _, rec := range r.Recommendations {
		sources[rec.Source] = true
	}
	for _, s := range []string{"trend", "bottleneck", "alert", "model", "scalability", "memory"} {
		if !sources[s] {
			t.Errorf("no %s recommendation in %+v", s, r.Recommendations)
		}
	}
	for _, m := range r.Models {
		if want := map[string]string{"det-a": "ok", "det-b": "drifting"}[m.Detector]; m.Status != want {
			t.Errorf("model %s: %s, want %s", m.Detector, m.Status, want)
		}
	}
}

func TestBuildEmptyAndBadPeriod(t *testing.T) {
	st := openStore(t)
	r, err := report.Build(context.Background(), st, report.Period{Since: day0, Until: day0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if r.Summary.Health != report.HealthNoData || r.Series == nil || r.Benchmarks == nil || r.Recommendations == nil {
		t.Errorf("empty store: health %q, nil sections in %+v", r.Summary.Health, r)
	}
	if _, err := report.Build(context.Background(), st, report.Period{Since: day0, Until: day0}); !errors.Is(err, report.ErrPeriod) {
		t.Errorf("empty period: %v, want ErrPeriod", err)
	}
}

func TestDownsample(t *testing.T) {
	n := 1234
	times := make([]time.Time, n)
	xs := make([]float64, n)
	for i := range n {
		times[i], xs[i] = day0.Add(time.Duration(i)*time.Minute), float64(i)
	}
	ps := report.Downsample(times, xs, 500)
	if len(ps) != 500 || !ps[0].T.Equal(day0) {
		t.Fatalf("%d points, first at %v", len(ps), ps[0].T)
	}
	var sum float64
	for i := range ps {
		if i > 0 && !ps[i].T.After(ps[i-1].T) {
			t.Fatalf("point %d not after the one before", i)
		}
		sum += ps[i].V
	}
	// Equal runs of 2 or 3 values: the means average to about the whole mean.
	if m := sum / 500; m < 600 || m > 633 {
		t.Errorf("mean of the points %v, want near 616.5", m)
	}
	if got := report.Downsample(times[:10], xs[:10], 500); len(got) != 10 {
		t.Errorf("short series: %d points, want 10", len(got))
	}
}

// Figures JSON cannot hold never leave Build: stored samples at float64's edge (1e308 scaled
// to milliseconds is +Inf, their sums and slopes overflow) give a report that every renderer
// writes.
func TestBuildClampsNonFinite(t *testing.T) {
	st := openStore(t)
	p := report.Period{Since: day0, Until: day0.Add(24 * time.Hour)}
	var ss []store.Sample
	for i := range 30 {
		v := 1e308
		if i%2 == 1 {
			v = -1e308
		}
		at := day0.Add(time.Duration(i) * time.Minute)
		svc := map[string]string{"operation": "service"}
		ss = append(ss, store.Sample{Time: at, Name: "operation_p99_seconds", Value: math.Abs(v), Labels: svc},
			store.Sample{Time: at, Name: "operation_p50_seconds", Value: math.Abs(v), Labels: svc},
			store.Sample{Time: at, Name: "operation_throughput", Value: v, Labels: svc},
			store.Sample{Time: at, Name: "process_rss_bytes", Value: v})
	}
	if err := st.AddSamples(context.Background(), ss...); err != nil {
		t.Fatal(err)
	}
	r, err := report.Build(context.Background(), st, p)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := report.WriteJSON(&b, r); err != nil {
		t.Fatalf("WriteJSON: %v", err)
	}
	if err := report.WriteHTML(io.Discard, r); err != nil {
		t.Fatalf("WriteHTML: %v", err)
	}
	if err := report.WritePDF(io.Discard, r); err != nil {
		t.Fatalf("WritePDF: %v", err)
	}
}

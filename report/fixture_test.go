package report_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/gonomaly/gonomaly/bench"
	"github.com/gonomaly/gonomaly/eval"
	"github.com/gonomaly/gonomaly/loadtest"
	"github.com/gonomaly/gonomaly/report"
	"github.com/gonomaly/gonomaly/store"
	"github.com/gonomaly/gonomaly/store/sqlite"
)

// day0 is the start of the fixtures' periods.
var day0 = time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)

// openStore opens an empty SQLite store in the test's temporary directory.
func openStore(tb testing.TB) store.Store {
	tb.Helper()
	st, err := sqlite.Open(context.Background(), "sqlite:"+filepath.Join(tb.TempDir(), "report.db"), store.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// seedStore fills st with what a service and the performance commands would have stored over
// p, a sample of every series each step, and a sparser previous period: the service's p99
// grows through the period, resident memory steps up at two thirds, one detector drifts, one
// operation allocates 150 MB a call, another fails 6 % of the time; three alerts (one critical
// still active) and one in the previous period; one run of each kind.
func seedStore(tb testing.TB, st store.Store, p report.Period, step time.Duration) {
	tb.Helper()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	noise := func(scale float64) float64 { return scale * (rng.Float64() - 0.5) }
	var batch []store.Sample
	flush := func() {
		if err := st.AddSamples(ctx, batch...); err != nil {
			tb.Fatal(err)
		}
		batch = batch[:0]
	}
	add := func(t time.Time, name string, v float64, labels map[string]string) {
		batch = append(batch, store.Sample{Time: t, Name: name, Value: v, Labels: labels})
		if len(batch) >= 5000 {
			flush()
		}
	}
	op := func(name string) map[string]string { return map[string]string{"operation": name} }
	minute := func(t time.Time, frac float64) {
		svc, pred, train := op("service"), op("POST /api/v1/detection/predict"), op("POST /api/v1/detection/train")
		add(t, "operation_throughput", 120+noise(10), svc)
		add(t, "operation_error_rate", 0.002+noise(0.002), svc)
		add(t, "operation_p50_seconds", 0.004+noise(0.001), svc)
		add(t, "operation_p95_seconds", 0.012+0.004*frac+noise(0.002), svc)
		add(t, "operation_p99_seconds", 0.020+0.010*frac+noise(0.004), svc)
		add(t, "operation_throughput", 100+noise(10), pred)
		add(t, "operation_error_rate", 0, pred)
		add(t, "operation_p50_seconds", 0.003, pred) // no noise: the other series keep their draws
		add(t, "operation_p95_seconds", 0.010+0.002*frac, pred)
		add(t, "operation_p99_seconds", 0.018+noise(0.004), pred)
		add(t, "operation_mean_alloc_bytes", 150e6+noise(1e6), pred)
		add(t, "operation_throughput", 0.5+noise(0.1), train)
		add(t, "operation_error_rate", 0.06, train)
		add(t, "operation_p99_seconds", 0.8+noise(0.1), train)
		rss := 200e6
		if frac > 2.0/3 {
			rss = 260e6
		}
		add(t, "process_rss_bytes", rss+noise(4e6), nil)
		add(t, "process_heap_bytes", 80e6+noise(4e6), nil)
		add(t, "process_cpu_percent", 35+noise(10), nil)
		add(t, "process_goroutines", 40+math.Round(noise(4)), nil)
		add(t, "process_gc_cpu_percent", 3+noise(1), nil)
		for _, d := range []struct {
			id       string
			psi, ksp float64
		}{{"det-a", 0.02, 0.6}, {"det-b", 0.05 + 0.3*frac, 0.5 - 0.499*frac}} {
			l := map[string]string{"detector": d.id}
			add(t, "model_rows", 1000*frac*float64(p.Duration()/time.Hour), l)
			add(t, "model_anomaly_rate", 0.1, l)
			add(t, "model_expected_rate", 0.1, l)
			add(t, "model_anomaly_rate_p", 0.7, l)
			add(t, "model_score_psi", d.psi, l)
			add(t, "model_score_ks_p", d.ksp, l)
		}
	}
	n := int(p.Duration() / step)
	for i := range n {
		minute(p.Since.Add(time.Duration(i)*step), float64(i)/float64(n))
	}
	prev := p.Previous()
	for i := range 24 {
		t := prev.Since.Add(time.Duration(i) * prev.Duration() / 24)
		add(t, "operation_p99_seconds", 0.018, op("service"))
		add(t, "operation_throughput", 100, op("service"))
		add(t, "operation_error_rate", 0.002, op("service"))
		add(t, "process_rss_bytes", 200e6, nil)
	}
	flush()

	at := func(frac float64) time.Time {
		return p.Since.Add(time.Duration(frac * float64(p.Duration()))).Truncate(time.Second)
	}
	alerts := []*store.Alert{
		{Key: "latency/service", Rule: "latency", CreatedAt: at(0.9), Severity: "critical", Metric: "p99_seconds",
			Title: "service p99 above 25ms", Message: "p99 29ms > 25ms", Value: 0.029, Threshold: 0.025,
			Actions: []string{"scale out"}, Labels: map[string]string{"operation": "service"}},
		{Key: "memory", Rule: "memory", CreatedAt: at(0.7), Severity: "medium", Metric: "rss_bytes",
			Title: "resident memory above 250 MB", Message: "260 MB > 250 MB", Value: 260e6, Threshold: 250e6, ResolvedAt: at(0.75)},
		{Key: "errors/train", Rule: "errors", CreatedAt: at(0.2), Severity: "low", Metric: "error_rate",
			Title: "train errors at 6 %", Message: "6 % > 5 %", Value: 0.06, Threshold: 0.05, ResolvedAt: at(0.25)},
		{Key: "memory", Rule: "memory", CreatedAt: prev.Since.Add(time.Hour), Severity: "medium", Metric: "rss_bytes",
			Title: "resident memory above 250 MB", Message: "x", ResolvedAt: prev.Since.Add(2 * time.Hour)},
		// Carried over: raised in the previous period and resolved in this one; raised long
		// before and still active.
		{Key: "latency/train", Rule: "latency", CreatedAt: prev.Until.Add(-time.Hour), Severity: "high", Metric: "p99_seconds",
			Title: "train p99 above 500ms", Message: "x", Value: 0.8, Threshold: 0.5, ResolvedAt: at(0.05)},
		{Key: "goroutines", Rule: "goroutines", CreatedAt: prev.Since.Add(-30 * 24 * time.Hour), Severity: "low", Metric: "goroutines",
			Title: "goroutines above 30", Message: "x", Value: 40, Threshold: 30},
	}
	for _, a := range alerts {
		if err := st.CreateAlert(ctx, a); err != nil {
			tb.Fatal(err)
		}
	}
	for i, doc := range []struct {
		kind string
		doc  any
	}{{store.KindBenchmark, benchmarkDoc(tb)}, {store.KindScalability, scalabilityDoc(tb)}, {store.KindMemory, memoryDoc()}, {store.KindCompare, compareDoc()},
		{store.KindLoadTest, loadTestDoc()}} {
		b, err := json.Marshal(doc.doc)
		if err != nil {
			tb.Fatal(err)
		}
		run := &store.BenchmarkRun{SuiteID: fmt.Sprintf("%s-20261116T000000Z-0000000%d", doc.kind, i), Kind: doc.kind, Name: doc.kind,
			CreatedAt: at(0.1 + 0.2*float64(i)), Document: b}
		if err := st.CreateBenchmarkRun(ctx, run); err != nil {
			tb.Fatal(err)
		}
	}
	// A search and a tune run, late in the period.
	for i, doc := range []struct {
		kind string
		doc  any
	}{{store.KindSearch, searchDoc()}, {store.KindTune, tuneDoc()}} {
		b, err := json.Marshal(doc.doc)
		if err != nil {
			tb.Fatal(err)
		}
		run := &store.BenchmarkRun{SuiteID: fmt.Sprintf("%s-20261116T000000Z-0000000%d", doc.kind, i), Kind: doc.kind, Name: doc.kind,
			CreatedAt: at(0.95 + 0.02*float64(i)), Document: b}
		if err := st.CreateBenchmarkRun(ctx, run); err != nil {
			tb.Fatal(err)
		}
	}
}

// searchDoc is a grid of isolation_forest's n_estimators (50, 100: the default, 200, 400: timed
// out) ranked by ROC-AUC: 200 beats the defaults by 0.02 and the runner-up by the same.
func searchDoc() *bench.SearchDoc {
	d := &bench.SearchDoc{Header: header(bench.KindSearch, 0), Rows: 1000, Cols: 6, Anomalies: 100, Mode: "grid",
		Searched: []string{"n_estimators"}, Best: 2, BestValue: 0.91, Failed: 1}
	d.Config = bench.DefaultSearch("isolation_forest", "/home/someone/data/shuttle.csv", "label")
	d.Config.Grid = []bench.GridParam{{Name: "n_estimators", Values: []any{50, 100, 200, 400}}}
	d.BestParams = map[string]any{"n_estimators": 200}
	for i, v := range []float64{0.85, 0.89, 0.91, 0} {
		t := bench.SearchTrial{Trial: i, Params: map[string]any{"n_estimators": []int{50, 100, 200, 400}[i]}, Status: bench.StatusOK,
			FitSeconds: 0.1 * float64(i+1), ScoreSeconds: 0.01}
		if v == 0 {
			t.Status, t.Error = bench.StatusTimeout, "timed out after 10m"
		} else {
			t.Accuracy = &eval.Metrics{ROCAUC: v, AveragePrecision: v - 0.3}
			t.Rank = []int{3, 2, 1}[i]
		}
		d.Trials = append(d.Trials, t)
	}
	return d
}

// tuneDoc is a live tune of a service's micro-batching in the JSON shape of `gonomaly
// performance tune --url` (docs/tuning.md; cmd's types cannot be imported), its URL with
// credentials and a query the report must not show: the best setting was applied.
func tuneDoc() map[string]any {
	trial := func(batch int, wait string, tput, p50, p99 float64, role string) map[string]any {
		t := map[string]any{"batch_max": batch, "batch_wait": wait, "workers": 2, "requests": 6000, "success_rate": 1.0,
			"throughput": tput, "p50_seconds": p50, "p99_seconds": p99, "meets_target": p99 <= 0.01}
		if role != "" {
			t["role"], t["runs"] = role, 3
		}
		return t
	}
	before, after := trial(1, "0s", 900, 0.002, 0.009, "median"), trial(32, "1ms", 1500, 0.003, 0.008, "median")
	return map[string]any{"schema_version": 1, "kind": store.KindTune, "suite_id": "tune-20261116T000000Z-00000001", "name": "tune",
		"gonomaly_version": "dev", "build": "(devel)", "mode": "service", "url": "http://admin:s3cret@127.0.0.1:8080/base?token=abc",
		"detector_id": "d-1", "throwaway_detector": true, "rows": 1, "clients": 8, "target_p99_seconds": 0.01, "min_success_rate": 0.99,
		"step_seconds": 5, "budget_seconds": 120, "initial": trial(1, "0s", 880, 0.002, 0.009, ""),
		"trials": []any{trial(1, "0s", 880, 0.002, 0.009, ""), trial(8, "500µs", 1300, 0.003, 0.009, ""), trial(32, "1ms", 1550, 0.003, 0.008, ""),
			trial(128, "5ms", 1700, 0.006, 0.02, "")},
		"verify": []any{trial(1, "0s", 900, 0.002, 0.009, "before"), trial(32, "1ms", 1500, 0.003, 0.008, "after")},
		"before": before, "after": after, "best": trial(32, "1ms", 1550, 0.003, 0.008, ""),
		"applied": true, "met": true, "truncated": false, "note": "applied batch_max=32 batch_wait=1ms workers=2"}
}

func summary(median float64) *bench.Summary {
	return &bench.Summary{N: 3, Median: median, Mean: median, StdDev: median / 10, Min: 0.9 * median, Max: 1.1 * median,
		CILow: 0.85 * median, CIHigh: 1.15 * median}
}

func header(kind string, i int) bench.Header {
	return bench.Header{SchemaVersion: 1, Kind: kind, SuiteID: fmt.Sprintf("%s-20261116T000000Z-0000000%d", kind, i), Name: kind,
		GonomalyVersion: "dev", Build: "(devel)"}
}

func benchmarkDoc(tb testing.TB) bench.BenchmarkDoc {
	d := bench.BenchmarkDoc{Header: header(bench.KindBenchmark, 0)}
	sizes := []int{1000, 5000, 10000}
	for _, alg := range []struct {
		name string
		per  float64 // seconds per row
		exp  float64
	}{{"isolation_forest", 2e-6, 1}, {"local_outlier_factor", 1e-8, 2}} {
		var secs []float64
		for _, n := range sizes {
			s := alg.per * math.Pow(float64(n), alg.exp)
			secs = append(secs, s)
			d.Cells = append(d.Cells, bench.Cell{ID: fmt.Sprintf("%s/%dx10/c0.1", alg.name, n), Algorithm: alg.name, Rows: n, Cols: 10,
				Contamination: 0.1, Dataset: "synthetic", Status: bench.StatusOK, Iterations: 3, Total: summary(s), Fit: summary(s / 2),
				Score: summary(s / 2), Throughput: float64(n) / s, Accuracy: &eval.Metrics{ROCAUC: 0.9, AveragePrecision: 0.6, PrecisionAtN: 0.5}})
		}
		c, err := bench.FitComplexity(sizes, secs)
		if err != nil {
			tb.Fatal(err)
		}
		d.Scalability = append(d.Scalability, bench.ScalabilityFit{Algorithm: alg.name, Cols: 10, Contamination: 0.1, Sizes: sizes,
			Seconds: secs, CPUSeconds: secs, Total: c, CPU: c})
	}
	return d
}

func scalabilityDoc(tb testing.TB) bench.ScalabilityDoc {
	d := bench.ScalabilityDoc{Header: header(bench.KindScalability, 1), Basis: "cpu"}
	d.Config.Algorithm.Name, d.Config.Dims = "knn", 10
	var sizes []int
	var secs []float64
	for _, n := range []int{1000, 2000, 4000, 8000, 16000} {
		s := 3e-9 * float64(n) * float64(n)
		sizes, secs = append(sizes, n), append(secs, s)
		d.Points = append(d.Points, bench.ScalePoint{Rows: n, Status: bench.StatusOK, Total: summary(s), CPU: summary(s), Throughput: float64(n) / s})
	}
	c, err := bench.FitComplexity(sizes, secs)
	if err != nil {
		tb.Fatal(err)
	}
	d.CPU, d.Total = &c, &c
	d.Pattern, d.Exponent, d.R2, d.Grade, d.Predicted10x, d.LargestRows = c.Best.Pattern, c.Exponent, c.R2, c.Grade, c.Predicted10x, 16000
	return d
}

func memoryDoc() bench.MemoryDoc {
	d := bench.MemoryDoc{Header: header(bench.KindMemory, 2), KillAtBytes: 1 << 30, StopReason: "over_budget", LargestRows: 40000,
		FitBytesPerRow: 800, FitPeakBytesPerRow: 2000, RSSBytesPerRow: 2500, GrowthClass: "O(n)"}
	d.Config.Algorithm.Name = "local_outlier_factor"
	for i, n := range []int{10000, 20000, 40000, 80000} {
		st := bench.StatusOK
		if i == 3 {
			st = bench.StatusOverBudget
		}
		d.Steps = append(d.Steps, bench.MemoryStep{Rows: n, Status: st, PeakRSS: int64(30e6 + 2500*float64(n)), FitPeakHeap: int64(2000 * n)})
	}
	return d
}

func compareDoc() bench.CompareDoc {
	d := bench.CompareDoc{Header: header(bench.KindCompare, 3), Rows: 223, Cols: 9, Anomalies: 10,
		ParetoFront: []string{"hbos", "isolation_forest"}}
	d.Config.Dataset = "wbc.csv"
	for i, e := range []struct {
		name     string
		roc, sec float64
	}{{"isolation_forest", 0.95, 0.02}, {"hbos", 0.93, 0.002}, {"local_outlier_factor", 0.9, 0.01}} {
		d.Entries = append(d.Entries, bench.CompareEntry{Algorithm: e.name, Status: bench.StatusOK, Rank: i + 1, Pareto: i < 2,
			Accuracy: &eval.Metrics{ROCAUC: e.roc, AveragePrecision: e.roc - 0.3}, Total: summary(e.sec), Throughput: 223 / e.sec})
	}
	d.Pairs = []bench.PairTest{{A: "isolation_forest", B: "hbos", U: 9, P: 0.01, Significant: true, Faster: "hbos", Ratio: 10},
		{A: "isolation_forest", B: "local_outlier_factor", U: 5, P: 0.4, Faster: "local_outlier_factor", Ratio: 2}}
	return d
}

// loadResult is a load-test run at rate of 600 requests, the latency curve and histogram of a
// service answering in about 2 ms with a 30 ms tail.
func loadResult(rate float64, p99 time.Duration) *loadtest.Result {
	return &loadtest.Result{Model: loadtest.Open, Rate: rate, Requests: 600, Successes: 597, SuccessRate: 0.995, Throughput: rate * 0.995,
		Latency: loadtest.Latency{Min: 400 * time.Microsecond, Mean: 2500 * time.Microsecond, P50: 2 * time.Millisecond, P90: 4 * time.Millisecond,
			P95: 6 * time.Millisecond, P99: p99, P999: 25 * time.Millisecond, Max: 30 * time.Millisecond},
		StatusCodes: map[string]int64{"200": 597, "503": 3}, GeneratorCPUSeconds: 0.0396, // 66 µs a request
		Percentiles: []loadtest.Point{{Percentile: 0, Seconds: 0.0004}, {Percentile: 50, Seconds: 0.002}, {Percentile: 90, Seconds: 0.004},
			{Percentile: 99, Seconds: p99.Seconds()}, {Percentile: 99.9, Seconds: 0.025}, {Percentile: 100, Seconds: 0.03}},
		Histogram: []loadtest.Bucket{{FromSeconds: 0.0002, ToSeconds: 0.0005, Count: 10}, {FromSeconds: 0.0005, ToSeconds: 0.001, Count: 90},
			{FromSeconds: 0.001, ToSeconds: 0.002, Count: 200}, {FromSeconds: 0.002, ToSeconds: 0.005, Count: 250},
			{FromSeconds: 0.005, ToSeconds: 0.01, Count: 40}, {FromSeconds: 0.01, ToSeconds: 0.02, Count: 7}, {FromSeconds: 0.02, ToSeconds: 0.05, Count: 3}}}
}

// loadTestDoc is a ramp of three steps at 100, 200 and 400/s against a 10 ms p99 target: the
// third misses it.
func loadTestDoc() *loadtest.Document {
	d := &loadtest.Document{SchemaVersion: loadtest.SchemaVersion, Kind: loadtest.Kind, SuiteID: "loadtest-20261116T000000Z-00000004",
		Name: "loadtest-predict", GonomalyVersion: "dev", Build: "(devel)"}
	d.Config.Endpoint, d.Config.Model = "predict", "ramp"
	d.Ramp = &loadtest.RampResult{P99: 10 * time.Millisecond, MinSuccessRate: 0.99, BestRate: 200, BestStep: 1, StopReason: loadtest.StopFailed,
		Steps: []loadtest.RampStep{{Rate: 100, Pass: true, Result: loadResult(100, 8*time.Millisecond)},
			{Rate: 200, Pass: true, Result: loadResult(200, 9*time.Millisecond)},
			{Rate: 400, Reason: "p99 15ms above the 10ms target", Result: loadResult(400, 15*time.Millisecond)}}}
	return d
}

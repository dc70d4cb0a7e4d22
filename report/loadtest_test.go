package report_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/gonomaly/gonomaly/loadtest"
	"github.com/gonomaly/gonomaly/report"
	"github.com/gonomaly/gonomaly/store"
)

// addLoadTest stores a load-test document (a loadtest.Document, or raw JSON) at t.
func addLoadTest(tb testing.TB, st store.Store, i int, t time.Time, doc any) {
	tb.Helper()
	b, ok := doc.([]byte)
	if !ok {
		var err error
		if b, err = json.Marshal(doc); err != nil {
			tb.Fatal(err)
		}
	}
	if err := st.CreateBenchmarkRun(context.Background(), &store.BenchmarkRun{SuiteID: fmt.Sprintf("loadtest-%d", i), Kind: store.KindLoadTest,
		Name: "loadtest", CreatedAt: t, Document: b}); err != nil {
		tb.Fatal(err)
	}
}

// Each kind of load-test document reads into the section: a run, a ramp (its best step, else
// its last), a training stress test; a document with none of them, or not JSON, is listed as
// unreadable; a hostile curve and histogram are bounded and cleaned.
func TestLoadTests(t *testing.T) {
	st := openStore(t)
	at := func(h int) time.Time { return day0.Add(time.Duration(h) * time.Hour) }
	run := &loadtest.Document{SchemaVersion: 1, Kind: loadtest.Kind, SuiteID: "run", Result: loadResult(500, 7*time.Millisecond)}
	run.Config.Endpoint = "predict"
	run.Result.Percentiles = nil
	for i := range 1000 {
		run.Result.Percentiles = append(run.Result.Percentiles, loadtest.Point{Percentile: float64(i) / 10, Seconds: 0.001})
	}
	run.Result.Percentiles = append(run.Result.Percentiles, loadtest.Point{Percentile: 200, Seconds: 1}, loadtest.Point{Percentile: 50, Seconds: -1})
	run.Result.Histogram = append(run.Result.Histogram, loadtest.Bucket{FromSeconds: 1, ToSeconds: 0.5, Count: 1}, loadtest.Bucket{Count: -5})
	run.Result.GeneratorCPUSeconds = 0.03 // 50 µs for each of its 600 requests
	addLoadTest(t, st, 0, at(1), run)
	failed := &loadtest.Document{SchemaVersion: 1, Kind: loadtest.Kind, SuiteID: "ramp", Ramp: &loadtest.RampResult{P99: time.Millisecond, BestStep: -1,
		StopReason: loadtest.StopFailed, Steps: []loadtest.RampStep{{Rate: 100, Reason: "p99 8ms above the 1ms target", Result: loadResult(100, 8*time.Millisecond)}}}}
	addLoadTest(t, st, 1, at(2), failed)
	train := &loadtest.Document{SchemaVersion: 1, Kind: loadtest.Kind, SuiteID: "train", Train: &loadtest.TrainResult{Jobs: 20, Concurrency: 4,
		HTTP: loadResult(0, 2*time.Second)}}
	train.Train.HTTP.GeneratorCPUSeconds = 0 // an older document, without it
	addLoadTest(t, st, 2, at(3), train)
	addLoadTest(t, st, 3, at(4), &loadtest.Document{SchemaVersion: 1, Kind: loadtest.Kind, SuiteID: "empty"})
	addLoadTest(t, st, 4, at(5), []byte(`{"result": {"latency": "fast"}}`))

	r, err := report.Build(context.Background(), st, report.Period{Since: day0, Until: day0.Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.LoadTests) != 3 || len(r.Skipped) != 2 {
		t.Fatalf("%d load tests and %d skipped (%+v), want 3 and 2", len(r.LoadTests), len(r.Skipped), r.Skipped)
	}
	got := map[string]report.LoadTest{}
	for _, lt := range r.LoadTests {
		got[lt.SuiteID] = lt
	}
	if lt := got["run"]; lt.Type != report.LoadTestRun || lt.Rate != 500 || lt.P99Seconds != 0.007 || len(lt.Percentiles) != 200 || len(lt.Histogram) != 7 {
		t.Errorf("run: %s at %v, p99 %v, %d curve points, %d buckets; want run at 500, 0.007, 200 and 7", lt.Type, lt.Rate, lt.P99Seconds,
			len(lt.Percentiles), len(lt.Histogram))
	}
	if g := got["run"].GeneratorCPUPerRequest; math.Abs(g-50e-6) > 1e-12 || got["train"].GeneratorCPUPerRequest != 0 {
		t.Errorf("generator CPU a request: run %g, train %g; want 5e-05 and 0 (not given)", g, got["train"].GeneratorCPUPerRequest)
	}
	if lt := got["ramp"]; lt.Type != report.LoadTestRamp || lt.Ramp == nil || lt.Rate != 100 || lt.P99Seconds != 0.008 || lt.Ramp.P99TargetSeconds != 0.001 ||
		len(lt.Ramp.Steps) != 1 || lt.Ramp.Steps[0].Pass {
		t.Errorf("ramp: %+v, want its only (failed) step's figures", lt)
	}
	if lt := got["train"]; lt.Type != report.LoadTestTrain || lt.Model != loadtest.Open || lt.Concurrency != 4 || lt.P99Seconds != 2 {
		t.Errorf("train: %s, model %s, %d clients, p99 %v; want train, 4, 2 s", lt.Type, lt.Model, lt.Concurrency, lt.P99Seconds)
	}
}

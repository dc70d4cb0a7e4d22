package report

import (
	"encoding/json"
	"io"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gonomaly/gonomaly/store"
)

// Any stored load-test document reads without a panic into one bounded row (curve, histogram,
// ramp steps and text all cut to their bounds) that renders, or is refused with a reason.
func FuzzLoadTestDocument(f *testing.F) {
	f.Add([]byte(`{"suite_id": "lt", "name": "loadtest-predict", "config": {"endpoint": "predict", "model": "open", "rate": 100},
		"result": {"model": "open", "rate": 100, "requests": 600, "success_rate": 0.99, "throughput": 99, "generator_cpu_seconds": 0.04,
		"latency": {"p50_seconds": 0.002, "p99_seconds": 0.009, "max_seconds": 0.03},
		"percentiles": [{"percentile": 50, "seconds": 0.002}, {"percentile": 101, "seconds": -1}],
		"histogram": [{"from_seconds": 0.001, "to_seconds": 0.002, "count": 3}, {"from_seconds": 2, "to_seconds": 1, "count": -1}]}}`))
	f.Add([]byte(`{"ramp": {"p99_target_seconds": 0.01, "best_step": 7, "stop_reason": "failed", "steps": [
		{"rate": 100, "pass": true, "result": {"requests": 10, "generator_cpu_seconds": 1e308}}, {"rate": 200, "reason": "p99 over", "result": null}]}}`))
	f.Add([]byte(`{"train": {"concurrency": 4, "result": {"model": "closed", "requests": -5, "generator_cpu_seconds": -1}}}`))
	f.Add([]byte(`{"name": "` + strings.Repeat("é", 300) + `", "result": {"model": "` + strings.Repeat("x", 500) + `"}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		var d loadDoc
		if json.Unmarshal(doc, &d) != nil {
			return
		}
		r := &Report{LoadTests: []LoadTest{}}
		run := &store.BenchmarkRun{ID: "x", SuiteID: "s", CreatedAt: time.Unix(0, 0)}
		if why := r.addLoadTest(run, &d); why != "" {
			if len(r.LoadTests) != 0 {
				t.Fatalf("refused (%s) but listed", why)
			}
			return
		}
		clampFinite(reflect.ValueOf(r))
		lt := r.LoadTests[0]
		for what, v := range map[string]string{"suite": lt.SuiteID, "name": lt.Name, "build": lt.Build, "endpoint": lt.Endpoint, "model": lt.Model} {
			if utf8.RuneCountInString(v) > maxText || !utf8.ValidString(v) {
				t.Fatalf("%s of %d runes: %q", what, utf8.RuneCountInString(v), v)
			}
		}
		if len(lt.Percentiles) > maxCurvePoints || len(lt.Histogram) > maxBuckets {
			t.Fatalf("%d curve points, %d buckets", len(lt.Percentiles), len(lt.Histogram))
		}
		if g := lt.GeneratorCPUPerRequest; g < 0 || math.IsNaN(g) || math.IsInf(g, 0) {
			t.Fatalf("generator CPU a request %g", g)
		}
		if rp := lt.Ramp; rp != nil {
			if len(rp.Steps) > maxRampSteps || utf8.RuneCountInString(rp.StopReason) > maxText {
				t.Fatalf("%d ramp steps, stop reason of %d runes", len(rp.Steps), utf8.RuneCountInString(rp.StopReason))
			}
			for _, s := range rp.Steps {
				if utf8.RuneCountInString(s.Reason) > maxText {
					t.Fatalf("a step's reason of %d runes", utf8.RuneCountInString(s.Reason))
				}
			}
		}
		if err := WriteHTML(io.Discard, r); err != nil {
			t.Fatal(err)
		}
	})
}

package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A service that serves one request at a time in 5 ms holds 200 requests per second at most:
// the ramp (50, 100, 200, 400 per second) holds 100 (half its capacity) and stops at the first
// step that misses 100 ms, at 200 or 400.
func TestRampFindsTheKnee(t *testing.T) {
	checkLeaks(t)
	var mu sync.Mutex
	s := server(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		time.Sleep(5 * time.Millisecond)
		mu.Unlock()
		ok(w, r)
	})
	var seen []float64
	res, err := Ramp(context.Background(), RampOptions{
		Options: Options{Targeter: targets(t, s.URL, 2), Duration: time.Second, MaxInFlight: 64},
		Start:   50, Factor: 2, MaxSteps: 6, P99: 100 * time.Millisecond,
		OnStep: func(st RampStep) { seen = append(seen, st.Rate) },
	})
	if err != nil {
		t.Fatal(err)
	}
	var rates []float64
	for _, st := range res.Steps {
		rates = append(rates, st.Rate)
	}
	if res.BestRate != 100 && res.BestRate != 200 {
		t.Errorf("best rate %g, want 100 or 200 (steps %v)", res.BestRate, rates)
	}
	last := res.Steps[len(res.Steps)-1]
	if res.StopReason != StopFailed || last.Pass || last.Rate != 2*res.BestRate || last.Reason == "" {
		t.Errorf("stop %q, last step %+v; want it to stop at the first failed step", res.StopReason, last)
	}
	if fmt.Sprint(seen) != fmt.Sprint(rates) || res.Steps[res.BestStep].Rate != res.BestRate {
		t.Errorf("OnStep saw %v, steps %v, best step %d", seen, rates, res.BestStep)
	}
}

func TestRampStepsAndStops(t *testing.T) {
	checkLeaks(t)
	s := server(t, ok)
	res, err := Ramp(context.Background(), RampOptions{
		Options: Options{Targeter: targets(t, s.URL, 1), Duration: 100 * time.Millisecond},
		Start:   20, Step: 30, MaxSteps: 3, P99: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	var rates []float64
	for _, st := range res.Steps {
		rates = append(rates, st.Rate)
	}
	if fmt.Sprint(rates) != "[20 50 80]" || res.StopReason != StopMaxSteps || res.BestRate != 80 || res.BestStep != 2 {
		t.Errorf("steps %v stop %q best %g at %d", rates, res.StopReason, res.BestRate, res.BestStep)
	}
	// A service that fails: the first step misses on its success rate.
	bad := server(t, func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", http.StatusInternalServerError) })
	res, err = Ramp(context.Background(), RampOptions{
		Options: Options{Targeter: targets(t, bad.URL, 1), Duration: 100 * time.Millisecond},
		Start:   20, Step: 30, P99: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Steps) != 1 || res.BestStep != -1 || res.BestRate != 0 || !strings.Contains(res.Steps[0].Reason, "success rate 0.00%") {
		t.Errorf("steps %+v best %d", res.Steps, res.BestStep)
	}
}

func TestRampOptionsAreChecked(t *testing.T) {
	tg := Targets{{Method: "POST", URL: "http://127.0.0.1:1"}}
	base := Options{Targeter: tg, Duration: time.Second}
	for _, tt := range []struct {
		o    RampOptions
		want string
	}{
		{RampOptions{Options: base, Start: 10, Step: 1}, "p99 target 0s"},
		{RampOptions{Options: base, Start: 10, P99: time.Millisecond}, "give one of step"},
		{RampOptions{Options: base, Start: 10, Step: 1, Factor: 2, P99: time.Millisecond}, "give one of step"},
		{RampOptions{Options: base, Start: 0, Step: 1, P99: time.Millisecond}, "start 0"},
		{RampOptions{Options: base, Start: 10, Factor: 0.5, P99: time.Millisecond}, "factor 0.5"},
		{RampOptions{Options: base, Start: 10, Step: 1, MaxSteps: 1000, P99: time.Millisecond}, "max steps 1000"},
		{RampOptions{Options: Options{Targeter: tg, Duration: time.Second, Rate: 5}, Start: 10, Step: 1, P99: time.Millisecond}, "the ramp's to set"},
		{RampOptions{Options: Options{Targeter: tg}, Start: 10, Step: 1, P99: time.Millisecond}, "no step duration"},
	} {
		_, err := Ramp(context.Background(), tt.o)
		if !errors.Is(err, ErrOptions) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: %v, want %q", tt.o, err, tt.want)
		}
	}
}

func TestTrainStress(t *testing.T) {
	checkLeaks(t)
	var c concurrency
	var n atomic.Int64
	s := server(t, func(w http.ResponseWriter, r *http.Request) {
		c.enter()
		defer c.leave()
		time.Sleep(10 * time.Millisecond)
		if n.Add(1)%5 == 0 {
			w.WriteHeader(http.StatusTooManyRequests)
			w.Write([]byte(`{"error":"busy","code":"too_many_jobs"}`))
			return
		}
		w.Write([]byte(`{"detector_id":"d","training_time_ms":7.5,"n_samples":100}`))
	})
	body, err := TrainBody("d", 100, 4, 1)
	if err != nil {
		t.Fatal(err)
	}
	tg, err := NewTargets("POST", s.URL, [][]byte{body})
	if err != nil {
		t.Fatal(err)
	}
	res, err := TrainStress(context.Background(), TrainOptions{Targeter: tg, Concurrency: 3, Jobs: 20})
	if err != nil {
		t.Fatal(err)
	}
	if res.HTTP.Requests != 20 || res.HTTP.Successes != 16 || res.TrainingTimeJobs != 16 || c.most.Load() > 3 {
		t.Errorf("requests %d successes %d timed %d, most at once %d", res.HTTP.Requests, res.HTTP.Successes, res.TrainingTimeJobs, c.most.Load())
	}
	if p := res.TrainingTime.P50; p < 7490*time.Microsecond || p > 7510*time.Microsecond {
		t.Errorf("training time p50 %v, want 7.5ms", p)
	}
	if len(res.HTTP.Errors) != 1 || res.HTTP.Errors[0] != (ErrorCount{"HTTP 429 too_many_jobs", 4}) {
		t.Errorf("errors %v", res.HTTP.Errors)
	}
	if _, err := TrainStress(context.Background(), TrainOptions{Targeter: tg, Jobs: 0}); !errors.Is(err, ErrOptions) {
		t.Errorf("no jobs: %v", err)
	}
}

func TestDocumentRoundTrip(t *testing.T) {
	checkLeaks(t)
	s := server(t, ok)
	res := mustRun(t, Options{Targeter: targets(t, s.URL, 1), Rate: 100, Duration: 200 * time.Millisecond})
	start := time.Date(2026, 12, 3, 16, 0, 0, 0, time.UTC)
	d := NewDocument("loadtest-predict", Config{URL: "http://user:pw@h:8080/api/v1?k=secret", Endpoint: "predict", Model: Open, Rate: 100}, start)
	d.Result = res
	d.Finish(start.Add(time.Second))
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte("secret")) || bytes.Contains(b, []byte("pw")) {
		t.Errorf("the document keeps credentials: %s", b)
	}
	var back Document
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Kind != Kind || back.SchemaVersion != 1 || back.Result.Requests != res.Requests || back.Result.Latency.P99 != res.Latency.P99 ||
		back.Result.Elapsed.Round(time.Microsecond) != res.Elapsed.Round(time.Microsecond) || back.DurationSeconds != 1 ||
		!strings.HasPrefix(back.SuiteID, "loadtest-predict-20261203T160000Z-") || back.Config.URL != "http://h:8080/api/v1" {
		t.Errorf("round trip: %s", b)
	}
	for _, key := range []string{`"p99_seconds"`, `"elapsed_seconds"`, `"status_codes"`, `"percentiles"`, `"histogram"`, `"send_lag"`, `"throughput"`} {
		if !bytes.Contains(b, []byte(key)) {
			t.Errorf("no %s in %s", key, b)
		}
	}
	var text bytes.Buffer
	if err := d.WriteText(&text); err != nil || !strings.Contains(text.String(), "p99") || !strings.Contains(text.String(), "200: 20") {
		t.Errorf("text (%v):\n%s", err, text.String())
	}
	rr := &RampResult{P99: 10 * time.Millisecond, MinSuccessRate: 0.99, BestStep: 0, BestRate: 100, StopReason: StopFailed,
		Steps: []RampStep{{Rate: 100, Pass: true, Result: res}, {Rate: 200, Reason: "p99 20ms above 10ms", Result: res}}}
	b, err = json.Marshal(rr)
	if err != nil {
		t.Fatal(err)
	}
	var rback RampResult
	if err := json.Unmarshal(b, &rback); err != nil || rback.P99 != rr.P99 || len(rback.Steps) != 2 || !bytes.Contains(b, []byte(`"p99_target_seconds":0.01`)) {
		t.Errorf("ramp round trip (%v): %s", err, b)
	}
}

// OnePerClient: each job slot trains its own detector, so no two trainings of one overlap.
func TestTrainStressOnePerClient(t *testing.T) {
	checkLeaks(t)
	var busy [3]atomic.Int32
	var overlaps atomic.Int32
	s := server(t, func(w http.ResponseWriter, r *http.Request) {
		i := int(r.URL.Path[len(r.URL.Path)-1] - '0')
		if busy[i].Add(1) > 1 {
			overlaps.Add(1)
		}
		time.Sleep(5 * time.Millisecond)
		busy[i].Add(-1)
		w.Write([]byte(`{"training_time_ms":1}`))
	})
	var tg Targets
	for i := range 3 {
		ts, err := NewTargets("POST", fmt.Sprintf("%s/d%d", s.URL, i), [][]byte{[]byte("{}")})
		if err != nil {
			t.Fatal(err)
		}
		tg = append(tg, ts...)
	}
	res, err := TrainStress(context.Background(), TrainOptions{Targeter: tg, Concurrency: 3, Jobs: 30, OnePerClient: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.HTTP.Successes != 30 || overlaps.Load() != 0 {
		t.Errorf("%d successes, %d overlapping trainings of one detector", res.HTTP.Successes, overlaps.Load())
	}
}

// Durations survive JSON's seconds: every whole microsecond up to a minute comes back equal.
func TestSecondsRoundTrip(t *testing.T) {
	for us := int64(1); us < 60_000_000; us = us*3 + 7 {
		for _, d := range []time.Duration{time.Duration(us) * time.Microsecond, time.Duration(us+1) * time.Microsecond} {
			b, _ := json.Marshal(Latency{P99: d})
			var l Latency
			if err := json.Unmarshal(b, &l); err != nil || l.P99 != d {
				t.Fatalf("%v came back %v (%s)", d, l.P99, b)
			}
		}
	}
	for us := int64(100); us < 200; us++ {
		d := time.Duration(us) * time.Microsecond
		if got := seconds(d.Seconds()); got != d {
			t.Fatalf("seconds(%v) = %v", d.Seconds(), got)
		}
	}
}

package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// checkLeaks fails the test when, at its end, more goroutines run than at its start (polling
// with a deadline: a closed connection's goroutines take a moment to go). Call it before
// starting servers, so their Close runs first.
func checkLeaks(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(10 * time.Second)
		for {
			n := runtime.NumGoroutine()
			if n <= before {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("%d goroutines after the test, %d before:\n%s", n, before, buf)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// server starts a test server with h, closed at the test's end.
func server(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}

func targets(t *testing.T, url string, n int) Targets {
	t.Helper()
	bodies, err := PredictBodies("d", 1, 4, n, 1)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := NewTargets("POST", url, bodies)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func ok(w http.ResponseWriter, _ *http.Request) { w.Write([]byte(`{"scores":[0.5]}`)) }

// concurrency counts the handlers running at once and remembers the most.
type concurrency struct{ now, most atomic.Int64 }

func (c *concurrency) enter() {
	n := c.now.Add(1)
	for {
		m := c.most.Load()
		if n <= m || c.most.CompareAndSwap(m, n) {
			return
		}
	}
}
func (c *concurrency) leave() { c.now.Add(-1) }

func mustRun(t *testing.T, o Options) *Result {
	t.Helper()
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestOpenModelSendsTheScheduledRequests(t *testing.T) {
	for _, p := range []Pacing{PacePrecise, PaceTimer} {
		t.Run(p.String(), func(t *testing.T) { testOpenModelSchedule(t, p) })
	}
}

func testOpenModelSchedule(t *testing.T, p Pacing) {
	checkLeaks(t)
	s := server(t, ok)
	start := time.Now()
	res := mustRun(t, Options{Targeter: targets(t, s.URL, 8), Rate: 200, Duration: time.Second, Pacing: p})
	took := time.Since(start)
	// Requests due in [0, 1s) at 200/s: exactly 200, whatever the machine's load (late ones go late).
	if res.Requests != 200 || res.Successes != 200 || res.StatusCodes["200"] != 200 {
		t.Fatalf("requests %d, successes %d, status %v; want 200", res.Requests, res.Successes, res.StatusCodes)
	}
	// The schedule spans 995 ms; allow a loaded machine a wide margin either way.
	if res.SentRate < 100 || res.SentRate > 400 || took > 5*time.Second || took < 900*time.Millisecond {
		t.Errorf("sent at %.1f/s in %v; want about 200/s in about 1s", res.SentRate, took)
	}
	if res.Model != Open || res.Rate != 200 || res.MaxInFlight != DefaultMaxInFlight || res.SendLag == nil || res.Pacing != p.String() {
		t.Errorf("model %q rate %g max in flight %d send lag %v pacing %q", res.Model, res.Rate, res.MaxInFlight, res.SendLag, res.Pacing)
	}
	if res.BytesOut == 0 || res.BytesIn != 200*int64(len(`{"scores":[0.5]}`)) {
		t.Errorf("bytes out %d in %d", res.BytesOut, res.BytesIn)
	}
	if len(res.Percentiles) == 0 || len(res.Histogram) == 0 || res.Latency.P50 <= 0 || res.Latency.Max < res.Latency.P99 {
		t.Errorf("latency %+v, %d points, %d buckets", res.Latency, len(res.Percentiles), len(res.Histogram))
	}
	var n int64
	for _, b := range res.Histogram {
		n += b.Count
	}
	if n != 200 {
		t.Errorf("histogram buckets count %d, want 200", n)
	}
	// The process's CPU over the run: the test's server is in it too, so only its bounds.
	if cpu := res.GeneratorCPUSeconds; runtime.GOOS == "linux" && (cpu <= 0 || cpu > took.Seconds()*float64(runtime.NumCPU())) {
		t.Errorf("generator CPU %.3f s in a run of %v on %d cores", cpu, took, runtime.NumCPU())
	}
}

// countAtLeast is how many recorded latencies are at least d.
func countAtLeast(r *Result, d time.Duration) int64 {
	var n int64
	for _, b := range r.LatencyHistogram().Distribution() {
		if b.From >= d.Microseconds() {
			n += b.Count
		}
	}
	return n
}

// A service that stalls once for 200 ms: the open model measures the stall in every request
// due during it (from its intended send time); the closed model with one client sees it once.
func TestOpenModelCorrectsCoordinatedOmission(t *testing.T) {
	checkLeaks(t)
	stall := func() http.HandlerFunc {
		var n atomic.Int64
		return func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1) == 20 {
				time.Sleep(200 * time.Millisecond)
			}
			ok(w, r)
		}
	}
	s := server(t, stall())
	open := mustRun(t, Options{Targeter: targets(t, s.URL, 1), Rate: 100, MaxInFlight: 1, Duration: 2 * time.Second})
	s2 := server(t, stall())
	closed := mustRun(t, Options{Targeter: targets(t, s2.URL, 1), Concurrency: 1, Requests: 200})
	// About 20 requests fall due during the stall, waiting 10 to 200 ms.
	if n := countAtLeast(open, 50*time.Millisecond); n < 8 || open.Late < 8 {
		t.Errorf("open model: %d latencies of 50 ms or more, %d late; want the stall in about 15 (p99 %v)", n, open.Late, open.Latency.P99)
	}
	if open.Latency.P95 < 50*time.Millisecond {
		t.Errorf("open model p95 %v: the stall should show at the 95th percentile", open.Latency.P95)
	}
	if n := countAtLeast(closed, 150*time.Millisecond); n != 1 {
		t.Errorf("closed model: %d latencies of 150 ms or more, want the one stalled request", n)
	}
}

func TestClosedModelKeepsItsConcurrency(t *testing.T) {
	checkLeaks(t)
	var c concurrency
	s := server(t, func(w http.ResponseWriter, r *http.Request) {
		c.enter()
		defer c.leave()
		time.Sleep(5 * time.Millisecond)
		ok(w, r)
	})
	res := mustRun(t, Options{Targeter: targets(t, s.URL, 3), Concurrency: 4, Requests: 120})
	if res.Requests != 120 || res.Successes != 120 {
		t.Fatalf("requests %d successes %d, want 120", res.Requests, res.Successes)
	}
	if m := c.most.Load(); m > 4 || m < 2 {
		t.Errorf("at most %d handlers at once, want 4 (at least 2)", m)
	}
	if res.Model != Closed || res.Concurrency != 4 || res.SendLag != nil || res.Late != 0 {
		t.Errorf("model %q concurrency %d send lag %v late %d", res.Model, res.Concurrency, res.SendLag, res.Late)
	}
}

func TestOpenModelBoundsInFlight(t *testing.T) {
	checkLeaks(t)
	var c concurrency
	s := server(t, func(w http.ResponseWriter, r *http.Request) {
		c.enter()
		defer c.leave()
		time.Sleep(50 * time.Millisecond)
		ok(w, r)
	})
	// 500/s against 3 slots of 50 ms each (60/s at most): most requests go late or drop.
	res := mustRun(t, Options{Targeter: targets(t, s.URL, 3), Rate: 500, MaxInFlight: 3, MaxLag: 200 * time.Millisecond, Duration: time.Second})
	if m := c.most.Load(); m > 3 {
		t.Errorf("%d requests in flight at once, want at most 3", m)
	}
	if res.Requests != 500 || res.Dropped == 0 || res.Late == 0 || res.Successes+res.Dropped != 500 {
		t.Errorf("requests %d successes %d dropped %d late %d; want 500 = successes + dropped, some late", res.Requests, res.Successes, res.Dropped, res.Late)
	}
	if len(res.Errors) == 0 || !strings.HasPrefix(res.Errors[0].Error, "dropped") || res.Errors[0].Count != res.Dropped {
		t.Errorf("errors %v, want the dropped ones", res.Errors)
	}
	if res.SuccessRate >= 0.5 {
		t.Errorf("success rate %g with most requests dropped", res.SuccessRate)
	}
}

func TestRequestBound(t *testing.T) {
	checkLeaks(t)
	var n atomic.Int64
	s := server(t, func(w http.ResponseWriter, r *http.Request) { n.Add(1); ok(w, r) })
	for _, o := range []Options{
		{Rate: 1000, Requests: 37},
		{Rate: 1000, Requests: 37, Duration: time.Hour},
		{Concurrency: 5, Requests: 37},
		{Concurrency: 5, Requests: 37, Duration: time.Hour},
	} {
		n.Store(0)
		o.Targeter = targets(t, s.URL, 2)
		res := mustRun(t, o)
		if res.Requests != 37 || n.Load() != 37 {
			t.Errorf("%+v: %d requests recorded, %d served; want 37", o, res.Requests, n.Load())
		}
	}
}

func TestClosedModelDurationBound(t *testing.T) {
	checkLeaks(t)
	s := server(t, ok)
	start := time.Now()
	res := mustRun(t, Options{Targeter: targets(t, s.URL, 2), Concurrency: 2, Duration: 300 * time.Millisecond})
	if took := time.Since(start); took < 300*time.Millisecond || took > 10*time.Second || res.Requests == 0 {
		t.Errorf("ran %v with %d requests; want about 300ms", took, res.Requests)
	}
}

func TestStatusAndErrorBreakdown(t *testing.T) {
	checkLeaks(t)
	var n atomic.Int64
	s := server(t, func(w http.ResponseWriter, r *http.Request) {
		switch n.Add(1) % 4 {
		case 0:
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"error":"at capacity","code":"unavailable"}`))
		case 1:
			w.WriteHeader(http.StatusTeapot)
			w.Write([]byte(`not json`))
		default:
			ok(w, r)
		}
	})
	res := mustRun(t, Options{Targeter: targets(t, s.URL, 2), Concurrency: 1, Requests: 100})
	want := map[string]int64{"200": 50, "503": 25, "418": 25}
	if fmt.Sprint(res.StatusCodes) != fmt.Sprint(want) || res.Successes != 50 || res.SuccessRate != 0.5 {
		t.Errorf("status %v successes %d rate %g; want %v", res.StatusCodes, res.Successes, res.SuccessRate, want)
	}
	wantErrs := []ErrorCount{{"HTTP 418 I'm a teapot", 25}, {"HTTP 503 unavailable", 25}}
	if fmt.Sprint(res.Errors) != fmt.Sprint(wantErrs) {
		t.Errorf("errors %v, want %v", res.Errors, wantErrs)
	}
	if res.Failures() != 50 {
		t.Errorf("failures %d", res.Failures())
	}
}

func TestConnectionRefused(t *testing.T) {
	checkLeaks(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String()
	l.Close()
	res := mustRun(t, Options{Targeter: targets(t, url, 1), Concurrency: 2, Requests: 10})
	if res.Successes != 0 || len(res.StatusCodes) != 0 || len(res.Errors) != 1 || res.Errors[0] != (ErrorCount{"connection refused", 10}) {
		t.Errorf("status %v errors %v", res.StatusCodes, res.Errors)
	}
}

func TestErrorKindsAreBounded(t *testing.T) {
	checkLeaks(t)
	var n atomic.Int64
	s := server(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, `{"error":"x","code":"c%d"}`, n.Add(1))
	})
	res := mustRun(t, Options{Targeter: targets(t, s.URL, 1), Concurrency: 3, Requests: 60})
	if len(res.Errors) != MaxErrorKinds+1 || res.Errors[len(res.Errors)-1].Error != OtherErrors {
		t.Fatalf("%d error kinds %v; want %d and %q", len(res.Errors), res.Errors, MaxErrorKinds, OtherErrors)
	}
	var total int64
	for _, e := range res.Errors {
		total += e.Count
	}
	if total != 60 {
		t.Errorf("errors count %d, want 60", total)
	}
}

func TestResponseTooLarge(t *testing.T) {
	checkLeaks(t)
	s := server(t, func(w http.ResponseWriter, r *http.Request) { w.Write(make([]byte, 10_000)) })
	res := mustRun(t, Options{Targeter: targets(t, s.URL, 1), Concurrency: 1, Requests: 3, MaxResponseBytes: 1000})
	if res.Successes != 0 || len(res.Errors) != 1 || res.Errors[0] != (ErrorCount{"response too large", 3}) || res.BytesIn > 3003 {
		t.Errorf("successes %d errors %v bytes in %d", res.Successes, res.Errors, res.BytesIn)
	}
}

func TestTimeout(t *testing.T) {
	checkLeaks(t)
	release := make(chan struct{})
	s := server(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	res := mustRun(t, Options{Targeter: targets(t, s.URL, 1), Concurrency: 2, Requests: 2, Timeout: 100 * time.Millisecond})
	if len(res.Errors) != 1 || res.Errors[0] != (ErrorCount{"timeout", 2}) {
		t.Errorf("errors %v, want 2 timeouts", res.Errors)
	}
}

func TestCancellation(t *testing.T) {
	checkLeaks(t)
	s := server(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // then the server notices when the client goes
		<-r.Context().Done()        // answers only when the client goes
	})
	for _, o := range []Options{
		{Rate: 100, Duration: time.Hour},
		{Rate: 100, Duration: time.Hour, Pacing: PaceTimer},
		{Concurrency: 4, Duration: time.Hour},
	} {
		o.Targeter = targets(t, s.URL, 1)
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(300*time.Millisecond, cancel)
		start := time.Now()
		res, err := Run(ctx, o)
		if !errors.Is(err, context.Canceled) || res == nil {
			t.Fatalf("%+v: err %v, result %v; want the result so far and context.Canceled", o, err, res)
		}
		if took := time.Since(start); took > 10*time.Second {
			t.Errorf("took %v to stop after cancellation", took)
		}
		if res.Requests != 0 {
			t.Errorf("%d requests recorded; requests cut short by the cancellation do not count", res.Requests)
		}
	}
}

func TestOptionsAreChecked(t *testing.T) {
	tg := Targets{{Method: "POST", URL: "http://127.0.0.1:1"}}
	for _, tt := range []struct {
		o    Options
		want string
	}{
		{Options{Rate: 1, Duration: time.Second}, "no Targeter"},
		{Options{Targeter: tg, Duration: time.Second}, "concurrency 0"},
		{Options{Targeter: tg, Rate: -1, Duration: time.Second}, "rate -1"},
		{Options{Targeter: tg, Rate: 2e6, Duration: time.Second}, "rate 2e+06"},
		{Options{Targeter: tg, Rate: 10, Concurrency: 2, Duration: time.Second}, "give one"},
		{Options{Targeter: tg, Concurrency: 20000, Duration: time.Second}, "concurrency 20000"},
		{Options{Targeter: tg, Concurrency: 2, MaxInFlight: 3, Duration: time.Second}, "without a rate"},
		{Options{Targeter: tg, Rate: 1, MaxInFlight: -1, Duration: time.Second}, "max in flight -1"},
		{Options{Targeter: tg, Rate: 1, Pacing: 7, Duration: time.Second}, "pacing 7"},
		{Options{Targeter: tg, Concurrency: 1}, "would not end"},
		{Options{Targeter: tg, Concurrency: 1, Duration: 48 * time.Hour}, "duration 48h"},
		{Options{Targeter: tg, Concurrency: 1, Requests: -1}, "requests -1"},
		{Options{Targeter: tg, Concurrency: 1, Requests: 1, Timeout: time.Hour}, "timeout 1h"},
	} {
		_, err := Run(context.Background(), tt.o)
		if !errors.Is(err, ErrOptions) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: %v, want ErrOptions with %q", tt.o, err, tt.want)
		}
	}
}

func TestProgress(t *testing.T) {
	checkLeaks(t)
	s := server(t, ok)
	var mu sync.Mutex
	var last Progress
	calls := 0
	res := mustRun(t, Options{Targeter: targets(t, s.URL, 1), Rate: 100, Duration: 500 * time.Millisecond,
		ProgressEvery: 50 * time.Millisecond, Progress: func(p Progress) {
			mu.Lock()
			defer mu.Unlock()
			calls++
			last = p
		}})
	mu.Lock()
	defer mu.Unlock()
	if calls == 0 || last.Sent == 0 || last.Done > last.Sent || last.Sent > res.Requests {
		t.Errorf("%d progress calls, last %+v, result %d requests", calls, last, res.Requests)
	}
}

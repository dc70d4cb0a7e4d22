package monitor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/detector"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// newTestMonitor is a Monitor whose loop never runs on its own (tests call Evaluate) and whose
// tracker and alerts follow c.
func newTestMonitor(t *testing.T, c *clock, opts Options) *Monitor {
	t.Helper()
	opts.Every = time.Hour
	opts.Tracker.now = c.now
	opts.Alerts.Now = c.now
	m := New(opts)
	t.Cleanup(m.Close)
	return m
}

func keysOf(as []Alert) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.Key)
	}
	return out
}

// A slow operation raises its latency alert once, keeps it while it stays slow, and resolves
// it when the window holds only fast runs; its bottleneck shows in the status.
func TestMonitorRaisesGroupsAndResolves(t *testing.T) {
	c := &clock{t: time.Now()}
	th := DefaultThresholds()
	th.Operations = map[string]OpThresholds{"predict": {WarningExecutionTime: 10 * time.Millisecond, MaxExecutionTime: time.Second}}
	rec := &recorder{}
	m := newTestMonitor(t, c, Options{Thresholds: &th, Alerts: AlertOptions{Notifiers: []Notifier{rec}}})
	ctx := context.Background()
	for range 30 {
		m.Tracker().Record("predict", 50*time.Millisecond, 1, nil)
	}
	m.Evaluate(ctx)
	m.Evaluate(ctx) // still slow: no second alert
	if got := rec.took(); len(got) != 1 || got[0] != "firing latency/predict high" {
		t.Fatalf("events after two evaluations of a slow predict: %q", got)
	}
	st := m.Status(ctx)
	if len(st.Alerts) != 1 || st.Alerts[0].Key != "latency/predict" || len(st.Alerts[0].Actions) == 0 {
		t.Fatalf("status alerts %+v", st.Alerts)
	}
	if st.Service.Count != 30 || st.Service.P99 < 49*time.Millisecond {
		t.Errorf("service summary %+v", st.Service)
	}
	c.add(2 * time.Minute) // the slow runs leave the window
	for range 30 {
		m.Tracker().Record("predict", time.Millisecond, 1, nil)
	}
	m.Evaluate(ctx)
	if got := rec.took(); len(got) != 1 || got[0] != "resolved latency/predict high" {
		t.Fatalf("events once predict is fast again: %q", got)
	}
	if a := m.Alerts().Active(); len(a) != 0 {
		t.Errorf("still active: %v", keysOf(a))
	}
}

// Failing operations: the error-rate alert and the errors bottleneck name the operation.
func TestMonitorNamesTheFailingOperation(t *testing.T) {
	c := &clock{t: time.Now()}
	m := newTestMonitor(t, c, Options{})
	for i := range 40 {
		var err error
		if i%2 == 0 {
			err = errors.New("boom")
		}
		m.Tracker().Record("train", time.Millisecond, 10, err)
		m.Tracker().Record("predict", time.Millisecond, 1, nil)
	}
	m.Evaluate(context.Background())
	st := m.Status(context.Background())
	if keys := keysOf(st.Alerts); !contains(keys, "error_rate/train") || contains(keys, "error_rate/predict") {
		t.Errorf("alerts %v: want error_rate/train only for errors", keys)
	}
	found := false
	for _, b := range st.Bottlenecks {
		if b.Op == "train" && b.Cause == "errors" {
			found = true
		}
		if b.Op == "predict" && b.Cause == "errors" {
			t.Errorf("predict blamed for errors: %+v", b)
		}
	}
	if !found {
		t.Errorf("no errors bottleneck for train in %+v", st.Bottlenecks)
	}
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// A webhook receives each alert once, and a receiver that hangs delays neither Evaluate nor
// the operations being tracked.
func TestMonitorWebhook(t *testing.T) {
	var got atomic.Int64
	var bodies atomic.Value
	fast := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b bytes.Buffer
		b.ReadFrom(r.Body)
		bodies.Store(b.String())
		got.Add(1)
	}))
	defer fast.Close()
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hang.Close()
	defer close(release)
	whFast, err := NewWebhook(WebhookOptions{URL: fast.URL})
	if err != nil {
		t.Fatal(err)
	}
	whHang, err := NewWebhook(WebhookOptions{URL: hang.URL, Timeout: 10 * time.Second, Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		whHang.Close(ctx) // gives up on the hanging delivery at the deadline
	}()
	c := &clock{t: time.Now()}
	th := DefaultThresholds()
	th.WarningExecutionTime = time.Millisecond
	m := newTestMonitor(t, c, Options{Thresholds: &th, Alerts: AlertOptions{Notifiers: []Notifier{whHang, whFast}}})
	for range 10 {
		m.Tracker().Record("predict", 20*time.Millisecond, 1, nil)
	}
	ctx := context.Background()
	for range 5 {
		t0 := time.Now()
		m.Evaluate(ctx)
		done := m.Tracker().Track(ctx, "predict", 1)
		done(nil)
		if d := time.Since(t0); d > time.Second {
			t.Fatalf("an evaluation with a hanging webhook took %v", d)
		}
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := whFast.Close(cctx); err != nil {
		t.Fatal(err)
	}
	if n := got.Load(); n != 1 {
		t.Fatalf("the receiver got %d requests for one alert", n)
	}
	if b, _ := bodies.Load().(string); !strings.Contains(b, `"key":"latency/predict"`) || !strings.Contains(b, `"status":"firing"`) {
		t.Errorf("payload %s", b)
	}
}

// Custom gauges appear in the status and on the Prometheus collector beside the built-in
// figures; a bad name is refused.
func TestMonitorCustomMetricsAndCollector(t *testing.T) {
	c := &clock{t: time.Now()}
	m := newTestMonitor(t, c, Options{Sampler: SamplerOptions{Interval: 10 * time.Millisecond}})
	if err := m.Gauge("queue_depth", "Items waiting in the user's queue.", func() float64 { return 7 }); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "9lives", "a-b", "a b", strings.Repeat("x", 101)} {
		if err := m.Gauge(bad, "", func() float64 { return 0 }); err == nil {
			t.Errorf("custom metric %q accepted", bad)
		}
	}
	m.Tracker().Record("predict", time.Millisecond, 1, nil)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, ok := m.Sampler().Latest(); ok || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	st := m.Status(context.Background())
	if st.Custom["queue_depth"] != 7 || st.Resources == nil || st.MemoryUsage <= 0 {
		t.Errorf("status custom %v, resources %v", st.Custom, st.Resources)
	}
	if _, err := json.Marshal(st); err != nil {
		t.Errorf("status does not encode: %v", err)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(m.Collector())
	if n, err := testutil.GatherAndCount(reg, "gonomaly_custom_queue_depth", "gonomaly_operation_duration_seconds", "gonomaly_monitor_process_cpu_percent", "gonomaly_alerts_active"); err != nil || n != 1+1+1+5 {
		t.Errorf("gathered %d series (%v), want 8", n, err)
	}
	lint, err := testutil.GatherAndLint(reg)
	if err != nil || len(lint) > 0 {
		t.Errorf("lint: %v %+v", err, lint)
	}
}

// What a monitor stores every PersistEvery is what StatusFromStore reads back.
func TestMonitorPersistsAndStatusFromStore(t *testing.T) {
	st := openStore(t)
	c := &clock{t: time.Now()}
	m := newTestMonitor(t, c, Options{Store: st, Sampler: SamplerOptions{Interval: 10 * time.Millisecond, PersistEvery: time.Hour}})
	for i := range 100 {
		m.Tracker().Record("POST /api/v1/detection/predict", time.Duration(i+1)*time.Millisecond, 1, nil)
	}
	ctx := context.Background()
	m.alerts.Evaluate(ctx, cond("latency/x", true, SeverityCritical))
	time.Sleep(50 * time.Millisecond)
	m.persist(ctx, time.Now())
	m.sampler.Close() // stores its readings
	got, ok, err := StatusFromStore(ctx, st, time.Now(), time.Minute)
	if err != nil || !ok {
		t.Fatalf("status from store: %v %v", ok, err)
	}
	if len(got.Operations) != 1 || got.Operations[0].Count != 100 || !within(got.Operations[0].P99, 99*time.Millisecond) {
		t.Errorf("operations %+v", got.Operations)
	}
	if got.Service.Count != 100 || got.ResponseTime <= 0 {
		t.Errorf("service %+v, response time %v", got.Service, got.ResponseTime)
	}
	if got.Resources == nil || got.Resources.RSS <= 0 {
		t.Errorf("resources %+v", got.Resources)
	}
	if len(got.Alerts) != 1 || got.Alerts[0].Key != "latency/x" || got.Alerts[0].Severity != SeverityCritical {
		t.Errorf("alerts %+v", got.Alerts)
	}
	var b strings.Builder
	if err := got.WriteText(&b, "store test"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"store test", "POST /api/v1/detection/predict", "CRITICAL", "alerts: 1 active", "resources: cpu"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, b.String())
		}
	}
	if _, ok, _ := StatusFromStore(ctx, st, time.Now().Add(time.Hour), time.Minute); ok {
		t.Error("figures an hour old count as recent")
	}
}

func TestFetchStatus(t *testing.T) {
	c := &clock{t: time.Now()}
	m := newTestMonitor(t, c, Options{})
	m.Tracker().Record("POST /api/v1/detection/predict", time.Millisecond, 1, nil)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Header.Get("Authorization") != "Bearer k":
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"error":"missing or invalid API key","code":"unauthorized"}`))
		case r.URL.Path != "/api/performance/metrics":
			http.NotFound(w, r)
		default:
			json.NewEncoder(w).Encode(m.Status(r.Context()))
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	for _, base := range []string{srv.URL, srv.URL + "/", srv.URL + "/api/v1"} {
		st, err := FetchStatus(ctx, srv.Client(), base, "k")
		if err != nil || len(st.Operations) != 1 {
			t.Errorf("%s: %v %+v", base, err, st.Operations)
		}
	}
	if _, err := FetchStatus(ctx, srv.Client(), srv.URL, "wrong"); err == nil || !strings.Contains(err.Error(), "missing or invalid API key") {
		t.Errorf("wrong key: %v", err)
	}
	for _, bad := range []string{"", "ftp://x", "http://", "::"} {
		if _, err := FetchStatus(ctx, srv.Client(), bad, ""); err == nil {
			t.Errorf("address %q accepted", bad)
		}
	}
}

var growSink [][]byte

// An operation that allocates 200 MB a run: the status names memory as its bottleneck, and not
// for the operation beside it.
func TestMonitorNamesTheMemoryBottleneck(t *testing.T) {
	c := &clock{t: time.Now()}
	m := newTestMonitor(t, c, Options{})
	ctx := context.Background()
	for range 3 {
		done := m.Tracker().Track(ctx, "load", 1)
		growSink = append(growSink[:0], make([]byte, 200e6))
		done(nil)
		m.Tracker().Track(ctx, "small", 1)(nil)
	}
	growSink = nil
	m.Evaluate(ctx)
	st := m.Status(ctx)
	var causes []string
	for _, b := range st.Bottlenecks {
		causes = append(causes, b.Op+":"+b.Cause)
	}
	if !contains(causes, "load:memory") || contains(causes, "small:memory") {
		t.Errorf("bottlenecks %v: want memory for load only", causes)
	}
	if !contains(keysOf(st.Alerts), "bottleneck/memory/load") {
		t.Errorf("alerts %v lack bottleneck/memory/load", keysOf(st.Alerts))
	}
}

// Status reuses the last evaluation's model health (the drift statistics are costly for a
// large fleet) but never shows a detector forgotten since.
func TestMonitorReusesModelHealth(t *testing.T) {
	c := &clock{t: time.Now()}
	m := newTestMonitor(t, c, Options{})
	model, X := fitted(t)
	ctx := context.Background()
	for _, id := range []string{"a", "b"} {
		if err := m.Health().Observe(id, 1, model, X, make([]float64, X.Rows)); err != nil {
			t.Fatal(err)
		}
	}
	m.Evaluate(ctx)
	if err := m.Health().Observe("c", 1, model, X, make([]float64, X.Rows)); err != nil {
		t.Fatal(err)
	}
	m.Health().Forget("b")
	var ids []string
	for _, h := range m.Status(ctx).Models {
		ids = append(ids, h.ID)
	}
	if strings.Join(ids, ",") != "a" {
		t.Errorf("status models %v: want a (b forgotten, c after the evaluation)", ids)
	}
}

func fitted(t *testing.T) (*detector.Model, *dataset.Matrix) {
	t.Helper()
	m, err := detector.NewModel("hbos", nil, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	X, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: 600, Cols: 3, Seed: 1})
	if _, err := m.Fit(context.Background(), X); err != nil {
		t.Fatal(err)
	}
	return m, X
}

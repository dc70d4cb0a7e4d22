package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gonomaly/gonomaly/monitor"
)

// shifted returns n rows of d standard normal values plus shift.
func shifted(n, d int, shift float64, seed uint64) [][]float64 {
	r := rand.New(rand.NewPCG(seed, 3))
	out := make([][]float64, n)
	for i := range out {
		out[i] = make([]float64, d)
		for j := range out[i] {
			out[i][j] = r.NormFloat64() + shift
		}
	}
	return out
}

// GET /api/performance/metrics gives the seed's four figures, every route's summary with its
// p99, and the health of the detector predictions went to.
func TestPerformanceMetrics(t *testing.T) {
	e := newEnv(t, envOpts{key: "k"})
	id := e.createAndTrain("isolation_forest", map[string]any{"seed": 1}, shifted(2000, 3, 0, 1))
	for i := range 60 {
		e.predictOK(id, shifted(20, 3, 0, uint64(10+i)))
	}
	var raw map[string]any
	if st := e.do("GET", "/api/performance/metrics", nil, &raw); st != 200 {
		t.Fatalf("status %d", st)
	}
	for _, k := range []string{"response_time", "throughput", "memory_usage", "error_rate", "cpu_usage", "operations", "health", "models", "alerts"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("answer lacks %q", k)
		}
	}
	var st monitor.Status
	e.do("GET", "/api/performance/metrics", nil, &st)
	if st.Throughput <= 0 || st.ResponseTime <= 0 || st.MemoryUsage <= 0 || st.ErrorRate != 0 {
		t.Errorf("figures: response %v ms, throughput %v/s, memory %v MB, errors %v", st.ResponseTime, st.Throughput, st.MemoryUsage, st.ErrorRate)
	}
	var predict *monitor.OpSummary
	for i, o := range st.Operations {
		if o.Name == "POST /api/v1/detection/predict" {
			predict = &st.Operations[i]
		}
	}
	if predict == nil || predict.Count != 60 || predict.Rows != 1200 || predict.P99 <= 0 {
		t.Fatalf("predict summary %+v in %+v", predict, st.Operations)
	}
	if len(st.Models) != 1 || st.Models[0].ID != id || st.Models[0].Rows != 1200 || !st.Models[0].Profiled {
		t.Fatalf("models %+v", st.Models)
	}
	if st.Health.Status != "ok" || len(st.Health.Components) < 5 {
		t.Errorf("health %+v", st.Health)
	}
	// The monitor's endpoints are the API's: behind the key.
	resp, err := http.Get(e.http.URL + "/api/performance/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("without the key: %d", resp.StatusCode)
	}
	// Deleting the detector forgets its health.
	e.do("DELETE", "/api/v1/detectors/"+id, nil, nil)
	e.do("GET", "/api/performance/metrics", nil, &st)
	if len(st.Models) != 0 {
		t.Errorf("a deleted detector's health is still reported: %+v", st.Models)
	}
}

// Shifted data raises the model-health alerts, stored and listed by
// GET /api/performance/alerts, filtered by severity and state; bad filters are 400.
func TestPerformanceAlerts(t *testing.T) {
	e := newEnv(t, envOpts{cfg: func(c *Config) { c.Monitor.Every = 50 * time.Millisecond }})
	id := e.createAndTrain("hbos", nil, shifted(2000, 3, 0, 1))
	for i := range 40 {
		e.predictOK(id, shifted(25, 3, 2, uint64(100+i)))
	}
	var body struct {
		Alerts []monitor.Alert    `json:"alerts"`
		Stats  monitor.AlertStats `json:"stats"`
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if e.do("GET", "/api/performance/alerts?active=true", nil, &body) != 200 {
			t.Fatal("alerts")
		}
		if len(body.Alerts) >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	keys := map[string]bool{}
	for _, a := range body.Alerts {
		keys[a.Key] = true
		if a.Title == "" || len(a.Actions) == 0 || a.ID == "" {
			t.Errorf("alert without title, actions or id: %+v", a)
		}
	}
	if !keys["feature_drift/"+id] || !keys["score_drift/"+id] {
		t.Fatalf("active alerts %v: want feature and score drift of %s", keys, id)
	}
	e.do("GET", "/api/performance/alerts?severity=critical", nil, &body)
	for _, a := range body.Alerts {
		if a.Severity != monitor.SeverityCritical {
			t.Errorf("severity=critical listed %+v", a)
		}
	}
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	if e.do("GET", "/api/performance/alerts?since="+future, nil, &body); len(body.Alerts) != 0 {
		t.Errorf("since the future: %d alerts", len(body.Alerts))
	}
	for _, q := range []string{"severity=bogus", "active=maybe", "since=yesterday", "limit=-1", "severity=%ff"} {
		var eb errorBody
		if st := e.do("GET", "/api/performance/alerts?"+q, nil, &eb); st != 400 || eb.Code == "" {
			t.Errorf("%s: %d %+v", q, st, eb)
		}
	}
}

// The monitor's gauges are on /metrics, and the exposition passes promtool's check.
func TestMetricsPassPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool not found: scripts/tools.sh installs it (Debian package prometheus)")
	}
	e := newEnv(t, envOpts{})
	if err := e.srv.Monitor().Gauge("test_queue_depth", "A custom metric of the test.", func() float64 { return 3 }); err != nil {
		t.Fatal(err)
	}
	id := e.createAndTrain("hbos", nil, shifted(500, 2, 0, 1))
	e.predictOK(id, shifted(5, 2, 0, 2))
	time.Sleep(1100 * time.Millisecond) // a resource reading
	resp, err := http.Get(e.http.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	plain := withoutInstance(string(text))
	for _, want := range []string{
		"gonomaly_custom_test_queue_depth 3",
		`gonomaly_operation_duration_seconds{operation="POST /api/v1/detection/predict",quantile="0.99"}`,
		`gonomaly_model_anomaly_ratio{detector="` + id + `"}`,
		`gonomaly_alerts_active{severity="critical"} 0`,
		"gonomaly_monitor_process_cpu_percent",
		"gonomaly_monitor_gc_pause_max_seconds",
	} {
		if !strings.Contains(plain, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(text)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}

// A webhook receiver gets each alert once; one that hangs or fails never delays a
// prediction.
func TestAlertWebhookNeverDelaysPredictions(t *testing.T) {
	var mu sync.Mutex
	got := map[string]int{}
	good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p monitor.WebhookPayload
		json.NewDecoder(r.Body).Decode(&p)
		mu.Lock()
		for _, a := range p.Alerts {
			got[p.Event+" "+a.Key]++
		}
		mu.Unlock()
	}))
	defer good.Close()
	stop := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-stop:
		case <-r.Context().Done():
		}
	}))
	defer hang.Close()
	defer close(stop)
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }))
	defer failing.Close()
	var hooks []*monitor.Webhook
	for _, u := range []string{hang.URL, failing.URL, good.URL} {
		wh, err := monitor.NewWebhook(monitor.WebhookOptions{URL: u, Timeout: 30 * time.Second, Backoff: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		hooks = append(hooks, wh)
	}
	th := monitor.DefaultThresholds()
	th.Operations = map[string]monitor.OpThresholds{"POST /api/v1/detection/predict": {WarningExecutionTime: time.Microsecond}}
	e := newEnv(t, envOpts{cfg: func(c *Config) {
		c.Monitor.Every = 20 * time.Millisecond
		c.Monitor.Thresholds = &th
		c.Monitor.Alerts.Notifiers = []monitor.Notifier{hooks[0], hooks[1], hooks[2]}
	}})
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		for _, h := range hooks[:2] {
			h.Close(ctx)
		}
	}()
	id := e.createAndTrain("hbos", nil, shifted(500, 2, 0, 1))
	var slowest time.Duration
	for i := range 200 {
		t0 := time.Now()
		e.predictOK(id, shifted(1, 2, 0, uint64(i)))
		slowest = max(slowest, time.Since(t0))
	}
	if slowest > 2*time.Second {
		t.Errorf("slowest prediction %v with a hanging and a failing webhook", slowest)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hooks[2].Close(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if got["firing latency/POST /api/v1/detection/predict"] != 1 {
		t.Errorf("the receiver got %v: want the predict latency alert once", got)
	}
}

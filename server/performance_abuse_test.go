package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/detector"
	"github.com/gonomaly/gonomaly/monitor"
)

// The monitor's fault suite: hostile clients, receivers and data against the performance
// monitor of a running service.

// getStatus reads GET /api/performance/metrics and fails unless it is a 200 with a whole
// monitor status.
func (e *env) getStatus() monitor.Status {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.http.URL+"/api/performance/metrics", nil)
	if e.key != "" {
		req.Header.Set("Authorization", "Bearer "+e.key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var s monitor.Status
	if resp.StatusCode != 200 || json.Unmarshal(raw, &s) != nil || s.Time.IsZero() || s.Health.Status == "" {
		e.t.Fatalf("GET /api/performance/metrics: %d, body %.500q", resp.StatusCode, raw)
	}
	return s
}

// Thousands of requests to paths no route has, with odd methods, long and escaped paths, add
// no operation to the tracker: they are all the catch-all's ("/"), or "unmatched" when the
// body is refused before routing. The tracker keeps six HDR histograms (about 1 MB) per
// operation, so an operation per path would be a memory leak any client could drive.
func TestMonitorAbuseUnmatchedPathsAddNoOperations(t *testing.T) {
	e := newEnv(t, envOpts{})
	r := rand.New(rand.NewPCG(1, 2))
	methods := []string{"GET", "POST", "DELETE", "PUT", "PATCH", "OPTIONS", "HEAD"}
	client := &http.Client{}
	for i := range 2000 {
		method := methods[i%len(methods)]
		if i%5 == 0 {
			method = fmt.Sprintf("X%d", r.Uint32()) // any token is a method to net/http
		}
		var path string
		switch i % 4 {
		case 0:
			path = fmt.Sprintf("/x/%d", r.Uint64())
		case 1:
			path = fmt.Sprintf("/api/v1/detectors/%d/extra/%d", r.Uint64(), i)
		case 2:
			path = fmt.Sprintf("/api/v2/%%00%%ff/%d?q=%d", r.Uint64(), i)
		default:
			path = "/" + strings.Repeat("a", 1000+i%1000)
		}
		var body io.Reader
		if i%10 == 0 {
			body = strings.NewReader("{}")
		}
		req, err := http.NewRequest(method, e.http.URL+path, body)
		if err != nil {
			t.Fatal(err)
		}
		if i%20 == 0 {
			req.Header.Set("Content-Encoding", "br") // refused before routing: 415
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Fatalf("%s %s: %d", method, path, resp.StatusCode)
		}
	}
	ops := e.srv.Monitor().Tracker().Summaries()
	var names []string
	var total int64
	for _, o := range ops {
		names = append(names, o.Name)
		total += o.Count
		if o.Name != "/" && o.Name != "unmatched" {
			t.Errorf("operation %q from unmatched paths", o.Name)
		}
	}
	if total != 2000 || len(ops) > 2 {
		t.Fatalf("2000 unmatched requests made %d operations %q counting %d requests", len(ops), names, total)
	}
	st := e.getStatus()
	if len(st.Operations) > 2 || st.Service.Count != 0 {
		t.Errorf("status: %d operations, service count %d (unmatched paths are not the API's)", len(st.Operations), st.Service.Count)
	}
}

// The model-health tracker follows at most MaxDetectors detectors, evicting the one seen
// least recently, and a detector's counts take the fixed size its profile gives them: two
// generations of 100 score bins and 20 bins a profiled column (at most 1000), 4 bytes a bin.
func TestMonitorAbuseModelHealthIsBounded(t *testing.T) {
	fit := func(cols int) *detector.Model {
		m, err := detector.NewModel("hbos", nil, detector.DefaultContamination)
		if err != nil {
			t.Fatal(err)
		}
		X, _ := dataset.FromRows(shifted(600, cols, 0, 7))
		if _, err := m.Fit(context.Background(), X); err != nil {
			t.Fatal(err)
		}
		if m.Profile == nil {
			t.Fatal("a fitted model has no profile")
		}
		return m
	}
	small := fit(3)
	h := monitor.NewModelHealth(monitor.HealthOptions{MaxDetectors: 50})
	X, _ := dataset.FromRows(shifted(1, 3, 0, 8))
	for i := range 5000 {
		if err := h.Observe(fmt.Sprintf("det-%05d", i), 1, small, X, []float64{0.5}); err != nil {
			t.Fatal(err)
		}
	}
	reports := h.Reports()
	if len(reports) != 50 || reports[0].ID != "det-04950" || reports[49].ID != "det-04999" {
		t.Fatalf("after 5000 detectors with MaxDetectors 50: %d followed, first %q", len(reports), reports[0].ID)
	}

	// The widest profile: 1000 columns, 164 KB a detector.
	const cols = 1000
	wide := fit(cols)
	wide1, _ := dataset.FromRows(shifted(1, cols, 0, 9))
	hw := monitor.NewModelHealth(monitor.HealthOptions{})
	const n = 100
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	for i := range n {
		if err := hw.Observe(fmt.Sprintf("wide-%d", i), 1, wide, wide1, []float64{0.5}); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&m1)
	per := (int64(m1.HeapAlloc) - int64(m0.HeapAlloc)) / n
	want := int64(2 * (100 + 20*cols) * 4)
	if per > want+want/4 {
		t.Errorf("a detector of %d columns takes %d bytes of model health, want about %d", cols, per, want)
	}
	runtime.KeepAlive(hw)
	t.Logf("model health: %d bytes a detector of %d columns (default MaxDetectors 10000: %d MB at most)", per, cols, per*10000>>20)
}

// Through the service: only MaxDetectors detectors' health is reported however many predict,
// and deleting detectors forgets them.
func TestMonitorAbuseManyDetectorsPredicting(t *testing.T) {
	e := newEnv(t, envOpts{cfg: func(c *Config) { c.Monitor.Health.MaxDetectors = 3 }})
	var ids []string
	for i := range 6 {
		id := e.createAndTrain("hbos", nil, shifted(100, 2, 0, uint64(i)))
		e.predictOK(id, shifted(10, 2, 0, uint64(100+i)))
		ids = append(ids, id)
	}
	st := e.getStatus()
	if len(st.Models) != 3 {
		t.Fatalf("6 detectors predicting with MaxDetectors 3: %d reported", len(st.Models))
	}
	for _, id := range ids {
		e.do("DELETE", "/api/v1/detectors/"+id, nil, nil)
	}
	if st := e.getStatus(); len(st.Models) != 0 {
		t.Errorf("deleted detectors still reported: %+v", st.Models)
	}
}

// GET /api/performance/metrics and /alerts under concurrent load, while predictions flow and
// the monitor evaluates every 20 ms: every answer is a whole 200 (run with -race).
func TestMonitorAbuseMetricsUnderConcurrentLoad(t *testing.T) {
	e := newEnv(t, envOpts{key: "k", cfg: func(c *Config) { c.Monitor.Every = 20 * time.Millisecond }})
	id := e.createAndTrain("hbos", nil, shifted(600, 3, 0, 1))
	e.srv.Monitor().Gauge("abuse_gauge", "A gauge of the test.", func() float64 { return 1 })
	var wg sync.WaitGroup
	var failures atomic.Int64
	get := func(path string) {
		req, _ := http.NewRequest("GET", e.http.URL+path, nil)
		req.Header.Set("Authorization", "Bearer k")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			failures.Add(1)
			return
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !json.Valid(raw) {
			failures.Add(1)
			t.Errorf("GET %s: %d %.200q", path, resp.StatusCode, raw)
		}
	}
	for g := range 3 {
		wg.Go(func() {
			for i := range 20 {
				body, _ := json.Marshal(map[string]any{"detector_id": id, "data": shifted(20, 3, 3, uint64(g*100+i))})
				req, _ := http.NewRequest("POST", e.http.URL+"/api/v1/detection/predict", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer k")
				if resp, err := http.DefaultClient.Do(req); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		})
		wg.Go(func() {
			for range 20 {
				get("/api/performance/metrics")
			}
		})
		wg.Go(func() {
			for i := range 20 {
				get(fmt.Sprintf("/api/performance/alerts?limit=%d&offset=%d", 1+i, i%3))
			}
		})
	}
	wg.Wait()
	if failures.Load() > 0 {
		t.Fatalf("%d requests failed", failures.Load())
	}
	st := e.getStatus()
	if len(st.Models) != 1 || st.Models[0].Rows != 1200 {
		t.Errorf("after 60 predictions of 20 rows: %+v", st.Models)
	}
}

// No figure that is NaN or infinite makes the status a 500 or an empty 200 (JSON cannot hold
// them): a custom gauge that reads NaN or Inf, detectors trained on constant data (every
// training score tied) and scoring rows all alike or far away.
func TestMonitorAbuseNaNNeverBreaksTheStatus(t *testing.T) {
	e := newEnv(t, envOpts{cfg: func(c *Config) { c.Monitor.Every = 10 * time.Millisecond }})
	m := e.srv.Monitor()
	for name, v := range map[string]float64{"nan": math.NaN(), "inf": math.Inf(1), "neg_inf": math.Inf(-1), "fine": 2} {
		if err := m.Gauge("abuse_"+name, "A gauge of the test.", func() float64 { return v }); err != nil {
			t.Fatal(err)
		}
	}
	constant := make([][]float64, 600)
	for i := range constant {
		constant[i] = []float64{1, 1, 1}
	}
	far := make([][]float64, 600)
	for i := range far {
		far[i] = []float64{1e300, -1e300, 0}
	}
	trained := 0
	for _, alg := range []string{"ecod", "hbos", "isolation_forest", "knn", "local_outlier_factor", "one_class_svm"} {
		var d detectorView
		if st := e.do("POST", "/api/v1/detectors", map[string]any{"name": alg, "algorithm": alg}, &d); st != http.StatusCreated {
			t.Fatalf("create %s: %d", alg, st)
		}
		var eb errorBody
		st := e.do("POST", "/api/v1/detection/train", map[string]any{"detector_id": d.ID, "data": constant}, &eb)
		if st >= 500 {
			t.Fatalf("train %s on constant data: %d %+v", alg, st, eb)
		}
		if st != http.StatusOK {
			continue // refused as a 4xx: fine
		}
		trained++
		for _, data := range [][][]float64{constant, far, shifted(600, 3, 0, 5)} {
			var p predictResponse
			if st := e.do("POST", "/api/v1/detection/predict", map[string]any{"detector_id": d.ID, "data": data}, &p); st >= 500 {
				t.Fatalf("predict %s: %d", alg, st)
			}
		}
	}
	if trained == 0 {
		t.Fatal("no detector trains on constant data: the case is not tested")
	}
	t.Logf("%d of 6 algorithms train on constant data", trained)
	m.Evaluate(context.Background())
	// A condition of the library's user (Server.Monitor) measuring NaN against an infinity.
	m.Alerts().Evaluate(context.Background(), monitor.Condition{Key: "abuse/nan", Rule: "abuse", Firing: true,
		Severity: monitor.SeverityHigh, Title: "t", Metric: "m", Value: math.NaN(), Threshold: math.Inf(1)})
	st := e.getStatus()
	if len(st.Custom) != 1 || st.Custom["abuse_fine"] != 2 {
		t.Errorf("custom gauges %v: want the finite one alone", st.Custom)
	}
	if len(st.Models) != trained {
		t.Errorf("%d detectors trained, %d reported", trained, len(st.Models))
	}
	var body struct {
		Alerts []monitor.Alert    `json:"alerts"`
		Stats  monitor.AlertStats `json:"stats"`
	}
	if code := e.do("GET", "/api/performance/alerts?rule=abuse", nil, &body); code != 200 {
		t.Fatalf("alerts: %d", code)
	}
	found := false
	for _, a := range body.Alerts {
		found = found || a.Key == "abuse/nan"
	}
	if !found || body.Stats.StoreFailures != 0 {
		t.Errorf("the alert measuring NaN: listed %v, %d store failures", found, body.Stats.StoreFailures)
	}
}

// The alerts listing's paging at its extremes: the largest limit and offset are a 200 (empty
// past the end), anything past them a 400.
func TestMonitorAbuseAlertsPagingExtremes(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.srv.Monitor().Alerts().Evaluate(context.Background(), monitor.Condition{Key: "abuse/x", Rule: "abuse", Firing: true,
		Severity: monitor.SeverityHigh, Title: "t", Metric: "m", Value: 1})
	var body struct {
		Alerts []monitor.Alert `json:"alerts"`
	}
	for q, want := range map[string]int{
		"limit=10000": 1, "limit=1&offset=0": 1, "offset=1": 0, "offset=9223372036854775807": 0,
		"limit=10000&offset=9223372036854775807": 0, "since=0000-01-01T00:00:00Z": 1,
		"until=0000-01-01T00:00:00%2B23:59": 0, "since=9999-12-31T23:59:59.999999999-23:59": 0,
	} {
		body.Alerts = nil
		if code := e.do("GET", "/api/performance/alerts?"+q, nil, &body); code != 200 || len(body.Alerts) != want {
			t.Errorf("?%s: %d with %d alerts, want 200 with %d", q, code, len(body.Alerts), want)
		}
	}
	for _, q := range []string{"limit=10001", "limit=0", "offset=-1", "offset=9223372036854775808", "limit=1e3", "since=10000-01-01T00:00:00Z"} {
		var eb errorBody
		if code := e.do("GET", "/api/performance/alerts?"+q, nil, &eb); code != 400 || eb.Code != CodeBadRequest {
			t.Errorf("?%s: %d %+v, want 400", q, code, eb)
		}
	}
}

// Webhook receivers that never answer, answer 10 MB slowly, or redirect forever: predictions
// are not delayed, each event is given up within its attempts' timeouts, a 10 MB answer is not
// read (a 2xx is success at once), the redirect loop ends at the client's 10 redirects, and
// Close returns.
func TestMonitorAbuseHostileWebhookReceivers(t *testing.T) {
	stop := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-stop:
		case <-r.Context().Done():
		}
	}))
	defer hang.Close()
	var written atomic.Int64
	big := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := bytes.Repeat([]byte("x"), 64<<10)
		for range 160 { // 10 MB over 1.6 s
			n, err := w.Write(chunk)
			written.Add(int64(n))
			if err != nil {
				return
			}
			w.(http.Flusher).Flush()
			time.Sleep(10 * time.Millisecond)
		}
	}))
	defer big.Close()
	var redirects atomic.Int64
	loop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		redirects.Add(1)
		http.Redirect(w, r, r.URL.Path, http.StatusTemporaryRedirect) // 307 keeps the POST and its body
	}))
	defer loop.Close()
	defer close(stop)

	mk := func(u string, timeout time.Duration) *monitor.Webhook {
		wh, err := monitor.NewWebhook(monitor.WebhookOptions{URL: u, Timeout: timeout, Retries: 1, Backoff: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		return wh
	}
	hooks := []*monitor.Webhook{mk(hang.URL, 200*time.Millisecond), mk(big.URL, 5*time.Second), mk(loop.URL, 2*time.Second)}
	e := newEnv(t, envOpts{cfg: func(c *Config) {
		c.Monitor.Alerts.Notifiers = []monitor.Notifier{hooks[0], hooks[1], hooks[2]}
	}})
	id := e.createAndTrain("hbos", nil, shifted(500, 2, 0, 1))
	al := e.srv.Monitor().Alerts()
	start := time.Now()
	var slowest time.Duration
	for i := range 20 {
		al.Evaluate(context.Background(), monitor.Condition{Key: fmt.Sprintf("abuse/%d", i), Rule: "abuse", Firing: true,
			Severity: monitor.SeverityHigh, Title: "t", Metric: "m", Value: 1})
		t0 := time.Now()
		e.predictOK(id, shifted(5, 2, 0, uint64(i)))
		slowest = max(slowest, time.Since(t0))
	}
	if slowest > time.Second {
		t.Errorf("slowest prediction %v with hostile webhook receivers", slowest)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	for i, h := range hooks {
		if i == 0 {
			// 20 events of 2 attempts of 200 ms: 8 s to deliver them all; close early instead.
			short, c := context.WithTimeout(ctx, 300*time.Millisecond)
			h.Close(short)
			c()
			continue
		}
		if err := h.Close(ctx); err != nil {
			t.Errorf("webhook %d: %v", i, err)
		}
	}
	if took := time.Since(start); took > 8*time.Second {
		t.Errorf("closing the webhooks took %v", took)
	}
	if s := hooks[0].Stats(); s.Sent != 0 || s.Failed+s.Dropped != 20 {
		t.Errorf("hanging receiver: %+v; want the 20 events failed or dropped", s)
	}
	if s := hooks[1].Stats(); s.Sent != 20 {
		t.Errorf("10 MB receiver: %+v; want the 20 events sent", s)
	}
	if w := written.Load(); w > 20*(2<<20) {
		t.Errorf("the 10 MB receiver wrote %d MB for 20 events: its answers were read", w>>20)
	}
	if s := hooks[2].Stats(); s.Sent != 0 || s.Failed != 20 || s.Retried != 20 {
		t.Errorf("redirect loop: %+v; want 20 events failed after a retry each", s)
	}
	if n := redirects.Load(); n > 20*2*11 {
		t.Errorf("redirect loop followed %d times for 20 events of 2 attempts", n)
	}
}

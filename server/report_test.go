package server

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gonomaly/gonomaly/store"
)

// get sends GET path with the env's key and returns the answer's status, headers and body.
func (e *env) get(ctx context.Context, path string) (int, http.Header, []byte) {
	e.t.Helper()
	req, err := http.NewRequestWithContext(ctx, "GET", e.http.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	if e.key != "" {
		req.Header.Set("Authorization", "Bearer "+e.key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// seedReport stores an hour of the service's samples ending now, odd values among them, and
// a benchmark run whose document the report cannot read.
func seedReport(t *testing.T, st store.Store) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	var ss []store.Sample
	for i := range 60 {
		at := now.Add(-time.Duration(60-i) * time.Minute)
		v := 0.01 + float64(i)*1e-4
		if i == 30 {
			v = math.MaxFloat64
		}
		ss = append(ss,
			store.Sample{Time: at, Name: "operation_p99_seconds", Value: v, Labels: map[string]string{"operation": "service"}},
			store.Sample{Time: at, Name: "operation_throughput", Value: 50, Labels: map[string]string{"operation": "service"}},
			store.Sample{Time: at, Name: "process_rss_bytes", Value: 80e6 + float64(i)*1e5})
	}
	if err := st.AddSamples(ctx, ss...); err != nil {
		t.Fatal(err)
	}
	for _, doc := range []string{`{"kind":"benchmark","cells":"not a list"}`, `{"kind":"benchmark","cells":[{"id":"x","total_seconds":{"median":-1e308}}]}`, `[]`} {
		if err := st.CreateBenchmarkRun(ctx, &store.BenchmarkRun{Kind: store.KindBenchmark, Name: "odd", Document: json.RawMessage(doc)}); err != nil {
			t.Fatal(err)
		}
	}
}

// GET /performance/report gives the report model as JSON and as an HTML page with charts,
// behind the key, over odd stored data.
func TestPerformanceReport(t *testing.T) {
	e := newEnv(t, envOpts{key: "k"})
	seedReport(t, e.st)
	ctx := context.Background()

	st, h, body := e.get(ctx, "/performance/report?period=24h&format=json")
	if st != 200 {
		t.Fatalf("json: status %d: %s", st, body)
	}
	if ct := h.Get("Content-Type"); ct != "application/json" {
		t.Errorf("json: Content-Type %q", ct)
	}
	if cd := h.Get("Content-Disposition"); !strings.Contains(cd, `filename="gonomaly-report-`) || !strings.HasSuffix(cd, `.json"`) {
		t.Errorf("json: Content-Disposition %q", cd)
	}
	var rep struct {
		Kind    string `json:"kind"`
		Version int    `json:"version"`
		Period  struct {
			Since, Until time.Time
		} `json:"period"`
		Series  []json.RawMessage `json:"series"`
		Skipped []json.RawMessage `json:"skipped_documents"`
	}
	if err := json.Unmarshal(body, &rep); err != nil {
		t.Fatalf("json: %v: %.200s", err, body)
	}
	if rep.Kind != "report" || rep.Version != 1 || len(rep.Series) == 0 || len(rep.Skipped) == 0 {
		t.Errorf("json: kind %q, version %d, %d series, %d skipped documents", rep.Kind, rep.Version, len(rep.Series), len(rep.Skipped))
	}
	if d := rep.Period.Until.Sub(rep.Period.Since); d != 24*time.Hour {
		t.Errorf("json: period of %v", d)
	}

	st, h, body = e.get(ctx, "/performance/report?since="+time.Now().Add(-2*time.Hour).UTC().Format(time.RFC3339)+"&format=html")
	if st != 200 {
		t.Fatalf("html: status %d: %s", st, body)
	}
	if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("html: Content-Type %q", ct)
	}
	if !strings.Contains(string(body), "<svg") {
		t.Errorf("html: no <svg> in %d bytes", len(body))
	}
	st, h, body = e.get(ctx, "/performance/report?period=1d&format=pdf")
	if st != 200 || h.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(h.Get("Content-Disposition"), "attachment;") ||
		!strings.HasPrefix(string(body), "%PDF-") {
		t.Errorf("pdf: status %d, Content-Type %q, Content-Disposition %q, %d bytes starting %.8q", st, h.Get("Content-Type"), h.Get("Content-Disposition"), len(body), body)
	}
	if st, _, _ := e.get(ctx, "/performance/report"); st != 200 {
		t.Errorf("no parameters (7d, html): status %d", st)
	}

	req, _ := http.NewRequest("GET", e.http.URL+"/performance/report?format=json", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("without the key: %d", resp.StatusCode)
	}
}

// Bad periods and formats are 400 bad_request, with a message naming the parameter.
func TestPerformanceReportBadParams(t *testing.T) {
	e := newEnv(t, envOpts{key: "k"})
	now := time.Now().UTC()
	for _, q := range []string{
		"format=xml", "format=PDF%20", "period=0d", "period=91d", "period=-1h", "period=week", "period=2400h", "period=14w",
		"since=yesterday", "until=2026-13-01T00:00:00Z",
		"since=" + now.Format(time.RFC3339) + "&until=" + now.Add(-time.Hour).Format(time.RFC3339),
		"since=" + now.Add(-100*24*time.Hour).Format(time.RFC3339),
		"period=7d&since=" + now.Add(-time.Hour).Format(time.RFC3339),
		"period=%zz",
	} {
		var body errorBody
		st := e.do("GET", "/performance/report?"+q, nil, &body)
		if st != 400 || body.Code != CodeBadRequest || body.Error == "" {
			t.Errorf("%s: status %d, %+v", q, st, body)
		}
	}
}

// A client that goes away ends the report's reading; the server stays up.
func TestPerformanceReportCancelled(t *testing.T) {
	e := newEnv(t, envOpts{key: "k"})
	seedReport(t, e.st)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.http.URL+"/performance/report?format=json", nil)
	req.Header.Set("Authorization", "Bearer k")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Errorf("a cancelled request was answered %d", resp.StatusCode)
	}
	if st, _, _ := e.get(context.Background(), "/performance/report?format=json&period=1h"); st != 200 {
		t.Errorf("after a cancelled request: %d", st)
	}
}

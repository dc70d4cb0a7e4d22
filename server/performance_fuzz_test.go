package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gonomaly/gonomaly/monitor"
	"github.com/gonomaly/gonomaly/store"
)

// FuzzPerformanceAlertsQuery sends GET /api/performance/alerts with arbitrary query strings
// to a service holding active and resolved alerts: every answer is 200 with the alerts and
// their stats, or 400 with a JSON error, never a 5xx or a panic.
func FuzzPerformanceAlertsQuery(f *testing.F) {
	e := newEnv(f, envOpts{})
	ctx := context.Background()
	al := e.srv.Monitor().Alerts()
	for i, sev := range []monitor.Severity{monitor.SeverityHigh, monitor.SeverityCritical, monitor.SeverityMedium} {
		key := "fuzz/" + sev.String()
		al.Evaluate(ctx, monitor.Condition{Key: key, Rule: "fuzz", Firing: true, Severity: sev, Title: "t", Metric: "m",
			Value: float64(i), Time: time.Now().Add(-time.Duration(i) * time.Hour)})
		if i == 2 {
			al.Evaluate(ctx, monitor.Condition{Key: key, Rule: "fuzz", Time: time.Now()}) // resolved
		}
	}
	if all, err := al.List(ctx, store.AlertFilter{}); err != nil || len(all) != 3 {
		f.Fatalf("alerts stored: %d, %v; want 3", len(all), err)
	}
	f.Add("severity=high&active=true&limit=1")
	h := e.srv.Handler()
	f.Fuzz(func(t *testing.T, q string) {
		req := httptest.NewRequest("GET", "/api/performance/alerts", nil)
		req.URL.RawQuery = q // any bytes, as a client may send them
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK:
			var body struct {
				Alerts []monitor.Alert     `json:"alerts"`
				Stats  *monitor.AlertStats `json:"stats"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Alerts == nil || body.Stats == nil || len(body.Alerts) > 3 {
				t.Fatalf("?%s: 200 with body %q (%v)", q, rec.Body.Bytes(), err)
			}
		case http.StatusBadRequest:
			var eb errorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &eb); err != nil || eb.Code != CodeBadRequest || eb.Error == "" || len(eb.Error) > maxErrorText {
				t.Fatalf("?%s: 400 with body %q: not a JSON error", q, rec.Body.Bytes())
			}
		default:
			t.Fatalf("?%s: status %d: %s", q, rec.Code, rec.Body.Bytes())
		}
	})
}

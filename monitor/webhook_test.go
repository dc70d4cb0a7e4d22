package monitor

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// receiver is a webhook endpoint that records what it is sent.
type receiver struct {
	mu       sync.Mutex
	payloads []WebhookPayload
	keys     []string // Idempotency-Key of every request, retries included
	headers  []http.Header
	attempts map[string]int // requests by Idempotency-Key
}

// serve starts a receiver that answers as respond says (nil: 200); it keeps the payloads
// it answers with a 2xx.
func serve(t testing.TB, respond func(attempt int, w http.ResponseWriter, r *http.Request)) (*receiver, *httptest.Server) {
	t.Helper()
	rc := &receiver{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		var p WebhookPayload
		if err := json.NewDecoder(r.Body).Decode(&p); err != nil || r.Method != http.MethodPost {
			http.Error(w, fmt.Sprint("bad request: ", r.Method, err), http.StatusBadRequest)
			return
		}
		key := r.Header.Get("Idempotency-Key")
		rc.mu.Lock()
		if rc.attempts == nil {
			rc.attempts = map[string]int{}
		}
		rc.attempts[key]++
		attempt := rc.attempts[key]
		rc.keys = append(rc.keys, key)
		rc.headers = append(rc.headers, r.Header.Clone())
		rc.mu.Unlock()
		if respond != nil {
			respond(attempt, sw, r)
		}
		if sw.code/100 == 2 {
			rc.mu.Lock()
			rc.payloads = append(rc.payloads, p)
			rc.mu.Unlock()
		}
	}))
	t.Cleanup(srv.Close)
	return rc, srv
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

func (rc *receiver) accepted() []WebhookPayload {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.payloads)
}

func (rc *receiver) requests() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.keys)
}

func event(i int, status string) Event {
	return Event{Status: status, Alert: Alert{ID: fmt.Sprintf("alert-%03d", i), Key: fmt.Sprint("k/", i), Rule: "k",
		Severity: SeverityHigh, Title: "t", Description: "d", Metric: "m", Value: 2, Threshold: 1,
		Actions: []string{"a"}, Labels: map[string]string{"l": "v"}, StartsAt: time.Unix(1_800_000_000, 0).UTC(), Notifications: 1}}
}

// noLeak fails t unless the goroutines come back to before within a few seconds.
func noLeak(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func closeWebhook(t *testing.T, w *Webhook, within time.Duration) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	return w.Close(ctx)
}

// Every event reaches the receiver once, in order, as the documented payload.
func TestWebhookDeliversEachOnce(t *testing.T) {
	rc, srv := serve(t, nil)
	before := runtime.NumGoroutine() // the server's, with no connection yet
	w, err := NewWebhook(WebhookOptions{URL: srv.URL + "/hook?token=x", Headers: map[string]string{"Authorization": "Bearer s"}})
	if err != nil {
		t.Fatal(err)
	}
	const n = 50
	for i := range n {
		status := EventFiring
		if i%5 == 4 {
			status = EventResolved
		}
		w.Notify(context.Background(), event(i, status))
	}
	if err := closeWebhook(t, w, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	got := rc.accepted()
	if len(got) != n || rc.requests() != n {
		t.Fatalf("%d payloads accepted of %d requests, want %d", len(got), rc.requests(), n)
	}
	for i, p := range got {
		want := event(i, EventFiring)
		if i%5 == 4 {
			want.Status = EventResolved
		}
		if p.Version != "1" || p.Status != want.Status || p.Event != want.Status || len(p.Alerts) != 1 ||
			p.Alerts[0].Status != want.Status || p.Alerts[0].ID != want.Alert.ID || p.Alerts[0].Severity != SeverityHigh ||
			p.Alerts[0].Labels["l"] != "v" || !p.Alerts[0].StartsAt.Equal(want.Alert.StartsAt) {
			t.Fatalf("payload %d: %+v, want %+v", i, p, want)
		}
	}
	rc.mu.Lock()
	h := rc.headers[0]
	rc.mu.Unlock()
	if h.Get("Content-Type") != "application/json" || h.Get("Authorization") != "Bearer s" ||
		h.Get("Idempotency-Key") != "alert-000:firing:1" {
		t.Errorf("headers %v", h)
	}
	if s := w.Stats(); s != (WebhookStats{Sent: n}) {
		t.Errorf("stats %+v", s)
	}
	w.Notify(context.Background(), event(n, EventFiring))
	if s := w.Stats(); s.Dropped != 1 {
		t.Errorf("after Close, Notify was not dropped: %+v", s)
	}
	noLeak(t, before) // Close closed the client's connections, with the server still up
}

// The payload's JSON: snake_case names, a repeat sent as Alertmanager's "firing".
func TestWebhookPayloadJSON(t *testing.T) {
	e := event(1, EventRepeat)
	b, err := json.Marshal(webhookPayload(e))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"version":"1"`, `"status":"firing"`, `"event":"repeat"`, `"alerts":[{"status":"firing","id":"alert-001"`,
		`"severity":"high"`, `"starts_at":"2027-01-15T08:00:00Z"`, `"notifications":1`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("payload %s lacks %s", b, want)
		}
	}
	if strings.Contains(string(b), "resolved_at") || strings.Contains(string(b), "last_notified") {
		t.Errorf("payload %s has zero times", b)
	}
}

// 5xx, 408 and 429 are retried (with the same Idempotency-Key) up to Retries times, then
// given up; another 4xx is not retried.
func TestWebhookRetries(t *testing.T) {
	for _, c := range []struct {
		name     string
		status   func(attempt int) int
		requests int
		want     WebhookStats
	}{
		{"500 twice, then 200", func(a int) int { return map[bool]int{true: 500, false: 200}[a <= 2] }, 3, WebhookStats{Sent: 1, Retried: 2}},
		{"always 500", func(int) int { return 500 }, 4, WebhookStats{Failed: 1, Retried: 3}},
		{"429, then 200", func(a int) int { return map[bool]int{true: 429, false: 200}[a == 1] }, 2, WebhookStats{Sent: 1, Retried: 1}},
		{"408, then 200", func(a int) int { return map[bool]int{true: 408, false: 200}[a == 1] }, 2, WebhookStats{Sent: 1, Retried: 1}},
		{"400", func(int) int { return 400 }, 1, WebhookStats{Failed: 1}},
		{"404", func(int) int { return 404 }, 1, WebhookStats{Failed: 1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			rc, srv := serve(t, func(attempt int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(c.status(attempt)) })
			w, err := NewWebhook(WebhookOptions{URL: srv.URL, Backoff: time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			w.Notify(context.Background(), event(1, EventFiring))
			if err := closeWebhook(t, w, 10*time.Second); err != nil {
				t.Fatal(err)
			}
			if rc.requests() != c.requests || w.Stats() != c.want {
				t.Errorf("%d requests, stats %+v; want %d, %+v", rc.requests(), w.Stats(), c.requests, c.want)
			}
			rc.mu.Lock()
			defer rc.mu.Unlock()
			for _, k := range rc.keys {
				if k != "alert-001:firing:1" {
					t.Errorf("Idempotency-Key %q", k)
				}
			}
		})
	}
}

// The backoff grows exponentially: with a base of 20 ms, three retries wait at least
// 10 + 20 + 40 ms (half of each step, the jitter's least), at most 20 + 40 + 80 ms.
func TestWebhookBackoff(t *testing.T) {
	var mu sync.Mutex
	var at []time.Time
	_, srv := serve(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		at = append(at, time.Now())
		mu.Unlock()
		w.WriteHeader(503)
	})
	w, err := NewWebhook(WebhookOptions{URL: srv.URL, Backoff: 20 * time.Millisecond, Retries: 3})
	if err != nil {
		t.Fatal(err)
	}
	w.Notify(context.Background(), event(1, EventFiring))
	if err := closeWebhook(t, w, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(at) != 4 {
		t.Fatalf("%d attempts, want 4", len(at))
	}
	for i := 1; i < 4; i++ {
		step := 20 * time.Millisecond << (i - 1)
		if gap := at[i].Sub(at[i-1]); gap < step/2 || gap > step+time.Second {
			t.Errorf("wait before retry %d: %v, want %v to %v", i, gap, step/2, step)
		}
	}
}

// A receiver that does not answer for 10 s, or fails, delays neither Notify nor Evaluate;
// Close gives up at its deadline and leaves no goroutine behind.
func TestWebhookNeverBlocks(t *testing.T) {
	before := runtime.NumGoroutine()
	for _, c := range []struct {
		name    string
		respond func(int, http.ResponseWriter, *http.Request)
	}{
		{"sleeps 10 s", func(_ int, _ http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		}},
		{"answers 500", func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(500) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			rc, srv := serve(t, c.respond)
			w, err := NewWebhook(WebhookOptions{URL: srv.URL, Timeout: 10 * time.Second, Retries: 3, Backoff: time.Second, QueueSize: 100})
			if err != nil {
				t.Fatal(err)
			}
			a := NewAlerts(AlertOptions{Notifiers: []Notifier{w}, Cooldown: -1})
			var slowest time.Duration
			for i := range 200 {
				start := time.Now()
				a.Evaluate(context.Background(), cond(fmt.Sprint("k/", i%10), i%20 < 10, SeverityHigh))
				w.Notify(context.Background(), event(i, EventFiring))
				slowest = max(slowest, time.Since(start))
			}
			if slowest > 500*time.Millisecond { // the receiver takes 10 s; a loaded machine under -race takes tens of ms
				t.Errorf("the slowest Evaluate and Notify took %v", slowest)
			}
			waitUntil(t, "the first request", func() bool { return rc.requests() > 0 })
			start := time.Now()
			err = closeWebhook(t, w, 100*time.Millisecond)
			if d := time.Since(start); err == nil || d > 2*time.Second {
				t.Errorf("Close took %v and returned %v; want its deadline's error", d, err)
			}
			if s := w.Stats(); s.Sent != 0 || s.Dropped == 0 || s.Queued != 0 {
				t.Errorf("stats %+v", s)
			}
			srv.Close()
		})
	}
	noLeak(t, before)
}

// The queue holds QueueSize events: when it is full the oldest is dropped and counted, and
// the newest are delivered.
func TestWebhookQueueBound(t *testing.T) {
	release := make(chan struct{})
	rc, srv := serve(t, func(attempt int, _ http.ResponseWriter, _ *http.Request) { <-release })
	w, err := NewWebhook(WebhookOptions{URL: srv.URL, QueueSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	w.Notify(context.Background(), event(0, EventFiring))
	waitUntil(t, "the first request", func() bool { return rc.requests() == 1 })
	for i := 1; i <= 10; i++ {
		w.Notify(context.Background(), event(i, EventFiring))
	}
	if s := w.Stats(); s.Dropped != 7 || s.Queued != 3 {
		t.Errorf("stats with the receiver held: %+v", s)
	}
	close(release)
	if err := closeWebhook(t, w, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, p := range rc.accepted() {
		ids = append(ids, p.Alerts[0].ID)
	}
	if want := []string{"alert-000", "alert-008", "alert-009", "alert-010"}; !slices.Equal(ids, want) {
		t.Errorf("delivered %v, want %v", ids, want)
	}
	if s := w.Stats(); s.Sent != 4 || s.Dropped != 7 {
		t.Errorf("stats %+v", s)
	}
}

func TestNewWebhookRefuses(t *testing.T) {
	for _, u := range []string{"", "example.com/hook", "ftp://example.com/", "http://", "://x"} {
		if w, err := NewWebhook(WebhookOptions{URL: u}); err == nil {
			w.Close(context.Background())
			t.Errorf("NewWebhook(%q) succeeded", u)
		}
	}
}

// BenchmarkWebhookNotify: the cost Notify adds to an evaluation.
func BenchmarkWebhookNotify(b *testing.B) {
	_, srv := serve(b, nil)
	w, err := NewWebhook(WebhookOptions{URL: srv.URL, QueueSize: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close(context.Background())
	e := event(1, EventFiring)
	b.ReportAllocs()
	for b.Loop() {
		w.Notify(context.Background(), e)
	}
}

package monitor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// WebhookOptions configure a Webhook. Only URL is required.
type WebhookOptions struct {
	URL string // http or https
	// Timeout bounds each attempt, connection and response included (default 5 s).
	Timeout time.Duration
	// Retries is how many times a failed delivery is tried again (default 3; negative:
	// none), after an exponential backoff with jitter from Backoff (default 500 ms): the
	// n-th retry waits between half and all of Backoff·2^(n-1), or the receiver's
	// Retry-After when it asks for longer (up to a minute).
	Retries int
	Backoff time.Duration
	// QueueSize bounds the events waiting for delivery (default 1000); when it is full,
	// the oldest is dropped and counted.
	QueueSize int
	// Headers are added to every request (an Authorization header, for example).
	Headers map[string]string
	// Client sends the requests (default: a client of the Webhook's own, whose idle
	// connections Close closes).
	Client *http.Client
	// Logger receives failed deliveries (default: none).
	Logger *slog.Logger
}

// Webhook is a Notifier that POSTs each event, as JSON, to a URL. Notify queues the event
// and returns at once; one goroutine of the Webhook delivers the queue in order, until
// Close. A receiver that is slow, fails or does not answer delays nothing but the queue,
// which is bounded.
//
// Each request carries one event:
//
//	POST <URL>
//	Content-Type: application/json
//	Idempotency-Key: <alert id>:<event>:<notifications>   (the same for every retry)
//
//	{
//	  "version": "1",
//	  "status": "firing",       // Alertmanager's: firing (new or repeated) or resolved
//	  "event": "repeat",        // ours: firing, repeat or resolved
//	  "alerts": [{              // always one alert; a list for Alertmanager-like receivers
//	    "status": "firing",
//	    "id": "0194...", "key": "latency/POST /api/v1/detection/predict", "rule": "latency",
//	    "severity": "critical", "title": "...", "description": "...",
//	    "metric": "latency_p99_seconds", "value": 1.8, "threshold": 1,
//	    "actions": ["..."], "labels": {"operation": "POST /api/v1/detection/predict"},
//	    "starts_at": "2026-08-01T10:00:00Z", "resolved_at": "...",   // when resolved
//	    "last_notified": "...", "notifications": 2
//	  }]
//	}
//
// A 2xx response is success. 408, 429, 5xx, a timeout or a transport error is retried;
// any other status is not (the receiver refuses the request, and will again).
type Webhook struct {
	opts      WebhookOptions
	where     string // the URL without credentials or query, for logs and errors
	client    *http.Client
	ownClient bool

	mu     sync.Mutex
	queue  []Event
	closed bool

	wake   chan struct{} // an event was queued (capacity 1)
	stop   chan struct{} // closed by Close: deliver the queue, then return
	done   chan struct{} // closed when the goroutine returns
	ctx    context.Context
	cancel context.CancelFunc // ends the delivery in flight (Close's deadline)

	sent, failed, dropped, retried atomic.Int64
	abandoned                      atomic.Int64 // events Close's deadline cut off
}

// WebhookStats count a Webhook's deliveries (for metrics).
type WebhookStats struct {
	Sent    int64 `json:"sent"`    // events the receiver accepted
	Failed  int64 `json:"failed"`  // events given up, after their retries or at a refusal
	Dropped int64 `json:"dropped"` // events dropped from a full queue, or queued after or left at Close
	Retried int64 `json:"retried"` // attempts after an event's first
	Queued  int   `json:"queued"`  // events waiting now
}

// NewWebhook checks opts and starts the Webhook's goroutine; stop it with Close.
func NewWebhook(opts WebhookOptions) (*Webhook, error) {
	u, err := url.Parse(opts.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("monitor: webhook: URL %.80q: want an http or https URL with a host", opts.URL)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	switch {
	case opts.Retries == 0:
		opts.Retries = 3
	case opts.Retries < 0:
		opts.Retries = 0
	}
	if opts.Backoff <= 0 {
		opts.Backoff = 500 * time.Millisecond
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = 1000
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	w := &Webhook{
		opts:   opts,
		where:  u.Scheme + "://" + u.Host + u.Path,
		client: opts.Client,
		wake:   make(chan struct{}, 1),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	if w.client == nil {
		w.client = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
		w.ownClient = true
	}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	go w.run()
	return w, nil
}

// Notify queues e for delivery and returns at once. When the queue is full, the oldest
// event waiting is dropped; after Close, e is.
func (w *Webhook) Notify(_ context.Context, e Event) {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		w.dropped.Add(1)
		return
	}
	if len(w.queue) == w.opts.QueueSize {
		w.queue[0] = Event{}
		w.queue = w.queue[1:]
		w.dropped.Add(1)
	}
	w.queue = append(w.queue, e)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default: // the goroutine is awake already
	}
}

func (w *Webhook) pop() (Event, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.queue) == 0 {
		w.queue = nil // let a grown backing array go
		return Event{}, false
	}
	e := w.queue[0]
	w.queue[0] = Event{}
	w.queue = w.queue[1:]
	return e, true
}

func (w *Webhook) run() {
	defer close(w.done)
	for {
		if e, ok := w.pop(); ok {
			if w.ctx.Err() != nil { // Close gave up waiting: what is left is dropped
				w.dropped.Add(1)
				w.abandoned.Add(1)
				continue
			}
			w.deliver(e)
			continue
		}
		select {
		case <-w.wake:
		case <-w.stop:
			w.mu.Lock()
			empty := len(w.queue) == 0 // nothing is queued after Close
			w.mu.Unlock()
			if empty {
				return
			}
		}
	}
}

// WebhookPayload is the body of a Webhook's request (see Webhook).
type WebhookPayload struct {
	Version string         `json:"version"` // "1"
	Status  string         `json:"status"`  // "firing" or "resolved"
	Event   string         `json:"event"`   // EventFiring, EventRepeat or EventResolved
	Alerts  []WebhookAlert `json:"alerts"`
}

// WebhookAlert is an alert in a WebhookPayload: its status beside its fields.
type WebhookAlert struct {
	Status string `json:"status"` // "firing" or "resolved"
	Alert
}

func webhookPayload(e Event) WebhookPayload {
	status := EventFiring
	if e.Status == EventResolved {
		status = EventResolved
	}
	return WebhookPayload{Version: "1", Status: status, Event: e.Status, Alerts: []WebhookAlert{{Status: status, Alert: e.Alert}}}
}

// deliver sends e, retrying as the options say, and counts the outcome.
func (w *Webhook) deliver(e Event) {
	body, err := json.Marshal(webhookPayload(e))
	if err != nil {
		w.failed.Add(1)
		w.opts.Logger.Warn("monitor: webhook: cannot encode the alert", "url", w.where, "alert", e.Alert.ID, "err", err)
		return
	}
	key := e.Alert.ID + ":" + e.Status + ":" + strconv.Itoa(e.Alert.Notifications)
	for attempt := 0; ; attempt++ {
		status, retryAfter, err := w.post(body, key)
		if err == nil && status >= 200 && status < 300 {
			w.sent.Add(1)
			return
		}
		retry := err != nil || status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500
		if !retry || attempt == w.opts.Retries || w.ctx.Err() != nil {
			w.failed.Add(1)
			if w.ctx.Err() != nil {
				w.abandoned.Add(1)
			}
			if err == nil {
				err = fmt.Errorf("status %d", status)
			}
			w.opts.Logger.Warn("monitor: webhook: delivery failed", "url", w.where, "alert", e.Alert.ID,
				"event", e.Status, "attempts", attempt+1, "err", err)
			return
		}
		w.retried.Add(1)
		d := w.opts.Backoff << attempt
		d = d/2 + rand.N(d/2+1)
		d = max(d, retryAfter)
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-w.ctx.Done():
			t.Stop()
		}
	}
}

// maxRetryAfter caps the wait a receiver's Retry-After can ask for.
const maxRetryAfter = time.Minute

// post makes one attempt: the response's status and the Retry-After it asks for (0 when
// none), or the error that kept it from having one.
func (w *Webhook) post(body []byte, key string) (int, time.Duration, error) {
	ctx, cancel := context.WithTimeout(w.ctx, w.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.opts.URL, bytes.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	for k, v := range w.opts.Headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	resp, err := w.client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // so the connection can be reused
	resp.Body.Close()
	var retryAfter time.Duration
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		retryAfter = min(time.Duration(s)*time.Second, maxRetryAfter)
	}
	return resp.StatusCode, retryAfter, nil
}

// Close stops taking events, delivers the queue until ctx ends, then stops the goroutine
// (ending the delivery in flight and dropping what is left) and closes the idle
// connections of its own client. It returns ctx's error when events were left undelivered.
// Calls after the first wait for the goroutine and return nil.
func (w *Webhook) Close(ctx context.Context) error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		<-w.done
		return nil
	}
	w.closed = true
	w.mu.Unlock()
	close(w.stop)
	var err error
	select {
	case <-w.done:
	case <-ctx.Done():
		w.cancel()
		<-w.done
		if n := w.abandoned.Load(); n > 0 {
			err = fmt.Errorf("monitor: webhook %s: close: %d events left undelivered: %w", w.where, n, ctx.Err())
		}
	}
	w.cancel()
	if w.ownClient {
		w.client.CloseIdleConnections()
	}
	return err
}

// Stats returns the Webhook's counts.
func (w *Webhook) Stats() WebhookStats {
	w.mu.Lock()
	queued := len(w.queue)
	w.mu.Unlock()
	return WebhookStats{Sent: w.sent.Load(), Failed: w.failed.Load(), Dropped: w.dropped.Load(),
		Retried: w.retried.Load(), Queued: queued}
}

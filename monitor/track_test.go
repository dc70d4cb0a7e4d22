package monitor

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// clock is a settable time for the tracker's window.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func within(got, want time.Duration) bool {
	return got >= want-want/500-time.Microsecond && got <= want+want/500+time.Microsecond // 3 significant digits
}

func TestTrackerSummaries(t *testing.T) {
	c := &clock{t: time.Unix(1_000_000, 0)}
	tr := NewTracker(TrackerOptions{Window: time.Minute, now: c.now})
	for i := 1; i <= 100; i++ {
		var err error
		if i%10 == 0 {
			err = errors.New("boom")
		}
		tr.Record("predict", time.Duration(i)*time.Millisecond, 3, err)
	}
	tr.Record("train", 2*time.Second, 1000, nil)
	got := tr.Summaries()
	if len(got) != 2 || got[0].Name != "predict" || got[1].Name != "train" {
		t.Fatalf("summaries %+v", got)
	}
	p := got[0]
	if p.Count != 100 || p.Errors != 10 || p.ErrorRate != 0.1 || p.Rows != 300 || p.PerSecond != 100.0/60 {
		t.Errorf("counts %+v", p)
	}
	for _, c := range []struct {
		name      string
		got, want time.Duration
	}{{"p50", p.P50, 50 * time.Millisecond}, {"p95", p.P95, 95 * time.Millisecond}, {"p99", p.P99, 99 * time.Millisecond},
		{"max", p.Max, 100 * time.Millisecond}, {"mean", p.Mean, 50500 * time.Microsecond}} {
		if !within(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

// The window slides: what is older than Window leaves the summaries, slot by slot.
func TestTrackerWindowSlides(t *testing.T) {
	c := &clock{t: time.Unix(1_000_000, 0)}
	tr := NewTracker(TrackerOptions{Window: time.Minute, now: c.now})
	tr.Record("op", time.Millisecond, 1, nil)
	c.add(30 * time.Second)
	tr.Record("op", time.Millisecond, 1, nil)
	if s := tr.Summaries(); len(s) != 1 || s[0].Count != 2 {
		t.Fatalf("after 30 s: %+v", s)
	}
	c.add(40 * time.Second) // the first is 70 s old, the second 40 s
	if s := tr.Summaries(); len(s) != 1 || s[0].Count != 1 {
		t.Fatalf("after 70 s: %+v", s)
	}
	c.add(time.Minute)
	if s := tr.Summaries(); len(s) != 0 {
		t.Fatalf("after 130 s: %+v, want nothing", s)
	}
	// An old slot is reused, not added to.
	tr.Record("op", time.Millisecond, 1, nil)
	if s := tr.Summaries(); len(s) != 1 || s[0].Count != 1 {
		t.Fatalf("a new record in a reused slot: %+v", s)
	}
}

type recordingHook struct {
	mu     sync.Mutex
	starts []string
	ends   []Result
}

func (h *recordingHook) Start(_ context.Context, op string) {
	h.mu.Lock()
	h.starts = append(h.starts, op)
	h.mu.Unlock()
}

func (h *recordingHook) End(_ context.Context, r Result) {
	h.mu.Lock()
	h.ends = append(h.ends, r)
	h.mu.Unlock()
}

func TestTrackCallsHooks(t *testing.T) {
	h := &recordingHook{}
	tr := NewTracker(TrackerOptions{Hooks: []Hook{h}})
	done := tr.Track(context.Background(), "detect", 42)
	time.Sleep(2 * time.Millisecond)
	done(nil)
	tr.Track(context.Background(), "detect", 1)(errors.New("bad"))
	if len(h.starts) != 2 || len(h.ends) != 2 || h.ends[0].Rows != 42 || h.ends[0].Duration < 2*time.Millisecond || h.ends[1].Err == nil {
		t.Fatalf("hooks saw starts %v, ends %+v", h.starts, h.ends)
	}
	if s := tr.Summaries(); len(s) != 1 || s[0].Count != 2 || s[0].Errors != 1 || s[0].Rows != 43 {
		t.Fatalf("summary %+v", s)
	}
}

// The middleware names requests by the route the mux matched; 5xx answers count as errors.
func TestMiddleware(t *testing.T) {
	tr := NewTracker(TrackerOptions{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ok/{id}", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(200) })
	mux.HandleFunc("GET /fail", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(503) })
	srv := httptest.NewServer(tr.Middleware(mux, nil))
	defer srv.Close()
	for _, p := range []string{"/ok/1", "/ok/2", "/fail", "/nothing"} {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	byName := map[string]OpSummary{}
	for _, s := range tr.Summaries() {
		byName[s.Name] = s
	}
	if byName["GET /ok/{id}"].Count != 2 || byName["GET /fail"].Errors != 1 || byName["unmatched"].Count != 1 {
		t.Fatalf("summaries %+v", byName)
	}
}

func TestTrackerConcurrent(t *testing.T) {
	tr := NewTracker(TrackerOptions{})
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				tr.Record([]string{"a", "b"}[(w+i)%2], time.Duration(i)*time.Microsecond, 1, nil)
				if i%100 == 0 {
					tr.Summaries()
				}
			}
		}()
	}
	wg.Wait()
	var n int64
	for _, s := range tr.Summaries() {
		n += s.Count
	}
	if n != 8000 {
		t.Fatalf("%d operations counted, want 8000", n)
	}
}

// BenchmarkTrack is the cost of timing one operation (the request path pays it once).
func BenchmarkTrack(b *testing.B) {
	tr := NewTracker(TrackerOptions{})
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			tr.Track(ctx, "predict", 1)(nil)
		}
	})
}

func TestTrackerOverall(t *testing.T) {
	c := &clock{t: time.Unix(1_000_000, 0)}
	tr := NewTracker(TrackerOptions{Window: time.Minute, now: c.now})
	for i := 1; i <= 50; i++ {
		tr.Record("GET /a", time.Duration(i)*time.Millisecond, 1, nil)
		tr.Record("POST /b", time.Duration(50+i)*time.Millisecond, 2, errors.New("x"))
	}
	tr.Record("job", time.Hour, 0, nil)
	all := tr.Overall("api", func(op string) bool { return op != "job" })
	if all.Name != "api" || all.Count != 100 || all.Errors != 50 || all.Rows != 150 || !within(all.P50, 50*time.Millisecond) || !within(all.Max, 100*time.Millisecond) {
		t.Errorf("overall %+v", all)
	}
	if n := tr.Overall("all", nil).Count; n != 101 {
		t.Errorf("overall of everything counts %d", n)
	}
	c.add(2 * time.Minute)
	if n := tr.Overall("all", nil).Count; n != 0 {
		t.Errorf("after the window: %d", n)
	}
}

// BenchmarkTrackerAdd is the service's per-request cost: one finished request added to its
// route's window, from every core at once.
func BenchmarkTrackerAdd(b *testing.B) {
	tr := NewTracker(TrackerOptions{})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			tr.Add(Result{Op: "POST /api/v1/detection/predict", Duration: 300 * time.Microsecond, Rows: 1})
		}
	})
}

package monitor

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/gonomaly/gonomaly/internal/sysstat"
)

// Result is one finished operation, as hooks see it.
type Result struct {
	Op       string
	Duration time.Duration
	Rows     int
	// Alloc is the heap the process allocated while the operation ran (its memory growth);
	// Track measures it, the HTTP middleware does not (0). Operations running at the same
	// time share the process's count, so under concurrency it is an upper bound.
	Alloc int64
	Err   error
}

// Hook is told when an operation starts and ends (the seed's plugins). Hooks run on the
// operation's goroutine and must return quickly.
type Hook interface {
	Start(ctx context.Context, op string)
	End(ctx context.Context, r Result)
}

// OpSummary is what a Tracker knows of one operation over its window.
type OpSummary struct {
	Name      string        `json:"name"`
	Count     int64         `json:"count"`
	Errors    int64         `json:"errors"`
	ErrorRate float64       `json:"error_rate"` // errors / count
	Rows      int64         `json:"rows"`       // rows the operations handled
	PerSecond float64       `json:"throughput"` // operations a second over the window
	Mean      time.Duration `json:"mean_ns"`    // nanoseconds in JSON
	P50       time.Duration `json:"p50_ns"`
	P95       time.Duration `json:"p95_ns"`
	P99       time.Duration `json:"p99_ns"`
	Max       time.Duration `json:"max_ns"`
	// MeanAlloc is the mean of the operations' Alloc (bytes), over those that measured it.
	MeanAlloc int64         `json:"mean_alloc_bytes"`
	Window    time.Duration `json:"window_ns"` // the span the figures cover
}

// TrackerOptions tune a Tracker. The zero value gives the defaults.
type TrackerOptions struct {
	// Window is the span the summaries cover (default 1 min), kept as slots of Window/6.
	Window time.Duration
	// Hooks are told of every operation.
	Hooks []Hook
	// now is the clock, for tests.
	now func() time.Time
}

// slots is how many parts a window is kept in: the oldest part leaves as a new one begins.
const slots = 6

// Tracker times named operations: Track for code, Middleware for HTTP handlers. Durations go
// to an HDR histogram per operation (1 us to 1 h, 3 significant digits), kept in slots so that
// a summary covers the last Window. Safe for concurrent use.
type Tracker struct {
	opts TrackerOptions
	slot time.Duration
	mu   sync.RWMutex
	ops  map[string]*opStats
	// summariesMu guards scratch, the histogram summaries are merged in.
	summariesMu sync.Mutex
	scratch     *hdrhistogram.Histogram
}

type opStats struct {
	mu    sync.Mutex
	slots [slots]opSlot
}

type opSlot struct {
	epoch         int64 // which slot of time this holds (now / slot duration)
	hist          *hdrhistogram.Histogram
	count, errors int64
	rows          int64
	alloc, allocN int64 // bytes allocated by the operations that measured it, and how many
}

// NewTracker returns a Tracker.
func NewTracker(opts TrackerOptions) *Tracker {
	if opts.Window <= 0 {
		opts.Window = time.Minute
	}
	if opts.now == nil {
		opts.now = time.Now
	}
	return &Tracker{opts: opts, slot: opts.Window / slots, ops: map[string]*opStats{}, scratch: newHist()}
}

func newHist() *hdrhistogram.Histogram {
	return hdrhistogram.New(1, int64(time.Hour/time.Microsecond), 3)
}

func (t *Tracker) op(name string) *opStats {
	t.mu.RLock()
	o := t.ops[name]
	t.mu.RUnlock()
	if o != nil {
		return o
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if o = t.ops[name]; o == nil {
		o = &opStats{}
		for i := range o.slots {
			o.slots[i].hist = newHist()
			o.slots[i].epoch = -1
		}
		t.ops[name] = o
	}
	return o
}

// Track starts timing operation op over rows rows and returns the function that ends it with
// the operation's error (nil for success):
//
//	done := tr.Track(ctx, "detect", X.Rows)
//	scores, err := m.Score(ctx, X, nil)
//	done(err)
func (t *Tracker) Track(ctx context.Context, op string, rows int) func(err error) {
	done := t.TrackRows(ctx, op)
	return func(err error) { done(rows, err) }
}

// TrackRows is Track for an operation that learns its rows as it goes (a stream): the
// function it returns takes them at the end.
func (t *Tracker) TrackRows(ctx context.Context, op string) func(rows int, err error) {
	for _, h := range t.opts.Hooks {
		h.Start(ctx, op)
	}
	alloc0 := sysstat.AllocatedBytes()
	start := t.opts.now()
	return func(rows int, err error) {
		r := Result{Op: op, Duration: t.opts.now().Sub(start), Rows: rows, Alloc: max(sysstat.AllocatedBytes()-alloc0, 1), Err: err}
		t.Add(r)
		for _, h := range t.opts.Hooks {
			h.End(ctx, r)
		}
	}
}

// Record adds one finished operation whose memory was not measured.
func (t *Tracker) Record(op string, d time.Duration, rows int, err error) {
	t.Add(Result{Op: op, Duration: d, Rows: rows, Err: err})
}

// Add adds one finished operation (Alloc 0: not measured).
func (t *Tracker) Add(r Result) {
	o := t.op(r.Op)
	epoch := t.opts.now().UnixNano() / int64(t.slot)
	o.mu.Lock()
	s := &o.slots[epoch%slots]
	if s.epoch != epoch {
		s.hist.Reset()
		s.epoch, s.count, s.errors, s.rows, s.alloc, s.allocN = epoch, 0, 0, 0, 0, 0
	}
	_ = s.hist.RecordValue(max(int64(r.Duration/time.Microsecond), 1)) // past an hour: counted at the top
	s.count++
	s.rows += int64(r.Rows)
	if r.Alloc > 0 {
		s.alloc += r.Alloc
		s.allocN++
	}
	if r.Err != nil {
		s.errors++
	}
	o.mu.Unlock()
}

// Overall returns the figures of every operation whose name match accepts (nil: all), merged
// as one operation named name: the service's response time and throughput over its routes.
func (t *Tracker) Overall(name string, match func(op string) bool) OpSummary {
	t.mu.RLock()
	ops := make([]*opStats, 0, len(t.ops))
	for n, o := range t.ops {
		if match == nil || match(n) {
			ops = append(ops, o)
		}
	}
	t.mu.RUnlock()
	t.summariesMu.Lock()
	defer t.summariesMu.Unlock()
	return t.summarise(name, ops, t.scratch)
}

// summarise merges the slots of ops still inside the window into one summary named name,
// using merge as scratch.
func (t *Tracker) summarise(name string, ops []*opStats, merge *hdrhistogram.Histogram) OpSummary {
	now := t.opts.now().UnixNano() / int64(t.slot)
	merge.Reset()
	sum := OpSummary{Name: name, Window: t.opts.Window}
	var alloc, allocN int64
	for _, o := range ops {
		o.mu.Lock()
		for i := range o.slots {
			s := &o.slots[i]
			if s.epoch < 0 || now-s.epoch >= slots {
				continue // empty, or older than the window
			}
			merge.Merge(s.hist)
			sum.Count += s.count
			sum.Errors += s.errors
			sum.Rows += s.rows
			alloc += s.alloc
			allocN += s.allocN
		}
		o.mu.Unlock()
	}
	if allocN > 0 {
		sum.MeanAlloc = alloc / allocN
	}
	if sum.Count > 0 {
		us := func(q float64) time.Duration { return time.Duration(merge.ValueAtQuantile(q)) * time.Microsecond }
		sum.P50, sum.P95, sum.P99 = us(50), us(95), us(99)
		sum.Max = time.Duration(merge.Max()) * time.Microsecond
		sum.Mean = time.Duration(merge.Mean() * float64(time.Microsecond))
		sum.ErrorRate = float64(sum.Errors) / float64(sum.Count)
		sum.PerSecond = float64(sum.Count) / t.opts.Window.Seconds()
	}
	return sum
}

// Summaries returns every operation's figures over the window, by name.
func (t *Tracker) Summaries() []OpSummary {
	t.mu.RLock()
	names := make([]string, 0, len(t.ops))
	for name := range t.ops {
		names = append(names, name)
	}
	t.mu.RUnlock()
	slices.Sort(names)
	out := make([]OpSummary, 0, len(names))
	for _, name := range names {
		o := t.op(name)
		t.summariesMu.Lock()
		sum := t.summarise(name, []*opStats{o}, t.scratch)
		t.summariesMu.Unlock()
		if sum.Count > 0 {
			out = append(out, sum)
		}
	}
	return out
}

// Middleware times every request of next as an operation named by name (nil: the route
// pattern the mux matched, else "unmatched"); a status of 500 or more counts as an error.
func (t *Tracker) Middleware(next http.Handler, name func(*http.Request) string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := t.opts.now()
		sw := &codeWriter{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(sw, r)
		op := ""
		if name != nil {
			op = name(r)
		} else if op = r.Pattern; op == "" {
			op = "unmatched"
		}
		var err error
		if sw.code >= 500 {
			err = errServerError
		}
		t.Record(op, t.opts.now().Sub(start), 0, err)
	})
}

type codeWriter struct {
	http.ResponseWriter
	code int
}

func (w *codeWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *codeWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

type trackError string

func (e trackError) Error() string { return string(e) }

const errServerError = trackError("server error (5xx)")

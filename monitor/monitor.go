package monitor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/gonomaly/gonomaly/store"
)

// Options configure a Monitor. The zero value gives the defaults: a resource sampler every
// second, operation summaries over a minute, DefaultThresholds, alerts kept in memory, model
// health on, no database monitor, leak snapshots every minute, an evaluation every 10 s.
type Options struct {
	Sampler    SamplerOptions
	Tracker    TrackerOptions
	Thresholds *Thresholds // nil: DefaultThresholds()
	Alerts     AlertOptions
	Health     HealthOptions
	Leak       LeakOptions
	// DB, when set, is watched by a DBMonitor (pool, connections, cache hit ratio, slow
	// statements).
	DB store.DBStater
	// Store, when set, keeps the sampler's readings, operation summaries, model health and
	// alerts (unless Sampler.Store and Alerts.Store say otherwise).
	Store Store
	// Every is the pace of evaluation: thresholds, bottlenecks, model health, the database
	// and alerts (default 10 s). Leak snapshots are taken every LeakEvery (default 1 min).
	Every, LeakEvery time.Duration
	// PersistEvery is how often operation summaries and model health go to Store (default
	// 1 min, as the sampler's).
	PersistEvery time.Duration
	// API picks the operations that make the service's response time, throughput and error
	// rate (nil: every operation).
	API    func(op string) bool
	Logger *slog.Logger
	// Labels are added to every stored sample (e.g. the instance).
	Labels map[string]string
}

// Store is what a Monitor keeps in the store: samples and alerts.
type Store interface {
	SampleStore
	AlertStore
}

// Monitor watches a running gonomaly: it samples resources, tracks operations, checks
// thresholds and bottleneck rules, model health, the database and leaks at its pace, raises
// and resolves alerts, and tells it all through Status. Build one with New; Close stops it.
type Monitor struct {
	opts    Options
	th      Thresholds
	sampler *ResourceSampler
	tracker *Tracker
	alerts  *Alerts
	health  *ModelHealth
	leak    *LeakDetector
	db      *DBMonitor

	mu         sync.Mutex
	components map[string]ComponentCheck
	gauges     map[string]gauge
	last       evaluation    // the latest evaluation's findings
	prevDB     store.DBStats // the previous evaluation's database reading (Evaluate's own)

	stop chan struct{}
	done chan struct{}
}

// ComponentCheck reports the health of one component (the store, the cache, a writer...).
type ComponentCheck func(ctx context.Context) ComponentHealth

// ComponentHealth is one component's state.
type ComponentHealth struct {
	Name string `json:"name"`
	// Status is "ok", "degraded" (working with less: a cache without Redis) or "down".
	Status string `json:"status"`
	Detail string `json:"detail,omitempty"`
}

// The component statuses, best first.
const (
	StatusOK       = "ok"
	StatusDegraded = "degraded"
	StatusDown     = "down"
)

type gauge struct {
	help string
	f    func() float64
}

// evaluation is what one evaluation found.
type evaluation struct {
	at          time.Time
	bottlenecks []Bottleneck
	trends      []TrendReport
	models      []DetectorHealth
	db          *store.DBStats
	dbErr       error
	leak        *LeakReport
}

// New starts a Monitor: its sampler and its evaluation loop.
func New(opts Options) *Monitor {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Every <= 0 {
		opts.Every = 10 * time.Second
	}
	if opts.LeakEvery <= 0 {
		opts.LeakEvery = time.Minute
	}
	if opts.PersistEvery <= 0 {
		opts.PersistEvery = time.Minute
	}
	if opts.Store != nil {
		if opts.Sampler.Store == nil {
			opts.Sampler.Store = opts.Store
		}
		if opts.Alerts.Store == nil {
			opts.Alerts.Store = opts.Store
		}
	}
	if opts.Sampler.Logger == nil {
		opts.Sampler.Logger = opts.Logger
	}
	if opts.Alerts.Logger == nil {
		opts.Alerts.Logger = opts.Logger
	}
	if opts.Sampler.Labels == nil {
		opts.Sampler.Labels = opts.Labels
	}
	th := DefaultThresholds()
	if opts.Thresholds != nil {
		th = *opts.Thresholds
	}
	m := &Monitor{
		opts:       opts,
		th:         th,
		tracker:    NewTracker(opts.Tracker),
		alerts:     NewAlerts(opts.Alerts),
		health:     NewModelHealth(opts.Health),
		components: map[string]ComponentCheck{},
		gauges:     map[string]gauge{},
		stop:       make(chan struct{}),
		done:       make(chan struct{}),
	}
	if opts.DB != nil {
		m.db = NewDBMonitor(opts.DB, DBThresholds{})
	}
	leak, err := NewLeakDetector(opts.Leak)
	if err != nil {
		opts.Logger.Warn("monitor: leak detection options refused; using the defaults", "err", err)
		leak, _ = NewLeakDetector(LeakOptions{})
	}
	m.leak = leak
	m.sampler = StartSampler(opts.Sampler)
	go m.loop()
	return m
}

// Tracker is the monitor's operation tracker.
func (m *Monitor) Tracker() *Tracker { return m.tracker }

// Sampler is the monitor's resource sampler.
func (m *Monitor) Sampler() *ResourceSampler { return m.sampler }

// Alerts is the monitor's alert manager.
func (m *Monitor) Alerts() *Alerts { return m.alerts }

// Health is the monitor's model-health tracker: call its Observe with every scored batch.
func (m *Monitor) Health() *ModelHealth { return m.health }

// Thresholds are the limits the monitor checks.
func (m *Monitor) Thresholds() Thresholds { return m.th }

// AddComponent registers a component whose health Status reports (and the overall status
// takes into account). A check must answer within its context.
func (m *Monitor) AddComponent(name string, check ComponentCheck) {
	m.mu.Lock()
	m.components[name] = check
	m.mu.Unlock()
}

var metricName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// Gauge registers a custom metric read by f (it must be quick and safe to call from any
// goroutine). It appears in Status under "custom" (not while it reads NaN or an infinity,
// which JSON cannot hold) and on /metrics as gonomaly_custom_<name>.
// A name must be a Prometheus metric name ([a-zA-Z_][a-zA-Z0-9_]*); registering a name again
// replaces it.
func (m *Monitor) Gauge(name, help string, f func() float64) error {
	if !metricName.MatchString(name) || len(name) > 100 {
		return fmt.Errorf("monitor: custom metric %q: want letters, digits and underscores, not starting with a digit, at most 100", name)
	}
	if f == nil {
		return errors.New("monitor: custom metric " + name + ": no function")
	}
	m.mu.Lock()
	m.gauges[name] = gauge{help: help, f: f}
	m.mu.Unlock()
	return nil
}

// Close stops the evaluation loop and the sampler (which stores its last readings).
func (m *Monitor) Close() {
	select {
	case <-m.stop:
	default:
		close(m.stop)
	}
	<-m.done
	m.sampler.Close()
}

func (m *Monitor) loop() {
	defer close(m.done)
	tick := time.NewTicker(m.opts.Every)
	defer tick.Stop()
	var lastLeak time.Time
	lastPersist := time.Now()
	for {
		select {
		case <-m.stop:
			return
		case <-tick.C:
		}
		now := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), m.opts.Every)
		if now.Sub(lastLeak) >= m.opts.LeakEvery {
			m.leak.Snapshot()
			lastLeak = now
		}
		m.Evaluate(ctx)
		if m.opts.Store != nil && now.Sub(lastPersist) >= m.opts.PersistEvery {
			m.persist(ctx, now)
			lastPersist = now
		}
		cancel()
	}
}

// Evaluate checks everything now: thresholds on the operations and resources, the bottleneck
// rules, model health, the database and leaks, and hands the conditions to the alert manager.
// The loop calls it every Options.Every; tests and tools may call it themselves.
func (m *Monitor) Evaluate(ctx context.Context) {
	now := time.Now()
	ops := m.tracker.Summaries()
	res, _ := m.sampler.Latest()
	conds := m.th.Check(now, ops, res)
	ev := evaluation{at: now}
	var pool *store.PoolStats
	if m.db != nil {
		dconds, st, err := m.db.Check(ctx)
		conds = append(conds, dconds...)
		if err == nil {
			ev.db, pool = &st, &st.Pool
		} else {
			ev.dbErr = err
		}
	}
	for _, op := range ops {
		f := m.figures(op, res, pool, ev.db)
		found := Diagnose(f)
		ev.bottlenecks = append(ev.bottlenecks, found...)
		conds = append(conds, BottleneckConditions(now, op.Name, found)...)
	}
	if ev.db != nil {
		m.prevDB = *ev.db
	}
	// Reports do the drift statistics (about 0.5 ms a detector): computed once here, reused by
	// Status and the collector until the next evaluation.
	ev.models = m.health.Reports()
	for _, r := range ev.models {
		conds = append(conds, m.health.healthConditions(now, r)...)
	}
	lr := m.leak.Analyze()
	ev.leak = &lr
	conds = append(conds, m.leak.Conditions(now)...)
	ev.trends = m.resourceTrends()
	m.alerts.Evaluate(ctx, conds...)
	slices.SortStableFunc(ev.bottlenecks, func(a, b Bottleneck) int { return int(b.Severity) - int(a.Severity) })
	m.mu.Lock()
	m.last = ev
	m.mu.Unlock()
}

// figures gathers what the bottleneck rules need about op.
func (m *Monitor) figures(op OpSummary, r Resources, pool *store.PoolStats, db *store.DBStats) Figures {
	f := Figures{Op: op.Name, Duration: op.P99, AllocBytes: op.MeanAlloc, CPUPercent: r.CPUPercent,
		Cores: runtime.GOMAXPROCS(0), GCPercent: r.GCPercent, ErrorRate: op.ErrorRate}
	if o, ok := m.th.Op(op.Name); ok {
		f.Budget = o.WarningExecutionTime
	}
	if pool != nil {
		f.PoolInUse, f.PoolMax = pool.InUse, pool.MaxConns
	}
	if db != nil && !m.prevDB.Time.IsZero() {
		if dt := db.Time.Sub(m.prevDB.Time).Seconds(); dt > 0 {
			f.PoolWaitsPerSecond = max(0, float64(db.Pool.WaitCount-m.prevDB.Pool.WaitCount)/dt)
		}
	}
	return f
}

// Status is everything the monitor knows now: what `gonomaly performance monitor --status`
// prints and GET /api/performance/metrics returns. The first five figures carry the seed's
// names: response_time (mean, ms), throughput (requests a second), memory_usage (resident
// set, MB), error_rate (share of requests answered 5xx) and cpu_usage (percent of one core),
// over the service's API operations in the tracker's window.
type Status struct {
	Time         time.Time `json:"time"`
	ResponseTime float64   `json:"response_time"`
	Throughput   float64   `json:"throughput"`
	MemoryUsage  float64   `json:"memory_usage"`
	ErrorRate    float64   `json:"error_rate"`
	CPUUsage     float64   `json:"cpu_usage"`
	// Service is the API's operations merged: count, p50/p95/p99, max.
	Service     OpSummary        `json:"service"`
	Health      HealthStatus     `json:"health"`
	Resources   *Resources       `json:"resources,omitempty"`
	Operations  []OpSummary      `json:"operations"`
	Models      []DetectorHealth `json:"models"`
	Alerts      []Alert          `json:"alerts"` // active, most severe first
	Bottlenecks []Bottleneck     `json:"bottlenecks"`
	// Trends are the resources' trends over the sampler's window (an hour by default):
	// resident memory, heap, goroutines and CPU, from the latest evaluation.
	Trends   []TrendReport      `json:"trends,omitempty"`
	Database *store.DBStats     `json:"database,omitempty"`
	Leaks    *LeakReport        `json:"leaks,omitempty"`
	Custom   map[string]float64 `json:"custom,omitempty"`
}

// HealthStatus is the overall status, the worst of the components', and each component's.
type HealthStatus struct {
	Status     string            `json:"status"`
	Components []ComponentHealth `json:"components"`
}

// Status returns what the monitor knows now; the component checks run with ctx.
func (m *Monitor) Status(ctx context.Context) Status {
	ops := m.tracker.Summaries()
	svc := m.tracker.Overall("service", m.opts.API)
	st := Status{Time: time.Now(), Service: svc, Operations: ops,
		ResponseTime: float64(svc.Mean) / 1e6, Throughput: svc.PerSecond, ErrorRate: svc.ErrorRate}
	if r, ok := m.sampler.Latest(); ok {
		st.Resources = &r
		st.MemoryUsage = float64(r.RSS) / 1e6
		st.CPUUsage = r.CPUPercent
	}
	st.Health = m.componentHealth(ctx)
	st.Models = m.modelReports()
	st.Alerts = m.alerts.Active()
	m.mu.Lock()
	ev := m.last
	gauges := maps.Clone(m.gauges)
	m.mu.Unlock()
	st.Bottlenecks, st.Database, st.Leaks, st.Trends = ev.bottlenecks, ev.db, ev.leak, ev.trends
	if len(gauges) > 0 {
		st.Custom = make(map[string]float64, len(gauges))
		for name, g := range gauges {
			if v := g.f(); !math.IsNaN(v) && !math.IsInf(v, 0) { // JSON holds neither
				st.Custom[name] = v
			}
		}
	}
	if st.Operations == nil {
		st.Operations = []OpSummary{}
	}
	if st.Models == nil {
		st.Models = []DetectorHealth{}
	}
	if st.Alerts == nil {
		st.Alerts = []Alert{}
	}
	if st.Bottlenecks == nil {
		st.Bottlenecks = []Bottleneck{}
	}
	return st
}

// componentHealth runs every component check (at most 2 s each, at once) and adds the
// monitor's own sampler.
func (m *Monitor) componentHealth(ctx context.Context) HealthStatus {
	m.mu.Lock()
	checks := maps.Clone(m.components)
	m.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	out := make([]ComponentHealth, 0, len(checks)+1)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for name, check := range checks {
		wg.Go(func() {
			h := check(ctx)
			h.Name = name
			mu.Lock()
			out = append(out, h)
			mu.Unlock()
		})
	}
	wg.Wait()
	sh := ComponentHealth{Name: "sampler", Status: StatusOK}
	if r, ok := m.sampler.Latest(); !ok || time.Since(r.Time) > 3*m.sampler.opts.Interval+time.Second {
		sh.Status, sh.Detail = StatusDegraded, "no recent resource reading"
	}
	out = append(out, sh)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	overall := StatusOK
	for _, h := range out {
		if rank(h.Status) > rank(overall) {
			overall = h.Status
		}
	}
	return HealthStatus{Status: overall, Components: out}
}

func rank(status string) int {
	switch status {
	case StatusOK:
		return 0
	case StatusDegraded:
		return 1
	default:
		return 2
	}
}

// persist writes the operation summaries and model health to the store as samples, so that
// `monitor --status` without a service, reports and trends can read them.
func (m *Monitor) persist(ctx context.Context, now time.Time) {
	var samples []store.Sample
	add := func(name string, v float64, labels map[string]string) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return
		}
		samples = append(samples, store.Sample{Time: now, Name: name, Value: v, Labels: withLabels(m.opts.Labels, labels)})
	}
	opSamples := func(s OpSummary, labels map[string]string) {
		add("operation_count", float64(s.Count), labels)
		add("operation_throughput", s.PerSecond, labels)
		add("operation_error_rate", s.ErrorRate, labels)
		add("operation_mean_seconds", s.Mean.Seconds(), labels)
		add("operation_p50_seconds", s.P50.Seconds(), labels)
		add("operation_p95_seconds", s.P95.Seconds(), labels)
		add("operation_p99_seconds", s.P99.Seconds(), labels)
		if s.MeanAlloc > 0 {
			add("operation_mean_alloc_bytes", float64(s.MeanAlloc), labels)
		}
	}
	if svc := m.tracker.Overall("service", m.opts.API); svc.Count > 0 {
		opSamples(svc, map[string]string{"operation": "service"})
	}
	for _, s := range m.tracker.Summaries() {
		opSamples(s, map[string]string{"operation": s.Name})
	}
	for _, h := range m.modelReports() {
		l := map[string]string{"detector": h.ID}
		add("model_rows", float64(h.Rows), l)
		add("model_anomaly_rate", h.Rate, l)
		add("model_expected_rate", h.Expected, l)
		add("model_anomaly_rate_p", h.RateP, l)
		add("model_score_psi", h.ScorePSI, l)
		add("model_score_ks_p", h.ScoreKSP, l)
	}
	if len(samples) == 0 {
		return
	}
	if err := m.opts.Store.AddSamples(ctx, samples...); err != nil {
		m.opts.Logger.Warn("monitor: storing operation and model samples failed", "err", err)
	}
}

func withLabels(base, extra map[string]string) map[string]string {
	if len(base) == 0 {
		return extra
	}
	out := maps.Clone(base)
	maps.Copy(out, extra)
	return out
}

// resourceTrends analyses the sampler's window: resident memory, heap, goroutines and CPU.
func (m *Monitor) resourceTrends() []TrendReport {
	w := m.sampler.Window(nil)
	if len(w) < 8 {
		return nil
	}
	times := make([]time.Time, len(w))
	for i, r := range w {
		times[i] = r.Time
	}
	series := []struct {
		name, unit string
		f          func(Resources) float64
	}{
		{"resident memory", "MB", func(r Resources) float64 { return float64(r.RSS) / 1e6 }},
		{"heap", "MB", func(r Resources) float64 { return float64(r.Heap) / 1e6 }},
		{"goroutines", "", func(r Resources) float64 { return float64(r.Goroutines) }},
		{"cpu", "% of a core", func(r Resources) float64 { return r.CPUPercent }},
	}
	out := make([]TrendReport, 0, len(series))
	xs := make([]float64, len(w))
	for _, s := range series {
		for i, r := range w {
			xs[i] = s.f(r)
		}
		out = append(out, AnalyzeTrend(s.name, times, xs, TrendOptions{Unit: s.unit}))
	}
	return out
}

// modelReports returns the detectors' health as the latest evaluation found it, or computed
// now when there has been none within Every (at start, or for a Monitor whose loop is slow):
// the drift statistics cost about 0.5 ms a detector, too much to redo on every status request
// of a large fleet.
func (m *Monitor) modelReports() []DetectorHealth {
	m.mu.Lock()
	ev := m.last
	m.mu.Unlock()
	if !ev.at.IsZero() && time.Since(ev.at) < m.opts.Every {
		// Without the detectors forgotten since (deleted): they must not show again.
		return slices.DeleteFunc(slices.Clone(ev.models), func(r DetectorHealth) bool { return !m.health.Follows(r.ID) })
	}
	return m.health.Reports()
}

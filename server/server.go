package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gonomaly/gonomaly/cache"
	"github.com/gonomaly/gonomaly/cluster"
	"github.com/gonomaly/gonomaly/internal/sysstat"
	"github.com/gonomaly/gonomaly/monitor"
	"github.com/gonomaly/gonomaly/optimize"
	"github.com/gonomaly/gonomaly/serving"
	"github.com/gonomaly/gonomaly/store"
	"github.com/prometheus/client_golang/prometheus"
)

// Config configures a Server. Store is required; the other zero values give the defaults.
type Config struct {
	Store store.Store
	// Cache is the two-level cache in front of the store's detectors and models. Nil means an
	// in-process cache of its own (closed with the server).
	Cache *cache.Cache
	// APIKeyHashes are the hex SHA-256 hashes (HashAPIKey) of the accepted API keys. With none,
	// the API is open and pprof is off.
	APIKeyHashes []string
	Logger       *slog.Logger

	MaxBodyBytes   int64         // request body limit (default 32 MiB)
	RequestTimeout time.Duration // per request (default 60 s)
	SlowRequest    time.Duration // requests slower than this are logged (default 1 s)
	// TrainWait is how long a train request waits for its job before answering 202 with the
	// job to poll (default 10 s).
	TrainWait time.Duration
	// TrainConcurrency bounds trainings running at once (default 2: a fit uses every core).
	TrainConcurrency int
	// Batch tunes the micro-batching of single-row predictions (defaults: up to 256 rows, no
	// added wait, GOMAXPROCS workers per detector).
	Batch optimize.BatchOptions
	// KeepScores keeps every score of a prediction in its stored result; by default only the
	// summary (rows, anomalies, threshold) is stored for requests of more than 1000 rows.
	KeepScoresUpTo int
	// ShutdownTimeout bounds how long Run waits for in-flight requests and jobs (default 30 s).
	ShutdownTimeout time.Duration

	// BodyReadTimeout bounds how long reading one request's body may take (default 30 s): a
	// client that trickles its body is cut off then, whatever the request timeout.
	BodyReadTimeout time.Duration
	// MaxInFlight bounds the API requests being served at once (default 256); past it a
	// request is answered 503 with Retry-After at once instead of queueing.
	MaxInFlight int
	// MaxInFlightBytes bounds the request bodies held at once, counted by their declared
	// length (default a sixteenth of the memory this process may use: a JSON body decodes to
	// several times its size; never less than MaxBodyBytes); past it 503.
	MaxInFlightBytes int64
	// MaxQueuedJobs bounds the training jobs waiting or running (default 16); past it a train
	// request is answered 429 with Retry-After.
	MaxQueuedJobs int
	// TrainMemoryBudget is the most memory one training may need by its detector's estimate
	// (default half of the memory this process may use, shared by TrainConcurrency); a train
	// request needing more is refused with 400 invalid_parameter.
	TrainMemoryBudget int64
	// TrainTimeBudget is the longest one training may take by its detector's estimate
	// (default 1 h); a train request needing more is refused with 400 invalid_parameter.
	TrainTimeBudget time.Duration
	// TrainMemoryLimit is the Go heap size past which a training job waits before it starts
	// fitting (default three quarters of the memory this process may use; negative: no
	// limit): the fits in flight finish and free what they hold instead of another piling on.
	// Garbage alone never makes a job wait (the server collects once when the heap crosses the
	// limit). TrainMemoryWait bounds the wait (default 1 min); a job still over the limit then
	// fails with 503 unavailable ("the service is short of memory").
	TrainMemoryLimit int64
	TrainMemoryWait  time.Duration

	// Instance names this server process in its metrics (the constant label instance_id on
	// every metric of /metrics), /healthz and the dashboard (default the host's name; the
	// command line gives host:port, DefaultInstance).
	Instance string
	// CacheTTL is how long detector metadata and models live in the cache (default 1 h).
	// Retraining and deleting invalidate them at once on every instance, so it only bounds
	// the memory and Redis space of detectors no longer asked for.
	CacheTTL time.Duration

	// The bounds of POST /api/v1/detection/stream, whose body has no size or time limit of its
	// own (MaxBodyBytes, BodyReadTimeout and RequestTimeout do not apply to it):
	// StreamBatchRows is the most rows scored and answered at once (default 1024, fewer for
	// rows of many values: a batch holds at most 8 MiB of them); StreamMaxLineBytes the
	// longest line (default 1 MiB); StreamIdleTimeout the longest wait for the client's next
	// bytes, or for it to take the answer's (default 30 s); StreamMaxDuration the longest
	// stream (default 1 h); MaxStreams the streams served at once (default 16), each also
	// taking a MaxInFlight slot and its memory bound of MaxInFlightBytes.
	StreamBatchRows    int
	StreamMaxLineBytes int
	StreamIdleTimeout  time.Duration
	StreamMaxDuration  time.Duration
	MaxStreams         int

	// Monitor configures the service's monitor (docs/monitoring.md), which the server runs
	// and closes. Left empty, the server fills in: its store (for samples and alerts, unless
	// the options hold their own), the store's database monitor when the store has one, its
	// logger, and the API routes as the service's operations.
	Monitor monitor.Options

	// Cluster, when set, is the NATS JetStream cluster of this service (serve --nats): its
	// training jobs are fitted by the cluster's workers that run fit jobs (on this process
	// while none is alive), and GET /api/v1/cluster and the dashboard show the cluster's
	// queue and workers. The caller closes it after Close.
	Cluster *cluster.Conn
}

// The defaults of Config's zero values, for the command line to show and start from.
const (
	DefaultMaxBodyBytes     = 32 << 20
	DefaultRequestTimeout   = time.Minute
	DefaultSlowRequest      = time.Second
	DefaultTrainWait        = 10 * time.Second
	DefaultTrainConcurrency = 2
	DefaultKeepScoresUpTo   = 1000
	DefaultShutdownTimeout  = 30 * time.Second
	DefaultBodyReadTimeout  = 30 * time.Second
	DefaultMaxInFlight      = 256
	DefaultMaxQueuedJobs    = 16
	DefaultTrainTimeBudget  = time.Hour
	DefaultTrainMemoryWait  = time.Minute
	DefaultCacheTTL         = time.Hour
)

// DefaultTrainMemoryLimit is TrainMemoryLimit's default for a process that may use mem bytes:
// three quarters of it, which leaves the rest to the requests being served and to the
// runtime's own overhead above the heap.
func DefaultTrainMemoryLimit(mem int64) int64 { return mem / 4 * 3 }

// DefaultInstance is the instance name of a server listening on addr: the host's name and
// the port when addr is on every interface (":8080", "0.0.0.0:8080", "[::]:8080"), else addr
// itself ("10.0.0.5:8080"), as a scrape target is named.
func DefaultInstance(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = hostname()
	}
	return net.JoinHostPort(host, port)
}

// hostname is the host's name, or "localhost" when the system does not give one.
func hostname() string {
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "localhost"
}

// DefaultMaxInFlightBytes is MaxInFlightBytes' default for a process that may use mem bytes
// (never less than maxBody): a JSON body decodes to several times its size.
func DefaultMaxInFlightBytes(mem, maxBody int64) int64 { return max(mem/16, maxBody) }

// DefaultTrainMemoryBudget is TrainMemoryBudget's default for a process that may use mem
// bytes and runs concurrency trainings at once: half the memory, shared by them.
func DefaultTrainMemoryBudget(mem int64, concurrency int) int64 {
	return mem / 2 / int64(max(concurrency, 1))
}

func (c Config) withDefaults() (Config, error) {
	if c.Store == nil {
		return c, errors.New("server: Config.Store is required")
	}
	orDefault(&c.MaxBodyBytes, DefaultMaxBodyBytes)
	orDefault(&c.RequestTimeout, DefaultRequestTimeout)
	orDefault(&c.SlowRequest, DefaultSlowRequest)
	orDefault(&c.TrainWait, DefaultTrainWait)
	orDefault(&c.TrainConcurrency, DefaultTrainConcurrency)
	orDefault(&c.KeepScoresUpTo, DefaultKeepScoresUpTo)
	orDefault(&c.ShutdownTimeout, DefaultShutdownTimeout)
	orDefault(&c.BodyReadTimeout, DefaultBodyReadTimeout)
	orDefault(&c.MaxInFlight, DefaultMaxInFlight)
	orDefault(&c.MaxQueuedJobs, DefaultMaxQueuedJobs)
	orDefault(&c.TrainTimeBudget, DefaultTrainTimeBudget)
	orDefault(&c.TrainMemoryWait, DefaultTrainMemoryWait)
	orDefault(&c.CacheTTL, DefaultCacheTTL)
	if c.Instance == "" {
		c.Instance = hostname()
	}
	orDefault(&c.StreamBatchRows, DefaultStreamBatchRows)
	orDefault(&c.StreamMaxLineBytes, DefaultStreamMaxLineBytes)
	orDefault(&c.StreamIdleTimeout, DefaultStreamIdleTimeout)
	orDefault(&c.StreamMaxDuration, DefaultStreamMaxDuration)
	orDefault(&c.MaxStreams, DefaultMaxStreams)
	mem := sysstat.MemoryLimit()
	orDefault(&c.MaxInFlightBytes, DefaultMaxInFlightBytes(mem, c.MaxBodyBytes))
	c.MaxInFlightBytes = max(c.MaxInFlightBytes, c.MaxBodyBytes)
	orDefault(&c.TrainMemoryBudget, DefaultTrainMemoryBudget(mem, c.TrainConcurrency))
	if c.TrainMemoryLimit == 0 {
		c.TrainMemoryLimit = DefaultTrainMemoryLimit(mem)
	}
	return c, nil
}

// orDefault sets *v to def when it is zero or negative (Config's "unset").
func orDefault[T int | int64 | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// Server is the detection service: the HTTP API of docs/api.md over a store, a cache and the
// detectors. Build one with New, serve with Run (or mount Handler), stop with Close.
type Server struct {
	cfg       Config
	store     store.Store
	cache     *cache.Cache
	ownCache  bool
	log       *slog.Logger
	keyHashes [][]byte
	metrics   *metrics
	serving   *serving.Service
	fitter    fitter // serving, or the cluster's workers
	results   *optimize.WriteBehind[*store.Result]
	jobs      *jobs
	stopJobs  context.CancelFunc
	trainMem  *optimize.MemoryGuard // nil: no training memory limit
	handler   http.Handler

	inflight      chan struct{} // a slot per API request being served (MaxInFlight)
	inflightBytes atomic.Int64  // declared body bytes of the API requests being served
	gone          *goneSet      // detectors deleted lately, whose results are no longer written
	monitor       *monitor.Monitor
	streams       *streamSet // the streams being served (stream.go)
}

// New builds a Server.
func New(ctx context.Context, cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, store: cfg.Store, cache: cfg.Cache, log: logger(cfg.Logger), metrics: newMetrics(cfg.Instance),
		inflight: make(chan struct{}, cfg.MaxInFlight), gone: newGoneSet(time.Minute), streams: newStreamSet(cfg.MaxStreams)}
	for _, h := range cfg.APIKeyHashes {
		b, err := hex.DecodeString(h)
		if err != nil || len(b) != sha256.Size {
			return nil, fmt.Errorf("server: API key hash %q is not a hex SHA-256", h)
		}
		s.keyHashes = append(s.keyHashes, b)
	}
	if cfg.TrainMemoryLimit > 0 {
		// FreeOnCross: garbage alone never holds a training back.
		if s.trainMem, err = optimize.NewMemoryGuard(optimize.GuardOptions{HeapBytes: cfg.TrainMemoryLimit, FreeOnCross: true}); err != nil {
			return nil, fmt.Errorf("server: %w", err)
		}
	}
	if s.cache == nil {
		if s.cache, err = cache.New(ctx, cache.Options{Logger: s.log}); err != nil {
			return nil, fmt.Errorf("server: %w", err)
		}
		s.ownCache = true
	}
	s.serving = serving.New(s.store, s.cache, serving.Options{Batch: cfg.Batch, TTL: cfg.CacheTTL,
		OnScore: func(alg string, rows int, d time.Duration) {
			s.metrics.batchRows.WithLabelValues(alg).Observe(float64(rows))
			s.metrics.score.WithLabelValues(alg).Observe(d.Seconds())
		}})
	if cfg.Cluster != nil {
		s.fitter = &cluster.RemoteFitter{Conn: cfg.Cluster, Service: s.serving}
	} else {
		s.fitter = s.serving
	}
	s.results = optimize.NewWriteBehind(s.saveResults, optimize.WriteBehindOptions{
		MaxBatch: 512, Linger: resultLinger, Queue: 65536, Permanent: permanentStoreError, Logger: s.log,
		OnSaved: func(o optimize.Outcome, n int) { s.metrics.results.WithLabelValues(outcomeLabel[o]).Add(float64(n)) },
	})
	jctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.jobs, s.stopJobs = newJobs(jctx, cfg.TrainConcurrency, cfg.MaxQueuedJobs, 1000, s.log, func(outcome string) {
		s.metrics.jobs.WithLabelValues(outcome).Inc()
	}), stop
	s.jobs.admit = s.admitTraining
	s.monitor = s.newMonitor(ctx, cfg.Monitor)
	s.registerCollectors()
	s.handler = s.instrument(s.routes())
	return s, nil
}

// outcomeLabel names the result writer's outcomes in the results_persisted_total metric.
var outcomeLabel = map[optimize.Outcome]string{
	optimize.Written: "ok", optimize.Skipped: "deleted", optimize.Rejected: "rejected", optimize.Failed: "error",
}

// resultLinger is how long the result writer waits for more results before a commit. Results
// reach the store that much later (GET /results may lag a prediction by it); in exchange a
// commit carries many rows under load (on SQLite at 16 connections, the share of the service's
// CPU spent writing results fell from about 30% to 14%).
const resultLinger = 10 * time.Millisecond

// registerCollectors exports the cache's and the store pool's counters.
func (s *Server) registerCollectors() {
	c := s.cache
	counter := func(name, help string, f func() float64) {
		s.metrics.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "gonomaly", Name: name, Help: help}, f))
	}
	gauge := func(name, help string, f func() float64) {
		s.metrics.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "gonomaly", Name: name, Help: help}, f))
	}
	counter("cache_l1_hits_total", "Cache lookups answered by the in-process L1.", func() float64 { return float64(c.Stats().L1Hits) })
	counter("cache_l2_hits_total", "Cache lookups answered by Redis (L2).", func() float64 { return float64(c.Stats().L2Hits) })
	counter("cache_misses_total", "Cache lookups answered by neither level.", func() float64 { return float64(c.Stats().Misses) })
	gauge("cache_hit_ratio", "Share of cache lookups answered by L1 or L2 since start.", func() float64 {
		st := c.Stats()
		total := st.L1Hits + st.L2Hits + st.Misses
		if total == 0 {
			return 0
		}
		return float64(st.L1Hits+st.L2Hits) / float64(total)
	})
	gauge("cache_l2_up", "1 when Redis (L2) is in use, 0 when it is down or not configured.", func() float64 {
		if h := c.Health(); h.Status == cache.StatusOK && h.L2 {
			return 1
		}
		return 0
	})
	s.metrics.reg.MustRegister(s.monitor.Collector())
	if g := s.trainMem; g != nil {
		gauge("train_memory_limit_bytes", "Go heap size past which a training job waits before it starts fitting.", func() float64 { return float64(s.cfg.TrainMemoryLimit) })
		counter("train_memory_waits_total", "Training jobs that waited for the heap to fall under the training memory limit.", func() float64 { return float64(g.Stats().Waits) })
		counter("train_memory_wait_seconds_total", "Time training jobs spent waiting for the heap to fall under the training memory limit.", func() float64 { return g.Stats().Waited.Seconds() })
	}
	if ps, ok := s.store.(store.PoolStater); ok {
		gauge("store_pool_max_conns", "Connections the store's pool may open.", func() float64 { return float64(ps.PoolStats().MaxConns) })
		gauge("store_pool_open_conns", "Connections the store's pool holds open.", func() float64 { return float64(ps.PoolStats().OpenConns) })
		gauge("store_pool_in_use", "Connections of the store's pool in use.", func() float64 { return float64(ps.PoolStats().InUse) })
		gauge("store_pool_idle", "Idle connections of the store's pool.", func() float64 { return float64(ps.PoolStats().Idle) })
		counter("store_pool_waits_total", "Connection acquisitions that had to wait.", func() float64 { return float64(ps.PoolStats().WaitCount) })
		counter("store_pool_wait_seconds_total", "Time spent waiting for a connection.", func() float64 { return ps.PoolStats().WaitDuration.Seconds() })
	}
}

// Handler is the service's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	api := func(pattern string, h func(http.ResponseWriter, *http.Request) *apiError) {
		mux.Handle(pattern, s.requireKey(s.limit(s.handle(h))))
	}
	api("POST /api/v1/detectors", s.createDetector)
	api("GET /api/v1/detectors", s.listDetectors)
	api("GET /api/v1/detectors/{id}", s.getDetector)
	api("DELETE /api/v1/detectors/{id}", s.deleteDetector)
	api("POST /api/v1/datasets", s.createDataset)
	api("GET /api/v1/datasets", s.listDatasets)
	api("GET /api/v1/datasets/{id}", s.getDataset)
	api("POST /api/v1/detection/train", s.train)
	api("POST /api/v1/detection/predict", s.predict)
	mux.Handle("POST "+streamPath, s.requireKey(s.limitStream(s.handle(s.stream))))
	api("GET /api/v1/detection/results", s.listResults)
	api("GET /api/v1/jobs/{id}", s.getJob)
	api("GET /api/v1/cluster", s.clusterStatus)
	api("GET "+tuningPath, s.getTuning)
	api("PUT "+tuningPath, s.putTuning)
	api("GET /api/performance/metrics", s.performanceMetrics)
	api("GET /api/performance/alerts", s.performanceAlerts)
	api("GET /performance/report", s.performanceReport)
	mux.HandleFunc("GET /performance/dashboard", s.dashboard)
	mux.HandleFunc("GET /performance/dashboard/{file}", s.dashboardFile)
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", s.metrics.handler())
	if len(s.keyHashes) > 0 {
		pp := http.NewServeMux()
		pp.HandleFunc("/debug/pprof/", pprof.Index)
		pp.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		pp.HandleFunc("/debug/pprof/profile", pprof.Profile)
		pp.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		pp.HandleFunc("/debug/pprof/trace", pprof.Trace)
		mux.Handle("/debug/pprof/", s.requireKey(pp))
	}
	mux.Handle("/", s.handle(func(w http.ResponseWriter, r *http.Request) *apiError {
		if allow := allowed(mux, r); len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			return errorf(http.StatusMethodNotAllowed, CodeMethodNotAllowed, "%s is not allowed on %s: use %s", truncate(r.Method, 16), truncate(r.URL.Path, 256), strings.Join(allow, " or "))
		}
		return errorf(http.StatusNotFound, CodeNotFound, "no route for %s %s", truncate(r.Method, 16), truncate(r.URL.Path, 256))
	}))
	return mux
}

// allowed lists the methods that mux routes for r's path to a handler other than the
// catch-all, for a 405's Allow header.
func allowed(mux *http.ServeMux, r *http.Request) []string {
	var out []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := &http.Request{Method: m, URL: r.URL, Host: r.Host, Header: http.Header{}}
		if _, pattern := mux.Handler(probe); pattern != "" && pattern != "/" {
			out = append(out, m)
			if m == http.MethodGet {
				out = append(out, http.MethodHead)
			}
		}
	}
	return out
}

// handle adapts a handler that returns its error to http.Handler. The cause of a 5xx is
// logged here, with the request; the client gets only the answer's message.
func (s *Server) handle(f func(http.ResponseWriter, *http.Request) *apiError) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e := f(w, r)
		if e == nil {
			return
		}
		if e.Cause != nil {
			s.log.Error("request error", "method", r.Method, "route", r.Pattern, "status", e.Status, "err", e.Cause)
		}
		writeError(w, e)
	})
}

// Run serves on l until ctx ends, then shuts down gracefully: it stops accepting connections,
// finishes in-flight requests and training jobs (up to ShutdownTimeout), writes every accepted
// result to the store, and returns. It does not close the store.
func (s *Server) Run(ctx context.Context, l net.Listener) error {
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	hs.RegisterOnShutdown(s.streams.shutdown) // a stream ends at once, not at ShutdownTimeout
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(l) }()
	s.log.Info("serving", "addr", l.Addr().String(), "gomaxprocs", runtime.GOMAXPROCS(0), "auth", len(s.keyHashes) > 0)
	select {
	case err := <-errc:
		s.Close()
		return fmt.Errorf("server: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down: finishing in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	err := hs.Shutdown(sctx)
	if err != nil {
		s.log.Error("shutdown: requests still running at the deadline", "err", err)
	}
	if jerr := s.jobs.wait(sctx); jerr != nil {
		s.log.Error("shutdown: training jobs still running at the deadline; cancelling them", "err", jerr)
	}
	s.Close()
	s.log.Info("stopped")
	return err
}

// Close stops the server's workers: it cancels running jobs, closes the batchers and writes
// every accepted result. Run calls it; call it yourself only when you mounted Handler.
func (s *Server) Close() {
	s.streams.shutdown()
	s.stopJobs()
	_ = s.jobs.wait(context.Background())
	s.serving.Close()
	s.results.Close()
	s.monitor.Close()
	if s.trainMem != nil {
		_ = s.trainMem.Close()
	}
	if s.ownCache {
		_ = s.cache.Close()
	}
}

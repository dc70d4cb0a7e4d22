package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gonomaly/gonomaly/cache"
	"github.com/gonomaly/gonomaly/detector"
	"github.com/gonomaly/gonomaly/internal/sysstat"
	"github.com/gonomaly/gonomaly/optimize"
	"github.com/gonomaly/gonomaly/server"
	"github.com/gonomaly/gonomaly/store"
	_ "github.com/gonomaly/gonomaly/store/postgres" // postgres:// URLs
	_ "github.com/gonomaly/gonomaly/store/sqlite"   // sqlite: URLs and bare paths
	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"
)

type serveFlags struct {
	addr, database, redis, logFormat, logLevel string
	instance                                   string
	cacheTTL, trainMemoryWait                  time.Duration
	trainMemoryLimit                           memoryLimit
	apiKeys, apiKeyHashes                      []string
	pool                                       store.Options
	cacheMB                                    int
	maxBody, maxInFlightBytes, trainMemory     byteSize
	requestTimeout, trainWait, batchWait       time.Duration
	bodyTimeout, trainTime                     time.Duration
	batchMax, maxInFlight, maxJobs             int
	mon                                        monitorServeFlags
	opt                                        optimizeServeFlags
	stream                                     streamServeFlags
	cl                                         clusterFlags
}

func newServeCmd() *cobra.Command {
	f := &serveFlags{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the detection service (REST API, metrics, health checks)",
		Long: `serve runs the detection service: a REST API to create, train and query detectors, with
results and models kept in a database, a two-level cache, Prometheus metrics at /metrics and
health checks at /healthz and /readyz. The API is described in docs/api.md.

With no flags it keeps its data in an SQLite file (gonomaly.db in the working directory, or
$GONOMALY_DATABASE_URL) and caches in process only. --database postgres://... uses PostgreSQL,
--redis redis://... adds Redis as a shared second cache level.

Several instances may serve one PostgreSQL database and one Redis: a detector trained or
deleted through one is served (or no longer served) by the others at once, through Redis's
invalidation channel. --instance names each one in its metrics (the instance_id label),
/healthz and the dashboard; --cache-ttl bounds how long a detector nobody asks for stays
cached. With --nats, training jobs are fitted by the workers of that NATS JetStream cluster
that run fit jobs ('gonomaly worker --database ... --redis ...', the same store and Redis),
here while none is alive, and GET /api/v1/cluster and the dashboard show the cluster's queue
and workers (docs/cluster.md).

With API keys every /api request needs "Authorization: Bearer KEY" and /debug/pprof/ is
served behind the same keys. Give the keys in $GONOMALY_API_KEYS (comma separated), or give
their SHA-256 with --api-key-hash (or $GONOMALY_API_KEY_HASHES) so that no command line or
configuration file holds a key. --api-key KEY works too but puts the key in the process list
(ps, /proc) for every user of the machine to read; serve warns when it is used.

Limits: a request body may be --max-body-bytes and must arrive within --body-timeout; at most
--max-in-flight requests and --max-in-flight-bytes of declared bodies are served at once
(past either, 503 with Retry-After); at most --max-jobs trainings wait or run (past it, 429);
a training whose detector estimates more than --train-memory-budget or --train-time-budget
is refused (400); a training job waits to start while the Go heap is over
--train-memory-limit, and fails after --train-memory-wait (503). Sizes take a unit: 512MiB,
1GiB, or plain bytes. For these seven a value of 0 means the server's default, given in each
flag's help.

Monitoring (docs/monitoring.md): the service samples its resources every --sample-interval,
times every request, and every --monitor-interval checks thresholds, bottleneck rules, model
health (flagged share and drift of every served detector), the database and leaks, raising
and resolving alerts (stored, and POSTed to --alert-webhook). Thresholds come from the seed's
defaults, then --thresholds FILE (YAML or JSON), then the threshold flags. See them live with
GET /api/performance/metrics or gonomaly performance monitor --watch --url http://HOST:PORT.

Optimization (docs/optimize.md): --optimize FILE (YAML or JSON, the seed's OptimizationConfig)
sets the micro-batching (batch_size, batch_wait, max_workers), the cache (cache_size_mb,
cache_ttl) and the Go runtime's soft memory limit (memory_limit_mb); --batch-max, --batch-wait,
--cache-mb and --cache-ttl override the file.

SIGINT or SIGTERM shuts down gracefully: requests in flight finish and every answered result
is stored.`,
		Example: `  gonomaly serve
  gonomaly serve --addr :9000 --database postgres://postgres@127.0.0.1:5432/test --redis redis://127.0.0.1:6379/0
  GONOMALY_API_KEYS=s3cret gonomaly serve --log-format json
  gonomaly serve --api-key-hash "$(printf %s "$KEY" | sha256sum | cut -d' ' -f1)" --max-in-flight-bytes 1GiB`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runServe(cmd.Context(), cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.addr, "addr", ":8080", "address to listen on")
	fl.StringVar(&f.database, "database", "", "database URL: sqlite:FILE or postgres://... (default $GONOMALY_DATABASE_URL, else sqlite:gonomaly.db)")
	f.cl.add(fl, "nats", "NATS server of the cluster whose workers fit this service's detectors, e.g. nats://127.0.0.1:4222")
	fl.StringVar(&f.redis, "redis", os.Getenv("GONOMALY_REDIS_URL"), "Redis URL for the shared L2 cache, e.g. redis://127.0.0.1:6379/0 (default $GONOMALY_REDIS_URL; empty: in-process cache only)")
	fl.StringArrayVar(&f.apiKeys, "api-key", nil, "an accepted API key (repeatable). Visible to every user in the process list: prefer $GONOMALY_API_KEYS (comma separated) or --api-key-hash")
	fl.StringArrayVar(&f.apiKeyHashes, "api-key-hash", nil, "an accepted API key given as its hex SHA-256 (printf %s KEY | sha256sum), so the key itself is stored nowhere (repeatable; also $GONOMALY_API_KEY_HASHES)")
	fl.StringVar(&f.logFormat, "log-format", "text", "log format: text or json")
	fl.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fl.IntVar(&f.pool.PoolSize, "db-pool-size", store.DefaultPoolSize, "idle database connections kept open (0 or negative: none)")
	fl.IntVar(&f.pool.MaxOverflow, "db-max-overflow", store.DefaultMaxOverflow, "database connections opened beyond the pool size under load (0 or negative: none)")
	fl.DurationVar(&f.pool.AcquireTimeout, "db-acquire-timeout", store.DefaultAcquireTimeout, "longest wait for a free database connection (> 0)")
	fl.DurationVar(&f.pool.ConnMaxLifetime, "db-recycle", store.DefaultConnMaxLifetime, "recycle database connections this old (> 0)")
	fl.DurationVar(&f.pool.PrePingAfter, "db-pre-ping", store.DefaultPrePingAfter, "ping a connection idle this long before use (0: always; negative: never)")
	fl.IntVar(&f.cacheMB, "cache-mb", 256, "in-process cache size in MiB (at least 1)")
	fl.DurationVar(&f.cacheTTL, "cache-ttl", server.DefaultCacheTTL, "how long detector metadata and models live in the cache (L1 and Redis); a retrain or delete invalidates them at once on every instance, so this only bounds the space of detectors no longer asked for (1s to 30 days, 720h)")
	fl.StringVar(&f.instance, "instance", "", "name of this instance: the instance_id label of every metric at /metrics, and in /healthz and the dashboard (default host:port of the listen address, the host's name for an address on every interface such as :8080)")
	f.maxBody = server.DefaultMaxBodyBytes
	fl.Var(&f.maxBody, "max-body-bytes", "largest request body accepted (a size, at least 1 byte)")
	fl.DurationVar(&f.requestTimeout, "request-timeout", server.DefaultRequestTimeout, "longest time a request may take (> 0)")
	fl.DurationVar(&f.trainWait, "train-wait", server.DefaultTrainWait, "a train request waits this long, then answers 202 with a job to poll (> 0)")
	fl.IntVar(&f.batchMax, "batch-max", 256, fmt.Sprintf("most single-row predictions scored in one micro-batch (1 to %d)", maxBatchMax))
	fl.DurationVar(&f.batchWait, "batch-wait", 0, "how long a micro-batch waits for more rows (0: take what is queued, no added latency; less than --request-timeout)")
	fl.DurationVar(&f.bodyTimeout, "body-timeout", 0, fmt.Sprintf("longest time reading one request body may take, whatever --request-timeout (0: the default, %s)", detector.HumanDuration(server.DefaultBodyReadTimeout)))
	fl.IntVar(&f.maxInFlight, "max-in-flight", 0, fmt.Sprintf("most API requests served at once; past it 503 with Retry-After (0: the default, %d; at most %d)", server.DefaultMaxInFlight, maxInFlightMax))
	fl.Var(&f.maxInFlightBytes, "max-in-flight-bytes", "most request body bytes held at once, by declared length; past it 503 (a size, at least --max-body-bytes; 0: the default, 1/16 of the memory this process may use)")
	fl.IntVar(&f.maxJobs, "max-jobs", 0, fmt.Sprintf("most training jobs waiting or running; past it 429 with Retry-After (0: the default, %d; at most %d)", server.DefaultMaxQueuedJobs, maxJobsMax))
	fl.Var(&f.trainMemory, "train-memory-budget", fmt.Sprintf("most memory one training may need by its detector's estimate, else 400 (a size; 0: the default, half of the memory this process may use shared by the %d trainings that may run at once)", server.DefaultTrainConcurrency))
	fl.Var(&f.trainMemoryLimit, "train-memory-limit", "a training job waits to start while the Go heap is over this, so that the fits in flight finish first (a size, or off; 0: the default, 3/4 of the memory this process may use)")
	fl.DurationVar(&f.trainMemoryWait, "train-memory-wait", server.DefaultTrainMemoryWait, "longest a training job waits for the heap to fall under --train-memory-limit; then it fails with \"the service is short of memory\" (> 0)")
	fl.DurationVar(&f.trainTime, "train-time-budget", 0, fmt.Sprintf("longest one training may take by its detector's estimate, else 400 (0: the default, %s)", detector.HumanDuration(server.DefaultTrainTimeBudget)))
	f.mon.register(fl)
	f.opt.register(fl)
	f.stream.register(fl)
	return cmd
}

// Upper bounds of the serve flags that size queues and buffers: past them a typo would cost
// memory rather than configure anything.
const (
	maxBatchMax    = 1 << 16
	maxInFlightMax = 1 << 20
	maxJobsMax     = 1 << 16
	maxInstanceLen = 128
	minCacheTTL    = time.Second
	maxCacheTTL    = 30 * 24 * time.Hour
)

// memoryLimit is a byteSize flag that also takes "off" (stored as -1: no limit).
type memoryLimit int64

func (m *memoryLimit) Set(s string) error {
	if strings.EqualFold(strings.TrimSpace(s), "off") {
		*m = -1
		return nil
	}
	var b byteSize
	if err := b.Set(s); err != nil {
		return err
	}
	*m = memoryLimit(b)
	return nil
}

func (m memoryLimit) String() string {
	if m < 0 {
		return "off"
	}
	return byteSize(m).String()
}

func (m memoryLimit) Type() string { return "size" }

// checkInstance validates an --instance name: it becomes a metric label's value and is
// shown in the dashboard.
func checkInstance(name string) error {
	switch {
	case name == "":
		return usagef("--instance: the name may not be empty (leave the flag out for host:port)")
	case len(name) > maxInstanceLen:
		return usagef("--instance %.20q...: at most %d bytes", name, maxInstanceLen)
	case !utf8.ValidString(name) || strings.IndexFunc(name, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0:
		return usagef("--instance %q: printable characters only", name)
	}
	return nil
}

// check validates the flags; each problem is a usage error naming the flag and its range.
func (f *serveFlags) check() error {
	mem := sysstat.MemoryLimit()
	switch {
	case f.maxBody < 1:
		return usagef("--max-body-bytes %d: must be at least 1 byte", f.maxBody)
	case f.requestTimeout <= 0:
		return usagef("--request-timeout %v: must be positive", f.requestTimeout)
	case f.trainWait <= 0:
		return usagef("--train-wait %v: must be positive", f.trainWait)
	case f.batchMax < 1 || f.batchMax > maxBatchMax:
		return usagef("--batch-max %d: must be from 1 to %d", f.batchMax, maxBatchMax)
	case f.batchWait < 0 || f.batchWait >= f.requestTimeout:
		return usagef("--batch-wait %v: must be at least 0 and less than --request-timeout (%v)", f.batchWait, f.requestTimeout)
	case f.bodyTimeout < 0:
		return usagef("--body-timeout %v: must not be negative (0: the default, 30s)", f.bodyTimeout)
	case f.maxInFlight < 0 || f.maxInFlight > maxInFlightMax:
		return usagef("--max-in-flight %d: must be from 1 to %d (0: the default, 256)", f.maxInFlight, maxInFlightMax)
	case f.maxInFlightBytes != 0 && f.maxInFlightBytes < f.maxBody:
		return usagef("--max-in-flight-bytes %s: must be at least --max-body-bytes (%s), or 0 for the default", f.maxInFlightBytes, f.maxBody)
	case f.maxJobs < 0 || f.maxJobs > maxJobsMax:
		return usagef("--max-jobs %d: must be from 1 to %d (0: the default, 16)", f.maxJobs, maxJobsMax)
	case int64(f.trainMemory) > mem:
		return usagef("--train-memory-budget %s: must be at most the %s this process may use (0: the default, half of it)", f.trainMemory, humanSize(mem))
	case f.trainTime < 0:
		return usagef("--train-time-budget %v: must not be negative (0: the default, 1h)", f.trainTime)
	case f.cacheTTL < minCacheTTL || f.cacheTTL > maxCacheTTL:
		return usagef("--cache-ttl %v: must be from 1s to 720h (30 days)", f.cacheTTL)
	case int64(f.trainMemoryLimit) > mem:
		return usagef("--train-memory-limit %s: must be at most the %s this process may use (0: the default, 3/4 of it; off: no limit)", f.trainMemoryLimit, humanSize(mem))
	case f.trainMemoryWait <= 0:
		return usagef("--train-memory-wait %v: must be positive", f.trainMemoryWait)
	case f.cacheMB < 1 || int64(f.cacheMB) > mem>>20:
		return usagef("--cache-mb %d: must be from 1 to %d, the MiB this process may use", f.cacheMB, mem>>20)
	case f.pool.AcquireTimeout <= 0:
		return usagef("--db-acquire-timeout %v: must be positive", f.pool.AcquireTimeout)
	case f.pool.ConnMaxLifetime <= 0:
		return usagef("--db-recycle %v: must be positive", f.pool.ConnMaxLifetime)
	}
	return f.stream.check()
}

// storeOptions are the pool flags as store.Options, whose zero values mean the defaults: a
// pool size or overflow of 0 given on the command line means none, a pre-ping of 0 always.
func (f *serveFlags) storeOptions() store.Options {
	o := f.pool
	if o.PoolSize == 0 {
		o.PoolSize = -1
	}
	if o.MaxOverflow == 0 {
		o.MaxOverflow = -1
	}
	if o.PrePingAfter == 0 {
		o.PrePingAfter = time.Nanosecond
	}
	return o
}

func runServe(ctx context.Context, cmd *cobra.Command, f *serveFlags) error {
	log, err := newLogger(cmd.ErrOrStderr(), f.logFormat, f.logLevel)
	if err != nil {
		return err
	}
	if err := f.opt.apply(cmd, f, log); err != nil {
		return err
	}
	if err := f.check(); err != nil {
		return err
	}
	if cmd.Flags().Changed("instance") {
		if err := checkInstance(f.instance); err != nil {
			return err
		}
	}
	monOpts, webhook, err := f.mon.options(cmd, log)
	if err != nil {
		return err
	}
	if webhook != nil {
		defer func() {
			wctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := webhook.Close(wctx); err != nil {
				log.Warn("alert webhook: undelivered alerts at shutdown", "err", err)
			}
		}()
	}
	if len(f.apiKeys) > 0 {
		log.Warn("--api-key puts the key in the process list; use $GONOMALY_API_KEYS or --api-key-hash")
	}
	dbURL := f.database
	if dbURL == "" {
		dbURL = store.DefaultURL()
	}
	keys := f.apiKeys
	for _, k := range strings.Split(os.Getenv("GONOMALY_API_KEYS"), ",") {
		if k = strings.TrimSpace(k); k != "" {
			keys = append(keys, k)
		}
	}
	hashes := make([]string, 0, len(keys))
	for _, k := range keys {
		if k == "" {
			return usagef("--api-key: a key may not be empty")
		}
		hashes = append(hashes, server.HashAPIKey(k))
	}
	given := f.apiKeyHashes
	for _, h := range strings.Split(os.Getenv("GONOMALY_API_KEY_HASHES"), ",") {
		if h = strings.TrimSpace(h); h != "" {
			given = append(given, h)
		}
	}
	for _, h := range given {
		h = strings.ToLower(strings.TrimSpace(h))
		if len(h) != 64 || strings.Trim(h, "0123456789abcdef") != "" {
			return usagef("--api-key-hash %q: want 64 hex digits (the SHA-256 of the key)", h)
		}
		hashes = append(hashes, h)
	}
	l, err := net.Listen("tcp", f.addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	st, err := store.Open(ctx, dbURL, f.storeOptions())
	if err != nil {
		l.Close()
		return fmt.Errorf("serve: %w", err)
	}
	defer st.Close()
	// go-redis reports dial failures through a global logger of its own; route them to ours at
	// debug level (the cache logs each outage once, at warn).
	redis.SetLogger(redisLogger{log})
	c, err := cache.New(ctx, cache.Options{MaxBytes: uint64(f.cacheMB) << 20, RedisURL: f.redis, Logger: log})
	if err != nil {
		l.Close()
		return fmt.Errorf("serve: %w", err)
	}
	defer c.Close()
	cfg := server.Config{
		Monitor: monOpts,
		Store:   st, Cache: c, APIKeyHashes: hashes, Logger: log,
		MaxBodyBytes: int64(f.maxBody), RequestTimeout: f.requestTimeout, TrainWait: f.trainWait,
		Batch:           optimize.BatchOptions{MaxBatch: f.batchMax, MaxWait: f.batchWait, Workers: f.opt.workers},
		BodyReadTimeout: f.bodyTimeout, MaxInFlight: f.maxInFlight, MaxInFlightBytes: int64(f.maxInFlightBytes),
		MaxQueuedJobs: f.maxJobs, TrainMemoryBudget: int64(f.trainMemory), TrainTimeBudget: f.trainTime,
		TrainMemoryLimit: int64(f.trainMemoryLimit), TrainMemoryWait: f.trainMemoryWait,
		Instance: f.instance, CacheTTL: f.cacheTTL,
	}
	if cfg.Instance == "" {
		cfg.Instance = server.DefaultInstance(l.Addr())
	}
	if f.cl.resolve() != "" {
		conn, err := f.cl.connect(ctx, "gonomaly serve "+cfg.Instance)
		if err != nil {
			l.Close()
			return fmt.Errorf("serve: %w", err)
		}
		defer conn.Close()
		cfg.Cluster = conn
	}
	f.stream.apply(&cfg)
	srv, err := server.New(ctx, cfg)
	if err != nil {
		l.Close()
		return err
	}
	log.Info("gonomaly serve", "version", version, "instance", cfg.Instance, "database", redactURL(dbURL), "redis", redactURL(f.redis), "nats", redactURL(f.cl.url))
	return srv.Run(ctx, l)
}

// redisLogger passes go-redis's messages to slog at debug level.
type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, "redis: "+fmt.Sprintf(format, v...))
}

func newLogger(w interface{ Write([]byte) (int, error) }, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, usagef("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, usagef("--log-format %q: want text or json", format)
	}
}

// redactURL hides a password in a URL for the logs.
func redactURL(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return u
	}
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return u
	}
	user, _, hasPass := strings.Cut(rest[:at], ":")
	if !hasPass {
		return u
	}
	return scheme + "://" + user + ":xxxxx" + rest[at:]
}

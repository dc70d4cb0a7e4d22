package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/gonomaly/gonomaly/cache"
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
	apiKeys, apiKeyHashes                      []string
	pool                                       store.Options
	cacheMB                                    int
	maxBody                                    int64
	requestTimeout, trainWait, batchWait       time.Duration
	batchMax                                   int
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
--redis redis://... adds Redis as a shared second cache level. With --api-key (or
$GONOMALY_API_KEYS, comma separated; or --api-key-hash with the key's SHA-256, so that no
configuration file holds a key) every /api request needs "Authorization: Bearer KEY" and
/debug/pprof/ is served behind the same keys. SIGINT or SIGTERM shuts down gracefully:
requests in flight finish and every answered result is stored.`,
		Example: `  gonomaly serve
  gonomaly serve --addr :9000 --database postgres://postgres@127.0.0.1:5432/test --redis redis://127.0.0.1:6379/0
  GONOMALY_API_KEYS=s3cret gonomaly serve --log-format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runServe(cmd.Context(), cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.addr, "addr", ":8080", "address to listen on")
	fl.StringVar(&f.database, "database", "", "database URL: sqlite:FILE or postgres://... (default $GONOMALY_DATABASE_URL, else sqlite:gonomaly.db)")
	fl.StringVar(&f.redis, "redis", os.Getenv("GONOMALY_REDIS_URL"), "Redis URL for the shared L2 cache, e.g. redis://127.0.0.1:6379/0 (default $GONOMALY_REDIS_URL; empty: in-process cache only)")
	fl.StringArrayVar(&f.apiKeys, "api-key", nil, "an accepted API key (repeatable; also $GONOMALY_API_KEYS, comma separated); kept only as a SHA-256 hash")
	fl.StringArrayVar(&f.apiKeyHashes, "api-key-hash", nil, "an accepted API key given as its hex SHA-256 (printf %s KEY | sha256sum), so the key itself is stored nowhere (repeatable; also $GONOMALY_API_KEY_HASHES)")
	fl.StringVar(&f.logFormat, "log-format", "text", "log format: text or json")
	fl.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fl.IntVar(&f.pool.PoolSize, "db-pool-size", store.DefaultPoolSize, "database connections kept open")
	fl.IntVar(&f.pool.MaxOverflow, "db-max-overflow", store.DefaultMaxOverflow, "database connections opened beyond the pool size under load")
	fl.DurationVar(&f.pool.AcquireTimeout, "db-acquire-timeout", store.DefaultAcquireTimeout, "longest wait for a free database connection")
	fl.DurationVar(&f.pool.ConnMaxLifetime, "db-recycle", store.DefaultConnMaxLifetime, "recycle database connections this old")
	fl.DurationVar(&f.pool.PrePingAfter, "db-pre-ping", store.DefaultPrePingAfter, "ping a connection idle this long before use (negative: never)")
	fl.IntVar(&f.cacheMB, "cache-mb", 256, "in-process cache size in MiB")
	fl.Int64Var(&f.maxBody, "max-body-bytes", 32<<20, "largest request body accepted")
	fl.DurationVar(&f.requestTimeout, "request-timeout", time.Minute, "longest time a request may take")
	fl.DurationVar(&f.trainWait, "train-wait", 10*time.Second, "a train request waits this long, then answers 202 with a job to poll")
	fl.IntVar(&f.batchMax, "batch-max", 256, "most single-row predictions scored in one micro-batch")
	fl.DurationVar(&f.batchWait, "batch-wait", 0, "how long a micro-batch waits for more rows (0: take what is queued, no added latency)")
	return cmd
}

func runServe(ctx context.Context, cmd *cobra.Command, f *serveFlags) error {
	log, err := newLogger(cmd.ErrOrStderr(), f.logFormat, f.logLevel)
	if err != nil {
		return err
	}
	if f.batchMax < 1 {
		return usagef("--batch-max %d: must be at least 1", f.batchMax)
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
	st, err := store.Open(ctx, dbURL, f.pool)
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
	srv, err := server.New(ctx, server.Config{
		Store: st, Cache: c, APIKeyHashes: hashes, Logger: log,
		MaxBodyBytes: f.maxBody, RequestTimeout: f.requestTimeout, TrainWait: f.trainWait,
		Batch: optimize.BatchOptions{MaxBatch: f.batchMax, MaxWait: f.batchWait},
	})
	if err != nil {
		l.Close()
		return err
	}
	log.Info("gonomaly serve", "version", version, "database", redactURL(dbURL), "redis", redactURL(f.redis))
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

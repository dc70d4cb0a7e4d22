package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gonomaly/gonomaly/store"
	"github.com/gonomaly/gonomaly/store/internal/backend"
)

func init() {
	open := func(ctx context.Context, url string, opts store.Options) (store.Store, error) {
		return Open(ctx, url, opts)
	}
	store.Register("postgres", open)
	store.Register("postgresql", open)
}

//go:embed migrations/*.sql
var migrationFS embed.FS

// DB is a store in a PostgreSQL database, through a pgx connection pool. It implements
// store.Store (its record methods are those every back end shares) and store.PoolStater.
type DB struct {
	pool   *pgxpool.Pool
	opts   store.Options
	where  string // host/database, for errors (never the password)
	closed atomic.Bool

	// releaseMu makes "count the idle connections, then release or close" one step, so
	// connections released at the same moment never leave more than PoolSize idle.
	releaseMu sync.Mutex

	// The record methods, written once for both back ends over engine and dialect.
	*records
}

// records is backend.Records under a name that keeps the embedded field unexported.
type records = backend.Records

var _ store.Store = (*DB)(nil)
var _ store.PoolStater = (*DB)(nil)

// Open connects to the database that url names (a libpq URL or key=value string; any
// setting PostgreSQL knows, such as search_path, may be given as a query parameter) and
// migrates it to the current schema.
//
// The pool follows opts like SQLAlchemy's QueuePool: connections are opened on demand, up to
// PoolSize+MaxOverflow; a connection released while PoolSize others are idle is closed, so
// at most PoolSize stay open when the load drops (and those close after 30 minutes idle).
// A connection idle for PrePingAfter is pinged before use, the health check runs every
// HealthCheckPeriod, and connections are recycled after ConnMaxLifetime (with up to 5 %
// jitter, so they do not all reconnect at once).
func Open(ctx context.Context, url string, opts store.Options) (*DB, error) {
	opts = opts.WithDefaults()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("store: postgres: %w", err)
	}
	cfg.MaxConns = int32(opts.MaxConns())
	cfg.MinConns = 0
	cfg.MaxConnLifetime = opts.ConnMaxLifetime
	cfg.MaxConnLifetimeJitter = opts.ConnMaxLifetime / 20
	cfg.HealthCheckPeriod = opts.HealthCheckPeriod
	ping := opts.PrePingAfter
	cfg.ShouldPing = func(_ context.Context, p pgxpool.ShouldPingParams) bool {
		return ping >= 0 && p.IdleDuration >= ping
	}
	s := &DB{opts: opts, where: fmt.Sprintf("%s:%d/%s", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database)}
	s.records = backend.NewRecords(engine{s}, dialect{})
	s.pool, err = pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: postgres %s: %w", s.where, err)
	}
	// The first connection is dialled here, which can take longer than AcquireTimeout (meant
	// for a warm pool's waits, and set as low as 100 ms): it gets up to firstConnTimeout, then
	// waits idle for the migrations.
	wctx, cancel := context.WithTimeout(ctx, max(opts.AcquireTimeout, firstConnTimeout))
	c, err := s.pool.Acquire(wctx)
	cancel()
	if err != nil {
		s.pool.Close()
		return nil, fmt.Errorf("store: postgres %s: connecting: %w", s.where, err)
	}
	c.Release()
	if err := s.migrate(ctx); err != nil {
		s.pool.Close()
		return nil, err
	}
	return s, nil
}

// firstConnTimeout bounds how long Open waits for its first connection.
const firstConnTimeout = 10 * time.Second

// Ping checks that the database answers.
func (s *DB) Ping(ctx context.Context) error {
	if err := s.with(ctx, func(c *pgxpool.Conn) error { return c.Ping(ctx) }); err != nil {
		return fmt.Errorf("store: postgres %s: ping: %w", s.where, err)
	}
	return nil
}

// Close closes the pool, waiting for connections in use to be released.
func (s *DB) Close() error {
	s.closed.Store(true)
	s.pool.Close()
	return nil
}

// PoolStats reports the pool.
func (s *DB) PoolStats() store.PoolStats {
	st := s.pool.Stat()
	return store.PoolStats{
		MaxConns:     int(st.MaxConns()),
		OpenConns:    int(st.TotalConns()),
		InUse:        int(st.AcquiredConns()),
		Idle:         int(st.IdleConns()),
		WaitCount:    st.EmptyAcquireCount(),
		WaitDuration: st.EmptyAcquireWaitTime(),
	}
}

var errClosed = errors.New("the store is closed")

// with runs fn on a pooled connection (see acquire). Its errors are for the caller to prefix
// with the operation.
func (s *DB) with(ctx context.Context, fn func(c *pgxpool.Conn) error) error {
	c, err := s.acquire(ctx)
	if err != nil {
		return err
	}
	defer s.release(c)
	return fn(c)
}

// acquire takes a pooled connection, waiting at most AcquireTimeout for one; give it back
// with release. A connection released while PoolSize others sit idle is an overflow
// connection: it is closed rather than kept.
func (s *DB) acquire(ctx context.Context) (*pgxpool.Conn, error) {
	if s.closed.Load() {
		return nil, errClosed
	}
	actx, cancel := context.WithTimeout(ctx, s.opts.AcquireTimeout)
	c, err := s.pool.Acquire(actx)
	cancel()
	if err != nil {
		return nil, backend.AcquireError("a connection", ctx.Err(), err, s.opts.AcquireTimeout)
	}
	return c, nil
}

func (s *DB) release(c *pgxpool.Conn) {
	s.releaseMu.Lock()
	if int(s.pool.Stat().IdleConns()) < s.opts.IdleConns() {
		c.Release()
		s.releaseMu.Unlock()
		return
	}
	conn := c.Hijack()
	s.releaseMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	conn.Close(ctx)
}

// migrate applies the pending migrations in one transaction that first takes an advisory
// lock keyed by the schema: two processes starting at once run them one after the other,
// and the second finds them applied. PostgreSQL's DDL is transactional, so a failed
// migration leaves nothing behind.
func (s *DB) migrate(ctx context.Context) error {
	ms, err := backend.Migrations(migrationFS, "migrations")
	if err != nil {
		return fmt.Errorf("store: postgres %s: %w", s.where, err)
	}
	err = backend.Migrate(ctx, engine{s}, dialect{}, ms,
		`SELECT pg_advisory_xact_lock(hashtext('gonomaly.schema_migrations'), hashtext(coalesce(current_schema(), '')))`,
		`CREATE TABLE IF NOT EXISTS schema_migrations (
			version    integer     PRIMARY KEY,
			name       text        NOT NULL,
			applied_at timestamptz NOT NULL
		)`)
	if err != nil {
		return fmt.Errorf("store: postgres %s: migrate: %w", s.where, err)
	}
	return nil
}

// SQLSTATE codes the store maps to its errors.
const (
	uniqueViolation     = "23505"
	foreignKeyViolation = "23503"
	notNullViolation    = "23502"
	checkViolation      = "23514"
)

func pgCode(err error) string {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// isInvalid reports whether code is PostgreSQL refusing a value: a violated check or
// not-null constraint, a data exception (class 22: a number or time out of range, invalid
// text representation, character not in repertoire, untranslatable character, a NUL in
// text, ...) or a program limit (class 54: a value too large for an index row, a document
// nested too deep).
func isInvalid(code string) bool {
	switch {
	case code == notNullViolation, code == checkViolation:
		return true
	case len(code) == 5 && (code[:2] == "22" || code[:2] == "54"):
		return true
	}
	return false
}

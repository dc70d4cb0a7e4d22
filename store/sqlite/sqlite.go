package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/gonomaly/gonomaly/store"
	"github.com/gonomaly/gonomaly/store/internal/backend"
)

func init() {
	open := func(ctx context.Context, url string, opts store.Options) (store.Store, error) {
		return Open(ctx, url, opts)
	}
	for _, scheme := range []string{"sqlite", "sqlite3", "file", ""} {
		store.Register(scheme, open)
	}
}

//go:embed migrations/*.sql
var migrationFS embed.FS

// DB is a store in an SQLite file. It holds two connection pools on the file: one writer
// connection, through which every write goes one at a time (SQLite allows one writer), and a
// pool of read-only connections that read concurrently with it and with each other (WAL mode).
type DB struct {
	path   string
	opts   store.Options
	w, r   *sql.DB
	wgate  gate
	rgate  gate
	closed atomic.Bool

	// Prepared statements of the hot paths (database/sql prepares each once per connection).
	getDetector, getDetectors, insertResult *sql.Stmt
}

var _ store.Store = (*DB)(nil)
var _ store.PoolStater = (*DB)(nil)

// Open opens (creating it when missing) the SQLite database that url names and migrates it
// to the current schema. url is "sqlite:PATH", "sqlite:///ABS/PATH", "file:PATH" or a bare
// path; query parameters are refused, the store sets its own: WAL journal, synchronous=NORMAL
// (a crash of the process loses nothing committed; a power cut may lose the last commits),
// foreign keys on, a busy timeout of opts.BusyTimeout, and BEGIN IMMEDIATE for write
// transactions so two processes never deadlock upgrading a read lock.
func Open(ctx context.Context, url string, opts store.Options) (*DB, error) {
	path, err := parseURL(url)
	if err != nil {
		return nil, err
	}
	opts = opts.WithDefaults()
	busy := strconv.FormatInt(opts.BusyTimeout.Milliseconds(), 10)
	s := &DB{path: path, opts: opts}

	s.w, err = sql.Open("sqlite", path+"?_busy_timeout="+busy+"&_journal_mode=WAL&_synchronous=NORMAL&_foreign_keys=1&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("store: sqlite %s: %w", path, err)
	}
	s.w.SetMaxOpenConns(1)
	s.w.SetMaxIdleConns(1)
	s.w.SetConnMaxLifetime(opts.ConnMaxLifetime)
	s.wgate = newGate(1)

	readers := opts.MaxConns()
	s.r, err = sql.Open("sqlite", path+"?_busy_timeout="+busy+"&_foreign_keys=1&_query_only=1")
	if err != nil {
		s.w.Close()
		return nil, fmt.Errorf("store: sqlite %s: %w", path, err)
	}
	s.r.SetMaxOpenConns(readers)
	s.r.SetMaxIdleConns(opts.IdleConns())
	s.r.SetConnMaxLifetime(opts.ConnMaxLifetime)
	s.rgate = newGate(readers)

	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.prepare(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.Ping(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func parseURL(url string) (string, error) {
	rest := url
	switch store.Scheme(url) {
	case "sqlite", "sqlite3", "file":
		rest = url[strings.IndexByte(url, ':')+1:]
	case "":
	default:
		return "", fmt.Errorf("store: sqlite: %q is not an SQLite URL (sqlite:PATH, file:PATH or a path)", url)
	}
	rest = strings.TrimPrefix(rest, "//") // sqlite:///abs/path and sqlite://relative/path
	switch {
	case rest == "":
		return "", fmt.Errorf("store: sqlite: %q names no file", url)
	case rest == ":memory:" || strings.Contains(rest, "mode=memory"):
		return "", fmt.Errorf("store: sqlite: %q: in-memory databases are not supported (each connection would see its own); use a file", url)
	case strings.ContainsAny(rest, "?#"):
		return "", fmt.Errorf("store: sqlite: %q: query parameters are not supported; the store sets its own", url)
	}
	return rest, nil
}

// Path is the database file.
func (s *DB) Path() string { return s.path }

// Ping checks that the file can be read.
func (s *DB) Ping(ctx context.Context) error {
	err := s.read(ctx, func() error {
		var n int
		return s.r.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations").Scan(&n)
	})
	if err != nil {
		return fmt.Errorf("store: sqlite %s: ping: %w", s.path, err)
	}
	return nil
}

func (s *DB) prepare(ctx context.Context) error {
	var err error
	prep := func(db *sql.DB, query string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var st *sql.Stmt
		st, err = db.PrepareContext(ctx, query)
		return st
	}
	s.getDetector = prep(s.r, "SELECT "+detectorCols+", model FROM detectors WHERE id = $1")
	s.getDetectors = prep(s.r, "SELECT "+detectorCols+" FROM detectors WHERE id IN (SELECT value FROM json_each($1))")
	s.insertResult = prep(s.w, insertResult)
	if err != nil {
		return fmt.Errorf("store: sqlite %s: prepare: %w", s.path, err)
	}
	return nil
}

// Close closes both pools.
func (s *DB) Close() error {
	s.closed.Store(true)
	var errs []error
	for _, st := range []*sql.Stmt{s.getDetector, s.getDetectors, s.insertResult} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(append(errs, s.r.Close(), s.w.Close())...)
}

// PoolStats reports the readers' pool; waits count those for the writer too.
func (s *DB) PoolStats() store.PoolStats {
	st := s.r.Stats()
	return store.PoolStats{
		MaxConns:     st.MaxOpenConnections,
		OpenConns:    st.OpenConnections,
		InUse:        st.InUse,
		Idle:         st.Idle,
		WaitCount:    s.rgate.waits.Load() + s.wgate.waits.Load(),
		WaitDuration: time.Duration(s.rgate.waitNs.Load() + s.wgate.waitNs.Load()),
	}
}

// migrate applies the pending migrations in one write transaction. BEGIN IMMEDIATE takes the
// database's write lock first, so a second process opening the file at the same time waits
// (busy timeout) and then finds the migrations applied.
func (s *DB) migrate(ctx context.Context) error {
	ms, err := backend.Migrations(migrationFS, "migrations")
	if err != nil {
		return fmt.Errorf("store: sqlite %s: %w", s.path, err)
	}
	err = s.write(ctx, func() error {
		tx, err := s.w.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			name       TEXT    NOT NULL,
			applied_at INTEGER NOT NULL
		) STRICT`); err != nil {
			return err
		}
		var current int
		if err := tx.QueryRowContext(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&current); err != nil {
			return err
		}
		pending, err := backend.Pending(ms, current)
		if err != nil {
			return err
		}
		for _, m := range pending {
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return fmt.Errorf("migration %d (%s): %w", m.Version, m.Name, err)
			}
			if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
				m.Version, m.Name, backend.Micros(backend.Now())); err != nil {
				return err
			}
		}
		return tx.Commit()
	})
	if err != nil {
		return fmt.Errorf("store: sqlite %s: migrate: %w", s.path, err)
	}
	return nil
}

// read runs fn holding a reader slot, write holding the writer; both wait at most
// AcquireTimeout for it. Their errors are for the caller to prefix with the operation.
func (s *DB) read(ctx context.Context, fn func() error) error {
	return s.run(ctx, &s.rgate, "a reader connection", fn)
}

func (s *DB) write(ctx context.Context, fn func() error) error {
	return s.run(ctx, &s.wgate, "the writer connection", fn)
}

var errClosed = errors.New("the store is closed")

func (s *DB) run(ctx context.Context, g *gate, waitingFor string, fn func() error) error {
	if s.closed.Load() {
		return errClosed
	}
	if err := g.acquire(ctx, s.opts.AcquireTimeout); err != nil {
		return fmt.Errorf("waiting for %s: %w", waitingFor, err)
	}
	defer g.release()
	return fn()
}

// gate bounds how many callers use a pool at once, so that the wait for a connection (and
// only that wait) can time out.
type gate struct {
	ch     chan struct{}
	waits  atomic.Int64
	waitNs atomic.Int64
}

func newGate(n int) gate { return gate{ch: make(chan struct{}, n)} }

func (g *gate) acquire(ctx context.Context, timeout time.Duration) error {
	select {
	case g.ch <- struct{}{}:
		return nil
	default:
	}
	t0 := time.Now()
	defer func() { g.waits.Add(1); g.waitNs.Add(int64(time.Since(t0))) }()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case g.ch <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return fmt.Errorf("%w within %v", store.ErrPoolTimeout, timeout)
	}
}

func (g *gate) release() { <-g.ch }

// code is the SQLite extended result code of err, or 0.
func code(err error) int {
	var e *sqlite.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return 0
}

func isUnique(err error) bool {
	c := code(err)
	return c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY || c == sqlite3.SQLITE_CONSTRAINT_UNIQUE
}

func isForeignKey(err error) bool { return code(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY }

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
// It implements store.Store (its record methods are those every back end shares) and
// store.PoolStater.
type DB struct {
	path   string
	opts   store.Options
	w, r   *sql.DB
	wgate  gate
	rgate  gate
	closed atomic.Bool

	// The record methods, written once for both back ends over engine and dialect.
	*records

	// The readers' and the writer's pools as the record code runs statements on them, with
	// their prepared statements (see prepare).
	reader, writer *conn
}

// records is backend.Records under a name that keeps the embedded field unexported.
type records = backend.Records

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
	s.records = backend.NewRecords(engine{s}, dialect{})

	// The journal mode is not in the DSN: setWAL switches it, retrying while other processes
	// hold the file's locks.
	s.w, err = sql.Open("sqlite", path+"?_busy_timeout="+busy+"&_synchronous=NORMAL&_foreign_keys=1&_txlock=immediate")
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
	s.reader, s.writer = &conn{q: s.r}, &conn{q: s.w}

	if err := s.setWAL(ctx); err != nil {
		s.Close()
		return nil, err
	}
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
	err := engine{s}.Read(ctx, func(c backend.Conn) error {
		var n int
		return c.QueryRow(ctx, "SELECT count(*) FROM schema_migrations").Scan(&n)
	})
	if err != nil {
		return fmt.Errorf("store: sqlite %s: ping: %w", s.path, err)
	}
	return nil
}

// prepare prepares the statements of backend.HotQueries, the calls the server makes per
// request: the reads on the readers and the writes on the writer (database/sql prepares each
// once per connection).
func (s *DB) prepare(ctx context.Context) error {
	reads, writes := backend.HotQueries(dialect{})
	writes = append(writes, insertResultsQueries...)
	var err error
	prep := func(db *sql.DB, queries []string) map[string]*sql.Stmt {
		stmts := make(map[string]*sql.Stmt, len(queries))
		for _, query := range queries {
			if err == nil {
				stmts[query], err = db.PrepareContext(ctx, query)
			}
		}
		return stmts
	}
	s.reader.stmts, s.writer.stmts = prep(s.r, reads), prep(s.w, writes)
	if err != nil {
		return fmt.Errorf("store: sqlite %s: prepare: %w", s.path, err)
	}
	return nil
}

// Close closes both pools.
func (s *DB) Close() error {
	s.closed.Store(true)
	var errs []error
	for _, c := range []*conn{s.reader, s.writer} {
		for _, st := range c.stmts {
			if st != nil {
				errs = append(errs, st.Close())
			}
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

// setWAL puts the file in WAL mode (which the file keeps), on the writer connection.
//
// On a new file several processes opening it at once race to switch it: the switch reads the
// file, then upgrades to an exclusive lock, and SQLite refuses that upgrade with SQLITE_BUSY
// at once, without the busy timeout, when another connection holds a read lock (waiting could
// deadlock two upgrading connections). The switch was in the DSN, so the open of the writer
// connection failed and the first migration with it ("migrate: database is locked", 1 to 7 of
// 80 processes in TestConcurrentProcessOpen). Here a busy switch is retried, with a growing
// pause, for up to the busy timeout: once one process has switched the file, the others find
// it in WAL mode and have nothing to do.
func (s *DB) setWAL(ctx context.Context) error {
	deadline := time.Now().Add(s.opts.BusyTimeout)
	pause := time.Millisecond
	for {
		var mode string
		err := s.w.QueryRowContext(ctx, "PRAGMA journal_mode = WAL").Scan(&mode)
		switch {
		case err == nil && strings.EqualFold(mode, "wal"):
			return nil
		case err == nil:
			return fmt.Errorf("store: sqlite %s: journal mode is %q, not wal", s.path, mode)
		case code(err)&0xff != sqlite3.SQLITE_BUSY || time.Now().After(deadline):
			return fmt.Errorf("store: sqlite %s: set WAL journal mode: %w", s.path, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("store: sqlite %s: set WAL journal mode: %w", s.path, ctx.Err())
		case <-time.After(pause):
		}
		pause = min(2*pause, 50*time.Millisecond)
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
	err = backend.Migrate(ctx, engine{s}, dialect{}, ms, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			name       TEXT    NOT NULL,
			applied_at INTEGER NOT NULL
		) STRICT`)
	if err != nil {
		return fmt.Errorf("store: sqlite %s: migrate: %w", s.path, err)
	}
	return nil
}

var errClosed = errors.New("the store is closed")

// acquire takes a slot of g, waiting at most AcquireTimeout for it; release it with
// g.release. Its errors are for the caller to prefix with the operation.
func (s *DB) acquire(ctx context.Context, g *gate, waitingFor string) error {
	if s.closed.Load() {
		return errClosed
	}
	if err := g.acquire(ctx, s.opts.AcquireTimeout); err != nil {
		return fmt.Errorf("waiting for %s: %w", waitingFor, err)
	}
	return nil
}

const (
	aReader   = "a reader connection"
	theWriter = "the writer connection"
)

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

// isInvalid reports whether err is SQLite refusing a value: a violated check or not-null
// constraint (a NaN binds as NULL), a value of the wrong type for a STRICT column, a string
// or blob over SQLite's size limit.
func isInvalid(err error) bool {
	switch c := code(err); {
	case c == sqlite3.SQLITE_CONSTRAINT_CHECK, c == sqlite3.SQLITE_CONSTRAINT_NOTNULL, c == sqlite3.SQLITE_CONSTRAINT_DATATYPE:
		return true
	case c&0xff == sqlite3.SQLITE_TOOBIG, c&0xff == sqlite3.SQLITE_MISMATCH:
		return true
	}
	return false
}

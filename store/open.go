package store

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// EnvDatabaseURL is the environment variable that DefaultURL reads.
const EnvDatabaseURL = "GONOMALY_DATABASE_URL"

// DefaultURL is the database the CLI and the server use when none is given: the value of
// $GONOMALY_DATABASE_URL when it is set, else "sqlite:gonomaly.db", an SQLite file named
// gonomaly.db in the working directory (created on first use).
func DefaultURL() string {
	if u := strings.TrimSpace(os.Getenv(EnvDatabaseURL)); u != "" {
		return u
	}
	return "sqlite:gonomaly.db"
}

// Options tune a store's connection pool. The zero value gives the defaults, which are the
// performance-tuning guide's SQLAlchemy settings (pool_size=20, max_overflow=30,
// pool_timeout=30, pool_recycle=3600, pool_pre_ping=True) and hold under a load test of 16
// concurrent clients on both back ends (see storetest's Load check).
type Options struct {
	// PoolSize is how many idle connections the pool keeps for reuse (default 20; negative:
	// none). On SQLite it applies to the readers; SQLite always has exactly one writer
	// connection.
	PoolSize int
	// MaxOverflow is how many connections the pool may open beyond PoolSize under load
	// (default 30; negative: none). They are closed when released while PoolSize others
	// are idle.
	MaxOverflow int
	// AcquireTimeout bounds the wait for a free connection (default 30s); past it a call
	// fails with ErrPoolTimeout. The query itself is bounded only by the caller's context.
	AcquireTimeout time.Duration
	// ConnMaxLifetime recycles a connection this long after it was opened (default 1h).
	ConnMaxLifetime time.Duration
	// HealthCheckPeriod is how often idle connections are checked and expired ones closed
	// (default 1m). PostgreSQL only.
	HealthCheckPeriod time.Duration
	// PrePingAfter: a connection idle this long is pinged before it is handed out, so a
	// connection the server dropped is replaced rather than failing a query (default 1s;
	// negative: never ping). PostgreSQL only; SQLite has no network connection to lose.
	PrePingAfter time.Duration
	// BusyTimeout is how long SQLite waits for a lock another process holds (default 5s).
	BusyTimeout time.Duration
}

// The defaults of Options.
const (
	DefaultPoolSize          = 20
	DefaultMaxOverflow       = 30
	DefaultAcquireTimeout    = 30 * time.Second
	DefaultConnMaxLifetime   = time.Hour
	DefaultHealthCheckPeriod = time.Minute
	DefaultPrePingAfter      = time.Second
	DefaultBusyTimeout       = 5 * time.Second
)

// WithDefaults returns o with every zero field set to its default. It is idempotent: a
// negative PoolSize or MaxOverflow (meaning none) stays as it is.
func (o Options) WithDefaults() Options {
	if o.PoolSize == 0 {
		o.PoolSize = DefaultPoolSize
	}
	if o.MaxOverflow == 0 {
		o.MaxOverflow = DefaultMaxOverflow
	}
	if o.AcquireTimeout <= 0 {
		o.AcquireTimeout = DefaultAcquireTimeout
	}
	if o.ConnMaxLifetime <= 0 {
		o.ConnMaxLifetime = DefaultConnMaxLifetime
	}
	if o.HealthCheckPeriod <= 0 {
		o.HealthCheckPeriod = DefaultHealthCheckPeriod
	}
	if o.PrePingAfter == 0 {
		o.PrePingAfter = DefaultPrePingAfter
	}
	if o.BusyTimeout <= 0 {
		o.BusyTimeout = DefaultBusyTimeout
	}
	return o
}

// IdleConns is how many idle connections a pool with these options keeps: PoolSize, or 0
// when it is negative. Call it on WithDefaults' result.
func (o Options) IdleConns() int { return max(o.PoolSize, 0) }

// MaxConns is the most connections a pool with these options opens: PoolSize plus
// MaxOverflow (a negative one counting 0), and at least 1. Call it on WithDefaults' result.
func (o Options) MaxConns() int { return max(o.IdleConns()+max(o.MaxOverflow, 0), 1) }

// OpenFunc opens a store from a URL; a back end registers one for each URL scheme it serves.
// It runs the back end's migrations before it returns.
type OpenFunc func(ctx context.Context, url string, opts Options) (Store, error)

var (
	driversMu sync.RWMutex
	drivers   = map[string]OpenFunc{}
)

// Register makes a back end available to Open under a URL scheme ("postgres", "sqlite"; ""
// for a bare path with no scheme). Back ends call it from init, as database/sql drivers do,
// so a program imports the back ends it wants:
//
//	import _ "github.com/gonomaly/gonomaly/store/sqlite"
//
// Register panics when the scheme is taken or open is nil.
func Register(scheme string, open OpenFunc) {
	driversMu.Lock()
	defer driversMu.Unlock()
	scheme = strings.ToLower(scheme)
	if open == nil {
		panic("store: Register: open is nil for scheme " + scheme)
	}
	if _, dup := drivers[scheme]; dup {
		panic("store: Register called twice for scheme " + scheme)
	}
	drivers[scheme] = open
}

// Schemes lists the registered URL schemes, sorted ("" is a bare path).
func Schemes() []string {
	driversMu.RLock()
	defer driversMu.RUnlock()
	s := make([]string, 0, len(drivers))
	for k := range drivers {
		s = append(s, k)
	}
	slices.Sort(s)
	return s
}

// Open opens the store at url with the back end registered for its scheme and brings its
// schema up to date. URLs look like
//
//	sqlite:gonomaly.db        an SQLite file (relative to the working directory)
//	sqlite:///var/lib/g.db    an SQLite file by absolute path; file:... and a bare path too
//	postgres://user@host:5432/db?sslmode=disable&search_path=gonomaly
//
// opts tunes the connection pool; its zero value gives the defaults.
func Open(ctx context.Context, url string, opts Options) (Store, error) {
	scheme := Scheme(url)
	driversMu.RLock()
	open := drivers[scheme]
	driversMu.RUnlock()
	if open == nil {
		hint := ""
		switch scheme {
		case "sqlite", "file", "":
			hint = " (import _ \"github.com/gonomaly/gonomaly/store/sqlite\")"
		case "postgres", "postgresql":
			hint = " (import _ \"github.com/gonomaly/gonomaly/store/postgres\")"
		}
		return nil, fmt.Errorf("store: no back end for URL scheme %q; registered: %q%s", scheme, Schemes(), hint)
	}
	return open(ctx, url, opts.WithDefaults())
}

// Scheme returns the lower-cased scheme of a database URL, or "" when it has none (a bare
// path). A one-letter scheme is taken for a Windows drive letter, not a scheme.
func Scheme(url string) string {
	i := strings.IndexByte(url, ':')
	if i < 2 {
		return ""
	}
	for j, c := range url[:i] {
		letter := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		if !letter && (j == 0 || !('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return ""
		}
	}
	return strings.ToLower(url[:i])
}

package monitor

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/gonomaly/gonomaly/store"
)

// DBThresholds are the limits of the database rules. The zero value gives the defaults; a
// negative limit turns its rule off (a negative MinCacheBlocks or MinCalls means any).
type DBThresholds struct {
	// PoolUtilisation is the share of the pool's connections in use at which db_pool/utilisation
	// fires (default 0.9, the tuning guide's ConnectionPoolMonitor).
	PoolUtilisation float64
	// WaitsPerSecond is the rate of queries that waited for a pooled connection, between two
	// readings, at which db_pool/waits fires (default 1).
	WaitsPerSecond float64
	// CacheHitRatio is the share of block reads found in PostgreSQL's shared_buffers below
	// which db_cache_hit fires (default 0.99: PostgreSQL's guidance for OLTP work is 99 %), and
	// MinCacheBlocks the block reads an interval needs before its ratio is judged (default
	// 1000).
	CacheHitRatio  float64
	MinCacheBlocks int64
	// ServerConnections is the share of the server's max_connections that the database's
	// connections may take before db_connections fires (default 0.8).
	ServerConnections float64
	// LongTransaction is the age of the oldest open transaction at which db_long_transaction
	// fires (default 5 min).
	LongTransaction time.Duration
	// SlowStatement is the mean time of a slow statement (default 100 ms: the guide's
	// QueryPerformanceAnalyzer), and MinCalls the calls a statement needs before it is judged
	// (default 10), so a one-off migration is not one.
	SlowStatement time.Duration
	MinCalls      int64
}

// The defaults of DBThresholds.
const (
	DefaultPoolUtilisation   = 0.9
	DefaultWaitsPerSecond    = 1.0
	DefaultCacheHitRatio     = 0.99
	DefaultMinCacheBlocks    = 1000
	DefaultServerConnections = 0.8
	DefaultLongTransaction   = 5 * time.Minute
	DefaultSlowStatement     = 100 * time.Millisecond
	DefaultMinCalls          = 10
)

func (th DBThresholds) withDefaults() DBThresholds {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&th.PoolUtilisation, DefaultPoolUtilisation)
	def(&th.WaitsPerSecond, DefaultWaitsPerSecond)
	def(&th.CacheHitRatio, DefaultCacheHitRatio)
	def(&th.ServerConnections, DefaultServerConnections)
	if th.MinCacheBlocks == 0 {
		th.MinCacheBlocks = DefaultMinCacheBlocks
	}
	if th.LongTransaction == 0 {
		th.LongTransaction = DefaultLongTransaction
	}
	if th.SlowStatement == 0 {
		th.SlowStatement = DefaultSlowStatement
	}
	if th.MinCalls == 0 {
		th.MinCalls = DefaultMinCalls
	}
	return th
}

// DBMonitor checks a store's database (the tuning guide's DatabaseMonitor,
// ConnectionPoolMonitor and QueryPerformanceAnalyzer), keeping the previous reading so that
// rates (pool waits a second) and the cache hit ratio are judged over the interval between
// two checks. Its methods are safe for concurrent use.
type DBMonitor struct {
	src store.DBStater
	th  DBThresholds

	mu   sync.Mutex
	prev store.DBStats
}

// NewDBMonitor watches src (both store back ends implement store.DBStater) against th.
func NewDBMonitor(src store.DBStater, th DBThresholds) *DBMonitor {
	return &DBMonitor{src: src, th: th}
}

// Check reads the database (store.DBStater.DBStats, bounded by store.DBStatsTimeout) and
// returns CheckDB's conditions against the previous reading, with the reading. When the
// reading fails it returns the error too, with the pool's conditions, which hold without
// the database: a pool so exhausted that the reading could not get a connection fires
// db_pool/utilisation.
func (m *DBMonitor) Check(ctx context.Context) ([]Condition, store.DBStats, error) {
	cur, err := m.src.DBStats(ctx)
	m.mu.Lock()
	prev := m.prev
	m.prev = cur
	m.mu.Unlock()
	if err != nil {
		err = fmt.Errorf("monitor: database check: %w", err)
	}
	return CheckDB(prev, cur, m.th), cur, err
}

// CheckDB judges one reading of a database, cur, against the previous one, prev (zero when
// there is none), and returns one condition per rule that applies, firing or not, so that a
// rule that stops firing resolves its alert. The conditions are stamped cur.Time.
//
// The pool's rules apply to both back ends:
//   - db_pool/utilisation: at least th.PoolUtilisation of the pool's connections in use
//     (high; critical when every one is);
//   - db_pool/waits: th.WaitsPerSecond or more acquisitions a second waited for a connection
//     since prev (judged from the second reading on).
//
// The server's rules apply when its figures are known (cur.MaxConnections > 0: PostgreSQL,
// and a reading that succeeded):
//   - db_connections: the database's connections take th.ServerConnections or more of the
//     server's max_connections;
//   - db_long_transaction: a transaction open for th.LongTransaction or longer;
//   - db_cache_hit: fewer than th.CacheHitRatio of block reads hit shared_buffers, over the
//     interval since prev when it read th.MinCacheBlocks blocks or more, else (no prev, or
//     the statistics were reset) since the statistics were reset;
//   - db_slow_statements: a statement called th.MinCalls times or more takes
//     th.SlowStatement or more on average, with suggestions for the slowest;
//   - db_statements: an informational alert while pg_stat_statements is not available, with
//     the store's note (store.DBStats.StatementsNote) and its step to enable it.
func CheckDB(prev, cur store.DBStats, th DBThresholds) []Condition {
	th = th.withDefaults()
	cond := func(key, metric string) Condition {
		return Condition{Key: key, Rule: strings.ReplaceAll(key, "/", "_"), Metric: metric, Time: cur.Time,
			Labels: map[string]string{"backend": cur.Backend}}
	}
	var out []Condition
	p := cur.Pool

	if th.PoolUtilisation > 0 && p.MaxConns > 0 {
		c := cond("db_pool/utilisation", "db_pool_in_use_ratio")
		c.Value, c.Threshold = float64(p.InUse)/float64(p.MaxConns), th.PoolUtilisation
		c.Description = fmt.Sprintf("%d of the pool's %d connections in use (%d open, %d idle)", p.InUse, p.MaxConns, p.OpenConns, p.Idle)
		if c.Value >= th.PoolUtilisation {
			c.Firing, c.Severity = true, SeverityHigh
			if p.InUse >= p.MaxConns {
				c.Severity = SeverityCritical
			}
			c.Title = fmt.Sprintf("database pool %.0f %% in use", 100*c.Value)
			c.Actions = []string{
				fmt.Sprintf("raise the pool's maximum, now %d: gonomaly serve --db-pool-size plus --db-max-overflow (store.Options PoolSize + MaxOverflow), within the server's max_connections", p.MaxConns),
				"look for long transactions and slow statements that hold connections",
			}
		}
		out = append(out, c)
	}

	if th.WaitsPerSecond > 0 {
		c := cond("db_pool/waits", "db_pool_waits_per_second")
		c.Threshold = th.WaitsPerSecond
		dt := cur.Time.Sub(prev.Time).Seconds()
		switch {
		case prev.Time.IsZero() || dt <= 0:
			c.Description = "first reading: waits are judged between two readings"
		case p.WaitCount < prev.Pool.WaitCount:
			c.Description = "the pool's counters went back (the store was reopened): waits are judged from the next reading"
		default:
			waits := p.WaitCount - prev.Pool.WaitCount
			c.Value = float64(waits) / dt
			c.Description = fmt.Sprintf("%d acquisitions waited for a connection in %.0f s", waits, dt)
			if waits > 0 {
				c.Description += fmt.Sprintf(", %v each on average", ((p.WaitDuration - prev.Pool.WaitDuration) / time.Duration(waits)).Round(time.Microsecond))
			}
			if c.Value >= th.WaitsPerSecond {
				c.Firing, c.Severity = true, ladder(c.Value/th.WaitsPerSecond)
				c.Title = fmt.Sprintf("queries wait for a database connection: %.2g a second", c.Value)
				c.Actions = []string{
					fmt.Sprintf("raise the pool's maximum, now %d: gonomaly serve --db-pool-size plus --db-max-overflow, within the server's max_connections", p.MaxConns),
					"look for long transactions and slow statements that hold connections",
				}
			}
		}
		out = append(out, c)
	}

	if cur.MaxConnections <= 0 {
		return out
	}

	if th.ServerConnections > 0 {
		c := cond("db_connections", "db_connections_ratio")
		c.Value, c.Threshold = float64(cur.TotalConnections)/float64(cur.MaxConnections), th.ServerConnections
		c.Description = fmt.Sprintf("%d connections to the database (%d active, %d idle in a transaction) of the server's max_connections %d",
			cur.TotalConnections, cur.ActiveConnections, cur.IdleInTransaction, cur.MaxConnections)
		if c.Value >= th.ServerConnections {
			c.Firing, c.Severity = true, SeverityHigh
			if c.Value >= 0.95 {
				c.Severity = SeverityCritical
			}
			c.Title = fmt.Sprintf("the database holds %.0f %% of the server's connections", 100*c.Value)
			c.Actions = []string{
				"lower the pools of the processes sharing the server (gonomaly serve --db-pool-size, --db-max-overflow), or put PgBouncer in front of it",
				"raise max_connections in postgresql.conf (a restart), with the memory each connection takes in mind",
			}
		}
		out = append(out, c)
	}

	if th.LongTransaction > 0 {
		c := cond("db_long_transaction", "db_oldest_transaction_seconds")
		c.Value, c.Threshold = cur.OldestTransaction.Seconds(), th.LongTransaction.Seconds()
		c.Description = fmt.Sprintf("the oldest open transaction is %v old; %d connections idle in a transaction", cur.OldestTransaction.Round(time.Second), cur.IdleInTransaction)
		if cur.OldestTransaction >= th.LongTransaction {
			c.Firing, c.Severity = true, ladder(float64(cur.OldestTransaction)/float64(th.LongTransaction))
			c.Title = fmt.Sprintf("a database transaction has been open for %v", cur.OldestTransaction.Round(time.Second))
			c.Actions = []string{
				"find it: SELECT pid, now() - xact_start AS age, state, query FROM pg_stat_activity WHERE xact_start IS NOT NULL ORDER BY xact_start",
				"end it if it is stuck: SELECT pg_terminate_backend(pid); a long transaction holds its connection and locks, and keeps vacuum from cleaning up",
				"bound them: set idle_in_transaction_session_timeout",
			}
		}
		out = append(out, c)
	}

	if cur.HasCacheHit && th.CacheHitRatio > 0 {
		c := cond("db_cache_hit", "db_cache_hit_ratio")
		c.Threshold = th.CacheHitRatio
		hits, reads := cur.BlocksHit, cur.BlocksRead
		over := "since the statistics were reset"
		if prev.HasCacheHit && hits >= prev.BlocksHit && reads >= prev.BlocksRead {
			hits, reads = hits-prev.BlocksHit, reads-prev.BlocksRead
			over = fmt.Sprintf("over the last %.0f s", cur.Time.Sub(prev.Time).Seconds())
		}
		if n := hits + reads; n < max(th.MinCacheBlocks, 1) {
			c.Value = 1
			c.Description = fmt.Sprintf("%d block reads %s, fewer than the %d needed to judge the cache", n, over, th.MinCacheBlocks)
		} else {
			c.Value = float64(hits) / float64(n)
			c.Description = fmt.Sprintf("%.2f %% of %d block reads found in shared_buffers %s", 100*c.Value, n, over)
			if c.Value < th.CacheHitRatio {
				c.Firing, c.Severity = true, SeverityMedium
				if c.Value < 0.95 {
					c.Severity = SeverityHigh
				}
				c.Title = fmt.Sprintf("database cache hit ratio %.1f %%, below %.0f %%", 100*c.Value, 100*th.CacheHitRatio)
				c.Actions = []string{
					"add indexes so queries read fewer blocks (see the slowest statements and their hit ratios)",
					"raise shared_buffers (commonly a quarter of the machine's memory; a restart)",
					"look for sequential scans of large tables: SELECT relname, seq_scan, seq_tup_read FROM pg_stat_user_tables ORDER BY seq_tup_read DESC",
				}
			}
		}
		out = append(out, c)
	}

	if th.SlowStatement > 0 && cur.StatementsNote == "" {
		c := cond("db_slow_statements", "db_statement_mean_seconds")
		c.Threshold = th.SlowStatement.Seconds()
		var slow []store.Statement
		for _, s := range cur.SlowStatements {
			if s.Calls >= th.MinCalls && s.Mean >= th.SlowStatement {
				slow = append(slow, s)
			}
		}
		c.Description = fmt.Sprintf("no statement called %d times or more takes %v on average", th.MinCalls, th.SlowStatement)
		if len(slow) > 0 {
			worst := slow[0] // the list is slowest first
			c.Value = worst.Mean.Seconds()
			c.Firing, c.Severity = true, SeverityMedium
			if worst.Mean >= 10*th.SlowStatement {
				c.Severity = SeverityHigh
			}
			c.Title = fmt.Sprintf("%d slow database statements, the slowest %v on average", len(slow), worst.Mean.Round(time.Millisecond))
			var b strings.Builder
			for i, s := range slow {
				if i > 0 {
					b.WriteString("; ")
				}
				fmt.Fprintf(&b, "%v mean over %d calls: %s", s.Mean.Round(time.Millisecond), s.Calls, s.Query)
			}
			c.Description = b.String()
			for _, s := range slow[:min(3, len(slow))] {
				c.Actions = append(c.Actions, StatementSuggestions(s)...)
			}
		}
		out = append(out, c)
	}

	if cur.StatementsNote != "" {
		c := cond("db_statements", "db_statements_available")
		c.Firing, c.Severity = true, SeverityInfo
		c.Title = "slow statements unknown: pg_stat_statements is not available"
		c.Description = cur.StatementsNote
		c.Actions = []string{"enable pg_stat_statements: shared_preload_libraries = 'pg_stat_statements' in postgresql.conf, " +
			"restart the server, then CREATE EXTENSION pg_stat_statements in the database"}
		if _, fix, ok := strings.Cut(cur.StatementsNote, "; "); ok {
			c.Actions[0] = fix // the store's note names the step missing here
		}
		out = append(out, c)
	}
	return out
}

// StatementSuggestions are what to try for a slow statement (the tuning guide's
// QueryPerformanceAnalyzer rules): look at its plan; add indexes when it finds less than 95 %
// of its blocks in the cache; index its ORDER BY for a LIMIT and its JOIN columns; split it
// when it takes more than a second.
func StatementSuggestions(s store.Statement) []string {
	q := strings.ToUpper(s.Query)
	short := s.Query
	if len(short) > 80 {
		short = strings.ToValidUTF8(short[:80], "") + "…"
	}
	out := []string{fmt.Sprintf("EXPLAIN (ANALYZE, BUFFERS) %s (%v mean over %d calls)", short, s.Mean.Round(time.Millisecond), s.Calls)}
	if r, ok := s.HitRatio(); ok && r < 0.95 {
		out = append(out, fmt.Sprintf("add an index for %q: it finds only %.0f %% of its blocks in the cache", short, 100*r))
	}
	if strings.Contains(q, "ORDER BY") && strings.Contains(q, "LIMIT") {
		out = append(out, fmt.Sprintf("make sure an index supports the ORDER BY of %q, so the LIMIT stops early", short))
	}
	if strings.Contains(q, "JOIN") {
		out = append(out, fmt.Sprintf("index the JOIN columns of %q", short))
	}
	if s.Mean > time.Second {
		out = append(out, fmt.Sprintf("break %q into simpler statements", short))
	}
	return out
}

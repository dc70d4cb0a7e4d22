package store

import (
	"context"
	"time"
)

// DBStater is implemented by stores that report the health of their database beyond the
// pool: connections, cache, size and the slowest statements. The database monitor
// (monitor.DBMonitor) reads it. Both back ends implement it.
type DBStater interface {
	// DBStats reads the pool and queries the database, within DBStatsTimeout of its own.
	// The pool is read first and needs no connection, so on an error (no connection free in
	// time, a query that failed) the returned stats still hold Backend, Time and Pool: a
	// monitor can report the exhausted pool that made the query fail.
	DBStats(ctx context.Context) (DBStats, error)
}

// DBStatsTimeout bounds one DBStats call: waiting for a connection and every query.
const DBStatsTimeout = 2 * time.Second

// SlowStatementsMax is how many statements DBStats.SlowStatements holds at most, and
// StatementMaxBytes the length a statement's text is cut to.
const (
	SlowStatementsMax = 10
	StatementMaxBytes = 500
)

// DBStats is one reading of a store's database. The figures of the server (connections,
// transactions, cache, statements) are PostgreSQL's; on SQLite they are zero and
// StatementsNote says why the statements are missing.
type DBStats struct {
	Backend string    `json:"backend"` // "postgres" or "sqlite"
	Time    time.Time `json:"time"`    // when the pool was read
	Pool    PoolStats `json:"pool"`

	// Connections to this database on the server, from all clients (pg_stat_activity,
	// client backends only, without the one DBStats itself uses).
	ActiveConnections int `json:"active_connections"`  // running a statement now
	IdleInTransaction int `json:"idle_in_transaction"` // in a transaction, doing nothing
	TotalConnections  int `json:"total_connections"`   // in any state
	// MaxConnections is the server's max_connections, shared by all its databases.
	MaxConnections int `json:"max_connections"`
	// OldestTransaction is the age of the oldest open transaction on this database (0 when
	// none): a long one holds a connection, and its locks, and keeps vacuum from cleaning up.
	OldestTransaction time.Duration `json:"oldest_transaction"`

	// HasCacheHit says whether the cache figures are known (PostgreSQL: pg_stat_database).
	// BlocksHit and BlocksRead count the reads of table and index blocks found in
	// shared_buffers and those read from the operating system, since the statistics were
	// last reset; CacheHitRatio is BlocksHit / (BlocksHit + BlocksRead) over that time (0
	// when there were none). Monitors compare two readings for the ratio of the interval.
	HasCacheHit   bool    `json:"has_cache_hit"`
	CacheHitRatio float64 `json:"cache_hit_ratio"`
	BlocksHit     int64   `json:"blocks_hit"`
	BlocksRead    int64   `json:"blocks_read"`
	Deadlocks     int64   `json:"deadlocks"` // since the statistics were last reset

	// DatabaseBytes is the database's size on disk (pg_database_size; SQLite: page_count *
	// page_size of the main file, without the WAL). FreeBytes is SQLite's free pages, which
	// VACUUM would give back (0 on PostgreSQL).
	DatabaseBytes int64 `json:"database_bytes"`
	FreeBytes     int64 `json:"free_bytes"`

	// SlowStatements are the statements of this database with the highest mean time, at most
	// SlowStatementsMax, slowest first, from pg_stat_statements. When it has none to give,
	// StatementsNote says why and how to get them, in the form "why; what to do".
	SlowStatements []Statement `json:"slow_statements,omitempty"`
	StatementsNote string      `json:"statements_note,omitempty"`
}

// Statement is one normalized statement (constants replaced by $1, $2, ...) with the
// statistics pg_stat_statements gathered since they were last reset.
type Statement struct {
	Query string        `json:"query"` // whitespace collapsed, cut to StatementMaxBytes
	Calls int64         `json:"calls"`
	Mean  time.Duration `json:"mean"`  // mean execution time
	Total time.Duration `json:"total"` // total execution time
	Rows  int64         `json:"rows"`  // rows returned or changed, over all calls
	// SharedBlocksHit and SharedBlocksRead are the blocks the statement found in
	// shared_buffers and those it had to read; few hits point to a missing index.
	SharedBlocksHit  int64 `json:"shared_blocks_hit"`
	SharedBlocksRead int64 `json:"shared_blocks_read"`
}

// HitRatio is the statement's share of blocks found in shared_buffers, and false when it
// read no block.
func (s Statement) HitRatio() (float64, bool) {
	n := s.SharedBlocksHit + s.SharedBlocksRead
	if n <= 0 {
		return 0, false
	}
	return float64(s.SharedBlocksHit) / float64(n), true
}

package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gonomaly/gonomaly/store"
)

var _ store.DBStater = (*DB)(nil)

// statsTag starts every statement DBStats runs, so that the slowest-statements list leaves
// them out (pg_stat_statements keeps a statement's comments in its text).
const statsTag = "/* gonomaly:dbstats */ "

// SQLSTATE codes DBStats turns into a note rather than an error.
const (
	undefinedTable        = "42P01" // the view went away (DROP EXTENSION) since the look-up
	insufficientPrivilege = "42501"
	notInPrerequisite     = "55000" // "pg_stat_statements must be loaded via shared_preload_libraries"
)

// DBStats implements store.DBStater: the pool, then, on one connection, this database's
// connections and oldest transaction (pg_stat_activity, client backends other than its own),
// its block cache hits and deadlocks (pg_stat_database), its size (pg_database_size), and its
// slowest statements by mean time when the pg_stat_statements extension is installed in the
// database (in any schema) and loaded by the server. When it is not, or the role may not read
// it, StatementsNote says so and how to fix it, and DBStats succeeds.
func (s *DB) DBStats(ctx context.Context) (store.DBStats, error) {
	st := store.DBStats{Backend: "postgres", Time: time.Now().UTC(), Pool: s.PoolStats()}
	ctx, cancel := context.WithTimeout(ctx, store.DBStatsTimeout)
	defer cancel()
	err := s.with(ctx, func(c *pgxpool.Conn) error {
		var oldest float64
		err := c.QueryRow(ctx, statsTag+`SELECT
				count(a.pid) FILTER (WHERE a.state = 'active'),
				count(a.pid) FILTER (WHERE a.state LIKE 'idle in transaction%'),
				count(a.pid),
				coalesce(extract(epoch FROM max(now() - a.xact_start)), 0)::float8,
				current_setting('max_connections')::int,
				d.blks_hit, d.blks_read, d.deadlocks,
				pg_database_size(d.datid)
			FROM pg_stat_database d
			LEFT JOIN pg_stat_activity a ON a.datid = d.datid AND a.backend_type = 'client backend'
				AND a.pid <> pg_backend_pid()
			WHERE d.datname = current_database()
			GROUP BY d.datid, d.blks_hit, d.blks_read, d.deadlocks`).Scan(
			&st.ActiveConnections, &st.IdleInTransaction, &st.TotalConnections, &oldest, &st.MaxConnections,
			&st.BlocksHit, &st.BlocksRead, &st.Deadlocks, &st.DatabaseBytes)
		if err != nil {
			return fmt.Errorf("connections and cache: %w", err)
		}
		st.OldestTransaction = time.Duration(oldest * float64(time.Second))
		st.HasCacheHit = true
		if n := st.BlocksHit + st.BlocksRead; n > 0 {
			st.CacheHitRatio = float64(st.BlocksHit) / float64(n)
		}
		st.SlowStatements, st.StatementsNote, err = slowStatements(ctx, c)
		return err
	})
	if err != nil {
		return st, fmt.Errorf("store: postgres %s: database statistics: %w", s.where, err)
	}
	return st, nil
}

// slowStatements reads the SlowStatementsMax statements of this database with the highest
// mean time from pg_stat_statements, or says in a note why it cannot.
func slowStatements(ctx context.Context, c *pgxpool.Conn) ([]store.Statement, string, error) {
	// The extension's schema need not be on the store's search_path (a store usually has a
	// schema of its own; the extension is often in public), so its view is named in full.
	// Version 1.8 (PostgreSQL 13) renamed mean_time and total_time to *_exec_time.
	var (
		schema    string
		execTime  bool
		preloaded string
		db, role  string
	)
	err := c.QueryRow(ctx, statsTag+`SELECT coalesce(n.nspname, ''),
			coalesce(bool_or(a.attname = 'mean_exec_time'), false),
			-- pg_settings hides shared_preload_libraries from roles without pg_read_all_settings
			coalesce((SELECT setting FROM pg_settings WHERE name = 'shared_preload_libraries'), ''),
			current_database(), current_user
		FROM (SELECT 1) one
		LEFT JOIN pg_extension e ON e.extname = 'pg_stat_statements'
		LEFT JOIN pg_namespace n ON n.oid = e.extnamespace
		LEFT JOIN pg_class v ON v.relname = 'pg_stat_statements' AND v.relnamespace = n.oid
		LEFT JOIN pg_attribute a ON a.attrelid = v.oid AND NOT a.attisdropped
		GROUP BY n.nspname`).Scan(&schema, &execTime, &preloaded, &db, &role)
	if err != nil {
		return nil, "", fmt.Errorf("pg_stat_statements look-up: %w", err)
	}
	notInstalled := fmt.Sprintf("slow statements unknown: the pg_stat_statements extension is not installed in database %q; "+
		"add shared_preload_libraries = 'pg_stat_statements' to postgresql.conf, restart the server, "+
		"then run CREATE EXTENSION pg_stat_statements in the database", db)
	if strings.Contains(preloaded, "pg_stat_statements") {
		notInstalled = fmt.Sprintf("slow statements unknown: the server loads pg_stat_statements but the extension is not installed "+
			"in database %q; run CREATE EXTENSION pg_stat_statements in the database", db)
	}
	if schema == "" {
		return nil, notInstalled, nil
	}
	mean, total := "mean_time", "total_time"
	if execTime {
		mean, total = "mean_exec_time", "total_exec_time"
	}
	view := pgx.Identifier{schema, "pg_stat_statements"}.Sanitize()
	rows, err := c.Query(ctx, statsTag+`SELECT query, calls, `+mean+`, `+total+`, rows, shared_blks_hit, shared_blks_read
		FROM `+view+`
		WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
			AND query NOT LIKE '/* gonomaly:dbstats */%'
		ORDER BY `+mean+` DESC
		LIMIT $1`, store.SlowStatementsMax)
	var list []store.Statement
	if err == nil {
		var (
			st          store.Statement
			query       string
			meanMs, tot float64
		)
		_, err = pgx.ForEachRow(rows, []any{&query, &st.Calls, &meanMs, &tot, &st.Rows, &st.SharedBlocksHit, &st.SharedBlocksRead}, func() error {
			st.Query = shortQuery(query)
			st.Mean, st.Total = millis(meanMs), millis(tot)
			list = append(list, st)
			return nil
		})
	}
	switch pgCode(err) {
	case "":
		if err != nil {
			return nil, "", fmt.Errorf("reading %s: %w", view, err)
		}
		return list, "", nil
	case notInPrerequisite:
		return nil, fmt.Sprintf("slow statements unknown: pg_stat_statements is installed in database %q but the server did not load it "+
			"at start; add shared_preload_libraries = 'pg_stat_statements' to postgresql.conf and restart the server", db), nil
	case undefinedTable:
		return nil, notInstalled, nil
	case insufficientPrivilege:
		return nil, fmt.Sprintf("slow statements unknown: role %q may not read %s; GRANT SELECT ON %s TO %q "+
			"(and pg_read_all_stats to see the text of other roles' statements)", role, view, view, role), nil
	}
	return nil, "", fmt.Errorf("reading %s: %w", view, err)
}

func millis(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }

// shortQuery is q on one line, its runs of white space made one space, cut to
// store.StatementMaxBytes (on a character boundary, ending in "…" when cut).
func shortQuery(q string) string {
	q = strings.Join(strings.Fields(q), " ")
	if len(q) <= store.StatementMaxBytes {
		return q
	}
	cut := store.StatementMaxBytes - len("…")
	for cut > 0 && !utf8.RuneStart(q[cut]) {
		cut--
	}
	return q[:cut] + "…"
}

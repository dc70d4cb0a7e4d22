package monitor_test

import (
	"context"
	"crypto/rand"
	"errors"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gonomaly/gonomaly/internal/testsvc"
	"github.com/gonomaly/gonomaly/monitor"
	"github.com/gonomaly/gonomaly/store"
	"github.com/gonomaly/gonomaly/store/postgres"
	"github.com/gonomaly/gonomaly/store/sqlite"
)

// byKey indexes conditions by key, failing t on a key seen twice.
func byKey(t *testing.T, cs []monitor.Condition) map[string]monitor.Condition {
	t.Helper()
	m := make(map[string]monitor.Condition, len(cs))
	for _, c := range cs {
		if _, dup := m[c.Key]; dup {
			t.Errorf("condition %s twice", c.Key)
		}
		m[c.Key] = c
	}
	return m
}

// pgReading is a healthy PostgreSQL reading at t0 + sec seconds.
func pgReading(sec int) store.DBStats {
	return store.DBStats{
		Backend: "postgres", Time: time.Date(2025, 1, 1, 0, 0, sec, 0, time.UTC),
		Pool:              store.PoolStats{MaxConns: 10, OpenConns: 4, InUse: 2, Idle: 2, WaitCount: 100, WaitDuration: time.Second},
		ActiveConnections: 2, TotalConnections: 10, MaxConnections: 100, OldestTransaction: time.Second,
		HasCacheHit: true, BlocksHit: 1_000_000, BlocksRead: 1000, CacheHitRatio: 0.999,
	}
}

func TestCheckDB(t *testing.T) {
	slow := store.Statement{Query: "SELECT * FROM detection_results WHERE detector_id = $1 ORDER BY created_at DESC LIMIT $2",
		Calls: 50, Mean: 1500 * time.Millisecond, Total: 75 * time.Second, SharedBlocksHit: 10, SharedBlocksRead: 90}
	type want struct {
		firing bool
		sev    monitor.Severity
		value  float64
	}
	cases := []struct {
		name      string
		prev, cur store.DBStats
		th        monitor.DBThresholds
		want      map[string]want // every key CheckDB must return, and no other
		actions   map[string]string
	}{
		{
			name: "healthy", prev: pgReading(0), cur: pgReading(60),
			want: map[string]want{
				"db_pool/utilisation": {value: 0.2}, "db_pool/waits": {}, "db_connections": {value: 0.1},
				"db_long_transaction": {value: 1}, "db_cache_hit": {value: 1}, "db_slow_statements": {},
			},
		},
		{
			name: "pool full, waiting 2 a second", prev: pgReading(0),
			cur: func() store.DBStats {
				s := pgReading(60)
				s.Pool.InUse, s.Pool.Idle, s.Pool.WaitCount = 10, 0, 220
				return s
			}(),
			want: map[string]want{
				"db_pool/utilisation": {true, monitor.SeverityCritical, 1}, "db_pool/waits": {true, monitor.SeverityHigh, 2},
				"db_connections": {value: 0.1}, "db_long_transaction": {value: 1}, "db_cache_hit": {value: 1}, "db_slow_statements": {},
			},
			actions: map[string]string{"db_pool/utilisation": "--db-max-overflow", "db_pool/waits": "now 10"},
		},
		{
			name: "pool at 90 %, waits below the rate", prev: pgReading(0),
			cur: func() store.DBStats {
				s := pgReading(60)
				s.Pool.InUse, s.Pool.WaitCount = 9, 159
				return s
			}(),
			want: map[string]want{
				"db_pool/utilisation": {true, monitor.SeverityHigh, 0.9}, "db_pool/waits": {value: 59.0 / 60},
				"db_connections": {value: 0.1}, "db_long_transaction": {value: 1}, "db_cache_hit": {value: 1}, "db_slow_statements": {},
			},
		},
		{
			// 30 000 block reads in the interval, 1 000 of them from disk: 96.7 %, below 99 %,
			// though the lifetime ratio (from the same counters) is above it.
			name: "cache misses in the interval", prev: pgReading(0),
			cur: func() store.DBStats {
				s := pgReading(60)
				s.BlocksHit, s.BlocksRead = 1_029_000, 2000
				return s
			}(),
			want: map[string]want{
				"db_pool/utilisation": {value: 0.2}, "db_pool/waits": {}, "db_connections": {value: 0.1},
				"db_long_transaction": {value: 1}, "db_cache_hit": {true, monitor.SeverityMedium, 29000.0 / 30000}, "db_slow_statements": {},
			},
			actions: map[string]string{"db_cache_hit": "shared_buffers"},
		},
		{
			name: "first reading: lifetime cache ratio, waits not judged", cur: func() store.DBStats {
				s := pgReading(60)
				s.BlocksHit, s.BlocksRead = 900, 100
				return s
			}(),
			want: map[string]want{
				"db_pool/utilisation": {value: 0.2}, "db_pool/waits": {}, "db_connections": {value: 0.1},
				"db_long_transaction": {value: 1}, "db_cache_hit": {true, monitor.SeverityHigh, 0.9}, "db_slow_statements": {},
			},
		},
		{
			name: "too few block reads to judge", prev: pgReading(0), cur: func() store.DBStats {
				s := pgReading(60)
				s.BlocksHit, s.BlocksRead = 1_000_500, 1400
				return s
			}(),
			want: map[string]want{
				"db_pool/utilisation": {value: 0.2}, "db_pool/waits": {}, "db_connections": {value: 0.1},
				"db_long_transaction": {value: 1}, "db_cache_hit": {value: 1}, "db_slow_statements": {},
			},
		},
		{
			name: "server connections, a long transaction, slow statements", prev: pgReading(0),
			cur: func() store.DBStats {
				s := pgReading(60)
				s.TotalConnections, s.IdleInTransaction, s.OldestTransaction = 85, 3, 30*time.Minute
				s.SlowStatements = []store.Statement{slow, {Query: "SELECT 1", Calls: 2, Mean: 5 * time.Second}, {Query: "SELECT 2", Calls: 500, Mean: time.Millisecond}}
				return s
			}(),
			want: map[string]want{
				"db_pool/utilisation": {value: 0.2}, "db_pool/waits": {}, "db_connections": {true, monitor.SeverityHigh, 0.85},
				"db_long_transaction": {true, monitor.SeverityCritical, 1800}, "db_cache_hit": {value: 1},
				"db_slow_statements": {true, monitor.SeverityHigh, 1.5},
			},
			actions: map[string]string{"db_long_transaction": "idle_in_transaction_session_timeout", "db_slow_statements": "ORDER BY",
				"db_connections": "PgBouncer"},
		},
		{
			name: "pg_stat_statements missing", prev: pgReading(0),
			cur: func() store.DBStats {
				s := pgReading(60)
				s.StatementsNote = "slow statements unknown: not installed; run CREATE EXTENSION pg_stat_statements in the database"
				return s
			}(),
			want: map[string]want{
				"db_pool/utilisation": {value: 0.2}, "db_pool/waits": {}, "db_connections": {value: 0.1},
				"db_long_transaction": {value: 1}, "db_cache_hit": {value: 1}, "db_statements": {true, monitor.SeverityInfo, 0},
			},
			actions: map[string]string{"db_statements": "run CREATE EXTENSION"},
		},
		{
			name: "any number of block reads judged, none read", prev: pgReading(0), cur: pgReading(60),
			th: monitor.DBThresholds{MinCacheBlocks: -1},
			want: map[string]want{
				"db_pool/utilisation": {value: 0.2}, "db_pool/waits": {}, "db_connections": {value: 0.1},
				"db_long_transaction": {value: 1}, "db_cache_hit": {value: 1}, "db_slow_statements": {},
			},
		},
		{
			name: "rules off, thresholds lowered", prev: pgReading(0), cur: pgReading(60),
			th: monitor.DBThresholds{PoolUtilisation: 0.1, WaitsPerSecond: -1, CacheHitRatio: -1, ServerConnections: -1,
				LongTransaction: -1, SlowStatement: -1},
			want: map[string]want{"db_pool/utilisation": {true, monitor.SeverityHigh, 0.2}},
		},
		{
			name: "sqlite: the pool only", prev: store.DBStats{Backend: "sqlite", Time: pgReading(0).Time, Pool: store.PoolStats{MaxConns: 50, WaitCount: 10}},
			cur: store.DBStats{Backend: "sqlite", Time: pgReading(10).Time, StatementsNote: "not available on SQLite",
				Pool: store.PoolStats{MaxConns: 50, InUse: 3, WaitCount: 40, WaitDuration: 30 * time.Millisecond}},
			want: map[string]want{"db_pool/utilisation": {value: 0.06}, "db_pool/waits": {true, monitor.SeverityHigh, 3}},
		},
		{
			name: "failed reading: the pool only, its counters reset",
			prev: pgReading(0),
			cur:  store.DBStats{Backend: "postgres", Time: pgReading(60).Time, Pool: store.PoolStats{MaxConns: 10, InUse: 10, WaitCount: 3}},
			want: map[string]want{"db_pool/utilisation": {true, monitor.SeverityCritical, 1}, "db_pool/waits": {}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := byKey(t, monitor.CheckDB(tc.prev, tc.cur, tc.th))
			for key, w := range tc.want {
				c, ok := got[key]
				if !ok {
					t.Errorf("%s missing", key)
					continue
				}
				if c.Firing != w.firing || c.Severity != w.sev || !near(c.Value, w.value) {
					t.Errorf("%s: firing %v, %v, value %v (%s); want %v, %v, %v", key, c.Firing, c.Severity, c.Value, c.Description, w.firing, w.sev, w.value)
				}
				if c.Time != tc.cur.Time || c.Labels["backend"] != tc.cur.Backend || c.Rule == "" || c.Metric == "" || c.Description == "" {
					t.Errorf("%s: %+v, want the reading's time, its backend as a label, a rule, a metric and a description", key, c)
				}
				if c.Firing && (c.Title == "" || len(c.Actions) == 0) {
					t.Errorf("%s fires without a title or actions: %+v", key, c)
				}
			}
			for key := range got {
				if _, ok := tc.want[key]; !ok {
					t.Errorf("unexpected condition %s: %+v", key, got[key])
				}
			}
			for key, action := range tc.actions {
				if !strings.Contains(strings.Join(got[key].Actions, "\n"), action) {
					t.Errorf("%s: actions %q do not mention %q", key, got[key].Actions, action)
				}
			}
		})
	}
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }

func TestStatementSuggestions(t *testing.T) {
	s := store.Statement{Query: "SELECT d.id FROM detectors d JOIN detection_results r ON r.detector_id = d.id ORDER BY r.created_at LIMIT $1",
		Calls: 10, Mean: 2 * time.Second, SharedBlocksHit: 50, SharedBlocksRead: 50}
	got := strings.Join(monitor.StatementSuggestions(s), "\n")
	for _, w := range []string{"EXPLAIN (ANALYZE, BUFFERS)", "add an index", "50 %", "ORDER BY", "JOIN columns", "simpler statements"} {
		if !strings.Contains(got, w) {
			t.Errorf("suggestions for %s:\n%s\ndo not say %q", s.Query, got, w)
		}
	}
	quick := store.Statement{Query: "SELECT 1", Calls: 10, Mean: 200 * time.Millisecond, SharedBlocksHit: 100}
	if got := monitor.StatementSuggestions(quick); len(got) != 1 {
		t.Errorf("a plain statement that hits the cache gets %q, want only its EXPLAIN", got)
	}
}

// database makes a database of its own for t on the test server, dropped when t ends, and
// returns its URL: the server's figures are the whole database's, which other tests on the
// shared test database would change.
func database(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	base := testsvc.PostgresURL(t)
	name := "dbmonitor_" + strings.ToLower(rand.Text()[:12])
	exec := func(sql string) {
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec("CREATE DATABASE " + name)
	t.Cleanup(func() { exec("DROP DATABASE " + name + " WITH (FORCE)") })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// TestDBMonitorPostgres drives a real store on the test server through a long transaction,
// an exhausted pool and queries waiting for a connection, and checks that the right
// conditions fire and then resolve.
func TestDBMonitorPostgres(t *testing.T) {
	ctx := context.Background()
	u := database(t)
	s, err := postgres.Open(ctx, u, store.Options{PoolSize: 1, MaxOverflow: -1, AcquireTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m := monitor.NewDBMonitor(s, monitor.DBThresholds{LongTransaction: 200 * time.Millisecond})
	check := func(step string, wantErr error) map[string]monitor.Condition {
		t.Helper()
		cs, st, err := m.Check(ctx)
		if !errors.Is(err, wantErr) || (err == nil) != (wantErr == nil) {
			t.Fatalf("%s: Check: %v, want %v", step, err, wantErr)
		}
		if st.Backend != "postgres" {
			t.Fatalf("%s: reading %+v", step, st)
		}
		return byKey(t, cs)
	}
	firing := func(step string, cs map[string]monitor.Condition, key string, want bool) monitor.Condition {
		t.Helper()
		c, ok := cs[key]
		if !ok || c.Firing != want {
			t.Errorf("%s: %s present %v, firing %v (%s), want firing %v", step, key, ok, c.Firing, c.Description, want)
		}
		return c
	}

	cs := check("calm", nil)
	for _, key := range []string{"db_pool/utilisation", "db_pool/waits", "db_connections", "db_long_transaction"} {
		firing("calm", cs, key, false)
	}
	if _, ok := cs["db_cache_hit"]; !ok { // a new database's ratio depends on the server's state
		t.Error("calm: db_cache_hit missing")
	}
	// The test server does not preload pg_stat_statements; if it ever does, the list rule
	// applies instead.
	if _, listed := cs["db_slow_statements"]; !listed {
		c := firing("calm", cs, "db_statements", true)
		if c.Severity != monitor.SeverityInfo || !strings.Contains(c.Description, "pg_stat_statements") {
			t.Errorf("pg_stat_statements missing: %+v, want an info condition saying so", c)
		}
	}

	// A transaction holds an exclusive lock on detectors.
	admin, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	tx, err := admin.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "LOCK TABLE detectors IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	c := firing("long transaction", check("long transaction", nil), "db_long_transaction", true)
	if c.Value < 0.3 {
		t.Errorf("oldest transaction %v s, want at least 0.3", c.Value)
	}

	// A query blocked by the lock holds the pool's one connection: the check cannot get one.
	blocked := make(chan error, 1)
	go func() { _, err := s.ListDetectors(ctx, store.DetectorFilter{}); blocked <- err }()
	for deadline := time.Now().Add(5 * time.Second); s.PoolStats().InUse != 1; {
		if time.Now().After(deadline) {
			t.Fatal("the blocked query never took the connection")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cs = check("pool exhausted", store.ErrPoolTimeout)
	if c := firing("pool exhausted", cs, "db_pool/utilisation", true); c.Severity != monitor.SeverityCritical {
		t.Errorf("pool exhausted: severity %v, want critical", c.Severity)
	}
	if _, ok := cs["db_long_transaction"]; ok {
		t.Error("pool exhausted: the server's rules reported without the server's figures")
	}

	// Three queries wait for the connection, then get it once the lock goes.
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			if _, err := s.ListDatasets(ctx, store.DatasetFilter{}); err != nil {
				t.Error(err)
			}
		})
	}
	time.Sleep(50 * time.Millisecond)
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-blocked; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	cs = check("waits", nil)
	firing("waits", cs, "db_pool/waits", true)
	firing("waits", cs, "db_pool/utilisation", false)
	firing("waits", cs, "db_long_transaction", false)

	// A quiet second: the waits resolve.
	time.Sleep(1100 * time.Millisecond)
	firing("quiet", check("quiet", nil), "db_pool/waits", false)
}

// TestDBMonitorSQLite: writers queueing for SQLite's one writer connection fire
// db_pool/waits, which resolves once they are done; SQLite has only the pool's rules.
func TestDBMonitorSQLite(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "monitor.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m := monitor.NewDBMonitor(s, monitor.DBThresholds{})
	if _, _, err := m.Check(ctx); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for i := range 10 {
				d := &store.Detector{Name: "d", Algorithm: "knn", Contamination: 0.1}
				if err := s.CreateDetector(ctx, d); err != nil {
					t.Errorf("writer %d, detector %d: %v", w, i, err)
				}
			}
		})
	}
	wg.Wait()
	cs, st, err := m.Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := byKey(t, cs)
	if len(got) != 2 || !got["db_pool/waits"].Firing || got["db_pool/utilisation"].Firing {
		t.Errorf("after 16 concurrent writers (%d waits): %+v, want db_pool/waits firing and db_pool/utilisation not, nothing else", st.Pool.WaitCount, cs)
	}
	time.Sleep(1100 * time.Millisecond)
	cs, _, err = m.Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := byKey(t, cs); got["db_pool/waits"].Firing {
		t.Errorf("a quiet second later the waits still fire: %+v", got["db_pool/waits"])
	}
}

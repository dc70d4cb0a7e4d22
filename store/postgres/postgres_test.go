package postgres_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gonomaly/gonomaly/internal/testsvc"
	"github.com/gonomaly/gonomaly/store"
	"github.com/gonomaly/gonomaly/store/postgres"
	"github.com/gonomaly/gonomaly/store/storetest"
)

// fresh is a new schema of the test database for t (testsvc.PostgresSchema).
func fresh(t testing.TB) storetest.Target {
	t.Helper()
	u := testsvc.PostgresSchema(t, "storetest")
	// A small pool: the suite opens many stores, and the server allows 100 connections in
	// all. The Load check and the benchmarks open with the default Options.
	return storetest.Target{URL: u, Options: store.Options{PoolSize: 2, MaxOverflow: 6}}
}

func TestConformance(t *testing.T) { storetest.Run(t, fresh) }

func BenchmarkStore(b *testing.B) { storetest.Benchmark(b, fresh) }

func open(t *testing.T, tg storetest.Target) *postgres.DB {
	t.Helper()
	s, err := postgres.Open(context.Background(), tg.URL, tg.Options)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestSchema checks the migration's indexes, the per-table autovacuum settings of the
// tuning guide, and the migration record.
func TestSchema(t *testing.T) {
	ctx := context.Background()
	s := open(t, fresh(t))
	var indexes, reloptions []string
	var migrations []int
	err := s.WithConn(ctx, func(c *pgxpool.Conn) error {
		rows, _ := c.Query(ctx, "SELECT tablename || '(' || indexname || ')' FROM pg_indexes WHERE schemaname = current_schema() AND indexname LIKE 'idx_%'")
		var err error
		if indexes, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return err
		}
		rows, _ = c.Query(ctx, `SELECT c.relname || ':' || opt FROM pg_class c
			JOIN pg_namespace n ON n.oid = c.relnamespace, unnest(c.reloptions) AS opt
			WHERE n.nspname = current_schema()`)
		if reloptions, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return err
		}
		rows, _ = c.Query(ctx, "SELECT version FROM schema_migrations ORDER BY version")
		migrations, err = pgx.CollectRows(rows, pgx.RowTo[int])
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"detectors(idx_detectors_algorithm)", "detectors(idx_detectors_fitted)", "detectors(idx_detectors_created)",
		"detectors(idx_detectors_algo_fitted)", "datasets(idx_datasets_size)", "datasets(idx_datasets_format)",
		"detection_results(idx_detection_results_timestamp)", "detection_results(idx_detection_results_detector)",
		"metric_samples(idx_metric_samples_name_time)", "benchmark_runs(idx_benchmark_runs_suite)",
	} {
		if !slices.Contains(indexes, want) {
			t.Errorf("index %s missing; have %v", want, indexes)
		}
	}
	for _, want := range []string{
		"detectors:autovacuum_vacuum_scale_factor=0.1", "datasets:autovacuum_vacuum_scale_factor=0.1",
		"detection_results:autovacuum_vacuum_scale_factor=0.05",
	} {
		if !slices.Contains(reloptions, want) {
			t.Errorf("table option %s missing; have %v", want, reloptions)
		}
	}
	files, _ := filepath.Glob("migrations/*.sql")
	var want []int
	for i := range files {
		want = append(want, i+1)
	}
	if len(want) == 0 || !slices.Equal(migrations, want) {
		t.Errorf("schema_migrations holds versions %v, want %v", migrations, want)
	}
}

// TestPoolOverflow: under load the pool grows past PoolSize up to PoolSize+MaxOverflow; once
// the load is gone, the overflow connections are closed and PoolSize remain.
func TestPoolOverflow(t *testing.T) {
	ctx := context.Background()
	tg := fresh(t)
	tg.Options = store.Options{PoolSize: 2, MaxOverflow: 3}
	s := open(t, tg)
	var wg sync.WaitGroup
	started := make(chan struct{}, 5)
	for range 5 {
		wg.Go(func() {
			err := s.WithConn(ctx, func(c *pgxpool.Conn) error {
				started <- struct{}{}
				_, err := c.Exec(ctx, "SELECT pg_sleep(0.3)")
				return err
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	for range 5 {
		<-started
	}
	if st := s.PoolStats(); st.OpenConns != 5 || st.InUse != 5 || st.MaxConns != 5 {
		t.Errorf("under load: %+v, want 5 open, 5 in use, max 5", st)
	}
	wg.Wait()
	if st := s.PoolStats(); st.OpenConns != 2 || st.Idle != 2 {
		t.Errorf("after the load: %+v, want the 2 of PoolSize open and idle", st)
	}
}

// TestPoolTimeout: with every connection taken, a call waits AcquireTimeout and fails with
// ErrPoolTimeout.
func TestPoolTimeout(t *testing.T) {
	ctx := context.Background()
	tg := fresh(t)
	tg.Options = store.Options{PoolSize: 1, MaxOverflow: -1, AcquireTimeout: 100 * time.Millisecond}
	s := open(t, tg)
	held, err := s.Pool().Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()
	t0 := time.Now()
	_, err = s.GetDetector(ctx, "00000000-0000-7000-8000-000000000000")
	if !errors.Is(err, store.ErrPoolTimeout) {
		t.Fatalf("GetDetector with the pool exhausted: %v, want ErrPoolTimeout", err)
	}
	if waited := time.Since(t0); waited < 100*time.Millisecond || waited > 2*time.Second {
		t.Fatalf("waited %v for a 100ms acquire timeout", waited)
	}
}

// TestPrePing: a connection the server has dropped is found out by the ping before use and
// replaced, so the caller's query succeeds.
func TestPrePing(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		prePing  time.Duration
		wantFail bool
	}{
		{time.Nanosecond, false}, // ping every connection that was idle at all
		{-1, true},               // never ping: the first query hits the dead connection
	} {
		tg := fresh(t)
		tg.Options = store.Options{PoolSize: 1, MaxOverflow: -1, PrePingAfter: c.prePing}
		s := open(t, tg)
		var pid uint32
		if err := s.WithConn(ctx, func(c *pgxpool.Conn) error { pid = c.Conn().PgConn().PID(); return nil }); err != nil {
			t.Fatal(err)
		}
		admin, err := pgx.Connect(ctx, tg.URL)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := admin.Exec(ctx, "SELECT pg_terminate_backend($1)", int32(pid)); err != nil {
			t.Fatal(err)
		}
		admin.Close(ctx)
		time.Sleep(50 * time.Millisecond)
		_, err = s.ListDetectors(ctx, store.DetectorFilter{})
		if failed := err != nil; failed != c.wantFail {
			t.Errorf("PrePingAfter %v: ListDetectors on a dropped connection: %v", c.prePing, err)
		}
	}
}

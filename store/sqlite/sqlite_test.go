package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gonomaly/gonomaly/store"
	"github.com/gonomaly/gonomaly/store/sqlite"
	"github.com/gonomaly/gonomaly/store/storetest"
)

func fresh(t testing.TB) storetest.Target {
	return storetest.Target{URL: "sqlite:" + filepath.Join(t.TempDir(), "gonomaly.db")}
}

func TestConformance(t *testing.T) { storetest.Run(t, fresh) }

func BenchmarkStore(b *testing.B) { storetest.Benchmark(b, fresh) }

// TestSchema checks what the migration leaves in the file: the guide's indexes, the journal
// mode, and one row per applied migration.
func TestSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "schema.db")
	s, err := sqlite.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = sqlite.Open(ctx, "sqlite:"+path, store.Options{}) // the second Open applies nothing
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var indexes []string
	rows, err := db.QueryContext(ctx, "SELECT tbl_name || '(' || name || ')' FROM sqlite_master WHERE type = 'index' AND name LIKE 'idx_%' ORDER BY 1")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n string
		rows.Scan(&n)
		indexes = append(indexes, n)
	}
	rows.Close()
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
	var mode string
	db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode)
	if mode != "wal" {
		t.Errorf("journal mode %q, want wal", mode)
	}
	var n, version int
	db.QueryRowContext(ctx, "SELECT count(*), max(version) FROM schema_migrations").Scan(&n, &version)
	files, _ := filepath.Glob("migrations/*.sql")
	if want := len(files); want == 0 || n != want || version != want {
		t.Errorf("schema_migrations has %d rows up to version %d, want %d rows, version %d", n, version, want, want)
	}

	// The batch look-up and the listings use the indexes, not a table scan.
	for query, want := range map[string]string{
		"SELECT id FROM detectors WHERE id IN (SELECT value FROM json_each('[\"a\"]'))":                "sqlite_autoindex_detectors_1 (id=?)",
		"SELECT id FROM detectors WHERE algorithm_name = 'knn' AND is_fitted = 1":                      "idx_detectors_algo_fitted",
		"SELECT id FROM detection_results WHERE detector_id = 'x' ORDER BY created_at DESC":            "idx_detection_results_detector",
		"SELECT value FROM metric_samples WHERE name = 'cpu' AND time >= 1 AND time < 2 ORDER BY time": "idx_metric_samples_name_time",
	} {
		var plan strings.Builder
		rows, err := db.QueryContext(ctx, "EXPLAIN QUERY PLAN "+query)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id, parent, unused int
			var detail string
			rows.Scan(&id, &parent, &unused, &detail)
			plan.WriteString(detail + "; ")
		}
		rows.Close()
		if !strings.Contains(plan.String(), want) {
			t.Errorf("plan of %q is %q, want it to use %s", query, plan.String(), want)
		}
	}
}

func TestOpenURLs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	t.Chdir(dir)
	for _, c := range []struct {
		url, file string
	}{
		{"sqlite:rel.db", "rel.db"},
		{"sqlite://rel2.db", "rel2.db"},
		{"sqlite://" + filepath.Join(dir, "abs.db"), "abs.db"},
		{"file:f.db", "f.db"},
		{"bare.db", "bare.db"},
		{filepath.Join(dir, "bare-abs.db"), "bare-abs.db"},
	} {
		s, err := store.Open(ctx, c.url, store.Options{})
		if err != nil {
			t.Errorf("Open(%q): %v", c.url, err)
			continue
		}
		if got := s.(*sqlite.DB).Path(); filepath.Base(got) != c.file {
			t.Errorf("Open(%q) opened %q, want %s", c.url, got, c.file)
		}
		s.Close()
	}
	for _, url := range []string{"sqlite:", "sqlite::memory:", ":memory:", "file:x.db?mode=ro", "sqlite:x.db?cache=shared"} {
		if s, err := store.Open(ctx, url, store.Options{}); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded, want an error", url)
		}
	}
	if _, err := store.Open(ctx, "mysql://x", store.Options{}); err == nil || !strings.Contains(err.Error(), `"mysql"`) {
		t.Errorf("Open(mysql://x) = %v, want an error naming the scheme", err)
	}
}

// TestDefaultURL: the CLI's default database is an SQLite file in the working directory.
func TestDefaultURL(t *testing.T) {
	t.Chdir(t.TempDir())
	t.Setenv(store.EnvDatabaseURL, "")
	s, err := store.Open(context.Background(), store.DefaultURL(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.(*sqlite.DB).Path(); got != "gonomaly.db" {
		t.Fatalf("the default store is %q, want gonomaly.db", got)
	}
}

// TestPoolTimeout: with the writer held, a write waits AcquireTimeout, then fails with
// ErrPoolTimeout, while reads go on.
func TestPoolTimeout(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, fresh(t).URL, store.Options{AcquireTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	release := s.HoldWriter()
	defer release()
	err = s.CreateDetector(ctx, &store.Detector{Name: "x", Algorithm: "knn", Contamination: 0.1})
	if !errors.Is(err, store.ErrPoolTimeout) {
		t.Fatalf("CreateDetector with the writer held: %v, want ErrPoolTimeout", err)
	}
	if _, err := s.ListDetectors(ctx, store.DetectorFilter{}); err != nil {
		t.Fatalf("a read with the writer held: %v", err)
	}
	if st := s.PoolStats(); st.WaitCount != 1 || st.WaitDuration < 50*time.Millisecond {
		t.Fatalf("PoolStats after one timed-out wait: %+v", st)
	}
}

package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gonomaly/gonomaly/detector"
	"github.com/gonomaly/gonomaly/store"
)

func TestScheme(t *testing.T) {
	for _, c := range []struct{ url, want string }{
		{"postgres://u@h/db", "postgres"},
		{"PostgreSQL://u@h/db", "postgresql"},
		{"sqlite:gonomaly.db", "sqlite"},
		{"sqlite:///var/lib/g.db", "sqlite"},
		{"file:x.db", "file"},
		{"gonomaly.db", ""},
		{"/var/lib/gonomaly.db", ""},
		{"./a:b.db", ""},
		{`C:\data\g.db`, ""},
		{"1abc:x", ""},
		{"", ""},
	} {
		if got := store.Scheme(c.url); got != c.want {
			t.Errorf("Scheme(%q) = %q, want %q", c.url, got, c.want)
		}
	}
}

func TestDefaultURL(t *testing.T) {
	t.Setenv(store.EnvDatabaseURL, "")
	if got := store.DefaultURL(); got != "sqlite:gonomaly.db" {
		t.Errorf("DefaultURL() = %q with %s unset", got, store.EnvDatabaseURL)
	}
	t.Setenv(store.EnvDatabaseURL, " postgres://db/gonomaly ")
	if got := store.DefaultURL(); got != "postgres://db/gonomaly" {
		t.Errorf("DefaultURL() = %q with %s set", got, store.EnvDatabaseURL)
	}
}

func TestOptionsWithDefaults(t *testing.T) {
	got := store.Options{}.WithDefaults()
	want := store.Options{PoolSize: 20, MaxOverflow: 30, AcquireTimeout: 30 * time.Second, ConnMaxLifetime: time.Hour,
		HealthCheckPeriod: time.Minute, PrePingAfter: time.Second, BusyTimeout: 5 * time.Second}
	if got != want {
		t.Errorf("Options{}.WithDefaults() = %+v, want %+v", got, want)
	}
	for _, c := range []struct {
		o             store.Options
		idle, maxConn int
	}{
		{store.Options{}, 20, 50},
		{store.Options{PoolSize: 4, MaxOverflow: -1}, 4, 4},
		{store.Options{PoolSize: -1, MaxOverflow: 3}, 0, 3},
		{store.Options{PoolSize: -1, MaxOverflow: -1}, 0, 1},
	} {
		o := c.o.WithDefaults()
		if o.WithDefaults() != o {
			t.Errorf("WithDefaults is not idempotent on %+v", c.o)
		}
		if o.IdleConns() != c.idle || o.MaxConns() != c.maxConn {
			t.Errorf("%+v: %d idle, %d max connections, want %d, %d", c.o, o.IdleConns(), o.MaxConns(), c.idle, c.maxConn)
		}
	}
	if o := (store.Options{PrePingAfter: -1}).WithDefaults(); o.PrePingAfter != -1 {
		t.Errorf("PrePingAfter -1 became %v", o.PrePingAfter)
	}
}

func TestOpenUnknownScheme(t *testing.T) {
	_, err := store.Open(context.Background(), "postgres://h/db", store.Options{})
	if err == nil || !strings.Contains(err.Error(), "store/postgres") {
		t.Errorf("Open without the postgres back end imported: %v, want a hint to import it", err)
	}
}

func TestDetectorModel(t *testing.T) {
	d := &store.Detector{ID: "d1", Algorithm: "knn", Contamination: 0.1}
	if _, err := d.DecodeModel(); !errors.Is(err, detector.ErrNotFitted) {
		t.Errorf("DecodeModel of an unfitted detector: %v", err)
	}
	for _, bad := range []*store.Detector{
		{ID: "d2", Algorithm: "no_such_algorithm", Contamination: 0.1},
		{ID: "d3", Algorithm: "knn", Parameters: []byte(`{"n_neighbors": -1}`), Contamination: 0.1},
		{ID: "d4", Algorithm: "knn", Parameters: []byte(`{`), Contamination: 0.1},
	} {
		if _, err := bad.NewModel(); err == nil || !strings.Contains(err.Error(), bad.ID) {
			t.Errorf("NewModel(%s) = %v, want an error naming the detector", bad.ID, err)
		}
	}
	m, err := (&store.Detector{Algorithm: "knn", Parameters: []byte(`{"n_neighbors": 3}`), Contamination: 0.2}).NewModel()
	if err != nil || m.Params.Int("n_neighbors") != 3 || m.Contamination != 0.2 {
		t.Fatalf("NewModel = %+v, %v", m, err)
	}
	if _, err := store.EncodeModel(m, 0); !errors.Is(err, detector.ErrNotFitted) {
		t.Errorf("EncodeModel of an unfitted model: %v", err)
	}
	fitted := &store.Detector{ID: "d5", IsFitted: true, Model: []byte("not a model")}
	if _, err := fitted.DecodeModel(); !errors.Is(err, detector.ErrBadModel) {
		t.Errorf("DecodeModel of bad bytes: %v", err)
	}
}

// TestBenchmarkKinds pins the kinds' values: they are also the "kind" field of the bench
// documents (docs/performance-json.md) and the rows already stored.
func TestBenchmarkKinds(t *testing.T) {
	for got, want := range map[string]string{
		store.KindBenchmark: "benchmark", store.KindScalability: "scalability",
		store.KindMemory: "memory", store.KindCompare: "compare",
	} {
		if got != want {
			t.Errorf("kind %q, want %q", got, want)
		}
	}
}

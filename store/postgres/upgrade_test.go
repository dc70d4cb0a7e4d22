package postgres_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gonomaly/gonomaly/internal/testsvc"
	"github.com/gonomaly/gonomaly/store"
	"github.com/gonomaly/gonomaly/store/postgres"
)

// TestUpgradeFromVersion1: a database a gonomaly of schema version 1 wrote (alerts without
// keys, titles, actions or labels) opens, migrates to the current version, and keeps its
// alerts, which read with the new fields empty; new alerts carry every field.
func TestUpgradeFromVersion1(t *testing.T) {
	ctx := context.Background()
	url := testsvc.PostgresSchema(t, "upgrade")
	v1, err := os.ReadFile("migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	const oldID = "0194a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, stmt := range []string{
		// As postgres.go's migrate creates it.
		`CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL)`,
		string(v1),
		`INSERT INTO schema_migrations (version, name, applied_at) VALUES (1, 'init', now())`,
	} {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			t.Fatalf("version 1: %v", err)
		}
	}
	if _, err := conn.Exec(ctx, `INSERT INTO alerts (id, created_at, severity, metric, message, value, threshold)
		VALUES ($1, $2, 'high', 'rss_mb', 'memory above 2048 MB', 3000, 2048)`, oldID, created); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)

	s, err := postgres.Open(ctx, url, store.Options{PoolSize: 2})
	if err != nil {
		t.Fatalf("Open of a version 1 database: %v", err)
	}
	defer s.Close()
	old, err := s.GetAlert(ctx, oldID)
	if err != nil {
		t.Fatalf("GetAlert of a version 1 alert: %v", err)
	}
	if old.Key != "" || old.Rule != "" || old.Title != "" || old.Actions != nil || old.Labels != nil ||
		old.Message != "memory above 2048 MB" || !old.CreatedAt.Equal(created) || !old.Active() {
		t.Errorf("version 1 alert after the upgrade: %+v", old)
	}
	if err := s.ResolveAlert(ctx, oldID, time.Time{}); err != nil {
		t.Errorf("ResolveAlert of a version 1 alert: %v", err)
	}
	a := &store.Alert{Key: "memory", Rule: "memory", Severity: "critical", Metric: "process_rss_mb", Title: "t",
		Actions: []string{"a"}, Labels: map[string]string{"k": "v"}}
	if err := s.CreateAlert(ctx, a); err != nil {
		t.Fatalf("CreateAlert after the upgrade: %v", err)
	}
	list, err := s.ListAlerts(ctx, store.AlertFilter{Key: "memory"})
	if err != nil || len(list) != 1 || list[0].ID != a.ID || list[0].Labels["k"] != "v" {
		t.Errorf("ListAlerts(key memory) after the upgrade = %v, %v", list, err)
	}
}

package sqlite_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gonomaly/gonomaly/store"
	"github.com/gonomaly/gonomaly/store/sqlite"
)

// TestUpgradeFromVersion1: a database a gonomaly of schema version 1 wrote (alerts without
// keys, titles, actions or labels) opens, migrates to the current version, and keeps its
// alerts, which read with the new fields empty; new alerts carry every field.
func TestUpgradeFromVersion1(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v1.db")
	v1, err := os.ReadFile("migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	const oldID = "0194a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, stmt := range []string{
		// As sqlite.go's migrate creates it.
		`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`,
		string(v1),
		`INSERT INTO schema_migrations (version, name, applied_at) VALUES (1, 'init', 0)`,
	} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("version 1: %v", err)
		}
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO alerts (id, created_at, severity, metric, message, value, threshold)
		VALUES (?, ?, 'high', 'rss_mb', 'memory above 2048 MB', 3000, 2048)`, oldID, created.UnixMicro()); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, err := sqlite.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatalf("Open of a version 1 database: %v", err)
	}
	defer s.Close()
	old, err := s.GetAlert(ctx, oldID)
	if err != nil {
		t.Fatalf("GetAlert of a version 1 alert: %v", err)
	}
	want := store.Alert{ID: oldID, CreatedAt: created, Severity: "high", Metric: "rss_mb",
		Message: "memory above 2048 MB", Value: 3000, Threshold: 2048}
	if old.Key != "" || old.Rule != "" || old.Title != "" || old.Actions != nil || old.Labels != nil ||
		old.Message != want.Message || !old.CreatedAt.Equal(created) || !old.Active() {
		t.Errorf("version 1 alert after the upgrade: %+v, want %+v", old, want)
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

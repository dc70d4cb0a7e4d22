package backend

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
)

// Migration is one versioned schema change: the file NNNN_name.sql of a back end's embedded
// migrations directory.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations reads the *.sql files of dir in fsys. Versions must run 1, 2, 3, ... with no
// gap or repeat, so a migration can never be skipped or applied out of order.
func Migrations(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	var ms []Migration
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, rest, ok := strings.Cut(strings.TrimSuffix(name, ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migrations: %s: want NNNN_name.sql", name)
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("migrations: %w", err)
		}
		ms = append(ms, Migration{Version: v, Name: rest, SQL: string(b)})
	}
	slices.SortFunc(ms, func(a, b Migration) int { return a.Version - b.Version })
	for i, m := range ms {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migrations: version %d (%s) where %d belongs: versions must run from 1 with no gap", m.Version, m.Name, i+1)
		}
	}
	return ms, nil
}

// Pending returns the migrations newer than the database's version, or an error when the
// database is newer than every migration this build knows (a newer gonomaly wrote it).
func Pending(ms []Migration, current int) ([]Migration, error) {
	if current > len(ms) {
		return nil, fmt.Errorf("migrations: the database schema is at version %d, newer than this gonomaly's %d", current, len(ms))
	}
	return ms[current:], nil
}

// Migrate brings a database up to ms in one write transaction on db: it runs the back end's
// setup statements (which take its lock and create the schema_migrations table when missing:
// version, name, applied_at), then each pending migration, recording it in schema_migrations.
// A failed migration rolls back with the rest, so a database is always at one version of ms.
func Migrate(ctx context.Context, db DB, d Dialect, ms []Migration, setup ...string) error {
	return db.Tx(ctx, func(c Conn) error {
		for _, stmt := range setup {
			if _, err := c.Exec(ctx, stmt); err != nil {
				return err
			}
		}
		var current int
		if err := c.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&current); err != nil {
			return err
		}
		pending, err := Pending(ms, current)
		if err != nil {
			return err
		}
		for _, m := range pending {
			if _, err := c.Exec(ctx, m.SQL); err != nil {
				return fmt.Errorf("migration %d (%s): %w", m.Version, m.Name, err)
			}
			if _, err := c.Exec(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
				m.Version, m.Name, d.TimeArg(Now())); err != nil {
				return err
			}
		}
		return nil
	})
}

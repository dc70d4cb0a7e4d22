package sqlite_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gonomaly/gonomaly/store"
	"github.com/gonomaly/gonomaly/store/sqlite"
)

// TestDBStats: the file's size follows what is stored, a delete shows as free space, the
// pool is the store's, and the statements note says SQLite has none.
func TestDBStats(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "stats.db")
	s, err := sqlite.Open(ctx, path, store.Options{PoolSize: 3, MaxOverflow: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	before, err := s.DBStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if before.Backend != "sqlite" || before.DatabaseBytes <= 0 || before.Time.IsZero() {
		t.Fatalf("empty store: %+v, want backend sqlite, a size and a time", before)
	}
	if before.Pool.MaxConns != 5 {
		t.Errorf("pool max %d, want PoolSize+MaxOverflow = 5", before.Pool.MaxConns)
	}
	if before.HasCacheHit || before.SlowStatements != nil || !strings.Contains(before.StatementsNote, "not available on SQLite") {
		t.Errorf("server figures on SQLite: cache %v, statements %v, note %q", before.HasCacheHit, before.SlowStatements, before.StatementsNote)
	}

	const size = 2 << 20
	d := &store.Dataset{Name: "big", NSamples: 1, NFeatures: 1, FileFormat: "csv", Data: make([]byte, size)}
	for i := range d.Data {
		d.Data[i] = byte('a' + i%26) // not a run of zeros, whatever SQLite makes of those
	}
	if err := s.CreateDataset(ctx, d); err != nil {
		t.Fatal(err)
	}
	grown, err := s.DBStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if g := grown.DatabaseBytes - before.DatabaseBytes; g < size || g > 2*size {
		t.Errorf("storing %d bytes grew the database by %d", size, g)
	}
	if err := s.DeleteDataset(ctx, d.ID); err != nil {
		t.Fatal(err)
	}
	freed, err := s.DBStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if freed.FreeBytes < size || freed.DatabaseBytes != grown.DatabaseBytes {
		t.Errorf("after the delete: %d bytes free of %d, want at least %d free of an unchanged %d",
			freed.FreeBytes, freed.DatabaseBytes, size, grown.DatabaseBytes)
	}
}

// TestDBStatsClosed: on a closed store DBStats fails, naming the file, and still reports the
// pool.
func TestDBStatsClosed(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "closed.db")
	s, err := sqlite.Open(ctx, path, store.Options{PoolSize: 1, MaxOverflow: 1})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	st, err := s.DBStats(ctx)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("DBStats on a closed store: %v, want an error naming %s", err, path)
	}
	if st.Backend != "sqlite" || st.Pool.MaxConns != 2 {
		t.Errorf("stats with the error: %+v, want the backend and the pool", st)
	}
	if errors.Is(err, store.ErrPoolTimeout) {
		t.Errorf("a closed store is not a pool timeout: %v", err)
	}
}

package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/gonomaly/gonomaly/store"
	"github.com/gonomaly/gonomaly/store/internal/backend"
)

var _ store.DBStater = (*DB)(nil)

// statementsNote is SQLite's StatementsNote.
const statementsNote = "slow statements are not available on SQLite: it keeps no statistics of statements"

// DBStats implements store.DBStater: the readers' pool (waits count the writer's too, as in
// PoolStats), and the file's size and free space from page_count, page_size and
// freelist_count, on a reader. SQLite has no server: the connection and transaction figures
// are zero, HasCacheHit is false (its page cache is per connection and SQL cannot read its
// hits), and there are no slow statements.
func (s *DB) DBStats(ctx context.Context) (store.DBStats, error) {
	st := store.DBStats{Backend: "sqlite", Time: time.Now().UTC(), Pool: s.PoolStats(), StatementsNote: statementsNote}
	ctx, cancel := context.WithTimeout(ctx, store.DBStatsTimeout)
	defer cancel()
	err := engine{s}.Read(ctx, func(c backend.Conn) error {
		return c.QueryRow(ctx, `SELECT c.page_count * s.page_size, f.freelist_count * s.page_size
			FROM pragma_page_count() c, pragma_page_size() s, pragma_freelist_count() f`).Scan(&st.DatabaseBytes, &st.FreeBytes)
	})
	if err != nil {
		return st, fmt.Errorf("store: sqlite %s: database statistics: %w", s.path, err)
	}
	return st, nil
}

package postgres

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Pool exposes the pool to the tests.
func (s *DB) Pool() *pgxpool.Pool { return s.pool }

// WithConn runs fn on a pooled connection as the store's own calls do.
func (s *DB) WithConn(ctx context.Context, fn func(c *pgxpool.Conn) error) error {
	return s.with(ctx, fn)
}

package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/gonomaly/gonomaly/store/internal/backend"
)

// engine is DB as the shared record code uses it (backend.DB): reads on the read-only pool,
// every write on the one writer connection, one at a time. It is a separate type so that
// Read, Write and Tx stay out of DB's API.
type engine struct{ s *DB }

// Read implements backend.DB.
func (e engine) Read(ctx context.Context, fn func(backend.Conn) error) error {
	if err := e.s.acquire(ctx, &e.s.rgate, aReader); err != nil {
		return err
	}
	defer e.s.rgate.release()
	return fn(e.s.reader)
}

// Write implements backend.DB.
func (e engine) Write(ctx context.Context, fn func(backend.Conn) error) error {
	if err := e.s.acquire(ctx, &e.s.wgate, theWriter); err != nil {
		return err
	}
	defer e.s.wgate.release()
	return fn(e.s.writer)
}

// Tx implements backend.DB. The transaction begins IMMEDIATE (see Open).
func (e engine) Tx(ctx context.Context, fn func(backend.Conn) error) error {
	s := e.s
	if err := s.acquire(ctx, &s.wgate, theWriter); err != nil {
		return err
	}
	defer s.wgate.release()
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(&conn{q: tx, stmts: s.writer.stmts, tx: tx}); err != nil {
		return err
	}
	return tx.Commit()
}

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// conn is a pool, or a transaction on the writer, as the record code runs statements on it
// (backend.Conn). The statements in stmts run prepared: on the pool as they were prepared at
// Open, in a transaction through tx.StmtContext, once per transaction (Commit and Rollback
// close those).
type conn struct {
	q       querier
	stmts   map[string]*sql.Stmt // by query
	tx      *sql.Tx              // in a transaction
	txStmts map[string]*sql.Stmt // stmts as the transaction's
}

// stmt is the prepared statement of query, or nil.
func (c *conn) stmt(ctx context.Context, query string) *sql.Stmt {
	st := c.stmts[query]
	if st == nil || c.tx == nil {
		return st
	}
	if ts := c.txStmts[query]; ts != nil {
		return ts
	}
	if c.txStmts == nil {
		c.txStmts = make(map[string]*sql.Stmt, 1)
	}
	ts := c.tx.StmtContext(ctx, st)
	c.txStmts[query] = ts
	return ts
}

// Exec implements backend.Conn.
func (c *conn) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	var (
		res sql.Result
		err error
	)
	if st := c.stmt(ctx, query); st != nil {
		res, err = st.ExecContext(ctx, args...)
	} else {
		res, err = c.q.ExecContext(ctx, query, args...)
	}
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// QueryRow implements backend.Conn.
func (c *conn) QueryRow(ctx context.Context, query string, args ...any) backend.Row {
	if st := c.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return c.q.QueryRowContext(ctx, query, args...)
}

// Query implements backend.Conn.
func (c *conn) Query(ctx context.Context, query string, args []any, each func(backend.Row) error) error {
	var (
		rows *sql.Rows
		err  error
	)
	if st := c.stmt(ctx, query); st != nil {
		rows, err = st.QueryContext(ctx, args...)
	} else {
		rows, err = c.q.QueryContext(ctx, query, args...)
	}
	if err != nil {
		return err
	}
	defer rows.Close()
	return backend.EachRow(rows, each)
}

// dialect is SQLite's backend.Dialect: times are INTEGER microseconds since the Unix epoch,
// JSON is TEXT, and a list of ids travels as one JSON array that json_each expands (SQLite
// caps a statement's parameters at 32766).
type dialect struct{}

func (dialect) TimeArg(t time.Time) any     { return backend.Micros(t) }
func (dialect) ScanTime(t *time.Time) any   { return (*microsTime)(t) }
func (dialect) JSON(p string) string        { return p }
func (dialect) JSONText(expr string) string { return expr }
func (dialect) InList(col, p string) string {
	return col + " IN (SELECT value FROM json_each(" + p + "))"
}
func (dialect) IsUnique(err error) bool     { return isUnique(err) }
func (dialect) IsForeignKey(err error) bool { return isForeignKey(err) }
func (dialect) IsInvalid(err error) bool    { return isInvalid(err) }
func (dialect) ListArg(ids []string) any    { return idList(ids) }

// idList is ids as a JSON array.
func idList(ids []string) string {
	b, _ := json.Marshal(ids) // strings always marshal
	return string(b)
}

// microsTime scans a time column, INTEGER microseconds or NULL, into a time.Time.
type microsTime time.Time

func (t *microsTime) Scan(src any) error {
	switch v := src.(type) {
	case int64:
		*t = microsTime(backend.FromMicros(v))
	case nil:
		*t = microsTime{}
	default:
		return fmt.Errorf("time column holds %T, not INTEGER microseconds", src)
	}
	return nil
}

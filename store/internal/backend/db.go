package backend

import (
	"context"
	"time"

	"github.com/gonomaly/gonomaly/store"
)

// Row is one result row: *sql.Row, *sql.Rows, pgx.Row and pgx.Rows all are. A QueryRow whose
// statement returned no row fails its Scan with an error that errors.Is sql.ErrNoRows (pgx's
// ErrNoRows is one too).
type Row interface {
	Scan(dest ...any) error
}

// Rows is the rows of a query: *sql.Rows and pgx.Rows both are.
type Rows interface {
	Row
	Next() bool
	Err() error
}

// EachRow calls each for every row of rows, stopping at the first error; the caller closes
// rows. It is Conn.Query's loop, for the back ends.
func EachRow(rows Rows, each func(Row) error) error {
	for rows.Next() {
		if err := each(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Conn runs statements on one connection, or in one transaction, for the length of a DB.Read,
// DB.Write or DB.Tx call. Every query uses numbered placeholders ($1, $2, ...).
type Conn interface {
	// Exec runs a statement and returns how many rows it changed.
	Exec(ctx context.Context, query string, args ...any) (int64, error)
	// QueryRow runs a statement for one row, which the caller scans before fn returns.
	QueryRow(ctx context.Context, query string, args ...any) Row
	// Query runs a statement and calls each for every row it returns, stopping at the first
	// error.
	Query(ctx context.Context, query string, args []any, each func(Row) error) error
}

// DB is what a back end gives the shared record code: connections, and the order in which
// writes reach the database. Read, Write and Tx wait at most Options.AcquireTimeout for a
// connection (then fail with store.ErrPoolTimeout) and fail once the store is closed; their
// errors are for the caller to prefix with the operation.
type DB interface {
	// Read runs fn on a connection that only reads.
	Read(ctx context.Context, fn func(Conn) error) error
	// Write runs fn on a connection that writes; on SQLite that is the one writer connection,
	// so writes run one at a time.
	Write(ctx context.Context, fn func(Conn) error) error
	// Tx runs fn in a write transaction, committed when fn returns nil and rolled back
	// otherwise.
	Tx(ctx context.Context, fn func(Conn) error) error
}

// Dialect is where the back ends' SQL and column types differ. Everything else the record
// code writes once, in SQL both databases accept.
type Dialect interface {
	// TimeArg is t (already rounded by Time) as a statement argument: microseconds in an
	// SQLite INTEGER, a PostgreSQL timestamptz.
	TimeArg(t time.Time) any
	// ScanTime is a Scan destination that stores a time column in *t, in UTC; NULL stores
	// the zero time.
	ScanTime(t *time.Time) any
	// JSON is the placeholder p (bound to a JSON text) as a value for a JSON column.
	JSON(p string) string
	// JSONText is expr, a JSON column or a JSON text argument, as text that compares byte
	// for byte.
	JSONText(expr string) string
	// InList is the condition that col is one of the ids bound to placeholder p, as ListArg
	// encodes them: one argument however many ids there are.
	InList(col, p string) string
	// ListArg is ids as the argument of InList.
	ListArg(ids []string) any
	// IsUnique reports whether err is a violated primary key or unique constraint.
	IsUnique(err error) bool
	// IsForeignKey reports whether err is a violated foreign key.
	IsForeignKey(err error) bool
	// IsInvalid reports whether err is the database refusing a value: a violated check or
	// not-null constraint, a value out of a column's range or of a type's representation,
	// text the database's encoding cannot hold, a value too large for a row or an index.
	IsInvalid(err error) bool
}

// ResultInserter is implemented by a DB with a faster way to insert detection results than
// the default, one prepared INSERT per result in a transaction (PostgreSQL: one INSERT from
// arrays). It inserts rs all or none, with the ids and creation times the store assigned,
// and returns the database's error for the caller to map (a violated foreign key is a
// detector that does not exist).
type ResultInserter interface {
	InsertResults(ctx context.Context, rs []*store.Result, ids []string, created []time.Time) error
}

// SampleInserter is implemented by a DB with a faster way to insert metric samples than the
// default, one prepared INSERT per sample in a transaction (PostgreSQL: COPY). It inserts the
// samples, which are valid, all or none, and returns the error for the caller to prefix.
type SampleInserter interface {
	InsertSamples(ctx context.Context, samples []store.Sample) error
}

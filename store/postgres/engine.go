package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gonomaly/gonomaly/store"
	"github.com/gonomaly/gonomaly/store/internal/backend"
)

// engine is DB as the shared record code uses it (backend.DB): reads and writes alike on a
// pooled connection. It is a separate type so that its methods stay out of DB's API.
type engine struct{ s *DB }

// Read implements backend.DB.
func (e engine) Read(ctx context.Context, fn func(backend.Conn) error) error { return e.run(ctx, fn) }

// Write implements backend.DB.
func (e engine) Write(ctx context.Context, fn func(backend.Conn) error) error { return e.run(ctx, fn) }

func (e engine) run(ctx context.Context, fn func(backend.Conn) error) error {
	c, err := e.s.acquire(ctx)
	if err != nil {
		return err
	}
	defer e.s.release(c)
	return fn((*conn)(c))
}

// Tx implements backend.DB.
func (e engine) Tx(ctx context.Context, fn func(backend.Conn) error) error {
	c, err := e.s.acquire(ctx)
	if err != nil {
		return err
	}
	defer e.s.release(c)
	return pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error { return fn(txConn{tx}) })
}

// conn is a pooled connection as the record code runs statements on it (backend.Conn). pgx
// prepares and caches every statement per connection by itself.
type conn pgxpool.Conn

// Exec implements backend.Conn.
func (c *conn) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := (*pgxpool.Conn)(c).Exec(ctx, query, args...)
	return tag.RowsAffected(), err
}

// QueryRow implements backend.Conn.
func (c *conn) QueryRow(ctx context.Context, query string, args ...any) backend.Row {
	return (*pgxpool.Conn)(c).QueryRow(ctx, query, args...)
}

// Query implements backend.Conn.
func (c *conn) Query(ctx context.Context, query string, args []any, each func(backend.Row) error) error {
	rows, err := (*pgxpool.Conn)(c).Query(ctx, query, args...)
	return scanRows(rows, err, each)
}

// txConn is a transaction as the record code runs statements in it (backend.Conn).
type txConn struct{ tx pgx.Tx }

// Exec implements backend.Conn.
func (c txConn) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := c.tx.Exec(ctx, query, args...)
	return tag.RowsAffected(), err
}

// QueryRow implements backend.Conn.
func (c txConn) QueryRow(ctx context.Context, query string, args ...any) backend.Row {
	return c.tx.QueryRow(ctx, query, args...)
}

// Query implements backend.Conn.
func (c txConn) Query(ctx context.Context, query string, args []any, each func(backend.Row) error) error {
	rows, err := c.tx.Query(ctx, query, args...)
	return scanRows(rows, err, each)
}

func scanRows(rows pgx.Rows, err error, each func(backend.Row) error) error {
	if err != nil {
		return err
	}
	defer rows.Close()
	return backend.EachRow(rows, each)
}

// dialect is PostgreSQL's backend.Dialect: times are timestamptz, JSON columns are json (kept
// byte for byte, so compared as text), and a list of ids is one text[] argument.
type dialect struct{}

func (dialect) TimeArg(t time.Time) any     { return t }
func (dialect) ScanTime(t *time.Time) any   { return (*utcTime)(t) }
func (dialect) JSON(p string) string        { return p + "::text::json" }
func (dialect) JSONText(expr string) string { return expr + "::text" }
func (dialect) InList(col, p string) string { return col + " = ANY(" + p + ")" }
func (dialect) ListArg(ids []string) any    { return ids }
func (dialect) IsUnique(err error) bool     { return pgCode(err) == uniqueViolation }
func (dialect) IsForeignKey(err error) bool { return pgCode(err) == foreignKeyViolation }
func (dialect) IsInvalid(err error) bool    { return isInvalid(pgCode(err)) }

// utcTime scans a timestamptz column, or NULL, into a time.Time in UTC.
type utcTime time.Time

// ScanTimestamptz implements pgtype.TimestamptzScanner.
func (t *utcTime) ScanTimestamptz(v pgtype.Timestamptz) error {
	switch {
	case !v.Valid:
		*t = utcTime{}
	case v.InfinityModifier != pgtype.Finite:
		return fmt.Errorf("cannot scan %v into a time", v.InfinityModifier)
	default:
		*t = utcTime(v.Time.UTC())
	}
	return nil
}

// InsertResults implements backend.ResultInserter: one INSERT, also for a batch, whose
// columns travel as arrays that unnest turns back into rows (half the time per row of a
// pipelined batch of single-row inserts, measured with storetest.Benchmark).
func (e engine) InsertResults(ctx context.Context, rs []*store.Result, ids []string, created []time.Time) error {
	n := len(rs)
	var (
		detectors = make([]string, n)
		samples   = make([]int32, n)
		anomalies = make([]int32, n)
		threshold = make([]float64, n)
		scores    = make([][]byte, n)
	)
	for i, r := range rs {
		detectors[i], samples[i], anomalies[i], threshold[i] = r.DetectorID, int32(r.NSamples), int32(r.Anomalies), r.Threshold
		scores[i] = backend.EncodeScores(r.Scores)
	}
	err := e.s.with(ctx, func(c *pgxpool.Conn) error {
		var err error
		if n == 1 {
			_, err = c.Exec(ctx, backend.InsertResult, ids[0], detectors[0], samples[0], anomalies[0], threshold[0], created[0], backend.Nullable(scores[0]))
		} else {
			_, err = c.Exec(ctx, `INSERT INTO detection_results (id, detector_id, n_samples, n_anomalies, threshold, created_at, scores)
				SELECT * FROM unnest($1::text[], $2::text[], $3::int4[], $4::int4[], $5::float8[], $6::timestamptz[], $7::bytea[])`,
				ids, detectors, samples, anomalies, threshold, created, scores)
		}
		return err
	})
	return err
}

// InsertSamples implements backend.SampleInserter with COPY, one statement however many
// samples.
func (e engine) InsertSamples(ctx context.Context, samples []store.Sample) error {
	return e.s.with(ctx, func(c *pgxpool.Conn) error {
		_, err := c.CopyFrom(ctx, pgx.Identifier{"metric_samples"}, []string{"time", "name", "value", "labels"},
			pgx.CopyFromSlice(len(samples), func(i int) ([]any, error) {
				m := &samples[i]
				return []any{backend.Time(m.Time), m.Name, m.Value, backend.EncodeLabels(m.Labels)}, nil
			}))
		return err
	})
}
